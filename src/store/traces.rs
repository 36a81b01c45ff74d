//! The traces of messages deleted for good (`PR_DELETE_AFTER_SUBMIT`): kept under `traces/` so
//! `spoolbox trace ID` still answers after the message is gone.

use std::path::PathBuf;

use super::{Result, Store, StoreError, fs};
use crate::mapi::{EntryId, TraceCall};

impl Store {
    fn kept_trace_path(&self, eid: EntryId) -> PathBuf {
        self.root()
            .join("traces")
            .join(format!("{}.json", eid.file_stem()))
    }

    /// Keeps `trace` as the trace of `eid` (best effort, not synced: a trace is a record for
    /// people, not a promise).
    pub fn keep_trace(&self, eid: EntryId, trace: &[TraceCall]) {
        let fs = self.fs();
        let dir = self.root().join("traces");
        if fs::create_dir_durable(fs, &dir).is_ok()
            && let Ok(bytes) = serde_json::to_vec_pretty(trace)
        {
            let _ = fs::write_replace_nosync_in(
                fs,
                &self.root().join("tmp"),
                &self.kept_trace_path(eid),
                &bytes,
            );
        }
    }

    /// The trace kept for a message deleted for good.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when none was kept; [`StoreError::Invalid`] when it is unreadable.
    pub fn kept_trace(&self, eid: EntryId) -> Result<Vec<TraceCall>> {
        let path = self.kept_trace_path(eid);
        let bytes = self
            .fs()
            .read(&path)
            .map_err(|_| StoreError::NotFound(eid))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", path.display())))
    }
}
