//! Messages and recipients in MAPI's own terms, plus the spooler's per-message bookkeeping
//! that the store keeps beside the properties.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::flags::{
    MAPI_BCC, MAPI_CC, MAPI_P1, MAPI_SUBMITTED, MAPI_TO, MSGFLAG_READ, MSGFLAG_RESEND,
    MSGFLAG_SUBMIT, MSGFLAG_UNSENT, SUBMITFLAG_LOCKED, SUBMITFLAG_PREPROCESS,
};
use super::step::Step;
use super::tags::{
    PR_ADDRTYPE, PR_CLIENT_SUBMIT_TIME, PR_DEFERRED_SEND_TIME, PR_DELETE_AFTER_SUBMIT,
    PR_DISPLAY_NAME, PR_EMAIL_ADDRESS, PR_MESSAGE_CLASS, PR_MESSAGE_FLAGS, PR_RECIPIENT_TYPE,
    PR_REPORT_TEXT, PR_RESPONSIBILITY, PR_SENTMAIL_ENTRYID, PR_SUBJECT, PR_SUBMIT_FLAGS,
};
use super::value::PropBag;

/// The schema version this build writes; files with a higher one are quarantined, not guessed at.
pub const SCHEMA_VERSION: u32 = 1;

/// An entry id: never reused within a store. Messages and folders share the number space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub u64);

impl EntryId {
    /// The `PT_BINARY` form stored in properties such as `PR_SENTMAIL_ENTRYID`.
    pub fn to_bytes(self) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }

    /// Reads the `PT_BINARY` form; `None` when it is not 8 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(Self(u64::from_be_bytes(b.try_into().ok()?)))
    }

    /// The file stem used on disk: zero-padded so a directory listing sorts by id.
    pub fn file_stem(self) -> String {
        format!("{:010}", self.0)
    }
}

/// Hashes an [`EntryId`] by one multiplication (Fibonacci hashing). Ids are handed out by
/// the store itself, so there is no adversary to guard against with `SipHash`, and the
/// spooler looks ids up several times per step.
#[derive(Clone, Copy, Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by entry id, hashed with [`IdHasher`].
pub type IdMap<V> = std::collections::HashMap<EntryId, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A set of entry ids, hashed with [`IdHasher`].
pub type IdSet = std::collections::HashSet<EntryId, std::hash::BuildHasherDefault<IdHasher>>;

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for EntryId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().trim_start_matches('#');
        t.parse::<u64>()
            .map(Self)
            .map_err(|_| format!("{s:?} is not a message id (a number such as 42)"))
    }
}

/// What became of one recipient (reference section a.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecipientState {
    /// `PR_RESPONSIBILITY` FALSE: no transport has taken it yet.
    #[default]
    Pending,
    /// A transport delivered it (TRUE).
    Delivered,
    /// A transport (or a preprocessor) failed it for good (TRUE); an NDR follows.
    Failed,
    /// No transport accepted it; the spooler writes the NDR (FALSE at the end of the scan).
    NoTransport,
    /// The tightly coupled store delivered it in `SubmitMessage` (TRUE).
    HandledByStore,
    /// `MAPI_SUBMITTED` on a resend: shown, never sent again.
    SkippedResend,
    /// Transient trouble (4xx, busy): still FALSE, retried later.
    Retrying,
    /// The connection dropped after the final DATA dot: the server may or may not have it.
    /// Retried (at-least-once, as Postfix does) and shown as such.
    OutcomeUnknown,
}

impl RecipientState {
    /// True for the states in which the recipient needs nothing more (invariant e.12).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Delivered
                | Self::Failed
                | Self::NoTransport
                | Self::HandledByStore
                | Self::SkippedResend
        )
    }

    /// True for the states that put the recipient in a non-delivery report.
    pub fn needs_ndr(&self) -> bool {
        matches!(self, Self::Failed | Self::NoTransport)
    }

    /// Short label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::NoTransport => "no transport",
            Self::HandledByStore => "delivered by store",
            Self::SkippedResend => "already sent",
            Self::Retrying => "retrying",
            Self::OutcomeUnknown => "outcome unknown",
        }
    }
}

/// One row of the recipient table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    /// `PR_ROWID`: stable within the message.
    pub row_id: u32,
    /// The row's properties (`PR_DISPLAY_NAME`, `PR_EMAIL_ADDRESS`, `PR_ADDRTYPE`,
    /// `PR_RECIPIENT_TYPE`, `PR_RESPONSIBILITY`, `PR_REPORT_TEXT`, `PR_DELIVER_TIME`, ...).
    pub props: PropBag,
    /// The outcome so far.
    #[serde(default)]
    pub outcome: RecipientState,
    /// The transport (or "store", or a preprocessor) that took the row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
}

/// To, Cc or Bcc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipientKind {
    /// `MAPI_TO`
    To,
    /// `MAPI_CC`
    Cc,
    /// `MAPI_BCC`
    Bcc,
}

impl RecipientKind {
    /// The `PR_RECIPIENT_TYPE` value.
    pub const fn mapi(self) -> u32 {
        match self {
            Self::To => MAPI_TO,
            Self::Cc => MAPI_CC,
            Self::Bcc => MAPI_BCC,
        }
    }

    /// Reads the low part of `PR_RECIPIENT_TYPE`.
    pub fn from_mapi(v: u32) -> Self {
        match v & 0xFF {
            MAPI_CC => Self::Cc,
            MAPI_BCC => Self::Bcc,
            _ => Self::To,
        }
    }

    /// "To", "Cc", "Bcc".
    pub const fn label(self) -> &'static str {
        match self {
            Self::To => "To",
            Self::Cc => "Cc",
            Self::Bcc => "Bcc",
        }
    }
}

impl Recipient {
    /// A new row with the client-side columns set.
    pub fn new(
        row_id: u32,
        name: &str,
        address: &str,
        addrtype: &str,
        kind: RecipientKind,
    ) -> Self {
        let mut props = PropBag::new();
        props.set_text(PR_DISPLAY_NAME, name);
        props.set_text(PR_EMAIL_ADDRESS, address);
        props.set_text(PR_ADDRTYPE, addrtype);
        props.set_flags(PR_RECIPIENT_TYPE, kind.mapi());
        Self {
            row_id,
            props,
            outcome: RecipientState::Pending,
            transport: None,
        }
    }

    /// `PR_DISPLAY_NAME`
    pub fn display_name(&self) -> &str {
        self.props.text_or_empty(PR_DISPLAY_NAME)
    }

    /// `PR_EMAIL_ADDRESS`
    pub fn email(&self) -> &str {
        self.props.text_or_empty(PR_EMAIL_ADDRESS)
    }

    /// `PR_ADDRTYPE`
    pub fn addrtype(&self) -> &str {
        self.props.text_or_empty(PR_ADDRTYPE)
    }

    /// `PR_RECIPIENT_TYPE` bits.
    pub fn recipient_type(&self) -> u32 {
        self.props.flags(PR_RECIPIENT_TYPE)
    }

    /// To/Cc/Bcc.
    pub fn kind(&self) -> RecipientKind {
        RecipientKind::from_mapi(self.recipient_type())
    }

    /// `MAPI_P1`: an envelope-only resend row, never shown as a content recipient.
    pub fn is_p1(&self) -> bool {
        self.recipient_type() & MAPI_P1 != 0
    }

    /// `MAPI_SUBMITTED`: the recipient already received the message.
    pub fn is_submitted_marker(&self) -> bool {
        self.recipient_type() & MAPI_SUBMITTED != 0
    }

    /// `PR_RESPONSIBILITY` (absent reads as FALSE).
    pub fn responsibility(&self) -> bool {
        self.props.boolean(PR_RESPONSIBILITY).unwrap_or(false)
    }

    /// `PR_REPORT_TEXT`
    pub fn report_text(&self) -> Option<&str> {
        self.props.text(PR_REPORT_TEXT)
    }

    /// "Name <address>" or just the address.
    pub fn label(&self) -> String {
        let (n, a) = (self.display_name(), self.email());
        if n.is_empty() || n == a {
            a.to_owned()
        } else {
            format!("{n} <{a}>")
        }
    }
}

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

/// How one step ended, for the step bar and the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum StepOutcome {
    /// The step ran to its end.
    Done,
    /// The step does not apply to this message (e.g. Preprocess without `SUBMITFLAG_PREPROCESS`).
    Skipped,
    /// The step must run again later (transient trouble); the text says why.
    Waiting(String),
    /// The step failed; the text names the MAPI error.
    Failed(String),
}

/// One recorded step of one message: what ran, when, and which properties it changed.
/// Applying the changes backwards gives the message as it was before the step (time travel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step.
    pub step: Step,
    /// When it started.
    pub started: Timestamp,
    /// How long it took, in microseconds.
    pub micros: u64,
    /// How it ended.
    pub outcome: StepOutcome,
    /// The property changes it made (message and recipient rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<super::value::PropChange>,
    /// The spooler's own columns (outcome, transport) of each row this step changed, as
    /// they were before it, so time travel shows every recipient column as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows_before: Vec<RowBefore>,
}

/// A recipient row's spooler columns before a step changed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowBefore {
    /// `PR_ROWID`
    pub row: u32,
    /// The outcome before the step.
    pub outcome: RecipientState,
    /// The transport before the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
}

/// One MAPI call as the trace shows it: `IMsgStore::SetLockState(42, MSG_LOCKED) -> S_OK`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceCall {
    /// When it was made.
    pub at: Timestamp,
    /// The step it belongs to.
    pub step: Step,
    /// `Interface::Method`.
    pub call: String,
    /// The arguments, as text.
    pub args: String,
    /// `S_OK`, an error name, or a result description.
    pub result: String,
    /// What went over the wire during the call (an SMTP hand-off: greeting to the reply after
    /// the final dot, AUTH's arguments never shown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<String>,
    /// The exact bytes the call handed over, kept under the store (`sent/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
}

impl fmt::Display for TraceCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({}) -> {}", self.call, self.args, self.result)
    }
}

/// The spooler's bookkeeping for a message, kept beside its properties.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpoolState {
    /// The next step to run while submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<Step>,
    /// Not eligible before this time (transient trouble); the transport it waits on is below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry: Option<Timestamp>,
    /// The transport that asked to be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    /// When transient trouble started (for giving up after the configured age).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trouble_since: Option<Timestamp>,
    /// Transient attempts so far (drives the backoff).
    #[serde(default)]
    pub attempts: u32,
    /// The transport holding the message after `END_DONT_RESEND`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_by: Option<String>,
    /// The last error seen, for the UI ("why did it fail").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Preprocessors that ran, in order, so `RemovePreprocessInfo` undoes exactly those.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preprocessed_by: Vec<String>,
    /// Held by the user: not sent until released.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// The transport to re-offer a deferred message to with `BEGIN_DEFERRED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_deferred: Option<String>,
    /// The NDR already written for this submission (so a replayed step never writes two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndr: Option<EntryId>,
    /// Set when the spooler started `FinishedMsg`: a restart completes the disposal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finishing: bool,
    /// How many times the message was submitted (`IMessage::SubmitMessage`), kept across
    /// steps, aborts and its filing. A window's editor names the submission it saw, so a stale
    /// editor, a double click or a race can never submit one draft twice.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub submission: u32,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
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
        self.recipients
            .iter()
            .filter(|r| !r.is_p1() && r.kind() == RecipientKind::To)
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
