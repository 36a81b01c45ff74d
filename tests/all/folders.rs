//! Folders that fit their content (issue 17, item 6): each folder's columns, Restore from
//! Deleted Items, the Properties tab (links, the typed editor) and remembered column widths.
//! Whole-app tests through `egui_kittest`, by label, with the real spooler worker thread.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::Path;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use spoolbox::mapi::tags::{PR_DEFERRED_SEND_NUMBER, PR_READ_RECEIPT_REQUESTED};
use spoolbox::mapi::{EntryId, MessageState, PropValue};
use spoolbox::spooler::Command;
use spoolbox::store::{FolderKind, Store};
use spoolbox::ui::SpoolboxApp;

use crate::ui::{app, step_until};

/// The demo store loaded and drawn.
fn loaded(h: &mut Harness<'_, SpoolboxApp>) {
    step_until(h, "the demo store to load", |a| {
        a.model
            .summaries
            .values()
            .any(|s| s.subject == "Quarterly report")
    });
    h.run_steps(2);
}

/// The message with this subject in a folder of this kind.
pub(crate) fn eid_in(a: &SpoolboxApp, kind: FolderKind, subject: &str) -> Option<EntryId> {
    let folder = a.model.folder_of(kind)?;
    a.model
        .summaries
        .values()
        .find(|s| s.folder == folder && s.subject == subject)
        .map(|s| s.eid)
}

/// Shows the folder of this kind (by its entry in the folder list).
pub(crate) fn open(h: &mut Harness<'_, SpoolboxApp>, name: &str, kind: FolderKind) {
    h.get_by_label_contains(&format!("{name} (")).click();
    step_until(h, name, |a| a.model.folder_kind() == Some(kind));
    h.run_steps(2);
}

/// Runs the demo queue until these messages are filed in Sent Items.
fn send_demo(h: &mut Harness<'_, SpoolboxApp>, subjects: &[&str]) {
    h.get_by_label("Resume").click();
    for s in subjects {
        step_until(h, &format!("{s} in Sent Items"), |a| {
            eid_in(a, FolderKind::SentItems, s).is_some()
        });
    }
}

/// Where the header of this column is (with the sort arrow when the folder is sorted by it).
fn header(h: &Harness<'_, SpoolboxApp>, name: &str) -> egui::Rect {
    [name.to_owned(), format!("{name} ^"), format!("{name} v")]
        .iter()
        .find_map(|l| h.query_by_label(l).map(|n| n.rect()))
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// True when no column has this header.
fn no_header(h: &Harness<'_, SpoolboxApp>, name: &str) -> bool {
    [name.to_owned(), format!("{name} ^"), format!("{name} v")]
        .iter()
        .all(|l| h.query_by_label(l).is_none())
}

/// Clicks the row with this subject (the table is drawn before the detail's heading, which
/// may carry the same subject) and waits for its detail.
pub(crate) fn select(h: &mut Harness<'_, SpoolboxApp>, subject: &str, eid: EntryId) {
    h.get_all_by_label(subject).next().unwrap().click();
    step_until(h, "the detail", |a| {
        a.model.detail.as_ref().is_some_and(|m| m.entry_id == eid)
    });
    h.run_steps(2);
}

const OUTBOX_ONLY: [&str; 5] = [
    "State",
    "Submitted",
    "Recipients",
    "Step",
    "Why / next retry",
];

#[test]
fn the_inbox_shows_from_and_received_and_no_outbox_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let kickoff = "Project kickoff: SMTP, fax and a local mailbox";
    let ndr = "Undeliverable: Order via the X.400 gateway";
    h.get_by_label("Resume").click();
    step_until(&mut h, "the local delivery and the NDR in Inbox", |a| {
        eid_in(a, FolderKind::Inbox, kickoff).is_some()
            && eid_in(a, FolderKind::Inbox, ndr).is_some()
    });
    open(&mut h, "Inbox", FolderKind::Inbox);
    header(&h, "From");
    header(&h, "Received");
    header(&h, "Subject");
    for col in OUTBOX_ONLY {
        assert!(no_header(&h, col), "the Inbox shows {col}");
    }
    // The local delivery is from the profile's sender; the NDR from the reporting system
    // (its PR_SENDER_*, "Mail Delivery System <MAILER-DAEMON@host>").
    h.get_by_label("Ada Demo <ada@spoolbox.test>");
    assert!(
        h.query_all_by_label_contains("Mail Delivery System <MAILER-DAEMON@")
            .next()
            .is_some()
    );
    // A received copy never says its recipients are waiting, in the table or the detail.
    let copy = eid_in(h.state(), FolderKind::Inbox, kickoff).unwrap();
    select(&mut h, kickoff, copy);
    assert!(h.query_by_label_contains("waiting of").is_none());
    assert!(h.query_by_label_contains("Why it waits").is_none());
    assert_eq!(
        h.state().model.summaries[&copy].base_state,
        MessageState::Received
    );
}

#[test]
fn sent_items_shows_the_outcome_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    send_demo(&mut h, &["Quarterly report", "Order via the X.400 gateway"]);
    open(&mut h, "Sent Items", FolderKind::SentItems);
    header(&h, "Sent");
    header(&h, "Outcome");
    for col in OUTBOX_ONLY {
        assert!(no_header(&h, col), "Sent Items shows {col}");
    }
    // Three delivered through the pickup folder; the X.400 row failed, the SMTP row went.
    h.get_by_label("Delivered to all 3");
    h.get_by_label("Partly delivered: 1 of 2 (1 failed)");
}

#[test]
fn restore_from_deleted_items_puts_a_message_back_where_it_was_and_does_not_resubmit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut h = app(&dir);
    loaded(&mut h);
    send_demo(&mut h, &["Quarterly report"]);
    let draft_subject = "Draft: notes for next week";
    let draft = eid_in(h.state(), FolderKind::Outbox, draft_subject).unwrap();
    let sent = eid_in(h.state(), FolderKind::SentItems, "Quarterly report").unwrap();
    // The draft from the Outbox, the sent copy from Sent Items, both to Deleted Items.
    select(&mut h, draft_subject, draft);
    h.get_by_label("Delete").click();
    open(&mut h, "Sent Items", FolderKind::SentItems);
    select(&mut h, "Quarterly report", sent);
    let steps = h.state().model.detail.as_ref().unwrap().history.len();
    h.get_by_label("Delete").click();
    step_until(&mut h, "both in Deleted Items", |a| {
        eid_in(a, FolderKind::DeletedItems, draft_subject).is_some()
            && eid_in(a, FolderKind::DeletedItems, "Quarterly report").is_some()
    });
    open(&mut h, "Deleted Items", FolderKind::DeletedItems);
    header(&h, "Was in");
    header(&h, "Deleted");
    h.get_by_label("Outbox");
    h.get_by_label("Sent Items");
    // Restore the draft from the bar (above the table; the detail has its own Restore).
    select(&mut h, draft_subject, draft);
    let bar = h
        .get_all_by_label("Restore")
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .unwrap();
    bar.click();
    step_until(&mut h, "the draft back in the Outbox", |a| {
        eid_in(a, FolderKind::Outbox, draft_subject) == Some(draft)
    });
    // The sent copy from the detail's Restore.
    select(&mut h, "Quarterly report", sent);
    let detail = h
        .get_all_by_label("Restore")
        .max_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .unwrap();
    detail.click();
    step_until(&mut h, "the sent copy back in Sent Items", |a| {
        eid_in(a, FolderKind::SentItems, "Quarterly report") == Some(sent)
    });
    step_until(&mut h, "the notice", |a| {
        a.model
            .notices
            .iter()
            .any(|n| n.contains("restored to Outbox") && n.contains("nothing submitted"))
    });
    // The spooler runs: give it time to do anything it would do with them.
    h.run_steps(20);
    let s = h.state().model.summaries[&draft].clone();
    assert_eq!(s.base_state, MessageState::Draft);
    assert!(!s.is_submitted() && !s.in_pipeline());
    assert_eq!(s.deleted_from, None, "the deletion is forgotten");
    let s = h.state().model.summaries[&sent].clone();
    assert_eq!(s.base_state, MessageState::Sent);
    assert!(!s.in_pipeline());
    drop(h);
    let (mut store, _) = Store::open(&dir).unwrap();
    let m = store.load(draft).unwrap();
    assert_eq!(m.folder, store.folder_of(FolderKind::Outbox));
    assert_eq!(m.state(jiff::Timestamp::now()), MessageState::Draft);
    assert_eq!(m.spool.submission, 0, "never submitted");
    let m = store.load(sent).unwrap();
    assert_eq!(m.folder, store.folder_of(FolderKind::SentItems));
    assert_eq!(m.spool.submission, 1, "submitted once, when it was sent");
    assert_eq!(m.history.len(), steps, "no step ran on it again");
}

#[test]
fn properties_list_a_recipients_properties_and_an_entry_id_links_to_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let eid = eid_in(h.state(), FolderKind::Outbox, "Quarterly report").unwrap();
    select(&mut h, "Quarterly report", eid);
    h.get_by_label("Properties").click();
    h.run_steps(2);
    h.get_by_label_contains("Read-only: the message is submitted");
    h.get_by_label_contains("Recipient 0: Grace Hopper <grace@example.net>");
    h.get_by_label_contains("Recipient 2: Finance <finance@example.com>");
    h.get_by_label("grace@example.net");
    h.get_by_label("MAPI_CC");
    assert!(h.query_all_by_label("PR_RECIPIENT_TYPE").count() >= 3);
    // PR_PARENT_ENTRYID names the Outbox; PR_SENTMAIL_ENTRYID links to Sent Items.
    h.get_by_label("folder: Outbox");
    h.get_by_label("folder: Sent Items").click();
    step_until(&mut h, "Sent Items shown", |a| {
        a.model.folder_kind() == Some(FolderKind::SentItems)
    });
}

#[test]
fn editing_a_draft_property_saves_it_and_a_bad_integer_is_refused_inline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut h = app(&dir);
    loaded(&mut h);
    let subject = "Draft: notes for next week";
    let eid = eid_in(h.state(), FolderKind::Outbox, subject).unwrap();
    select(&mut h, subject, eid);
    // A boolean and a plain number on the draft, as another client could have set them.
    let mut m = h.state().model.detail.clone().unwrap();
    m.props.set_bool(PR_READ_RECEIPT_REQUESTED, false);
    m.props.set(PR_DEFERRED_SEND_NUMBER, PropValue::Long(0));
    h.state_mut().command(Command::SaveDraft(Box::new(m)));
    step_until(&mut h, "the draft with both", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.props.has(PR_DEFERRED_SEND_NUMBER))
    });
    h.get_by_label("Properties").click();
    h.run_steps(2);
    h.get_by_label_contains("A draft: click a property's name to edit it");
    // The boolean: a check box.
    h.get_by_label("PR_READ_RECEIPT_REQUESTED").click();
    h.run_steps(1);
    h.get_by_label("TRUE").click();
    h.run_steps(1);
    h.get_by_label("Save property").click_accesskit();
    step_until(&mut h, "the boolean saved", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.props.boolean(PR_READ_RECEIPT_REQUESTED) == Some(true))
    });
    h.run_steps(1);
    // The number: "12x" is refused where it was typed, and nothing is saved.
    h.get_by_label("PR_DEFERRED_SEND_NUMBER").click_accesskit();
    h.run_steps(1);
    let field = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "New value");
    field.set_text_value_accesskit("12x");
    h.run_steps(1);
    // The editor may be below the fold of the detail pane: clicked as a screen reader does.
    h.get_by_label("Save property").click_accesskit();
    h.run_steps(2);
    h.get_by_label_contains("Not saved: \"12x\" is not a whole number");
    let field = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "New value");
    field.set_text_value_accesskit("7");
    h.run_steps(1);
    h.get_by_label("Save property").click_accesskit();
    step_until(&mut h, "the number saved", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.props.long(PR_DEFERRED_SEND_NUMBER) == Some(7))
    });
    assert!(h.query_by_label_contains("Not saved").is_none());
    drop(h);
    // Read back from the store: saved, and still a draft.
    let (mut store, _) = Store::open(&dir).unwrap();
    let m = store.load(eid).unwrap();
    assert_eq!(m.props.boolean(PR_READ_RECEIPT_REQUESTED), Some(true));
    assert_eq!(m.props.long(PR_DEFERRED_SEND_NUMBER), Some(7));
    assert_eq!(m.state(jiff::Timestamp::now()), MessageState::Draft);
}

/// eframe's storage, in memory.
#[derive(Default)]
struct MemStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// A new app on `store` from what was saved (the way `ui::run` starts it).
fn app_from(storage: &MemStorage, store: &Path, reset_ui: bool) -> Harness<'static, SpoolboxApp> {
    let launch = spoolbox::ui::Launch {
        store: Some(store.to_path_buf()),
        default_store: None,
        dark: false,
        breakpoints: Vec::new(),
        reset_ui,
    };
    let (dir, state) =
        spoolbox::ui::start_state(&launch, Some(storage as &dyn eframe::Storage)).unwrap();
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SpoolboxApp::with_state(cc, dir, state))
}

/// Where the Inbox table's second column starts (the From column's width decides it).
fn received_left(h: &Harness<'_, SpoolboxApp>) -> f32 {
    header(h, "Received").left()
}

#[test]
fn column_widths_survive_a_save_and_restore_of_the_persisted_state() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("first"));
    loaded(&mut h);
    h.get_by_label("Resume").click();
    step_until(&mut h, "mail in Inbox", |a| {
        a.model
            .folder_of(FolderKind::Inbox)
            .is_some_and(|f| a.model.count(f) > 0)
    });
    open(&mut h, "Inbox", FolderKind::Inbox);
    let before = received_left(&h);
    // Drag the line between From and Received 90 points to the right.
    let line = egui::pos2(before - 4.0, header(&h, "Received").center().y);
    h.hover_at(line);
    h.run_steps(1);
    h.drag_at(line);
    h.run_steps(1);
    for dx in [10.0, 40.0, 90.0] {
        h.hover_at(line + egui::vec2(dx, 0.0));
        h.run_steps(1);
    }
    h.drop_at(line + egui::vec2(90.0, 0.0));
    h.run_steps(3);
    let after = received_left(&h);
    assert!(
        (after - before - 90.0).abs() < 3.0,
        "the From column was made wider: {before} -> {after}"
    );
    let mut storage = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    drop(h);
    // Another store: the Inbox (remembered as shown) has the same widths.
    let second = tmp.path().join("second");
    let mut h = app_from(&storage, &second, false);
    loaded(&mut h);
    h.get_by_label("Resume").click();
    step_until(&mut h, "Inbox shown, with mail", |a| {
        a.model.folder_kind() == Some(FolderKind::Inbox)
            && a.model
                .folder_of(FolderKind::Inbox)
                .is_some_and(|f| a.model.count(f) > 0)
    });
    h.run_steps(3);
    let again = received_left(&h);
    assert!((again - after).abs() < 1.0, "{after} then {again}");
    // --reset-ui forgets them.
    let mut h = app_from(&storage, &tmp.path().join("third"), true);
    loaded(&mut h);
    assert!(h.state().ui_state().columns.is_empty());
}
