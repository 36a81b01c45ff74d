//! Crash tests: the real binary aborted at a chosen write (`SPOOLBOX_FAILPOINT`).

use super::*;

/// A demo store whose fax neither waits nor is busy, so one `send --all` drains the queue.
pub(crate) fn fast_demo(root: &Path) {
    let (mut store, _) = spoolbox::spooler::demo::open(root).unwrap();
    let mut p = store.profile().clone();
    for t in &mut p.transports {
        if let TransportKind::Fax(f) = &mut t.kind {
            f.latency_ms = 0;
            f.busy_times = 0;
        }
    }
    store.set_profile(p).unwrap();
}

/// What a finished demo store must hold, however many crashes it went through.
pub(crate) fn check_finished_demo(root: &Path, label: &str) {
    let (mut store, report) = Store::open(root).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(
        report.quarantined.is_empty(),
        "{label}: {:?}",
        report.quarantined
    );
    let folder =
        |s: &spoolbox::store::Summary| store.folder(s.folder).map(|f| f.name.clone()).unwrap();
    let mut where_: HashMap<String, Vec<String>> = HashMap::new();
    for s in store.summaries() {
        where_.entry(s.subject.clone()).or_default().push(folder(s));
        assert!(!s.is_locked(), "{label}: {} left locked", s.subject);
    }
    for v in where_.values_mut() {
        v.sort();
    }
    let at = |s: &str| where_.get(s).cloned().unwrap_or_default();
    assert_eq!(at("Quarterly report"), ["Sent Items"], "{label}");
    assert_eq!(
        at("Project kickoff: SMTP, fax and a local mailbox"),
        ["Inbox", "Sent Items"],
        "{label}"
    );
    assert_eq!(at("Order via the X.400 gateway"), ["Sent Items"], "{label}");
    assert_eq!(at("Fax: signed contract"), ["Sent Items"], "{label}");
    assert_eq!(
        at("Delete after submit: one-time code"),
        Vec::<String>::new(),
        "{label}"
    );
    assert_eq!(
        at("No disposal properties: stays in Outbox"),
        ["Outbox"],
        "{label}"
    );
    assert_eq!(at("[archive] Signed minutes"), ["Archive"], "{label}");
    assert_eq!(
        at("Deferred: reminder in 10 minutes"),
        ["Outbox"],
        "{label}"
    );
    assert_eq!(
        at("Undeliverable: Order via the X.400 gateway"),
        ["Inbox"],
        "{label}: one NDR, never two"
    );
    assert_eq!(
        at("Undeliverable: Fax: signed contract"),
        ["Inbox"],
        "{label}: one NDR, never two"
    );
    let queued: Vec<&str> = store
        .summaries()
        .filter(|s| s.is_submitted())
        .map(|s| s.subject.as_str())
        .collect();
    assert_eq!(queued, ["Deferred: reminder in 10 minutes"], "{label}");
    check_pickup_folder(root, &mut store, label);
    let sent = store.folder_of(FolderKind::SentItems);
    assert_eq!(
        store.summaries().filter(|s| s.folder == sent).count(),
        4,
        "{label}"
    );
}

/// The pickup folder holds exactly one `.eml` per message it took, crash or not, and each
/// parses back (mail-parser) with the subject, recipients and body of the message in the store.
pub(crate) fn check_pickup_folder(root: &Path, store: &mut Store, label: &str) {
    let mut per_message: HashMap<u64, Vec<PathBuf>> = HashMap::new();
    for e in std::fs::read_dir(root.join("pickup")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if Path::new(&name).extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let eid: u64 = name
            .strip_prefix("spoolbox-")
            .and_then(|r| r.split('-').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{label}: unexpected file {name} in the pickup folder"));
        per_message.entry(eid).or_default().push(e.path());
    }
    // Quarterly report, kickoff (its SMTP row), the X.400 order's SMTP row, delete-after-submit,
    // no-disposal and [archive]: six messages went through the pickup folder.
    assert_eq!(per_message.len(), 6, "{label}: {per_message:#?}");
    for (eid, files) in &per_message {
        assert_eq!(files.len(), 1, "{label}: message {eid} has {files:?}");
        let bytes = std::fs::read(&files[0]).unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(&bytes)
            .unwrap_or_else(|| panic!("{label}: {} does not parse", files[0].display()));
        let mut got: Vec<String> = [parsed.to(), parsed.cc(), parsed.bcc()]
            .into_iter()
            .flatten()
            .flat_map(|a| a.iter().filter_map(|x| x.address().map(str::to_owned)))
            .collect();
        got.sort();
        // A message DoSentMail deleted is gone from the store; its file must still parse.
        if store.summary(EntryId(*eid)).is_none() {
            assert_eq!(
                parsed.subject(),
                Some("Delete after submit: one-time code"),
                "{label}"
            );
            continue;
        }
        let m = store.load(EntryId(*eid)).unwrap();
        assert_eq!(parsed.subject(), Some(m.subject()), "{label}: {eid}");
        let mut want: Vec<String> = m
            .recipients
            .iter()
            .filter(|r| r.transport.as_deref() == Some("Pickup folder"))
            .map(|r| r.email().to_owned())
            .collect();
        want.sort();
        assert_eq!(got, want, "{label}: recipients of {eid}");
        assert_eq!(
            // RFC 5322 lines end in CRLF on the wire and in the file.
            parsed
                .body_text(0)
                .unwrap()
                .replace("\r\n", "\n")
                .trim_end(),
            m.body.trim_end(),
            "{label}: body of {eid}"
        );
    }
}

#[test]
fn crash_at_any_write_during_send_leaves_a_store_that_opens_and_finishes() {
    let template = fast_demo_template();
    let mut crashes = 0;
    for point in [
        "store.before_rename",
        "store.after_rename",
        "store.between_copy_and_remove",
        "journal.before_sync",
        "pickup.before_link",
        "pickup.after_link",
        "pickup.after_sync",
    ] {
        let mut reached = 0;
        for n in 1.. {
            assert!(n < 200, "{point}: never finished");
            let dir = fast_tempdir();
            let root = dir.path().join("store");
            copy_dir(template.path(), &root);
            let spec = format!("{point}:{n}");
            let o = spoolbox_env(&root, &["send", "--all"], Some(&spec));
            if o.status.success() {
                break; // the run had fewer such writes than n
            }
            assert!(
                stderr(&o).contains(&format!("fail point {point} hit")),
                "{spec}: {}",
                stderr(&o)
            );
            crashes += 1;
            reached += 1;
            // The store opens at once, whole, with every message in one place.
            {
                let (store, report) = Store::open(&root).unwrap_or_else(|e| panic!("{spec}: {e}"));
                assert!(
                    report.quarantined.is_empty(),
                    "{spec}: {:?}",
                    report.quarantined
                );
                if point == "store.between_copy_and_remove" {
                    // Sent copies are filed in groups: the crash may leave several doubled.
                    assert!(report.duplicates_resolved >= 1, "{spec}");
                }
                assert!(store.message_count() >= 10, "{spec}");
            }
            ok(&spoolbox(&root, &["send", "--all"]));
            check_finished_demo(&root, &spec);
        }
        assert!(reached > 0, "{point} was never reached");
    }
    assert!(crashes >= 20, "only {crashes} crash points were reached");
}

pub(crate) fn fast_demo_template() -> tempfile::TempDir {
    let t = fast_tempdir();
    fast_demo(t.path());
    // Sanity: without a crash the same run finishes the demo as expected.
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    copy_dir(t.path(), &root);
    ok(&spoolbox(&root, &["send", "--all"]));
    check_finished_demo(&root, "no crash");
    t
}

#[test]
fn an_import_whose_submit_fails_leaves_no_draft_behind() {
    let (dir, store) = demo();
    let before = list(&store);
    // No recipient: the draft is created, then `SubmitMessage` refuses it.
    let eml = dir.path().join("nobody.eml");
    std::fs::write(
        &eml,
        "From: t@x.test\nSubject: Nobody to send to\n\nA body.\n",
    )
    .unwrap();
    for json in [false, true] {
        let mut args = vec!["import", eml.to_str().unwrap(), "--submit"];
        if json {
            args.push("--json");
        }
        let o = spoolbox(&store, &args);
        let line = one_error_line(&o);
        assert!(line.contains("MAPI_E_NO_RECIPIENTS"), "{line}");
        let after = list(&store);
        assert!(
            by_subject(&after, "Nobody to send to").is_empty(),
            "a draft was left behind (json {json}): {after:#?}"
        );
        assert_eq!(after.len(), before.len());
        assert!(line.contains("nothing was imported"), "{line}");
    }
}

#[test]
fn a_new_store_given_as_a_bare_relative_name_opens_on_the_first_run() {
    let tmp = tempfile::tempdir().unwrap();
    // `--store S` from the directory that is to hold it (the first run used to fail syncing
    // the directory "" that `Path::parent` gives for a bare name).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .current_dir(tmp.path())
        .args(["--store", "S", "list"])
        .output()
        .unwrap();
    ok(&out);
    assert!(
        stdout(&out).contains("Quarterly report"),
        "{}",
        stdout(&out)
    );
    assert!(tmp.path().join("S/store.json").is_file());
}

/// The application icon is built in and decodes as the window icon (256 px square), and the
/// desktop install script puts the binary, the icon and a valid `.desktop` entry under a
/// user's data directories, and takes them away again.
// A freedesktop `.desktop` entry and a shell script: Linux only.
#[cfg(unix)]
#[test]
fn the_icon_decodes_and_the_desktop_entry_installs_and_uninstalls() {
    let icon = eframe::icon_data::from_png_bytes(spoolbox::ui::ICON_PNG).expect("the icon decodes");
    assert_eq!((icon.width, icon.height), (256, 256));
    assert!(
        icon.rgba.chunks(4).any(|p| p[3] == 0),
        "the corners are transparent"
    );
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = std::process::Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/install-desktop.sh"
            ))
            .args(args)
            .env("HOME", home.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_BIN_HOME")
            .env("SPOOLBOX_BIN", env!("CARGO_BIN_EXE_spoolbox"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        o
    };
    run(&[]);
    let bin = home.path().join(".local/bin/spoolbox");
    let desktop = home
        .path()
        .join(".local/share/applications/spoolbox.desktop");
    let png = home
        .path()
        .join(".local/share/icons/hicolor/256x256/apps/spoolbox.png");
    for f in [&bin, &desktop, &png] {
        assert!(f.is_file(), "{} installed", f.display());
    }
    let entry = std::fs::read_to_string(&desktop).unwrap();
    assert!(
        entry.contains(&format!("Exec={}", bin.display())),
        "{entry}"
    );
    assert!(entry.contains("Icon=spoolbox"), "{entry}");
    // desktop-file-validate (desktop-file-utils, installed by the test script) checks the
    // entry against the freedesktop.org specification.
    if let Ok(o) = std::process::Command::new("desktop-file-validate")
        .arg(&desktop)
        .output()
    {
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    }
    let help = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .unwrap();
    assert!(help.status.success(), "the installed binary runs");
    run(&["--uninstall"]);
    for f in [&bin, &desktop, &png] {
        assert!(!f.exists(), "{} removed", f.display());
    }
}
