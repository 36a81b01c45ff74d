//! `sent/` (the exact bytes of each hand-off): gone with their message, capped by size with the
//! oldest going first, and orphans reported and removed by `doctor`.

use std::path::Path;

use spoolbox::mapi::EntryId;
use spoolbox::store::Store;

use super::{eml, files_under};
use crate::cli::{demo, id_of, list, ok, spoolbox, stdout};

/// The copies under `sent/`.
fn sent_copies(store: &Path) -> Vec<std::path::PathBuf> {
    files_under(&store.join("sent"))
}

#[test]
fn the_one_time_code_leaves_no_copy_under_the_store_once_sent() {
    let (_dir, store) = demo();
    ok(&spoolbox(&store, &["send", "--all"]));
    // The pickup folder is the delivery itself (a pickup service takes the file from there);
    // the demo keeps it under the store. Everything else is the store's own.
    let pickup = store.join("pickup");
    let mut holding = Vec::new();
    for f in files_under(&store) {
        if f.starts_with(&pickup) {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        if bytes.windows(6).any(|w| w == b"424242") {
            holding.push(f);
        }
    }
    assert!(
        holding.is_empty(),
        "the deleted one-time code is still in {holding:?}"
    );
    // It was handed over (and delivered into the pickup folder).
    let delivered = files_under(&pickup).iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap()
            .contains("Your code is 424242")
    });
    assert!(delivered, "the one-time code was never sent");
}

#[test]
fn deleting_a_message_for_good_removes_its_sent_copy() {
    let (_dir, store) = demo();
    ok(&spoolbox(&store, &["send", "--all"]));
    let id = id_of(&list(&store), "Quarterly report");
    let eid = EntryId(id.parse().unwrap());
    let stem = format!("{}-", eid.file_stem());
    let of_it = |store: &Path| {
        sent_copies(store)
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&stem))
            .count()
    };
    assert_eq!(of_it(&store), 1, "the hand-off's bytes are kept");
    let others = sent_copies(&store).len() - 1;
    let (mut s, _) = Store::open(&store).unwrap();
    s.delete(eid).unwrap();
    drop(s);
    assert_eq!(of_it(&store), 0, "deleted for good: its sent copy goes too");
    assert_eq!(sent_copies(&store).len(), others, "the others stay");
}

#[test]
fn the_sent_folder_keeps_within_its_cap_oldest_first() {
    let (dir, store) = demo();
    ok(&spoolbox(&store, &["list"]));
    // The cap, as a user sets it in the profile (store.json).
    let meta = store.join("store.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    v["profile"]["sent_copies_mib"] = 1.into();
    std::fs::write(&meta, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    // Ten messages of 300 KB each, sent one by one: 3 MB handed over, 1 MiB kept.
    let body = "0123456789abcdef ".repeat(300_000 / 17);
    for i in 0..10 {
        let f = dir.path().join(format!("big{i}.eml"));
        std::fs::write(&f, eml(&format!("big {i}"), "bob@example.com", &body)).unwrap();
        ok(&spoolbox(
            &store,
            &["import", "--submit", f.to_str().unwrap()],
        ));
        ok(&spoolbox(&store, &["send", "--all"]));
    }
    let copies = sent_copies(&store);
    let total: u64 = copies
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(
        total <= (1 << 20) + 500_000,
        "{total} bytes kept in {copies:?}"
    );
    // The newest stayed: the last message's Source still shows its exact bytes.
    let rows = list(&store);
    let last = EntryId(id_of(&rows, "big 9").parse().unwrap());
    let first = EntryId(id_of(&rows, "big 0").parse().unwrap());
    let has = |e: EntryId| {
        copies.iter().any(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{}-", e.file_stem()))
        })
    };
    assert!(has(last), "the newest copy is kept: {copies:?}");
    assert!(!has(first), "the oldest copy went first: {copies:?}");
}

#[test]
fn doctor_reports_and_removes_sent_copies_whose_message_is_gone() {
    let (_dir, store) = demo();
    ok(&spoolbox(&store, &["send", "--all"]));
    let kept = sent_copies(&store).len();
    let orphan = store.join("sent").join("0000009999-1700000000000000.eml");
    std::fs::write(&orphan, "Subject: gone\r\n\r\nsecret\r\n").unwrap();
    let o = spoolbox(&store, &["doctor"]);
    let text = stdout(ok(&o));
    assert!(
        text.contains("sent copies whose message is gone, removed: 1"),
        "{text}"
    );
    assert!(!text.contains("store OK"), "{text}");
    assert!(!orphan.exists(), "the orphan is removed");
    assert_eq!(
        sent_copies(&store).len(),
        kept,
        "copies of live messages stay"
    );
    let again = stdout(ok(&spoolbox(&store, &["doctor"])));
    assert!(again.contains("store OK"), "{again}");
}
