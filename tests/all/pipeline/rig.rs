//! The rig: a store, a spooler on a manual clock, and the scripted transports; helpers.

use super::*;

pub(crate) fn t0() -> Timestamp {
    "2030-01-07T09:00:00Z".parse().unwrap()
}

/// Fails the test when a transport saw a rule broken (checked when the rig goes away).
pub(crate) struct Checker(pub(crate) Log);

impl Drop for Checker {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let v = self.0.violations.lock().unwrap();
            assert!(
                v.is_empty(),
                "transports saw broken rules:\n{}",
                v.join("\n")
            );
        }
    }
}

pub(crate) struct Rig {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) sp: Spooler,
    pub(crate) hand: Arc<Mutex<Timestamp>>,
    pub(crate) log: Log,
    pub(crate) events: Vec<Event>,
    pub(crate) _checker: Checker,
}

pub(crate) fn profile_for(specs: &[Spec]) -> Profile {
    Profile {
        transports: specs
            .iter()
            .map(|s| {
                let kind = if s.fax {
                    TransportKind::Fax(FaxSettings::default())
                } else {
                    TransportKind::Null
                };
                TransportConfig::new(s.name, kind, &s.types)
            })
            .collect(),
        coupled_addrtypes: vec!["EX".into()],
        start_paused: false,
        sent_copies_mib: spoolbox::profile::SENT_COPIES_MIB,
        ..Profile::default()
    }
}

impl Rig {
    pub(crate) fn new(specs: &[Spec]) -> Self {
        Self::with(specs, |_| {})
    }

    pub(crate) fn with(specs: &[Spec], edit: impl FnOnce(&mut Profile)) -> Self {
        let dir = fast_tempdir();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let mut p = profile_for(specs);
        edit(&mut p);
        store.set_profile(p).unwrap();
        let (clock, hand) = Clock::manual(t0());
        let log = Log::default();
        let mut rig = Self {
            sp: Spooler::new(store, clock),
            dir,
            hand,
            log: log.clone(),
            events: Vec::new(),
            _checker: Checker(log),
        };
        rig.set_transports(specs);
        rig.sp.handle(Command::Resume);
        rig
    }

    /// Drops the spooler and the store as a dying process would (no compaction), then opens
    /// them again with new transports on the same clock and log.
    pub(crate) fn restart(self, specs: &[Spec]) -> Self {
        let now = self.now();
        let Self {
            dir,
            sp,
            log,
            _checker: checker,
            ..
        } = self;
        drop(sp);
        let (store, _) = Store::open(dir.path()).unwrap();
        let (clock, hand) = Clock::manual(now);
        let mut rig = Self {
            sp: Spooler::new(store, clock),
            dir,
            hand,
            log,
            events: Vec::new(),
            _checker: checker,
        };
        rig.set_transports(specs);
        rig
    }

    pub(crate) fn set_transports(&mut self, specs: &[Spec]) {
        let ts = specs
            .iter()
            .map(|s| build(s, &self.log, &self.hand))
            .collect();
        self.sp.set_transports(ts);
    }

    /// Real transports first, then the scripted ones of `specs` (which record what they take).
    pub(crate) fn set_transports_after(&mut self, real: Vec<Box<dyn Transport>>, specs: &[Spec]) {
        let mut ts = real;
        ts.extend(specs.iter().map(|s| build(s, &self.log, &self.hand)));
        self.sp.set_transports(ts);
    }

    pub(crate) fn now(&self) -> Timestamp {
        *self.hand.lock().unwrap()
    }

    pub(crate) fn advance(&self, secs: i64) {
        *self.hand.lock().unwrap() += SignedDuration::from_secs(secs);
    }

    pub(crate) fn set_clock(&self, t: Timestamp) {
        *self.hand.lock().unwrap() = t;
    }

    pub(crate) fn store(&mut self) -> &mut Store {
        self.sp.store_mut()
    }

    pub(crate) fn folder(&self, kind: FolderKind) -> EntryId {
        self.sp.store().folder_of(kind)
    }

    /// A draft in the Outbox with `PR_SENTMAIL_ENTRYID` = Sent Items and these (address, type) rows.
    pub(crate) fn draft(&mut self, subject: &str, rows: &[(&str, &str)]) -> EntryId {
        self.draft_with(subject, rows, |_| {})
    }

    pub(crate) fn draft_with(
        &mut self,
        subject: &str,
        rows: &[(&str, &str)],
        edit: impl FnOnce(&mut Message),
    ) -> EntryId {
        let sent = self.folder(FolderKind::SentItems);
        let outbox = self.folder(FolderKind::Outbox);
        let store = self.store();
        let eid = store.new_entry_id().unwrap();
        let mut m = Message::draft(eid, outbox, subject);
        for (i, (addr, ty)) in rows.iter().enumerate() {
            let name = format!("Recipient {i}");
            m.recipients.push(Recipient::new(
                u32::try_from(i).unwrap(),
                &name,
                addr,
                ty,
                RecipientKind::To,
            ));
        }
        m.props
            .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        edit(&mut m);
        store.save(&mut m).unwrap();
        eid
    }

    /// `IMessage::SubmitMessage` through the command; fails the test on an error event.
    pub(crate) fn submit(&mut self, eid: EntryId) {
        self.sp.handle(Command::Submit(eid));
        self.pump();
        let errors = self.errors();
        assert!(errors.is_empty(), "submit {eid}: {errors:?}");
    }

    pub(crate) fn send(&mut self, subject: &str, rows: &[(&str, &str)]) -> EntryId {
        let eid = self.draft(subject, rows);
        self.submit(eid);
        eid
    }

    /// Runs until idle (or paused), bounded.
    pub(crate) fn run(&mut self) -> usize {
        let n = self.sp.run_until_idle();
        assert!(n < 500, "run_until_idle ran {n} steps: a busy loop");
        self.pump();
        n
    }

    pub(crate) fn pump(&mut self) {
        let e = self.sp.drain_events();
        self.events.extend(e);
    }

    pub(crate) fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| {
                if let Event::Error(t) = e {
                    Some(t.clone())
                } else {
                    None
                }
            })
            .collect()
    }

    pub(crate) fn msg(&mut self, eid: EntryId) -> Message {
        self.store().load(eid).unwrap()
    }

    pub(crate) fn summary(&self, eid: EntryId) -> Option<Summary> {
        self.sp.store().summary(eid).cloned()
    }

    pub(crate) fn folder_name(&self, eid: EntryId) -> Option<String> {
        let s = self.sp.store().summary(eid)?;
        self.sp.store().folder(s.folder).map(|f| f.name.clone())
    }

    pub(crate) fn in_folder(&self, name: &str) -> Vec<Summary> {
        let Some(f) = self.sp.store().folder_named(name) else {
            return Vec::new();
        };
        let id = f.entry_id;
        let mut v: Vec<Summary> = self
            .sp
            .store()
            .summaries()
            .filter(|s| s.folder == id)
            .cloned()
            .collect();
        v.sort_by_key(|s| s.eid);
        v
    }

    pub(crate) fn ndrs(&self) -> Vec<Summary> {
        self.in_folder("Inbox")
            .into_iter()
            .filter(|s| s.class == "REPORT.IPM.Note.NDR")
            .collect()
    }

    /// The folders holding a file for this message, read from disk.
    pub(crate) fn copies_on_disk(&self, eid: EntryId) -> Vec<String> {
        copies_on_disk(self.dir.path(), self.sp.store(), eid)
    }

    pub(crate) fn trace(&mut self, eid: EntryId) -> Vec<TraceCall> {
        self.sp.trace_of(eid).unwrap()
    }

    pub(crate) fn step_outcomes(&mut self, eid: EntryId) -> Vec<(Step, StepOutcome)> {
        self.msg(eid)
            .history
            .iter()
            .map(|h| (h.step, h.outcome.clone()))
            .collect()
    }

    pub(crate) fn queue(&self) -> Vec<EntryId> {
        self.sp.store().queue().collect()
    }
}

pub(crate) fn copies_on_disk(root: &Path, store: &Store, eid: EntryId) -> Vec<String> {
    let file = format!("{}.json", eid.file_stem());
    let mut out = Vec::new();
    for e in std::fs::read_dir(root.join("folders")).unwrap().flatten() {
        if e.path().join(&file).exists() {
            let id = EntryId(e.file_name().to_string_lossy().parse().unwrap());
            out.push(
                store
                    .folder(id)
                    .map_or_else(|| id.to_string(), |f| f.name.clone()),
            );
        }
    }
    out
}

pub(crate) fn mapi_code(e: impl Into<SpoolerError>) -> MapiCode {
    let e = e.into();
    e.mapi_code()
        .unwrap_or_else(|| panic!("expected a MAPI error, got {e}"))
}

pub(crate) fn position(trace: &[TraceCall], pred: impl Fn(&TraceCall) -> bool) -> usize {
    trace
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("call not in trace:\n{}", dump(trace)))
}

pub(crate) fn dump(trace: &[TraceCall]) -> String {
    trace.iter().fold(String::new(), |mut out, c| {
        let _ = writeln!(out, "  {} {c}", c.step);
        out
    })
}

pub(crate) fn hook_calls(trace: &[TraceCall], eid: EntryId) -> Vec<String> {
    trace
        .iter()
        .filter(|c| {
            c.call == "ISpoolerHook::OutboundMsgHook" && c.args.ends_with(&format!("] {eid}"))
        })
        .map(|c| c.args.clone())
        .collect()
}

pub(crate) fn smtp() -> Spec {
    spec("SMTP", &["SMTP"], Reply::Deliver)
}

pub(crate) const A: (&str, &str) = ("ann@example.org", "SMTP");
pub(crate) const B: (&str, &str) = ("bob@example.org", "SMTP");
