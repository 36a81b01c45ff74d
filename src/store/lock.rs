//! One process owns a store at a time: an exclusive advisory lock on `store.lock`.
//!
//! The kernel drops the lock when its holder dies (even by SIGKILL), so a crashed owner never
//! blocks the store. The holder writes its pid into the file so a refused process can say who
//! holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use super::StoreError;

/// The held lock; dropping it releases the store.
#[derive(Debug)]
pub struct StoreLock {
    _file: Option<File>,
}

impl StoreLock {
    /// Takes the lock or says which process holds it.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process holds the store; I/O errors otherwise.
    pub fn acquire(root: &Path) -> Result<Self, StoreError> {
        let path = root.join("store.lock");
        // Never truncate before holding the lock: the pid inside belongs to the holder.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Err(TryLockError::WouldBlock) if tries < 100 && holder_is_me(&mut file) => {
                    // Held under our own pid: another Store of this process, or a child this
                    // process just forked that still shares the descriptor until its exec. The
                    // latter passes in microseconds; wait up to a second before refusing.
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other,
            }
        }
        .map_err(|e| match e {
            TryLockError::WouldBlock => {
                let mut who = String::new();
                let _ = file.seek(SeekFrom::Start(0));
                let _ = file.read_to_string(&mut who);
                let who = who.trim();
                let holder = if who.is_empty() {
                    "another process".to_owned()
                } else {
                    format!("process {who}")
                };
                StoreError::Locked {
                    root: root.to_path_buf(),
                    holder,
                }
            }
            TryLockError::Error(e) => StoreError::io(&path, e),
        })?;
        let pid = std::process::id().to_string();
        let write = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()));
        write.map_err(|e| StoreError::io(&path, e))?;
        Ok(Self { _file: Some(file) })
    }

    /// A lock that holds no file: for a store on a simulated file system (a test's
    /// [`super::fs::FsLayer`]), which only that test can reach.
    pub fn detached() -> Self {
        Self { _file: None }
    }
}

/// True when the lock file names this process as the holder.
fn holder_is_me(file: &mut File) -> bool {
    let mut who = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut who));
    read.is_ok() && who.trim() == std::process::id().to_string()
}
