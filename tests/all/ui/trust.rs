//! Trust: never sent twice from the window, no edit lost, no silent failure, no state that lies.

use super::*;

/// New message, one recipient and a subject typed into the composer.
pub(crate) fn compose_new(
    h: &mut Harness<'_, SpoolboxApp>,
    subject: &str,
    address: &str,
) -> EntryId {
    h.get_by_label("New message").click();
    step_until(h, "the composer", |a| {
        a.compose.loaded.is_some() && a.model.tab == spoolbox::ui::model::Tab::Compose
    });
    h.run_steps(2);
    // The cursor is in the first recipient already.
    assert!(
        h.get_by_label("Recipient 1 address").is_focused(),
        "New message puts the cursor in the first recipient"
    );
    h.get_by_label("Recipient 1 address").type_text(address);
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Subject")
        .focus();
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Subject")
        .type_text(subject);
    h.run_steps(1);
    h.state().compose.loaded.unwrap()
}

#[test]
fn a_stale_editor_cannot_submit_twice_even_with_two_clicks_in_one_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let eid = compose_new(&mut h, "Only once", "once@example.org");
    // Two clicks before the next frame: at most one reaches the worker as a submit.
    let submit = h.get_by_label("Submit");
    submit.click();
    submit.click();
    h.run_steps(1);
    // The editor closed in that frame: no Submit button, no editor.
    assert!(h.state().compose.loaded.is_none());
    assert!(h.query_by_label("Submit").is_none());
    step_until(&mut h, "the message queued", |a| {
        a.model
            .summaries
            .get(&eid)
            .is_some_and(spoolbox::store::Summary::is_submitted)
    });
    // A stale editor (its content, at the submission it saw) is refused by the worker.
    let stale = h.state().model.detail.clone().unwrap();
    h.state_mut()
        .command(spoolbox::spooler::Command::SubmitDraft {
            draft: Box::new(stale),
            seen: 0,
        });
    step_until(&mut h, "the refusal", |a| {
        a.model
            .errors
            .iter()
            .any(|e| e.contains("MAPI_E_OBJECT_CHANGED"))
    });
    h.get_by_label("Resume").click();
    step_until(&mut h, "the message sent", |a| {
        a.model
            .summaries
            .get(&eid)
            .is_some_and(|s| s.base_state == MessageState::Sent)
    });
    let m = h.state().model.detail.clone().unwrap();
    assert_eq!(m.spool.submission, 1);
    assert_eq!(
        m.trace
            .iter()
            .filter(|c| c.call == "IMessage::SubmitMessage")
            .count(),
        1
    );
}

#[test]
fn an_edit_survives_selecting_another_row() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Draft: notes for next week").click();
    step_until(&mut h, "the draft", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.subject() == "Draft: notes for next week")
    });
    h.run_steps(1);
    h.get_by_label("Edit draft").click();
    step_until(&mut h, "the editor", |a| a.compose.loaded.is_some());
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Subject")
        .focus();
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Subject")
        .type_text(" (edited)");
    h.run_steps(1);
    assert!(
        h.state().compose.dirty(),
        "the edit is on screen, not saved yet"
    );
    // Leave at once, before the autosave would have run.
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the edit stored", |a| {
        a.model
            .summaries
            .values()
            .any(|s| s.subject == "Draft: notes for next week (edited)")
    });
}

#[test]
fn ctrl_enter_in_the_editor_submits_what_is_on_screen() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let eid = compose_new(&mut h, "Typed, not saved", "ctrl@example.org");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run_steps(1);
    step_until(&mut h, "the message queued with what was typed", |a| {
        a.model
            .summaries
            .get(&eid)
            .is_some_and(|s| s.is_submitted() && s.subject == "Typed, not saved" && s.total == 1)
    });
}

#[test]
fn a_message_whose_recipients_all_failed_reads_failed_not_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let eid = compose_new(&mut h, "Nobody takes this", "nobody@example.org");
    // A type no transport takes: the spooler fails it and writes an NDR.
    h.state_mut().compose.content.rows[0].addrtype = "X400".into();
    h.run_steps(1);
    h.get_by_label("Submit").click();
    h.run_steps(1);
    h.get_by_label("Resume").click();
    step_until(&mut h, "the message finished", |a| {
        a.model
            .summaries
            .get(&eid)
            .is_some_and(|s| s.base_state == MessageState::Sent)
    });
    let s = h.state().model.summaries[&eid].clone();
    assert_eq!(s.failed, 1);
    assert_eq!(s.state_word(jiff::Timestamp::now()), "Failed");
    // The detail says so in words (the row is in Sent Items now).
    let sent = h.state().model.folder_of(FolderKind::SentItems).unwrap();
    h.state_mut().model.folder = Some(sent);
    h.state_mut().model.invalidate_rows();
    h.run_steps(2);
    // The row (the detail's heading, drawn after the table, has the subject too).
    h.get_all_by_label("Nobody takes this")
        .next()
        .unwrap()
        .click();
    step_until(&mut h, "the detail", |a| {
        a.model.detail.as_ref().is_some_and(|m| m.entry_id == eid)
    });
    h.run_steps(2);
    assert!(h.query_all_by_label("Failed").count() >= 1);
    assert!(
        h.query_all_by_label_contains("0 delivered · 1 failed of 1")
            .count()
            >= 1
    );
}

#[test]
fn every_queued_demo_message_says_why_it_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    step_until(&mut h, "the debugger state", |a| a.model.debug.paused);
    h.run_steps(2);
    let now = jiff::Timestamp::now();
    let queued: Vec<_> = h
        .state()
        .model
        .summaries
        .values()
        .filter(|s| s.in_pipeline())
        .cloned()
        .collect();
    assert!(queued.len() >= 5, "the demo queues several messages");
    for s in &queued {
        let why = spoolbox::ui::detail::reason_of(&h.state().model, s, now);
        assert!(
            why.is_some(),
            "message {} ({}) has no reason",
            s.eid,
            s.subject
        );
    }
    // Paused demo: the table says so for the queued rows.
    assert!(
        h.query_all_by_label_contains("the spooler is paused")
            .count()
            >= 3,
        "the Why column tells the user the spooler is paused"
    );
    h.get_by_label_contains("deferred send until");
}

#[test]
fn send_all_at_a_breakpoint_says_it_waits_for_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.subject() == "Quarterly report")
    });
    h.run_steps(1);
    let idx = Step::ALL
        .iter()
        .position(|s| *s == Step::SetLockState)
        .unwrap();
    h.get_all_by_label("break").nth(idx).unwrap().click();
    step_until(&mut h, "the breakpoint", |a| {
        a.model.debug.breakpoints.contains(&Step::SetLockState)
    });
    h.get_by_label("Resume").click();
    step_until(&mut h, "the stop", |a| a.model.debug.at.is_some());
    h.get_by_label("Send all (F9)").click();
    step_until(&mut h, "the notice", |a| {
        a.model
            .notices
            .iter()
            .any(|n| n.contains("queued until Continue"))
    });
    h.run_steps(1);
    h.get_by_label_contains("queued until Continue");
}

#[test]
fn the_path_field_takes_over_when_no_file_dialog_can_open() {
    let tmp = tempfile::tempdir().unwrap();
    let eml = tmp.path().join("typed.eml");
    std::fs::write(
        &eml,
        "From: a@example.org\r\nTo: Typed Path <typed@example.org>\r\nSubject: Imported by a typed path\r\n\r\nbody\r\n",
    )
    .unwrap();
    let mut h = app(&tmp.path().join("demo"));
    h.state_mut().dialogs =
        spoolbox::ui::dialogs::Dialogs::new(spoolbox::ui::dialogs::Backend::PathField);
    loaded(&mut h);
    h.get_by_label("Import .eml…").click();
    // The click, the window's sizing pass, then the window.
    h.run_steps(3);
    // The dialog's place: a path field, saying why.
    h.get_by_label_contains("type a path");
    let field = h.get_by_label("Paths (one per line)");
    field.focus();
    h.run_steps(1);
    h.get_by_label("Paths (one per line)")
        .type_text(eml.to_str().unwrap());
    h.run_steps(1);
    h.get_by_label("OK").click();
    step_until(&mut h, "the imported draft", |a| {
        eid_of(a, "Imported by a typed path").is_some()
    });
}

#[test]
fn a_second_attempt_keeps_the_first_in_the_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    h.run_steps(1);
    h.get_by_label("Abort submit").click();
    let eid = eid_of(h.state(), "Quarterly report").unwrap();
    step_until(&mut h, "a draft", |a| {
        a.model.summaries[&eid].base_state == MessageState::Draft
    });
    h.run_steps(1);
    h.get_by_label("Send selected").click();
    step_until(&mut h, "queued again", |a| {
        a.model.summaries[&eid].is_submitted()
    });
    step_until(&mut h, "the second submission in the detail", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.spool.submission == 2)
    });
    h.get_by_label("Trace").click();
    h.run_steps(2);
    h.get_by_label("Submission 1");
    h.get_by_label("Submission 2");
    h.get_by_label_contains("IMsgStore::AbortSubmit");
}

#[test]
fn at_1024_pixels_nothing_overlaps_and_the_table_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut h = Harness::builder()
        .with_size([1024.0, 700.0])
        .build_eframe(move |cc| SpoolboxApp::new(cc, dir, false));
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail", |a| a.model.detail.is_some());
    // The toolbar is one row: what does not fit is under More, Step and Continue are never
    // under another button.
    h.run_steps(4);
    crate::ui_keys::toolbar_reachable(&mut h, 1024.0);
    // Every column of the table is on screen, the last one too.
    let why = h.get_by_label("Why / next retry").rect();
    assert!(why.right() <= 1024.0, "{why:?}");
    // No step name is broken over two lines: each chip is one line high.
    let one = h.get_by_label_contains("SubmitMessage").rect().height();
    let last = h.get_by_label_contains("DoSentMail").rect();
    assert!(last.height() <= one + 1.0, "DoSentMail wraps: {last:?}");
    assert!(last.right() <= 1024.0, "{last:?}");
}

#[test]
fn a_typed_list_keeps_every_keystroke_and_becomes_rows_when_left_and_a_pasted_list_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("New message").click();
    step_until(&mut h, "the composer", |a| a.compose.loaded.is_some());
    h.run_steps(2);
    // Typed in one frame (`xdotool type --delay 0`), commas and all: the field keeps every
    // character while the cursor is in it (issue 28, item 4: a comma used to move the cursor
    // mid-frame and what followed went to the old row or nowhere).
    h.get_by_label("Recipient 1 address")
        .type_text("ann@example.org, bob@example.org");
    h.run_steps(2);
    assert_eq!(
        h.state().compose.content.rows[0].address,
        "ann@example.org, bob@example.org"
    );
    assert!(h.get_by_label("Recipient 1 address").is_focused());
    // Left with Tab: one row per address.
    h.key_press(egui::Key::Tab);
    h.run_steps(2);
    let rows: Vec<String> = h
        .state()
        .compose
        .content
        .rows
        .iter()
        .map(|r| r.address.clone())
        .collect();
    assert_eq!(rows, ["ann@example.org", "bob@example.org"]);
    // Pasted: a whole list becomes one row per address at once.
    h.get_by_label("Add recipient").click();
    h.run_steps(2);
    h.get_by_label("Recipient 3 address").focus();
    h.run_steps(1);
    h.event(egui::Event::Paste(
        "\"Cat, Jr.\" <cat@example.org>; dan@example.org".into(),
    ));
    h.run_steps(2);
    let c = &h.state().compose.content;
    let got: Vec<(String, String)> = c
        .rows
        .iter()
        .map(|r| (r.name.clone(), r.address.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (String::new(), "ann@example.org".to_owned()),
            (String::new(), "bob@example.org".to_owned()),
            ("Cat, Jr.".to_owned(), "cat@example.org".to_owned()),
            (String::new(), "dan@example.org".to_owned()),
        ]
    );
}

#[test]
fn five_addresses_typed_at_once_are_all_kept_and_every_mailbox_form_is_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("New message").click();
    step_until(&mut h, "the composer", |a| a.compose.loaded.is_some());
    h.run_steps(2);
    let typed = "one@example.org, Bob Builder <bob@example.org>; \"B, Jr.\" <b@y.org>, \
                 four@example.org,five@example.org";
    h.get_by_label("Recipient 1 address").type_text(typed);
    h.run_steps(1);
    // Still in the field, the draft already reads it as the five recipients (a save now
    // keeps them), and nothing is flagged.
    let draft = h.state().compose.build(spoolbox::mapi::EntryId(3)).unwrap();
    let got: Vec<(String, String)> = draft
        .recipients
        .iter()
        .map(|r| (r.display_name().to_owned(), r.email().to_owned()))
        .collect();
    let want = [
        ("", "one@example.org"),
        ("Bob Builder", "bob@example.org"),
        ("B, Jr.", "b@y.org"),
        ("", "four@example.org"),
        ("", "five@example.org"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, a)| ((*n).to_owned(), (*a).to_owned()))
        .collect();
    assert_eq!(got, want);
    assert!(
        h.state().compose.problems().is_empty(),
        "{:?}",
        h.state().compose.problems()
    );
    h.key_press(egui::Key::Tab);
    h.run_steps(2);
    let rows: Vec<(String, String)> = h
        .state()
        .compose
        .content
        .rows
        .iter()
        .filter(|r| !r.address.is_empty())
        .map(|r| (r.name.clone(), r.address.clone()))
        .collect();
    assert_eq!(rows, want);
}

#[test]
fn submit_without_a_subject_asks_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("New message").click();
    step_until(&mut h, "the composer", |a| a.compose.loaded.is_some());
    h.run_steps(2);
    h.get_by_label("Recipient 1 address")
        .type_text("ann@example.org");
    h.run_steps(1);
    let eid = h.state().compose.loaded.unwrap();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run_steps(2);
    h.get_by_label("Send without a subject?");
    assert_eq!(h.state().model.submitting, None, "not sent yet");
    // Enter answers Cancel: back to the editor, nothing sent.
    h.get_by_label("Add a subject").click();
    h.run_steps(2);
    assert!(h.query_by_label("Send without a subject?").is_none());
    assert_eq!(h.state().compose.loaded, Some(eid), "still editing");
    // Asked again, Send anyway sends it.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run_steps(2);
    h.get_by_label("Send anyway").click();
    step_until(&mut h, "the submit", |a| {
        a.model.summaries.get(&eid).is_some_and(|s| {
            s.is_submitted() || !s.in_pipeline() && s.base_state != MessageState::Draft
        })
    });
}

/// Issue 28, item 6: nothing silent, nothing off screen.
#[test]
fn three_hundred_pasted_paths_scroll_inside_the_path_field_and_ok_stays_on_screen() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    h.state_mut().dialogs =
        spoolbox::ui::dialogs::Dialogs::new(spoolbox::ui::dialogs::Backend::PathField);
    loaded(&mut h);
    h.get_by_label("Import .eml…").click();
    h.run_steps(3);
    h.get_by_label("Paths (one per line)").focus();
    h.run_steps(1);
    let many: Vec<String> = (0..300).map(|i| format!("/tmp/m{i:03}.eml")).collect();
    h.event(egui::Event::Paste(many.join("\n")));
    h.run_steps(4);
    let screen = 800.0;
    for label in ["OK", "Cancel"] {
        let r = h.get_by_label(label).rect();
        assert!(r.bottom() <= screen, "{label} is off screen: {r:?}");
    }
    assert_eq!(
        h.state()
            .dialogs
            .field
            .as_ref()
            .unwrap()
            .text
            .lines()
            .count(),
        300
    );
}

#[test]
fn send_selected_while_paused_says_when_it_goes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    // The demo starts paused: Quarterly report is queued.
    assert!(h.state().model.debug.paused);
    h.get_by_label("Quarterly report").click();
    h.run_steps(2);
    h.get_by_label("Send selected").click();
    step_until(&mut h, "a word about the pause", |a| {
        a.model
            .notices
            .iter()
            .any(|n| n.contains("when the spooler runs again") && n.contains("Resume"))
    });
}
