//! `import`: a message from an `.eml` file into the outbox (or drafts).

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use crate::spooler::{Clock, Command, Event, Spooler};
use crate::store::Store;

use super::Cli;

pub(super) fn import(
    cli: &Cli,
    store: Store,
    file: &std::path::Path,
    submit: bool,
) -> Result<ExitCode> {
    let mut sp = Spooler::new(store, Clock::system());
    sp.drain_events();
    // The same command the window sends: the CLI has no second code path.
    sp.handle(Command::ImportEml(file.to_path_buf()));
    let mut eid = None;
    for e in sp.drain_events() {
        match e {
            Event::Error(text) => bail!("{text}"),
            Event::DraftCreated(id) => eid = Some(id),
            Event::Notice(text) if !cli.json => outln!("note: {text}"),
            _ => {}
        }
    }
    let eid = eid.context("the import created no draft")?;
    // Imported before (the same content) and submitted already: nothing to do twice.
    let submitted = sp
        .store()
        .summary(eid)
        .is_some_and(crate::store::Summary::is_submitted);
    if submit && submitted {
        if !cli.json {
            outln!("message {eid} submitted already");
        }
    } else if submit {
        sp.handle(Command::Submit(eid));
        let mut failed = None;
        for e in sp.drain_events() {
            match e {
                Event::Error(t) => {
                    failed.get_or_insert(t);
                }
                Event::Notice(t) if !cli.json => outln!("note: {t}"),
                _ => {}
            }
        }
        if let Some(t) = failed {
            // A failed import leaves nothing behind: the draft it created is removed.
            match sp.store_mut().delete(eid) {
                Ok(()) => bail!("{t}; nothing was imported (draft {eid} removed)"),
                Err(e) => bail!(
                    "{t}; and draft {eid}, which the import created, could not be removed: {e}"
                ),
            }
        }
        if !cli.json {
            outln!("message {eid} submitted");
        }
    }
    if cli.json {
        let m = sp.store_mut().load(eid)?;
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "id": eid.0,
                "subject": m.subject(),
                "submitted": m.is_submitted(),
                "recipients": m.recipients.iter().map(|r| serde_json::json!({
                    "name": r.display_name(), "address": r.email(), "addrtype": r.addrtype(), "kind": r.kind().label()
                })).collect::<Vec<_>>(),
                "attachments": m.attachments.iter().map(|a| serde_json::json!({
                    "name": a.file_name, "mime": a.mime_type, "bytes": a.data.len()
                })).collect::<Vec<_>>(),
                "body": m.body,
            }))?
        );
    }
    Ok(ExitCode::SUCCESS)
}
