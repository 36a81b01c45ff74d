//! Issue 27, finding 3 and build item 3: the profile in `store.json` is the user's. One that
//! does not parse or holds a value out of range is never replaced by the demo's nor
//! quarantined: the store opens with sending held, `list` and `doctor` say which file, field
//! and value, nothing is sent (neither to the user's pickup folder nor the demo's), and
//! `store.json` stays as it is until it is fixed (here by `doctor --fix`, after asking).
//! Also finding 7 (a retry delay of 10^12 s), and from finding 10: `profile set-smtp` refuses
//! what the form refuses, and a malformed sender holds the queue instead of failing every
//! message with an NDR.

use std::io::Write as _;
use std::process::Stdio;

use super::*;

/// A demo store made by the CLI, turned into "the user's": another sender and its own pickup
/// directory, so mail sent through the demo's profile would show.
fn users_store() -> (tempfile::TempDir, PathBuf) {
    let (dir, store) = demo();
    ok(&spoolbox(&store, &["list"]));
    edit_profile(&store, |p| {
        p["sender_name"] = "Bob User".into();
        p["sender_address"] = "bob@example.org".into();
        p["transports"][1]["kind"]["dir"] = "user-pickup".into();
    });
    (dir, store)
}

/// Rewrites the profile in `store.json` as JSON (a hand edit).
fn edit_profile(store: &Path, f: impl FnOnce(&mut Value)) {
    let path = store.join("store.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    f(&mut v["profile"]);
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// The `.eml` files in a pickup directory of the store (none when it does not exist).
fn picked_up(store: &Path, dir: &str) -> usize {
    std::fs::read_dir(store.join(dir)).map_or(0, |d| d.flatten().count())
}

/// Files in `quarantine/` whose name starts with `store`.
fn store_json_in_quarantine(store: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(store.join("quarantine")).map_or(Vec::new(), |d| {
        d.flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("store"))
            })
            .collect()
    })
}

/// `spoolbox` with `input` on its standard input.
fn spoolbox_input(store: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("SPOOLBOX_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// What every held store shows: `list` names the reason, `send --all` sends nothing anywhere
/// and fails saying why, no message is failed, locked or reported, and `store.json` is the
/// same bytes and was never quarantined.
fn assert_held(store: &Path, reason: &str) {
    let before = std::fs::read(store.join("store.json")).unwrap();
    let o = spoolbox(store, &["list"]);
    let out = stdout(ok(&o));
    assert!(
        out.contains(&format!("sending is held: store.json: {reason}")),
        "list should name store.json, the field and the value ({reason}):\n{out}\n{}",
        stderr(&o)
    );
    let o = spoolbox(store, &["send", "--all"]);
    assert!(!o.status.success(), "send while held: {}", stdout(&o));
    assert_ne!(o.status.code(), Some(101), "a panic: {}", stderr(&o));
    assert!(
        stderr(&o).contains("sending is held: store.json: "),
        "{}",
        stderr(&o)
    );
    assert_eq!(picked_up(store, "pickup"), 0, "the demo's pickup folder");
    assert_eq!(
        picked_up(store, "user-pickup"),
        0,
        "the user's pickup folder"
    );
    let rows = list(store);
    let q = one(&rows, "Quarterly report");
    assert_eq!(q["folder"], "Outbox", "{q}");
    assert_eq!(q["state"], "Queued", "{q}");
    assert!(
        rows.iter()
            .all(|r| r["state"] != "Locked" && r["state"] != "Failed"),
        "{rows:#?}"
    );
    assert!(
        by_subject(&rows, "Undeliverable: Quarterly report").is_empty(),
        "no NDR"
    );
    assert_eq!(
        std::fs::read_to_string(store.join("store.json")).unwrap(),
        String::from_utf8(before).unwrap(),
        "store.json unchanged on disk"
    );
    assert_eq!(store_json_in_quarantine(store), Vec::<PathBuf>::new());
}

#[test]
fn a_port_of_70000_in_store_json_holds_sending_until_doctor_fix_and_keeps_the_users_profile() {
    let (_dir, store) = users_store();
    edit_profile(&store, |p| {
        p["transports"][0]["kind"]["port"] = 70_000.into();
    });
    let original = std::fs::read(store.join("store.json")).unwrap();
    assert_held(&store, "profile.transports[0].kind.port = 70000");
    // doctor says so too, and --fix asks first: "n" changes nothing.
    let o = spoolbox(&store, &["doctor"]);
    let out = stdout(ok(&o));
    assert!(
        out.contains("sending is held: store.json: profile.transports[0].kind.port = 70000"),
        "{out}"
    );
    let o = spoolbox_input(&store, &["doctor", "--fix"], "n\n");
    assert!(stdout(ok(&o)).contains("[y/N]"), "{}", stdout(&o));
    assert!(std::fs::read(store.join("store.json")).unwrap() == original);
    // With no answer at all it fails and names --yes.
    let o = spoolbox(&store, &["doctor", "--fix"]);
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert!(std::fs::read(store.join("store.json")).unwrap() == original);
    // "y": the port takes its default, the rest is the user's; the old file is kept.
    let o = spoolbox_input(&store, &["doctor", "--fix"], "y\n");
    assert!(
        stdout(ok(&o)).contains("sending is no longer held"),
        "{}",
        stdout(&o)
    );
    let kept = store_json_in_quarantine(&store);
    let kept_json: Vec<_> = kept
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(kept_json.len(), 1, "{kept:?}");
    assert!(std::fs::read(kept_json[0]).unwrap() == original);
    let v: Value =
        serde_json::from_slice(&std::fs::read(store.join("store.json")).unwrap()).unwrap();
    assert_eq!(v["profile"]["transports"][0]["kind"]["port"], 25);
    assert_eq!(v["profile"]["sender_name"], "Bob User");
    assert_eq!(v["profile"]["transports"][1]["kind"]["dir"], "user-pickup");
    // Now the user's mail goes, through the user's pickup folder, as the user.
    ok(&spoolbox(&store, &["send", "--all"]));
    assert_eq!(picked_up(&store, "pickup"), 0);
    assert!(picked_up(&store, "user-pickup") > 0);
    assert_eq!(one(&list(&store), "Quarterly report")["state"], "Sent");
}

#[test]
fn hooks_nested_100000_deep_hold_sending_without_overflowing_the_stack() {
    let (_dir, store) = users_store();
    let path = store.join("store.json");
    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let depth = 100_000;
    let deep = format!("\"hooks\": {}{},", "[".repeat(depth), "]".repeat(depth));
    let text = text.replacen("\"hooks\": [", &format!("{deep} \"old_hooks\": ["), 1);
    std::fs::write(&path, text).unwrap();
    // The walk that names the field is flat: 100,000 levels cost a loop, not the stack.
    assert_held(&store, "profile.hooks[0][0] = […]: invalid type: sequence");
    let o = spoolbox(&store, &["doctor"]);
    assert!(
        stdout(ok(&o)).contains("sending is held: store.json: profile.hooks[0][0]"),
        "{}",
        stdout(&o)
    );
    // Fixed: the hooks take their default, the rest stays the user's.
    let o = spoolbox(&store, &["doctor", "--fix", "--yes"]);
    assert!(
        stdout(ok(&o)).contains("sending is no longer held"),
        "{}",
        stdout(&o)
    );
    let v: Value =
        serde_json::from_slice(&std::fs::read(store.join("store.json")).unwrap()).unwrap();
    assert_eq!(v["profile"]["hooks"], serde_json::json!([]));
    assert_eq!(v["profile"]["sender_name"], "Bob User");
}

#[test]
fn a_retry_delay_of_10_to_the_12_seconds_is_held_not_a_panic_and_nothing_stays_locked() {
    let (_dir, store) = users_store();
    edit_profile(&store, |p| {
        p["retry"]["first_delay_secs"] = 1_000_000_000_000_u64.into();
        p["retry"]["max_delay_secs"] = 1_000_000_000_000_u64.into();
        // Every hand-off to the pickup folder fails for now: the retry delay is used.
        p["transports"][1]["faults"] = serde_json::json!({"fail_next": 5});
    });
    // Today's main panics here (timestamp overflow in retry_or_give_up), exit 101.
    let o = spoolbox(&store, &["send", "--all"]);
    assert_ne!(o.status.code(), Some(101), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_held(
        &store,
        "profile.retry.first_delay_secs = 1000000000000: a retry delay is from 1 second to 7 days",
    );
    // doctor --fix says each value it resets; then the failing hand-offs wait for a retry,
    // none left Locked.
    let o = spoolbox(&store, &["doctor", "--fix", "--yes"]);
    let out = stdout(ok(&o));
    for field in ["first_delay_secs", "max_delay_secs"] {
        assert!(
            out.contains(&format!(
                "set profile.retry.{field} = 1000000000000 to its default"
            )),
            "{out}"
        );
    }
    let o = spoolbox(&store, &["send", "--all"]);
    assert_ne!(o.status.code(), Some(101), "{}", stderr(&o));
    let rows = list(&store);
    assert!(rows.iter().all(|r| r["state"] != "Locked"), "{rows:#?}");
    assert_eq!(
        one(&rows, "Quarterly report")["state"],
        "Waiting retry",
        "{rows:#?}"
    );
}

#[test]
fn profile_set_smtp_refuses_a_host_with_cr_lf_and_port_0_with_the_forms_words() {
    let (_dir, store) = users_store();
    let profile = |store: &Path| {
        serde_json::from_slice::<Value>(&std::fs::read(store.join("store.json")).unwrap()).unwrap()
            ["profile"]
            .clone()
    };
    let before = profile(&store);
    let o = spoolbox(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "smtp.example.org\r\nMAIL FROM:<x@evil.test>",
        ],
    );
    let line = one_error_line(&o);
    assert!(
        line.contains("not a host name or IP address (like smtp.example.org or 127.0.0.1)"),
        "{line}"
    );
    let o = spoolbox(&store, &["profile", "set-smtp", "--port", "0"]);
    let line = one_error_line(&o);
    assert!(
        line.contains("the port is a number from 1 to 65535"),
        "{line}"
    );
    assert_eq!(profile(&store), before, "the profile is not saved");
    // A good one is saved.
    ok(&spoolbox(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            "2525",
        ],
    ));
    let v: Value =
        serde_json::from_slice(&std::fs::read(store.join("store.json")).unwrap()).unwrap();
    assert_eq!(v["profile"]["transports"][0]["kind"]["port"], 2525);
}

#[test]
fn a_malformed_sender_holds_the_queue_with_no_ndr_and_the_messages_go_once_it_is_fixed() {
    let (_dir, store) = users_store();
    edit_profile(&store, |p| {
        p["sender_address"] = "bob user@@example".into();
    });
    assert_held(
        &store,
        "profile.sender_address = \"bob user@@example\": not an email address",
    );
    // Fixed by hand: the same messages go, as the user.
    edit_profile(&store, |p| {
        p["sender_address"] = "bob@example.org".into();
    });
    ok(&spoolbox(&store, &["send", "--all"]));
    let rows = list(&store);
    assert_eq!(one(&rows, "Quarterly report")["state"], "Sent");
    assert!(picked_up(&store, "user-pickup") > 0);
    assert_eq!(picked_up(&store, "pickup"), 0);
    assert!(by_subject(&rows, "Undeliverable: Quarterly report").is_empty());
}

/// The spooler behind the CLI and the window, driven directly: on a store whose profile holds
/// sending, Resume and Send all run nothing, say why, and change no message.
#[test]
fn the_spooler_itself_runs_nothing_while_the_profile_holds_sending() {
    let (_dir, store) = users_store();
    edit_profile(&store, |p| {
        p["transports"][0]["kind"]["host"] = "smtp.example.org\r\nRSET".into();
    });
    let (st, report) = Store::open(&store).unwrap();
    assert!(report.quarantined.is_empty());
    let before: Vec<_> = st.summaries().cloned().collect();
    let mut sp = spoolbox::spooler::Spooler::new(st, spoolbox::spooler::Clock::system());
    sp.handle(spoolbox::spooler::Command::Resume);
    sp.handle(spoolbox::spooler::Command::Flush);
    let said: Vec<String> = sp
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            spoolbox::spooler::Event::Error(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(
        said.iter().any(|t| t.contains(
            "nothing is sent: sending is held: store.json: profile.transports[0].kind.host"
        )),
        "{said:?}"
    );
    assert_eq!(sp.run_until_idle(), 0, "no step runs");
    assert!(sp.debug_state().held.is_some());
    let mut after: Vec<_> = sp.store().summaries().cloned().collect();
    let mut before = before;
    before.sort_by_key(|s| s.eid);
    after.sort_by_key(|s| s.eid);
    assert_eq!(before, after, "no message changed");
    drop(sp);
    assert_eq!(picked_up(&store, "user-pickup"), 0);
    assert_eq!(picked_up(&store, "pickup"), 0);
}
