//! Whole-message saves and the group commit (see [`super::group`] for its file work).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::durable::fs;
use crate::mapi::{EntryId, Message, SCHEMA_VERSION};

use super::error::{Result, StoreError, io_err};
use super::{Store, Summary, group, message_bytes};

/// At most this many spare files wait in `tmp/` for the next group.
const SPARES_MAX: usize = 256;

/// A group commit under way: its members (still pending for [`Store::is_unsynced`]) and the
/// thread doing its file work.
#[derive(Debug)]
pub(super) struct Committing {
    members: Vec<PendingSave>,
    work: std::thread::JoinHandle<group::Outcome>,
}

/// A whole-message write waiting for its group's commit, with what to restore in memory if
/// the commit fails.
#[derive(Debug)]
pub(super) struct PendingSave {
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

impl Store {
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
    pub(super) fn is_pending(&self, eid: EntryId) -> bool {
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
    ///
    /// [`FsLayer::concurrent`]: crate::durable::fs::FsLayer::concurrent
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
}
