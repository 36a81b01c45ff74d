//! Flag words and enumerated constants of the MAPI outbound pipeline, and their decoding into
//! names for display.
//!
//! Values are copied from `shared/reference/mapi-pipeline.md` §b.2–b.3 (cross-checked there
//! against `mapidefs.h`, `mapispi.h`, `mapihook.h` and `OpenChange`). The few values that section
//! does not list (`MSGFLAG_ORIGIN_*`, the object types behind `PR_OBJECT_TYPE`, the resource
//! types it gives only as numbers) come from `mapidefs.h` and are marked where they are defined.

mod constants;
mod decode;
mod diag;
#[cfg(test)]
mod tests;

pub use constants::*;
pub use decode::{FlagKind, decode, flag_doc, names};
pub use diag::*;
