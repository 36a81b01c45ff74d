//! The notification area: errors and notices float in the bottom-right corner, over the
//! panels, so a message arriving never moves the layout. Errors stay until dismissed (one
//! click each, or Dismiss all); notices fade after a few seconds and stay in the log
//! (`Model::notices`). A delete says what it moved, with an Undo, for [`UNDO_FOR`].

use std::time::{Duration, Instant};

use egui::RichText;

use super::Intent;
use super::keys::UNDO;
use super::model::Model;
use super::theme;
use crate::mapi::EntryId;

/// How long a notice stays on screen.
pub const NOTICE_FOR: Duration = Duration::from_secs(8);

/// How long a delete can be undone from its notice.
pub const UNDO_FOR: Duration = Duration::from_secs(20);

/// At most this many errors are shown at once (the rest are counted).
const SHOWN: usize = 4;

/// A delete that can be undone: the messages moved to Deleted Items, each with the folder
/// it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undo {
    /// What the notice says.
    pub text: String,
    /// (message, the folder it was in).
    pub moves: Vec<(EntryId, EntryId)>,
    /// When it was deleted.
    pub at: Instant,
}

/// Lets notices go once they have been on screen for [`NOTICE_FOR`], and an undo after
/// [`UNDO_FOR`] (before each frame).
pub fn expire(model: &mut Model) {
    model.toasts.retain(|(t, _)| t.elapsed() < NOTICE_FOR);
    if model
        .undo
        .as_ref()
        .is_some_and(|u| u.at.elapsed() >= UNDO_FOR)
    {
        model.undo = None;
    }
}

/// Draws the notifications over everything else.
pub fn notify_ui(ctx: &egui::Context, model: &Model, out: &mut Vec<Intent>) {
    if model.errors.is_empty() && model.toasts.is_empty() && model.undo.is_none() {
        return;
    }
    let mut dismiss = None;
    let mut dismiss_all = false;
    let mut undo = false;
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
            if let Some(u) = &model.undo {
                undo = undo_ui(ui, u);
            }
        });
    if undo {
        out.push(Intent::UndoDelete);
    }
    if dismiss_all {
        out.push(Intent::DismissAllErrors);
    } else if let Some(i) = dismiss {
        out.push(Intent::DismissError(i));
    }
    if !model.toasts.is_empty() || model.undo.is_some() {
        ctx.request_repaint_after(Duration::from_millis(500));
    }
}

/// The notice of a delete, with its Undo; true when Undo was clicked.
fn undo_ui(ui: &mut egui::Ui, u: &Undo) -> bool {
    egui::Frame::popup(ui.style())
        .show(ui, |ui| {
            ui.set_max_width(500.0);
            ui.add(egui::Label::new(u.text.as_str()).wrap());
            ui.horizontal(|ui| {
                let r = ui
                    .button("Undo")
                    .on_hover_text("Move them back to the folders they were in");
                ui.label(RichText::new(ui.ctx().format_shortcut(&UNDO)).color(theme::muted(ui)));
                r.clicked()
            })
            .inner
        })
        .inner
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
