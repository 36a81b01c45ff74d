//! The view model: what the UI knows, built only from the spooler's events.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use jiff::Timestamp;

use crate::mapi::{EntryId, Message, MessageState};
use crate::spooler::{DebugState, Event, StatusRow};
use crate::store::{Folder, FolderKind, Profile, Summary};

/// The detail tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Step bar and recipients.
    Pipeline,
    /// Every property.
    Properties,
    /// The MAPI calls.
    Trace,
    /// RFC 5322 text.
    Source,
    /// Edit a draft.
    Compose,
}

/// The Source tab's text, rendered once by the worker.
#[derive(Clone, Debug)]
pub struct SourceView {
    /// The message.
    pub eid: EntryId,
    /// Its revision when rendered.
    pub revision: u64,
    /// The RFC 5322 text, or why there is none.
    pub text: Result<String, String>,
    /// True when it is a preview (rendered now), not bytes a transport was handed.
    pub preview: bool,
}

/// Columns the outbox table sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortKey {
    /// Queue order.
    Submitted,
    /// State.
    State,
    /// Subject.
    Subject,
    /// Recipients done.
    Done,
    /// Next retry.
    Retry,
    /// The To recipients.
    To,
    /// The pipeline step.
    Step,
    /// Who sent it (Inbox).
    From,
    /// When it arrived (Inbox).
    Received,
    /// When it went out (Sent Items).
    Sent,
    /// What became of its recipients (Sent Items).
    Outcome,
    /// Draft, sent copy, received mail or report (Deleted Items, user folders).
    What,
    /// Who sent it or who it is to (Deleted Items, user folders).
    Party,
    /// The folder it was deleted from (Deleted Items).
    WasIn,
    /// When it was deleted (Deleted Items).
    Deleted,
    /// When it was received, sent or submitted (user folders).
    Date,
}

/// Everything the window shows.
#[derive(Debug)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of what the window shows, each read by one panel"
)]
pub struct Model {
    /// The open store, once the worker reported it.
    pub root: Option<PathBuf>,
    /// Folders.
    pub folders: Vec<Folder>,
    /// Every message's summary.
    pub summaries: HashMap<EntryId, Summary>,
    /// The profile.
    pub profile: Option<Profile>,
    /// The folder shown.
    pub folder: Option<EntryId>,
    /// Selected messages (multi-select).
    pub selected: BTreeSet<EntryId>,
    /// The message whose details are shown.
    pub focused: Option<EntryId>,
    /// Its latest full copy.
    pub detail: Option<Message>,
    /// The recorded step picked for time travel (index into `history`).
    pub travel: Option<usize>,
    /// A timeline span was clicked: travel to its step once its message's detail is here.
    pub travel_to: Option<crate::ui::timeline::Travel>,
    /// What the timeline draws (`Event::Timeline`, `Event::TimelineHistory`).
    pub timeline: crate::ui::timeline::data::TimelineData,
    /// The central area shows the timeline instead of the message table.
    pub show_timeline: bool,
    /// The recorded history was asked for (once per store, when the timeline first shows).
    pub timeline_asked: bool,
    /// Debugger state.
    pub debug: DebugState,
    /// Status table.
    pub status: Vec<StatusRow>,
    /// Errors not yet dismissed.
    pub errors: Vec<String>,
    /// Recent notices.
    pub notices: Vec<String>,
    /// Notices on screen, with when they came (see `notify`).
    pub toasts: Vec<(std::time::Instant, String)>,
    /// A submit sent from the editor and not yet answered: the editor stays closed.
    pub submitting: Option<EntryId>,
    /// The Source tab's text from the worker: (message, revision, text or error, preview).
    pub source: Option<SourceView>,
    source_asked: Option<(EntryId, u64)>,
    /// The tab shown.
    pub tab: Tab,
    /// Outbox filter text.
    pub filter: String,
    /// Sort column and direction.
    pub sort: (SortKey, bool),
    /// The next timer while idle.
    pub idle_until: Option<Option<Timestamp>>,
    /// Long work in progress: (label, done, total).
    pub progress: Option<(String, u64, u64)>,
    /// A message the worker should stream details of (set when the worker itself picked
    /// the focus, e.g. a new draft).
    pub watch_request: Option<EntryId>,
    /// Messages per folder.
    counts: HashMap<EntryId, usize>,
    /// Some message waits for a timer (retry or deferred send): the table counts down.
    pub timers: bool,
    last_refresh: Option<std::time::Instant>,
    /// Rows of the current folder, sorted and filtered (rebuilt when dirty).
    pub rows: Vec<EntryId>,
    rows_dirty: bool,
    /// Counts every change of `rows`; [`Model::prune_selection`] looks again when it moves.
    rows_version: u64,
    /// The `rows_version` the selection was last checked against.
    pruned_at: u64,
    /// The last delete, while it can be undone (see `notify`).
    pub undo: Option<super::notify::Undo>,
    /// A delete for good (from Deleted Items) waiting for the user's yes.
    pub confirm_delete: Option<Vec<EntryId>>,
    /// Submit was asked for a draft without a subject: "Send without a subject?" is open.
    pub confirm_no_subject: bool,
    /// Put the keyboard in the detail once it shows the focused message (Enter on it).
    pub focus_detail: bool,
    /// The last connection test's answer: (its id, the report).
    pub connection_test: Option<(u64, crate::transport::smtp::ProbeReport)>,
    /// Where each password asked about is (`user@host:port`), or why that is unknown.
    pub passwords: HashMap<String, Result<crate::transport::credentials::PasswordState, String>>,
}

impl Default for Model {
    fn default() -> Self {
        Self {
            root: None,
            folders: Vec::new(),
            summaries: HashMap::new(),
            profile: None,
            folder: None,
            selected: BTreeSet::new(),
            focused: None,
            detail: None,
            travel: None,
            travel_to: None,
            timeline: crate::ui::timeline::data::TimelineData::default(),
            show_timeline: false,
            timeline_asked: false,
            debug: DebugState::default(),
            status: Vec::new(),
            errors: Vec::new(),
            notices: Vec::new(),
            toasts: Vec::new(),
            submitting: None,
            source: None,
            source_asked: None,
            tab: Tab::Pipeline,
            filter: String::new(),
            sort: (SortKey::Submitted, true),
            idle_until: None,
            progress: None,
            watch_request: None,
            counts: HashMap::new(),
            timers: false,
            last_refresh: None,
            rows: Vec::new(),
            rows_dirty: true,
            rows_version: 0,
            pruned_at: 0,
            undo: None,
            confirm_delete: None,
            confirm_no_subject: false,
            focus_detail: false,
            connection_test: None,
            passwords: HashMap::new(),
        }
    }
}

impl Model {
    /// Travels to the step a clicked timeline span asked for, once the message's detail is
    /// the one shown.
    pub fn travel_to_step(&mut self) {
        let Some(t) = self.travel_to else { return };
        let Some(m) = self.detail.as_ref().filter(|m| m.entry_id == t.eid) else {
            return;
        };
        self.travel = t
            .step
            .and_then(|step| crate::ui::timeline::history_index(&m.history, step, t.start));
        self.travel_to = None;
    }

    /// Applies one event.
    pub fn apply(&mut self, e: Event) {
        match e {
            Event::Timeline(spans) => self.timeline.ingest(spans),
            Event::TimelineHistory(spans) => self.timeline.ingest_history(spans),
            Event::Opened {
                root,
                folders,
                profile,
                notes,
            } => {
                self.root = Some(root);
                self.timeline = crate::ui::timeline::data::TimelineData::default();
                self.timeline_asked = false;
                self.folder = folders
                    .iter()
                    .find(|f| f.kind == FolderKind::Outbox)
                    .map(|f| f.entry_id);
                self.folders = folders;
                self.timeline
                    .ensure_lanes(profile.transports.iter().map(|t| t.name.as_str()));
                self.profile = Some(*profile);
                for n in notes {
                    self.errors.push(n);
                }
                self.rows_dirty = true;
            }
            Event::Snapshot(all) => {
                self.summaries = all.into_iter().map(|s| (s.eid, s)).collect();
                self.rows_dirty = true;
            }
            Event::Summary(s) => self.update_summary(*s),
            Event::Removed(eid) => {
                if let Some(old) = self.summaries.remove(&eid) {
                    self.row_left(&old);
                }
                self.selected.remove(&eid);
                if self.focused == Some(eid) {
                    self.detail = None;
                }
            }
            Event::Folders(f) => self.folders = f,
            Event::Profile(p) => {
                self.timeline
                    .ensure_lanes(p.transports.iter().map(|t| t.name.as_str()));
                self.profile = Some(*p);
            }
            Event::Detail(m) => {
                if self.submitting == Some(m.entry_id)
                    && m.state(Timestamp::now()) != MessageState::Draft
                {
                    self.submitting = None;
                }
                if Some(m.entry_id) == self.focused {
                    if self.travel.is_some_and(|i| i >= m.history.len()) {
                        self.travel = None;
                    }
                    self.detail = Some(*m);
                    self.travel_to_step();
                }
            }
            Event::DraftCreated(_) if self.importing() => {
                self.import_step();
                self.rows_dirty = true;
            }
            Event::DraftCreated(eid) => self.draft_created(eid),
            Event::Debug(d) => self.debug = d,
            Event::Status(s) => self.status = s,
            Event::Error(e) => {
                if self.importing() {
                    self.import_step();
                }
                // A refused submit lets the editor open again.
                self.submitting = None;
                if !self.errors.contains(&e) {
                    self.errors.push(e);
                }
            }
            Event::Notice(n) => super::notify::notice(self, n),
            Event::Source {
                eid,
                revision,
                text,
                preview,
            } => {
                if Some(eid) == self.focused {
                    self.source = Some(SourceView {
                        eid,
                        revision,
                        text,
                        preview,
                    });
                }
            }
            Event::Progress { label, done, total } => {
                self.progress = if done >= total {
                    None
                } else {
                    Some((label, done, total))
                };
            }
            Event::BulkDone(r) => super::bulk::apply(self, &r),
            Event::Idle(t) => self.idle_until = Some(t),
            Event::StepStarted { .. } => self.idle_until = None,
            Event::StepFinished { .. }
            | Event::RecipientMarked { .. }
            | Event::LockChanged { .. }
            | Event::Moved { .. }
            | Event::NdrCreated { .. }
            | Event::RetryScheduled { .. }
            | Event::Trace { .. } => {}
            Event::ConnectionTested { id, report } => self.connection_test = Some((id, *report)),
            Event::Password { key, state } => {
                self.passwords.insert(key, state);
            }
        }
    }

    /// A new draft (New message): selected and opened in the editor.
    fn draft_created(&mut self, eid: EntryId) {
        // A new message is never hidden by a filter typed for others.
        if !self.filter.is_empty() {
            self.filter.clear();
            self.rows_dirty = true;
        }
        self.selected.clear();
        self.selected.insert(eid);
        self.focused = Some(eid);
        self.detail = None;
        self.watch_request = Some(eid);
        self.tab = Tab::Compose;
    }

    /// True when the rows can be kept up to date one message at a time: default order
    /// (queue order), no filter, and a first full build done.
    fn incremental(&self) -> bool {
        !self.rows_dirty
            && self.filter.is_empty()
            && self.effective_sort() == (SortKey::Submitted, true)
    }

    /// The kind of the folder shown.
    pub fn folder_kind(&self) -> Option<FolderKind> {
        let id = self.folder?;
        self.folders
            .iter()
            .find(|f| f.entry_id == id)
            .map(|f| f.kind)
    }

    /// The order the folder shown is in: the sort picked when the folder has that column,
    /// else its own default (the Inbox by time received, Sent Items by time sent, ...).
    pub fn effective_sort(&self) -> (SortKey, bool) {
        let kind = self.folder_kind();
        if super::columns::of(kind).contains(&self.sort.0) {
            self.sort
        } else {
            (super::columns::default_sort(kind), true)
        }
    }

    fn order_key(s: &Summary) -> (Option<Timestamp>, EntryId) {
        (s.client_submit_time, s.eid)
    }

    /// A message left its folder (moved or deleted): counts and rows follow without a rebuild.
    fn row_left(&mut self, old: &Summary) {
        if let Some(n) = self.counts.get_mut(&old.folder) {
            *n = n.saturating_sub(1);
        }
        if Some(old.folder) == self.folder {
            if self.incremental() {
                let key = Self::order_key(old);
                if let Ok(i) = self.rows.binary_search_by(|e| {
                    self.summaries
                        .get(e)
                        .map_or((None, *e), Self::order_key)
                        .cmp(&key)
                }) {
                    self.rows.remove(i);
                } else if let Some(i) = self.rows.iter().position(|e| *e == old.eid) {
                    self.rows.remove(i);
                }
                self.rows_version += 1;
            } else {
                self.rows_dirty = true;
            }
        }
    }

    /// Applies one changed summary. During a flush of thousands this runs for every step of
    /// every message, so it keeps the rows sorted incrementally rather than re-sorting all.
    fn update_summary(&mut self, s: Summary) {
        self.timers |= s.next_retry.is_some() || s.deferred_send_time.is_some();
        let Some(old) = self.summaries.get(&s.eid).cloned() else {
            *self.counts.entry(s.folder).or_insert(0) += 1;
            let (eid, folder) = (s.eid, s.folder);
            let key = Self::order_key(&s);
            self.summaries.insert(eid, s);
            if Some(folder) == self.folder {
                self.insert_row(eid, key);
            }
            return;
        };
        let same_place = old.folder == s.folder && Self::order_key(&old) == Self::order_key(&s);
        if same_place {
            // Same folder, same position: the table reads the new summary when it draws.
            self.summaries.insert(s.eid, s);
            return;
        }
        // Remove under the old key (rows are looked up through the summaries), then insert.
        self.row_left(&old);
        *self.counts.entry(s.folder).or_insert(0) += 1;
        let (eid, folder) = (s.eid, s.folder);
        let key = Self::order_key(&s);
        self.summaries.insert(eid, s);
        if Some(folder) == self.folder {
            self.insert_row(eid, key);
        }
    }

    fn insert_row(&mut self, eid: EntryId, key: (Option<Timestamp>, EntryId)) {
        if !self.incremental() {
            self.rows_dirty = true;
            return;
        }
        let i = self
            .rows
            .binary_search_by(|e| {
                self.summaries
                    .get(e)
                    .map_or((None, *e), Self::order_key)
                    .cmp(&key)
            })
            .unwrap_or_else(|i| i);
        self.rows.insert(i, eid);
        self.rows_version += 1;
    }

    /// Starts counting a bulk import of `total` files (one `DraftCreated` or `Error` each).
    pub fn start_import(&mut self, total: u64) {
        self.progress = Some(("Importing .eml files".into(), 0, total));
    }

    fn importing(&self) -> bool {
        self.progress
            .as_ref()
            .is_some_and(|(l, _, _)| l.starts_with("Importing"))
    }

    fn import_step(&mut self) {
        if let Some((_, done, total)) = &mut self.progress {
            *done += 1;
            if *done >= *total {
                self.progress = None;
            }
        }
    }

    /// Messages in a folder (as of the last [`Model::refresh_rows`]).
    pub fn count(&self, folder: EntryId) -> usize {
        self.counts.get(&folder).copied().unwrap_or(0)
    }

    /// The folder of this kind.
    pub fn folder_of(&self, kind: FolderKind) -> Option<EntryId> {
        self.folders
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.entry_id)
    }

    /// Rebuilds the visible rows, the folder counts and the timer flag if anything changed.
    ///
    /// With a very large store a rebuild (a sort of every summary) is done at most four times
    /// a second, so a flush of thousands of messages does not cost a sort per frame; returns
    /// true when a rebuild is still owed (the caller asks for a repaint).
    pub fn refresh_rows(&mut self, now: Timestamp) -> bool {
        if !self.rows_dirty {
            return false;
        }
        if self.summaries.len() > 20_000
            && self
                .last_refresh
                .is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(250))
        {
            return true;
        }
        self.last_refresh = Some(std::time::Instant::now());
        self.rows_dirty = false;
        self.counts.clear();
        self.timers = false;
        for s in self.summaries.values() {
            *self.counts.entry(s.folder).or_insert(0) += 1;
            self.timers |= s.next_retry.is_some() || s.deferred_send_time.is_some();
        }
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&Summary> = self
            .summaries
            .values()
            .filter(|s| Some(s.folder) == self.folder)
            .filter(|s| {
                needle.is_empty()
                    || s.subject.to_lowercase().contains(&needle)
                    || s.to.to_lowercase().contains(&needle)
                    || s.from.to_lowercase().contains(&needle)
                    || s.state(now).label().to_lowercase().contains(&needle)
            })
            .collect();
        let (key, asc) = self.effective_sort();
        let folders = &self.folders;
        rows.sort_by(|a, b| {
            let o = super::columns::compare(key, a, b, now, folders);
            if asc { o } else { o.reverse() }
        });
        self.rows = rows.into_iter().map(|s| s.eid).collect();
        self.rows_version += 1;
        false
    }

    /// The selection is a set of rows on screen (issue 28, item 1): a message that left the
    /// folder shown (moved, deleted, filed by the spooler) or the rows (filtered out, another
    /// folder) leaves the selection at once, so every action acts on exactly what the count
    /// shows. The message shown in the detail goes too when the filter hides it or it is
    /// gone; one the spooler moved to another folder while it was watched stays in the detail,
    /// but no action on the selection reaches it.
    pub fn prune_selection(&mut self) {
        let folder = self.folder;
        let summaries = &self.summaries;
        let here = |e: &EntryId| summaries.get(e).is_some_and(|s| Some(s.folder) == folder);
        self.selected.retain(here);
        // Rows waiting for their rebuild are not what will be on screen: look once they are.
        if self.rows_version == self.pruned_at || self.rows_dirty {
            return;
        }
        self.pruned_at = self.rows_version;
        if !self.selected.is_empty() {
            let visible: std::collections::HashSet<EntryId> = self.rows.iter().copied().collect();
            self.selected.retain(|e| visible.contains(e));
        }
        // Hidden by the filter: no longer shown. (An open editor is never closed by it.)
        if let Some(f) = self.focused
            && self.tab != Tab::Compose
            && self
                .summaries
                .get(&f)
                .is_some_and(|s| Some(s.folder) == folder)
            && !self.rows.contains(&f)
        {
            self.focused = None;
            self.detail = None;
        }
    }

    /// True once the Source of this revision was asked for (asked once, not every frame).
    pub fn source_requested(&mut self, eid: EntryId, revision: u64) -> bool {
        let asked = self.source_asked == Some((eid, revision));
        self.source_asked = Some((eid, revision));
        asked
    }

    /// Marks the rows for a rebuild (filter, sort or folder changed).
    pub fn invalidate_rows(&mut self) {
        self.rows_dirty = true;
    }
}
