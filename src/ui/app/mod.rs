//! The eframe app: `logic` drains the worker's events into the view model and reads the
//! keyboard, `ui` has each panel draw from the model and collects what the user asked for as
//! [`Intent`](super::Intent)s, which [`SpoolboxApp::apply`] acts on after the panels (in `apply.rs`).

mod apply;
mod delete;

use std::path::PathBuf;
use std::sync::Arc;

use super::dialogs::{Dialogs, Picked};
use super::model::Model;
use super::outbox::OutboxState;
use super::persist::{FolderPref, UiState};
use super::toolbar::Chrome;
use super::windows::Windows;
use super::{
    compose, confirm, detail, folders, keys, notify, order, outbox, status, toolbar, windows,
};
use crate::mapi::EntryId;
use crate::spooler::Command;
use crate::spooler::worker::{self, WorkerHandle};
use crate::store::FolderKind;

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
    /// The message table's own state (the row to scroll into view, column widths).
    pub outbox: OutboxState,
    /// The Properties tab's editor.
    pub props: detail::PropsEdit,
    worker: Option<WorkerHandle>,
    pending: Vec<Command>,
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
    /// The Timeline panel's view.
    pub timeline: crate::ui::timeline::TimelineState,
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
            columns,
            timeline,
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
        // Hints and muted text readable in dark mode too: egui's weak text there is the text
        // colour at 50 % over a dark grey (about 3:1); 4.5:1 is WCAG's floor for text.
        ctx.style_mut_of(egui::Theme::Dark, |s| {
            s.visuals.weak_text_color = Some(egui::Color32::from_gray(150));
        });
        let mut app = Self {
            model: Model::default(),
            windows: Windows::default(),
            compose: compose::ComposeState::default(),
            dialogs: Dialogs::default(),
            outbox: OutboxState {
                widths: columns,
                ..OutboxState::default()
            },
            props: detail::PropsEdit::default(),
            worker: None,
            pending: Vec::new(),
            ctx,
            dark,
            open_store: None,
            last_store,
            want_folder: folder,
            start_breakpoints: Some(breakpoints),
            detail_height,
            anchor: None,
            timeline: crate::ui::timeline::TimelineState::default(),
        };
        app.start_worker(dir);
        app.model.sort = sort;
        app.model.show_timeline = timeline;
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
            columns: self.outbox.widths.clone(),
            timeline: self.model.show_timeline,
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

    fn sent_folder(&self) -> EntryId {
        self.model
            .folder_of(FolderKind::SentItems)
            .unwrap_or(EntryId(0))
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

    /// True in dark mode.
    pub fn is_dark(&self) -> bool {
        self.dark
    }

    /// Asks for another store to be opened.
    pub fn request_open_store(&mut self, dir: PathBuf) {
        self.last_store = Some(dir.clone());
        self.open_store = Some(dir);
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
        self.model.prune_selection();
        self.restore_folder();
        self.breakpoints_reported();
        if let Some(eid) = self.model.watch_request.take() {
            self.command(Command::Watch(Some(eid)));
        }
        // What ran before is read the first time the timeline shows (it may be a million
        // spans: not at every start).
        if self.model.show_timeline
            && !self.model.timeline_asked
            && let Some(root) = self.model.root.clone()
        {
            self.model.timeline_asked = true;
            self.command(Command::LoadTimeline(root));
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
        // The keys act before the panels draw (as they always did): this frame shows them.
        let mut keys = Vec::new();
        keys::shortcuts(ctx, &self.model, self.dialogs.field.is_some(), &mut keys);
        for i in keys {
            self.apply(i);
        }
        self.request_source();
        notify::expire(&mut self.model);
        if self.model.refresh_rows(jiff::Timestamp::now()) {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
        self.model.prune_selection();
        // A deferred send or a retry counts down on screen: redraw once a second while waiting.
        if self.model.timers {
            ctx.request_repaint_after(std::time::Duration::from_secs(1));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut out = Vec::new();
        let model = &self.model;
        let dialog_open = self.dialogs.busy();
        let chrome = Chrome {
            dialog_open,
            dark: self.dark,
        };
        toolbar::toolbar_ui(ui, model, chrome, &mut out);
        // The status bar and the detail keep their places first and are drawn after the
        // table (see `order`): Tab and screen readers go toolbar, folders, table, detail,
        // status bar, as the window reads.
        let status_place = status::keep_ui(ui);
        folders::folders_ui(ui, model, &mut out);
        // The detail is a panel of its own, right of the folders and below the table: a
        // panel inside the central panel narrowed its cursor, not its rect, and the table's
        // column lines and rows ran on under the detail.
        let detail_panel = egui::Panel::bottom("detail")
            .resizable(true)
            .default_size(self.detail_height)
            .min_size(320.0);
        let detail_place = order::keep(ui, detail_panel, None);
        self.detail_height = detail_place.clip.height();
        egui::CentralPanel::default().show(ui, |ui| {
            if model.show_timeline {
                crate::ui::timeline::timeline_ui(ui, model, &mut self.timeline, &mut out);
            } else {
                outbox::outbox_ui(ui, model, &mut self.outbox, &mut out);
            }
        });
        let compose = &mut self.compose;
        let props = &mut self.props;
        order::fill(ui, "detail-contents", detail_place, |ui| {
            let state = detail::DetailState {
                compose,
                dialog_open,
                props,
            };
            detail::detail_ui(ui, model, state, &mut out);
        });
        status::status_ui(ui, model, status_place, &mut out);
        confirm::delete_for_good_ui(ui.ctx(), model, &mut out);
        confirm::no_subject_ui(ui.ctx(), model, &mut out);
        windows::windows_ui(
            ui,
            model,
            &mut self.windows,
            self.dialogs.field.as_mut(),
            &mut out,
        );
        notify::notify_ui(ui.ctx(), model, &mut out);
        // Enter put the keyboard in the detail: done once the detail showed the message.
        let shown = self.model.detail.as_ref().map(|m| m.entry_id);
        if self.model.focus_detail && shown.is_some() && shown == self.model.focused {
            self.model.focus_detail = false;
        }
        if !out.is_empty() {
            // What the intents change shows in the next frame, at once.
            ui.ctx().request_repaint();
        }
        for i in out {
            self.apply(i);
        }
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
