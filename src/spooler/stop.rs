//! Stopping without sending anything twice (issue 16, items 7 and 8).
//!
//! A hand-off under way when the spooler stops (a signal, the window closing, the store
//! refusing a write) is finished and its answer recorded, or withdrawn before its point of no
//! return; the one queued behind it has not reached its final dot and is withdrawn; the
//! messages locked for a hand-off are unlocked and wait in the queue for the next run. An
//! answer whose marks the store refuses (a full disk) is kept in memory and recorded first
//! once the store takes writes again: the rows it answered for are never offered twice by one
//! process.

use std::time::{Duration, Instant};

use super::{Event, Mode, Spooler};
use crate::mapi::flags::SUBMITFLAG_LOCKED;
use crate::mapi::tags::PR_SUBMIT_FLAGS;
use crate::mapi::{EntryId, Step, TraceCall};
use crate::store::Patch;
use crate::transport::Handoff;

/// How long a stop waits for the hand-off under way to be answered (an SMTP server's reply
/// after the final dot, normally milliseconds; a hung server is cut off by the transport's
/// own deadlines long before), and for the store to take the marks it refused.
pub const STOP_WAIT: Duration = Duration::from_secs(30);

/// A transport's answer whose recipient marks the store refused.
#[derive(Clone, Debug)]
pub(super) struct Unrecorded {
    pub(super) eid: EntryId,
    /// The transport that answered, by name (the transports may be rebuilt meanwhile).
    pub(super) transport: String,
    pub(super) handoff: Handoff,
}

/// What [`Spooler::stop`] left behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stopped {
    /// Messages still in the queue, unlocked, for the next run.
    pub queued: usize,
    /// Locks released because the spooler stopped.
    pub released: Vec<EntryId>,
    /// Locks the store refused to release (they are cleared at the next start).
    pub still_locked: Vec<EntryId>,
    /// A hand-off withdrawn before its final dot (it goes again at the next run).
    pub withdrawn: Option<EntryId>,
    /// A hand-off still not answered when the wait ran out: the server may have the message,
    /// and the next run sends it again (at-least-once, as after a crash).
    pub under_way: Option<EntryId>,
    /// Messages whose answer the store would not record: sent again at the next run.
    pub unrecorded: Vec<EntryId>,
}

impl Stopped {
    /// One line for the user: what the stop did and what waits.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} message(s) left queued", self.queued)];
        parts.push(if self.still_locked.is_empty() {
            "none locked".to_owned()
        } else {
            let ids: Vec<String> = self.still_locked.iter().map(ToString::to_string).collect();
            format!(
                "message(s) {} still locked (the store refused the write; the next start clears them)",
                ids.join(", ")
            )
        });
        if let Some(e) = self.withdrawn {
            parts.push(format!(
                "the hand-off of message {e} was withdrawn before its final dot"
            ));
        }
        if let Some(e) = self.under_way {
            parts.push(format!(
                "message {e} was still being handed off when the wait ran out: if the server took it, the next run sends it again"
            ));
        }
        if !self.unrecorded.is_empty() {
            let ids: Vec<String> = self.unrecorded.iter().map(ToString::to_string).collect();
            parts.push(format!(
                "the store refused the recipient marks of message(s) {}: the next run sends them again",
                ids.join(", ")
            ));
        }
        parts.join("; ")
    }
}

impl Spooler {
    /// Keeps a transport's answer whose marks the store refused.
    pub(super) fn keep_unrecorded(&mut self, eid: EntryId, transport: &str, handoff: Handoff) {
        self.unrecorded
            .retain(|u| !(u.eid == eid && u.transport == transport));
        self.unrecorded.push(Unrecorded {
            eid,
            transport: transport.to_owned(),
            handoff,
        });
    }

    /// The first message with a kept answer, to record before anything else runs; answers for
    /// a message that is no longer at its hand-off (gone, aborted) are dropped.
    pub(super) fn next_unrecorded(&mut self) -> Option<EntryId> {
        let store = &self.store;
        self.unrecorded.retain(|u| {
            store
                .summary(u.eid)
                .is_some_and(|s| s.next_step == Some(Step::Transmit))
        });
        self.unrecorded.first().map(|u| u.eid)
    }

    /// True while an answer waits for the store to record it.
    pub fn holds_unrecorded(&self) -> bool {
        !self.unrecorded.is_empty()
    }

    /// Waits (until `deadline`) for the hand-off under way and records its answer. A hand-off
    /// queued behind it has not reached its final dot: it is withdrawn first, and its message
    /// unlocked and returned. When the wait runs out, the one under way stays in flight.
    pub(super) fn finish_under_way(&mut self, deadline: Instant) -> Option<EntryId> {
        let withdrawn = self.handoff.withdraw_queued(&self.store);
        while let Some((eid, ti)) = self.handoff.under_way() {
            let answered = self
                .transports
                .get_mut(ti)
                .is_some_and(|t| t.poll_handoff());
            if !answered {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                self.wait_for_handoff(left.min(Duration::from_millis(250)));
                continue;
            }
            if self
                .store
                .summary(eid)
                .is_none_or(|s| s.next_step != Some(Step::Transmit))
            {
                if let Some(t) = self.transports.get_mut(ti) {
                    t.abandon_handoff(eid);
                }
                self.handoff.abandon(&self.store);
                continue;
            }
            self.current = Some(eid);
            self.run_step(eid, Step::Transmit);
            // A hand-off promoted from the queue meanwhile is not let through its dot.
            self.handoff.withdraw_unarmed(&self.store);
        }
        self.current = None;
        // The withdrawn one's transport answers at once (its gate is shut for good); that
        // answer is not wanted: the message is offered again from its lock.
        if let Some((q, qti)) = withdrawn {
            loop {
                let done = self
                    .transports
                    .get_mut(qti)
                    .is_some_and(|t| t.poll_handoff());
                let left = deadline.saturating_duration_since(Instant::now());
                if done || left.is_zero() {
                    break;
                }
                match self.transports.get(qti).and_then(|t| t.completions()) {
                    Some(rx) => {
                        let _ = rx.recv_timeout(left.min(Duration::from_millis(250)));
                    }
                    None => break,
                }
            }
            if let Some(t) = self.transports.get_mut(qti) {
                t.abandon_handoff(q);
            }
            if self
                .store
                .summary(q)
                .is_some_and(|s| s.is_locked() && s.next_step == Some(Step::Transmit))
            {
                self.unlock_for_later(
                    q,
                    "its hand-off was withdrawn before the final dot; it goes again from its lock",
                );
            }
        }
        self.emit_status();
        withdrawn.map(|(q, _)| q)
    }

    /// Stops cleanly (a signal, the window closing, the end of `spoolbox send`): nothing new
    /// starts; the hand-off under way is answered and recorded (waiting up to `max`), the one
    /// queued behind it withdrawn before its final dot; answers the store refused get another
    /// try until `max`; messages past their hand-off finish their local steps (NDR, sent
    /// copy) unless a breakpoint stops them; every lock this spooler holds is released, and
    /// everything is made durable.
    pub fn stop(&mut self, max: Duration) -> Stopped {
        let deadline = Instant::now() + max;
        self.mode = Mode::Paused;
        let withdrawn = self.finish_under_way(deadline);
        let mut report = Stopped {
            withdrawn,
            under_way: self.handoff.under_way_id(),
            ..Stopped::default()
        };
        // Answers the store refused: tried again until it takes them or time runs out.
        while let Some(eid) = self.next_unrecorded() {
            if self.handoff.any_under_way() {
                self.finish_under_way(deadline);
            }
            self.store_trouble = false;
            self.run_step(eid, Step::Transmit);
            let refused = std::mem::take(&mut self.store_trouble);
            let kept = self.unrecorded.iter().any(|u| u.eid == eid);
            if !kept {
                continue;
            }
            if !refused || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        if self.handoff.any_under_way() {
            self.finish_under_way(deadline);
        }
        report.under_way = self.handoff.under_way_id();
        report.unrecorded = self.unrecorded.iter().map(|u| u.eid).collect();
        report.unrecorded.dedup();
        self.finish_past_handoff();
        let under_way = report.under_way;
        let locked: Vec<EntryId> = self
            .store
            .queue()
            .filter(|e| Some(*e) != under_way)
            .filter(|e| {
                self.store
                    .summary(*e)
                    .is_some_and(crate::store::Summary::is_locked)
            })
            .collect();
        for eid in locked {
            if self.unlock_for_later(
                eid,
                "the spooler stopped; the message waits for the next run",
            ) {
                report.released.push(eid);
            } else {
                report.still_locked.push(eid);
            }
        }
        self.settle();
        self.emit_debug();
        self.emit_status();
        report.queued = self
            .store
            .queue()
            .filter(|e| {
                self.store
                    .summary(*e)
                    .is_some_and(|s| s.next_step.is_some())
            })
            .count();
        self.emit(Event::Notice(format!(
            "the spooler stopped: {}",
            report.describe()
        )));
        self.sync_timeline();
        report
    }

    /// Messages whose hand-off is behind them run their remaining local steps, so a stop does
    /// not leave them half-way; a breakpoint, a retry timer or a store error stops that.
    fn finish_past_handoff(&mut self) {
        let now = self.now();
        let past: Vec<EntryId> = self
            .store
            .queue()
            .filter(|e| {
                self.store.summary(*e).is_some_and(|s| {
                    s.next_step.is_some_and(|st| st > Step::Transmit)
                        && s.next_retry.is_none_or(|t| t <= now)
                })
            })
            .collect();
        for eid in past {
            for _ in 0..Step::ALL.len() {
                let Some(step) = self
                    .store
                    .summary(eid)
                    .and_then(|s| s.next_step)
                    .filter(|st| *st > Step::Transmit)
                else {
                    break;
                };
                if self.breakpoints.contains(&step) || self.store_trouble {
                    break;
                }
                self.current = Some(eid);
                self.run_step(eid, step);
                if self.store_trouble {
                    break;
                }
            }
        }
        self.current = None;
    }

    /// `IMsgStore::SetLockState(MSG_UNLOCKED)` for a message the spooler leaves: it goes
    /// back to its lock step (where the scan looks again at which rows are still FALSE), as
    /// a lock left by a spooler that died is cleared at start. True when it was unlocked.
    pub(super) fn unlock_for_later(&mut self, eid: EntryId, why: &str) -> bool {
        let Ok(msg) = self.store.load(eid) else {
            return false;
        };
        let patch = unlock_patch(&msg, self.now(), why);
        match self.store.patch(eid, patch, true) {
            Ok(m) => {
                self.emit(Event::LockChanged { eid, locked: false });
                self.changed(&m);
                true
            }
            Err(e) => {
                self.emit(Event::Error(format!(
                    "message {eid}: its lock could not be released: {e}"
                )));
                false
            }
        }
    }
}

/// The patch that unlocks `msg` and sends it back to `SetLockState` if it was locked for its
/// hand-off or the steps after it (`FinishedMsg` already unlocked, so `DoSentMail` resumes as
/// is); the trace line says `why`.
pub(super) fn unlock_patch(msg: &crate::mapi::Message, at: jiff::Timestamp, why: &str) -> Patch {
    let eid = msg.entry_id;
    let mut patch = Patch::default();
    patch.set.set_flags(
        PR_SUBMIT_FLAGS,
        msg.submit_flags().unwrap_or(0) & !SUBMITFLAG_LOCKED,
    );
    let mut spool = msg.spool.clone();
    if matches!(
        spool.next_step,
        Some(
            Step::Transmit
                | Step::NonDeliveryReport
                | Step::RemovePreprocessInfo
                | Step::FinishedMsg
        )
    ) {
        spool.next_step = Some(Step::SetLockState);
    }
    patch.spool = Some(spool);
    patch.trace.push(TraceCall {
        at,
        step: Step::SetLockState,
        call: "IMsgStore::SetLockState".into(),
        args: format!("{eid}, MSG_UNLOCKED"),
        result: format!("S_OK ({why})"),
        transcript: Vec::new(),
        bytes: None,
    });
    patch
}
