//! Step 3, `Transmit`: offering the still-FALSE recipients to each transport in priority order.

use std::collections::HashSet;

use crate::mapi::flags::{STATUS_OFFLINE, STATUS_OUTBOUND_ENABLED};
use crate::mapi::tags::{
    PR_DELIVER_TIME, PR_PROVIDER_SUBMIT_TIME, PR_REPORT_TEXT, PR_REPORT_TIME, PR_RESPONSIBILITY,
    PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME,
};
use crate::mapi::{Message, RecipientState, SpoolState, Step, StepOutcome};
use crate::profile::Profile;
use crate::spooler::{Event, Spooler, pending};
use crate::store::{Patch, StoreError};
use crate::transport::{EndFlag, Handoff, RowOutcome, SubmitResult, SubmitView};

use super::{Disposal, StepDone, Tracer, secs, unlock};

/// The start of the report text of rows failed because the retry policy gave up on them.
pub(super) const GAVE_UP: &str = "gave up after";

/// The sender the transports send as, on the message they are offered (MS-OXOMSG: the
/// transport sets `PR_SENDER_*` on what it sends): the profile's sender, an SMTP address.
fn stamp_sender(msg: &mut Message, profile: &Profile) {
    if profile.sender_address.is_empty() {
        return;
    }
    if msg.props.text(PR_SENDER_EMAIL_ADDRESS) != Some(profile.sender_address.as_str()) {
        msg.props
            .set_text(PR_SENDER_EMAIL_ADDRESS, profile.sender_address.clone());
        msg.props.set_text(PR_SENDER_ADDRTYPE, "SMTP");
    }
    if !profile.sender_name.is_empty()
        && msg.props.text(PR_SENDER_NAME) != Some(profile.sender_name.as_str())
    {
        msg.props
            .set_text(PR_SENDER_NAME, profile.sender_name.clone());
    }
}

/// What the scan of the transports has found so far.
struct Scan {
    /// The time of the step, by the spooler's clock (one for every mark it makes).
    now: jiff::Timestamp,
    /// Rows a transport has taken (answered for, or keeps for a retry or callback): not
    /// offered to later transports, and not given the spooler's NDR.
    claimed: HashSet<u32>,
    /// (transport, its retry delay in seconds or 0 for the policy's, reason) of the last
    /// transport that asked to try again later.
    wait: Option<(String, u64, String)>,
    /// A transport itself asked to wait (busy, `MAPI_E_WAIT`, a network error, `END_RESEND_*`)
    /// rather than answering 4xx for some recipients: see [`SpoolState::transport_wait`].
    transport_wait: bool,
    /// The transport that keeps the message and will call back (`END_DONT_RESEND`).
    deferred_by: Option<String>,
}

/// What offering the rows to one transport came to.
enum Offered {
    /// Not offered (the transport went away meanwhile).
    Nothing,
    /// Under way on the transport's thread: the step waits for its answer.
    UnderWay(StepDone),
    /// The transport answered; `collected` when that answer came from a background hand-off.
    Answered { answer: Handoff, collected: bool },
}

impl Spooler {
    /// The bytes a hand-off kept under `sent/` count against the profile's cap (oldest go).
    fn cap_sent_copies(&mut self, h: &Handoff) {
        if let Some(kept) = &h.kept {
            let cap = self.store.profile().sent_copies_mib.saturating_mul(1 << 20);
            self.store.keep_sent_within(kept, cap);
        }
    }
}

/// When the transport gave answer `h`: `now` less the time since its thread answered (a
/// background hand-off collected later), else `now`.
fn answered_at(now: jiff::Timestamp, h: &Handoff) -> jiff::Timestamp {
    let ago = h
        .answered
        .map(|a| jiff::SignedDuration::try_from(a.elapsed()).unwrap_or_default())
        .unwrap_or_default();
    now.checked_sub(ago).unwrap_or(now)
}

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
        let now = self.now();
        let profile = self.store.profile().clone();
        let mut scan = Scan {
            now,
            claimed: HashSet::new(),
            wait: None,
            transport_wait: false,
            deferred_by: None,
        };
        let begin_deferred_for = msg.spool.begin_deferred.take();
        stamp_sender(msg, &profile);
        for ti in 0..self.transports.len() {
            let Some(name) = self.transports.get(ti).map(|t| t.name().to_owned()) else {
                continue;
            };
            let rows = self.rows_for(msg, ti, &name, &scan.claimed);
            if rows.is_empty() {
                continue;
            }
            if let Some(why) = self.not_outbound_enabled(ti) {
                // Reference e.20: SubmitMessage only to a transport whose status row has
                // STATUS_OUTBOUND_ENABLED; its rows pass to the next transport.
                tr.call(
                    "IXPLogon::SubmitMessage",
                    format!("[{name}] {}, {} row(s)", msg.entry_id, rows.len()),
                    format!(
                        "not called: STATUS_OUTBOUND_ENABLED is clear ({why}); the rows pass on"
                    ),
                );
                continue;
            }
            let begin_deferred = begin_deferred_for.as_deref() == Some(name.as_str());
            let (answer, collected) =
                match self.offer(msg, ti, &rows, begin_deferred, &profile, tr)? {
                    Offered::Nothing => continue,
                    Offered::UnderWay(done) => return Ok(done),
                    Offered::Answered { answer, collected } => (answer, collected),
                };
            match &answer.result {
                SubmitResult::NotMe | SubmitResult::Cancel => continue,
                SubmitResult::Busy => {
                    scan.claimed.extend(&rows);
                    scan.wait = Some((name, 0, "MAPI_E_BUSY: the transport is busy".into()));
                    scan.transport_wait = true;
                    continue;
                }
                SubmitResult::Wait(s) => {
                    scan.claimed.extend(&rows);
                    scan.wait = Some((name, *s, "MAPI_E_WAIT: temporary problem".into()));
                    scan.transport_wait = true;
                    continue;
                }
                SubmitResult::NetworkError(s, why) => {
                    scan.claimed.extend(&rows);
                    scan.wait = Some((name, *s, format!("MAPI_E_NETWORK_ERROR: {why}")));
                    scan.transport_wait = true;
                    continue;
                }
                SubmitResult::Ok => {}
            }
            if msg.props.value(PR_PROVIDER_SUBMIT_TIME).is_none() {
                // When a transport first took the message (MS-OXPROPS PidTagProviderSubmitTime).
                msg.props.set_time(PR_PROVIDER_SUBMIT_TIME, now);
            }
            self.record_answer(msg, ti, &name, &rows, answer, collected, &mut scan, tr)?;
        }
        // Scan exhausted: whatever nobody took gets the spooler's own NDR (S10).
        for r in msg
            .recipients
            .iter_mut()
            .filter(|r| pending(r) && !scan.claimed.contains(&r.row_id))
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
        if let Some(t) = scan.deferred_by {
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
        if let Some(wait) = scan.wait.take() {
            return Ok(self.retry_or_give_up(msg, wait, &scan, &profile, tr));
        }
        msg.spool.next_retry = None;
        msg.spool.waiting_on = None;
        msg.spool.transport_wait = false;
        msg.spool.trouble_since = None;
        // The marks are durable (or gate the next hand-off); the step record can ride along
        // with the next sync (or the DoSentMail write).
        Ok(StepDone {
            outcome: StepOutcome::Done,
            next: Some(Step::NonDeliveryReport),
            disposal: Disposal::Patch { sync: false },
        })
    }

    /// Why transport `ti` is not offered messages: its status lacks
    /// `STATUS_OUTBOUND_ENABLED` (disabled, not configured, guarded); `None` when it takes them.
    fn not_outbound_enabled(&self, ti: usize) -> Option<String> {
        let t = self.transports.get(ti)?;
        (t.status_code() & STATUS_OUTBOUND_ENABLED == 0).then(|| t.status_text())
    }

    /// The rows transport `ti` is offered: pending, not claimed by an earlier transport of
    /// this scan, of its address types, and not answered already by another transport whose
    /// answer the store has not recorded yet (they went already).
    fn rows_for(&self, msg: &Message, ti: usize, name: &str, claimed: &HashSet<u32>) -> Vec<u32> {
        let Some(t) = self.transports.get(ti) else {
            return Vec::new();
        };
        let eid = msg.entry_id;
        let elsewhere: HashSet<u32> = self
            .unrecorded
            .iter()
            .filter(|u| u.eid == eid && u.transport != name)
            .flat_map(|u| u.handoff.outcomes.iter().map(|(row, _)| *row))
            .collect();
        msg.recipients
            .iter()
            .filter(|r| pending(r) && !claimed.contains(&r.row_id))
            .filter(|r| !elsewhere.contains(&r.row_id))
            .filter(|r| t.address_types().iter().any(|a| a == r.addrtype()))
            .map(|r| r.row_id)
            .collect()
    }

    /// `IXPLogon::SubmitMessage` and `EndMessage` on transport `ti` for `rows`: the
    /// transport sees only those rows as FALSE. An answer it gave before, which the store
    /// refused to record, is recorded instead of a second hand-off; `END_RESEND_NOW` is
    /// honoured up to three times.
    fn offer(
        &mut self,
        msg: &Message,
        ti: usize,
        rows: &[u32],
        begin_deferred: bool,
        profile: &Profile,
        tr: &mut Tracer,
    ) -> Result<Offered, StoreError> {
        let eid = msg.entry_id;
        let Some(name) = self.transports.get(ti).map(|t| t.name().to_owned()) else {
            return Ok(Offered::Nothing);
        };
        // The transport's view: only its rows read FALSE (PidTagResponsibility page).
        let mut view_msg = msg.clone_head();
        for r in &mut view_msg.recipients {
            if !rows.contains(&r.row_id) {
                r.props.set_bool(PR_RESPONSIBILITY, true);
            }
        }
        self.active_transport = Some(ti);
        self.emit_status();
        self.flush_events();
        let mut view = SubmitView {
            msg: &view_msg,
            rows: rows.to_vec(),
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
        if let Some(answer) = self
            .unrecorded
            .iter()
            .find(|u| u.eid == eid && u.transport == name)
            .map(|u| u.handoff.clone())
        {
            tr.call(
                "IXPLogon::SubmitMessage",
                format!("[{name}] {eid}"),
                format!(
                    "not offered again: {name} answered before and the store refused its marks; recording that answer"
                ),
            );
            self.active_transport = None;
            return Ok(Offered::Answered {
                answer,
                collected: false,
            });
        }
        let mut resend_now = 0;
        let mut collected = false;
        let answer = loop {
            let start = self.handoff_start(eid, ti, resend_now > 0);
            let Some(t) = self.transports.get_mut(ti) else {
                self.active_transport = None;
                return Ok(Offered::Nothing);
            };
            // Write-ahead: the marks of the last background hand-off must be durable before
            // this one can deliver. A background hand-off waits for that at its point of no
            // return (the gate; the journal is synced right after it starts, while the
            // dialogue goes on); any other is preceded by the sync. Behind a hand-off under
            // way on this transport: queued, with a gate that stays shut until that one is
            // recorded (see `HandoffState`).
            let behind =
                resend_now == 0 && self.handoff.would_queue_behind(eid, ti) && t.queues_handoff();
            let gated = resend_now == 0 && t.gates_handoff(&view);
            view.gate = self.handoff.gate_for(&self.store, behind, gated);
            if !gated && self.handoff.marks_unsynced(&self.store) {
                self.store.sync_journal()?;
            }
            let panicked = |why: crate::transport::Panicked, tr: &mut Tracer| {
                tr.call(
                    "IXPLogon::SubmitMessage",
                    format!("[{name}] {eid}"),
                    format!("panicked: {why}; the message is parked, the queue goes on"),
                );
                crate::transport::panicked(&name, rows, &why)
            };
            let h = if resend_now == 0 {
                let started = crate::transport::guarded(|| t.start_submit(&view))
                    .unwrap_or_else(|why| Some(panicked(why, tr)));
                let Some(h) = started else {
                    // Under way on the transport's thread: the spooler goes on with other
                    // work and comes back for the result.
                    self.handoff.started(eid, ti, behind, view.gate.clone());
                    self.handoff_went_under_way(eid, ti, start);
                    return Ok(Offered::UnderWay(StepDone {
                        outcome: StepOutcome::Waiting(format!(
                            "handed to {name}; waiting for its answer"
                        )),
                        next: Some(Step::Transmit),
                        disposal: Disposal::InFlight,
                    }));
                };
                h
            } else {
                crate::transport::guarded(|| t.submit_message(&view))
                    .unwrap_or_else(|why| panicked(why, tr))
            };
            // A background hand-off collected: the one queued behind it is already on the
            // line and becomes the one under way; otherwise the next one starts before this
            // message is finished, so the line stays busy (see `Spooler::pick`).
            collected |= self.handoff.collected(eid, ti);
            let mut result = h.result.mapi_name();
            if h.result == SubmitResult::NotMe && t.status_code() & STATUS_OFFLINE != 0 {
                // Say why an offline transport declined (unconfigured, or the deliver-for-real
                // guard): the trace is where the user looks.
                result = format!("{result} ({})", t.status_text());
            }
            tr.call_on_wire(
                "IXPLogon::SubmitMessage",
                format!("[{name}] {flags}, {eid}, {} row(s) FALSE", rows.len()),
                result,
                h.transcript.clone(),
                h.kept.clone(),
            );
            tr.set_last_at(answered_at(tr.now(), &h));
            self.cap_sent_copies(&h);
            self.record_handoff(&view_msg, &name, rows, &h, start);
            if h.result == SubmitResult::Ok {
                tr.call(
                    "IXPLogon::EndMessage",
                    format!("[{name}] {eid}"),
                    h.end_text(),
                );
                if h.end == EndFlag::ResendNow && resend_now < 3 && h.outcomes.is_empty() {
                    resend_now += 1;
                    continue;
                }
            }
            break h;
        };
        self.active_transport = None;
        Ok(Offered::Answered { answer, collected })
    }

    /// Records transport `ti`'s answer for `rows` (S7): each row it answered for is marked
    /// (TRUE, with its outcome and the transport's own words), rows it keeps for later are
    /// claimed, and the marks are journaled before anything else can deliver.
    #[allow(
        clippy::too_many_arguments,
        reason = "the scan's state, passed down one level"
    )]
    fn record_answer(
        &mut self,
        msg: &mut Message,
        ti: usize,
        name: &str,
        rows: &[u32],
        h: Handoff,
        collected: bool,
        scan: &mut Scan,
        tr: &mut Tracer,
    ) -> Result<(), StoreError> {
        let eid = msg.entry_id;
        // The time the transport answered, not the time its answer was collected.
        let now = answered_at(scan.now, &h);
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
                    scan.claimed.insert(row);
                    scan.wait = Some((name.to_owned(), 0, text));
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
                    scan.claimed.insert(row);
                    scan.wait = Some((name.to_owned(), 0, text));
                }
            }
            r.transport = Some(name.to_owned());
            changed.push(r.clone());
        }
        match h.end {
            EndFlag::Sent => {}
            EndFlag::ResendNow | EndFlag::ResendLater => {
                scan.claimed.extend(rows);
                scan.transport_wait = true;
                scan.wait = Some((
                    name.to_owned(),
                    0,
                    format!("{}: the transport asked to send later", h.end.mapi_name()),
                ));
            }
            EndFlag::DontResend => {
                scan.claimed.extend(rows);
                scan.deferred_by = Some(name.to_owned());
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        self.journal_marks(eid, ti, name, changed, answer, collected)
    }

    /// Journals the recipient marks of one answer and reports them once durable. Postfix
    /// marks each recipient done right after the hand-off; so do we.
    fn journal_marks(
        &mut self,
        eid: crate::mapi::EntryId,
        ti: usize,
        name: &str,
        changed: Vec<crate::mapi::Recipient>,
        answer: Handoff,
        collected: bool,
    ) -> Result<(), StoreError> {
        let remote = self.transports.get(ti).is_some_and(|t| t.remote());
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
            // Group commit by transport. After a remote hand-off (a server, a fax line) an
            // fsync costs nothing by comparison and the UI sees the flip at once. After a
            // local one (null, pickup folder) the marks ride the message's next durable write
            // (usually DoSentMail's), saving an fsync per message. Either way a mark is
            // reported only once durable (the events wait in `held`), a crash can re-send
            // only recipients never reported, and the decision does not depend on timing (a
            // rerun passes the same fail points). Collected from a background hand-off, the
            // next one (started before this message goes on) waits for the marks' fsync at
            // its point of no return instead, and the fsync overlaps its dialogue with the
            // server.
            remote && !collected,
        );
        if let Err(e) = marked {
            // The transport has answered (a server may have the message): the answer is
            // kept, and recorded instead of a second hand-off once the store takes writes
            // again.
            self.keep_unrecorded(eid, name, answer);
            return Err(e);
        }
        self.unrecorded
            .retain(|u| !(u.eid == eid && u.transport == name));
        if remote && collected {
            // The next hand-off's gate, and the sync of these marks, start now.
            self.handoff.marks_journaled(&self.store, eid);
            if let Err(e) = self.store.sync_journal_background() {
                self.journal_sync_failed(&e);
            }
        }
        for e in events {
            self.emit(e);
        }
        self.flush_events();
        Ok(())
    }

    /// A transport asked to try again later (S8): the message waits for its retry, unlocked;
    /// or, past the policy's give-up time, the rows still waiting fail and get an NDR.
    fn retry_or_give_up(
        &mut self,
        msg: &mut Message,
        (t, retry_secs, reason): (String, u64, String),
        scan: &Scan,
        profile: &Profile,
        tr: &mut Tracer,
    ) -> StepDone {
        let eid = msg.entry_id;
        let now = scan.now;
        let since = msg.spool.trouble_since.unwrap_or(now);
        let age = now.duration_since(since);
        if age >= secs(profile.retry.give_up_after_secs) {
            for r in msg
                .recipients
                .iter_mut()
                .filter(|r| pending(r) && scan.claimed.contains(&r.row_id))
            {
                r.props.set_bool(PR_RESPONSIBILITY, true);
                r.props.set_text(
                    PR_REPORT_TEXT,
                    format!(
                        "{GAVE_UP} {} attempts over {age:#}: {reason}",
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
            return StepDone {
                outcome: StepOutcome::Done,
                next: Some(Step::NonDeliveryReport),
                disposal: Disposal::Patch { sync: true },
            };
        }
        msg.spool.attempts += 1;
        let delay = if retry_secs > 0 {
            retry_secs
        } else {
            profile.retry.delay_secs(msg.spool.attempts)
        };
        let at = crate::profile::check::after(now, delay);
        msg.spool.trouble_since = Some(since);
        msg.spool.next_retry = Some(at);
        msg.spool.waiting_on = Some(t.clone());
        msg.spool.transport_wait = scan.transport_wait;
        msg.spool.last_error = Some(reason.clone());
        // The time the table counts down to, stated once: the transport's own answer may have
        // left the delay to the policy ("retry in 0 s" read as a lie).
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
        StepDone {
            outcome: StepOutcome::Waiting(format!(
                "{reason}; retry {} at {}",
                msg.spool.attempts,
                at.strftime("%H:%M:%S")
            )),
            next: Some(Step::SetLockState),
            disposal: Disposal::Patch { sync: true },
        }
    }
}
