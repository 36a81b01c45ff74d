//! The only code that writes to disk: atomic whole-file replaces and durable unlinks, with an
//! fsync counter for the benchmarks and fail points for the crash tests.
//!
//! The commit point of every write is a `rename` (as Maildir, qmail and Postfix do): a file is
//! written under `tmp/`, fsynced, renamed into place, and its directory fsynced. A crash at any
//! instant leaves either the old file or the new one, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static FSYNCS: AtomicU64 = AtomicU64::new(0);
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// fsync calls made by this process so far (files and directories).
pub fn fsync_count() -> u64 {
    FSYNCS.load(Ordering::Relaxed)
}

/// `fsync` of an open file, counted.
pub fn sync_file(f: &File) -> io::Result<()> {
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    f.sync_all()
}

/// `fsync` of a directory, so a rename or unlink in it is durable; counted.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    FSYNCS.fetch_add(1, Ordering::Relaxed);
    File::open(dir)?.sync_all()
}

/// Crashes the process here when the environment names this fail point.
///
/// `SPOOLBOX_FAILPOINT=name` aborts at the first hit, `name:N` at the N-th. Used by the crash
/// tests, which run the real binary and check what a restart finds.
pub fn fail_point(name: &str) {
    static SPEC: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let spec = SPEC.get_or_init(|| {
        let v = std::env::var("SPOOLBOX_FAILPOINT").ok()?;
        let (n, count) = v
            .split_once(':')
            .map_or((v.as_str(), 1), |(n, c)| (n, c.parse().unwrap_or(1)));
        Some((n.to_owned(), count))
    });
    if let Some((want, count)) = spec
        && want == name
        && HITS.fetch_add(1, Ordering::Relaxed) + 1 >= *count
    {
        eprintln!("spoolbox: fail point {name} hit, aborting");
        std::process::abort();
    }
}

/// Writes `bytes` to a fresh file in `tmp_dir` and fsyncs it; returns its path.
pub fn write_tmp(tmp_dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let path = tmp_dir.join(format!("{}.{n}.tmp", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    f.write_all(bytes)?;
    sync_file(&f)?;
    Ok(path)
}

/// Atomically replaces `dest` with `bytes`: tmp file, fsync, rename, fsync of `dest`'s
/// directory. Two fsyncs.
pub fn write_atomic(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_tmp(tmp_dir, bytes)?;
    fail_point("store.before_rename");
    if let Err(e) = fs::rename(&tmp, dest) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fail_point("store.after_rename");
    sync_dir(parent(dest))
}

/// Like [`write_atomic`] without any fsync: for rebuildable caches such as `index.json`.
pub fn write_replace_nosync(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = tmp_dir.join(format!("{}.{n}.tmp", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, dest)
}

/// Removes a file and makes the removal durable. A file already gone is not an error.
pub fn remove_durable(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes a file without making the removal durable, for copies whose survival a later open
/// resolves anyway. A file already gone is not an error.
pub fn remove_lazy(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn parent(p: &Path) -> &Path {
    p.parent().unwrap_or_else(|| Path::new("."))
}
