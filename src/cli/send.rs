//! `send`: running the spooler headless and printing its events.

use std::process::ExitCode;

use anyhow::{Result, bail};
use jiff::Timestamp;

use crate::mapi::EntryId;
use crate::spooler::{Clock, Command, Event, Spooler, Tick};
use crate::store::Store;

use super::show::folder_name;
use super::{Cli, output, signals};

pub(super) fn send(cli: &Cli, store: Store, all: bool, id: Option<EntryId>) -> Result<ExitCode> {
    // From here SIGINT and SIGTERM stop the loop below instead of the process.
    signals::install();
    if let Some(why) = store.profile_hold() {
        // Said once, before anything runs: the profile is what is wrong, not the messages.
        errln!("spoolbox: error: nothing is sent: sending is held: {why}");
        return Ok(ExitCode::FAILURE);
    }
    let mut sp = Spooler::new(store, Clock::system());
    let mut errors = 0;
    sp.handle(Command::Resume);
    match id {
        Some(id) => {
            if sp.store().summary(id).is_none() {
                bail!("no message {id} in this store (spoolbox list shows the ids)");
            }
            // Only that message: the rest of the queue keeps its place for a later send.
            sp.restrict_to(Some(id));
            sp.handle(Command::SendNow(id));
        }
        None if all => sp.handle(Command::Flush),
        None => {}
    }
    let print = |sp: &mut Spooler, errors: &mut usize| {
        for e in sp.drain_events() {
            print_event(cli, sp, &e);
            if matches!(e, Event::Error(_)) {
                *errors += 1;
            }
        }
    };
    print(&mut sp, &mut errors);
    let mut finished = None;
    // A signal or a closed standard output ends the loop between two steps.
    while signals::received().is_none() && !output::is_closed() {
        let tick = sp.tick();
        print(&mut sp, &mut errors);
        match tick {
            Tick::Ran(..) => {}
            Tick::Paused => break,
            Tick::Idle(_) if sp.handoff_under_way() => {
                sp.wait_for_handoff(std::time::Duration::from_millis(250));
            }
            Tick::Idle(wake) => {
                finished = Some(wake);
                break;
            }
        }
    }
    if sp.holds_unrecorded() {
        errln!(
            "spoolbox: the store refused to record what a transport answered; trying again for up to {} s before stopping (a second Ctrl-C gives up, and the next send may send that message again)",
            crate::spooler::STOP_WAIT.as_secs()
        );
    }
    // Nothing is left half-way: the hand-off under way is answered and recorded (or withdrawn
    // before its final dot), answers the store refused are tried again, locks are released.
    let stopped = sp.stop(crate::spooler::STOP_WAIT);
    for e in sp.drain_events() {
        match e {
            // Said below, in the one line for the stop.
            Event::Notice(t) if t.starts_with("the spooler stopped") => {}
            e => {
                print_event(cli, &sp, &e);
                if matches!(e, Event::Error(_)) {
                    errors += 1;
                }
            }
        }
    }
    if let Some((name, status)) = signals::received() {
        errln!("spoolbox: stopped by {name}: {}", stopped.describe());
        return Ok(ExitCode::from(status));
    }
    if output::is_closed() {
        return Ok(ExitCode::SUCCESS); // `run` turns this into 141
    }
    if stopped.under_way.is_some() || !stopped.unrecorded.is_empty() {
        errln!("spoolbox: error: {}", stopped.describe());
        errors += 1;
    }
    if let Some(wake) = finished
        && !cli.json
    {
        let now = Timestamp::now();
        let waiting: Vec<_> = sp
            .store()
            .queue()
            .filter_map(|e| sp.store().summary(e))
            .filter(|s| s.state(now).in_queue())
            .collect();
        if waiting.is_empty() {
            outln!("queue empty");
        } else {
            outln!(
                "{} message(s) still queued{}",
                waiting.len(),
                wake.map(|w| format!("; next timer at {}", w.strftime("%Y-%m-%d %H:%M:%S UTC")))
                    .unwrap_or_default()
            );
            for s in waiting {
                outln!(
                    "  {:>6}  {:<22} {}{}",
                    s.eid.0,
                    s.state(now).label(),
                    s.subject,
                    s.last_error
                        .as_deref()
                        .map(|e| format!("  ({e})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_event(cli: &Cli, sp: &Spooler, e: &Event) {
    if cli.json {
        let v = match e {
            Event::StepFinished {
                eid,
                step,
                outcome,
                micros,
            } => {
                serde_json::json!({"event": "step", "id": eid.0, "step": step.name(), "outcome": outcome, "micros": micros})
            }
            Event::RecipientMarked {
                eid,
                row,
                responsibility,
                outcome,
            } => {
                serde_json::json!({"event": "recipient", "id": eid.0, "row": row, "PR_RESPONSIBILITY": responsibility, "outcome": outcome})
            }
            Event::NdrCreated { eid, ndr } => {
                serde_json::json!({"event": "ndr", "id": eid.0, "ndr": ndr.0})
            }
            Event::RetryScheduled {
                eid,
                at,
                transport,
                reason,
            } => {
                serde_json::json!({"event": "retry", "id": eid.0, "at": at.to_string(), "transport": transport, "reason": reason})
            }
            Event::Error(t) => serde_json::json!({"event": "error", "text": t}),
            _ => return,
        };
        outln!("{v}");
        return;
    }
    match e {
        Event::StepFinished {
            eid,
            step,
            outcome,
            micros,
        } => {
            let subject = sp
                .store()
                .summary(*eid)
                .map(|s| s.subject.clone())
                .unwrap_or_default();
            let o = match outcome {
                crate::mapi::StepOutcome::Done => "done".to_owned(),
                crate::mapi::StepOutcome::Skipped => "skipped".to_owned(),
                crate::mapi::StepOutcome::Waiting(w) => format!("waiting: {w}"),
                crate::mapi::StepOutcome::Failed(f) => format!("FAILED: {f}"),
            };
            outln!(
                "{:>6}  {:<20} {:<8} {:>7} µs  {subject}",
                eid.0,
                step.name(),
                o,
                micros
            );
        }
        Event::RecipientMarked {
            eid,
            row,
            responsibility,
            outcome,
        } => {
            outln!(
                "{:>6}    recipient row {row}: PR_RESPONSIBILITY {} ({})",
                eid.0,
                if *responsibility { "TRUE" } else { "FALSE" },
                outcome.label()
            );
        }
        Event::NdrCreated { eid, ndr } => {
            // Filed where PR_REPORT_ENTRYID says, else in the Inbox.
            let folder = sp
                .store()
                .summary(*ndr)
                .and_then(|s| sp.store().folder(s.folder))
                .map_or_else(|| "its folder".to_owned(), |f| f.name.clone());
            outln!(
                "{:>6}    non-delivery report {} written to {folder}",
                eid.0,
                ndr.0
            );
        }
        Event::RetryScheduled {
            eid,
            at,
            transport,
            reason,
        } => {
            outln!(
                "{:>6}    waiting for {transport}: {reason}; next retry {}",
                eid.0,
                at.strftime("%H:%M:%S UTC")
            );
        }
        Event::Moved { eid, to, .. } => {
            outln!("{:>6}    moved to {}", eid.0, folder_name(sp.store(), *to));
        }
        Event::Removed(eid) => outln!("{:>6}    deleted", eid.0),
        Event::Notice(t) => outln!("note: {t}"),
        Event::Error(t) => errln!("spoolbox: error: {t}"),
        _ => {}
    }
}
