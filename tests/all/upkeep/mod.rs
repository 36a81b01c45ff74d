//! What the store leaves behind and what it costs to keep (issue 27): the bytes kept under
//! `sent/` go with their message and are capped (`sent.rs`); junk names in the folders cost
//! little and are reported (`junk.rs`); an import killed and run again makes each message once
//! (`import.rs`); running out of file descriptors pauses the send (`emfile.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

// `ulimit -n` through `sh`, and SIGKILL: Unix only.
#[cfg(unix)]
mod emfile;
#[cfg(unix)]
mod import;
mod junk;
mod sent;

use std::path::{Path, PathBuf};

/// Every regular file under `dir`, recursively (symbolic links not followed).
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                todo.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// An `.eml` file's text: one message to `to` with `subject` and `body`.
pub(crate) fn eml(subject: &str, to: &str, body: &str) -> String {
    format!(
        "From: Ada <ada@spoolbox.test>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@spoolbox.test>\r\n\r\n{body}\r\n"
    )
}
