//! The real transports (SPEC section 3) against a real SMTP server on loopback, never a mock:
//! aiosmtpd with the handler in `tests/fixtures/smtp_server.py`, started on a free port by each
//! test and stopped when it ends. The server answers each RCPT by the recipient's local part
//! (`reject…` 550, `later…` 451 always, `once…` 451 the first time) and writes every message
//! it accepts into a JSON-lines log, which is how these tests count deliveries at the server.
//! Also `.eml` import and export, and the deliver-for-real guard.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use spoolbox::durable::fs::{AppendFile, FsLayer, RealFs};
use spoolbox::mapi::flags::STATUS_OFFLINE;
use spoolbox::mapi::tags::{PR_DELIVER_TIME, PR_SENTMAIL_ENTRYID};
use spoolbox::mapi::{
    EntryId, Message, MessageState, PropValue, Recipient, RecipientKind, RecipientState, Step,
};
use spoolbox::profile::{
    PickupSettings, Profile, RetryPolicy, SmtpSettings, TlsMode, TransportConfig, TransportKind,
};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick};
use spoolbox::store::{FolderKind, Store};
use spoolbox::transport::smtp::GUARD_TEXT;

use crate::realfs::{Hooked, Hooks};
use crate::store::fast_tempdir;

// ---------------------------------------------------------------------------------------------
// The server

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python that has aiosmtpd and mail-parser: `SPOOLBOX_TEST_PYTHON`, else the venv
/// scripts/test.sh makes where pip refuses the system Python, else `python3`.
pub(crate) fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SPOOLBOX_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join("target/smtp-venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running aiosmtpd, killed when dropped (and stopping by itself after 5 minutes, or when
/// this process goes away and its stdin closes).
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Self {
        Self::start_on(0, args)
    }

    fn start_on(port: u16, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.jsonl");
        let py = python();
        let spawned = Proc::new(&py)
            .arg(repo().join("tests/fixtures/smtp_server.py"))
            .args(["--port", &port.to_string(), "--max-seconds", "300"])
            .arg("--log")
            .arg(&log)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = spawned.unwrap_or_else(|e| {
            panic!(
                "cannot run {} for the test SMTP server: {e}. scripts/test.sh installs python3 and aiosmtpd",
                py.display()
            )
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Some(bound) = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse::<u16>().ok())
        else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the test SMTP server (aiosmtpd, {}) did not start: {line:?}\n{}\nscripts/test.sh installs python3 and aiosmtpd",
                py.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Self {
            child,
            port: bound,
            log,
            _dir: dir,
        }
    }

    fn records(&self, event: &str) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["event"] == event)
            .collect()
    }

    /// Every message the server accepted (250 after the dot, or dropped after it).
    fn messages(&self) -> Vec<Value> {
        self.records("message")
    }

    /// Waits (up to 20 s) until the server has accepted `n` recipients in all.
    fn wait_for_rcpts(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.records("rcpt").len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The subjects of the messages accepted, in order.
    fn subjects(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Connections (the first EHLO of each; the client asks again to learn the keywords
    /// lettre does not keep).
    fn connections(&self) -> usize {
        self.records("ehlo")
            .iter()
            .filter(|v| v["again"] == false)
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rcpts(m: &Value) -> Vec<String> {
    m["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A store whose profile sends SMTP to the test server, with a hand-moved clock

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
    }
}

struct Rig {
    dir: tempfile::TempDir,
    spooler: Option<Spooler>,
    hand: Arc<Mutex<Timestamp>>,
}

impl Rig {
    fn new(profile: Profile) -> Self {
        Self::with_fs(profile, Arc::new(RealFs))
    }

    /// A rig whose store writes through `fs` (from its second open on).
    fn with_fs(profile: Profile, fs: Arc<dyn FsLayer>) -> Self {
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

    fn sp(&mut self) -> &mut Spooler {
        self.spooler.as_mut().unwrap()
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Runs `f` while the store is closed (so the real binary can open it), then opens it
    /// again with a new spooler on the same clock.
    fn closed(&mut self, f: impl FnOnce(&Path)) {
        drop(self.spooler.take());
        f(&self.root());
        let (store, _) = Store::open(&self.root()).unwrap();
        let (clock, hand) = Clock::manual(self.now());
        self.hand = hand;
        self.spooler = Some(Spooler::new(store, clock));
        self.sp().drain_events();
    }

    fn now(&self) -> Timestamp {
        *self.hand.lock().unwrap()
    }

    fn advance(&self, secs: i64) {
        let mut h = self.hand.lock().unwrap();
        *h += SignedDuration::from_secs(secs);
    }

    /// A draft to `to` (addresses), submitted.
    fn submit(&mut self, subject: &str, to: &[&str]) -> EntryId {
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

    fn run(&mut self) -> Vec<Event> {
        self.sp().run_until_idle();
        let events = self.sp().drain_events();
        for e in &events {
            assert!(!matches!(e, Event::Error(_)), "{e:?}");
        }
        events
    }

    fn assert_no_error(&mut self) {
        for e in self.sp().drain_events() {
            assert!(!matches!(e, Event::Error(_)), "{e:?}");
        }
    }

    fn load(&mut self, eid: EntryId) -> Message {
        self.sp().store_mut().load(eid).unwrap()
    }

    fn folder_name(&mut self, eid: EntryId) -> String {
        let sp = self.sp();
        let s = sp.store().summary(eid).unwrap().folder;
        sp.store().folder(s).unwrap().name.clone()
    }

    fn state(&mut self, eid: EntryId) -> MessageState {
        let now = self.now();
        self.sp().store().summary(eid).unwrap().state(now)
    }

    fn outcomes(&mut self, eid: EntryId) -> Vec<RecipientState> {
        self.load(eid)
            .recipients
            .iter()
            .map(|r| r.outcome.clone())
            .collect()
    }
}

fn spoolbox(store: &Path, args: &[&str]) -> Output {
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

// ---------------------------------------------------------------------------------------------
// Per-recipient results from the server's replies

#[test]
fn rcpt_550_fails_that_recipient_with_the_servers_text_and_delivers_the_other_two_once() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit(
        "Three recipients",
        &[
            "ann@example.com",
            "reject-bob@example.com",
            "cat@example.com",
        ],
    );
    r.run();
    let m = r.load(eid);
    assert_eq!(
        r.outcomes(eid),
        [
            RecipientState::Delivered,
            RecipientState::Failed,
            RecipientState::Delivered
        ]
    );
    for row in [0, 2] {
        let rc = m.recipient(row).unwrap();
        assert!(rc.responsibility());
        assert!(rc.props.time(PR_DELIVER_TIME).is_some());
        assert_eq!(rc.transport.as_deref(), Some("SMTP"));
    }
    let bob = m.recipient(1).unwrap();
    assert!(bob.responsibility());
    let text = bob.report_text().unwrap();
    assert!(
        text.starts_with("550 5.1.1") && text.contains("User unknown in local recipient table"),
        "{text}"
    );
    assert_eq!(r.folder_name(eid), "Sent Items");
    // The NDR names bob only, with the server's words.
    let ndr_id = r
        .sp()
        .store()
        .summaries()
        .find(|s| s.subject == "Undeliverable: Three recipients")
        .expect("an NDR in Inbox")
        .eid;
    assert_eq!(r.folder_name(ndr_id), "Inbox");
    let ndr = r.load(ndr_id);
    assert_eq!(ndr.recipients.len(), 1);
    assert_eq!(ndr.recipients[0].email(), "reject-bob@example.com");
    assert!(ndr.body.contains("550 5.1.1"), "{}", ndr.body);
    // At the server: one message, to the two accepted recipients, with the subject.
    let got = srv.messages();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(rcpts(&got[0]), ["ann@example.com", "cat@example.com"]);
    assert_eq!(got[0]["subject"], "Three recipients");
    assert_eq!(got[0]["mail_from"], "sender@spoolbox.test");
    // Nothing is ever sent again, however long the spooler runs.
    r.advance(7 * 24 * 3600);
    r.run();
    assert_eq!(srv.messages().len(), 1);
}

#[test]
fn rcpt_451_waits_for_the_backoff_then_only_that_recipient_is_sent() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let t0 = r.now();
    let eid = r.submit("Greylisted", &["ann@example.com", "once-dan@example.com"]);
    let events = r.run();
    assert_eq!(
        r.outcomes(eid),
        [RecipientState::Delivered, RecipientState::Retrying]
    );
    let m = r.load(eid);
    let dan = m.recipient(1).unwrap();
    assert!(
        !dan.responsibility(),
        "a 4xx leaves PR_RESPONSIBILITY FALSE"
    );
    assert!(
        dan.report_text().unwrap().starts_with("451 4.2.0"),
        "{dan:?}"
    );
    assert_eq!(r.state(eid), MessageState::WaitingRetry);
    assert_eq!(
        m.spool.next_retry,
        Some(t0 + SignedDuration::from_secs(60)),
        "the first backoff step of the profile"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RetryScheduled { transport, .. } if transport == "SMTP"))
    );
    assert_eq!(srv.messages().len(), 1);
    // Not before the backoff has passed.
    r.advance(59);
    r.run();
    assert_eq!(srv.messages().len(), 1);
    r.advance(2);
    r.run();
    assert_eq!(
        r.outcomes(eid),
        [RecipientState::Delivered, RecipientState::Delivered]
    );
    assert_eq!(r.folder_name(eid), "Sent Items");
    let got = srv.messages();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(rcpts(&got[0]), ["ann@example.com"]);
    assert_eq!(
        rcpts(&got[1]),
        ["once-dan@example.com"],
        "ann is not sent twice"
    );
    assert!(
        !r.sp()
            .store()
            .summaries()
            .any(|s| s.subject.starts_with("Undeliverable")),
        "no NDR for a transient refusal"
    );
}

#[test]
fn server_down_the_messages_wait_with_their_retry_time_and_are_sent_when_it_is_back() {
    let port = free_port();
    let mut r = Rig::new(smtp_profile("127.0.0.1", port));
    let t0 = r.now();
    let first = r.submit(
        "While the server is down",
        &["ann@example.com", "bob@example.com"],
    );
    let second = r.submit("Queued behind it", &["cat@example.com"]);
    r.run();
    // The first waits for its retry. The second either is held behind it (never overtaking a
    // message on the same transport) or, if it was already queued behind the first's hand-off
    // when the refusal came, went on the line after it, found the server down too and waits
    // for its own retry; which depends on how fast the refusal came. Never is it left locked
    // behind the first. Both keep every row FALSE.
    assert_eq!(r.state(first), MessageState::WaitingRetry);
    let held = r.state(second);
    assert!(
        matches!(held, MessageState::Queued | MessageState::WaitingRetry),
        "{held:?}"
    );
    assert!(!r.load(second).is_locked());
    for eid in [first, second] {
        assert!(r.load(eid).recipients.iter().all(|x| !x.responsibility()));
        assert_eq!(r.folder_name(eid), "Outbox");
    }
    let m = r.load(first);
    assert_eq!(m.spool.next_retry, Some(t0 + SignedDuration::from_secs(60)));
    let why = m.spool.last_error.clone().unwrap();
    assert!(
        why.contains("MAPI_E_NETWORK_ERROR") && why.contains("cannot connect to 127.0.0.1"),
        "{why}"
    );
    // A configured server that is down keeps its recipients: not a byte to the pickup folder.
    assert!(!r.root().join("pickup").exists());
    let row = r
        .sp()
        .status_table()
        .into_iter()
        .find(|x| x.name == "SMTP")
        .unwrap();
    assert_ne!(row.status_code & STATUS_OFFLINE, 0);
    assert!(
        row.text.contains("messages wait for a retry"),
        "{}",
        row.text
    );
    // The server comes back on the same port; at the retry time everything goes, once.
    let srv = Server::start_on(port, &[]);
    r.advance(61);
    r.run();
    for eid in [first, second] {
        assert_eq!(r.folder_name(eid), "Sent Items", "{eid}");
        assert!(
            r.load(eid)
                .recipients
                .iter()
                .all(|x| x.outcome == RecipientState::Delivered)
        );
    }
    let got = srv.messages();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0]["subject"], "While the server is down");
    assert_eq!(rcpts(&got[0]), ["ann@example.com", "bob@example.com"]);
    assert_eq!(got[1]["subject"], "Queued behind it");
}

#[test]
fn a_reply_lost_after_the_data_dot_is_shown_as_outcome_unknown_and_sent_again() {
    let srv = Server::start(&["--drop-after-data", "1"]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit("Lost reply", &["ann@example.com", "bob@example.com"]);
    r.run();
    assert_eq!(srv.messages().len(), 1, "the server has it once");
    assert_eq!(
        r.outcomes(eid),
        [
            RecipientState::OutcomeUnknown,
            RecipientState::OutcomeUnknown
        ]
    );
    let m = r.load(eid);
    for rc in &m.recipients {
        assert!(!rc.responsibility(), "unknown is not done: it is retried");
        assert!(
            rc.report_text().unwrap().contains("outcome unknown"),
            "{rc:?}"
        );
    }
    assert_eq!(r.state(eid), MessageState::WaitingRetry);
    // The user sees it: `show` and `list` (the same store, through the real binary).
    r.closed(|root| {
        let shown = ok(&spoolbox(root, &["show", &eid.to_string()]));
        assert!(shown.contains("outcome unknown"), "{shown}");
        let list: Value = serde_json::from_str(&ok(&spoolbox(root, &["list", "--json"]))).unwrap();
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == eid.0)
            .unwrap()
            .clone();
        assert_eq!(row["state"], "Waiting retry");
        assert!(
            row["last_error"]
                .as_str()
                .unwrap()
                .contains("outcome unknown"),
            "{row:#}"
        );
        let text = ok(&spoolbox(root, &["list"]));
        let line = text
            .lines()
            .find(|l| l.contains("Lost reply"))
            .unwrap()
            .to_owned();
        assert!(
            line.contains("Waiting retry") && line.contains("outcome unknown"),
            "{line}"
        );
    });
    r.advance(61);
    r.run();
    assert_eq!(
        r.outcomes(eid),
        [RecipientState::Delivered, RecipientState::Delivered]
    );
    let got = srv.messages();
    assert_eq!(got.len(), 2, "at-least-once: the server has it twice");
    assert_eq!(rcpts(&got[0]), rcpts(&got[1]));
    assert_eq!(
        got[0]["message_id"], got[1]["message_id"],
        "the same message"
    );
    let trace = r.sp().trace_text(eid).unwrap();
    assert!(trace.contains("outcome unknown"), "{trace}");
}

#[test]
fn a_hung_server_holds_neither_the_spooler_nor_the_other_transports() {
    // A server that accepts the connection and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let mut p = smtp_profile("127.0.0.1", port);
    if let TransportKind::Smtp(s) = &mut p.transports[0].kind {
        s.timeout_secs = 3;
    }
    p.transports
        .push(TransportConfig::new("Null", TransportKind::Null, &["NULL"]));
    let mut r = Rig::new(p);
    let slow = r.submit("To the silent server", &["ann@example.org"]);
    let other = {
        let store = r.sp().store_mut();
        let eid = store.new_entry_id().unwrap();
        let mut m = Message::draft(eid, store.folder_of(FolderKind::Outbox), "Elsewhere");
        m.recipients.push(Recipient::new(
            0,
            "Null",
            "n@null.example",
            "NULL",
            RecipientKind::To,
        ));
        let sent = store.folder_of(FolderKind::SentItems);
        m.props
            .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        store.save(&mut m).unwrap();
        r.sp().handle(Command::Submit(eid));
        eid
    };
    let t0 = Instant::now();
    // The first message goes first and hangs at the server; the spooler goes on.
    while r.sp().store().summary(other).unwrap().next_step.is_some() {
        match r.sp().tick() {
            Tick::Ran(..) => {}
            Tick::Idle(_) => r.sp().wait_for_handoff(Duration::from_millis(20)),
            Tick::Paused => panic!("paused: {:?}", r.sp().drain_events()),
        }
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "the NULL message waited for the silent SMTP server"
        );
    }
    r.sp().settle();
    assert_eq!(r.folder_name(other), "Sent Items");
    assert!(
        r.sp().handoff_under_way(),
        "the SMTP hand-off is still under way"
    );
    assert!(
        r.sp()
            .status_table()
            .iter()
            .any(|row| row.text.contains(&format!("sending message {slow}"))),
        "{:?}",
        r.sp().status_table()
    );
    // A command is answered meanwhile, at once.
    let t1 = Instant::now();
    r.sp().handle(Command::Pause);
    r.sp().handle(Command::Resume);
    assert!(t1.elapsed() < Duration::from_millis(500));
    // The silence ends in the timeout: the message waits for its retry; nothing is lost.
    r.run();
    assert_eq!(r.state(slow), MessageState::WaitingRetry);
    let m = r.load(slow);
    assert!(
        m.spool
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("MAPI_E_NETWORK_ERROR")),
        "{:?}",
        m.spool.last_error
    );
    assert!(!held.lock().unwrap().is_empty(), "it did connect");
}

#[test]
fn a_breakpoint_on_transmit_stops_once_per_hand_off_and_send_id_sends_only_that_message() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let first = r.submit("First of two", &["ann@example.com"]);
    let second = r.submit("Second of two", &["bob@example.com"]);
    r.sp().handle(Command::SetBreakpoint(Step::Transmit, true));
    let mut stops = Vec::new();
    for _ in 0..200 {
        match r.sp().tick() {
            Tick::Paused => {
                for e in r.sp().drain_events() {
                    if let Event::Notice(t) = e
                        && t.starts_with("breakpoint")
                    {
                        stops.push(t);
                    }
                }
                r.sp().handle(Command::Continue);
            }
            Tick::Idle(_) if r.sp().handoff_under_way() => {
                r.sp().wait_for_handoff(Duration::from_millis(100));
            }
            Tick::Idle(_) => break,
            Tick::Ran(..) => {}
        }
    }
    // The background hand-off is collected without stopping a second time.
    assert_eq!(stops.len(), 2, "{stops:#?}");
    assert!(stops[0].contains(&first.to_string()) && stops[1].contains(&second.to_string()));
    assert_eq!(r.folder_name(first), "Sent Items");
    assert_eq!(r.folder_name(second), "Sent Items");
    // `send ID` (restrict_to) starts no other message's hand-off.
    let third = r.submit("Third", &["cat@example.com"]);
    let fourth = r.submit("Fourth", &["dan@example.com"]);
    r.sp().handle(Command::SetBreakpoint(Step::Transmit, false));
    r.sp().restrict_to(Some(fourth));
    r.run();
    assert_eq!(r.folder_name(fourth), "Sent Items");
    assert_eq!(r.state(third), MessageState::Queued);
    assert_eq!(srv.subjects(), ["First of two", "Second of two", "Fourth"]);
}

#[test]
fn one_connection_carries_several_messages() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    for i in 0..3 {
        r.submit(&format!("Message {i}"), &["ann@example.com"]);
    }
    r.run();
    assert_eq!(srv.messages().len(), 3);
    assert_eq!(srv.connections(), 1, "one EHLO for three messages");
    // The server goes away (as an idle timeout would close the kept connection) and comes
    // back: the next message reconnects by itself, before anything is sent, with no retry.
    let port = srv.port;
    drop(srv);
    let srv = Server::start_on(port, &[]);
    let eid = r.submit("After a reconnect", &["ann@example.com"]);
    r.run();
    assert_eq!(r.folder_name(eid), "Sent Items");
    assert_eq!(r.load(eid).spool.attempts, 0, "no retry was needed");
    assert_eq!(srv.messages().len(), 1);
    assert_eq!(srv.connections(), 1);
}

// ---------------------------------------------------------------------------------------------
// PIPELINING (RFC 2920): MAIL, the RCPTs and DATA in one write when the server offers it

/// Sends a message to three recipients, one of them refused (550), then one to a single
/// recipient, on one connection; returns the first's outcomes and each accepted RCPT's
/// `ahead` (bytes of later commands already at the server when it answered).
fn send_550_case(server_args: &[&str]) -> (Vec<RecipientState>, Vec<u64>) {
    let srv = Server::start(server_args);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let first = r.submit(
        "Three recipients",
        &[
            "ann@example.com",
            "reject-bob@example.com",
            "cat@example.com",
        ],
    );
    let second = r.submit("One recipient", &["dan@example.com"]);
    r.run();
    assert_eq!(
        srv.subjects(),
        ["Three recipients", "One recipient"],
        "{server_args:?}"
    );
    assert_eq!(
        rcpts(&srv.messages()[0]),
        ["ann@example.com", "cat@example.com"]
    );
    assert_eq!(r.outcomes(second), [RecipientState::Delivered]);
    assert!(
        r.load(first)
            .recipient(1)
            .unwrap()
            .report_text()
            .unwrap()
            .starts_with("550 5.1.1"),
        "the server's own text"
    );
    assert_eq!(srv.connections(), 1, "{server_args:?}");
    // The transport's status says which way it talks.
    let status = r
        .sp()
        .status_table()
        .into_iter()
        .find(|x| x.name == "SMTP")
        .unwrap()
        .text;
    assert!(status.starts_with("connected to 127.0.0.1:"), "{status}");
    assert_eq!(
        status.ends_with(", PIPELINING"),
        !server_args.contains(&"--no-pipelining"),
        "{status}"
    );
    let aheads = srv
        .records("rcpt")
        .iter()
        .map(|v| v["ahead"].as_u64().unwrap())
        .collect();
    (r.outcomes(first), aheads)
}

#[test]
fn commands_are_pipelined_when_the_server_offers_it_with_the_same_outcomes_as_one_by_one() {
    let (pipelined, ahead) = send_550_case(&[]);
    let (one_by_one, waited) = send_550_case(&["--no-pipelining"]);
    // The keywords come from the first EHLO (the client reads the reply itself): a server that
    // would refuse a second one is never asked it, and is pipelined to.
    let (refused_ehlo, not_waited) = send_550_case(&["--refuse-second-ehlo"]);
    let want = [
        RecipientState::Delivered,
        RecipientState::Failed,
        RecipientState::Delivered,
    ];
    assert_eq!(pipelined, want);
    assert_eq!(one_by_one, want);
    assert_eq!(refused_ehlo, want);
    // Pipelined, every RCPT (the refused one is not logged) was answered with the commands
    // after it already at the server; one by one, never.
    assert_eq!(ahead.len(), 3);
    assert!(ahead.iter().all(|a| *a > 0), "{ahead:?}");
    assert_eq!(waited, [0, 0, 0]);
    assert!(not_waited.iter().all(|a| *a > 0), "{not_waited:?}");
}

#[test]
fn hundreds_of_recipients_are_pipelined_in_small_batches_and_each_gets_its_own_answer() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    // 600 RCPTs are about 18 KB of commands: sent all at once, a server that answers each as
    // it reads could fill its socket buffer while the client is still writing.
    let to: Vec<String> = (0..600)
        .map(|i| {
            if i % 150 == 7 {
                format!("reject-{i}@example.com")
            } else {
                format!("r{i:03}@example.com")
            }
        })
        .collect();
    let refs: Vec<&str> = to.iter().map(String::as_str).collect();
    let eid = r.submit("Many recipients", &refs);
    r.run();
    let outcomes = r.outcomes(eid);
    for (i, o) in outcomes.iter().enumerate() {
        let want = if i % 150 == 7 {
            RecipientState::Failed
        } else {
            RecipientState::Delivered
        };
        assert_eq!(*o, want, "row {i}");
    }
    let got = srv.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(rcpts(&got[0]).len(), 596);
    // Never more than one batch (4 KB of commands) ahead of the server's answers, and the
    // client did wait for them between batches.
    let ahead: Vec<u64> = srv
        .records("rcpt")
        .iter()
        .map(|v| v["ahead"].as_u64().unwrap())
        .collect();
    assert_eq!(ahead.len(), 596);
    assert!(ahead.iter().all(|a| *a < 4096), "{ahead:?}");
    let waits = ahead.iter().filter(|a| **a == 0).count();
    assert!((3..=10).contains(&waits), "{waits} batch ends: {ahead:?}");
}

#[test]
fn a_refused_sender_or_no_accepted_recipient_ends_the_transaction_and_the_connection_goes_on() {
    for args in [&[][..], &["--no-pipelining"][..]] {
        let srv = Server::start(args);
        let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
        // Every recipient refused: DATA is refused too (or, one by one, never sent).
        let nobody = r.submit(
            "Nobody takes it",
            &["reject-a@example.com", "reject-b@example.com"],
        );
        let fine = r.submit("Fine", &["ann@example.com"]);
        r.run();
        assert_eq!(
            r.outcomes(nobody),
            [RecipientState::Failed, RecipientState::Failed],
            "{args:?}"
        );
        assert_eq!(r.outcomes(fine), [RecipientState::Delivered], "{args:?}");
        // The sender refused at MAIL: the same answer for every recipient.
        let mut p = smtp_profile("127.0.0.1", srv.port);
        p.sender_address = "reject-sender@spoolbox.test".into();
        r.sp().store_mut().set_profile(p).unwrap();
        let refused = r.submit("Refused sender", &["ann@example.com", "bob@example.com"]);
        r.run();
        let m = r.load(refused);
        for rc in &m.recipients {
            assert_eq!(rc.outcome, RecipientState::Failed, "{args:?}");
            assert!(
                rc.report_text().unwrap().starts_with("550 5.7.1"),
                "{:?}",
                rc.report_text()
            );
        }
        assert_eq!(r.folder_name(refused), "Sent Items");
        // Only the one message anybody took; and the replies were read in step, so the
        // connection carried all three transactions.
        assert_eq!(srv.subjects(), ["Fine"], "{args:?}");
        assert_eq!(srv.connections(), 1, "{args:?}");
        for eid in [nobody, fine, refused] {
            assert_eq!(r.load(eid).spool.attempts, 0, "{args:?}: no retry");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The write-ahead gate: a background hand-off's final dot waits for the previous marks' fsync

/// What [`WatchedFs`] does at a journal fsync.
#[derive(Debug, Default)]
struct Watch {
    /// The server's log, to count what it accepted.
    server_log: PathBuf,
    /// How long each journal fsync takes (60 ms when zero).
    sync_ms: u64,
    /// A marks record (recipient rows) was appended since the last fsync.
    marks_written: bool,
    /// Messages with a marks record appended since the last fsync began, and those whose
    /// marks a finished fsync made durable.
    marked: BTreeSet<String>,
    durable: BTreeSet<String>,
    /// Fail the first fsync after a marks record once the server has a message.
    fail_once: bool,
    failed: bool,
    /// What each fsync of marks records saw.
    seen: Vec<SyncSeen>,
}

/// One fsync of marks records, as [`WatchedFs`] saw it.
#[derive(Debug)]
struct SyncSeen {
    /// Messages the server had accepted when it began ...
    at_start: usize,
    /// ... and 60 ms later, as it ended.
    at_end: usize,
    /// Messages whose marks were durable throughout (not those it was syncing).
    durable: usize,
}

impl Watch {
    /// (messages accepted, recipients accepted) at the server so far.
    fn at_server(&self) -> (usize, usize) {
        let log = std::fs::read_to_string(&self.server_log).unwrap_or_default();
        let count = |ev: &str| {
            log.lines()
                .filter(|l| l.contains(&format!(r#""event": "{ev}""#)))
                .count()
        };
        (count("message"), count("rcpt"))
    }
}

/// The real file system, with a slow journal fsync (60 ms, during which a hand-off that did
/// not wait for it would reach the server) that can be made to fail once.
#[derive(Debug)]
struct WatchedFs(Arc<Mutex<Watch>>);

#[derive(Debug)]
struct WatchedJournal {
    inner: Box<dyn AppendFile>,
    watch: Arc<Mutex<Watch>>,
}

impl AppendFile for WatchedJournal {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        if text.contains(r#""recipients":["#) {
            let mut w = self.watch.lock().unwrap();
            w.marks_written = true;
            // A record is "crc32 json\n": the message it is about.
            for line in text.lines() {
                if let Some((_, json)) = line.split_once(' ')
                    && let Ok(v) = serde_json::from_str::<Value>(json)
                    && v["patch"]["recipients"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
                {
                    w.marked.insert(v["eid"].to_string());
                }
            }
        }
        self.inner.write_at(offset, bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        let inner = &mut self.inner;
        watched_sync(&self.watch, &mut || inner.sync())
    }
    fn background_sync(&self) -> Option<spoolbox::durable::fs::BackgroundSync> {
        // The spooler's real path: the journal synced on its own thread.
        let mut inner = self.inner.background_sync()?;
        let watch = Arc::clone(&self.watch);
        Some(Box::new(move || watched_sync(&watch, &mut inner)))
    }
}

fn watched_sync(
    watch: &Mutex<Watch>,
    inner: &mut dyn FnMut() -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (before, syncing) = {
        let mut w = watch.lock().unwrap();
        (w.at_server().0, std::mem::take(&mut w.marked))
    };
    let ms = watch.lock().unwrap().sync_ms;
    std::thread::sleep(Duration::from_millis(if ms == 0 { 60 } else { ms }));
    let mut w = watch.lock().unwrap();
    let after = w.at_server();
    let marks = std::mem::take(&mut w.marks_written);
    if !syncing.is_empty() {
        let durable = w.durable.len();
        w.seen.push(SyncSeen {
            at_start: before,
            at_end: after.0,
            durable,
        });
    }
    if w.fail_once && !w.failed && marks && after.0 > 0 {
        w.failed = true;
        w.marked.extend(syncing);
        return Err(std::io::Error::other(
            "injected: the disk failed the journal fsync",
        ));
    }
    drop(w);
    let r = inner();
    let mut w = watch.lock().unwrap();
    if r.is_ok() {
        w.durable.extend(syncing);
    } else {
        w.marked.extend(syncing);
    }
    r
}

impl Hooks for WatchedFs {
    fn open_append(&self, path: &Path) -> std::io::Result<(Box<dyn AppendFile>, bool)> {
        let (inner, created) = RealFs.open_append(path)?;
        let watch = Arc::clone(&self.0);
        Ok((Box::new(WatchedJournal { inner, watch }), created))
    }
}

#[test]
fn a_final_dot_overlaps_the_fsync_of_the_marks_before_it_but_never_the_one_before_that() {
    let srv = Server::start(&[]);
    let watch = Arc::new(Mutex::new(Watch {
        server_log: srv.log.clone(),
        // Long enough that the server (which fsyncs its log) answers within it on a busy
        // machine (250 ms was not: 4 runs in 20 saw fewer overlaps under load).
        sync_ms: 600,
        ..Watch::default()
    }));
    let mut r = Rig::with_fs(
        smtp_profile("127.0.0.1", srv.port),
        Arc::new(Hooked(WatchedFs(Arc::clone(&watch)))),
    );
    let ids: Vec<EntryId> = (0..5)
        .map(|i| {
            r.submit(
                &format!("Gated {i}"),
                &["ann@example.com", "bob@example.com"],
            )
        })
        .collect();
    r.run();
    assert_eq!(srv.messages().len(), 5, "each message once");
    for eid in ids {
        assert_eq!(r.folder_name(eid), "Sent Items");
        assert_eq!(r.load(eid).spool.attempts, 0);
    }
    // Closing the store lets the last syncs finish.
    drop(r);
    let w = watch.lock().unwrap();
    assert!(w.seen.len() >= 4, "{:#?}", w.seen);
    // Two deep: while the marks of one message were being synced (250 ms here), the next one
    // could reach the server, but no further one: at no time did the server have more than
    // two messages whose marks were not durable (one answered, one in flight) ...
    for s in &w.seen {
        assert!(s.at_end <= s.at_start + 1, "{:#?}", w.seen);
        assert!(s.at_end <= s.durable + 2, "{:#?}", w.seen);
    }
    // ... and it did overlap: a message after the second is accepted during the fsync of the
    // marks of the one before it, instead of waiting for them. (The second waits for the
    // first's: there is no hand-off before the first to stand in.) Three could; at least one
    // must, however busy the machine (the bounds above are the promise, this is the speed).
    let overlapped = w.seen.iter().filter(|s| s.at_end > s.at_start).count();
    assert!(overlapped >= 1, "{:#?}", w.seen);
}

#[test]
fn the_next_message_goes_on_the_line_before_the_last_is_recorded_but_its_dot_waits_for_that() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    // The server takes half a second over the first message's RCPT: the spooler has queued
    // the second behind it by then.
    let first = r.submit("First", &["slow@example.com"]);
    let second = r.submit("Second", &["bob@example.com", "cyd@example.com"]);
    while let Tick::Ran(..) = r.sp().tick() {}
    assert!(r.sp().handoff_under_way());
    assert_eq!(srv.messages().len(), 0, "the first is still at its RCPT");
    // No more ticks: the spooler does not look at the first hand-off's answer. The transport
    // goes on with the second by itself, as far as its final dot ...
    srv.wait_for_rcpts(3);
    let rcpts: Vec<String> = srv
        .records("rcpt")
        .iter()
        .map(|v| v["address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        rcpts,
        ["slow@example.com", "bob@example.com", "cyd@example.com"],
        "the second message's dialogue started while the first was not yet recorded"
    );
    // ... and no further: its dot waits until the first one's marks are journaled and synced,
    // which only the spooler can do. At most one message is ever at the server unrecorded.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(srv.subjects(), ["First"]);
    assert_eq!(r.outcomes(first), [RecipientState::Pending]);
    // The spooler goes on: the first is recorded, the second's gate opens, both are filed.
    r.run();
    assert_eq!(srv.subjects(), ["First", "Second"], "each once, in order");
    for eid in [first, second] {
        assert_eq!(r.folder_name(eid), "Sent Items");
        assert_eq!(r.load(eid).spool.attempts, 0);
        assert!(
            r.outcomes(eid)
                .iter()
                .all(|o| *o == RecipientState::Delivered)
        );
    }
    assert_eq!(srv.connections(), 1, "one connection carried both");
}

#[test]
fn pausing_with_a_hand_off_queued_holds_it_before_its_dot_and_resume_sends_both_once() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let first = r.submit("First", &["slow@example.com"]);
    let second = r.submit("Second", &["bob@example.com"]);
    while let Tick::Ran(..) = r.sp().tick() {}
    // Paused while the first is at the server and the second queued behind it.
    r.sp().handle(Command::Pause);
    assert!(matches!(r.sp().tick(), Tick::Paused));
    srv.wait_for_rcpts(2);
    std::thread::sleep(Duration::from_millis(300));
    // The paused spooler records nothing, so the second stays before its dot.
    assert_eq!(srv.messages().len(), 1);
    assert_eq!(r.outcomes(first), [RecipientState::Pending]);
    r.sp().handle(Command::Resume);
    r.run();
    assert_eq!(srv.subjects(), ["First", "Second"]);
    for eid in [first, second] {
        assert_eq!(r.folder_name(eid), "Sent Items");
        assert_eq!(r.load(eid).spool.attempts, 0, "no retry for {eid}");
        assert_eq!(r.outcomes(eid), [RecipientState::Delivered]);
    }
}

#[test]
fn a_failed_journal_fsync_withdraws_the_next_hand_off_before_its_dot_and_it_is_sent_later() {
    let srv = Server::start(&[]);
    let watch = Arc::new(Mutex::new(Watch {
        server_log: srv.log.clone(),
        fail_once: true,
        ..Watch::default()
    }));
    let mut r = Rig::with_fs(
        smtp_profile("127.0.0.1", srv.port),
        Arc::new(Hooked(WatchedFs(Arc::clone(&watch)))),
    );
    let first = r.submit("First", &["ann@example.com"]);
    let second = r.submit("Second", &["bob@example.com"]);
    r.sp().run_until_idle();
    let events = r.sp().drain_events();
    assert!(
        watch.lock().unwrap().failed,
        "the fsync after the first marks failed"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Error(m) if m.contains("journal could not be synced"))),
        "the failure is reported: {events:?}"
    );
    // The first message's marks could not be made durable in time, so the second hand-off
    // (already in DATA) was withdrawn: the server has only the first.
    assert_eq!(srv.messages().len(), 1);
    assert_eq!(srv.messages()[0]["subject"], "First");
    assert_eq!(r.folder_name(first), "Sent Items");
    assert_eq!(r.state(second), MessageState::WaitingRetry);
    let why = r.load(second).spool.last_error.unwrap_or_default();
    assert!(why.contains("withdrawn before the final DATA dot"), "{why}");
    // After the backoff it goes, once.
    r.advance(3600);
    r.run();
    assert_eq!(r.folder_name(second), "Sent Items");
    assert_eq!(srv.subjects(), ["First", "Second"]);
}

/// A journal whose fsync fails once as Linux fails it ("fsyncgate"): what was written since the
/// last good sync never reaches the disk (here it is overwritten with zeros, durably), yet the
/// pages count as clean, so a plain second fsync succeeds without them.
#[derive(Debug)]
struct LosingJournal {
    inner: Box<dyn AppendFile>,
    path: PathBuf,
    state: Arc<Mutex<Losing>>,
}

#[derive(Debug, Default)]
struct Losing {
    /// The end of the records covered by the last good sync, and of those written.
    synced: u64,
    end: u64,
    /// The failure happened, and what it lost (bytes).
    lost: u64,
}

/// One sync of a [`LosingJournal`]: the first one that covers recipient marks loses them.
fn losing_sync(
    path: &Path,
    state: &Mutex<Losing>,
    sync: &mut dyn FnMut() -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (from, end, fail) = {
        let s = state.lock().unwrap();
        let bytes = std::fs::read(path).unwrap_or_default();
        let range = bytes
            .get(usize::try_from(s.synced).unwrap()..usize::try_from(s.end).unwrap())
            .unwrap_or_default();
        let marks = String::from_utf8_lossy(range).contains(r#""recipients":["#);
        (s.synced, s.end, s.lost == 0 && marks)
    };
    if fail {
        let zeros = vec![0u8; usize::try_from(end - from).unwrap()];
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        std::os::unix::fs::FileExt::write_all_at(&f, &zeros, from)?;
        f.sync_data()?;
        state.lock().unwrap().lost = end - from;
        return Err(std::io::Error::other(
            "injected: EIO on write-back (pages lost)",
        ));
    }
    sync()?;
    let mut s = state.lock().unwrap();
    s.synced = s.synced.max(end);
    Ok(())
}

impl AppendFile for LosingJournal {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_at(offset, bytes)?;
        // Records, not the zeros written ahead of them.
        if bytes.iter().any(|b| *b != 0) {
            let mut s = self.state.lock().unwrap();
            s.end = s.end.max(offset + bytes.len() as u64);
        }
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        let inner = &mut self.inner;
        losing_sync(&self.path, &self.state, &mut || inner.sync())
    }
    fn background_sync(&self) -> Option<spoolbox::durable::fs::BackgroundSync> {
        let mut inner = self.inner.background_sync()?;
        let (path, state) = (self.path.clone(), Arc::clone(&self.state));
        Some(Box::new(move || losing_sync(&path, &state, &mut inner)))
    }
}

#[derive(Debug)]
struct LosingFs(Arc<Mutex<Losing>>);

impl Hooks for LosingFs {
    fn open_append(&self, path: &Path) -> std::io::Result<(Box<dyn AppendFile>, bool)> {
        let (inner, created) = RealFs.open_append(path)?;
        let state = Arc::clone(&self.0);
        Ok((
            Box::new(LosingJournal {
                inner,
                path: path.to_path_buf(),
                state,
            }),
            created,
        ))
    }
}

#[test]
fn after_a_journal_fsync_that_lost_its_pages_the_records_are_written_again_before_any_sync_counts()
{
    let srv = Server::start(&[]);
    let state = Arc::new(Mutex::new(Losing::default()));
    let mut r = Rig::with_fs(
        smtp_profile("127.0.0.1", srv.port),
        Arc::new(Hooked(LosingFs(Arc::clone(&state)))),
    );
    let ids: Vec<EntryId> = (0..3)
        .map(|i| r.submit(&format!("Message {i}"), &["ann@example.com"]))
        .collect();
    r.sp().run_until_idle();
    let events = r.sp().drain_events();
    assert!(state.lock().unwrap().lost > 0, "the failure happened");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Error(m) if m.contains("journal could not be synced"))),
        "the failure is reported: {events:?}"
    );
    r.advance(3600);
    r.run();
    // Every record the spooler journaled is on the disk, the lost ones written again: a crash
    // now would replay every mark (a plain second fsync would have left zeros where the lost
    // records were, and replay stops at the first zero, losing every record after them too).
    let bytes = std::fs::read(r.root().join("journal").join("journal.log")).unwrap();
    let replay = spoolbox::store::journal::parse(&bytes);
    assert!(replay.damage.is_none(), "{:?}", replay.damage);
    let marked: BTreeSet<EntryId> = replay
        .records
        .iter()
        .filter(|rec| !rec.patch.recipients.is_empty())
        .map(|rec| rec.eid)
        .collect();
    for eid in &ids {
        assert!(
            marked.contains(eid),
            "the marks of {eid} are in the journal"
        );
        assert_eq!(r.folder_name(*eid), "Sent Items");
    }
    let mut subjects = srv.subjects();
    subjects.sort();
    assert_eq!(
        subjects,
        ["Message 0", "Message 1", "Message 2"],
        "each once"
    );
}

// ---------------------------------------------------------------------------------------------
// The deliver-for-real guard

#[test]
fn with_deliver_for_real_off_a_non_loopback_host_is_refused_visibly_and_nothing_connects() {
    // 0.0.0.0 is not a loopback address, yet on Linux a connection to it reaches the local
    // machine: had the guard let it through, the test server would have seen it.
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("0.0.0.0", srv.port));
    let notices: Vec<String> = r
        .sp()
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Notice(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("deliver_for_real is off") && n.contains("0.0.0.0 refused")),
        "{notices:?}"
    );
    let row = r
        .sp()
        .status_table()
        .into_iter()
        .find(|x| x.name == "SMTP")
        .unwrap();
    assert_ne!(row.status_code & STATUS_OFFLINE, 0);
    assert!(row.text.contains(GUARD_TEXT), "{}", row.text);
    let eid = r.submit("Guarded", &["ann@example.com"]);
    r.run();
    let m = r.load(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("Pickup folder"));
    let trace = r.sp().trace_text(eid).unwrap();
    assert!(
        trace
            .lines()
            .any(|l| l.contains("IXPLogon::SubmitMessage([SMTP]")
                && l.contains("not called: STATUS_OUTBOUND_ENABLED is clear")
                && l.contains(GUARD_TEXT)),
        "{trace}"
    );
    assert_eq!(srv.connections(), 0, "nothing connected");
    assert!(srv.messages().is_empty());
    // Switched on, the very same host is reached: the zero above is a real zero.
    let mut p = r.sp().store().profile().clone();
    p.deliver_for_real = true;
    r.sp().handle(Command::SaveProfile(Box::new(p)));
    r.assert_no_error();
    let eid = r.submit("For real", &["ann@example.com"]);
    r.run();
    assert_eq!(r.load(eid).recipients[0].transport.as_deref(), Some("SMTP"));
    assert_eq!(srv.messages().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Import and export

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/eml").join(name)
}

/// Imports through the spooler's command, as the app does; returns the draft.
fn import(r: &mut Rig, name: &str) -> Message {
    r.sp().handle(Command::ImportEml(fixture(name)));
    let events = r.sp().drain_events();
    let eid = events
        .iter()
        .find_map(|e| match e {
            Event::DraftCreated(eid) => Some(*eid),
            Event::Error(t) => panic!("{name}: {t}"),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name}: no DraftCreated in {events:?}"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Summary(s) if s.eid == eid))
    );
    let m = r.load(eid);
    assert_eq!(r.folder_name(eid), "Outbox");
    assert_eq!(r.state(eid), MessageState::Draft);
    assert!(m.recipients.iter().all(|x| x.addrtype() == "SMTP"));
    m
}

fn people(m: &Message) -> Vec<(String, String, RecipientKind)> {
    m.recipients
        .iter()
        .map(|x| (x.display_name().to_owned(), x.email().to_owned(), x.kind()))
        .collect()
}

fn p(name: &str, addr: &str, kind: RecipientKind) -> (String, String, RecipientKind) {
    (name.to_owned(), addr.to_owned(), kind)
}

#[test]
fn importing_real_world_eml_files_gives_drafts_with_the_right_fields() {
    use RecipientKind::{Bcc, Cc, To};
    let mut r = Rig::new(smtp_profile("", 25));

    let m = import(&mut r, "plain.eml");
    assert_eq!(m.subject(), "Minutes of the Tuesday meeting");
    assert_eq!(
        people(&m),
        [
            p("Alan Turing", "alan@example.org", To),
            p("Lovelace, Ada", "ada@example.com", To),
            p("", "team@example.org", Cc)
        ]
    );
    assert!(
        m.body.starts_with("Hi both,\n\nthe minutes are below.\n"),
        "{:?}",
        m.body
    );
    assert!(m.attachments.is_empty());

    let m = import(&mut r, "alternative.eml");
    assert_eq!(m.subject(), "Q3 figures");
    assert_eq!(
        m.body,
        "Hello Ada,\n\nthe figures for Q3 are ready: revenue up 12 %.\n\nRegards,\nFinance\n",
        "text/plain is preferred over the HTML alternative"
    );

    let m = import(&mut r, "html_only.eml");
    assert_eq!(
        m.body, "Newsletter\nFirst item & more\n",
        "HTML turned into text"
    );

    let m = import(&mut r, "attachments.eml");
    assert_eq!(
        people(&m),
        [p("Charles Babbage", "charles@example.org", To)]
    );
    assert_eq!(
        m.body,
        "Charles, the report and the diagram are attached.\n"
    );
    let att: Vec<(&str, &str)> = m
        .attachments
        .iter()
        .map(|a| (a.file_name.as_str(), a.mime_type.as_str()))
        .collect();
    assert_eq!(
        att,
        [
            ("report.pdf", "application/pdf"),
            ("Übersicht Q3.png", "image/png"),
            ("attached-message-3.eml", "message/rfc822")
        ],
        "directory parts stripped, RFC 2231 names decoded"
    );
    assert!(m.attachments[0].data.starts_with(b"%PDF-1.4"));
    assert!(m.attachments[1].data.starts_with(b"\x89PNG"));
    assert!(
        String::from_utf8_lossy(&m.attachments[2].data).contains("Subject: the original request")
    );

    let m = import(&mut r, "encoded_headers.eml");
    assert_eq!(m.subject(), "Grüße aus München – Résumé");
    assert_eq!(
        people(&m),
        [
            p("François Lefèvre", "francois@example.fr", To),
            p("山田太郎", "yamada@example.jp", To),
            p("", "anna@example.de", Cc),
            p("", "bert@example.de", Cc),
            p("Zöe", "zoe@example.com", Bcc),
        ],
        "encoded words decoded, group members listed"
    );
    assert_eq!(
        m.body,
        "Hallo zusammen, anbei der Lebenslauf. Schöne Grüße, Jürgen\n"
    );

    let m = import(&mut r, "latin1.eml");
    assert_eq!(m.subject(), "Café crème");
    assert_eq!(
        m.body,
        "Un café crème à côté de l'église, s'il vous plaît.\n"
    );

    let m = import(&mut r, "shift_jis.eml");
    assert_eq!(m.subject(), "会議の資料");
    assert_eq!(m.body, "お世話になっております。\n会議の資料を送ります。\n");

    let m = import(&mut r, "windows1252.eml");
    assert_eq!(m.body, "Price: € 42 – “special” offer\n");
}

#[test]
fn importing_a_broken_file_gives_a_clear_error_naming_what_is_wrong() {
    let mut r = Rig::new(smtp_profile("", 25));
    let before = r.sp().store().summaries().count();
    for (name, want) in [
        ("broken/empty.eml", "the file is empty"),
        ("broken/binary.eml", "not a message: the file is binary"),
        ("broken/no_headers.eml", "not a message: no header lines"),
        ("broken/not_a_message.eml", "none of the headers From, To"),
        ("does-not-exist.eml", "No such file"),
    ] {
        r.sp().handle(Command::ImportEml(fixture(name)));
        let errors: Vec<String> = r
            .sp()
            .drain_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Error(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1, "{name}: exactly one error: {errors:?}");
        assert!(
            errors[0].contains(want) && errors[0].contains(name.trim_start_matches("broken/")),
            "{name}: {}",
            errors[0]
        );
    }
    assert_eq!(
        r.sp().store().summaries().count(),
        before,
        "no draft was made"
    );
    // The CLI says the same in one line and exits non-zero.
    r.closed(|root| {
        let o = spoolbox(
            root,
            &["import", fixture("broken/empty.eml").to_str().unwrap()],
        );
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("spoolbox: error: ") && err.contains("empty.eml: the file is empty"),
            "{err}"
        );
    });
}

#[test]
fn cli_import_submit_send_reaches_the_server_and_export_parses_back() {
    let srv = Server::start(&[]);
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let cfg = dir.path().join("config");
    let env = [("XDG_CONFIG_HOME", cfg.as_path())];
    let port = srv.port.to_string();
    let shown = ok(&spoolbox_with(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "none",
        ],
        &env,
        None,
    ));
    assert!(
        shown.contains(&format!("host 127.0.0.1  port {port}  tls none")),
        "{shown}"
    );
    assert!(shown.contains("deliver for real: off"), "{shown}");
    let out = ok(&spoolbox_with(
        &store,
        &[
            "--json",
            "import",
            fixture("attachments.eml").to_str().unwrap(),
            "--submit",
        ],
        &env,
        None,
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["submitted"], true);
    assert_eq!(v["attachments"].as_array().unwrap().len(), 3);
    let id = v["id"].as_u64().unwrap().to_string();
    let sent = ok(&spoolbox_with(&store, &["send", &id], &env, None));
    assert!(
        sent.contains("note: deliver_for_real is off"),
        "the guard is visible: {sent}"
    );
    let got: Vec<Value> = srv
        .messages()
        .into_iter()
        .filter(|m| m["subject"] == "Report and diagram attached")
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(rcpts(&got[0]), ["charles@example.org"]);
    let data = got[0]["data"].as_str().unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(data.as_bytes())
        .unwrap();
    let first = parsed.attachment(0).unwrap();
    assert_eq!(
        mail_parser::MimeHeaders::attachment_name(first),
        Some("report.pdf")
    );
    // Export the sent message and read it back with mail-parser.
    let file = dir.path().join("out.eml");
    let out = ok(&spoolbox_with(
        &store,
        &["export", &id, file.to_str().unwrap()],
        &env,
        None,
    ));
    assert!(out.contains("exported to"), "{out}");
    let bytes = std::fs::read(&file).unwrap();
    let back = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(back.subject(), Some("Report and diagram attached"));
    assert_eq!(
        back.to().unwrap().first().unwrap().address(),
        Some("charles@example.org")
    );
    assert_eq!(back.attachment_count(), 3);
    assert_eq!(
        back.body_text(0).unwrap().trim_end(),
        "Charles, the report and the diagram are attached."
    );
    // A demo message with FAX and EX recipients exports its Internet recipients and says
    // which were left out.
    let list: Value = serde_json::from_str(&ok(&spoolbox(&store, &["list", "--json"]))).unwrap();
    let kickoff = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["subject"] == "Project kickoff: SMTP, fax and a local mailbox"
                && x["folder"] != "Inbox"
        })
        .unwrap()["id"]
        .to_string();
    let file = dir.path().join("kickoff.eml");
    let out = ok(&spoolbox(
        &store,
        &["export", &kickoff, file.to_str().unwrap()],
    ));
    assert!(
        out.contains("left out") && out.contains("(FAX)") && out.contains("(EX)"),
        "{out}"
    );
    let bytes = std::fs::read(&file).unwrap();
    let back = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        back.to().unwrap().first().unwrap().address(),
        Some("linus@example.org")
    );
}

#[test]
fn auth_password_lives_in_a_0600_file_outside_the_store_and_logs_in() {
    let srv = Server::start(&["--auth", "alice:s3cret pass"]);
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let cfg = dir.path().join("config");
    let env = [("XDG_CONFIG_HOME", cfg.as_path())];
    let port = srv.port.to_string();
    ok(&spoolbox_with(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--user",
            "alice",
        ],
        &env,
        None,
    ));
    // Without a password the message waits and says why.
    let out = ok(&spoolbox_with(&store, &["send", "--all"], &env, None));
    assert!(
        out.contains("no password stored for alice@127.0.0.1"),
        "{out}"
    );
    assert!(srv.messages().is_empty());
    let out = ok(&spoolbox_with(
        &store,
        &["profile", "set-password"],
        &env,
        Some("s3cret pass\n"),
    ));
    assert!(out.contains("stored"), "{out}");
    let cred = cfg.join("spoolbox/credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&cred).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    for entry in walk(&store) {
        let text = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains("s3cret"),
            "the password leaked into {}",
            entry.display()
        );
    }
    let shown = ok(&spoolbox_with(&store, &["profile"], &env, None));
    assert!(shown.contains("password: stored"), "{shown}");
    ok(&spoolbox_with(&store, &["send", "--all"], &env, None));
    assert!(!srv.messages().is_empty(), "logged in and sent");
    // The transcript shows that AUTH ran, never its arguments: neither the password nor the
    // base64 token that carries it is anywhere in the store (traces and kept bytes included).
    let token = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "\0alice\0s3cret pass",
    );
    let mut saw_auth = false;
    for entry in walk(&store) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains("s3cret"),
            "the password leaked into {}",
            entry.display()
        );
        assert!(
            !text.contains(&token),
            "the AUTH token leaked into {}",
            entry.display()
        );
        saw_auth |= text.contains("C: AUTH PLAIN (credentials not shown)");
    }
    assert!(
        saw_auth,
        "the transcript records the AUTH command, redacted"
    );
}

/// Issue 17: a distinctive password, after a send with AUTH and a connection test with it
/// typed, is in its credentials file and nowhere else: not in the store (messages, traces,
/// the kept bytes), not in any event the window is sent, not in the trace, not in the log
/// at its most verbose, not in the command line's output.
#[test]
fn a_distinctive_password_is_nowhere_but_its_credentials_after_a_send_with_auth() {
    use spoolbox::spooler::ConnectionTest;
    use spoolbox::transport::credentials::{self, Secret, Vault};
    use spoolbox::transport::smtp::SmtpTransport;

    const PW: &str = "Zq8-tangerine-4711-distinctive";
    let srv = Server::start(&["--auth", &format!("alice:{PW}")]);
    let token = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("\0alice\0{PW}"),
    );
    let mut profile = smtp_profile("127.0.0.1", srv.port);
    let TransportKind::Smtp(settings) = &mut profile.transports[0].kind else {
        panic!("SMTP first")
    };
    settings.username = Some("alice".into());
    let settings = settings.clone();
    // In process: the transport reads the password from a credentials file of its own.
    let cfg = fast_tempdir();
    let file = cfg.path().join("spoolbox/credentials.json");
    Vault::file_only(file.clone(), "test")
        .store(
            &credentials::key("alice", "127.0.0.1", srv.port),
            Some(&Secret::new(PW)),
        )
        .unwrap();
    let mut r = Rig::new(profile);
    r.sp().drain_events();
    r.sp().set_transports(vec![Box::new(
        SmtpTransport::new("SMTP", &["SMTP".to_owned()], settings.clone(), false)
            .with_credentials_file(file.clone()),
    )]);
    let eid = r.submit("Password check", &["ann@example.com"]);
    let mut events = r.run();
    assert_eq!(r.outcomes(eid), [RecipientState::Delivered]);
    // Test connection with the password typed, as the window asks it.
    r.sp()
        .handle(Command::TestConnection(Box::new(ConnectionTest {
            id: 7,
            settings,
            password: Some(Secret::new(PW)),
            deliver_for_real: false,
        })));
    events.extend(r.sp().drain_events());
    let tested = events
        .iter()
        .any(|e| matches!(e, Event::ConnectionTested { id: 7, report } if report.ok()));
    assert!(tested, "the test logged in: {events:?}");
    let msg = r.load(eid);
    let mut everything = format!("{events:?}\n{msg:?}");
    assert!(
        everything.contains("(credentials not shown)"),
        "AUTH is in the transcript"
    );
    // The command line, logging in with the same file: a message imported and sent with
    // the log at its most verbose, then its trace, its JSON and the profile.
    let store = r.root();
    let eml = cfg.path().join("check.eml");
    std::fs::write(
        &eml,
        "From: Ann <ann@example.org>\r\nTo: bob@example.com\r\nSubject: CLI check\r\n\r\nHello.\r\n",
    )
    .unwrap();
    r.closed(|root| {
        let env: [(&str, &Path); 2] = [
            ("XDG_CONFIG_HOME", cfg.path()),
            ("SPOOLBOX_LOG", Path::new("trace")),
        ];
        let eid = eid.to_string();
        for args in [
            vec!["import", eml.to_str().unwrap(), "--submit"],
            vec!["send", "--all"],
            vec!["trace", &eid],
            vec!["--json", "show", &eid],
            vec!["profile"],
        ] {
            let o = spoolbox_with(root, &args, &env, None);
            assert!(o.status.success(), "{args:?}: {o:?}");
            everything.push_str(&String::from_utf8_lossy(&o.stdout));
            everything.push_str(&String::from_utf8_lossy(&o.stderr));
        }
    });
    assert!(
        srv.subjects().iter().any(|s| s == "CLI check"),
        "the command line logged in and sent too: {:?}",
        srv.subjects()
    );
    for entry in walk(&store) {
        everything.push_str(&String::from_utf8_lossy(&std::fs::read(&entry).unwrap()));
    }
    assert!(!everything.contains(PW), "the password leaked");
    assert!(!everything.contains(&token), "the AUTH token leaked");
    assert!(
        std::fs::read_to_string(&file).unwrap().contains(PW),
        "it is where it belongs"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// TLS: STARTTLS and implicit TLS, with the certificate checked

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl), in `dir`.
pub(crate) fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Proc::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl: {e}; scripts/test.sh installs it"));
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=Spoolbox Test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    run(&csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[test]
fn starttls_and_implicit_tls_deliver_and_an_untrusted_certificate_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path());
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    for (mode, flag) in [("starttls", "--starttls"), ("implicit", "--implicit-tls")] {
        let srv = Server::start(&[flag, cert, key]);
        let dir = fast_tempdir();
        let store = dir.path().join("store");
        let port = srv.port.to_string();
        ok(&spoolbox(
            &store,
            &[
                "profile",
                "set-smtp",
                "--host",
                "127.0.0.1",
                "--port",
                &port,
                "--tls",
                mode,
            ],
        ));
        // Roots that do not include the test CA (the system's, or here none at all): nothing
        // is sent, the message waits and says why, and there is no fallback to plain text.
        let empty = certs.path().join("no-roots.pem");
        std::fs::write(&empty, "").unwrap();
        let out = ok(&spoolbox_with(
            &store,
            &["send", "--all"],
            &[("SSL_CERT_FILE", empty.as_path())],
            None,
        ));
        assert!(
            out.contains("MAPI_E_NETWORK_ERROR") && out.to_lowercase().contains("certificate"),
            "{mode}: {out}"
        );
        assert!(srv.messages().is_empty(), "{mode}");
        // Trusting the test CA, the same queue goes out encrypted.
        let out = ok(&spoolbox_with(
            &store,
            &["send", "--all"],
            &[("SSL_CERT_FILE", ca.as_path())],
            None,
        ));
        let got = srv.messages();
        assert!(
            got.iter().any(|m| m["subject"] == "Quarterly report"),
            "{mode}: {out}\n{got:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 16: one bad message never stops the queue; a hostile server never holds a message

#[test]
fn a_poison_message_beside_ten_good_ones_all_go_out_through_smtp() {
    let srv = Server::start(&[]);
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let port = srv.port.to_string();
    crate::poison::ok(&crate::poison::run_bounded(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
        &[],
        Duration::from_mins(1),
    ));
    crate::poison::import_poison_and_ten(dir.path(), &store, &[]);
    // Before the fix the transport's thread died on the poison and `send` hung.
    let out = crate::poison::ok(&crate::poison::run_bounded(
        &store,
        &["send", "--all"],
        &[],
        Duration::from_mins(2),
    ));
    // (A new store holds the demo messages too; they go out beside these.)
    srv.wait_for_rcpts(11);
    let subjects = srv.subjects();
    assert_eq!(
        subjects.iter().filter(|s| *s == "poison").count(),
        1,
        "{out}\n{subjects:?}"
    );
    assert_eq!(
        subjects.iter().filter(|s| s.starts_with("good ")).count(),
        10,
        "{out}\n{subjects:?}"
    );
}

/// A one-connection server on loopback that runs `script` on the socket it accepts (every
/// script bounded in count and time); the handle tells what the script saw.
fn hostile<T: Send + 'static>(
    script: impl FnOnce(std::net::TcpStream) -> T + Send + 'static,
) -> (u16, std::thread::JoinHandle<Option<T>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let h = std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_mins(1) {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                    return Some(script(s));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        None
    });
    (port, h)
}

/// Reads one command line from the client (bounded by the socket's read timeout).
fn client_line(r: &mut BufReader<std::net::TcpStream>) -> String {
    let mut line = String::new();
    let _ = r.read_line(&mut line);
    line
}

/// A rig whose SMTP transport talks to `port` with these bounds, and one message submitted;
/// runs until the spooler is idle and returns the message's last error and how long it took.
fn against(port: u16, timeout: u64, command_deadline: u64) -> (String, Duration, MessageState) {
    let mut p = smtp_profile("127.0.0.1", port);
    if let TransportKind::Smtp(s) = &mut p.transports[0].kind {
        s.timeout_secs = timeout;
        s.command_deadline_secs = command_deadline;
    }
    let mut r = Rig::new(p);
    let eid = r.submit("To a hostile server", &["ann@example.org"]);
    let t0 = Instant::now();
    r.run();
    let took = t0.elapsed();
    let m = r.load(eid);
    let state = r.state(eid);
    (m.spool.last_error.unwrap_or_default(), took, state)
}

#[test]
fn a_reply_line_without_a_newline_is_cut_off_at_the_line_limit() {
    // The greeting never ends: "220-" and then 'a' for as long as the client reads (at most
    // 20 s or 256 MiB here). Before the fix lettre read it all into one line.
    let (port, seen) = hostile(|mut s| {
        let t0 = Instant::now();
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0usize;
        let _ = s.write_all(b"220-");
        while t0.elapsed() < Duration::from_secs(20) && sent < 256 << 20 {
            match s.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => return (sent, true, t0.elapsed()),
            }
        }
        (sent, false, t0.elapsed())
    });
    let (why, took, state) = against(port, 10, 300);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("MAPI_E_NETWORK_ERROR") && why.contains("without an end"),
        "{why}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (sent, cut, _) = seen.join().unwrap().unwrap();
    assert!(cut, "the client closed the connection ({sent} bytes sent)");
}

#[test]
fn a_server_sending_one_byte_a_second_trips_the_command_deadline() {
    // A proper greeting, then the EHLO reply one byte a second (for at most 40 s). The
    // per-read timeout (10 s) never fires; the command's deadline (3 s) does.
    let (port, seen) = hostile(|s| {
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"220 slow.test ESMTP\r\n");
        let ehlo = client_line(&mut r);
        let t0 = Instant::now();
        for b in b"250-slow.test says hello very very slowly indeed\r\n250 OK\r\n" {
            if t0.elapsed() > Duration::from_secs(40) || w.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        ehlo
    });
    let (why, took, state) = against(port, 10, 3);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("timed out after 3 s") && why.contains("deadline") && why.contains("EHLO"),
        "{why}"
    );
    assert!(took < Duration::from_secs(9), "{took:?}");
    assert!(seen.join().unwrap().unwrap().starts_with("EHLO"));
}

#[test]
fn garbage_from_the_server_is_named_and_the_message_waits() {
    let (port, seen) = hostile(|s| {
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"220 junk.test ESMTP\r\n");
        let _ = client_line(&mut r);
        let _ = w.write_all(b"250 junk.test\r\n");
        let mail = client_line(&mut r);
        let _ = w.write_all(b"\x00\xff\xfeGARBAGE garbage garbage\r\n");
        // Whatever comes next (nothing, or a RSET); at most 5 s.
        let _ = r.get_ref().set_read_timeout(Some(Duration::from_secs(5)));
        let _ = client_line(&mut r);
        mail
    });
    let (why, took, state) = against(port, 10, 300);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("not an SMTP reply") && why.contains("MAIL FROM"),
        "{why}"
    );
    assert!(took < Duration::from_secs(9), "{took:?}");
    assert!(seen.join().unwrap().unwrap().starts_with("MAIL FROM"));
}

#[test]
fn a_silent_server_is_a_timeout_named_as_one() {
    let (port, seen) = hostile(|s| {
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"220 mute.test ESMTP\r\n");
        let _ = client_line(&mut r);
        let _ = w.write_all(b"250 mute.test\r\n");
        let _ = client_line(&mut r);
        let _ = w.write_all(b"250 2.1.0 Ok\r\n");
        // RCPT TO: never answered (the client gives up first; at most 20 s).
        let rcpt = client_line(&mut r);
        let _ = client_line(&mut r);
        rcpt
    });
    let (why, _, state) = against(port, 2, 300);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("timed out after 2 s waiting for the reply to RCPT TO:<ann@example.org>"),
        "{why}"
    );
    assert!(!why.contains("os error 11"), "{why}");
    assert!(seen.join().unwrap().unwrap().starts_with("RCPT TO"));
}

// ---------------------------------------------------------------------------------------------
// What went over the wire: each hand-off's transcript and its exact bytes, kept with the message

/// The trace's SMTP hand-offs (calls that carry a transcript).
fn wire_calls(m: &Message) -> Vec<spoolbox::mapi::TraceCall> {
    m.trace
        .iter()
        .filter(|c| c.call == "IXPLogon::SubmitMessage" && !c.transcript.is_empty())
        .cloned()
        .collect()
}

#[test]
fn an_smtp_hand_off_keeps_its_transcript_and_the_exact_bytes_the_server_got() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit(
        "On the wire",
        &["ann@example.com", "reject-bob@example.com"],
    );
    r.run();
    let m = r.load(eid);
    let calls = wire_calls(&m);
    assert_eq!(calls.len(), 1, "one hand-off: {:#?}", m.trace);
    let t = calls[0].transcript.join("\n");
    // Greeting to the reply after the final dot, in order, with the server's words.
    let mut at = 0;
    for want in [
        "connected to 127.0.0.1:",
        "S: 220 ",
        "C: EHLO ",
        "S: 250-",
        "C: MAIL FROM:<sender@spoolbox.test>",
        "C: RCPT TO:<ann@example.com>",
        "C: RCPT TO:<reject-bob@example.com>",
        // Pipelined (the server offers PIPELINING): DATA goes out before the RCPT replies.
        "C: DATA",
        "S: 550 5.1.1",
        "S: 354 ",
        "C: (the message, ",
        "S: 250 ",
    ] {
        let found = t[at..].find(want).unwrap_or_else(|| {
            panic!("{want:?} missing (or out of order) in the transcript:\n{t}")
        });
        at += found + want.len();
    }
    assert!(
        !t.contains("Body of On the wire"),
        "the body is counted, not copied:\n{t}"
    );
    // A delivered recipient's report text is the server's reply to the final dot.
    let ann = m.recipient(0).unwrap();
    assert!(
        ann.report_text().is_some_and(|x| x.starts_with("250")),
        "{:?}",
        ann.report_text()
    );
    // The bytes the server received are kept beside the message, byte for byte.
    let kept = calls[0].bytes.clone().expect("the bytes are kept");
    assert!(kept.starts_with("sent/"), "{kept}");
    let bytes = std::fs::read(r.root().join(&kept)).unwrap();
    let got = srv.messages();
    let data = got[0]["data"].as_str().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&bytes).trim_end(),
        data.trim_end(),
        "the kept bytes are what the server got"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(r.root().join(&kept))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second message on the kept connection says so, and has its own transcript and bytes.
    let eid2 = r.submit("Second on the line", &["ann@example.com"]);
    r.run();
    let m2 = r.load(eid2);
    let c2 = wire_calls(&m2);
    assert_eq!(c2.len(), 1);
    assert!(
        c2[0].transcript[0].starts_with("(on the connection kept from an earlier message"),
        "{:#?}",
        c2[0].transcript
    );
    assert!(!c2[0].transcript.join("\n").contains("C: EHLO"));
    assert_ne!(c2[0].bytes, calls[0].bytes);
    // `spoolbox trace` prints it under the call; `spoolbox export` writes the kept bytes.
    let id = eid.to_string();
    let out_file = r.dir.path().join("exported.eml");
    let out_path = out_file.to_str().unwrap().to_owned();
    r.closed(|root| {
        let trace = ok(&spoolbox(root, &["trace", &id]));
        assert!(trace.contains("| +"), "{trace}");
        assert!(trace.contains("S: 550 5.1.1"), "{trace}");
        assert!(
            trace.contains(&format!("the bytes handed over: {kept}")),
            "{trace}"
        );
        let out = ok(&spoolbox(root, &["export", &id, &out_path]));
        assert!(out.contains("exact bytes"), "{out}");
    });
    assert_eq!(std::fs::read(&out_file).unwrap(), bytes);
}

#[test]
fn the_trace_tab_shows_an_smtp_hand_offs_transcript() {
    use egui_kittest::kittest::Queryable as _;
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit("Transcript in the window", &["ann@example.com"]);
    r.run();
    assert_eq!(srv.messages().len(), 1);
    let root = r.root();
    drop(r.spooler.take());
    let mut h = crate::ui::app(&root);
    crate::ui::step_until(&mut h, "the store", |a| {
        a.model.summaries.contains_key(&eid)
    });
    let sent = h.state().model.folder_of(FolderKind::SentItems).unwrap();
    h.state_mut().model.folder = Some(sent);
    h.state_mut().model.invalidate_rows();
    h.run_steps(2);
    h.get_by_label("Transcript in the window").click();
    crate::ui::step_until(&mut h, "the detail", |a| {
        a.model.detail.as_ref().is_some_and(|m| m.entry_id == eid)
    });
    h.run_steps(1);
    h.get_by_label("Trace").click();
    h.run_steps(2);
    // Below the fold of the detail pane: scrolled to, then opened.
    h.get_by_label_contains("Transcript of hand-off 1")
        .scroll_to_me();
    h.run_steps(5);
    h.get_by_label_contains("Transcript of hand-off 1").click();
    // The header opens with an animation.
    h.run_steps(20);
    h.get_by_label_contains("S: 220 ");
    h.get_by_label_contains("C: MAIL FROM:<sender@spoolbox.test>");
    assert!(h.query_all_by_label_contains("S: 250 ").count() >= 1);
    h.get_by_label_contains("The bytes handed over are kept as sent/");
    // The Source tab shows those bytes, not a new rendering.
    h.get_by_label("Source").click();
    crate::ui::step_until(&mut h, "the source", |a| {
        a.model.source.as_ref().is_some_and(|s| s.eid == eid)
    });
    h.run_steps(2);
    h.get_by_label_contains("The exact bytes of the last hand-off");
    assert!(!h.state().model.source.as_ref().unwrap().preview);
}

// ---------------------------------------------------------------------------------------------
// The pickup folder renders and writes a heavy message off the spooler's thread

#[test]
fn a_heavy_message_goes_to_the_pickup_folder_off_the_spoolers_thread_and_once() {
    let mut profile = smtp_profile("127.0.0.1", 1);
    profile.transports.retain(|t| t.name == "Pickup folder");
    let mut r = Rig::new(profile);
    // A light message is handed off at once, on the spooler's thread, as before.
    let light = r.submit("Light", &["ann@example.com"]);
    let mut saw_background = false;
    for _ in 0..50 {
        r.sp().tick();
        saw_background |= r.sp().handoff_under_way();
    }
    r.run();
    assert!(!saw_background, "a light message needs no thread");
    assert_eq!(r.folder_name(light), "Sent Items");
    // A heavy one (6 MB of body) is rendered and written on the transport's thread: the
    // spooler's Transmit step comes back at once with the hand-off under way.
    let heavy = r.submit("Heavy", &["ann@example.com", "bob@example.com"]);
    {
        let store = r.sp().store_mut();
        let mut m = store.load(heavy).unwrap();
        m.body = "A line of a long report, seventy-odd characters wide, again and again.\n"
            .repeat(6 << 20 >> 6);
        store.save(&mut m).unwrap();
    }
    let mut saw_background = false;
    for _ in 0..200 {
        r.sp().tick();
        if r.sp().handoff_under_way() {
            saw_background = true;
            break;
        }
    }
    assert!(
        saw_background,
        "the heavy hand-off went to the transport's thread"
    );
    r.run();
    assert_eq!(r.folder_name(heavy), "Sent Items");
    assert_eq!(
        r.outcomes(heavy),
        [RecipientState::Delivered, RecipientState::Delivered]
    );
    // Exactly one file for it in the pickup folder, with the whole body.
    let pickup = r.root().join("pickup");
    let files: Vec<PathBuf> = std::fs::read_dir(&pickup)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "eml")
                && std::fs::read(p)
                    .is_ok_and(|b| String::from_utf8_lossy(&b).contains("Subject: Heavy"))
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 6_000_000);
    // Nothing is handed off again, however long the spooler runs.
    r.advance(7 * 24 * 3600);
    r.run();
    assert_eq!(std::fs::read_dir(&pickup).unwrap().count(), 2);
}
