//! Panels in reading order. egui gives the keyboard to widgets in the order they are drawn
//! (Tab, Shift+Tab) and screen readers read them in that order too, but a bottom panel (the
//! detail, the status bar) has to take its space before the central panel (the table) can
//! have the rest. So such a panel is shown empty first, keeping its place (its size, its
//! resize handle), and its contents are drawn into that place later, after the table: Tab
//! goes toolbar, folders, table, detail, status bar, as the window reads.

use egui::{Align, Layout, Rect, Ui, UiBuilder};

/// The place a panel kept for contents drawn later.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    /// Where the contents go (inside the panel's margins).
    pub content: Rect,
    /// What they are clipped to (the panel).
    pub clip: Rect,
}

/// Shows `panel` with no contents but `height` of room for them (`None`: all the room the
/// panel has, for a resizable panel whose height is the user's), and returns the place.
pub fn keep(ui: &mut Ui, panel: egui::Panel, height: Option<f32>) -> Place {
    let r = panel.show(ui, |ui| {
        // egui keeps a panel's size from what its contents took: the empty panel takes the
        // room its contents will have.
        ui.set_min_height(height.unwrap_or_else(|| ui.available_height()));
        ui.max_rect()
    });
    let mut content = r.inner;
    if let Some(h) = height {
        content.set_height(h);
    }
    Place {
        content,
        clip: r.response.rect,
    }
}

/// Draws contents into a place kept by [`keep`]; returns what `add` returns and the height
/// the contents took.
pub fn fill<R>(
    ui: &mut Ui,
    id_salt: &str,
    place: Place,
    add: impl FnOnce(&mut Ui) -> R,
) -> (R, f32) {
    let mut child = ui.new_child(
        UiBuilder::new()
            .id_salt(id_salt)
            .max_rect(place.content)
            .layout(Layout::top_down(Align::Min)),
    );
    child.shrink_clip_rect(place.clip);
    let inner = add(&mut child);
    (inner, child.min_rect().height())
}
