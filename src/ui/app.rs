//! The eframe app: `logic` drains the worker's events into the view model, `ui` draws it, and
//! every button only emits a [`Command`] that is sent after the pass.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{Key, KeyboardShortcut, Modifiers};

use super::dialogs::{Dialogs, Picked, Purpose};
use super::model::{Model, Tab};
use super::persist::{FolderPref, UiState};
use super::{Intent, compose, detail, folders, notify, outbox, status, toolbar, windows};
use crate::mapi::{EntryId, MessageState};
use crate::spooler::Command;
use crate::spooler::worker::{self, WorkerHandle};
use crate::store::FolderKind;

/// F9: Send/Receive.
pub const FLUSH: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F9);
/// F10: step.
pub const STEP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F10);
/// F5: continue.
pub const CONTINUE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F5);
/// Ctrl+N: new message.
pub const NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
/// Ctrl+Enter: send the selected messages.
pub const SEND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
/// Ctrl+P: pause or resume.
pub const PAUSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::P);
/// F1: help.
pub const HELP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F1);
/// Ctrl+A: select every row of the folder (no text field focused).
pub const SELECT_ALL: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::A);
/// Delete: delete the selected messages.
pub const DELETE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Delete);

/// Which extra windows are open.
#[derive(Debug, Default)]
pub struct Windows {
    /// Keyboard shortcuts.
    pub help: bool,
    /// Fault injection.
    pub faults: bool,
    /// Profile editor.
    pub profile: bool,
    /// The profile JSON being edited.
    pub profile_text: String,
    /// Fault panel: the transport being edited.
    pub fault_transport: Option<String>,
    /// Fault panel: its settings.
    pub fault_edit: crate::profile::FaultConfig,
}

/// The Spoolbox window.
pub struct SpoolboxApp {
    /// What the UI shows (built from events).
    pub model: Model,
    /// Extra windows.
    pub windows: Windows,
    /// The compose form.
    pub compose: compose::ComposeState,
    /// File dialogs under way, and the path field where none can open.
    pub dialogs: Dialogs,
    worker: Option<WorkerHandle>,
    pending: Vec<Command>,
    intents: Vec<Intent>,
    ctx: egui::Context,
    dark: bool,
    /// Request to open another store (picked in a dialog).
    open_store: Option<PathBuf>,
    /// The last store opened with Open store… (remembered).
    last_store: Option<PathBuf>,
    /// The folder to show once the store has reported its folders (remembered).
    want_folder: Option<FolderPref>,
    /// Breakpoints to remember until the spooler reports its own.
    /// Breakpoints sent to a new spooler, remembered as they are until it reports them all
    /// (a save in between, the window closed at once, would have lost them).
    start_breakpoints: Option<Vec<crate::mapi::Step>>,
    /// The detail pane's height (remembered).
    detail_height: f32,
    /// The first row of a Shift range (the row last clicked or moved to without Shift).
    anchor: Option<EntryId>,
    /// The table scrolls this row into view in its next pass.
    pub scroll_to: Option<EntryId>,
}

impl std::fmt::Debug for SpoolboxApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolboxApp")
            .field("root", &self.model.root)
            .finish_non_exhaustive()
    }
}

impl SpoolboxApp {
    /// Starts the app on the store at `dir` (created with demo data if new).
    pub fn new(cc: &eframe::CreationContext<'_>, dir: PathBuf, dark: bool) -> Self {
        Self::with_state(
            cc,
            dir,
            UiState {
                dark,
                ..UiState::default()
            },
        )
    }

    /// Starts the app on the store at `dir` with remembered state: theme, sort, detail
    /// height now; the folder once the store reports it; breakpoints sent to the spooler
    /// (`Command::SetBreakpoint`) before its first step.
    pub fn with_state(cc: &eframe::CreationContext<'_>, dir: PathBuf, state: UiState) -> Self {
        let UiState {
            dark,
            folder,
            sort,
            detail_height,
            breakpoints,
            last_store,
        } = state;
        let ctx = cc.egui_ctx.clone();
        ctx.set_theme(if dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        // Table rows are picked by clicking anywhere on them, text included; the Source tab
        // and the profile editor are text fields, where selecting text still works.
        ctx.all_styles_mut(|s| s.interaction.selectable_labels = false);
        let mut app = Self {
            model: Model::default(),
            windows: Windows::default(),
            compose: compose::ComposeState::default(),
            dialogs: Dialogs::default(),
            worker: None,
            pending: Vec::new(),
            intents: Vec::new(),
            ctx,
            dark,
            open_store: None,
            last_store,
            want_folder: folder,
            start_breakpoints: Some(breakpoints),
            detail_height,
            anchor: None,
            scroll_to: None,
        };
        app.start_worker(dir);
        app.model.sort = sort;
        app
    }

    /// The breakpoints as remembered: those sent to the spooler until it has reported them,
    /// then the spooler's own.
    fn breakpoints(&self) -> Vec<crate::mapi::Step> {
        self.start_breakpoints
            .clone()
            .unwrap_or_else(|| self.model.debug.breakpoints.clone())
    }

    /// Once the spooler reports every breakpoint it was sent, its own list is the truth.
    fn breakpoints_reported(&mut self) {
        if self.model.root.is_some()
            && self
                .start_breakpoints
                .as_ref()
                .is_some_and(|b| b.iter().all(|s| self.model.debug.breakpoints.contains(s)))
        {
            self.start_breakpoints = None;
        }
    }

    /// What the window remembers now (saved by [`eframe::App::save`]).
    pub fn ui_state(&self) -> UiState {
        // A folder still waiting for the store to report its folders stays remembered.
        let folder = self.want_folder.clone().or_else(|| self.folder_pref());
        UiState {
            dark: self.dark,
            folder,
            sort: self.model.sort,
            detail_height: self.detail_height,
            breakpoints: self.breakpoints(),
            last_store: self.last_store.clone(),
        }
    }

    fn folder_pref(&self) -> Option<FolderPref> {
        let id = self.model.folder?;
        let f = self.model.folders.iter().find(|f| f.entry_id == id)?;
        Some(FolderPref {
            kind: f.kind,
            name: f.name.clone(),
        })
    }

    /// Shows the remembered folder once the store has reported its folders.
    fn restore_folder(&mut self) {
        if self.model.root.is_none() || self.model.folders.is_empty() {
            return;
        }
        let Some(want) = self.want_folder.take() else {
            return;
        };
        let found = self
            .model
            .folders
            .iter()
            .find(|f| f.kind == want.kind && (f.kind != FolderKind::User || f.name == want.name))
            .map(|f| f.entry_id);
        if let Some(id) = found
            && self.model.folder != Some(id)
        {
            self.model.folder = Some(id);
            self.model.selected.clear();
            self.model.invalidate_rows();
        }
    }

    fn start_worker(&mut self, dir: PathBuf) {
        // Edits of the store being left are saved before its worker stops.
        self.save_draft_now();
        self.flush_commands();
        if let Some(w) = self.worker.take() {
            w.shutdown();
        }
        self.compose.close();
        // Another store shows the same kind of folder, in the same order.
        if self.want_folder.is_none() {
            self.want_folder = self.folder_pref();
        }
        // And its spooler stops at the same steps.
        let breakpoints = self.breakpoints();
        let sort = self.model.sort;
        self.model = Model::default();
        self.model.sort = sort;
        self.anchor = None;
        let ctx = self.ctx.clone();
        match worker::spawn_store(dir, true, Arc::new(move || ctx.request_repaint())) {
            Ok(w) => self.worker = Some(w),
            Err(e) => self
                .model
                .errors
                .push(format!("could not start the spooler thread: {e}")),
        }
        for step in &breakpoints {
            self.command(Command::SetBreakpoint(*step, true));
        }
        self.start_breakpoints = Some(breakpoints);
    }

    /// Queues a command for after this pass.
    pub fn command(&mut self, c: Command) {
        self.pending.push(c);
    }

    /// Queues what a panel asked for, applied after the panel drew.
    pub fn intend(&mut self, i: Intent) {
        self.intents.push(i);
    }

    fn sent_folder(&self) -> EntryId {
        self.model
            .folder_of(FolderKind::SentItems)
            .unwrap_or(EntryId(0))
    }

    /// Saves what the editor shows, if anything is unsaved (leaving a draft, closing).
    pub fn save_draft_now(&mut self) {
        let sent = self.sent_folder();
        if let Some(c) = self.compose.take_save(sent, true) {
            self.command(c);
        }
    }

    /// Focuses a message (and asks the worker to stream its details). Edits of the draft
    /// being left are saved first: switching rows never loses them.
    pub fn focus(&mut self, eid: Option<EntryId>) {
        if self.model.focused != eid {
            self.save_draft_now();
            self.model.focused = eid;
            self.model.detail = None;
            self.model.travel = None;
            self.model.source = None;
            self.compose.close();
            if self.model.tab == Tab::Compose {
                self.model.tab = Tab::Pipeline;
            }
            self.command(Command::Watch(eid));
            if self.model.tab == Tab::Source
                && let Some(e) = eid
            {
                self.command(Command::Source(e));
            }
        }
    }

    fn apply_intents(&mut self) {
        for i in std::mem::take(&mut self.intents) {
            match i {
                Intent::Command(c) => self.command(c),
                Intent::Submitted(eid) => {
                    // The editor closes in the same frame; the worker refuses any later
                    // submit of the submission this editor saw.
                    self.compose.close();
                    self.model.submitting = Some(eid);
                    if self.model.tab == Tab::Compose {
                        self.model.tab = Tab::Pipeline;
                    }
                }
                Intent::Error(e) => {
                    if !self.model.errors.contains(&e) {
                        self.model.errors.push(e);
                    }
                }
                Intent::PickFile(p) => self.dialogs.open(p),
                Intent::SaveNow => self.save_draft_now(),
            }
        }
    }

    /// What a picked (or typed) path does.
    fn picked(&mut self, purpose: Purpose, paths: Vec<PathBuf>) {
        match purpose {
            Purpose::Import => {
                self.model.start_import(paths.len() as u64);
                for p in paths {
                    self.command(Command::ImportEml(p));
                }
            }
            Purpose::Export(eid) => {
                if let Some(p) = paths.into_iter().next() {
                    self.command(Command::ExportEml(eid, p));
                }
            }
            Purpose::ExportTrace(eid) => {
                if let Some(p) = paths.into_iter().next() {
                    self.command(Command::ExportTrace(eid, p));
                }
            }
            Purpose::OpenStore => {
                if let Some(p) = paths.into_iter().next() {
                    self.request_open_store(p);
                }
            }
            Purpose::Attach(eid) => {
                self.save_draft_now();
                for p in paths {
                    self.command(Command::AttachFile(eid, p));
                }
            }
        }
    }

    /// Handles the path field's OK or Cancel.
    pub fn path_field_done(&mut self, ok: bool) {
        if let Some(Picked::Paths(purpose, paths)) = self.dialogs.submit_field(ok) {
            self.picked(purpose, paths);
        }
    }

    /// The editor follows the message: loaded for a draft, closed once it is not one.
    fn sync_editor(&mut self) {
        let Some(m) = &self.model.detail else {
            return;
        };
        let draft = m.state(jiff::Timestamp::now()) == MessageState::Draft;
        if !draft || self.model.submitting == Some(m.entry_id) {
            if self.compose.loaded.is_some() {
                self.compose.close();
            }
            if self.model.tab == Tab::Compose {
                self.model.tab = Tab::Pipeline;
            }
            return;
        }
        if self.model.tab != Tab::Compose {
            return;
        }
        if self.compose.loaded == Some(m.entry_id) {
            self.compose.refresh_base(m);
        } else {
            let m = m.clone();
            self.compose.load(&m);
        }
    }

    fn flush_commands(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for c in pending {
            if let Some(w) = &self.worker {
                if let Err(e) = w.send(c) {
                    self.model.errors.push(e.to_string());
                }
            } else {
                self.model
                    .errors
                    .push("no store is open: use Open store… to pick one".into());
            }
        }
    }

    /// Toggles the theme.
    pub fn toggle_theme(&mut self) {
        self.dark = !self.dark;
        self.ctx.set_theme(if self.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
    }

    /// True in dark mode.
    pub fn is_dark(&self) -> bool {
        self.dark
    }

    /// Asks for another store to be opened.
    pub fn request_open_store(&mut self, dir: PathBuf) {
        self.last_store = Some(dir.clone());
        self.open_store = Some(dir);
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.memory(|m| m.focused().is_some());
        // In the editor Ctrl+Enter submits what is on screen: `compose::actions_ui` takes it.
        let editing = self.model.tab == Tab::Compose;
        let (flush, step, cont, new, send, pause, help, delete) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&FLUSH),
                i.consume_shortcut(&STEP),
                i.consume_shortcut(&CONTINUE),
                i.consume_shortcut(&NEW),
                !editing && i.consume_shortcut(&SEND),
                i.consume_shortcut(&PAUSE),
                i.consume_shortcut(&HELP),
                !typing && i.consume_shortcut(&DELETE),
            )
        });
        if flush {
            self.command(Command::Flush);
        }
        if step {
            self.command(Command::Step);
        }
        if cont {
            self.command(Command::Continue);
        }
        if new {
            self.save_draft_now();
            self.command(Command::NewDraft);
        }
        if send {
            for eid in self.model.selected.clone() {
                self.command(Command::SendNow(eid));
            }
        }
        if pause {
            self.command(if self.model.debug.paused {
                Command::Resume
            } else {
                Command::Pause
            });
        }
        if help {
            self.windows.help = !self.windows.help;
        }
        if delete {
            for eid in self.model.selected.clone() {
                self.command(Command::Delete(eid));
            }
        }
        self.escape(ctx);
        if !ctx.text_edit_focused() {
            self.table_keys(ctx);
        }
    }

    /// Escape closes the topmost small window: the path field and "Send again?" take it
    /// themselves; then Help, Faults, and the profile editor unless its text was edited.
    fn escape(&mut self, ctx: &egui::Context) {
        if !ctx.input(|i| i.key_pressed(Key::Escape))
            || self.dialogs.field.is_some()
            || self.model.confirm_send_again.is_some()
        {
            return;
        }
        if self.windows.help {
            self.windows.help = false;
        } else if self.windows.faults {
            self.windows.faults = false;
        } else if self.windows.profile {
            let unedited = self
                .model
                .profile
                .as_ref()
                .and_then(|p| serde_json::to_string_pretty(p).ok())
                .is_some_and(|t| t == self.windows.profile_text);
            if unedited {
                self.windows.profile = false;
            }
        }
    }

    /// The message table's keys (no text field has focus): Up/Down move the selection (with
    /// Shift they extend it), Home/End go to the first/last row, Ctrl+A selects every row.
    fn table_keys(&mut self, ctx: &egui::Context) {
        let (up_s, down_s, home_s, end_s, up, down, home, end, all) = ctx.input_mut(|i| {
            (
                i.count_and_consume_key(Modifiers::SHIFT, Key::ArrowUp),
                i.count_and_consume_key(Modifiers::SHIFT, Key::ArrowDown),
                i.consume_key(Modifiers::SHIFT, Key::Home),
                i.consume_key(Modifiers::SHIFT, Key::End),
                i.count_and_consume_key(Modifiers::NONE, Key::ArrowUp),
                i.count_and_consume_key(Modifiers::NONE, Key::ArrowDown),
                i.consume_key(Modifiers::NONE, Key::Home),
                i.consume_key(Modifiers::NONE, Key::End),
                i.consume_shortcut(&SELECT_ALL),
            )
        });
        let n = self.model.rows.len();
        if n == 0 {
            return;
        }
        if all {
            self.model.selected = self.model.rows.iter().copied().collect();
        }
        let at = self
            .model
            .focused
            .and_then(|f| self.model.rows.iter().position(|e| *e == f));
        let moved =
            |by: isize| -> usize { at.map_or(0, |i| i.saturating_add_signed(by).min(n - 1)) };
        #[allow(
            clippy::cast_possible_wrap,
            reason = "key repeats in one frame are few"
        )]
        let target = if home || home_s {
            Some((0, home_s))
        } else if end || end_s {
            Some((n - 1, end_s))
        } else if down + down_s > 0 {
            Some((moved((down + down_s) as isize), down_s > 0))
        } else if up + up_s > 0 {
            Some((moved(-((up + up_s) as isize)), up_s > 0))
        } else {
            None
        };
        if let Some((i, extend)) = target
            && let Some(&eid) = self.model.rows.get(i)
        {
            self.select_row(eid, extend);
        }
    }

    /// Selects `eid` (the detail follows); with `extend`, every row from the anchor to it.
    pub fn select_row(&mut self, eid: EntryId, extend: bool) {
        let anchor = self.anchor.or(self.model.focused);
        let range = anchor.filter(|_| extend).and_then(|a| {
            let rows = &self.model.rows;
            let i = rows.iter().position(|e| *e == a)?;
            let j = rows.iter().position(|e| *e == eid)?;
            rows.get(i.min(j)..=i.max(j)).map(<[EntryId]>::to_vec)
        });
        self.model.selected.clear();
        if let Some(r) = range {
            self.model.selected.extend(r);
        } else {
            self.model.selected.insert(eid);
            self.anchor = Some(eid);
        }
        self.scroll_to = Some(eid);
        self.focus(Some(eid));
    }

    /// Ctrl+click: adds or removes one row; it becomes the anchor of a later Shift range.
    pub fn toggle_row(&mut self, eid: EntryId) {
        if !self.model.selected.remove(&eid) {
            self.model.selected.insert(eid);
        }
        self.anchor = Some(eid);
        self.focus(Some(eid));
    }
}

impl eframe::App for SpoolboxApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(dir) = self.open_store.take() {
            self.start_worker(dir);
        }
        if let Some(w) = &self.worker {
            while let Ok(e) = w.events.try_recv() {
                self.model.apply(e);
            }
        }
        self.restore_folder();
        self.breakpoints_reported();
        if let Some(eid) = self.model.watch_request.take() {
            self.command(Command::Watch(Some(eid)));
        }
        match self.dialogs.poll() {
            Some(Picked::Paths(purpose, paths)) => self.picked(purpose, paths),
            Some(Picked::Fallback(why)) => notify::notice(&mut self.model, why),
            None => {}
        }
        if self.dialogs.busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        self.sync_editor();
        // Autosave a moment after the last keystroke; closing the window saves at once.
        let closing = ctx.input(|i| i.viewport().close_requested());
        let sent = self.sent_folder();
        if let Some(c) = self.compose.take_save(sent, closing) {
            self.command(c);
        }
        if self.compose.dirty() {
            ctx.request_repaint_after(compose::AUTOSAVE_AFTER);
        }
        if closing {
            self.flush_commands();
        }
        self.shortcuts(ctx);
        if self.model.refresh_rows(jiff::Timestamp::now()) {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
        // A deferred send or a retry counts down on screen: redraw once a second while waiting.
        if self.model.timers {
            ctx.request_repaint_after(std::time::Duration::from_secs(1));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        toolbar::toolbar_ui(self, ui);
        status::status_ui(self, ui);
        folders::folders_ui(self, ui);
        // The detail is a panel of its own, right of the folders and below the table: a
        // panel inside the central panel narrowed its cursor, not its rect, and the table's
        // column lines and rows ran on under the detail.
        let detail = egui::Panel::bottom("detail")
            .resizable(true)
            .default_size(self.detail_height)
            .min_size(320.0)
            .show(ui, |ui| {
                // The contents fill the panel: egui keeps a panel's size from what its
                // contents took, so without this the pane shrank back to its minimum and
                // could not be made taller.
                ui.set_min_height(ui.available_height());
                detail::detail_ui(self, ui);
            });
        self.detail_height = detail.response.rect.height();
        egui::CentralPanel::default().show(ui, |ui| {
            outbox::outbox_ui(self, ui);
        });
        windows::windows_ui(self, ui);
        notify::notify_ui(ui.ctx(), &mut self.model);
        self.apply_intents();
        self.flush_commands();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.ui_state().save(storage);
    }

    /// egui's own memory (window positions, scroll offsets, popups) is not kept: what is
    /// remembered is the short list in [`UiState`], so a restart is predictable.
    fn persist_egui_memory(&self) -> bool {
        false
    }
}
