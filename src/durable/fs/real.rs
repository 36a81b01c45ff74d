//! The real file system: [`RealFs`], the default layer.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::atomic::Ordering;

use super::beneath::{Access, guard_of, is_shared_link, read_bounded, vouch};
#[cfg(unix)]
use super::regular::DIR_MODE;
use super::regular::{FileKind, kind_of, open_regular};
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

/// The real file system (the default layer). Every path under a store whose lock this
/// process holds goes through that store's [`Beneath`](super::beneath::Beneath) (see [`super::beneath`]): nothing
/// followed below the root, nothing blocking, nothing written in place into a file with more
/// than one link; other paths are opened without following their last component.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

/// The largest file [`RealFs::read`] reads whole (a message, the journal, `store.json`): a
/// larger one (a huge sparse file planted in the store) is refused unread.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Opens `path` with `access`: through its store's [`Beneath`](super::beneath::Beneath) when it is under one, else
/// without following its last component.
fn open_with(path: &Path, access: Access) -> io::Result<File> {
    if let Some(b) = guard_of(path) {
        return b.open(path, access);
    }
    let mut opts = OpenOptions::new();
    match access {
        Access::Read => opts.read(true),
        Access::CreateNew => opts.write(true).create_new(true),
        Access::Write => opts.write(true),
        Access::Append => opts.append(true).create(true),
        Access::Lock => opts.read(true).write(true).create(true),
    };
    vouch(open_regular(path, &mut opts)?, access)
}

/// Replaces the file at `path`, which has other links, with a fresh copy of its bytes (a
/// fresh inode under the same name, fsynced, renamed over it): what is written to it next
/// leaves the other names' file alone.
fn unshare(path: &Path) -> io::Result<()> {
    let bytes = RealFs.read(path)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".unshared");
    let fresh = path.with_file_name(name);
    let _ = RealFs.remove_file(&fresh);
    RealFs.create_new(&fresh, &bytes, true)?;
    if let Err(e) = RealFs.rename(&fresh, path) {
        let _ = RealFs.remove_file(&fresh);
        return Err(e);
    }
    RealFs.sync_dir(super::parent(path))
}

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

#[cfg(not(windows))]
fn rename_path(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)
}

/// `MoveFileExW` with `MOVEFILE_WRITE_THROUGH`: durable when it returns.
#[cfg(windows)]
fn rename_path(from: &Path, to: &Path) -> io::Result<()> {
    crate::durable::windows::rename_write_through(from, to)
}

impl FsLayer for RealFs {
    fn concurrent(&self) -> bool {
        true
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        read_bounded(open_with(path, Access::Read)?, MAX_FILE_BYTES)
    }

    fn kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        match guard_of(path) {
            Some(b) => b.kind(path).map(Some),
            None => kind_of(path).map(Some),
        }
    }

    fn create_new(&self, path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
        let mut f = open_with(path, Access::CreateNew)?;
        let written = f
            .write_all(bytes)
            .and_then(|()| if sync { sync_file(&f) } else { Ok(()) });
        if let Err(e) = written {
            // A half-written file (a full disk) must not stay behind to be mistaken for data.
            drop(f);
            let _ = self.remove_file(path);
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
                // A spare with other links (a copy of the store made with `cp -al`) is never
                // written in place: its name goes, and a fresh file takes it.
                let open = || -> io::Result<(File, bool)> {
                    if nf.reuse {
                        match open_with(&nf.path, Access::Write) {
                            Err(e) if is_shared_link(&e) => {
                                self.remove_file(&nf.path)?;
                                Ok((open_with(&nf.path, Access::CreateNew)?, false))
                            }
                            opened => Ok((opened?, true)),
                        }
                    } else {
                        Ok((open_with(&nf.path, Access::CreateNew)?, false))
                    }
                };
                let (mut f, in_place) = match open() {
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
                if in_place {
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
                let _ = self.remove_file(p);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Under a store: both names resolved without following a link (and on Windows, as
    /// below, written through).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        match guard_of(from) {
            Some(b) if b.holds(to) => b.rename(from, to),
            _ => rename_path(from, to),
        }
    }

    /// Under a store only a regular file, reached without following a link, is deleted.
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match guard_of(path) {
            Some(b) => b.remove(path),
            None => fs::remove_file(path),
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        match guard_of(dir) {
            Some(b) => b.sync_dir(dir),
            None => sync_dir(dir),
        }
    }

    fn create_dir(&self, dir: &Path) -> io::Result<bool> {
        if let Some(b) = guard_of(dir)
            && b.root() != dir
        {
            return b.create_dir(dir);
        }
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
        if let Some(b) = guard_of(dir) {
            return b.read_dir(dir);
        }
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
        if let Some(b) = guard_of(path) {
            return b.fingerprint(path);
        }
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
        if let Some(b) = guard_of(path) {
            return b.fingerprint(path);
        }
        let id = crate::durable::windows::path_id(path)?;
        Ok((id.index, id.len, id.mtime_ns))
    }

    fn exists(&self, path: &Path) -> bool {
        // A dangling symbolic link is something too: never a free name. (A name that
        // cannot be looked at, a link on the way, is not free either.)
        match guard_of(path) {
            Some(b) => !matches!(b.kind(path), Ok(FileKind::Missing)),
            None => fs::symlink_metadata(path).is_ok(),
        }
    }

    /// The journal is written in place: one with other links (a copy of the store made with
    /// `cp -al`) is first replaced by a fresh copy of itself.
    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn AppendFile>, bool)> {
        match open_with(path, Access::CreateNew) {
            Ok(file) => Ok((Box::new(RealAppend { file }), true)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let file = match open_with(path, Access::Write) {
                    Err(e) if is_shared_link(&e) => {
                        unshare(path)?;
                        open_with(path, Access::Write)?
                    }
                    opened => opened?,
                };
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

    // Hard links: Unix only.
    #[cfg(unix)]
    #[test]
    fn a_spare_or_a_journal_with_other_links_is_replaced_never_written_in_place() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("S");
        fs::create_dir_all(root.join("tmp")).unwrap_or_else(|e| panic!("{e}"));
        let _guard = super::super::beneath::register(&root).unwrap_or_else(|e| panic!("{e}"));
        let (spare, journal) = (root.join("tmp/spare"), root.join("journal.log"));
        let (copy, jcopy) = (dir.path().join("copy"), dir.path().join("jcopy"));
        fs::write(&spare, b"a message in a copy made with cp -al")
            .unwrap_or_else(|e| panic!("{e}"));
        fs::write(&journal, b"records").unwrap_or_else(|e| panic!("{e}"));
        fs::hard_link(&spare, &copy).unwrap_or_else(|e| panic!("{e}"));
        fs::hard_link(&journal, &jcopy).unwrap_or_else(|e| panic!("{e}"));
        let files = [NewFile {
            path: spare.clone(),
            bytes: b"new".to_vec(),
            reuse: true,
        }];
        RealFs.create_many(&files).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&spare).ok(), Some(b"new".to_vec()));
        let (mut f, created) = RealFs
            .open_append(&journal)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!created);
        assert_eq!(f.size().ok(), Some(7), "the journal's bytes are kept");
        f.write_at(7, b" more").unwrap_or_else(|e| panic!("{e}"));
        f.set_len(3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&journal).ok(), Some(b"rec".to_vec()));
        assert_eq!(
            fs::read(&copy).ok(),
            Some(b"a message in a copy made with cp -al".to_vec())
        );
        assert_eq!(fs::read(&jcopy).ok(), Some(b"records".to_vec()));
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
