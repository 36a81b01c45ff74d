//! The extra windows: keyboard shortcuts, fault injection, the profile editor.

use egui::RichText;

use super::app::SpoolboxApp;
use super::theme;
use crate::profile::{FaultConfig, Profile};
use crate::spooler::Command;

/// The path field that stands in for a file dialog that could not open.
fn path_field_ui(app: &mut SpoolboxApp, ctx: &egui::Context) {
    let Some(field) = app.dialogs.field.as_mut() else {
        return;
    };
    let mut done = None;
    egui::Window::new(field.purpose.title())
        .id(egui::Id::unique("path-field"))
        .collapsible(false)
        .resizable(true)
        .default_width(520.0)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.label(RichText::new(&field.why).color(theme::warn(ui)));
            let several = matches!(
                field.purpose,
                super::dialogs::Purpose::Import | super::dialogs::Purpose::Attach(_)
            );
            let hint = match field.purpose {
                super::dialogs::Purpose::OpenStore => "/path/to/store (created if new)".to_owned(),
                p => p
                    .suggested_name()
                    .map_or_else(|| "/path/to/file".to_owned(), |n| format!("/path/to/{n}")),
            };
            let l = ui.label(if several {
                "Paths (one per line)"
            } else {
                "Path"
            });
            let edit = if several {
                egui::TextEdit::multiline(&mut field.text).desired_rows(3)
            } else {
                egui::TextEdit::singleline(&mut field.text)
            };
            let r = ui.add(edit.hint_text(hint).desired_width(f32::INFINITY));
            let r = r.labelled_by(l.id);
            if !r.has_focus() && field.text.is_empty() {
                r.request_focus();
            }
            let enter = !several && r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(!field.text.trim().is_empty(), egui::Button::new("OK"))
                    .clicked()
                    || (enter && !field.text.trim().is_empty())
                {
                    done = Some(true);
                }
                if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    done = Some(false);
                }
            });
        });
    if let Some(ok) = done {
        app.path_field_done(ok);
    }
}

/// Asks before "Send again" makes a new message.
fn send_again_ui(app: &mut SpoolboxApp, ctx: &egui::Context) {
    let Some(eid) = app.model.confirm_send_again else {
        return;
    };
    let Some(s) = app.model.summaries.get(&eid).cloned() else {
        app.model.confirm_send_again = None;
        return;
    };
    let mut answer = None;
    egui::Window::new("Send again?")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.label(format!(
                "Message {eid} \"{}\" was sent. Send it again to its {} recipient(s)?",
                s.subject, s.total
            ));
            ui.label(
                RichText::new(
                    "A new message is made and submitted; this one and its trace stay as they are.",
                )
                .color(theme::muted(ui)),
            );
            ui.horizontal(|ui| {
                if ui.button("Send again").clicked() {
                    answer = Some(true);
                }
                if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    answer = Some(false);
                }
            });
        });
    if let Some(yes) = answer {
        app.model.confirm_send_again = None;
        if yes {
            app.command(Command::SendAgain(eid));
        }
    }
}

/// Draws whichever windows are open.
pub fn windows_ui(app: &mut SpoolboxApp, ui: &mut egui::Ui) {
    let ctx = ui.ctx().clone();
    path_field_ui(app, &ctx);
    send_again_ui(app, &ctx);
    let mut help = app.windows.help;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut help)
        .resizable(false)
        .show(&ctx, |ui| {
            egui::Grid::new("keys").striped(true).show(ui, |ui| {
                for (k, what) in [
                    ("F9", "Send all: every queued message now (Send/Receive)"),
                    ("F10", "Step: run one pipeline step"),
                    ("F5", "Continue: run to the next breakpoint"),
                    ("Ctrl+P", "Pause / resume the spooler"),
                    ("Ctrl+N", "New message"),
                    (
                        "Ctrl+Enter",
                        "Send the selected messages; in the editor, submit what is on screen",
                    ),
                    ("Delete", "Delete the selected messages"),
                    ("Up / Down", "Select the previous / next message"),
                    ("Home / End", "Select the first / last message"),
                    ("Shift+Up / Down", "Extend the selection"),
                    (
                        "Shift+click",
                        "Select every message from the last one picked",
                    ),
                    ("Ctrl+click", "Add a message to the selection"),
                    ("Ctrl+A", "Select every message of the folder"),
                    ("Esc", "Close this window (and Faults, Profile)"),
                    ("F1", "This window"),
                ] {
                    ui.monospace(k);
                    ui.label(what);
                    ui.end_row();
                }
            });
        });
    app.windows.help = help;

    let mut faults = app.windows.faults;
    egui::Window::new("Fault injection")
        .open(&mut faults)
        .default_width(380.0)
        .show(&ctx, |ui| {
            let Some(profile) = app.model.profile.clone() else {
                return;
            };
            let names: Vec<String> = profile.transports.iter().map(|t| t.name.clone()).collect();
            let current = app
                .windows
                .fault_transport
                .clone()
                .unwrap_or_else(|| names.first().cloned().unwrap_or_default());
            egui::ComboBox::from_label("Transport")
                .selected_text(&current)
                .show_ui(ui, |ui| {
                    for n in &names {
                        if ui.selectable_label(*n == current, n).clicked() {
                            app.windows.fault_transport = Some(n.clone());
                            app.windows.fault_edit = profile
                                .transports
                                .iter()
                                .find(|t| t.name == *n)
                                .map(|t| t.faults.clone())
                                .unwrap_or_default();
                        }
                    }
                });
            let f = &mut app.windows.fault_edit;
            egui::Grid::new("faults").num_columns(2).show(ui, |ui| {
                ui.label("Fail the next N hand-offs");
                ui.add(egui::DragValue::new(&mut f.fail_next).range(0..=1000));
                ui.end_row();
                ui.label("Fail recipients matching");
                let mut pat = f.fail_pattern.clone().unwrap_or_default();
                if ui
                    .add(egui::TextEdit::singleline(&mut pat).hint_text("part of an address"))
                    .changed()
                {
                    f.fail_pattern = Some(pat).filter(|p| !p.is_empty());
                }
                ui.end_row();
                ui.label("Failures are permanent (NDR)");
                ui.checkbox(&mut f.permanent, "permanent");
                ui.end_row();
                ui.label("Latency per hand-off (ms)");
                ui.add(egui::DragValue::new(&mut f.latency_ms).range(0..=60_000));
                ui.end_row();
                ui.label("Decline everything");
                ui.checkbox(&mut f.decline, "MAPI_E_NOT_ME");
                ui.end_row();
                ui.label("Defer (END_DONT_RESEND), seconds");
                ui.add(egui::DragValue::new(&mut f.defer_secs).range(0..=86_400));
                ui.end_row();
            });
            ui.horizontal(|ui| {
                if ui.button("Apply faults").clicked() {
                    app.command(Command::SetFaults(
                        current.clone(),
                        app.windows.fault_edit.clone(),
                    ));
                }
                if ui.button("Clear faults").clicked() {
                    app.windows.fault_edit = FaultConfig::default();
                    app.command(Command::SetFaults(current.clone(), FaultConfig::default()));
                }
            });
        });
    app.windows.faults = faults;

    let mut profile_open = app.windows.profile;
    egui::Window::new("Profile").open(&mut profile_open).default_size([560.0, 480.0]).show(&ctx, |ui| {
        ui.label("Transports in priority order with their address types and settings, the coupled store's address types, outbound hooks, the retry policy. The SMTP password is never stored here.");
        let parsed = serde_json::from_str::<Profile>(&app.windows.profile_text);
        egui::ScrollArea::vertical().max_height(360.0).show(ui, |ui| {
            ui.add(egui::TextEdit::multiline(&mut app.windows.profile_text).code_editor().desired_width(f32::INFINITY).desired_rows(20));
        });
        match &parsed {
            Ok(_) => ui.label(RichText::new("valid profile").color(theme::ok(ui))),
            Err(e) => ui.label(RichText::new(format!("not a valid profile: {e}")).color(theme::bad(ui))),
        };
        if ui.add_enabled(parsed.is_ok(), egui::Button::new("Save profile")).clicked()
            && let Ok(p) = parsed
        {
            app.command(Command::SaveProfile(Box::new(p)));
        }
    });
    app.windows.profile = profile_open;
}
