//! The top bar: send and debugger controls, store and theme, and the error banner.

use egui::RichText;

use super::app::{CONTINUE, FLUSH, STEP, SpoolboxApp};
use super::theme;
use crate::spooler::Command;

/// Draws the toolbar and the error banner.
pub fn toolbar_ui(app: &mut SpoolboxApp, ui: &mut egui::Ui) {
    egui::Panel::top("toolbar").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            let sel = app.model.selected.clone();
            if ui.button("New message").on_hover_text("Compose a draft in the Outbox (Ctrl+N)").clicked() {
                app.command(Command::NewDraft);
            }
            ui.separator();
            if ui
                .add_enabled(!sel.is_empty(), egui::Button::new("Send selected"))
                .on_hover_text("Submit the selected drafts, or send queued ones now ignoring their retry timer (Ctrl+Enter)")
                .clicked()
            {
                for eid in &sel {
                    app.command(Command::SendNow(*eid));
                }
            }
            if ui
                .button("Send all (F9)")
                .on_hover_text("Send/Receive: every queued message is eligible now; retry timers are ignored once")
                .clicked()
            {
                app.command(Command::Flush);
            }
            if ui
                .add_enabled(!sel.is_empty(), egui::Button::new("Abort submit"))
                .on_hover_text("IMsgStore::AbortSubmit: back to an editable draft. Refused with MAPI_E_UNABLE_TO_ABORT once SUBMITFLAG_LOCKED is set.")
                .clicked()
            {
                for eid in &sel {
                    app.command(Command::AbortSubmit(*eid));
                }
            }
            ui.separator();
            let paused = app.model.debug.paused;
            if paused {
                if ui.button("Resume").on_hover_text("Run the spooler (Ctrl+P)").clicked() {
                    app.command(Command::Resume);
                }
            } else if ui.button("Pause").on_hover_text("Stop after the current step (Ctrl+P)").clicked() {
                app.command(Command::Pause);
            }
            let step_label = format!("Step ({})", ui.ctx().format_shortcut(&STEP));
            if ui.button(step_label).on_hover_text("Run exactly one pipeline step, then stop").clicked() {
                app.command(Command::Step);
            }
            let cont_label = format!("Continue ({})", ui.ctx().format_shortcut(&CONTINUE));
            if ui.button(cont_label).on_hover_text("Run until the next breakpoint").clicked() {
                app.command(Command::Continue);
            }
            let _ = FLUSH;
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Help (F1)").clicked() {
                    app.windows.help = !app.windows.help;
                }
                let theme_label = if app.is_dark() { "Light mode" } else { "Dark mode" };
                if ui.button(theme_label).clicked() {
                    app.toggle_theme();
                }
                if ui.button("Profile…").on_hover_text("Transports, hooks, retry policy").clicked() {
                    app.windows.profile = !app.windows.profile;
                    app.windows.profile_text = app
                        .model
                        .profile
                        .as_ref()
                        .and_then(|p| serde_json::to_string_pretty(p).ok())
                        .unwrap_or_default();
                }
                if ui.button("Faults…").on_hover_text("Inject faults into a transport").clicked() {
                    app.windows.faults = !app.windows.faults;
                }
                if ui.button("Import .eml…").on_hover_text("Import RFC 5322 files as drafts in the Outbox").clicked()
                    && let Some(paths) = rfd::FileDialog::new()
                        .set_title("Import .eml files")
                        .add_filter("E-mail message", &["eml"])
                        .pick_files()
                {
                    app.model.start_import(paths.len() as u64);
                    for p in paths {
                        app.command(Command::ImportEml(p));
                    }
                }
                if ui.button("Open store…").on_hover_text("Open or create another store directory").clicked()
                    && let Some(dir) = rfd::FileDialog::new().set_title("Open or create a Spoolbox store").pick_folder()
                {
                    app.request_open_store(dir);
                }
            });
        });
        ui.add_space(2.0);
        banner_ui(app, ui);
    });
}

fn banner_ui(app: &mut SpoolboxApp, ui: &mut egui::Ui) {
    if app.model.errors.is_empty() {
        return;
    }
    let mut dismiss = None;
    egui::Frame::new()
        .fill(theme::banner_bg(ui))
        .inner_margin(6.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            for (i, e) in app.model.errors.iter().enumerate() {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("Error:").color(theme::bad(ui)));
                    ui.label(RichText::new(e).color(theme::bad(ui)));
                    if ui.small_button("Dismiss").clicked() {
                        dismiss = Some(i);
                    }
                });
            }
        });
    if let Some(i) = dismiss {
        app.model.errors.remove(i);
    }
    ui.add_space(2.0);
}
