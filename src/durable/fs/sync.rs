//! fsyncs, counted for the benchmarks: of a file, of its data, of a directory, of the whole
//! file system (`syncfs`), and the write-back started ahead of them.

use std::fs::{File, OpenOptions};
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
    #[cfg(not(target_os = "linux"))]
    f.sync_all()
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
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(dir)?
        .sync_all()
}
