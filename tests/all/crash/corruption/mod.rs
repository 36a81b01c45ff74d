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

pub(crate) const ROOT: &str = "/sim/store";

pub(crate) fn root() -> PathBuf {
    PathBuf::from(ROOT)
}

pub(crate) fn open(fs: &SimFs) -> (Store, OpenReport) {
    Store::open_with_fs(&root(), Arc::new(fs.clone())).unwrap()
}

pub(crate) fn message_path(folder: EntryId, eid: EntryId) -> PathBuf {
    root()
        .join("folders")
        .join(folder.file_stem())
        .join(format!("{}.json", eid.file_stem()))
}

/// A draft with one recipient; `extra` bytes of body (and an attachment when large).
pub(crate) fn draft(store: &mut Store, subject: &str, extra: usize) -> Message {
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
pub(crate) fn base_store(victim_extra: usize) -> (SimFs, Message, Message, Message) {
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
pub(crate) fn open_damaged(
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

pub(crate) fn flips(len: usize, all: bool, sample: usize, rng: &mut Rng) -> Vec<usize> {
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
pub(crate) fn kind(reason: &str) -> String {
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
fn bad_utf8_and_zeros_are_quarantined_and_odd_names_counted_as_junk() {
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
    // Names the store never writes: counted as junk and left alone (never read, none mistaken
    // for a message or a folder); a canonical name of the wrong kind is quarantined.
    let folder = root().join("folders").join(v.folder.file_stem());
    let f = fs.fork();
    let junk_names = [
        "17.json",
        "+0000000017.json",
        "0000000017.json.tmp",
        "notes.txt",
        ".hidden",
    ];
    for name in junk_names {
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
    let mut moved: Vec<String> = report
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
    moved.sort();
    assert_eq!(moved, ["0000000007", "0000000042.json"], "{report:?}");
    let in_folder = report.junk.iter().find(|j| j.dir == folder).unwrap();
    assert_eq!(in_folder.count, junk_names.len(), "{report:?}");
    let in_folders = report
        .junk
        .iter()
        .find(|j| j.dir == root().join("folders"))
        .unwrap();
    assert_eq!(in_folders.examples, ["7"], "{report:?}");
    for name in junk_names {
        assert!(
            f.read_file(&folder.join(name)).is_some(),
            "{name} left alone"
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
    assert_eq!(again.junk, report.junk, "counted again, still left alone");
}

/// A store whose journal holds four unfolded patches of one draft.
pub(crate) fn journal_store() -> (SimFs, Message, Vec<Patch>, Vec<u8>) {
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

pub(crate) fn after(base: &Message, patches: &[Patch]) -> Message {
    let mut m = base.clone();
    for p in patches {
        p.apply(&mut m);
    }
    m
}

/// Opens a fork with this journal; checks that exactly the first `k` records were replayed,
/// damage was reported when `damaged`, and the bytes were kept in quarantine.
pub(crate) fn open_with_journal(
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
    let (mut held, mut read) = (0, 0);
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
        // store.json is the user's: never quarantined; one that does not read holds sending.
        assert!(
            report.quarantined.is_empty(),
            "{label}: {:?}",
            report.quarantined
        );
        if report.profile_held.is_some() {
            held += 1;
        } else {
            read += 1;
        }
    }
    eprintln!(
        "store_json_bit_flips: {} flips of {} bytes in {:.1} s: {held} held sending, {read} read",
        positions.len(),
        bytes.len(),
        t0.elapsed().as_secs_f64()
    );
}

mod doctor;
mod fuzz;

#[allow(unused_imports, reason = "helpers shared with the other parts")]
pub(crate) use doctor::*;
#[allow(unused_imports, reason = "helpers shared with the other parts")]
pub(crate) use fuzz::*;
