//! The store's error type.

use std::io;
use std::path::{Path, PathBuf};

use crate::durable::lock::LockError;
use crate::mapi::{EntryId, MapiError};

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
    /// True when a file operation failed for want of a file descriptor (see
    /// [`crate::durable::fs::out_of_files`]).
    pub fn out_of_files(&self) -> bool {
        matches!(self, Self::Io { source, .. } if crate::durable::fs::out_of_files(source))
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<LockError> for StoreError {
    /// The same text: a store in use stays [`StoreError::Locked`], a refused `store.lock`
    /// [`StoreError::Invalid`].
    fn from(e: LockError) -> Self {
        match e {
            LockError::Locked { root, holder } => Self::Locked { root, holder },
            LockError::Refused(why) => Self::Invalid(why),
            LockError::Io { path, source } => Self::Io { path, source },
        }
    }
}

/// Shorthand.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}
