//! The pickup-folder transport: each hand-off becomes one RFC 5322 `.eml` file in a directory,
//! as IIS and Exchange pickup directories take them. Exactly once: the file name is
//! deterministic (message id and offered rows), the file is written under a temp name, fsynced,
//! and linked into place without ever overwriting; a replay after a crash finds the file there
//! and reports the rows delivered without writing a second one.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use super::{Handoff, RowOutcome, SubmitResult, SubmitView, Transport, eml};
use crate::store::fs::fail_point;
use crate::store::profile::PickupSettings;

/// Writes `.eml` files into a directory.
#[derive(Debug)]
pub struct PickupTransport {
    name: String,
    types: Vec<String>,
    settings: PickupSettings,
}

impl PickupTransport {
    /// A pickup transport.
    pub fn new(name: &str, types: &[String], settings: PickupSettings) -> Self {
        Self {
            name: name.to_owned(),
            types: types.to_vec(),
            settings,
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

/// The deterministic file name for one hand-off.
pub fn file_name(eid: crate::mapi::EntryId, rows: &[u32]) -> String {
    let mut rows = rows.to_vec();
    rows.sort_unstable();
    let rows: Vec<String> = rows.iter().map(u32::to_string).collect();
    format!("spoolbox-{}-r{}.eml", eid.file_stem(), rows.join("_"))
}

fn write_once(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<bool> {
    // A new pickup directory's own name must be durable, or its fsynced files go with it.
    crate::store::fs::create_dir_durable(&crate::store::fs::RealFs, dir)?;
    let dest = dir.join(name);
    // One process owns the store, so the temp name needs no pid: a leftover of a crash
    // before the link is overwritten below, one after it is removed here on the replay.
    let tmp = dir.join(format!(".{name}.tmp"));
    if dest.exists() {
        let _ = fs::remove_file(&tmp);
        return Ok(false);
    }
    fail_point("pickup.before_write");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    f.write_all(bytes)?;
    crate::store::fs::sync_file(&f)?;
    drop(f);
    fail_point("pickup.before_link");
    // link(2) fails if the name exists: the commit point never overwrites.
    let linked = match fs::hard_link(&tmp, &dest) {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => false,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    fail_point("pickup.after_link");
    fs::remove_file(&tmp)?;
    crate::store::fs::sync_dir(dir)?;
    fail_point("pickup.after_sync");
    Ok(linked)
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
                bad.extend(good.iter().map(|r| (*r, RowOutcome::Failed(e.clone()))));
                return Handoff::sent(bad);
            }
        };
        let dir = self.dir(&view.store_root);
        let name = file_name(view.msg.entry_id, &good);
        match write_once(&dir, &name, &bytes) {
            Ok(fresh) => {
                let text = if fresh {
                    format!("written to {}", dir.join(&name).display())
                } else {
                    format!("already in the pickup folder as {name}")
                };
                bad.extend(
                    good.iter()
                        .map(|r| (*r, RowOutcome::Delivered(text.clone()))),
                );
                Handoff::sent(bad)
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
    use crate::mapi::{EntryId, Message, Recipient, RecipientKind};

    #[test]
    fn a_bcc_row_is_kept_in_the_file_so_the_pickup_service_delivers_it() {
        let dir = std::env::temp_dir().join(format!("spoolbox-pickup-bcc-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut t = PickupTransport::new(
            "Pickup folder",
            &["SMTP".to_owned()],
            PickupSettings {
                dir: dir.display().to_string(),
            },
        );
        let mut m = Message::draft(EntryId(7), EntryId(1), "with a blind copy");
        m.body = "body".into();
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
            store_root: dir.clone(),
            gate: None,
        };
        let h = t.submit_message(&view);
        assert_eq!(h.outcomes.len(), 2, "{h:?}");
        let bytes = fs::read(dir.join(file_name(EntryId(7), &[0, 1]))).unwrap_or_default();
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
}
