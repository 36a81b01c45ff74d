//! The real file system: [`RealFs`], the default layer.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::atomic::Ordering;

#[cfg(unix)]
use super::regular::DIR_MODE;
use super::regular::{FileKind, kind_of, open_regular, read_regular};
use super::sync::{
    SYNCFS_MIN_GROUP, SYNCFS_OFF, SYNCFS_SLOW_LIMIT, SYNCFS_SLOW_STREAK, SYNCFS_TOO_SLOW,
    start_writeback, sync_data, sync_dir, sync_file, sync_whole_fs,
};
use super::{AppendFile, BackgroundSync, DirItem, Fingerprint, FsLayer, NewFile};
use crate::durable::lock::{LockError, StoreLock};

/// True when `e` says the process (`EMFILE`) or the system (`ENFILE`) has no file descriptor
/// left: a local condition that passes once others are closed, never a fault of the file.
pub fn out_of_files(e: &io::Error) -> bool {
    #[cfg(unix)]
    let codes = [libc::EMFILE, libc::ENFILE];
    // ERROR_TOO_MANY_OPEN_FILES.
    #[cfg(windows)]
    let codes = [4];
    e.raw_os_error().is_some_and(|c| codes.contains(&c))
}

/// The real file system (the default layer).
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

#[derive(Debug)]
struct RealAppend {
    file: File,
}

impl AppendFile for RealAppend {
    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    #[cfg(unix)]
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        self.file.write_all_at(bytes, offset)
    }

    /// `seek_write` (`WriteFile` at an offset) until every byte is written. It moves the
    /// file's cursor, which nothing here uses: every write names its offset.
    #[cfg(windows)]
    fn write_at(&mut self, offset: u64, mut bytes: &[u8]) -> io::Result<()> {
        use std::os::windows::fs::FileExt as _;
        let mut at = offset;
        while !bytes.is_empty() {
            match self.file.seek_write(bytes, at) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    bytes = &bytes[n..];
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        sync_data(&self.file)
    }

    fn background_sync(&self) -> Option<BackgroundSync> {
        let file = self.file.try_clone().ok()?;
        Some(Box::new(move || sync_data(&file)))
    }
}

impl FsLayer for RealFs {
    fn concurrent(&self) -> bool {
        true
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        read_regular(path)
    }

    fn kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        kind_of(path).map(Some)
    }

    fn create_new(&self, path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
        let mut f = open_regular(path, OpenOptions::new().write(true).create_new(true))?;
        let written = f
            .write_all(bytes)
            .and_then(|()| if sync { sync_file(&f) } else { Ok(()) });
        if let Err(e) = written {
            // A half-written file (a full disk) must not stay behind to be mistaken for data.
            drop(f);
            let _ = fs::remove_file(path);
            return Err(e);
        }
        Ok(())
    }

    fn create_many(&self, files: &[NewFile]) -> io::Result<()> {
        let mut touched: Vec<&Path> = Vec::with_capacity(files.len());
        let mut handles = Vec::with_capacity(files.len());
        let mut written = || -> io::Result<()> {
            for nf in files {
                // A spare is overwritten in place: its inode is reused, so a flush of
                // thousands neither allocates nor frees one per message (on ext4 without a
                // journal, allocation scans past every recently freed inode of the group).
                // Its blocks are reused too: written over, then cut to the new length, never
                // truncated to nothing first (freeing and reallocating every block, with a
                // discard each on a `discard` mount, made a group of 64 cost 3 times as much).
                let open = || {
                    if nf.reuse {
                        open_regular(&nf.path, OpenOptions::new().write(true))
                    } else {
                        open_regular(&nf.path, OpenOptions::new().write(true).create_new(true))
                    }
                };
                let mut f = match open() {
                    // Out of file descriptors (a low `ulimit -n`): what is open is made
                    // durable and closed, and the group goes on with the descriptors freed.
                    Err(e) if out_of_files(&e) && !handles.is_empty() => {
                        handles.iter().try_for_each(sync_file)?;
                        handles.clear();
                        open()?
                    }
                    opened => opened?,
                };
                touched.push(&nf.path);
                f.write_all(&nf.bytes)?;
                if nf.reuse {
                    f.set_len(nf.bytes.len() as u64)?;
                }
                // Start every file's write-back first, so the disk sees one batch and each
                // fsync below mostly waits for writes already under way.
                start_writeback(&f);
                handles.push(f);
            }
            // One flush of the disk's cache for the whole group rather than one per file:
            // the per-file flushes of a group of 64 made every journal fsync of the SMTP
            // path (which the next hand-off waits for) twice as slow. `syncfs` writes
            // other programs' dirty data on the same file system too, so a slow one turns
            // it off; a failed one falls back to the per-file fsyncs (which report it).
            if let Some(first) = handles.first()
                && handles.len() >= SYNCFS_MIN_GROUP
                && !SYNCFS_OFF.load(Ordering::Relaxed)
            {
                let t0 = std::time::Instant::now();
                if sync_whole_fs(first).is_ok() {
                    if t0.elapsed() <= SYNCFS_TOO_SLOW {
                        SYNCFS_SLOW_STREAK.store(0, Ordering::Relaxed);
                    } else if SYNCFS_SLOW_STREAK.fetch_add(1, Ordering::Relaxed) + 1
                        >= SYNCFS_SLOW_LIMIT
                    {
                        SYNCFS_OFF.store(true, Ordering::Relaxed);
                    }
                    return Ok(());
                }
            }
            handles.iter().try_for_each(sync_file)
        };
        if let Err(e) = written() {
            for p in touched {
                let _ = fs::remove_file(p);
            }
            return Err(e);
        }
        Ok(())
    }

    #[cfg(not(windows))]
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    /// `MoveFileExW` with `MOVEFILE_WRITE_THROUGH`: durable when it returns.
    #[cfg(windows)]
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        crate::durable::windows::rename_write_through(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sync_dir(dir)
    }

    fn create_dir(&self, dir: &Path) -> io::Result<bool> {
        #[cfg(unix)]
        let builder = {
            use std::os::unix::fs::DirBuilderExt as _;
            let mut b = fs::DirBuilder::new();
            b.mode(DIR_MODE);
            b
        };
        // No modes on Windows: the directory inherits its parent's ACL.
        #[cfg(not(unix))]
        let builder = fs::DirBuilder::new();
        match builder.create(dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirItem>> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir)? {
            let e = e?;
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            out.push(DirItem {
                name: e.file_name(),
                is_dir,
            });
        }
        Ok(out)
    }

    #[cfg(unix)]
    fn fingerprint(&self, path: &Path) -> io::Result<Fingerprint> {
        use std::os::unix::fs::MetadataExt as _;
        // The name's own inode: a symbolic link is told from the file it points to.
        let md = fs::symlink_metadata(path)?;
        Ok((
            md.ino(),
            md.len(),
            i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec()),
        ))
    }

    /// The file index stands in for the inode (Windows has no inode numbers): a file renamed
    /// over `path` has another index, as it would have another inode.
    #[cfg(windows)]
    fn fingerprint(&self, path: &Path) -> io::Result<Fingerprint> {
        let id = crate::durable::windows::path_id(path)?;
        Ok((id.index, id.len, id.mtime_ns))
    }

    fn exists(&self, path: &Path) -> bool {
        // A dangling symbolic link is something too: never a free name.
        fs::symlink_metadata(path).is_ok()
    }

    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn AppendFile>, bool)> {
        match open_regular(path, OpenOptions::new().write(true).create_new(true)) {
            Ok(file) => Ok((Box::new(RealAppend { file }), true)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let file = open_regular(path, OpenOptions::new().write(true))?;
                Ok((Box::new(RealAppend { file }), false))
            }
            Err(e) => Err(e),
        }
    }

    fn lock(&self, root: &Path) -> Result<StoreLock, LockError> {
        StoreLock::acquire(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_stable_and_tells_a_replaced_file_from_the_same_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"same bytes").unwrap_or_else(|e| panic!("{e}"));
        fs::write(&b, b"same bytes").unwrap_or_else(|e| panic!("{e}"));
        let first = RealFs.fingerprint(&a).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(RealFs.fingerprint(&a).ok(), Some(first), "stable");
        assert_eq!(first.1, 10, "the length");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let age = i128::try_from(now).unwrap_or(i128::MAX) - first.2;
        assert!(
            (0..60_000_000_000).contains(&age),
            "mtime in ns since 1970: {first:?}"
        );
        RealFs.rename(&b, &a).unwrap_or_else(|e| panic!("{e}"));
        let replaced = RealFs.fingerprint(&a).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(
            replaced.0, first.0,
            "another file: another inode or file index"
        );
        assert_eq!(fs::read(&a).ok(), Some(b"same bytes".to_vec()));
        assert!(!RealFs.exists(&b));
    }

    // Counts inodes: Unix only.
    #[cfg(unix)]
    #[test]
    fn a_spare_overwritten_by_a_shorter_or_longer_file_holds_exactly_the_new_bytes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let spare = dir.path().join("spare");
        let fresh = dir.path().join("fresh");
        fs::write(&spare, vec![b'x'; 9000]).unwrap_or_else(|e| panic!("{e}"));
        let ino = |p: &Path| {
            use std::os::unix::fs::MetadataExt as _;
            fs::metadata(p).map(|m| m.ino()).unwrap_or_default()
        };
        let before = ino(&spare);
        let files = [
            NewFile {
                path: spare.clone(),
                bytes: b"{\"short\": true}".to_vec(),
                reuse: true,
            },
            NewFile {
                path: fresh.clone(),
                bytes: b"new".to_vec(),
                reuse: false,
            },
        ];
        RealFs.create_many(&files).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&spare).ok(), Some(b"{\"short\": true}".to_vec()));
        assert_eq!(fs::read(&fresh).ok(), Some(b"new".to_vec()));
        assert_eq!(ino(&spare), before, "the spare's inode is reused");
        let longer = vec![b'y'; 12000];
        let again = [NewFile {
            path: spare.clone(),
            bytes: longer.clone(),
            reuse: true,
        }];
        RealFs.create_many(&again).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&spare).ok(), Some(longer));
    }
}
