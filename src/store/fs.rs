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

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;
use super::lock::StoreLock;

static FSYNCS: AtomicU64 = AtomicU64::new(0);
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// fsync calls made by this process so far on the real file system (files and directories).
pub fn fsync_count() -> u64 {
    FSYNCS.load(Ordering::Relaxed)
}

/// `fsync` of an open file, counted.
pub fn sync_file(f: &File) -> io::Result<()> {
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    f.sync_all()
}

/// `fdatasync`: the contents and whatever metadata reading them back needs (the size) survive
/// a power cut; the modification time may not, and nothing reads it. Counted as an fsync.
pub fn sync_data(f: &File) -> io::Result<()> {
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    f.sync_data()
}

/// Starts writing a file's dirty pages back without waiting (`sync_file_range(2)` with
/// `SYNC_FILE_RANGE_WRITE`): not durable by itself, only a head start for the fsync after.
/// One of the crate's two `unsafe` blocks, with `sync_whole_fs` (the lint denies the rest).
#[allow(unsafe_code)]
fn start_writeback(f: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        // SAFETY: a valid open descriptor; the call only schedules write-back.
        unsafe {
            libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = f;
}

/// Writes everything dirty on the file system holding `dir` (`syncfs(2)`): the benchmarks
/// call it after their setup, so that the first sync they time does not also write what the
/// setup left in the page cache (0.1–0.7 s here).
///
/// # Errors
/// I/O errors.
pub fn sync_file_system(dir: &Path) -> io::Result<()> {
    sync_whole_fs(&File::open(dir)?)
}

/// `syncfs(2)` of the file system holding `f`: every dirty page and inode on it is written
/// and waited for, then the disk's cache is flushed once (counted as one fsync).
#[allow(unsafe_code)]
fn sync_whole_fs(f: &File) -> io::Result<()> {
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        // SAFETY: a valid open descriptor; the call has no memory arguments.
        let r = unsafe { libc::syncfs(f.as_raw_fd()) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    f.sync_all()
}

/// A group at least this large is made durable by one `syncfs` instead of an fsync each.
const SYNCFS_MIN_GROUP: usize = 8;

/// A `syncfs` slower than this wrote much unwritten data besides the group's (it writes the
/// whole file system's: other programs', or what this one left unsynced before)...
const SYNCFS_TOO_SLOW: std::time::Duration = std::time::Duration::from_millis(250);
/// ... and this many of them in a row mean others keep doing so: groups go back to an fsync
/// per file for good. (One alone is no sign: the first `syncfs` of a process also writes
/// whatever was left dirty before it started, 0.7 s after a benchmark's setup here.)
const SYNCFS_SLOW_LIMIT: u32 = 3;

static SYNCFS_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static SYNCFS_SLOW_STREAK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// `fsync` of a directory, so a rename or unlink in it is durable; counted. Opened with
/// `O_DIRECTORY | O_NONBLOCK`: something else at that name (a FIFO) fails at once.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(dir)?
        .sync_all()
}

/// Mode of every file the store creates: private to its owner.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every directory the store creates.
pub const DIR_MODE: u32 = 0o700;

/// What kind of thing a non-regular file is, for messages ("a FIFO").
pub fn kind_name(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The error for a path that holds something other than a regular file.
pub fn not_regular(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file (refused: it is neither followed nor read)"),
    )
}

/// Opens `path` with `opts`, never through a symbolic link (`O_NOFOLLOW`) and never blocking
/// on a FIFO or a device (`O_NONBLOCK`), and checks with `fstat` that what was opened is a
/// regular file. Files the store writes get [`FILE_MODE`] when created. On Linux
/// `O_NONBLOCK` has no effect on a regular file's reads and writes.
///
/// # Errors
/// A symbolic link or anything but a regular file at `path` (with a message saying which);
/// I/O errors.
pub fn open_regular(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let f = opts
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                not_regular("a symbolic link")
            } else {
                e
            }
        })?;
    let ft = f.metadata()?.file_type();
    if ft.is_file() {
        Ok(f)
    } else {
        Err(not_regular(kind_name(ft)))
    }
}

/// Reads a whole regular file, without following a symbolic link or blocking on a FIFO.
///
/// # Errors
/// As [`open_regular`].
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut f = open_regular(path, OpenOptions::new().read(true))?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}

/// What is at a path, a symbolic link not followed (see [`FsLayer::kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Nothing.
    Missing,
    /// A regular file.
    Regular,
    /// A directory.
    Dir,
    /// Anything else: "a symbolic link", "a FIFO", ...
    Other(&'static str),
}

/// [`FileKind`] of `path` on the real file system (`lstat`).
///
/// # Errors
/// I/O errors other than a missing file.
pub fn kind_of(path: &Path) -> io::Result<FileKind> {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_file() => Ok(FileKind::Regular),
        Ok(md) if md.is_dir() => Ok(FileKind::Dir),
        Ok(md) => Ok(FileKind::Other(kind_name(md.file_type()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(FileKind::Missing),
        Err(e) => Err(e),
    }
}

/// How `SPOOLBOX_FAILPOINT` is set.
enum FailSpec {
    /// Abort at the `count`-th hit of `name`.
    Abort { name: String, count: u64 },
    /// `list`: print every fail point passed, so a test can number them.
    List,
}

fn fail_spec() -> Option<&'static FailSpec> {
    static SPEC: OnceLock<Option<FailSpec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let v = std::env::var("SPOOLBOX_FAILPOINT").ok()?;
        if v == "list" {
            return Some(FailSpec::List);
        }
        let (n, count) = v
            .split_once(':')
            .map_or((v.as_str(), 1), |(n, c)| (n, c.parse().unwrap_or(1)));
        Some(FailSpec::Abort {
            name: n.to_owned(),
            count,
        })
    })
    .as_ref()
}

/// True when `SPOOLBOX_FAILPOINT` is set, so callers that build a fail point's name skip that
/// work in normal runs.
pub fn fail_points_armed() -> bool {
    fail_spec().is_some()
}

/// Crashes the process here when the environment names this fail point.
///
/// `SPOOLBOX_FAILPOINT=name` aborts at the first hit, `name:N` at the N-th; `list` prints
/// `spoolbox: fail point NAME passed` to stderr at every fail point and goes on, so a test can
/// number every fail point of a run and abort at any one of them. Used by the crash tests,
/// which run the real binary and check what a restart finds.
pub fn fail_point(name: &str) {
    static HITS: AtomicU64 = AtomicU64::new(0);
    match fail_spec() {
        Some(FailSpec::List) => eprintln!("spoolbox: fail point {name} passed"),
        Some(FailSpec::Abort { name: want, count })
            if want == name && HITS.fetch_add(1, Ordering::Relaxed) + 1 >= *count =>
        {
            eprintln!("spoolbox: fail point {name} hit, aborting");
            std::process::abort();
        }
        _ => {}
    }
}

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
    fn lock(&self, root: &Path) -> Result<StoreLock, StoreError>;
    /// What is at `path`, a symbolic link not followed; `None` (the default) when the layer
    /// does not tell (a simulated file system holds only files and directories).
    fn kind(&self, _path: &Path) -> io::Result<Option<FileKind>> {
        Ok(None)
    }
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

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        self.file.write_all_at(bytes, offset)
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
                let opened = if nf.reuse {
                    open_regular(&nf.path, OpenOptions::new().write(true))
                } else {
                    open_regular(&nf.path, OpenOptions::new().write(true).create_new(true))
                };
                let mut f = opened?;
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

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sync_dir(dir)
    }

    fn create_dir(&self, dir: &Path) -> io::Result<bool> {
        use std::os::unix::fs::DirBuilderExt as _;
        match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
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

    fn lock(&self, root: &Path) -> Result<StoreLock, StoreError> {
        StoreLock::acquire(root)
    }
}

/// A fresh name in `tmp_dir` (process id and a counter: never reused).
pub fn tmp_name(tmp_dir: &Path) -> PathBuf {
    let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    tmp_dir.join(format!("{}.{n}.tmp", std::process::id()))
}

/// Writes `bytes` to a fresh file in `tmp_dir` and fsyncs it; returns its path.
pub fn write_tmp(tmp_dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    write_tmp_in(&RealFs, tmp_dir, bytes)
}

/// [`write_tmp`] through a layer.
pub fn write_tmp_in(fs: &dyn FsLayer, tmp_dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let path = tmp_name(tmp_dir);
    fs.create_new(&path, bytes, true)?;
    Ok(path)
}

/// Atomically replaces `dest` with `bytes`: tmp file, fsync, rename, fsync of `dest`'s
/// directory. Two fsyncs.
pub fn write_atomic(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_in(&RealFs, tmp_dir, dest, bytes)
}

/// [`write_atomic`] through a layer.
pub fn write_atomic_in(
    fs: &dyn FsLayer,
    tmp_dir: &Path,
    dest: &Path,
    bytes: &[u8],
) -> io::Result<()> {
    let tmp = write_tmp_in(fs, tmp_dir, bytes)?;
    fail_point("store.before_rename");
    if let Err(e) = fs.rename(&tmp, dest) {
        let _ = fs.remove_file(&tmp);
        return Err(e);
    }
    fail_point("store.after_rename");
    fs.sync_dir(parent(dest))
}

/// Like [`write_atomic`] without any fsync: for rebuildable caches such as `index.json`.
pub fn write_replace_nosync(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_replace_nosync_in(&RealFs, tmp_dir, dest, bytes)
}

/// [`write_replace_nosync`] through a layer.
pub fn write_replace_nosync_in(
    fs: &dyn FsLayer,
    tmp_dir: &Path,
    dest: &Path,
    bytes: &[u8],
) -> io::Result<()> {
    let tmp = tmp_name(tmp_dir);
    fs.create_new(&tmp, bytes, false)?;
    if let Err(e) = fs.rename(&tmp, dest) {
        let _ = fs.remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Removes a file and makes the removal durable. A file already gone is not an error.
pub fn remove_durable(path: &Path) -> io::Result<()> {
    remove_durable_in(&RealFs, path)
}

/// [`remove_durable`] through a layer.
pub fn remove_durable_in(fs: &dyn FsLayer, path: &Path) -> io::Result<()> {
    match fs.remove_file(path) {
        Ok(()) => fs.sync_dir(parent(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes a file without making the removal durable, for copies whose survival a later open
/// resolves anyway. A file already gone is not an error.
pub fn remove_lazy(path: &Path) -> io::Result<()> {
    remove_lazy_in(&RealFs, path)
}

/// [`remove_lazy`] through a layer.
pub fn remove_lazy_in(fs: &dyn FsLayer, path: &Path) -> io::Result<()> {
    match fs.remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `mkdir -p` that makes every directory it creates durable (an fsync of each new directory's
/// parent): a file fsynced into a directory whose own name was never made durable is lost
/// with it in a power cut. Directories that already exist cost nothing.
pub fn create_dir_durable(fs: &dyn FsLayer, dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    while !fs.exists(d) {
        missing.push(d);
        match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => d = p,
            _ => break,
        }
    }
    for d in missing.into_iter().rev() {
        if fs.create_dir(d)? {
            fs.sync_dir(parent(d))?;
        }
    }
    Ok(())
}

/// The directory holding `p`: `.` for a bare relative name (`Path::parent` says "" there,
/// and opening "" to sync it failed the first open of a store named `S`).
pub fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
