//! Regular files only: opened without following a symbolic link or blocking on a FIFO, with
//! the modes of everything the store creates, and what else may be at a path.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// Mode of every file the store creates: private to its owner.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every directory the store creates.
pub const DIR_MODE: u32 = 0o700;

/// What kind of thing a non-regular file is, for messages ("a FIFO").
#[cfg(unix)]
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

/// What kind of thing a non-regular file is, for messages ("a symbolic link").
#[cfg(windows)]
pub fn kind_name(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_file() {
        "a regular file"
    } else {
        // Another reparse point: a junction, a mount point, an app-execution alias.
        "a reparse point"
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
#[cfg(unix)]
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

/// Opens `path` with `opts` on Windows: a symbolic link or another reparse point is opened
/// itself, never followed (`FILE_FLAG_OPEN_REPARSE_POINT`), a directory is opened too
/// (`FILE_FLAG_BACKUP_SEMANTICS`) so it is refused by name, and what was opened must be a
/// regular file. Windows has no FIFOs that a path could block on, and no modes: a file's
/// access comes from the ACL it inherits (under `%APPDATA%`, the user's own).
///
/// # Errors
/// As on Linux.
#[cfg(windows)]
pub fn open_regular(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt as _;
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
    let f = opts
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    let ft = f.metadata()?.file_type();
    if ft.is_file() {
        Ok(f)
    } else {
        Err(not_regular(kind_name(ft)))
    }
}

/// Reads a whole regular file, without following a symbolic link or blocking on a FIFO, and
/// refusing one larger than [`MAX_FILE_BYTES`](super::MAX_FILE_BYTES).
///
/// # Errors
/// As [`open_regular`]; a larger file.
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let f = open_regular(path, OpenOptions::new().read(true))?;
    super::beneath::read_bounded(f, super::MAX_FILE_BYTES)
}

/// Reads the first `max` bytes of a file the user named (an `.eml` to import, a file to
/// attach; one byte past the largest accepted tells a file too large): a symbolic link there
/// is followed (the user chose it), but a FIFO, a device or a directory is refused at once,
/// never waited on (`import` of a FIFO held the store's lock in `open()`).
///
/// # Errors
/// Anything but a regular file (saying what); I/O errors.
pub fn read_user_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts.open(path)?;
    let ft = f.metadata()?.file_type();
    if !ft.is_file() {
        return Err(not_regular(kind_name(ft)));
    }
    let mut out = Vec::new();
    f.take(max).read_to_end(&mut out)?;
    Ok(out)
}

/// What is at a path, a symbolic link not followed (see
/// [`FsLayer::kind`](super::FsLayer::kind)).
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
