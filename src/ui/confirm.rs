//! "Delete for good?": asked before a delete that cannot be undone (messages already in
//! Deleted Items). Cancel has the keyboard, so Enter alone never deletes anything.

use egui::RichText;

use super::Intent;
use super::model::Model;
use super::theme;

/// Asks before deleting for good; the answer is [`Intent::AnswerDelete`].
pub fn delete_for_good_ui(ctx: &egui::Context, model: &Model, out: &mut Vec<Intent>) {
    let Some(eids) = &model.confirm_delete else {
        return;
    };
    let subjects: Vec<String> = eids
        .iter()
        .filter_map(|e| model.summaries.get(e))
        .map(|s| {
            if s.subject.is_empty() {
                format!("message {} (no subject)", s.eid)
            } else {
                format!("message {} \"{}\"", s.eid, s.subject)
            }
        })
        .collect();
    if subjects.is_empty() {
        // They are gone already: nothing to ask about.
        out.push(Intent::AnswerDelete(false));
        return;
    }
    let mut answer = None;
    egui::Window::new("Delete for good?")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.set_max_width(460.0);
            let what = match subjects.as_slice() {
                [one] => one.clone(),
                many => format!("these {} messages", many.len()),
            };
            ui.add(
                egui::Label::new(format!(
                    "Delete {what} for good? It is in Deleted Items: this cannot be undone."
                ))
                .wrap(),
            );
            if subjects.len() > 1 {
                for s in subjects.iter().take(8) {
                    ui.label(RichText::new(format!("  {s}")).color(theme::muted(ui)));
                }
                if subjects.len() > 8 {
                    ui.label(
                        RichText::new(format!("  and {} more", subjects.len() - 8))
                            .color(theme::muted(ui)),
                    );
                }
            }
            ui.label(RichText::new("Cancel leaves it in Deleted Items.").color(theme::muted(ui)));
            ui.horizontal(|ui| {
                let cancel = ui.button("Cancel");
                if ui
                    .button(RichText::new("Delete for good").color(theme::bad(ui)))
                    .clicked()
                {
                    answer = Some(true);
                }
                if !ui.memory(|m| m.focused().is_some()) {
                    cancel.request_focus();
                }
                if cancel.clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    answer = Some(false);
                }
            });
        });
    if let Some(yes) = answer {
        out.push(Intent::AnswerDelete(yes));
    }
}

/// "Send without a subject?": asked when Submit finds the subject empty. Cancel has the
/// keyboard (Enter goes back to the editor); the answer is [`Intent::AnswerNoSubject`].
pub fn no_subject_ui(ctx: &egui::Context, model: &Model, out: &mut Vec<Intent>) {
    if !model.confirm_no_subject {
        return;
    }
    let mut answer = None;
    egui::Window::new("Send without a subject?")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.add(
                egui::Label::new(
                    "This message has no subject. Recipients see it as \"(no subject)\".",
                )
                .wrap(),
            );
            ui.horizontal(|ui| {
                let back = ui.button("Add a subject");
                if ui.button("Send anyway").clicked() {
                    answer = Some(true);
                }
                if !ui.memory(|m| m.focused().is_some()) {
                    back.request_focus();
                }
                if back.clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    answer = Some(false);
                }
            });
        });
    if let Some(yes) = answer {
        out.push(Intent::AnswerNoSubject(yes));
    }
}
