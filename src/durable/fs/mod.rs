//! The only code that writes to disk: atomic whole-file replaces and durable unlinks, with an
//! fsync counter for the benchmarks and fail points for the crash tests.
//!
//! The commit point of every write is a `rename` (as Maildir, qmail and Postfix do): a file is
//! written under `tmp/`, fsynced, renamed into place, and its directory fsynced. A crash at any
//! instant leaves either the old file or the new one, never a mix.
//!
//! Every store operation goes through an [`FsLayer`]: [`RealFs`] by default, or a test layer
//! that models what a power cut keeps (as `SQLite`'s crash tests do). The layer
//! has the few POSIX primitives the store needs; the composite operations ([`write_atomic_in`],
//! [`remove_durable_in`], ...) are written once, over the layer, so a simulated file system
//! sees exactly the calls and fsyncs the real one gets.
//!
//! Under a store's root [`RealFs`] goes through [`beneath`], the store's one way in: no
//! symbolic link followed on any component, no open that blocks on a FIFO, no in-place write
//! into a file with more than one link, reads bounded.

pub mod beneath;
mod composite;
mod fail;
mod real;
mod regular;
mod sync;

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::lock::{LockError, StoreLock};

pub use composite::{
    create_dir_durable, parent, remove_durable, remove_durable_in, remove_lazy, remove_lazy_in,
    tmp_name, write_atomic, write_atomic_in, write_replace_nosync, write_replace_nosync_in,
    write_tmp, write_tmp_in,
};
pub use fail::{fail_point, fail_points_armed};
pub use real::{MAX_FILE_BYTES, RealFs, out_of_files};
pub use regular::{
    DIR_MODE, FILE_MODE, FileKind, kind_name, kind_of, not_regular, open_regular, read_regular,
    read_user_file,
};
pub use sync::{fsync_count, group_sync_path, sync_data, sync_dir, sync_file, sync_file_system};

/// `(inode, length, mtime in ns)`: tells an unchanged file from a changed one (`index.json`).
pub type Fingerprint = (u64, u64, i128);

/// One name in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirItem {
    /// The file name.
    pub name: OsString,
    /// True for a directory.
    pub is_dir: bool,
}

/// A file that is only appended to (the journal).
pub trait AppendFile: Send + fmt::Debug {
    /// Current length in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Cuts the file to `len` bytes (or extends it with zeros).
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Writes `bytes` at byte `offset` (the journal's good length, so a torn write that could
    /// not be cut back is overwritten by the next one); durable only after
    /// [`AppendFile::sync`].
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// `fsync`: the contents so far survive a power cut.
    fn sync(&mut self) -> io::Result<()>;
    /// A handle that makes the contents durable from another thread (the journal's syncer):
    /// each call covers every byte written before it began. `None` (the default) keeps every
    /// sync on the caller's thread.
    fn background_sync(&self) -> Option<BackgroundSync> {
        None
    }
}

pub use crate::durable::BackgroundSync;

/// One file for [`FsLayer::create_many`].
#[derive(Debug)]
pub struct NewFile {
    /// Where.
    pub path: PathBuf,
    /// What.
    pub bytes: Vec<u8>,
    /// `path` is an existing spare to overwrite (else it must not exist).
    pub reuse: bool,
}

/// The file-system primitives the store writes through. POSIX rules apply to every
/// implementation: a file's contents are durable only after its fsync, a name (create,
/// rename, unlink) only after an fsync of its directory.
pub trait FsLayer: Send + Sync + fmt::Debug {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates `path`, which must not exist, holding `bytes`; with `sync` its contents are
    /// fsynced before this returns (its name is not: that takes [`FsLayer::sync_dir`]). A
    /// failed write leaves no file behind.
    fn create_new(&self, path: &Path, bytes: &[u8], sync: bool) -> io::Result<()>;
    /// Writes every file durably: when this returns, all of them hold their bytes, fsynced. A
    /// file marked `reuse` exists already (a spare in `tmp/`) and is overwritten; the others
    /// are created as by [`FsLayer::create_new`]. An implementation may batch the fsyncs; on
    /// an error no file of the batch is left behind.
    fn create_many(&self, files: &[NewFile]) -> io::Result<()> {
        for (i, f) in files.iter().enumerate() {
            if f.reuse {
                let _ = self.remove_file(&f.path);
            }
            if let Err(e) = self.create_new(&f.path, &f.bytes, true) {
                for g in &files[..i] {
                    let _ = self.remove_file(&g.path);
                }
                return Err(e);
            }
        }
        Ok(())
    }
    /// True when the store may run this layer's operations on another thread while it goes
    /// on (a group commit's file work, see `Store::commit_saves_background`). The real file
    /// system may; a simulated one that crashes at its n-th operation must not (the order,
    /// and so the crash, would vary from run to run), and that is the default.
    fn concurrent(&self) -> bool {
        false
    }
    /// `rename(2)`: atomically replaces `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// `unlink(2)`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// `fsync` of a directory: the names in it survive a power cut.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// `mkdir(2)`; `Ok(false)` when the directory already exists.
    fn create_dir(&self, dir: &Path) -> io::Result<bool>;
    /// The names in a directory.
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirItem>>;
    /// The file's [`Fingerprint`].
    fn fingerprint(&self, path: &Path) -> io::Result<Fingerprint>;
    /// True when something exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// Opens `path` for appending, creating it empty if missing; `true` when it was created
    /// (its name then needs a directory fsync).
    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn AppendFile>, bool)>;
    /// Takes the store's single-owner lock.
    fn lock(&self, root: &Path) -> Result<StoreLock, LockError>;
    /// What is at `path`, a symbolic link not followed; `None` (the default) when the layer
    /// does not tell (a simulated file system holds only files and directories).
    fn kind(&self, _path: &Path) -> io::Result<Option<FileKind>> {
        Ok(None)
    }
}
