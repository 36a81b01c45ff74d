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

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fs::{AppendFile, FsLayer, RealFs, fail_point};
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

fn parse_line(line: &[u8]) -> Result<Record, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned())?;
    let (crc, json) = text.split_once(' ').ok_or("no checksum")?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| "bad checksum field".to_owned())?;
    if crc32fast::hash(json.as_bytes()) != crc {
        return Err("checksum mismatch".into());
    }
    serde_json::from_str(json).map_err(|e| format!("unreadable record: {e}"))
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
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len,
            cap: len,
            unsynced: false,
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
        if self.unsynced {
            fail_point("journal.before_sync");
            self.file.sync()?;
            self.unsynced = false;
            fail_point("journal.after_sync");
        }
        Ok(())
    }

    /// A handle that syncs the journal from another thread (see [`super::gate::Syncer`]).
    pub fn background_sync(&self) -> Option<super::fs::BackgroundSync> {
        self.file.background_sync()
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
        Ok(())
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
