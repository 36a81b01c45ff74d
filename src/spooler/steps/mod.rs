//! The pipeline steps, one function each, named after the MAPI call that performs it, in the
//! order of the reference (section a.3) and the starting page: lock, transmit to every
//! recipient whose `PR_RESPONSIBILITY` is FALSE, reports (NDR, DR), `RemovePreprocessInfo`, `FinishedMsg`
//! (unlock, then `DoSentMail`: hooks, copy to the sent-mail folder, delete).

mod finish;
mod lock;
mod ndr;
mod preprocess;
mod report;
mod sent_mail;
mod transmit;

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::SignedDuration;

use super::{Clock, Event, Spooler, pending};
use crate::mapi::flags::SUBMITFLAG_LOCKED;
use crate::mapi::tags::PR_SUBMIT_FLAGS;
use crate::mapi::value::diff;
use crate::mapi::{
    EntryId, Message, PropBag, PropChange, RowBefore, Step, StepOutcome, StepRecord, TraceCall,
};
use crate::store::{Patch, StoreError};

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

    /// The clock's time now.
    fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// Dates the last call at `at` (a transport's answer, given before it was collected).
    fn set_last_at(&mut self, at: jiff::Timestamp) {
        if let Some(c) = self.calls.last_mut() {
            c.at = at;
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
    if crate::durable::fs::fail_points_armed() {
        crate::durable::fs::fail_point(&format!("step.{}.{when}", step.name()));
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
            Err(e) if e.out_of_files() => {
                // Not read for want of a file descriptor: tried again after a short pause.
                self.current = None;
                if !self.wait_for_descriptor(&e) {
                    self.emit(Event::Error(format!("message {eid}: {e}")));
                }
                return;
            }
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
            Step::Preprocess => self.preprocess(&mut work, &mut tr),
            Step::SetLockState => Ok(Self::set_lock_state(&mut work, &mut tr)),
            Step::Transmit => self.transmit(&mut work, &mut tr),
            Step::NonDeliveryReport => self.non_delivery_report(&mut work, &mut tr),
            Step::RemovePreprocessInfo => Ok(self.remove_preprocess_info(&mut work, &mut tr)),
            Step::FinishedMsg => Ok(Self::finished_msg(&mut work, &mut tr)),
            Step::DoSentMail => self.do_sent_mail(&mut work, &mut tr),
        };
        let step_ok = res.is_ok();
        if step_ok {
            self.descriptors.over();
        }
        let done = res.unwrap_or_else(|e| self.step_failed(&mut work, &mut tr, step, &e));
        if matches!(done.disposal, Disposal::InFlight) {
            let micros = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.record_step(eid, step, started, micros, &done.outcome);
            self.record_in_flight(eid, tr.calls, step_ok);
            return;
        }
        work.spool.next_step = done.next;
        let micros = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.record_step(eid, step, started, micros, &done.outcome);
        let record = StepRecord {
            step,
            started,
            micros,
            outcome: done.outcome.clone(),
            changes: message_changes(&before, &work),
            rows_before: rows_before(&before, &work),
        };
        let calls = tr.calls;
        let stored = self.store_step(step, &before, work, record, &calls, &done.disposal);
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

    /// A hand-off went under way on its transport's thread: what earlier transports of this
    /// scan said is kept; the rest comes with the result (the UI shows the step as started
    /// until then).
    fn record_in_flight(&mut self, eid: EntryId, calls: Vec<TraceCall>, step_ok: bool) {
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
        if !self.handoff.take_gate_taken_early()
            && !queued
            && let Err(e) = self.store.sync_journal_background()
        {
            self.journal_sync_failed(&e);
        }
        self.emit_status();
        self.release_durable();
        self.flush_events();
    }

    /// Stores a step's result as its disposal says: patched in place, saved (filed with the
    /// next group after `DoSentMail`), or deleted (its trace kept). `Ok(None)`: deleted.
    fn store_step(
        &mut self,
        step: Step,
        before: &Message,
        mut work: Message,
        record: StepRecord,
        calls: &[TraceCall],
        disposal: &Disposal,
    ) -> Result<Option<Message>, StoreError> {
        let eid = work.entry_id;
        match disposal {
            Disposal::Patch { sync } => {
                let mut patch = make_patch(before, &work);
                patch.history.push(record.clone());
                patch.trace = calls.to_vec();
                // `work` plus this step's record is what the store now holds: no copy back.
                self.store.patch_in_place(eid, patch, *sync).map(|()| {
                    work.history.push(record);
                    work.trace.extend(calls.iter().cloned());
                    Some(work)
                })
            }
            Disposal::Save(folder) => {
                work.history.push(record);
                work.trace.extend(calls.iter().cloned());
                if let Some(f) = folder {
                    work.folder = *f;
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
        }
    }

    /// The hand-off promoted from the queue when the one before it was collected (see
    /// `HandoffState::recorded`), if its gate was not armed with that one's marks: armed now that the
    /// step is recorded (with a sync asked for), or withdrawn if recording it failed.
    fn arm_promoted(&mut self, recorded: bool) {
        if self.handoff.recorded(&self.store, recorded)
            && let Err(e) = self.store.sync_journal_background()
        {
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
        if e.out_of_files() {
            let tried_again = self.wait_for_descriptor(e);
            if tried_again {
                // Given back as it was, eligible at once: no attempt charged, no timer.
                let next = if matches!(step, Step::FinishedMsg | Step::DoSentMail) {
                    step
                } else {
                    unlock(msg, tr, "out of file descriptors, message given back");
                    Step::SetLockState
                };
                return StepDone {
                    outcome: StepOutcome::Waiting(format!("{step}: {e}; tried again")),
                    next: Some(next),
                    disposal: Disposal::Patch { sync: true },
                };
            }
        }
        let now = self.now();
        let policy = self.store.profile().retry.clone();
        msg.spool.attempts += 1;
        msg.spool.last_error = Some(format!("{step}: {e}"));
        msg.spool.next_retry = Some(crate::profile::check::after(
            now,
            policy.delay_secs(msg.spool.attempts),
        ));
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
