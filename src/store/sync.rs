//! Journal patches, journal syncs, compaction, and the forwarders to the write-ahead gate.

use crate::durable::fs;
use crate::durable::gate;
use crate::mapi::{EntryId, Message};

use super::error::{Result, StoreError, io_err};
use super::journal::Record;
use super::{Patch, Store, Summary};

/// Fold the journal into message files once it grows past this.
const JOURNAL_COMPACT_BYTES: u64 = 8 << 20;

impl Store {
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

    pub(super) fn maybe_compact(&mut self) -> Result<()> {
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
}
