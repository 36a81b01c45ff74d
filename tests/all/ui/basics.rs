//! Sending, breakpoints, abort, the composer, the real binary under Xvfb, attachments,
//! properties and time travel.

use super::*;

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
fn the_x400_recipient_ends_with_an_ndr_in_inbox_and_resend_opens_a_copy_to_fix() {
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
    // Resend… opens a copy to correct (issue 28, item 5): nothing is sent before Submit.
    let ndr_count = |a: &SpoolboxApp| {
        a.model
            .summaries
            .values()
            .filter(|s| s.subject.starts_with("Undeliverable:"))
            .count()
    };
    let ndrs = ndr_count(h.state());
    h.get_by_label("Resend…").click();
    step_until(&mut h, "the copy in the editor", |a| {
        a.model.tab == spoolbox::ui::model::Tab::Compose
            && a.compose.content.rows.len() == 2
            && a.compose.content.subject == "Order via the X.400 gateway"
    });
    h.run_steps(3);
    let copy = h.state().compose.loaded.unwrap();
    assert!(
        !h.state().model.summaries[&copy].is_submitted(),
        "sent before Submit"
    );
    let rows = h.state().compose.content.rows.clone();
    assert!(!rows[0].keeps_original(), "the failed X.400 row is to fix");
    assert!(
        rows[1].keeps_original(),
        "the SMTP row got it: kept, not sent again"
    );
    // Fixed: the buyer is reached by mail now.
    h.get_by_label("Recipient 1 address").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Recipient 1 address")
        .type_text("buyer@example.com");
    h.run_steps(1);
    h.state_mut().compose.content.rows[0].addrtype = "SMTP".into();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    step_until(&mut h, "the corrected copy sent", |a| {
        a.model
            .summaries
            .get(&copy)
            .is_some_and(|s| s.base_state == MessageState::Sent)
    });
    h.run_steps(5);
    assert_eq!(ndr_count(h.state()), ndrs, "no second NDR");
    drop(h);
    let (mut store, _) = spoolbox::store::Store::open(&tmp.path().join("demo")).unwrap();
    let m = store.load(copy).unwrap();
    let rows: Vec<(String, bool, spoolbox::mapi::RecipientState)> = m
        .recipients
        .iter()
        .map(|r| {
            (
                r.email().to_owned(),
                r.is_submitted_marker(),
                r.outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "buyer@example.com".to_owned(),
                false,
                spoolbox::mapi::RecipientState::Delivered
            ),
            (
                "purchasing@example.com".to_owned(),
                true,
                spoolbox::mapi::RecipientState::SkippedResend
            ),
        ]
    );
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
