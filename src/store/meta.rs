//! `store.json`: store properties, folders, profile, schema version, reserved entry ids.
//!
//! `store.json` holds the user's profile. One that does not parse, or holds a value out of
//! range ([`check`]), is never replaced (by the demo or anything else) and never quarantined:
//! the store opens with sending held ([`ProfileHold`]), saying which field holds which value,
//! and stays so until the profile is fixed by hand, in Settings, or by `doctor --fix`. While
//! sending is held `store.json` is not written either (what the store would write there,
//! reserved ids and folders found again, stays in memory); a good profile replacing it keeps
//! the old file in `quarantine/`.

use std::path::Path;

use jiff::Timestamp;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::durable::fs;
use crate::mapi::tags::{
    PR_DISPLAY_NAME, PR_IPM_OUTBOX_ENTRYID, PR_IPM_SENTMAIL_ENTRYID, PR_IPM_WASTEBASKET_ENTRYID,
};
use crate::mapi::{EntryId, PropBag, PropValue, SCHEMA_VERSION};
use crate::profile::check;

use super::error::{Result, StoreError, io_err};
use super::json_path::{offset_of, refine, remove_member, spot};
use super::parse::{ParseError, check_schema, describe_json_error};
use super::quarantine::keep_copy;
use super::{Folder, FolderKind, ID_BLOCK, Profile, Store};

/// `store.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct StoreMeta {
    schema: u32,
    created: Timestamp,
    /// Store properties (`PR_DISPLAY_NAME`, `PR_IPM_*_ENTRYID`).
    props: PropBag,
    pub(super) folders: Vec<Folder>,
    /// Entry ids below this may have been handed out.
    pub(super) id_reserved_until: u64,
    profile: Profile,
}

pub(super) fn parse_meta(bytes: &[u8]) -> Result<StoreMeta, ParseError> {
    check_schema(bytes, "store.json")?;
    serde_json::from_slice(bytes).map_err(|e| describe_json_error(bytes, e))
}

/// `store.json` without its profile: what a store whose profile cannot be read keeps.
#[derive(Deserialize)]
struct MetaShell {
    schema: u32,
    created: Timestamp,
    props: PropBag,
    folders: Vec<Folder>,
    id_reserved_until: u64,
    #[serde(rename = "profile")]
    _profile: IgnoredAny,
}

/// Only the profile of `store.json`.
#[derive(Deserialize)]
struct ProfileOnly {
    profile: Profile,
}

/// Why sending is held: `store.json`'s profile cannot be used as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ProfileHold {
    /// `store.json`, the field, the value and why, in one line.
    pub(super) reason: String,
    /// `store.json` as found: it is not written over while sending is held, and is kept in
    /// `quarantine/` when a good profile replaces it.
    pub(super) original: Vec<u8>,
    /// It did not read as a whole (the profile in memory is what of it reads).
    pub(super) unreadable: bool,
}

/// What the store makes of the bytes of `store.json`.
pub(super) struct Loaded {
    pub(super) meta: StoreMeta,
    pub(super) hold: Option<ProfileHold>,
}

/// How the held reason ends: what lifts it.
const UNTIL_FIXED: &str = "nothing is sent until it is fixed (in store.json by hand, in Settings, or with `spoolbox doctor --fix`)";

/// Reads `store.json`. Never fails: what cannot be read holds sending, with the reason.
pub(super) fn load_meta(bytes: &[u8], root: &Path) -> Loaded {
    match parse_meta(bytes) {
        Ok(meta) => {
            let problems = check::problems(&meta.profile);
            let hold = problems.first().map(|p| ProfileHold {
                reason: match problems.len() {
                    1 => format!("store.json: {p}; {UNTIL_FIXED}"),
                    n => format!(
                        "store.json: {p} (and {} more value(s) out of range); {UNTIL_FIXED}",
                        n - 1
                    ),
                },
                original: bytes.to_vec(),
                unreadable: false,
            });
            Loaded { meta, hold }
        }
        Err(why) => {
            let reason = format!(
                "store.json: {}; {UNTIL_FIXED}",
                unreadable_reason(bytes, &why)
            );
            let profile = readable_profile(bytes);
            let meta = match serde_json::from_slice::<MetaShell>(bytes) {
                Ok(m) if m.schema <= SCHEMA_VERSION => StoreMeta {
                    schema: m.schema,
                    created: m.created,
                    props: m.props,
                    folders: m.folders,
                    id_reserved_until: m.id_reserved_until,
                    profile,
                },
                _ => recover_meta(root, Some(profile)),
            };
            Loaded {
                meta,
                hold: Some(ProfileHold {
                    reason,
                    original: bytes.to_vec(),
                    unreadable: true,
                }),
            }
        }
    }
}

/// `serde_json`'s message without its " at line L column C".
fn bare_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((m, _)) => m.to_owned(),
        None => text,
    }
}

/// Why `store.json` does not read: for JSON of the wrong shape, the field's path and value.
fn unreadable_reason(bytes: &[u8], why: &ParseError) -> String {
    let ParseError::Invalid(e) = why else {
        return why.to_string();
    };
    let missing = e.to_string().starts_with("missing field");
    let end = offset_of(bytes, e.line(), e.column());
    let at = refine(bytes, spot(bytes, end, missing), end, &e.to_string());
    let value = if at.value.is_empty() || missing {
        String::new()
    } else {
        format!(" = {}", at.value)
    };
    format!(
        "{}{value}: {} (line {}, column {})",
        at.path,
        bare_message(e),
        e.line(),
        e.column()
    )
}

/// As much of the user's profile as reads: each member that does not is left out (it takes
/// its default); values out of range are kept, for Settings to show and `doctor --fix` to
/// offer to reset. The default profile (never the demo's) when nothing of it reads. Only ever
/// held in memory until the user confirms it (`doctor --fix`) or saves it (Settings).
fn readable_profile(bytes: &[u8]) -> Profile {
    let mut b = bytes.to_vec();
    // Each round takes one member out, so this ends; a bound all the same.
    for _ in 0..256 {
        match serde_json::from_slice::<ProfileOnly>(&b) {
            Ok(p) => return p.profile,
            Err(e) => {
                let missing = e.to_string().starts_with("missing field");
                let end = offset_of(&b, e.line(), e.column());
                let at = refine(&b, spot(&b, end, missing), end, &e.to_string());
                if !at.path.starts_with("profile.") {
                    break;
                }
                match remove_member(&b, &at, missing) {
                    Some(shorter) if shorter.len() < b.len() => b = shorter,
                    _ => break,
                }
            }
        }
    }
    Profile::default()
}

const OUTBOX: EntryId = EntryId(1);
const SENT: EntryId = EntryId(2);
const DELETED: EntryId = EntryId(3);
const INBOX: EntryId = EntryId(4);

pub(super) fn new_meta(profile: Option<Profile>) -> StoreMeta {
    let folders = vec![
        Folder {
            entry_id: INBOX,
            name: "Inbox".into(),
            kind: FolderKind::Inbox,
        },
        Folder {
            entry_id: OUTBOX,
            name: "Outbox".into(),
            kind: FolderKind::Outbox,
        },
        Folder {
            entry_id: SENT,
            name: "Sent Items".into(),
            kind: FolderKind::SentItems,
        },
        Folder {
            entry_id: DELETED,
            name: "Deleted Items".into(),
            kind: FolderKind::DeletedItems,
        },
    ];
    let mut props = PropBag::new();
    props.set_text(PR_DISPLAY_NAME, "Spoolbox store");
    props.set(PR_IPM_OUTBOX_ENTRYID, PropValue::Binary(OUTBOX.to_bytes()));
    props.set(PR_IPM_SENTMAIL_ENTRYID, PropValue::Binary(SENT.to_bytes()));
    props.set(
        PR_IPM_WASTEBASKET_ENTRYID,
        PropValue::Binary(DELETED.to_bytes()),
    );
    StoreMeta {
        schema: SCHEMA_VERSION,
        created: Timestamp::now(),
        props,
        folders,
        id_reserved_until: 16,
        profile: profile.unwrap_or_default(),
    }
}

/// `store.json` could not be read: rebuild it with the well-known folders; folder directories
/// it listed are found again by the scan. Entry ids restart above anything on disk.
pub(super) fn recover_meta(root: &Path, profile: Option<Profile>) -> StoreMeta {
    let mut m = new_meta(profile);
    m.props.set_text(
        PR_DISPLAY_NAME,
        format!("Spoolbox store (recovered {})", root.display()),
    );
    m.id_reserved_until = 1 << 20;
    m
}

impl Store {
    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.meta.profile
    }

    /// Replaces the profile (durably), after [`check`]: a value out of range is refused,
    /// with its field and why. A good profile lifts the hold on sending; the `store.json`
    /// that held it is kept in `quarantine/` before it is written over.
    ///
    /// # Errors
    /// A value out of range; I/O errors.
    pub fn set_profile(&mut self, profile: Profile) -> Result<()> {
        if let Err(p) = check::check(&profile) {
            return Err(StoreError::Invalid(format!(
                "the profile is not saved: {p}"
            )));
        }
        if let Some(h) = &self.profile_hold {
            let why = format!(
                "store.json as it was before its profile was replaced; it held sending: {}",
                h.reason
            );
            keep_copy(&*self.fs, &self.root, "store", "json", &h.original, &why)?;
        }
        let held = self.profile_hold.take();
        self.meta.profile = profile;
        if let Err(e) = self.write_meta() {
            self.profile_hold = held;
            return Err(e);
        }
        Ok(())
    }

    /// Why sending is held, when `store.json`'s profile cannot be used as it stands: the
    /// file, the field, the value and why. `None` for a good profile.
    pub fn profile_hold(&self) -> Option<&str> {
        self.profile_hold.as_ref().map(|h| h.reason.as_str())
    }

    /// While sending is held: the profile `doctor --fix` would save (each value that does
    /// not read or is out of range at its default, the rest the user's), with what it
    /// changes. `None` when nothing is held.
    pub fn repaired_profile(&self) -> Option<(Profile, Vec<String>)> {
        let hold = self.profile_hold.as_ref()?;
        let mut p = self.meta.profile.clone();
        let mut changes: Vec<String> = check::repair(&mut p)
            .into_iter()
            .map(|pr| {
                format!(
                    "set {} = {} to its default ({})",
                    pr.field, pr.value, pr.why
                )
            })
            .collect();
        if hold.unreadable {
            changes.insert(
                0,
                format!(
                    "leave out what of store.json does not read ({})",
                    hold.reason
                ),
            );
        }
        changes.push("keep store.json as it is now in quarantine/".into());
        Some((p, changes))
    }

    /// Store properties (`PR_IPM_OUTBOX_ENTRYID`, ...).
    pub fn props(&self) -> &PropBag {
        &self.meta.props
    }

    /// All folders.
    pub fn folders(&self) -> &[Folder] {
        &self.meta.folders
    }

    /// The folder with this id.
    pub fn folder(&self, id: EntryId) -> Option<&Folder> {
        self.meta.folders.iter().find(|f| f.entry_id == id)
    }

    /// The well-known folder of this kind.
    pub fn folder_of(&self, kind: FolderKind) -> EntryId {
        self.meta
            .folders
            .iter()
            .find(|f| f.kind == kind)
            .map_or(EntryId(0), |f| f.entry_id)
    }

    /// The folder with this name (case-insensitive).
    pub fn folder_named(&self, name: &str) -> Option<&Folder> {
        self.meta
            .folders
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Creates a user folder (or returns the existing one of that name).
    ///
    /// # Errors
    /// A name that is empty or path-like; I/O errors.
    pub fn create_folder(&mut self, name: &str) -> Result<EntryId> {
        let name = name.trim();
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(StoreError::Invalid(format!(
                "{name:?} is not a valid folder name"
            )));
        }
        if let Some(f) = self.folder_named(name) {
            return Ok(f.entry_id);
        }
        if let Some(why) = self.profile_hold() {
            // store.json is not written while sending is held: the folder's name would be lost.
            return Err(StoreError::Invalid(format!(
                "no folder is created while sending is held: {why}"
            )));
        }
        let id = self.new_entry_id()?;
        let dir = self.folder_dir(id);
        // Durable before store.json names it: messages fsynced into a folder whose own name
        // could vanish in a power cut would vanish with it.
        fs::create_dir_durable(&*self.fs, &dir).map_err(io_err(&dir))?;
        self.meta.folders.push(Folder {
            entry_id: id,
            name: name.to_owned(),
            kind: FolderKind::User,
        });
        self.write_meta()?;
        Ok(id)
    }

    /// A fresh entry id, never handed out before in this store.
    ///
    /// # Errors
    /// I/O errors writing `store.json` when a new block is reserved.
    pub fn new_entry_id(&mut self) -> Result<EntryId> {
        if self.next_id >= self.meta.id_reserved_until {
            self.meta.id_reserved_until = self.next_id + ID_BLOCK;
            self.write_meta()?;
        }
        let id = self.next_id;
        self.next_id += 1;
        Ok(EntryId(id))
    }

    pub(super) fn write_meta(&mut self) -> Result<()> {
        if self.profile_hold.is_some() {
            // The user's store.json holds sending: never written over until a good profile
            // replaces it (see `set_profile`).
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&self.meta)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let dest = self.root.join("store.json");
        fs::write_atomic_in(&*self.fs, &self.root.join("tmp"), &dest, &bytes).map_err(io_err(&dest))
    }
}
