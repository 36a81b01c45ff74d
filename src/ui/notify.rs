//! The notification area: errors and notices float in the bottom-right corner, over the
//! panels, so a message arriving never moves the layout. Errors stay until dismissed (one
//! click each, or Dismiss all); notices fade after a few seconds and stay in the log
//! (`Model::notices`).

use std::time::{Duration, Instant};

use egui::RichText;

use super::Intent;
use super::model::Model;
use super::theme;

/// How long a notice stays on screen.
pub const NOTICE_FOR: Duration = Duration::from_secs(8);

/// At most this many errors are shown at once (the rest are counted).
const SHOWN: usize = 4;

/// Lets notices go once they have been on screen for [`NOTICE_FOR`] (before each frame).
pub fn expire(model: &mut Model) {
    model.toasts.retain(|(t, _)| t.elapsed() < NOTICE_FOR);
}

/// Draws the notifications over everything else.
pub fn notify_ui(ctx: &egui::Context, model: &Model, out: &mut Vec<Intent>) {
    if model.errors.is_empty() && model.toasts.is_empty() {
        return;
    }
    let mut dismiss = None;
    let mut dismiss_all = false;
    egui::Area::new(egui::Id::unique("notifications"))
        .order(egui::Order::Foreground)
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -40.0))
        .interactable(true)
        .show(ctx, |ui| {
            ui.set_max_width(520.0);
            let skipped = model.errors.len().saturating_sub(SHOWN);
            if skipped > 0 || model.errors.len() > 1 {
                ui.horizontal(|ui| {
                    if skipped > 0 {
                        ui.label(
                            RichText::new(format!("{skipped} older error(s) not shown"))
                                .color(theme::muted(ui)),
                        );
                    }
                    if ui.small_button("Dismiss all").clicked() {
                        dismiss_all = true;
                    }
                });
            }
            for (i, e) in model.errors.iter().enumerate().skip(skipped) {
                egui::Frame::popup(ui.style())
                    .fill(theme::banner_bg(ui))
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.vertical(|ui| {
                                ui.set_max_width(430.0);
                                ui.label(RichText::new("Error").strong().color(theme::bad(ui)));
                                ui.add(
                                    egui::Label::new(RichText::new(e).color(theme::bad(ui))).wrap(),
                                );
                            });
                            if ui.small_button("Dismiss").clicked() {
                                dismiss = Some(i);
                            }
                        });
                    });
            }
            for (_, n) in &model.toasts {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_max_width(500.0);
                    ui.add(egui::Label::new(n.as_str()).wrap());
                });
            }
        });
    if dismiss_all {
        out.push(Intent::DismissAllErrors);
    } else if let Some(i) = dismiss {
        out.push(Intent::DismissError(i));
    }
    if !model.toasts.is_empty() {
        ctx.request_repaint_after(Duration::from_millis(500));
    }
}

/// Adds a notice to the log and to the corner.
pub fn notice(model: &mut Model, text: String) {
    model.toasts.push((Instant::now(), text.clone()));
    if model.toasts.len() > 3 {
        model.toasts.remove(0);
    }
    model.notices.push(text);
    if model.notices.len() > 50 {
        model.notices.remove(0);
    }
}
