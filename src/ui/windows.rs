//! The extra windows: keyboard shortcuts, fault injection, the Profile window (its form is
//! `settings/`), and the two small ones that ask (the path field, "Send again?").

use egui::RichText;

use super::Intent;
use super::dialogs::{PathField, Purpose};
use super::model::Model;
use super::settings::{SettingsState, settings_ui};
use super::theme;
use crate::profile::{FaultConfig, Profile};

/// Which extra windows are open, and what they edit.
#[derive(Debug, Default)]
pub struct Windows {
    /// Keyboard shortcuts.
    pub help: bool,
    /// Fault injection.
    pub faults: bool,
    /// The Profile window (open or not, and what it edits).
    pub settings: SettingsState,
    /// Fault panel: the transport being edited.
    pub fault_transport: Option<String>,
    /// Fault panel: its settings.
    pub fault_edit: FaultConfig,
}

impl Windows {
    /// Escape: closes Help, else Faults, else the profile editor unless its text was edited.
    pub fn close_top(&mut self, profile: Option<&Profile>) {
        if self.help {
            self.help = false;
        } else if self.faults {
            self.faults = false;
        } else if self.settings.open && self.settings.unedited(profile) {
            self.settings.open = false;
        }
    }
}

/// Draws whichever windows are open; `field` is the path field, when one is shown.
pub fn windows_ui(
    ui: &mut egui::Ui,
    model: &Model,
    windows: &mut Windows,
    field: Option<&mut PathField>,
    out: &mut Vec<Intent>,
) {
    let ctx = ui.ctx().clone();
    if let Some(field) = field {
        path_field_ui(&ctx, field, out);
    }
    super::help::help_ui(&ctx, &mut windows.help);
    let mut open = windows.faults;
    egui::Window::new("Fault injection")
        .open(&mut open)
        .default_width(380.0)
        .show(&ctx, |ui| faults_ui(ui, model, windows, out));
    windows.faults = open;
    settings_ui(&ctx, model, &mut windows.settings, out);
}

/// The path field that stands in for a file dialog that could not open.
fn path_field_ui(ctx: &egui::Context, field: &mut PathField, out: &mut Vec<Intent>) {
    let mut done = None;
    egui::Window::new(field.purpose.title())
        .id(egui::Id::unique("path-field"))
        .collapsible(false)
        .resizable(true)
        .default_width(520.0)
        // Never past the window: 300 pasted paths scroll inside it, OK and Cancel stay.
        .max_height(ctx.content_rect().height() * 0.8)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.label(RichText::new(&field.why).color(theme::warn(ui)));
            if let Some(home) = super::dialogs::home() {
                ui.label(
                    RichText::new(format!(
                        "A relative path is read from your home folder, {}",
                        home.display()
                    ))
                    .color(theme::muted(ui)),
                );
            }
            let several = matches!(field.purpose, Purpose::Import | Purpose::Attach(_));
            let hint = match field.purpose {
                Purpose::OpenStore => "/path/to/store (created if new)".to_owned(),
                Purpose::PickupDir(_) => "/path/to/pickup".to_owned(),
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
            let r = if several {
                egui::ScrollArea::vertical()
                    .max_height((ctx.content_rect().height() * 0.5).max(80.0))
                    .show(ui, |ui| {
                        ui.add(edit.hint_text(hint).desired_width(f32::INFINITY))
                    })
                    .inner
            } else {
                ui.add(edit.hint_text(hint).desired_width(f32::INFINITY))
            };
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
        out.push(Intent::PathFieldDone(ok));
    }
}

/// Fault injection: a transport, its faults, Apply and Clear.
fn faults_ui(ui: &mut egui::Ui, model: &Model, windows: &mut Windows, out: &mut Vec<Intent>) {
    let Some(profile) = &model.profile else {
        return;
    };
    let names: Vec<&str> = profile.transports.iter().map(|t| t.name.as_str()).collect();
    let current = windows
        .fault_transport
        .clone()
        .unwrap_or_else(|| names.first().map(|n| (*n).to_owned()).unwrap_or_default());
    egui::ComboBox::from_label("Transport")
        .selected_text(&current)
        .show_ui(ui, |ui| {
            for n in &names {
                if ui.selectable_label(*n == current, *n).clicked() {
                    windows.fault_transport = Some((*n).to_owned());
                    windows.fault_edit = profile
                        .transports
                        .iter()
                        .find(|t| t.name == *n)
                        .map(|t| t.faults.clone())
                        .unwrap_or_default();
                }
            }
        });
    fault_grid_ui(ui, &mut windows.fault_edit);
    ui.horizontal(|ui| {
        if ui.button("Apply faults").clicked() {
            out.push(Intent::SetFaults(
                current.clone(),
                windows.fault_edit.clone(),
            ));
        }
        if ui.button("Clear faults").clicked() {
            windows.fault_edit = FaultConfig::default();
            out.push(Intent::SetFaults(current.clone(), FaultConfig::default()));
        }
    });
}

/// The fault settings being edited.
fn fault_grid_ui(ui: &mut egui::Ui, f: &mut FaultConfig) {
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
}
