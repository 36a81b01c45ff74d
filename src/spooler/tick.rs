//! The run loop: one tick, running until idle, the group commit and the hand-offs waiting
//! on it (settling, failed groups, waiting for a hand-off).

use jiff::SignedDuration;

use crate::mapi::{MessageState, Step};
use crate::store::StoreError;

use super::{Event, Mode, STOP_WAIT, Spooler, Tick};

/// At most this many `DoSentMail` copies are committed together.
const GROUP_SIZE: usize = 64;
/// ... and none waits longer than this while the spooler is busy.
const GROUP_WINDOW: SignedDuration = SignedDuration::from_millis(20);
/// How often a spooler waiting for an answer looks whether the group being written has landed.
const COMMIT_POLL: SignedDuration = SignedDuration::from_millis(5);

impl Spooler {
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
    pub(super) fn release_durable(&mut self) {
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
        if e.out_of_files() {
            // A passing shortage of file descriptors: the members are back as they were and
            // are filed again after a short pause (see `descriptors.rs`).
            if self.wait_for_descriptor(e) {
                return;
            }
        }
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
    ///
    /// [`Store::commit_saves_background`]: crate::store::Store::commit_saves_background
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
                && !crate::durable::fs::fail_points_armed()
                && self
                    .group_opened
                    .is_some_and(|t| self.now().duration_since(t) >= GROUP_WINDOW))
    }

    /// Runs at most one step of one message, honouring pause and breakpoints.
    pub fn tick(&mut self) -> Tick {
        let tick = self.tick_inner();
        if std::mem::take(&mut self.store_trouble) && self.handoff.any_under_way() {
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
        let waiting = matches!(tick, Tick::Idle(_)) && self.handoff.any_under_way();
        let stops = !matches!(tick, Tick::Ran(..)) && !waiting || self.mode != Mode::Running;
        self.sample_queue();
        if stops {
            self.settle();
            if !waiting {
                // Idle, paused or stopped: what the timeline recorded is made durable.
                self.sync_timeline();
            }
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
        // A profile that cannot be used holds sending whatever the mode: the user's mail
        // never goes out through settings nobody chose (see `Store::profile_hold`). An answer
        // to a hand-off already under way is still recorded when it comes.
        if self.mode == Mode::Paused || self.store.profile_hold().is_some() {
            return self.collect_while_stopped().unwrap_or(Tick::Paused);
        }
        // Answers the store refused to record go first, before any other step can write (a
        // message with another hand-off under way records its kept answer when that is in).
        if let Some(eid) = self
            .next_unrecorded()
            .filter(|e| !self.handoff.is_under_way(*e))
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
            let wake = if self.handoff.any_under_way() {
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
        let collecting = self.handoff.is_under_way(eid);
        if self.breakpoints.contains(&step) && self.released != Some((eid, step)) && !collecting {
            self.at = Some((eid, step));
            self.mode = Mode::Paused;
            self.current = Some(eid);
            self.record_stop(
                crate::store::timeline::Kind::Breakpoint,
                Some((eid, step)),
                "stopped at a breakpoint",
            );
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
            // A hand-off that went under way is not "stopped before Transmit": it is on the
            // transport's line, and its answer is recorded when it comes.
            self.at = if waiting || self.handoff.is_under_way(eid) {
                None
            } else {
                next.map(|s| (eid, s))
            };
            self.emit_debug();
        }
        self.emit_status();
        Tick::Ran(eid, step)
    }

    /// While stopped (paused, at a breakpoint, after a single step), a hand-off that was under
    /// way still gets its answer recorded the moment the transport gives it: the row, its
    /// recipients, the trace and the timeline show the hand-off when it happened, not at the
    /// next step (issue 28, item 3). Only the Transmit step it belongs to is finished; the
    /// spooler stays stopped, now before that message's next step.
    fn collect_while_stopped(&mut self) -> Option<Tick> {
        let (eid, ti) = self.handoff.under_way()?;
        if self.store.summary(eid).and_then(|s| s.next_step) != Some(Step::Transmit)
            || !self.transports.get_mut(ti)?.poll_handoff()
        {
            return None;
        }
        self.current = Some(eid);
        self.run_step(eid, Step::Transmit);
        if self.at.is_none_or(|(e, _)| e == eid) {
            self.at = self
                .store
                .summary(eid)
                .filter(|s| {
                    !matches!(
                        s.state(self.now()),
                        MessageState::WaitingRetry
                            | MessageState::DeferredByTransport
                            | MessageState::Held
                    )
                })
                .and_then(|s| s.next_step)
                .map(|st| (eid, st));
        }
        self.emit_debug();
        self.emit_status();
        Some(Tick::Ran(eid, Step::Transmit))
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
        self.handoff.any_under_way()
    }

    /// The channel that wakes the spooler's thread when the hand-off under way finishes.
    pub fn handoff_completions(&self) -> Option<crossbeam_channel::Receiver<()>> {
        let ti = self.handoff.busy_transport()?;
        self.transports.get(ti)?.completions()
    }

    /// Blocks until the hand-off under way has finished, or `max` has passed.
    pub fn wait_for_handoff(&mut self, max: std::time::Duration) {
        let Some(ti) = self.handoff.busy_transport() else {
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
}
