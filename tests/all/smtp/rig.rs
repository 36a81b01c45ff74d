//! A store whose profile sends SMTP to the test server, with a hand-moved clock; the CLI.

use super::*;

pub(crate) fn smtp_profile(host: &str, port: u16) -> Profile {
    Profile {
        sender_name: "Test Sender".into(),
        sender_address: "sender@spoolbox.test".into(),
        transports: vec![
            TransportConfig::new(
                "SMTP",
                TransportKind::Smtp(SmtpSettings {
                    host: host.into(),
                    port,
                    tls: TlsMode::None,
                    username: None,
                    timeout_secs: 10,
                    ..SmtpSettings::default()
                }),
                &["SMTP"],
            ),
            TransportConfig::new(
                "Pickup folder",
                TransportKind::Pickup(PickupSettings::default()),
                &["SMTP"],
            ),
        ],
        coupled_addrtypes: Vec::new(),
        hooks: Vec::new(),
        retry: RetryPolicy {
            first_delay_secs: 60,
            max_delay_secs: 3600,
            give_up_after_secs: 5 * 24 * 3600,
        },
        deliver_for_real: false,
        start_paused: false,
        sent_copies_mib: spoolbox::profile::SENT_COPIES_MIB,
    }
}

pub(crate) struct Rig {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) spooler: Option<Spooler>,
    pub(crate) hand: Arc<Mutex<Timestamp>>,
}

impl Rig {
    pub(crate) fn new(profile: Profile) -> Self {
        Self::with_fs(profile, Arc::new(RealFs))
    }

    /// A rig whose store writes through `fs` (from its second open on).
    pub(crate) fn with_fs(profile: Profile, fs: Arc<dyn FsLayer>) -> Self {
        let dir = fast_tempdir();
        let root = dir.path().join("store");
        let (mut store, _) = Store::open(&root).unwrap();
        store.set_profile(profile).unwrap();
        drop(store);
        let (clock, hand) = Clock::manual(Timestamp::now());
        let (store, _) = Store::open_with_fs(&root, fs).unwrap();
        let spooler = Some(Spooler::new(store, clock));
        Self { dir, spooler, hand }
    }

    pub(crate) fn sp(&mut self) -> &mut Spooler {
        self.spooler.as_mut().unwrap()
    }

    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Runs `f` while the store is closed (so the real binary can open it), then opens it
    /// again with a new spooler on the same clock.
    pub(crate) fn closed(&mut self, f: impl FnOnce(&Path)) {
        drop(self.spooler.take());
        f(&self.root());
        let (store, _) = Store::open(&self.root()).unwrap();
        let (clock, hand) = Clock::manual(self.now());
        self.hand = hand;
        self.spooler = Some(Spooler::new(store, clock));
        self.sp().drain_events();
    }

    pub(crate) fn now(&self) -> Timestamp {
        *self.hand.lock().unwrap()
    }

    pub(crate) fn advance(&self, secs: i64) {
        let mut h = self.hand.lock().unwrap();
        *h += SignedDuration::from_secs(secs);
    }

    /// A draft to `to` (addresses), submitted.
    pub(crate) fn submit(&mut self, subject: &str, to: &[&str]) -> EntryId {
        let store = self.sp().store_mut();
        let eid = store.new_entry_id().unwrap();
        let mut m = Message::draft(eid, store.folder_of(FolderKind::Outbox), subject);
        m.body = format!("Body of {subject}.\nSecond line.\n");
        for (i, a) in to.iter().enumerate() {
            let name = a.split('@').next().unwrap().to_uppercase();
            m.recipients.push(Recipient::new(
                u32::try_from(i).unwrap(),
                &name,
                a,
                "SMTP",
                RecipientKind::To,
            ));
        }
        let sent = store.folder_of(FolderKind::SentItems);
        m.props
            .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        store.save(&mut m).unwrap();
        self.sp().handle(Command::Submit(eid));
        self.assert_no_error();
        eid
    }

    pub(crate) fn run(&mut self) -> Vec<Event> {
        self.sp().run_until_idle();
        let events = self.sp().drain_events();
        for e in &events {
            assert!(!matches!(e, Event::Error(_)), "{e:?}");
        }
        events
    }

    pub(crate) fn assert_no_error(&mut self) {
        for e in self.sp().drain_events() {
            assert!(!matches!(e, Event::Error(_)), "{e:?}");
        }
    }

    pub(crate) fn load(&mut self, eid: EntryId) -> Message {
        self.sp().store_mut().load(eid).unwrap()
    }

    pub(crate) fn folder_name(&mut self, eid: EntryId) -> String {
        let sp = self.sp();
        let s = sp.store().summary(eid).unwrap().folder;
        sp.store().folder(s).unwrap().name.clone()
    }

    pub(crate) fn state(&mut self, eid: EntryId) -> MessageState {
        let now = self.now();
        self.sp().store().summary(eid).unwrap().state(now)
    }

    pub(crate) fn outcomes(&mut self, eid: EntryId) -> Vec<RecipientState> {
        self.load(eid)
            .recipients
            .iter()
            .map(|r| r.outcome.clone())
            .collect()
    }
}

pub(crate) fn spoolbox(store: &Path, args: &[&str]) -> Output {
    spoolbox_with(store, args, &[], None)
}

pub(crate) fn spoolbox_with(
    store: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
    stdin: Option<&str>,
) -> Output {
    let mut c = Proc::new(env!("CARGO_BIN_EXE_spoolbox"));
    c.arg("--store")
        .arg(store)
        .args(args)
        .env_remove("SPOOLBOX_FAILPOINT")
        .env_remove("SPOOLBOX_LOG")
        // Never the user's own keyring: passwords go to the test's credentials file.
        .env("SPOOLBOX_KEYRING", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `spoolbox profile set-smtp` to the test server on loopback, logging in as `user`.
pub(crate) fn set_smtp_user(store: &Path, port: &str, user: &str, env: &[(&str, &Path)]) {
    ok(&spoolbox_with(
        store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--user",
            user,
        ],
        env,
        None,
    ));
}
