//! Corruption: damaged message files, `store.json` and journal never panic the loader; what
//! cannot be read is quarantined with a reason and the rest opens; `spoolbox doctor` reports
//! and repairs. Then fuzzing with proptest: the message loader, the property-bag reader, and a
//! whole store open on a directory of random files.
//!
//! `store.rs` already covers a message file cut at every byte, zero-filled, with one 0xFF
//! byte, not JSON and of schema 999, the journal cut at every byte and one flipped journal
//! bit, and `cli.rs` one truncated file through `doctor`. This adds every bit flip (messages,
//! journal, `store.json`), more kinds of bad UTF-8, zeroed journal tails, checksummed records of
//! an unknown shape, odd names, and a doctor run over all kinds of damage at once.
//!
//! The stores live on a [`SimFs`], so each of the thousands of variants opens its own store in
//! microseconds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use proptest::prelude::*;
use serde_json::{Value, json};
use spoolbox::mapi::tags::{PR_DELETE_AFTER_SUBMIT, PR_SUBJECT};
use spoolbox::mapi::{
    Attachment, EntryId, Message, PropBag, PropValue, Recipient, RecipientKind, SpoolState,
};
use spoolbox::store::{FolderKind, OpenReport, Patch, Store};

use super::simfs::SimFs;
use super::{Rng, env_count, seed};
use crate::store::{fast_tempdir, journal_records};

const ROOT: &str = "/sim/store";

fn root() -> PathBuf {
    PathBuf::from(ROOT)
}

fn open(fs: &SimFs) -> (Store, OpenReport) {
    Store::open_with_fs(&root(), Arc::new(fs.clone())).unwrap()
}

fn message_path(folder: EntryId, eid: EntryId) -> PathBuf {
    root()
        .join("folders")
        .join(folder.file_stem())
        .join(format!("{}.json", eid.file_stem()))
}

/// A draft with one recipient; `extra` bytes of body (and an attachment when large).
fn draft(store: &mut Store, subject: &str, extra: usize) -> Message {
    let eid = store.new_entry_id().unwrap();
    let mut m = Message::draft(eid, store.folder_of(FolderKind::Outbox), subject);
    m.recipients.push(Recipient::new(
        0,
        "Zoë",
        "zoe@example.org",
        "SMTP",
        RecipientKind::To,
    ));
    m.body = "Grüße\n".repeat(extra / 7 + 1);
    if extra > 1000 {
        m.attachments.push(Attachment {
            file_name: "data.bin".into(),
            mime_type: "application/octet-stream".into(),
            data: (0..=255u8).cycle().take(extra / 4).collect(),
        });
    }
    store.save(&mut m).unwrap();
    m
}

/// A store on a simulated disk with two keepers and one victim message.
fn base_store(victim_extra: usize) -> (SimFs, Message, Message, Message) {
    let fs = SimFs::new(Path::new("/sim"));
    let (a, b, v) = {
        let (mut store, _) = open(&fs);
        let a = draft(&mut store, "keeper A", 10);
        let b = draft(&mut store, "keeper B", 10);
        let v = draft(&mut store, "victim: Grüße aus Köln", victim_extra);
        (a, b, v)
    };
    (fs, a, b, v)
}

/// Opens a fork of `fs` with `path` replaced by `bytes`; checks the keepers and returns the
/// report and whether the victim could still be read.
fn open_damaged(
    fs: &SimFs,
    path: &Path,
    bytes: &[u8],
    keepers: &[&Message],
    victim: EntryId,
    label: &str,
) -> (OpenReport, bool) {
    let f = fs.fork();
    f.put(path, bytes);
    let (mut store, report) = Store::open_with_fs(&root(), Arc::new(f.clone()))
        .unwrap_or_else(|e| panic!("{label}: the store does not open: {e}"));
    for k in keepers {
        assert_eq!(
            &store.load(k.entry_id).unwrap(),
            *k,
            "{label}: a good message changed"
        );
    }
    for q in &report.quarantined {
        assert!(!q.reason.trim().is_empty(), "{label}: empty reason");
        let why = f.read_file(&PathBuf::from(format!("{}.why", q.moved_to.display())));
        assert!(
            why.is_some_and(|w| w.starts_with(q.reason.as_bytes())),
            "{label}: no .why beside {}",
            q.moved_to.display()
        );
    }
    let readable = match store.load(victim) {
        Ok(m) => {
            assert_eq!(m.entry_id, victim, "{label}");
            true
        }
        Err(_) => false,
    };
    (report, readable)
}

fn flips(len: usize, all: bool, sample: usize, rng: &mut Rng) -> Vec<usize> {
    let bits = len * 8;
    if all || bits <= sample {
        (0..bits).collect()
    } else {
        (0..sample)
            .map(|_| rng.below(bits as u64) as usize)
            .collect()
    }
}

/// Short label of a quarantine reason, for the summary line.
fn kind(reason: &str) -> String {
    reason
        .split([':', '(', ','])
        .next()
        .unwrap_or(reason)
        .trim()
        .to_owned()
}

#[test]
fn every_bit_flip_of_a_message_file_is_quarantined_with_a_reason_or_still_read() {
    let t0 = Instant::now();
    let mut rng = Rng::new(seed("message_bit_flips"));
    let all = std::env::var_os("SPOOLBOX_BITFLIP_ALL").is_some();
    let mut summary = Vec::new();
    // A small file: every bit. A large one (60 KB with an attachment): a sample.
    for (extra, sample) in [(40, usize::MAX), (60_000, 1500)] {
        let (fs, a, b, v) = base_store(extra);
        let path = message_path(v.folder, v.entry_id);
        let bytes = fs.read_file(&path).unwrap();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut readable = 0;
        let positions = flips(bytes.len(), all, sample, &mut rng);
        for bit in &positions {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let label = format!("{} byte file, bit {bit} flipped", bytes.len());
            let (report, ok) = open_damaged(&fs, &path, &damaged, &[&a, &b], v.entry_id, &label);
            if ok {
                readable += 1;
                assert!(
                    report.quarantined.is_empty(),
                    "{label}: {:?}",
                    report.quarantined
                );
            } else {
                assert_eq!(report.quarantined.len(), 1, "{label}");
                assert_eq!(report.quarantined[0].original, path, "{label}");
                *reasons
                    .entry(kind(&report.quarantined[0].reason))
                    .or_default() += 1;
            }
        }
        summary.push(format!(
            "{} bytes: {} flips, {readable} still a valid message (a changed value), quarantined: {reasons:?}",
            bytes.len(),
            positions.len()
        ));
    }
    eprintln!(
        "message_bit_flips in {:.1} s:\n  {}",
        t0.elapsed().as_secs_f64(),
        summary.join("\n  ")
    );
}

#[test]
#[allow(clippy::too_many_lines, reason = "a scenario reads top to bottom")]
fn bad_utf8_zeros_and_odd_names_in_message_folders_are_quarantined() {
    let (fs, a, b, v) = base_store(40);
    let path = message_path(v.folder, v.entry_id);
    let good = fs.read_file(&path).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let at = text.find("Grüße").unwrap();
    let splice = |bad: &[u8]| {
        let mut out = good[..at].to_vec();
        out.extend_from_slice(bad);
        out.extend_from_slice(&good[at..]);
        out
    };
    let mut zero_tail = good.clone();
    zero_tail.extend(std::iter::repeat_n(0u8, 4096));
    let mut zero_middle = good.clone();
    for b in &mut zero_middle[good.len() / 3..good.len() / 2] {
        *b = 0;
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("lone continuation byte", splice(b"\x80"), "not valid UTF-8"),
        ("overlong encoding", splice(b"\xC0\xAF"), "not valid UTF-8"),
        (
            "UTF-16 surrogate",
            splice(b"\xED\xA0\x80"),
            "not valid UTF-8",
        ),
        ("truncated sequence", splice(b"\xE2\x82"), "not valid UTF-8"),
        ("Latin-1 text", splice(b"\xFCber"), "not valid UTF-8"),
        (
            "UTF-16 BOM",
            [b"\xFF\xFE".as_slice(), &good].concat(),
            "not valid UTF-8",
        ),
        ("zeros after the end", zero_tail, "not a valid message"),
        ("zeros in the middle", zero_middle, "not a valid message"),
        ("one zero byte", vec![0], "all zero bytes"),
        (
            "schema 2",
            text.replacen("\"schema\": 1,", "\"schema\": 2,", 1)
                .into_bytes(),
            "schema version 2",
        ),
        (
            "no schema",
            text.replacen("\"schema\": 1,", "", 1).into_bytes(),
            "no schema version",
        ),
        (
            "schema as text",
            text.replacen("\"schema\": 1,", "\"schema\": \"1\",", 1)
                .into_bytes(),
            "not a valid message",
        ),
        ("JSON array", b"[1, 2, 3]".to_vec(), "not a valid message"),
        ("JSON null", b"null".to_vec(), "not a valid message"),
        (
            "deep nesting",
            [vec![b'['; 100_000], vec![b']'; 100_000]].concat(),
            "not a valid message",
        ),
    ];
    for (what, bytes, want) in &cases {
        let (report, ok) = open_damaged(&fs, &path, bytes, &[&a, &b], v.entry_id, what);
        assert!(!ok, "{what}: read as a message");
        assert_eq!(report.quarantined.len(), 1, "{what}");
        assert!(
            report.quarantined[0].reason.contains(want),
            "{what}: {:?} should say {want:?}",
            report.quarantined[0].reason
        );
    }
    // Names the store never writes: each quarantined (files) or ignored (directories), none
    // mistaken for a message or a folder.
    let folder = root().join("folders").join(v.folder.file_stem());
    let f = fs.fork();
    for name in [
        "17.json",
        "+0000000017.json",
        "0000000017.json.tmp",
        "notes.txt",
        ".hidden",
    ] {
        f.put(&folder.join(name), &good);
    }
    f.put(
        &root().join("folders").join("0000000007"),
        b"a file, not a folder",
    );
    f.put(
        &root().join("folders").join("7").join("0000000099.json"),
        &good,
    );
    f.put(
        &folder.join("0000000042.json").join("inner"),
        b"a directory named like a message",
    );
    let (mut store, report) = Store::open_with_fs(&root(), Arc::new(f.clone())).unwrap();
    let moved: Vec<String> = report
        .quarantined
        .iter()
        .map(|q| {
            q.original
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for want in [
        "17.json",
        "+0000000017.json",
        "0000000017.json.tmp",
        "notes.txt",
        ".hidden",
        "0000000007",
        "0000000042.json",
    ] {
        assert!(
            moved.iter().any(|m| m == want),
            "{want} not quarantined: {report:?}"
        );
    }
    assert_eq!(store.message_count(), 3, "{report:?}");
    assert_eq!(store.load(v.entry_id).unwrap(), v);
    assert!(
        store.folder(EntryId(7)).is_none(),
        "a non-canonical folder name is not a folder"
    );
    drop(store);
    let (_, again) = Store::open_with_fs(&root(), Arc::new(f)).unwrap();
    assert!(again.quarantined.is_empty(), "{again:?}");
}

/// A store whose journal holds four unfolded patches of one draft.
fn journal_store() -> (SimFs, Message, Vec<Patch>, Vec<u8>) {
    let fs = SimFs::new(Path::new("/sim"));
    let mut a = Patch::default();
    a.set.set_text(PR_SUBJECT, "v2 – Grüße");
    let mut b = Patch::default();
    b.set.set_bool(PR_DELETE_AFTER_SUBMIT, true);
    let mut c = Patch::default();
    c.unset(PR_DELETE_AFTER_SUBMIT);
    let d = Patch {
        spool: Some(SpoolState {
            attempts: 3,
            ..SpoolState::default()
        }),
        ..Patch::default()
    };
    let patches = vec![a, b, c, d];
    let base = {
        let (mut store, _) = open(&fs);
        let base = draft(&mut store, "v1", 10);
        for p in &patches {
            store.patch(base.entry_id, p.clone(), true).unwrap();
        }
        base
    };
    let journal = journal_records(
        fs.read_file(&root().join("journal").join("journal.log"))
            .unwrap(),
    );
    assert_eq!(journal.iter().filter(|b| **b == b'\n').count(), 4);
    (fs, base, patches, journal)
}

fn after(base: &Message, patches: &[Patch]) -> Message {
    let mut m = base.clone();
    for p in patches {
        p.apply(&mut m);
    }
    m
}

/// Opens a fork with this journal; checks that exactly the first `k` records were replayed,
/// damage was reported when `damaged`, and the bytes were kept in quarantine.
fn open_with_journal(
    fs: &SimFs,
    base: &Message,
    patches: &[Patch],
    journal: &[u8],
    k: usize,
    damaged: bool,
    label: &str,
) -> OpenReport {
    let f = fs.fork();
    f.put(&root().join("journal").join("journal.log"), journal);
    let (mut store, report) = Store::open_with_fs(&root(), Arc::new(f.clone()))
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(report.quarantined.is_empty(), "{label}");
    assert_eq!(
        report.journal_replayed, k,
        "{label}: {:?}",
        report.journal_damage
    );
    let got = store.load(base.entry_id).unwrap();
    let mut want = after(base, &patches[..k]);
    want.revision = got.revision;
    assert_eq!(got, want, "{label}");
    assert_eq!(
        report.journal_damage.is_some(),
        damaged,
        "{label}: {:?}",
        report.journal_damage
    );
    if damaged {
        let kept = f
            .files_under(&root().join("quarantine"))
            .into_iter()
            .find(|(p, _)| p.extension().is_some_and(|e| e == "log"))
            .unwrap_or_else(|| panic!("{label}: the damaged journal was not kept"));
        assert_eq!(kept.1, journal, "{label}: the kept copy differs");
    }
    drop(store);
    let (_, again) = Store::open_with_fs(&root(), Arc::new(f)).unwrap();
    assert!(
        again.journal_damage.is_none(),
        "{label}: damage left behind"
    );
    report
}

#[test]
fn every_bit_flip_of_the_journal_stops_replay_at_the_damaged_record() {
    let t0 = Instant::now();
    let mut rng = Rng::new(seed("journal_bit_flips"));
    let all = std::env::var_os("SPOOLBOX_BITFLIP_ALL").is_some();
    let (fs, base, patches, journal) = journal_store();
    let line_of = |pos: usize| journal[..pos].iter().filter(|b| **b == b'\n').count();
    let positions = flips(journal.len(), all, usize::MAX, &mut rng);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for bit in &positions {
        let mut j = journal.clone();
        j[bit / 8] ^= 1 << (bit % 8);
        let k = line_of(bit / 8);
        let label = format!("journal bit {bit} (record {k}) flipped");
        let line_start = journal[..bit / 8]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        if bit / 8 - line_start < 8 && journal[bit / 8].is_ascii_lowercase() && bit % 8 == 5 {
            // The case of a hex digit of the checksum: the same number, the same record.
            open_with_journal(&fs, &base, &patches, &j, 4, false, &label);
            *reasons
                .entry("checksum digit in upper case: same record".into())
                .or_default() += 1;
            continue;
        }
        // CRC-32 finds every single-bit error: the damaged record and all after it are
        // dropped, all before it replayed.
        let r = open_with_journal(&fs, &base, &patches, &j, k, true, &label);
        let why = r.journal_damage.unwrap();
        *reasons
            .entry(kind(why.split(": ").nth(1).unwrap_or(&why)))
            .or_default() += 1;
    }
    eprintln!(
        "journal_bit_flips: {} flips of a {} byte journal in {:.1} s, each stopped at its record: {reasons:?}",
        positions.len(),
        journal.len(),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn zeroed_bad_utf8_and_unknown_journal_records_are_reported_and_cut() {
    let (fs, base, patches, journal) = journal_store();
    let lines: Vec<usize> = journal
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    // Zeros after the last record: the journal is written ahead with them (so that a
    // record's fdatasync writes no metadata), and they read as its end. A crash that got the
    // size to the disk and not the data leaves the same: records never synced, never told.
    let mut tail = journal.clone();
    tail.extend(std::iter::repeat_n(0u8, 512));
    open_with_journal(&fs, &base, &patches, &tail, 4, false, "zeroed tail");
    // Zeros inside the last record, up to the end: that record is torn.
    let mut torn = journal[..lines[3] - 30].to_vec();
    torn.extend(std::iter::repeat_n(0u8, 512));
    let r = open_with_journal(&fs, &base, &patches, &torn, 3, true, "last record zeroed");
    assert!(r.journal_damage.unwrap().contains("torn record"));
    let mut zeroed = journal.clone();
    for b in &mut zeroed[lines[1]..lines[2]] {
        *b = 0;
    }
    open_with_journal(
        &fs,
        &base,
        &patches,
        &zeroed,
        2,
        true,
        "third record zeroed",
    );
    // Nothing but zeros: a journal written ahead and never used.
    open_with_journal(
        &fs,
        &base,
        &patches,
        &vec![0; journal.len()],
        0,
        false,
        "all zero",
    );
    // Zeros, then a record: not the end (a record cannot follow the end), so damage.
    let mut hole = vec![0u8; 64];
    hole.extend_from_slice(&journal);
    open_with_journal(
        &fs,
        &base,
        &patches,
        &hole,
        0,
        true,
        "zeros before a record",
    );
    // Bad UTF-8 inside a record, with its checksum recomputed: still refused.
    let line = &journal[lines[0]..lines[1] - 1];
    let json = &line[9..];
    let mut bad = json.to_vec();
    let pos = bad.iter().position(|b| *b == b'v').unwrap();
    bad[pos] = 0xFF;
    let mut j = journal[..lines[0]].to_vec();
    j.extend_from_slice(format!("{:08x} ", crc32fast::hash(&bad)).as_bytes());
    j.extend_from_slice(&bad);
    j.push(b'\n');
    j.extend_from_slice(&journal[lines[1]..]);
    let r = open_with_journal(
        &fs,
        &base,
        &patches,
        &j,
        1,
        true,
        "bad UTF-8, good checksum",
    );
    assert!(r.journal_damage.unwrap().contains("not UTF-8"));
    // A checksummed record of a shape this build does not know (a newer Spoolbox): replay
    // stops there rather than guess.
    for unknown in [
        json!({"schema": 2, "kind": "future"}),
        json!({"eid": "x", "rev": 1, "patch": {}}),
        json!([1, 2]),
    ] {
        let text = unknown.to_string();
        let mut j = journal[..lines[1]].to_vec();
        j.extend_from_slice(
            format!("{:08x} {text}\n", crc32fast::hash(text.as_bytes())).as_bytes(),
        );
        j.extend_from_slice(&journal[lines[1]..]);
        let r = open_with_journal(&fs, &base, &patches, &j, 2, true, &text);
        assert!(
            r.journal_damage.unwrap().contains("unreadable record"),
            "{text}"
        );
    }
    // A record for a message that no longer exists is skipped, not an error.
    let ghost = json!({"eid": 999_999, "rev": 1, "patch": {}}).to_string();
    let mut j = format!("{:08x} {ghost}\n", crc32fast::hash(ghost.as_bytes())).into_bytes();
    j.extend_from_slice(&journal);
    open_with_journal(
        &fs,
        &base,
        &patches,
        &j,
        4,
        false,
        "record of a deleted message",
    );
}

#[test]
fn store_json_bit_flips_never_lose_a_message() {
    let t0 = Instant::now();
    let mut rng = Rng::new(seed("store_json_bit_flips"));
    let all = std::env::var_os("SPOOLBOX_BITFLIP_ALL").is_some();
    let (fs, a, b, v) = base_store(40);
    let path = root().join("store.json");
    let bytes = fs.read_file(&path).unwrap();
    let positions = flips(bytes.len(), all, 1500, &mut rng);
    let (mut quarantined, mut read) = (0, 0);
    for bit in &positions {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        let label = format!("store.json bit {bit} flipped");
        let f = fs.fork();
        f.put(&path, &damaged);
        let (mut store, report) =
            Store::open_with_fs(&root(), Arc::new(f)).unwrap_or_else(|e| panic!("{label}: {e}"));
        // Whatever the flip did to folder ids or the profile, every message is still there,
        // unchanged, in some folder; new ids never collide with existing ones.
        for m in [&a, &b, &v] {
            let got = store
                .load(m.entry_id)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(got.props, m.props, "{label}");
            assert_eq!(got.recipients, m.recipients, "{label}");
        }
        let fresh = store.new_entry_id().unwrap();
        assert!(
            fresh > v.entry_id,
            "{label}: entry id {fresh} handed out again"
        );
        if report.quarantined.is_empty() {
            read += 1;
        } else {
            quarantined += 1;
            assert_eq!(report.quarantined[0].original, path, "{label}");
        }
    }
    eprintln!(
        "store_json_bit_flips: {} flips of {} bytes in {:.1} s: {quarantined} quarantined and rebuilt, {read} still readable",
        positions.len(),
        bytes.len(),
        t0.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// `spoolbox doctor` over every kind of damage at once (the real binary, a real directory)

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
    assert!(
        q.iter()
            .any(|e| e["original"].as_str().unwrap().ends_with("notes.txt")),
        "{v:#}"
    );
    assert_eq!(q.len(), damage.len() + 1, "{v:#}");
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
        damage.len() + 1,
        "{stderr}"
    );
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

// ---------------------------------------------------------------------------------------------
// Fuzzing (proptest). SPOOLBOX_FUZZ_CASES=N (default 20,000) runs N cases of each reader and
// N/20 whole-store opens.

fn fuzz_cases(per_mille: usize) -> u32 {
    u32::try_from(env_count("SPOOLBOX_FUZZ_CASES", 20_000) * per_mille / 1000).unwrap_or(u32::MAX)
}

/// A valid message file to mutate.
fn sample_message_bytes() -> Vec<u8> {
    let mut m = Message::draft(EntryId(42), EntryId(1), "Grüße – a sample");
    m.recipients.push(Recipient::new(
        0,
        "Ann",
        "ann@example.org",
        "SMTP",
        RecipientKind::To,
    ));
    m.recipients.push(Recipient::new(
        1,
        "Fax",
        "+49 30 1234",
        "FAX",
        RecipientKind::Cc,
    ));
    m.props.set(
        spoolbox::mapi::tags::PR_SENTMAIL_ENTRYID,
        PropValue::Binary(EntryId(2).to_bytes()),
    );
    m.attachments.push(Attachment {
        file_name: "a.txt".into(),
        mime_type: "text/plain".into(),
        data: b"hello".to_vec(),
    });
    m.body = "body".into();
    serde_json::to_vec_pretty(&m).unwrap()
}

/// Bytes: random, or a valid message file with a few bytes replaced, inserted or removed.
fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
    let base = sample_message_bytes();
    let len = base.len();
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..300),
        4 => prop::collection::vec((0..len, any::<u8>(), 0..3u8), 1..8).prop_map(move |edits| {
            let mut b = base.clone();
            for (pos, byte, op) in edits {
                let pos = pos.min(b.len().saturating_sub(1));
                match op {
                    0 if !b.is_empty() => b[pos] = byte,
                    1 => b.insert(pos, byte),
                    _ if !b.is_empty() => {
                        b.remove(pos);
                    }
                    _ => {}
                }
            }
            b
        }),
    ]
}

/// JSON values with property-ish keys and every shape of value.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[0-9A-Fa-fx]{0,20}".prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        Just(Value::from("2026-01-01T00:00:00Z")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn prop_key() -> impl Strategy<Value = String> {
    let names: Vec<String> = [
        "PR_SUBJECT",
        "PR_MESSAGE_FLAGS",
        "PR_SUBMIT_FLAGS",
        "PR_CLIENT_SUBMIT_TIME",
        "PR_SENTMAIL_ENTRYID",
        "PR_DELETE_AFTER_SUBMIT",
        "PR_RESPONSIBILITY",
        "PR_DEFERRED_SEND_NUMBER",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    prop_oneof![
        prop::sample::select(names),
        // Hex tags of every property type, known or not.
        (
            any::<u16>(),
            prop::sample::select(vec![
                0x0002u16, 0x0003, 0x0005, 0x000A, 0x000B, 0x0014, 0x001E, 0x001F, 0x0040, 0x0048,
                0x0102, 0x1003, 0x101F, 0x1102, 0x0000, 0x00FF,
            ])
        )
            .prop_map(|(id, ty)| format!("0x{id:04X}{ty:04X}")),
        ".{0,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(1000), failure_persistence: None, ..ProptestConfig::default() })]

    /// The message loader never panics; what it accepts writes back to the same message.
    #[test]
    fn fuzz_parse_message_never_panics(bytes in message_bytes()) {
        if let Ok(m) = spoolbox::store::parse_message(&bytes) {
            let again = serde_json::to_vec_pretty(&m).unwrap();
            let back = spoolbox::store::parse_message(&again).unwrap();
            prop_assert_eq!(back.entry_id, m.entry_id);
            prop_assert_eq!(back.props, m.props);
        }
    }

    /// The property-bag reader never panics on any JSON, and what it reads round-trips.
    #[test]
    fn fuzz_prop_bag_reader(v in json_value()) {
        if let Ok(bag) = PropBag::from_json(&v) {
            let back = PropBag::from_json(&bag.to_json()).unwrap();
            prop_assert_eq!(back, bag);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(50), failure_persistence: None, ..ProptestConfig::default() })]

    /// A whole store opened on a directory of random files: it opens, every file in a
    /// folder is a message or in quarantine with a reason, and opens cleanly a second time.
    #[test]
    fn fuzz_store_open_on_random_files(
        files in prop::collection::vec(
            (0..6u8, 0..4u8, message_bytes(), any::<u16>()),
            1..12,
        ),
        journal in prop::collection::vec(any::<u8>(), 0..200),
        meta in prop::option::of(message_bytes()),
    ) {
        let fs = SimFs::new(Path::new("/sim"));
        drop(open(&fs));
        for (where_, naming, bytes, n) in &files {
            let folder = match where_ {
                0..=2 => EntryId(1 + u64::from(*where_)),
                3 => EntryId(4),
                4 => EntryId(u64::from(*n % 50) + 5),
                _ => EntryId(1),
            };
            let name = match naming {
                0 | 1 => format!("{}.json", EntryId(u64::from(*n % 64)).file_stem()),
                2 => format!("{n}.json"),
                _ => format!("x{n}"),
            };
            fs.put(&root().join("folders").join(folder.file_stem()).join(name), bytes);
        }
        fs.put(&root().join("journal").join("journal.log"), &journal);
        if let Some(m) = &meta {
            fs.put(&root().join("store.json"), m);
        }
        let (store, report) = Store::open_with_fs(&root(), Arc::new(fs.clone()))
            .map_err(|e| TestCaseError::fail(format!("does not open: {e}")))?;
        for q in &report.quarantined {
            prop_assert!(!q.reason.trim().is_empty());
        }
        let on_disk = fs.files_under(&root().join("folders")).len();
        prop_assert_eq!(on_disk, store.message_count());
        drop(store);
        let (_, again) = Store::open_with_fs(&root(), Arc::new(fs)).unwrap();
        prop_assert!(again.quarantined.is_empty(), "{:?}", again.quarantined);
    }
}
