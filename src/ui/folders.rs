//! The folder list with counts.

use super::app::SpoolboxApp;
use crate::store::FolderKind;

/// Draws the folder list on the left.
pub fn folders_ui(app: &mut SpoolboxApp, ui: &mut egui::Ui) {
    egui::Panel::left("folders")
        .resizable(true)
        .default_size(180.0)
        .min_size(160.0)
        .show(ui, |ui| {
            ui.add_space(6.0);
            ui.heading("Folders");
            ui.add_space(4.0);
            let mut folders = app.model.folders.clone();
            let order = |k: FolderKind| match k {
                FolderKind::Inbox => 0,
                FolderKind::Outbox => 1,
                FolderKind::SentItems => 2,
                FolderKind::DeletedItems => 3,
                FolderKind::User => 4,
            };
            folders.sort_by_key(|f| (order(f.kind), f.name.clone()));
            for f in folders {
                let n = app.model.count(f.entry_id);
                let label = format!("{} ({n})", f.name);
                let r = ui.selectable_label(app.model.folder == Some(f.entry_id), label);
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
                    app.model.folder = Some(f.entry_id);
                    app.model.selected.clear();
                    app.model.invalidate_rows();
                    app.focus(None);
                }
            }
        });
}
