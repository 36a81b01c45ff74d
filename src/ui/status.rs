//! The status table (`IMAPISession::GetStatusTable`): the spooler's row and one per transport.

use egui::RichText;

use super::model::Model;
use super::theme;
use crate::mapi::flags::{self, FlagKind, STATUS_FAILURE, STATUS_OFFLINE, STATUS_OUTBOUND_ACTIVE};

/// Draws the status bar at the bottom.
pub fn status_ui(ui: &mut egui::Ui, model: &Model) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.add_space(3.0);
        ui.horizontal_wrapped(|ui| {
            let paused = model.debug.paused;
            let state = match (&model.debug.at, paused) {
                (Some((eid, step)), _) => {
                    RichText::new(format!("Stopped before {step} of message {eid}"))
                        .color(theme::active(ui))
                        .strong()
                }
                (None, true) => RichText::new("Spooler paused")
                    .color(theme::warn(ui))
                    .strong(),
                (None, false) => match model.idle_until {
                    Some(Some(t)) => {
                        RichText::new(format!("Idle until {}", t.strftime("%H:%M:%S UTC")))
                            .color(theme::muted(ui))
                    }
                    Some(None) => RichText::new("Idle").color(theme::muted(ui)),
                    None => RichText::new("Running").color(theme::ok(ui)),
                },
            };
            ui.label(state);
            ui.separator();
            for row in &model.status {
                let c = if row.status_code & STATUS_FAILURE != 0 {
                    theme::bad(ui)
                } else if row.status_code & STATUS_OUTBOUND_ACTIVE != 0 {
                    theme::active(ui)
                } else if row.status_code & STATUS_OFFLINE != 0 {
                    theme::warn(ui)
                } else {
                    theme::ok(ui)
                };
                let r = ui.label(RichText::new(row.name.clone()).color(c).strong());
                r.on_hover_text(format!(
                    "PR_STATUS_CODE: {}\nPR_REMOTE_PROGRESS: {}\nPR_STATUS_STRING: {}\n{}",
                    flags::decode(FlagKind::StatusCode, row.status_code),
                    row.progress,
                    row.text,
                    if row.address_types.is_empty() {
                        String::new()
                    } else {
                        format!("address types: {}", row.address_types.join(", "))
                    }
                ));
                if row.progress >= 0 {
                    let p =
                        f32::from(u8::try_from(row.progress.clamp(0, 100)).unwrap_or(0)) / 100.0;
                    ui.add(
                        egui::ProgressBar::new(p)
                            .desired_width(70.0)
                            .show_percentage(),
                    );
                } else {
                    ui.label(RichText::new(&row.text).color(theme::muted(ui)).small());
                }
                ui.separator();
            }
            if let Some((label, done, total)) = &model.progress {
                let p = if *total == 0 {
                    0.0
                } else {
                    *done as f32 / *total as f32
                };
                ui.add(
                    egui::ProgressBar::new(p)
                        .text(format!("{label}: {done}/{total}"))
                        .desired_width(200.0),
                );
            }
            if let Some(root) = &model.root {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    // In the room that is left, cut short (the whole path on hover) rather
                    // than drawn over the transports.
                    let path = format!("store: {}", root.display());
                    ui.add(
                        egui::Label::new(RichText::new(&path).color(theme::muted(ui)).small())
                            .truncate(),
                    )
                    .on_hover_text(path);
                });
            }
        });
        ui.add_space(1.0);
    });
}
