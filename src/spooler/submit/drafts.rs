//! What the window does with a draft: save it, submit what is on screen, "Send again", resend
//! an NDR's failed rows, attach a file.

use std::collections::HashSet;

use jiff::Timestamp;

use crate::mapi::flags::{
    MAPI_SUBMITTED, MSGFLAG_READ, MSGFLAG_RESEND, MSGFLAG_SUBMIT, MSGFLAG_UNSENT,
};
use crate::mapi::tags::{PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_FLAGS, PR_SUBMIT_FLAGS};
use crate::mapi::{
    EntryId, MapiCode, MapiError, Message, MessageState, Recipient, RecipientState, SpoolState,
};
use crate::spooler::error::{Result, SpoolerError};
use crate::store::{FolderKind, Store, StoreError};

use super::submit_message;

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

/// "Send again": a new draft with the content and recipients of `eid` (a sent message), every
/// recipient pending again, to edit and submit (nothing is sent before). The original and its
/// trace stay as they are.
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
    Ok(msg)
}

/// What "Send again" copies besides subject, body, attachments and recipients: the disposal
/// and the report requests the user chose.
const SEND_AGAIN_KEEPS: [crate::mapi::tags::PropTag; 3] = [
    crate::mapi::tags::PR_SENTMAIL_ENTRYID,
    crate::mapi::tags::PR_DELETE_AFTER_SUBMIT,
    crate::mapi::tags::PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED,
];

/// Builds the resend of an NDR as a draft to fix and submit: a new message with
/// `MSGFLAG_RESEND`, every recipient of the original, the ones that got it marked
/// `MAPI_SUBMITTED` (shown, never sent again). Nothing is sent until it is submitted: a failed
/// address is corrected first (issue 28, item 5).
///
/// # Errors
/// When `ndr` is not an NDR with an embedded original; submit errors.
pub fn resend(store: &mut Store, ndr: EntryId) -> Result<Message> {
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
    // What the earlier submission's transports and preprocessors stamped is not the message's
    // (the NDR embeds the message as submitted, its preprocessors' additions taken out).
    msg.props.remove(crate::mapi::tags::PR_PROVIDER_SUBMIT_TIME);
    msg.props.remove(crate::mapi::tags::PR_PREPROCESS);
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
    Ok(msg)
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
    // Never waits on a FIFO put there after the check above.
    let data = crate::durable::fs::read_user_file(path, MAX_ATTACHMENT_BYTES)
        .map_err(|e| StoreError::io(path, e))?;
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
