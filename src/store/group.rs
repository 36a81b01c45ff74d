//! The file work of one group commit (see [`super::Store::commit_saves`]), kept apart from the
//! store's memory so that it can run on a thread of its own while the spooler goes on: the
//! spooler thread plans the group and, when the work is done, brings its memory up to date
//! from the [`Outcome`]. The order of the file operations is the same on either thread, and
//! nothing about a member is reported before its outcome is applied.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

use super::StoreError;
use crate::durable::fs::{self, Fingerprint, FsLayer, NewFile, fail_point};
use crate::mapi::{EntryId, Message};

/// One member of a group.
#[derive(Debug)]
pub(super) struct Item {
    pub eid: EntryId,
    /// Its folder and path there.
    pub folder: EntryId,
    pub dest: PathBuf,
    /// The copy it replaces in another folder (that folder and the path), taken away after
    /// the new one is durable.
    pub old: Option<(EntryId, PathBuf)>,
}

/// What one group commit writes.
#[derive(Debug)]
pub(super) struct Plan {
    /// The new files, one per item in the same order (spares to overwrite or fresh names);
    /// their bytes are filled in from `contents` by [`Plan::run`].
    pub files: Vec<NewFile>,
    /// What each file holds: serializing is part of the work done off the spooler's thread.
    pub contents: Vec<Message>,
    pub items: Vec<Item>,
    pub tmp_dir: PathBuf,
    /// Every folder an item goes to or leaves, and its directory.
    pub dirs: BTreeMap<EntryId, PathBuf>,
    /// How many old copies may become spares for the next group; the others are unlinked.
    pub spare_room: usize,
}

/// What happened, for the store to apply in memory.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Per item: its file reached its folder. The others are to be rolled back (their
    /// creation or rename failed, or one before them did).
    pub renamed: Vec<bool>,
    /// Members whose new copy is durable and whose old one is dealt with, with the new
    /// file's fingerprint: their memory is clean again.
    pub settled: Vec<(EntryId, Option<Fingerprint>)>,
    /// Folders an old copy was unlinked from without an fsync of the folder.
    pub unlinked_from: Vec<EntryId>,
    /// Old copies moved into `tmp/` and durably gone from their folders: the next group's
    /// spares.
    pub spares: Vec<PathBuf>,
    /// The first failure, if any.
    pub error: Option<StoreError>,
}

impl Plan {
    fn dir(&self, folder: EntryId) -> PathBuf {
        self.dirs.get(&folder).cloned().unwrap_or_default()
    }

    /// Does the file work: every member serialized, every new file written and made durable in one batch, renamed into
    /// its folder (after a failed rename the rest of the group is dropped), each folder
    /// fsynced once; then the old copies are moved into `tmp/` as spares (or unlinked lazily
    /// once there are enough), and the folders they left fsynced.
    pub fn run(mut self, fs: &dyn FsLayer) -> Outcome {
        let mut out = Outcome {
            renamed: vec![false; self.items.len()],
            ..Outcome::default()
        };
        for (nf, msg) in self
            .files
            .iter_mut()
            .zip(std::mem::take(&mut self.contents))
        {
            match super::message_bytes(&msg) {
                Ok(bytes) => nf.bytes = bytes,
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            }
        }
        if let Err(e) = fs.create_many(&self.files) {
            out.error = Some(StoreError::io(&self.tmp_dir, e));
            return out;
        }
        let mut failed = None;
        for (i, (item, nf)) in self.items.iter().zip(&self.files).enumerate() {
            if failed.is_some() {
                let _ = fs.remove_file(&nf.path);
                continue;
            }
            fail_point("store.before_rename");
            if let Err(e) = fs.rename(&nf.path, &item.dest) {
                let _ = fs.remove_file(&nf.path);
                failed = Some(StoreError::io(&item.dest, e));
                continue;
            }
            fail_point("store.after_rename");
            if let Some(r) = out.renamed.get_mut(i) {
                *r = true;
            }
        }
        let done: Vec<&Item> = self
            .items
            .iter()
            .zip(&out.renamed)
            .filter(|(_, r)| **r)
            .map(|(i, _)| i)
            .collect();
        let dirs: BTreeSet<EntryId> = done.iter().map(|i| i.folder).collect();
        for f in dirs {
            let d = self.dir(f);
            if let Err(e) = fs.sync_dir(&d) {
                out.error = Some(StoreError::io(&d, e));
                return out;
            }
        }
        let mut spared = Vec::new();
        let mut left: BTreeSet<EntryId> = BTreeSet::new();
        for item in done {
            if let Some((old_folder, old_path)) = &item.old {
                fail_point("store.between_copy_and_remove");
                if spared.len() < self.spare_room {
                    let spare = fs::tmp_name(&self.tmp_dir);
                    match fs.rename(old_path, &spare) {
                        Ok(()) => {
                            spared.push(spare);
                            left.insert(*old_folder);
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => {
                            out.error = Some(StoreError::io(old_path, e));
                            return out;
                        }
                    }
                } else {
                    // Unlinked without an fsync of the folder: the new copy is durable, and a
                    // lost unlink leaves two copies of which the next open keeps the newer.
                    if let Err(e) = fs::remove_lazy_in(fs, old_path) {
                        out.error = Some(StoreError::io(old_path, e));
                        return out;
                    }
                    out.unlinked_from.push(*old_folder);
                }
            }
            out.settled
                .push((item.eid, fs.fingerprint(&item.dest).ok()));
        }
        if !spared.is_empty() {
            for f in left {
                let d = self.dir(f);
                if let Err(e) = fs.sync_dir(&d) {
                    out.error = Some(StoreError::io(&d, e));
                    return out;
                }
            }
            if let Err(e) = fs.sync_dir(&self.tmp_dir) {
                out.error = Some(StoreError::io(&self.tmp_dir, e));
                return out;
            }
            out.spares = spared;
        }
        out.error = failed;
        out
    }
}
