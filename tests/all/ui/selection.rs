//! The window acts only on what is on screen (issue 28, items 1 and 2): the selection is a
//! set of rows shown in the folder and filter, and an action on many messages is one command
//! answered per message, whose notice says what happened.

use super::*;
use spoolbox::mapi::{Message, Recipient, RecipientKind};
use spoolbox::profile::Profile;
use spoolbox::spooler::submit;
use spoolbox::store::Store;

use crate::folders::{eid_in, open, select};

/// Clicks the button with this label above the table (the detail may have one of its own).
fn click_bar_button(h: &Harness<'_, SpoolboxApp>, label: &str) {
    h.get_all_by_label(label)
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .unwrap()
        .click();
}

#[test]
fn restore_then_delete_in_a_folder_that_became_empty_acts_on_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let subject = "Draft: notes for next week";
    let draft = eid_in(h.state(), FolderKind::Outbox, subject).unwrap();
    select(&mut h, subject, draft);
    h.get_all_by_label("Delete").next().unwrap().click();
    step_until(&mut h, "the draft in Deleted Items", |a| {
        eid_in(a, FolderKind::DeletedItems, subject) == Some(draft)
    });
    open(&mut h, "Deleted Items", FolderKind::DeletedItems);
    select(&mut h, subject, draft);
    click_bar_button(&h, "Restore");
    step_until(&mut h, "the draft back in the Outbox", |a| {
        eid_in(a, FolderKind::Outbox, subject) == Some(draft)
    });
    h.run_steps(2);
    // The folder shown is empty: nothing is selected, Delete does nothing.
    assert!(
        h.state().model.selected.is_empty(),
        "{:?}",
        h.state().model.selected
    );
    h.get_by_label("0 selected");
    h.get_by_label("No messages here.");
    h.key_press(egui::Key::Delete);
    h.run_steps(10);
    assert_eq!(
        eid_in(h.state(), FolderKind::Outbox, subject),
        Some(draft),
        "the restored draft was moved out again"
    );
}

#[test]
fn a_row_hidden_by_the_filter_leaves_the_selection_and_the_detail() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let subject = "Draft: notes for next week";
    let draft = eid_in(h.state(), FolderKind::Outbox, subject).unwrap();
    select(&mut h, subject, draft);
    assert!(h.state().model.selected.contains(&draft));
    h.get_by_label("Filter").click();
    let field = h
        .get_all_by_role(egui::accesskit::Role::TextInput)
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .unwrap();
    field.click();
    h.run_steps(1);
    h.get_all_by_role(egui::accesskit::Role::TextInput)
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .unwrap()
        .type_text("zzz no such message");
    h.run_steps(3);
    assert!(h.state().model.rows.is_empty());
    assert!(
        h.state().model.selected.is_empty(),
        "a hidden row stayed selected"
    );
    assert_eq!(
        h.state().model.focused,
        None,
        "the detail still showed the hidden row"
    );
    h.get_by_label("0 selected");
}

/// A store of `n` drafts and one queued message (the spooler starts paused, so it stays
/// queued): Delete of them all is one command.
fn many_drafts(dir: &Path, n: usize) -> EntryId {
    let (mut store, _) = Store::open(dir).unwrap();
    store
        .set_profile(Profile {
            start_paused: true,
            ..Profile::default()
        })
        .unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let draft = |store: &mut Store, subject: &str| -> Message {
        let eid = store.new_entry_id().unwrap();
        let mut m = Message::draft(eid, outbox, subject);
        m.recipients.push(Recipient::new(
            0,
            "Ann",
            "ann@example.org",
            "SMTP",
            RecipientKind::To,
        ));
        m
    };
    let mut queued = draft(&mut store, "queued, cannot be deleted");
    store.save(&mut queued).unwrap();
    for i in 0..n {
        let mut m = draft(&mut store, &format!("bulk {i:05}"));
        store.save(&mut m).unwrap();
    }
    submit::submit_message(&mut store, queued.entry_id, jiff::Timestamp::now()).unwrap();
    queued.entry_id
}

#[test]
fn delete_and_undo_of_thousands_are_one_command_and_say_what_happened() {
    const N: usize = 1500;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bulk");
    let queued = many_drafts(&dir, N);
    let mut h = app(&dir);
    step_until(&mut h, "the store to load", |a| {
        a.model.summaries.len() == N + 1 && a.model.rows.len() == N + 1
    });
    h.run_steps(2);
    h.get_all_by_label("bulk 00000").next().unwrap().click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(2);
    assert_eq!(h.state().model.selected.len(), N + 1);
    h.get_by_label(&format!("{} selected", N + 1));
    h.key_press(egui::Key::Delete);
    // The queued message is refused before anything is sent (its error names it); the rest go
    // as one command and the notice counts what moved.
    let moved = format!(
        "Moved {} messages to Deleted Items.",
        spoolbox::ui::bulk::thousands(N)
    );
    step_until(&mut h, "the notice of what moved", |a| {
        a.model.undo.as_ref().is_some_and(|u| u.text == moved)
    });
    step_until(&mut h, "all in Deleted Items", |a| {
        let bin = a.model.folder_of(FolderKind::DeletedItems);
        a.model
            .summaries
            .values()
            .filter(|s| Some(s.folder) == bin)
            .count()
            == N
    });
    let errors = &h.state().model.errors;
    assert!(
        errors.iter().all(|e| !e.contains("too many commands")),
        "{errors:?}"
    );
    assert_eq!(
        errors.len(),
        1,
        "one refusal, for the queued message: {errors:?}"
    );
    assert!(
        errors[0].contains(&format!("message {queued}")),
        "{errors:?}"
    );
    assert_eq!(
        h.state().model.summaries[&queued].folder,
        h.state().model.folder_of(FolderKind::Outbox).unwrap()
    );
    // Undo: one command back, and its notice counts what came back.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    let back = format!(
        "Undone: {} messages moved back.",
        spoolbox::ui::bulk::thousands(N)
    );
    step_until(&mut h, "the undo's notice", |a| {
        a.model.notices.contains(&back)
    });
    let outbox = h.state().model.folder_of(FolderKind::Outbox).unwrap();
    assert_eq!(
        h.state()
            .model
            .summaries
            .values()
            .filter(|s| s.folder == outbox)
            .count(),
        N + 1,
        "nothing stranded in Deleted Items"
    );
    assert_eq!(
        h.state().model.errors.len(),
        1,
        "{:?}",
        h.state().model.errors
    );
}

#[test]
fn hold_of_a_mixed_selection_is_one_command_and_says_which_stayed_without_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bulk");
    many_drafts(&dir, 3);
    let mut h = app(&dir);
    step_until(&mut h, "the store to load", |a| a.model.rows.len() == 4);
    h.run_steps(2);
    h.get_all_by_label("bulk 00000").next().unwrap().click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(2);
    // Hold: one of the four is queued, so it is the one held; the three drafts stay.
    click_bar_button(&h, "Hold");
    step_until(&mut h, "the hold's notice", |a| {
        a.model
            .notices
            .iter()
            .any(|n| n.starts_with("Held 1 message; 3 stayed: message "))
    });
    assert!(
        h.state().model.errors.is_empty(),
        "{:?}",
        h.state().model.errors
    );
}
