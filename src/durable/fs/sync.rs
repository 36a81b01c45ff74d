//! fsyncs, counted for the benchmarks: of a file, of its data, of a directory, of the whole
//! file system (`syncfs`), and the write-back started ahead of them.
//!
//! Per platform (docs/durability.md has the reasoning):
//! - Linux: `fsync`/`fdatasync`, a directory `fsync` after a name changes, `syncfs` for a
//!   large group, `sync_file_range` ahead of them.
//! - macOS: `File::sync_all`/`sync_data` are `fcntl(F_FULLFSYNC)` there (the standard library
//!   does so since Rust 1.36, rust-lang/rust#60121: plain `fsync` leaves the data in the
//!   drive's cache); no `syncfs`: a group is flushed file by file.
//! - Windows: `sync_all`/`sync_data` are `FlushFileBuffers`; renames are written through
//!   (`crate::durable::windows`), so [`sync_dir`] is left only unlinks to cover, by a best
//!   effort flush of the directory; no `syncfs`: a group is flushed file by file.

use std::fs::File;
#[cfg(unix)]
use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static FSYNCS: AtomicU64 = AtomicU64::new(0);

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
pub(super) fn start_writeback(f: &File) {
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
/// setup left in the page cache (0.1–0.7 s here). Without `syncfs` (not Linux) it does
/// nothing: the first timed flush then also writes what the setup left.
///
/// # Errors
/// I/O errors.
#[cfg(target_os = "linux")]
pub fn sync_file_system(dir: &Path) -> io::Result<()> {
    sync_whole_fs(&File::open(dir)?)
}

/// See the Linux version: no `syncfs` here, nothing done.
///
/// # Errors
/// None.
#[cfg(not(target_os = "linux"))]
pub fn sync_file_system(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// `syncfs(2)` of the file system holding `f`: every dirty page and inode on it is written
/// and waited for, then the disk's cache is flushed once (counted as one fsync).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(super) fn sync_whole_fs(f: &File) -> io::Result<()> {
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
}

/// No `syncfs` here: always an error, so a group falls back to a flush per file (an fsync of
/// one file says nothing about the others; `FlushFileBuffers` of a volume needs
/// administrator rights).
#[cfg(not(target_os = "linux"))]
pub(super) fn sync_whole_fs(_f: &File) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no syncfs on this platform",
    ))
}

/// How a group commit's files are made durable here, for the benchmarks' reports.
pub fn group_sync_path() -> &'static str {
    if cfg!(target_os = "linux") {
        if SYNCFS_OFF.load(Ordering::Relaxed) {
            "per-file fsync (syncfs turned off: it was slow 3 times in a row)"
        } else {
            "syncfs (one per group of 8 files or more; per-file fsync below)"
        }
    } else if cfg!(windows) {
        "per-file FlushFileBuffers (no syncfs on Windows); renames MOVEFILE_WRITE_THROUGH"
    } else if cfg!(target_os = "macos") {
        "per-file F_FULLFSYNC (no syncfs on macOS)"
    } else {
        "per-file fsync (no syncfs here)"
    }
}

/// A group at least this large is made durable by one `syncfs` instead of an fsync each.
pub(super) const SYNCFS_MIN_GROUP: usize = 8;

/// A `syncfs` slower than this wrote much unwritten data besides the group's (it writes the
/// whole file system's: other programs', or what this one left unsynced before)...
pub(super) const SYNCFS_TOO_SLOW: std::time::Duration = std::time::Duration::from_millis(250);
/// ... and this many of them in a row mean others keep doing so: groups go back to an fsync
/// per file for good. (One alone is no sign: the first `syncfs` of a process also writes
/// whatever was left dirty before it started, 0.7 s after a benchmark's setup here.)
pub(super) const SYNCFS_SLOW_LIMIT: u32 = 3;

pub(super) static SYNCFS_OFF: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);
pub(super) static SYNCFS_SLOW_STREAK: std::sync::atomic::AtomicU32 =
    std::sync::atomic::AtomicU32::new(0);

/// `fsync` of a directory, so a rename or unlink in it is durable; counted. Opened with
/// `O_DIRECTORY | O_NONBLOCK`: something else at that name (a FIFO) fails at once.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(dir)?
        .sync_all()
}

/// A directory's flush on Windows, best effort; counted when it ran. Every rename is
/// `MOVEFILE_WRITE_THROUGH` (committed to NTFS's metadata journal when it returns) and a new
/// file's name is journaled before its own `FlushFileBuffers` returns (NTFS's log is one
/// ordered stream: forcing it to a file's last change forces every earlier record too), so
/// this is what is left for an unlink: `FlushFileBuffers` on the directory opened for
/// writing, which NTFS answers by forcing its log. Where the file system refuses to flush a
/// directory (access denied, an unsupported call: FAT, some network shares, Wine on some
/// hosts) it is skipped: the unlink then becomes durable with the next write-through rename
/// or file flush, and a power cut just before that brings the unlinked name back (which the
/// store treats as on Linux when a lazy unlink is lost: the newer copy wins).
///
/// # Errors
/// A missing directory (`NotFound`), as on Linux.
#[cfg(windows)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    if crate::durable::windows::flush_dir(dir)? {
        FSYNCS.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
