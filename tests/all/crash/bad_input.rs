//! Bad input through the library and the CLI: a 50 MB body, 10,000 recipients on one message,
//! path-like attachment and folder names, a read-only store and a full disk. Each either works
//! or fails with a clear MAPI or store error, and loses nothing. (No recipients and malformed
//! addresses are covered in `pipeline.rs`, a second instance in `store.rs`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use spoolbox::mapi::tags::PR_SENTMAIL_ENTRYID;
use spoolbox::mapi::{
    Attachment, EntryId, Message, PropValue, Recipient, RecipientKind, RecipientState,
};
use spoolbox::profile::{HookAction, HookConfig};
use spoolbox::spooler::{Clock, Command as SpCommand, Event, Spooler, SpoolerError, Tick, submit};
use spoolbox::store::{FolderKind, Store, StoreError};

use super::Rng;
use super::power::null_profile;
use super::simfs::{Cut, SimFs};
use crate::store::fast_tempdir;

fn spoolbox(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .arg("--store")
        .arg(root)
        .args(args)
        .env_remove("SPOOLBOX_FAILPOINT")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A submitted message to Sent Items with `rows` NULL recipients and `body`.
fn submitted(store: &mut Store, subject: &str, rows: u32, body: String) -> EntryId {
    let eid = store.new_entry_id().unwrap();
    let mut m = Message::draft(eid, store.folder_of(FolderKind::Outbox), subject);
    for row in 0..rows {
        m.recipients.push(Recipient::new(
            row,
            &format!("Recipient {row}"),
            &format!("r{row}@null.example"),
            "NULL",
            RecipientKind::To,
        ));
    }
    let sent = store.folder_of(FolderKind::SentItems);
    m.props
        .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
    m.body = body;
    submit::save_draft(store, m).unwrap();
    submit::submit_message(store, eid, Timestamp::now()).unwrap();
    eid
}

fn null_store(root: &Path) -> Store {
    let (mut store, _) = Store::open(root).unwrap();
    store.set_profile(null_profile()).unwrap();
    store
}

#[test]
fn a_50_mb_body_is_sent_by_the_cli_and_kept_whole() {
    let t0 = Instant::now();
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let line = "0123456789abcdefghijklmnopqrstuvwxyzÄÖÜ – \"quoted\" \\ line\n";
    let body = line.repeat((50 << 20) / line.len() + 1);
    assert!(body.len() >= 50 << 20);
    let eid = {
        let mut store = null_store(&root);
        submitted(&mut store, "fifty megabytes", 2, body.clone())
    };
    let o = spoolbox(&root, &["send", "--all"]);
    assert!(o.status.success(), "{}", text(&o));
    let (mut store, report) = Store::open(&root).unwrap();
    assert!(report.quarantined.is_empty());
    let m = store.load(eid).unwrap();
    assert_eq!(m.folder, store.folder_of(FolderKind::SentItems));
    assert_eq!(m.body.len(), body.len());
    assert!(m.body == body, "the body came back changed");
    assert!(
        m.recipients
            .iter()
            .all(|r| r.outcome == RecipientState::Delivered)
    );
    eprintln!(
        "50 MB body: sent and reread in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn ten_thousand_recipients_on_one_message_are_each_delivered_once() {
    let t0 = Instant::now();
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let eid = {
        let mut store = null_store(&root);
        submitted(&mut store, "ten thousand", 10_000, "hello".into())
    };
    let o = spoolbox(&root, &["send", "--all"]);
    assert!(o.status.success(), "{}", text(&o));
    let (mut store, _) = Store::open(&root).unwrap();
    let m = store.load(eid).unwrap();
    assert_eq!(m.folder, store.folder_of(FolderKind::SentItems));
    assert_eq!(m.recipients.len(), 10_000);
    for r in &m.recipients {
        assert!(
            r.responsibility() && r.outcome == RecipientState::Delivered,
            "row {}",
            r.row_id
        );
    }
    let s = store.summary(eid).unwrap();
    assert_eq!((s.done, s.total), (10_000, 10_000));
    eprintln!(
        "10,000 recipients: sent in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn path_like_attachment_and_folder_names_are_refused_and_nothing_escapes_the_store() {
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let (mut store, _) = Store::open(&root).unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    for name in [
        "../../etc/passwd",
        "a/b.txt",
        "..\\..\\boot.ini",
        "..",
        "/abs.txt",
    ] {
        let eid = store.new_entry_id().unwrap();
        let mut m = Message::draft(eid, outbox, "with a path-like attachment");
        m.attachments.push(Attachment {
            file_name: name.into(),
            mime_type: "text/plain".into(),
            data: b"x".to_vec(),
        });
        match submit::save_draft(&mut store, m) {
            Err(e @ SpoolerError::AttachmentPath(_)) => {
                let why = e.to_string();
                assert!(why.contains("may not contain a path"), "{name}: {why}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(store.summary(eid).is_none(), "{name}: nothing saved");
    }
    let folders_before = store.folders().len();
    for name in ["../escape", "a/b", "..", ".", "", "  ", "x\\y", "/"] {
        match store.create_folder(name) {
            Err(StoreError::Invalid(why)) => {
                assert!(why.contains("not a valid folder name"), "{why}");
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert_eq!(store.folders().len(), folders_before);
    // A hook that moves sent mail to "../escape": DoSentMail fails with the reason, the
    // message waits in the Outbox, and no directory appears outside the store.
    let mut p = null_profile();
    p.hooks.push(HookConfig {
        name: "escape".into(),
        subject_prefix: None,
        action: HookAction::MoveTo {
            folder: "../escape".into(),
        },
        cancel_chain: false,
    });
    store.set_profile(p).unwrap();
    let eid = {
        let e = store.new_entry_id().unwrap();
        let mut m = Message::draft(e, outbox, "hooked");
        m.recipients
            .push(Recipient::new(0, "N", "n@null", "NULL", RecipientKind::To));
        submit::save_draft(&mut store, m).unwrap();
        submit::submit_message(&mut store, e, Timestamp::now()).unwrap();
        e
    };
    drop(store);
    let o = spoolbox(&root, &["send", "--all"]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a valid folder name"), "{err}");
    let (store, _) = Store::open(&root).unwrap();
    let s = store.summary(eid).unwrap();
    assert_eq!(s.folder, outbox, "the message is kept");
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .contains("not a valid folder name"),
        "{s:?}"
    );
    let outside: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        outside,
        vec![root.clone()],
        "nothing written beside the store"
    );
}

/// Every file under `dir` with its bytes, for before/after comparisons.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[cfg(unix)]
fn chmod_tree(dir: &Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                let mode = if writable { 0o644 } else { 0o444 };
                std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
        let mode = if writable { 0o755 } else { 0o555 };
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

// Modes and a non-root user: Unix only.
#[cfg(unix)]
#[test]
fn a_read_only_store_directory_gives_one_clear_error_and_is_left_as_it_was() {
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    {
        let mut store = null_store(&root);
        submitted(&mut store, "queued", 2, "body".into());
    }
    let before = snapshot(&root);
    chmod_tree(&root, false);
    // Root ignores permissions: run the binary as nobody then.
    let as_root = nix_uid_is_root();
    let run = |args: &[&str]| {
        let bin = env!("CARGO_BIN_EXE_spoolbox");
        let mut c = if as_root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
            c
        } else {
            Command::new(bin)
        };
        c.arg("--store").arg(&root).args(args).output().unwrap()
    };
    if as_root && Command::new("setpriv").arg("--version").output().is_err() {
        chmod_tree(&root, true);
        eprintln!("read-only store: skipped the CLI half (root without setpriv)");
    } else {
        for args in [&["list"][..], &["send", "--all"], &["doctor"]] {
            let o = run(args);
            assert!(!o.status.success(), "{args:?}: {}", text(&o));
            let err = String::from_utf8_lossy(&o.stderr);
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: one error line: {err}");
            assert!(
                lines[0].starts_with("spoolbox: error: ") && lines[0].contains("Permission denied"),
                "{args:?}: {err}"
            );
        }
        chmod_tree(&root, true);
        assert_eq!(snapshot(&root), before, "the read-only store was changed");
    }
    // The same through the file-system layer (EROFS), with the store already open.
    let fs = SimFs::new(Path::new("/sim"));
    let r = PathBuf::from("/sim/store");
    let (mut store, _) = Store::open_with_fs(&r, Arc::new(fs.clone())).unwrap();
    store.set_profile(null_profile()).unwrap();
    let kept = submitted(&mut store, "kept", 1, "b".into());
    fs.set_read_only(true);
    let eid = store.new_entry_id().unwrap();
    let m = Message::draft(eid, store.folder_of(FolderKind::Outbox), "new");
    let e = submit::save_draft(&mut store, m).unwrap_err().to_string();
    assert!(e.contains("Read-only file system"), "{e}");
    let mut p = spoolbox::store::Patch::default();
    p.set.set_text(spoolbox::mapi::tags::PR_SUBJECT, "changed");
    let e = store.patch(kept, p, true).unwrap_err().to_string();
    assert!(e.contains("Read-only file system"), "{e}");
    drop(store);
    let e = Store::open_with_fs(&r, Arc::new(fs.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("store.json") && e.contains("Read-only file system"),
        "{e}"
    );
    fs.set_read_only(false);
    let (mut store, report) = Store::open_with_fs(&r, Arc::new(fs)).unwrap();
    assert!(report.quarantined.is_empty());
    assert_eq!(store.load(kept).unwrap().subject(), "kept");
    assert!(store.summary(eid).is_none());
}

#[cfg(unix)]
fn nix_uid_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_full_disk_fails_each_write_clearly_and_loses_nothing() {
    let mut rng = Rng::new(super::seed("full_disk"));
    for round in 0..20 {
        let fs = SimFs::new(Path::new("/sim"));
        let r = PathBuf::from("/sim/store");
        let (mut store, _) = Store::open_with_fs(&r, Arc::new(fs.clone())).unwrap();
        store.set_profile(null_profile()).unwrap();
        let queued: Vec<EntryId> = (0..6)
            .map(|i| submitted(&mut store, &format!("queued {i}"), 3, "b".repeat(100)))
            .collect();
        let (clock, hand) = Clock::manual(Timestamp::now());
        let mut sp = Spooler::new(store, clock);
        sp.handle(SpCommand::Resume);
        // Send part of the queue, then the disk fills at a random moment.
        for _ in 0..rng.below(40) {
            sp.tick();
        }
        fs.set_full(true);
        let mut errors = Vec::new();
        for _ in 0..30 {
            match sp.tick() {
                Tick::Paused | Tick::Idle(_) => break,
                Tick::Ran(..) => {}
            }
        }
        for e in sp.drain_events() {
            if let Event::Error(t) = e {
                errors.push(t);
            }
        }
        let label = format!("round {round}");
        let eid = sp.store_mut().new_entry_id().unwrap();
        let m = Message::draft(eid, sp.store().folder_of(FolderKind::Outbox), "while full");
        let e = submit::save_draft(sp.store_mut(), m)
            .unwrap_err()
            .to_string();
        assert!(e.contains("No space left on device"), "{label}: {e}");
        let e = sp
            .store_mut()
            .create_folder("Full")
            .unwrap_err()
            .to_string();
        assert!(e.contains("No space left on device"), "{label}: {e}");
        for t in &errors {
            assert!(t.contains("No space left on device"), "{label}: {t}");
        }
        // Nothing half-written was left behind.
        assert!(
            fs.files_under(&r.join("tmp")).is_empty(),
            "{label}: temp files left"
        );
        // Space again: the spooler goes on and finishes everything, each recipient once.
        fs.set_full(false);
        sp.handle(SpCommand::Resume);
        for _ in 0..1000 {
            match sp.tick() {
                Tick::Ran(..) => {}
                // A step that failed waits for its retry timer: move the clock there.
                Tick::Idle(Some(w)) => *hand.lock().unwrap() = w,
                Tick::Idle(None) => break,
                Tick::Paused => sp.handle(SpCommand::Resume),
            }
        }
        let store = sp.store();
        for q in &queued {
            let s = store.summary(*q).unwrap();
            assert_eq!(
                s.folder,
                store.folder_of(FolderKind::SentItems),
                "{label}: {q}"
            );
            assert_eq!((s.done, s.total), (3, 3), "{label}: {q}");
        }
        assert!(store.summary(eid).is_none(), "{label}");
        drop(sp);
        // And it is all durable.
        let after = fs.power_cut(Cut::Strict, &mut rng);
        let (store, report) = Store::open_with_fs(&r, Arc::new(after)).unwrap();
        assert!(
            report.quarantined.is_empty() && report.journal_damage.is_none(),
            "{label}"
        );
        for q in &queued {
            assert_eq!(
                store.summary(*q).unwrap().folder,
                store.folder_of(FolderKind::SentItems)
            );
        }
    }
    // Opening a store on a full disk fails with the reason (it writes store.json).
    let fs = SimFs::new(Path::new("/sim"));
    let r = PathBuf::from("/sim/store");
    drop(Store::open_with_fs(&r, Arc::new(fs.clone())).unwrap());
    fs.set_full(true);
    let e = Store::open_with_fs(&r, Arc::new(fs))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("store.json") && e.contains("No space left on device"),
        "{e}"
    );
}
