//! The folder list with counts.

use super::Intent;
use super::model::Model;
use crate::store::{Folder, FolderKind};

/// Draws the folder list on the left.
pub fn folders_ui(ui: &mut egui::Ui, model: &Model, out: &mut Vec<Intent>) {
    egui::Panel::left("folders")
        .resizable(true)
        .default_size(180.0)
        .min_size(160.0)
        .show(ui, |ui| {
            ui.add_space(6.0);
            ui.heading("Folders");
            ui.add_space(4.0);
            let mut folders: Vec<&Folder> = model.folders.iter().collect();
            let order = |k: FolderKind| match k {
                FolderKind::Inbox => 0,
                FolderKind::Outbox => 1,
                FolderKind::SentItems => 2,
                FolderKind::DeletedItems => 3,
                FolderKind::User => 4,
            };
            folders.sort_by(|a, b| (order(a.kind), &a.name).cmp(&(order(b.kind), &b.name)));
            for f in folders {
                let n = model.count(f.entry_id);
                let label = format!("{} ({n})", f.name);
                let r = ui.selectable_label(
                    !model.show_timeline && model.folder == Some(f.entry_id),
                    label,
                );
                let r = match f.kind {
                    FolderKind::Outbox => {
                        r.on_hover_text("PR_IPM_OUTBOX_ENTRYID: drafts and the outgoing queue")
                    }
                    FolderKind::SentItems => r.on_hover_text(
                        "PR_IPM_SENTMAIL_ENTRYID: where PR_SENTMAIL_ENTRYID usually points",
                    ),
                    FolderKind::DeletedItems => r.on_hover_text("PR_IPM_WASTEBASKET_ENTRYID"),
                    FolderKind::Inbox => {
                        r.on_hover_text("Non-delivery reports and local (EX) deliveries")
                    }
                    FolderKind::User => r,
                };
                if r.clicked() {
                    out.push(Intent::ShowTimeline(false));
                    out.push(Intent::OpenFolder(f.entry_id));
                }
            }
            ui.add_space(8.0);
            ui.separator();
            let t = ui
                .selectable_label(model.show_timeline, "Timeline")
                .on_hover_text(
                    "Every step and hand-off of every message on one time axis, with live plots (Ctrl+T)",
                );
            if t.clicked() {
                out.push(Intent::ShowTimeline(!model.show_timeline));
            }
        });
}
