//! The append-only journal of per-step changes.
//!
//! Rewriting a whole message file for every recipient mark would cost two fsyncs each; instead
//! the spooler appends a [`Patch`] here and syncs once per transport hand-off (as Postfix marks
//! each recipient done in its queue file). Each line is `CRC32 JSON\n`; a torn or damaged tail
//! is where replay stops. The file is written ahead with zeros (as a database fills its log
//! segment before use), so that a record lands on blocks that exist and its sync is an
//! `fdatasync` that writes no metadata; zeros from a line's start to the end read as the end.
//! Each record names the message revision it applies to, so a record older than the message
//! file (already folded in) is skipped on replay.
//!
//! A failed fsync is not retried by simply syncing again ("fsyncgate"): Linux may mark the
//! pages that failed to reach the disk clean, and the next fsync then succeeds without them.
//! So the journal keeps the bytes written since its last good sync ([`Tail`]); after a failure
//! no sync counts as good until those bytes have been written again
//! ([`Journal::rewrite_if_failed`]), and a sync that was under way when another one failed
//! does not count either.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::durable::fs::{AppendFile, FsLayer, RealFs, fail_point};
use crate::mapi::{
    EntryId, Message, PropBag, PropTag, Recipient, SpoolState, StepRecord, TraceCall,
};

/// A change to one message, as the spooler makes them between whole-file writes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// Message properties set.
    #[serde(default, skip_serializing_if = "PropBag::is_empty")]
    pub set: PropBag,
    /// Message properties removed (canonical names or hex tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unset: Vec<String>,
    /// Recipient rows replaced whole, matched by row id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Recipient>,
    /// The attachments, replaced whole (preprocessors add and remove cover pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<crate::mapi::Attachment>>,
    /// New spooler bookkeeping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool: Option<SpoolState>,
    /// Steps recorded (appended).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StepRecord>,
    /// Trace calls (appended).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceCall>,
}

impl Patch {
    /// Marks a property for removal.
    pub fn unset(&mut self, tag: PropTag) {
        self.unset.push(crate::mapi::value::key_for_tag(tag));
    }

    /// Applies the patch to a message in memory.
    pub fn apply(&self, msg: &mut Message) {
        for (tag, v) in self.set.iter() {
            msg.props.set(tag, v.clone());
        }
        for key in &self.unset {
            if let Some(tag) = crate::mapi::value::tag_from_key(key) {
                msg.props.remove(tag);
            }
        }
        for r in &self.recipients {
            match msg.recipient_mut(r.row_id) {
                Some(row) => *row = r.clone(),
                None => msg.recipients.push(r.clone()),
            }
        }
        if let Some(a) = &self.attachments {
            msg.attachments.clone_from(a);
        }
        if let Some(s) = &self.spool {
            msg.spool = s.clone();
        }
        msg.history.extend(self.history.iter().cloned());
        msg.trace.extend(self.trace.iter().cloned());
    }
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The message.
    pub eid: EntryId,
    /// The message file revision this record applies on top of.
    pub rev: u64,
    /// The change.
    pub patch: Patch,
}

/// What reading a journal found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Complete, checksummed records in order.
    pub records: Vec<Record>,
    /// Byte length of the good prefix.
    pub good_len: u64,
    /// Why reading stopped before the end, if it did.
    pub damage: Option<String>,
}

/// The open journal file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Box<dyn AppendFile>,
    len: u64,
    /// The file's size: zeros from `len` up to here, written ahead (see [`Journal::append`]).
    cap: u64,
    unsynced: bool,
    /// What was written since the last good sync, shared with the background syncer.
    tail: Arc<Mutex<Tail>>,
}

/// The journal's bytes written since the last good sync (see the module's note on fsyncgate).
#[derive(Debug, Default)]
struct Tail {
    /// Where they start in the file.
    from: u64,
    bytes: Vec<u8>,
    /// A sync failed since: they must be written again before any sync counts.
    failed: bool,
    /// Failed syncs so far: a sync during which one failed does not count.
    failures: u64,
}

/// Why a sync was refused without trying: an earlier one failed and the records it should
/// have made durable have not been written again yet.
const REWRITE_PENDING: &str =
    "an earlier journal fsync failed and its records have not been written again yet";

fn lock_tail(tail: &Mutex<Tail>) -> MutexGuard<'_, Tail> {
    tail.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `sync` as a sync of the journal: it counts (`Ok`) only if no failure is waiting for
/// its bytes to be written again and none happened meanwhile; then the bytes written before it
/// began are durable and leave the tail. A failure marks the tail for rewriting.
fn guarded_sync(tail: &Mutex<Tail>, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    let (end, failures) = {
        let t = lock_tail(tail);
        if t.failed {
            return Err(io::Error::other(REWRITE_PENDING));
        }
        (t.from + t.bytes.len() as u64, t.failures)
    };
    let r = sync();
    let mut t = lock_tail(tail);
    match r {
        Ok(()) if t.failures == failures && !t.failed => {
            let done = usize::try_from(end.saturating_sub(t.from))
                .unwrap_or(usize::MAX)
                .min(t.bytes.len());
            t.bytes.drain(..done);
            t.from += done as u64;
            Ok(())
        }
        Ok(()) => Err(io::Error::other(
            "another journal fsync failed while this one ran: it cannot be trusted",
        )),
        Err(e) => {
            t.failed = true;
            t.failures += 1;
            Err(e)
        }
    }
}

/// How far ahead of its records the journal's file is filled with zeros.
const PREALLOC: u64 = 256 << 10;

/// Encodes one record as a journal line.
pub fn encode(rec: &Record) -> Vec<u8> {
    let json = serde_json::to_string(rec).unwrap_or_default();
    let crc = crc32fast::hash(json.as_bytes());
    format!("{crc:08x} {json}\n").into_bytes()
}

/// Parses journal bytes, stopping at the first torn or damaged line.
pub fn parse(bytes: &[u8]) -> Replay {
    let mut out = Replay::default();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = bytes.get(pos..).unwrap_or_default();
        if rest.iter().all(|b| *b == 0) {
            // The preallocated zeros past the last record (see [`Journal::append`]): the end.
            break;
        }
        let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
            out.damage = Some(format!(
                "torn record at byte {pos} (no end of line): a write cut short"
            ));
            break;
        };
        let line = rest.get(..nl).unwrap_or_default();
        match parse_line(line) {
            Ok(rec) => out.records.push(rec),
            Err(why) => {
                out.damage = Some(format!("damaged record at byte {pos}: {why}"));
                break;
            }
        }
        pos += nl + 1;
        out.good_len = pos as u64;
    }
    out
}

/// Why a journal line is not a record (the replay reports it as the journal's damage).
#[derive(Debug, thiserror::Error)]
enum RecordError {
    /// The line is not text.
    #[error("not UTF-8")]
    NotUtf8,
    /// No space between the checksum and the record.
    #[error("no checksum")]
    NoChecksum,
    /// The checksum is not hex.
    #[error("bad checksum field")]
    BadChecksumField,
    /// The record does not match its checksum.
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// The checksum matches but the record is not one this build reads.
    #[error("unreadable record: {0}")]
    Unreadable(serde_json::Error),
}

fn parse_line(line: &[u8]) -> Result<Record, RecordError> {
    let text = std::str::from_utf8(line).map_err(|_| RecordError::NotUtf8)?;
    let (crc, json) = text.split_once(' ').ok_or(RecordError::NoChecksum)?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| RecordError::BadChecksumField)?;
    if crc32fast::hash(json.as_bytes()) != crc {
        return Err(RecordError::ChecksumMismatch);
    }
    serde_json::from_str(json).map_err(RecordError::Unreadable)
}

impl Journal {
    /// Opens (creating) the journal at `path` for appending at `len` bytes, cutting off any
    /// damaged tail beyond it.
    ///
    /// # Errors
    /// I/O errors.
    pub fn open(path: &Path, len: u64) -> io::Result<Self> {
        Self::open_in(&RealFs, path, len)
    }

    /// [`Journal::open`] through a file-system layer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn open_in(fs: &dyn FsLayer, path: &Path, len: u64) -> io::Result<Self> {
        let (mut file, created) = fs.open_append(path)?;
        if created {
            // The journal's name must be durable before any record synced into it counts.
            if let Some(dir) = path.parent() {
                fs.sync_dir(dir)?;
            }
        }
        if file.size()? != len {
            file.set_len(len)?;
            file.sync()?;
        } else if len > 0 {
            // What a crashed process wrote may still be only in the page cache: the replay
            // is about to act on it (and report it), so it is made durable first.
            file.sync()?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len,
            cap: len,
            unsynced: false,
            tail: Arc::new(Mutex::new(Tail {
                from: len,
                ..Tail::default()
            })),
        })
    }

    /// Reads the whole journal at `path` (missing means empty).
    ///
    /// # Errors
    /// I/O errors other than "not found".
    pub fn read(path: &Path) -> io::Result<Replay> {
        Self::read_in(&RealFs, path)
    }

    /// [`Journal::read`] through a file-system layer.
    ///
    /// # Errors
    /// I/O errors other than "not found".
    pub fn read_in(fs: &dyn FsLayer, path: &Path) -> io::Result<Replay> {
        match fs.read(path) {
            Ok(bytes) => Ok(parse(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Replay::default()),
            Err(e) => Err(e),
        }
    }

    /// Appends a record; durable only after [`Journal::sync`].
    ///
    /// # Errors
    /// I/O errors (the journal is then cut back to its last good length).
    pub fn append(&mut self, rec: &Record) -> io::Result<()> {
        let line = encode(rec);
        fail_point("journal.before_append");
        let end = self.len + line.len() as u64;
        if end > self.cap {
            // Written ahead with real zeros (not a hole, not fallocate's unwritten extents):
            // a record that lands on blocks already written changes no metadata, so its
            // fdatasync is a data write and a cache flush, without a file-system journal
            // commit (which would also carry every other file's pending renames). The
            // trailing zeros read as the end on replay.
            let cap = end.div_ceil(PREALLOC) * PREALLOC + PREALLOC;
            let zeros = vec![0u8; usize::try_from(cap - self.cap).unwrap_or(0)];
            if let Err(e) = self.file.write_at(self.cap, &zeros) {
                let _ = self.file.set_len(self.len);
                self.cap = self.len;
                return Err(e);
            }
            self.cap = cap;
        }
        if let Err(e) = self.file.write_at(self.len, &line) {
            let _ = self.file.set_len(self.len);
            self.cap = self.len;
            return Err(e);
        }
        {
            let mut t = lock_tail(&self.tail);
            if t.bytes.is_empty() {
                t.from = self.len;
            }
            t.bytes.extend_from_slice(&line);
        }
        self.len += line.len() as u64;
        self.unsynced = true;
        fail_point("journal.after_append");
        Ok(())
    }

    /// Makes every appended record durable (one fsync, none if nothing is pending).
    ///
    /// # Errors
    /// I/O errors.
    pub fn sync(&mut self) -> io::Result<()> {
        self.rewrite_if_failed()?;
        if self.unsynced {
            fail_point("journal.before_sync");
            let file = &mut self.file;
            guarded_sync(&self.tail, || file.sync())?;
            self.unsynced = false;
            fail_point("journal.after_sync");
        }
        Ok(())
    }

    /// A handle that syncs the journal from another thread (see [`super::gate::Syncer`]).
    /// After a failed sync it refuses (fails) until [`Journal::rewrite_if_failed`] has run.
    pub fn background_sync(&self) -> Option<crate::durable::fs::BackgroundSync> {
        let mut sync = self.file.background_sync()?;
        let tail = Arc::clone(&self.tail);
        Some(Box::new(move || guarded_sync(&tail, &mut sync)))
    }

    /// After a failed sync: writes every byte since the last good one again, so that the next
    /// sync makes them durable whatever the failed one left of them. Nothing to do otherwise.
    ///
    /// # Errors
    /// I/O errors (the tail stays marked, and this is tried again before the next sync).
    pub fn rewrite_if_failed(&mut self) -> io::Result<()> {
        let mut t = lock_tail(&self.tail);
        if !t.failed {
            return Ok(());
        }
        if !t.bytes.is_empty() {
            self.file.write_at(t.from, &t.bytes)?;
        }
        t.failed = false;
        self.unsynced = true;
        Ok(())
    }

    /// Current length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the journal holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the journal once everything in it has been folded into message files.
    ///
    /// # Errors
    /// I/O errors.
    pub fn truncate(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.cap = 0;
        self.file.sync()?;
        self.len = 0;
        self.unsynced = false;
        // Everything it held is in message files: nothing is left to write again.
        let mut t = lock_tail(&self.tail);
        t.from = 0;
        t.bytes.clear();
        t.failed = false;
        Ok(())
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::durable::fs::BackgroundSync;

    /// A disk with Linux's behaviour on a failed write-back: the pages that did not reach it
    /// are marked clean anyway, so the next fsync succeeds without writing them.
    #[derive(Debug, Default)]
    struct Disk {
        cache: Vec<u8>,
        platter: Vec<u8>,
        /// Byte ranges written since their last write-back.
        dirty: Vec<(usize, usize)>,
        fail_next: bool,
    }

    impl Disk {
        fn sync(&mut self) -> io::Result<()> {
            let dirty = std::mem::take(&mut self.dirty);
            if std::mem::take(&mut self.fail_next) {
                return Err(io::Error::other("injected: EIO on write-back"));
            }
            if self.platter.len() < self.cache.len() {
                self.platter.resize(self.cache.len(), 0);
            }
            for (a, b) in dirty {
                self.platter[a..b].copy_from_slice(&self.cache[a..b]);
            }
            Ok(())
        }
    }

    #[derive(Debug, Clone, Default)]
    struct Gate(Arc<Mutex<Disk>>);

    impl AppendFile for Gate {
        fn size(&self) -> io::Result<u64> {
            Ok(self.0.lock().unwrap().cache.len() as u64)
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            let mut d = self.0.lock().unwrap();
            d.cache.resize(usize::try_from(len).unwrap(), 0);
            d.platter.resize(usize::try_from(len).unwrap(), 0);
            Ok(())
        }
        fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
            let mut d = self.0.lock().unwrap();
            let (a, b) = (
                usize::try_from(offset).unwrap(),
                usize::try_from(offset).unwrap() + bytes.len(),
            );
            if d.cache.len() < b {
                d.cache.resize(b, 0);
            }
            d.cache[a..b].copy_from_slice(bytes);
            d.dirty.push((a, b));
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            self.0.lock().unwrap().sync()
        }
        fn background_sync(&self) -> Option<BackgroundSync> {
            let d = Arc::clone(&self.0);
            Some(Box::new(move || d.lock().unwrap().sync()))
        }
    }

    fn journal(disk: &Gate) -> Journal {
        Journal {
            path: PathBuf::from("journal/test.jnl"),
            file: Box::new(disk.clone()),
            len: 0,
            cap: 0,
            unsynced: false,
            tail: Arc::new(Mutex::new(Tail::default())),
        }
    }

    fn record(n: u64) -> Record {
        let mut patch = Patch::default();
        patch.unset.push(format!("step {n}"));
        Record {
            eid: EntryId(n),
            rev: 1,
            patch,
        }
    }

    /// The entry ids of the records that would be replayed from what reached the disk.
    fn on_disk(disk: &Gate) -> Vec<u64> {
        let bytes = disk.0.lock().unwrap().platter.clone();
        parse(&bytes).records.iter().map(|r| r.eid.0).collect()
    }

    #[test]
    fn after_a_failed_fsync_no_sync_counts_until_the_records_are_written_again() {
        let disk = Gate::default();
        let mut j = journal(&disk);
        let mut background = j.background_sync().unwrap();
        j.append(&record(1)).unwrap();
        background().unwrap();
        assert_eq!(on_disk(&disk), [1]);
        // Record 2's write-back fails: its page is clean now, and not on the disk.
        j.append(&record(2)).unwrap();
        disk.0.lock().unwrap().fail_next = true;
        assert!(background().is_err());
        j.append(&record(3)).unwrap();
        // A plain second fsync would succeed with record 2 missing (and replay would stop
        // there, losing 3 as well): it is refused instead, and nothing is claimed durable.
        let refused = background().unwrap_err();
        assert!(refused.to_string().contains("written again"), "{refused}");
        assert_eq!(on_disk(&disk), [1]);
        // Written again, then synced: all three are on the disk.
        j.rewrite_if_failed().unwrap();
        background().unwrap();
        assert_eq!(on_disk(&disk), [1, 2, 3]);
        assert!(
            lock_tail(&j.tail).bytes.is_empty(),
            "nothing left to write again"
        );
        // The foreground sync does the rewriting itself.
        j.append(&record(4)).unwrap();
        disk.0.lock().unwrap().fail_next = true;
        assert!(j.sync().is_err());
        j.append(&record(5)).unwrap();
        j.sync().unwrap();
        assert_eq!(on_disk(&disk), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_sync_that_ran_while_another_failed_does_not_count() {
        let tail = Mutex::new(Tail {
            from: 0,
            bytes: b"record\n".to_vec(),
            ..Tail::default()
        });
        let r = guarded_sync(&tail, || {
            // Another sync fails while this one runs.
            assert!(guarded_sync(&tail, || Err(io::Error::other("EIO"))).is_err());
            Ok(())
        });
        assert!(r.unwrap_err().to_string().contains("cannot be trusted"));
        let t = lock_tail(&tail);
        assert!(t.failed);
        assert_eq!(t.bytes, b"record\n", "kept, to be written again");
    }
}
