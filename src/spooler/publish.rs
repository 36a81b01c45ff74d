//! Event publishing: the event buffer and its sink, the debug state and the status table.

use crate::mapi::flags::{
    MAPI_SPOOLER, MAPI_TRANSPORT_PROVIDER, STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ACTIVE,
};
use crate::mapi::{Message, Step};
use crate::store::Summary;

use super::{DebugState, Event, Mode, Sink, Spooler, StatusRow};

impl Spooler {
    /// Takes the events produced since the last call.
    pub fn drain_events(&mut self) -> Vec<Event> {
        let spans: Vec<Event> = self.timeline_events().collect();
        self.events.extend(spans);
        std::mem::take(&mut self.events)
    }

    /// Queues an event. What reports a message's state (its recipients' marks, its summary,
    /// its details) waits while that state is not durable yet: the app only ever reports
    /// what survives a crash (SPEC 1). See [`Spooler::settle`].
    pub(super) fn emit(&mut self, e: Event) {
        if self.in_bulk && matches!(e, Event::Notice(_)) {
            return;
        }
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

    /// Sends buffered events at once through the sink (the worker sets one), so the UI sees
    /// each transport hand-off as it happens rather than at the end of the step.
    pub fn flush_events(&mut self) {
        let spans: Vec<Event> = self.timeline_events().collect();
        self.events.extend(spans);
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
        let held = self.store.profile_hold().map(str::to_owned);
        DebugState {
            paused: self.mode != Mode::Running || held.is_some(),
            held,
            at: self.at,
            breakpoints: self.breakpoints.iter().copied().collect(),
            under_way: self
                .handoff
                .under_way()
                .and_then(|(eid, ti)| self.transports.get(ti).map(|t| (eid, t.name().to_owned()))),
        }
    }

    pub(super) fn emit_debug(&mut self) {
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
            faults: None,
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
                faults: t.faults().filter(|f| !f.is_off()).cloned(),
            });
        }
        rows
    }

    pub(super) fn emit_status(&mut self) {
        let rows = self.status_table();
        self.emit(Event::Status(rows));
    }

    /// Every summary, for a first frame.
    pub fn snapshot(&self) -> Vec<Summary> {
        self.store.summaries().cloned().collect()
    }

    pub(super) fn changed(&mut self, m: &Message) {
        if let Some(s) = self.store.summary(m.entry_id).cloned() {
            self.emit(Event::Summary(Box::new(s)));
        }
        if self.watched == Some(m.entry_id) {
            self.emit(Event::Detail(Box::new(m.clone())));
        }
    }
}
