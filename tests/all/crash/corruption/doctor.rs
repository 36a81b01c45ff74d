//! `spoolbox doctor` over every kind of damage at once.

use super::*;

#[test]
#[allow(clippy::too_many_lines, reason = "a scenario reads top to bottom")]
fn doctor_reports_and_repairs_every_kind_of_damage_and_the_store_then_sends() {
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let (good, outbox, sent, dup) = {
        let (mut store, _) = Store::open(&root).unwrap();
        let mut p = store.profile().clone();
        p.transports = vec![spoolbox::profile::TransportConfig::new(
            "Null",
            spoolbox::profile::TransportKind::Null,
            &["SMTP"],
        )];
        store.set_profile(p).unwrap();
        let good: Vec<Message> = (0..4)
            .map(|i| draft(&mut store, &format!("good {i}"), 10))
            .collect();
        let dup = draft(&mut store, "moved, old copy left behind", 10);
        let outbox = store.folder_of(FolderKind::Outbox);
        let sent = store.folder_of(FolderKind::SentItems);
        let mut d2 = store.load(dup.entry_id).unwrap();
        d2.folder = sent;
        store.save(&mut d2).unwrap();
        for i in 0..3 {
            store
                .patch(
                    good[0].entry_id,
                    Patch {
                        set: {
                            let mut b = PropBag::new();
                            b.set_text(PR_SUBJECT, format!("good 0 v{i}"));
                            b
                        },
                        ..Patch::default()
                    },
                    true,
                )
                .unwrap();
        }
        (good, outbox, sent, dup)
    };
    let fdir = root.join("folders").join(outbox.file_stem());
    let file = |n: u64| fdir.join(format!("{}.json", EntryId(n).file_stem()));
    let template = std::fs::read(file(good[1].entry_id.0)).unwrap();
    let text = String::from_utf8(template.clone()).unwrap();
    let with_id = |n: u64| {
        text.replace(
            &format!("\"entry_id\": {}", good[1].entry_id.0),
            &format!("\"entry_id\": {n}"),
        )
    };
    let mut flipped = with_id(901).into_bytes();
    flipped[40] ^= 0x80;
    let damage: Vec<(u64, Vec<u8>, &str)> = vec![
        (
            900,
            with_id(900).as_bytes()[..text.len() / 2].to_vec(),
            "truncated JSON",
        ),
        (901, flipped, "not valid UTF-8"),
        (902, vec![0; template.len()], "all zero bytes"),
        (
            903,
            with_id(903)
                .replacen("\"schema\": 1,", "\"schema\": 7,", 1)
                .into_bytes(),
            "schema version 7",
        ),
        (904, b"\xFF\xFEnot text".to_vec(), "not valid UTF-8"),
        (905, with_id(1905).into_bytes(), "holds message 1905"),
    ];
    for (n, bytes, _) in &damage {
        std::fs::write(file(*n), bytes).unwrap();
    }
    std::fs::write(fdir.join("notes.txt"), b"stray").unwrap();
    std::fs::write(root.join("tmp").join("123.4.tmp"), b"leftover").unwrap();
    // The old copy of the moved message, as a lost unlink leaves it.
    let mut old = std::fs::read_to_string(
        root.join("folders")
            .join(sent.file_stem())
            .join(format!("{}.json", dup.entry_id.file_stem())),
    )
    .unwrap();
    old = old.replacen(
        &format!("\"folder\": {}", sent.0),
        &format!("\"folder\": {}", outbox.0),
        1,
    );
    old = old.replacen("\"revision\": 2", "\"revision\": 1", 1);
    std::fs::write(file(dup.entry_id.0), old).unwrap();
    // The journal's last record torn in half.
    let jp = root.join("journal").join("journal.log");
    let j = journal_records(std::fs::read(&jp).unwrap());
    std::fs::write(&jp, &j[..j.len() - 20]).unwrap();

    let bin = env!("CARGO_BIN_EXE_spoolbox");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .arg("--store")
            .arg(&root)
            .args(args)
            .env_remove("SPOOLBOX_FAILPOINT")
            .output()
            .unwrap()
    };
    let o = run(&["doctor", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let q = v["quarantined"].as_array().unwrap();
    for (n, _, why) in &damage {
        let p = file(*n);
        let entry = q
            .iter()
            .find(|e| e["original"] == p.to_str().unwrap())
            .unwrap_or_else(|| panic!("{} not reported: {v:#}", p.display()));
        assert!(entry["reason"].as_str().unwrap().contains(why), "{entry}");
        assert!(!p.exists());
        assert!(Path::new(&format!("{}.why", entry["moved_to"].as_str().unwrap())).exists());
    }
    // A name that is not the store's is not damage to a message: counted as junk, and moved
    // aside in one batch with one note.
    assert_eq!(v["junk"][0]["examples"][0], "notes.txt", "{v:#}");
    let batch = v["junk_quarantined"][0]["moved_to"].as_str().unwrap();
    assert!(Path::new(batch).join("notes.txt").exists(), "{v:#}");
    assert!(Path::new(&format!("{batch}.why")).exists(), "{v:#}");
    assert!(!fdir.join("notes.txt").exists());
    assert_eq!(q.len(), damage.len(), "{v:#}");
    assert!(
        v["journal_damage"]
            .as_str()
            .unwrap()
            .contains("torn record"),
        "{v:#}"
    );
    assert_eq!(v["journal_replayed"], 2, "{v:#}");
    assert_eq!(v["tmp_removed"], 1, "{v:#}");
    assert_eq!(v["duplicates_resolved"], 1, "{v:#}");
    assert_eq!(v["messages"], 5, "{v:#}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stderr.matches("was unreadable").count(),
        damage.len(),
        "{stderr}"
    );
    let junk_lines = stderr
        .lines()
        .filter(|l| l.starts_with("spoolbox: warning:") && l.contains("not the store's"));
    assert_eq!(junk_lines.count(), 1, "{stderr}");
    // The repaired store is healthy, keeps every good message, and sends.
    let o = run(&["doctor"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("quarantined now: 0") && text.contains("store OK"),
        "{text}"
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    {
        let (mut store, _) = Store::open(&root).unwrap();
        assert_eq!(
            store.load(good[0].entry_id).unwrap().subject(),
            "good 0 v1",
            "two records replayed"
        );
        for g in &good[1..] {
            assert_eq!(&store.load(g.entry_id).unwrap(), g);
        }
        assert_eq!(store.summary(dup.entry_id).unwrap().folder, sent);
        for g in &good {
            spoolbox::spooler::submit::submit_message(
                &mut store,
                g.entry_id,
                jiff::Timestamp::now(),
            )
            .unwrap();
        }
    }
    let o = run(&["send", "--all"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (store, _) = Store::open(&root).unwrap();
    assert_eq!(store.queue().count(), 0);
}
