//! One process owns a store at a time: an exclusive advisory lock on the store directory
//! itself, and on `store.lock`.
//!
//! The kernel drops the locks when their holder dies (even by SIGKILL), so a crashed owner
//! never blocks the store. The holder writes its pid into `store.lock` so a refused process
//! can say who holds it.
//!
//! Why the directory: a lock on a file alone is lost with its name. Deleting or replacing
//! `store.lock` while its owner runs would let the next process create a fresh file, lock
//! that, and own the store beside the first one. The directory cannot be deleted while it
//! holds the store, and a process that opens the store by its path locks the same inode as
//! every other one. `store.lock` is still locked too (after the directory), so a Spoolbox
//! that only knows that lock is kept out as well; after locking it the lock checks that the
//! name still leads to the inode it locked (a replacement in between is refused).
//!
//! `store.lock` is opened without following a symbolic link and must be a regular file: its
//! contents are cut to the pid, so a link planted there would have the owner overwrite
//! whatever it points to.
//!
//! On Windows a directory cannot be locked. There `store.lock` is held open without
//! `FILE_SHARE_DELETE`, so while its owner runs the name can be neither deleted nor replaced
//! (a rename over it fails with a sharing violation): that is what the directory's lock
//! guards against on Linux. The lock itself is `LockFileEx` on one byte far past the pid
//! (`durable::windows::try_lock_range`: Windows' locks are mandatory, a lock over the pid would
//! keep the refused process from reading who holds the store), and the identity check
//! compares volume serial numbers and file indexes instead of devices and inodes. Windows
//! drops the lock when the owner's handle closes, at its exit or death.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
#[cfg(unix)]
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::fs::beneath::{self, Access, Beneath, Registration, is_shared_link};
use super::fs::open_regular;

/// Why the store's lock could not be taken. The store turns each into the `StoreError` of the
/// same text (`Locked`, `Invalid`, `Io`).
#[derive(Debug, thiserror::Error)]
pub enum LockError {
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
    /// `store.lock` is a symbolic link or not a regular file, or it was replaced again and
    /// again while it was being locked: the text says which.
    #[error("{0}")]
    Refused(String),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl LockError {
    /// An I/O error on `path`.
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The held lock; dropping it releases the store.
#[derive(Debug)]
pub struct StoreLock {
    _dir: Option<File>,
    _file: Option<File>,
    /// While the lock is held, the real file system reaches every path under the store
    /// through its [`Beneath`] only (see [`super::fs::beneath`]).
    _guard: Option<Registration>,
}

/// What a refused `store.lock` is: a clear error naming it.
fn lock_file_refused(path: &Path, e: &std::io::Error) -> LockError {
    LockError::Refused(format!(
        "{}: {e}; Spoolbox opens a store only when its store.lock, store.json, index.json and journal/journal.log are regular files (or missing): move it away",
        path.display()
    ))
}

impl StoreLock {
    /// Takes the lock or says which process holds it.
    ///
    /// # Errors
    /// [`LockError::Locked`] when another process holds the store; [`LockError::Refused`]
    /// when `store.lock` is a symbolic link or not a regular file; I/O errors otherwise.
    pub fn acquire(root: &Path) -> Result<Self, LockError> {
        let path = root.join("store.lock");
        let dir = lock_dir(root, &path)?;
        let store = Beneath::new(root).map_err(|e| LockError::io(root, e))?;
        // Holding the directory: no other Spoolbox of this kind touches store.lock now.
        for _ in 0..3 {
            // Never truncate before holding the lock: the pid inside belongs to the holder.
            // (On Windows without FILE_SHARE_DELETE: see the module docs.)
            let mut file = match store.open(&path, Access::Lock) {
                // A store.lock with other links (a hard link to a file elsewhere) is never
                // cut to the pid: its name goes and a fresh file takes it.
                Err(e) if is_shared_link(&e) => {
                    store
                        .remove(&path)
                        .map_err(|e| lock_file_refused(&path, &e))?;
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                    return Err(lock_file_refused(&path, &e));
                }
                Err(e) => return Err(LockError::io(&path, e)),
                Ok(f) => f,
            };
            lock_waiting_for_own_fork(&file, &path).map_err(|e| refused(root, &path, e))?;
            // The name must still lead to the inode locked: replaced in between, lock again.
            if !same_file(&file, &path).map_err(|e| LockError::io(&path, e))? {
                continue;
            }
            let pid = std::process::id().to_string();
            let write = file
                .set_len(0)
                .and_then(|()| file.seek(SeekFrom::Start(0)))
                .and_then(|_| file.write_all(pid.as_bytes()));
            write.map_err(|e| LockError::io(&path, e))?;
            let guard = beneath::register(root).map_err(|e| LockError::io(root, e))?;
            return Ok(Self {
                _dir: dir,
                _file: Some(file),
                _guard: Some(guard),
            });
        }
        Err(LockError::Refused(format!(
            "{}: replaced again and again while it was being locked; is something else writing in the store?",
            path.display()
        )))
    }

    /// A lock that holds no file: for a store on a simulated file system (a test's
    /// [`super::fs::FsLayer`]), which only that test can reach.
    pub fn detached() -> Self {
        Self {
            _dir: None,
            _file: None,
            _guard: None,
        }
    }
}

/// The store directory, opened and locked (see the module docs).
#[cfg(unix)]
fn lock_dir(root: &Path, path: &Path) -> Result<Option<File>, LockError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(root)
        .map_err(|e| LockError::io(root, e))?;
    let locked = lock_waiting_for_own_fork(&dir, path);
    locked.map_err(|e| refused(root, path, e))?;
    Ok(Some(dir))
}

/// Nothing on Windows, where a directory cannot be locked (see the module docs); a missing
/// store directory is still an error, as on Linux.
#[cfg(windows)]
fn lock_dir(root: &Path, _path: &Path) -> Result<Option<File>, LockError> {
    match std::fs::metadata(root) {
        Ok(md) if md.is_dir() => Ok(None),
        Ok(_) => Err(LockError::io(
            root,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        )),
        Err(e) => Err(LockError::io(root, e)),
    }
}

/// True when `path` still names the file `held` (device and inode).
#[cfg(unix)]
fn same_file(held: &File, path: &Path) -> std::io::Result<bool> {
    let held = held.metadata()?;
    Ok(std::fs::symlink_metadata(path)
        .is_ok_and(|now| (now.dev(), now.ino()) == (held.dev(), held.ino())))
}

/// True when `path` still names the file `held` (volume serial number and file index).
#[cfg(windows)]
fn same_file(held: &File, path: &Path) -> std::io::Result<bool> {
    use crate::durable::windows::{file_id, path_id};
    let held = file_id(held)?;
    Ok(path_id(path).is_ok_and(|now| (now.volume, now.index) == (held.volume, held.index)))
}

/// The lock itself: `flock` on Unix, `LockFileEx` on one byte on Windows.
fn try_lock(file: &File) -> Result<(), TryLockError> {
    #[cfg(unix)]
    return file.try_lock();
    #[cfg(windows)]
    return crate::durable::windows::try_lock_range(file);
}

/// `flock(LOCK_EX | LOCK_NB)` of `file`; while `store.lock` names this process (or the
/// process that started this one) as the holder the lock is tried again for up to a second:
/// another Store of this process, or a child this process (or its parent) just forked that
/// still shares the descriptor until its exec (that passes in microseconds; a parent that
/// closed the store and then started this process can still have such a child, as the
/// tests' crash suites do while other threads spawn processes).
fn lock_waiting_for_own_fork(file: &File, lock_path: &Path) -> Result<(), TryLockError> {
    let mut tries = 0;
    loop {
        match try_lock(file) {
            Err(TryLockError::WouldBlock) if tries < 100 && holder_is_me_or_parent(lock_path) => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// The error for a lock that could not be taken.
fn refused(root: &Path, path: &Path, e: TryLockError) -> LockError {
    match e {
        TryLockError::WouldBlock => {
            let who = holder(path);
            let holder = if who.is_empty() {
                "another process".to_owned()
            } else {
                format!("process {who}")
            };
            LockError::Locked {
                root: root.to_path_buf(),
                holder,
            }
        }
        TryLockError::Error(e) => LockError::io(path, e),
    }
}

/// The pid in `store.lock` (empty when it cannot be read), read without following a link.
fn holder(path: &Path) -> String {
    let mut who = String::new();
    if let Ok(mut f) = open_regular(path, OpenOptions::new().read(true)) {
        let _ = f.seek(SeekFrom::Start(0));
        // A pid is short: a huge file there is never read whole.
        let _ = (&mut f).take(64).read_to_string(&mut who);
    }
    who.trim().to_owned()
}

/// True when the lock file names this process, or the process that started it, as the holder.
fn holder_is_me_or_parent(path: &Path) -> bool {
    let who = holder(path);
    #[cfg(unix)]
    return who == std::process::id().to_string()
        || who == std::os::unix::process::parent_id().to_string();
    // No fork on Windows: no child shares the lock's handle; only another Store of this
    // process is waited for.
    #[cfg(windows)]
    return who == std::process::id().to_string();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_this_process_and_taken_once_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = StoreLock::acquire(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let pid = std::process::id().to_string();
        let lock_file = dir.path().join("store.lock");
        assert_eq!(std::fs::read_to_string(&lock_file).ok(), Some(pid.clone()));
        match StoreLock::acquire(dir.path()) {
            Err(LockError::Locked { holder, .. }) => assert_eq!(holder, format!("process {pid}")),
            other => panic!("not refused: {other:?}"),
        }
        // Windows: the owner's name can be neither deleted nor replaced (no FILE_SHARE_DELETE).
        #[cfg(windows)]
        assert!(std::fs::remove_file(&lock_file).is_err());
        drop(first);
        let again = StoreLock::acquire(dir.path());
        assert!(again.is_ok(), "{again:?}");
    }
}
