//! The JSON message store on disk (ARCHITECTURE section 3).
//!
//! ```text
//! STORE/
//!   store.lock      the owner's pid; the owner locks the store directory and this file (durable::lock)
//!   store.json      store properties, folders, profile, schema version
//!   tmp/            scratch: every file is written here, fsynced, then renamed into place
//!   folders/<folder-id>/<entry-id>.json   one message per file, pretty JSON
//!   journal/journal.log                  per-step patches, checksummed lines
//!   quarantine/     files read and found wrong (corrupt), each with a .why beside it
//!   index.json      rebuildable summaries for a fast first frame
//!   sent/           the exact bytes of each hand-off, going with their message (sent.rs)
//! ```
//!
//! A message file that cannot be read at all (permissions, an I/O error, a FIFO) is not
//! corrupt: it stays where it is, is listed as [`Unreadable`] and kept out of the queue, and
//! comes back once it can be read. No file is opened through a symbolic link or blocked on:
//! see [`fs::open_regular`]; the store's special files must be regular files, and everything
//! the store creates is private to its owner (0600 files, 0700 directories).
//!
//! The store knows nothing of transports; the spooler drives it.

mod commit;
mod error;
mod group;
mod index;
pub mod journal;
mod json_path;
mod meta;
mod open;
mod parse;
mod quarantine;
mod sent;
pub mod summary;
mod sync;
pub mod timeline;
mod traces;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::durable::fs::{self, FsLayer};
use crate::durable::gate;
use crate::durable::lock::StoreLock;
use crate::mapi::{EntryId, IdMap, IdSet, Message};
pub use crate::profile::Profile;
use commit::{Committing, PendingSave};
use error::io_err;
pub use error::{Result, StoreError};
use journal::Journal;
pub use journal::Patch;
use meta::StoreMeta;
pub use parse::{ParseError, parse_message};
pub use quarantine::{Junk, Quarantined, Unreadable, quarantine, quarantine_in};
pub use sent::{SentOrphans, sent_name};
pub use summary::Summary;

/// Entry ids are reserved in blocks so that a crash never hands out an id twice without
/// writing `store.json` for every new message.
const ID_BLOCK: u64 = 64;

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
    /// Names in the folders that are not the store's, counted per directory (left alone).
    pub junk: Vec<Junk>,
    /// Why sending is held: `store.json`'s profile does not read or holds a value out of
    /// range (see [`Store::profile_hold`]).
    pub profile_held: Option<String>,
}

/// What a new store starts with: its profile, then the messages `fill` adds (the demo seed
/// lives above the store, in `spooler::demo`, since submitting is the spooler's job).
pub struct Seed {
    /// The profile written into a new `store.json` (never into one that exists: a
    /// `store.json` that does not read holds sending instead, see `Store::profile_hold`).
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
    /// The copies under `sent/` (see [`sent`]), listed at the first one kept this session.
    sent: Option<sent::SentCopies>,
    /// Why sending is held, when `store.json`'s profile cannot be used (see `meta`).
    profile_hold: Option<meta::ProfileHold>,
}

/// A message file's bytes: pretty JSON, as the layout promises (human-readable).
fn message_bytes(msg: &Message) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(msg).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Store {
    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file-system layer this store reads and writes through.
    pub fn fs(&self) -> &dyn FsLayer {
        &*self.fs
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
            // Out of file descriptors says nothing of the file: it stays as it is, in the
            // queue, and is read when one is free.
            Err(e) if fs::out_of_files(&e) => return Err(StoreError::io(&path, e)),
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
                quarantine_in(&*self.fs, &self.root, &path, &why.to_string())?;
                self.forget(eid);
                Err(StoreError::Invalid(format!(
                    "message {eid} was unreadable and is now in quarantine: {why}"
                )))
            }
        }
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

    /// Deletes a message for good (durably).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], I/O errors.
    pub fn delete(&mut self, eid: EntryId) -> Result<()> {
        self.commit_saves()?;
        let s = self.summaries.get(&eid).ok_or(StoreError::NotFound(eid))?;
        let folder = s.folder;
        // Its content goes with it: the bytes its hand-offs kept under `sent/` first (a copy
        // a crash leaves behind is an orphan `doctor` removes).
        self.remove_sent_copies(eid)?;
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

    fn folder_dir(&self, folder: EntryId) -> PathBuf {
        self.root.join("folders").join(folder.file_stem())
    }

    fn message_path(&self, folder: EntryId, eid: EntryId) -> PathBuf {
        self.folder_dir(folder)
            .join(format!("{}.json", eid.file_stem()))
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
