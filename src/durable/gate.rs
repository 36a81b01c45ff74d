//! The write-ahead gate between the journal and a remote hand-off.
//!
//! A remote transport's point of no return is the moment the server takes the message (SMTP:
//! the final DATA dot). A crash can send again every message the server took whose recipient
//! marks were not yet durable, so a hand-off must not pass that point while too many are.
//! Waiting for the marks' fsync before *starting* the next hand-off puts the fsync and the
//! whole SMTP dialogue end to end; with a gate the next hand-off starts at once (MAIL, RCPT,
//! DATA go out while the journal is synced) and only its final dot waits. This is Postfix's
//! rule (a recipient is marked done in the queue file right after its delivery) with the wait
//! moved to where it matters.
//!
//! Two deep: the spooler journals a hand-off's marks (in the page cache: a crash of the
//! process keeps them) before the next hand-off may pass its gate, and asks for their fsync at
//! once; the gate of that next hand-off waits for the marks of the hand-off *before* the one
//! just journaled ([`SyncBoard::arm_at`], [`SyncBoard::gate_at`]), not for those. So a
//! message's final dot overlaps the fsync of the marks of the message answered just before it,
//! instead of waiting one fsync (about as long as a whole SMTP round trip here) every time.
//! What this costs: a crash of the process sends again at most the message in flight, as
//! before; a power cut, at most that one and the one answered just before it.
//!
//! The store publishes every journal sync it finishes; a [`CommitGate`] taken before a
//! hand-off starts opens at the first successful sync that *began* after it was taken (that
//! sync covers every record appended before), and fails if that sync failed or the store went
//! away: the hand-off is then withdrawn before its point of no return.
//!
//! A hand-off queued behind the one under way ([`SyncBoard::deferred_gate`]) starts its
//! dialogue as soon as the transport is free, before the spooler has even seen what the one
//! before it brought: its gate is armed ([`SyncBoard::arm`]) only once the spooler has
//! journaled those marks, and opens once the marks journaled before them (two deep, as above)
//! are durable. Until then it stays shut, so the rule holds: at most one message can have
//! reached a server without its marks being journaled, and at most two without their being
//! durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    /// Journal syncs begun.
    begun: u64,
    /// The number (1-based, in `begun` order) of the last sync that finished well.
    last_ok: u64,
    /// The number of the last sync that failed.
    last_failed: u64,
    /// The store was closed: no sync will come.
    closed: bool,
}

/// The store's side: publishes journal syncs (clones share the board).
#[derive(Clone, Debug, Default)]
pub struct SyncBoard {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl SyncBoard {
    /// A gate that opens at the first good sync begun after now.
    pub fn gate(&self) -> CommitGate {
        self.gate_at(self.shared.0.lock().map_or(0, |s| s.begun))
    }

    /// A gate that stays shut until [`SyncBoard::arm`] is called on it, then opens at the first
    /// good sync begun after that (for a hand-off queued behind the one under way).
    pub fn deferred_gate(&self) -> CommitGate {
        CommitGate {
            shared: Arc::clone(&self.shared),
            after: Arc::new(AtomicU64::new(UNARMED)),
        }
    }

    /// Arms a deferred gate: it opens at the first good sync begun after now.
    pub fn arm(&self, gate: &CommitGate) {
        self.set(gate, None);
    }

    /// Arms a deferred gate to open once what was appended before sync number `point` began
    /// ([`SyncBoard::begun`] then) is durable, not what was appended since.
    pub fn arm_at(&self, gate: &CommitGate, point: u64) {
        self.set(gate, Some(point.min(WITHDRAWN - 1)));
    }

    /// A gate that opens once what was appended before `point` ([`SyncBoard::begun`] then)
    /// is durable.
    pub fn gate_at(&self, point: u64) -> CommitGate {
        CommitGate {
            shared: Arc::clone(&self.shared),
            after: Arc::new(AtomicU64::new(point.min(WITHDRAWN - 1))),
        }
    }

    /// Shuts a gate for good: its hand-off is withdrawn before its point of no return.
    pub fn withdraw(&self, gate: &CommitGate) {
        self.set(gate, Some(WITHDRAWN));
    }

    fn set(&self, gate: &CommitGate, to: Option<u64>) {
        // Under the board's lock, so that a waiter cannot miss it between its look and its wait.
        if let Ok(s) = self.shared.0.lock() {
            gate.after.store(to.unwrap_or(s.begun), Ordering::Release);
        }
        self.shared.1.notify_all();
    }

    /// Syncs begun so far: a record appended now is durable once a sync numbered above this
    /// has finished well.
    pub fn begun(&self) -> u64 {
        self.shared.0.lock().map_or(u64::MAX, |s| s.begun)
    }

    /// The number of the last sync that finished well.
    pub fn last_ok(&self) -> u64 {
        self.shared.0.lock().map_or(0, |s| s.last_ok)
    }

    /// A sync starts; returns its number for [`SyncBoard::finish`].
    pub fn begin(&self) -> u64 {
        self.shared.0.lock().map_or(0, |mut s| {
            s.begun += 1;
            s.begun
        })
    }

    /// Sync `n` finished, well or not; wakes the gates waiting for it.
    pub fn finish(&self, n: u64, ok: bool) {
        if let Ok(mut s) = self.shared.0.lock() {
            if ok {
                s.last_ok = s.last_ok.max(n);
            } else {
                s.last_failed = s.last_failed.max(n);
            }
        }
        self.shared.1.notify_all();
    }

    /// No sync will come any more (the store is closing): every waiting gate fails.
    pub fn close(&self) {
        if let Ok(mut s) = self.shared.0.lock() {
            s.closed = true;
        }
        self.shared.1.notify_all();
    }
}

/// The journal's syncer thread: the spooler asks for a sync as soon as a hand-off's marks are
/// journaled (or right after it starts a hand-off with unsynced records before it) and goes
/// on (recording the last step, preparing and starting the next hand-off) while the disk
/// works; the next hand-off's gate opens when the sync is done. Requests that pile up during one
/// fsync are served by the next, together.
#[derive(Debug)]
pub struct Syncer {
    requests: Option<crossbeam_channel::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The last failure, for the spooler to report.
    error: Arc<Mutex<Option<std::io::Error>>>,
}

impl Syncer {
    /// Starts the thread; `None` if it cannot be.
    pub fn start(mut sync: super::BackgroundSync, board: SyncBoard) -> Option<Self> {
        let (tx, rx) = crossbeam_channel::unbounded::<()>();
        let error = Arc::new(Mutex::new(None));
        let shared = Arc::clone(&error);
        let thread = std::thread::Builder::new()
            .name("spoolbox-journal-sync".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Everything asked for so far was appended before this sync begins.
                    while rx.try_recv().is_ok() {}
                    let n = board.begin();
                    let r = sync();
                    let ok = r.is_ok();
                    // Told before the gates hear of it, so whoever a failure wakes finds it.
                    if let Err(e) = r
                        && let Ok(mut slot) = shared.lock()
                    {
                        *slot = Some(e);
                    }
                    board.finish(n, ok);
                }
            })
            .ok()?;
        Some(Self {
            requests: Some(tx),
            thread: Some(thread),
            error,
        })
    }

    /// Asks for a sync of everything appended so far; false if the thread is gone.
    pub fn request(&self) -> bool {
        self.requests.as_ref().is_some_and(|tx| tx.send(()).is_ok())
    }

    /// The failure of a background sync since the last call, if any.
    pub fn take_error(&self) -> Option<std::io::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `CommitGate::after` of a deferred gate not armed yet.
const UNARMED: u64 = u64::MAX;
/// `CommitGate::after` of a withdrawn gate.
const WITHDRAWN: u64 = u64::MAX - 1;

/// Why a [`CommitGate`] did not open: the hand-off waiting at it is withdrawn before its dot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The spooler withdrew the gate (see [`SyncBoard::withdraw`]).
    #[error("the spooler withdrew it before the previous hand-off's marks were recorded")]
    Withdrawn,
    /// The first sync after the gate failed and no later one has succeeded yet.
    #[error(
        "the journal could not be synced: the recipient marks of an earlier hand-off are not durable"
    )]
    SyncFailed,
    /// The store closed first.
    #[error("the store closed before the journal was synced")]
    Closed,
    /// The wait's limit passed.
    #[error("the journal was not synced within {} s", .0.as_secs())]
    TimedOut(Duration),
    /// A thread panicked while holding the board.
    #[error("the store's journal state is poisoned")]
    Poisoned,
}

/// Held by a hand-off: [`CommitGate::wait`] returns once the journal records appended before
/// the gate was taken (or armed) are durable.
#[derive(Clone, Debug)]
pub struct CommitGate {
    shared: Arc<(Mutex<State>, Condvar)>,
    /// Syncs begun when the gate was taken or armed: only a later one covers its records
    /// ([`UNARMED`], [`WITHDRAWN`]: shut).
    after: Arc<AtomicU64>,
}

impl CommitGate {
    /// False for a deferred gate that has not been armed (or was withdrawn).
    pub fn is_armed(&self) -> bool {
        self.after.load(Ordering::Acquire) < WITHDRAWN
    }

    /// Blocks until the records are durable (`Ok`), or returns why they may never be: the sync
    /// failed, the store closed, or `max` passed.
    ///
    /// # Errors
    /// The [`GateError`], for the hand-off's "withdrawn" outcome.
    pub fn wait(&self, max: Duration) -> Result<(), GateError> {
        let deadline = Instant::now() + max;
        let (lock, cv) = &*self.shared;
        let mut s = lock.lock().map_err(|_| GateError::Poisoned)?;
        loop {
            let after = self.after.load(Ordering::Acquire);
            if after == WITHDRAWN {
                return Err(GateError::Withdrawn);
            }
            if after != UNARMED && s.last_ok > after {
                return Ok(());
            }
            // The first sync after the gate failed and no later one has succeeded yet: the
            // marks are not durable and the spooler has stopped to say so.
            if after != UNARMED && s.last_failed > after {
                return Err(GateError::SyncFailed);
            }
            if s.closed {
                return Err(GateError::Closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(GateError::TimedOut(max));
            }
            s = cv.wait_timeout(s, left).map_err(|_| GateError::Poisoned)?.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why the gate did not open within `max` ("" if it did).
    fn refusal(gate: &CommitGate, max: Duration) -> String {
        gate.wait(max)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_gate_opens_only_at_a_good_sync_begun_after_it_was_taken() {
        let board = SyncBoard::default();
        let early = board.begin();
        let gate = board.gate();
        // A sync already under way when the gate was taken may miss its records.
        board.finish(early, true);
        assert!(gate.wait(Duration::ZERO).is_err());
        let n = board.begin();
        board.finish(n, true);
        assert_eq!(gate.wait(Duration::ZERO), Ok(()));
    }

    #[test]
    fn a_gate_at_an_earlier_point_opens_once_the_sync_after_that_point_is_done() {
        let board = SyncBoard::default();
        // The marks of hand-off A are journaled: a sync is asked for them.
        let a = board.begun();
        let sync_a = board.begin();
        // B is answered, its marks journaled; the next hand-off's gate waits for A's only.
        let b = board.begun();
        let next = board.deferred_gate();
        assert!(refusal(&next, Duration::ZERO).contains("within"), "unarmed");
        board.arm_at(&next, a);
        assert!(next.is_armed());
        assert!(
            refusal(&next, Duration::ZERO).contains("within"),
            "A not durable"
        );
        board.finish(sync_a, true);
        assert_eq!(next.wait(Duration::ZERO), Ok(()), "B's sync not needed");
        // The one after waits for B's, which a failed sync leaves undone.
        let after_next = board.gate_at(b);
        assert!(refusal(&after_next, Duration::ZERO).contains("within"));
        let sync_b = board.begin();
        board.finish(sync_b, false);
        assert!(refusal(&after_next, Duration::from_secs(5)).contains("not durable"));
        let again = board.begin();
        board.finish(again, true);
        assert_eq!(after_next.wait(Duration::ZERO), Ok(()));
    }

    #[test]
    fn a_failed_sync_or_a_closed_store_withdraws_the_hand_off() {
        let board = SyncBoard::default();
        let gate = board.gate();
        let n = board.begin();
        board.finish(n, false);
        assert!(refusal(&gate, Duration::from_secs(5)).contains("not durable"));
        let later = board.gate();
        board.close();
        assert!(refusal(&later, Duration::from_secs(5)).contains("closed"));
    }

    #[test]
    fn a_waiting_hand_off_is_woken_by_the_sync() {
        let board = SyncBoard::default();
        let gate = board.gate();
        let waiter = std::thread::spawn(move || gate.wait(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        let n = board.begin();
        board.finish(n, true);
        assert_eq!(waiter.join().ok(), Some(Ok(())));
    }

    #[test]
    fn the_syncer_thread_opens_the_gate_and_reports_a_failure() {
        let board = SyncBoard::default();
        let calls = Arc::new(Mutex::new(0u32));
        let counted = Arc::clone(&calls);
        let syncer = Syncer::start(
            Box::new(move || {
                let mut n = counted
                    .lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?;
                *n += 1;
                if *n == 2 {
                    Err(std::io::Error::other("injected"))
                } else {
                    Ok(())
                }
            }),
            board.clone(),
        )
        .unwrap_or_else(|| panic!("no thread"));
        let gate = board.gate();
        assert!(syncer.request());
        assert_eq!(gate.wait(Duration::from_secs(30)), Ok(()));
        let second = board.gate();
        assert!(syncer.request());
        assert!(second.wait(Duration::from_secs(30)).is_err());
        assert_eq!(
            syncer.take_error().map(|e| e.to_string()).as_deref(),
            Some("injected")
        );
        assert!(syncer.take_error().is_none());
        drop(syncer);
        assert_eq!(calls.lock().map(|n| *n).ok(), Some(2));
    }

    #[test]
    fn a_deferred_gate_stays_shut_until_armed_then_needs_a_sync_begun_after() {
        let board = SyncBoard::default();
        let gate = board.deferred_gate();
        assert!(!gate.is_armed());
        // Syncs before it is armed do not open it: they cannot cover what is journaled later.
        let n = board.begin();
        board.finish(n, true);
        assert!(refusal(&gate, Duration::from_millis(10)).contains("within"));
        let early = board.begin();
        board.arm(&gate);
        assert!(gate.is_armed());
        board.finish(early, true);
        assert!(refusal(&gate, Duration::from_millis(10)).contains("within"));
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.wait(Duration::from_secs(30)))
        };
        let n = board.begin();
        board.finish(n, true);
        assert_eq!(waiter.join().ok(), Some(Ok(())));
    }

    #[test]
    fn a_withdrawn_gate_fails_at_once_and_says_why() {
        let board = SyncBoard::default();
        let gate = board.deferred_gate();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.wait(Duration::from_secs(30)))
        };
        board.withdraw(&gate);
        let why = waiter
            .join()
            .ok()
            .and_then(Result::err)
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(why.contains("withdrew"), "{why}");
        // Nothing opens it again.
        let n = board.begin();
        board.finish(n, true);
        assert!(refusal(&gate, Duration::ZERO).contains("withdrew"));
    }

    #[test]
    fn without_a_sync_the_gate_times_out() {
        let board = SyncBoard::default();
        let gate = board.gate();
        assert!(refusal(&gate, Duration::from_millis(10)).contains("within"));
    }
}
