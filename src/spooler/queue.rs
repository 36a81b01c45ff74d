//! The queue walk: stale locks and deferred messages at start, picking the next message and
//! step, and when to wake next.

use std::collections::HashSet;

use jiff::Timestamp;

use crate::mapi::{EntryId, Message, MessageState, Recipient, Step, TraceCall};
use crate::store::{Patch, Summary};

use super::{Event, Spooler, pending, stop};

impl Spooler {
    pub(super) fn clear_stale_locks(&mut self) {
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
    pub(super) fn requeue_deferred(&mut self, why: &str) {
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
        if !msg.is_submitted() || msg.spool.deferred_by.as_deref() != Some(name) {
            // Aborted (or re-routed) meanwhile: the call-back is for a message this
            // transport no longer holds; nothing is written (reference e.18).
            return None;
        }
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

    pub(super) fn collect_sent_deferred(&mut self) {
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
    pub(super) fn pick(&mut self, now: Timestamp) -> Option<EntryId> {
        // A message locked to go behind the hand-off under way goes into its hand-off before
        // that one is collected: a quick answer (a server that is down) would otherwise leave
        // it locked behind the retry it causes.
        if let Some(cur) = self.current
            && !self.handoff.has_queued()
            && self.handoff.under_way_id().is_some_and(|f| f != cur)
            && self
                .store
                .summary(cur)
                .is_some_and(|s| s.next_step == Some(Step::Transmit) && s.is_locked())
            && self.eligible(cur, now)
        {
            return Some(cur);
        }
        if let Some((f, ti)) = self.handoff.under_way() {
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
                self.handoff.abandon(&self.store);
            } else if self
                .transports
                .get_mut(ti)
                .is_some_and(|t| t.poll_handoff())
            {
                return Some(f);
            }
        }
        let in_flight = self.handoff.under_way_id();
        if in_flight.is_none() && self.only.is_none() && self.handoff.take_lookahead() {
            // Keep the line busy: the next message goes as far as its hand-off before the
            // one whose result just came in is finished.
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
        let busy = self.handoff.busy_transport();
        let mut looked = 0;
        let mut prepared = false;
        for eid in self.store.queue() {
            let Some(s) = self.store.summary(eid) else {
                continue;
            };
            if s.next_step.is_none() || self.handoff.is_under_way(eid) || self.is_queued(eid) {
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
                // Only an unavailable transport (or one that keeps the message) holds the
                // messages behind for it (e.6); a message whose recipients were answered 4xx
                // was handed over in its turn and waits on its own timer, holding none back.
                if let Ok(m) = self.store.peek(eid)
                    && (m.spool.transport_wait || state == MessageState::DeferredByTransport)
                {
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
        !self.handoff.has_queued()
            && self.only.is_none()
            && mine.iter().min() == Some(&ti)
            && self.transports.get(ti).is_some_and(|t| t.queues_handoff())
    }

    pub(super) fn is_queued(&self, eid: EntryId) -> bool {
        self.handoff.is_queued(eid)
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
