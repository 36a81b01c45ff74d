//! The store's one way in: every path under a store's root is opened, listed, renamed and
//! deleted here, resolved from the root's own directory. The rule, for whatever is added
//! under the store later too:
//!
//! - **No symbolic link is followed on any component below the root.** On Linux the path is
//!   resolved by `openat2` with `RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH` from the root's
//!   directory descriptor, or (an older kernel, a sandbox that forbids it) by `openat` with
//!   `O_NOFOLLOW` one component at a time; elsewhere on Unix by the walk. On Windows each
//!   component below the root is checked not to be a symbolic link or another reparse point,
//!   and the last is opened with `FILE_FLAG_OPEN_REPARSE_POINT` ([`open_regular`]). A link
//!   at `timeline/` or `sent/` would otherwise have rotation delete, and appends and copies
//!   write, files outside the store. The root itself is the user's choice and may be reached
//!   through links.
//! - **Nothing blocks on a special file.** Every open is `O_NONBLOCK`, then `fstat`: what is
//!   neither a regular file nor a directory is refused, naming what it is (a FIFO at a
//!   timeline segment held `send --all` and the store's lock in `open()` for good).
//! - **A file with more than one link is never written in place** ([`Access::Write`],
//!   [`Access::Append`] refuse it with [`is_shared_link`]): the writer makes a fresh file
//!   instead, so a copy of the store made with hard links (`cp -al`, a link-based backup)
//!   keeps its bytes.
//! - **Reads are bounded** ([`Beneath::read`] takes the largest size it accepts).
//! - **A name is deleted only once vouched for**: seen, through the same unfollowed
//!   directory descriptor, to be a regular file (`unlinkat` on that descriptor).
//!
//! [`RealFs`](super::RealFs) applies the rule to every path under a store whose lock this
//! process holds (taking the lock [`register`]s the root; dropping it forgets it); code that
//! works on a store without its lock (`spoolbox timeline`, the transports' `sent/` copies)
//! opens a [`Beneath`] itself. tests/all/doors.rs plants links, FIFOs, hard links and huge
//! files at every kind of file under a store and fails on a kind it does not know.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read as _};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::regular::{FileKind, not_regular};
use super::{DirItem, Fingerprint};

/// How a file is opened by [`Beneath::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Read,
    /// A new file that must not exist yet (created private to its owner).
    CreateNew,
    /// An existing file, written in place: refused when it has more than one link.
    Write,
    /// Appended to, created when missing: refused in place when it has more than one link.
    Append,
    /// Read and written, created when missing, never truncated (`store.lock`): refused when
    /// it has more than one link.
    Lock,
}

impl Access {
    const fn in_place(self) -> bool {
        matches!(self, Self::Write | Self::Append | Self::Lock)
    }
}

/// The error of a file with more than one link, which is never written in place.
#[derive(Debug)]
struct SharedLink(u64);

impl std::fmt::Display for SharedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a file with {} links (a hard link shared with another name, e.g. a copy made with `cp -al`): never written in place",
            self.0
        )
    }
}

impl std::error::Error for SharedLink {}

/// True for the error [`Beneath::open`] gives a file with more than one link opened to be
/// written in place: the caller writes a fresh file instead.
pub fn is_shared_link(e: &io::Error) -> bool {
    matches!(e.get_ref(), Some(inner) if inner.is::<SharedLink>())
}

/// What a symbolic link on the way is, for messages.
fn link_refused() -> io::Error {
    not_regular("a symbolic link (at this name or on the way to it below the store's root)")
}

/// A store's root, opened: the one way to every path under it (see the module docs).
#[derive(Debug)]
pub struct Beneath {
    root: PathBuf,
    #[cfg(unix)]
    dir: std::os::fd::OwnedFd,
}

impl Beneath {
    /// Opens the directory `root` (which may itself be reached through links).
    ///
    /// # Errors
    /// A missing root or one that is not a directory; I/O errors.
    pub fn new(root: &Path) -> io::Result<Self> {
        Ok(Self {
            root: root.to_path_buf(),
            #[cfg(unix)]
            dir: sys::open_root(root)?,
        })
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when `path` is under the root (or is it).
    pub fn holds(&self, path: &Path) -> bool {
        path.strip_prefix(&self.root).is_ok()
    }

    /// The components of `path` below the root: plain names only.
    fn parts<'a>(&self, path: &'a Path) -> io::Result<Vec<&'a OsStr>> {
        let rel = path.strip_prefix(&self.root).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not under the store {}",
                    path.display(),
                    self.root.display()
                ),
            )
        })?;
        rel.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .map(|c| match c {
                Component::Normal(n) => Ok(n),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: not a plain path below the store", path.display()),
                )),
            })
            .collect()
    }

    /// The components of `path` below the root, split into its directory's and its name.
    fn split<'a>(&self, path: &'a Path) -> io::Result<(Vec<&'a OsStr>, &'a OsStr)> {
        let mut parts = self.parts(path)?;
        let name = parts.pop().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the store's root itself")
        })?;
        Ok((parts, name))
    }

    /// Opens the regular file at `path` (see the module docs for what is refused).
    ///
    /// # Errors
    /// A symbolic link at or on the way to `path`, anything but a regular file there, a file
    /// with more than one link for an in-place [`Access`] ([`is_shared_link`]); I/O errors.
    pub fn open(&self, path: &Path, access: Access) -> io::Result<File> {
        let parts = self.parts(path)?;
        let file = sys::open(self, &parts, access)?;
        vouch(file, access)
    }

    /// Reads the whole regular file at `path`, refusing one larger than `max` bytes.
    ///
    /// # Errors
    /// As [`Beneath::open`]; a file larger than `max` (`FileTooLarge`).
    pub fn read(&self, path: &Path, max: u64) -> io::Result<Vec<u8>> {
        let f = self.open(path, Access::Read)?;
        read_bounded(f, max)
    }

    /// Deletes the regular file at `path`, and nothing else: a symbolic link, a FIFO or a
    /// directory there is refused, and no link on the way is followed.
    ///
    /// # Errors
    /// `NotFound`; anything but a regular file at `path`; I/O errors.
    pub fn remove(&self, path: &Path) -> io::Result<()> {
        let (dir, name) = self.split(path)?;
        sys::remove(self, &dir, name)
    }

    /// `rename(2)` of `from` to `to`, both under the root, neither resolved through a link.
    ///
    /// # Errors
    /// A link on the way; I/O errors.
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (fd, fname) = self.split(from)?;
        let (td, tname) = self.split(to)?;
        sys::rename(self, (&fd, fname), (&td, tname))
    }

    /// `mkdir(2)` (private to its owner); `Ok(false)` when a directory is there already.
    ///
    /// # Errors
    /// Something else at `path` (a symbolic link, a file); a link on the way; I/O errors.
    pub fn create_dir(&self, path: &Path) -> io::Result<bool> {
        let (dir, name) = self.split(path)?;
        sys::create_dir(self, &dir, name)
    }

    /// The names in the directory at `path` (a symbolic link there is refused).
    ///
    /// # Errors
    /// `NotFound`; a link at or on the way to `path`; I/O errors.
    pub fn read_dir(&self, path: &Path) -> io::Result<Vec<DirItem>> {
        let parts = self.parts(path)?;
        sys::read_dir(self, &parts)
    }

    /// What is at `path`, nothing followed.
    ///
    /// # Errors
    /// A link on the way to `path`; I/O errors other than a missing name.
    pub fn kind(&self, path: &Path) -> io::Result<FileKind> {
        match self.stat(path) {
            Ok(st) => Ok(st.kind),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(FileKind::Missing),
            Err(e) => Err(e),
        }
    }

    /// The [`Fingerprint`] of the name `path` itself (a link there is not followed).
    ///
    /// # Errors
    /// A link on the way to `path`; I/O errors.
    pub fn fingerprint(&self, path: &Path) -> io::Result<Fingerprint> {
        self.stat(path).map(|st| st.fingerprint)
    }

    fn stat(&self, path: &Path) -> io::Result<Stat> {
        let (dir, name) = self.split(path)?;
        sys::stat(self, &dir, name)
    }

    /// `fsync` of the directory at `path`: the names in it survive a power cut.
    ///
    /// # Errors
    /// A link at or on the way to `path`; I/O errors.
    pub fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let parts = self.parts(path)?;
        sys::sync_dir(self, &parts)
    }

    /// `link(2)` of the file `outside` (any path, its own last component not followed) to
    /// the new name `path` under the root (never over another file).
    ///
    /// # Errors
    /// A link on the way to `path`; a name already there; I/O errors.
    pub fn link_in(&self, outside: &Path, path: &Path) -> io::Result<()> {
        let (dir, name) = self.split(path)?;
        sys::link_in(self, outside, &dir, name)
    }
}

/// What [`Beneath`]'s `stat` tells of a name.
struct Stat {
    kind: FileKind,
    fingerprint: Fingerprint,
}

/// Checks what `open` opened: a regular file, and for an in-place write one with a single
/// link.
pub(super) fn vouch(file: File, access: Access) -> io::Result<File> {
    let md = file.metadata()?;
    if !md.is_file() {
        return Err(not_regular(super::regular::kind_name(md.file_type())));
    }
    #[cfg(unix)]
    if access.in_place() {
        use std::os::unix::fs::MetadataExt as _;
        if md.nlink() > 1 {
            return Err(io::Error::other(SharedLink(md.nlink())));
        }
    }
    // (Windows has no cheap link count here: its spares and journal are never hard linked by
    // `cp -al`, which it lacks.)
    #[cfg(not(unix))]
    let _ = access.in_place();
    Ok(file)
}

/// Reads `f` whole, refusing more than `max` bytes (its size is checked first, so a huge
/// sparse file is refused without reading it).
///
/// # Errors
/// A file larger than `max` (`FileTooLarge`); I/O errors.
pub fn read_bounded(f: File, max: u64) -> io::Result<Vec<u8>> {
    let too_large = |len: u64| {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("{len} bytes, more than the {max} a file here may hold: refused, not read"),
        )
    };
    let len = f.metadata()?.len();
    if len > max {
        return Err(too_large(len));
    }
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(too_large(out.len() as u64));
    }
    Ok(out)
}

static ROOTS: Mutex<Vec<Arc<Beneath>>> = Mutex::new(Vec::new());

/// A store root [`RealFs`](super::RealFs) guards while this lives (held by the store's lock).
#[derive(Debug)]
pub struct Registration(Arc<Beneath>);

impl Drop for Registration {
    fn drop(&mut self) {
        let mut roots = ROOTS.lock().unwrap_or_else(PoisonError::into_inner);
        roots.retain(|b| !Arc::ptr_eq(b, &self.0));
    }
}

/// Has [`RealFs`](super::RealFs) resolve every path under `root` through a [`Beneath`]
/// until the returned registration is dropped.
///
/// # Errors
/// The root cannot be opened as a directory.
pub fn register(root: &Path) -> io::Result<Registration> {
    let b = Arc::new(Beneath::new(root)?);
    ROOTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::clone(&b));
    Ok(Registration(b))
}

/// The registered root `path` is under (the deepest one), if any.
pub fn guard_of(path: &Path) -> Option<Arc<Beneath>> {
    let roots = ROOTS.lock().unwrap_or_else(PoisonError::into_inner);
    roots
        .iter()
        .filter(|b| b.holds(path))
        .max_by_key(|b| b.root.components().count())
        .cloned()
}

#[cfg(unix)]
mod sys {
    use std::ffi::{OsStr, OsString};
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt as _;
    use std::path::Path;

    use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};

    use super::{Access, Beneath, DirItem, FileKind, Stat, link_refused};
    use crate::durable::fs::regular::{DIR_MODE, FILE_MODE, not_regular};

    /// An error of ours: a link on the way says so in words.
    fn err(e: rustix::io::Errno) -> io::Error {
        if e == rustix::io::Errno::LOOP {
            link_refused()
        } else {
            e.into()
        }
    }

    pub(super) fn open_root(root: &Path) -> io::Result<OwnedFd> {
        rfs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(io::Error::from)
    }

    /// `openat2` is missing here (an old kernel, a sandbox): the walk from now on.
    #[cfg(target_os = "linux")]
    static NO_OPENAT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// Opens `parts` below the root with `flags`, following no link on the way.
    fn open_at(b: &Beneath, parts: &[&OsStr], flags: OFlags) -> io::Result<OwnedFd> {
        let flags = flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let mode = if flags.contains(OFlags::CREATE) {
            Mode::from_raw_mode(FILE_MODE)
        } else {
            Mode::empty()
        };
        let Some((last, dirs)) = parts.split_last() else {
            return rfs::openat(&b.dir, ".", flags, mode).map_err(err);
        };
        #[cfg(target_os = "linux")]
        if !NO_OPENAT2.load(std::sync::atomic::Ordering::Relaxed) {
            use rustix::fs::ResolveFlags;
            let rel: std::path::PathBuf = parts.iter().collect();
            let how =
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            match rfs::openat2(&b.dir, &rel, flags, mode, how) {
                Err(rustix::io::Errno::NOSYS) => {
                    NO_OPENAT2.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                // A sandbox's refusal, or an immutable file: the walk tells which.
                Err(rustix::io::Errno::PERM) => {}
                r => return r.map_err(err),
            }
        }
        let mut held: Option<OwnedFd> = None;
        for d in dirs {
            let at: BorrowedFd<'_> = held.as_ref().map_or(b.dir.as_fd(), |f| f.as_fd());
            let next = rfs::openat(
                at,
                *d,
                OFlags::RDONLY
                    | OFlags::DIRECTORY
                    | OFlags::NOFOLLOW
                    | OFlags::NONBLOCK
                    | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| {
                // A symbolic link where a directory belongs: O_DIRECTORY may say ENOTDIR.
                if e == rustix::io::Errno::NOTDIR || e == rustix::io::Errno::LOOP {
                    link_or_not_dir(at, d)
                } else {
                    e.into()
                }
            })?;
            held = Some(next);
        }
        let at = held.as_ref().map_or(b.dir.as_fd(), |f| f.as_fd());
        rfs::openat(at, *last, flags, mode).map_err(err)
    }

    fn link_or_not_dir(at: BorrowedFd<'_>, name: &OsStr) -> io::Error {
        match rfs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => link_refused(),
            _ => io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        }
    }

    fn open_dir(b: &Beneath, parts: &[&OsStr]) -> io::Result<OwnedFd> {
        let fd = open_at(b, parts, OFlags::RDONLY | OFlags::DIRECTORY).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENOTDIR) {
                not_regular_dir()
            } else {
                e
            }
        })?;
        Ok(fd)
    }

    fn not_regular_dir() -> io::Error {
        io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory (a file, a FIFO or a link where a folder belongs): refused",
        )
    }

    pub(super) fn open(b: &Beneath, parts: &[&OsStr], access: Access) -> io::Result<File> {
        let flags = match access {
            Access::Read => OFlags::RDONLY,
            Access::CreateNew => OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            Access::Write => OFlags::WRONLY,
            Access::Append => OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE,
            Access::Lock => OFlags::RDWR | OFlags::CREATE,
        };
        match open_at(b, parts, flags) {
            Ok(fd) => Ok(File::from(fd)),
            // Opened for writing with O_NONBLOCK, a FIFO without a reader says ENXIO.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Err(not_regular("a FIFO")),
            Err(e) => Err(e),
        }
    }

    pub(super) fn remove(b: &Beneath, dir: &[&OsStr], name: &OsStr) -> io::Result<()> {
        let d = open_dir(b, dir)?;
        let st = rfs::statat(&d, name, AtFlags::SYMLINK_NOFOLLOW).map_err(err)?;
        let ft = FileType::from_raw_mode(st.st_mode);
        if ft != FileType::RegularFile {
            return Err(not_regular(type_name(ft)));
        }
        rfs::unlinkat(&d, name, AtFlags::empty()).map_err(err)
    }

    pub(super) fn rename(
        b: &Beneath,
        from: (&[&OsStr], &OsStr),
        to: (&[&OsStr], &OsStr),
    ) -> io::Result<()> {
        let fd = open_dir(b, from.0)?;
        let td = open_dir(b, to.0)?;
        rfs::renameat(&fd, from.1, &td, to.1).map_err(err)
    }

    pub(super) fn create_dir(b: &Beneath, dir: &[&OsStr], name: &OsStr) -> io::Result<bool> {
        let d = open_dir(b, dir)?;
        match rfs::mkdirat(&d, name, Mode::from_raw_mode(DIR_MODE)) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::EXIST) => {
                let st = rfs::statat(&d, name, AtFlags::SYMLINK_NOFOLLOW).map_err(err)?;
                match FileType::from_raw_mode(st.st_mode) {
                    FileType::Directory => Ok(false),
                    FileType::Symlink => Err(link_refused()),
                    _ => Err(not_regular_dir()),
                }
            }
            Err(e) => Err(err(e)),
        }
    }

    pub(super) fn read_dir(b: &Beneath, parts: &[&OsStr]) -> io::Result<Vec<DirItem>> {
        let d = open_dir(b, parts)?;
        let mut out = Vec::new();
        for entry in rfs::Dir::read_from(&d).map_err(err)? {
            let entry = entry.map_err(err)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let is_dir = match entry.file_type() {
                FileType::Directory => true,
                FileType::Unknown => rfs::statat(&d, name, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory),
                _ => false,
            };
            out.push(DirItem {
                name: OsString::from(name),
                is_dir,
            });
        }
        Ok(out)
    }

    pub(super) fn stat(b: &Beneath, dir: &[&OsStr], name: &OsStr) -> io::Result<Stat> {
        let d = open_dir(b, dir)?;
        let st = rfs::statat(&d, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io::Error::from)?;
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => FileKind::Regular,
            FileType::Directory => FileKind::Dir,
            ft => FileKind::Other(type_name(ft)),
        };
        #[allow(clippy::cast_sign_loss, reason = "a size is never negative")]
        let fingerprint = (
            st.st_ino,
            st.st_size as u64,
            i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
        );
        Ok(Stat { kind, fingerprint })
    }

    pub(super) fn sync_dir(b: &Beneath, parts: &[&OsStr]) -> io::Result<()> {
        let d = open_dir(b, parts)?;
        crate::durable::fs::sync_file(&File::from(d))
    }

    pub(super) fn link_in(
        b: &Beneath,
        outside: &Path,
        dir: &[&OsStr],
        name: &OsStr,
    ) -> io::Result<()> {
        let d = open_dir(b, dir)?;
        rfs::linkat(rfs::CWD, outside, &d, name, AtFlags::empty()).map_err(err)
    }

    fn type_name(ft: FileType) -> &'static str {
        match ft {
            FileType::Symlink => "a symbolic link",
            FileType::Directory => "a directory",
            FileType::Fifo => "a FIFO",
            FileType::Socket => "a socket",
            FileType::CharacterDevice | FileType::BlockDevice => "a device",
            FileType::RegularFile => "a regular file",
            FileType::Unknown => "not a regular file",
        }
    }
}

/// Windows: each component below the root is checked not to be a symbolic link or another
/// reparse point (a junction), then the call is made by path; the last component is opened
/// with `FILE_FLAG_OPEN_REPARSE_POINT` ([`open_regular`]).
#[cfg(windows)]
mod sys {
    use std::ffi::OsStr;
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::path::{Path, PathBuf};

    use super::{Access, Beneath, DirItem, FileKind, Stat, link_refused};
    use crate::durable::fs::regular::{kind_of, open_regular};

    /// The path of `parts`, every directory on the way checked.
    fn way(b: &Beneath, parts: &[&OsStr]) -> io::Result<PathBuf> {
        let mut p = b.root.clone();
        for d in parts {
            p.push(d);
            match fs::symlink_metadata(&p) {
                Ok(md) if md.file_type().is_symlink() => return Err(link_refused()),
                Ok(md) if md.is_dir() => {}
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotADirectory,
                        "not a directory: refused",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(p)
    }

    pub(super) fn open(b: &Beneath, parts: &[&OsStr], access: Access) -> io::Result<File> {
        let (last, dirs) = parts
            .split_last()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the store's root"))?;
        let path = way(b, dirs)?.join(last);
        let mut opts = OpenOptions::new();
        match access {
            Access::Read => opts.read(true),
            Access::CreateNew => opts.write(true).create_new(true),
            Access::Write => opts.write(true),
            Access::Append => opts.append(true).create(true),
            Access::Lock => {
                use std::os::windows::fs::OpenOptionsExt as _;
                // FILE_SHARE_READ | FILE_SHARE_WRITE, no FILE_SHARE_DELETE: see durable::lock.
                opts.read(true)
                    .write(true)
                    .create(true)
                    .share_mode(0x1 | 0x2)
            }
        };
        open_regular(&path, &mut opts)
    }

    pub(super) fn remove(b: &Beneath, dir: &[&OsStr], name: &OsStr) -> io::Result<()> {
        let path = way(b, dir)?.join(name);
        match kind_of(&path)? {
            FileKind::Regular => fs::remove_file(&path),
            FileKind::Missing => Err(io::ErrorKind::NotFound.into()),
            FileKind::Dir => Err(super::not_regular("a directory")),
            FileKind::Other(what) => Err(super::not_regular(what)),
        }
    }

    pub(super) fn rename(
        b: &Beneath,
        from: (&[&OsStr], &OsStr),
        to: (&[&OsStr], &OsStr),
    ) -> io::Result<()> {
        let f = way(b, from.0)?.join(from.1);
        let t = way(b, to.0)?.join(to.1);
        crate::durable::windows::rename_write_through(&f, &t)
    }

    pub(super) fn create_dir(b: &Beneath, dir: &[&OsStr], name: &OsStr) -> io::Result<bool> {
        let path = way(b, dir)?.join(name);
        match fs::create_dir(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match kind_of(&path)? {
                FileKind::Dir => Ok(false),
                _ => Err(link_refused()),
            },
            Err(e) => Err(e),
        }
    }

    pub(super) fn read_dir(b: &Beneath, parts: &[&OsStr]) -> io::Result<Vec<DirItem>> {
        let path = way(b, parts)?;
        let mut out = Vec::new();
        for e in fs::read_dir(&path)? {
            let e = e?;
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            out.push(DirItem {
                name: e.file_name(),
                is_dir,
            });
        }
        Ok(out)
    }

    pub(super) fn stat(b: &Beneath, dir: &[&OsStr], name: &OsStr) -> io::Result<Stat> {
        let path = way(b, dir)?.join(name);
        let kind = kind_of(&path)?;
        if kind == FileKind::Missing {
            return Err(io::ErrorKind::NotFound.into());
        }
        let id = crate::durable::windows::path_id(&path)?;
        Ok(Stat {
            kind,
            fingerprint: (id.index, id.len, id.mtime_ns),
        })
    }

    pub(super) fn sync_dir(b: &Beneath, parts: &[&OsStr]) -> io::Result<()> {
        crate::durable::fs::sync_dir(&way(b, parts)?)
    }

    pub(super) fn link_in(
        b: &Beneath,
        outside: &Path,
        dir: &[&OsStr],
        name: &OsStr,
    ) -> io::Result<()> {
        fs::hard_link(outside, way(b, dir)?.join(name))
    }
}

// Symbolic links, FIFOs and hard links: Unix only.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("S");
        let outside = dir.path().join("outside");
        for d in [root.join("a"), outside.clone()] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(outside.join("f"), b"outside").unwrap_or_else(|e| panic!("{e}"));
        (dir, root, outside)
    }

    #[test]
    fn a_link_on_any_component_below_the_root_is_never_followed() {
        let (_dir, root, outside) = tree();
        symlink(&outside, root.join("linked")).unwrap_or_else(|e| panic!("{e}"));
        symlink(outside.join("f"), root.join("a/f")).unwrap_or_else(|e| panic!("{e}"));
        let b = Beneath::new(&root).unwrap_or_else(|e| panic!("{e}"));
        for (path, access) in [
            (root.join("linked/f"), Access::Read),
            (root.join("linked/new"), Access::CreateNew),
            (root.join("linked/f"), Access::Append),
            (root.join("a/f"), Access::Read),
            (root.join("a/f"), Access::Write),
        ] {
            let e = b.open(&path, access).map(drop);
            let e = e
                .err()
                .unwrap_or_else(|| panic!("{} opened", path.display()));
            assert!(e.to_string().contains("symbolic link"), "{e}");
        }
        assert!(b.read_dir(&root.join("linked")).is_err());
        assert!(b.remove(&root.join("linked/f")).is_err());
        assert!(
            b.remove(&root.join("a/f")).is_err(),
            "a link is not vouched for"
        );
        assert!(b.create_dir(&root.join("linked")).is_err());
        assert!(b.rename(&root.join("linked/f"), &root.join("a/g")).is_err());
        assert!(b.fingerprint(&root.join("linked/f")).is_err());
        assert_eq!(
            b.kind(&root.join("linked")).ok(),
            Some(FileKind::Other("a symbolic link"))
        );
        assert_eq!(
            std::fs::read(outside.join("f")).ok(),
            Some(b"outside".to_vec())
        );
        assert!(outside.join("f").exists() && !outside.join("new").exists());
        assert!(
            b.open(Path::new("/etc/passwd"), Access::Read).is_err(),
            "not under the root"
        );
        assert!(
            b.open(&root.join("a/../a/x"), Access::CreateNew).is_err(),
            "no .."
        );
    }

    #[test]
    fn a_fifo_is_refused_at_once_for_reading_and_writing() {
        let (_dir, root, _) = tree();
        let fifo = root.join("a/fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()));
        let b = Beneath::new(&root).unwrap_or_else(|e| panic!("{e}"));
        for access in [Access::Read, Access::Write, Access::Append, Access::Lock] {
            let e = b.open(&fifo, access).map(drop).err();
            assert!(
                e.as_ref().is_some_and(|e| e.to_string().contains("FIFO")),
                "{access:?}: {e:?}"
            );
        }
        assert!(b.remove(&fifo).is_err(), "only a regular file is deleted");
    }

    #[test]
    fn a_file_with_other_links_is_never_written_in_place_and_reads_are_bounded() {
        let (_dir, root, outside) = tree();
        let f = root.join("a/f");
        std::fs::write(&f, b"shared").unwrap_or_else(|e| panic!("{e}"));
        std::fs::hard_link(&f, outside.join("g")).unwrap_or_else(|e| panic!("{e}"));
        let b = Beneath::new(&root).unwrap_or_else(|e| panic!("{e}"));
        for access in [Access::Write, Access::Append, Access::Lock] {
            let e = b.open(&f, access).map(drop).err();
            assert!(e.as_ref().is_some_and(is_shared_link), "{access:?}: {e:?}");
        }
        assert_eq!(b.read(&f, 6).ok(), Some(b"shared".to_vec()));
        let e = b.read(&f, 5).err();
        assert!(e.is_some_and(|e| e.kind() == io::ErrorKind::FileTooLarge));
        b.remove(&f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::read(outside.join("g")).ok(),
            Some(b"shared".to_vec())
        );
    }
}
