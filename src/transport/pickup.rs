//! The pickup-folder transport: each hand-off becomes one RFC 5322 `.eml` file in a directory,
//! as IIS and Exchange pickup directories take them. Exactly once: the file name is
//! deterministic (message id, offered rows, hashed when many, and a tag of the store, so two
//! stores sharing the folder never clash), the file is written under a temp name (created new,
//! never through a link), fsynced, and linked into place without ever overwriting; a replay
//! after a crash finds the file there and reports the rows delivered without writing a second
//! one. Every file opens with an `X-Spoolbox-Pickup:` header naming it: a file at the name
//! without that header was not written here, is left alone, and the next free name is used.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use super::{Handoff, RowOutcome, SubmitResult, SubmitView, Transport};
use crate::durable::fs::fail_point;
use crate::eml;
use crate::profile::PickupSettings;

/// Writes `.eml` files into a directory.
#[derive(Debug)]
pub struct PickupTransport {
    name: String,
    types: Vec<String>,
    settings: PickupSettings,
    /// The store's tag in file names ([`store_tag`]), for the store root it was taken from.
    tag: Option<(PathBuf, String)>,
}

impl PickupTransport {
    /// A pickup transport.
    pub fn new(name: &str, types: &[String], settings: PickupSettings) -> Self {
        Self {
            name: name.to_owned(),
            types: types.to_vec(),
            settings,
            tag: None,
        }
    }

    /// The directory, resolved against the store for relative paths.
    pub fn dir(&self, store_root: &Path) -> PathBuf {
        let d = PathBuf::from(&self.settings.dir);
        if d.is_absolute() {
            d
        } else {
            store_root.join(d)
        }
    }
}

/// The names the store itself keeps under its root: a pickup directory there would have its
/// files deleted (`tmp/` is emptied at every open), quarantined (`folders/`) or mixed with the
/// store's own.
pub const STORE_NAMES: [&str; 10] = [
    "tmp",
    "folders",
    "journal",
    "quarantine",
    "traces",
    "sent",
    "timeline",
    "store.json",
    "index.json",
    "store.lock",
];

/// Why `dir` (relative to the store, or absolute) cannot be a pickup directory of the store at
/// `store_root`: it is the store's root itself or lies in one of the store's own folders
/// ([`STORE_NAMES`]). A folder of its own under the root (the demo's `pickup`) is fine.
pub fn inside_store(store_root: &Path, dir: &Path) -> Option<String> {
    let rel = store_relative(store_root, dir)?;
    let what = match rel.first() {
        None => "the store's root itself".to_owned(),
        Some(first) if STORE_NAMES.iter().any(|n| first == n) => {
            format!("inside the store's own {first}")
        }
        Some(_) => return None,
    };
    Some(format!(
        "the pickup directory {} is {what}: the store would delete or quarantine its files; choose a directory outside the store, or a folder of its own under it (such as pickup)",
        dir.display()
    ))
}

/// `dir`'s components below `store_root` (`..` resolved by name, links by
/// `canonicalize` where the path exists), or `None` when it is not under the store.
fn store_relative(store_root: &Path, dir: &Path) -> Option<Vec<String>> {
    let lexical = |p: &Path| {
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                c => out.push(c),
            }
        }
        out
    };
    let full = lexical(&store_root.join(dir));
    // The deepest part that exists, with its links resolved, and the rest as typed.
    let canonical = |p: &Path| -> PathBuf {
        let mut head = p.to_path_buf();
        let mut tail = Vec::new();
        while !head.as_os_str().is_empty() {
            if let Ok(c) = fs::canonicalize(&head) {
                return tail.iter().rev().fold(c, |acc: PathBuf, t| acc.join(t));
            }
            match (
                head.file_name().map(std::ffi::OsStr::to_os_string),
                head.parent(),
            ) {
                (Some(n), Some(parent)) => {
                    tail.push(n);
                    head = parent.to_path_buf();
                }
                _ => break,
            }
        }
        p.to_path_buf()
    };
    let root = lexical(store_root);
    let tries = [
        (full.clone(), root.clone()),
        (canonical(&full), canonical(&root)),
    ];
    tries.iter().find_map(|(d, r)| {
        d.strip_prefix(r).ok().map(|rel| {
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
    })
}

/// At most this many characters of row ids in a file name; longer lists are hashed.
const ROWS_IN_NAME: usize = 40;

/// 64-bit FNV-1a: stable across builds (names must survive an upgrade after a crash).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The store's identity in pickup file names: a hash of when `store.json` says the store was
/// created and of the store's canonical path, so two stores sharing a pickup folder (or a new
/// store where an old one was) never pick the same name.
pub fn store_tag(store_root: &Path) -> String {
    #[derive(serde::Deserialize)]
    struct Created {
        created: Option<String>,
    }
    let created = crate::durable::fs::read_regular(&store_root.join("store.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Created>(&b).ok())
        .and_then(|c| c.created)
        .unwrap_or_default();
    let root = fs::canonicalize(store_root).unwrap_or_else(|_| store_root.to_path_buf());
    let mut key = created.into_bytes();
    key.push(0);
    key.extend_from_slice(root.as_os_str().as_encoded_bytes());
    format!("{:016x}", fnv(&key))
}

/// The deterministic file name for one hand-off: the message, its offered rows (hashed when
/// many, so the name stays short for any number of recipients) and the store's tag.
pub fn file_name(store: &str, eid: crate::mapi::EntryId, rows: &[u32]) -> String {
    format!(
        "spoolbox-{}-r{}-{store}.eml",
        eid.file_stem(),
        rows_part(rows)
    )
}

fn rows_part(rows: &[u32]) -> String {
    let mut rows = rows.to_vec();
    rows.sort_unstable();
    let text: Vec<String> = rows.iter().map(u32::to_string).collect();
    let text = text.join("_");
    if text.len() <= ROWS_IN_NAME {
        text
    } else {
        format!("{}x{:016x}", rows.len(), fnv(text.as_bytes()))
    }
}

/// The header line that opens every file this store writes for this hand-off: a file at the
/// name without it was not written by this store (and is never counted as delivered).
fn marker(name: &str) -> String {
    format!("X-Spoolbox-Pickup: {name}\r\n")
}

/// What is at a pickup name.
enum AtName {
    Free,
    /// A file this store wrote for this hand-off (a replay after a crash).
    Ours,
    /// Something else: another name is taken.
    Foreign,
}

fn at_name(dest: &Path, mark: &str) -> std::io::Result<AtName> {
    use std::io::Read as _;
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(AtName::Free),
        Err(e) => return Err(e),
        Ok(md) if !md.is_file() => return Ok(AtName::Foreign),
        Ok(_) => {}
    }
    let Ok(f) = crate::durable::fs::open_regular(dest, OpenOptions::new().read(true)) else {
        return Ok(AtName::Foreign);
    };
    let mut head = Vec::with_capacity(mark.len());
    f.take(mark.len() as u64).read_to_end(&mut head)?;
    Ok(if head == mark.as_bytes() {
        AtName::Ours
    } else {
        AtName::Foreign
    })
}

/// Creates the pickup directory (and missing parents) durably, with the default permissions
/// (a pickup service may run as another user).
fn create_pickup_dir(dir: &Path) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    while fs::symlink_metadata(d).is_err() {
        missing.push(d);
        match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => d = p,
            _ => break,
        }
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => crate::durable::fs::sync_dir(crate::durable::fs::parent(d))?,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Gives a new pickup file its mode on Unix: read and write for the owner, and read for the
/// group and for others exactly where the pickup folder gives them read (its `r` bits):
/// 0644 in a 0755 folder, 0640 in a 0750 one, 0600 in a 0700 one. A pickup service usually
/// runs as another user (IIS's, a mail system's), and cannot read the 0600 files the store
/// writes for itself; a fixed 0644 would instead show every message to every local user even
/// in a folder its owner made private, or shared with the service's group only. The folder's
/// own permissions say who is meant to read what is put in it. Set on the open file (not
/// subject to the umask), before a byte is written. On Windows a file inherits the folder's
/// ACL, which says the same.
#[cfg(unix)]
fn readable_as_the_folder(f: &fs::File, dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let folder = fs::metadata(dir)?.permissions().mode();
    f.set_permissions(fs::Permissions::from_mode(0o600 | (folder & 0o044)))
}

/// See the Unix version: on Windows the file inherits the folder's ACL.
#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps, reason = "the same signature as on Unix")]
fn readable_as_the_folder(_: &fs::File, _: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Writes `bytes` under `name` (or `name` with `.1`, `.2`, ... before `.eml` when a file this
/// store did not write holds the name) unless this store already wrote it; returns the name
/// used and whether it was written now.
fn write_once(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<(String, bool)> {
    // A new pickup directory's own name must be durable, or its fsynced files go with it.
    create_pickup_dir(dir)?;
    let stem = name.strip_suffix(".eml").unwrap_or(name);
    let mut k = 0u32;
    loop {
        let name = if k == 0 {
            format!("{stem}.eml")
        } else {
            format!("{stem}.{k}.eml")
        };
        let mark = marker(&name);
        let dest = dir.join(&name);
        // One process owns the store and the name is the store's own, so the temp name needs
        // no pid: a leftover of a crash before the link is replaced below, one after it is
        // removed here on the replay.
        let tmp = dir.join(format!(".{name}.tmp"));
        match at_name(&dest, &mark)? {
            AtName::Ours => {
                let _ = fs::remove_file(&tmp);
                return Ok((name, false));
            }
            AtName::Foreign => {
                k += 1;
                if k > 100 {
                    return Err(std::io::Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "{stem}.eml and 100 other names are taken by files Spoolbox did not write"
                        ),
                    ));
                }
                continue;
            }
            AtName::Free => {}
        }
        fail_point("pickup.before_write");
        // Never through whatever sits at the temp name (a planted symbolic link): created new,
        // after removing the name (the link itself, never its target).
        let fresh = || {
            crate::durable::fs::open_regular(&tmp, OpenOptions::new().write(true).create_new(true))
        };
        let mut f = match fresh() {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                fs::remove_file(&tmp)?;
                fresh()?
            }
            other => other?,
        };
        let written = readable_as_the_folder(&f, dir)
            .and_then(|()| f.write_all(mark.as_bytes()))
            .and_then(|()| f.write_all(bytes))
            .and_then(|()| crate::durable::fs::sync_file(&f));
        drop(f);
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        fail_point("pickup.before_link");
        // link(2) fails if the name exists: the commit point never overwrites.
        match fs::hard_link(&tmp, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                // Taken meanwhile: look again at what holds it.
                let _ = fs::remove_file(&tmp);
                continue;
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        }
        fail_point("pickup.after_link");
        fs::remove_file(&tmp)?;
        crate::durable::fs::sync_dir(dir)?;
        fail_point("pickup.after_sync");
        return Ok((name, true));
    }
}

impl Transport for PickupTransport {
    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn status_text(&self) -> String {
        format!("writing .eml files to {}", self.settings.dir)
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        let mut bad = Vec::new();
        let mut good = Vec::new();
        for row in &view.rows {
            let Some(r) = view.msg.recipient(*row) else {
                continue;
            };
            if r.email().parse::<lettre::Address>().is_err() {
                bad.push((
                    *row,
                    RowOutcome::Failed(format!("{:?} is not a valid Internet address", r.email())),
                ));
            } else {
                good.push(*row);
            }
        }
        if good.is_empty() {
            return Handoff::sent(bad);
        }
        // A pickup service builds the envelope from the headers (and strips `Bcc:` as it
        // sends), so the file keeps the Bcc rows: without them they would never be delivered.
        let opts = eml::RenderOptions {
            keep_bcc: true,
            ..eml::RenderOptions::default()
        };
        let bytes = match eml::render_with(view.msg, &good, &view.sender, opts) {
            Ok(r) => r.bytes,
            Err(e) => {
                let e = e.to_string();
                bad.extend(good.iter().map(|r| (*r, RowOutcome::Failed(e.clone()))));
                return Handoff::sent(bad);
            }
        };
        let dir = self.dir(&view.store_root);
        if let Some(why) = inside_store(&view.store_root, &dir) {
            return Handoff::refused(SubmitResult::NetworkError(0, why));
        }
        let tag = match &self.tag {
            Some((root, tag)) if *root == view.store_root => tag.clone(),
            _ => {
                let tag = store_tag(&view.store_root);
                self.tag = Some((view.store_root.clone(), tag.clone()));
                tag
            }
        };
        let name = file_name(&tag, view.msg.entry_id, &good);
        // Out of file descriptors (a low `ulimit -n` while the store files a group): a
        // passing local condition, waited out here for up to about 2 s.
        let mut pause = std::time::Duration::from_millis(10);
        let written = loop {
            match write_once(&dir, &name, &bytes) {
                Err(e) if crate::durable::fs::out_of_files(&e) && pause.as_secs() < 2 => {
                    std::thread::sleep(pause);
                    pause *= 2;
                }
                r => break r,
            }
        };
        match written {
            Ok((name, fresh)) => {
                let text = if fresh {
                    format!("written to {}", dir.join(&name).display())
                } else {
                    format!("already in the pickup folder as {name}")
                };
                bad.extend(
                    good.iter()
                        .map(|r| (*r, RowOutcome::Delivered(text.clone()))),
                );
                let mut h = Handoff::sent(bad);
                if fresh {
                    h.kept = super::keep_sent_file(&view.store_root, view.msg, &dir.join(&name));
                }
                h
            }
            Err(e) => Handoff::refused(SubmitResult::NetworkError(
                0,
                format!("pickup folder {}: {e}", dir.display()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Plants a symbolic link: Unix only.
    #[cfg(unix)]
    #[test]
    fn a_pickup_directory_in_the_stores_own_folders_or_at_its_root_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("S");
        fs::create_dir_all(root.join("folders/1")).unwrap_or_else(|e| panic!("{e}"));
        for bad in [
            "tmp",
            "folders/1",
            "./folders",
            "pickup/../quarantine",
            "",
            ".",
        ] {
            let why = inside_store(&root, Path::new(bad));
            assert!(
                why.as_deref().is_some_and(|w| w.contains("store")),
                "{bad:?}: {why:?}"
            );
        }
        let abs = root.join("sent").join("x");
        assert!(
            inside_store(&root, &abs).is_some(),
            "absolute, not yet there"
        );
        for good in ["pickup", "out/tmp"] {
            assert_eq!(inside_store(&root, Path::new(good)), None, "{good:?}");
        }
        let elsewhere = dir.path().join("elsewhere");
        assert_eq!(inside_store(&root, &elsewhere), None);
        // A link from outside into the store's tmp/ is seen through.
        fs::create_dir_all(root.join("tmp")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(root.join("tmp"), dir.path().join("via"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(inside_store(&root, &dir.path().join("via")).is_some());
    }
    use crate::mapi::{EntryId, Message, Recipient, RecipientKind};

    #[test]
    fn a_bcc_row_is_kept_in_the_file_so_the_pickup_service_delivers_it() {
        let dir = std::env::temp_dir().join(format!("spoolbox-pickup-bcc-{}", std::process::id()));
        let (bytes, _) = submit_to(&dir, "body");
        let parsed = mail_parser::MessageParser::default().parse(&bytes);
        let bcc: Vec<&str> = parsed
            .as_ref()
            .and_then(|p| p.bcc())
            .into_iter()
            .flat_map(|a| a.iter().filter_map(|x| x.address()))
            .collect();
        assert_eq!(bcc, ["bob@example.org"]);
        let _ = fs::remove_dir_all(&dir);
    }

    /// RFC 5322 lines end in CRLF, in the file on disk too, on every platform (Rust never
    /// translates line ends; a body typed with bare LFs is converted when rendered); the name
    /// is one Windows can create.
    #[test]
    fn the_pickup_file_on_disk_has_crlf_line_ends_and_a_portable_name() {
        let dir = std::env::temp_dir().join(format!("spoolbox-pickup-crlf-{}", std::process::id()));
        let (bytes, name) = submit_to(&dir, "first line\nsecond line\n\nlast\r\n");
        assert!(!bytes.is_empty());
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                assert!(i > 0 && bytes[i - 1] == b'\r', "a bare LF at byte {i}");
            }
            if *b == b'\r' {
                assert_eq!(bytes.get(i + 1), Some(&b'\n'), "a bare CR at byte {i}");
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("first line\r\nsecond line\r\n"), "{text}");
        assert!(crate::eml::is_portable_file_name(&name), "{name}");
        let _ = fs::remove_dir_all(&dir);
    }

    /// Hands a message with one To and one Bcc row to a pickup folder at `dir`; the file's
    /// bytes and name.
    fn submit_to(dir: &Path, body: &str) -> (Vec<u8>, String) {
        let _ = fs::remove_dir_all(dir);
        // The store exists before its tag is taken (canonical path; on Windows `\\?\C:\..`);
        // the pickup folder is outside it (the store's root itself is refused).
        let store = dir.join("store");
        fs::create_dir_all(&store).unwrap_or_else(|e| panic!("{e}"));
        let mut t = PickupTransport::new(
            "Pickup folder",
            &["SMTP".to_owned()],
            PickupSettings {
                dir: dir.display().to_string(),
            },
        );
        let mut m = Message::draft(EntryId(7), EntryId(1), "with a blind copy");
        m.body = body.into();
        m.recipients.push(Recipient::new(
            0,
            "Ann",
            "ann@example.org",
            "SMTP",
            RecipientKind::To,
        ));
        m.recipients.push(Recipient::new(
            1,
            "Bob",
            "bob@example.org",
            "SMTP",
            RecipientKind::Bcc,
        ));
        let view = SubmitView {
            msg: &m,
            rows: vec![0, 1],
            begin_deferred: false,
            sender: ("Me".into(), "me@example.org".into()),
            deliver_for_real: false,
            store_root: store.clone(),
            gate: None,
        };
        let h = t.submit_message(&view);
        assert_eq!(h.outcomes.len(), 2, "{h:?}");
        let name = file_name(&store_tag(&store), EntryId(7), &[0, 1]);
        let bytes = fs::read(dir.join(&name)).unwrap_or_else(|e| {
            let there: Vec<_> = fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            panic!("{name}: {e}; the folder holds {there:?}; {h:?}")
        });
        (bytes, name)
    }
}
