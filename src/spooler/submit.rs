//! The client-side calls: `IMessage::SubmitMessage` (with `PrepareSubmit` and `ExpandRecips`,
//! and the tightly coupled store's own deliveries) and `IMsgStore::AbortSubmit`.
//! In MAPI these run in the store provider; here they are functions over the store.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};

use crate::mapi::flags::{
    MAPI_SUBMITTED, MSGFLAG_READ, MSGFLAG_RESEND, MSGFLAG_SUBMIT, MSGFLAG_UNSENT,
    SUBMITFLAG_PREPROCESS,
};
use crate::mapi::tags::{
    PR_CLIENT_SUBMIT_TIME, PR_DEFERRED_SEND_NUMBER, PR_DEFERRED_SEND_TIME, PR_DEFERRED_SEND_UNITS,
    PR_DELIVER_TIME, PR_MESSAGE_FLAGS, PR_PREPROCESS, PR_REPORT_TEXT, PR_RESPONSIBILITY,
    PR_SUBMIT_FLAGS,
};
use crate::mapi::{
    EntryId, MapiCode, MapiError, Message, MessageState, Recipient, RecipientState, SpoolState,
    Step, TraceCall,
};
use crate::profile::Profile;
use crate::spooler::error::{Result, SpoolerError};
use crate::store::{FolderKind, Store, StoreError};

/// The personal distribution list address type, expanded at submit.
pub const ADDRTYPE_PDL: &str = "MAPIPDL";

/// Checks a recipient row a client is about to submit; `None` when it is fine.
pub fn validate_recipient(r: &Recipient) -> Option<String> {
    let (addr, ty) = (r.email().trim(), r.addrtype().trim());
    if addr.is_empty() {
        return Some(format!("recipient {:?} has no address", r.display_name()));
    }
    if ty.is_empty() {
        return Some(format!(
            "recipient {addr:?} has no address type (PR_ADDRTYPE)"
        ));
    }
    if ty.eq_ignore_ascii_case("SMTP") && !is_smtp_address(addr) {
        return Some(format!(
            "{addr:?} is not a valid SMTP address (expected local-part@domain)"
        ));
    }
    None
}

/// What the composer refuses as you type, beyond [`validate_recipient`] (which is what
/// `SubmitMessage` checks): a FAX number that is not a number would only fail at the fax
/// preprocessor, so the window says so at once.
pub fn compose_problem(r: &Recipient) -> Option<String> {
    if let Some(why) = validate_recipient(r) {
        return Some(format!("MAPI_E_INVALID_PARAMETER: {why}"));
    }
    let addr = r.email().trim();
    if r.addrtype().trim().eq_ignore_ascii_case("FAX") {
        let digits = addr.chars().filter(char::is_ascii_digit).count();
        let odd = addr
            .chars()
            .any(|c| !(c.is_ascii_digit() || " +-()./".contains(c)));
        if odd || digits < 5 {
            return Some(format!(
                "MAPI_E_INVALID_PARAMETER: {addr:?} is not a fax number (digits, spaces and + - ( ) . / only, at least 5 digits)"
            ));
        }
    }
    None
}

/// A conservative check of `local@domain` (no spaces, one `@`, a dotted or `localhost` domain).
pub fn is_smtp_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',' || c == ';')
        && !local.contains('@')
        && domain.split('.').all(|p| !p.is_empty())
        && (domain.contains('.') || domain.eq_ignore_ascii_case("localhost"))
}

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
    let profile = store.profile().clone();
    let before = msg.clone();
    // The trace keeps every submission (numbered); the step history is this submission's.
    msg.history.clear();
    let submission = msg.spool.submission + 1;

    // ExpandRecips: personal distribution lists, then duplicates.
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

    trace(
        &mut msg,
        now,
        "IMessage::SaveChanges",
        "KEEP_OPEN_READWRITE".into(),
        "S_OK",
    );
    msg.props
        .add_flags(PR_MESSAGE_FLAGS, MSGFLAG_SUBMIT | MSGFLAG_UNSENT);
    msg.props.set_time(PR_CLIENT_SUBMIT_TIME, now);
    if let Some(at) = deferred_send_by_number(&msg, now) {
        // Reference a.5: PR_DEFERRED_SEND_NUMBER and _UNITS, when present, recompute
        // PR_DEFERRED_SEND_TIME from the submit time.
        msg.props.set_time(PR_DEFERRED_SEND_TIME, at);
    }
    // PrepareSubmit (resend): rows already received (MAPI_SUBMITTED) are shown but never sent
    // again, so they go TRUE at once. The docs disagree on this (reference a.8); TRUE is the
    // reading that keeps the product's promise "never sent twice" (README, MAPI notes).
    for r in &mut msg.recipients {
        r.props.remove(PR_REPORT_TEXT);
        r.props.remove(PR_DELIVER_TIME);
        r.transport = None;
        if msg.props.flags(PR_MESSAGE_FLAGS) & MSGFLAG_RESEND != 0 && r.is_submitted_marker() {
            r.props.set_bool(PR_RESPONSIBILITY, true);
            r.outcome = RecipientState::SkippedResend;
        } else {
            r.props.set_bool(PR_RESPONSIBILITY, false);
            r.outcome = RecipientState::Pending;
        }
    }
    if msg.is_resend() {
        trace(
            &mut msg,
            now,
            "IMAPISupport::PrepareSubmit",
            format!("{eid}"),
            "S_OK (MAPI_SUBMITTED rows marked TRUE)",
        );
    }
    let needs_pre = needs_preprocessing(&profile, &msg);
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
    trace(
        &mut msg,
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
    // The tightly coupled store delivers its own address type at once (reference a.4).
    let coupled: Vec<u32> = msg
        .recipients
        .iter()
        .filter(|r| {
            !r.responsibility() && profile.coupled_addrtypes.iter().any(|t| t == r.addrtype())
        })
        .map(|r| r.row_id)
        .collect();
    if !coupled.is_empty() {
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
            &mut msg,
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
                &mut msg,
                now,
                "IMAPISupport::CompleteMsg",
                format!("0, {eid}"),
                "S_OK",
            );
        }
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
    let mut changes = Vec::new();
    crate::mapi::value::diff(None, &before.props, &msg.props, &mut changes);
    for r in &msg.recipients {
        let empty = crate::mapi::PropBag::new();
        let b = before.recipient(r.row_id).map_or(&empty, |x| &x.props);
        crate::mapi::value::diff(Some(r.row_id), b, &r.props, &mut changes);
    }
    msg.history.push(crate::mapi::StepRecord {
        step: Step::SubmitMessage,
        started: now,
        micros: 0,
        outcome: crate::mapi::StepOutcome::Done,
        changes,
        rows_before: crate::spooler::steps::rows_before(&before, &msg),
    });
    store.save(&mut msg)?;
    Ok(msg)
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
    Some(now + SignedDuration::from_secs(i64::from(number) * unit_secs))
}

/// Expands `MAPIPDL` rows and drops duplicates (same address type and address).
///
/// A personal distribution list row keeps its members in `PR_EMAIL_ADDRESS` as
/// `Name=TYPE:address; TYPE:address; ...`.
pub fn expand_recipients(rows: &[Recipient]) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    let mut seen = HashSet::new();
    let mut next_row = rows.iter().map(|r| r.row_id + 1).max().unwrap_or(0);
    let mut push = |r: Recipient, out: &mut Vec<Recipient>| {
        let key = (
            r.addrtype().to_ascii_uppercase(),
            r.email().trim().to_ascii_lowercase(),
            r.is_p1(),
        );
        if seen.insert(key) {
            out.push(r);
        }
    };
    for r in rows {
        if r.addrtype().eq_ignore_ascii_case(ADDRTYPE_PDL) {
            for member in r
                .email()
                .split(';')
                .map(str::trim)
                .filter(|m| !m.is_empty())
            {
                let (name, rest) = member
                    .split_once('=')
                    .map_or(("", member), |(n, a)| (n.trim(), a.trim()));
                let (ty, addr) = rest.split_once(':').unwrap_or(("SMTP", rest));
                let mut m = Recipient::new(
                    next_row,
                    if name.is_empty() { addr } else { name },
                    addr,
                    ty.trim(),
                    r.kind(),
                );
                m.props
                    .set_flags(crate::mapi::tags::PR_RECIPIENT_TYPE, r.recipient_type());
                next_row += 1;
                push(m, &mut out);
            }
        } else {
            push(r.clone(), &mut out);
        }
    }
    out
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
    msg.spool = SpoolState {
        submission: msg.spool.submission,
        ..SpoolState::default()
    };
    msg.trace.push(TraceCall {
        at: now,
        step: Step::SubmitMessage,
        call: "IMsgStore::AbortSubmit".into(),
        args: format!("{eid}, 0"),
        result: "S_OK".into(),
        transcript: Vec::new(),
        bytes: None,
    });
    store.save(&mut msg)?;
    Ok(msg)
}

/// Saves a draft the user edited.
///
/// # Errors
/// `MAPI_E_NO_ACCESS` while the spooler has it locked, `MAPI_E_SUBMITTED` while it is
/// otherwise submitted (abort it first).
pub fn save_draft(store: &mut Store, mut draft: Message) -> Result<Message> {
    if let Some(s) = store.summary(draft.entry_id) {
        if s.is_locked() {
            // Reference a.5: opening a spooler-locked message fails MAPI_E_NO_ACCESS.
            return Err(MapiError::new(
                MapiCode::NoAccess,
                "the spooler has locked the message (SUBMITFLAG_LOCKED); it cannot be changed now",
            )
            .into());
        }
        if s.is_submitted() {
            return Err(MapiError::new(
                MapiCode::Submitted,
                "the message is submitted and read-only; use Abort submit to edit it",
            )
            .into());
        }
        if s.base_state != MessageState::Draft {
            // A stale editor of a message that was sent meanwhile: saving would turn the sent
            // message back into a draft (MSGFLAG_UNSENT) that could be submitted again.
            return Err(MapiError::new(
                MapiCode::NoAccess,
                format!(
                    "message {} is not a draft any more (it was sent): it is read-only; use Send again to send a new copy",
                    draft.entry_id
                ),
            )
            .into());
        }
        draft.folder = s.folder;
    }
    if store.folder(draft.folder).is_none() {
        draft.folder = store.folder_of(FolderKind::Outbox);
    }
    for a in &draft.attachments {
        if a.file_name.contains(['/', '\\']) || a.file_name == ".." {
            return Err(SpoolerError::AttachmentPath(a.file_name.clone()));
        }
    }
    clean_headers(&mut draft);
    draft.props.add_flags(PR_MESSAGE_FLAGS, MSGFLAG_UNSENT);
    draft
        .props
        .clear_flags(PR_MESSAGE_FLAGS, MSGFLAG_SUBMIT | MSGFLAG_READ);
    store.save(&mut draft)?;
    Ok(draft)
}

/// The window's Submit: saves what is on screen and submits it, only while the stored message
/// is still the unsent draft at the submission the editor saw (`seen`). Anything else (a
/// second click, an editor left open on a message that was sent meanwhile, a race with
/// another command) is refused with `MAPI_E_OBJECT_CHANGED` before anything is written.
///
/// # Errors
/// `MAPI_E_OBJECT_CHANGED` as above; what [`save_draft`] and [`submit_message`] return.
pub fn submit_draft(
    store: &mut Store,
    draft: Message,
    seen: u32,
    now: Timestamp,
) -> Result<Message> {
    let eid = draft.entry_id;
    let stored = store.peek(eid)?;
    let state = stored.state(now);
    if stored.spool.submission != seen || state != MessageState::Draft {
        let what = if state == MessageState::Draft {
            format!(
                "it was submitted {} time(s) since",
                stored.spool.submission.saturating_sub(seen)
            )
        } else {
            format!("it is {} now", state.label().to_lowercase())
        };
        return Err(MapiError::new(
            MapiCode::ObjectChanged,
            format!(
                "message {eid} changed since this editor opened it ({what}): not submitted again"
            ),
        )
        .into());
    }
    save_draft(store, draft)?;
    submit_message(store, eid, now)
}

/// "Send again": a new message with the content and recipients of `eid` (a sent message),
/// every recipient pending again, submitted. The original and its trace stay as they are.
///
/// # Errors
/// `MAPI_E_INVALID_PARAMETER` for a message that was not sent (submit or abort it instead);
/// submit errors.
pub fn send_again(store: &mut Store, eid: EntryId, now: Timestamp) -> Result<Message> {
    let orig = store.load(eid)?;
    if orig.state(now) != MessageState::Sent {
        return Err(MapiError::new(
            MapiCode::InvalidParameter,
            format!(
                "message {eid} is {}: only a sent message can be sent again",
                orig.state(now).label().to_lowercase()
            ),
        )
        .into());
    }
    let new = store.new_entry_id()?;
    let mut msg = Message::draft(new, store.folder_of(FolderKind::Outbox), orig.subject());
    msg.body.clone_from(&orig.body);
    msg.attachments.clone_from(&orig.attachments);
    for (key, value) in orig.props.iter() {
        if SEND_AGAIN_KEEPS.contains(&key) {
            msg.props.set(key, value.clone());
        }
    }
    msg.recipients = orig
        .recipients
        .iter()
        .filter(|r| !r.is_p1())
        .enumerate()
        .map(|(i, r)| {
            Recipient::new(
                u32::try_from(i).unwrap_or(u32::MAX),
                r.display_name(),
                r.email(),
                r.addrtype(),
                r.kind(),
            )
        })
        .collect();
    msg.props.set(
        crate::mapi::tags::PR_ORIGINAL_ENTRYID,
        crate::mapi::PropValue::Binary(orig.entry_id.to_bytes()),
    );
    store.save(&mut msg)?;
    submit_message(store, new, now)
}

/// What "Send again" copies besides subject, body, attachments and recipients: the disposal
/// and the report requests the user chose.
const SEND_AGAIN_KEEPS: [crate::mapi::tags::PropTag; 3] = [
    crate::mapi::tags::PR_SENTMAIL_ENTRYID,
    crate::mapi::tags::PR_DELETE_AFTER_SUBMIT,
    crate::mapi::tags::PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED,
];

/// Builds the resend of an NDR: a new message with `MSGFLAG_RESEND`, every recipient of the
/// original, the ones that got it marked `MAPI_SUBMITTED` (shown, never sent again), and
/// submits it.
///
/// # Errors
/// When `ndr` is not an NDR with an embedded original; submit errors.
pub fn resend(store: &mut Store, ndr: EntryId, now: Timestamp) -> Result<Message> {
    let report = store.load(ndr)?;
    let Some(orig) = report.embedded.as_deref() else {
        return Err(SpoolerError::NotAReport(ndr));
    };
    let failed: HashSet<(String, String)> = report
        .recipients
        .iter()
        .map(|r| (r.addrtype().to_owned(), r.email().to_owned()))
        .collect();
    let eid = store.new_entry_id()?;
    let mut msg = orig.clone();
    msg.entry_id = eid;
    msg.folder = store.folder_of(FolderKind::Outbox);
    msg.revision = 0;
    msg.spool = SpoolState::default();
    msg.history.clear();
    msg.trace.clear();
    msg.embedded = None;
    msg.props
        .set_flags(PR_MESSAGE_FLAGS, MSGFLAG_UNSENT | MSGFLAG_RESEND);
    msg.props.remove(PR_SUBMIT_FLAGS);
    msg.props.remove(PR_CLIENT_SUBMIT_TIME);
    msg.props.set(
        crate::mapi::tags::PR_ORIGINAL_ENTRYID,
        crate::mapi::PropValue::Binary(orig.entry_id.to_bytes()),
    );
    for r in &mut msg.recipients {
        let t = r.recipient_type() & !MAPI_SUBMITTED;
        let got_it = !failed.contains(&(r.addrtype().to_owned(), r.email().to_owned()));
        r.props.set_flags(
            crate::mapi::tags::PR_RECIPIENT_TYPE,
            if got_it { t | MAPI_SUBMITTED } else { t },
        );
        r.outcome = RecipientState::Pending;
    }
    store.save(&mut msg)?;
    submit_message(store, eid, now)
}

/// The largest file accepted as an attachment: the whole message is one JSON file, read
/// whole, so an attachment is limited to what a message file can sensibly hold.
pub const MAX_ATTACHMENT_BYTES: u64 = 50 << 20;

/// Attaches the file at `path` to draft `eid` (`PR_ATTACH_LONG_FILENAME` is the file's name
/// without any directory part; the MIME type comes from the extension).
///
/// # Errors
/// `MAPI_E_SUBMITTED` on a submitted message; a file that is missing, not a regular file or
/// larger than [`MAX_ATTACHMENT_BYTES`].
pub fn attach_file(store: &mut Store, eid: EntryId, path: &std::path::Path) -> Result<Message> {
    let mut msg = store.load(eid)?;
    if msg.is_submitted() {
        return Err(MapiError::new(
            MapiCode::Submitted,
            "the message is submitted and read-only; abort the submission to add attachments",
        )
        .into());
    }
    let md = std::fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
    if !md.is_file() {
        return Err(SpoolerError::NotAFile(path.to_path_buf()));
    }
    if md.len() > MAX_ATTACHMENT_BYTES {
        return Err(SpoolerError::AttachmentTooLarge {
            path: path.to_path_buf(),
            size: md.len(),
            limit: MAX_ATTACHMENT_BYTES,
        });
    }
    let data = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "..")
        .ok_or_else(|| SpoolerError::NoFileName(path.to_path_buf()))?;
    let mime_type = mime_for(&file_name).to_owned();
    msg.attachments.push(crate::mapi::Attachment {
        file_name,
        mime_type,
        data,
    });
    msg.props
        .add_flags(PR_MESSAGE_FLAGS, crate::mapi::flags::MSGFLAG_HASATTACH);
    store.save(&mut msg)?;
    Ok(msg)
}

/// What the composer typed, made fit for headers: no control character (a CR or LF pasted
/// into a name or the subject) in the subject or a display name, none (nor a bidirectional
/// override) in an attachment's file name.
pub fn clean_headers(msg: &mut Message) {
    use crate::eml::{clean_header_text, is_format_control};
    use crate::mapi::tags::{PR_DISPLAY_NAME, PR_SUBJECT};
    let subject = clean_header_text(msg.subject());
    if subject != msg.subject() {
        msg.props.set_text(PR_SUBJECT, subject);
    }
    for r in &mut msg.recipients {
        let name = clean_header_text(r.display_name());
        if name != r.display_name() {
            r.props.set_text(PR_DISPLAY_NAME, name);
        }
    }
    for a in &mut msg.attachments {
        if a.file_name
            .chars()
            .any(|c| c.is_control() || is_format_control(c))
        {
            a.file_name = a
                .file_name
                .chars()
                .filter(|c| !c.is_control() && !is_format_control(*c))
                .collect();
        }
    }
}

/// A MIME type from a file name's extension (`application/octet-stream` when unknown).
pub fn mime_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "csv" => "text/plain",
        "htm" | "html" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "json" => "application/json",
        "zip" => "application/zip",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    }
}
