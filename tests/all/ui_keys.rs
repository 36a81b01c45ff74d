//! Issue 17: the keyboard (Enter, Delete and Undo, Tab order, Help from the key table),
//! faults in the status bar, the toolbar and the detail at small and large sizes and at 2x
//! scale, copying trace lines. Whole-app tests through `egui_kittest`, by label.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use spoolbox::mapi::{EntryId, MessageState};
use spoolbox::profile::FaultConfig;
use spoolbox::spooler::Command;
use spoolbox::store::FolderKind;
use spoolbox::ui::SpoolboxApp;
use spoolbox::ui::model::Tab;

use super::ui::{app, step_until};

fn sized(dir: &std::path::Path, size: [f32; 2], scale: f32) -> Harness<'static, SpoolboxApp> {
    let dir = dir.to_path_buf();
    Harness::builder()
        .with_size(size)
        .with_pixels_per_point(scale)
        .build_eframe(move |cc| SpoolboxApp::new(cc, dir, false))
}

fn eid_of(a: &SpoolboxApp, subject: &str) -> Option<EntryId> {
    a.model
        .summaries
        .values()
        .find(|s| s.subject == subject)
        .map(|s| s.eid)
}

fn folder_kind_of(a: &SpoolboxApp, eid: EntryId) -> Option<FolderKind> {
    let s = a.model.summaries.get(&eid)?;
    a.model
        .folders
        .iter()
        .find(|f| f.entry_id == s.folder)
        .map(|f| f.kind)
}

fn loaded(h: &mut Harness<'_, SpoolboxApp>) {
    step_until(h, "the demo store to load", |a| {
        eid_of(a, "Quarterly report").is_some() && a.model.profile.is_some()
    });
    h.run_steps(2);
}

/// Steps frames until a node with this label is there.
fn until_label(h: &mut Harness<'_, SpoolboxApp>, label: &str) {
    let start = Instant::now();
    while h.query_by_label(label).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no {label:?} appeared"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

const DRAFT: &str = "Draft: notes for next week";

/// What the focused widget is called (its label, else its value, else its role).
fn focused(h: &Harness<'_, SpoolboxApp>) -> Option<String> {
    #[allow(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path is not general enough over the node's lifetime"
    )]
    let n = h.query_by(|n| n.is_focused())?;
    let node = n.accesskit_node();
    Some(
        node.label()
            .or_else(|| node.value())
            .unwrap_or_else(|| format!("{:?}", node.role())),
    )
}

/// Presses Tab up to `max` times, recording what has the focus after each.
fn tab_through(h: &mut Harness<'_, SpoolboxApp>, max: usize, stop: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..max {
        h.key_press(egui::Key::Tab);
        h.run_steps(1);
        let f = focused(h).unwrap_or_default();
        let done = f == stop;
        seen.push(f);
        if done {
            break;
        }
    }
    seen
}

fn position(seen: &[String], label: &str) -> usize {
    seen.iter()
        .position(|s| s.starts_with(label))
        .unwrap_or_else(|| panic!("Tab never reached {label:?}: {seen:?}"))
}

#[test]
fn enter_opens_a_draft_in_the_editor_and_any_other_message_in_the_detail() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let draft = eid_of(h.state(), DRAFT).unwrap();
    h.get_by_label(DRAFT).click();
    h.run_steps(2);
    assert!(
        h.get_by_label("Message table").is_focused(),
        "a click on a row gives the table the keyboard"
    );
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the draft in the editor", |a| {
        a.model.tab == Tab::Compose && a.compose.loaded == Some(draft)
    });
    let start = Instant::now();
    while !h.get_by_label("Recipient 1 address").is_focused() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the cursor went to the first recipient"
        );
        h.step();
    }
    // Any other message: the detail shows it and has the keyboard.
    let queued = eid_of(h.state(), "Quarterly report").unwrap();
    h.get_by_label("Quarterly report").click();
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the queued message in the detail", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.entry_id == queued)
    });
    h.run_steps(2);
    assert_eq!(h.state().model.tab, Tab::Pipeline);
    assert!(
        h.get_by_label("Pipeline").is_focused(),
        "the keyboard is in the detail: {:?}",
        focused(&h)
    );
}

#[test]
fn delete_moves_a_message_to_deleted_items_and_undo_brings_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let draft = eid_of(h.state(), DRAFT).unwrap();
    h.get_by_label(DRAFT).click();
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    step_until(&mut h, "the draft in Deleted Items", |a| {
        folder_kind_of(a, draft) == Some(FolderKind::DeletedItems)
    });
    h.run_steps(1);
    h.get_by_label_contains(&format!(
        "Moved message {draft} \"{DRAFT}\" to Deleted Items"
    ));
    h.get_by_label("Undo").click();
    step_until(&mut h, "the draft back in the Outbox", |a| {
        folder_kind_of(a, draft) == Some(FolderKind::Outbox)
    });
    h.run_steps(1);
    assert!(h.query_by_label("Undo").is_none(), "the Undo is used up");
    // From Deleted Items a delete is for good: asked first, and Cancel keeps it.
    h.get_by_label(DRAFT).click();
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    step_until(&mut h, "the draft in Deleted Items again", |a| {
        folder_kind_of(a, draft) == Some(FolderKind::DeletedItems)
    });
    h.get_by_label_contains("Deleted Items (").click();
    h.run_steps(2);
    h.get_by_label(DRAFT).click();
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    h.run_steps(3);
    h.get_by_label_contains("for good? It is in Deleted Items: this cannot be undone");
    h.get_by_label("Cancel").click();
    h.run_steps(3);
    assert!(h.state().model.confirm_delete.is_none());
    assert_eq!(
        folder_kind_of(h.state(), draft),
        Some(FolderKind::DeletedItems)
    );
}

#[test]
fn deleting_a_submitted_message_is_refused_with_its_mapi_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let queued = eid_of(h.state(), "Quarterly report").unwrap();
    assert!(h.state().model.summaries[&queued].is_submitted());
    h.get_by_label("Quarterly report").click();
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    h.get_by_label_contains("was not deleted: MAPI_E_SUBMITTED (0x80040608)");
    assert!(h.state().model.undo.is_none(), "nothing to undo");
    // The worker refuses it too when asked directly (a stale window, a script).
    h.state_mut().command(Command::Delete(queued));
    step_until(&mut h, "the worker's refusal", |a| {
        a.model
            .errors
            .iter()
            .any(|e| e.contains("a queued message cannot be deleted"))
    });
    h.run_steps(5);
    assert_eq!(folder_kind_of(h.state(), queued), Some(FolderKind::Outbox));
    assert_eq!(
        h.state().model.summaries[&queued].base_state,
        MessageState::Queued,
        "still queued, untouched"
    );
}

#[test]
fn help_lists_every_shortcut_of_the_key_table() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.key_press(egui::Key::F1);
    h.run_steps(3);
    let window = h.get_by_label("Keyboard shortcuts");
    for b in spoolbox::ui::keys::BINDINGS {
        let keys = spoolbox::ui::keys::keys_text(&h.ctx, b);
        assert!(
            window.query_by_label(&keys).is_some(),
            "Help does not list {keys:?}"
        );
        assert!(
            window.query_by_label(b.what).is_some(),
            "Help does not say what {keys:?} does"
        );
    }
    // The toolbar's Help opens the same list.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.query_by_label("Keyboard shortcuts").is_none());
    h.get_by_label("Help (F1)").click();
    h.run_steps(3);
    h.get_by_label("Keyboard shortcuts");
}

#[test]
fn an_active_fault_shows_in_the_status_bar_and_one_click_clears_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.state_mut().command(Command::SetFaults(
        "Fax".into(),
        FaultConfig {
            fail_next: 2,
            ..FaultConfig::default()
        },
    ));
    until_label(&mut h, "Clear the faults on Fax");
    h.get_by_label_contains("Fax: fail the next 2 hand-off(s) (transient, retried)");
    let clear = h.get_by_label("Clear the faults on Fax").rect();
    assert!(
        clear.right() <= 1280.0 && clear.bottom() <= 800.0,
        "{clear:?}"
    );
    h.get_by_label("Clear the faults on Fax").click();
    step_until(&mut h, "the fault cleared", |a| {
        let profile_clear = a
            .model
            .profile
            .as_ref()
            .is_some_and(|p| p.transports.iter().all(|t| t.faults.is_off()));
        let status_clear = a.model.status.iter().all(|r| r.faults.is_none());
        profile_clear && status_clear
    });
    h.run_steps(2);
    assert!(h.query_by_label("Clear the faults on Fax").is_none());
    assert!(h.query_by_label_contains("Fax: fail").is_none());
    assert!(h.query_by_label("Faults armed:").is_none());
}

/// The toolbar's buttons, left to right.
pub(crate) const TOOLBAR: [&str; 13] = [
    "New message",
    "Send selected",
    "Send all (F9)",
    "Abort submit",
    "Resume",
    "Step (F10)",
    "Continue (F5)",
    "Open store…",
    "Import .eml…",
    "Faults…",
    "Profile…",
    "Dark mode",
    "Help (F1)",
];

/// Every toolbar button is in the bar, whole and over no other, or under More; Step and
/// Continue among them. Returns the labels that were under More.
pub(crate) fn toolbar_reachable(h: &mut Harness<'_, SpoolboxApp>, width: f32) -> Vec<String> {
    let mut in_bar = Vec::new();
    let mut missing = Vec::new();
    for l in TOOLBAR {
        match h.query_by_label(l) {
            Some(n) => in_bar.push((l, n.rect())),
            None => missing.push(l),
        }
    }
    if let Some(more) = h.query_by_label("More") {
        in_bar.push(("More", more.rect()));
    }
    for (i, (a, ra)) in in_bar.iter().enumerate() {
        assert!(
            ra.left() >= 0.0 && ra.right() <= width,
            "{a} is cut off: {ra:?}"
        );
        for (b, rb) in in_bar.iter().skip(i + 1) {
            assert!(!ra.intersects(*rb), "{a} {ra:?} overlaps {b} {rb:?}");
        }
    }
    // One row: every button at the same height.
    let top = in_bar[0].1.top();
    for (a, r) in &in_bar {
        assert!((r.top() - top).abs() < 2.0, "{a} is on another row: {r:?}");
    }
    if missing.is_empty() {
        assert!(
            h.query_by_label("More").is_none(),
            "More with nothing under it"
        );
        return Vec::new();
    }
    h.get_by_label("More").click();
    h.run_steps(3);
    for l in &missing {
        assert!(
            h.query_by_label(l).is_some(),
            "{l} is neither in the bar nor under More"
        );
    }
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    missing.iter().map(|s| (*s).to_owned()).collect()
}

/// At `size` points and `scale`, the toolbar fits (Step and Continue reachable), the step
/// bar breaks no step name, the table's last column and the detail are on screen.
fn usable_at(size: [f32; 2], scale: f32) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = sized(&tmp.path().join("demo"), size, scale);
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail", |a| a.model.detail.is_some());
    h.run_steps(4);
    let folded = toolbar_reachable(&mut h, size[0]);
    for must in ["Step (F10)", "Continue (F5)"] {
        assert!(
            h.query_by_label(must).is_some() || folded.iter().any(|f| f == must),
            "{must} is not reachable"
        );
    }
    let why = h.get_by_label("Why / next retry").rect();
    assert!(why.right() <= size[0], "{why:?}");
    let one = h.get_by_label_contains("SubmitMessage").rect().height();
    for step in ["DoSentMail", "RemovePreprocessInfo", "NonDeliveryReport"] {
        let r = h.get_by_label_contains(step).rect();
        assert!(r.height() <= one + 1.0, "{step} wraps: {r:?}");
        assert!(r.right() <= size[0], "{step} is cut off: {r:?}");
    }
    // The status bar is on screen, under the detail.
    let state = h.get_by_label_contains("Spooler paused").rect();
    assert!(state.bottom() <= size[1], "{state:?}");
    folded
}

#[test]
fn at_1024x640_step_and_continue_are_reachable_and_no_toolbar_buttons_overlap() {
    let folded = usable_at([1024.0, 640.0], 1.0);
    assert!(
        !folded
            .iter()
            .any(|f| f.starts_with("Step") || f.starts_with("Continue")),
        "at 1024 Step and Continue stay in the bar: {folded:?}"
    );
}

#[test]
fn at_2x_scale_2048x1280_the_toolbar_still_fits_and_nothing_overlaps() {
    usable_at([1024.0, 640.0], 2.0);
}

#[test]
fn at_1920x1080_and_2560x1440_every_toolbar_button_is_in_the_bar() {
    for size in [[1920.0, 1080.0], [2560.0, 1440.0]] {
        let folded = usable_at(size, 1.0);
        assert!(folded.is_empty(), "at {size:?}: {folded:?} under More");
    }
}

#[test]
fn a_trace_lines_copy_puts_its_text_on_the_clipboard() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let eid = eid_of(h.state(), "Quarterly report").unwrap();
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.entry_id == eid && !m.trace.is_empty())
    });
    h.get_by_label("Trace").click();
    h.run_steps(3);
    let calls = h.state().model.detail.as_ref().unwrap().trace.clone();
    let copied = |h: &Harness<'_, SpoolboxApp>| -> Vec<String> {
        h.output()
            .platform_output
            .commands
            .iter()
            .filter_map(|c| match c {
                egui::OutputCommand::CopyText(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    };
    h.get_all_by_label("Copy").next().unwrap().click();
    h.step();
    assert_eq!(
        copied(&h),
        vec![spoolbox::spooler::view::trace_line(&calls[0])]
    );
    assert!(copied(&h)[0].contains("IMessage::SaveChanges"));
    h.get_by_label("Copy all").click();
    h.step();
    assert_eq!(
        copied(&h),
        vec![spoolbox::spooler::view::trace_text(&calls)]
    );
}

#[test]
fn tab_goes_toolbar_folders_table_detail_and_in_the_editor_recipients_subject_body_submit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail", |a| a.model.detail.is_some());
    h.run_steps(2);
    // Escape leaves the keyboard nowhere: Tab starts at the first control.
    h.key_press(egui::Key::Escape);
    h.run_steps(1);
    let seen = tab_through(&mut h, 80, "Pipeline");
    let toolbar_first = position(&seen, "New message");
    let toolbar_last = position(&seen, "Help (F1)");
    let folder = position(&seen, "Inbox (");
    let table = position(&seen, "Message table");
    let detail = position(&seen, "Pipeline");
    assert_eq!(toolbar_first, 0, "{seen:?}");
    // Left to right through the toolbar, as it reads (the right-hand group too).
    assert_eq!(&seen[..=toolbar_last], &TOOLBAR[..], "{seen:?}");
    assert!(
        toolbar_last < folder && folder < table && table < detail,
        "{seen:?}"
    );
    // The editor: recipients, subject, body, then Submit and Save.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    step_until(&mut h, "the editor", |a| a.compose.loaded.is_some());
    let start = Instant::now();
    while !h.get_by_label("Recipient 1 address").is_focused() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the cursor in recipient 1"
        );
        h.step();
    }
    h.get_by_label("Recipient 1 address")
        .type_text("ann@example.org");
    h.run_steps(2);
    let seen = tab_through(&mut h, 40, "Submit");
    let subject = position(&seen, "Subject");
    let body = position(&seen, "Body");
    let submit = position(&seen, "Submit");
    assert!(subject < body && body < submit, "{seen:?}");
    // The row's × is mouse only: a space typed on the way to the subject (seen under Xvfb:
    // it clicked ×, and the autosave kept the loss) never removes the recipient.
    assert!(!seen.iter().any(|s| s == "×"), "× is no Tab stop: {seen:?}");
    h.get_by_label("Recipient 1 address").focus();
    h.run_steps(1);
    for _ in 0..3 {
        h.key_press(egui::Key::Tab);
        h.run_steps(1);
        h.key_press(egui::Key::Space);
        h.run_steps(1);
    }
    assert!(
        h.state()
            .compose
            .content
            .rows
            .iter()
            .any(|r| r.address == "ann@example.org"),
        "the recipient is still there"
    );
}

/// The toolbar alone at `width` points, paused, with a draft selected; the intents it asked.
fn toolbar_alone(width: f32) -> Harness<'static, Vec<spoolbox::ui::Intent>> {
    use spoolbox::mapi::Message;
    use spoolbox::store::Summary;
    use spoolbox::ui::model::Model;
    use spoolbox::ui::toolbar::{self, Chrome};
    let mut m = Model::default();
    let draft = Summary::of(&Message::draft(EntryId(10), EntryId(2), "Quarterly report"));
    m.summaries.insert(draft.eid, draft);
    m.selected.insert(EntryId(10));
    m.debug.paused = true;
    let chrome = Chrome {
        dialog_open: false,
        dark: false,
    };
    Harness::builder().with_size([width, 300.0]).build_ui_state(
        move |ui, out: &mut Vec<spoolbox::ui::Intent>| toolbar::toolbar_ui(ui, &m, chrome, out),
        Vec::new(),
    )
}

#[test]
fn a_narrow_toolbar_puts_what_does_not_fit_under_more_and_its_items_still_act() {
    use spoolbox::ui::Intent;
    use spoolbox::ui::dialogs::Purpose;
    // Wide: everything in the bar, no More.
    let mut h = toolbar_alone(1400.0);
    h.run();
    assert!(h.query_by_label("More").is_none());
    for l in TOOLBAR {
        assert!(h.query_by_label(l).is_some(), "{l} is in the bar");
    }
    // Narrow: the right-hand group goes under More first; Step stays in the bar.
    let mut h = toolbar_alone(700.0);
    h.run();
    assert!(h.query_by_label("Open store…").is_none());
    assert!(h.query_by_label("Step (F10)").is_some());
    h.get_by_label("More").click();
    h.run();
    h.get_by_label("Open store…").click();
    h.run();
    assert_eq!(h.state(), &vec![Intent::PickFile(Purpose::OpenStore)]);
    // Very narrow: Step too, and it still steps from the menu.
    let mut h = toolbar_alone(110.0);
    h.run();
    assert!(h.query_by_label("Step (F10)").is_none());
    h.get_by_label("More").click();
    h.run();
    h.get_by_label("Step (F10)").click();
    h.run();
    assert_eq!(h.state(), &vec![Intent::Step]);
}
