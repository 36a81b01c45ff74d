//! The eframe app: `logic` drains the worker's events into the view model, `ui` draws it, and
//! every button only emits a [`Command`] that is sent after the pass.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{Key, KeyboardShortcut, Modifiers};

use super::model::{Model, Tab};
use super::{compose, detail, folders, outbox, status, toolbar, windows};
use crate::mapi::EntryId;
use crate::spooler::Command;
use crate::spooler::worker::{self, WorkerHandle};

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
    pub fault_edit: crate::store::profile::FaultConfig,
}

/// The Spoolbox window.
pub struct SpoolboxApp {
    /// What the UI shows (built from events).
    pub model: Model,
    /// Extra windows.
    pub windows: Windows,
    /// The compose form.
    pub compose: compose::ComposeState,
    worker: Option<WorkerHandle>,
    pending: Vec<Command>,
    ctx: egui::Context,
    dark: bool,
    /// Request to open another store (picked in a dialog).
    open_store: Option<PathBuf>,
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
            worker: None,
            pending: Vec::new(),
            ctx,
            dark,
            open_store: None,
        };
        app.start_worker(dir);
        app
    }

    fn start_worker(&mut self, dir: PathBuf) {
        if let Some(w) = self.worker.take() {
            w.shutdown();
        }
        self.model = Model::default();
        let ctx = self.ctx.clone();
        match worker::spawn_store(dir, true, Arc::new(move || ctx.request_repaint())) {
            Ok(w) => self.worker = Some(w),
            Err(e) => self
                .model
                .errors
                .push(format!("could not start the spooler thread: {e}")),
        }
    }

    /// Queues a command for after this pass.
    pub fn command(&mut self, c: Command) {
        self.pending.push(c);
    }

    /// Focuses a message (and asks the worker to stream its details).
    pub fn focus(&mut self, eid: Option<EntryId>) {
        if self.model.focused != eid {
            self.model.focused = eid;
            self.model.detail = None;
            self.model.travel = None;
            self.compose.loaded = None;
            if self.model.tab == Tab::Compose {
                self.model.tab = Tab::Pipeline;
            }
            self.command(Command::Watch(eid));
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
        self.open_store = Some(dir);
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.memory(|m| m.focused().is_some());
        let (flush, step, cont, new, send, pause, help, delete) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&FLUSH),
                i.consume_shortcut(&STEP),
                i.consume_shortcut(&CONTINUE),
                i.consume_shortcut(&NEW),
                i.consume_shortcut(&SEND),
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
        if let Some(eid) = self.model.watch_request.take() {
            self.command(Command::Watch(Some(eid)));
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
        egui::CentralPanel::default().show(ui, |ui| {
            egui::Panel::bottom("detail")
                .resizable(true)
                .default_size(440.0)
                .min_size(320.0)
                .show(ui, |ui| {
                    detail::detail_ui(self, ui);
                });
            outbox::outbox_ui(self, ui);
        });
        windows::windows_ui(self, ui);
        let pending = std::mem::take(&mut self.pending);
        for c in pending {
            if let Some(w) = &self.worker {
                if let Err(e) = w.send(c) {
                    self.model.errors.push(e);
                }
            } else {
                self.model
                    .errors
                    .push("no store is open: use Open store… to pick one".into());
            }
        }
    }
}
