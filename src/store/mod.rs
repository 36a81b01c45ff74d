//! The JSON message store on disk (ARCHITECTURE section 3).
//!
//! ```text
//! STORE/
//!   store.lock      the owner's pid; the owner locks the store directory and this file (see lock)
//!   store.json      store properties, folders, profile, schema version
//!   tmp/            scratch: every file is written here, fsynced, then renamed into place
//!   folders/<folder-id>/<entry-id>.json   one message per file, pretty JSON
//!   journal/journal.log                  per-step patches, checksummed lines
//!   quarantine/     files read and found wrong (corrupt), each with a .why beside it
//!   index.json      rebuildable summaries for a fast first frame
//! ```
//!
//! A message file that cannot be read at all (permissions, an I/O error, a FIFO) is not
//! corrupt: it stays where it is, is listed as [`Unreadable`] and kept out of the queue, and
//! comes back once it can be read. No file is opened through a symbolic link or blocked on:
//! see [`fs::open_regular`]; the store's special files must be regular files, and everything
//! the store creates is private to its owner (0600 files, 0700 directories).
//!
//! The store knows nothing of transports; the spooler drives it.

pub mod fs;
mod group;
pub mod journal;
pub mod lock;
pub mod summary;
mod traces;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::durable::gate;
use crate::mapi::tags::{
    PR_DISPLAY_NAME, PR_IPM_OUTBOX_ENTRYID, PR_IPM_SENTMAIL_ENTRYID, PR_IPM_WASTEBASKET_ENTRYID,
};
use crate::mapi::{EntryId, IdMap, IdSet, MapiError, Message, PropBag, PropValue, SCHEMA_VERSION};
pub use crate::profile::Profile;
use fs::{FsLayer, RealFs};
pub use journal::Patch;
use journal::{Journal, Record};
pub use lock::StoreLock;
pub use summary::Summary;

/// Entry ids are reserved in blocks so that a crash never hands out an id twice without
/// writing `store.json` for every new message.
const ID_BLOCK: u64 = 64;
/// Fold the journal into message files once it grows past this.
const JOURNAL_COMPACT_BYTES: u64 = 8 << 20;

/// What can go wrong with a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process owns the store.
    #[error(
        "the store {root} is in use by {holder}: only one Spoolbox may open a store at a time; close the other one or pick another store with --store"
    )]
    Locked {
        /// The store directory.
        root: PathBuf,
        /// "process 1234".
        holder: String,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A MAPI rule refused the operation.
    #[error(transparent)]
    Mapi(#[from] MapiError),
    /// No such message.
    #[error("no message {0} in this store")]
    NotFound(EntryId),
    /// No such folder.
    #[error("no folder named {0:?} in this store")]
    NoFolder(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Shorthand.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The well-known folders and user folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FolderKind {
    /// `PR_IPM_OUTBOX_ENTRYID`
    Outbox,
    /// `PR_IPM_SENTMAIL_ENTRYID`
    SentItems,
    /// `PR_IPM_WASTEBASKET_ENTRYID`
    DeletedItems,
    /// Receives NDRs and local deliveries.
    Inbox,
    /// Created by the user or a hook.
    User,
}

/// One folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    /// Its entry id (also its directory name under `folders/`).
    pub entry_id: EntryId,
    /// Display name.
    pub name: String,
    /// Which folder it is.
    pub kind: FolderKind,
}

/// `store.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StoreMeta {
    schema: u32,
    created: Timestamp,
    /// Store properties (`PR_DISPLAY_NAME`, `PR_IPM_*_ENTRYID`).
    props: PropBag,
    folders: Vec<Folder>,
    /// Entry ids below this may have been handed out.
    id_reserved_until: u64,
    profile: Profile,
}

/// A file moved aside because it could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quarantined {
    /// Where it was.
    pub original: PathBuf,
    /// Where it is now.
    pub moved_to: PathBuf,
    /// Why.
    pub reason: String,
}

/// A message file that could not be read (permissions, an I/O error, not a regular file):
/// not corrupt, so not quarantined. It is left where it is, out of the queue, and comes back
/// once it can be read (the next open, or [`Store::recheck_unreadable`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unreadable {
    /// The message.
    pub eid: EntryId,
    /// Its folder.
    pub folder: EntryId,
    /// The file.
    pub path: PathBuf,
    /// Why it could not be read.
    pub reason: String,
    /// What `index.json` or memory last knew of it, if anything.
    #[serde(skip)]
    pub summary: Option<Summary>,
}

/// What opening a store found and repaired.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OpenReport {
    /// The store was created now.
    pub created: bool,
    /// Messages found.
    pub messages: usize,
    /// Files moved to quarantine.
    pub quarantined: Vec<Quarantined>,
    /// Journal records replayed into message files.
    pub journal_replayed: usize,
    /// Damage found at the journal's tail.
    pub journal_damage: Option<String>,
    /// Leftover temp files removed.
    pub tmp_removed: usize,
    /// Messages found twice (a crash inside `FinishedMsg`) and resolved to one copy.
    pub duplicates_resolved: usize,
    /// Summaries taken from `index.json` without reading the message file.
    pub from_index: usize,
    /// Message files that could not be read (left in place, out of the queue).
    pub unreadable: Vec<Unreadable>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "IndexRow", try_from = "IndexRow")]
struct IndexEntry {
    ino: u64,
    len: u64,
    mtime_ns: i128,
    summary: Summary,
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
        )
    }
}

impl TryFrom<IndexRow> for IndexEntry {
    type Error = String;

    fn try_from(r: IndexRow) -> std::result::Result<Self, String> {
        let t = |n: Option<i64>| {
            n.map(|n| Timestamp::from_nanosecond(i128::from(n)))
                .transpose()
                .map_err(|e| e.to_string())
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
            },
        })
    }
}

#[derive(Serialize, Deserialize)]
struct IndexFile {
    schema: u32,
    entries: Vec<IndexEntry>,
}

/// What a new store starts with: its profile, then the messages `fill` adds (the demo seed
/// lives above the store, in `spooler::demo`, since submitting is the spooler's job).
pub struct Seed {
    /// The profile written into a new `store.json` (and into a rebuilt one).
    pub profile: fn() -> Profile,
    /// Adds the first messages to the new store.
    pub fill: fn(&mut Store) -> Result<()>,
}

/// An open store, owned by this process.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    _lock: StoreLock,
    meta: StoreMeta,
    summaries: IdMap<Summary>,
    /// Messages in the pipeline (submitted, or finishing) in queue order (`PR_CLIENT_SUBMIT_TIME`, then id).
    queue: BTreeSet<(Timestamp, EntryId)>,
    /// Whole messages in memory: those with unfolded journal records, and recently used ones.
    cache: IdMap<Message>,
    /// Messages whose journal records are not yet folded into their file.
    dirty: IdSet,
    /// Messages with journal records written since the last journal fsync that are still
    /// live (not yet folded into their file by a whole-file save), with the number of syncs
    /// begun when the last was written: a later good sync made it durable.
    unsynced: IdMap<u64>,
    /// The journal's syncer thread, started at the first background sync.
    syncer: Option<gate::Syncer>,
    journal: Journal,
    /// Publishes journal syncs to the hand-offs waiting at their point of no return.
    syncs: gate::SyncBoard,
    next_id: u64,
    fingerprints: IdMap<fs::Fingerprint>,
    /// Something changed since `index.json` was read or written (it is rewritten on close).
    index_stale: bool,
    /// Folders where this process unlinked an old copy of a moved message without an fsync
    /// (see [`Store::save`]); `None` until [`Store::delete`] first made every folder durable,
    /// since an earlier process may have left such unlinks too.
    lazy_unlinks: Option<BTreeSet<EntryId>>,
    /// Whole-message writes accepted by [`Store::save_grouped`] and not yet on disk: made
    /// durable together by [`Store::commit_saves`] (group commit).
    pending: Vec<PendingSave>,
    /// How many saves of each message wait in `pending` (so [`Store::is_unsynced`] is O(1)).
    pending_ids: IdMap<u32>,
    /// Bumped whenever a message may have become durable other than by a journal sync (a
    /// whole save, a group commit): with the last good sync, what [`Store::durability_mark`]
    /// tells.
    durable_epoch: u64,
    /// Files in `tmp/` whose old names are durably gone: overwritten by the next group
    /// instead of creating new files (see [`FsLayer::create_many`]).
    spares: Vec<PathBuf>,
    /// See [`Store::take_failed_groups`].
    failed_groups: Vec<EntryId>,
    /// The group commit under way on its own thread (see [`Store::commit_saves_background`]).
    committing: Option<Committing>,
    /// Every file operation goes through this layer (the real file system by default).
    fs: Arc<dyn FsLayer>,
    /// Message files that could not be read, by entry id (see [`Unreadable`]).
    unreadable: BTreeMap<EntryId, Unreadable>,
}

/// At most this many spare files wait in `tmp/` for the next group.
const SPARES_MAX: usize = 256;

/// A group commit under way: its members (still pending for [`Store::is_unsynced`]) and the
/// thread doing its file work.
#[derive(Debug)]
struct Committing {
    members: Vec<PendingSave>,
    work: std::thread::JoinHandle<group::Outcome>,
}

/// A whole-message write waiting for its group's commit, with what to restore in memory if
/// the commit fails.
#[derive(Debug)]
struct PendingSave {
    eid: EntryId,
    folder: EntryId,
    /// The folder of the copy on disk, when it is another one (removed after the commit).
    old_folder: Option<EntryId>,
    /// The message as it is to be written (serialized with its group, on the group's
    /// thread); taken when the group is planned.
    copy: Option<Box<Message>>,
    before_summary: Option<Summary>,
    before_msg: Option<Message>,
    was_dirty: bool,
}

/// A message file's bytes: pretty JSON, as the layout promises (human-readable).
fn message_bytes(msg: &Message) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(msg).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

impl Store {
    /// The default store directory (the platform data directory, e.g. `~/.local/share/spoolbox`).
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("org", "Spoolbox", "spoolbox")
            .map(|d| d.data_dir().to_path_buf())
    }

    /// Opens the store at `root`, creating it (empty, default profile) if it does not exist.
    ///
    /// # Errors
    /// [`StoreError::Locked`] if another process owns it; I/O errors that leave it unusable.
    pub fn open(root: &Path) -> Result<(Self, OpenReport)> {
        Self::open_with(root, None, Arc::new(RealFs))
    }

    /// Opens (or creates) the store at `root` through a file-system layer, e.g. a simulated
    /// one that can cut the power. [`Store::open`] is this with [`RealFs`].
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with_fs(root: &Path, fs: Arc<dyn FsLayer>) -> Result<(Self, OpenReport)> {
        Self::open_with(root, None, fs)
    }

    /// Opens the store at `root`, creating it from `seed` (its profile, then its messages) if
    /// it is new. The seed comes from the caller: the store knows no demo and no pipeline.
    ///
    /// # Errors
    /// As [`Store::open`], and what the seed's `fill` returns.
    pub fn open_seeded(root: &Path, seed: &Seed) -> Result<(Self, OpenReport)> {
        Self::open_with(root, Some(seed), Arc::new(RealFs))
    }

    fn open_with(
        root: &Path,
        seed: Option<&Seed>,
        fs: Arc<dyn FsLayer>,
    ) -> Result<(Self, OpenReport)> {
        fs::create_dir_durable(&*fs, root).map_err(io_err(root))?;
        let lock = fs.lock(root)?;
        check_special_files(&*fs, root)?;
        for sub in ["tmp", "folders", "journal", "quarantine"] {
            let p = root.join(sub);
            fs::create_dir_durable(&*fs, &p).map_err(io_err(&p))?;
        }
        let mut report = OpenReport::default();
        let meta_path = root.join("store.json");
        let (meta, created) = match fs.read(&meta_path) {
            Ok(bytes) => match parse_meta(&bytes) {
                Ok(m) => (m, false),
                Err(why) => {
                    report
                        .quarantined
                        .push(quarantine_in(&*fs, root, &meta_path, &why)?);
                    (recover_meta(root, seed.map(|s| (s.profile)())), false)
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let m = new_meta(seed.map(|s| (s.profile)()));
                (m, true)
            }
            Err(e) => return Err(StoreError::io(&meta_path, e)),
        };
        report.created = created;
        let journal_path = root.join("journal").join("journal.log");
        let replay = Journal::read_in(&*fs, &journal_path).map_err(io_err(&journal_path))?;
        if let Some(why) = &replay.damage {
            // Keep the damaged bytes for inspection before `Journal::open` cuts them off.
            keep_damaged_journal(&*fs, root, &journal_path, why);
        }
        let journal = Journal::open_in(&*fs, &journal_path, replay.good_len)
            .map_err(io_err(&journal_path))?;
        let mut store = Self {
            root: root.to_path_buf(),
            _lock: lock,
            next_id: meta.id_reserved_until,
            meta,
            summaries: IdMap::default(),
            queue: BTreeSet::new(),
            cache: IdMap::default(),
            dirty: IdSet::default(),
            unsynced: IdMap::default(),
            syncer: None,
            journal,
            syncs: gate::SyncBoard::default(),
            fingerprints: IdMap::default(),
            index_stale: false,
            lazy_unlinks: None,
            pending: Vec::new(),
            pending_ids: IdMap::default(),
            durable_epoch: 0,
            spares: Vec::new(),
            failed_groups: Vec::new(),
            committing: None,
            fs,
            unreadable: BTreeMap::new(),
        };
        // Reserve a fresh block at once: ids handed out before a crash are never reused.
        store.meta.id_reserved_until = store.next_id + ID_BLOCK;
        for f in store.meta.folders.clone() {
            let d = store.folder_dir(f.entry_id);
            fs::create_dir_durable(&*store.fs, &d).map_err(io_err(&d))?;
        }
        store.write_meta()?;
        report.tmp_removed = store.clean_tmp();
        store.scan(&mut report)?;
        store.replay(replay, &mut report)?;
        report.messages = store.summaries.len();
        report.unreadable = store.unreadable.values().cloned().collect();
        if created && let Some(seed) = seed {
            (seed.fill)(&mut store)?;
            report.messages = store.summaries.len();
        }
        Ok((store, report))
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file-system layer this store reads and writes through.
    pub fn fs(&self) -> &dyn FsLayer {
        &*self.fs
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.meta.profile
    }

    /// Replaces the profile (durably).
    ///
    /// # Errors
    /// I/O errors.
    pub fn set_profile(&mut self, profile: Profile) -> Result<()> {
        self.meta.profile = profile;
        self.write_meta()
    }

    /// Store properties (`PR_IPM_OUTBOX_ENTRYID`, ...).
    pub fn props(&self) -> &PropBag {
        &self.meta.props
    }

    /// All folders.
    pub fn folders(&self) -> &[Folder] {
        &self.meta.folders
    }

    /// The folder with this id.
    pub fn folder(&self, id: EntryId) -> Option<&Folder> {
        self.meta.folders.iter().find(|f| f.entry_id == id)
    }

    /// The well-known folder of this kind.
    pub fn folder_of(&self, kind: FolderKind) -> EntryId {
        self.meta
            .folders
            .iter()
            .find(|f| f.kind == kind)
            .map_or(EntryId(0), |f| f.entry_id)
    }

    /// The folder with this name (case-insensitive).
    pub fn folder_named(&self, name: &str) -> Option<&Folder> {
        self.meta
            .folders
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Creates a user folder (or returns the existing one of that name).
    ///
    /// # Errors
    /// A name that is empty or path-like; I/O errors.
    pub fn create_folder(&mut self, name: &str) -> Result<EntryId> {
        let name = name.trim();
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(StoreError::Invalid(format!(
                "{name:?} is not a valid folder name"
            )));
        }
        if let Some(f) = self.folder_named(name) {
            return Ok(f.entry_id);
        }
        let id = self.new_entry_id()?;
        let dir = self.folder_dir(id);
        // Durable before store.json names it: messages fsynced into a folder whose own name
        // could vanish in a power cut would vanish with it.
        fs::create_dir_durable(&*self.fs, &dir).map_err(io_err(&dir))?;
        self.meta.folders.push(Folder {
            entry_id: id,
            name: name.to_owned(),
            kind: FolderKind::User,
        });
        self.write_meta()?;
        Ok(id)
    }

    /// A fresh entry id, never handed out before in this store.
    ///
    /// # Errors
    /// I/O errors writing `store.json` when a new block is reserved.
    pub fn new_entry_id(&mut self) -> Result<EntryId> {
        if self.next_id >= self.meta.id_reserved_until {
            self.meta.id_reserved_until = self.next_id + ID_BLOCK;
            self.write_meta()?;
        }
        let id = self.next_id;
        self.next_id += 1;
        Ok(EntryId(id))
    }

    /// Every message's summary (unordered).
    pub fn summaries(&self) -> impl Iterator<Item = &Summary> {
        self.summaries.values()
    }

    /// Number of messages.
    pub fn message_count(&self) -> usize {
        self.summaries.len()
    }

    /// One message's summary.
    pub fn summary(&self, eid: EntryId) -> Option<&Summary> {
        self.summaries.get(&eid)
    }

    /// Messages in the pipeline (submitted, or finishing) in queue order (ascending `PR_CLIENT_SUBMIT_TIME`).
    pub fn queue(&self) -> impl Iterator<Item = EntryId> + '_ {
        self.queue.iter().map(|(_, e)| *e)
    }

    /// Loads a whole message (from memory or disk).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], or a file that became unreadable (then quarantined).
    pub fn load(&mut self, eid: EntryId) -> Result<Message> {
        if let Some(m) = self.cache.get(&eid) {
            return Ok(m.clone());
        }
        let msg = self.read_from_disk(eid)?;
        self.remember(msg.clone());
        Ok(msg)
    }

    /// Reads a message without caching it (for a quick look, e.g. the UI's detail view).
    ///
    /// # Errors
    /// As [`Store::load`].
    pub fn peek(&self, eid: EntryId) -> Result<Message> {
        if let Some(m) = self.cache.get(&eid) {
            return Ok(m.clone());
        }
        let s = self.summaries.get(&eid).ok_or(StoreError::NotFound(eid))?;
        let path = self.message_path(s.folder, eid);
        let bytes = self.fs.read(&path).map_err(io_err(&path))?;
        parse_message(&bytes)
            .map_err(|why| StoreError::Invalid(format!("{}: {why}", path.display())))
    }

    fn read_from_disk(&mut self, eid: EntryId) -> Result<Message> {
        let s = self.summaries.get(&eid).ok_or(StoreError::NotFound(eid))?;
        let folder = s.folder;
        let path = self.message_path(folder, eid);
        let bytes = match self.fs.read(&path) {
            Ok(b) => b,
            Err(e) => {
                // Unreadable is not corrupt: the file stays, the message leaves the queue
                // (so the spooler does not try it again and again) and comes back once it
                // can be read.
                let summary = self.summaries.get(&eid).cloned();
                self.forget(eid);
                self.note_unreadable(eid, folder, path.clone(), &e, summary);
                return Err(StoreError::io(&path, e));
            }
        };
        match parse_message(&bytes) {
            Ok(mut m) => {
                m.folder = folder;
                Ok(m)
            }
            Err(why) => {
                quarantine_in(&*self.fs, &self.root, &path, &why)?;
                self.forget(eid);
                Err(StoreError::Invalid(format!(
                    "message {eid} was unreadable and is now in quarantine: {why}"
                )))
            }
        }
    }

    /// Records a message file that could not be read (see [`Unreadable`]); its id is never
    /// handed out again.
    fn note_unreadable(
        &mut self,
        eid: EntryId,
        folder: EntryId,
        path: PathBuf,
        e: &io::Error,
        summary: Option<Summary>,
    ) {
        let reason = format!("cannot be read: {e}");
        tracing::warn!("message {eid}: {}: {reason}", path.display());
        self.next_id = self.next_id.max(eid.0 + 1);
        self.unreadable.insert(
            eid,
            Unreadable {
                eid,
                folder,
                path,
                reason,
                summary,
            },
        );
    }

    /// Message files that could not be read, by entry id: out of the queue until they can.
    pub fn unreadable(&self) -> impl Iterator<Item = &Unreadable> {
        self.unreadable.values()
    }

    /// Tries every unreadable message file again: those that can be read now come back (into
    /// the queue, if they were in it), returned; content that is read and wrong goes to
    /// quarantine, as at open.
    ///
    /// # Errors
    /// I/O errors moving a file to quarantine.
    pub fn recheck_unreadable(&mut self) -> Result<Vec<EntryId>> {
        let mut back = Vec::new();
        for (eid, u) in std::mem::take(&mut self.unreadable) {
            if self.summaries.contains_key(&eid) {
                continue;
            }
            let bytes = match self.fs.read(&u.path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    self.unreadable.insert(
                        eid,
                        Unreadable {
                            reason: format!("cannot be read: {e}"),
                            ..u
                        },
                    );
                    continue;
                }
            };
            match parse_message(&bytes) {
                Ok(mut m) if m.entry_id == eid => {
                    m.folder = u.folder;
                    if let Ok(fp) = self.fs.fingerprint(&u.path) {
                        self.fingerprints.insert(eid, fp);
                    }
                    self.set_summary(Summary::of(&m));
                    self.remember(m);
                    back.push(eid);
                }
                Ok(m) => {
                    let why = format!(
                        "the file name says message {eid} but it holds message {}",
                        m.entry_id
                    );
                    quarantine_in(&*self.fs, &self.root, &u.path, &why)?;
                }
                Err(why) => {
                    quarantine_in(&*self.fs, &self.root, &u.path, &why)?;
                }
            }
        }
        Ok(back)
    }

    /// Reads every message file whose summary came from `index.json` unread (as `doctor`
    /// does): one that cannot be read now joins [`Store::unreadable`]. Returns how many
    /// were read.
    pub fn verify_readable(&mut self) -> usize {
        let ids: Vec<EntryId> = self
            .summaries
            .keys()
            .copied()
            .filter(|e| !self.cache.contains_key(e))
            .collect();
        let mut n = 0;
        for eid in ids {
            let Some(folder) = self.summaries.get(&eid).map(|s| s.folder) else {
                continue;
            };
            let path = self.message_path(folder, eid);
            match self.fs.read(&path) {
                Ok(_) => n += 1,
                Err(e) => {
                    let summary = self.summaries.get(&eid).cloned();
                    self.forget(eid);
                    self.note_unreadable(eid, folder, path, &e, summary);
                }
            }
        }
        n
    }

    fn remember(&mut self, msg: Message) {
        // Keep memory bounded: drop clean entries once the cache is large.
        if self.cache.len() >= 4096 {
            let dirty = &self.dirty;
            self.cache.retain(|k, _| dirty.contains(k));
        }
        self.cache.insert(msg.entry_id, msg);
    }

    fn forget(&mut self, eid: EntryId) {
        self.index_stale = true;
        if let Some(s) = self.summaries.remove(&eid) {
            self.queue
                .remove(&(s.client_submit_time.unwrap_or(Timestamp::MIN), eid));
        }
        self.cache.remove(&eid);
        self.dirty.remove(&eid);
        self.fingerprints.remove(&eid);
    }

    fn set_summary(&mut self, s: Summary) {
        self.index_stale = true;
        if let Some(old) = self.summaries.get(&s.eid)
            && old.in_pipeline()
        {
            self.queue
                .remove(&(old.client_submit_time.unwrap_or(Timestamp::MIN), s.eid));
        }
        if s.in_pipeline() {
            self.queue
                .insert((s.client_submit_time.unwrap_or(Timestamp::MIN), s.eid));
        }
        self.summaries.insert(s.eid, s);
    }

    /// What every whole-message write starts with: a pending group write of the same
    /// message is committed first, the folder checked, the revision bumped. Returns the folder
    /// of the copy the new one replaces (when another).
    fn prepare_save(&mut self, msg: &mut Message) -> Result<Option<EntryId>> {
        if self.is_pending(msg.entry_id) {
            self.commit_saves()?;
        }
        if self.folder(msg.folder).is_none() {
            return Err(StoreError::Invalid(format!(
                "folder {} does not exist",
                msg.folder
            )));
        }
        let old = self
            .summaries
            .get(&msg.entry_id)
            .map(|s| (s.folder, s.revision));
        msg.revision = old.map_or(msg.revision, |(_, r)| r.max(msg.revision)) + 1;
        msg.schema = SCHEMA_VERSION;
        Ok(old.map(|(f, _)| f).filter(|f| *f != msg.folder))
    }

    /// Unlinks the copy of a moved message in its old folder, without an fsync of that
    /// directory: the new copy is already durable, and if the unlink is lost in a crash the
    /// next open finds both and keeps the newer revision. That saves one fsync per move.
    fn unlink_old_copy(&mut self, old_folder: EntryId, eid: EntryId) -> Result<()> {
        fs::fail_point("store.between_copy_and_remove");
        let old_path = self.message_path(old_folder, eid);
        fs::remove_lazy_in(&*self.fs, &old_path).map_err(io_err(&old_path))?;
        if let Some(dirs) = &mut self.lazy_unlinks {
            dirs.insert(old_folder);
        }
        Ok(())
    }

    /// Writes a whole message durably (tmp, fsync, rename, fsync dir) into its folder. If it
    /// was in another folder before, that copy is removed afterwards: a crash in between leaves
    /// two copies, and the next open keeps the newer revision (`FinishedMsg` is idempotent).
    ///
    /// # Errors
    /// I/O errors; the message on disk is then as it was.
    pub fn save(&mut self, msg: &mut Message) -> Result<()> {
        let old_folder = self.prepare_save(msg)?;
        let bytes = message_bytes(msg)?;
        let dest = self.message_path(msg.folder, msg.entry_id);
        fs::write_atomic_in(&*self.fs, &self.root.join("tmp"), &dest, &bytes)
            .map_err(io_err(&dest))?;
        if let Some(old_folder) = old_folder {
            self.unlink_old_copy(old_folder, msg.entry_id)?;
        }
        if let Ok(fp) = self.fs.fingerprint(&dest) {
            self.fingerprints.insert(msg.entry_id, fp);
        }
        self.dirty.remove(&msg.entry_id);
        self.unsynced.remove(&msg.entry_id);
        self.durable_epoch += 1;
        self.set_summary(Summary::of(msg));
        self.remember(msg.clone());
        self.maybe_compact()?;
        Ok(())
    }

    /// [`Store::save`] by group commit: the message is saved in memory at once (its summary,
    /// its folder), and on disk by the next [`Store::commit_saves`], together with every other
    /// message saved this way since. Until then the copy on disk and the journal are what
    /// survives a crash, so nothing about this save may be reported before the commit:
    /// [`Store::is_unsynced`] is true for it.
    ///
    /// # Errors
    /// An unknown folder, a message that cannot be serialized.
    pub fn save_grouped(&mut self, msg: &mut Message) -> Result<()> {
        let before_summary = self.summaries.get(&msg.entry_id).cloned();
        let old_folder = self.prepare_save(msg)?;
        let eid = msg.entry_id;
        let was_dirty = self.dirty.contains(&eid);
        *self.pending_ids.entry(eid).or_default() += 1;
        self.pending.push(PendingSave {
            eid,
            folder: msg.folder,
            old_folder,
            copy: Some(Box::new(msg.clone())),
            before_summary,
            // Replaced in the cache just below.
            before_msg: self.cache.remove(&eid),
            was_dirty,
        });
        // Pinned in the cache (dirty entries are never evicted) until its file is written.
        self.dirty.insert(eid);
        self.set_summary(Summary::of(msg));
        self.remember(msg.clone());
        Ok(())
    }

    /// Whole-message writes waiting for [`Store::commit_saves`] (the next group; the one
    /// being written, if any, is [`Store::commit_under_way`]).
    pub fn pending_saves(&self) -> usize {
        self.pending.len()
    }

    /// True while a whole write of `eid` is waiting for its group or in the group being written.
    fn is_pending(&self, eid: EntryId) -> bool {
        self.pending_ids.contains_key(&eid)
    }

    /// Changes whenever a message's state may have become durable (a journal sync finished
    /// well, a whole save, a group commit): while it stays the same, nothing
    /// [`Store::is_unsynced`] said true of turns false.
    pub fn durability_mark(&self) -> (u64, u64) {
        (self.syncs.last_ok(), self.durable_epoch)
    }

    /// Makes every write accepted by [`Store::save_grouped`] durable: each file is written to
    /// `tmp/`, all of them are fsynced together (the disk sees one batch), renamed into their
    /// folders, and each folder is fsynced once; then the old copies are unlinked (lazily, as
    /// in [`Store::save`]). A group of 64 costs about what two single saves cost. A group
    /// under way on its own thread ([`Store::commit_saves_background`]) is waited for first.
    ///
    /// # Errors
    /// I/O errors. Messages whose file did not reach its folder are as they were before their
    /// `save_grouped`, in memory as on disk.
    pub fn commit_saves(&mut self) -> Result<()> {
        let under_way = self.finish_commit(true);
        let r = if self.pending.is_empty() {
            Ok(())
        } else {
            let (plan, members) = self.plan_group();
            let out = plan.run(&*self.fs);
            self.finish_group(members, out)
        };
        under_way.and(r)
    }

    /// [`Store::commit_saves`] on a thread of its own: returns at once, and the members stay
    /// [`Store::is_unsynced`] (so nothing about them is reported) until a later call of this,
    /// [`Store::poll_commit`] or [`Store::commit_saves`] finds the work done and applies it.
    /// One group at a time: while one is under way the next one keeps growing. On the
    /// spooler's own thread when the file-system layer wants every operation there
    /// ([`FsLayer::concurrent`]) or fail points are armed (a crash test's rerun must pass
    /// the same ones).
    ///
    /// # Errors
    /// As [`Store::commit_saves`], for a group done here or finished now.
    pub fn commit_saves_background(&mut self) -> Result<()> {
        self.finish_commit(false)?;
        if self.committing.is_some() || self.pending.is_empty() {
            return Ok(());
        }
        if !self.fs.concurrent() || fs::fail_points_armed() {
            return self.commit_saves();
        }
        let (plan, members) = self.plan_group();
        let layer = Arc::clone(&self.fs);
        match std::thread::Builder::new()
            .name("spoolbox-group-commit".into())
            .spawn(move || plan.run(&*layer))
        {
            Ok(work) => {
                self.committing = Some(Committing { members, work });
                Ok(())
            }
            Err(e) => {
                let out = group::Outcome {
                    renamed: vec![false; members.len()],
                    error: Some(StoreError::io(&self.root.join("tmp"), e)),
                    ..group::Outcome::default()
                };
                self.finish_group(members, out)
            }
        }
    }

    /// Applies the group under way if its work is done (never waits).
    ///
    /// # Errors
    /// As [`Store::commit_saves`].
    pub fn poll_commit(&mut self) -> Result<()> {
        self.finish_commit(false)
    }

    /// True while a group commit is under way on its own thread.
    pub fn commit_under_way(&self) -> bool {
        self.committing.is_some()
    }

    /// Applies the group under way once its work is done; with `wait`, waits for it.
    fn finish_commit(&mut self, wait: bool) -> Result<()> {
        match &self.committing {
            Some(c) if wait || c.work.is_finished() => {}
            _ => return Ok(()),
        }
        let Some(c) = self.committing.take() else {
            return Ok(());
        };
        let out = c.work.join().unwrap_or_else(|_| group::Outcome {
            renamed: vec![false; c.members.len()],
            error: Some(StoreError::Invalid(
                "the group commit's thread panicked".into(),
            )),
            ..group::Outcome::default()
        });
        self.finish_group(c.members, out)
    }

    /// The members of groups whose commit failed since the last call: none of them may be
    /// reported filed (each is back as it was, or its copy is not durable).
    pub fn take_failed_groups(&mut self) -> Vec<EntryId> {
        std::mem::take(&mut self.failed_groups)
    }

    /// Takes the pending writes as one group: the files to write (over spares where there
    /// are some), where each goes, and what to restore in memory if it fails.
    fn plan_group(&mut self) -> (group::Plan, Vec<PendingSave>) {
        let pending = std::mem::take(&mut self.pending);
        let tmp_dir = self.root.join("tmp");
        let mut files: Vec<fs::NewFile> = Vec::with_capacity(pending.len());
        let mut items = Vec::with_capacity(pending.len());
        let mut dirs = BTreeMap::new();
        let mut members = Vec::with_capacity(pending.len());
        let mut contents = Vec::with_capacity(pending.len());
        for mut p in pending {
            let (path, reuse) = match self.spares.pop() {
                Some(s) => (s, true),
                None => (fs::tmp_name(&tmp_dir), false),
            };
            files.push(fs::NewFile {
                path,
                bytes: Vec::new(),
                reuse,
            });
            contents.extend(p.copy.take().map(|m| *m));
            for f in std::iter::once(p.folder).chain(p.old_folder) {
                dirs.entry(f).or_insert_with(|| self.folder_dir(f));
            }
            items.push(group::Item {
                eid: p.eid,
                folder: p.folder,
                dest: self.message_path(p.folder, p.eid),
                old: p.old_folder.map(|f| (f, self.message_path(f, p.eid))),
            });
            members.push(p);
        }
        let plan = group::Plan {
            files,
            contents,
            items,
            tmp_dir,
            dirs,
            spare_room: SPARES_MAX.saturating_sub(self.spares.len()),
        };
        (plan, members)
    }

    /// Brings memory up to date with a group's outcome: members whose file did not reach its
    /// folder are rolled back, the others are clean (and reported once this returns).
    fn finish_group(&mut self, members: Vec<PendingSave>, out: group::Outcome) -> Result<()> {
        self.durable_epoch += 1;
        let ids: Vec<EntryId> = members.iter().map(|p| p.eid).collect();
        for eid in &ids {
            if let Some(n) = self.pending_ids.get_mut(eid) {
                *n -= 1;
                if *n == 0 {
                    self.pending_ids.remove(eid);
                }
            }
        }
        for (p, renamed) in members.into_iter().zip(out.renamed) {
            if !renamed {
                self.roll_back(p);
            }
        }
        if let Some(dirs) = &mut self.lazy_unlinks {
            dirs.extend(out.unlinked_from);
        }
        for (eid, fp) in out.settled {
            if let Some(fp) = fp {
                self.fingerprints.insert(eid, fp);
            }
            self.dirty.remove(&eid);
            self.unsynced.remove(&eid);
        }
        self.spares.extend(out.spares);
        if let Some(e) = out.error {
            self.failed_groups.extend(ids);
            return Err(e);
        }
        self.maybe_compact()
    }

    /// Undoes a [`Store::save_grouped`] in memory whose file never reached its folder.
    fn roll_back(&mut self, p: PendingSave) {
        match p.before_msg {
            Some(m) => {
                self.cache.insert(p.eid, m);
            }
            None => {
                self.cache.remove(&p.eid);
            }
        }
        if let Some(s) = p.before_summary {
            self.set_summary(s);
        }
        if !p.was_dirty {
            self.dirty.remove(&p.eid);
        }
    }

    /// Makes everything durable: the pending whole-message writes, then the journal.
    ///
    /// # Errors
    /// I/O errors.
    pub fn commit(&mut self) -> Result<()> {
        self.commit_saves()?;
        self.sync_journal()
    }

    /// Appends a per-step change to the journal and applies it in memory. With `sync` the
    /// journal is fsynced before returning (one fsync per transport hand-off).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], I/O errors (the change is then not applied).
    pub fn patch(&mut self, eid: EntryId, patch: Patch, sync: bool) -> Result<Message> {
        self.patch_in_place(eid, patch, sync)?;
        self.cache
            .get(&eid)
            .cloned()
            .ok_or(StoreError::NotFound(eid))
    }

    /// [`Store::patch`] without handing back a copy of the message (the spooler's hot path
    /// already holds the result).
    ///
    /// # Errors
    /// As [`Store::patch`].
    pub fn patch_in_place(&mut self, eid: EntryId, patch: Patch, sync: bool) -> Result<()> {
        if self.is_pending(eid) {
            // A record must name the revision of the file it applies to.
            self.commit_saves()?;
        }
        if !self.cache.contains_key(&eid) {
            let msg = self.read_from_disk(eid)?;
            self.remember(msg);
        }
        let rev = self
            .cache
            .get(&eid)
            .map(|m| m.revision)
            .ok_or(StoreError::NotFound(eid))?;
        let rec = Record { eid, rev, patch };
        let jp = self.journal.path().to_path_buf();
        self.journal.append(&rec).map_err(io_err(&jp))?;
        if sync {
            self.sync_journal_now()?;
        } else {
            self.unsynced.insert(eid, self.syncs.begun());
        }
        // Applied in place on the cached copy.
        let msg = self.cache.get_mut(&eid).ok_or(StoreError::NotFound(eid))?;
        rec.patch.apply(msg);
        let summary = Summary::of(msg);
        self.dirty.insert(eid);
        self.set_summary(summary);
        Ok(())
    }

    /// True while message `eid` has journal records that are not durable yet.
    pub fn is_unsynced(&self, eid: EntryId) -> bool {
        self.unsynced
            .get(&eid)
            .is_some_and(|b| self.syncs.last_ok() <= *b)
            || self.is_pending(eid)
    }

    /// True when no live journal record waits for an fsync (records of messages saved whole
    /// since are obsolete: losing them loses nothing, so they are not worth one); the gates
    /// waiting then open as after a sync.
    fn all_synced(&mut self) -> bool {
        let ok = self.syncs.last_ok();
        self.unsynced.retain(|_, b| ok <= *b);
        if !self.unsynced.is_empty() {
            return false;
        }
        let n = self.syncs.begin();
        self.syncs.finish(n, true);
        true
    }

    /// Makes every journal record durable.
    ///
    /// # Errors
    /// I/O errors.
    pub fn sync_journal(&mut self) -> Result<()> {
        if self.all_synced() {
            return Ok(());
        }
        self.sync_journal_now()
    }

    fn sync_journal_now(&mut self) -> Result<()> {
        let n = self.syncs.begin();
        let jp = self.journal.path().to_path_buf();
        let r = self.journal.sync().map_err(io_err(&jp));
        self.syncs.finish(n, r.is_ok());
        r?;
        self.unsynced.clear();
        Ok(())
    }

    /// [`Store::sync_journal`] on the journal's own thread: returns at once, and the gates
    /// taken before open when the fsync is done (the spooler starts a hand-off, asks for
    /// this, and finishes the previous message meanwhile). Synchronous under armed fail
    /// points (a crash test's rerun must pass the same ones) and where the file system
    /// layer cannot sync from another thread. [`Store::is_unsynced`] follows the syncer;
    /// a failure is told by [`Store::take_sync_error`].
    ///
    /// # Errors
    /// As [`Store::sync_journal`], when it runs here.
    pub fn sync_journal_background(&mut self) -> Result<()> {
        if self.all_synced() {
            return Ok(());
        }
        if fs::fail_points_armed() {
            return self.sync_journal_now();
        }
        // After a failed sync, the records since the last good one are written again first:
        // the syncer counts no sync as good until they are (see `journal`, fsyncgate).
        let jp = self.journal.path().to_path_buf();
        self.journal.rewrite_if_failed().map_err(io_err(&jp))?;
        if self.syncer.is_none() {
            self.syncer = self
                .journal
                .background_sync()
                .and_then(|sync| gate::Syncer::start(sync, self.syncs.clone()));
        }
        match &self.syncer {
            Some(s) if s.request() => Ok(()),
            _ => self.sync_journal_now(),
        }
    }

    /// Why a background journal sync failed, once (the records it should have made durable
    /// are still unsynced, and the next sync tries again).
    pub fn take_sync_error(&self) -> Option<StoreError> {
        let e = self.syncer.as_ref().and_then(gate::Syncer::take_error)?;
        Some(StoreError::io(self.journal.path(), e))
    }

    /// A gate for a remote hand-off about to start: it opens once every journal record
    /// appended so far is durable (the next [`Store::sync_journal`] that succeeds).
    pub fn commit_gate(&self) -> gate::CommitGate {
        self.syncs.gate()
    }

    /// A gate for a hand-off queued behind the one under way: shut until
    /// [`Store::arm_gate`], then as [`Store::commit_gate`] taken at that moment.
    pub fn deferred_gate(&self) -> gate::CommitGate {
        self.syncs.deferred_gate()
    }

    /// Arms a deferred gate once what the hand-off before it brought is journaled; the
    /// caller asks for the sync it waits for.
    pub fn arm_gate(&self, gate: &gate::CommitGate) {
        self.syncs.arm(gate);
    }

    /// Arms a deferred gate at an earlier [`Store::sync_point`]: it opens once what was
    /// journaled before that point is durable.
    pub fn arm_gate_at(&self, gate: &gate::CommitGate, point: u64) {
        self.syncs.arm_at(gate, point);
    }

    /// A gate that opens once what was journaled before an earlier [`Store::sync_point`] is
    /// durable.
    pub fn gate_at(&self, point: u64) -> gate::CommitGate {
        self.syncs.gate_at(point)
    }

    /// Where the journal's syncs stand: a record appended now is durable once a sync begun
    /// after this point has succeeded.
    pub fn sync_point(&self) -> u64 {
        self.syncs.begun()
    }

    /// Withdraws a gate's hand-off before its point of no return.
    pub fn withdraw_gate(&self, gate: &gate::CommitGate) {
        self.syncs.withdraw(gate);
    }

    /// Deletes a message for good (durably).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], I/O errors.
    pub fn delete(&mut self, eid: EntryId) -> Result<()> {
        self.commit_saves()?;
        let s = self.summaries.get(&eid).ok_or(StoreError::NotFound(eid))?;
        let folder = s.folder;
        let path = self.message_path(folder, eid);
        // An older copy of this message may still be durable in a folder it was moved out of
        // (the unlink there was lazy). While the newest copy exists the next open keeps it;
        // once it is deleted the old copy would come back. So those unlinks are made durable
        // first: the folders this process moved messages out of, and on the first delete every
        // folder, for unlinks an earlier process left.
        let dirs: Vec<EntryId> = match &self.lazy_unlinks {
            Some(d) => d.iter().copied().filter(|f| *f != folder).collect(),
            None => self
                .meta
                .folders
                .iter()
                .map(|f| f.entry_id)
                .filter(|f| *f != folder)
                .collect(),
        };
        for f in dirs {
            let d = self.folder_dir(f);
            match self.fs.sync_dir(&d) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(StoreError::io(&d, e));
                }
                _ => {}
            }
        }
        self.lazy_unlinks = Some(BTreeSet::new());
        fs::remove_durable_in(&*self.fs, &path).map_err(io_err(&path))?;
        self.forget(eid);
        Ok(())
    }

    /// Moves a message to another folder (durably).
    ///
    /// # Errors
    /// As [`Store::save`].
    pub fn move_to(&mut self, eid: EntryId, folder: EntryId) -> Result<Message> {
        let mut msg = self.load(eid)?;
        msg.folder = folder;
        self.save(&mut msg)?;
        Ok(msg)
    }

    /// Folds every journal record into its message file and empties the journal.
    ///
    /// # Errors
    /// I/O errors.
    pub fn compact(&mut self) -> Result<()> {
        self.commit_saves()?;
        let dirty: Vec<EntryId> = self.dirty.iter().copied().collect();
        for eid in dirty {
            if let Some(mut m) = self.cache.get(&eid).cloned() {
                self.save(&mut m)?;
            }
        }
        self.dirty.clear();
        let jp = self.journal.path().to_path_buf();
        self.journal.truncate().map_err(io_err(&jp))
    }

    fn maybe_compact(&mut self) -> Result<()> {
        if self.journal.is_empty() {
            return Ok(());
        }
        if self.dirty.is_empty() {
            // Every record is older than its message file: the journal holds nothing live.
            let jp = self.journal.path().to_path_buf();
            if self.journal.len() > JOURNAL_COMPACT_BYTES / 8 {
                self.journal.truncate().map_err(io_err(&jp))?;
            }
        } else if self.journal.len() > JOURNAL_COMPACT_BYTES {
            self.compact()?;
        }
        Ok(())
    }

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

    fn folder_dir(&self, folder: EntryId) -> PathBuf {
        self.root.join("folders").join(folder.file_stem())
    }

    fn message_path(&self, folder: EntryId, eid: EntryId) -> PathBuf {
        self.folder_dir(folder)
            .join(format!("{}.json", eid.file_stem()))
    }

    fn write_meta(&mut self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.meta)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let dest = self.root.join("store.json");
        fs::write_atomic_in(&*self.fs, &self.root.join("tmp"), &dest, &bytes).map_err(io_err(&dest))
    }

    fn clean_tmp(&self) -> usize {
        let tmp = self.root.join("tmp");
        let Ok(items) = self.fs.read_dir(&tmp) else {
            return 0;
        };
        items
            .iter()
            .filter(|e| self.fs.remove_file(&tmp.join(&e.name)).is_ok())
            .count()
    }

    /// Reads every folder: summaries from `index.json` where the file is unchanged, else from
    /// the file; unreadable files go to quarantine; duplicates are resolved.
    fn scan(&mut self, report: &mut OpenReport) -> Result<()> {
        let folders_dir = self.root.join("folders");
        let index_path = self.root.join("index.json");
        // Two cores: parse index.json on one while the other lists the folders and takes each
        // file's fingerprint; together they are most of the time to the first frame.
        let fs: &dyn FsLayer = &*self.fs;
        let (index, listing) = std::thread::scope(|sc| {
            let parsing = sc.spawn(|| {
                fs.read(&index_path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<IndexFile>(&b).ok())
                    .filter(|f| f.schema == SCHEMA_VERSION)
                    .map(|f| {
                        f.entries
                            .into_iter()
                            .map(|e| (e.summary.eid, e))
                            .collect::<HashMap<EntryId, IndexEntry>>()
                    })
                    .unwrap_or_default()
            });
            let listing = list_folders(fs, &folders_dir);
            (parsing.join().unwrap_or_default(), listing)
        });
        let mut index = index;
        let index_len = index.len();
        let known: HashSet<EntryId> = self.meta.folders.iter().map(|f| f.entry_id).collect();
        let dirs = listing.map_err(io_err(&folders_dir))?;
        for (dir, files) in dirs {
            let dir_path = folders_dir.join(&dir.name);
            // Only the exact names the store writes: "1" or "+1" would parse as folder 1 and
            // then never be found at the path the store reads.
            let Some(fid) = canonical_id(&dir.name, "") else {
                continue;
            };
            if !dir.is_dir {
                let why = "a file where a folder directory belongs (expected a directory)";
                report
                    .quarantined
                    .push(quarantine_in(&*self.fs, &self.root, &dir_path, why)?);
                continue;
            }
            if !known.contains(&fid) {
                // A folder directory store.json does not list (store.json was lost): keep it.
                self.meta.folders.push(Folder {
                    entry_id: fid,
                    name: format!("Recovered {fid}"),
                    kind: FolderKind::User,
                });
                self.write_meta()?;
            }
            let files = files.map_err(io_err(&dir_path))?;
            for (f, fp) in files {
                let path = dir_path.join(&f.name);
                let Some(eid) = canonical_id(&f.name, ".json") else {
                    let q = quarantine_in(
                        &*self.fs,
                        &self.root,
                        &path,
                        "not a message file name (expected <entry-id>.json)",
                    )?;
                    report.quarantined.push(q);
                    continue;
                };
                if f.is_dir {
                    // Not a condition that passes (as unreadable files do): moved aside.
                    let why = "a directory where a message file belongs";
                    let q = quarantine_in(&*self.fs, &self.root, &path, why)?;
                    report.quarantined.push(q);
                    continue;
                }
                let Some(fp) = fp else {
                    continue;
                };
                let from_index = index.get(&eid).is_some_and(|ie| {
                    (ie.ino, ie.len, ie.mtime_ns) == fp && ie.summary.folder == fid
                });
                let summary = match index.remove(&eid) {
                    Some(ie) if from_index => {
                        report.from_index += 1;
                        ie.summary
                    }
                    indexed => match match self.fs.read(&path) {
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => {
                            // Unreadable is not corrupt: left in place, listed, tried again.
                            let known = indexed.map(|ie| ie.summary);
                            self.note_unreadable(eid, fid, path, &e, known);
                            continue;
                        }
                        Ok(b) => parse_message(&b),
                    } {
                        Ok(m) if m.entry_id != eid => {
                            let why = format!(
                                "the file name says message {eid} but it holds message {}",
                                m.entry_id
                            );
                            report
                                .quarantined
                                .push(quarantine_in(&*self.fs, &self.root, &path, &why)?);
                            continue;
                        }
                        Ok(mut m) => {
                            m.folder = fid;
                            Summary::of(&m)
                        }
                        Err(why) => {
                            report
                                .quarantined
                                .push(quarantine_in(&*self.fs, &self.root, &path, &why)?);
                            continue;
                        }
                    },
                };
                self.next_id = self.next_id.max(eid.0 + 1);
                if let Some(prev) = self.summaries.get(&eid).cloned() {
                    // Two copies: a crash between FinishedMsg's copy and its removal. The newer
                    // revision is the finished one; drop the other.
                    report.duplicates_resolved += 1;
                    let (keep, drop_folder) = if summary.revision > prev.revision {
                        (summary, prev.folder)
                    } else {
                        (prev, fid)
                    };
                    let drop_path = self.message_path(drop_folder, eid);
                    fs::remove_durable_in(&*self.fs, &drop_path).map_err(io_err(&drop_path))?;
                    if keep.folder == fid {
                        self.fingerprints.insert(eid, fp);
                    }
                    self.set_summary(keep);
                    continue;
                }
                self.fingerprints.insert(eid, fp);
                self.set_summary(summary);
            }
        }
        // A message readable in another folder (two copies, one unreadable) is not missing.
        let summaries = &self.summaries;
        self.unreadable.retain(|e, _| !summaries.contains_key(e));
        if self.next_id >= self.meta.id_reserved_until {
            self.meta.id_reserved_until = self.next_id + ID_BLOCK;
            self.write_meta()?;
        }
        // Every message came from an index that lists exactly them: nothing to rewrite on close.
        self.index_stale = !(report.from_index == index_len && index_len == self.summaries.len());
        Ok(())
    }

    /// Applies the journal's records to the messages they belong to, writes those messages
    /// whole, and empties the journal.
    fn replay(&mut self, replay: journal::Replay, report: &mut OpenReport) -> Result<()> {
        if let Some(why) = &replay.damage {
            report.journal_damage = Some(why.clone());
        }
        for rec in replay.records {
            let Ok(mut msg) = self.load(rec.eid) else {
                continue;
            };
            if msg.revision != rec.rev {
                continue; // already folded into the file
            }
            rec.patch.apply(&mut msg);
            report.journal_replayed += 1;
            self.dirty.insert(rec.eid);
            self.set_summary(Summary::of(&msg));
            self.cache.insert(rec.eid, msg);
        }
        self.compact()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.commit();
        // A hand-off still waiting for a sync gives up (it is withdrawn before its dot).
        drop(self.syncer.take());
        self.syncs.close();
        for spare in std::mem::take(&mut self.spares) {
            let _ = self.fs.remove_file(&spare);
        }
        if self.index_stale {
            let _ = self.write_index();
        }
    }
}

/// Refuses a store whose special files are anything but regular files (or missing), or
/// whose subdirectories are anything but directories: a symbolic link there would have the
/// store read, copy or overwrite a file outside it, and a FIFO would hang the open.
fn check_special_files(fs: &dyn FsLayer, root: &Path) -> Result<()> {
    let files = ["store.json", "index.json", "journal/journal.log"];
    let dirs = ["tmp", "folders", "journal", "quarantine", "traces"];
    for (name, want_dir) in files
        .iter()
        .map(|f| (*f, false))
        .chain(dirs.iter().map(|d| (*d, true)))
    {
        let p = root.join(name);
        let kind = fs.kind(&p).map_err(io_err(&p))?;
        let what = match kind {
            None | Some(fs::FileKind::Missing) => continue,
            Some(fs::FileKind::Regular) if !want_dir => continue,
            Some(fs::FileKind::Dir) if want_dir => continue,
            Some(fs::FileKind::Regular) => "a regular file",
            Some(fs::FileKind::Dir) => "a directory",
            Some(fs::FileKind::Other(what)) => what,
        };
        let (expected, kinds) = if want_dir {
            (
                "a directory",
                "tmp/, folders/, journal/, quarantine/ and traces/ are directories",
            )
        } else {
            (
                "a regular file",
                "store.lock, store.json, index.json and journal/journal.log are regular files",
            )
        };
        return Err(StoreError::Invalid(format!(
            "{}: {what}, not {expected}: Spoolbox opens a store only when its {kinds} (or missing), and never follows a symbolic link out of it; move it away",
            p.display()
        )));
    }
    Ok(())
}

/// Copies a damaged journal, whole, into `quarantine/` with a `.why` beside it, durably: the
/// journal's damaged tail is cut off right after this.
fn keep_damaged_journal(fs: &dyn FsLayer, root: &Path, journal_path: &Path, why: &str) {
    if let Ok(bytes) = fs.read(journal_path) {
        let qdir = root.join("quarantine");
        let mut stem = format!("journal-{}", Timestamp::now().as_second());
        let mut n = 1;
        while fs.exists(&qdir.join(format!("{stem}.log"))) {
            stem = format!("journal-{}-{n}", Timestamp::now().as_second());
            n += 1;
        }
        let dest = qdir.join(format!("{stem}.log"));
        let _ = fs.create_new(&dest, &bytes, true);
        let _ = fs.create_new(&dest.with_extension("why"), why.as_bytes(), true);
        let _ = fs.sync_dir(&qdir);
    }
}

/// The entry id a file or directory name stands for, if it is exactly the name the store
/// writes for that id (`file_stem` + `suffix`).
fn canonical_id(name: &std::ffi::OsStr, suffix: &str) -> Option<EntryId> {
    let stem = name.to_str()?.strip_suffix(suffix)?;
    let id = EntryId(stem.parse::<u64>().ok()?);
    (id.file_stem() == stem).then_some(id)
}

#[derive(Deserialize)]
struct SchemaHead {
    schema: Option<u32>,
}

/// Parses a message file, or says in one sentence why it cannot be read.
///
/// # Errors
/// The reason: empty, not UTF-8, not JSON, a newer schema, a shape this build does not know.
pub fn parse_message(bytes: &[u8]) -> Result<Message, String> {
    check_schema(bytes, "message")?;
    serde_json::from_slice::<Message>(bytes).map_err(|e| describe_json_error(bytes, &e))
}

fn check_schema(bytes: &[u8], what: &str) -> Result<(), String> {
    if bytes.is_empty() {
        return Err(format!("empty {what} file (a write cut short)"));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(format!(
            "{what} file is all zero bytes ({} bytes): lost in a crash",
            bytes.len()
        ));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(format!("{what} file is not valid UTF-8 text"));
    }
    match serde_json::from_slice::<SchemaHead>(bytes) {
        Ok(SchemaHead { schema: Some(v) }) if v > SCHEMA_VERSION => Err(format!(
            "{what} file has schema version {v}, newer than this Spoolbox reads (up to {SCHEMA_VERSION}); open it with a newer Spoolbox"
        )),
        Ok(SchemaHead { schema: None }) => Err(format!("{what} file has no schema version")),
        Ok(_) => Ok(()),
        Err(e) => Err(describe_json_error(bytes, &e)),
    }
}

fn describe_json_error(bytes: &[u8], e: &serde_json::Error) -> String {
    if e.is_eof() {
        format!(
            "truncated JSON ({} bytes, cut off at line {} column {})",
            bytes.len(),
            e.line(),
            e.column()
        )
    } else {
        format!("not a valid message: {e}")
    }
}

fn parse_meta(bytes: &[u8]) -> Result<StoreMeta, String> {
    check_schema(bytes, "store.json")?;
    serde_json::from_slice(bytes).map_err(|e| describe_json_error(bytes, &e))
}

const OUTBOX: EntryId = EntryId(1);
const SENT: EntryId = EntryId(2);
const DELETED: EntryId = EntryId(3);
const INBOX: EntryId = EntryId(4);

fn new_meta(profile: Option<Profile>) -> StoreMeta {
    let folders = vec![
        Folder {
            entry_id: INBOX,
            name: "Inbox".into(),
            kind: FolderKind::Inbox,
        },
        Folder {
            entry_id: OUTBOX,
            name: "Outbox".into(),
            kind: FolderKind::Outbox,
        },
        Folder {
            entry_id: SENT,
            name: "Sent Items".into(),
            kind: FolderKind::SentItems,
        },
        Folder {
            entry_id: DELETED,
            name: "Deleted Items".into(),
            kind: FolderKind::DeletedItems,
        },
    ];
    let mut props = PropBag::new();
    props.set_text(PR_DISPLAY_NAME, "Spoolbox store");
    props.set(PR_IPM_OUTBOX_ENTRYID, PropValue::Binary(OUTBOX.to_bytes()));
    props.set(PR_IPM_SENTMAIL_ENTRYID, PropValue::Binary(SENT.to_bytes()));
    props.set(
        PR_IPM_WASTEBASKET_ENTRYID,
        PropValue::Binary(DELETED.to_bytes()),
    );
    StoreMeta {
        schema: SCHEMA_VERSION,
        created: Timestamp::now(),
        props,
        folders,
        id_reserved_until: 16,
        profile: profile.unwrap_or_default(),
    }
}

/// `store.json` could not be read: rebuild it with the well-known folders; folder directories
/// it listed are found again by the scan. Entry ids restart above anything on disk.
fn recover_meta(root: &Path, profile: Option<Profile>) -> StoreMeta {
    let mut m = new_meta(profile);
    m.props.set_text(
        PR_DISPLAY_NAME,
        format!("Spoolbox store (recovered {})", root.display()),
    );
    m.id_reserved_until = 1 << 20;
    m
}

/// One folder's directory entries with each file's fingerprint (`None`: it vanished).
type FolderListing = io::Result<Vec<(fs::DirItem, Option<fs::Fingerprint>)>>;

/// Every folder directory under `folders/` with its files, listed without touching the store.
fn list_folders(
    fs: &dyn FsLayer,
    folders_dir: &Path,
) -> io::Result<Vec<(fs::DirItem, FolderListing)>> {
    let dirs = fs.read_dir(folders_dir)?;
    Ok(dirs
        .into_iter()
        .map(|d| {
            let dir_path = folders_dir.join(&d.name);
            let files = if d.is_dir {
                fs.read_dir(&dir_path).map(|files| {
                    files
                        .into_iter()
                        .map(|f| {
                            let fp = fs.fingerprint(&dir_path.join(&f.name)).ok();
                            (f, fp)
                        })
                        .collect()
                })
            } else {
                Ok(Vec::new())
            };
            (d, files)
        })
        .collect())
}

/// Moves an unreadable file into `quarantine/` with a `.why` beside it.
///
/// # Errors
/// I/O errors moving it.
pub fn quarantine(root: &Path, path: &Path, why: &str) -> Result<Quarantined> {
    quarantine_in(&RealFs, root, path, why)
}

/// [`quarantine`] through a file-system layer.
///
/// # Errors
/// I/O errors moving it.
pub fn quarantine_in(fs: &dyn FsLayer, root: &Path, path: &Path, why: &str) -> Result<Quarantined> {
    let qdir = root.join("quarantine");
    fs::create_dir_durable(fs, &qdir).map_err(io_err(&qdir))?;
    let rel = path.strip_prefix(root).unwrap_or(path);
    let flat = rel.to_string_lossy().replace(['/', '\\'], "-");
    let why_of = |d: &Path| PathBuf::from(format!("{}.why", d.display()));
    let mut dest = qdir.join(&flat);
    let mut n = 1;
    while fs.exists(&dest) || fs.exists(&why_of(&dest)) {
        dest = qdir.join(format!("{flat}.{n}"));
        n += 1;
    }
    fs.rename(path, &dest).map_err(io_err(path))?;
    let why_path = why_of(&dest);
    let text = format!(
        "{}\nmoved here from {} at {}\n",
        why,
        rel.display(),
        Timestamp::now()
    );
    // Synced like everything else: the reason must not come back empty after a power cut.
    fs.create_new(&why_path, text.as_bytes(), true)
        .map_err(io_err(&why_path))?;
    if let Some(parent) = path.parent() {
        let _ = fs.sync_dir(parent);
    }
    let _ = fs.sync_dir(&qdir);
    tracing::warn!("quarantined {}: {why}", rel.display());
    Ok(Quarantined {
        original: path.to_path_buf(),
        moved_to: dest,
        reason: why.to_owned(),
    })
}
