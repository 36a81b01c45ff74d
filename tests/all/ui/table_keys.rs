//! The keyboard in the message table (issue 17, item 4).

use super::*;

/// The Outbox's rows as the table orders them, at least `n` of them.
pub(crate) fn rows(h: &Harness<'_, SpoolboxApp>, n: usize) -> Vec<EntryId> {
    let rows = h.state().model.rows.clone();
    assert!(rows.len() >= n, "the demo Outbox has {} rows", rows.len());
    rows
}

pub(crate) fn selected(h: &Harness<'_, SpoolboxApp>) -> Vec<EntryId> {
    h.state().model.selected.iter().copied().collect()
}

pub(crate) fn subject(h: &Harness<'_, SpoolboxApp>, eid: EntryId) -> String {
    h.state().model.summaries[&eid].subject.clone()
}

#[test]
fn arrow_keys_home_and_end_move_the_selection_and_the_detail_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let rows = rows(&h, 3);
    // From no selection, Down picks the first row.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(selected(&h), vec![rows[0]]);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(selected(&h), vec![rows[1]]);
    assert_eq!(h.state().model.focused, Some(rows[1]));
    step_until(&mut h, "the detail to follow the second row", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.entry_id == rows[1])
    });
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(2);
    assert_eq!(selected(&h), vec![rows[0]]);
    // Up at the top stays there.
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(2);
    assert_eq!(selected(&h), vec![rows[0]]);
    h.key_press(egui::Key::End);
    h.run_steps(2);
    let last = *rows.last().unwrap();
    assert_eq!(selected(&h), vec![last]);
    step_until(&mut h, "the detail to follow the last row", |a| {
        a.model.detail.as_ref().is_some_and(|m| m.entry_id == last)
    });
    h.key_press(egui::Key::Home);
    h.run_steps(2);
    assert_eq!(selected(&h), vec![rows[0]]);
    // Shift+Down extends from the anchor.
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowDown);
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowDown);
    h.run_steps(2);
    let mut want = rows[..3].to_vec();
    want.sort();
    assert_eq!(selected(&h), want);
    assert_eq!(h.state().model.focused, Some(rows[2]));
}

#[test]
fn shift_click_selects_a_range() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let rows = rows(&h, 3);
    h.get_by_label(&subject(&h, rows[0])).click();
    h.run_steps(2);
    assert_eq!(selected(&h), vec![rows[0]]);
    h.get_by_label(&subject(&h, rows[2]))
        .click_modifiers(egui::Modifiers::SHIFT);
    h.run_steps(2);
    let mut want = rows[..3].to_vec();
    want.sort();
    assert_eq!(selected(&h), want, "rows 0 to 2, the middle one too");
    h.get_by_label("3 selected");
    // Shift+click back to the first row from the same anchor narrows the range.
    h.get_by_label(&subject(&h, rows[1]))
        .click_modifiers(egui::Modifiers::SHIFT);
    h.run_steps(2);
    let mut want = rows[..2].to_vec();
    want.sort();
    assert_eq!(selected(&h), want);
}

#[test]
fn ctrl_a_selects_every_row_of_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let rows = rows(&h, 3);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(2);
    let mut want = rows.clone();
    want.sort();
    assert_eq!(selected(&h), want);
    h.get_by_label(&format!("{} selected", rows.len()));
    // In a text field (the filter) Ctrl+A is the field's: the selection stays as it is.
    h.get_by_label(&subject(&h, rows[0])).click();
    h.run_steps(2);
    h.get_by_role(egui::accesskit::Role::TextInput).click();
    h.run_steps(2);
    assert!(h.ctx.text_edit_focused(), "the filter has focus");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(2);
    assert_eq!(selected(&h), vec![rows[0]]);
}

#[test]
fn escape_closes_help() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    assert!(h.state().windows.help);
    h.get_by_label("Keyboard shortcuts");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!h.state().windows.help, "Escape closes Help");
    assert!(h.query_by_label("Keyboard shortcuts").is_none());
}
