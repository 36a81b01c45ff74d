//! The durability layer, below the store: it knows files and syncs, never messages.
//!
//! [`gate`] is the sync board and the write-ahead gate an SMTP hand-off's final dot waits at.

pub mod gate;

/// A handle that makes a file's contents durable from another thread (the journal's syncer):
/// each call covers every byte written before it began (see the store's `AppendFile`).
pub type BackgroundSync = Box<dyn FnMut() -> std::io::Result<()> + Send>;
