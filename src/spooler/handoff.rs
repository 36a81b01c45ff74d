//! The hand-off state machine: the message a transport is handing off on its own thread, the
//! one queued on the same line behind it, and the write-ahead gates that keep a hand-off from
//! reaching its point of no return (an SMTP final dot) before the recipient marks of the
//! hand-offs before it are durable. Everything the spooler knows about hand-offs under way
//! lives here; the steps ask it and tell it, and never touch its fields.
//!
//! States (one line at a time; `g` is a commit gate from `durable::gate`):
//!
//! ```text
//!   Idle ──start(A)──▶ UnderWay(A) ──start(B) behind A, deferred g──▶ UnderWay(A) + Queued(B, g)
//!     ▲                     │                                                │
//!     │               collected(A)                                     collected(A)
//!     │                     ▼                                                ▼
//!     └──── picked ◀── Idle + lookahead                     UnderWay(B) + to_arm(g)
//!                                                                          │
//!             marks of A journaled ─▶ g armed at the sync point *before* A's (two deep)
//!             or, A's step recorded  ─▶ g armed now (and a sync asked for)
//!             or, recording failed   ─▶ g withdrawn (B's line answers without its dot)
//! ```
//!
//! Transitions, each one method below:
//! - [`HandoffState::gate_for`]: the gate a hand-off about to start waits at: a deferred (shut) one
//!   when it goes behind the one under way; the early gate taken when the last marks were
//!   journaled; or a fresh commit gate.
//! - [`HandoffState::started`]: the transport took the message onto its thread (`UnderWay`, or
//!   `Queued` behind the one under way).
//! - [`HandoffState::collected`]: the answer of the one under way is in: the queued one (already
//!   on the line) becomes the one under way and its gate waits to be armed; otherwise the
//!   spooler looks ahead for the next message before finishing this one.
//! - [`HandoffState::marks_journaled`]: the marks of a collected remote hand-off were journaled
//!   without an fsync: the next hand-off's gate waits for the sync point of the marks before
//!   them, and the spooler asks for their sync at once.
//! - [`HandoffState::recorded`]: the step of a collected hand-off was stored (or not): a promoted
//!   gate still unarmed is armed (or withdrawn).
//! - [`HandoffState::abandon`]: the message under way went away or moved on: its answer is not
//!   wanted; one queued behind it is withdrawn before its dot and becomes the one under way
//!   (its transport answers at once).
//! - [`HandoffState::withdraw_queued`], [`HandoffState::withdraw_unarmed`], [`HandoffState::reset`]:
//!   stopping, and replacing the transports.

use crate::durable::gate::CommitGate;
use crate::mapi::EntryId;
use crate::store::Store;

/// The state of the hand-offs under way (see the module documentation).
#[derive(Default)]
pub(super) struct HandoffState {
    /// The message a transport is handing off on its own thread, and that transport's
    /// index. One at a time: a crash of the process can send again only that hand-off (a
    /// power cut, also the one answered before it, whose marks may still be in their fsync).
    under_way: Option<(EntryId, usize)>,
    /// The next message for the same transport, queued behind `under_way`
    /// (`Transport::queues_handoff`): it goes on the line as soon as the transport is free,
    /// and its gate (deferred) is armed only once `under_way` has been recorded, so it cannot
    /// reach the point of no return before those marks are journaled, nor before the marks
    /// of the hand-off before that one are durable.
    queued: Option<(EntryId, usize, CommitGate)>,
    /// The gate of the hand-off just promoted from `queued`, to arm as soon as the one
    /// collected before it is journaled (or to withdraw if that failed).
    to_arm: Option<CommitGate>,
    /// A background hand-off was just collected: start the next message's before finishing
    /// this one.
    lookahead: bool,
    /// The message whose recipient marks, from a background hand-off, were journaled without
    /// an fsync: the next hand-off waits for them (a gate) or is preceded by the sync.
    marks_awaiting_sync: Option<EntryId>,
    /// The gate for the next hand-off, taken as those marks were journaled, with their sync
    /// asked for at once: the fsync then runs while the collected message's step is recorded
    /// and the next message goes as far as its hand-off, not only during its dialogue.
    early_gate: Option<CommitGate>,
    /// The hand-off being started uses `early_gate` (its sync is already asked for).
    gate_taken_early: bool,
    /// `Store::sync_point` when the marks of the last background hand-off were journaled: the
    /// point the gate of the hand-off after the next one waits for.
    marks_point: Option<u64>,
}

impl HandoffState {
    /// The message under way and its transport's index.
    pub(super) fn under_way(&self) -> Option<(EntryId, usize)> {
        self.under_way
    }

    /// The message under way.
    pub(super) fn under_way_id(&self) -> Option<EntryId> {
        self.under_way.map(|(e, _)| e)
    }

    /// True when `eid` is the message under way.
    pub(super) fn is_under_way(&self, eid: EntryId) -> bool {
        self.under_way.is_some_and(|(e, _)| e == eid)
    }

    /// True when a hand-off is under way.
    pub(super) fn any_under_way(&self) -> bool {
        self.under_way.is_some()
    }

    /// The transport busy with the hand-off under way.
    pub(super) fn busy_transport(&self) -> Option<usize> {
        self.under_way.map(|(_, t)| t)
    }

    /// True when a hand-off waits on the line behind the one under way.
    pub(super) fn has_queued(&self) -> bool {
        self.queued.is_some()
    }

    /// True when `eid` is the hand-off queued behind the one under way.
    pub(super) fn is_queued(&self, eid: EntryId) -> bool {
        self.queued.as_ref().is_some_and(|(q, _, _)| *q == eid)
    }

    /// True when `eid`, about to be offered to transport `ti`, would go behind another
    /// message's hand-off under way on that transport, with nothing queued yet (whether the
    /// transport queues is the caller's to ask).
    pub(super) fn would_queue_behind(&self, eid: EntryId, ti: usize) -> bool {
        self.queued.is_none() && self.under_way.is_some_and(|(f, fti)| f != eid && fti == ti)
    }

    /// The gate a hand-off about to start waits at before its point of no return: a
    /// deferred one when it goes `behind` the one under way (armed once that is recorded);
    /// else, when the transport is `gated`, the early gate taken as the last marks were
    /// journaled, or a fresh commit gate.
    pub(super) fn gate_for(
        &mut self,
        store: &Store,
        behind: bool,
        gated: bool,
    ) -> Option<CommitGate> {
        if behind {
            self.gate_taken_early = false;
            return Some(store.deferred_gate());
        }
        let early = if gated { self.early_gate.take() } else { None };
        self.gate_taken_early = early.is_some();
        gated.then(|| early.unwrap_or_else(|| store.commit_gate()))
    }

    /// True when the marks of the last background hand-off are still not durable: a
    /// hand-off without a gate must be preceded by their sync.
    pub(super) fn marks_unsynced(&self, store: &Store) -> bool {
        self.marks_awaiting_sync
            .is_some_and(|m| store.is_unsynced(m))
    }

    /// The transport took `eid` onto its thread: under way, or queued `behind` the one under
    /// way with its (deferred) gate.
    pub(super) fn started(
        &mut self,
        eid: EntryId,
        ti: usize,
        behind: bool,
        gate: Option<CommitGate>,
    ) {
        match (behind, gate) {
            (true, Some(g)) => self.queued = Some((eid, ti, g)),
            _ => self.under_way = Some((eid, ti)),
        }
    }

    /// The answer of `eid` from transport `ti` is being recorded. When that was the
    /// hand-off under way (true is returned), the one queued behind it becomes the one under
    /// way, its gate to be armed; with none queued, the spooler looks ahead.
    pub(super) fn collected(&mut self, eid: EntryId, ti: usize) -> bool {
        if self.under_way != Some((eid, ti)) {
            return false;
        }
        self.under_way = None;
        match self.queued.take() {
            Some((q, qti, g)) => {
                self.under_way = Some((q, qti));
                self.to_arm = Some(g);
            }
            None => self.lookahead = true,
        }
        true
    }

    /// The marks of `eid`, collected from a remote background hand-off, were journaled
    /// without an fsync (the caller asks for their sync next). The next hand-off's gate, and
    /// so their sync, start now. The gate waits for the marks of the hand-off *before* this
    /// one, not for these (see `durable::gate`, "two deep"): their fsync overlaps the next
    /// message's final dot instead of holding it back. The first time, with no hand-off
    /// before, it waits for these. A hand-off already queued has its deferred gate armed so.
    pub(super) fn marks_journaled(&mut self, store: &Store, eid: EntryId) {
        self.marks_awaiting_sync = Some(eid);
        let point = store.sync_point();
        let before = self.marks_point.replace(point).unwrap_or(point);
        match self.to_arm.take() {
            Some(g) => {
                store.arm_gate_at(&g, before);
                self.early_gate = None;
            }
            None => self.early_gate = Some(store.gate_at(before)),
        }
    }

    /// True (once) when the hand-off just started took the early gate, whose sync is already
    /// asked for.
    pub(super) fn take_gate_taken_early(&mut self) -> bool {
        std::mem::take(&mut self.gate_taken_early)
    }

    /// A step was recorded (`recorded`) or failed to be: the gate of a hand-off promoted
    /// from the queue and not yet armed by [`HandoffState::marks_journaled`] is armed now, or
    /// withdrawn. True when one was armed: the caller asks for a sync.
    pub(super) fn recorded(&mut self, store: &Store, recorded: bool) -> bool {
        let Some(g) = self.to_arm.take() else {
            return false;
        };
        if !recorded {
            store.withdraw_gate(&g);
            return false;
        }
        store.arm_gate(&g);
        self.early_gate = None;
        true
    }

    /// True (once) when a hand-off was just collected and the next message should go as far
    /// as its hand-off before that one is finished.
    pub(super) fn take_lookahead(&mut self) -> bool {
        std::mem::take(&mut self.lookahead)
    }

    /// The message under way is no longer wanted (it went away or moved on; the caller tells
    /// its transport). One queued behind it is withdrawn before its dot and becomes the one
    /// under way: its transport answers at once and that answer is collected as usual.
    pub(super) fn abandon(&mut self, store: &Store) {
        self.under_way = None;
        if let Some((q, qti, g)) = self.queued.take() {
            store.withdraw_gate(&g);
            self.under_way = Some((q, qti));
        }
    }

    /// Stopping: the hand-off queued behind the one under way is withdrawn before its dot
    /// (returned, to be unlocked once its transport has answered), and so is any promoted
    /// gate not yet armed.
    pub(super) fn withdraw_queued(&mut self, store: &Store) -> Option<(EntryId, usize)> {
        let withdrawn = self.queued.take().map(|(q, qti, g)| {
            store.withdraw_gate(&g);
            (q, qti)
        });
        self.withdraw_unarmed(store);
        withdrawn
    }

    /// A gate promoted from the queue and not armed yet is withdrawn (stopping: it is not
    /// let through its dot).
    pub(super) fn withdraw_unarmed(&mut self, store: &Store) {
        if let Some(g) = self.to_arm.take() {
            store.withdraw_gate(&g);
        }
    }

    /// The transports are replaced: a hand-off under way on an old one is abandoned (the
    /// message is offered again to the new one: at-least-once), one queued is withdrawn.
    pub(super) fn reset(&mut self, store: &Store) {
        self.under_way = None;
        if let Some((_, _, g)) = self.queued.take() {
            store.withdraw_gate(&g);
        }
        self.lookahead = false;
    }
}
