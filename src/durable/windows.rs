//! Windows' half of the durability layer: the few Win32 calls `std` does not make the way the
//! store needs them. Linux and macOS never compile this module.
//!
//! - [`rename_write_through`]: `MoveFileExW(MOVEFILE_REPLACE_EXISTING |
//!   MOVEFILE_WRITE_THROUGH)`. `std::fs::rename` passes only `MOVEFILE_REPLACE_EXISTING`, and
//!   then the rename may still sit in the cache when it returns. With `WRITE_THROUGH` it returns
//!   once NTFS has committed the rename to its metadata journal (its log is flushed), which
//!   is what the directory fsync after a rename gives on Linux.
//! - [`flush_dir`]: what [`sync_dir`](super::fs::sync_dir) does here, for unlinks: a best
//!   effort `FlushFileBuffers` of the directory (see there).
//! - [`try_lock_range`]: `LockFileEx` on one byte far past the end of `store.lock`. Windows'
//!   locks are mandatory: a lock over the file's first bytes (which `File::try_lock` takes,
//!   the whole file) would keep a refused process from reading the owner's pid there.
//! - [`file_id`]: volume serial number and file index (`GetFileInformationByHandle`), the
//!   inode number's stand-in, with the length and the last-write time.
//!
//! File contents are made durable by `File::sync_all`/`sync_data`, which are `FlushFileBuffers`
//! on Windows: the file's data and metadata and the disk's write cache.
#![allow(
    unsafe_code,
    reason = "three Win32 calls through windows-sys; each block says why it is sound"
)]

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::mem::MaybeUninit;
use std::os::windows::ffi::OsStrExt as _;
use std::os::windows::fs::OpenOptionsExt as _;
use std::os::windows::io::AsRawHandle as _;
use std::path::Path;

use windows_sys::Win32::Foundation::{ERROR_LOCK_VIOLATION, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT,
    GetFileInformationByHandle, LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY, LockFileEx,
    MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW,
};
use windows_sys::Win32::System::IO::OVERLAPPED;

/// The byte of `store.lock` that is locked: far beyond any pid written at its start (a lock
/// may lie past the end of a file).
const LOCK_OFFSET: u64 = 1 << 62;

fn wide(p: &Path) -> Vec<u16> {
    p.as_os_str().encode_wide().chain(Some(0)).collect()
}

/// Atomically replaces `to` with `from`, durable when it returns (see the module docs).
///
/// # Errors
/// The OS error.
pub fn rename_write_through(from: &Path, to: &Path) -> io::Result<()> {
    let (from, to) = (wide(from), wide(to));
    // SAFETY: two NUL-terminated UTF-16 strings that live until the call returns.
    let ok = unsafe {
        MoveFileExW(
            from.as_ptr(),
            to.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Takes an exclusive lock on one byte of `file` without waiting, held until the handle is
/// closed (or its process ends).
pub fn try_lock_range(file: &File) -> Result<(), TryLockError> {
    // SAFETY: OVERLAPPED is plain data (integers, a union of integers and a pointer, a
    // handle); all zeros is its documented initial state.
    let mut ov: OVERLAPPED = unsafe { MaybeUninit::zeroed().assume_init() };
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the two 32-bit halves of the offset"
    )]
    {
        ov.Anonymous.Anonymous.Offset = LOCK_OFFSET as u32;
        ov.Anonymous.Anonymous.OffsetHigh = (LOCK_OFFSET >> 32) as u32;
    }
    // SAFETY: a valid handle owned by `file`; `ov` outlives the call, which completes before
    // returning (LOCKFILE_FAIL_IMMEDIATELY on a handle not opened for overlapped I/O).
    let ok = unsafe {
        LockFileEx(
            file.as_raw_handle() as HANDLE,
            LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY,
            0,
            1,
            0,
            &raw mut ov,
        )
    };
    if ok != 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == i32::try_from(ERROR_LOCK_VIOLATION).ok() {
        Err(TryLockError::WouldBlock)
    } else {
        Err(TryLockError::Error(e))
    }
}

/// A file's identity and state, from its handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    /// The volume's serial number.
    pub volume: u32,
    /// The file's index on that volume (NTFS: the MFT reference), the inode number's stand-in.
    pub index: u64,
    /// Length in bytes.
    pub len: u64,
    /// Last write, in ns since the Unix epoch (as on Linux: `index.json` keeps it in an
    /// `i64`, which ns since 1601 would overflow).
    pub mtime_ns: i128,
}

/// 1970-01-01 in a `FILETIME`'s 100 ns units since 1601-01-01.
const FILETIME_UNIX_EPOCH: i128 = 116_444_736_000_000_000;

/// [`FileId`] of an open file.
///
/// # Errors
/// The OS error.
pub fn file_id(file: &File) -> io::Result<FileId> {
    let mut info = MaybeUninit::<BY_HANDLE_FILE_INFORMATION>::zeroed();
    // SAFETY: a valid handle owned by `file`; `info` is writable memory of the struct's size.
    let ok =
        unsafe { GetFileInformationByHandle(file.as_raw_handle() as HANDLE, info.as_mut_ptr()) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call succeeded, so it filled the struct (it was zeroed before anyway).
    let info = unsafe { info.assume_init() };
    let t = info.ftLastWriteTime;
    Ok(FileId {
        volume: info.dwVolumeSerialNumber,
        index: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
        len: (u64::from(info.nFileSizeHigh) << 32) | u64::from(info.nFileSizeLow),
        mtime_ns: (((i128::from(t.dwHighDateTime) << 32) | i128::from(t.dwLowDateTime))
            - FILETIME_UNIX_EPOCH)
            * 100,
    })
}

/// [`FileId`] of what is at `path`, a symbolic link (a reparse point) not followed; a
/// directory too. Opened for no access at all, so no sharing mode of another handle is in the
/// way.
///
/// # Errors
/// The OS error.
pub fn path_id(path: &Path) -> io::Result<FileId> {
    let f = OpenOptions::new()
        .access_mode(0)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    file_id(&f)
}

/// `FlushFileBuffers` on the directory `dir`, opened for writing (`FILE_FLAG_BACKUP_SEMANTICS`
/// is how Windows opens a directory); `Ok(false)` when the file system would not open or
/// flush it (see [`sync_dir`](super::fs::sync_dir)).
///
/// # Errors
/// A missing directory.
pub fn flush_dir(dir: &Path) -> io::Result<bool> {
    match OpenOptions::new()
        .write(true)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(dir)
    {
        Ok(d) => Ok(d.sync_all().is_ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(e),
        Err(_) => Ok(false),
    }
}
