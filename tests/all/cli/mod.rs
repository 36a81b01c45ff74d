//! The headless command line (SPEC section 5), run as a user runs it: the real binary on a
//! store directory. Also the crash tests, which kill the real binary at chosen writes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use spoolbox::mapi::EntryId;
use spoolbox::profile::TransportKind;
use spoolbox::store::{FolderKind, Store};

use crate::store::{copy_dir, fast_tempdir};

pub(crate) const DEMO_SUBJECTS: [&str; 9] = [
    "Quarterly report",
    "Project kickoff: SMTP, fax and a local mailbox",
    "Order via the X.400 gateway",
    "Fax: signed contract",
    "Delete after submit: one-time code",
    "Deferred: reminder in 10 minutes",
    "No disposal properties: stays in Outbox",
    "[archive] Signed minutes",
    "Draft: notes for next week",
];

pub(crate) fn spoolbox(store: &Path, args: &[&str]) -> Output {
    spoolbox_env(store, args, None)
}

pub(crate) fn spoolbox_env(store: &Path, args: &[&str], failpoint: Option<&str>) -> Output {
    let bin = env!("CARGO_BIN_EXE_spoolbox");
    // (No `sh` and no core files on Windows: there the binary is started directly.)
    let mut c = if cfg!(unix) && failpoint.is_some() {
        // A fail point aborts the process: no core files, wherever core dumps are enabled.
        let mut sh = Command::new("sh");
        sh.arg("-c").arg("ulimit -c 0; exec \"$0\" \"$@\"").arg(bin);
        sh.current_dir(store.parent().unwrap_or(store));
        sh
    } else {
        Command::new(bin)
    };
    c.arg("--store")
        .arg(store)
        .args(args)
        .env_remove("SPOOLBOX_FAILPOINT")
        .env_remove("SPOOLBOX_LOG");
    if let Some(f) = failpoint {
        c.env("SPOOLBOX_FAILPOINT", f);
    }
    output_of(&mut c)
}

/// Runs `c` to its end. Under Debian's Wine 8, starting a process now and then fails with
/// `ERROR_INTERNAL_ERROR` (1359) before the program runs (seen once in one run of the crash
/// suite's fail points, a few hundred starts); such a start is tried again, up to 5 times. A
/// program that started is never run twice here.
pub(crate) fn output_of(c: &mut Command) -> Output {
    let mut tries = 0;
    loop {
        match c.output() {
            Ok(o) => return o,
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(1359) && tries < 5 => {
                tries += 1;
                eprintln!("could not start {c:?} ({e}): trying again");
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => panic!("could not start {c:?}: {e}"),
        }
    }
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn ok(o: &Output) -> &Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    o
}

/// Fails unless the command exited non-zero with exactly one line on stderr, the error line.
pub(crate) fn one_error_line(o: &Output) -> String {
    assert!(!o.status.success(), "should fail: {}", stdout(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got:\n{err}");
    assert!(lines[0].starts_with("spoolbox: error: "), "{err}");
    lines[0].to_owned()
}

/// A fresh demo store, as the first run creates it (by the CLI itself).
pub(crate) fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = fast_tempdir();
    let store = dir.path().join("demo");
    (dir, store)
}

pub(crate) fn list(store: &Path) -> Vec<Value> {
    let o = spoolbox(store, &["list", "--json"]);
    serde_json::from_slice::<Value>(&ok(&o).stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) fn by_subject<'a>(rows: &'a [Value], subject: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["subject"] == subject).collect()
}

pub(crate) fn one<'a>(rows: &'a [Value], subject: &str) -> &'a Value {
    let v = by_subject(rows, subject);
    assert_eq!(v.len(), 1, "exactly one {subject:?} in {rows:#?}");
    v[0]
}

pub(crate) fn id_of(rows: &[Value], subject: &str) -> String {
    one(rows, subject)["id"].as_u64().unwrap().to_string()
}

#[test]
fn list_json_on_a_new_demo_store_lists_the_demo_messages() {
    let (_dir, store) = demo();
    let rows = list(&store);
    // The nine demo messages and the coupled store's local delivery of the kickoff.
    assert_eq!(rows.len(), 10, "{rows:#?}");
    for s in DEMO_SUBJECTS {
        assert!(!by_subject(&rows, s).is_empty(), "{s} is listed");
    }
    let q = one(&rows, "Quarterly report");
    assert_eq!(q["folder"], "Outbox");
    assert_eq!(q["state"], "Queued");
    assert_eq!(q["recipients_total"], 3);
    assert_eq!(q["class"], "IPM.Note");
    let x400 = one(&rows, "Order via the X.400 gateway");
    assert_eq!(x400["folder"], "Outbox");
    assert_eq!(one(&rows, "Draft: notes for next week")["state"], "Draft");
    assert_eq!(
        one(&rows, "Deferred: reminder in 10 minutes")["state"],
        "Deferred send"
    );
    let kickoff = by_subject(&rows, "Project kickoff: SMTP, fax and a local mailbox");
    let mut folders: Vec<&str> = kickoff
        .iter()
        .map(|r| r["folder"].as_str().unwrap())
        .collect();
    folders.sort_unstable();
    assert_eq!(folders, ["Inbox", "Outbox"]);
    // The same store opens again with the same contents (no second seeding).
    assert_eq!(list(&store).len(), 10);
}

#[test]
fn show_json_lists_each_property_with_its_tag_and_decoded_flags() {
    let (_dir, store) = demo();
    let rows = list(&store);
    let id = id_of(&rows, "Quarterly report");
    let o = spoolbox(&store, &["show", &id, "--json"]);
    let v: Value = serde_json::from_slice(&ok(&o).stdout).unwrap();
    let props = v["properties"].as_array().unwrap();
    let prop = |name: &str| {
        props
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {props:#?}"))
    };
    let subject = prop("PR_SUBJECT");
    assert_eq!(subject["tag"], "0x0037001F");
    assert_eq!(subject["type"], "PT_UNICODE");
    assert_eq!(subject["value"], "Quarterly report");
    let flags = prop("PR_MESSAGE_FLAGS");
    assert_eq!(flags["tag"], "0x0E070003");
    assert_eq!(flags["value"], 12);
    assert_eq!(flags["decoded"], "MSGFLAG_SUBMIT | MSGFLAG_UNSENT");
    assert_eq!(prop("PR_SUBMIT_FLAGS")["tag"], "0x0E140003");
    assert_eq!(prop("PR_SENTMAIL_ENTRYID")["tag"], "0x0E0A0102");
    let recips = v["recipients"].as_array().unwrap();
    assert_eq!(recips.len(), 3);
    for r in recips {
        let resp = r["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "PR_RESPONSIBILITY")
            .unwrap();
        assert_eq!(resp["tag"], "0x0E0F000B");
        assert_eq!(resp["value"], false);
    }
    // The text form shows the same, one property per line.
    let text = stdout(ok(&spoolbox(&store, &["show", &id])));
    assert!(
        text.lines().any(|l| l.starts_with("0x0037001F")
            && l.contains("PR_SUBJECT")
            && l.ends_with("Quarterly report")),
        "{text}"
    );
    assert!(text.contains("(MSGFLAG_SUBMIT | MSGFLAG_UNSENT)"), "{text}");
}

#[test]
fn send_all_sends_the_demo_outbox_and_writes_the_x400_ndr() {
    let (_dir, store) = demo();
    let o = spoolbox(&store, &["send", "--all"]);
    let out = stdout(ok(&o));
    assert!(out.contains("non-delivery report"), "{out}");
    let rows = list(&store);
    let q = one(&rows, "Quarterly report");
    assert_eq!(q["folder"], "Sent Items");
    assert_eq!(q["state"], "Sent");
    assert_eq!(q["recipients_done"], 3);
    assert_eq!(
        one(&rows, "Order via the X.400 gateway")["folder"],
        "Sent Items"
    );
    let ndr = one(&rows, "Undeliverable: Order via the X.400 gateway");
    assert_eq!(ndr["folder"], "Inbox");
    assert_eq!(ndr["class"], "REPORT.IPM.Note.NDR");
    assert_eq!(ndr["recipients_total"], 1);
    assert_eq!(one(&rows, "[archive] Signed minutes")["folder"], "Archive");
    assert!(by_subject(&rows, "Delete after submit: one-time code").is_empty());
    let stays = one(&rows, "No disposal properties: stays in Outbox");
    assert_eq!(
        (stays["folder"].as_str(), stays["state"].as_str()),
        (Some("Outbox"), Some("Sent"))
    );
    assert_eq!(
        one(&rows, "Deferred: reminder in 10 minutes")["state"],
        "Deferred send"
    );
    assert_eq!(one(&rows, "Draft: notes for next week")["state"], "Draft");
    // The pickup folder holds one .eml for the quarterly report, with its three recipients.
    let qid = q["id"].as_u64().unwrap();
    let eml = store
        .join("pickup")
        .join(spoolbox::transport::pickup::file_name(
            &spoolbox::transport::pickup::store_tag(&store),
            EntryId(qid),
            &[0, 1, 2],
        ));
    let text = std::fs::read_to_string(&eml).unwrap();
    assert!(text.contains("Subject: Quarterly report"), "{text}");
}

#[test]
fn trace_prints_the_mapi_calls_in_pipeline_order() {
    let (_dir, store) = demo();
    let before = list(&store);
    let qid = id_of(&before, "Quarterly report");
    let gone = id_of(&before, "Delete after submit: one-time code");
    ok(&spoolbox(&store, &["send", "--all"]));
    let text = stdout(ok(&spoolbox(&store, &["trace", &qid])));
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in\n{text}"))
    };
    let lock = at(&format!(
        "IMsgStore::SetLockState({qid}, MSG_LOCKED) -> S_OK"
    ));
    let xp = at("IXPLogon::SubmitMessage(");
    let fin = at("IMsgStore::FinishedMsg(");
    let sent = at("IMAPISupport::DoSentMail(");
    assert!(
        at("IMessage::SubmitMessage(") < lock && lock < xp && xp < fin && fin < sent,
        "{text}"
    );
    // A message DoSentMail deleted still has its trace.
    let text = stdout(ok(&spoolbox(&store, &["trace", &gone])));
    assert!(text.contains("IMAPIFolder::DeleteMessages("), "{text}");
    let json: Value =
        serde_json::from_slice(&ok(&spoolbox(&store, &["trace", &qid, "--json"])).stdout).unwrap();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|c| c["call"] == "IMsgStore::SetLockState")
    );
}

#[test]
fn abort_of_an_absent_or_finished_message_fails_with_one_clear_line() {
    let (_dir, store) = demo();
    let rows = list(&store);
    let line = one_error_line(&spoolbox(&store, &["abort", "999999"]));
    assert!(line.contains("no message 999999"), "{line}");
    ok(&spoolbox(&store, &["send", "--all"]));
    let q = id_of(&rows, "Quarterly report");
    let line = one_error_line(&spoolbox(&store, &["abort", &q]));
    assert!(line.contains("MAPI_E_NOT_IN_QUEUE"), "{line}");
    let d = id_of(&rows, "Draft: notes for next week");
    let line = one_error_line(&spoolbox(&store, &["abort", &d]));
    assert!(line.contains("MAPI_E_NOT_IN_QUEUE"), "{line}");
    // A queued message is taken back.
    let deferred = id_of(&rows, "Deferred: reminder in 10 minutes");
    let out = stdout(ok(&spoolbox(&store, &["abort", &deferred])));
    assert!(out.contains("editable draft again"), "{out}");
    assert_eq!(
        one(&list(&store), "Deferred: reminder in 10 minutes")["state"],
        "Draft"
    );
}

#[test]
fn abort_while_another_process_holds_the_store_fails_with_one_clear_line() {
    let (_dir, root) = demo();
    let (store, _) = spoolbox::spooler::demo::open(&root).unwrap();
    let id = store
        .summaries()
        .find(|s| s.subject == "Quarterly report")
        .unwrap()
        .eid
        .to_string();
    let line = one_error_line(&spoolbox(&root, &["abort", &id]));
    assert!(
        line.contains(&format!("in use by process {}", std::process::id())),
        "{line}"
    );
    drop(store);
    ok(&spoolbox(&root, &["abort", &id]));
}

#[test]
fn abort_of_a_message_locked_by_a_dead_spooler_succeeds() {
    // The lock a dead spooler left is stale (reference a.6): the CLI clears it at start, so
    // AbortSubmit does not wrongly answer MAPI_E_UNABLE_TO_ABORT.
    let (_dir, root) = demo();
    let id = {
        let (store, _) = spoolbox::spooler::demo::open(&root).unwrap();
        let mut sp = spoolbox::spooler::Spooler::new(store, spoolbox::spooler::Clock::system());
        sp.handle(spoolbox::spooler::Command::SetBreakpoint(
            spoolbox::mapi::Step::Transmit,
            true,
        ));
        sp.handle(spoolbox::spooler::Command::Resume);
        sp.run_until_idle();
        let (eid, _) = sp.debug_state().at.expect("stopped before Transmit");
        assert!(sp.store().summary(eid).unwrap().is_locked());
        eid
    };
    let out = stdout(ok(&spoolbox(&root, &["abort", &id.to_string()])));
    assert!(out.contains("editable draft again"), "{out}");
    let rows = list(&root);
    let row = rows.iter().find(|r| r["id"] == id.0).unwrap();
    assert_eq!(row["state"], "Draft");
}

#[test]
fn doctor_reports_a_corrupt_file_as_quarantined() {
    let (_dir, store) = demo();
    ok(&spoolbox(&store, &["list"]));
    let bad = store
        .join("folders")
        .join(EntryId(1).file_stem())
        .join(format!("{}.json", EntryId(9999).file_stem()));
    std::fs::write(&bad, b"{\"schema\": 1, \"entry_id\": 9999, \"fold").unwrap();
    let o = spoolbox(&store, &["doctor", "--json"]);
    let v: Value = serde_json::from_slice(&ok(&o).stdout).unwrap();
    let q = v["quarantined"].as_array().unwrap();
    assert_eq!(q.len(), 1, "{v:#}");
    assert_eq!(q[0]["original"], bad.to_str().unwrap());
    assert!(
        q[0]["reason"].as_str().unwrap().contains("truncated JSON"),
        "{v:#}"
    );
    assert_eq!(v["messages"], 10, "the rest of the store is intact");
    assert!(!bad.exists());
    let moved = PathBuf::from(q[0]["moved_to"].as_str().unwrap());
    assert!(moved.exists());
    assert!(PathBuf::from(format!("{}.why", moved.display())).exists());
    // The warning reached stderr as well, and the next check finds the store healthy.
    assert!(stderr(&o).contains("was unreadable"), "{}", stderr(&o));
    let text = stdout(ok(&spoolbox(&store, &["doctor"])));
    assert!(text.contains("quarantined now: 0"), "{text}");
    assert!(
        text.contains("files in quarantine/ (with a .why beside each): 1"),
        "{text}"
    );
    assert!(text.contains("store OK"), "{text}");
}

#[test]
fn errors_print_one_line_starting_with_spoolbox_error_and_exit_non_zero() {
    let (_dir, store) = demo();
    ok(&spoolbox(&store, &["list"]));
    for args in [
        &["show", "999999"][..],
        &["trace", "999999"],
        &["submit", "999999"],
        &["send", "999999"],
        &["list", "--folder", "No such folder"],
    ] {
        let o = spoolbox(&store, args);
        let line = one_error_line(&o);
        assert!(
            line.contains("999999") || line.contains("No such folder"),
            "{args:?}: {line}"
        );
        assert!(
            stdout(&o).is_empty() || args[0] == "send",
            "{args:?}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn bad_arguments_print_one_line_not_a_usage_block() {
    let (_dir, store) = demo();
    for args in [
        &["show", "not-a-number"][..],
        &["send", "--bogus"],
        &["nonsense"],
    ] {
        let o = spoolbox(&store, args);
        let line = one_error_line(&o);
        assert!(line.contains("--help"), "{args:?}: {line}");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn send_with_an_id_sends_only_that_message() {
    let (_dir, store) = demo();
    let rows = list(&store);
    let order = id_of(&rows, "Order via the X.400 gateway");
    ok(&spoolbox(&store, &["send", &order]));
    let rows = list(&store);
    assert_eq!(
        one(&rows, "Order via the X.400 gateway")["folder"],
        "Sent Items"
    );
    // Everything else is still queued, in the Outbox, untouched.
    for subject in [
        "Quarterly report",
        "Delete after submit: one-time code",
        "[archive] Signed minutes",
    ] {
        let r = one(&rows, subject);
        assert_eq!(r["folder"], "Outbox", "{subject}");
        assert_eq!(r["state"], "Queued", "{subject}");
    }
}

mod crash;
mod profile_held;

#[allow(unused_imports, reason = "helpers shared with the other parts")]
pub(crate) use crash::*;
