//! The contract between the UI (or CLI) and the spooler worker: commands in, events out.

use std::path::PathBuf;

use jiff::Timestamp;

use crate::mapi::{EntryId, Message, RecipientState, Step, StepOutcome, TraceCall};
use crate::profile::{FaultConfig, Profile};
use crate::store::{Folder, Summary};
use crate::transport::credentials::{PasswordState, Secret};
use crate::transport::smtp::ProbeReport;

/// What the UI or CLI asks the spooler to do.
#[derive(Clone, Debug)]
pub enum Command {
    /// `IMessage::SubmitMessage` on a draft (refused for a message that is not an unsent
    /// draft, so a sent message is never submitted again: see [`Command::SendAgain`]).
    Submit(EntryId),
    /// An editor's Submit: save what is on screen, then submit it, only if the stored
    /// message is still an unsent draft at the submission the editor saw (`seen`, the
    /// message's `spool.submission` when the editor opened it). A stale editor, a second click
    /// or a race is refused with `MAPI_E_OBJECT_CHANGED` and sends nothing.
    SubmitDraft {
        /// What is on screen.
        draft: Box<Message>,
        /// The submission number the editor saw.
        seen: u32,
    },
    /// Send a sent message again: a new draft with the same content and recipients, to edit
    /// and submit ([`Event::DraftCreated`]); the original and its trace stay as they are.
    SendAgain(EntryId),
    /// `IMsgStore::AbortSubmit`.
    AbortSubmit(EntryId),
    /// Send this message now: submit a draft, release a hold, ignore its retry timer
    /// (refused for a sent message: see [`Command::SendAgain`]).
    SendNow(EntryId),
    /// Send/Receive (F9): every eligible message now, retry timers ignored.
    Flush,
    /// Stop after the current step.
    Pause,
    /// Run freely (same as Continue).
    Resume,
    /// Run exactly one step, then stop again (F10).
    Step,
    /// Run until the next breakpoint (F5).
    Continue,
    /// Set or clear a breakpoint before a step.
    SetBreakpoint(Step, bool),
    /// Change one transport's fault injection.
    SetFaults(String, FaultConfig),
    /// Replace the profile (transports are rebuilt).
    SaveProfile(Box<Profile>),
    /// Create or update a draft (refused with `MAPI_E_SUBMITTED` while submitted).
    SaveDraft(Box<Message>),
    /// A new empty draft in the Outbox; answered with [`Event::DraftCreated`].
    NewDraft,
    /// Hold or release a queued message.
    Hold(EntryId, bool),
    /// Move a message to Deleted Items, or delete it for good if it is there already.
    Delete(EntryId),
    /// Move a message to another folder.
    Move(EntryId, EntryId),
    /// Resend the failed recipients of an NDR: a draft with `MSGFLAG_RESEND`, those who got it
    /// marked `MAPI_SUBMITTED`, to correct and submit ([`Event::DraftCreated`]).
    Resend(EntryId),
    /// The message whose details the UI shows: its changes come as [`Event::Detail`].
    Watch(Option<EntryId>),
    /// Import an `.eml` file as a draft.
    ImportEml(PathBuf),
    /// Attach a file to a draft (the worker reads it; the UI never touches the disk).
    AttachFile(EntryId, PathBuf),
    /// Render a message for the Source tab; answered with [`Event::Source`].
    Source(EntryId),
    /// Export a message as `.eml`.
    ExportEml(EntryId, PathBuf),
    /// Save a message's trace as text.
    ExportTrace(EntryId, PathBuf),
    /// Write the timeline recorded under the store `root` as a Chrome trace event file
    /// (Perfetto, `chrome://tracing`) at `path`; answered off the spooler's loop with a
    /// notice or an error.
    ExportTimeline {
        /// The store.
        root: PathBuf,
        /// The file to write.
        path: PathBuf,
    },
    /// Read the timeline recorded under the store `root` (what ran before this window
    /// opened); answered off the spooler's loop with [`Event::TimelineHistory`].
    LoadTimeline(PathBuf),
    /// Create a user folder.
    CreateFolder(String),
    /// Send every summary again (after the UI lost events).
    Resync,
    /// Stop the worker.
    Shutdown,
    /// Put a message in Deleted Items back in the folder it was deleted from (Inbox for
    /// received mail, the Outbox for a draft, Sent Items for a sent copy when that was not
    /// recorded), as it was: nothing is submitted.
    Restore(EntryId),
    /// One person's action on many messages, applied as one batch in this order and
    /// answered with one [`Event::BulkDone`] (see `bulk.rs`).
    Bulk(Vec<(EntryId, super::bulk::BulkOp)>),
    /// Test a logon with these SMTP settings (Test connection): answered with
    /// [`Event::ConnectionTested`], off the spooler's loop (`aside.rs`).
    TestConnection(Box<super::aside::ConnectionTest>),
    /// Where the password for `user@host:port` is: answered with [`Event::Password`].
    LookUpPassword(String),
    /// Store the password for `user@host:port` (the keyring where one answers, else the 0600
    /// file), or with `None` forget it: answered with a notice and [`Event::Password`].
    StorePassword(String, Option<Secret>),
}

/// One row of the status table (`IMAPISession::GetStatusTable`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    /// `PR_DISPLAY_NAME`
    pub name: String,
    /// `PR_RESOURCE_TYPE` (`MAPI_SPOOLER` 37 or `MAPI_TRANSPORT_PROVIDER` 36).
    pub resource_type: u32,
    /// `PR_STATUS_CODE`
    pub status_code: u32,
    /// `PR_REMOTE_PROGRESS`: −1 idle, 0..100.
    pub progress: i32,
    /// `PR_STATUS_STRING`
    pub text: String,
    /// Address types (transports only).
    pub address_types: Vec<String>,
    /// The faults injected around this transport now, as they stand (a "fail the next N"
    /// counts down); `None` when none is.
    pub faults: Option<FaultConfig>,
}

/// Where the debugger stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebugState {
    /// Paused (by the user, a breakpoint or a single step).
    pub paused: bool,
    /// Stopped before this step of this message.
    pub at: Option<(EntryId, Step)>,
    /// Sending is held because the profile in `store.json` cannot be used: the file, the
    /// field, the value and why (see `Store::profile_hold`). Nothing is sent meanwhile.
    pub held: Option<String>,
    /// The breakpoints set.
    pub breakpoints: Vec<Step>,
    /// A hand-off under way on a transport's line (message, transport), also while stopped:
    /// its answer is recorded when it comes, stopped or not.
    pub under_way: Option<(EntryId, String)>,
}

/// What the spooler reports.
#[derive(Clone, Debug)]
pub enum Event {
    /// The store was opened.
    Opened {
        /// The store directory.
        root: PathBuf,
        /// Folders.
        folders: Vec<Folder>,
        /// The profile.
        profile: Box<Profile>,
        /// What opening found (quarantine, replay), one line each.
        notes: Vec<String>,
    },
    /// Every summary (at start and after a resync).
    Snapshot(Vec<Summary>),
    /// A message changed (boxed: a summary is several times larger than any other event).
    Summary(Box<Summary>),
    /// A message is gone (deleted).
    Removed(EntryId),
    /// The folder list changed.
    Folders(Vec<Folder>),
    /// The profile changed.
    Profile(Box<Profile>),
    /// The watched message as it is now.
    Detail(Box<Message>),
    /// A draft was created.
    DraftCreated(EntryId),
    /// A message's RFC 5322 text for the Source tab (asked with [`Command::Source`]).
    Source {
        /// The message.
        eid: EntryId,
        /// Its revision when rendered.
        revision: u64,
        /// The text, or why there is none.
        text: Result<String, String>,
        /// Rendered now for display, not the bytes a transport was handed.
        preview: bool,
    },
    /// A step began.
    StepStarted {
        /// Message.
        eid: EntryId,
        /// Step.
        step: Step,
    },
    /// A step ended.
    StepFinished {
        /// Message.
        eid: EntryId,
        /// Step.
        step: Step,
        /// How.
        outcome: StepOutcome,
        /// Duration in microseconds.
        micros: u64,
    },
    /// A recipient's `PR_RESPONSIBILITY` or outcome changed.
    RecipientMarked {
        /// Message.
        eid: EntryId,
        /// Row id.
        row: u32,
        /// `PR_RESPONSIBILITY` now.
        responsibility: bool,
        /// Outcome now.
        outcome: RecipientState,
    },
    /// `SUBMITFLAG_LOCKED` changed.
    LockChanged {
        /// Message.
        eid: EntryId,
        /// Locked now.
        locked: bool,
    },
    /// A message moved between folders.
    Moved {
        /// Message.
        eid: EntryId,
        /// From folder.
        from: EntryId,
        /// To folder.
        to: EntryId,
    },
    /// An NDR was written.
    NdrCreated {
        /// The original.
        eid: EntryId,
        /// The report.
        ndr: EntryId,
    },
    /// A message waits for a retry.
    RetryScheduled {
        /// Message.
        eid: EntryId,
        /// When.
        at: Timestamp,
        /// Which transport asked.
        transport: String,
        /// Why.
        reason: String,
    },
    /// A MAPI call was made.
    Trace {
        /// Message.
        eid: EntryId,
        /// The call.
        call: TraceCall,
    },
    /// The debugger state changed.
    Debug(DebugState),
    /// The status table changed.
    Status(Vec<StatusRow>),
    /// Something went wrong; shown once, in the error banner or on stderr.
    Error(String),
    /// Something worth telling (a stale lock cleared, a file exported).
    Notice(String),
    /// Work in progress (bulk import, flush): done of total.
    Progress {
        /// What.
        label: String,
        /// Done.
        done: u64,
        /// Total.
        total: u64,
    },
    /// What became of each message of a [`Command::Bulk`].
    BulkDone(Box<super::bulk::BulkReport>),
    /// Nothing is eligible now; the next timer, if any, fires at this time.
    Idle(Option<Timestamp>),
    /// What a [`Command::TestConnection`] found.
    ConnectionTested {
        /// The test's id.
        id: u64,
        /// Each step with its result and the server's replies.
        report: Box<ProbeReport>,
    },
    /// Spans recorded on the store's timeline since the last batch (`store::timeline`).
    Timeline(Vec<crate::store::timeline::Span>),
    /// The store's recorded timeline as it was when [`Command::LoadTimeline`] read it (the
    /// spans recorded since come as [`Event::Timeline`], some maybe in both).
    TimelineHistory(Vec<crate::store::timeline::Span>),
    /// Whether and where a password is stored, or why that is unknown.
    Password {
        /// `user@host:port`.
        key: String,
        /// Stored or not, and the keyring or the file.
        state: Result<PasswordState, String>,
    },
}
