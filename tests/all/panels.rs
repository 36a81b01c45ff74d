//! Panels alone, drawn from a hand-built model (no app, no worker): a click on a control
//! yields the expected `Intent`, and drawing yields none.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use spoolbox::mapi::flags::MSGFLAG_SUBMIT;
use spoolbox::mapi::{EntryId, Message, Recipient, RecipientKind};
use spoolbox::store::{Folder, FolderKind, Summary};
use spoolbox::ui::Intent;
use spoolbox::ui::compose::{self, ComposeState};
use spoolbox::ui::detail::{self, DetailState};
use spoolbox::ui::dialogs::Purpose;
use spoolbox::ui::model::{Model, SortKey, Tab};
use spoolbox::ui::outbox::{self, OutboxState};
use spoolbox::ui::toolbar::{self, Chrome};
use spoolbox::ui::{folders, notify};

const OUTBOX: EntryId = EntryId(2);
const SENT: EntryId = EntryId(3);

/// The Outbox and Sent Items, with one draft ("Quarterly report", 10) and one queued
/// message ("Invoice", 11) in the Outbox.
fn model() -> Model {
    let mut m = Model::default();
    m.root = Some("/nowhere".into());
    m.folder = Some(OUTBOX);
    m.folders = vec![
        Folder {
            entry_id: OUTBOX,
            name: "Outbox".into(),
            kind: FolderKind::Outbox,
        },
        Folder {
            entry_id: SENT,
            name: "Sent Items".into(),
            kind: FolderKind::SentItems,
        },
    ];
    let draft = Summary::of(&Message::draft(EntryId(10), OUTBOX, "Quarterly report"));
    let mut queued = Summary::of(&Message::draft(EntryId(11), OUTBOX, "Invoice"));
    queued.message_flags |= MSGFLAG_SUBMIT;
    for s in [draft, queued] {
        m.summaries.insert(s.eid, s);
    }
    let _ = m.refresh_rows(jiff::Timestamp::now());
    m
}

/// A draft with one valid recipient.
fn draft() -> Message {
    let mut msg = Message::draft(EntryId(10), OUTBOX, "Quarterly report");
    msg.recipients.push(Recipient::new(
        0,
        "Alice",
        "alice@example.org",
        "SMTP",
        RecipientKind::To,
    ));
    msg
}

/// Draws `panel` with an empty list of intents; the list is the harness's state.
fn harness<'a>(
    panel: impl FnMut(&mut egui::Ui, &mut Vec<Intent>) + 'a,
) -> Harness<'a, Vec<Intent>> {
    let mut panel = panel;
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(
            move |ui, out: &mut Vec<Intent>| {
                // As the app sets it: a table row is picked by a click on its text.
                ui.style_mut().interaction.selectable_labels = false;
                panel(ui, out);
            },
            Vec::new(),
        )
}

#[test]
fn the_toolbar_asks_for_sends_and_debugger_steps_and_nothing_unasked() {
    let mut m = model();
    m.selected.insert(EntryId(10));
    m.debug.paused = true;
    let chrome = Chrome {
        dialog_open: false,
        dark: false,
    };
    let mut h = harness(|ui, out| toolbar::toolbar_ui(ui, &m, chrome, out));
    h.run();
    assert_eq!(
        h.state(),
        &Vec::<Intent>::new(),
        "drawing alone asks nothing"
    );
    h.get_by_label("Send selected").click();
    h.run();
    h.get_by_label("Resume").click();
    h.run();
    h.get_by_label("Open store…").click();
    h.run();
    assert_eq!(
        h.state(),
        &vec![
            Intent::SendNow {
                eids: vec![EntryId(10)],
                save_first: true
            },
            Intent::Resume,
            Intent::PickFile(Purpose::OpenStore),
        ]
    );
}

#[test]
fn a_click_on_a_folder_asks_for_that_folder() {
    let m = model();
    let mut h = harness(|ui, out| folders::folders_ui(ui, &m, out));
    h.run();
    h.get_by_label("Sent Items (0)").click();
    h.run();
    // The table comes back in place of the timeline, on that folder.
    assert_eq!(
        h.state(),
        &vec![Intent::ShowTimeline(false), Intent::OpenFolder(SENT)]
    );
}

#[test]
fn the_timeline_entry_under_the_folders_asks_for_the_timeline() {
    let m = model();
    let mut h = harness(|ui, out| folders::folders_ui(ui, &m, out));
    h.run();
    h.get_by_label("Timeline").click();
    h.run();
    assert_eq!(h.state(), &vec![Intent::ShowTimeline(true)]);
}

#[test]
fn the_table_asks_to_select_a_clicked_row_sort_and_hold() {
    let mut m = model();
    m.selected.insert(EntryId(11));
    let mut state = OutboxState::default();
    let mut h = harness(|ui, out| outbox::outbox_ui(ui, &m, &mut state, out));
    h.run();
    assert_eq!(
        h.state(),
        &Vec::<Intent>::new(),
        "drawing alone asks nothing"
    );
    h.get_by_label("Quarterly report").click();
    h.run();
    h.get_by_label("Subject").click();
    h.run();
    h.get_by_label("Hold").click();
    h.run();
    assert_eq!(
        h.state(),
        &vec![
            Intent::ClickRow {
                eid: EntryId(10),
                toggle: false,
                extend: false
            },
            Intent::SortBy(SortKey::Subject),
            Intent::Hold {
                eids: vec![EntryId(11)],
                hold: true
            },
        ]
    );
}

#[test]
fn the_detail_asks_for_a_tab_and_an_export_of_the_message_shown() {
    let mut m = model();
    m.focused = Some(EntryId(10));
    m.detail = Some(draft());
    let mut editor = ComposeState::default();
    let mut props = detail::PropsEdit::default();
    let mut h = harness(|ui, out| {
        let state = DetailState {
            compose: &mut editor,
            dialog_open: false,
            props: &mut props,
        };
        detail::detail_ui(ui, &m, state, out);
    });
    h.run();
    h.get_by_label("Trace").click();
    h.run();
    h.get_by_label("Export .eml…").click();
    h.run();
    assert_eq!(
        h.state(),
        &vec![
            Intent::ShowTab(Tab::Trace),
            Intent::PickFile(Purpose::Export(EntryId(10))),
        ]
    );
}

#[test]
fn the_editor_asks_to_submit_and_to_save_before_attaching() {
    let mut editor = ComposeState::default();
    editor.load(&draft());
    editor.content.subject.push_str(" (edited)");
    let mut h = harness(|ui, out| compose::actions_ui(ui, &editor, out));
    h.run();
    h.get_by_label("Submit").click();
    h.run();
    h.get_by_label("Attach file…").click();
    h.run();
    assert_eq!(
        h.state(),
        &vec![
            Intent::SubmitDraft,
            Intent::SaveDraft,
            Intent::PickFile(Purpose::Attach(EntryId(10))),
        ]
    );
}

#[test]
fn dismiss_asks_to_dismiss_that_error() {
    let mut m = model();
    m.errors = vec!["first".into(), "second".into()];
    let mut h = harness(|ui, out| notify::notify_ui(ui.ctx(), &m, out));
    h.run();
    h.get_all_by_label("Dismiss").nth(1).unwrap().click();
    h.run();
    h.get_by_label("Dismiss all").click();
    h.run();
    assert_eq!(
        h.state(),
        &vec![Intent::DismissError(1), Intent::DismissAllErrors]
    );
}

/// The Rust files under `dir`, with their text.
fn sources(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
}

/// The code of a line (comments, doc comments included, left out).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

#[test]
fn no_panel_imports_the_app_and_the_ui_reads_the_spooler_through_a_short_list() {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let mut files = Vec::new();
    sources(&ui, &mut files);
    assert!(files.len() > 10, "the scan reads the sources");
    // The spooler's command/event contract and its worker, and `spooler::view`: pure
    // functions of plain data. (`ConnectionTest` is the payload of
    // `Command::TestConnection`, `BulkOp` and `BulkReport` those of `Command::Bulk` and
    // `Event::BulkDone`.)
    let allowed = [
        "Command",
        "ConnectionTest",
        "BulkOp",
        "BulkReport",
        "Event",
        "DebugState",
        "StatusRow",
        "worker",
        "view",
    ];
    let mut wrong = Vec::new();
    for (path, text) in &files {
        let rel = path.strip_prefix(&ui).unwrap();
        let app = rel.starts_with("app") || rel == std::path::Path::new("mod.rs");
        let whole: String = text.lines().map(code).collect::<Vec<_>>().join(" ");
        if !app && (whole.contains("SpoolboxApp") || whole.contains("app::")) {
            wrong.push(format!("{}: imports the app", rel.display()));
        }
        for (i, _) in whole.match_indices("spooler::") {
            let rest = &whole[i + "spooler::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                None => vec![rest],
            };
            for name in names {
                let head: String = name
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !head.is_empty() && !allowed.contains(&head.as_str()) {
                    wrong.push(format!("{}: spooler::{head}", rel.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
