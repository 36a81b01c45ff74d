//! Help (F1, and the toolbar's Help): every key and gesture of [`keys::BINDINGS`], the table
//! the keyboard is read from, so the list cannot drift from what the keys do.

use egui::RichText;

use super::keys::{self, BINDINGS};
use super::theme;

/// The keyboard shortcuts window.
pub fn help_ui(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .auto_sized()
        .show(ctx, |ui| {
            // Laid out in one pass (no grid to measure across frames): the key column has a
            // fixed width and the text wraps beside it.
            ui.set_width(600.0);
            let key_w = 190.0;
            // On a short window the list scrolls rather than running off the screen.
            let room = (ctx.content_rect().height() - 140.0).max(160.0);
            egui::ScrollArea::vertical()
                .max_height(room)
                .show(ui, |ui| {
                    for (i, b) in BINDINGS.iter().enumerate() {
                        // Striped as a grid would be, behind the row (its size known once drawn).
                        let stripe = ui.painter().add(egui::Shape::Noop);
                        let row = ui.horizontal_top(|ui| {
                            ui.allocate_ui_with_layout(
                                egui::vec2(key_w, 0.0),
                                egui::Layout::left_to_right(egui::Align::Min),
                                |ui| {
                                    ui.set_min_width(key_w);
                                    ui.monospace(keys::keys_text(ctx, b));
                                },
                            );
                            ui.add(egui::Label::new(b.what).wrap());
                        });
                        if i % 2 == 1 {
                            ui.painter().set(
                                stripe,
                                egui::Shape::rect_filled(
                                    egui::Rect::from_x_y_ranges(
                                        ui.max_rect().x_range(),
                                        row.response.rect.y_range(),
                                    )
                                    .expand2(egui::vec2(2.0, 1.0)),
                                    2.0,
                                    ui.visuals().faint_bg_color,
                                ),
                            );
                        }
                    }
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
