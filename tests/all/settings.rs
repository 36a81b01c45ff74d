//! Issue 17: the Profile window as a form, through `egui_kittest` by label with the real
//! worker, and Test connection against the real aiosmtpd of `smtp.rs` (success, a closed
//! port, STARTTLS refused, AUTH refused), each shown in the window with the server's reply;
//! the Advanced view's JSON error at its line; `spoolbox profile test` on the command line.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use spoolbox::profile::{Profile, SmtpSettings, TransportKind};
use spoolbox::store::Store;
use spoolbox::ui::SpoolboxApp;

use crate::smtp::{Server, free_port, ok, set_smtp_user, smtp_profile, spoolbox_with};
use crate::store::fast_tempdir;
use crate::ui::step_until;

/// A store whose profile is `p` (SMTP first), closed again for the app.
fn store_with(dir: &Path, p: Profile) -> PathBuf {
    let root = dir.join("store");
    let (mut store, _) = spoolbox::spooler::demo::open(&root).unwrap();
    store.set_profile(p).unwrap();
    drop(store);
    root
}

fn with_user(mut p: Profile, user: &str) -> Profile {
    if let TransportKind::Smtp(s) = &mut p.transports[0].kind {
        s.username = Some(user.into());
    }
    p
}

fn smtp_of(p: &Profile) -> SmtpSettings {
    match &p.transports[0].kind {
        TransportKind::Smtp(s) => s.clone(),
        _ => panic!("SMTP is first"),
    }
}

/// The app on `root` with the Profile window open on its form.
fn profile_window(root: &Path) -> Harness<'static, SpoolboxApp> {
    let dir = root.to_path_buf();
    let mut h = Harness::builder()
        .with_size([1280.0, 900.0])
        .build_eframe(move |cc| SpoolboxApp::new(cc, dir, false));
    step_until(&mut h, "the profile", |a| a.model.profile.is_some());
    h.run_steps(2);
    h.get_by_label("Profile…").click();
    // A window needs a frame to size itself.
    h.run_steps(3);
    h
}

/// Types `text` over what the field holds.
fn set(h: &mut Harness<'_, SpoolboxApp>, field: &str, text: &str) {
    h.get_by_label(field).set_text_value_accesskit(text);
    h.run_steps(2);
}

fn disabled(h: &Harness<'_, SpoolboxApp>, label: &str) -> bool {
    h.get_by_label(label).accesskit_node().is_disabled()
}

#[test]
fn a_bad_port_is_refused_with_its_reason_and_a_good_one_is_saved_to_the_store() {
    let tmp = fast_tempdir();
    let root = store_with(tmp.path(), smtp_profile("127.0.0.1", 2525));
    let mut h = profile_window(&root);
    assert!(disabled(&h, "Save profile"), "nothing changed yet");
    set(&mut h, "SMTP port", "99999");
    h.get_by_label("the port is a number from 1 to 65535");
    h.get_by_label_contains("Fix this to save: the port is a number");
    h.get_by_label("needs a fix");
    assert!(
        disabled(&h, "Save profile"),
        "Save stays off while the port is wrong"
    );
    set(&mut h, "Sender address", "not an address");
    h.get_by_label("not an email address (like name@example.org)");
    h.get_by_label_contains("Fix 2 problems to save");
    set(&mut h, "Sender address", "ann@example.org");
    set(&mut h, "SMTP port", "2626");
    assert!(
        h.query_by_label("the port is a number from 1 to 65535")
            .is_none()
    );
    h.get_by_label("Unsaved changes");
    assert!(!disabled(&h, "Save profile"));
    h.get_by_label("Save profile").click();
    step_until(&mut h, "the saved profile back from the worker", |a| {
        a.model
            .profile
            .as_ref()
            .is_some_and(|p| smtp_of(p).port == 2626)
    });
    h.run_steps(2);
    h.get_by_label("Saved");
    drop(h);
    // Read back from the store itself.
    let (store, _) = Store::open(&root).unwrap();
    let p = store.profile();
    assert_eq!(smtp_of(p).port, 2626);
    assert_eq!(p.sender_address, "ann@example.org");
}

/// Clicks Test connection and waits for its answer.
fn test_connection(h: &mut Harness<'_, SpoolboxApp>) {
    let before = h.state().model.connection_test.as_ref().map(|(id, _)| *id);
    h.get_by_label("Test connection").click();
    h.run_steps(1);
    let start = Instant::now();
    loop {
        h.step();
        let now = h.state().model.connection_test.as_ref().map(|(id, _)| *id);
        if now.is_some() && now != before {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no answer to Test connection"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(3);
}

fn step_is(h: &Harness<'_, SpoolboxApp>, step: &str, result: &str) {
    // The result's own name (the word shown is "ok", "failed" or "skipped").
    let label = format!("{step}: {result}");
    let shown = h
        .query_all_by(|n| n.label().is_some_and(|l| l == label))
        .next()
        .is_some();
    assert!(
        shown,
        "{label} not shown; the report: {:#?}",
        h.state().model.connection_test
    );
}

#[test]
fn test_connection_shows_each_step_and_the_servers_replies_for_success_and_each_refusal() {
    let srv = Server::start(&["--auth", "alice:right horse"]);
    let tmp = fast_tempdir();
    let root = store_with(
        tmp.path(),
        with_user(smtp_profile("127.0.0.1", srv.port), "alice"),
    );
    let mut h = profile_window(&root);
    // Success, with the password typed in the form (nothing saved).
    set(&mut h, "SMTP password", "right horse");
    test_connection(&mut h);
    for (step, result) in [
        ("Connect", "ok"),
        ("EHLO", "ok"),
        ("STARTTLS", "skipped"),
        ("AUTH", "ok"),
        ("QUIT", "ok"),
    ] {
        step_is(&h, step, result);
    }
    h.get_by_label_contains("S: 235 2.7.0 Authentication successful");
    h.get_by_label_contains("the server accepts this logon");
    h.get_by_label_contains("C: AUTH PLAIN (credentials not shown)");
    // AUTH refused: a wrong password, and the server's 535.
    set(&mut h, "SMTP password", "wrong horse");
    test_connection(&mut h);
    step_is(&h, "AUTH", "failed");
    step_is(&h, "QUIT", "ok");
    h.get_by_label_contains("S: 535 5.7.8 Authentication credentials invalid");
    // STARTTLS asked of a server that does not offer it: refused, never plain text.
    h.get_by_role_and_label(Role::RadioButton, "STARTTLS")
        .click();
    h.run_steps(2);
    test_connection(&mut h);
    step_is(&h, "EHLO", "ok");
    step_is(&h, "STARTTLS", "failed");
    step_is(&h, "AUTH", "skipped");
    h.get_by_label_contains("does not offer STARTTLS");
    h.get_by_label_contains("S: 250-AUTH LOGIN PLAIN");
    // A closed port: refused by the system, nothing else tried.
    h.get_by_role_and_label(Role::RadioButton, "None").click();
    set(&mut h, "SMTP port", &free_port().to_string());
    test_connection(&mut h);
    step_is(&h, "Connect", "failed");
    step_is(&h, "EHLO", "skipped");
    h.get_by_label_contains("Connection refused");
    // The profile was never saved by any of this.
    assert_eq!(
        smtp_of(h.state().model.profile.as_ref().unwrap()).port,
        srv.port
    );
}

#[test]
fn the_advanced_view_points_a_json_error_at_its_line() {
    let tmp = fast_tempdir();
    let root = store_with(tmp.path(), smtp_profile("127.0.0.1", 2525));
    let mut h = profile_window(&root);
    h.get_by_label("Advanced (JSON)").click();
    h.run_steps(3);
    let good = serde_json::to_string_pretty(h.state().model.profile.as_ref().unwrap()).unwrap();
    // The comma at the end of line 2 removed: serde stops at line 3, where the next key is.
    let mut lines: Vec<&str> = good.lines().collect();
    let second = lines[1].trim_end_matches(',').to_owned();
    lines[1] = &second;
    set(&mut h, "Profile JSON", &lines.join("\n"));
    h.run_steps(2);
    h.get_by_label("Line 3, column 3: expected `,` or `}`");
    assert!(disabled(&h, "Save profile"));
    // The form refuses to come back until the JSON reads.
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label_contains("fix it to go back to the form");
    set(
        &mut h,
        "Profile JSON",
        &good.replace(
            "\"sender_name\": \"Test Sender\"",
            "\"sender_name\": \"JSON Sender\"",
        ),
    );
    h.get_by_label("The JSON reads as a profile.");
    h.get_by_label("Settings").click();
    h.run_steps(3);
    assert_eq!(
        h.get_by_label("Sender name").value().as_deref(),
        Some("JSON Sender")
    );
}

#[test]
fn profile_test_on_the_command_line_prints_each_step_and_fails_on_a_refusal() {
    let srv = Server::start(&["--auth", "alice:cli-pw"]);
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let cfg = dir.path().join("config");
    let env = [("XDG_CONFIG_HOME", cfg.as_path())];
    let port = srv.port.to_string();
    set_smtp_user(&store, &port, "alice", &env);
    // No password stored yet: AUTH fails and says where it would be.
    let o = spoolbox_with(&store, &["profile", "test"], &env, None);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("no password typed, and none stored for alice@127.0.0.1"),
        "{out}"
    );
    assert!(
        out.contains("the keyring is off (SPOOLBOX_KEYRING=off)"),
        "{out}"
    );
    ok(&spoolbox_with(
        &store,
        &["profile", "set-password"],
        &env,
        Some("wrong\n"),
    ));
    let o = spoolbox_with(&store, &["profile", "test"], &env, None);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("535 5.7.8 Authentication credentials invalid"),
        "{out}"
    );
    ok(&spoolbox_with(
        &store,
        &["profile", "set-password"],
        &env,
        Some("cli-pw\n"),
    ));
    let out = ok(&spoolbox_with(&store, &["profile", "test"], &env, None));
    for step in [
        "Connect   ok",
        "EHLO      ok",
        "STARTTLS  skipped",
        "AUTH      ok",
        "QUIT      ok",
    ] {
        assert!(out.contains(step), "{step}: {out}");
    }
    assert!(
        out.contains("S: 235 2.7.0 Authentication successful"),
        "{out}"
    );
    assert!(!out.contains("cli-pw"), "{out}");
    let json = ok(&spoolbox_with(
        &store,
        &["--json", "profile", "test"],
        &env,
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["steps"][3]["step"], "AUTH");
    assert_eq!(v["steps"][3]["result"], "ok");
    let shown = ok(&spoolbox_with(&store, &["profile"], &env, None));
    assert!(
        shown.contains("password: stored in")
            && shown.contains("credentials.json (0600), the keyring is off"),
        "{shown}"
    );
}

/// Types `text` into the text input named `field` (where a label of the same text is beside it).
fn set_input(h: &mut Harness<'_, SpoolboxApp>, field: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, field)
        .set_text_value_accesskit(text);
    h.run_steps(2);
}

/// Issue 27: the form, `profile set-smtp` and the store's open share one check. A retry delay
/// of 10^12 s (which the form took, and which panicked the spooler) and a host with CR/LF are
/// refused with the reason; a week is the longest delay, 30 days the longest before giving up.
#[test]
fn the_form_refuses_a_retry_delay_past_a_week_and_a_host_with_a_line_break() {
    let tmp = fast_tempdir();
    let root = store_with(tmp.path(), smtp_profile("127.0.0.1", 2525));
    let mut h = profile_window(&root);
    set_input(&mut h, "First retry after", "1000000000000");
    h.get_by_label("a retry delay is from 1 second to 7 days");
    assert!(disabled(&h, "Save profile"));
    set_input(&mut h, "First retry after", "7d");
    set_input(&mut h, "Longest wait", "8d");
    h.get_by_label("a retry delay is from 1 second to 7 days");
    set_input(&mut h, "Longest wait", "7d");
    set_input(&mut h, "Give up after", "31d");
    h.get_by_label("giving up comes after 1 second to 30 days");
    set_input(&mut h, "Give up after", "30d");
    set(
        &mut h,
        "SMTP host",
        "smtp.example.org\r\nMAIL FROM:<x@evil.test>",
    );
    h.get_by_label("not a host name or IP address (like smtp.example.org or 127.0.0.1)");
    assert!(disabled(&h, "Save profile"));
    set_input(&mut h, "SMTP host", "127.0.0.1");
    assert!(!disabled(&h, "Save profile"));
}
