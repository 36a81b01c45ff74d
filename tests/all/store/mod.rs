//! The store (SPEC section 1): every property type survives a round trip, a crash at any
//! instant leaves a store that opens, unreadable files are quarantined without harming the
//! rest, and one process owns a store at a time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::naive_bytecount,
    reason = "tests: a panic with its message is the failure report"
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jiff::Timestamp;
use spoolbox::mapi::flags::{self, FlagKind, MSGFLAG_SUBMIT, MSGFLAG_UNSENT};
use spoolbox::mapi::tags::{
    self, PR_DELETE_AFTER_SUBMIT, PR_MESSAGE_FLAGS, PR_RESPONSIBILITY, PR_SENTMAIL_ENTRYID,
    PR_SUBJECT, PR_SUBMIT_FLAGS, PropTag,
};
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, SpoolState};
use spoolbox::store::{FolderKind, Patch, Store, StoreError};

/// A scratch directory; on tmpfs when there is one, because the crash loops below open a store
/// hundreds of times and every open fsyncs.
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::Builder::new()
            .prefix("spoolbox-test-")
            .tempdir_in(shm)
    {
        return d;
    }
    tempfile::tempdir().unwrap()
}

/// The journal's records: its bytes up to the zeros it is written ahead with (those read as
/// the end, and a test that cuts or flips "the last bytes" means the records').
pub fn journal_records(mut bytes: Vec<u8>) -> Vec<u8> {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    bytes.truncate(end);
    bytes
}

/// Copies a directory tree (a store left behind by a "crashed" process).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A draft in the Outbox with one SMTP recipient, saved.
pub(crate) fn saved_draft(store: &mut Store, subject: &str) -> Message {
    let eid = store.new_entry_id().unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let mut m = Message::draft(eid, outbox, subject);
    m.recipients.push(Recipient::new(
        0,
        "Ann",
        "ann@example.org",
        "SMTP",
        RecipientKind::To,
    ));
    m.body = format!("body of {subject}");
    store.save(&mut m).unwrap();
    m
}

pub(crate) fn message_file(root: &Path, folder: EntryId, eid: EntryId) -> PathBuf {
    root.join("folders")
        .join(folder.file_stem())
        .join(format!("{}.json", eid.file_stem()))
}

pub(crate) fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn tags_and_flags_match_the_reference() {
    assert_eq!(PR_RESPONSIBILITY.0, 0x0E0F_000B);
    assert_eq!(PR_SUBMIT_FLAGS.0, 0x0E14_0003);
    assert_eq!(PR_SENTMAIL_ENTRYID.0, 0x0E0A_0102);
    assert_eq!(PR_SUBJECT.0, 0x0037_001F);
    assert_eq!(PR_MESSAGE_FLAGS.0, 0x0E07_0003);
    assert_eq!(PR_DELETE_AFTER_SUBMIT.0, 0x0E01_000B);
    assert_eq!(tags::PR_PREPROCESS.0, 0x0E22_000B);
    assert_eq!(tags::PR_CLIENT_SUBMIT_TIME.0, 0x0039_0040);
    assert_eq!(tags::PR_DEFERRED_SEND_TIME.0, 0x3FEF_0040);
    assert_eq!(
        flags::decode(FlagKind::MessageFlags, 0xC),
        "MSGFLAG_SUBMIT | MSGFLAG_UNSENT"
    );
    assert_eq!(
        flags::decode(FlagKind::SubmitFlags, 3),
        "SUBMITFLAG_LOCKED | SUBMITFLAG_PREPROCESS"
    );
    assert_eq!(MSGFLAG_SUBMIT | MSGFLAG_UNSENT, 0xC);
}

#[test]
#[allow(clippy::too_many_lines, reason = "a scenario reads top to bottom")]
fn every_property_type_round_trips_through_a_reopened_store() {
    let dir = tempfile::tempdir().unwrap();
    let t0: Timestamp = "2031-02-03T04:05:06.123456789Z".parse().unwrap();
    // One unknown tag per property type (ids the catalogue does not know), kept by hex key.
    let values = vec![
        (
            PropTag::new(0x6A01, tags::PT_SHORT),
            PropValue::Short(-12345),
        ),
        (
            PropTag::new(0x6A02, tags::PT_LONG),
            PropValue::Long(0x8000_0001_u32.cast_signed()),
        ),
        (PropTag::new(0x6A03, tags::PT_LONG), PropValue::Long(-1)),
        (
            PropTag::new(0x6A04, tags::PT_DOUBLE),
            PropValue::Double(std::f64::consts::PI),
        ),
        (
            PropTag::new(0x6A05, tags::PT_DOUBLE),
            PropValue::Double(0.1 + 0.2),
        ),
        (
            PropTag::new(0x6A06, tags::PT_ERROR),
            PropValue::Error(0x8004_010F),
        ),
        (
            PropTag::new(0x6A07, tags::PT_BOOLEAN),
            PropValue::Boolean(false),
        ),
        (
            PropTag::new(0x6A08, tags::PT_I8),
            PropValue::I8(i64::MIN + 7),
        ),
        (
            PropTag::new(0x6A09, tags::PT_STRING8),
            PropValue::String8("plain ascii".into()),
        ),
        (
            PropTag::new(0x6A0A, tags::PT_UNICODE),
            PropValue::Unicode("Grüße, 東京 \"quoted\"\n".into()),
        ),
        (
            PropTag::new(0x6A0B, tags::PT_SYSTIME),
            PropValue::SysTime(t0),
        ),
        (
            PropTag::new(0x6A0C, tags::PT_CLSID),
            PropValue::Clsid(*b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xAA\xBB\xCC\xDD\xEE\xFF"),
        ),
        (
            PropTag::new(0x6A0D, tags::PT_BINARY),
            PropValue::Binary(vec![0, 1, 0xFE, 0xFF]),
        ),
        (
            PropTag::new(0x6A0E, tags::PT_BINARY),
            PropValue::Binary(Vec::new()),
        ),
        (
            PropTag::new(0x6A0F, tags::PT_MV_LONG),
            PropValue::MvLong(vec![0, -1, i32::MAX, 0x8000_0001_u32.cast_signed()]),
        ),
        (
            PropTag::new(0x6A10, tags::PT_MV_UNICODE),
            PropValue::MvUnicode(vec!["a".into(), String::new(), "ü".into()]),
        ),
        (
            PropTag::new(0x6A11, tags::PT_MV_BINARY),
            PropValue::MvBinary(vec![vec![1, 2], Vec::new(), vec![0xAB]]),
        ),
    ];
    let eid;
    let original;
    {
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let mut m = saved_draft(&mut store, "round trip");
        eid = m.entry_id;
        for (tag, v) in &values {
            m.props.set(*tag, v.clone());
        }
        // Known tags of several types, and a recipient column of each kind too.
        m.props.set(
            PR_SENTMAIL_ENTRYID,
            PropValue::Binary(store.folder_of(FolderKind::SentItems).to_bytes()),
        );
        m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
        m.props.set_flags(PR_SUBMIT_FLAGS, 0x8000_0001);
        m.props.set_time(tags::PR_DEFERRED_SEND_TIME, t0);
        let r = &mut m.recipients[0];
        r.props.set_bool(PR_RESPONSIBILITY, true);
        r.props.set_flags(tags::PR_RECIPIENT_TYPE, 0x8000_0001);
        for (tag, v) in &values {
            r.props.set(*tag, v.clone());
        }
        store.save(&mut m).unwrap();
        original = m;
    }
    let (mut store, report) = Store::open(dir.path()).unwrap();
    assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
    let loaded = store.load(eid).unwrap();
    for (tag, v) in &values {
        assert_eq!(
            loaded.props.value(*tag),
            Some(v),
            "message property {}",
            tag.hex()
        );
        assert_eq!(
            loaded.recipients[0].props.value(*tag),
            Some(v),
            "recipient column {}",
            tag.hex()
        );
    }
    assert_eq!(loaded.props.flags(PR_SUBMIT_FLAGS), 0x8000_0001);
    assert_eq!(loaded.recipients[0].recipient_type(), 0x8000_0001);
    assert_eq!(loaded, original);

    // On disk: canonical names for catalogued tags, the hex tag for the unknown ones.
    let bytes = std::fs::read(message_file(dir.path(), loaded.folder, eid)).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let props = json["props"].as_object().unwrap();
    assert!(props.contains_key("PR_SUBJECT"));
    assert!(props.contains_key("PR_SENTMAIL_ENTRYID"));
    assert!(props.contains_key("PR_SUBMIT_FLAGS"));
    assert!(
        props.contains_key("0x6A0A001F"),
        "unknown tag keyed by hex: {props:?}"
    );
    assert!(props.contains_key("0x6A111102"));
    assert!(
        json["recipients"][0]["props"]
            .as_object()
            .unwrap()
            .contains_key("PR_RESPONSIBILITY")
    );
}

#[test]
fn crash_between_tmp_write_and_rename_keeps_the_old_message() {
    let dir = tempfile::tempdir().unwrap();
    let old = {
        let (mut store, _) = Store::open(dir.path()).unwrap();
        saved_draft(&mut store, "old content")
    };
    // The process died after writing and fsyncing the new version under tmp/, before the rename.
    let mut new = old.clone();
    new.props.set_text(PR_SUBJECT, "new content");
    new.revision += 1;
    let tmp = spoolbox::durable::fs::write_tmp(
        &dir.path().join("tmp"),
        &serde_json::to_vec_pretty(&new).unwrap(),
    )
    .unwrap();
    assert!(tmp.exists());

    let (mut store, report) = Store::open(dir.path()).unwrap();
    assert_eq!(report.tmp_removed, 1);
    assert!(report.quarantined.is_empty());
    assert!(
        files_in(&dir.path().join("tmp")).is_empty(),
        "tmp/ is cleaned on open"
    );
    let loaded = store.load(old.entry_id).unwrap();
    assert_eq!(loaded.subject(), "old content");
    assert_eq!(loaded, old);
}

/// The patches the journal tests apply, each a different kind of change.
pub(crate) fn journal_patches() -> Vec<Patch> {
    let mut a = Patch::default();
    a.set.set_text(PR_SUBJECT, "v2");
    let mut b = Patch::default();
    b.set.set_bool(PR_DELETE_AFTER_SUBMIT, true);
    let mut c = Patch::default();
    c.unset(PR_DELETE_AFTER_SUBMIT);
    c.set.set_flags(PR_SUBMIT_FLAGS, 1);
    let d = Patch {
        spool: Some(SpoolState {
            attempts: 3,
            ..SpoolState::default()
        }),
        ..Patch::default()
    };
    vec![a, b, c, d]
}

/// A store whose journal holds the records of [`journal_patches`], not folded (the process
/// stopped without compaction: `Store`'s drop only syncs the journal).
pub(crate) fn store_with_journal() -> (tempfile::TempDir, Message, Vec<Patch>) {
    let dir = fast_tempdir();
    let patches = journal_patches();
    let base = {
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let base = saved_draft(&mut store, "v1");
        for p in &patches {
            store.patch(base.entry_id, p.clone(), true).unwrap();
        }
        base
    };
    (dir, base, patches)
}

pub(crate) fn expected_after(base: &Message, patches: &[Patch]) -> Message {
    let mut m = base.clone();
    for p in patches {
        p.apply(&mut m);
    }
    m
}

/// What the store did to the disk, in order: journal fsyncs and renames.
#[derive(Debug, Default, Clone)]
pub(crate) struct Order(pub(crate) std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>);

#[derive(Debug)]
pub(crate) struct OrderedJournal {
    pub(crate) inner: Box<dyn spoolbox::durable::fs::AppendFile>,
    pub(crate) order: Order,
}

impl spoolbox::durable::fs::AppendFile for OrderedJournal {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_at(offset, bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.order.0.lock().unwrap().push("journal fsync");
        self.inner.sync()
    }
}

impl crate::realfs::Hooks for Order {
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.0.lock().unwrap().push("rename");
        spoolbox::durable::fs::FsLayer::rename(&spoolbox::durable::fs::RealFs, from, to)
    }
    fn open_append(
        &self,
        path: &Path,
    ) -> std::io::Result<(Box<dyn spoolbox::durable::fs::AppendFile>, bool)> {
        let (inner, created) =
            spoolbox::durable::fs::FsLayer::open_append(&spoolbox::durable::fs::RealFs, path)?;
        let order = self.clone();
        Ok((Box::new(OrderedJournal { inner, order }), created))
    }
}

#[test]
fn opening_a_store_fsyncs_its_journal_before_acting_on_the_records() {
    // After a crash of the process its last records may be in the page cache only: replayed
    // and folded into a message file without an fsync first, a power cut could take them
    // back after the store had acted on them.
    let (dir, base, patches) = store_with_journal();
    // Without the zeros written ahead (which the open cuts off, with an fsync), as a journal
    // whose writer stopped right at the end of a record.
    let jp = dir.path().join("journal").join("journal.log");
    let records = journal_records(std::fs::read(&jp).unwrap()).len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&jp)
        .unwrap()
        .set_len(records as u64)
        .unwrap();
    let order = Order::default();
    let fs = std::sync::Arc::new(crate::realfs::Hooked(order.clone()));
    let (mut store, report) = Store::open_with_fs(dir.path(), fs).unwrap();
    assert_eq!(report.journal_replayed, patches.len());
    let seen = order.0.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&"journal fsync"), "{seen:?}");
    assert!(
        seen.contains(&"rename"),
        "the records were folded: {seen:?}"
    );
    let got = store.load(base.entry_id).unwrap();
    assert_eq!(got.subject(), "v2");
}

#[test]
fn the_journal_is_written_ahead_with_zeros_that_read_as_its_end() {
    let dir = fast_tempdir();
    let jp = dir.path().join("journal").join("journal.log");
    // Records of about 40 KiB each: twenty of them (800 KiB) run past the first stretch of
    // zeros written ahead (at least 256 KiB beyond the first record) and make it grow again.
    let patches: Vec<Patch> = (0..20)
        .map(|i| {
            let mut p = Patch::default();
            p.set
                .set_text(PR_SUBJECT, format!("{i} {}", "x".repeat(40_000)));
            p
        })
        .collect();
    let base = {
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let base = saved_draft(&mut store, "v1");
        let mut sizes = Vec::new();
        for p in &patches {
            store.patch(base.entry_id, p.clone(), true).unwrap();
            let bytes = std::fs::read(&jp).unwrap();
            let records = journal_records(bytes.clone()).len();
            // Always ahead of its records, with zeros.
            assert!(bytes.len() > records, "{} <= {records}", bytes.len());
            assert!(bytes[records..].iter().all(|b| *b == 0));
            sizes.push(bytes.len());
        }
        sizes.dedup();
        assert!(sizes.len() >= 2, "never grew: {sizes:?}");
        base
    };
    // The zeros read as the end: every record replayed, no damage reported.
    let (mut store, report) = Store::open(dir.path()).unwrap();
    assert_eq!(report.journal_replayed, patches.len());
    assert!(
        report.journal_damage.is_none(),
        "{:?}",
        report.journal_damage
    );
    let got = store.load(base.entry_id).unwrap();
    let mut want = expected_after(&base, &patches);
    want.revision = got.revision;
    assert_eq!(got, want);
    drop(store);
    // Folded into the message file on open: the journal is empty again, zeros and all.
    assert_eq!(std::fs::metadata(&jp).unwrap().len(), 0);
}

mod journal;

#[allow(unused_imports, reason = "helpers shared with the other parts")]
pub(crate) use journal::*;
