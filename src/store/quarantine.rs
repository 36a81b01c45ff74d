//! Files found wrong (moved to `quarantine/`) and files that could not be read (left in place).

use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use crate::durable::fs::{self, FsLayer, RealFs};
use crate::mapi::EntryId;

use super::error::{Result, io_err};
use super::parse::parse_message;
use super::{Store, Summary};

/// A file moved aside because it could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quarantined {
    /// Where it was.
    pub original: PathBuf,
    /// Where it is now.
    pub moved_to: PathBuf,
    /// Why.
    pub reason: String,
}

/// A message file that could not be read (permissions, an I/O error, not a regular file):
/// not corrupt, so not quarantined. It is left where it is, out of the queue, and comes back
/// once it can be read (the next open, or [`Store::recheck_unreadable`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unreadable {
    /// The message.
    pub eid: EntryId,
    /// Its folder.
    pub folder: EntryId,
    /// The file.
    pub path: PathBuf,
    /// Why it could not be read.
    pub reason: String,
    /// What `index.json` or memory last knew of it, if anything.
    #[serde(skip)]
    pub summary: Option<Summary>,
}

/// Moves an unreadable file into `quarantine/` with a `.why` beside it.
///
/// # Errors
/// I/O errors moving it.
pub fn quarantine(root: &Path, path: &Path, why: &str) -> Result<Quarantined> {
    quarantine_in(&RealFs, root, path, why)
}

/// [`quarantine`] through a file-system layer.
///
/// # Errors
/// I/O errors moving it.
pub fn quarantine_in(fs: &dyn FsLayer, root: &Path, path: &Path, why: &str) -> Result<Quarantined> {
    let qdir = root.join("quarantine");
    fs::create_dir_durable(fs, &qdir).map_err(io_err(&qdir))?;
    let rel = path.strip_prefix(root).unwrap_or(path);
    let flat = rel.to_string_lossy().replace(['/', '\\'], "-");
    let why_of = |d: &Path| PathBuf::from(format!("{}.why", d.display()));
    let mut dest = qdir.join(&flat);
    let mut n = 1;
    while fs.exists(&dest) || fs.exists(&why_of(&dest)) {
        dest = qdir.join(format!("{flat}.{n}"));
        n += 1;
    }
    fs.rename(path, &dest).map_err(io_err(path))?;
    let why_path = why_of(&dest);
    let text = format!(
        "{}\nmoved here from {} at {}\n",
        why,
        rel.display(),
        Timestamp::now()
    );
    // Synced like everything else: the reason must not come back empty after a power cut.
    fs.create_new(&why_path, text.as_bytes(), true)
        .map_err(io_err(&why_path))?;
    if let Some(parent) = path.parent() {
        let _ = fs.sync_dir(parent);
    }
    let _ = fs.sync_dir(&qdir);
    tracing::warn!("quarantined {}: {why}", rel.display());
    Ok(Quarantined {
        original: path.to_path_buf(),
        moved_to: dest,
        reason: why.to_owned(),
    })
}

/// Names in `folders/` or a folder's directory that are not the store's own (anything but
/// `<entry-id>` and `<entry-id>.json`): never read and never taken for a message. Opening a
/// store counts them, one line per directory however many there are; `doctor` moves them
/// aside in one batch ([`Store::quarantine_junk`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Junk {
    /// The directory.
    pub dir: PathBuf,
    /// How many names in it are not the store's.
    pub count: usize,
    /// The first few of them.
    pub examples: Vec<String>,
}

/// How many names a [`Junk`] shows.
const JUNK_EXAMPLES: usize = 3;

impl Junk {
    pub(super) const fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            count: 0,
            examples: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, name: &std::ffi::OsStr) {
        self.count += 1;
        if self.examples.len() < JUNK_EXAMPLES {
            self.examples.push(name.to_string_lossy().into_owned());
        }
    }

    pub(super) fn report_to(self, report: &mut super::OpenReport) {
        if self.count > 0 {
            report.junk.push(self);
        }
    }

    /// One line for people: where, how many, which.
    pub fn describe(&self) -> String {
        let more = if self.count > self.examples.len() {
            ", ..."
        } else {
            ""
        };
        format!(
            "{} holds {} name(s) that are not the store's ({}{more}): left alone, never read",
            self.dir.display(),
            self.count,
            self.examples.join(", ")
        )
    }
}

/// Keeps a copy of `bytes` in `quarantine/` as `<stem>-<unix time>.<ext>` with a `.why`
/// beside it, durably: for a file about to be cut short or written over (a damaged journal,
/// a `store.json` that did not read), so what it held can still be looked at.
///
/// # Errors
/// I/O errors writing the copy.
pub(super) fn keep_copy(
    fs: &dyn FsLayer,
    root: &Path,
    stem: &str,
    ext: &str,
    bytes: &[u8],
    why: &str,
) -> Result<PathBuf> {
    let qdir = root.join("quarantine");
    fs::create_dir_durable(fs, &qdir).map_err(io_err(&qdir))?;
    let now = Timestamp::now().as_second();
    let mut name = format!("{stem}-{now}");
    let mut n = 1;
    while fs.exists(&qdir.join(format!("{name}.{ext}")))
        || fs.exists(&qdir.join(format!("{name}.why")))
    {
        name = format!("{stem}-{now}-{n}");
        n += 1;
    }
    let dest = qdir.join(format!("{name}.{ext}"));
    fs.create_new(&dest, bytes, true).map_err(io_err(&dest))?;
    let why_path = dest.with_extension("why");
    fs.create_new(&why_path, format!("{why}\n").as_bytes(), true)
        .map_err(io_err(&why_path))?;
    let _ = fs.sync_dir(&qdir);
    Ok(dest)
}

impl Store {
    /// Moves the names [`Junk`] counted in `junk.dir` (as they are now) into one new
    /// directory under `quarantine/`, with one `.why` beside it: one rename each and a
    /// handful of fsyncs, however many there are.
    ///
    /// # Errors
    /// I/O errors creating the directory or moving a name.
    pub fn quarantine_junk(&mut self, junk: &Junk) -> Result<Quarantined> {
        let folders = self.root.join("folders");
        let suffix = if junk.dir == folders { "" } else { ".json" };
        let items = self.fs.read_dir(&junk.dir).map_err(io_err(&junk.dir))?;
        let names: Vec<_> = items
            .into_iter()
            .filter(|i| super::open::canonical_id(&i.name, suffix).is_none())
            .map(|i| i.name)
            .collect();
        let qdir = self.root.join("quarantine");
        fs::create_dir_durable(&*self.fs, &qdir).map_err(io_err(&qdir))?;
        let rel = junk.dir.strip_prefix(&self.root).unwrap_or(&junk.dir);
        let flat = rel.to_string_lossy().replace(['/', '\\'], "-");
        let stem = format!("{flat}-junk-{}", Timestamp::now().as_second());
        let mut dest = qdir.join(&stem);
        let mut n = 1;
        while self.fs.exists(&dest) || !self.fs.create_dir(&dest).map_err(io_err(&dest))? {
            dest = qdir.join(format!("{stem}.{n}"));
            n += 1;
        }
        for name in &names {
            let from = junk.dir.join(name);
            self.fs
                .rename(&from, &dest.join(name))
                .map_err(io_err(&from))?;
        }
        let why = format!(
            "{} name(s) that are not the store's (expected <entry-id>{suffix})",
            names.len()
        );
        let why_path = PathBuf::from(format!("{}.why", dest.display()));
        let text = format!(
            "{why}\nmoved here together from {} at {}\n",
            rel.display(),
            Timestamp::now()
        );
        self.fs
            .create_new(&why_path, text.as_bytes(), true)
            .map_err(io_err(&why_path))?;
        for d in [&junk.dir, &dest, &qdir] {
            let _ = self.fs.sync_dir(d);
        }
        tracing::warn!("quarantined {}: {why}", rel.display());
        Ok(Quarantined {
            original: junk.dir.clone(),
            moved_to: dest,
            reason: why,
        })
    }

    /// Records a message file that could not be read (see [`Unreadable`]); its id is never
    /// handed out again.
    pub(super) fn note_unreadable(
        &mut self,
        eid: EntryId,
        folder: EntryId,
        path: PathBuf,
        e: &io::Error,
        summary: Option<Summary>,
    ) {
        let reason = format!("cannot be read: {e}");
        tracing::warn!("message {eid}: {}: {reason}", path.display());
        self.next_id = self.next_id.max(eid.0 + 1);
        self.unreadable.insert(
            eid,
            Unreadable {
                eid,
                folder,
                path,
                reason,
                summary,
            },
        );
    }

    /// Message files that could not be read, by entry id: out of the queue until they can.
    pub fn unreadable(&self) -> impl Iterator<Item = &Unreadable> {
        self.unreadable.values()
    }

    /// Tries every unreadable message file again: those that can be read now come back (into
    /// the queue, if they were in it), returned; content that is read and wrong goes to
    /// quarantine, as at open.
    ///
    /// # Errors
    /// I/O errors moving a file to quarantine.
    pub fn recheck_unreadable(&mut self) -> Result<Vec<EntryId>> {
        let mut back = Vec::new();
        for (eid, u) in std::mem::take(&mut self.unreadable) {
            if self.summaries.contains_key(&eid) {
                continue;
            }
            let bytes = match self.fs.read(&u.path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    self.unreadable.insert(
                        eid,
                        Unreadable {
                            reason: format!("cannot be read: {e}"),
                            ..u
                        },
                    );
                    continue;
                }
            };
            match parse_message(&bytes) {
                Ok(mut m) if m.entry_id == eid => {
                    m.folder = u.folder;
                    if let Ok(fp) = self.fs.fingerprint(&u.path) {
                        self.fingerprints.insert(eid, fp);
                    }
                    self.set_summary(Summary::of(&m));
                    self.remember(m);
                    back.push(eid);
                }
                Ok(m) => {
                    let why = format!(
                        "the file name says message {eid} but it holds message {}",
                        m.entry_id
                    );
                    quarantine_in(&*self.fs, &self.root, &u.path, &why)?;
                }
                Err(why) => {
                    quarantine_in(&*self.fs, &self.root, &u.path, &why.to_string())?;
                }
            }
        }
        Ok(back)
    }

    /// Reads every message file whose summary came from `index.json` unread (as `doctor`
    /// does): one that cannot be read now joins [`Store::unreadable`]. Returns how many
    /// were read.
    pub fn verify_readable(&mut self) -> usize {
        let ids: Vec<EntryId> = self
            .summaries
            .keys()
            .copied()
            .filter(|e| !self.cache.contains_key(e))
            .collect();
        let mut n = 0;
        for eid in ids {
            let Some(folder) = self.summaries.get(&eid).map(|s| s.folder) else {
                continue;
            };
            let path = self.message_path(folder, eid);
            match self.fs.read(&path) {
                Ok(_) => n += 1,
                Err(e) => {
                    let summary = self.summaries.get(&eid).cloned();
                    self.forget(eid);
                    self.note_unreadable(eid, folder, path, &e, summary);
                }
            }
        }
        n
    }
}
