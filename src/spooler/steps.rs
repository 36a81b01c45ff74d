//! The pipeline steps, one function each, named after the MAPI call that performs it, in the
//! order of the reference (section a.3) and the starting page: lock, transmit to every
//! recipient whose `PR_RESPONSIBILITY` is FALSE, NDRs, `RemovePreprocessInfo`, `FinishedMsg`
//! (unlock, then `DoSentMail`: hooks, copy to the sent-mail folder, delete).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

use jiff::SignedDuration;

use super::{Clock, Event, Spooler, pending};
use crate::mapi::flags::{
    MAPI_REASON_TRANSFER_FAILED, MAPI_REASON_TRANSFER_IMPOSSIBLE, MSGFLAG_READ, MSGFLAG_SUBMIT,
    MSGFLAG_UNSENT, STATUS_OFFLINE, SUBMITFLAG_LOCKED, SUBMITFLAG_PREPROCESS,
};
use crate::mapi::tags::{
    PR_DELIVER_TIME, PR_MESSAGE_FLAGS, PR_NDR_REASON_CODE, PR_ORIG_MESSAGE_CLASS,
    PR_ORIGINAL_DISPLAY_TO, PR_ORIGINAL_SUBJECT, PR_ORIGINAL_SUBMIT_TIME,
    PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, PR_PREPROCESS, PR_REPORT_TEXT, PR_REPORT_TIME,
    PR_RESPONSIBILITY, PR_SUBMIT_FLAGS,
};
use crate::mapi::value::diff;
use crate::mapi::{
    EntryId, Message, PropBag, PropChange, RecipientState, RowBefore, SpoolState, Step,
    StepOutcome, StepRecord, TraceCall,
};
use crate::profile::HookAction;
use crate::store::{FolderKind, Patch, StoreError};
use crate::transport::{EndFlag, Preprocessed, RowOutcome, SubmitResult, SubmitView};

/// The MAPI calls one step makes, for the trace.
pub(super) struct Tracer {
    step: Step,
    clock: Clock,
    calls: Vec<TraceCall>,
}

impl Tracer {
    /// A call with what went over the wire and where the bytes it handed over are kept.
    fn call_on_wire(
        &mut self,
        call: &str,
        args: String,
        result: String,
        transcript: Vec<String>,
        bytes: Option<String>,
    ) {
        self.call(call, args, result);
        if let Some(c) = self.calls.last_mut() {
            c.transcript = transcript;
            c.bytes = bytes;
        }
    }

    fn call(&mut self, call: &str, args: impl Into<String>, result: impl Into<String>) {
        self.calls.push(TraceCall {
            at: self.clock.now(),
            step: self.step,
            call: call.into(),
            args: args.into(),
            result: result.into(),
            transcript: Vec::new(),
            bytes: None,
        });
    }
}

/// How a step's result is stored.
enum Disposal {
    /// Journal patch; `sync` makes it durable before the next step.
    Patch { sync: bool },
    /// Whole-file write, into this folder (`None`: where it is).
    Save(Option<EntryId>),
    /// Delete for good (its trace is kept under `traces/`).
    Delete,
    /// Nothing to record yet: a transport is handing the message off on its own thread;
    /// the step runs again, and collects the result, once it has finished.
    InFlight,
}

struct StepDone {
    outcome: StepOutcome,
    next: Option<Step>,
    disposal: Disposal,
}

impl StepDone {
    fn patch(outcome: StepOutcome, next: Step) -> Self {
        Self {
            outcome,
            next: Some(next),
            disposal: Disposal::Patch { sync: false },
        }
    }
}

/// Property changes between two versions of a message (message props and recipient rows).
pub(crate) fn message_changes(before: &Message, after: &Message) -> Vec<PropChange> {
    let mut out = Vec::new();
    diff(None, &before.props, &after.props, &mut out);
    let empty = PropBag::new();
    for r in &after.recipients {
        let b = before.recipient(r.row_id).map_or(&empty, |x| &x.props);
        diff(Some(r.row_id), b, &r.props, &mut out);
    }
    out
}

/// The outcome and transport of each row a step changed, as they were before it.
pub(crate) fn rows_before(before: &Message, after: &Message) -> Vec<RowBefore> {
    after
        .recipients
        .iter()
        .filter_map(|r| {
            let b = before.recipient(r.row_id)?;
            (b.outcome != r.outcome || b.transport != r.transport).then(|| RowBefore {
                row: r.row_id,
                outcome: b.outcome.clone(),
                transport: b.transport.clone(),
            })
        })
        .collect()
}

fn make_patch(before: &Message, after: &Message) -> Patch {
    let mut p = Patch::default();
    for (tag, v) in after.props.iter() {
        if before.props.value(tag) != Some(v) {
            p.set.set(tag, v.clone());
        }
    }
    for (tag, _) in before.props.iter() {
        if !after.props.has(tag) {
            p.unset(tag);
        }
    }
    p.recipients = after
        .recipients
        .iter()
        .filter(|r| before.recipient(r.row_id) != Some(r))
        .cloned()
        .collect();
    if before.attachments != after.attachments {
        p.attachments = Some(after.attachments.clone());
    }
    p.spool = Some(after.spool.clone());
    p
}

fn unlock(msg: &mut Message, tr: &mut Tracer, why: &str) {
    let flags = msg.submit_flags().unwrap_or(0);
    if flags & SUBMITFLAG_LOCKED != 0 {
        msg.props
            .set_flags(PR_SUBMIT_FLAGS, flags & !SUBMITFLAG_LOCKED);
        tr.call(
            "IMsgStore::SetLockState",
            format!("{}, MSG_UNLOCKED", msg.entry_id),
            format!("S_OK ({why})"),
        );
    }
}

/// The crash tests' fail points around each step: `step.<Name>.before` when the step is about
/// to run, `step.<Name>.after` once its result is stored.
fn step_fail_point(step: Step, when: &str) {
    if crate::store::fs::fail_points_armed() {
        crate::store::fs::fail_point(&format!("step.{}.{when}", step.name()));
    }
}

fn secs(d: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(d).unwrap_or(i64::MAX / 2))
}

impl Spooler {
    /// Runs `step` of message `eid`, records it (history, trace), stores the result and
    /// reports it.
    pub(super) fn run_step(&mut self, eid: EntryId, step: Step) {
        let mut work = match self.store.load(eid) {
            Ok(m) => m,
            Err(e) => {
                self.current = None;
                self.emit(Event::Error(format!("message {eid}: {e}")));
                if self.store.summary(eid).is_none() {
                    // Unreadable (or quarantined): out of the queue, reported once.
                    self.emit(Event::Removed(eid));
                }
                return;
            }
        };
        step_fail_point(step, "before");
        let started = self.now();
        let t0 = Instant::now();
        self.emit(Event::StepStarted { eid, step });
        self.flush_events();
        // What the step changes is found by comparing with this (history and trace are only
        // ever appended to, by the step's record below).
        let before = work.clone_head();
        let mut tr = Tracer {
            step,
            clock: self.clock.clone(),
            calls: Vec::new(),
        };
        let res = match step {
            Step::SubmitMessage => Ok(StepDone::patch(StepOutcome::Skipped, Step::Preprocess)),
            Step::Preprocess => Ok(self.preprocess(&mut work, &mut tr)),
            Step::SetLockState => Ok(Self::set_lock_state(&mut work, &mut tr)),
            Step::Transmit => self.transmit(&mut work, &mut tr),
            Step::NonDeliveryReport => self.non_delivery_report(&mut work, &mut tr),
            Step::RemovePreprocessInfo => Ok(self.remove_preprocess_info(&mut work, &mut tr)),
            Step::FinishedMsg => Ok(Self::finished_msg(&mut work, &mut tr)),
            Step::DoSentMail => self.do_sent_mail(&mut work, &mut tr),
        };
        let step_ok = res.is_ok();
        let done = res.unwrap_or_else(|e| self.step_failed(&mut work, &mut tr, step, &e));
        if matches!(done.disposal, Disposal::InFlight) {
            // What earlier transports of this scan said is kept; the rest comes with the
            // result. The UI shows the step as started until then.
            let calls = tr.calls;
            if !calls.is_empty() {
                let patch = Patch {
                    trace: calls.clone(),
                    ..Patch::default()
                };
                if let Err(e) = self.store.patch_in_place(eid, patch, false) {
                    self.emit(Event::Error(format!("message {eid}: {e}")));
                }
            }
            for call in calls {
                self.emit(Event::Trace { eid, call });
            }
            // The hand-off just started waits at its gate for this sync (see `transmit`),
            // made on the journal's own thread while this one finishes the last message;
            // unless its gate was taken, and the sync asked for, when the last marks were
            // journaled (what this message journaled since need not be durable before its
            // dot, and rides the next sync). A queued hand-off needs no sync yet: its gate is
            // armed, and the sync asked for, once the one before it is recorded.
            let queued = self.is_queued(eid);
            self.arm_promoted(step_ok);
            if !std::mem::take(&mut self.gate_taken_early)
                && !queued
                && let Err(e) = self.store.sync_journal_background()
            {
                self.journal_sync_failed(&e);
            }
            self.emit_status();
            self.release_durable();
            self.flush_events();
            return;
        }
        work.spool.next_step = done.next;
        let micros = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        let record = StepRecord {
            step,
            started,
            micros,
            outcome: done.outcome.clone(),
            changes: message_changes(&before, &work),
            rows_before: rows_before(&before, &work),
        };
        let calls = tr.calls;
        let stored = match done.disposal {
            Disposal::Patch { sync } => {
                let mut patch = make_patch(&before, &work);
                patch.history.push(record.clone());
                patch.trace.clone_from(&calls);
                // `work` plus this step's record is what the store now holds: no copy back.
                self.store.patch_in_place(eid, patch, sync).map(|()| {
                    work.history.push(record);
                    work.trace.extend(calls.iter().cloned());
                    Some(work)
                })
            }
            Disposal::Save(folder) => {
                work.history.push(record);
                work.trace.extend(calls.iter().cloned());
                if let Some(f) = folder {
                    work.folder = f;
                }
                let saved = if step == Step::DoSentMail {
                    // Group commit across messages: the copy reaches its folder with the next
                    // group (see `Spooler::tick`); its events wait until then.
                    self.store.save_grouped(&mut work)
                } else {
                    self.store.save(&mut work)
                };
                saved.map(|()| Some(work))
            }
            // Returned before (the step runs again).
            Disposal::InFlight => Ok(Some(work)),
            Disposal::Delete => {
                work.history.push(record);
                work.trace.extend(calls.iter().cloned());
                self.store.keep_trace(work.entry_id, &work.trace);
                self.store.delete(eid).map(|()| None)
            }
        };
        if stored.is_ok() {
            step_fail_point(step, "after");
            if step == Step::Transmit {
                // Whatever answer was kept for this message is in what was just stored.
                self.unrecorded.retain(|u| u.eid != eid);
            }
        }
        self.arm_promoted(step_ok && stored.is_ok());
        for call in calls {
            self.emit(Event::Trace { eid, call });
        }
        self.emit(Event::StepFinished {
            eid,
            step,
            outcome: done.outcome,
            micros,
        });
        match stored {
            Ok(Some(after)) => {
                self.report_changes(&before, &after);
                self.changed(&after);
            }
            Ok(None) => {
                self.emit(Event::Removed(eid));
                self.current = None;
            }
            Err(e) => {
                // The store refused the write: stop rather than spin on the same message.
                self.mode = super::Mode::Paused;
                self.store_trouble = true;
                self.current = None;
                self.emit(Event::Error(format!(
                    "message {eid}: {step} could not be saved, spooler paused: {e}"
                )));
                self.emit_debug();
            }
        }
        self.release_durable();
        self.flush_events();
    }

    /// The hand-off promoted from the queue when the one before it was collected (see
    /// `Spooler::to_arm`), if its gate was not armed with that one's marks: armed now that the
    /// step is recorded (with a sync asked for), or withdrawn if recording it failed.
    fn arm_promoted(&mut self, recorded: bool) {
        let Some(g) = self.to_arm.take() else {
            return;
        };
        if !recorded {
            self.store.withdraw_gate(&g);
            return;
        }
        self.store.arm_gate(&g);
        self.early_gate = None;
        if let Err(e) = self.store.sync_journal_background() {
            self.journal_sync_failed(&e);
        }
    }

    fn report_changes(&mut self, before: &Message, after: &Message) {
        for r in &after.recipients {
            let b = before.recipient(r.row_id);
            if b.map(|x| (x.responsibility(), &x.outcome)) != Some((r.responsibility(), &r.outcome))
            {
                self.emit(Event::RecipientMarked {
                    eid: after.entry_id,
                    row: r.row_id,
                    responsibility: r.responsibility(),
                    outcome: r.outcome.clone(),
                });
            }
        }
        if before.is_locked() != after.is_locked() {
            self.emit(Event::LockChanged {
                eid: after.entry_id,
                locked: after.is_locked(),
            });
        }
        if before.folder != after.folder {
            self.emit(Event::Moved {
                eid: after.entry_id,
                from: before.folder,
                to: after.folder,
            });
        }
    }

    /// A step hit a store error: the message waits and is retried with backoff.
    fn step_failed(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
        step: Step,
        e: &StoreError,
    ) -> StepDone {
        let now = self.now();
        let policy = self.store.profile().retry.clone();
        msg.spool.attempts += 1;
        msg.spool.last_error = Some(format!("{step}: {e}"));
        msg.spool.next_retry = Some(now + secs(policy.delay_secs(msg.spool.attempts)));
        let next = if matches!(step, Step::FinishedMsg | Step::DoSentMail) {
            step
        } else {
            unlock(msg, tr, "step failed, message given back");
            Step::SetLockState
        };
        self.emit(Event::Error(format!(
            "message {}: {step} failed: {e}",
            msg.entry_id
        )));
        StepDone {
            outcome: StepOutcome::Failed(e.to_string()),
            next: Some(next),
            disposal: Disposal::Patch { sync: true },
        }
    }

    /// The transport each pending row would be offered first, by priority.
    fn route(&self, msg: &Message) -> BTreeMap<usize, Vec<u32>> {
        let mut out: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
        for r in msg.recipients.iter().filter(|r| pending(r)) {
            if let Some(i) = self
                .transports
                .iter()
                .position(|t| t.address_types().iter().any(|a| a == r.addrtype()))
            {
                out.entry(i).or_default().push(r.row_id);
            }
        }
        out
    }

    /// Step 1 (S3): only with `SUBMITFLAG_PREPROCESS`: lock, run the preprocessors of the
    /// transports that will receive recipients in registration order, then the spooler's
    /// resubmit clears `SUBMITFLAG_PREPROCESS`.
    fn preprocess(&mut self, msg: &mut Message, tr: &mut Tracer) -> StepDone {
        let flags = msg.submit_flags().unwrap_or(0);
        if flags & SUBMITFLAG_PREPROCESS == 0 {
            return StepDone::patch(StepOutcome::Skipped, Step::SetLockState);
        }
        let eid = msg.entry_id;
        msg.props
            .set_flags(PR_SUBMIT_FLAGS, flags | SUBMITFLAG_LOCKED);
        tr.call(
            "IMsgStore::SetLockState",
            format!("{eid}, MSG_LOCKED"),
            "S_OK",
        );
        let now = self.now();
        for (ti, rows) in self.route(msg) {
            let Some(t) = self.transports.get_mut(ti) else {
                continue;
            };
            if !t.has_preprocessor() {
                continue;
            }
            let name = t.name().to_owned();
            let pre = crate::transport::guarded(|| t.preprocess(msg, &rows)).unwrap_or_else(|why| {
                let why = format!(
                    "MAPI_E_CORRUPT_DATA: the {name} preprocessor failed on this message ({why})"
                );
                Preprocessed {
                    rejected: rows.iter().map(|r| (*r, why.clone())).collect(),
                    note: why,
                }
            });
            tr.call(
                "PreprocessMessage",
                format!("{name}, {eid}, {} row(s)", rows.len()),
                format!("S_OK: {}", pre.note),
            );
            for (row, why) in pre.rejected {
                if let Some(r) = msg.recipient_mut(row) {
                    r.props.set_bool(PR_RESPONSIBILITY, true);
                    r.props.set_text(PR_REPORT_TEXT, why.clone());
                    r.props.set_time(PR_REPORT_TIME, now);
                    r.outcome = RecipientState::Failed;
                    r.transport = Some(format!("{name} preprocessor"));
                }
                tr.call(
                    "PreprocessMessage (lppRecipList)",
                    format!("row {row}"),
                    format!("rejected: {why}"),
                );
            }
            msg.spool.preprocessed_by.push(name);
        }
        msg.props.set_flags(PR_SUBMIT_FLAGS, SUBMITFLAG_LOCKED);
        tr.call(
            "IMessage::SubmitMessage",
            "spooler resubmit",
            "S_OK (SUBMITFLAG_PREPROCESS cleared)",
        );
        StepDone::patch(StepOutcome::Done, Step::SetLockState)
    }

    /// Step 2 (S5): `IMsgStore::SetLockState(MSG_LOCKED)` unless already locked.
    fn set_lock_state(msg: &mut Message, tr: &mut Tracer) -> StepDone {
        let flags = msg.submit_flags().unwrap_or(0);
        if flags & SUBMITFLAG_LOCKED != 0 {
            return StepDone::patch(StepOutcome::Skipped, Step::Transmit);
        }
        msg.props
            .set_flags(PR_SUBMIT_FLAGS, flags | SUBMITFLAG_LOCKED);
        tr.call(
            "IMsgStore::SetLockState",
            format!("{}, MSG_LOCKED", msg.entry_id),
            "S_OK",
        );
        StepDone::patch(StepOutcome::Done, Step::Transmit)
    }

    /// Step 3 (S6–S9): offer the still-FALSE recipients to each transport in priority order
    /// whose address types match exactly, each seeing only its own rows as FALSE. A remote
    /// hand-off's marks are durable before the next hand-off can deliver (at-least-once
    /// across a crash, exactly-once without): fsynced at once, or, after a background
    /// hand-off, by the sync its successor's gate waits for (`durable::gate`).
    fn transmit(&mut self, msg: &mut Message, tr: &mut Tracer) -> Result<StepDone, StoreError> {
        let eid = msg.entry_id;
        let now = self.now();
        let profile = self.store.profile().clone();
        let mut claimed: HashSet<u32> = HashSet::new();
        let mut wait: Option<(String, u64, String)> = None;
        let mut deferred_by: Option<String> = None;
        let begin_deferred_for = msg.spool.begin_deferred.take();
        for ti in 0..self.transports.len() {
            let Some(t) = self.transports.get(ti) else {
                continue;
            };
            let name = t.name().to_owned();
            // Rows whose answer from another transport is kept unrecorded are not offered
            // here: they went already.
            let elsewhere: HashSet<u32> = self
                .unrecorded
                .iter()
                .filter(|u| u.eid == eid && u.transport != name)
                .flat_map(|u| u.handoff.outcomes.iter().map(|(row, _)| *row))
                .collect();
            let rows: Vec<u32> = msg
                .recipients
                .iter()
                .filter(|r| pending(r) && !claimed.contains(&r.row_id))
                .filter(|r| !elsewhere.contains(&r.row_id))
                .filter(|r| t.address_types().iter().any(|a| a == r.addrtype()))
                .map(|r| r.row_id)
                .collect();
            if rows.is_empty() {
                continue;
            }
            // The transport's view: only its rows read FALSE (PidTagResponsibility page).
            let mut view_msg = msg.clone_head();
            for r in &mut view_msg.recipients {
                if !rows.contains(&r.row_id) {
                    r.props.set_bool(PR_RESPONSIBILITY, true);
                }
            }
            let begin_deferred = begin_deferred_for.as_deref() == Some(name.as_str());
            self.active_transport = Some(ti);
            self.emit_status();
            self.flush_events();
            let mut view = SubmitView {
                msg: &view_msg,
                rows: rows.clone(),
                begin_deferred,
                sender: (profile.sender_name.clone(), profile.sender_address.clone()),
                deliver_for_real: profile.deliver_for_real,
                store_root: self.store.root().to_path_buf(),
                gate: None,
            };
            let flags = if begin_deferred {
                "BEGIN_DEFERRED"
            } else {
                "0"
            };
            let mut resend_now = 0;
            let mut collected = false;
            // An answer this transport gave before, whose marks the store refused: recorded
            // now instead of handing the rows off again.
            let mut kept = self
                .unrecorded
                .iter()
                .find(|u| u.eid == eid && u.transport == name)
                .map(|u| u.handoff.clone());
            let handoff = loop {
                if let Some(h) = kept.take() {
                    tr.call(
                        "IXPLogon::SubmitMessage",
                        format!("[{name}] {eid}"),
                        format!(
                            "not offered again: {name} answered before and the store refused its marks; recording that answer"
                        ),
                    );
                    break Some(h);
                }
                let Some(t) = self.transports.get_mut(ti) else {
                    break None;
                };
                // Write-ahead: the marks of the last background hand-off must be durable
                // before this one can deliver. A background hand-off waits for that at its
                // point of no return (the gate; the journal is synced right after it starts,
                // while the dialogue goes on); any other is preceded by the sync.
                // Behind a hand-off under way on this transport: queued, with a gate that
                // stays shut until that one is recorded (see `Spooler::queued`).
                let behind = resend_now == 0
                    && self.queued.is_none()
                    && self.in_flight.is_some_and(|(f, fti)| f != eid && fti == ti)
                    && t.queues_handoff();
                let gated = resend_now == 0 && t.gates_handoff(&view);
                if behind {
                    self.gate_taken_early = false;
                    view.gate = Some(self.store.deferred_gate());
                } else {
                    let early = if gated { self.early_gate.take() } else { None };
                    self.gate_taken_early = early.is_some();
                    view.gate = gated.then(|| early.unwrap_or_else(|| self.store.commit_gate()));
                }
                if !gated
                    && self
                        .marks_awaiting_sync
                        .is_some_and(|m| self.store.is_unsynced(m))
                {
                    self.store.sync_journal()?;
                }
                let h = if resend_now == 0 {
                    let started = crate::transport::guarded(|| t.start_submit(&view))
                        .unwrap_or_else(|why| {
                            tr.call(
                                "IXPLogon::SubmitMessage",
                                format!("[{name}] {eid}"),
                                format!(
                                    "panicked: {why}; the message is parked, the queue goes on"
                                ),
                            );
                            Some(crate::transport::panicked(&name, &view.rows, &why))
                        });
                    let Some(h) = started else {
                        // Under way on the transport's thread: the spooler goes on with
                        // other work and comes back for the result.
                        match (behind, view.gate.clone()) {
                            (true, Some(g)) => self.queued = Some((eid, ti, g)),
                            _ => self.in_flight = Some((eid, ti)),
                        }
                        return Ok(StepDone {
                            outcome: StepOutcome::Waiting(format!(
                                "handed to {name}; waiting for its answer"
                            )),
                            next: Some(Step::Transmit),
                            disposal: Disposal::InFlight,
                        });
                    };
                    h
                } else {
                    crate::transport::guarded(|| t.submit_message(&view)).unwrap_or_else(|why| {
                        tr.call(
                            "IXPLogon::SubmitMessage",
                            format!("[{name}] {eid}"),
                            format!("panicked: {why}; the message is parked, the queue goes on"),
                        );
                        crate::transport::panicked(&name, &view.rows, &why)
                    })
                };
                if self.in_flight == Some((eid, ti)) {
                    // A background hand-off collected. The one queued behind it is already on
                    // the line and becomes the one under way; its gate is armed once this
                    // one's marks are journaled. Otherwise the next one starts before this
                    // message is finished, so the line stays busy (see `Spooler::pick`).
                    self.in_flight = None;
                    match self.queued.take() {
                        Some((q, qti, g)) => {
                            self.in_flight = Some((q, qti));
                            self.to_arm = Some(g);
                        }
                        None => self.lookahead = true,
                    }
                    collected = true;
                }
                let mut result = h.result.mapi_name();
                if h.result == SubmitResult::NotMe && t.status_code() & STATUS_OFFLINE != 0 {
                    // Say why an offline transport declined (unconfigured, or the
                    // deliver-for-real guard): the trace is where the user looks.
                    result = format!("{result} ({})", t.status_text());
                }
                tr.call_on_wire(
                    "IXPLogon::SubmitMessage",
                    format!("[{name}] {flags}, {eid}, {} row(s) FALSE", rows.len()),
                    result,
                    h.transcript.clone(),
                    h.kept.clone(),
                );
                if h.result == SubmitResult::Ok {
                    tr.call(
                        "IXPLogon::EndMessage",
                        format!("[{name}] {eid}"),
                        h.end.mapi_name(),
                    );
                    if h.end == EndFlag::ResendNow && resend_now < 3 && h.outcomes.is_empty() {
                        resend_now += 1;
                        continue;
                    }
                }
                break Some(h);
            };
            self.active_transport = None;
            let Some(h) = handoff else { continue };
            match h.result {
                SubmitResult::NotMe | SubmitResult::Cancel => continue,
                SubmitResult::Busy => {
                    claimed.extend(&rows);
                    wait = Some((name, 0, "MAPI_E_BUSY: the transport is busy".into()));
                    continue;
                }
                SubmitResult::Wait(s) => {
                    claimed.extend(&rows);
                    wait = Some((name, s, "MAPI_E_WAIT: temporary problem".into()));
                    continue;
                }
                SubmitResult::NetworkError(s, why) => {
                    claimed.extend(&rows);
                    wait = Some((name, s, format!("MAPI_E_NETWORK_ERROR: {why}")));
                    continue;
                }
                SubmitResult::Ok => {}
            }
            // Kept if the store refuses the marks (see `Spooler::unrecorded`).
            let answer = h.clone();
            let mut changed = Vec::new();
            for (row, outcome) in h.outcomes {
                if !rows.contains(&row) {
                    continue; // a transport may only answer for what it was offered
                }
                let Some(r) = msg.recipient_mut(row) else {
                    continue;
                };
                match outcome {
                    RowOutcome::Delivered(text) => {
                        r.props.set_bool(PR_RESPONSIBILITY, true);
                        r.props.set_time(PR_DELIVER_TIME, now);
                        // The transport's own words (SMTP: the server's 250 reply).
                        r.props.set_text(PR_REPORT_TEXT, text);
                        r.outcome = RecipientState::Delivered;
                    }
                    RowOutcome::Failed(text) => {
                        r.props.set_bool(PR_RESPONSIBILITY, true);
                        r.props.set_text(PR_REPORT_TEXT, text);
                        r.props.set_time(PR_REPORT_TIME, now);
                        r.outcome = RecipientState::Failed;
                    }
                    RowOutcome::Transient(text) => {
                        r.props.set_text(PR_REPORT_TEXT, text.clone());
                        r.outcome = RecipientState::Retrying;
                        claimed.insert(row);
                        wait = Some((name.clone(), 0, text));
                    }
                    RowOutcome::Unknown(text) => {
                        // Never silent: the trace names the row whose fate the server kept.
                        tr.call(
                            "IXPLogon::SubmitMessage",
                            format!("[{name}] row {row} ({})", r.email()),
                            text.clone(),
                        );
                        r.props.set_text(PR_REPORT_TEXT, text.clone());
                        r.outcome = RecipientState::OutcomeUnknown;
                        claimed.insert(row);
                        wait = Some((name.clone(), 0, text));
                    }
                }
                r.transport = Some(name.clone());
                changed.push(r.clone());
            }
            match h.end {
                EndFlag::Sent => {}
                EndFlag::ResendNow | EndFlag::ResendLater => {
                    claimed.extend(&rows);
                    wait = Some((
                        name.clone(),
                        0,
                        format!("{}: the transport asked to send later", h.end.mapi_name()),
                    ));
                }
                EndFlag::DontResend => {
                    claimed.extend(&rows);
                    deferred_by = Some(name.clone());
                }
            }
            if !changed.is_empty() {
                let remote = self.transports.get(ti).is_some_and(|t| t.remote());
                // Postfix marks each recipient done right after the hand-off; so do we.
                let events: Vec<Event> = changed
                    .iter()
                    .map(|r| Event::RecipientMarked {
                        eid,
                        row: r.row_id,
                        responsibility: r.responsibility(),
                        outcome: r.outcome.clone(),
                    })
                    .collect();
                let marked = self.store.patch_in_place(
                    eid,
                    Patch {
                        recipients: changed,
                        ..Patch::default()
                    },
                    // Group commit by transport. After a remote hand-off (a server, a fax line)
                    // an fsync costs nothing by comparison and the UI sees the flip at once.
                    // After a local one (null, pickup folder) the marks ride the message's next
                    // durable write (usually DoSentMail's), saving an fsync per message. Either
                    // way a mark is reported only once durable (the events wait in `held`), a
                    // crash can re-send only recipients never reported, and the decision does
                    // not depend on timing (a rerun passes the same fail points).
                    // Collected from a background hand-off, the next one (started before this
                    // message goes on) waits for the marks' fsync at its point of no return
                    // instead, and the fsync overlaps its dialogue with the server.
                    remote && !collected,
                );
                if let Err(e) = marked {
                    // The transport has answered (a server may have the message): the answer
                    // is kept, and recorded instead of a second hand-off once the store
                    // takes writes again.
                    self.keep_unrecorded(eid, &name, answer);
                    return Err(e);
                }
                self.unrecorded
                    .retain(|u| !(u.eid == eid && u.transport == name));
                if remote && collected {
                    self.marks_awaiting_sync = Some(eid);
                    // The next hand-off's gate, and the sync of these marks, start now. The
                    // gate waits for the marks of the hand-off *before* this one, not for
                    // these (see `durable::gate`, "two deep"): their fsync overlaps the next
                    // message's final dot instead of holding it back. The first time, with no
                    // hand-off before, it waits for these. A hand-off already queued has its
                    // deferred gate armed so.
                    let point = self.store.sync_point();
                    let before = self.marks_point.replace(point).unwrap_or(point);
                    match self.to_arm.take() {
                        Some(g) => {
                            self.store.arm_gate_at(&g, before);
                            self.early_gate = None;
                        }
                        None => self.early_gate = Some(self.store.gate_at(before)),
                    }
                    if let Err(e) = self.store.sync_journal_background() {
                        self.journal_sync_failed(&e);
                    }
                }
                for e in events {
                    self.emit(e);
                }
                self.flush_events();
            }
        }
        // Scan exhausted: whatever nobody took gets the spooler's own NDR (S10).
        for r in msg
            .recipients
            .iter_mut()
            .filter(|r| pending(r) && !claimed.contains(&r.row_id))
        {
            r.outcome = RecipientState::NoTransport;
            r.props.set_text(
                PR_REPORT_TEXT,
                format!(
                    "No transport provider was available for this recipient (address type {:?})",
                    r.addrtype()
                ),
            );
            r.props.set_time(PR_REPORT_TIME, now);
            r.transport = None;
        }
        if let Some(t) = deferred_by {
            msg.spool.deferred_by = Some(t.clone());
            unlock(msg, tr, "deferred by the transport");
            return Ok(StepDone {
                outcome: StepOutcome::Waiting(format!(
                    "{t} keeps the message (END_DONT_RESEND) and will call back"
                )),
                next: Some(Step::SetLockState),
                disposal: Disposal::Patch { sync: true },
            });
        }
        if let Some((t, retry_secs, reason)) = wait {
            let since = msg.spool.trouble_since.unwrap_or(now);
            let age = now.duration_since(since);
            if age >= secs(profile.retry.give_up_after_secs) {
                for r in msg
                    .recipients
                    .iter_mut()
                    .filter(|r| pending(r) && claimed.contains(&r.row_id))
                {
                    r.props.set_bool(PR_RESPONSIBILITY, true);
                    r.props.set_text(
                        PR_REPORT_TEXT,
                        format!(
                            "gave up after {} attempts over {age:#}: {reason}",
                            msg.spool.attempts + 1
                        ),
                    );
                    r.props.set_time(PR_REPORT_TIME, now);
                    r.outcome = RecipientState::Failed;
                }
                msg.spool = SpoolState {
                    preprocessed_by: msg.spool.preprocessed_by.clone(),
                    submission: msg.spool.submission,
                    ..SpoolState::default()
                };
                return Ok(StepDone {
                    outcome: StepOutcome::Done,
                    next: Some(Step::NonDeliveryReport),
                    disposal: Disposal::Patch { sync: true },
                });
            }
            msg.spool.attempts += 1;
            let delay = if retry_secs > 0 {
                retry_secs
            } else {
                profile.retry.delay_secs(msg.spool.attempts)
            };
            let at = now + secs(delay);
            msg.spool.trouble_since = Some(since);
            msg.spool.next_retry = Some(at);
            msg.spool.waiting_on = Some(t.clone());
            msg.spool.last_error = Some(reason.clone());
            // The time the table counts down to, stated once: the transport's own answer may
            // have left the delay to the policy ("retry in 0 s" read as a lie).
            tr.call(
                "spooler: schedule retry",
                format!("{t}, attempt {}", msg.spool.attempts),
                format!("retry at {} (in {delay} s)", at.strftime("%H:%M:%S")),
            );
            unlock(msg, tr, "waiting for a retry");
            self.emit(Event::RetryScheduled {
                eid,
                at,
                transport: t,
                reason: reason.clone(),
            });
            return Ok(StepDone {
                outcome: StepOutcome::Waiting(format!(
                    "{reason}; retry {} at {}",
                    msg.spool.attempts,
                    at.strftime("%H:%M:%S")
                )),
                next: Some(Step::SetLockState),
                disposal: Disposal::Patch { sync: true },
            });
        }
        msg.spool.next_retry = None;
        msg.spool.waiting_on = None;
        msg.spool.trouble_since = None;
        // The marks are durable (or gate the next hand-off); the step record can ride along
        // with the next sync (or the DoSentMail write).
        Ok(StepDone {
            outcome: StepOutcome::Done,
            next: Some(Step::NonDeliveryReport),
            disposal: Disposal::Patch { sync: false },
        })
    }

    /// Step 4 (S10): one NDR in Inbox for every recipient that failed for good or that no
    /// transport accepted, unless `PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED` is FALSE.
    fn non_delivery_report(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> Result<StepDone, StoreError> {
        let failed: Vec<_> = msg
            .recipients
            .iter()
            .filter(|r| r.outcome.needs_ndr())
            .cloned()
            .collect();
        if failed.is_empty() {
            return Ok(StepDone::patch(
                StepOutcome::Skipped,
                Step::RemovePreprocessInfo,
            ));
        }
        let eid = msg.entry_id;
        if msg
            .props
            .boolean(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED)
            == Some(false)
        {
            tr.call(
                "IMAPISupport::StatusRecips",
                format!("{eid}, {} row(s)", failed.len()),
                "suppressed: PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED is FALSE",
            );
            return Ok(StepDone::patch(
                StepOutcome::Skipped,
                Step::RemovePreprocessInfo,
            ));
        }
        if let Some(ndr) = msg.spool.ndr
            && self.store.summary(ndr).is_some()
        {
            return Ok(StepDone::patch(
                StepOutcome::Done,
                Step::RemovePreprocessInfo,
            ));
        }
        let now = self.now();
        let ndr_id = self.store.new_entry_id()?;
        // Record the report's id durably before writing it, so a replayed step never writes two.
        msg.spool.ndr = Some(ndr_id);
        self.store.patch(
            eid,
            Patch {
                spool: Some(msg.spool.clone()),
                ..Patch::default()
            },
            true,
        )?;
        let inbox = self.store.folder_of(FolderKind::Inbox);
        let mut report =
            Message::draft(ndr_id, inbox, &format!("Undeliverable: {}", msg.subject()));
        report.props.set_text(
            crate::mapi::tags::PR_MESSAGE_CLASS,
            format!("REPORT.{}.NDR", msg.message_class()),
        );
        report.props.set_flags(PR_MESSAGE_FLAGS, 0);
        report.props.set_text(PR_ORIGINAL_SUBJECT, msg.subject());
        report
            .props
            .set_text(PR_ORIG_MESSAGE_CLASS, msg.message_class());
        report
            .props
            .set_text(PR_ORIGINAL_DISPLAY_TO, msg.display_to());
        if let Some(t) = msg.client_submit_time() {
            report.props.set_time(PR_ORIGINAL_SUBMIT_TIME, t);
        }
        report
            .props
            .set_time(crate::mapi::tags::PR_CLIENT_SUBMIT_TIME, now);
        let mut body = format!(
            "Your message \"{}\" could not be delivered to these recipients:\n\n",
            msg.subject()
        );
        for r in &failed {
            let mut row = r.clone();
            let reason = if r.outcome == RecipientState::NoTransport {
                MAPI_REASON_TRANSFER_IMPOSSIBLE
            } else {
                MAPI_REASON_TRANSFER_FAILED
            };
            row.props.set_flags(PR_NDR_REASON_CODE, reason);
            let _ = write!(
                body,
                "  {}\n    {}\n",
                r.label(),
                r.report_text().unwrap_or("")
            );
            report.recipients.push(row);
        }
        report.body = body;
        let mut original = msg.clone();
        original.history.clear();
        original.trace.clear();
        original.spool = SpoolState::default();
        for r in &mut original.recipients {
            r.props.set_bool(PR_RESPONSIBILITY, false);
            r.props.remove(PR_REPORT_TEXT);
            r.props.remove(PR_REPORT_TIME);
            r.props.remove(PR_DELIVER_TIME);
            r.outcome = RecipientState::Pending;
            r.transport = None;
        }
        report.embedded = Some(Box::new(original));
        self.store.save(&mut report)?;
        tr.call(
            "IMAPISupport::StatusRecips",
            format!("{eid}, {} row(s) without PR_DELIVER_TIME", failed.len()),
            format!("S_OK: NDR {ndr_id} in Inbox"),
        );
        let s = self.store.summary(ndr_id).cloned();
        if let Some(s) = s {
            self.emit(Event::Summary(s));
        }
        self.emit(Event::NdrCreated { eid, ndr: ndr_id });
        Ok(StepDone::patch(
            StepOutcome::Done,
            Step::RemovePreprocessInfo,
        ))
    }

    /// Step 5 (S11): only if `PR_PREPROCESS`: each preprocessor that ran cleans up.
    fn remove_preprocess_info(&mut self, msg: &mut Message, tr: &mut Tracer) -> StepDone {
        if msg.props.boolean(PR_PREPROCESS) != Some(true) {
            return StepDone::patch(StepOutcome::Skipped, Step::FinishedMsg);
        }
        for name in msg.spool.preprocessed_by.clone() {
            if let Some(t) = self.transports.iter_mut().find(|t| t.name() == name) {
                let note = t.remove_preprocess_info(msg);
                tr.call(
                    "RemovePreprocessInfo",
                    format!("{name}, {}", msg.entry_id),
                    format!("S_OK: {note}"),
                );
            }
        }
        StepDone::patch(StepOutcome::Done, Step::FinishedMsg)
    }

    /// Step 6a (S12): `IMsgStore::FinishedMsg`: the store unlocks the message and clears
    /// `MSGFLAG_SUBMIT`/`MSGFLAG_UNSENT`; the message leaves the outgoing queue.
    fn finished_msg(msg: &mut Message, tr: &mut Tracer) -> StepDone {
        msg.props.remove(PR_SUBMIT_FLAGS);
        msg.props
            .clear_flags(PR_MESSAGE_FLAGS, MSGFLAG_SUBMIT | MSGFLAG_UNSENT);
        msg.props.add_flags(PR_MESSAGE_FLAGS, MSGFLAG_READ);
        msg.spool = SpoolState {
            preprocessed_by: msg.spool.preprocessed_by.clone(),
            ndr: msg.spool.ndr,
            finishing: true,
            submission: msg.spool.submission,
            ..SpoolState::default()
        };
        tr.call(
            "IMsgStore::FinishedMsg",
            format!("0, {}", msg.entry_id),
            "S_OK (unlocked, MSGFLAG_SUBMIT cleared)",
        );
        StepDone::patch(StepOutcome::Done, Step::DoSentMail)
    }

    /// Step 6b (S12–S13): `IMAPISupport::DoSentMail`: outbound hooks in order (the last
    /// target wins, `HOOK_DELETE` deletes, `HOOK_CANCEL` stops the chain), then the
    /// disposition table: neither property → stays; sent-mail folder → moved; delete → deleted;
    /// both → copied to the sent-mail folder, then the original deleted.
    fn do_sent_mail(&mut self, msg: &mut Message, tr: &mut Tracer) -> Result<StepDone, StoreError> {
        let eid = msg.entry_id;
        msg.spool.finishing = false;
        let sent = msg.sentmail_folder();
        if let Some(f) = sent
            && self.store.folder(f).is_none()
        {
            let why = format!(
                "PR_SENTMAIL_ENTRYID names folder {f}, which does not exist: MAPI_E_INVALID_ENTRYID"
            );
            tr.call("IMAPISupport::DoSentMail", format!("0, {eid}"), why.clone());
            msg.spool.last_error = Some(why.clone());
            return Ok(StepDone {
                outcome: StepOutcome::Failed(why),
                next: None,
                disposal: Disposal::Save(None),
            });
        }
        let delete = msg.delete_after_submit();
        tr.call(
            "IMAPISupport::DoSentMail",
            format!("0, {eid}"),
            format!(
                "PR_SENTMAIL_ENTRYID {}, PR_DELETE_AFTER_SUBMIT {}",
                sent.and_then(|f| self.store.folder(f))
                    .map_or("absent".to_owned(), |f| format!("= {}", f.name)),
                if delete { "TRUE" } else { "FALSE" }
            ),
        );
        let mut target = sent;
        let mut replaced = false;
        let mut hook_delete = false;
        let hooks = self.store.profile().hooks.clone();
        let subject = msg.subject().to_lowercase();
        for hook in &hooks {
            if hook
                .subject_prefix
                .as_deref()
                .is_some_and(|p| !subject.starts_with(&p.to_lowercase()))
            {
                continue;
            }
            let result = match &hook.action {
                HookAction::MoveTo { folder } => {
                    let f = self.store.create_folder(folder)?;
                    target = Some(f);
                    replaced = true;
                    format!("S_OK (target folder replaced: {folder})")
                }
                HookAction::Delete => {
                    hook_delete = true;
                    "S_OK (HOOK_DELETE)".to_owned()
                }
                HookAction::Nothing => "S_OK".to_owned(),
            };
            tr.call(
                "ISpoolerHook::OutboundMsgHook",
                format!("[{}] {eid}", hook.name),
                result,
            );
            if hook.cancel_chain {
                tr.call(
                    "ISpoolerHook::OutboundMsgHook",
                    format!("[{}]", hook.name),
                    "HOOK_CANCEL: no further hooks",
                );
                break;
            }
        }
        let name = |s: &Self, f: EntryId| {
            s.store
                .folder(f)
                .map_or_else(|| f.to_string(), |x| x.name.clone())
        };
        let disposal = if hook_delete {
            tr.call(
                "IMAPIFolder::DeleteMessages",
                format!("{eid}"),
                "S_OK (a hook set HOOK_DELETE)",
            );
            Disposal::Delete
        } else if replaced {
            let f = target.unwrap_or(msg.folder);
            tr.call(
                "IMAPIFolder::CopyMessages",
                format!("{eid} → {}", name(self, f)),
                "S_OK (MESSAGE_MOVE, hook's target)",
            );
            Disposal::Save(Some(f))
        } else {
            match (sent, delete) {
                (Some(f), true) => {
                    tr.call(
                        "IMAPIFolder::CopyMessages",
                        format!("{eid} → {}", name(self, f)),
                        "S_OK",
                    );
                    tr.call(
                        "IMAPIFolder::DeleteMessages",
                        format!("{eid} (original)"),
                        "S_OK (PR_DELETE_AFTER_SUBMIT)",
                    );
                    Disposal::Save(Some(f))
                }
                (Some(f), false) => {
                    tr.call(
                        "IMAPIFolder::CopyMessages",
                        format!("{eid} → {}", name(self, f)),
                        "S_OK (MESSAGE_MOVE)",
                    );
                    Disposal::Save(Some(f))
                }
                (None, true) => {
                    tr.call(
                        "IMAPIFolder::DeleteMessages",
                        format!("{eid}"),
                        "S_OK (PR_DELETE_AFTER_SUBMIT)",
                    );
                    Disposal::Delete
                }
                (None, false) => {
                    tr.call(
                        "IMAPISupport::DoSentMail",
                        format!("{eid}"),
                        "no disposal properties: left in place",
                    );
                    Disposal::Save(None)
                }
            }
        };
        Ok(StepDone {
            outcome: StepOutcome::Done,
            next: None,
            disposal,
        })
    }
}

/// Rewinds a message to how it was just before recorded step `index` ran (time travel):
/// the changes of that step and every later one are undone, newest first.
pub fn rewind(msg: &Message, index: usize) -> Message {
    let mut m = msg.clone();
    for rec in msg.history.iter().skip(index).rev() {
        for ch in rec.changes.iter().rev() {
            let bag = match ch.row {
                None => Some(&mut m.props),
                Some(row) => m.recipient_mut(row).map(|r| &mut r.props),
            };
            if let Some(bag) = bag {
                match &ch.before {
                    Some(v) => bag.set(ch.tag, v.clone()),
                    None => {
                        bag.remove(ch.tag);
                    }
                }
            }
        }
        for rb in &rec.rows_before {
            if let Some(r) = m.recipient_mut(rb.row) {
                r.outcome = rb.outcome.clone();
                r.transport.clone_from(&rb.transport);
            }
        }
    }
    m.history.truncate(index);
    m
}
