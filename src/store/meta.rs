//! `store.json`: store properties, folders, profile, schema version, reserved entry ids.

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::durable::fs;
use crate::mapi::tags::{
    PR_DISPLAY_NAME, PR_IPM_OUTBOX_ENTRYID, PR_IPM_SENTMAIL_ENTRYID, PR_IPM_WASTEBASKET_ENTRYID,
};
use crate::mapi::{EntryId, PropBag, PropValue, SCHEMA_VERSION};

use super::error::{Result, StoreError, io_err};
use super::parse::{ParseError, check_schema, describe_json_error};
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

    /// Replaces the profile (durably).
    ///
    /// # Errors
    /// I/O errors.
    pub fn set_profile(&mut self, profile: Profile) -> Result<()> {
        self.meta.profile = profile;
        self.write_meta()
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
        let bytes = serde_json::to_vec_pretty(&self.meta)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let dest = self.root.join("store.json");
        fs::write_atomic_in(&*self.fs, &self.root.join("tmp"), &dest, &bytes).map_err(io_err(&dest))
    }
}
