//! What the spooler records on the store's timeline (`store::timeline`): each step it runs,
//! each transport hand-off from the moment it is handed over to the transport's answer,
//! breakpoints, pauses and injected faults as marks, and the queue's depth a few times a
//! second. Recorded spans also go to the window, in batches with the other events.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::{Event, Spooler};
use crate::mapi::{EntryId, Message, MessageState, Step, StepOutcome};
use crate::store::timeline::{self, Depth, Kind, Outcome, SPOOLER_LANE, Span};
use crate::transport::{Handoff, RowOutcome, SubmitResult};

/// The queue's depth is sampled at most this often (and only when it changed).
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// Hand-offs under way whose start is remembered; more means answers were never collected
/// (abandoned), and the oldest are forgotten.
const MAX_UNDER_WAY: usize = 256;

/// The timeline's part of the spooler's state.
#[derive(Debug)]
pub(super) struct Recording {
    recorder: timeline::Recorder,
    /// Spans recorded since the window was last sent a batch (only with a sink).
    batch: Vec<Span>,
    /// When each hand-off under way on a transport's thread was handed over.
    began: Vec<((EntryId, usize), i64, Instant)>,
    last_sample: Option<Instant>,
    last_depth: Option<Depth>,
}

impl Recording {
    pub(super) fn new(root: &std::path::Path) -> Self {
        Self {
            recorder: timeline::Recorder::new(root),
            batch: Vec::new(),
            began: Vec::new(),
            last_sample: None,
            last_depth: None,
        }
    }
}

/// The colour a hand-off's answer gets: what matters most first (a kept outcome, a failure,
/// trouble to retry), delivered only when every offered row was.
pub fn handoff_outcome(h: &Handoff) -> Outcome {
    match &h.result {
        SubmitResult::Ok => {}
        SubmitResult::NotMe => return Outcome::Declined,
        _ => return Outcome::Deferred,
    }
    let any = |f: fn(&RowOutcome) -> bool| h.outcomes.iter().any(|(_, o)| f(o));
    if any(|o| matches!(o, RowOutcome::Unknown(_))) {
        Outcome::Unknown
    } else if any(|o| matches!(o, RowOutcome::Failed(_))) {
        Outcome::Failed
    } else if any(|o| matches!(o, RowOutcome::Transient(_))) || h.outcomes.is_empty() {
        Outcome::Deferred
    } else {
        Outcome::Delivered
    }
}

fn step_outcome(o: &StepOutcome) -> (Outcome, String) {
    match o {
        StepOutcome::Done => (Outcome::Done, String::new()),
        StepOutcome::Skipped => (Outcome::Skipped, String::new()),
        StepOutcome::Waiting(t) => (Outcome::Waiting, t.clone()),
        StepOutcome::Failed(t) => (Outcome::Error, t.clone()),
    }
}

impl Spooler {
    fn record_span(&mut self, span: Span) {
        self.timeline.recorder.record(&span);
        if self.sink.is_some() {
            self.timeline.batch.push(span);
        }
    }

    /// The spans recorded since the last batch, as one event (with a sink only), and the
    /// recorder's trouble, once.
    pub(super) fn timeline_events(&mut self) -> impl Iterator<Item = Event> {
        let batch = (!self.timeline.batch.is_empty())
            .then(|| Event::Timeline(std::mem::take(&mut self.timeline.batch)));
        let trouble = self.timeline.recorder.take_trouble().map(Event::Error);
        batch.into_iter().chain(trouble)
    }

    /// Keeps what `limits` allow of the store's timeline from now on (what was recorded so
    /// far is written out first). The default keeps about the last million spans.
    pub fn set_timeline_limits(&mut self, limits: timeline::Limits) {
        self.timeline.recorder.sync();
        self.timeline.recorder = timeline::Recorder::with_limits(self.store.root(), limits);
    }

    /// Writes out and syncs the timeline (the spooler is idle or stopping).
    pub(super) fn sync_timeline(&mut self) {
        self.timeline.recorder.sync();
    }

    /// One step of `eid` ran from `started` for `micros`.
    pub(super) fn record_step(
        &mut self,
        eid: EntryId,
        step: Step,
        started: Timestamp,
        micros: u64,
        outcome: &StepOutcome,
    ) {
        let mut s = Span::new(SPOOLER_LANE, Kind::Step, timeline::micros(started), micros);
        s.step = Some(step);
        s.eid = Some(eid);
        (s.outcome, s.text) = step_outcome(outcome);
        self.record_span(s);
    }

    /// The start of a hand-off of `eid` to transport `ti`: the one remembered when it went
    /// under way on the transport's thread, else now (always now when offered `again` after
    /// `END_RESEND_NOW`).
    pub(super) fn handoff_start(&mut self, eid: EntryId, ti: usize, again: bool) -> (i64, Instant) {
        let remembered = if again {
            None
        } else {
            self.timeline
                .began
                .iter()
                .position(|(k, ..)| *k == (eid, ti))
        };
        match remembered {
            Some(i) => {
                let (_, t, at) = self.timeline.began.remove(i);
                (t, at)
            }
            None => (timeline::micros(self.now()), Instant::now()),
        }
    }

    /// A hand-off went under way on transport `ti`'s thread at `start`.
    pub(super) fn handoff_went_under_way(
        &mut self,
        eid: EntryId,
        ti: usize,
        start: (i64, Instant),
    ) {
        if self.timeline.began.len() >= MAX_UNDER_WAY {
            self.timeline.began.remove(0);
        }
        self.timeline.began.push(((eid, ti), start.0, start.1));
    }

    /// Transport `name` answered `h` for `rows` of `msg`, handed over at `start`.
    pub(super) fn record_handoff(
        &mut self,
        msg: &Message,
        name: &str,
        rows: &[u32],
        h: &Handoff,
        start: (i64, Instant),
    ) {
        // To the transport's answer (on its own thread), not to when it was collected.
        let end = h.answered.unwrap_or_else(Instant::now);
        let dur =
            u64::try_from(end.saturating_duration_since(start.1).as_micros()).unwrap_or(u64::MAX);
        let mut s = Span::new(name, Kind::Handoff, start.0, dur);
        s.step = Some(Step::Transmit);
        s.eid = Some(msg.entry_id);
        s.outcome = handoff_outcome(h);
        let who: Vec<&str> = rows
            .iter()
            .filter_map(|r| msg.recipient(*r))
            .map(crate::mapi::Recipient::email)
            .collect();
        s.who = timeline::who_list(who.into_iter());
        s.text = h.result.mapi_name();
        if h.result == SubmitResult::Ok {
            s.text = format!("{}; EndMessage {}", s.text, h.end_text());
        }
        if let Some(f) = &h.fault {
            let mut m = Span::new(name, Kind::Fault, start.0, 0);
            m.eid = Some(msg.entry_id);
            m.step = Some(Step::Transmit);
            m.text.clone_from(f);
            self.record_span(m);
        }
        self.record_span(s);
    }

    /// The spooler stopped: before `step` of `eid` at a breakpoint, or paused.
    pub(super) fn record_stop(&mut self, kind: Kind, at: Option<(EntryId, Step)>, text: &str) {
        let mut s = Span::new(SPOOLER_LANE, kind, timeline::micros(self.now()), 0);
        s.eid = at.map(|a| a.0);
        s.step = at.map(|a| a.1);
        text.clone_into(&mut s.text);
        self.record_span(s);
    }

    /// Samples the queue's depth, at most every [`SAMPLE_EVERY`] and only when it changed.
    pub(super) fn sample_queue(&mut self) {
        if self
            .timeline
            .last_sample
            .is_some_and(|t| t.elapsed() < SAMPLE_EVERY)
        {
            return;
        }
        self.timeline.last_sample = Some(Instant::now());
        let now = self.now();
        let under_way = self.handoff.under_way_id();
        let mut d = Depth::default();
        for s in self.store.summaries() {
            match s.state(now) {
                _ if Some(s.eid) == under_way || self.handoff.is_queued(s.eid) => {
                    d.in_flight += 1;
                }
                MessageState::Queued | MessageState::QueuedForPreprocess | MessageState::Locked => {
                    d.queued += 1;
                }
                MessageState::WaitingRetry | MessageState::DeferredByTransport => d.retrying += 1,
                MessageState::Held | MessageState::DeferredSend => d.held += 1,
                _ => {}
            }
        }
        if self.timeline.last_depth == Some(d) {
            return;
        }
        self.timeline.last_depth = Some(d);
        let mut s = Span::new(SPOOLER_LANE, Kind::Queue, timeline::micros(now), 0);
        s.depth = Some(d);
        self.record_span(s);
    }
}
