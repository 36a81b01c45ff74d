//! Whole-app UI tests through `egui_kittest`, by label, with the real spooler worker thread.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use spoolbox::mapi::{EntryId, MessageState, Step};
use spoolbox::store::FolderKind;
use spoolbox::ui::SpoolboxApp;

pub(crate) fn app(dir: &Path) -> Harness<'static, SpoolboxApp> {
    let dir = dir.to_path_buf();
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SpoolboxApp::new(cc, dir, false))
}

/// Steps frames until `pred` holds (the worker runs on its own thread), or fails the test.
pub(crate) fn step_until(
    h: &mut Harness<'_, SpoolboxApp>,
    what: &str,
    pred: impl Fn(&SpoolboxApp) -> bool,
) {
    let start = Instant::now();
    loop {
        h.step();
        if pred(h.state()) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for: {what}; errors: {:?}",
            h.state().model.errors
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn eid_of(app: &SpoolboxApp, subject: &str) -> Option<EntryId> {
    app.model
        .summaries
        .values()
        .find(|s| s.subject == subject)
        .map(|s| s.eid)
}

/// The folder of the outgoing message with this subject (local EX deliveries in Inbox share
/// the subject, so Inbox copies are skipped unless nothing else has it).
fn folder_of(app: &SpoolboxApp, subject: &str) -> Option<FolderKind> {
    let kinds: Vec<FolderKind> = app
        .model
        .summaries
        .values()
        .filter(|s| s.subject == subject)
        .filter_map(|s| {
            app.model
                .folders
                .iter()
                .find(|f| f.entry_id == s.folder)
                .map(|f| f.kind)
        })
        .collect();
    kinds
        .iter()
        .copied()
        .find(|k| *k != FolderKind::Inbox)
        .or(kinds.first().copied())
}

fn loaded(h: &mut Harness<'_, SpoolboxApp>) {
    step_until(h, "the demo store to load", |a| {
        eid_of(a, "Quarterly report").is_some()
    });
    h.run_steps(2);
}

#[test]
fn sending_a_demo_message_flips_responsibility_and_files_it_in_sent_items() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail to load", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.subject() == "Quarterly report")
    });
    // Before sending every row reads FALSE.
    assert!(
        h.state()
            .model
            .detail
            .as_ref()
            .unwrap()
            .recipients
            .iter()
            .all(|r| !r.responsibility())
    );
    h.get_by_label("FALSE (row 0)");
    h.get_by_label("Resume").click();
    h.run_steps(1);
    h.get_by_label("Send selected").click();
    step_until(&mut h, "Quarterly report in Sent Items", |a| {
        folder_of(a, "Quarterly report") == Some(FolderKind::SentItems)
    });
    step_until(&mut h, "every recipient TRUE in the detail", |a| {
        a.model.detail.as_ref().is_some_and(|m| {
            m.recipients.len() == 3
                && m.recipients
                    .iter()
                    .all(spoolbox::mapi::Recipient::responsibility)
        })
    });
    // The table shows what the model holds within a few frames (the worker is asynchronous:
    // under load a frame may come before the last events).
    let start = Instant::now();
    while h.query_by_label("TRUE (row 0)").is_none() || h.query_by_label("TRUE (row 2)").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the recipients table never showed TRUE for rows 0 and 2"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.get_by_label_contains("Sent Items (");
}

#[test]
fn a_breakpoint_on_set_lock_state_stops_there_and_continue_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail", |a| a.model.detail.is_some());
    h.run_steps(1);
    // The step bar has one "break" box per step, in pipeline order.
    let idx = Step::ALL
        .iter()
        .position(|s| *s == Step::SetLockState)
        .unwrap();
    h.get_all_by_label("break").nth(idx).unwrap().click();
    step_until(&mut h, "the breakpoint to be set", |a| {
        a.model.debug.breakpoints.contains(&Step::SetLockState)
    });
    h.get_by_label("Resume").click();
    let eid = eid_of(h.state(), "Quarterly report").unwrap();
    step_until(&mut h, "the stop before SetLockState", |a| {
        a.model.debug.at == Some((eid, Step::SetLockState))
    });
    h.run_steps(2);
    h.get_by_label_contains("Stopped before SetLockState");
    assert!(
        !h.state().model.summaries[&eid].is_locked(),
        "stopped *before* the lock"
    );
    h.get_by_label_contains("» SetLockState");
    h.get_by_label("Continue (F5)").click();
    step_until(&mut h, "Quarterly report in Sent Items", |a| {
        folder_of(a, "Quarterly report") == Some(FolderKind::SentItems)
    });
}

#[test]
fn abort_before_the_lock_gives_a_draft_and_after_it_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    // The demo spooler starts paused: the message is queued and unlocked.
    h.get_by_label("Quarterly report").click();
    h.run_steps(1);
    h.get_by_label("Abort submit").click();
    step_until(&mut h, "Quarterly report to be a draft", |a| {
        a.model
            .summaries
            .values()
            .any(|s| s.subject == "Quarterly report" && s.base_state == MessageState::Draft)
    });
    // Now one that the spooler has locked: stop before Transmit (of whichever message
    // comes first in the queue) and try to abort that one.
    h.get_by_label("Order via the X.400 gateway").click();
    step_until(&mut h, "the detail", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.subject() == "Order via the X.400 gateway")
    });
    h.run_steps(1);
    let idx = Step::ALL.iter().position(|s| *s == Step::Transmit).unwrap();
    h.get_all_by_label("break").nth(idx).unwrap().click();
    step_until(&mut h, "the breakpoint", |a| {
        a.model.debug.breakpoints.contains(&Step::Transmit)
    });
    h.get_by_label("Resume").click();
    step_until(&mut h, "a stop before Transmit", |a| {
        matches!(a.model.debug.at, Some((_, Step::Transmit)))
    });
    let (eid, _) = h.state().model.debug.at.unwrap();
    let subject = h.state().model.summaries[&eid].subject.clone();
    assert!(h.state().model.summaries[&eid].is_locked());
    h.get_by_label(&subject).click();
    // The click selects it; the next frame's toolbar sees the selection.
    h.run_steps(2);
    // The window does not offer what MAPI refuses: the button is disabled (its hover text
    // names MAPI_E_UNABLE_TO_ABORT) ...
    assert!(
        h.get_by_label("Abort submit")
            .accesskit_node()
            .is_disabled(),
        "Abort submit is disabled for a locked message; selected: {:?}, states: {:?}",
        h.state().model.selected,
        h.state()
            .model
            .selected
            .iter()
            .map(|e| (
                h.state().model.summaries[e].subject.clone(),
                h.state().model.summaries[e].is_submitted(),
                h.state().model.summaries[e].is_locked()
            ))
            .collect::<Vec<_>>()
    );
    // ... and the worker refuses it all the same when asked (a stale window, a script).
    h.state_mut()
        .command(spoolbox::spooler::Command::AbortSubmit(eid));
    step_until(&mut h, "the refusal", |a| {
        a.model
            .errors
            .iter()
            .any(|e| e.contains("MAPI_E_UNABLE_TO_ABORT"))
    });
    h.run_steps(1);
    h.get_by_label_contains("MAPI_E_UNABLE_TO_ABORT (0x80040114)");
}

#[test]
fn composing_with_no_recipients_shows_mapi_e_no_recipients() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("New message").click();
    step_until(&mut h, "the compose form", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.subject().is_empty())
    });
    h.run_steps(2);
    h.get_by_label_contains("MAPI_E_NO_RECIPIENTS: add at least one recipient");
    // Submit is disabled while it cannot go; Ctrl+Enter says why instead of going silent.
    assert!(!h.state().compose.problems().is_empty());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run_steps(1);
    step_until(&mut h, "the submit error", |a| {
        a.model
            .errors
            .iter()
            .any(|e| e.contains("MAPI_E_NO_RECIPIENTS"))
    });
    // Nothing was lost or submitted: the draft is still a draft.
    let draft = h.state().model.focused.unwrap();
    assert_eq!(
        h.state().model.summaries[&draft].base_state,
        MessageState::Draft
    );
}

#[test]
fn the_x400_recipient_ends_with_an_ndr_in_inbox() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Resume").click();
    step_until(&mut h, "the NDR", |a| {
        a.model
            .summaries
            .values()
            .any(|s| s.subject == "Undeliverable: Order via the X.400 gateway")
    });
    h.get_by_label_contains("Inbox (").click();
    h.run_steps(2);
    h.get_by_label("Undeliverable: Order via the X.400 gateway")
        .click();
    step_until(&mut h, "the NDR detail", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.message_class() == "REPORT.IPM.Note.NDR")
    });
    h.run_steps(2);
    h.get_by_label_contains("No transport provider was available");
    h.get_by_label("Resend");
}

#[test]
fn keyboard_f10_steps_f5_continues_and_f9_flushes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    let eid = eid_of(h.state(), "Quarterly report").unwrap();
    h.key_press(egui::Key::F10);
    step_until(&mut h, "one step, then a stop before the next", |a| {
        a.model.debug.at == Some((eid, Step::SetLockState))
    });
    h.key_press(egui::Key::F10);
    step_until(&mut h, "the second step", |a| {
        a.model.debug.at == Some((eid, Step::Transmit))
    });
    assert!(h.state().model.summaries[&eid].is_locked());
    h.key_press(egui::Key::F5);
    step_until(&mut h, "the queue to run", |a| {
        folder_of(a, "Quarterly report") == Some(FolderKind::SentItems)
    });
    step_until(&mut h, "a fax retry to be scheduled", |a| {
        a.model
            .summaries
            .values()
            .any(|s| s.next_retry.is_some() && s.base_state == MessageState::WaitingRetry)
    });
    h.key_press(egui::Key::F9);
    step_until(&mut h, "Send/Receive", |a| {
        a.model
            .notices
            .iter()
            .any(|n| n.starts_with("Send/Receive"))
    });
    step_until(
        &mut h,
        "the busy fax to go once its timer is ignored",
        |a| {
            folder_of(a, "Project kickoff: SMTP, fax and a local mailbox")
                == Some(FolderKind::SentItems)
        },
    );
}

/// The real binary under Xvfb opens a window titled "Spoolbox" on a fresh demo store.
#[test]
fn the_real_binary_shows_a_window_under_xvfb() {
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    std::fs::create_dir_all(&xdg).unwrap();
    let num_file = tmp.path().join("display.num");
    // -displayfd lets Xvfb pick a free display and write its number to fd 3.
    let mut xvfb = Command::new("sh")
        .args([
            "-c",
            "exec Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>\"$0\"",
            num_file.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let num = loop {
        let n = std::fs::read_to_string(&num_file).unwrap_or_default();
        if n.ends_with('\n') {
            break n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Xvfb did not start: scripts/test.sh installs it (package xvfb)"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let display = format!(":{}", num.trim());
    let mut app = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .args(["--store", tmp.path().join("demo").to_str().unwrap()])
        .env("DISPLAY", &display)
        .env("XDG_RUNTIME_DIR", &xdg)
        // What the window remembers goes to the test's folder, not the user's.
        .env("XDG_CONFIG_HOME", tmp.path().join("config"))
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let found = Command::new("timeout")
        .args(["30", "xdotool", "search", "--sync", "--name", "Spoolbox"])
        .env("DISPLAY", &display)
        .output()
        .unwrap();
    let _ = app.kill();
    let _ = app.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    assert!(
        found.status.success() && !found.stdout.is_empty(),
        "no Spoolbox window appeared on {display}"
    );
}

#[test]
fn attaching_a_file_to_a_draft_shows_it_and_remove_takes_it_off() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.txt");
    std::fs::write(&file, "meeting notes").unwrap();
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
    h.run_steps(1);
    let eid = h.state().model.focused.unwrap();
    // The file dialog only yields a path; the worker reads the file.
    h.state_mut()
        .command(spoolbox::spooler::Command::AttachFile(eid, file));
    step_until(&mut h, "the attachment", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.attachments.len() == 1)
    });
    h.run_steps(2);
    h.get_by_label_contains("notes.txt (text/plain");
    h.get_by_label("Remove notes.txt").click_accesskit();
    step_until(&mut h, "the attachment to go", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.attachments.is_empty())
    });
}

#[test]
fn properties_trace_and_time_travel_show_what_the_pipeline_did() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("Quarterly report").click();
    step_until(&mut h, "the detail", |a| a.model.detail.is_some());
    h.get_by_label("Resume").click();
    step_until(&mut h, "Quarterly report sent", |a| {
        folder_of(a, "Quarterly report") == Some(FolderKind::SentItems)
    });
    step_until(&mut h, "the detail after sending", |a| {
        a.model
            .detail
            .as_ref()
            .is_some_and(|m| m.history.len() >= 8)
    });
    h.run_steps(1);
    h.get_by_label("Properties").click();
    h.run_steps(2);
    h.get_by_label("PR_MESSAGE_FLAGS");
    h.get_by_label("0x0E070003");
    h.get_by_label("Trace").click();
    h.run_steps(2);
    h.get_by_label_contains("IMsgStore::SetLockState(");
    h.get_by_label_contains("IMsgStore::FinishedMsg(");
    h.get_by_label("Pipeline").click();
    h.run_steps(2);
    // Time travel to just before Transmit: the rows read FALSE again, with the diff shown.
    h.get_by_label_contains("+ Transmit").click();
    h.run_steps(2);
    h.get_by_label_contains("Time travel: the message before Transmit");
    h.get_by_label("FALSE (row 0)");
    h.get_by_label("Back to now").click();
    h.run_steps(2);
    h.get_by_label("TRUE (row 0)");
}

/// The outbox rows kept up to date one event at a time equal a full rebuild.
#[test]
fn incremental_rows_match_a_full_rebuild() {
    use spoolbox::spooler::Event;
    use spoolbox::store::Summary;
    let outbox = EntryId(1);
    let sent = EntryId(2);
    let t0 = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let summary = |eid: u64, folder: EntryId, secs: i64| -> Summary {
        let mut m = spoolbox::mapi::Message::draft(EntryId(eid), folder, &format!("m{eid}"));
        m.props.set_time(
            spoolbox::mapi::tags::PR_CLIENT_SUBMIT_TIME,
            t0 + jiff::SignedDuration::from_secs(secs),
        );
        Summary::of(&m)
    };
    let mut live = spoolbox::ui::model::Model::default();
    live.folder = Some(outbox);
    live.apply(Event::Snapshot(
        (0..200)
            .map(|i| summary(i, outbox, i64::try_from(i % 37).unwrap()))
            .collect(),
    ));
    let _ = live.refresh_rows(t0);
    // Moves out, moves back with a new time, new messages, removals.
    let mut finals: std::collections::HashMap<u64, Summary> = (0..200)
        .map(|i| (i, summary(i, outbox, i64::try_from(i % 37).unwrap())))
        .collect();
    for step in 0..400u64 {
        let eid = (step * 7919) % 260;
        let e = match step % 4 {
            0 => Event::Summary(Box::new(summary(eid, sent, 5))),
            1 => Event::Summary(Box::new(summary(
                eid,
                outbox,
                i64::try_from(step % 50).unwrap(),
            ))),
            2 => Event::Removed(EntryId(eid)),
            _ => Event::Summary(Box::new(summary(eid, outbox, 3))),
        };
        match &e {
            Event::Summary(s) => {
                finals.insert(eid, (**s).clone());
            }
            Event::Removed(_) => {
                finals.remove(&eid);
            }
            _ => {}
        }
        live.apply(e);
    }
    let mut rebuilt = spoolbox::ui::model::Model::default();
    rebuilt.folder = Some(outbox);
    rebuilt.apply(Event::Snapshot(finals.into_values().collect()));
    let _ = rebuilt.refresh_rows(t0);
    assert_eq!(live.rows, rebuilt.rows);
    assert_eq!(live.count(outbox), rebuilt.count(outbox));
    assert_eq!(live.count(sent), rebuilt.count(sent));
}

// ---------------------------------------------------------------------------------------------
// Trust: never sent twice from the window, no edit lost, no silent failure, no state that lies

/// New message, one recipient and a subject typed into the composer.
fn compose_new(h: &mut Harness<'_, SpoolboxApp>, subject: &str, address: &str) -> EntryId {
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
    super::ui_keys::toolbar_reachable(&mut h, 1024.0);
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
fn a_typed_comma_ends_a_recipient_and_a_pasted_list_splits_into_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    h.get_by_label("New message").click();
    step_until(&mut h, "the composer", |a| a.compose.loaded.is_some());
    h.run_steps(2);
    // Typed: the comma after an address ends its row, the cursor goes on in a new one.
    for ch in "ann@example.org,".chars() {
        h.get_by_label("Recipient 1 address")
            .type_text(&ch.to_string());
        h.run_steps(1);
    }
    h.run_steps(1);
    assert!(
        h.get_by_label("Recipient 2 address").is_focused(),
        "the cursor moved to the new row"
    );
    h.get_by_label("Recipient 2 address")
        .type_text("bob@example.org");
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

// ---- Keyboard in the message table (issue 17, item 4) ----

/// The Outbox's rows as the table orders them, at least `n` of them.
fn rows(h: &Harness<'_, SpoolboxApp>, n: usize) -> Vec<EntryId> {
    let rows = h.state().model.rows.clone();
    assert!(rows.len() >= n, "the demo Outbox has {} rows", rows.len());
    rows
}

fn selected(h: &Harness<'_, SpoolboxApp>) -> Vec<EntryId> {
    h.state().model.selected.iter().copied().collect()
}

fn subject(h: &Harness<'_, SpoolboxApp>, eid: EntryId) -> String {
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

// ---- The window remembers (issue 17, item 3) ----

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

fn launch(store: Option<&Path>, reset_ui: bool) -> spoolbox::ui::Launch {
    spoolbox::ui::Launch {
        store: store.map(Path::to_path_buf),
        default_store: None,
        dark: false,
        breakpoints: Vec::new(),
        reset_ui,
    }
}

/// A second app started from what the first saved (the way `ui::run` starts it).
fn app_from(storage: &MemStorage, launch: &spoolbox::ui::Launch) -> Harness<'static, SpoolboxApp> {
    let (dir, state) =
        spoolbox::ui::start_state(launch, Some(storage as &dyn eframe::Storage)).unwrap();
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SpoolboxApp::with_state(cc, dir, state))
}

fn folder_kind(a: &SpoolboxApp) -> Option<FolderKind> {
    let f = a.model.folder?;
    a.model
        .folders
        .iter()
        .find(|x| x.entry_id == f)
        .map(|x| x.kind)
}

/// The detail pane is taller than this once made taller (its default is 320).
const DETAIL_TALLER: f32 = 350.0;

/// The detail pane's resize handle (the widest one; the folders' is tall and narrow).
fn detail_handle<'h>(h: &'h Harness<'_, SpoolboxApp>) -> egui_kittest::Node<'h> {
    h.get_all_by_label("Resize panel")
        .max_by(|a, b| a.rect().width().total_cmp(&b.rect().width()))
        .unwrap()
}

/// Theme, folder, sort, detail height and a breakpoint set in one app; the app saved; a new one on another
/// store (where entry ids differ) shows them all again.
fn save_a_customised_app(tmp: &Path) -> MemStorage {
    use spoolbox::ui::model::SortKey;
    let mut h = app(&tmp.join("first"));
    loaded(&mut h);
    h.get_by_label("Dark mode").click();
    h.run_steps(1);
    assert!(h.state().is_dark());
    h.get_by_label_contains("Sent Items (").click();
    h.run_steps(1);
    assert_eq!(folder_kind(h.state()), Some(FolderKind::SentItems));
    h.state_mut().model.sort = (SortKey::Subject, false);
    h.state_mut()
        .command(spoolbox::spooler::Command::SetBreakpoint(
            Step::Transmit,
            true,
        ));
    step_until(&mut h, "the breakpoint to be set", |a| {
        a.model.debug.breakpoints.contains(&Step::Transmit)
    });
    // The detail pane made taller (its resize handle, as a screen reader would).
    for _ in 0..3 {
        detail_handle(&h).increment_accesskit();
        h.run_steps(2);
    }
    assert!(h.state().ui_state().detail_height > DETAIL_TALLER);
    let mut storage = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    storage
}

#[test]
fn a_new_app_from_the_saved_state_shows_the_same_theme_folder_sort_and_breakpoints() {
    use spoolbox::ui::model::SortKey;
    let tmp = tempfile::tempdir().unwrap();
    let storage = save_a_customised_app(tmp.path());
    let second = tmp.path().join("second");
    let mut h = app_from(&storage, &launch(Some(&second), false));
    loaded(&mut h);
    step_until(&mut h, "Sent Items to be shown again", |a| {
        folder_kind(a) == Some(FolderKind::SentItems)
    });
    assert!(h.state().is_dark());
    assert_eq!(h.state().model.sort, (SortKey::Subject, false));
    let saved =
        spoolbox::ui::persist::UiState::restored(Some(&storage as &dyn eframe::Storage), false);
    assert!(saved.detail_height > DETAIL_TALLER);
    let now = h.state().ui_state().detail_height;
    assert!(
        (now - saved.detail_height).abs() < 0.5,
        "{now} vs {}",
        saved.detail_height
    );
    let top = detail_handle(&h).rect().center().y;
    assert!(
        top < 768.0 - DETAIL_TALLER,
        "the pane is drawn at the remembered height: handle at {top}"
    );
    step_until(&mut h, "the breakpoint to be set again", |a| {
        a.model.debug.breakpoints == vec![Step::Transmit]
    });
    assert_eq!(h.state().model.root.as_deref(), Some(second.as_path()));
}

#[test]
fn open_store_keeps_the_folder_sort_and_breakpoints() {
    use spoolbox::ui::model::SortKey;
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("first"));
    loaded(&mut h);
    h.get_by_label_contains("Sent Items (").click();
    h.state_mut().model.sort = (SortKey::Subject, false);
    h.state_mut()
        .command(spoolbox::spooler::Command::SetBreakpoint(
            Step::Transmit,
            true,
        ));
    step_until(&mut h, "the breakpoint to be set", |a| {
        a.model.debug.breakpoints.contains(&Step::Transmit)
    });
    let other = tmp.path().join("other");
    h.state_mut().request_open_store(other.clone());
    step_until(&mut h, "the other store", |a| {
        a.model.root.as_deref() == Some(other.as_path()) && eid_of(a, "Quarterly report").is_some()
    });
    step_until(&mut h, "its spooler to stop at Transmit too", |a| {
        a.model.debug.breakpoints == vec![Step::Transmit]
    });
    assert_eq!(folder_kind(h.state()), Some(FolderKind::SentItems));
    assert_eq!(h.state().model.sort, (SortKey::Subject, false));
    assert_eq!(h.state().ui_state().last_store, Some(other));
}

#[test]
fn reset_ui_starts_from_defaults_and_overwrites_the_saved_state() {
    use spoolbox::ui::model::SortKey;
    let tmp = tempfile::tempdir().unwrap();
    let storage = save_a_customised_app(tmp.path());
    let mut h = app_from(&storage, &launch(Some(&tmp.path().join("second")), true));
    loaded(&mut h);
    h.run_steps(4);
    assert!(!h.state().is_dark());
    assert_eq!(folder_kind(h.state()), Some(FolderKind::Outbox));
    assert_eq!(h.state().model.sort, (SortKey::Submitted, true));
    assert!(h.state().model.debug.breakpoints.is_empty());
    assert!(h.state().ui_state().detail_height < DETAIL_TALLER);
    let mut again = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut again);
    let state =
        spoolbox::ui::persist::UiState::restored(Some(&again as &dyn eframe::Storage), false);
    assert_eq!(
        spoolbox::ui::persist::UiState {
            folder: Some(spoolbox::ui::persist::FolderPref {
                kind: FolderKind::Outbox,
                name: "Outbox".into(),
            }),
            detail_height: state.detail_height,
            ..Default::default()
        },
        state,
        "what is saved after a reset is the defaults (the Outbox shown)"
    );
}

#[test]
fn the_last_opened_store_is_used_unless_store_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let last = tmp.path().join("last");
    std::fs::create_dir(&last).unwrap();
    let given = tmp.path().join("given");
    let mut storage = MemStorage::default();
    spoolbox::ui::persist::UiState {
        last_store: Some(last.clone()),
        ..Default::default()
    }
    .save(&mut storage);
    let default = tmp.path().join("default");
    let mut l = launch(None, false);
    l.default_store = Some(default.clone());
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, last, "no --store: the last store opened");
    l.store = Some(given.clone());
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, given, "--store wins");
    l.store = None;
    l.reset_ui = true;
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, default, "--reset-ui forgets the last store");
    // A remembered store that is gone is not created again.
    std::fs::remove_dir(&last).unwrap();
    l.reset_ui = false;
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, default);
}

#[test]
fn faults_left_in_the_profile_are_cleared_when_the_window_opens_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    {
        let (mut store, _) = spoolbox::spooler::demo::open(&dir).unwrap();
        let mut p = store.profile().clone();
        // What the Faults window left behind: "fail next 1", already used up last session.
        p.transports[0].faults.fail_next = 1;
        store.set_profile(p).unwrap();
    }
    let mut h = app(&dir);
    loaded(&mut h);
    step_until(&mut h, "the profile", |a| a.model.profile.is_some());
    let p = h.state().model.profile.clone().unwrap();
    assert!(
        p.transports.iter().all(|t| t.faults.is_off()),
        "faults came back re-armed: {:?}",
        p.transports.iter().map(|t| &t.faults).collect::<Vec<_>>()
    );
    assert!(
        h.state()
            .model
            .notices
            .iter()
            .any(|n| n.contains("faults from the last session were cleared")),
        "{:?}",
        h.state().model.notices
    );
    drop(h);
    // And for good: the store's profile no longer has them.
    let (store, _) = spoolbox::store::Store::open(&dir).unwrap();
    assert!(store.profile().transports.iter().all(|t| t.faults.is_off()));
}
