//! `list` and `show`: the folders' messages and one message's properties.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use jiff::Timestamp;

use crate::mapi::flags::{self, FlagKind};
use crate::mapi::tags;
use crate::mapi::{EntryId, Message, PropValue};
use crate::store::Store;

use super::Cli;

pub(super) fn folder_name(store: &Store, id: EntryId) -> String {
    store
        .folder(id)
        .map_or_else(|| id.to_string(), |f| f.name.clone())
}

pub(super) fn list(cli: &Cli, store: &Store, folder: Option<&str>) -> Result<ExitCode> {
    let only = match folder {
        Some(name) => Some(
            store
                .folder_named(name)
                .with_context(|| format!("no folder named {name:?}"))?
                .entry_id,
        ),
        None => None,
    };
    let now = Timestamp::now();
    let mut rows: Vec<_> = store
        .summaries()
        .filter(|s| only.is_none_or(|f| s.folder == f))
        .collect();
    rows.sort_by_key(|s| (s.folder, s.eid));
    let unreadable: Vec<_> = store
        .unreadable()
        .filter(|u| only.is_none_or(|f| u.folder == f))
        .collect();
    let debug = crate::spooler::DebugState {
        held: store.profile_hold().map(str::to_owned),
        ..crate::spooler::DebugState::default()
    };
    let why = |s: &crate::store::Summary| {
        crate::spooler::reason::reason(
            s,
            &crate::spooler::reason::Context {
                profile: Some(store.profile()),
                debug: &debug,
                status: &[],
                running: false,
                now,
            },
        )
    };
    if cli.json {
        let bad = unreadable.iter().map(|u| {
            serde_json::json!({
                "id": u.eid.0,
                "folder": folder_name(store, u.folder),
                "subject": u.summary.as_ref().map(|s| s.subject.clone()),
                "state": "Unreadable",
                "last_error": u.reason,
            })
        });
        let out: Vec<_> = rows
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.eid.0,
                    "folder": folder_name(store, s.folder),
                    "subject": s.subject,
                    "to": s.to,
                    "class": s.class,
                    "state": s.state(now).label(),
                    "outcome": s.state_word(now),
                    "recipients_done": s.done,
                    "recipients_total": s.total,
                    "recipients_delivered": s.delivered(),
                    "recipients_failed": s.failed,
                    "recipients_unknown": s.unknown,
                    "reason": why(s),
                    "next_step": s.next_step.map(crate::mapi::Step::name),
                    "client_submit_time": s.client_submit_time.map(|t| t.to_string()),
                    "next_retry": s.next_retry.map(|t| t.to_string()),
                    "last_error": s.last_error,
                })
            })
            .chain(bad)
            .collect();
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(why) = store.profile_hold() {
        outln!("sending is held: {why}");
    }
    outln!(
        "{:>6}  {:<14} {:<22} {:>5}  SUBJECT",
        "ID",
        "FOLDER",
        "STATE",
        "DONE"
    );
    for s in rows {
        // Every queued message says why it waits (a 4xx, a server down, a deferred time).
        let why = why(s).map_or_else(String::new, |w| format!("  ({w})"));
        outln!(
            "{:>6}  {:<14} {:<22} {:>2}/{:<2}  {}{why}",
            s.eid.0,
            folder_name(store, s.folder),
            s.state_word(now),
            s.done,
            s.total,
            s.subject
        );
    }
    for u in unreadable {
        outln!(
            "{:>6}  {:<14} {:<22} {:>5}  {}  ({}: {})",
            u.eid.0,
            folder_name(store, u.folder),
            "Unreadable",
            "-",
            u.summary.as_ref().map_or("", |s| s.subject.as_str()),
            u.path.display(),
            u.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One property as `show` prints it.
fn prop_line(tag: tags::PropTag, v: &PropValue) -> (String, String, String, String, String) {
    let def = tags::lookup(tag);
    let decoded = match (def.map(|d| d.flags), v.as_u32()) {
        (Some(kind), Some(bits)) if kind != FlagKind::None => flags::decode(kind, bits),
        _ => String::new(),
    };
    (
        tag.hex(),
        tag.name(),
        tags::type_name(tag.prop_type()).to_owned(),
        v.to_string(),
        decoded,
    )
}

pub(super) fn show(cli: &Cli, mut store: Store, id: EntryId) -> Result<ExitCode> {
    let msg = store.load(id)?;
    if cli.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&show_json(&store, &msg))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let now = Timestamp::now();
    let summary = crate::store::Summary::of(&msg);
    outln!(
        "Message {id} in {} (state {}; {})",
        folder_name(&store, msg.folder),
        summary.state_word(now),
        crate::spooler::reason::counts(&summary)
    );
    if let Some(why) = crate::spooler::reason::reason(
        &summary,
        &crate::spooler::reason::Context {
            profile: Some(store.profile()),
            debug: &crate::spooler::DebugState::default(),
            status: &[],
            running: false,
            now,
        },
    ) {
        outln!("Why it waits: {why}");
    }
    outln!("{:<10}  {:<44} {:<11} VALUE", "TAG", "NAME", "TYPE");
    for (tag, v) in msg.props.iter() {
        let (hex, name, ty, value, decoded) = prop_line(tag, v);
        let value = if decoded.is_empty() {
            value
        } else {
            format!("{value} ({decoded})")
        };
        outln!("{hex:<10}  {name:<44} {ty:<11} {value}");
    }
    outln!("\nRecipients:");
    for r in &msg.recipients {
        outln!(
            "  row {}: {} [{}] {} by {}",
            r.row_id,
            r.label(),
            r.addrtype(),
            r.outcome.label(),
            r.transport.as_deref().unwrap_or("-")
        );
        for (tag, v) in r.props.iter() {
            let (hex, name, ty, value, decoded) = prop_line(tag, v);
            let value = if decoded.is_empty() {
                value
            } else {
                format!("{value} ({decoded})")
            };
            outln!("    {hex:<10}  {name:<40} {ty:<11} {value}");
        }
    }
    if !msg.attachments.is_empty() {
        outln!("\nAttachments:");
        for a in &msg.attachments {
            outln!(
                "  {} ({}, {} bytes)",
                a.file_name,
                a.mime_type,
                a.data.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_json(store: &Store, msg: &Message) -> serde_json::Value {
    let props = |bag: &crate::mapi::PropBag| -> Vec<serde_json::Value> {
        bag.iter()
            .map(|(tag, v)| {
                let (hex, name, ty, _, decoded) = prop_line(tag, v);
                serde_json::json!({"tag": hex, "name": name, "type": ty, "value": v.to_json(), "decoded": decoded})
            })
            .collect()
    };
    serde_json::json!({
        "id": msg.entry_id.0,
        "folder": folder_name(store, msg.folder),
        "state": msg.state(Timestamp::now()).label(),
        "properties": props(&msg.props),
        "recipients": msg.recipients.iter().map(|r| serde_json::json!({
            "row": r.row_id, "outcome": r.outcome.label(), "transport": r.transport, "properties": props(&r.props)
        })).collect::<Vec<_>>(),
        "attachments": msg.attachments.iter().map(|a| serde_json::json!({"name": a.file_name, "mime": a.mime_type, "bytes": a.data.len()})).collect::<Vec<_>>(),
    })
}
