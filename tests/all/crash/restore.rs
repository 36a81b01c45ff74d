//! `spoolbox delete` and `spoolbox restore` (the window's Delete and Restore from Deleted
//! Items), killed with SIGKILL at random instants, at least 50 times: after every kill the
//! store opens with every message exactly once, whole, in the Outbox or in Deleted Items, and
//! the next command finishes what the killed one did not.

use std::process::{Command, Stdio};
use std::time::Duration;

use spoolbox::mapi::EntryId;
use spoolbox::store::{FolderKind, Store};

use super::{Rng, env_count, seed};
use crate::store::{fast_tempdir, saved_draft};

/// Every message once, whole, in one of the two folders; returns the ones in Deleted Items.
fn check(root: &std::path::Path, subjects: &[(EntryId, String)]) -> Vec<EntryId> {
    let (mut store, _) = Store::open(root).unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let bin = store.folder_of(FolderKind::DeletedItems);
    let mut deleted = Vec::new();
    for (eid, subject) in subjects {
        let copies: Vec<_> = store.summaries().filter(|s| s.eid == *eid).collect();
        assert_eq!(copies.len(), 1, "message {eid}: {} copies", copies.len());
        let folder = copies[0].folder;
        assert!(
            folder == outbox || folder == bin,
            "message {eid} in {folder}"
        );
        if folder == bin {
            deleted.push(*eid);
        }
        let m = store.load(*eid).unwrap();
        assert_eq!(m.subject(), subject, "message {eid} whole");
        assert_eq!(m.body, format!("body of {subject}"));
    }
    let total = store.summaries().count();
    assert_eq!(total, subjects.len(), "no message appeared or vanished");
    deleted
}

#[test]
fn delete_and_restore_killed_at_random_lose_nothing_and_double_nothing() {
    let kills = env_count("SPOOLBOX_RESTORE_KILLS", 60).max(50);
    let mut rng = Rng::new(seed("restore"));
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let subjects: Vec<(EntryId, String)> = {
        let (mut store, _) = Store::open(&root).unwrap();
        (0..8)
            .map(|i| {
                let m = saved_draft(&mut store, &format!("draft {i}"));
                (m.entry_id, m.subject().to_owned())
            })
            .collect()
    };
    let mut killed = 0;
    let mut finished = 0;
    while killed < kills {
        let deleted = check(&root, &subjects);
        let (eid, _) = rng.pick(&subjects);
        let verb = if deleted.contains(eid) {
            "restore"
        } else {
            "delete"
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
            .arg("--store")
            .arg(&root)
            .args([verb, &eid.0.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Most kills land while the store is opened or the move is written (a few ms in).
        std::thread::sleep(Duration::from_micros(rng.below(40_000)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        } else {
            finished += 1;
        }
        child.wait().unwrap();
    }
    // After the last kill every message can still be moved both ways, each exactly once.
    for (eid, _) in &subjects {
        let deleted = check(&root, &subjects);
        let verb = if deleted.contains(eid) {
            "restore"
        } else {
            "delete"
        };
        let o = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
            .arg("--store")
            .arg(&root)
            .args([verb, &eid.0.to_string()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(&format!("message {eid} moved from")), "{out}");
    }
    check(&root, &subjects);
    eprintln!("restore: {killed} kills, {finished} commands that finished first");
}

/// `spoolbox export` over an earlier export, killed at random instants at least 50 times: the
/// file always holds one whole export (the earlier or the new), never nothing or a part.
#[test]
fn a_re_export_killed_at_random_always_leaves_a_whole_file() {
    let kills = env_count("SPOOLBOX_EXPORT_KILLS", 60).max(50);
    let mut rng = Rng::new(seed("export"));
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let eid = {
        let (mut store, _) = Store::open(&root).unwrap();
        let mut m = saved_draft(&mut store, "exported again and again");
        // Big enough that writing it takes a while: a kill lands mid-write often.
        m.body = "a line of the exported body, long enough to matter\r\n".repeat(200_000);
        store.save(&mut m).unwrap();
        m.entry_id
    };
    let file = dir.path().join("out.eml");
    let export = || {
        Command::new(env!("CARGO_BIN_EXE_spoolbox"))
            .arg("--store")
            .arg(&root)
            .args(["export", &eid.0.to_string()])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let t0 = std::time::Instant::now();
    assert!(export().wait().unwrap().success());
    // The file is written at the end of an export: the kills land in its last stretch.
    let full = u64::try_from(t0.elapsed().as_micros()).unwrap();
    let whole = std::fs::read(&file).unwrap();
    assert!(whole.len() > 10_000_000, "{} bytes", whole.len());
    let (mut killed, mut finished) = (0, 0);
    while killed < kills {
        let mut child = export();
        std::thread::sleep(Duration::from_micros(full / 2 + rng.below(full * 3 / 5)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        } else {
            finished += 1;
        }
        child.wait().unwrap();
        let now = std::fs::read(&file).unwrap();
        assert_eq!(
            now.len(),
            whole.len(),
            "after kill {killed}: a part of an export ({} of {} bytes)",
            now.len(),
            whole.len()
        );
        assert!(now.ends_with(b"\r\n"));
    }
    eprintln!("export: {killed} kills, {finished} exports that finished first");
}
