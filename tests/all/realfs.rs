//! The real file system with a test's own behaviour at a few operations: a test implements
//! [`Hooks`] for what it watches or breaks, and wraps it in [`Hooked`]; every other operation
//! goes straight to `RealFs`.

use std::io;
use std::path::Path;

use spoolbox::durable::fs::{AppendFile, DirItem, FileKind, Fingerprint, FsLayer, NewFile, RealFs};
use spoolbox::durable::lock::{LockError, StoreLock};

/// The operations a test may take over; each defaults to the real file system's (and
/// `concurrent` to the layer default: every operation on the spooler's thread).
pub trait Hooks: Send + Sync + std::fmt::Debug {
    fn concurrent(&self) -> bool {
        false
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        RealFs.rename(from, to)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        RealFs.read(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn AppendFile>, bool)> {
        RealFs.open_append(path)
    }
}

/// `RealFs` with `H`'s hooks.
#[derive(Debug, Default)]
pub struct Hooked<H>(pub H);

impl<H: Hooks> FsLayer for Hooked<H> {
    fn concurrent(&self) -> bool {
        self.0.concurrent()
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0.read(path)
    }
    fn create_new(&self, path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
        RealFs.create_new(path, bytes, sync)
    }
    fn create_many(&self, files: &[NewFile]) -> io::Result<()> {
        RealFs.create_many(files)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        RealFs.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        RealFs.sync_dir(dir)
    }
    fn create_dir(&self, dir: &Path) -> io::Result<bool> {
        RealFs.create_dir(dir)
    }
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirItem>> {
        RealFs.read_dir(dir)
    }
    fn fingerprint(&self, path: &Path) -> io::Result<Fingerprint> {
        RealFs.fingerprint(path)
    }
    fn exists(&self, path: &Path) -> bool {
        RealFs.exists(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn AppendFile>, bool)> {
        self.0.open_append(path)
    }
    fn lock(&self, root: &Path) -> Result<StoreLock, LockError> {
        RealFs.lock(root)
    }
    fn kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        RealFs.kind(path)
    }
}
