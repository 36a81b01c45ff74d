//! The client-side calls: `IMessage::SubmitMessage` (with `PrepareSubmit` and `ExpandRecips`,
//! and the tightly coupled store's own deliveries) and `IMsgStore::AbortSubmit`.
//! In MAPI these run in the store provider; here they are functions over the store.
//! The recipient checks and `ExpandRecips` are in `recipients.rs`; what the window does with
//! a draft (save, submit what is on screen, send again, resend an NDR, attach) in
//! `drafts.rs`.

mod drafts;
mod recipients;

use jiff::{SignedDuration, Timestamp};

use crate::mapi::flags::{MAPI_SUBMITTED, MSGFLAG_SUBMIT, MSGFLAG_UNSENT, SUBMITFLAG_PREPROCESS};
use crate::mapi::tags::{
    PR_CLIENT_SUBMIT_TIME, PR_DEFERRED_SEND_NUMBER, PR_DEFERRED_SEND_TIME, PR_DEFERRED_SEND_UNITS,
    PR_DELIVER_TIME, PR_MESSAGE_FLAGS, PR_PREPROCESS, PR_RECIPIENT_TYPE, PR_REPORT_TEXT,
    PR_RESPONSIBILITY, PR_SUBMIT_FLAGS,
};
use crate::mapi::{
    EntryId, MapiCode, MapiError, Message, Recipient, RecipientState, SpoolState, Step, TraceCall,
};
use crate::profile::Profile;
use crate::spooler::error::Result;
use crate::store::{FolderKind, Store};

pub use drafts::{
    MAX_ATTACHMENT_BYTES, attach_file, clean_headers, mime_for, resend, save_draft, send_again,
    submit_draft,
};
pub use recipients::{
    ADDRTYPE_PDL, compose_problem, expand_recipients, is_smtp_address, validate_recipient,
};

fn trace(msg: &mut Message, at: Timestamp, call: &str, args: String, result: &str) {
    msg.trace.push(TraceCall {
        at,
        step: Step::SubmitMessage,
        call: call.into(),
        args,
        result: result.into(),
        transcript: Vec::new(),
        bytes: None,
    });
}

/// `IMessage::SubmitMessage` for message `eid`, at time `now`.
///
/// # Errors
/// `MAPI_E_NO_RECIPIENTS` for an empty recipient table, `MAPI_E_SUBMITTED` when already
/// submitted, `MAPI_E_INVALID_PARAMETER` for a malformed recipient; the message is then
/// unchanged and still editable.
pub fn submit_message(store: &mut Store, eid: EntryId, now: Timestamp) -> Result<Message> {
    let mut msg = store.load(eid)?;
    check_submittable(&msg)?;
    let profile = store.profile().clone();
    let before = msg.clone();
    // The trace keeps every submission (numbered); the step history is this submission's.
    msg.history.clear();
    let submission = msg.spool.submission + 1;
    let pdl_rows = expand_recips(&mut msg)?;
    trace(
        &mut msg,
        now,
        "IMessage::SaveChanges",
        "KEEP_OPEN_READWRITE".into(),
        "S_OK",
    );
    prepare_submit(&mut msg, now);
    mark_preprocessing(&mut msg, &profile, pdl_rows, now);
    match msg.deferred_send_time().filter(|t| *t > now) {
        // Deferred: the coupled store delivers when the message is sent, not now (its
        // recipients would get it before the time the user chose); see `Spooler::preprocess`.
        Some(at) if coupled_rows(&msg, &profile).next().is_some() => trace(
            &mut msg,
            now,
            "IMsgStore (coupled) deliver",
            format!("deferred until {}", at.strftime("%Y-%m-%d %H:%M:%S")),
            "not yet: the store delivers its rows when the message is sent",
        ),
        Some(_) => {}
        None => deliver_coupled(store, &mut msg, &before, &profile, now)?,
    }
    msg.spool = SpoolState {
        next_step: Some(Step::Preprocess),
        submission,
        ..SpoolState::default()
    };
    trace(
        &mut msg,
        now,
        "IMessage::SubmitMessage",
        format!("0 (submission {submission})"),
        "S_OK",
    );
    record_submission(&mut msg, &before, now);
    store.save(&mut msg)?;
    Ok(msg)
}

/// What `SubmitMessage` refuses before touching anything: a message already submitted, a
/// report, or one that was sent (`MSGFLAG_UNSENT` clear).
fn check_submittable(msg: &Message) -> Result<()> {
    let eid = msg.entry_id;
    if msg.is_submitted() {
        return Err(MapiError::new(
            MapiCode::Submitted,
            format!("message {eid} is already submitted"),
        )
        .into());
    }
    if msg.message_class().starts_with("REPORT.") {
        return Err(MapiError::new(
            MapiCode::NoSupport,
            "a report cannot be submitted; use Resend",
        )
        .into());
    }
    if msg.message_flags() & MSGFLAG_UNSENT == 0 {
        // FinishedMsg cleared MSGFLAG_UNSENT: sent (or received). Submitting it again would
        // send it twice; "Send again" makes a new message instead.
        return Err(MapiError::new(
            MapiCode::NoAccess,
            format!(
                "message {eid} is not an unsent draft (MSGFLAG_UNSENT is clear: it was sent); use Send again to send a new copy"
            ),
        )
        .into());
    }
    Ok(())
}

/// `ExpandRecips`: personal distribution lists, then duplicates; every row checked. Returns
/// how many lists were expanded.
fn expand_recips(msg: &mut Message) -> Result<usize> {
    let expanded = expand_recipients(&msg.recipients);
    if expanded.iter().all(Recipient::is_p1) {
        return Err(MapiError::new(
            MapiCode::NoRecipients,
            "the recipient table is empty: add at least one recipient",
        )
        .into());
    }
    for r in &expanded {
        if let Some(why) = validate_recipient(r) {
            return Err(MapiError::new(MapiCode::InvalidParameter, why).into());
        }
    }
    let pdl_rows = msg
        .recipients
        .iter()
        .filter(|r| r.addrtype().eq_ignore_ascii_case(ADDRTYPE_PDL))
        .count();
    msg.recipients = expanded;
    Ok(pdl_rows)
}

/// The submit flags and times, and `PrepareSubmit`: every row FALSE and pending, except the
/// rows already received (`MAPI_SUBMITTED`: a resend's, or those delivered before an abort),
/// shown but never sent again, which go TRUE at once. The docs disagree on this (reference
/// a.8); TRUE is the reading that keeps the product's promise "never sent twice" (README,
/// docs/mapi-notes.md).
fn prepare_submit(msg: &mut Message, now: Timestamp) {
    msg.props
        .add_flags(PR_MESSAGE_FLAGS, MSGFLAG_SUBMIT | MSGFLAG_UNSENT);
    msg.props.set_time(PR_CLIENT_SUBMIT_TIME, now);
    if let Some(at) = deferred_send_by_number(msg, now) {
        // Reference a.5: PR_DEFERRED_SEND_NUMBER and _UNITS, when present, recompute
        // PR_DEFERRED_SEND_TIME from the submit time.
        msg.props.set_time(PR_DEFERRED_SEND_TIME, at);
    }
    for r in &mut msg.recipients {
        if r.is_submitted_marker() {
            // Already received (a resend's original rows, or rows delivered before an
            // abort): shown, TRUE at once, never offered; their delivery record stays.
            r.props.set_bool(PR_RESPONSIBILITY, true);
            if !matches!(
                r.outcome,
                RecipientState::Delivered | RecipientState::HandledByStore
            ) {
                r.outcome = RecipientState::SkippedResend;
            }
        } else {
            r.props.remove(PR_REPORT_TEXT);
            r.props.remove(PR_DELIVER_TIME);
            r.transport = None;
            r.props.set_bool(PR_RESPONSIBILITY, false);
            r.outcome = RecipientState::Pending;
        }
    }
    if msg.is_resend() || msg.recipients.iter().any(Recipient::is_submitted_marker) {
        let eid = msg.entry_id;
        trace(
            msg,
            now,
            "IMAPISupport::PrepareSubmit",
            format!("{eid}"),
            "S_OK (MAPI_SUBMITTED rows marked TRUE)",
        );
    }
}

/// `ExpandRecips`'s result in the trace, and `NEEDS_PREPROCESSING` as `PR_PREPROCESS` and
/// `SUBMITFLAG_PREPROCESS` when a transport that will get a recipient has a preprocessor.
fn mark_preprocessing(msg: &mut Message, profile: &Profile, pdl_rows: usize, now: Timestamp) {
    let needs_pre = needs_preprocessing(profile, msg);
    let expand_result = format!(
        "S_OK ({} row(s){}{})",
        msg.recipients.len(),
        if pdl_rows > 0 {
            format!(", {pdl_rows} list(s) expanded")
        } else {
            String::new()
        },
        if needs_pre {
            ", NEEDS_PREPROCESSING"
        } else {
            ""
        }
    );
    let eid = msg.entry_id;
    trace(
        msg,
        now,
        "IMAPISupport::ExpandRecips",
        format!("{eid}"),
        &expand_result,
    );
    if needs_pre {
        msg.props.set_bool(PR_PREPROCESS, true);
        msg.props.set_flags(PR_SUBMIT_FLAGS, SUBMITFLAG_PREPROCESS);
    } else {
        msg.props.remove(PR_PREPROCESS);
        msg.props.set_flags(PR_SUBMIT_FLAGS, 0);
    }
}

/// The rows the tightly coupled store handles itself: FALSE, of its address types.
pub(crate) fn coupled_rows<'a>(
    msg: &'a Message,
    profile: &'a Profile,
) -> impl Iterator<Item = u32> + 'a {
    msg.recipients
        .iter()
        .filter(|r| {
            !r.responsibility() && profile.coupled_addrtypes.iter().any(|t| t == r.addrtype())
        })
        .map(|r| r.row_id)
}

/// The tightly coupled store delivers its own address type at once (reference a.4): a copy
/// of the message (as it was before this submission) into the Inbox, those rows TRUE. A
/// message deferred to a later time is delivered when the spooler takes it up
/// (`Spooler::preprocess`).
pub(crate) fn deliver_coupled(
    store: &mut Store,
    msg: &mut Message,
    before: &Message,
    profile: &Profile,
    now: Timestamp,
) -> Result<()> {
    let eid = msg.entry_id;
    let coupled: Vec<u32> = coupled_rows(msg, profile).collect();
    if coupled.is_empty() {
        return Ok(());
    }
    let inbox = store.folder_of(FolderKind::Inbox);
    let copy_id = store.new_entry_id()?;
    let mut copy = before.clone();
    copy.entry_id = copy_id;
    copy.folder = inbox;
    copy.trace.clear();
    copy.history.clear();
    copy.spool = SpoolState::default();
    copy.props.set_flags(PR_MESSAGE_FLAGS, 0);
    copy.props.set_time(PR_CLIENT_SUBMIT_TIME, now);
    stamp_delivery(&mut copy, profile, now);
    store.save(&mut copy)?;
    for row in &coupled {
        if let Some(r) = msg.recipient_mut(*row) {
            r.props.set_bool(PR_RESPONSIBILITY, true);
            r.props.set_time(PR_DELIVER_TIME, now);
            r.outcome = RecipientState::HandledByStore;
            r.transport = Some("store".into());
        }
    }
    trace(
        msg,
        now,
        "IMsgStore (coupled) deliver",
        format!(
            "{} EX row(s) into Inbox as message {copy_id}",
            coupled.len()
        ),
        "S_OK (PR_RESPONSIBILITY TRUE)",
    );
    if msg.recipients.iter().all(Recipient::responsibility) {
        // Everyone handled: ask the spooler for postprocessing so hooks still run.
        trace(
            msg,
            now,
            "IMAPISupport::CompleteMsg",
            format!("0, {eid}"),
            "S_OK",
        );
    }
    Ok(())
}

/// What the store stamps on a local delivery, as a transport stamps what it receives: the
/// sender (the profile's identity) and the delivery time.
fn stamp_delivery(copy: &mut Message, profile: &Profile, now: Timestamp) {
    use crate::mapi::tags::{
        PR_MESSAGE_DELIVERY_TIME, PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME,
    };
    copy.props.set_time(PR_MESSAGE_DELIVERY_TIME, now);
    if !profile.sender_name.trim().is_empty() {
        copy.props
            .set_text(PR_SENDER_NAME, profile.sender_name.trim());
    }
    if !profile.sender_address.trim().is_empty() {
        copy.props
            .set_text(PR_SENDER_EMAIL_ADDRESS, profile.sender_address.trim());
        copy.props.set_text(PR_SENDER_ADDRTYPE, "SMTP");
    }
}

/// The submission's own step record: what `SubmitMessage` changed, for time travel.
fn record_submission(msg: &mut Message, before: &Message, now: Timestamp) {
    let mut changes = Vec::new();
    crate::mapi::value::diff(None, &before.props, &msg.props, &mut changes);
    for r in &msg.recipients {
        let empty = crate::mapi::PropBag::new();
        let b = before.recipient(r.row_id).map_or(&empty, |x| &x.props);
        crate::mapi::value::diff(Some(r.row_id), b, &r.props, &mut changes);
    }
    let rows_before = crate::spooler::steps::rows_before(before, msg);
    msg.history.push(crate::mapi::StepRecord {
        step: Step::SubmitMessage,
        started: now,
        micros: 0,
        outcome: crate::mapi::StepOutcome::Done,
        changes,
        rows_before,
    });
}

/// `PR_CLIENT_SUBMIT_TIME + PR_DEFERRED_SEND_NUMBER × unit` (`PR_DEFERRED_SEND_UNITS`: 0
/// minutes, 1 hours, 2 days, 3 weeks; the number 0..=999); `None` unless both are set and valid.
fn deferred_send_by_number(msg: &Message, now: Timestamp) -> Option<Timestamp> {
    let number = msg
        .props
        .long(PR_DEFERRED_SEND_NUMBER)
        .filter(|n| (0..=999).contains(n))?;
    let unit_secs: i64 = match msg.props.long(PR_DEFERRED_SEND_UNITS)? {
        0 => 60,
        1 => 3600,
        2 => 86_400,
        3 => 604_800,
        _ => return None,
    };
    now.checked_add(SignedDuration::from_secs(i64::from(number) * unit_secs))
        .ok()
}

/// `NEEDS_PREPROCESSING`: a transport that will receive a recipient registered a preprocessor.
fn needs_preprocessing(profile: &Profile, msg: &Message) -> bool {
    msg.recipients
        .iter()
        .filter(|r| !r.responsibility())
        .any(|r| {
            if profile.coupled_addrtypes.iter().any(|t| t == r.addrtype()) {
                return false;
            }
            profile
                .transports
                .iter()
                .find(|t| t.enabled && t.address_types.iter().any(|a| a == r.addrtype()))
                .is_some_and(|t| t.kind.registers_preprocessor())
        })
}

/// `IMsgStore::AbortSubmit`: returns a queued, unlocked message to an editable draft.
///
/// # Errors
/// `MAPI_E_NOT_IN_QUEUE` when not submitted, `MAPI_E_UNABLE_TO_ABORT` once locked.
pub fn abort_submit(store: &mut Store, eid: EntryId, now: Timestamp) -> Result<Message> {
    let mut msg = store.load(eid)?;
    if !msg.is_submitted() {
        return Err(MapiError::new(
            MapiCode::NotInQueue,
            format!("message {eid} is not in the outgoing queue"),
        )
        .into());
    }
    if msg.is_locked() {
        return Err(MapiError::new(
            MapiCode::UnableToAbort,
            format!("message {eid} is locked by the spooler (SUBMITFLAG_LOCKED): a transport may already have it"),
        )
        .into());
    }
    msg.props.clear_flags(PR_MESSAGE_FLAGS, MSGFLAG_SUBMIT);
    msg.props.add_flags(PR_MESSAGE_FLAGS, MSGFLAG_UNSENT);
    msg.props.remove(PR_SUBMIT_FLAGS);
    msg.props.remove(PR_PREPROCESS);
    // A draft again: no longer submitted, so no submit time (the trace keeps when it was).
    msg.props.remove(PR_CLIENT_SUBMIT_TIME);
    let kept = keep_delivered_rows(&mut msg);
    let deferred_by = msg.spool.deferred_by.take();
    msg.spool = SpoolState {
        submission: msg.spool.submission,
        ..SpoolState::default()
    };
    let result = if kept > 0 {
        format!(
            "S_OK ({kept} recipient(s) already delivered are marked MAPI_SUBMITTED: shown, never sent again)"
        )
    } else {
        "S_OK".to_owned()
    };
    trace(
        &mut msg,
        now,
        "IMsgStore::AbortSubmit",
        format!("{eid}, 0"),
        &result,
    );
    if let Some(t) = deferred_by {
        // Reference e.18: the transport that deferred the message is told to drop it.
        trace(
            &mut msg,
            now,
            "IXPLogon::TransportNotify",
            format!("[{t}] NOTIFY_ABORT_DEFERRED | NOTIFY_CANCEL_MESSAGE, {eid}"),
            "S_OK",
        );
    }
    store.save(&mut msg)?;
    Ok(msg)
}

/// A message aborted after some recipients got it (a partly delivered message waiting for a
/// retry) must not send to them again when it is submitted again: `SubmitMessage` resets
/// every row. The rows already delivered (by a transport or the coupled store) keep their
/// outcome and are marked `MAPI_SUBMITTED`, as a resend marks the rows that got the
/// original, so `PrepareSubmit` sets them TRUE at once (docs/mapi-notes.md, "Abort after a
/// partial delivery"). Returns how many were kept.
fn keep_delivered_rows(msg: &mut Message) -> usize {
    let mut kept = 0;
    for r in &mut msg.recipients {
        if matches!(
            r.outcome,
            RecipientState::Delivered | RecipientState::HandledByStore
        ) && !r.is_submitted_marker()
        {
            let ty = r.recipient_type();
            r.props.set_flags(PR_RECIPIENT_TYPE, ty | MAPI_SUBMITTED);
            kept += 1;
        }
    }
    kept
}
