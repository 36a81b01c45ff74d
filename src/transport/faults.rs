//! Fault injection around any transport: fail the next N hand-offs, fail recipients matching
//! a pattern (for good or transiently), add latency, decline (`MAPI_E_NOT_ME`), or defer
//! (`END_DONT_RESEND`) and call back later.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;

use super::{EndFlag, Handoff, Preprocessed, RowOutcome, SubmitResult, SubmitView, Transport};
use crate::mapi::{EntryId, Message};
use crate::profile::FaultConfig;

/// A transport with faults injected in front of it.
pub struct Faulty {
    inner: Box<dyn Transport>,
    faults: FaultConfig,
    deferred: HashMap<EntryId, Timestamp>,
}

impl std::fmt::Debug for Faulty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faulty")
            .field("inner", &self.inner.name())
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl Faulty {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Transport>, faults: FaultConfig) -> Self {
        Self {
            inner,
            faults,
            deferred: HashMap::new(),
        }
    }

    /// The hand-off with the faults injected, `fault` saying which changed it.
    fn inject(&mut self, view: &SubmitView<'_>) -> Handoff {
        let tagged = |mut h: Handoff, why: String| {
            h.fault = Some(why);
            h
        };
        if self.faults.latency_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.faults.latency_ms));
        }
        if self.faults.decline {
            return tagged(
                Handoff::refused(SubmitResult::NotMe),
                "declined (MAPI_E_NOT_ME) by an injected fault".into(),
            );
        }
        if self.faults.fail_next > 0 {
            self.faults.fail_next -= 1;
            let text = format!("injected failure ({} more to come)", self.faults.fail_next);
            if !self.faults.permanent {
                return tagged(
                    Handoff::refused(SubmitResult::NetworkError(0, text.clone())),
                    text,
                );
            }
            let h = Handoff::sent(
                view.rows
                    .iter()
                    .map(|r| (*r, RowOutcome::Failed(text.clone())))
                    .collect(),
            );
            return tagged(h, text);
        }
        if self.faults.defer_secs > 0 && !view.begin_deferred {
            let at = crate::profile::check::after(Timestamp::now(), self.faults.defer_secs);
            self.deferred.insert(view.msg.entry_id, at);
            return tagged(
                Handoff::ended(EndFlag::DontResend),
                format!(
                    "deferred by an injected fault: END_DONT_RESEND, called back in {} s",
                    self.faults.defer_secs
                ),
            );
        }
        let mut passed = Vec::new();
        let mut outcomes = Vec::new();
        for row in &view.rows {
            let hit = self
                .faults
                .fail_pattern
                .as_deref()
                .filter(|p| !p.is_empty())
                .is_some_and(|p| {
                    view.msg
                        .recipient(*row)
                        .is_some_and(|r| r.email().contains(p))
                });
            if hit {
                outcomes.push((
                    *row,
                    self.failure(
                        "injected failure for recipients matching the fault pattern".into(),
                    ),
                ));
            } else {
                passed.push(*row);
            }
        }
        let hits = (!outcomes.is_empty()).then(|| {
            format!(
                "{} recipient(s) matching \"{}\" failed by an injected fault",
                outcomes.len(),
                self.faults.fail_pattern.as_deref().unwrap_or_default()
            )
        });
        if passed.is_empty() {
            let mut h = Handoff::sent(outcomes);
            h.fault = hits;
            return h;
        }
        let inner_view = SubmitView {
            msg: view.msg,
            rows: passed,
            begin_deferred: view.begin_deferred,
            sender: view.sender.clone(),
            deliver_for_real: view.deliver_for_real,
            store_root: view.store_root.clone(),
            gate: None,
        };
        let mut h = self.inner.submit_message(&inner_view);
        h.outcomes.extend(outcomes);
        h.fault = hits;
        h
    }

    fn failure(&self, text: String) -> RowOutcome {
        if self.faults.permanent {
            RowOutcome::Failed(text)
        } else {
            RowOutcome::Transient(text)
        }
    }
}

impl Transport for Faulty {
    fn remote(&self) -> bool {
        // Injected latency stands for a slow remote peer.
        self.inner.remote() || self.faults.latency_ms > 0
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn address_types(&self) -> &[String] {
        self.inner.address_types()
    }

    fn status_code(&self) -> u32 {
        self.inner.status_code()
    }

    fn status_text(&self) -> String {
        let base = self.inner.status_text();
        if self.faults.is_off() {
            base
        } else {
            format!("{base}; faults injected")
        }
    }

    fn has_preprocessor(&self) -> bool {
        self.inner.has_preprocessor()
    }

    fn preprocess(&mut self, msg: &mut Message, rows: &[u32]) -> Preprocessed {
        self.inner.preprocess(msg, rows)
    }

    fn remove_preprocess_info(&mut self, msg: &mut Message) -> String {
        self.inner.remove_preprocess_info(msg)
    }

    fn faults_mut(&mut self) -> Option<&mut FaultConfig> {
        Some(&mut self.faults)
    }

    fn faults(&self) -> Option<&FaultConfig> {
        Some(&self.faults)
    }

    fn start_submit(&mut self, view: &SubmitView<'_>) -> Option<Handoff> {
        // Without faults (or to collect a hand-off already under way) the inner transport
        // works in the background; with faults, they are injected synchronously.
        if self.faults.is_off() || self.inner.poll_handoff() {
            self.inner.start_submit(view)
        } else {
            Some(self.submit_message(view))
        }
    }

    fn gates_handoff(&mut self, view: &SubmitView<'_>) -> bool {
        // As `start_submit`: faults are injected synchronously.
        (self.faults.is_off() || self.inner.poll_handoff()) && self.inner.gates_handoff(view)
    }

    fn queues_handoff(&self) -> bool {
        // Faults are injected synchronously: nothing to queue behind.
        self.faults.is_off() && self.inner.queues_handoff()
    }

    fn abandon_handoff(&mut self, eid: EntryId) {
        self.inner.abandon_handoff(eid);
    }

    fn poll_handoff(&mut self) -> bool {
        self.inner.poll_handoff()
    }

    fn completions(&self) -> Option<crossbeam_channel::Receiver<()>> {
        self.inner.completions()
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        let latency = (self.faults.latency_ms > 0)
            .then(|| format!("{} ms of latency injected", self.faults.latency_ms));
        let mut h = self.inject(view);
        // What was injected is named on the timeline (a mark on this transport's lane).
        h.fault = match (latency, h.fault.take()) {
            (Some(l), Some(f)) => Some(format!("{l}; {f}")),
            (l, f) => f.or(l),
        };
        h
    }

    fn abort_deferred(&mut self, eid: EntryId) {
        self.deferred.remove(&eid);
        self.inner.abort_deferred(eid);
    }

    fn sent_deferred(&mut self, now: Timestamp) -> Vec<EntryId> {
        let ready: Vec<EntryId> = self
            .deferred
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(e, _)| *e)
            .collect();
        for e in &ready {
            self.deferred.remove(e);
        }
        let mut all = ready;
        all.extend(self.inner.sent_deferred(now));
        all
    }
}
