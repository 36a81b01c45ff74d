//! What the window remembers across restarts (eframe persistence): theme, folder, sort,
//! detail pane height, breakpoints, the last store opened with Open store… and the column
//! widths of each folder's table. eframe itself remembers the window's size and position.
//! `--reset-ui` starts from [`UiState::default`].
//!
//! Faults are not here: the spooler's worker clears them when it opens a store (see
//! `spooler::worker::clear_faults`), so a fault never comes back re-armed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::model::SortKey;
use crate::mapi::Step;
use crate::store::FolderKind;

/// The key under which the state is kept in eframe's storage.
pub const KEY: &str = "spoolbox-ui";

/// The detail pane's height when nothing is remembered (its minimum: what it has always
/// shown at first).
pub const DETAIL_HEIGHT: f32 = 320.0;

/// The narrowest and widest a remembered column is taken as (a hand-edited file).
const COLUMN_MIN: f32 = 20.0;
const COLUMN_MAX: f32 = 4000.0;

/// A folder by what it is, not by its entry id (which another store does not share).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderPref {
    /// Its kind.
    pub kind: FolderKind,
    /// Its name (what tells user folders apart).
    pub name: String,
}

/// The remembered state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiState {
    /// Dark mode.
    pub dark: bool,
    /// The folder shown.
    pub folder: Option<FolderPref>,
    /// Sort column and direction (true: ascending).
    pub sort: (SortKey, bool),
    /// The detail pane's height, in points.
    pub detail_height: f32,
    /// Breakpoints, set again in the spooler at start.
    pub breakpoints: Vec<Step>,
    /// The last store opened with Open store… (used when no `--store` is given).
    pub last_store: Option<PathBuf>,
    /// Column widths the user set, per folder (see `columns::folder_key`), left to right
    /// without the last column (which takes what is left).
    pub columns: BTreeMap<String, Vec<f32>>,
    /// The timeline was shown in place of the message table.
    pub timeline: bool,
}

impl Default for UiState {
    fn default() -> Self {
        Self {
            dark: false,
            folder: None,
            sort: (SortKey::Submitted, true),
            detail_height: DETAIL_HEIGHT,
            breakpoints: Vec::new(),
            last_store: None,
            columns: BTreeMap::new(),
            timeline: false,
        }
    }
}

impl UiState {
    /// What was saved in `storage`; defaults when `reset` (`--reset-ui`), when there is no
    /// storage (tests) or when nothing readable was saved.
    pub fn restored(storage: Option<&dyn eframe::Storage>, reset: bool) -> Self {
        if reset {
            return Self::default();
        }
        storage
            .and_then(|s| eframe::get_value::<Self>(s, KEY))
            .map(Self::sane)
            .unwrap_or_default()
    }

    /// Writes the state into `storage`.
    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, KEY, self);
    }

    /// A hand-edited or damaged file never makes an unusable window.
    fn sane(mut self) -> Self {
        if !self.detail_height.is_finite() || self.detail_height < 100.0 {
            self.detail_height = DETAIL_HEIGHT;
        }
        self.detail_height = self.detail_height.min(4000.0);
        self.breakpoints.sort();
        self.breakpoints.dedup();
        self.columns
            .retain(|_, w| w.len() <= 16 && w.iter().all(|x| x.is_finite() && *x >= 0.0));
        for w in self.columns.values_mut() {
            for x in w.iter_mut() {
                *x = x.clamp(COLUMN_MIN, COLUMN_MAX);
            }
        }
        self
    }

    /// The store the window opens: `--store` wins, then the last store opened with Open
    /// store… (if it is still there), then the default.
    pub fn store_to_open(
        &self,
        given: Option<PathBuf>,
        default: Option<PathBuf>,
    ) -> Option<PathBuf> {
        given
            .or_else(|| self.last_store.clone().filter(|p| p.is_dir()))
            .or(default)
    }
}

/// Where eframe keeps the state: `spoolbox/window.ron` in the platform config directory,
/// apart from the store (`--store` may point anywhere; the default store is in the data
/// directory).
pub fn storage_file() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "Spoolbox", "spoolbox")
        .map(|d| d.config_dir().join("window.ron"))
}
