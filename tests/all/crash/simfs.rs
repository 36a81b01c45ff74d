//! A simulated file system that knows what is durable, for the power-loss tests.
//!
//! It models POSIX durability the way the store must assume it: a file's contents survive a
//! power cut only up to its last fsync, and a name in a directory (create, rename, unlink)
//! only once that directory was fsynced. Each directory keeps its live entries and its durable
//! entries; each file its live bytes and its durable bytes. [`SimFs::power_cut`] builds the
//! machine after the reboot from the durable halves alone (`Strict`), or lets every pending
//! change land or not at random, and unsynced appends survive in part (`Torn`), which is what
//! real disks may do and a superset of what a journaling file system shows.
//!
//! Every mutating call is one numbered "operation"; [`SimFs::cut_at`] makes operation K and
//! everything after it fail as if the machine had died just before K. A disk can also be made
//! full (ENOSPC) or read-only (EROFS).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use spoolbox::durable::fs::{AppendFile, DirItem, Fingerprint, FsLayer};
use spoolbox::durable::lock::{LockError, StoreLock};

use super::Rng;

/// What survives a power cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Exactly what was made durable; every unsynced change is lost.
    Strict,
    /// Every unsynced name change lands or not, each on its own; unsynced bytes at the end of
    /// a file survive in part (a torn tail).
    Torn,
}

#[derive(Clone, Debug)]
enum Inode {
    File {
        data: Vec<u8>,
        mtime: u64,
        /// Contents as of the last fsync (`None`: never synced).
        durable: Option<(Vec<u8>, u64)>,
    },
    Dir {
        entries: BTreeMap<OsString, u64>,
        durable: BTreeMap<OsString, u64>,
    },
}

#[derive(Clone, Debug)]
struct State {
    mount: PathBuf,
    inodes: HashMap<u64, Inode>,
    root: u64,
    next_ino: u64,
    clock: u64,
    ops: u64,
    cut_at: Option<u64>,
    cut: bool,
    full: bool,
    read_only: bool,
}

/// The simulated disk. Clones share it.
#[derive(Clone, Debug)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(28)
}

fn erofs() -> io::Error {
    io::Error::from_raw_os_error(30)
}

fn off() -> io::Error {
    io::Error::other("simulated power cut: the machine is off")
}

fn not_found(p: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", p.display()),
    )
}

impl State {
    /// Counts one mutating operation, or fails when the power is (now) off.
    fn op(&mut self) -> io::Result<()> {
        if self.cut {
            return Err(off());
        }
        self.ops += 1;
        if self.cut_at.is_some_and(|k| self.ops >= k) {
            self.cut = true;
            return Err(off());
        }
        if self.read_only {
            return Err(erofs());
        }
        Ok(())
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn components(&self, p: &Path) -> io::Result<Vec<OsString>> {
        let rel = p.strip_prefix(&self.mount).map_err(|_| not_found(p))?;
        let mut out = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(n) => out.push(n.to_owned()),
                Component::CurDir => {}
                _ => {
                    return Err(io::Error::other(format!(
                        "{}: unsupported path",
                        p.display()
                    )));
                }
            }
        }
        Ok(out)
    }

    fn lookup(&self, p: &Path) -> io::Result<u64> {
        let mut ino = self.root;
        for name in self.components(p)? {
            match self.inodes.get(&ino) {
                Some(Inode::Dir { entries, .. }) => {
                    ino = *entries.get(&name).ok_or_else(|| not_found(p))?;
                }
                _ => return Err(not_found(p)),
            }
        }
        Ok(ino)
    }

    /// The directory holding `p` and `p`'s name in it.
    fn parent_of(&self, p: &Path) -> io::Result<(u64, OsString)> {
        let name = p.file_name().ok_or_else(|| not_found(p))?.to_owned();
        let parent = p.parent().ok_or_else(|| not_found(p))?;
        let d = self.lookup(parent)?;
        match self.inodes.get(&d) {
            Some(Inode::Dir { .. }) => Ok((d, name)),
            _ => Err(not_found(p)),
        }
    }

    fn entries_mut(&mut self, dir: u64) -> io::Result<&mut BTreeMap<OsString, u64>> {
        match self.inodes.get_mut(&dir) {
            Some(Inode::Dir { entries, .. }) => Ok(entries),
            _ => Err(io::Error::other("not a directory")),
        }
    }

    fn new_inode(&mut self, inode: Inode) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.inodes.insert(ino, inode);
        ino
    }
}

impl SimFs {
    /// An empty disk mounted at `mount` (everything above it counts as there and durable).
    pub fn new(mount: &Path) -> Self {
        let mut inodes = HashMap::new();
        inodes.insert(
            1,
            Inode::Dir {
                entries: BTreeMap::new(),
                durable: BTreeMap::new(),
            },
        );
        Self {
            state: Arc::new(Mutex::new(State {
                mount: mount.to_path_buf(),
                inodes,
                root: 1,
                next_ino: 2,
                clock: 1,
                ops: 0,
                cut_at: None,
                cut: false,
                full: false,
                read_only: false,
            })),
        }
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Mutating operations so far.
    pub fn ops(&self) -> u64 {
        self.st().ops
    }

    /// The power goes at operation `k` (counted from the disk's creation): it and every later
    /// one fail and leave no trace.
    pub fn cut_at(&self, k: u64) {
        self.st().cut_at = Some(k);
    }

    /// True once the power is off.
    pub fn is_cut(&self) -> bool {
        self.st().cut
    }

    /// Every write that needs space fails with ENOSPC while set.
    pub fn set_full(&self, full: bool) {
        self.st().full = full;
    }

    /// Every change fails with EROFS while set.
    pub fn set_read_only(&self, ro: bool) {
        self.st().read_only = ro;
    }

    /// The disk as the machine finds it after a power cut now: a fresh `SimFs` holding what
    /// survived (see [`Cut`]). `rng` decides what lands in [`Cut::Torn`].
    pub fn power_cut(&self, how: Cut, rng: &mut Rng) -> Self {
        let st = self.st();
        let mut out: HashMap<u64, Inode> = HashMap::new();
        let mut todo = vec![st.root];
        while let Some(ino) = todo.pop() {
            if out.contains_key(&ino) {
                continue; // a file linked twice (a rename half landed)
            }
            let Some(node) = st.inodes.get(&ino) else {
                continue;
            };
            let kept = match node {
                Inode::Dir { entries, durable } => {
                    let mut names = durable.clone();
                    if how == Cut::Torn {
                        let all: Vec<&OsString> = entries.keys().chain(durable.keys()).collect();
                        for name in all {
                            if entries.get(name) != durable.get(name) && rng.below(2) == 1 {
                                match entries.get(name) {
                                    Some(i) => names.insert(name.clone(), *i),
                                    None => names.remove(name),
                                };
                            }
                        }
                    }
                    todo.extend(names.values().copied());
                    Inode::Dir {
                        entries: names.clone(),
                        durable: names,
                    }
                }
                Inode::File {
                    data,
                    mtime,
                    durable,
                } => {
                    let (mut bytes, mut m) = durable.clone().unwrap_or_default();
                    if how == Cut::Torn {
                        if data.starts_with(&bytes) && data.len() > bytes.len() {
                            let extra = data.len() - bytes.len();
                            let keep = rng.below(extra as u64 + 1) as usize;
                            bytes.extend_from_slice(&data[bytes.len()..bytes.len() + keep]);
                            if keep > 0 {
                                m = *mtime;
                            }
                        } else if durable.is_none() {
                            bytes = data[..rng.below(data.len() as u64 + 1) as usize].to_vec();
                            m = *mtime;
                        }
                    }
                    Inode::File {
                        data: bytes.clone(),
                        mtime: m,
                        durable: Some((bytes, m)),
                    }
                }
            };
            out.insert(ino, kept);
        }
        Self {
            state: Arc::new(Mutex::new(State {
                mount: st.mount.clone(),
                inodes: out,
                root: st.root,
                next_ino: st.next_ino,
                clock: st.clock + 1,
                ops: 0,
                cut_at: None,
                cut: false,
                full: false,
                read_only: false,
            })),
        }
    }

    /// Every file under `dir` (live view), with its path and contents.
    pub fn files_under(&self, dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let st = self.st();
        let mut out = Vec::new();
        let Ok(start) = st.lookup(dir) else {
            return out;
        };
        let mut todo = vec![(dir.to_path_buf(), start)];
        while let Some((path, ino)) = todo.pop() {
            match st.inodes.get(&ino) {
                Some(Inode::Dir { entries, .. }) => {
                    for (name, child) in entries {
                        todo.push((path.join(name), *child));
                    }
                }
                Some(Inode::File { data, .. }) => out.push((path, data.clone())),
                None => {}
            }
        }
        out.sort();
        out
    }

    /// An independent copy of the disk as it is now (live view, power on).
    pub fn fork(&self) -> Self {
        let st = self.st().clone();
        Self {
            state: Arc::new(Mutex::new(st)),
        }
    }

    /// Creates or replaces a file (and its directories), durably: a test's hand on the disk.
    pub fn put(&self, path: &Path, bytes: &[u8]) {
        let mut st = self.st();
        let comps = st.components(path).unwrap();
        let mut dir = st.root;
        let mut walked = st.mount.clone();
        for (i, name) in comps.iter().enumerate() {
            walked.push(name);
            let last = i + 1 == comps.len();
            let existing = match st.inodes.get(&dir) {
                Some(Inode::Dir { entries, .. }) => entries.get(name).copied(),
                _ => panic!("{} is not a directory", walked.display()),
            };
            let m = st.tick();
            let ino = match existing {
                Some(ino) if !last => ino,
                Some(ino) => {
                    if let Some(Inode::File {
                        data,
                        mtime,
                        durable,
                    }) = st.inodes.get_mut(&ino)
                    {
                        *data = bytes.to_vec();
                        *mtime = m;
                        *durable = Some((bytes.to_vec(), m));
                    }
                    ino
                }
                None => st.new_inode(if last {
                    Inode::File {
                        data: bytes.to_vec(),
                        mtime: m,
                        durable: Some((bytes.to_vec(), m)),
                    }
                } else {
                    Inode::Dir {
                        entries: BTreeMap::new(),
                        durable: BTreeMap::new(),
                    }
                }),
            };
            if let Some(Inode::Dir { entries, durable }) = st.inodes.get_mut(&dir) {
                entries.insert(name.clone(), ino);
                durable.insert(name.clone(), ino);
            }
            dir = ino;
        }
    }

    /// The live contents of a file, if there is one.
    pub fn read_file(&self, path: &Path) -> Option<Vec<u8>> {
        FsLayer::read(self, path).ok()
    }
}

#[derive(Debug)]
struct SimAppend {
    state: Arc<Mutex<State>>,
    ino: u64,
}

impl SimAppend {
    fn with<T>(&self, f: impl FnOnce(&mut State, u64) -> io::Result<T>) -> io::Result<T> {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut st, self.ino)
    }
}

fn file_mut(
    st: &mut State,
    ino: u64,
) -> io::Result<(&mut Vec<u8>, &mut u64, &mut Option<(Vec<u8>, u64)>)> {
    match st.inodes.get_mut(&ino) {
        Some(Inode::File {
            data,
            mtime,
            durable,
        }) => Ok((data, mtime, durable)),
        _ => Err(io::Error::other("the open file is gone")),
    }
}

impl AppendFile for SimAppend {
    fn size(&self) -> io::Result<u64> {
        self.with(|st, ino| Ok(file_mut(st, ino)?.0.len() as u64))
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.with(|st, ino| {
            st.op()?;
            let now = st.tick();
            let (data, mtime, _) = file_mut(st, ino)?;
            data.resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
            *mtime = now;
            Ok(())
        })
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.with(|st, ino| {
            st.op()?;
            if st.full && !bytes.is_empty() {
                return Err(enospc());
            }
            let now = st.tick();
            let (data, mtime, _) = file_mut(st, ino)?;
            let at = usize::try_from(offset).unwrap_or(usize::MAX);
            if data.len() < at + bytes.len() {
                data.resize(at + bytes.len(), 0);
            }
            data[at..at + bytes.len()].copy_from_slice(bytes);
            *mtime = now;
            Ok(())
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        self.with(|st, ino| {
            st.op()?;
            let (data, mtime, durable) = file_mut(st, ino)?;
            *durable = Some((data.clone(), *mtime));
            Ok(())
        })
    }
}

impl FsLayer for SimFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let st = self.st();
        match st.inodes.get(&st.lookup(path)?) {
            Some(Inode::File { data, .. }) => Ok(data.clone()),
            _ => Err(io::Error::other(format!(
                "{}: is a directory",
                path.display()
            ))),
        }
    }

    fn create_new(&self, path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
        let mut st = self.st();
        st.op()?;
        let (dir, name) = st.parent_of(path)?;
        if st.entries_mut(dir)?.contains_key(&name) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
        }
        let m = st.tick();
        let ino = st.new_inode(Inode::File {
            data: Vec::new(),
            mtime: m,
            durable: None,
        });
        st.entries_mut(dir)?.insert(name.clone(), ino);
        // The write and the fsync are operations of their own: the power may go in between.
        let wrote = st.op().and_then(|()| {
            if st.full && !bytes.is_empty() {
                return Err(enospc());
            }
            let m = st.tick();
            let (data, mtime, _) = file_mut(&mut st, ino)?;
            *data = bytes.to_vec();
            *mtime = m;
            Ok(())
        });
        let synced = wrote.and_then(|()| {
            if sync {
                st.op()?;
                let (data, mtime, durable) = file_mut(&mut st, ino)?;
                *durable = Some((data.clone(), *mtime));
            }
            Ok(())
        });
        if let Err(e) = synced {
            if !st.cut {
                // As RealFs: a failed write leaves no file behind.
                st.entries_mut(dir)?.remove(&name);
            }
            return Err(e);
        }
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.st();
        st.op()?;
        let (fd, fname) = st.parent_of(from)?;
        let (td, tname) = st.parent_of(to)?;
        let ino = *st
            .entries_mut(fd)?
            .get(&fname)
            .ok_or_else(|| not_found(from))?;
        if let Some(old) = st.entries_mut(td)?.get(&tname).copied()
            && matches!(st.inodes.get(&old), Some(Inode::Dir { .. }))
        {
            return Err(io::Error::other("rename over a directory"));
        }
        st.entries_mut(fd)?.remove(&fname);
        st.entries_mut(td)?.insert(tname, ino);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.st();
        st.op()?;
        let (dir, name) = st.parent_of(path)?;
        let ino = *st
            .entries_mut(dir)?
            .get(&name)
            .ok_or_else(|| not_found(path))?;
        if matches!(st.inodes.get(&ino), Some(Inode::Dir { .. })) {
            return Err(io::Error::other("is a directory"));
        }
        st.entries_mut(dir)?.remove(&name);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.st();
        st.op()?;
        let ino = st.lookup(dir)?;
        match st.inodes.get_mut(&ino) {
            Some(Inode::Dir { entries, durable }) => {
                durable.clone_from(entries);
                Ok(())
            }
            _ => Err(io::Error::other("not a directory")),
        }
    }

    fn create_dir(&self, dir: &Path) -> io::Result<bool> {
        let mut st = self.st();
        if let Ok(ino) = st.lookup(dir) {
            return match st.inodes.get(&ino) {
                Some(Inode::Dir { .. }) => Ok(false),
                _ => Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists")),
            };
        }
        st.op()?;
        if st.full {
            return Err(enospc());
        }
        let (parent, name) = st.parent_of(dir)?;
        let ino = st.new_inode(Inode::Dir {
            entries: BTreeMap::new(),
            durable: BTreeMap::new(),
        });
        st.entries_mut(parent)?.insert(name, ino);
        Ok(true)
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirItem>> {
        let st = self.st();
        match st.inodes.get(&st.lookup(dir)?) {
            Some(Inode::Dir { entries, .. }) => Ok(entries
                .iter()
                .map(|(name, ino)| DirItem {
                    name: name.clone(),
                    is_dir: matches!(st.inodes.get(ino), Some(Inode::Dir { .. })),
                })
                .collect()),
            _ => Err(io::Error::other("not a directory")),
        }
    }

    fn fingerprint(&self, path: &Path) -> io::Result<Fingerprint> {
        let st = self.st();
        let ino = st.lookup(path)?;
        match st.inodes.get(&ino) {
            Some(Inode::File { data, mtime, .. }) => {
                Ok((ino, data.len() as u64, i128::from(*mtime)))
            }
            _ => Ok((ino, 0, 0)),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.st().lookup(path).is_ok()
    }

    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn AppendFile>, bool)> {
        let existing = self.st().lookup(path).ok();
        let (ino, created) = match existing {
            Some(ino) => (ino, false),
            None => {
                self.create_new(path, &[], false)?;
                (self.st().lookup(path)?, true)
            }
        };
        Ok((
            Box::new(SimAppend {
                state: Arc::clone(&self.state),
                ino,
            }),
            created,
        ))
    }

    fn lock(&self, _root: &Path) -> Result<StoreLock, LockError> {
        Ok(StoreLock::detached())
    }
}
