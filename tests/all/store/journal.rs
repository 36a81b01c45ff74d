//! The journal: cut at every byte, replay, compaction, and the rest of the store suite.

use super::*;

#[test]
fn journal_cut_at_every_byte_replays_exactly_the_complete_records() {
    let (dir, base, patches) = store_with_journal();
    let journal =
        journal_records(std::fs::read(dir.path().join("journal").join("journal.log")).unwrap());
    assert_eq!(
        journal.iter().filter(|b| **b == b'\n').count(),
        patches.len(),
        "one journal line per patch"
    );
    for len in 0..=journal.len() {
        let copy = fast_tempdir();
        copy_dir(dir.path(), copy.path());
        let jp = copy.path().join("journal").join("journal.log");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&jp)
            .unwrap()
            .set_len(len as u64)
            .unwrap();
        let (mut store, report) =
            Store::open(copy.path()).unwrap_or_else(|e| panic!("cut at {len}: {e}"));
        let head = &journal[..len];
        let k = head.iter().filter(|b| **b == b'\n').count();
        let mut want = expected_after(&base, &patches[..k]);
        let got = store.load(base.entry_id).unwrap();
        want.revision = got.revision;
        assert_eq!(
            got, want,
            "journal cut at byte {len} ({k} complete records)"
        );
        assert_eq!(report.journal_replayed, k, "cut at {len}");
        let torn = !head.is_empty() && head.last() != Some(&b'\n');
        assert_eq!(
            report.journal_damage.is_some(),
            torn,
            "cut at {len}: {:?}",
            report.journal_damage
        );
        if torn {
            assert!(
                report
                    .journal_damage
                    .as_deref()
                    .unwrap()
                    .contains("torn record")
            );
        }
        assert!(report.quarantined.is_empty());
        drop(store);
        // Replayed records were folded into the message file: the journal is empty again.
        assert_eq!(std::fs::metadata(&jp).unwrap().len(), 0, "cut at {len}");
    }
}

#[test]
fn journal_with_flipped_bit_stops_replay_at_that_line_and_reports_damage() {
    let (dir, base, patches) = store_with_journal();
    let jp = dir.path().join("journal").join("journal.log");
    let mut journal = std::fs::read(&jp).unwrap();
    let line2 = journal.iter().position(|b| *b == b'\n').unwrap() + 1;
    let line2_len = journal[line2..].iter().position(|b| *b == b'\n').unwrap();
    // Flip one bit inside the JSON of the second record (past its checksum field).
    journal[line2 + 9 + line2_len / 2 - 4] ^= 0x02;
    std::fs::write(&jp, &journal).unwrap();

    let (mut store, report) = Store::open(dir.path()).unwrap();
    let damage = report
        .journal_damage
        .clone()
        .expect("the damage is reported");
    assert!(
        damage.contains(&format!("damaged record at byte {line2}")),
        "{damage}"
    );
    assert_eq!(
        report.journal_replayed, 1,
        "only the record before the damaged line"
    );
    let got = store.load(base.entry_id).unwrap();
    let mut want = expected_after(&base, &patches[..1]);
    want.revision = got.revision;
    assert_eq!(
        got, want,
        "records from the damaged line on are not applied"
    );
    // The damaged journal is kept for inspection, whole, with a note saying why.
    let kept: Vec<PathBuf> = files_in(&dir.path().join("quarantine"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("journal-")
        })
        .collect();
    let log = kept
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("journal copy in quarantine/");
    assert_eq!(
        std::fs::read(log).unwrap(),
        journal,
        "the quarantined copy holds the damaged bytes"
    );
    let why = kept
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "why"))
        .expect("a .why beside it");
    assert!(
        std::fs::read_to_string(why)
            .unwrap()
            .contains("checksum mismatch")
    );
    drop(store);
    // The store opens cleanly the next time.
    let (_, again) = Store::open(dir.path()).unwrap();
    assert!(again.journal_damage.is_none());
}

#[test]
fn unreadable_message_files_are_quarantined_and_the_rest_opens() {
    let dir = fast_tempdir();
    let root = dir.path();
    let (a, b, victim, outbox) = {
        let (mut store, _) = Store::open(root).unwrap();
        let a = saved_draft(&mut store, "keeper A");
        let b = saved_draft(&mut store, "keeper B");
        // Non-ASCII text, so some cuts fall inside a UTF-8 sequence.
        let victim = saved_draft(&mut store, "Grüße aus Köln");
        let outbox = store.folder_of(FolderKind::Outbox);
        (a, b, victim, outbox)
    };
    let vpath = message_file(root, outbox, victim.entry_id);
    let bytes = std::fs::read(&vpath).unwrap();
    std::fs::remove_file(&vpath).unwrap();
    let fdir = root.join("folders").join(outbox.file_stem());
    let name = |n: u64| fdir.join(format!("{}.json", EntryId(n).file_stem()));

    // Every truncation, each under its own message file name.
    let mut expect: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    for len in 0..bytes.len() {
        let p = name(100_000 + len as u64);
        std::fs::write(&p, &bytes[..len]).unwrap();
        let why = if len == 0 {
            vec!["empty message file"]
        } else {
            vec!["truncated JSON", "not valid UTF-8"]
        };
        expect.push((p, why));
    }
    let zero = name(200_001);
    std::fs::write(&zero, vec![0u8; bytes.len()]).unwrap();
    expect.push((zero, vec!["all zero bytes"]));
    let mut bad_utf8 = bytes.clone();
    bad_utf8[bytes.len() / 2] = 0xFF;
    let bad = name(200_002);
    std::fs::write(&bad, &bad_utf8).unwrap();
    expect.push((bad, vec!["not valid UTF-8"]));
    let not_json = name(200_003);
    std::fs::write(
        &not_json,
        b"From: someone\r\nSubject: this is mail, not JSON\r\n",
    )
    .unwrap();
    expect.push((not_json, vec!["not a valid message"]));
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"schema\": 1,"));
    let future = name(200_004);
    std::fs::write(
        &future,
        text.replacen("\"schema\": 1,", "\"schema\": 999,", 1),
    )
    .unwrap();
    expect.push((future, vec!["schema version 999"]));

    let (mut store, report) = Store::open(root).unwrap();
    assert_eq!(report.quarantined.len(), expect.len());
    assert_eq!(report.messages, 2, "only the two good messages remain");
    for (path, reasons) in &expect {
        let q = report
            .quarantined
            .iter()
            .find(|q| &q.original == path)
            .unwrap_or_else(|| panic!("{} is listed in OpenReport.quarantined", path.display()));
        assert!(
            reasons.iter().any(|r| q.reason.contains(r)),
            "{}: {:?} should say one of {reasons:?}",
            path.display(),
            q.reason
        );
        assert!(!path.exists(), "{} moved away", path.display());
        assert!(q.moved_to.starts_with(root.join("quarantine")));
        assert!(q.moved_to.exists());
        let why = PathBuf::from(format!("{}.why", q.moved_to.display()));
        let why_text = std::fs::read_to_string(&why).unwrap();
        assert!(
            why_text.starts_with(&q.reason),
            "{}: {why_text}",
            why.display()
        );
    }
    // A cut inside "ü" is told apart from a cut between characters.
    let cut_in_char = report
        .quarantined
        .iter()
        .filter(|q| q.reason.contains("not valid UTF-8"))
        .count();
    assert!(
        cut_in_char >= 3,
        "two cuts inside ü, one inside ö, plus the 0xFF file: {cut_in_char}"
    );
    assert_eq!(store.load(a.entry_id).unwrap(), a);
    assert_eq!(store.load(b.entry_id).unwrap(), b);
    assert!(matches!(
        store.load(victim.entry_id),
        Err(StoreError::NotFound(_))
    ));
    drop(store);
    // Quarantined files stay out of the way: the next open finds nothing more to do.
    let (_, again) = Store::open(root).unwrap();
    assert!(again.quarantined.is_empty());
    assert_eq!(again.messages, 2);
}

#[test]
fn second_open_in_the_same_process_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _) = Store::open(dir.path()).unwrap();
    match Store::open(dir.path()) {
        Err(StoreError::Locked { root, holder }) => {
            assert_eq!(root, dir.path());
            assert_eq!(holder, format!("process {}", std::process::id()));
            let text = StoreError::Locked { root, holder }.to_string();
            assert!(
                text.contains(&format!("in use by process {}", std::process::id())),
                "{text}"
            );
        }
        Err(e) => panic!("expected Locked, got {e}"),
        Ok(_) => panic!("a second open of a held store must be refused"),
    }
}

#[test]
fn second_process_is_refused_while_this_one_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .arg("--store")
        .arg(dir.path())
        .arg("list")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("in use by process {}", std::process::id())),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.starts_with("spoolbox: error:")),
        "{stderr}"
    );
    drop(store);
    // Released: the same command now works.
    let ok = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .arg("--store")
        .arg(dir.path())
        .arg("list")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn lock_of_a_killed_holder_is_released_by_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    // A holder using flock(2), as std's File::try_lock does on Linux, writing its pid as ours does.
    let script = "import fcntl, os, sys, time\n\
                  f = open(sys.argv[1], 'r+')\n\
                  fcntl.flock(f, fcntl.LOCK_EX)\n\
                  f.truncate(0); f.write(str(os.getpid())); f.flush()\n\
                  print('locked', flush=True)\n\
                  time.sleep(60)\n";
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("store.lock"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the cross-process lock test");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    match Store::open(dir.path()) {
        Err(StoreError::Locked { holder, .. }) => {
            assert_eq!(holder, format!("process {}", child.id()));
        }
        Err(e) => panic!("expected Locked, got {e}"),
        Ok(_) => panic!("the store is held by another process"),
    }
    child.kill().unwrap(); // SIGKILL: no chance to unlock
    child.wait().unwrap();
    let (store, _) = Store::open(dir.path()).expect("a dead holder never blocks the store");
    drop(store);
}

#[test]
fn new_demo_store_holds_the_demo_profile_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (store, report) = spoolbox::spooler::demo::open(&dir.path().join("demo")).unwrap();
    assert!(report.created);
    // Nine demo messages, plus the coupled store's local delivery of the kickoff's EX recipient.
    assert_eq!(store.message_count(), 10);
    assert_eq!(report.messages, 10);
    assert!(store.folder_named("Archive").is_some());
    let p = store.profile();
    let names: Vec<&str> = p.transports.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["SMTP", "Pickup folder", "Fax"]);
    assert_eq!(p.coupled_addrtypes, ["EX"]);
    assert!(p.start_paused);
    let subjects: Vec<&str> = store.summaries().map(|s| s.subject.as_str()).collect();
    for s in [
        "Quarterly report",
        "Order via the X.400 gateway",
        "Draft: notes for next week",
    ] {
        assert!(subjects.contains(&s), "{s} in {subjects:?}");
    }
    // Every demo message but the draft was submitted.
    let outbox = store.folder_of(FolderKind::Outbox);
    let queued = store
        .summaries()
        .filter(|s| s.folder == outbox && s.is_submitted())
        .count();
    assert_eq!(queued, 8);
}

#[test]
fn duplicate_left_by_a_crash_inside_finished_msg_is_resolved_to_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (eid, outbox, sent, outbox_bytes) = {
        let (mut store, _) = Store::open(root).unwrap();
        let m = saved_draft(&mut store, "sent once");
        let outbox = store.folder_of(FolderKind::Outbox);
        let sent = store.folder_of(FolderKind::SentItems);
        let bytes = std::fs::read(message_file(root, outbox, m.entry_id)).unwrap();
        let moved = store.move_to(m.entry_id, sent).unwrap();
        assert_eq!(moved.revision, m.revision + 1);
        (m.entry_id, outbox, sent, bytes)
    };
    // The crash came between the copy into Sent Items and the removal from the Outbox.
    std::fs::write(message_file(root, outbox, eid), &outbox_bytes).unwrap();

    let (mut store, report) = Store::open(root).unwrap();
    assert_eq!(report.duplicates_resolved, 1);
    assert_eq!(report.messages, 1);
    assert!(
        !message_file(root, outbox, eid).exists(),
        "the older Outbox copy is gone"
    );
    assert!(message_file(root, sent, eid).exists());
    let m = store.load(eid).unwrap();
    assert_eq!(m.folder, sent);
    assert_eq!(m.revision, 2);
    assert_eq!(store.summary(eid).unwrap().folder, sent);
}

/// A `store.json` that does not read is the user's all the same (issue 27): never quarantined
/// nor rebuilt; sending is held with the reason, the file stays as it is, and the messages
/// are all there.
#[test]
fn corrupt_store_json_holds_sending_stays_as_it_is_and_the_messages_survive() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (a, b) = {
        let (mut store, _) = Store::open(root).unwrap();
        let a = saved_draft(&mut store, "survivor A");
        let b = saved_draft(&mut store, "survivor B");
        (a, b)
    };
    let damaged = b"{\"schema\": 1, \"folders\": [";
    std::fs::write(root.join("store.json"), damaged).unwrap();
    let (mut store, report) = Store::open(root).unwrap();
    assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
    let held = report.profile_held.clone().unwrap();
    assert!(held.starts_with("store.json: truncated JSON"), "{held}");
    assert_eq!(store.profile_hold(), Some(held.as_str()));
    assert_eq!(store.load(a.entry_id).unwrap(), a);
    assert_eq!(store.load(b.entry_id).unwrap(), b);
    assert_eq!(
        store.summary(a.entry_id).unwrap().folder,
        store.folder_of(FolderKind::Outbox)
    );
    // Entry ids are never handed out twice, even with the reservation record lost.
    let fresh = store.new_entry_id().unwrap();
    assert!(fresh > a.entry_id && fresh > b.entry_id);
    drop(store);
    assert_eq!(std::fs::read(root.join("store.json")).unwrap(), damaged);
    let (_, again) = Store::open(root).unwrap();
    assert!(again.quarantined.is_empty());
    assert!(again.profile_held.is_some(), "held until it is fixed");
}

#[test]
fn index_json_that_is_corrupt_or_stale_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (a, b) = {
        let (mut store, _) = Store::open(root).unwrap();
        (
            saved_draft(&mut store, "indexed A"),
            saved_draft(&mut store, "indexed B"),
        )
    };
    let (_, report) = Store::open(root).unwrap();
    assert_eq!(
        report.from_index, 2,
        "unchanged files are summarised from index.json"
    );
    // A file changed behind the index's back is read again.
    let path = message_file(root, a.folder, a.entry_id);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("indexed A", "changed A, longer");
    std::fs::write(&path, text).unwrap();
    let (store, report) = Store::open(root).unwrap();
    assert_eq!(report.from_index, 1);
    assert_eq!(
        store.summary(a.entry_id).unwrap().subject,
        "changed A, longer"
    );
    drop(store);
    std::fs::write(root.join("index.json"), b"\x00\x01 not an index").unwrap();
    let (mut store, report) = Store::open(root).unwrap();
    assert_eq!(report.from_index, 0);
    assert!(
        report.quarantined.is_empty(),
        "a rebuildable cache is not quarantined"
    );
    assert_eq!(store.load(b.entry_id).unwrap(), b);
    assert_eq!(store.message_count(), 2);
}
