//! The pipeline (SPEC section 2, reference a.5 and e): one test per branch, named after it,
//! driven through the library with a hand-moved clock and scripted transports that record
//! every row they are offered.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use spoolbox::mapi::flags::{
    MAPI_REASON_TRANSFER_FAILED, MAPI_REASON_TRANSFER_IMPOSSIBLE, MAPI_SPOOLER, MAPI_SUBMITTED,
    MAPI_TRANSPORT_PROVIDER, MSGFLAG_READ, MSGFLAG_RESEND, MSGFLAG_SUBMIT, MSGFLAG_UNSENT,
    STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ACTIVE, STATUS_OUTBOUND_ENABLED,
    SUBMITFLAG_LOCKED, SUBMITFLAG_PREPROCESS,
};
use spoolbox::mapi::tags::{
    PR_CLIENT_SUBMIT_TIME, PR_DEFERRED_DELIVERY_TIME, PR_DEFERRED_SEND_NUMBER,
    PR_DEFERRED_SEND_TIME, PR_DEFERRED_SEND_UNITS, PR_DELETE_AFTER_SUBMIT, PR_DELIVER_TIME,
    PR_NDR_REASON_CODE, PR_ORIGINAL_ENTRYID, PR_ORIGINAL_SUBJECT,
    PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, PR_PREPROCESS, PR_REPORT_TEXT, PR_RESPONSIBILITY,
    PR_SENTMAIL_ENTRYID, PR_SUBJECT,
};
use spoolbox::mapi::{
    EntryId, MapiCode, Message, MessageState, PropValue, Recipient, RecipientKind, RecipientState,
    Step, StepOutcome, TraceCall,
};
use spoolbox::profile::{
    FaxSettings, HookAction, HookConfig, Profile, RetryPolicy, TransportConfig, TransportKind,
};
use spoolbox::spooler::{Clock, Command, Event, Spooler, SpoolerError, Tick, submit};
use spoolbox::store::{FolderKind, Store, Summary};
use spoolbox::transport::fax::{COVER_PAGE, FaxTransport};
use spoolbox::transport::{
    EndFlag, Handoff, Preprocessed, RowOutcome, SubmitResult, SubmitView, Transport,
};

use crate::store::fast_tempdir;

// ---------------------------------------------------------------------------------------------
// Scripted, recording transports

/// What a scripted transport answers to one `IXPLogon::SubmitMessage`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reply {
    /// `S_OK`, every offered row delivered.
    Deliver,
    /// `S_OK`, every offered row failed for good with this report text.
    Fail(&'static str),
    /// `S_OK`, only rows with these addresses delivered; the rest left FALSE.
    DeliverOnly(Vec<&'static str>),
    /// `S_OK` without touching any row.
    LeaveFalse,
    /// `S_OK`, every offered row transient (an SMTP 4xx).
    Transient,
    /// `MAPI_E_NOT_ME`
    NotMe,
    /// `MAPI_E_BUSY`
    Busy,
    /// `MAPI_E_WAIT` with a retry delay in seconds.
    Wait(u64),
    /// `S_OK` + `END_RESEND_LATER`
    ResendLater,
    /// `S_OK` + `END_DONT_RESEND`; the transport calls back (`NOTIFY_SENTDEFERRED`) after
    /// this many seconds and delivers when re-offered with `BEGIN_DEFERRED`.
    Defer(u64),
    /// `MAPI_E_NETWORK_ERROR` with a retry delay in seconds.
    Net(u64),
    /// `S_OK` + `END_RESEND_NOW` without touching a row.
    ResendNow,
    /// The process dies in the middle of the hand-off.
    Crash,
    /// The transport panics on this message (a bug, a poison message): caught, the message
    /// is parked, the process lives on.
    Panic,
    /// Hand the call to the wrapped real transport (the fax).
    Inner,
}

/// One offer a transport received.
#[derive(Clone, Debug)]
pub(crate) struct Offer {
    pub(crate) transport: String,
    pub(crate) eid: EntryId,
    pub(crate) rows: Vec<u32>,
    pub(crate) addrs: Vec<String>,
    pub(crate) begin_deferred: bool,
    pub(crate) attachments: Vec<String>,
    pub(crate) submit_flags: Option<u32>,
}

/// Shared by every transport of a rig (and across a restart): the offers, the rows a transport
/// already set TRUE, and any breach of the rules a transport can see from its side.
#[derive(Clone, Default)]
pub(crate) struct Log {
    offers: Arc<Mutex<Vec<Offer>>>,
    taken: Arc<Mutex<HashSet<(EntryId, u32)>>>,
    violations: Arc<Mutex<Vec<String>>>,
    /// The messages a transport was told were aborted while it held them deferred.
    pub(crate) aborted: Arc<Mutex<Vec<EntryId>>>,
}

impl Log {
    pub(crate) fn offers(&self) -> Vec<Offer> {
        self.offers.lock().unwrap().clone()
    }

    pub(crate) fn to(&self, transport: &str) -> Vec<Offer> {
        self.offers()
            .into_iter()
            .filter(|o| o.transport == transport)
            .collect()
    }

    pub(crate) fn of(&self, eid: EntryId) -> Vec<Offer> {
        self.offers().into_iter().filter(|o| o.eid == eid).collect()
    }
}

struct Scripted {
    name: String,
    types: Vec<String>,
    script: VecDeque<Reply>,
    default: Reply,
    log: Log,
    clock: Arc<Mutex<Timestamp>>,
    callbacks: Vec<(EntryId, Timestamp)>,
    inner: Option<Box<dyn Transport>>,
    /// Keeps calling back for a message it was told was aborted (a faulty transport).
    deaf_to_abort: bool,
}

impl Scripted {
    fn reply(&mut self, reply: Reply, view: &SubmitView<'_>) -> Handoff {
        let rows = &view.rows;
        let all = |o: fn(String) -> RowOutcome, text: &str| {
            rows.iter().map(|r| (*r, o(text.to_owned()))).collect()
        };
        match reply {
            Reply::Deliver => Handoff::sent(all(RowOutcome::Delivered, "250 ok")),
            Reply::Fail(text) => Handoff::sent(all(RowOutcome::Failed, text)),
            Reply::DeliverOnly(addrs) => Handoff::sent(
                rows.iter()
                    .filter(|r| {
                        view.msg
                            .recipient(**r)
                            .is_some_and(|x| addrs.contains(&x.email()))
                    })
                    .map(|r| (*r, RowOutcome::Delivered("250 ok".into())))
                    .collect(),
            ),
            Reply::LeaveFalse => Handoff::sent(Vec::new()),
            Reply::Transient => {
                Handoff::sent(all(RowOutcome::Transient, "451 4.3.0 try again later"))
            }
            Reply::NotMe => Handoff::refused(SubmitResult::NotMe),
            Reply::Busy => Handoff::refused(SubmitResult::Busy),
            Reply::Wait(s) => Handoff::refused(SubmitResult::Wait(s)),
            Reply::ResendLater => Handoff::ended(EndFlag::ResendLater),
            Reply::Defer(secs) => {
                if view.begin_deferred {
                    Handoff::sent(all(RowOutcome::Delivered, "250 ok (deferred)"))
                } else {
                    let now = *self.clock.lock().unwrap();
                    self.callbacks.push((
                        view.msg.entry_id,
                        now + SignedDuration::from_secs(secs.cast_signed()),
                    ));
                    Handoff::ended(EndFlag::DontResend)
                }
            }
            Reply::Net(s) => {
                Handoff::refused(SubmitResult::NetworkError(s, "connection refused".into()))
            }
            Reply::ResendNow => Handoff::ended(EndFlag::ResendNow),
            // A panic in a transport is caught and parks only its message (issue 16); this
            // payload alone is let through, standing for the process dying.
            Reply::Crash => std::panic::panic_any(spoolbox::transport::SimulatedCrash),
            Reply::Panic => panic!("poison message in {} (expected by the test)", self.name),
            Reply::Inner => self
                .inner
                .as_mut()
                .expect("Reply::Inner needs an inner transport")
                .submit_message(view),
        }
    }
}

impl Transport for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn has_preprocessor(&self) -> bool {
        self.inner.as_ref().is_some_and(|t| t.has_preprocessor())
    }

    fn preprocess(&mut self, msg: &mut Message, rows: &[u32]) -> Preprocessed {
        self.inner
            .as_mut()
            .map(|t| t.preprocess(msg, rows))
            .unwrap_or_default()
    }

    fn remove_preprocess_info(&mut self, msg: &mut Message) -> String {
        self.inner
            .as_mut()
            .map(|t| t.remove_preprocess_info(msg))
            .unwrap_or_default()
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        let msg = view.msg;
        let eid = msg.entry_id;
        {
            let taken = self.log.taken.lock().unwrap();
            let mut bad = self.log.violations.lock().unwrap();
            // e.2/e.3: locked for the whole transport phase, preprocessing already done.
            if msg.submit_flags() != Some(SUBMITFLAG_LOCKED) {
                bad.push(format!(
                    "{}: message {eid} offered with PR_SUBMIT_FLAGS {:?}",
                    self.name,
                    msg.submit_flags()
                ));
            }
            if !msg.is_submitted() {
                bad.push(format!(
                    "{}: message {eid} offered without MSGFLAG_SUBMIT",
                    self.name
                ));
            }
            for r in &msg.recipients {
                let offered = view.rows.contains(&r.row_id);
                if offered && r.responsibility() {
                    bad.push(format!(
                        "{}: message {eid} row {} offered but reads TRUE",
                        self.name, r.row_id
                    ));
                }
                if !offered && !r.responsibility() {
                    bad.push(format!(
                        "{}: message {eid} row {} not offered but reads FALSE",
                        self.name, r.row_id
                    ));
                }
                if offered && taken.contains(&(eid, r.row_id)) {
                    bad.push(format!(
                        "{}: message {eid} row {} offered again after a transport set it TRUE",
                        self.name, r.row_id
                    ));
                }
                if offered && !self.types.iter().any(|t| t == r.addrtype()) {
                    bad.push(format!(
                        "{}: message {eid} row {} has address type {}",
                        self.name,
                        r.row_id,
                        r.addrtype()
                    ));
                }
            }
        }
        let reply = self
            .script
            .pop_front()
            .unwrap_or_else(|| self.default.clone());
        let h = self.reply(reply, view);
        if h.result == SubmitResult::Ok {
            let mut taken = self.log.taken.lock().unwrap();
            for (row, o) in &h.outcomes {
                if matches!(o, RowOutcome::Delivered(_) | RowOutcome::Failed(_))
                    && view.rows.contains(row)
                {
                    taken.insert((eid, *row));
                }
            }
        }
        self.log.offers.lock().unwrap().push(Offer {
            transport: self.name.clone(),
            eid,
            rows: view.rows.clone(),
            addrs: view
                .rows
                .iter()
                .filter_map(|r| msg.recipient(*r))
                .map(|r| r.email().to_owned())
                .collect(),
            begin_deferred: view.begin_deferred,
            attachments: msg
                .attachments
                .iter()
                .map(|a| a.file_name.clone())
                .collect(),
            submit_flags: msg.submit_flags(),
        });
        h
    }

    fn abort_deferred(&mut self, eid: EntryId) {
        self.log.aborted.lock().unwrap().push(eid);
        if !self.deaf_to_abort {
            self.callbacks.retain(|(e, _)| *e != eid);
        }
    }

    fn sent_deferred(&mut self, now: Timestamp) -> Vec<EntryId> {
        let (ready, later): (Vec<_>, Vec<_>) =
            self.callbacks.drain(..).partition(|(_, t)| *t <= now);
        self.callbacks = later;
        ready.into_iter().map(|(e, _)| e).collect()
    }
}

/// A transport of the rig: its profile entry and its script.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    name: &'static str,
    types: Vec<&'static str>,
    script: Vec<Reply>,
    default: Reply,
    fax: bool,
    deaf_to_abort: bool,
}

pub(crate) fn spec(name: &'static str, types: &[&'static str], default: Reply) -> Spec {
    Spec {
        name,
        types: types.to_vec(),
        script: Vec::new(),
        default,
        fax: false,
        deaf_to_abort: false,
    }
}

impl Spec {
    /// Answers these first, then the default.
    pub(crate) fn first(mut self, script: &[Reply]) -> Self {
        self.script = script.to_vec();
        self
    }

    /// Keeps calling back for a deferred message after it was told of its abort.
    pub(crate) fn deaf_to_abort(mut self) -> Self {
        self.deaf_to_abort = true;
        self
    }
}

/// The simulated fax, with its preprocessor, behind the recorder.
pub(crate) fn fax_spec() -> Spec {
    Spec {
        name: "Fax",
        types: vec!["FAX"],
        script: Vec::new(),
        default: Reply::Inner,
        fax: true,
        deaf_to_abort: false,
    }
}

fn build(s: &Spec, log: &Log, clock: &Arc<Mutex<Timestamp>>) -> Box<dyn Transport> {
    let types: Vec<String> = s.types.iter().map(|t| (*t).to_owned()).collect();
    let inner: Option<Box<dyn Transport>> = s.fax.then(|| {
        Box::new(FaxTransport::new(s.name, &types, FaxSettings::default())) as Box<dyn Transport>
    });
    Box::new(Scripted {
        name: s.name.to_owned(),
        types,
        script: s.script.iter().cloned().collect(),
        default: s.default.clone(),
        log: log.clone(),
        clock: Arc::clone(clock),
        callbacks: Vec::new(),
        inner,
        deaf_to_abort: s.deaf_to_abort,
    })
}

// ---------------------------------------------------------------------------------------------
// The rig: a store, a spooler on a manual clock, and the scripted transports

fn t0() -> Timestamp {
    "2030-01-07T09:00:00Z".parse().unwrap()
}

/// Fails the test when a transport saw a rule broken (checked when the rig goes away).
pub(crate) struct Checker(Log);

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

fn profile_for(specs: &[Spec]) -> Profile {
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

fn copies_on_disk(root: &Path, store: &Store, eid: EntryId) -> Vec<String> {
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

fn position(trace: &[TraceCall], pred: impl Fn(&TraceCall) -> bool) -> usize {
    trace
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("call not in trace:\n{}", dump(trace)))
}

fn dump(trace: &[TraceCall]) -> String {
    trace.iter().fold(String::new(), |mut out, c| {
        let _ = writeln!(out, "  {} {c}", c.step);
        out
    })
}

fn hook_calls(trace: &[TraceCall], eid: EntryId) -> Vec<String> {
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

// ---------------------------------------------------------------------------------------------
// Step 0: SubmitMessage, and the tightly coupled store

#[test]
fn submit_with_empty_recipient_table_is_refused_with_no_recipients() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft("nobody", &[]);
    let before = rig.msg(eid);
    let now = rig.now();
    let err = submit::submit_message(rig.store(), eid, now).unwrap_err();
    let code = mapi_code(err);
    assert_eq!(code, MapiCode::NoRecipients);
    assert_eq!(code.code(), 0x8004_0607);
    assert_eq!(rig.msg(eid), before, "the message is unchanged");
    assert_eq!(rig.summary(eid).unwrap().state(now), MessageState::Draft);
    assert!(rig.queue().is_empty());
    // The same through the command: one error event naming the code.
    rig.sp.handle(Command::Submit(eid));
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("MAPI_E_NO_RECIPIENTS (0x80040607)"),
        "{errors:?}"
    );
    assert_eq!(rig.msg(eid), before);
}

#[test]
fn submit_with_malformed_smtp_address_is_refused() {
    let mut rig = Rig::new(&[smtp()]);
    for bad in [
        "not an address",
        "ann@",
        "@example.org",
        "ann@example",
        "ann example@example.org",
        "a@b@example.org",
    ] {
        let eid = rig.draft("bad address", &[A, (bad, "SMTP")]);
        let before = rig.msg(eid);
        let now = rig.now();
        let code = mapi_code(submit::submit_message(rig.store(), eid, now).unwrap_err());
        assert_eq!(code, MapiCode::InvalidParameter, "{bad:?}");
        assert_eq!(
            rig.msg(eid),
            before,
            "{bad:?}: the message is unchanged and still a draft"
        );
        assert!(!rig.summary(eid).unwrap().is_submitted());
    }
    assert!(rig.queue().is_empty());
}

#[test]
fn submit_sets_submit_flags_responsibility_false_and_client_submit_time() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("hello", &[A, B], |m| {
        // A leftover from an earlier submission must not survive: every row starts FALSE.
        m.recipients[1].props.set_bool(PR_RESPONSIBILITY, true);
        m.recipients[1]
            .props
            .set_text(PR_REPORT_TEXT, "old failure");
    });
    rig.advance(5);
    let at = rig.now();
    rig.submit(eid);
    let m = rig.msg(eid);
    assert_eq!(
        m.message_flags() & (MSGFLAG_SUBMIT | MSGFLAG_UNSENT),
        MSGFLAG_SUBMIT | MSGFLAG_UNSENT
    );
    assert_eq!(m.props.time(PR_CLIENT_SUBMIT_TIME), Some(at));
    assert_eq!(
        m.submit_flags(),
        Some(0),
        "PR_SUBMIT_FLAGS exists, without LOCKED or PREPROCESS"
    );
    assert!(!m.props.has(PR_PREPROCESS));
    for r in &m.recipients {
        assert_eq!(
            r.props.boolean(PR_RESPONSIBILITY),
            Some(false),
            "row {}",
            r.row_id
        );
        assert_eq!(r.outcome, RecipientState::Pending);
        assert!(r.report_text().is_none());
    }
    assert_eq!(m.state(at), MessageState::Queued);
    assert_eq!(rig.queue(), [eid]);
    let trace = rig.trace(eid);
    let expand = position(&trace, |c| c.call == "IMAPISupport::ExpandRecips");
    let submitted = position(&trace, |c| c.call == "IMessage::SubmitMessage");
    assert!(expand < submitted);
}

#[test]
fn submit_expands_personal_distribution_lists_and_drops_duplicates() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft(
        "to a list",
        &[
            ("Ann=SMTP:ann@x.org; SMTP:bob@x.org", "MAPIPDL"),
            ("bob@x.org", "SMTP"),
            ("BOB@X.ORG", "SMTP"),
            ("carol@x.org", "SMTP"),
        ],
    );
    rig.submit(eid);
    let m = rig.msg(eid);
    let mut addrs: Vec<String> = m
        .recipients
        .iter()
        .map(|r| r.email().to_ascii_lowercase())
        .collect();
    addrs.sort();
    assert_eq!(addrs, ["ann@x.org", "bob@x.org", "carol@x.org"]);
    assert!(
        m.recipients.iter().all(|r| r.addrtype() == "SMTP"),
        "no MAPIPDL row is left"
    );
    let ann = m
        .recipients
        .iter()
        .find(|r| r.email() == "ann@x.org")
        .unwrap();
    assert_eq!(ann.display_name(), "Ann");
    let ids: HashSet<u32> = m.recipients.iter().map(|r| r.row_id).collect();
    assert_eq!(ids.len(), 3, "row ids stay unique");
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].rows.len(), 3, "each member offered once");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn edit_of_a_submitted_message_is_refused_with_submitted() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::Pause);
    let eid = rig.send("read-only now", &[A]);
    let before = rig.msg(eid);
    let mut edited = before.clone();
    edited
        .props
        .set_text(PR_SUBJECT, "changed behind the spooler's back");
    let code = mapi_code(submit::save_draft(rig.store(), edited.clone()).unwrap_err());
    assert_eq!(code, MapiCode::Submitted);
    rig.sp.handle(Command::SaveDraft(Box::new(edited)));
    rig.sp.handle(Command::Delete(eid));
    rig.sp.handle(Command::Submit(eid));
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e.starts_with("MAPI_E_SUBMITTED (0x80040608)")),
        "{errors:?}"
    );
    assert_eq!(rig.msg(eid), before);
}

#[test]
fn edit_of_a_locked_message_is_refused_with_no_access() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    let eid = rig.send("locked", &[A]);
    rig.run();
    let before = rig.msg(eid);
    assert!(before.is_locked());
    let mut edited = before.clone();
    edited
        .props
        .set_text(PR_SUBJECT, "changed while the spooler holds it");
    let code = mapi_code(submit::save_draft(rig.store(), edited).unwrap_err());
    assert_eq!(code, MapiCode::NoAccess);
    assert_eq!(code.code(), 0x8007_0005);
    assert_eq!(rig.msg(eid), before);
}

#[test]
fn tightly_coupled_store_delivers_ex_recipients_at_submit() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::Pause);
    let eid = rig.send(
        "kickoff",
        &[
            ("/o=Spoolbox/cn=margaret", "EX"),
            ("linus@example.org", "SMTP"),
        ],
    );
    // At once, before the spooler ran a single step.
    let m = rig.msg(eid);
    let ex = &m.recipients[0];
    assert!(ex.responsibility());
    assert_eq!(ex.outcome, RecipientState::HandledByStore);
    assert_eq!(ex.transport.as_deref(), Some("store"));
    assert!(ex.props.time(PR_DELIVER_TIME).is_some());
    assert!(!m.recipients[1].responsibility());
    let inbox = rig.in_folder("Inbox");
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].subject, "kickoff");
    assert_eq!(inbox[0].class, "IPM.Note");
    assert!(rig.log.offers().is_empty());
    rig.sp.handle(Command::Resume);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].rows, [1], "only the SMTP row goes to a transport");
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::HandledByStore);
    assert_eq!(m.recipients[1].outcome, RecipientState::Delivered);
    assert_eq!(rig.in_folder("Inbox").len(), 1, "delivered once");
}

#[test]
fn coupled_store_handling_everyone_still_runs_hooks_and_disposal() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![HookConfig {
            name: "Audit".into(),
            subject_prefix: None,
            action: HookAction::Nothing,
            cancel_chain: false,
        }];
    });
    let eid = rig.send("local only", &[("/o=x/cn=a", "EX"), ("/o=x/cn=b", "EX")]);
    let trace = rig.trace(eid);
    position(&trace, |c| c.call == "IMAPISupport::CompleteMsg");
    rig.run();
    assert!(rig.log.offers().is_empty(), "no transport is needed");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(hook_calls(&rig.trace(eid), eid).len(), 1);
    assert_eq!(rig.in_folder("Inbox").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Step 3: Transmit, and step 4: NonDeliveryReport

#[test]
fn mixed_message_goes_to_each_transport_and_no_transport_recipient_gets_ndr() {
    let mut rig = Rig::new(&[smtp(), spec("FAX", &["FAX"], Reply::Deliver)]);
    let eid = rig.send(
        "mixed",
        &[
            ("linus@example.org", "SMTP"),
            ("+1 212 555 0142", "FAX"),
            ("/o=x/cn=margaret", "EX"),
            ("c=US;a= ;p=Legacy;s=Smith", "X400"),
        ],
    );
    rig.run();
    let m = rig.msg(eid);
    let want = [
        (RecipientState::Delivered, Some("SMTP"), true),
        (RecipientState::Delivered, Some("FAX"), true),
        (RecipientState::HandledByStore, Some("store"), true),
        // No transport accepted it: FALSE at the end of the scan, the spooler writes the NDR.
        (RecipientState::NoTransport, None, false),
    ];
    for (r, (outcome, by, resp)) in m.recipients.iter().zip(want) {
        assert_eq!(r.outcome, outcome, "row {}", r.row_id);
        assert_eq!(r.transport.as_deref(), by, "row {}", r.row_id);
        assert_eq!(r.responsibility(), resp, "row {}", r.row_id);
    }
    // Each transport saw only its own row.
    assert_eq!(
        rig.log
            .to("SMTP")
            .iter()
            .map(|o| o.rows.clone())
            .collect::<Vec<_>>(),
        [vec![0]]
    );
    assert_eq!(
        rig.log
            .to("FAX")
            .iter()
            .map(|o| o.rows.clone())
            .collect::<Vec<_>>(),
        [vec![1]]
    );
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1, "exactly one NDR");
    let ndr = rig.msg(ndrs[0].eid);
    assert_eq!(ndr.message_class(), "REPORT.IPM.Note.NDR");
    assert_eq!(ndr.subject(), "Undeliverable: mixed");
    assert_eq!(ndr.props.text(PR_ORIGINAL_SUBJECT), Some("mixed"));
    assert_eq!(ndr.recipients.len(), 1);
    let row = &ndr.recipients[0];
    assert_eq!(row.addrtype(), "X400");
    assert!(
        row.report_text()
            .unwrap()
            .contains("No transport provider was available"),
        "{:?}",
        row.report_text()
    );
    assert_eq!(
        row.props.flags(PR_NDR_REASON_CODE),
        MAPI_REASON_TRANSFER_IMPOSSIBLE
    );
    let original = ndr.embedded.as_deref().expect("the original is embedded");
    assert_eq!(original.entry_id, eid);
    assert_eq!(original.recipients.len(), 4);
    assert!(
        original.recipients.iter().all(|r| !r.responsibility()),
        "embedded as submitted"
    );
    assert_eq!(
        m.spool.ndr,
        Some(ndrs[0].eid),
        "the message names its report"
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn permanent_transport_failure_gets_ndr_with_report_text() {
    let mut rig = Rig::new(&[spec(
        "SMTP",
        &["SMTP"],
        Reply::Fail("550 5.1.1 no such user"),
    )]);
    let eid = rig.send("bounce", &[A]);
    rig.run();
    let m = rig.msg(eid);
    let r = &m.recipients[0];
    assert_eq!(r.outcome, RecipientState::Failed);
    assert!(r.responsibility(), "failed for good is TRUE");
    assert_eq!(r.report_text(), Some("550 5.1.1 no such user"));
    assert!(r.props.time(PR_DELIVER_TIME).is_none());
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1);
    let ndr = rig.msg(ndrs[0].eid);
    assert_eq!(
        ndr.recipients[0].report_text(),
        Some("550 5.1.1 no such user")
    );
    assert_eq!(
        ndr.recipients[0].props.flags(PR_NDR_REASON_CODE),
        MAPI_REASON_TRANSFER_FAILED
    );
    assert_eq!(rig.log.of(eid).len(), 1);
}

#[test]
fn not_me_falls_through_to_the_next_transport_of_the_same_type() {
    let mut rig = Rig::new(&[
        spec("Primary", &["SMTP"], Reply::NotMe),
        spec("Backup", &["SMTP"], Reply::Deliver),
    ]);
    let eid = rig.send("fall through", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("Backup"));
    assert_eq!(rig.log.to("Primary").len(), 1);
    assert_eq!(rig.log.to("Backup").len(), 1);
    let order: Vec<String> = rig.log.offers().into_iter().map(|o| o.transport).collect();
    assert_eq!(
        order,
        ["Primary", "Backup"],
        "higher priority gets the first chance"
    );
    let trace = rig.trace(eid);
    position(&trace, |c| {
        c.args.starts_with("[Primary]") && c.result == "MAPI_E_NOT_ME"
    });
    assert!(
        !trace
            .iter()
            .any(|c| c.call == "IXPLogon::EndMessage" && c.args.starts_with("[Primary]")),
        "no EndMessage after MAPI_E_NOT_ME"
    );
    assert!(rig.ndrs().is_empty());
}

#[test]
fn rows_left_false_fall_through_to_the_next_transport() {
    let mut rig = Rig::new(&[
        spec(
            "Primary",
            &["SMTP"],
            Reply::DeliverOnly(vec!["ann@example.org"]),
        ),
        spec("Backup", &["SMTP"], Reply::Deliver),
    ]);
    let eid = rig.send("partial", &[A, B]);
    rig.run();
    assert_eq!(rig.log.to("Primary")[0].rows, [0, 1]);
    assert_eq!(
        rig.log.to("Backup")[0].rows,
        [1],
        "only the row the first one left FALSE"
    );
    assert_eq!(rig.log.to("Backup")[0].addrs, [B.0]);
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("Primary"));
    assert_eq!(m.recipients[1].transport.as_deref(), Some("Backup"));
    assert!(
        m.recipients
            .iter()
            .all(|r| r.outcome == RecipientState::Delivered)
    );
}

#[test]
fn queue_is_served_in_client_submit_time_order() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::Pause);
    let first_made = rig.draft("made first, submitted second", &[A]);
    let second_made = rig.draft("made second, submitted first", &[B]);
    rig.submit(second_made);
    rig.advance(1);
    rig.submit(first_made);
    rig.sp.handle(Command::Resume);
    rig.run();
    let order: Vec<EntryId> = rig.log.offers().into_iter().map(|o| o.eid).collect();
    assert_eq!(order, [second_made, first_made]);
}

#[test]
fn finished_messages_are_filed_in_groups_and_each_is_reported_only_once_on_disk() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::Pause);
    let queued: Vec<EntryId> = (0..100)
        .map(|i| rig.draft(&format!("group member {i}"), &[A]))
        .collect();
    for eid in &queued {
        rig.submit(*eid);
    }
    let inodes = |rig: &Rig| -> HashSet<u64> {
        use std::os::unix::fs::MetadataExt as _;
        let mut out = HashSet::new();
        for dir in std::fs::read_dir(rig.dir.path().join("folders"))
            .unwrap()
            .flatten()
        {
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                out.insert(f.metadata().unwrap().ino());
            }
        }
        out
    };
    let outbox_inodes = inodes(&rig);
    rig.sp.handle(Command::Resume);
    let mut reported = Vec::new();
    let mut batches = Vec::new();
    for ticks in 0.. {
        assert!(ticks < 2000, "a busy loop");
        let tick = rig.sp.tick();
        let before = reported.len();
        for e in rig.sp.drain_events() {
            if let Event::StepFinished {
                eid,
                step: Step::DoSentMail,
                ..
            } = e
            {
                // DoSentMail is reported only once its copy is in Sent Items on disk.
                assert_eq!(rig.copies_on_disk(eid), ["Sent Items"], "message {eid}");
                reported.push(eid);
            }
        }
        if reported.len() > before {
            batches.push(reported.len() - before);
        }
        if !matches!(tick, Tick::Ran(..)) {
            break;
        }
    }
    // The hand-moved clock stands still, so the group closes by count (64), and the rest
    // when the spooler goes idle; every message once, in queue order. The first group is
    // written on its own thread and its members are reported when it has landed, which on a
    // busy machine can be after the spooler has finished the other 36 (then both groups are
    // reported at the idle settle); the spares below show the split either way.
    assert!(batches == [64, 36] || batches == [100], "{batches:?}");
    assert_eq!(reported, queued);
    // The first group's Outbox copies became the second group's files (spares overwritten
    // in place): a flush does not allocate and free an inode per message.
    let reused = inodes(&rig).intersection(&outbox_inodes).count();
    assert_eq!(reused, 36, "inodes reused");
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
}

// ---------------------------------------------------------------------------------------------
// Steps 1 and 5: Preprocess and RemovePreprocessInfo

#[test]
fn preprocess_adds_the_cover_page_and_remove_preprocess_info_strips_it() {
    let mut rig = Rig::new(&[fax_spec()]);
    let eid = rig.send("fax me", &[("+1 212 555 0142", "FAX")]);
    let m = rig.msg(eid);
    assert_eq!(m.props.boolean(PR_PREPROCESS), Some(true));
    assert_eq!(m.submit_flags(), Some(SUBMITFLAG_PREPROCESS));
    assert_eq!(m.state(rig.now()), MessageState::QueuedForPreprocess);
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(
        m.attachments
            .iter()
            .map(|a| a.file_name.as_str())
            .collect::<Vec<_>>(),
        [COVER_PAGE]
    );
    assert_eq!(
        m.submit_flags(),
        Some(SUBMITFLAG_LOCKED),
        "PREPROCESS cleared, lock kept"
    );
    assert_eq!(m.spool.preprocessed_by, ["Fax"]);
    rig.sp.handle(Command::Continue);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(
        offers[0].attachments,
        [COVER_PAGE],
        "the transport got the rendered cover page"
    );
    assert_eq!(
        offers[0].submit_flags,
        Some(SUBMITFLAG_LOCKED),
        "no transport sees SUBMITFLAG_PREPROCESS"
    );
    let m = rig.msg(eid);
    assert!(
        m.attachments.is_empty(),
        "RemovePreprocessInfo removed it again"
    );
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    let trace = rig.trace(eid);
    let pre = position(&trace, |c| c.call == "PreprocessMessage");
    let resubmit = position(&trace, |c| {
        c.call == "IMessage::SubmitMessage" && c.args == "spooler resubmit"
    });
    let transmit = position(&trace, |c| c.call == "IXPLogon::SubmitMessage");
    let remove = position(&trace, |c| c.call == "RemovePreprocessInfo");
    let finished = position(&trace, |c| c.call == "IMsgStore::FinishedMsg");
    assert!(
        pre < resubmit && resubmit < transmit && transmit < remove && remove < finished,
        "{}",
        dump(&trace)
    );
    let steps = rig.step_outcomes(eid);
    assert!(steps.contains(&(Step::Preprocess, StepOutcome::Done)));
    assert!(
        steps.contains(&(Step::SetLockState, StepOutcome::Skipped)),
        "already locked by Preprocess"
    );
    assert!(steps.contains(&(Step::RemovePreprocessInfo, StepOutcome::Done)));
}

#[test]
fn preprocessor_of_a_transport_that_gets_no_recipient_does_not_run() {
    // A higher-priority transport takes the FAX rows, so the fax's preprocessor is not needed.
    let mut rig = Rig::new(&[spec("Fax gateway", &["FAX"], Reply::Deliver), fax_spec()]);
    let eid = rig.send("no cover page", &[("+1 212 555 0142", "FAX")]);
    let m = rig.msg(eid);
    assert!(!m.props.has(PR_PREPROCESS));
    assert_eq!(m.submit_flags(), Some(0));
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].transport, "Fax gateway");
    assert!(offers[0].attachments.is_empty());
    let steps = rig.step_outcomes(eid);
    assert!(steps.contains(&(Step::Preprocess, StepOutcome::Skipped)));
    assert!(steps.contains(&(Step::RemovePreprocessInfo, StepOutcome::Skipped)));
}

#[test]
fn preprocessor_rejected_recipient_gets_ndr() {
    let mut rig = Rig::new(&[fax_spec()]);
    let eid = rig.send("fax two", &[("+1 212 555 0142", "FAX"), ("12", "FAX")]);
    rig.run();
    let m = rig.msg(eid);
    let bad = &m.recipients[1];
    assert_eq!(bad.outcome, RecipientState::Failed);
    assert!(bad.responsibility());
    assert_eq!(bad.transport.as_deref(), Some("Fax preprocessor"));
    assert!(bad.report_text().unwrap().contains("not a fax number"));
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(
        offers[0].rows,
        [0],
        "the rejected row never reaches the transport"
    );
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1);
    let ndr = rig.msg(ndrs[0].eid);
    assert_eq!(
        ndr.recipients
            .iter()
            .map(Recipient::email)
            .collect::<Vec<_>>(),
        ["12"]
    );
}

// ---------------------------------------------------------------------------------------------
// AbortSubmit, breakpoints, the debugger

#[test]
fn abort_before_lock_returns_an_editable_draft() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp
        .handle(Command::SetBreakpoint(Step::SetLockState, true));
    let eid = rig.send("take it back", &[A]);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::SetLockState)));
    assert!(!rig.msg(eid).is_locked());
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let m = rig.msg(eid);
    assert_eq!(
        m.message_flags() & (MSGFLAG_SUBMIT | MSGFLAG_UNSENT),
        MSGFLAG_UNSENT
    );
    assert!(
        m.submit_flags().is_none(),
        "PR_SUBMIT_FLAGS only while submitted"
    );
    assert_eq!(m.state(rig.now()), MessageState::Draft);
    assert!(rig.queue().is_empty());
    assert_eq!(rig.sp.debug_state().at, None);
    position(&m.trace, |c| {
        c.call == "IMsgStore::AbortSubmit" && c.result == "S_OK"
    });
    // Editable again.
    let mut edited = m.clone();
    edited.props.set_text(PR_SUBJECT, "edited after abort");
    submit::save_draft(rig.store(), edited).unwrap();
    assert_eq!(rig.msg(eid).subject(), "edited after abort");
    rig.sp.handle(Command::Continue);
    rig.run();
    assert!(
        rig.log.offers().is_empty(),
        "an aborted message is never sent"
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Outbox"));
}

#[test]
fn abort_after_lock_is_refused() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    let eid = rig.send("too late", &[A]);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::Transmit)));
    assert!(rig.msg(eid).is_locked());
    let now = rig.now();
    let code = mapi_code(submit::abort_submit(rig.store(), eid, now).unwrap_err());
    assert_eq!(code, MapiCode::UnableToAbort);
    assert_eq!(code.code(), 0x8004_0114);
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("MAPI_E_UNABLE_TO_ABORT"),
        "{errors:?}"
    );
    let m = rig.msg(eid);
    assert!(m.is_submitted() && m.is_locked());
    rig.sp.handle(Command::Continue);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn abort_of_a_message_not_in_the_queue_is_not_in_queue() {
    let mut rig = Rig::new(&[smtp()]);
    let draft = rig.draft("never submitted", &[A]);
    let sent = rig.send("already sent", &[B]);
    rig.run();
    let now = rig.now();
    for eid in [draft, sent] {
        let code = mapi_code(submit::abort_submit(rig.store(), eid, now).unwrap_err());
        assert_eq!(code, MapiCode::NotInQueue, "message {eid}");
    }
}

#[test]
fn breakpoint_on_set_lock_state_stops_before_it_then_step_and_continue() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp
        .handle(Command::SetBreakpoint(Step::SetLockState, true));
    let eid = rig.send("debug me", &[A]);
    assert_eq!(rig.sp.tick(), Tick::Ran(eid, Step::Preprocess));
    assert_eq!(rig.sp.tick(), Tick::Paused);
    let d = rig.sp.debug_state();
    assert!(d.paused);
    assert_eq!(d.at, Some((eid, Step::SetLockState)));
    assert_eq!(d.breakpoints, [Step::SetLockState]);
    assert!(!rig.msg(eid).is_locked(), "stopped before the step ran");
    assert_eq!(rig.sp.tick(), Tick::Paused, "stays stopped");
    // Step runs exactly one step.
    rig.sp.handle(Command::Step);
    assert_eq!(rig.sp.tick(), Tick::Ran(eid, Step::SetLockState));
    assert_eq!(rig.sp.tick(), Tick::Paused);
    assert!(rig.msg(eid).is_locked());
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::Transmit)));
    assert!(rig.log.offers().is_empty());
    rig.sp.handle(Command::Step);
    assert_eq!(rig.sp.tick(), Tick::Ran(eid, Step::Transmit));
    assert_eq!(rig.sp.tick(), Tick::Paused);
    assert_eq!(rig.log.offers().len(), 1);
    // Continue finishes.
    rig.sp.handle(Command::Continue);
    let n = rig.run();
    assert_eq!(
        n, 4,
        "NonDeliveryReport, RemovePreprocessInfo, FinishedMsg, DoSentMail"
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert!(!rig.sp.debug_state().paused);
}

// ---------------------------------------------------------------------------------------------
// Step 6: FinishedMsg and DoSentMail: the disposition table and the hooks

#[test]
fn no_disposal_properties_leave_the_message_in_the_outbox_no_longer_submitted() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("stays", &[A], |m| {
        m.props.remove(PR_SENTMAIL_ENTRYID);
    });
    rig.submit(eid);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Outbox"));
    assert_eq!(m.message_flags() & (MSGFLAG_SUBMIT | MSGFLAG_UNSENT), 0);
    assert_ne!(m.message_flags() & MSGFLAG_READ, 0);
    assert!(m.submit_flags().is_none());
    assert_eq!(m.state(rig.now()), MessageState::Sent);
    assert!(rig.queue().is_empty(), "out of the outgoing queue");
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);
}

#[test]
fn sentmail_entryid_only_moves_the_message_there() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.send("moved", &[A]);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
    assert!(rig.in_folder("Outbox").is_empty());
    assert!(
        rig.events
            .iter()
            .any(|e| matches!(e, Event::Moved { eid: m, .. } if *m == eid))
    );
}

#[test]
fn delete_after_submit_only_deletes_and_the_trace_survives() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("self-destruct", &[A], |m| {
        m.props.remove(PR_SENTMAIL_ENTRYID);
        m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
    });
    rig.submit(eid);
    rig.run();
    assert!(rig.summary(eid).is_none());
    assert!(rig.copies_on_disk(eid).is_empty());
    assert!(
        rig.in_folder("Deleted Items").is_empty(),
        "deleted for good, not moved"
    );
    assert!(
        rig.events
            .iter()
            .any(|e| matches!(e, Event::Removed(m) if *m == eid))
    );
    let trace = rig.trace(eid);
    position(&trace, |c| c.call == "IMAPIFolder::DeleteMessages");
    position(&trace, |c| c.call == "IXPLogon::SubmitMessage");
    assert_eq!(rig.log.of(eid).len(), 1);
}

#[test]
fn both_disposal_properties_leave_one_copy_in_sent_items() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("both", &[A], |m| {
        m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
    });
    rig.submit(eid);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(
        rig.copies_on_disk(eid),
        ["Sent Items"],
        "in Sent Items once, not in the Outbox"
    );
    let trace = rig.trace(eid);
    let copy = position(&trace, |c| c.call == "IMAPIFolder::CopyMessages");
    let delete = position(&trace, |c| c.call == "IMAPIFolder::DeleteMessages");
    assert!(copy < delete, "copy first, then the original is deleted");
}

fn hook(name: &str, action: HookAction, cancel_chain: bool) -> HookConfig {
    HookConfig {
        name: name.into(),
        subject_prefix: None,
        action,
        cancel_chain,
    }
}

#[test]
fn hook_moves_the_sent_copy_to_a_folder_it_creates() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![HookConfig {
            name: "Archive".into(),
            subject_prefix: Some("[archive]".into()),
            action: HookAction::MoveTo {
                folder: "Archive".into(),
            },
            cancel_chain: false,
        }];
    });
    assert!(rig.sp.store().folder_named("Archive").is_none());
    let filed = rig.send("[ARCHIVE] minutes", &[A]);
    let plain = rig.send("not for the archive", &[B]);
    rig.run();
    assert!(
        rig.sp.store().folder_named("Archive").is_some(),
        "the hook created its folder"
    );
    assert_eq!(rig.folder_name(filed).as_deref(), Some("Archive"));
    assert_eq!(rig.copies_on_disk(filed), ["Archive"]);
    assert_eq!(rig.folder_name(plain).as_deref(), Some("Sent Items"));
    assert_eq!(hook_calls(&rig.trace(filed), filed).len(), 1);
    assert!(
        hook_calls(&rig.trace(plain), plain).is_empty(),
        "the subject filter skips it"
    );
}

#[test]
fn hook_delete_deletes_instead_of_moving() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![
            hook(
                "Mover",
                HookAction::MoveTo {
                    folder: "Archive".into(),
                },
                false,
            ),
            hook("Shredder", HookAction::Delete, false),
        ];
    });
    let eid = rig.send("shred", &[A]);
    rig.run();
    assert!(rig.summary(eid).is_none());
    assert!(
        rig.copies_on_disk(eid).is_empty(),
        "HOOK_DELETE wins over an earlier move and PR_SENTMAIL_ENTRYID"
    );
    let trace = rig.trace(eid);
    assert_eq!(
        hook_calls(&trace, eid),
        [format!("[Mover] {eid}"), format!("[Shredder] {eid}")]
    );
    position(&trace, |c| c.result.contains("HOOK_DELETE"));
}

#[test]
fn hook_cancel_stops_the_chain() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![
            hook(
                "First",
                HookAction::MoveTo {
                    folder: "Kept".into(),
                },
                true,
            ),
            hook("Second", HookAction::Delete, false),
        ];
    });
    let eid = rig.send("stop after first", &[A]);
    rig.run();
    assert_eq!(
        rig.folder_name(eid).as_deref(),
        Some("Kept"),
        "the second hook (delete) never ran"
    );
    let trace = rig.trace(eid);
    assert_eq!(hook_calls(&trace, eid), [format!("[First] {eid}")]);
    position(&trace, |c| c.result.starts_with("HOOK_CANCEL"));
    assert!(!trace.iter().any(|c| c.args.contains("[Second]")));
}

#[test]
fn invalid_sentmail_entryid_is_a_do_sent_mail_failure_and_the_message_is_kept() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("nowhere to go", &[A], |m| {
        m.props.set(
            PR_SENTMAIL_ENTRYID,
            PropValue::Binary(EntryId(987_654).to_bytes()),
        );
    });
    rig.submit(eid);
    rig.run();
    let failed = rig.events.iter().find_map(|e| match e {
        Event::StepFinished {
            eid: m,
            step: Step::DoSentMail,
            outcome: StepOutcome::Failed(why),
            ..
        } if *m == eid => Some(why.clone()),
        _ => None,
    });
    let why = failed.expect("DoSentMail reports the failure");
    assert!(why.contains("MAPI_E_INVALID_ENTRYID"), "{why}");
    let m = rig.msg(eid);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Outbox"), "not lost");
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);
    assert!(!m.is_submitted() && !m.is_locked());
    assert!(
        m.spool
            .last_error
            .as_deref()
            .unwrap()
            .contains("MAPI_E_INVALID_ENTRYID")
    );
    assert!(
        rig.summary(eid).unwrap().last_error.is_some(),
        "shown in the outbox table"
    );
    assert!(rig.queue().is_empty(), "no retry loop");
    assert_eq!(rig.run(), 0);
}

#[test]
fn do_sent_mail_failure_waits_for_a_retry_instead_of_spinning() {
    // A hook names a folder that cannot be created: DoSentMail fails after FinishedMsg.
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![hook(
            "Bad",
            HookAction::MoveTo {
                folder: "2030/01".into(),
            },
            false,
        )];
    });
    let eid = rig.send("hook trouble", &[A]);
    let mut ran = 0;
    while let Tick::Ran(..) = rig.sp.tick() {
        ran += 1;
        assert!(ran < 50, "DoSentMail is retried in a busy loop");
    }
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("DoSentMail"), "{errors:?}");
    let s = rig.summary(eid).unwrap();
    assert_eq!(
        s.next_step,
        Some(Step::DoSentMail),
        "still to be finished, not lost"
    );
    let retry = s.next_retry.expect("a retry time");
    assert!(retry > rig.now());
    assert_eq!(
        rig.sp.next_wake(rig.now()),
        Some(retry),
        "the worker wakes up for it"
    );
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);
    // Fixing the profile lets the retry finish the message.
    let mut p = rig.sp.store().profile().clone();
    p.hooks.clear();
    rig.sp.handle(Command::SaveProfile(Box::new(p)));
    rig.set_transports(&[smtp()]);
    rig.set_clock(retry);
    rig.run();
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
    assert_eq!(rig.log.of(eid).len(), 1, "sent once");
}

#[test]
fn ndr_is_suppressed_when_originator_non_delivery_report_requested_is_false() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("no reports please", &[A, ("c=US;s=Nobody", "X400")], |m| {
        m.props
            .set_bool(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, false);
    });
    rig.submit(eid);
    rig.run();
    assert!(rig.ndrs().is_empty());
    let m = rig.msg(eid);
    assert_eq!(m.recipients[1].outcome, RecipientState::NoTransport);
    position(&m.trace, |c| c.result.contains("suppressed"));
    assert!(
        !rig.events
            .iter()
            .any(|e| matches!(e, Event::NdrCreated { .. }))
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

// ---------------------------------------------------------------------------------------------
// Deferred send, retries and transport deferral

#[test]
fn deferred_send_time_in_the_future_holds_the_message_until_then() {
    let mut rig = Rig::new(&[smtp()]);
    let at = t0() + SignedDuration::from_mins(10);
    let eid = rig.draft_with("later", &[A], |m| {
        m.props.set_time(PR_DEFERRED_SEND_TIME, at);
    });
    rig.submit(eid);
    assert_eq!(rig.run(), 0);
    assert_eq!(
        rig.sp.tick(),
        Tick::Idle(Some(at)),
        "the next timer is the send time"
    );
    assert_eq!(
        rig.summary(eid).unwrap().state(rig.now()),
        MessageState::DeferredSend
    );
    rig.advance(9 * 60 + 59);
    assert_eq!(rig.run(), 0);
    assert!(rig.log.offers().is_empty());
    rig.advance(1);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn deferred_send_time_in_the_past_sends_at_once() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("overdue", &[A], |m| {
        m.props
            .set_time(PR_DEFERRED_SEND_TIME, t0() - SignedDuration::from_hours(1));
    });
    rig.submit(eid);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn deferred_send_number_and_units_count_from_the_submit_time() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("in two hours", &[A], |m| {
        // A stale absolute time is replaced by the one computed at submit (reference a.5).
        m.props
            .set_time(PR_DEFERRED_SEND_TIME, t0() - SignedDuration::from_hours(5));
        m.props.set_flags(PR_DEFERRED_SEND_NUMBER, 2);
        m.props.set_flags(PR_DEFERRED_SEND_UNITS, 1);
    });
    rig.advance(30);
    rig.submit(eid);
    let at = t0() + SignedDuration::from_secs(30) + SignedDuration::from_hours(2);
    assert_eq!(rig.msg(eid).props.time(PR_DEFERRED_SEND_TIME), Some(at));
    assert_eq!(rig.run(), 0);
    assert_eq!(
        rig.summary(eid).unwrap().state(rig.now()),
        MessageState::DeferredSend
    );
    rig.set_clock(at);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn deferred_delivery_time_is_passed_on_not_held() {
    let mut rig = Rig::new(&[smtp()]);
    let later = t0() + SignedDuration::from_hours(24);
    let eid = rig.draft_with("deliver tomorrow", &[A], |m| {
        m.props.set_time(PR_DEFERRED_DELIVERY_TIME, later);
    });
    rig.submit(eid);
    rig.run();
    assert_eq!(
        rig.log.of(eid).len(),
        1,
        "the spooler does not act on it (reference e.26)"
    );
    assert_eq!(
        rig.msg(eid).props.time(PR_DEFERRED_DELIVERY_TIME),
        Some(later)
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn transient_failure_waits_for_a_retry_then_succeeds() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Transient])]);
    let eid = rig.send("try again", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.state(rig.now()), MessageState::WaitingRetry);
    assert!(!m.is_locked(), "given back while it waits");
    assert_eq!(m.recipients[0].outcome, RecipientState::Retrying);
    assert!(!m.recipients[0].responsibility());
    let retry = t0() + SignedDuration::from_secs(60);
    assert_eq!(
        m.spool.next_retry,
        Some(retry),
        "first delay of the default policy"
    );
    assert_eq!(m.spool.waiting_on.as_deref(), Some("SMTP"));
    assert!(rig.events.iter().any(
        |e| matches!(e, Event::RetryScheduled { eid: x, at, .. } if *x == eid && *at == retry)
    ));
    assert_eq!(rig.run(), 0, "not before the retry time");
    rig.advance(60);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert!(rig.ndrs().is_empty());
}

#[test]
fn mapi_e_wait_uses_the_seconds_the_transport_returned() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Wait(300)])]);
    let eid = rig.send("wait 300", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).spool.next_retry,
        Some(t0() + SignedDuration::from_secs(300))
    );
    rig.advance(299);
    assert_eq!(rig.run(), 0);
    rig.advance(1);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn retry_backoff_doubles_up_to_the_maximum() {
    let mut rig = Rig::with(&[spec("SMTP", &["SMTP"], Reply::Busy)], |p| {
        p.retry = RetryPolicy {
            first_delay_secs: 60,
            max_delay_secs: 240,
            give_up_after_secs: 100_000,
        };
    });
    let eid = rig.send("busy", &[A]);
    let mut delays = Vec::new();
    for _ in 0..5 {
        rig.run();
        let m = rig.msg(eid);
        let next = m.spool.next_retry.expect("waiting");
        delays.push(next.duration_since(rig.now()).as_secs());
        rig.set_clock(next);
    }
    assert_eq!(delays, [60, 120, 240, 240, 240]);
    assert_eq!(rig.log.of(eid).len(), 5);
}

#[test]
fn retry_gives_up_after_the_configured_age_with_an_ndr() {
    let mut rig = Rig::with(&[spec("SMTP", &["SMTP"], Reply::Busy)], |p| {
        p.retry = RetryPolicy {
            first_delay_secs: 60,
            max_delay_secs: 120,
            give_up_after_secs: 300,
        };
    });
    let eid = rig.send("never", &[A]);
    for _ in 0..20 {
        rig.run();
        match rig.summary(eid).and_then(|s| s.next_retry) {
            Some(t) => rig.set_clock(t),
            None => break,
        }
    }
    // Attempts at 0, 60, 180 and 300 s; at 300 s the trouble is old enough.
    assert_eq!(rig.log.of(eid).len(), 4);
    assert_eq!(rig.now(), t0() + SignedDuration::from_secs(300));
    let m = rig.msg(eid);
    let r = &m.recipients[0];
    assert_eq!(r.outcome, RecipientState::Failed);
    assert!(r.responsibility());
    assert!(
        r.report_text().unwrap().starts_with("gave up after"),
        "{:?}",
        r.report_text()
    );
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1);
    assert!(
        rig.msg(ndrs[0].eid).recipients[0]
            .report_text()
            .unwrap()
            .starts_with("gave up after")
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn waiting_message_does_not_block_other_transports_but_keeps_order_for_its_own() {
    let mut rig = Rig::new(&[
        spec("Slow", &["SMTP"], Reply::Deliver).first(&[Reply::Busy]),
        spec("FAX", &["FAX"], Reply::Deliver),
    ]);
    let a = rig.send("A via Slow", &[A]);
    rig.advance(1);
    let b = rig.send("B via FAX", &[("+1 212 555 0100", "FAX")]);
    rig.advance(1);
    let c = rig.send("C via Slow", &[B]);
    rig.run();
    assert_eq!(
        rig.summary(a).unwrap().state(rig.now()),
        MessageState::WaitingRetry
    );
    assert_eq!(
        rig.folder_name(b).as_deref(),
        Some("Sent Items"),
        "another transport goes on"
    );
    assert_eq!(
        rig.summary(c).unwrap().state(rig.now()),
        MessageState::Queued,
        "not sent ahead of A"
    );
    assert!(rig.log.of(c).is_empty());
    rig.advance(60);
    rig.run();
    let slow: Vec<EntryId> = rig.log.to("Slow").into_iter().map(|o| o.eid).collect();
    assert_eq!(slow, [a, a, c]);
    assert_eq!(rig.folder_name(a).as_deref(), Some("Sent Items"));
    assert_eq!(rig.folder_name(c).as_deref(), Some("Sent Items"));
}

#[test]
fn waiting_message_is_not_overtaken_on_the_transport_it_waits_for() {
    // A's SMTP row is declined by Primary and waits on Shared; C's FAX row goes straight to
    // Shared. Both are bound for Shared, so C must not be sent ahead of A (SPEC 2, e.6).
    let mut rig = Rig::new(&[
        spec("Primary", &["SMTP"], Reply::NotMe),
        spec("Shared", &["SMTP", "FAX"], Reply::Deliver).first(&[Reply::Busy]),
    ]);
    let a = rig.send("A waits on Shared", &[A]);
    rig.advance(1);
    let c = rig.send("C for Shared", &[("+1 212 555 0100", "FAX")]);
    rig.run();
    assert_eq!(
        rig.summary(a).unwrap().state(rig.now()),
        MessageState::WaitingRetry
    );
    assert!(rig.log.of(c).is_empty(), "C overtook A on Shared");
    rig.advance(60);
    rig.run();
    let shared: Vec<EntryId> = rig.log.to("Shared").into_iter().map(|o| o.eid).collect();
    assert_eq!(shared, [a, a, c]);
    assert_eq!(rig.folder_name(c).as_deref(), Some("Sent Items"));
}

#[test]
fn end_dont_resend_defers_and_is_reoffered_with_begin_deferred() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(30)])]);
    let eid = rig.send("scheduled upload", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.state(rig.now()), MessageState::DeferredByTransport);
    assert!(!m.is_locked(), "the spooler gives the message back");
    assert_eq!(m.spool.deferred_by.as_deref(), Some("SMTP"));
    assert_eq!(m.spool.next_step, Some(Step::SetLockState));
    assert!(!m.recipients[0].responsibility());
    rig.advance(29);
    assert_eq!(rig.run(), 0, "nothing until the transport calls back");
    rig.advance(1);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(
        offers.iter().map(|o| o.begin_deferred).collect::<Vec<_>>(),
        [false, true]
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    let trace = rig.trace(eid);
    let notify = position(&trace, |c| {
        c.call == "IMAPISupport::SpoolerNotify" && c.args.starts_with("NOTIFY_SENTDEFERRED")
    });
    let reoffer = position(&trace, |c| {
        c.call == "IXPLogon::SubmitMessage" && c.args.contains("BEGIN_DEFERRED")
    });
    assert!(notify < reoffer);
}

#[test]
fn mapi_e_network_error_uses_the_seconds_the_transport_returned() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Net(90)])]);
    let eid = rig.send("network down", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(
        m.spool.next_retry,
        Some(t0() + SignedDuration::from_secs(90))
    );
    assert!(
        m.spool
            .last_error
            .as_deref()
            .unwrap()
            .contains("MAPI_E_NETWORK_ERROR")
    );
    rig.advance(90);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn end_resend_now_submits_again_at_once() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::ResendNow])]);
    let eid = rig.send("again", &[A]);
    rig.run();
    assert_eq!(
        rig.log.of(eid).len(),
        2,
        "a new SubmitMessage in the same Transmit step"
    );
    assert_eq!(rig.now(), t0(), "no waiting");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    let transmits = rig
        .step_outcomes(eid)
        .iter()
        .filter(|(s, _)| *s == Step::Transmit)
        .count();
    assert_eq!(transmits, 1);
}

#[test]
fn abort_of_a_message_deferred_by_its_transport_succeeds() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(30)])]);
    let eid = rig.send("kept by the transport", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).state(rig.now()),
        MessageState::DeferredByTransport
    );
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    assert_eq!(rig.msg(eid).state(rig.now()), MessageState::Draft);
    // The transport's late call-back does not resurrect it.
    rig.advance(60);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.msg(eid).state(rig.now()), MessageState::Draft);
    assert!(rig.queue().is_empty());
}

#[test]
fn end_resend_later_waits_for_a_retry() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::ResendLater])]);
    let eid = rig.send("not now", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.state(rig.now()), MessageState::WaitingRetry);
    assert_eq!(
        m.spool.next_retry,
        Some(t0() + SignedDuration::from_secs(60))
    );
    assert!(
        m.spool
            .last_error
            .as_deref()
            .unwrap()
            .contains("END_RESEND_LATER")
    );
    assert!(!m.recipients[0].responsibility());
    rig.advance(60);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn flush_clears_retry_timers_once() {
    let mut rig = Rig::with(&[spec("SMTP", &["SMTP"], Reply::Busy)], |p| {
        p.retry = RetryPolicy {
            first_delay_secs: 600,
            max_delay_secs: 3600,
            give_up_after_secs: 100_000,
        };
    });
    let eid = rig.send("server down", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).spool.next_retry,
        Some(t0() + SignedDuration::from_secs(600))
    );
    rig.sp.handle(Command::Flush);
    let n = rig.run();
    assert!(n <= 3, "one more attempt, no busy loop ({n} steps)");
    assert_eq!(rig.log.of(eid).len(), 2, "offered once more, at once");
    let m = rig.msg(eid);
    assert_eq!(
        m.state(rig.now()),
        MessageState::WaitingRetry,
        "still down: waits again"
    );
    assert_eq!(
        m.spool.next_retry,
        Some(t0() + SignedDuration::from_secs(1200))
    );
    assert_eq!(rig.run(), 0);
    assert_eq!(rig.log.of(eid).len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Restart, resend, status table, worker

#[test]
fn restart_clears_a_stale_lock_and_never_reoffers_true_recipients() {
    let specs = [
        smtp(),
        spec("FAX", &["FAX"], Reply::Deliver).first(&[Reply::Busy]),
    ];
    let mut rig = Rig::new(&specs);
    let eid = rig.send("half done", &[A, ("+1 212 555 0100", "FAX")]);
    rig.run();
    assert_eq!(
        rig.msg(eid).recipients[0].outcome,
        RecipientState::Delivered
    );
    // Second attempt: stop inside the lock, then "crash".
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    rig.advance(60);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::Transmit)));
    assert!(rig.msg(eid).is_locked());
    let before = rig.log.offers().len();

    let mut rig = rig.restart(&[smtp(), spec("FAX", &["FAX"], Reply::Deliver)]);
    let m = rig.msg(eid);
    assert!(!m.is_locked(), "the stale lock is cleared at start");
    assert!(m.is_submitted());
    position(&m.trace, |c| {
        c.call == "IMsgStore::SetLockState" && c.result.contains("stale lock")
    });
    rig.pump();
    assert!(
        rig.events
            .iter()
            .any(|e| matches!(e, Event::Notice(t) if t.contains("lock was cleared")))
    );
    rig.sp.handle(Command::Resume);
    rig.run();
    let after: Vec<Offer> = rig.log.offers().into_iter().skip(before).collect();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].transport, "FAX");
    assert_eq!(
        after[0].rows,
        [1],
        "the row already TRUE is not offered again"
    );
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("SMTP"));
    assert!(
        m.recipients
            .iter()
            .all(|r| r.outcome == RecipientState::Delivered)
    );
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
}

#[test]
fn crash_between_two_hand_offs_resends_only_the_rows_still_false() {
    let mut rig = Rig::new(&[smtp(), spec("FAX", &["FAX"], Reply::Crash)]);
    let eid = rig.send("crash mid-transmit", &[A, ("+1 212 555 0100", "FAX")]);
    let crashed =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rig.sp.run_until_idle()));
    assert!(crashed.is_err(), "the FAX transport took the process down");
    // The SMTP hand-off was made durable before the FAX one began.
    let mut rig = rig.restart(&[smtp(), spec("FAX", &["FAX"], Reply::Deliver)]);
    let m = rig.msg(eid);
    assert!(!m.is_locked(), "stale lock cleared");
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert!(m.recipients[0].responsibility());
    assert!(!m.recipients[1].responsibility());
    rig.sp.handle(Command::Resume);
    rig.run();
    assert_eq!(
        rig.log.to("SMTP").len(),
        1,
        "the delivered row is not sent twice"
    );
    let fax = rig.log.to("FAX");
    assert_eq!(fax.len(), 1);
    assert_eq!(fax[0].rows, [1]);
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
}

#[test]
fn restart_half_way_through_finished_msg_completes_without_a_second_copy() {
    let specs = [smtp()];
    let mut rig = Rig::with(&specs, |p| {
        p.hooks = vec![hook("Audit", HookAction::Nothing, false)];
    });
    rig.sp
        .handle(Command::SetBreakpoint(Step::DoSentMail, true));
    let eid = rig.send("finishing", &[A]);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::DoSentMail)));
    let m = rig.msg(eid);
    assert!(!m.is_submitted() && !m.is_locked(), "FinishedMsg ran");
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);

    let mut rig = rig.restart(&specs);
    rig.sp.handle(Command::Resume);
    rig.run();
    assert_eq!(
        rig.copies_on_disk(eid),
        ["Sent Items"],
        "one copy, in Sent Items"
    );
    assert_eq!(rig.in_folder("Sent Items").len(), 1);
    assert_eq!(hook_calls(&rig.trace(eid), eid).len(), 1, "hooks ran once");
    assert_eq!(rig.log.of(eid).len(), 1, "sent once");
}

#[test]
fn restart_reoffers_a_message_deferred_by_its_transport() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(3600)])]);
    let eid = rig.send("deferred at shutdown", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).state(rig.now()),
        MessageState::DeferredByTransport
    );
    // The transport that kept the message is gone with the old process (reference a.5/a.6:
    // pending deferred messages are queued again at the next logon).
    let mut rig = rig.restart(&[smtp()]);
    rig.sp.handle(Command::Resume);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 2, "{offers:?}");
    assert!(offers[1].begin_deferred, "re-offered with BEGIN_DEFERRED");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn saving_the_profile_reoffers_messages_deferred_by_the_old_transports() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(3600)])]);
    let eid = rig.send("deferred while the profile changes", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).state(rig.now()),
        MessageState::DeferredByTransport
    );
    // The transports are rebuilt from the profile (null transports here): the one that kept
    // the message, and would have called back, is gone.
    let p = rig.sp.store().profile().clone();
    rig.sp.handle(Command::SaveProfile(Box::new(p)));
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("SMTP"));
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    position(&m.trace, |c| {
        c.call == "IXPLogon::SubmitMessage" && c.args.contains("BEGIN_DEFERRED")
    });
}

#[test]
fn resend_from_an_ndr_sends_only_the_failed_recipients() {
    let mut rig = Rig::new(&[smtp()]);
    let orig = rig.send(
        "first try",
        &[A, ("c=US;s=Smith", "X400"), ("/o=x/cn=local", "EX")],
    );
    rig.run();
    let ndr = rig.ndrs()[0].eid;
    // A report itself cannot be submitted (reference e.9): Resend is the way.
    let now = rig.now();
    let code = mapi_code(submit::submit_message(rig.store(), ndr, now).unwrap_err());
    assert_eq!(code, MapiCode::NoSupport);
    // An X.400 gateway is configured now.
    rig.set_transports(&[smtp(), spec("X400 gateway", &["X400"], Reply::Deliver)]);
    let before = rig.log.offers().len();
    let inbox_before = rig.in_folder("Inbox").len();
    rig.sp.handle(Command::Resend(ndr));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let resent = rig
        .sp
        .store()
        .summaries()
        .find(|s| s.eid != orig && s.is_submitted())
        .expect("a new submitted message")
        .eid;
    let m = rig.msg(resent);
    assert_ne!(m.message_flags() & MSGFLAG_RESEND, 0);
    assert_eq!(
        m.props.binary(PR_ORIGINAL_ENTRYID),
        Some(orig.to_bytes().as_slice())
    );
    for (i, got_it) in [(0, true), (1, false), (2, true)] {
        let r = &m.recipients[i];
        assert_eq!(r.recipient_type() & MAPI_SUBMITTED != 0, got_it, "row {i}");
        assert_eq!(r.responsibility(), got_it, "row {i}");
        let want = if got_it {
            RecipientState::SkippedResend
        } else {
            RecipientState::Pending
        };
        assert_eq!(r.outcome, want, "row {i}");
    }
    assert_eq!(
        rig.in_folder("Inbox").len(),
        inbox_before,
        "the local recipient is not delivered twice"
    );
    rig.run();
    let after: Vec<Offer> = rig.log.offers().into_iter().skip(before).collect();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].transport, "X400 gateway");
    assert_eq!(after[0].eid, resent);
    assert_eq!(after[0].rows, [1], "only the failed one, once");
    assert_eq!(
        rig.msg(resent).recipients[0].outcome,
        RecipientState::SkippedResend
    );
    assert_eq!(rig.ndrs().len(), 1, "no new report");
    assert_eq!(rig.folder_name(resent).as_deref(), Some("Sent Items"));
}

#[test]
fn status_table_has_a_spooler_row_and_one_row_per_transport() {
    let mut rig = Rig::new(&[smtp(), spec("FAX", &["FAX"], Reply::Deliver)]);
    let rows = rig.sp.status_table();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].resource_type, MAPI_SPOOLER);
    assert_eq!(rows[0].resource_type, 37);
    assert_eq!(rows[0].progress, -1);
    assert_eq!(rows[0].status_code & STATUS_OFFLINE, 0, "running");
    for (row, name) in rows[1..].iter().zip(["SMTP", "FAX"]) {
        assert_eq!(row.name, name);
        assert_eq!(row.resource_type, MAPI_TRANSPORT_PROVIDER);
        assert_eq!(row.resource_type, 36);
        assert_eq!(row.progress, -1, "PR_REMOTE_PROGRESS is -1 when idle");
        assert_eq!(
            row.status_code & (STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED),
            STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED
        );
        assert_eq!(row.status_code & STATUS_OUTBOUND_ACTIVE, 0);
    }
    assert_eq!(rows[2].address_types, ["FAX"]);
    // While a transport has the message its row says so.
    rig.send("watch the status", &[("+1 212 555 0100", "FAX")]);
    rig.run();
    let active = rig.events.iter().any(|e| match e {
        Event::Status(rows) => rows.iter().any(|r| {
            r.name == "FAX" && r.status_code & STATUS_OUTBOUND_ACTIVE != 0 && r.progress >= 0
        }),
        _ => false,
    });
    assert!(
        active,
        "a status row with STATUS_OUTBOUND_ACTIVE during the hand-off"
    );
    let rows = rig.sp.status_table();
    assert!(
        rows.iter()
            .all(|r| r.progress == -1 && r.status_code & STATUS_OUTBOUND_ACTIVE == 0)
    );
    rig.sp.handle(Command::Pause);
    assert_ne!(
        rig.sp.status_table()[0].status_code & STATUS_OFFLINE,
        0,
        "paused spooler"
    );
}

#[test]
fn worker_sends_a_message_and_reports_the_steps_in_pipeline_order() {
    let dir = fast_tempdir();
    let (mut store, report) = Store::open(dir.path()).unwrap();
    store.set_profile(profile_for(&[smtp()])).unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let sent = store.folder_of(FolderKind::SentItems);
    let eid = store.new_entry_id().unwrap();
    let mut m = Message::draft(eid, outbox, "via the worker");
    m.recipients
        .push(Recipient::new(0, "Ann", A.0, A.1, RecipientKind::To));
    m.props
        .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
    store.save(&mut m).unwrap();
    let log = Log::default();
    let _checker = Checker(log.clone());
    let mut sp = Spooler::new(store, Clock::system());
    let hand = Arc::new(Mutex::new(Timestamp::now()));
    sp.set_transports(vec![build(&smtp(), &log, &hand)]);
    let handle = spoolbox::spooler::worker::spawn(sp, &report, Arc::new(|| {})).unwrap();
    handle.send(Command::SendNow(eid)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = handle
            .events
            .recv_timeout(left)
            .expect("the message reaches Sent Items within 10 s");
        let done = matches!(&e, Event::Moved { eid: m, to, .. } if *m == eid && *to == sent);
        events.push(e);
        if done {
            break;
        }
    }
    handle.shutdown();
    assert!(events.iter().any(|e| matches!(e, Event::Opened { .. })));
    // Keep the events about this message, in arrival order.
    let mut seq: Vec<String> = Vec::new();
    for e in &events {
        match e {
            Event::StepStarted { eid: m, step } if *m == eid => seq.push(format!("start {step}")),
            Event::StepFinished { eid: m, step, .. } if *m == eid => {
                seq.push(format!("end {step}"));
            }
            Event::RecipientMarked {
                eid: m,
                responsibility: true,
                ..
            } if *m == eid => seq.push("marked".into()),
            Event::Trace { eid: m, call } if *m == eid => seq.push(format!("call {}", call.call)),
            _ => {}
        }
    }
    let at = |s: &str| {
        seq.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} not in {seq:#?}"))
    };
    let steps = [
        Step::Preprocess,
        Step::SetLockState,
        Step::Transmit,
        Step::NonDeliveryReport,
        Step::RemovePreprocessInfo,
        Step::FinishedMsg,
        Step::DoSentMail,
    ];
    let mut last = 0;
    for step in steps {
        let s = at(&format!("start {step}"));
        let e = at(&format!("end {step}"));
        assert!(last <= s && s < e, "{step} out of order: {seq:#?}");
        last = e;
    }
    let marked = at("marked");
    assert!(
        at("start Transmit") < marked && marked < at("end Transmit"),
        "{seq:#?}"
    );
    let lock = at("call IMsgStore::SetLockState");
    let xp = at("call IXPLogon::SubmitMessage");
    let fin = at("call IMsgStore::FinishedMsg");
    assert!(at("start SetLockState") < lock && lock < at("end SetLockState"));
    assert!(lock < xp && xp < fin);
    assert_eq!(log.of(eid).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Invariants of reference section (e), on random profiles and messages

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Deliver,
    Decline,
    FailAll,
    LeaveFalse,
    TransientThenDeliver(usize),
    WaitThenDeliver,
    AlwaysBusy,
    Defer,
}

#[derive(Clone, Debug)]
struct TCase {
    types: Vec<&'static str>,
    behaviour: Behaviour,
}

#[derive(Clone, Debug)]
struct MCase {
    rows: Vec<&'static str>,
    sentmail: bool,
    delete: bool,
    ndr_off: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HookKind {
    Move,
    Delete,
    Nothing,
}

#[derive(Clone, Debug)]
struct Case {
    transports: Vec<TCase>,
    messages: Vec<MCase>,
    hooks: Vec<(HookKind, bool)>,
}

fn case() -> impl Strategy<Value = Case> {
    let behaviour = prop_oneof![
        3 => Just(Behaviour::Deliver),
        1 => Just(Behaviour::Decline),
        1 => Just(Behaviour::FailAll),
        1 => Just(Behaviour::LeaveFalse),
        1 => (1..=2usize).prop_map(Behaviour::TransientThenDeliver),
        1 => Just(Behaviour::WaitThenDeliver),
        1 => Just(Behaviour::AlwaysBusy),
        1 => Just(Behaviour::Defer),
    ];
    let transport = (
        proptest::sample::subsequence(vec!["SMTP", "FAX", "X400"], 1..=2),
        behaviour,
    )
        .prop_map(|(types, behaviour)| TCase { types, behaviour });
    let message = (
        proptest::collection::vec(
            proptest::sample::select(vec!["SMTP", "FAX", "X400", "EX"]),
            1..=6,
        ),
        any::<bool>(),
        any::<bool>(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(rows, sentmail, delete, ndr_off)| MCase {
            rows,
            sentmail,
            delete,
            ndr_off,
        });
    let hook = (
        prop_oneof![
            Just(HookKind::Move),
            Just(HookKind::Delete),
            Just(HookKind::Nothing)
        ],
        proptest::bool::weighted(0.3),
    );
    (
        proptest::collection::vec(transport, 1..=4),
        proptest::collection::vec(message, 1..=3),
        proptest::collection::vec(hook, 0..=2),
    )
        .prop_map(|(transports, messages, hooks)| Case {
            transports,
            messages,
            hooks,
        })
}

const NAMES: [&str; 4] = ["T0", "T1", "T2", "T3"];

fn address(ty: &str, i: usize) -> String {
    match ty {
        "SMTP" => format!("u{i}@example.org"),
        "FAX" => format!("+1 555 010 {i:04}"),
        "X400" => format!("c=US;p=Corp;s=U{i}"),
        _ => format!("/o=Spoolbox/cn=u{i}"),
    }
}

/// What each recipient must end as, from the scripts (reference a.3 S6 and a.5).
fn expected_outcome(case: &Case, ty: &str) -> (RecipientState, Option<&'static str>) {
    if ty == "EX" {
        return (RecipientState::HandledByStore, Some("store"));
    }
    for (i, t) in case.transports.iter().enumerate() {
        if !t.types.contains(&ty) {
            continue;
        }
        match t.behaviour {
            Behaviour::Decline | Behaviour::LeaveFalse => {}
            Behaviour::FailAll => return (RecipientState::Failed, Some(NAMES[i])),
            // Busy claims the row: it waits for this transport until the spooler gives up.
            Behaviour::AlwaysBusy => return (RecipientState::Failed, None),
            _ => return (RecipientState::Delivered, Some(NAMES[i])),
        }
    }
    (RecipientState::NoTransport, None)
}

/// Where a finished message must be: `None` when deleted. Also the number of hooks that run.
fn expected_place(case: &Case, m: &MCase) -> (Option<&'static str>, usize) {
    let (mut moved, mut deleted, mut ran) = (false, false, 0);
    for (kind, cancel) in &case.hooks {
        ran += 1;
        match kind {
            HookKind::Move => moved = true,
            HookKind::Delete => deleted = true,
            HookKind::Nothing => {}
        }
        if *cancel {
            break;
        }
    }
    let place = if deleted {
        None
    } else if moved {
        Some("Archive")
    } else {
        match (m.sentmail, m.delete) {
            (true, _) => Some("Sent Items"),
            (false, true) => None,
            (false, false) => Some("Outbox"),
        }
    };
    (place, ran)
}

#[allow(clippy::too_many_lines, reason = "a scenario reads top to bottom")]
fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let specs: Vec<Spec> = case
        .transports
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let s = spec(NAMES[i], &t.types, Reply::Deliver);
            match t.behaviour {
                Behaviour::Deliver => s,
                Behaviour::Decline => spec(NAMES[i], &t.types, Reply::NotMe),
                Behaviour::FailAll => spec(NAMES[i], &t.types, Reply::Fail("554 rejected")),
                Behaviour::LeaveFalse => spec(NAMES[i], &t.types, Reply::LeaveFalse),
                Behaviour::TransientThenDeliver(n) => s.first(&vec![Reply::Transient; n]),
                Behaviour::WaitThenDeliver => s.first(&[Reply::Wait(30)]),
                Behaviour::AlwaysBusy => spec(NAMES[i], &t.types, Reply::Busy),
                Behaviour::Defer => spec(NAMES[i], &t.types, Reply::Defer(45)),
            }
        })
        .collect();
    let hooks = case
        .hooks
        .iter()
        .enumerate()
        .map(|(i, (kind, cancel))| {
            let action = match kind {
                HookKind::Move => HookAction::MoveTo {
                    folder: "Archive".into(),
                },
                HookKind::Delete => HookAction::Delete,
                HookKind::Nothing => HookAction::Nothing,
            };
            hook(&format!("H{i}"), action, *cancel)
        })
        .collect();
    let mut rig = Rig::with(&specs, |p| {
        p.hooks = hooks;
        p.retry = RetryPolicy {
            first_delay_secs: 60,
            max_delay_secs: 120,
            give_up_after_secs: 1800,
        };
    });
    let mut eids = Vec::new();
    for (n, m) in case.messages.iter().enumerate() {
        let rows: Vec<(String, &str)> = m
            .rows
            .iter()
            .enumerate()
            .map(|(i, ty)| (address(ty, i), *ty))
            .collect();
        let rows: Vec<(&str, &str)> = rows.iter().map(|(a, t)| (a.as_str(), *t)).collect();
        let eid = rig.draft_with(&format!("m{n}"), &rows, |msg| {
            if !m.sentmail {
                msg.props.remove(PR_SENTMAIL_ENTRYID);
            }
            if m.delete {
                msg.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
            }
            if m.ndr_off {
                msg.props
                    .set_bool(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, false);
            }
        });
        rig.submit(eid);
        rig.advance(1);
        eids.push(eid);
    }
    let mut rounds = 0;
    while !rig.queue().is_empty() {
        rounds += 1;
        prop_assert!(rounds < 300, "the queue never drained: {:?}", rig.queue());
        rig.run();
        let now = rig.now();
        match rig.sp.next_wake(now) {
            Some(t) if t > now => rig.set_clock(t),
            _ => rig.advance(15),
        }
    }
    prop_assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let v = rig.log.violations.lock().unwrap().clone();
    prop_assert!(v.is_empty(), "{v:?}");

    // Nothing is left submitted or locked anywhere (e.1, e.2).
    for s in rig.sp.store().summaries() {
        prop_assert!(!s.is_submitted(), "message {} still submitted", s.eid);
        prop_assert!(
            s.submit_flags.is_none(),
            "message {} keeps PR_SUBMIT_FLAGS",
            s.eid
        );
        prop_assert!(!s.is_locked());
        prop_assert!(s.next_step.is_none());
    }
    let inbox: Vec<Summary> = rig.in_folder("Inbox");
    for (eid, m) in eids.iter().copied().zip(&case.messages) {
        let (place, hooks_ran) = expected_place(case, m);
        let trace = rig.trace(eid);
        prop_assert_eq!(
            hook_calls(&trace, eid).len(),
            hooks_ran,
            "hooks run once each (e.4)"
        );
        prop_assert_eq!(
            trace
                .iter()
                .filter(|c| c.call == "IMsgStore::FinishedMsg")
                .count(),
            1,
            "FinishedMsg exactly once"
        );
        let copies = rig.copies_on_disk(eid);
        prop_assert_eq!(
            copies.clone(),
            place.map(|p| vec![p.to_owned()]).unwrap_or_default(),
            "message {} placement",
            eid
        );
        let subject = format!("m{}", eids.iter().position(|e| *e == eid).unwrap());
        // Outcomes: every row final, the right one, from the right transport (e.11–e.13).
        let final_rows: Vec<Recipient> = match place {
            Some(_) => rig.msg(eid).recipients,
            None => Vec::new(),
        };
        let mut want_ndr = Vec::new();
        for (i, ty) in m.rows.iter().enumerate() {
            let (want, by) = expected_outcome(case, ty);
            if want.needs_ndr() {
                want_ndr.push(address(ty, i));
            }
            if let Some(r) = final_rows.get(i) {
                prop_assert!(r.outcome.is_final());
                prop_assert_eq!(&r.outcome, &want, "{} row {} ({})", eid, i, ty);
                if want != RecipientState::Failed || by.is_some() {
                    prop_assert_eq!(r.transport.as_deref(), by, "{} row {}", eid, i);
                }
                prop_assert_eq!(
                    r.responsibility(),
                    want != RecipientState::NoTransport,
                    "{} row {}",
                    eid,
                    i
                );
            }
            // A row is offered only to transports of its type, never after it was taken.
            let offered_to: Vec<String> = rig
                .log
                .of(eid)
                .into_iter()
                .filter(|o| o.rows.contains(&u32::try_from(i).unwrap()))
                .map(|o| o.transport)
                .collect();
            if let Some(b) = by.filter(|b| *b != "store") {
                prop_assert_eq!(offered_to.last().map(String::as_str), Some(b));
            }
            if *ty == "EX" {
                prop_assert!(offered_to.is_empty());
            }
        }
        // One NDR per message that needs one, unless reports were turned off (e.14).
        let reports: Vec<&Summary> = inbox
            .iter()
            .filter(|s| {
                s.class == "REPORT.IPM.Note.NDR" && s.subject == format!("Undeliverable: {subject}")
            })
            .collect();
        if want_ndr.is_empty() || m.ndr_off {
            prop_assert!(reports.is_empty());
        } else {
            prop_assert_eq!(reports.len(), 1);
            let ndr = rig.msg(reports[0].eid);
            let mut got: Vec<String> = ndr
                .recipients
                .iter()
                .map(|r| r.email().to_owned())
                .collect();
            got.sort();
            want_ndr.sort();
            prop_assert_eq!(got, want_ndr);
        }
        // One local delivery per message with EX rows.
        let local = inbox
            .iter()
            .filter(|s| s.class == "IPM.Note" && s.subject == subject)
            .count();
        prop_assert_eq!(local, usize::from(m.rows.contains(&"EX")));
    }
    Ok(())
}

fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pipeline_invariants_hold_for_random_profiles_and_messages(case in case()) {
        run_case(&case)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 16: one message can never stop the queue

#[test]
fn a_transport_that_panics_on_one_message_fails_only_that_one_and_the_other_ten_go_out() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Panic])]);
    let poison = rig.send("poison", &[A]);
    let good: Vec<EntryId> = (0..10)
        .map(|i| rig.send(&format!("good {i}"), &[B]))
        .collect();
    rig.run();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    for eid in &good {
        assert_eq!(rig.folder_name(*eid).as_deref(), Some("Sent Items"));
        assert_eq!(
            rig.msg(*eid).recipients[0].outcome,
            RecipientState::Delivered
        );
    }
    let m = rig.msg(poison);
    let r = &m.recipients[0];
    assert_eq!(r.outcome, RecipientState::Failed);
    assert!(r.responsibility());
    let text = r.props.text_or_empty(PR_REPORT_TEXT);
    assert!(
        text.contains("MAPI_E_CORRUPT_DATA") && text.contains("poison message in SMTP"),
        "{text}"
    );
    // The sender hears of it: an NDR naming the reason.
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1, "{ndrs:?}");
    let ndr = rig.msg(ndrs[0].eid);
    assert!(ndr.body.contains("MAPI_E_CORRUPT_DATA"), "{}", ndr.body);
    let trace: Vec<String> = rig
        .trace(poison)
        .iter()
        .map(|c| format!("{} {}", c.call, c.result))
        .collect();
    assert!(
        trace.iter().any(|t| t.contains("poison message in SMTP")),
        "{trace:?}"
    );
}
