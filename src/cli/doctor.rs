//! `doctor`: checking the store and repairing what it can.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use jiff::Timestamp;

use crate::spooler::{Clock, Spooler};
use crate::store::{OpenReport, Store};

use super::Cli;

pub(super) fn doctor(cli: &Cli, mut store: Store, report: &OpenReport) -> Result<ExitCode> {
    let now = Timestamp::now();
    // Every message file is read (summaries from index.json were not): one that cannot be
    // read is reported, never called OK.
    store.verify_readable();
    let unreadable: Vec<_> = store.unreadable().cloned().collect();
    // Names in the folders that are not the store's: moved aside, one batch per directory.
    let mut junk_moved = Vec::new();
    for j in &report.junk {
        junk_moved.push(store.quarantine_junk(j)?);
    }
    // Hand-off copies under sent/ whose message is gone.
    let orphans = store.sent_orphans();
    store.remove_sent_orphans(&orphans)?;
    let locked = store.summaries().filter(|s| s.is_locked()).count();
    let sp = Spooler::new(store, Clock::system());
    let stale_notes: Vec<String> = Vec::new();
    let queued = sp.store().queue().count();
    let waiting = sp
        .store()
        .queue()
        .filter_map(|e| sp.store().summary(e))
        .filter(|s| s.state(now) == crate::mapi::MessageState::WaitingRetry)
        .count();
    if cli.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "store": sp.store().root(),
                "messages": report.messages,
                "from_index": report.from_index,
                "quarantined": report.quarantined,
                "junk": report.junk,
                "junk_quarantined": junk_moved,
                "sent_orphans_removed": orphans,
                "unreadable": unreadable,
                "journal_replayed": report.journal_replayed,
                "journal_damage": report.journal_damage,
                "tmp_removed": report.tmp_removed,
                "duplicates_resolved": report.duplicates_resolved,
                "stale_locks_cleared": locked,
                "queued": queued,
                "waiting_retry": waiting,
            }))?
        );
    } else {
        outln!("store: {}", sp.store().root().display());
        outln!(
            "messages: {} ({} queued, {} waiting for a retry)",
            report.messages,
            queued,
            waiting
        );
        outln!(
            "quarantined now: {}",
            report.quarantined.len() + junk_moved.len()
        );
        for q in &report.quarantined {
            outln!(
                "  {} -> {}: {}",
                q.original.display(),
                q.moved_to.display(),
                q.reason
            );
        }
        for (j, q) in report.junk.iter().zip(&junk_moved) {
            outln!(
                "  {} name(s) that are not the store's in {} -> {} (one batch)",
                j.count,
                j.dir.display(),
                q.moved_to.display()
            );
        }
        outln!(
            "sent copies whose message is gone, removed: {} ({} bytes)",
            orphans.files.len(),
            orphans.bytes
        );
        outln!(
            "unreadable message files (left in place, out of the queue): {}",
            unreadable.len()
        );
        for u in &unreadable {
            outln!("  message {}: {}: {}", u.eid, u.path.display(), u.reason);
        }
        outln!("journal records replayed: {}", report.journal_replayed);
        if let Some(d) = &report.journal_damage {
            outln!("journal damage repaired: {d}");
        }
        outln!("leftover temp files removed: {}", report.tmp_removed);
        outln!(
            "half-finished FinishedMsg completed: {}",
            report.duplicates_resolved
        );
        outln!("stale locks cleared: {locked}");
        for n in stale_notes {
            outln!("  {n}");
        }
        let qdir = sp.store().root().join("quarantine");
        // Through the store's layer: a symbolic link at quarantine/ is not followed.
        let earlier = sp.store().fs().read_dir(&qdir).map_or(0, |d| {
            d.iter()
                .filter(|e| Path::new(&e.name).extension().is_some_and(|x| x == "why"))
                .count()
        });
        outln!("files in quarantine/ (with a .why beside each): {earlier}");
        outln!(
            "{}",
            if !unreadable.is_empty() {
                "store has unreadable message files (fix their permissions or the disk; they come back once readable)"
            } else if report.quarantined.is_empty()
                && report.journal_damage.is_none()
                && junk_moved.is_empty()
                && orphans.files.is_empty()
            {
                "store OK"
            } else {
                "store repaired"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
