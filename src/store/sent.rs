//! The exact bytes of each hand-off, kept under `sent/` by the transports
//! (`transport::keep_sent_bytes`) for the Source tab and `export`: they go with their message.
//! Deleting a message for good (by the user, or `PR_DELETE_AFTER_SUBMIT`) removes its copies;
//! the folder is kept under the profile's cap ([`Profile::sent_copies_mib`]), the oldest
//! copies going first; and `doctor` finds copies whose message is gone (a crash between the
//! copy and the trace that names it) and removes them.
//!
//! A copy is named `<entry-id>-<µs since the epoch>[-n].eml`: the name says whose it is and
//! how old.
//!
//! [`Profile::sent_copies_mib`]: crate::profile::Profile::sent_copies_mib

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::durable::fs;
use crate::mapi::{EntryId, Message};

use super::Store;
use super::error::{Result, io_err};

/// The folder under the store.
pub const DIR: &str = "sent";

/// The name under [`DIR`] of a copy a trace names (`sent/<name>`): only a plain name the
/// transports write, never a path out of the folder.
pub fn sent_name(rel: &str) -> Option<&str> {
    let name = rel.strip_prefix("sent/")?;
    (!name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')).then_some(name)
}

/// The message and the time (µs since the epoch) a copy's name stands for.
fn owner_and_age(name: &str) -> Option<(EntryId, i64)> {
    let stem = name.strip_suffix(".eml")?;
    let mut parts = stem.split('-');
    let id = parts.next()?;
    let micros = parts.next()?.parse::<i64>().ok()?;
    let eid = EntryId(id.parse::<u64>().ok()?);
    (eid.file_stem() == id).then_some((eid, micros))
}

/// The copies under `sent/`, oldest first, with their sizes, and their total.
#[derive(Debug, Default)]
pub(super) struct SentCopies {
    files: VecDeque<(String, u64)>,
    total: u64,
}

/// What [`Store::sent_orphans`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SentOrphans {
    /// Copies whose message is gone.
    pub files: Vec<PathBuf>,
    /// Their bytes.
    pub bytes: u64,
}

impl Store {
    fn sent_dir(&self) -> PathBuf {
        self.root.join(DIR)
    }

    /// The copies under `sent/` as they are on disk now, oldest first (names that are not a
    /// copy's are left alone).
    fn list_sent(&self) -> SentCopies {
        let dir = self.sent_dir();
        let mut files: Vec<(i64, String, u64)> = self
            .fs
            .read_dir(&dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| !i.is_dir)
            .filter_map(|i| {
                let name = i.name.into_string().ok()?;
                let (_, at) = owner_and_age(&name)?;
                let len = self.fs.fingerprint(&dir.join(&name)).ok()?.1;
                Some((at, name, len))
            })
            .collect();
        files.sort_unstable();
        SentCopies {
            total: files.iter().map(|f| f.2).sum(),
            files: files.into_iter().map(|(_, n, l)| (n, l)).collect(),
        }
    }

    /// Notes the copy a transport just kept (`sent/<name>`, as its trace names it) and removes
    /// the oldest copies while the folder holds more than `cap_bytes`. Returns how many went.
    pub fn keep_sent_within(&mut self, rel: &str, cap_bytes: u64) -> usize {
        let Some(name) = sent_name(rel) else {
            return 0;
        };
        if self.sent.is_none() {
            // The first copy of this session: the folder as it is (this copy included).
            self.sent = Some(self.list_sent());
        } else if let Ok(fp) = self.fs.fingerprint(&self.sent_dir().join(name))
            && let Some(s) = &mut self.sent
        {
            s.files.push_back((name.to_owned(), fp.1));
            s.total += fp.1;
        }
        let dir = self.sent_dir();
        let mut removed = 0;
        while let Some(s) = &mut self.sent
            && s.total > cap_bytes
            && s.files.len() > 1
            && let Some((old, len)) = s.files.pop_front()
        {
            s.total -= len;
            // Not durable: a copy that comes back after a power cut is trimmed next time.
            if fs::remove_lazy_in(&*self.fs, &dir.join(&old)).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// The copies message `eid`'s trace names (`sent/<name>`).
    fn sent_copies_of(&self, eid: EntryId) -> Vec<String> {
        let names = |m: &Message| -> Vec<String> {
            m.trace
                .iter()
                .filter_map(|c| c.bytes.as_deref().and_then(sent_name))
                .map(str::to_owned)
                .collect()
        };
        match self.cache.get(&eid) {
            Some(m) => names(m),
            None => self.peek(eid).map(|m| names(&m)).unwrap_or_default(),
        }
    }

    /// Removes, durably, the copies message `eid`'s trace names (it is being deleted for
    /// good: its content must not outlive it).
    ///
    /// # Errors
    /// I/O errors removing one.
    pub(super) fn remove_sent_copies(&mut self, eid: EntryId) -> Result<()> {
        let names = self.sent_copies_of(eid);
        if names.is_empty() {
            return Ok(());
        }
        let dir = self.sent_dir();
        for name in &names {
            let path = dir.join(name);
            fs::remove_durable_in(&*self.fs, &path).map_err(io_err(&path))?;
        }
        if let Some(s) = &mut self.sent {
            s.files.retain(|(n, len)| {
                let gone = names.contains(n);
                if gone {
                    s.total -= len;
                }
                !gone
            });
        }
        Ok(())
    }

    /// Copies under `sent/` whose message is no longer in the store (a crash between the copy
    /// and the trace that names it, or a store older than retention).
    pub fn sent_orphans(&self) -> SentOrphans {
        let dir = self.sent_dir();
        let mut out = SentOrphans::default();
        for (name, len) in self.list_sent().files {
            let Some((eid, _)) = owner_and_age(&name) else {
                continue;
            };
            if self.summaries.contains_key(&eid) || self.unreadable.contains_key(&eid) {
                continue;
            }
            out.files.push(dir.join(name));
            out.bytes += len;
        }
        out
    }

    /// Removes the copies [`Store::sent_orphans`] found, durably.
    ///
    /// # Errors
    /// I/O errors removing one.
    pub fn remove_sent_orphans(&mut self, orphans: &SentOrphans) -> Result<()> {
        for p in &orphans.files {
            fs::remove_lazy_in(&*self.fs, p).map_err(io_err(p))?;
        }
        if !orphans.files.is_empty() {
            let dir = self.sent_dir();
            self.fs.sync_dir(&dir).map_err(io_err(&dir))?;
            self.sent = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_name_says_whose_and_when_and_nothing_else_passes() {
        assert_eq!(
            owner_and_age("0000000007-1700000000000000.eml"),
            Some((EntryId(7), 1_700_000_000_000_000))
        );
        assert_eq!(
            owner_and_age("0000000007-1700000000000000-2.eml"),
            Some((EntryId(7), 1_700_000_000_000_000))
        );
        assert_eq!(owner_and_age("7-1.eml"), None);
        assert_eq!(owner_and_age("notes.txt"), None);
        assert_eq!(sent_name("sent/a.eml"), Some("a.eml"));
        assert_eq!(sent_name("sent/../store.json"), None);
        assert_eq!(sent_name("sent/.x"), None);
        assert_eq!(sent_name("other/a.eml"), None);
    }
}
