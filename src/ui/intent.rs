//! What the user asked for. A panel is a function of the model (read only), its own edit
//! state and a list of intents: it draws, and every click, key or edit that should change
//! anything beyond its own text fields is pushed here as an [`Intent`]. The app applies them
//! after the frame, in one place ([`SpoolboxApp::apply`](super::SpoolboxApp::apply)): the
//! pattern of egui's demo app and rerun's viewer. A panel never reaches for the worker, a
//! dialog or another panel itself.

use super::dialogs::Purpose;
use super::model::{SortKey, Tab};
use crate::mapi::tags::PropTag;
use crate::mapi::{EntryId, PropValue, Step};
use crate::profile::{FaultConfig, Profile};

/// One user action.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    // The toolbar and its keys.
    /// New message (Ctrl+N): the draft in the editor is saved, then a new one is made.
    NewMessage,
    /// Send these messages now: drafts are submitted, queued ones go ignoring their retry
    /// timer. With `save_first` (the toolbar button) the draft in the editor is saved before;
    /// Ctrl+Enter, outside the editor, sends without that save.
    SendNow {
        /// The messages (the selection when asked).
        eids: Vec<EntryId>,
        /// Save the editor's draft first.
        save_first: bool,
    },
    /// Send/Receive (F9): every queued message is eligible now.
    Flush,
    /// `IMsgStore::AbortSubmit` of these messages.
    AbortSubmit(Vec<EntryId>),
    /// Pause the spooler after the current step.
    Pause,
    /// Run the spooler again.
    Resume,
    /// Run one pipeline step (F10).
    Step,
    /// Run to the next breakpoint (F5).
    Continue,
    /// Light or dark mode.
    ToggleTheme,
    /// Open or close the keyboard shortcuts (F1).
    ToggleHelp,
    /// Open or close fault injection.
    ToggleFaults,
    /// Open or close the profile editor (opening it shows the current profile).
    ToggleProfile,
    /// Ask for a path (a dialog, or the path field where none can open).
    PickFile(Purpose),

    // The message table and its keys.
    /// The filter text changed.
    SetFilter(String),
    /// A column header was clicked: sort by it, or turn its direction around.
    SortBy(SortKey),
    /// Hold (true) or release (false) these queued messages.
    Hold {
        /// The messages.
        eids: Vec<EntryId>,
        /// Hold, or release.
        hold: bool,
    },
    /// Delete these messages (to Deleted Items; for good from there).
    Delete(Vec<EntryId>),
    /// A row was clicked: with `toggle` (Ctrl) it joins or leaves the selection, with
    /// `extend` (Shift) every row from the anchor to it is selected, else it alone.
    ClickRow {
        /// The row's message.
        eid: EntryId,
        /// Ctrl (or Command) was held.
        toggle: bool,
        /// Shift was held.
        extend: bool,
    },
    /// The keyboard moved to this row (Up/Down, Home/End), extending the selection with
    /// Shift; the table scrolls it into view.
    SelectRow {
        /// The row's message.
        eid: EntryId,
        /// Shift was held.
        extend: bool,
    },
    /// Ctrl+A: every row of the folder.
    SelectAll,
    /// Escape: close the topmost small window (Help, Faults, an unedited Profile).
    CloseTopWindow,

    // The folder list.
    /// Show this folder.
    OpenFolder(EntryId),

    // The detail.
    /// Show this tab of the detail.
    ShowTab(Tab),
    /// Show the message as it was before this history record (`None`: as it is now).
    TimeTravel(Option<usize>),
    /// Break before this step (or not).
    SetBreakpoint(Step, bool),
    /// Resend the message a non-delivery report is about: a copy to correct and submit.
    Resend(EntryId),
    /// "Send again" on a sent message: a copy to edit and submit.
    SendAgain(EntryId),

    // The editor.
    /// Save the draft in the editor now (Save draft, before attaching, an attachment
    /// removed).
    SaveDraft,
    /// Submit what the editor shows (Submit, Ctrl+Enter): the editor closes at once.
    SubmitDraft,
    /// Ctrl+Enter in the editor while the draft cannot go: say why.
    SubmitRefused(String),

    // The small windows.
    /// The path field's OK (true) or Cancel (false).
    PathFieldDone(bool),
    /// Set the faults injected around this transport (Clear sets the defaults).
    SetFaults(String, FaultConfig),
    /// Save the profile as edited.
    SaveProfile(Box<Profile>),

    // The notifications.
    /// Dismiss the error at this index of `Model::errors`.
    DismissError(usize),
    /// Dismiss every error.
    DismissAllErrors,

    // Folders that fit their content (issue 17, item 6).
    /// Put these messages from Deleted Items back where they were deleted from.
    Restore(Vec<EntryId>),
    /// Show what an entry id points to: a folder, or a message (selected, in its folder).
    GoTo(EntryId),
    /// A span of the timeline was clicked: select its message and travel to that step (the
    /// span starting at `start`, µs).
    ShowSpan {
        /// The message.
        eid: EntryId,
        /// The step (`None`: the message only).
        step: Option<crate::mapi::Step>,
        /// The span's start.
        start: i64,
    },
    /// Show the timeline in place of the message table (or the table again).
    ShowTimeline(bool),
    /// Set one property of a draft (the Properties tab's editor); saved as the draft.
    SetProperty {
        /// The draft.
        eid: EntryId,
        /// `None`: a message property; `Some(row)`: a column of that recipient row.
        row: Option<u32>,
        /// The property.
        tag: PropTag,
        /// Its new value.
        value: PropValue,
    },

    // Issue 17: the keyboard, undo, faults in the status bar.
    /// Enter on a message: a draft opens in the editor (the cursor in its first recipient),
    /// any other message in the detail, with the keyboard there.
    OpenMessage(EntryId),
    /// Undo the last delete (the notice's Undo, Ctrl+Z): the messages go back to their
    /// folders.
    UndoDelete,
    /// The answer to "Delete for good?".
    AnswerDelete(bool),
    /// The answer to "Send without a subject?": yes submits as it is, no goes back to the
    /// editor.
    AnswerNoSubject(bool),
    /// Quit (Ctrl+Q): the window closes as by its close button, the editor saved first.
    Quit,
    // The Profile window (appended).
    /// Test connection with the settings on screen.
    TestConnection(Box<crate::spooler::ConnectionTest>),
    /// Ask where the password for `user@host:port` is.
    LookUpPassword(String),
    /// Store (or with `None` forget) the password for `user@host:port`.
    StorePassword(String, Option<crate::transport::credentials::Secret>),
}
