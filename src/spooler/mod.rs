//! The MAPI spooler: the queue, one function per pipeline step named after its MAPI call, the
//! debugger (breakpoints, step, continue), the status table, and the worker thread.
//!
//! [`Spooler`] is the synchronous engine; [`worker`] runs it on a named thread behind the
//! command/event channels that the app, the CLI and the tests all use.

pub mod demo;
pub mod events;
mod held;
pub mod reason;
mod steps;
pub use steps::rewind;
mod stop;
pub use stop::{STOP_WAIT, Stopped};
pub mod submit;
pub mod worker;

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

use crate::eml;
use crate::mapi::flags::{
    MAPI_SPOOLER, MAPI_TRANSPORT_PROVIDER, STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ACTIVE,
};
use crate::mapi::{EntryId, Message, MessageState, Recipient, Step, TraceCall};
use crate::store::{Patch, Store, StoreError, Summary};
use crate::transport::{self, Transport};
pub use events::{Command, DebugState, Event, StatusRow};

/// Where the spooler's events go as they happen (see [`Spooler::set_sink`]): the worker sends
/// them to the UI.
pub type Sink = Box<dyn Fn(std::vec::Drain<'_, Event>) + Send>;

/// Where the time comes from: the real clock, or a hand-moved one in tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Timestamp::now))
    }

    /// A clock that only moves when told; returns the clock and its hand.
    pub fn manual(start: Timestamp) -> (Self, Arc<Mutex<Timestamp>>) {
        let hand = Arc::new(Mutex::new(start));
        let h = Arc::clone(&hand);
        (
            Self(Arc::new(move || {
                h.lock().map_or(Timestamp::UNIX_EPOCH, |t| *t)
            })),
            hand,
        )
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// At most this many `DoSentMail` copies are committed together.
const GROUP_SIZE: usize = 64;
/// ... and none waits longer than this while the spooler is busy.
const GROUP_WINDOW: SignedDuration = SignedDuration::from_millis(20);
/// How often a spooler waiting for an answer looks whether the group being written has landed.
const COMMIT_POLL: SignedDuration = SignedDuration::from_millis(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Running,
    Paused,
    StepOnce,
}

/// What one [`Spooler::tick`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tick {
    /// Ran one step of one message.
    Ran(EntryId, Step),
    /// Paused (by the user or at a breakpoint).
    Paused,
    /// Nothing eligible; the next timer fires at this time, if any.
    Idle(Option<Timestamp>),
}

/// The spooler engine. One per store; it owns the store.
pub struct Spooler {
    store: Store,
    transports: Vec<Box<dyn Transport>>,
    clock: Clock,
    breakpoints: BTreeSet<Step>,
    mode: Mode,
    at: Option<(EntryId, Step)>,
    released: Option<(EntryId, Step)>,
    current: Option<EntryId>,
    watched: Option<EntryId>,
    active_transport: Option<usize>,
    events: Vec<Event>,
    sink: Option<Sink>,
    /// Events about state not yet durable, released by [`Spooler::settle`] and after steps.
    held: held::Held,
    /// [`Store::durability_mark`] when `held` was last looked through: until it changes no
    /// held event can be released, and a step need not look again.
    released_at: Option<(u64, u64)>,
    /// (messages queued at the last Send/Receive, of which finished since): drives the
    /// progress bar of a flush of thousands.
    flush_progress: Option<(u64, u64)>,
    /// When set, only this message is worked on (`spoolbox send ID`).
    only: Option<EntryId>,
    /// When the open group of `DoSentMail` copies got its first member (by the spooler's
    /// clock, so a test with a manual clock decides the same way every run).
    group_opened: Option<Timestamp>,
    /// The message a transport is handing off on its own thread, and that transport's
    /// index. One at a time: a crash of the process can send again only that hand-off (a
    /// power cut, also the one answered before it, whose marks may still be in their fsync).
    in_flight: Option<(EntryId, usize)>,
    /// The next message for the same transport, queued behind `in_flight`
    /// ([`Transport::queues_handoff`]): it goes on the line as soon as the transport is free,
    /// and its gate (deferred) is armed only once `in_flight` has been recorded, so it
    /// cannot reach the point of no return before those marks are journaled, nor before the
    /// marks of the hand-off before that one are durable.
    queued: Option<(EntryId, usize, crate::durable::gate::CommitGate)>,
    /// The gate of the hand-off just promoted from `queued`, to arm as soon as the one
    /// collected before it is journaled (or to withdraw if that failed).
    to_arm: Option<crate::durable::gate::CommitGate>,
    /// A background hand-off was just collected: start the next message's before finishing
    /// this one.
    lookahead: bool,
    /// The message whose recipient marks, from a background hand-off, were journaled without
    /// an fsync: the next hand-off waits for them (a gate) or is preceded by the sync.
    marks_awaiting_sync: Option<EntryId>,
    /// The gate for the next hand-off, taken as those marks were journaled, with their sync
    /// asked for at once: the fsync then runs while the collected message's step is recorded
    /// and the next message goes as far as its hand-off, not only during its dialogue.
    early_gate: Option<crate::durable::gate::CommitGate>,
    /// The hand-off being started uses `early_gate` (its sync is already asked for).
    gate_taken_early: bool,
    /// [`Store::sync_point`] when the marks of the last background hand-off were journaled:
    /// the point the gate of the hand-off after the next one waits for.
    marks_point: Option<u64>,
    /// The transports each queued message can reach, by (message, revision, recipients done):
    /// a walk past the messages waiting for a busy transport reads each of them once, not at
    /// every pick.
    reach_memo: std::cell::RefCell<std::collections::HashMap<(EntryId, u64, u32), HashSet<usize>>>,
    /// The store just refused a write (a full disk) and the spooler paused: a hand-off under
    /// way is then finished and recorded before anything else (see `stop.rs`). Set where the
    /// spooler pauses so, taken by the next look.
    store_trouble: bool,
    /// Answers of hand-offs the transport gave but whose recipient marks the store refused:
    /// kept until it takes them, and used instead of handing those rows off again.
    unrecorded: Vec<stop::Unrecorded>,
}

impl std::fmt::Debug for Spooler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spooler")
            .field("root", &self.store.root())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Spooler {
    /// A spooler over `store`, with the profile's transports. Locks left by a dead spooler
    /// are cleared here (reference a.6).
    pub fn new(store: Store, clock: Clock) -> Self {
        let transports = transport::from_profile(store.profile());
        let paused = store.profile().start_paused;
        let mut s = Self {
            store,
            transports,
            clock,
            breakpoints: BTreeSet::new(),
            mode: if paused { Mode::Paused } else { Mode::Running },
            at: None,
            released: None,
            current: None,
            watched: None,
            active_transport: None,
            events: Vec::new(),
            sink: None,
            held: held::Held::default(),
            released_at: None,
            flush_progress: None,
            only: None,
            group_opened: None,
            in_flight: None,
            queued: None,
            to_arm: None,
            lookahead: false,
            marks_awaiting_sync: None,
            early_gate: None,
            marks_point: None,
            gate_taken_early: false,
            reach_memo: std::cell::RefCell::default(),
            store_trouble: false,
            unrecorded: Vec::new(),
        };
        s.clear_stale_locks();
        s.requeue_deferred("the spooler started");
        s.guard_notice();
        s
    }

    /// The visible marker of the "deliver for real" guard: while the switch is off, say so
    /// once at every logon (start, new profile), naming the SMTP transports it holds back.
    fn guard_notice(&mut self) {
        let p = self.store.profile();
        if p.deliver_for_real {
            return;
        }
        let smtp: Vec<String> = p
            .transports
            .iter()
            .filter_map(|t| match &t.kind {
                crate::profile::TransportKind::Smtp(s) if t.enabled => Some(
                    if s.host.trim().is_empty() || transport::smtp::is_loopback_host(&s.host) {
                        format!(
                            "{} ({})",
                            t.name,
                            if s.host.trim().is_empty() {
                                "not configured"
                            } else {
                                "loopback, allowed"
                            }
                        )
                    } else {
                        format!(
                            "{} ({} refused: not a loopback server)",
                            t.name,
                            s.host.trim()
                        )
                    },
                ),
                _ => None,
            })
            .collect();
        if smtp.is_empty() {
            return;
        }
        self.emit(Event::Notice(format!(
            "{}: mail goes only to the pickup folder and to SMTP servers on this machine; {}",
            transport::smtp::GUARD_TEXT.replace(": only loopback servers", ""),
            smtp.join(", ")
        )));
    }

    /// Restricts the spooler to one message (`spoolbox send ID`), or lifts the restriction.
    pub fn restrict_to(&mut self, only: Option<EntryId>) {
        self.only = only;
    }

    /// Replaces the transports (tests plug in their own).
    pub fn set_transports(&mut self, transports: Vec<Box<dyn Transport>>) {
        // A hand-off under way on an old transport is abandoned: the message is offered
        // again to the new one (at-least-once).
        self.in_flight = None;
        if let Some((_, _, g)) = self.queued.take() {
            self.store.withdraw_gate(&g);
        }
        self.lookahead = false;
        self.reach_memo.borrow_mut().clear();
        self.transports = transports;
        self.emit_status();
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, for change (tests and the CLI's one-shot commands).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Now, by this spooler's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Takes the events produced since the last call.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Queues an event. What reports a message's state (its recipients' marks, its summary,
    /// its details) waits while that state is not durable yet: the app only ever reports
    /// what survives a crash (SPEC 1). See [`Spooler::settle`].
    fn emit(&mut self, e: Event) {
        let eid = match &e {
            Event::RecipientMarked { eid, .. }
            | Event::StepStarted { eid, .. }
            | Event::StepFinished { eid, .. }
            | Event::LockChanged { eid, .. }
            | Event::Moved { eid, .. }
            | Event::NdrCreated { eid, .. }
            | Event::RetryScheduled { eid, .. }
            | Event::Trace { eid, .. }
            | Event::Removed(eid) => Some(*eid),
            Event::Summary(s) => Some(s.eid),
            Event::Detail(m) => Some(m.entry_id),
            _ => None,
        };
        match eid {
            // Events about one message keep their order: once one waits, the later ones do too.
            Some(eid) if self.held.holds(eid) || self.store.is_unsynced(eid) => {
                self.held.push(eid, e);
            }
            _ => self.events.push(e),
        }
    }

    /// No member of a group whose commit failed may be reported filed: its copy did not
    /// land (it is back as it was, in memory and on disk) or not durably. What was said about
    /// them is dropped and the UI gets a fresh snapshot.
    fn drop_failed_groups(&mut self) {
        let failed = self.store.take_failed_groups();
        if failed.is_empty() {
            return;
        }
        self.held.forget(&failed);
        self.events.push(Event::Snapshot(self.snapshot()));
    }

    /// Releases the held events of messages whose state has become durable since.
    fn release_durable(&mut self) {
        if let Err(e) = self.store.poll_commit() {
            self.group_failed(&e);
        }
        self.drop_failed_groups();
        if let Some(e) = self.store.take_sync_error() {
            self.journal_sync_failed(&e);
        }
        if self.held.is_empty() {
            return;
        }
        let mark = self.store.durability_mark();
        if self.released_at == Some(mark) {
            return;
        }
        self.released_at = Some(mark);
        let store = &self.store;
        self.held
            .release(|eid| !store.is_unsynced(eid), &mut self.events);
    }

    /// Makes everything pending durable (one journal fsync) and releases every held event:
    /// called whenever the spooler stops (pause, breakpoint, idle, a message left behind),
    /// so nothing waits unreported.
    pub fn settle(&mut self) {
        if self.held.is_empty() && self.store.pending_saves() == 0 && !self.store.commit_under_way()
        {
            return;
        }
        self.group_opened = None;
        if let Err(e) = self.store.commit_saves() {
            self.group_failed(&e);
        }
        if let Err(e) = self.store.sync_journal() {
            self.journal_sync_failed(&e);
            return;
        }
        self.drop_failed_groups();
        self.events.extend(self.held.take_all());
    }

    /// A group of filed messages did not land: what was said about its members is dropped,
    /// and the spooler pauses with the error (the messages are back as they were).
    fn group_failed(&mut self, e: &StoreError) {
        self.drop_failed_groups();
        self.mode = Mode::Paused;
        self.store_trouble = true;
        self.current = None;
        self.events.push(Event::Error(format!(
            "sent messages could not be filed, spooler paused: {e}"
        )));
        self.emit_debug();
    }

    /// Starts committing the open group on its own thread (see
    /// [`Store::commit_saves_background`]); its members are reported when it has landed.
    fn commit_group_background(&mut self) {
        if let Err(e) = self.store.commit_saves_background() {
            self.group_failed(&e);
        }
        if self.store.pending_saves() == 0 {
            self.group_opened = None;
        }
    }

    /// A journal fsync failed: what was journaled since the last good one (and its held
    /// events) may not survive, and the hand-off waiting at its gate is withdrawn before its
    /// point of no return. Said once, loudly; the next sync tries again.
    pub(crate) fn journal_sync_failed(&mut self, e: &StoreError) {
        self.events.push(Event::Error(format!(
            "the journal could not be synced: {e}"
        )));
    }

    /// True when the open group of `DoSentMail` copies should be committed although the
    /// spooler goes on: it is full, or (for a live display) its oldest member has waited
    /// [`GROUP_WINDOW`]. Under armed fail points only the count decides, so that a rerun
    /// passes the same fail points.
    fn group_due(&self) -> bool {
        let n = self.store.pending_saves();
        n >= GROUP_SIZE
            || (n > 0
                && !crate::store::fs::fail_points_armed()
                && self
                    .group_opened
                    .is_some_and(|t| self.now().duration_since(t) >= GROUP_WINDOW))
    }

    /// Sends buffered events at once through the sink (the worker sets one), so the UI sees
    /// each transport hand-off as it happens rather than at the end of the step.
    pub fn flush_events(&mut self) {
        if let Some(sink) = &self.sink
            && !self.events.is_empty()
        {
            sink(self.events.drain(..));
        }
    }

    /// Sends every event to `sink` from now on, in batches (whatever a step or a hand-off
    /// produced at once): the receiver is woken once per batch, not once per event.
    pub fn set_sink(&mut self, sink: Sink) {
        self.sink = Some(sink);
        self.flush_events();
    }

    /// The debugger state.
    pub fn debug_state(&self) -> DebugState {
        DebugState {
            paused: self.mode != Mode::Running,
            at: self.at,
            breakpoints: self.breakpoints.iter().copied().collect(),
        }
    }

    fn emit_debug(&mut self) {
        let d = self.debug_state();
        self.emit(Event::Debug(d));
    }

    /// The status table: the spooler's row, then one per transport.
    pub fn status_table(&self) -> Vec<StatusRow> {
        let (progress, text) = match self.current.and_then(|e| self.store.summary(e)) {
            Some(s) => {
                let i = s
                    .next_step
                    .and_then(|st| Step::ALL.iter().position(|x| *x == st))
                    .unwrap_or(0);
                (
                    i32::try_from(i * 100 / Step::ALL.len()).unwrap_or(0),
                    format!("message {}: {}", s.eid, s.subject),
                )
            }
            None => (
                -1,
                if self.mode == Mode::Running {
                    "idle".into()
                } else {
                    "paused".into()
                },
            ),
        };
        let mut rows = vec![StatusRow {
            name: "MAPI Spooler".into(),
            resource_type: MAPI_SPOOLER,
            status_code: STATUS_AVAILABLE
                | if self.mode == Mode::Running {
                    0
                } else {
                    STATUS_OFFLINE
                },
            progress,
            text,
            address_types: Vec::new(),
        }];
        for (i, t) in self.transports.iter().enumerate() {
            let active = self.active_transport == Some(i);
            let code = t.status_code() | if active { STATUS_OUTBOUND_ACTIVE } else { 0 };
            rows.push(StatusRow {
                name: t.name().to_owned(),
                resource_type: MAPI_TRANSPORT_PROVIDER,
                status_code: code,
                progress: if active { 0 } else { -1 },
                text: if active {
                    "sending".into()
                } else {
                    t.status_text()
                },
                address_types: t.address_types().to_vec(),
            });
        }
        rows
    }

    fn emit_status(&mut self) {
        let rows = self.status_table();
        self.emit(Event::Status(rows));
    }

    /// Every summary, for a first frame.
    pub fn snapshot(&self) -> Vec<Summary> {
        self.store.summaries().cloned().collect()
    }

    fn clear_stale_locks(&mut self) {
        let locked: Vec<EntryId> = self
            .store
            .queue()
            .filter(|e| self.store.summary(*e).is_some_and(Summary::is_locked))
            .collect();
        let now = self.now();
        for eid in locked {
            let Ok(msg) = self.store.load(eid) else {
                continue;
            };
            let patch = stop::unlock_patch(
                &msg,
                now,
                "stale lock of a spooler that died, cleared at start",
            );
            if self.store.patch(eid, patch, true).is_ok() {
                tracing::info!("cleared stale lock on message {eid}");
                self.emit(Event::Notice(format!(
                    "message {eid} was locked by a spooler that stopped; the lock was cleared and it resumes"
                )));
            }
        }
    }

    /// Re-offers every message a transport kept (`END_DONT_RESEND`): the transport object that
    /// would call back is gone (a new process, or rebuilt transports), so the message would wait
    /// forever. WINDS queues pending deferred messages again at the next logon (reference a.5,
    /// a.6); the re-offer carries `BEGIN_DEFERRED`.
    fn requeue_deferred(&mut self, why: &str) {
        let candidates: Vec<EntryId> = self
            .store
            .queue()
            .filter(|e| {
                self.store.summary(*e).is_some_and(|s| {
                    matches!(
                        s.base_state,
                        MessageState::DeferredByTransport | MessageState::Held
                    )
                })
            })
            .collect();
        for eid in candidates {
            let Some(name) = self.store.load(eid).ok().and_then(|m| m.spool.deferred_by) else {
                continue;
            };
            let note = format!("re-queued for {name}: {why}");
            if let Some(m) = self.reoffer_deferred(eid, &name, &note, true) {
                self.emit(Event::Notice(format!(
                    "message {eid} was deferred by {name}; it is offered again because {why}"
                )));
                self.changed(&m);
            }
        }
    }

    /// `SpoolerNotify(NOTIFY_SENTDEFERRED)`: message `eid`, deferred by transport `name`, is
    /// offered again, with `BEGIN_DEFERRED` on its next hand-off to that transport.
    fn reoffer_deferred(
        &mut self,
        eid: EntryId,
        name: &str,
        note: &str,
        sync: bool,
    ) -> Option<Message> {
        let msg = self.store.load(eid).ok()?;
        let mut spool = msg.spool.clone();
        spool.deferred_by = None;
        spool.begin_deferred = Some(name.to_owned());
        let mut patch = Patch {
            spool: Some(spool),
            ..Patch::default()
        };
        patch.trace.push(TraceCall {
            at: self.now(),
            step: Step::Transmit,
            call: "IMAPISupport::SpoolerNotify".into(),
            args: format!("NOTIFY_SENTDEFERRED, {eid} ({note})"),
            result: "S_OK".into(),
            transcript: Vec::new(),
            bytes: None,
        });
        self.store.patch(eid, patch, sync).ok()
    }

    /// Handles one command.
    pub fn handle(&mut self, cmd: Command) {
        // A command acts on filed messages and reported state only.
        self.settle();
        let now = self.now();
        let result: Result<(), StoreError> = match cmd {
            Command::Submit(eid) => {
                submit::submit_message(&mut self.store, eid, now).map(|m| self.changed(&m))
            }
            Command::SubmitDraft { draft, seen } => {
                submit::submit_draft(&mut self.store, *draft, seen, now).map(|m| self.changed(&m))
            }
            Command::SendAgain(eid) => submit::send_again(&mut self.store, eid, now).map(|m| {
                self.emit(Event::Notice(format!(
                    "message {eid} is sent again as a new message, {}; the original and its trace are unchanged",
                    m.entry_id
                )));
                self.changed(&m);
            }),
            Command::AbortSubmit(eid) => submit::abort_submit(&mut self.store, eid, now).map(|m| {
                if self.current == Some(eid) {
                    self.current = None;
                }
                if self.at.is_some_and(|(e, _)| e == eid) {
                    self.at = None;
                    self.emit_debug();
                }
                self.changed(&m);
            }),
            Command::SendNow(eid) => self.send_now(eid, now),
            Command::Flush => self.flush_queue(),
            Command::Pause => {
                self.mode = Mode::Paused;
                self.emit_debug();
                self.emit_status();
                Ok(())
            }
            Command::Resume | Command::Continue => {
                self.released = self.at.take();
                self.mode = Mode::Running;
                self.store_trouble = false;
                self.emit_debug();
                self.emit_status();
                Ok(())
            }
            Command::Step => {
                self.released = self.at.take();
                self.mode = Mode::StepOnce;
                Ok(())
            }
            Command::SetBreakpoint(step, on) => {
                if on {
                    self.breakpoints.insert(step);
                } else {
                    self.breakpoints.remove(&step);
                }
                self.emit_debug();
                Ok(())
            }
            Command::SetFaults(name, faults) => self.set_faults(&name, faults),
            Command::SaveProfile(p) => self.store.set_profile(*p).map(|()| {
                self.transports = transport::from_profile(self.store.profile());
                self.requeue_deferred("the transports were rebuilt from the new profile");
                self.guard_notice();
                let p = Box::new(self.store.profile().clone());
                self.emit(Event::Profile(p));
                self.emit_status();
            }),
            Command::SaveDraft(m) => {
                submit::save_draft(&mut self.store, *m).map(|m| self.changed(&m))
            }
            Command::NewDraft => self.new_draft(),
            Command::Hold(eid, on) => self.hold(eid, on),
            Command::Delete(eid) => self.delete(eid),
            Command::Move(eid, to) => self.move_message(eid, to),
            Command::Resend(ndr) => {
                submit::resend(&mut self.store, ndr, now).map(|m| self.changed(&m))
            }
            Command::Watch(eid) => {
                self.watched = eid;
                if let Some(e) = eid
                    && let Ok(m) = self.store.peek(e)
                {
                    self.emit(Event::Detail(Box::new(m)));
                }
                Ok(())
            }
            Command::AttachFile(eid, path) => {
                submit::attach_file(&mut self.store, eid, &path).map(|m| self.changed(&m))
            }
            Command::ImportEml(path) => self.import_eml(&path).map(|_| ()),
            Command::ExportEml(eid, path) => self.export_eml(eid, &path),
            Command::Source(eid) => {
                self.source(eid);
                Ok(())
            }
            Command::ExportTrace(eid, path) => self.export_trace(eid, &path),
            Command::CreateFolder(name) => self.store.create_folder(&name).map(|_| {
                let f = self.store.folders().to_vec();
                self.emit(Event::Folders(f));
            }),
            Command::Resync => {
                let s = self.snapshot();
                self.emit(Event::Snapshot(s));
                Ok(())
            }
            Command::Shutdown => Ok(()),
        };
        if let Err(e) = result {
            self.emit(Event::Error(e.to_string()));
        }
        // A command's effect is reported once it is durable.
        self.settle();
    }

    fn changed(&mut self, m: &Message) {
        if let Some(s) = self.store.summary(m.entry_id).cloned() {
            self.emit(Event::Summary(s));
        }
        if self.watched == Some(m.entry_id) {
            self.emit(Event::Detail(Box::new(m.clone())));
        }
    }

    /// Send/Receive: clears the retry timer of every waiting message, once. Messages that
    /// run into trouble again wait again (a dead server never makes this spin).
    fn flush_queue(&mut self) -> Result<(), StoreError> {
        // "Send all" also tries message files that could not be read before: those readable
        // now come back into the queue.
        for eid in self.store.recheck_unreadable()? {
            if let Some(s) = self.store.summary(eid).cloned() {
                self.emit(Event::Summary(s));
            }
        }
        let now = self.now();
        let waiting: Vec<EntryId> = self
            .store
            .queue()
            .filter(|e| {
                self.store
                    .summary(*e)
                    .is_some_and(|s| s.state(now) == MessageState::WaitingRetry)
            })
            .collect();
        for eid in &waiting {
            let msg = self.store.load(*eid)?;
            let mut spool = msg.spool.clone();
            spool.next_retry = None;
            let m = self.store.patch(
                *eid,
                Patch {
                    spool: Some(spool),
                    ..Patch::default()
                },
                false,
            )?;
            self.changed(&m);
        }
        let queued = self.store.queue().count();
        if queued > 0 {
            self.flush_progress = Some((queued as u64, 0));
        }
        // Never silent: a flush while stopped does nothing until the user lets the spooler go.
        let until = match (self.at, self.mode) {
            (Some((eid, step)), _) => format!(
                "; queued until Continue (F5): the spooler is stopped at a breakpoint before {step} of message {eid}"
            ),
            (None, Mode::Paused) => "; queued until Resume (Ctrl+P): the spooler is paused".into(),
            _ => String::new(),
        };
        self.emit(Event::Notice(format!(
            "Send/Receive: {queued} queued message(s) eligible now ({} retry timer(s) ignored){until}",
            waiting.len()
        )));
        Ok(())
    }

    fn send_now(&mut self, eid: EntryId, now: Timestamp) -> Result<(), StoreError> {
        let Some(s) = self.store.summary(eid).cloned() else {
            return Err(StoreError::NotFound(eid));
        };
        if s.is_submitted() {
            let msg = self.store.load(eid)?;
            let mut spool = msg.spool.clone();
            spool.next_retry = None;
            spool.held = false;
            let m = self.store.patch(
                eid,
                Patch {
                    spool: Some(spool),
                    ..Patch::default()
                },
                false,
            )?;
            self.changed(&m);
        } else {
            let m = submit::submit_message(&mut self.store, eid, now)?;
            self.changed(&m);
        }
        if self.current.is_none() {
            self.current = Some(eid);
        }
        Ok(())
    }

    fn set_faults(
        &mut self,
        name: &str,
        faults: crate::profile::FaultConfig,
    ) -> Result<(), StoreError> {
        let mut profile = self.store.profile().clone();
        let Some(cfg) = profile.transports.iter_mut().find(|t| t.name == name) else {
            return Err(StoreError::Invalid(format!("no transport named {name:?}")));
        };
        cfg.faults = faults.clone();
        self.store.set_profile(profile)?;
        if let Some(f) = self
            .transports
            .iter_mut()
            .find(|t| t.name() == name)
            .and_then(|t| t.faults_mut())
        {
            *f = faults;
        }
        let p = Box::new(self.store.profile().clone());
        self.emit(Event::Profile(p));
        self.emit_status();
        Ok(())
    }

    fn new_draft(&mut self) -> Result<(), StoreError> {
        self.create_draft("", |_| {}).map(|_| ())
    }

    /// A new draft in the Outbox whose sent copy goes to Sent Items, filled in by `fill`,
    /// saved and announced ([`Event::DraftCreated`]).
    fn create_draft(
        &mut self,
        subject: &str,
        fill: impl FnOnce(&mut Message),
    ) -> Result<Message, StoreError> {
        let eid = self.store.new_entry_id()?;
        let outbox = self.store.folder_of(crate::store::FolderKind::Outbox);
        let mut m = Message::draft(eid, outbox, subject);
        let sent = self.store.folder_of(crate::store::FolderKind::SentItems);
        m.props.set(
            crate::mapi::tags::PR_SENTMAIL_ENTRYID,
            crate::mapi::PropValue::Binary(sent.to_bytes()),
        );
        fill(&mut m);
        submit::clean_headers(&mut m);
        self.store.save(&mut m)?;
        self.changed(&m);
        self.emit(Event::DraftCreated(eid));
        Ok(m)
    }

    /// Imports an `.eml` file as a draft in the Outbox (sent copy to Sent Items, as a new
    /// draft gets); answered with [`Event::DraftCreated`] and the draft's summary.
    ///
    /// # Errors
    /// An unreadable file, or one that is not a message ([`eml::ImportError`]).
    pub fn import_eml(&mut self, path: &std::path::Path) -> Result<EntryId, StoreError> {
        // At most one byte past the cap: enough to know the file is too large, never the
        // whole of `/dev/zero` or a disk image.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?,
                eml::MAX_IMPORT_BYTES as u64 + 1,
            ),
            &mut bytes,
        )
        .map_err(|e| StoreError::io(path, e))?;
        let parsed = eml::import(&bytes)
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", path.display())))?;
        let subject = parsed.subject.clone();
        let m = self.create_draft(&subject, |m| {
            m.body = parsed.body;
            m.recipients = parsed.recipients;
            m.attachments = parsed.attachments;
        })?;
        let eid = m.entry_id;
        self.emit(Event::Notice(format!(
            "imported {} as draft {eid}: {} recipient(s), {} attachment(s)",
            path.display(),
            m.recipients.len(),
            m.attachments.len()
        )));
        Ok(eid)
    }

    /// The message as RFC 5322 text, as `export` writes it (Bcc kept, non-Internet rows left
    /// out, `Date:` the submit time, so the same message always reads the same).
    fn render_export(&self, eid: EntryId) -> Result<eml::Rendered, StoreError> {
        let msg = self.store.peek(eid)?;
        let p = self.store.profile();
        let sender = (p.sender_name.clone(), p.sender_address.clone());
        let rows: Vec<u32> = msg
            .recipients
            .iter()
            .filter(|r| !r.is_p1())
            .map(|r| r.row_id)
            .collect();
        let opts = eml::RenderOptions {
            keep_bcc: true,
            skip_invalid: true,
            date: msg.client_submit_time().map(std::time::SystemTime::from),
        };
        eml::render_with(&msg, &rows, &sender, opts)
            .map_err(|e| StoreError::Invalid(format!("message {eid} cannot be exported: {e}")))
    }

    /// The Source tab's text: the exact bytes of the last hand-off, or for a message not
    /// handed over yet, rendered as `export` writes it.
    fn source(&mut self, eid: EntryId) {
        let revision = self.store.summary(eid).map_or(0, |s| s.revision);
        if let Some((path, bytes)) = self.kept_bytes(eid) {
            tracing::debug!("source of {eid}: the bytes kept as {path}");
            self.emit(Event::Source {
                eid,
                revision,
                text: Ok(String::from_utf8_lossy(&bytes).into_owned()),
                preview: false,
            });
            return;
        }
        let text = self.render_export(eid).map(|out| {
            let mut t = String::from_utf8_lossy(&out.bytes).into_owned();
            if !out.left_out.is_empty() {
                t = format!(
                    "(left out, not Internet addresses: {})\n\n{t}",
                    out.left_out.join(", ")
                );
            }
            t
        });
        self.emit(Event::Source {
            eid,
            revision,
            text: text.map_err(|e| e.to_string()),
            preview: true,
        });
    }

    /// The exact bytes of the last hand-off that carried the message out (kept under `sent/`
    /// by the transport), with their path relative to the store.
    fn kept_bytes(&self, eid: EntryId) -> Option<(String, Vec<u8>)> {
        let msg = self.store.peek(eid).ok()?;
        let rel = msg.trace.iter().rev().find_map(|c| c.bytes.clone())?;
        // Only a name under `sent/` that the transport wrote: never a path out of the store.
        let name = rel.strip_prefix("sent/")?;
        if name.contains('/') || name.starts_with('.') {
            return None;
        }
        let bytes =
            crate::store::fs::read_regular(&self.store.root().join("sent").join(name)).ok()?;
        Some((rel, bytes))
    }

    fn export_eml(&mut self, eid: EntryId, path: &std::path::Path) -> Result<(), StoreError> {
        if let Some((kept, bytes)) = self.kept_bytes(eid) {
            std::fs::write(path, &bytes).map_err(|e| StoreError::io(path, e))?;
            self.emit(Event::Notice(format!(
                "message {eid} exported to {}: the exact bytes of its last hand-off ({kept})",
                path.display()
            )));
            return Ok(());
        }
        let out = self.render_export(eid)?;
        std::fs::write(path, &out.bytes).map_err(|e| StoreError::io(path, e))?;
        let mut text = format!("message {eid} exported to {}", path.display());
        if !out.left_out.is_empty() {
            text = format!(
                "{text}; left out (not Internet addresses): {}",
                out.left_out.join(", ")
            );
        }
        self.emit(Event::Notice(text));
        Ok(())
    }

    fn hold(&mut self, eid: EntryId, on: bool) -> Result<(), StoreError> {
        let msg = self.store.load(eid)?;
        if !msg.is_submitted() {
            return Err(StoreError::Invalid(format!(
                "message {eid} is not queued, so it cannot be held"
            )));
        }
        let mut spool = msg.spool.clone();
        spool.held = on;
        let m = self.store.patch(
            eid,
            Patch {
                spool: Some(spool),
                ..Patch::default()
            },
            true,
        )?;
        if on && self.current == Some(eid) && !m.is_locked() {
            self.current = None;
        }
        self.changed(&m);
        Ok(())
    }

    fn delete(&mut self, eid: EntryId) -> Result<(), StoreError> {
        let Some(s) = self.store.summary(eid).cloned() else {
            return Err(StoreError::NotFound(eid));
        };
        if s.is_submitted() {
            return Err(crate::mapi::MapiError::new(
                crate::mapi::MapiCode::Submitted,
                "a queued message cannot be deleted; abort the submission first",
            )
            .into());
        }
        let wastebasket = self.store.folder_of(crate::store::FolderKind::DeletedItems);
        if s.folder == wastebasket {
            self.store.delete(eid)?;
            self.emit(Event::Removed(eid));
        } else {
            let m = self.store.move_to(eid, wastebasket)?;
            self.emit(Event::Moved {
                eid,
                from: s.folder,
                to: wastebasket,
            });
            self.changed(&m);
        }
        Ok(())
    }

    fn move_message(&mut self, eid: EntryId, to: EntryId) -> Result<(), StoreError> {
        let Some(s) = self.store.summary(eid).cloned() else {
            return Err(StoreError::NotFound(eid));
        };
        if s.is_submitted() {
            return Err(crate::mapi::MapiError::new(
                crate::mapi::MapiCode::Submitted,
                "a queued message cannot be moved",
            )
            .into());
        }
        let m = self.store.move_to(eid, to)?;
        self.emit(Event::Moved {
            eid,
            from: s.folder,
            to,
        });
        self.changed(&m);
        Ok(())
    }

    fn export_trace(&mut self, eid: EntryId, path: &std::path::Path) -> Result<(), StoreError> {
        let text = self.trace_text(eid)?;
        std::fs::write(path, text).map_err(|e| StoreError::io(path, e))?;
        self.emit(Event::Notice(format!(
            "trace of message {eid} saved to {}",
            path.display()
        )));
        Ok(())
    }

    /// The trace of a message as text, one call per line (also for deleted messages).
    ///
    /// # Errors
    /// When neither the message nor a saved trace exists.
    pub fn trace_text(&mut self, eid: EntryId) -> Result<String, StoreError> {
        let calls = self.trace_of(eid)?;
        let mut out = String::new();
        for c in &calls {
            let _ = writeln!(
                out,
                "{}  {:<20} {c}",
                c.at.strftime("%H:%M:%S%.3f"),
                c.step.name()
            );
            if let Some(b) = &c.bytes {
                let _ = writeln!(out, "{:14}{:<20} the bytes handed over: {b}", "", "");
            }
            for line in &c.transcript {
                let _ = writeln!(out, "{:14}{:<20} | {line}", "", "");
            }
        }
        Ok(out)
    }

    /// The recorded MAPI calls of a message; for a message deleted by `DoSentMail`, the trace
    /// saved beside the store when it was deleted.
    ///
    /// # Errors
    /// When neither exists.
    pub fn trace_of(&mut self, eid: EntryId) -> Result<Vec<TraceCall>, StoreError> {
        if self.store.summary(eid).is_some() {
            return Ok(self.store.load(eid)?.trace);
        }
        self.store.kept_trace(eid)
    }

    /// Runs at most one step of one message, honouring pause and breakpoints.
    pub fn tick(&mut self) -> Tick {
        let tick = self.tick_inner();
        if std::mem::take(&mut self.store_trouble) && self.in_flight.is_some() {
            // The store refused a write with a hand-off under way: its answer is recorded
            // now (or kept until the store takes it), never left to a later run to send again.
            self.finish_under_way(std::time::Instant::now() + STOP_WAIT);
        }
        // Whenever the spooler stops nothing stays unreported; while it goes on, finished
        // messages are filed in groups (one batch of fsyncs for many, see `Store::commit_saves`).
        if self.store.pending_saves() == 0 {
            self.group_opened = None;
        } else if self.group_opened.is_none() {
            self.group_opened = Some(self.now());
        }
        // Waiting for a transport's answer is no stop: the group stays open meanwhile.
        let waiting = matches!(tick, Tick::Idle(_)) && self.in_flight.is_some();
        let stops = !matches!(tick, Tick::Ran(..)) && !waiting || self.mode != Mode::Running;
        if stops {
            self.settle();
        } else if self.group_due() {
            // While the spooler goes on: the group's file work takes milliseconds, and the
            // line to the server would stand idle meanwhile.
            self.commit_group_background();
        } else if self.current.is_none()
            && self.store.pending_saves() == 0
            && !self.store.commit_under_way()
        {
            // Turning to another message with no group open: report what waits at once.
            self.settle();
        }
        let group_landing = self.store.commit_under_way();
        if waiting && group_landing {
            // A group is being written while the answer is awaited: its members are reported
            // filed when it has landed, not when the answer comes (a slow server).
            self.release_durable();
            self.flush_events();
        }
        match (tick, self.group_opened) {
            (Tick::Idle(wake), _) if waiting && group_landing => {
                let soon = self.now() + COMMIT_POLL;
                Tick::Idle(Some(wake.map_or(soon, |w| w.min(soon))))
            }
            // Come back when the open group is due, if the answer takes longer.
            (Tick::Idle(wake), Some(opened)) if waiting => {
                let due = opened + GROUP_WINDOW;
                Tick::Idle(Some(wake.map_or(due, |w| w.min(due))))
            }
            _ => tick,
        }
    }

    fn tick_inner(&mut self) -> Tick {
        self.collect_sent_deferred();
        if self.mode == Mode::Paused {
            return Tick::Paused;
        }
        // Answers the store refused to record go first, before any other step can write (a
        // message with another hand-off under way records its kept answer when that is in).
        if let Some(eid) = self
            .next_unrecorded()
            .filter(|e| self.in_flight.is_none_or(|(f, _)| f != *e))
        {
            self.current = Some(eid);
            self.run_step(eid, Step::Transmit);
            self.emit_status();
            return Tick::Ran(eid, Step::Transmit);
        }
        let now = self.now();
        let Some(eid) = self.pick(now) else {
            if let Some((total, _)) = self.flush_progress.take() {
                self.emit(Event::Progress {
                    label: "Send/Receive".into(),
                    done: total,
                    total,
                });
            }
            if self.mode == Mode::StepOnce {
                self.mode = Mode::Paused;
                self.emit_debug();
            }
            // While a hand-off is under way its completion wakes the spooler anyway, and the
            // timers are looked at when it has: `next_wake` walks the whole queue, which
            // made every hand-off of a long flush O(queue).
            let wake = if self.in_flight.is_some() {
                None
            } else {
                self.next_wake(now)
            };
            return Tick::Idle(wake);
        };
        let Some(step) = self.store.summary(eid).and_then(|s| s.next_step) else {
            self.current = None;
            return Tick::Idle(None);
        };
        // A hand-off under way that is collected now already passed its breakpoint.
        let collecting = self.in_flight.is_some_and(|(f, _)| f == eid);
        if self.breakpoints.contains(&step) && self.released != Some((eid, step)) && !collecting {
            self.at = Some((eid, step));
            self.mode = Mode::Paused;
            self.current = Some(eid);
            self.emit(Event::Notice(format!(
                "breakpoint: stopped before {step} of message {eid}"
            )));
            self.emit_debug();
            self.emit_status();
            return Tick::Paused;
        }
        self.released = None;
        self.current = Some(eid);
        self.run_step(eid, step);
        let next = self.store.summary(eid).and_then(|s| s.next_step);
        let waiting = self.store.summary(eid).is_some_and(|s| {
            matches!(
                s.state(self.now()),
                MessageState::WaitingRetry | MessageState::DeferredByTransport | MessageState::Held
            )
        });
        if next.is_none()
            && let Some((total, done)) = self.flush_progress.as_mut()
        {
            *done = (*done + 1).min(*total);
            let (done, total) = (*done, *total);
            // About two hundred updates for the whole flush is plenty for a progress bar.
            if done == total || done % (total / 200).max(1) == 0 {
                self.emit(Event::Progress {
                    label: "Send/Receive".into(),
                    done,
                    total,
                });
            }
        }
        if next.is_none() || waiting {
            self.current = None;
        }
        if self.mode == Mode::StepOnce {
            self.mode = Mode::Paused;
            self.at = if waiting {
                None
            } else {
                next.map(|s| (eid, s))
            };
            self.emit_debug();
        }
        self.emit_status();
        Tick::Ran(eid, step)
    }

    /// Runs ticks until nothing is eligible (or paused); returns the number of steps run.
    pub fn run_until_idle(&mut self) -> usize {
        let mut n = 0;
        loop {
            match self.tick() {
                Tick::Ran(..) => n += 1,
                // Nothing else to do while a transport hands a message off: wait for it.
                Tick::Idle(_) if self.handoff_under_way() => {
                    self.wait_for_handoff(std::time::Duration::from_millis(250));
                }
                _ => return n,
            }
        }
    }

    /// True while a transport is handing a message off on its own thread.
    pub fn handoff_under_way(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The channel that wakes the spooler's thread when the hand-off under way finishes.
    pub fn handoff_completions(&self) -> Option<crossbeam_channel::Receiver<()>> {
        let (_, ti) = self.in_flight?;
        self.transports.get(ti)?.completions()
    }

    /// Blocks until the hand-off under way has finished, or `max` has passed.
    pub fn wait_for_handoff(&mut self, max: std::time::Duration) {
        let Some((_, ti)) = self.in_flight else {
            return;
        };
        if self
            .transports
            .get_mut(ti)
            .is_some_and(|t| t.poll_handoff())
        {
            return;
        }
        // An open group of filed messages is committed when due, answer or not.
        // (Not while the last group is still being written: the next could not start yet, but
        // this one's members are reported once it has landed.)
        let max = match self.group_opened {
            _ if self.store.commit_under_way() => {
                max.min(std::time::Duration::try_from(COMMIT_POLL).unwrap_or_default())
            }
            Some(opened) => {
                let due = (opened + GROUP_WINDOW).duration_since(self.now());
                max.min(std::time::Duration::try_from(due).unwrap_or_default())
            }
            None => max,
        };
        match self.handoff_completions() {
            Some(rx) => {
                let _ = rx.recv_timeout(max);
            }
            None => std::thread::sleep(max.min(std::time::Duration::from_millis(5))),
        }
    }

    fn collect_sent_deferred(&mut self) {
        let now = self.now();
        let mut ready = Vec::new();
        for t in &mut self.transports {
            for eid in t.sent_deferred(now) {
                ready.push((eid, t.name().to_owned()));
            }
        }
        for (eid, name) in ready {
            if let Some(m) = self.reoffer_deferred(eid, &name, &format!("from {name}"), false) {
                self.changed(&m);
            }
        }
    }

    /// The first transport (in priority order) that would be offered each pending row.
    fn first_choice(&self, msg: &Message) -> HashSet<usize> {
        msg.recipients
            .iter()
            .filter(|r| pending(r))
            .filter_map(|r| {
                self.transports
                    .iter()
                    .position(|t| t.address_types().iter().any(|a| a == r.addrtype()))
            })
            .collect()
    }

    /// Every transport whose address types match a pending row: where the message may go if
    /// the ones before decline or leave rows FALSE.
    /// [`Spooler::reachable`] of a queued message, remembered by revision.
    fn reachable_of(&self, eid: EntryId, (revision, done): (u64, u32)) -> Option<HashSet<usize>> {
        if let Some(r) = self.reach_memo.borrow().get(&(eid, revision, done)) {
            return Some(r.clone());
        }
        let m = self.store.peek(eid).ok()?;
        let r = self.reachable(&m);
        let mut memo = self.reach_memo.borrow_mut();
        if memo.len() >= 4096 {
            memo.clear();
        }
        memo.insert((eid, revision, done), r.clone());
        Some(r)
    }

    fn reachable(&self, msg: &Message) -> HashSet<usize> {
        let types: HashSet<&str> = msg
            .recipients
            .iter()
            .filter(|r| pending(r))
            .map(Recipient::addrtype)
            .collect();
        self.transports
            .iter()
            .enumerate()
            .filter(|(_, t)| t.address_types().iter().any(|a| types.contains(a.as_str())))
            .map(|(i, _)| i)
            .collect()
    }

    /// The transport a message waits on (`MAPI_E_WAIT`, busy, ...) or that keeps it
    /// (`END_DONT_RESEND`).
    fn waited_on<'a>(&'a self, msg: &'a Message) -> impl Iterator<Item = usize> + 'a {
        msg.spool
            .waiting_on
            .iter()
            .chain(msg.spool.deferred_by.iter())
            .filter_map(|name| self.transports.iter().position(|t| t.name() == name))
    }

    /// The next message to work on: the one in progress, else the first eligible in queue
    /// order. A message waiting on a transport blocks later messages bound for the same
    /// transport (never reorder two messages for one transport) but not others (e.6).
    fn pick(&mut self, now: Timestamp) -> Option<EntryId> {
        // A message locked to go behind the hand-off under way goes into its hand-off before
        // that one is collected: a quick answer (a server that is down) would otherwise leave
        // it locked behind the retry it causes.
        if let Some(cur) = self.current
            && self.queued.is_none()
            && self.in_flight.is_some_and(|(f, _)| f != cur)
            && self
                .store
                .summary(cur)
                .is_some_and(|s| s.next_step == Some(Step::Transmit) && s.is_locked())
            && self.eligible(cur, now)
        {
            return Some(cur);
        }
        if let Some((f, ti)) = self.in_flight {
            if self
                .store
                .summary(f)
                .is_none_or(|s| s.next_step != Some(Step::Transmit))
            {
                // The message moved on or went away meanwhile: its result is not wanted. One
                // queued behind it is withdrawn before its dot (nothing recorded the first).
                if let Some(t) = self.transports.get_mut(ti) {
                    t.abandon_handoff(f);
                }
                self.in_flight = None;
                if let Some((q, qti, g)) = self.queued.take() {
                    self.store.withdraw_gate(&g);
                    self.in_flight = Some((q, qti));
                }
            } else if self
                .transports
                .get_mut(ti)
                .is_some_and(|t| t.poll_handoff())
            {
                return Some(f);
            }
        }
        let in_flight = self.in_flight.map(|(f, _)| f);
        if self.lookahead && in_flight.is_none() && self.only.is_none() {
            // Keep the line busy: the next message goes as far as its hand-off before the
            // one whose result just came in is finished.
            self.lookahead = false;
            if let Some(next) = self.walk(now, true) {
                return Some(next);
            }
        }
        if let Some(cur) = self.current
            && Some(cur) != in_flight
            && !self.is_queued(cur)
            && self.store.summary(cur).is_some_and(|s| {
                s.next_step.is_some()
                    // While a hand-off is under way, the walk below decides what may go up
                    // to and into a hand-off (it knows which transports are free).
                    && !(in_flight.is_some() && s.next_step.is_some_and(|st| st <= Step::Transmit))
            })
            && self.eligible(cur, now)
        {
            return Some(cur);
        }
        self.current = None;
        if let Some(only) = self.only {
            // `send ID` works on that message alone; the others keep their place in the queue.
            return self
                .store
                .summary(only)
                .is_some_and(Summary::in_pipeline)
                .then_some(only)
                .filter(|e| Some(*e) != in_flight && self.eligible(*e, now));
        }
        self.walk(now, false)
    }

    /// The first eligible message in queue order; with `to_transmit`, only one that has not
    /// passed Transmit yet (and is not the current one).
    fn walk(&self, now: Timestamp, to_transmit: bool) -> Option<EntryId> {
        // Walk the queue lazily: the head is usually eligible, so picking costs O(1) even with
        // 100,000 messages queued (collecting the queue first made a flush quadratic).
        let mut blocked: HashSet<usize> = HashSet::new();
        // A transport with a hand-off under way takes no other until it has answered; a
        // message for other transports may start meanwhile (looked for among a few, so a
        // long queue behind the busy transport costs nothing).
        let busy = self.in_flight.map(|(_, ti)| ti);
        let mut looked = 0;
        let mut prepared = false;
        for eid in self.store.queue() {
            let Some(s) = self.store.summary(eid) else {
                continue;
            };
            if s.next_step.is_none()
                || self.in_flight.is_some_and(|(f, _)| f == eid)
                || self.is_queued(eid)
            {
                continue;
            }
            if to_transmit
                && (Some(eid) == self.current || s.next_step.is_some_and(|st| st > Step::Transmit))
            {
                continue;
            }
            let state = s.state(now);
            let waiting = matches!(
                state,
                MessageState::WaitingRetry | MessageState::DeferredByTransport
            );
            // A retry timer holds every message, also one whose DoSentMail failed after
            // FinishedMsg (no longer submitted, so not in the WaitingRetry state).
            let due = s.next_retry.is_none_or(|t| t <= now);
            if waiting && !due || state == MessageState::DeferredByTransport {
                if let Ok(m) = self.store.peek(eid) {
                    blocked.extend(self.first_choice(&m));
                    // The transport it waits on (or that keeps it) may be reached only after
                    // another declined: it serves nothing newer meanwhile either.
                    blocked.extend(self.waited_on(&m));
                }
                continue;
            }
            if !due || matches!(state, MessageState::Held | MessageState::DeferredSend) {
                continue;
            }
            let before_handoff = s.next_step.is_some_and(|st| st <= Step::Transmit);
            if let Some(ti) = busy
                && before_handoff
            {
                looked += 1;
                if looked > 16 {
                    break;
                }
                let Some(mine) = self.reachable_of(eid, (s.revision, s.done)) else {
                    continue;
                };
                if mine.contains(&ti) || !mine.is_disjoint(&blocked) {
                    // The next message for the busy transport is prepared meanwhile (one
                    // message ahead, no more), so that its hand-off starts soon after the one
                    // under way is recorded: up to its lock, not the lock itself (a message
                    // left waiting behind a server that went down must stay unlocked, so
                    // that it can still be aborted).
                    let first = !std::mem::replace(&mut prepared, true);
                    if first
                        && !to_transmit
                        && mine.is_disjoint(&blocked)
                        && (s.next_step.is_some_and(|st| st < Step::SetLockState)
                            || self.may_queue_behind(ti, &mine))
                    {
                        return Some(eid);
                    }
                    blocked.extend(mine);
                    continue;
                }
                return Some(eid);
            }
            if !blocked.is_empty()
                && let Ok(m) = self.store.peek(eid)
            {
                let mine = self.reachable(&m);
                if !mine.is_disjoint(&blocked) {
                    blocked.extend(mine);
                    continue;
                }
            }
            return Some(eid);
        }
        None
    }

    /// True when the next message for transport `ti`, busy with a hand-off, may go through
    /// its lock and into a hand-off queued behind that one: the transport queues, nothing is
    /// queued yet, and the message's scan starts with that transport (those after it, such
    /// as a pickup folder taking what an offline server declines, come once it has
    /// answered). Otherwise it is prepared up to its lock, not the lock itself: a message
    /// left waiting behind a server that went down must stay unlocked, so that it can still
    /// be aborted. A queued one is not left waiting: it goes on the line right after the one
    /// before.
    fn may_queue_behind(&self, ti: usize, mine: &HashSet<usize>) -> bool {
        self.queued.is_none()
            && self.only.is_none()
            && mine.iter().min() == Some(&ti)
            && self.transports.get(ti).is_some_and(|t| t.queues_handoff())
    }

    fn is_queued(&self, eid: EntryId) -> bool {
        self.queued.as_ref().is_some_and(|(q, _, _)| *q == eid)
    }

    fn eligible(&self, eid: EntryId, now: Timestamp) -> bool {
        self.store.summary(eid).is_some_and(|s| match s.state(now) {
            _ if s.next_retry.is_some_and(|t| t > now) => false,
            MessageState::Held | MessageState::DeferredSend | MessageState::DeferredByTransport => {
                false
            }
            _ => true,
        })
    }

    /// The earliest retry or deferred-send time still ahead.
    pub fn next_wake(&self, now: Timestamp) -> Option<Timestamp> {
        self.store
            .queue()
            .filter_map(|e| self.store.summary(e))
            .filter_map(|s| match s.state(now) {
                MessageState::WaitingRetry => s.next_retry,
                MessageState::DeferredSend => s.deferred_send_time,
                // DoSentMail failed after FinishedMsg: it is retried on its own timer.
                _ if !s.is_submitted() => s.next_retry.filter(|t| *t > now),
                _ => None,
            })
            .min()
    }
}

/// A row that still needs a transport: FALSE and not in a final state (`MAPI_P1` rows are
/// envelope copies and are never offered).
pub(crate) fn pending(r: &Recipient) -> bool {
    !r.responsibility() && !r.outcome.is_final() && !r.is_p1()
}
