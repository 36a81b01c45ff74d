//! The durability layer, below the store: it knows files and syncs, never messages.
//!
//! [`fs`] is the only code that writes to disk (atomic writes, durable unlinks, fail points,
//! no symbolic link ever followed), [`lock`] the store's single-owner lock, and [`gate`] the
//! sync board and the write-ahead gate an SMTP hand-off's final dot waits at.

#[cfg(windows)]
pub mod acl;
pub mod fs;
pub mod gate;
pub mod lock;
#[cfg(windows)]
pub mod windows;

/// A handle that makes a file's contents durable from another thread (the journal's syncer):
/// each call covers every byte written before it began (see [`fs::AppendFile`]).
pub type BackgroundSync = Box<dyn FnMut() -> std::io::Result<()> + Send>;
