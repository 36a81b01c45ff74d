//! 20,000 junk files (names that are not the store's) in a message folder: `list` stays about
//! as fast as without them and says so in one line, nothing is quarantined one by one, and
//! `doctor` reports them and moves them aside in one batch.

use std::time::{Duration, Instant};

use spoolbox::store::{FolderKind, Store};

use super::files_under;
use crate::cli::{ok, spoolbox, stderr, stdout};

const JUNK: usize = 20_000;

fn timed_list(store: &std::path::Path) -> (std::process::Output, Duration) {
    let t = Instant::now();
    let o = spoolbox(store, &["list"]);
    (o, t.elapsed())
}

#[test]
fn junk_files_in_a_folder_cost_little_and_doctor_reports_them() {
    // On disk, as a user's store is: each quarantine note is an fsync there.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ok(&spoolbox(&store, &["list"]));
    let baseline = (0..3).map(|_| timed_list(&store).1).min().unwrap();
    let (s, _) = Store::open(&store).unwrap();
    let outbox = store
        .join("folders")
        .join(s.folder_of(FolderKind::Outbox).file_stem());
    drop(s);
    for i in 0..JUNK {
        std::fs::write(outbox.join(format!("junk-{i}.txt")), b"x").unwrap();
    }
    let (o, took) = timed_list(&store);
    ok(&o);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "one line for all of them:\n{err}");
    assert!(err.contains(&format!("holds {JUNK} name(s)")), "{err}");
    assert!(
        took < baseline * 3 + Duration::from_secs(1),
        "list took {took:?} with {JUNK} junk files, {baseline:?} without"
    );
    assert!(
        files_under(&store.join("quarantine")).is_empty(),
        "nothing quarantined file by file"
    );
    // doctor reports them (never "store OK") and moves them in one batch with one note.
    let text = stdout(ok(&spoolbox(&store, &["doctor"])));
    assert!(text.contains(&format!("{JUNK} name(s)")), "{text}");
    assert!(!text.contains("store OK"), "{text}");
    let notes = files_under(&store.join("quarantine"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "why"))
        .count();
    assert_eq!(notes, 1, "one note for the batch");
    assert!(
        !std::fs::read_dir(&outbox)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("junk-")),
        "moved out of the folder"
    );
    let again = spoolbox(&store, &["doctor"]);
    assert!(
        stdout(ok(&again)).contains("store OK"),
        "{}",
        stdout(&again)
    );
    assert!(stderr(&again).is_empty(), "{}", stderr(&again));
}
