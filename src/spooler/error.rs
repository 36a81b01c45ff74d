//! The spooler's error type: what a command, a submission or the worker's channel can refuse,
//! typed so a caller can act on it (a MAPI code to show, a store that is locked, a busy
//! worker to try again), worded for the person who reads it.

use std::path::PathBuf;

use crate::mapi::{EntryId, MapiCode, MapiError};
use crate::store::StoreError;

/// What the spooler refuses or fails at.
#[derive(Debug, thiserror::Error)]
pub enum SpoolerError {
    /// The store refused or failed (I/O, a lock, a missing message or folder).
    #[error(transparent)]
    Store(StoreError),
    /// A MAPI rule refused the operation (from the spooler or the store).
    #[error(transparent)]
    Mapi(MapiError),
    /// A command named a transport the profile does not have.
    #[error("no transport named {0:?}")]
    NoTransport(String),
    /// An `.eml` file could not be imported.
    #[error("{}: {source}", path.display())]
    Import {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: crate::eml::ImportError,
    },
    /// A message could not be rendered as RFC 5322 for export.
    #[error("message {eid} cannot be exported: {source}")]
    Export {
        /// The message.
        eid: EntryId,
        /// Why the renderer refused it.
        source: crate::eml::RenderError,
    },
    /// Hold or release of a message that is not in the queue.
    #[error("message {0} is not queued, so it cannot be held")]
    NotQueued(EntryId),
    /// Resend of a message that is not a non-delivery report with its original.
    #[error("message {0} is not a non-delivery report with an original")]
    NotAReport(EntryId),
    /// An attachment name that would be a path when written out.
    #[error("attachment name {0:?} may not contain a path")]
    AttachmentPath(String),
    /// An attachment that is not a regular file.
    #[error("{} is not a regular file", .0.display())]
    NotAFile(PathBuf),
    /// An attachment over the size limit.
    #[error("{} is {} MB; attachments are limited to {} MB", path.display(), size >> 20, limit >> 20)]
    AttachmentTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A path with no file name to attach under.
    #[error("{} has no file name", .0.display())]
    NoFileName(PathBuf),
    /// The demo data built into the binary could not be read.
    #[error("the embedded demo data is unreadable")]
    DemoUnreadable,
    /// The worker's command queue is full.
    #[error("the spooler is busy: too many commands queued, try again")]
    Busy,
    /// The worker has stopped.
    #[error("the spooler worker has stopped")]
    WorkerStopped,
}

impl SpoolerError {
    /// The MAPI error, if MAPI's rules refused the operation.
    pub fn mapi(&self) -> Option<&MapiError> {
        match self {
            Self::Mapi(m) => Some(m),
            _ => None,
        }
    }

    /// As a store error, for a caller that reports store errors (the store's seed, a step):
    /// store and MAPI errors as they were, the spooler's own refusals by their text.
    pub fn into_store_error(self) -> StoreError {
        match self {
            Self::Store(s) => s,
            Self::Mapi(m) => StoreError::Mapi(m),
            other => StoreError::Invalid(other.to_string()),
        }
    }

    /// The MAPI code of a MAPI refusal.
    pub fn mapi_code(&self) -> Option<MapiCode> {
        self.mapi().map(|m| m.code)
    }
}

impl From<StoreError> for SpoolerError {
    /// A MAPI refusal from the store is a MAPI refusal here too (one representation).
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Mapi(m) => Self::Mapi(m),
            other => Self::Store(other),
        }
    }
}

impl From<MapiError> for SpoolerError {
    fn from(e: MapiError) -> Self {
        Self::Mapi(e)
    }
}

/// Shorthand.
pub type Result<T, E = SpoolerError> = std::result::Result<T, E>;
