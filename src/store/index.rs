//! `index.json`: rebuildable summaries for a fast first frame.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::durable::fs;
use crate::mapi::{EntryId, SCHEMA_VERSION};

use super::error::{Result, StoreError, io_err};
use super::{Store, Summary};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "IndexRow", try_from = "IndexRow")]
pub(super) struct IndexEntry {
    pub(super) ino: u64,
    pub(super) len: u64,
    pub(super) mtime_ns: i128,
    pub(super) summary: Summary,
}

/// One `index.json` entry as a JSON array, times as nanosecond numbers: reading 100,000 of
/// these is several times cheaper than objects with named fields and RFC 3339 strings, and
/// the index exists only to make the first frame fast.
#[derive(Serialize, Deserialize)]
struct IndexRow(
    u64,
    u64,
    i64,
    u64,
    u64,
    u64,
    String,
    String,
    String,
    u32,
    Option<u32>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    crate::mapi::MessageState,
    Option<crate::mapi::Step>,
    Option<String>,
    u32,
    u32,
    u32,
    u32,
    u32,
    Option<String>,
    Vec<String>,
    String,
    Option<i64>,
    Option<i64>,
    Option<u64>,
    Option<i64>,
);

impl From<IndexEntry> for IndexRow {
    fn from(e: IndexEntry) -> Self {
        let s = e.summary;
        // i64 nanoseconds reach the year 2262; serde_json reads them much faster than i128.
        let ns =
            |t: Option<Timestamp>| t.map(|t| i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX));
        Self(
            e.ino,
            e.len,
            i64::try_from(e.mtime_ns).unwrap_or(i64::MAX),
            s.eid.0,
            s.folder.0,
            s.revision,
            s.subject,
            s.to,
            s.class,
            s.message_flags,
            s.submit_flags,
            ns(s.client_submit_time),
            ns(s.deferred_send_time),
            ns(s.next_retry),
            s.base_state,
            s.next_step,
            s.last_error,
            s.done,
            s.total,
            s.attachments,
            s.failed,
            s.unknown,
            s.waiting_on,
            s.pending_types,
            s.from,
            ns(s.delivered_at),
            ns(s.sent_at),
            s.deleted_from.map(|e| e.0),
            ns(s.deleted_on),
        )
    }
}

impl TryFrom<IndexRow> for IndexEntry {
    type Error = jiff::Error;

    fn try_from(r: IndexRow) -> std::result::Result<Self, jiff::Error> {
        let t = |n: Option<i64>| {
            n.map(|n| Timestamp::from_nanosecond(i128::from(n)))
                .transpose()
        };
        Ok(Self {
            ino: r.0,
            len: r.1,
            mtime_ns: i128::from(r.2),
            summary: Summary {
                eid: EntryId(r.3),
                folder: EntryId(r.4),
                revision: r.5,
                subject: r.6,
                to: r.7,
                class: r.8,
                message_flags: r.9,
                submit_flags: r.10,
                client_submit_time: t(r.11)?,
                deferred_send_time: t(r.12)?,
                next_retry: t(r.13)?,
                base_state: r.14,
                next_step: r.15,
                last_error: r.16,
                done: r.17,
                total: r.18,
                attachments: r.19,
                failed: r.20,
                unknown: r.21,
                waiting_on: r.22,
                pending_types: r.23,
                from: r.24,
                delivered_at: t(r.25)?,
                sent_at: t(r.26)?,
                deleted_from: r.27.map(EntryId),
                deleted_on: t(r.28)?,
            },
        })
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct IndexFile {
    pub(super) schema: u32,
    pub(super) entries: Vec<IndexEntry>,
}

impl Store {
    /// Writes `index.json` so the next open can skip reading unchanged message files.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write_index(&mut self) -> Result<()> {
        let mut entries = Vec::with_capacity(self.summaries.len());
        for (eid, s) in &self.summaries {
            if self.dirty.contains(eid) {
                continue; // its file is older than its summary; read it next time
            }
            let Some((ino, len, mtime_ns)) = self.fingerprints.get(eid).copied() else {
                continue;
            };
            entries.push(IndexEntry {
                ino,
                len,
                mtime_ns,
                summary: s.clone(),
            });
        }
        let bytes = serde_json::to_vec(&IndexFile {
            schema: SCHEMA_VERSION,
            entries,
        })
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let dest = self.root.join("index.json");
        fs::write_replace_nosync_in(&*self.fs, &self.root.join("tmp"), &dest, &bytes)
            .map_err(io_err(&dest))
    }
}
