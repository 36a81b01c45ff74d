//! Help (F1, and the toolbar's Help): every key and gesture of [`keys::BINDINGS`], the table
//! the keyboard is read from, so the list cannot drift from what the keys do.

use egui::RichText;

use super::keys::{self, BINDINGS};
use super::theme;

/// The keyboard shortcuts window.
pub fn help_ui(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .resizable(false)
        .default_width(560.0)
        .show(ctx, |ui| {
            // On a short window the list scrolls rather than running off the screen.
            let room = (ctx.content_rect().height() - 140.0).max(160.0);
            egui::ScrollArea::vertical()
                .max_height(room)
                .show(ui, |ui| {
                    egui::Grid::new("keys")
                        .striped(true)
                        .num_columns(2)
                        .show(ui, |ui| {
                            for b in BINDINGS {
                                ui.monospace(keys::keys_text(ctx, b));
                                ui.add(egui::Label::new(b.what).wrap());
                                ui.end_row();
                            }
                        });
                });
            ui.add_space(4.0);
            ui.label(
                RichText::new(
                    "The toolbar's buttons that do not fit a narrow window are under More.",
                )
                .color(theme::muted(ui)),
            );
        });
}
