//! The MAPI spooler: the queue, one function per pipeline step named after its MAPI call, the
//! debugger (breakpoints, step, continue), the status table, and the worker thread.
//!
//! [`Spooler`] is the synchronous engine; [`worker`] runs it on a named thread behind the
//! command/event channels that the app, the CLI and the tests all use.

pub mod aside;
pub mod bulk;
mod commands;
pub mod demo;
mod descriptors;
pub mod error;
pub mod events;
mod files;
mod handoff;
mod held;
mod publish;
mod queue;
pub mod reason;
mod steps;
pub use steps::rewind;
mod stop;
pub use stop::{STOP_WAIT, Stopped};
pub mod submit;
mod tick;
mod timeline;
pub use timeline::handoff_outcome;
pub mod worker;

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::mapi::{EntryId, Recipient, Step};
use crate::store::Store;
use crate::transport::{self, Transport};
pub use aside::ConnectionTest;
pub use bulk::{BulkOp, BulkReport};
pub use error::SpoolerError;
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
    /// A bulk action is being applied: each message's own notice ("message 513 restored to
    /// Outbox …") is not said, the one report for all of them is (`bulk.rs`).
    in_bulk: bool,
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
    /// The hand-offs under way and their write-ahead gates (see `handoff.rs`).
    handoff: handoff::HandoffState,
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
    /// The store's timeline (`store::timeline`): what ran, when.
    timeline: timeline::Recording,
    /// A shortage of file descriptors under way (see `descriptors.rs`).
    descriptors: descriptors::Shortage,
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
        let recording = timeline::Recording::new(store.root());
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
            in_bulk: false,
            only: None,
            group_opened: None,
            handoff: handoff::HandoffState::default(),
            reach_memo: std::cell::RefCell::default(),
            store_trouble: false,
            unrecorded: Vec::new(),
            timeline: recording,
            descriptors: descriptors::Shortage::default(),
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
        self.handoff.reset(&self.store);
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
}

/// A row that still needs a transport: FALSE and not in a final state. `MAPI_P1` rows are
/// envelope recipients (a resend's copies of the rows that failed, reference e.15): offered
/// like any other, never shown as content recipients; the transport puts them in the
/// envelope only.
pub(crate) fn pending(r: &Recipient) -> bool {
    !r.responsibility() && !r.outcome.is_final()
}

/// What the window reads of the spooler besides its [`Command`]/[`Event`] contract: pure
/// functions of plain data (a summary, a message, a recipient row), no spooler state. The UI
/// imports these from here, so its dependency on the spooler is this short list.
pub mod view {
    pub use super::files::{trace_line, trace_text};
    pub use super::reason::{Context as ReasonContext, counts, reason};
    pub use super::steps::rewind;
    pub use super::submit::compose_problem;
    pub use super::submit::is_smtp_address;
}
