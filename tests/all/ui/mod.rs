//! Whole-app UI tests through `egui_kittest`, by label, with the real spooler worker thread.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use spoolbox::mapi::{EntryId, MessageState, Step};
use spoolbox::store::FolderKind;
use spoolbox::ui::SpoolboxApp;

mod basics;
mod harness;
mod held;
mod remembers;
mod selection;
mod table_keys;
mod timeline;
mod trust;

pub(crate) use harness::*;
