//! The composite operations, written once over an [`FsLayer`]: atomic replaces through
//! `tmp/`, durable and lazy unlinks, durable `mkdir -p`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::fail::fail_point;
use super::{FsLayer, RealFs};

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

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
