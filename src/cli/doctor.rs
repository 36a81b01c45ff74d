//! `doctor`: checking the store and repairing what it can.

use std::path::Path;
use std::process::ExitCode;

use std::io::{BufRead as _, Write as _};

use anyhow::{Context as _, Result};
use jiff::Timestamp;

use crate::spooler::{Clock, Spooler};
use crate::store::{OpenReport, Store};

use super::Cli;

/// `doctor --fix` for a profile that holds sending: says what it would change, asks (unless
/// `yes`), and saves. Returns what it changed (empty: nothing, or the user said no). With
/// `--json` it prints nothing here and never asks: `--yes` is needed.
fn fix_profile(cli: &Cli, store: &mut Store, yes: bool) -> Result<Vec<String>> {
    let Some((repaired, changes)) = store.repaired_profile() else {
        return Ok(Vec::new());
    };
    if cli.json && !yes {
        anyhow::bail!(
            "the profile holds sending; with --json, `doctor --fix` does not ask: add --yes"
        );
    }
    if !cli.json {
        outln!("the profile holds sending; --fix would:");
        for c in &changes {
            outln!("  {c}");
        }
    }
    if !yes && !confirm("save the profile so?")? {
        outln!("profile not changed");
        return Ok(Vec::new());
    }
    store.set_profile(repaired)?;
    if !cli.json {
        outln!("profile saved: sending is no longer held");
    }
    Ok(changes)
}

/// Asks a yes/no question on standard output and reads the answer, a line, from standard
/// input (typed on a terminal, or piped). Anything but "y" or "yes" is no; no answer at all
/// (end of input) is an error that names `--yes`.
fn confirm(question: &str) -> Result<bool> {
    out!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?
        == 0
    {
        outln!();
        anyhow::bail!(
            "no answer on standard input: run `spoolbox doctor --fix --yes` to fix without asking"
        );
    }
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

pub(super) fn doctor(
    cli: &Cli,
    mut store: Store,
    report: &OpenReport,
    fix: bool,
    yes: bool,
) -> Result<ExitCode> {
    let now = Timestamp::now();
    let fixed = if fix {
        fix_profile(cli, &mut store, yes)?
    } else {
        Vec::new()
    };
    let held = store.profile_hold().map(str::to_owned);
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
                "sending_held": held,
                "profile_fixed": fixed,
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
        let qdir = sp.store().root().join("quarantine");
        // Through the store's layer: a symbolic link at quarantine/ is not followed.
        let earlier = sp.store().fs().read_dir(&qdir).map_or(0, |d| {
            d.iter()
                .filter(|e| Path::new(&e.name).extension().is_some_and(|x| x == "why"))
                .count()
        });
        outln!("files in quarantine/ (with a .why beside each): {earlier}");
        match &held {
            Some(why) => outln!("profile: sending is held: {why}"),
            None => outln!("profile: OK"),
        }
        let clean = report.quarantined.is_empty()
            && report.journal_damage.is_none()
            && junk_moved.is_empty()
            && orphans.files.is_empty();
        outln!("{}", verdict(held.as_deref(), unreadable.is_empty(), clean));
    }
    Ok(ExitCode::SUCCESS)
}

/// Doctor's last line: held, unreadable, OK or repaired.
fn verdict(held: Option<&str>, readable: bool, clean: bool) -> String {
    match held {
        Some(why) => format!("sending is held: {why}"),
        None if !readable => "store has unreadable message files (fix their permissions or the disk; they come back once readable)".into(),
        None if clean => "store OK".into(),
        None => "store repaired".into(),
    }
}
