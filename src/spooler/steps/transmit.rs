//! Step 3, `Transmit`: offering the still-FALSE recipients to each transport in priority order.

use std::collections::HashSet;

use crate::mapi::flags::STATUS_OFFLINE;
use crate::mapi::tags::{PR_DELIVER_TIME, PR_REPORT_TEXT, PR_REPORT_TIME, PR_RESPONSIBILITY};
use crate::mapi::{Message, RecipientState, SpoolState, Step, StepOutcome};
use crate::spooler::{Event, Spooler, pending};
use crate::store::{Patch, StoreError};
use crate::transport::{EndFlag, RowOutcome, SubmitResult, SubmitView};

use super::{Disposal, StepDone, Tracer, secs, unlock};

impl Spooler {
    /// Step 3 (S6–S9): offer the still-FALSE recipients to each transport in priority order
    /// whose address types match exactly, each seeing only its own rows as FALSE. A remote
    /// hand-off's marks are durable before the next hand-off can deliver (at-least-once
    /// across a crash, exactly-once without): fsynced at once, or, after a background
    /// hand-off, by the sync its successor's gate waits for (`durable::gate`).
    pub(super) fn transmit(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> Result<StepDone, StoreError> {
        let eid = msg.entry_id;
        let now = self.now();
        let profile = self.store.profile().clone();
        let mut claimed: HashSet<u32> = HashSet::new();
        let mut wait: Option<(String, u64, String)> = None;
        let mut deferred_by: Option<String> = None;
        let begin_deferred_for = msg.spool.begin_deferred.take();
        for ti in 0..self.transports.len() {
            let Some(t) = self.transports.get(ti) else {
                continue;
            };
            let name = t.name().to_owned();
            // Rows whose answer from another transport is kept unrecorded are not offered
            // here: they went already.
            let elsewhere: HashSet<u32> = self
                .unrecorded
                .iter()
                .filter(|u| u.eid == eid && u.transport != name)
                .flat_map(|u| u.handoff.outcomes.iter().map(|(row, _)| *row))
                .collect();
            let rows: Vec<u32> = msg
                .recipients
                .iter()
                .filter(|r| pending(r) && !claimed.contains(&r.row_id))
                .filter(|r| !elsewhere.contains(&r.row_id))
                .filter(|r| t.address_types().iter().any(|a| a == r.addrtype()))
                .map(|r| r.row_id)
                .collect();
            if rows.is_empty() {
                continue;
            }
            // The transport's view: only its rows read FALSE (PidTagResponsibility page).
            let mut view_msg = msg.clone_head();
            for r in &mut view_msg.recipients {
                if !rows.contains(&r.row_id) {
                    r.props.set_bool(PR_RESPONSIBILITY, true);
                }
            }
            let begin_deferred = begin_deferred_for.as_deref() == Some(name.as_str());
            self.active_transport = Some(ti);
            self.emit_status();
            self.flush_events();
            let mut view = SubmitView {
                msg: &view_msg,
                rows: rows.clone(),
                begin_deferred,
                sender: (profile.sender_name.clone(), profile.sender_address.clone()),
                deliver_for_real: profile.deliver_for_real,
                store_root: self.store.root().to_path_buf(),
                gate: None,
            };
            let flags = if begin_deferred {
                "BEGIN_DEFERRED"
            } else {
                "0"
            };
            let mut resend_now = 0;
            let mut collected = false;
            // An answer this transport gave before, whose marks the store refused: recorded
            // now instead of handing the rows off again.
            let mut kept = self
                .unrecorded
                .iter()
                .find(|u| u.eid == eid && u.transport == name)
                .map(|u| u.handoff.clone());
            let handoff = loop {
                if let Some(h) = kept.take() {
                    tr.call(
                        "IXPLogon::SubmitMessage",
                        format!("[{name}] {eid}"),
                        format!(
                            "not offered again: {name} answered before and the store refused its marks; recording that answer"
                        ),
                    );
                    break Some(h);
                }
                let Some(t) = self.transports.get_mut(ti) else {
                    break None;
                };
                // Write-ahead: the marks of the last background hand-off must be durable
                // before this one can deliver. A background hand-off waits for that at its
                // point of no return (the gate; the journal is synced right after it starts,
                // while the dialogue goes on); any other is preceded by the sync.
                // Behind a hand-off under way on this transport: queued, with a gate that
                // stays shut until that one is recorded (see `Spooler::queued`).
                let behind = resend_now == 0
                    && self.queued.is_none()
                    && self.in_flight.is_some_and(|(f, fti)| f != eid && fti == ti)
                    && t.queues_handoff();
                let gated = resend_now == 0 && t.gates_handoff(&view);
                if behind {
                    self.gate_taken_early = false;
                    view.gate = Some(self.store.deferred_gate());
                } else {
                    let early = if gated { self.early_gate.take() } else { None };
                    self.gate_taken_early = early.is_some();
                    view.gate = gated.then(|| early.unwrap_or_else(|| self.store.commit_gate()));
                }
                if !gated
                    && self
                        .marks_awaiting_sync
                        .is_some_and(|m| self.store.is_unsynced(m))
                {
                    self.store.sync_journal()?;
                }
                let h = if resend_now == 0 {
                    let started = crate::transport::guarded(|| t.start_submit(&view))
                        .unwrap_or_else(|why| {
                            tr.call(
                                "IXPLogon::SubmitMessage",
                                format!("[{name}] {eid}"),
                                format!(
                                    "panicked: {why}; the message is parked, the queue goes on"
                                ),
                            );
                            Some(crate::transport::panicked(&name, &view.rows, &why))
                        });
                    let Some(h) = started else {
                        // Under way on the transport's thread: the spooler goes on with
                        // other work and comes back for the result.
                        match (behind, view.gate.clone()) {
                            (true, Some(g)) => self.queued = Some((eid, ti, g)),
                            _ => self.in_flight = Some((eid, ti)),
                        }
                        return Ok(StepDone {
                            outcome: StepOutcome::Waiting(format!(
                                "handed to {name}; waiting for its answer"
                            )),
                            next: Some(Step::Transmit),
                            disposal: Disposal::InFlight,
                        });
                    };
                    h
                } else {
                    crate::transport::guarded(|| t.submit_message(&view)).unwrap_or_else(|why| {
                        tr.call(
                            "IXPLogon::SubmitMessage",
                            format!("[{name}] {eid}"),
                            format!("panicked: {why}; the message is parked, the queue goes on"),
                        );
                        crate::transport::panicked(&name, &view.rows, &why)
                    })
                };
                if self.in_flight == Some((eid, ti)) {
                    // A background hand-off collected. The one queued behind it is already on
                    // the line and becomes the one under way; its gate is armed once this
                    // one's marks are journaled. Otherwise the next one starts before this
                    // message is finished, so the line stays busy (see `Spooler::pick`).
                    self.in_flight = None;
                    match self.queued.take() {
                        Some((q, qti, g)) => {
                            self.in_flight = Some((q, qti));
                            self.to_arm = Some(g);
                        }
                        None => self.lookahead = true,
                    }
                    collected = true;
                }
                let mut result = h.result.mapi_name();
                if h.result == SubmitResult::NotMe && t.status_code() & STATUS_OFFLINE != 0 {
                    // Say why an offline transport declined (unconfigured, or the
                    // deliver-for-real guard): the trace is where the user looks.
                    result = format!("{result} ({})", t.status_text());
                }
                tr.call_on_wire(
                    "IXPLogon::SubmitMessage",
                    format!("[{name}] {flags}, {eid}, {} row(s) FALSE", rows.len()),
                    result,
                    h.transcript.clone(),
                    h.kept.clone(),
                );
                if h.result == SubmitResult::Ok {
                    tr.call(
                        "IXPLogon::EndMessage",
                        format!("[{name}] {eid}"),
                        h.end.mapi_name(),
                    );
                    if h.end == EndFlag::ResendNow && resend_now < 3 && h.outcomes.is_empty() {
                        resend_now += 1;
                        continue;
                    }
                }
                break Some(h);
            };
            self.active_transport = None;
            let Some(h) = handoff else { continue };
            match h.result {
                SubmitResult::NotMe | SubmitResult::Cancel => continue,
                SubmitResult::Busy => {
                    claimed.extend(&rows);
                    wait = Some((name, 0, "MAPI_E_BUSY: the transport is busy".into()));
                    continue;
                }
                SubmitResult::Wait(s) => {
                    claimed.extend(&rows);
                    wait = Some((name, s, "MAPI_E_WAIT: temporary problem".into()));
                    continue;
                }
                SubmitResult::NetworkError(s, why) => {
                    claimed.extend(&rows);
                    wait = Some((name, s, format!("MAPI_E_NETWORK_ERROR: {why}")));
                    continue;
                }
                SubmitResult::Ok => {}
            }
            // Kept if the store refuses the marks (see `Spooler::unrecorded`).
            let answer = h.clone();
            let mut changed = Vec::new();
            for (row, outcome) in h.outcomes {
                if !rows.contains(&row) {
                    continue; // a transport may only answer for what it was offered
                }
                let Some(r) = msg.recipient_mut(row) else {
                    continue;
                };
                match outcome {
                    RowOutcome::Delivered(text) => {
                        r.props.set_bool(PR_RESPONSIBILITY, true);
                        r.props.set_time(PR_DELIVER_TIME, now);
                        // The transport's own words (SMTP: the server's 250 reply).
                        r.props.set_text(PR_REPORT_TEXT, text);
                        r.outcome = RecipientState::Delivered;
                    }
                    RowOutcome::Failed(text) => {
                        r.props.set_bool(PR_RESPONSIBILITY, true);
                        r.props.set_text(PR_REPORT_TEXT, text);
                        r.props.set_time(PR_REPORT_TIME, now);
                        r.outcome = RecipientState::Failed;
                    }
                    RowOutcome::Transient(text) => {
                        r.props.set_text(PR_REPORT_TEXT, text.clone());
                        r.outcome = RecipientState::Retrying;
                        claimed.insert(row);
                        wait = Some((name.clone(), 0, text));
                    }
                    RowOutcome::Unknown(text) => {
                        // Never silent: the trace names the row whose fate the server kept.
                        tr.call(
                            "IXPLogon::SubmitMessage",
                            format!("[{name}] row {row} ({})", r.email()),
                            text.clone(),
                        );
                        r.props.set_text(PR_REPORT_TEXT, text.clone());
                        r.outcome = RecipientState::OutcomeUnknown;
                        claimed.insert(row);
                        wait = Some((name.clone(), 0, text));
                    }
                }
                r.transport = Some(name.clone());
                changed.push(r.clone());
            }
            match h.end {
                EndFlag::Sent => {}
                EndFlag::ResendNow | EndFlag::ResendLater => {
                    claimed.extend(&rows);
                    wait = Some((
                        name.clone(),
                        0,
                        format!("{}: the transport asked to send later", h.end.mapi_name()),
                    ));
                }
                EndFlag::DontResend => {
                    claimed.extend(&rows);
                    deferred_by = Some(name.clone());
                }
            }
            if !changed.is_empty() {
                let remote = self.transports.get(ti).is_some_and(|t| t.remote());
                // Postfix marks each recipient done right after the hand-off; so do we.
                let events: Vec<Event> = changed
                    .iter()
                    .map(|r| Event::RecipientMarked {
                        eid,
                        row: r.row_id,
                        responsibility: r.responsibility(),
                        outcome: r.outcome.clone(),
                    })
                    .collect();
                let marked = self.store.patch_in_place(
                    eid,
                    Patch {
                        recipients: changed,
                        ..Patch::default()
                    },
                    // Group commit by transport. After a remote hand-off (a server, a fax line)
                    // an fsync costs nothing by comparison and the UI sees the flip at once.
                    // After a local one (null, pickup folder) the marks ride the message's next
                    // durable write (usually DoSentMail's), saving an fsync per message. Either
                    // way a mark is reported only once durable (the events wait in `held`), a
                    // crash can re-send only recipients never reported, and the decision does
                    // not depend on timing (a rerun passes the same fail points).
                    // Collected from a background hand-off, the next one (started before this
                    // message goes on) waits for the marks' fsync at its point of no return
                    // instead, and the fsync overlaps its dialogue with the server.
                    remote && !collected,
                );
                if let Err(e) = marked {
                    // The transport has answered (a server may have the message): the answer
                    // is kept, and recorded instead of a second hand-off once the store
                    // takes writes again.
                    self.keep_unrecorded(eid, &name, answer);
                    return Err(e);
                }
                self.unrecorded
                    .retain(|u| !(u.eid == eid && u.transport == name));
                if remote && collected {
                    self.marks_awaiting_sync = Some(eid);
                    // The next hand-off's gate, and the sync of these marks, start now. The
                    // gate waits for the marks of the hand-off *before* this one, not for
                    // these (see `durable::gate`, "two deep"): their fsync overlaps the next
                    // message's final dot instead of holding it back. The first time, with no
                    // hand-off before, it waits for these. A hand-off already queued has its
                    // deferred gate armed so.
                    let point = self.store.sync_point();
                    let before = self.marks_point.replace(point).unwrap_or(point);
                    match self.to_arm.take() {
                        Some(g) => {
                            self.store.arm_gate_at(&g, before);
                            self.early_gate = None;
                        }
                        None => self.early_gate = Some(self.store.gate_at(before)),
                    }
                    if let Err(e) = self.store.sync_journal_background() {
                        self.journal_sync_failed(&e);
                    }
                }
                for e in events {
                    self.emit(e);
                }
                self.flush_events();
            }
        }
        // Scan exhausted: whatever nobody took gets the spooler's own NDR (S10).
        for r in msg
            .recipients
            .iter_mut()
            .filter(|r| pending(r) && !claimed.contains(&r.row_id))
        {
            r.outcome = RecipientState::NoTransport;
            r.props.set_text(
                PR_REPORT_TEXT,
                format!(
                    "No transport provider was available for this recipient (address type {:?})",
                    r.addrtype()
                ),
            );
            r.props.set_time(PR_REPORT_TIME, now);
            r.transport = None;
        }
        if let Some(t) = deferred_by {
            msg.spool.deferred_by = Some(t.clone());
            unlock(msg, tr, "deferred by the transport");
            return Ok(StepDone {
                outcome: StepOutcome::Waiting(format!(
                    "{t} keeps the message (END_DONT_RESEND) and will call back"
                )),
                next: Some(Step::SetLockState),
                disposal: Disposal::Patch { sync: true },
            });
        }
        if let Some((t, retry_secs, reason)) = wait {
            let since = msg.spool.trouble_since.unwrap_or(now);
            let age = now.duration_since(since);
            if age >= secs(profile.retry.give_up_after_secs) {
                for r in msg
                    .recipients
                    .iter_mut()
                    .filter(|r| pending(r) && claimed.contains(&r.row_id))
                {
                    r.props.set_bool(PR_RESPONSIBILITY, true);
                    r.props.set_text(
                        PR_REPORT_TEXT,
                        format!(
                            "gave up after {} attempts over {age:#}: {reason}",
                            msg.spool.attempts + 1
                        ),
                    );
                    r.props.set_time(PR_REPORT_TIME, now);
                    r.outcome = RecipientState::Failed;
                }
                msg.spool = SpoolState {
                    preprocessed_by: msg.spool.preprocessed_by.clone(),
                    submission: msg.spool.submission,
                    ..SpoolState::default()
                };
                return Ok(StepDone {
                    outcome: StepOutcome::Done,
                    next: Some(Step::NonDeliveryReport),
                    disposal: Disposal::Patch { sync: true },
                });
            }
            msg.spool.attempts += 1;
            let delay = if retry_secs > 0 {
                retry_secs
            } else {
                profile.retry.delay_secs(msg.spool.attempts)
            };
            let at = now + secs(delay);
            msg.spool.trouble_since = Some(since);
            msg.spool.next_retry = Some(at);
            msg.spool.waiting_on = Some(t.clone());
            msg.spool.last_error = Some(reason.clone());
            // The time the table counts down to, stated once: the transport's own answer may
            // have left the delay to the policy ("retry in 0 s" read as a lie).
            tr.call(
                "spooler: schedule retry",
                format!("{t}, attempt {}", msg.spool.attempts),
                format!("retry at {} (in {delay} s)", at.strftime("%H:%M:%S")),
            );
            unlock(msg, tr, "waiting for a retry");
            self.emit(Event::RetryScheduled {
                eid,
                at,
                transport: t,
                reason: reason.clone(),
            });
            return Ok(StepDone {
                outcome: StepOutcome::Waiting(format!(
                    "{reason}; retry {} at {}",
                    msg.spool.attempts,
                    at.strftime("%H:%M:%S")
                )),
                next: Some(Step::SetLockState),
                disposal: Disposal::Patch { sync: true },
            });
        }
        msg.spool.next_retry = None;
        msg.spool.waiting_on = None;
        msg.spool.trouble_since = None;
        // The marks are durable (or gate the next hand-off); the step record can ride along
        // with the next sync (or the DoSentMail write).
        Ok(StepDone {
            outcome: StepOutcome::Done,
            next: Some(Step::NonDeliveryReport),
            disposal: Disposal::Patch { sync: false },
        })
    }
}
