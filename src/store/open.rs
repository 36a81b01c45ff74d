//! Opening a store: creating it, checking its special files, replaying the journal and
//! scanning the folders (recovery).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::durable::fs::{self, FsLayer, RealFs};
use crate::durable::gate;
use crate::mapi::{EntryId, IdMap, IdSet, SCHEMA_VERSION};

use super::error::{Result, StoreError, io_err};
use super::index::{IndexEntry, IndexFile};
use super::journal::{self, Journal};
use super::meta::{Loaded, load_meta, new_meta};
use super::parse::parse_message;
use super::quarantine::{Junk, keep_copy, quarantine_in};
use super::{Folder, FolderKind, ID_BLOCK, OpenReport, Seed, Store, Summary};

/// Refuses a store whose special files are anything but regular files (or missing), or
/// whose subdirectories are anything but directories: a symbolic link there would have the
/// store read, copy or overwrite a file outside it, and a FIFO would hang the open.
fn check_special_files(fs: &dyn FsLayer, root: &Path) -> Result<()> {
    let files = ["store.json", "index.json", "journal/journal.log"];
    let dirs = [
        "tmp",
        "folders",
        "journal",
        "quarantine",
        "traces",
        "sent",
        "timeline",
    ];
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
                "tmp/, folders/, journal/, quarantine/, traces/, sent/ and timeline/ are directories",
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
        let _ = keep_copy(fs, root, "journal", "log", &bytes, why);
    }
}

/// The entry id a file or directory name stands for, if it is exactly the name the store
/// writes for that id (`file_stem` + `suffix`).
pub(super) fn canonical_id(name: &std::ffi::OsStr, suffix: &str) -> Option<EntryId> {
    let stem = name.to_str()?.strip_suffix(suffix)?;
    let id = EntryId(stem.parse::<u64>().ok()?);
    (id.file_stem() == stem).then_some(id)
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
                            // Only the store's own names are looked at; others are junk,
                            // counted and left alone (see `Store::scan_folder`).
                            let fp = canonical_id(&f.name, ".json")
                                .and_then(|_| fs.fingerprint(&dir_path.join(&f.name)).ok());
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

/// `index.json`'s entries by message, or none when it is missing, unreadable or of another
/// schema version (the folders are then read file by file).
fn read_index(fs: &dyn FsLayer, index_path: &Path) -> HashMap<EntryId, IndexEntry> {
    fs.read(index_path)
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
        // A store.json that does not read is the user's all the same: never replaced by the
        // seed's profile nor quarantined; sending is held with the reason (see `meta`). Only a
        // missing one (a new store) gets the seed's.
        let (Loaded { meta, hold }, created) = match fs.read(&meta_path) {
            Ok(bytes) => (load_meta(&bytes, root), false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let meta = new_meta(seed.map(|s| (s.profile)()));
                (Loaded { meta, hold: None }, true)
            }
            Err(e) => return Err(StoreError::io(&meta_path, e)),
        };
        report.created = created;
        report.profile_held = hold.as_ref().map(|h| h.reason.clone());
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
            sent: None,
            profile_hold: hold,
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
            let parsing = sc.spawn(|| read_index(fs, &index_path));
            let listing = list_folders(fs, &folders_dir);
            (parsing.join().unwrap_or_default(), listing)
        });
        let mut index = index;
        let index_len = index.len();
        let known: HashSet<EntryId> = self.meta.folders.iter().map(|f| f.entry_id).collect();
        let dirs = listing.map_err(io_err(&folders_dir))?;
        let mut junk = Junk::new(folders_dir.clone());
        for (dir, files) in dirs {
            if canonical_id(&dir.name, "").is_none() {
                junk.add(&dir.name);
                continue;
            }
            self.scan_folder(&folders_dir, &dir, files, &known, &mut index, report)?;
        }
        junk.report_to(report);
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

    /// One entry of `folders/`: a folder directory's message files, each summarised (from
    /// `index`, which gives up the entries it hands out) or moved to quarantine.
    fn scan_folder(
        &mut self,
        folders_dir: &Path,
        dir: &fs::DirItem,
        files: FolderListing,
        known: &HashSet<EntryId>,
        index: &mut HashMap<EntryId, IndexEntry>,
        report: &mut OpenReport,
    ) -> Result<()> {
        let dir_path = folders_dir.join(&dir.name);
        // Only the exact names the store writes: "1" or "+1" would parse as folder 1 and
        // then never be found at the path the store reads (the caller counts them as junk).
        let Some(fid) = canonical_id(&dir.name, "") else {
            return Ok(());
        };
        if !dir.is_dir {
            let why = "a file where a folder directory belongs (expected a directory)";
            report
                .quarantined
                .push(quarantine_in(&*self.fs, &self.root, &dir_path, why)?);
            return Ok(());
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
        let mut junk = Junk::new(dir_path.clone());
        for (f, fp) in files {
            let path = dir_path.join(&f.name);
            let Some(eid) = canonical_id(&f.name, ".json") else {
                // Not a name the store writes: never read, never taken for a message, and
                // cheap however many there are (counted; `doctor` moves them aside at once).
                junk.add(&f.name);
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
            let indexed = index.remove(&eid);
            let Some(summary) = self.read_summary(eid, fid, fp, path, indexed, report)? else {
                continue;
            };
            self.next_id = self.next_id.max(eid.0 + 1);
            if let Some(prev) = self.summaries.get(&eid).cloned() {
                self.keep_newer_copy(eid, fid, fp, summary, prev, report)?;
                continue;
            }
            self.fingerprints.insert(eid, fp);
            self.set_summary(summary);
        }
        junk.report_to(report);
        Ok(())
    }

    /// The summary of message `eid`'s file `path` in folder `fid`: the index's entry when
    /// the file is unchanged since it was written, else read from the file. `None` when the
    /// file vanished, cannot be read (noted as unreadable) or was moved to quarantine.
    fn read_summary(
        &mut self,
        eid: EntryId,
        fid: EntryId,
        fp: fs::Fingerprint,
        path: PathBuf,
        indexed: Option<IndexEntry>,
        report: &mut OpenReport,
    ) -> Result<Option<Summary>> {
        let indexed = match indexed {
            Some(ie) if (ie.ino, ie.len, ie.mtime_ns) == fp && ie.summary.folder == fid => {
                report.from_index += 1;
                return Ok(Some(ie.summary));
            }
            indexed => indexed,
        };
        let parsed = match self.fs.read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                // Unreadable is not corrupt: left in place, listed, tried again.
                let known = indexed.map(|ie| ie.summary);
                self.note_unreadable(eid, fid, path, &e, known);
                return Ok(None);
            }
            Ok(b) => parse_message(&b),
        };
        match parsed {
            Ok(m) if m.entry_id != eid => {
                let why = format!(
                    "the file name says message {eid} but it holds message {}",
                    m.entry_id
                );
                report
                    .quarantined
                    .push(quarantine_in(&*self.fs, &self.root, &path, &why)?);
                Ok(None)
            }
            Ok(mut m) => {
                m.folder = fid;
                Ok(Some(Summary::of(&m)))
            }
            Err(why) => {
                let why = why.to_string();
                report
                    .quarantined
                    .push(quarantine_in(&*self.fs, &self.root, &path, &why)?);
                Ok(None)
            }
        }
    }

    /// Two copies of message `eid` (the one already scanned, `prev`, and `summary` in folder
    /// `fid`): a crash between `FinishedMsg`'s copy and its removal. The newer revision is the
    /// finished one; the other file is removed.
    fn keep_newer_copy(
        &mut self,
        eid: EntryId,
        fid: EntryId,
        fp: fs::Fingerprint,
        summary: Summary,
        prev: Summary,
        report: &mut OpenReport,
    ) -> Result<()> {
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
