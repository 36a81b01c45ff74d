//! The spool's timeline: every step and every transport hand-off as a span from its start to
//! its end, breakpoints, pauses and injected faults as marks, and the queue's depth as
//! samples. The spooler records them as it runs ([`Recorder`]); the Timeline panel draws
//! them, and `spoolbox timeline` exports them (as JSON, or as a Chrome trace event file for
//! Perfetto: [`chrome`]).
//!
//! Kept under the store as JSON lines in `timeline/NNNNNNNN.jsonl`, one span a line, in
//! segments of at most [`Limits::segment_bytes`]; the oldest segment goes when there are more
//! than [`Limits::segments`] (by default 16 MiB × 8, about the last million spans). Written
//! in batches at most [`FLUSH_EVERY`] apart and synced when the spooler goes idle or stops:
//! a crash of the process loses at most the last batch, a power cut at most what was not
//! synced yet, and a torn last line is skipped on reading. The timeline is a record for
//! people, never a promise the pipeline depends on: when it cannot be written, the pipeline
//! goes on and the trouble is reported once.
//!
//! Every segment is reached through the store's one way in ([`Beneath`]): a symbolic link at
//! `timeline/` or at a segment, a FIFO or a segment shared by hard links with a file
//! elsewhere is never followed, waited on or written in place (a shared last segment is left
//! as it is and a fresh one started); rotation deletes only regular files found so.

pub mod chrome;
mod read;

pub use read::{Filter, HISTORY_SPANS, MAX_LINE, Recorded, read};

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::durable::fs::beneath::{Access, Beneath, is_shared_link};
use crate::mapi::{EntryId, Step};

/// The spooler's own lane (steps, breakpoints, pauses, queue samples); each transport has a
/// lane of its own, named after it.
pub const SPOOLER_LANE: &str = "spooler";

/// The folder under the store.
pub const DIR: &str = "timeline";

/// Recorded spans are written out at least this often while the spooler runs.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// What a span stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One pipeline step of one message, on the spooler's lane.
    Step,
    /// One `IXPLogon::SubmitMessage` (and `EndMessage`) on a transport's lane: from the
    /// hand-off to the transport's answer.
    Handoff,
    /// The spooler stopped before a step at a breakpoint (a mark).
    Breakpoint,
    /// The spooler was paused by the user, or stopped after a single step (a mark).
    Pause,
    /// A fault injected around a transport changed a hand-off (a mark on its lane).
    Fault,
    /// A sample of the queue's depth (`depth`), taken at most a few times a second.
    Queue,
}

/// How a span ended; the timeline's colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A step that ran to its end.
    #[default]
    Done,
    /// A step that did not apply.
    Skipped,
    /// A step that must run again later, or a hand-off still under way on its transport.
    Waiting,
    /// A step that failed.
    Error,
    /// A hand-off whose recipients were all delivered.
    Delivered,
    /// A hand-off with trouble to retry later (4xx, `MAPI_E_WAIT`, `MAPI_E_NETWORK_ERROR`),
    /// or kept by the transport for later (`END_DONT_RESEND`, `BEGIN_DEFERRED`).
    Deferred,
    /// A hand-off with at least one recipient failed for good.
    Failed,
    /// A hand-off the transport declined with `MAPI_E_NOT_ME`.
    Declined,
    /// A hand-off whose outcome the server kept (the connection broke after the final dot).
    Unknown,
}

impl Outcome {
    /// In words, for hover text and exports.
    pub const fn word(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Waiting => "waiting",
            Self::Error => "error",
            Self::Delivered => "delivered",
            Self::Deferred => "deferred",
            Self::Failed => "failed",
            Self::Declined => "declined (MAPI_E_NOT_ME)",
            Self::Unknown => "outcome unknown",
        }
    }
}

/// The queue's depth by state at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depth {
    /// Submitted and eligible now (queued, queued for preprocessing, locked).
    pub queued: u32,
    /// Handed to a transport that has not answered yet.
    pub in_flight: u32,
    /// Waiting for a retry, or kept by a transport for later.
    pub retrying: u32,
    /// Held by the user, or a deferred send whose time has not come.
    pub held: u32,
}

/// One span or mark of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Start, in microseconds since the Unix epoch (the spooler's clock).
    #[serde(rename = "t")]
    pub start: i64,
    /// Duration in microseconds (0 for a mark or a sample).
    #[serde(rename = "d", default, skip_serializing_if = "is_zero")]
    pub dur: u64,
    /// The lane: [`SPOOLER_LANE`] or a transport's name.
    #[serde(rename = "l")]
    pub lane: String,
    /// What it stands for.
    #[serde(rename = "k")]
    pub kind: Kind,
    /// The step (steps, breakpoints, pauses at a step, and hand-offs: Transmit).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// The message.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<EntryId>,
    /// How it ended.
    #[serde(rename = "o", default)]
    pub outcome: Outcome,
    /// The recipients offered (hand-offs), at most [`MAX_WHO`] and a count of the rest.
    #[serde(rename = "w", default, skip_serializing_if = "Vec::is_empty")]
    pub who: Vec<String>,
    /// The MAPI call's result or the mark's reason, in words.
    #[serde(rename = "x", default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The queue's depth ([`Kind::Queue`] only).
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<Depth>,
}

/// Recipients named on one hand-off span; the rest are counted.
pub const MAX_WHO: usize = 8;

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if"
)]
const fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Span {
    /// A span on `lane` from `start` (µs since the epoch) lasting `dur` µs.
    pub fn new(lane: &str, kind: Kind, start: i64, dur: u64) -> Self {
        Self {
            start,
            dur,
            lane: lane.to_owned(),
            kind,
            step: None,
            eid: None,
            outcome: Outcome::Done,
            who: Vec::new(),
            text: String::new(),
            depth: None,
        }
    }

    /// When it ended, µs since the epoch.
    pub fn end(&self) -> i64 {
        self.start
            .saturating_add(i64::try_from(self.dur).unwrap_or(i64::MAX))
    }

    /// True for marks (breakpoints, pauses, faults), drawn as a flag rather than a bar.
    pub const fn is_mark(&self) -> bool {
        matches!(self.kind, Kind::Breakpoint | Kind::Pause | Kind::Fault)
    }
}

/// The names of `who`, with a count of those left out past [`MAX_WHO`].
pub fn who_list<'a>(all: impl ExactSizeIterator<Item = &'a str>) -> Vec<String> {
    let n = all.len();
    let mut v: Vec<String> = all.take(MAX_WHO).map(str::to_owned).collect();
    if n > MAX_WHO {
        v.push(format!("and {} more", n - MAX_WHO));
    }
    v
}

/// µs since the Unix epoch of a timestamp.
pub fn micros(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

/// How much is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A segment is closed once it holds this many bytes.
    pub segment_bytes: u64,
    /// At most this many segments are kept; the oldest goes first.
    pub segments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            segment_bytes: 16 << 20,
            segments: 8,
        }
    }
}

/// Appends spans to the store's timeline (see the module documentation).
#[derive(Debug)]
pub struct Recorder {
    root: PathBuf,
    dir: PathBuf,
    limits: Limits,
    file: Option<File>,
    segment: u64,
    segment_len: u64,
    buf: Vec<u8>,
    last_write: Instant,
    unsynced: bool,
    /// Set once writing failed; recording stops and the reason is reported once.
    broken: Option<String>,
    reported: bool,
}

impl Recorder {
    /// A recorder for the store at `root`; nothing is touched before the first span.
    pub fn new(root: &Path) -> Self {
        Self::with_limits(root, Limits::default())
    }

    /// As [`Recorder::new`], keeping what `limits` allow.
    pub fn with_limits(root: &Path, limits: Limits) -> Self {
        Self {
            root: root.to_path_buf(),
            dir: root.join(DIR),
            limits,
            file: None,
            segment: 0,
            segment_len: 0,
            buf: Vec::with_capacity(64 << 10),
            last_write: Instant::now(),
            unsynced: false,
            broken: None,
            reported: false,
        }
    }

    /// Records one span; written out with the batch it belongs to.
    pub fn record(&mut self, span: &Span) {
        if self.broken.is_some() {
            return;
        }
        // A span always serialises (plain fields, no maps with non-string keys).
        if serde_json::to_writer(&mut self.buf, span).is_ok() {
            self.buf.push(b'\n');
        }
        if self.buf.len() >= 256 << 10 || self.last_write.elapsed() >= FLUSH_EVERY {
            self.write_out();
        }
    }

    /// Writes out what was recorded (a crash of the process loses nothing written).
    pub fn write_out(&mut self) {
        self.last_write = Instant::now();
        if self.buf.is_empty() || self.broken.is_some() {
            return;
        }
        if let Err(e) = self.append() {
            self.broken = Some(format!("the timeline is no longer recorded: {e}"));
        }
        self.buf.clear();
    }

    /// Writes out and syncs what was recorded (a power cut loses nothing synced).
    pub fn sync(&mut self) {
        self.write_out();
        if self.unsynced
            && let Some(f) = &self.file
        {
            // A failed sync is not fatal: the spans stay written and are synced next time.
            if f.sync_data().is_ok() {
                self.unsynced = false;
            }
        }
    }

    /// Why recording stopped, once.
    pub fn take_trouble(&mut self) -> Option<String> {
        if self.reported {
            return None;
        }
        let t = self.broken.clone();
        self.reported = t.is_some();
        t
    }

    fn append(&mut self) -> std::io::Result<()> {
        if self.file.is_none() || self.segment_len >= self.limits.segment_bytes {
            self.roll()?;
        }
        if let Some(f) = &mut self.file {
            f.write_all(&self.buf)?;
            self.segment_len += self.buf.len() as u64;
            self.unsynced = true;
        }
        Ok(())
    }

    /// Opens the last segment (on the first write) or starts the next one, dropping the
    /// oldest beyond the limit. An error names the file.
    fn roll(&mut self) -> std::io::Result<()> {
        if let Some(f) = self.file.take() {
            let _ = f.sync_data();
        }
        // The root is the user's (links allowed there); below it nothing is followed.
        std::fs::create_dir_all(&self.root).map_err(|e| named(&self.root, &e))?;
        let store = Beneath::new(&self.root).map_err(|e| named(&self.root, &e))?;
        store
            .create_dir(&self.dir)
            .map_err(|e| named(&self.dir, &e))?;
        let existing = segments(&store, &self.dir)?;
        let first_write = self.segment == 0;
        let (mut n, mut fresh) = match existing.last() {
            Some(&(n, _)) if first_write => (n, false),
            Some(&(n, _)) => (n + 1, true),
            None => (1, true),
        };
        let mut path = segment_path(&self.dir, n);
        let f = match store.open(&path, Access::Append) {
            // Shared with a file elsewhere (a copy made with `cp -al`): never appended to.
            Err(e) if !fresh && is_shared_link(&e) => {
                (n, fresh) = (n + 1, true);
                path = segment_path(&self.dir, n);
                store.open(&path, Access::Append)
            }
            opened => opened,
        };
        let mut f = f.map_err(|e| named(&path, &e))?;
        let len = f.metadata()?.len();
        if !fresh && len > 0 && last_byte(&store, &path)? != Some(b'\n') {
            // A torn last line (a crash mid-write): start on a line of our own.
            f.write_all(b"\n")?;
        }
        if fresh {
            store.sync_dir(&self.dir).ok();
        }
        self.segment = n;
        self.segment_len = len;
        self.file = Some(f);
        if first_write && len >= self.limits.segment_bytes {
            // The last segment is full already: go on in a fresh one.
            return self.roll();
        }
        let keep = self.limits.segments.max(1);
        let all = segments(&store, &self.dir)?;
        if all.len() > keep {
            for (_, p) in &all[..all.len() - keep] {
                // Only a regular file, reached without following a link.
                store.remove(p).ok();
            }
        }
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.sync();
    }
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}.jsonl"))
}

/// `path: error`, the path said once.
fn named(path: &Path, e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn last_byte(store: &Beneath, path: &Path) -> std::io::Result<Option<u8>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = store
        .open(path, Access::Read)
        .map_err(|e| named(path, &e))?;
    if f.seek(SeekFrom::End(0))? == 0 {
        return Ok(None);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(Some(b[0]))
}

/// The segments under `dir`, oldest first (a symbolic link at `dir` is refused).
fn segments(store: &Beneath, dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut v = Vec::new();
    let items = match store.read_dir(dir) {
        Ok(items) => items,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
        Err(e) => return Err(named(dir, &e)),
    };
    for item in items {
        let n = item
            .name
            .to_str()
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = n {
            v.push((n, dir.join(&item.name)));
        }
    }
    v.sort_unstable_by_key(|(n, _)| *n);
    Ok(v)
}

/// True when the store at `root` has a recorded timeline (a segment with anything in it).
///
/// # Errors
/// When the timeline's folder cannot be listed.
pub fn is_recorded(root: &Path) -> std::io::Result<bool> {
    let store = Beneath::new(root)?;
    Ok(segments(&store, &root.join(DIR))?
        .iter()
        .any(|(_, p)| store.fingerprint(p).is_ok_and(|(_, len, _)| len > 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(i: i64) -> Span {
        let mut s = Span::new(SPOOLER_LANE, Kind::Step, 1_000_000 + i * 10, 5);
        s.step = Some(Step::Transmit);
        s.eid = Some(EntryId(u64::try_from(i).unwrap_or(0)));
        s
    }

    #[test]
    fn spans_round_trip_and_rotate_within_the_limit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let limits = Limits {
            segment_bytes: 2_000,
            segments: 3,
        };
        {
            let mut r = Recorder::with_limits(dir.path(), limits);
            for i in 0..500 {
                r.record(&span(i));
                if i % 20 == 0 {
                    r.write_out();
                }
            }
        }
        let all = read(dir.path(), Filter::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all.skipped, 0);
        let store = Beneath::new(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let files = segments(&store, &dir.path().join(DIR)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.len(), 3, "only the last segments are kept");
        // The newest spans are kept, in order, and the oldest are gone.
        let last = all.spans.last().map(|s| s.eid);
        assert_eq!(last, Some(Some(EntryId(499))));
        assert!(all.spans.len() < 500 && all.spans.len() > 20);
        assert!(all.spans.windows(2).all(|w| w[0].start < w[1].start));
        let tail = read(
            dir.path(),
            Filter {
                since: None,
                last: Some(7),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tail.spans.len(), 7);
        assert_eq!(tail.spans[6].eid, Some(EntryId(499)));
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_recording_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        {
            let mut r = Recorder::new(dir.path());
            r.record(&span(1));
        }
        let seg = segment_path(&dir.path().join(DIR), 1);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&seg)
            .unwrap_or_else(|e| panic!("{e}"));
        f.write_all(b"{\"t\":12,\"l\":\"spo")
            .unwrap_or_else(|e| panic!("{e}"));
        drop(f);
        {
            let mut r = Recorder::new(dir.path());
            r.record(&span(2));
        }
        let all = read(dir.path(), Filter::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all.skipped, 1);
        let ids: Vec<_> = all.spans.iter().map(|s| s.eid).collect();
        assert_eq!(ids, vec![Some(EntryId(1)), Some(EntryId(2))]);
        let since = read(
            dir.path(),
            Filter {
                since: Some(1_000_016),
                last: None,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(since.spans.len(), 1, "since keeps what ends at or after it");
    }
}
