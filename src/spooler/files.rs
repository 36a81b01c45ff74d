//! The spooler's file work for commands: `.eml` import and export, the Source tab's text (the
//! exact bytes of the last hand-off, or a preview), and traces as text.

use std::fmt::Write as _;

use crate::eml;
use crate::mapi::tags::PR_SEARCH_KEY;
use crate::mapi::{EntryId, PropValue, TraceCall};
use crate::spooler::error::SpoolerError;
use crate::store::StoreError;

use super::{Event, Spooler};

impl Spooler {
    /// Imports an `.eml` file as a draft in the Outbox (sent copy to Sent Items, as a new
    /// draft gets); answered with [`Event::DraftCreated`] and the draft's summary.
    ///
    /// Idempotent per file content: the draft remembers a digest of the file
    /// (`PR_SEARCH_KEY`), and a file whose content was imported already (and not deleted
    /// since) is answered with that message, made once. An import killed before its submit
    /// is so finished by importing again, never doubled.
    ///
    /// # Errors
    /// An unreadable file, or one that is not a message ([`eml::ImportError`]).
    pub fn import_eml(&mut self, path: &std::path::Path) -> Result<EntryId, SpoolerError> {
        // At most one byte past the cap: enough to know the file is too large, never the
        // whole of `/dev/zero` or a disk image.
        // A FIFO or a device is refused at once, never waited on with the store locked.
        let bytes = crate::durable::fs::read_user_file(path, eml::MAX_IMPORT_BYTES as u64 + 1)
            .map_err(|e| StoreError::io(path, e))?;
        let parsed = eml::import(&bytes).map_err(|source| SpoolerError::Import {
            path: path.to_path_buf(),
            source,
        })?;
        let subject = parsed.subject.clone();
        let key = import_key(&bytes);
        if let Some(eid) = self.imported_before(&subject, &key) {
            self.emit(Event::Notice(format!(
                "{} was imported before, as message {eid}: not imported again",
                path.display()
            )));
            self.emit(Event::DraftCreated(eid));
            return Ok(eid);
        }
        let unusable = parsed.unusable.clone();
        let m = self.create_draft(&subject, |m| {
            m.body = parsed.body;
            m.recipients = parsed.recipients;
            m.attachments = parsed.attachments;
            m.props.set(PR_SEARCH_KEY, PropValue::Binary(key));
        })?;
        let eid = m.entry_id;
        let mut text = format!(
            "imported {} as draft {eid}: {} recipient(s), {} attachment(s)",
            path.display(),
            m.recipients.len(),
            m.attachments.len()
        );
        if !unusable.is_empty() {
            // Never dropped without a word: what an address header held that is no address.
            let _ = write!(
                text,
                "; not imported as recipients (no usable address): {}",
                unusable.join("; ")
            );
        }
        self.emit(Event::Notice(text));
        Ok(eid)
    }

    /// The message, outside Deleted Items, that an import of a file with digest `key` made
    /// (only messages with the subject it would have are read).
    fn imported_before(&self, subject: &str, key: &[u8]) -> Option<EntryId> {
        let subject = eml::clean_header_text(subject);
        let deleted = self.store.folder_of(crate::store::FolderKind::DeletedItems);
        let candidates: Vec<EntryId> = self
            .store
            .summaries()
            .filter(|s| s.subject == subject && s.folder != deleted)
            .map(|s| s.eid)
            .collect();
        candidates.into_iter().find(|eid| {
            self.store
                .peek(*eid)
                .is_ok_and(|m| m.props.binary(PR_SEARCH_KEY) == Some(key))
        })
    }

    /// The message as RFC 5322 text, as `export` writes it (Bcc kept, non-Internet rows left
    /// out, `Date:` the submit time, so the same message always reads the same).
    fn render_export(&self, eid: EntryId) -> Result<eml::Rendered, SpoolerError> {
        let msg = self.store.peek(eid)?;
        let p = self.store.profile();
        let sender = (p.sender_name.clone(), p.sender_address.clone());
        let rows: Vec<u32> = msg
            .recipients
            .iter()
            .filter(|r| !r.is_p1())
            .map(|r| r.row_id)
            .collect();
        let opts = eml::RenderOptions {
            keep_bcc: true,
            skip_invalid: true,
            date: msg.client_submit_time().map(std::time::SystemTime::from),
        };
        eml::render_with(&msg, &rows, &sender, opts)
            .map_err(|source| SpoolerError::Export { eid, source })
    }

    /// The Source tab's text: the exact bytes of the last hand-off, or for a message not
    /// handed over yet, rendered as `export` writes it.
    pub(super) fn source(&mut self, eid: EntryId) {
        let revision = self.store.summary(eid).map_or(0, |s| s.revision);
        if let Some((path, bytes)) = self.kept_bytes(eid) {
            tracing::debug!("source of {eid}: the bytes kept as {path}");
            self.emit(Event::Source {
                eid,
                revision,
                text: Ok(String::from_utf8_lossy(&bytes).into_owned()),
                preview: false,
            });
            return;
        }
        let text = self.render_export(eid).map(|out| {
            let mut t = String::from_utf8_lossy(&out.bytes).into_owned();
            if !out.left_out.is_empty() {
                t = format!(
                    "(left out, not Internet addresses: {})\n\n{t}",
                    out.left_out.join(", ")
                );
            }
            t
        });
        self.emit(Event::Source {
            eid,
            revision,
            text: text.map_err(|e| e.to_string()),
            preview: true,
        });
    }

    /// The exact bytes of the last hand-off that carried the message out (kept under `sent/`
    /// by the transport), with their path relative to the store.
    fn kept_bytes(&self, eid: EntryId) -> Option<(String, Vec<u8>)> {
        let msg = self.store.peek(eid).ok()?;
        let rel = msg.trace.iter().rev().find_map(|c| c.bytes.clone())?;
        // Only a name under `sent/` that the transport wrote: never a path out of the store.
        let name = crate::store::sent_name(&rel)?;
        let bytes = self
            .store
            .fs()
            .read(&self.store.root().join("sent").join(name))
            .ok()?;
        Some((rel, bytes))
    }

    pub(super) fn export_eml(
        &mut self,
        eid: EntryId,
        path: &std::path::Path,
    ) -> Result<(), SpoolerError> {
        if let Some((kept, bytes)) = self.kept_bytes(eid) {
            write_export(path, &bytes)?;
            self.emit(Event::Notice(format!(
                "message {eid} exported to {}: the exact bytes of its last hand-off ({kept})",
                path.display()
            )));
            return Ok(());
        }
        let out = self.render_export(eid)?;
        write_export(path, &out.bytes)?;
        let mut text = format!("message {eid} exported to {}", path.display());
        if !out.left_out.is_empty() {
            text = format!(
                "{text}; left out (not Internet addresses): {}",
                out.left_out.join(", ")
            );
        }
        self.emit(Event::Notice(text));
        Ok(())
    }

    pub(super) fn export_trace(
        &mut self,
        eid: EntryId,
        path: &std::path::Path,
    ) -> Result<(), SpoolerError> {
        let text = self.trace_text(eid)?;
        write_export(path, text.as_bytes())?;
        self.emit(Event::Notice(format!(
            "trace of message {eid} saved to {}",
            path.display()
        )));
        Ok(())
    }

    /// The trace of a message as text, one call per line (also for deleted messages).
    ///
    /// # Errors
    /// When neither the message nor a saved trace exists.
    pub fn trace_text(&mut self, eid: EntryId) -> Result<String, SpoolerError> {
        let calls = self.trace_of(eid)?;
        Ok(trace_text(&calls))
    }

    /// The recorded MAPI calls of a message; for a message deleted by `DoSentMail`, the trace
    /// saved beside the store when it was deleted.
    ///
    /// # Errors
    /// When neither exists.
    pub fn trace_of(&mut self, eid: EntryId) -> Result<Vec<TraceCall>, SpoolerError> {
        if self.store.summary(eid).is_some() {
            return Ok(self.store.load(eid)?.trace);
        }
        Ok(self.store.kept_trace(eid)?)
    }
}

/// Writes an export atomically: a fresh file beside `path`, fsynced, renamed over it. A kill
/// at any instant leaves the previous export or the new one, never a cut one (`std::fs::write`
/// truncated the previous export first: killed then, 0 bytes were left).
fn write_export(path: &std::path::Path, bytes: &[u8]) -> Result<(), SpoolerError> {
    let fs = &crate::durable::fs::RealFs;
    crate::durable::fs::write_atomic_in(fs, crate::durable::fs::parent(path), path, bytes)
        .map_err(|e| StoreError::io(path, e).into())
}

/// One recorded call as a line of text: its time, its step and the call.
pub fn trace_line(c: &TraceCall) -> String {
    format!(
        "{}  {:<20} {c}",
        c.at.strftime("%H:%M:%S%.3f"),
        c.step.name()
    )
}

/// Recorded calls as text, one call per line, with the bytes handed over and the wire
/// transcript under each hand-off (what Export trace… writes and Copy all copies).
pub fn trace_text(calls: &[TraceCall]) -> String {
    let mut out = String::new();
    for c in calls {
        let _ = writeln!(out, "{}", trace_line(c));
        if let Some(b) = &c.bytes {
            let _ = writeln!(out, "{:14}{:<20} the bytes handed over: {b}", "", "");
        }
        for line in &c.transcript {
            let _ = writeln!(out, "{:14}{:<20} | {line}", "", "");
        }
    }
    out
}

/// A digest of an imported file's bytes for [`PR_SEARCH_KEY`]: its length, CRC-32 and 64-bit
/// FNV-1a (not a defence against a crafted collision, which could only make the importer's own
/// second file be taken for the first).
fn import_key(bytes: &[u8]) -> Vec<u8> {
    let mut fnv: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        fnv = (fnv ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut key = b"eml1".to_vec();
    key.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    key.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
    key.extend_from_slice(&fnv.to_le_bytes());
    key
}
