//! Messages and recipients in MAPI's own terms, plus the spooler's per-message bookkeeping
//! that the store keeps beside the properties.

mod id;
mod recipient;
mod spool;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::flags::{
    MSGFLAG_READ, MSGFLAG_RESEND, MSGFLAG_SUBMIT, MSGFLAG_UNSENT, SUBMITFLAG_LOCKED,
    SUBMITFLAG_PREPROCESS,
};
use super::tags::{
    PR_CLIENT_SUBMIT_TIME, PR_DEFERRED_SEND_TIME, PR_DELETE_AFTER_SUBMIT, PR_MESSAGE_CLASS,
    PR_MESSAGE_FLAGS, PR_SENTMAIL_ENTRYID, PR_SUBJECT, PR_SUBMIT_FLAGS,
};
use super::value::PropBag;

pub use id::{EntryId, IdHasher, IdMap, IdSet, ParseIdError};
pub use recipient::{Recipient, RecipientKind, RecipientState};
pub use spool::{RowBefore, SpoolState, StepOutcome, StepRecord, TraceCall};

/// The schema version this build writes; files with a higher one are quarantined, not guessed at.
pub const SCHEMA_VERSION: u32 = 1;

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `PR_ATTACH_LONG_FILENAME`, without any directory part.
    pub file_name: String,
    /// `PR_ATTACH_MIME_TAG`
    pub mime_type: String,
    /// `PR_ATTACH_DATA_BIN`, base64 on disk.
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// Where a message stands (reference section a.1), derived from its flags and bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MessageState {
    /// Not submitted; editable.
    Draft,
    /// Submitted, waiting for preprocessing.
    QueuedForPreprocess,
    /// Submitted, waiting for the spooler.
    Queued,
    /// Held by the user.
    Held,
    /// `PR_DEFERRED_SEND_TIME` is in the future.
    DeferredSend,
    /// The spooler holds the lock.
    Locked,
    /// A transport said "not now"; see `next_retry`.
    WaitingRetry,
    /// A transport keeps it (`END_DONT_RESEND`) until it calls back.
    DeferredByTransport,
    /// Finished: no longer submitted.
    Sent,
    /// A received message (Inbox) or a report.
    Received,
}

impl MessageState {
    /// Label for tables and the CLI.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::QueuedForPreprocess => "Queued (preprocess)",
            Self::Queued => "Queued",
            Self::Held => "Held",
            Self::DeferredSend => "Deferred send",
            Self::Locked => "Locked",
            Self::WaitingRetry => "Waiting retry",
            Self::DeferredByTransport => "Deferred by transport",
            Self::Sent => "Sent",
            Self::Received => "Received",
        }
    }

    /// True while the message is in the outgoing queue.
    pub const fn in_queue(self) -> bool {
        !matches!(self, Self::Draft | Self::Sent | Self::Received)
    }
}

/// One message: its properties, recipient table, attachments and the spooler's records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// [`SCHEMA_VERSION`] when written.
    pub schema: u32,
    /// `PR_ENTRYID`
    pub entry_id: EntryId,
    /// `PR_PARENT_ENTRYID`: the folder holding it.
    pub folder: EntryId,
    /// Bumped on every whole-file write; journal records name the revision they apply to.
    pub revision: u64,
    /// The message properties.
    pub props: PropBag,
    /// The recipient table.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The message body (`PR_BODY`), kept apart from the bag so tables stay light.
    #[serde(default)]
    pub body: String,
    /// The spooler's bookkeeping.
    #[serde(default)]
    pub spool: SpoolState,
    /// Recorded steps of the current (or last) submission.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StepRecord>,
    /// MAPI calls of the current (or last) submission.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceCall>,
    /// The message as submitted, embedded in an NDR (reports only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<Box<Message>>,
}

impl Message {
    /// A copy without the step history and the trace, which grow with every step and which
    /// neither a transport nor a comparison of two versions looks at.
    #[must_use]
    pub fn clone_head(&self) -> Self {
        Self {
            schema: self.schema,
            entry_id: self.entry_id,
            folder: self.folder,
            revision: self.revision,
            props: self.props.clone(),
            recipients: self.recipients.clone(),
            attachments: self.attachments.clone(),
            body: self.body.clone(),
            spool: self.spool.clone(),
            history: Vec::new(),
            trace: Vec::new(),
            embedded: self.embedded.clone(),
        }
    }

    /// A new draft (`MSGFLAG_UNSENT`), class `IPM.Note`.
    pub fn draft(entry_id: EntryId, folder: EntryId, subject: &str) -> Self {
        let mut props = PropBag::new();
        props.set_text(PR_MESSAGE_CLASS, "IPM.Note");
        props.set_text(PR_SUBJECT, subject);
        props.set_flags(PR_MESSAGE_FLAGS, MSGFLAG_UNSENT);
        Self {
            schema: SCHEMA_VERSION,
            entry_id,
            folder,
            revision: 0,
            props,
            recipients: Vec::new(),
            attachments: Vec::new(),
            body: String::new(),
            spool: SpoolState::default(),
            history: Vec::new(),
            trace: Vec::new(),
            embedded: None,
        }
    }

    /// `PR_SUBJECT`
    pub fn subject(&self) -> &str {
        self.props.text_or_empty(PR_SUBJECT)
    }

    /// `PR_MESSAGE_CLASS`
    pub fn message_class(&self) -> &str {
        self.props.text_or_empty(PR_MESSAGE_CLASS)
    }

    /// `PR_MESSAGE_FLAGS`
    pub fn message_flags(&self) -> u32 {
        self.props.flags(PR_MESSAGE_FLAGS)
    }

    /// `PR_SUBMIT_FLAGS`; `None` while not submitted (invariant e.2).
    pub fn submit_flags(&self) -> Option<u32> {
        self.props
            .value(PR_SUBMIT_FLAGS)
            .and_then(super::value::PropValue::as_u32)
    }

    /// `MSGFLAG_SUBMIT` is set.
    pub fn is_submitted(&self) -> bool {
        self.message_flags() & MSGFLAG_SUBMIT != 0
    }

    /// `SUBMITFLAG_LOCKED` is set.
    pub fn is_locked(&self) -> bool {
        self.submit_flags().unwrap_or(0) & SUBMITFLAG_LOCKED != 0
    }

    /// `MSGFLAG_RESEND` is set.
    pub fn is_resend(&self) -> bool {
        self.message_flags() & MSGFLAG_RESEND != 0
    }

    /// `PR_CLIENT_SUBMIT_TIME`
    pub fn client_submit_time(&self) -> Option<Timestamp> {
        self.props.time(PR_CLIENT_SUBMIT_TIME)
    }

    /// `PR_DEFERRED_SEND_TIME`
    pub fn deferred_send_time(&self) -> Option<Timestamp> {
        self.props.time(PR_DEFERRED_SEND_TIME)
    }

    /// `PR_SENTMAIL_ENTRYID` as a folder id.
    pub fn sentmail_folder(&self) -> Option<EntryId> {
        self.props
            .binary(PR_SENTMAIL_ENTRYID)
            .and_then(EntryId::from_bytes)
    }

    /// `PR_DELETE_AFTER_SUBMIT`
    pub fn delete_after_submit(&self) -> bool {
        self.props.boolean(PR_DELETE_AFTER_SUBMIT).unwrap_or(false)
    }

    /// The recipient with this row id.
    pub fn recipient(&self, row_id: u32) -> Option<&Recipient> {
        // Row ids are usually the row's index: look there first, so per-row loops over a
        // message with 10,000 recipients stay linear instead of quadratic.
        match self.recipients.get(row_id as usize) {
            Some(r) if r.row_id == row_id => Some(r),
            _ => self.recipients.iter().find(|r| r.row_id == row_id),
        }
    }

    /// The recipient with this row id, for change.
    pub fn recipient_mut(&mut self, row_id: u32) -> Option<&mut Recipient> {
        let i = match self.recipients.get(row_id as usize) {
            Some(r) if r.row_id == row_id => row_id as usize,
            _ => self.recipients.iter().position(|r| r.row_id == row_id)?,
        };
        self.recipients.get_mut(i)
    }

    /// The state, derived from the flags and the spooler's bookkeeping at time `now`.
    pub fn state(&self, now: Timestamp) -> MessageState {
        if !self.is_submitted() {
            // FinishedMsg sets MSGFLAG_READ on what it sent (as the SMS sample does); reports
            // and local deliveries arrive unread.
            let flags = self.message_flags();
            return if flags & MSGFLAG_UNSENT != 0 && !self.message_class().starts_with("REPORT.") {
                MessageState::Draft
            } else if flags & MSGFLAG_READ != 0 && !self.message_class().starts_with("REPORT.") {
                MessageState::Sent
            } else {
                MessageState::Received
            };
        }
        if self.is_locked() {
            return MessageState::Locked;
        }
        if self.spool.held {
            return MessageState::Held;
        }
        if self.spool.deferred_by.is_some() {
            return MessageState::DeferredByTransport;
        }
        if self.spool.next_retry.is_some() {
            return MessageState::WaitingRetry;
        }
        if self.deferred_send_time().is_some_and(|t| t > now) {
            return MessageState::DeferredSend;
        }
        if self.submit_flags().unwrap_or(0) & SUBMITFLAG_PREPROCESS != 0 {
            return MessageState::QueuedForPreprocess;
        }
        MessageState::Queued
    }

    /// `PR_DISPLAY_TO`-style text: the To recipients' names, `MAPI_P1` rows left out.
    pub fn display_to(&self) -> String {
        self.display_of(RecipientKind::To)
    }

    /// `PR_DISPLAY_TO`/`_CC`/`_BCC`-style text: the names (else addresses) of the rows of
    /// one kind, `MAPI_P1` rows left out.
    pub fn display_of(&self, kind: RecipientKind) -> String {
        self.recipients
            .iter()
            .filter(|r| !r.is_p1() && r.kind() == kind)
            .map(|r| {
                if r.display_name().is_empty() {
                    r.email()
                } else {
                    r.display_name()
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// (recipients with a final outcome, all recipients), `MAPI_P1` rows not counted.
    pub fn recipients_done(&self) -> (usize, usize) {
        let visible = self.recipients.iter().filter(|r| !r.is_p1());
        let (mut done, mut total) = (0, 0);
        for r in visible {
            total += 1;
            if r.outcome.is_final() {
                done += 1;
            }
        }
        (done, total)
    }
}
