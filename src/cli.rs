//! The headless command line: the same store and the same spooler as the window.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use jiff::Timestamp;

use crate::mapi::flags::{self, FlagKind};
use crate::mapi::tags;
use crate::mapi::{EntryId, Message, PropValue};
use crate::spooler::{Clock, Command, Event, Spooler, Tick};
use crate::store::{FolderKind, OpenReport, Store};

/// Spoolbox: an outbox manager and visual debugger for the MAPI spooler.
#[derive(Debug, Parser)]
#[command(name = "spoolbox", version, about, long_about = None)]
pub struct Cli {
    /// The store directory (default: the platform data directory, created with demo data).
    #[arg(long, global = true, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// (window) Start in dark mode.
    #[arg(long)]
    pub dark: bool,
    /// (window) Start with a breakpoint before this step (repeatable), e.g. SetLockState.
    #[arg(long = "break", value_name = "STEP", value_parser = parse_step)]
    pub breakpoints: Vec<crate::mapi::Step>,
    /// The headless command; none opens the window.
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Headless commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List messages (all folders, or one).
    List {
        /// Only this folder (e.g. Outbox, "Sent Items", Inbox).
        #[arg(long)]
        folder: Option<String>,
    },
    /// Show every property of a message with its tag, type and decoded flags.
    Show {
        /// Message id.
        id: EntryId,
    },
    /// Check the store, report and repair: quarantine, stale locks, journal replay.
    Doctor,
    /// Submit a draft (IMessage::SubmitMessage).
    Submit {
        /// Message id.
        id: EntryId,
    },
    /// Run the spooler until the queue is idle (or only waiting messages remain).
    Send {
        /// Send every eligible message, retry timers ignored (Flush).
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// Send only this message.
        id: Option<EntryId>,
    },
    /// Print the MAPI calls recorded for a message.
    Trace {
        /// Message id.
        id: EntryId,
    },
    /// Abort a submission (IMsgStore::AbortSubmit).
    Abort {
        /// Message id.
        id: EntryId,
    },
    /// Benchmarks (not tests): store open at scale, pipeline throughput, disk fsync rate.
    Bench {
        /// Which benchmark.
        #[arg(value_enum, default_value_t = BenchKind::All)]
        kind: BenchKind,
        /// Messages to create.
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// Runs per figure (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

/// Benchmark selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchKind {
    /// Open a store with many outbox messages and list the outbox.
    Store,
    /// Pipeline throughput through the null transport.
    Pipeline,
    /// Both.
    All,
}

fn parse_step(s: &str) -> Result<crate::mapi::Step, String> {
    crate::mapi::Step::parse(s).ok_or_else(|| {
        let names: Vec<&str> = crate::mapi::Step::ALL.iter().map(|s| s.name()).collect();
        format!("{s:?} is not a pipeline step; one of: {}", names.join(", "))
    })
}

/// The store directory to use.
///
/// # Errors
/// When no data directory is known and none was given.
pub fn store_dir(cli: &Cli) -> Result<PathBuf> {
    match &cli.store {
        Some(d) => Ok(d.clone()),
        None => Store::default_dir()
            .context("no platform data directory is known here; pass --store DIR"),
    }
}

/// Runs a headless command.
pub fn run(cli: &Cli, cmd: &Cmd) -> ExitCode {
    match run_inner(cli, cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("spoolbox: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open(cli: &Cli) -> Result<(Store, OpenReport)> {
    let dir = store_dir(cli)?;
    let (store, report) = Store::open_or_create_demo(&dir)?;
    for q in &report.quarantined {
        eprintln!(
            "spoolbox: warning: {} was unreadable and is now in {}: {}",
            q.original.display(),
            q.moved_to.display(),
            q.reason
        );
    }
    if let Some(d) = &report.journal_damage {
        eprintln!("spoolbox: warning: journal: {d}");
    }
    Ok((store, report))
}

fn run_inner(cli: &Cli, cmd: &Cmd) -> Result<ExitCode> {
    if let Cmd::Bench {
        kind,
        messages,
        runs,
    } = cmd
    {
        return crate::bench::run(*kind, *messages, *runs, cli.store.as_deref())
            .map(|()| ExitCode::SUCCESS);
    }
    let (store, report) = open(cli)?;
    match cmd {
        Cmd::List { folder } => list(cli, &store, folder.as_deref()),
        Cmd::Show { id } => show(cli, store, *id),
        Cmd::Doctor => doctor(cli, store, &report),
        Cmd::Submit { id } => {
            let mut sp = Spooler::new(store, Clock::system());
            one_command(&mut sp, Command::Submit(*id))?;
            println!("message {id} submitted");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Abort { id } => {
            let mut sp = Spooler::new(store, Clock::system());
            one_command(&mut sp, Command::AbortSubmit(*id))?;
            println!("message {id}: submission aborted, it is an editable draft again");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Send { all, id } => send(cli, store, *all, *id),
        Cmd::Trace { id } => {
            let mut sp = Spooler::new(store, Clock::system());
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&sp.trace_of(*id)?)?);
            } else {
                print!("{}", sp.trace_text(*id)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench { .. } => Ok(ExitCode::SUCCESS),
    }
}

fn one_command(sp: &mut Spooler, cmd: Command) -> Result<()> {
    sp.handle(cmd);
    for e in sp.drain_events() {
        if let Event::Error(text) = e {
            bail!(text);
        }
    }
    Ok(())
}

fn folder_name(store: &Store, id: EntryId) -> String {
    store
        .folder(id)
        .map_or_else(|| id.to_string(), |f| f.name.clone())
}

fn list(cli: &Cli, store: &Store, folder: Option<&str>) -> Result<ExitCode> {
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
    if cli.json {
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
                    "recipients_done": s.done,
                    "recipients_total": s.total,
                    "next_step": s.next_step.map(|x| x.name()),
                    "client_submit_time": s.client_submit_time.map(|t| t.to_string()),
                    "next_retry": s.next_retry.map(|t| t.to_string()),
                    "last_error": s.last_error,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<14} {:<22} {:>5}  SUBJECT",
        "ID", "FOLDER", "STATE", "DONE"
    );
    for s in rows {
        println!(
            "{:>6}  {:<14} {:<22} {:>2}/{:<2}  {}",
            s.eid.0,
            folder_name(store, s.folder),
            s.state(now).label(),
            s.done,
            s.total,
            s.subject
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

fn show(cli: &Cli, mut store: Store, id: EntryId) -> Result<ExitCode> {
    let msg = store.load(id)?;
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&show_json(&store, &msg))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Message {id} in {} (state {})",
        folder_name(&store, msg.folder),
        msg.state(Timestamp::now()).label()
    );
    println!("{:<10}  {:<44} {:<11} VALUE", "TAG", "NAME", "TYPE");
    for (tag, v) in msg.props.iter() {
        let (hex, name, ty, value, decoded) = prop_line(tag, v);
        let value = if decoded.is_empty() {
            value
        } else {
            format!("{value} ({decoded})")
        };
        println!("{hex:<10}  {name:<44} {ty:<11} {value}");
    }
    println!("\nRecipients:");
    for r in &msg.recipients {
        println!(
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
            println!("    {hex:<10}  {name:<40} {ty:<11} {value}");
        }
    }
    if !msg.attachments.is_empty() {
        println!("\nAttachments:");
        for a in &msg.attachments {
            println!(
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

fn doctor(cli: &Cli, store: Store, report: &OpenReport) -> Result<ExitCode> {
    let now = Timestamp::now();
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
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "store": sp.store().root(),
                "messages": report.messages,
                "from_index": report.from_index,
                "quarantined": report.quarantined,
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
        println!("store: {}", sp.store().root().display());
        println!(
            "messages: {} ({} queued, {} waiting for a retry)",
            report.messages, queued, waiting
        );
        println!("quarantined now: {}", report.quarantined.len());
        for q in &report.quarantined {
            println!(
                "  {} -> {}: {}",
                q.original.display(),
                q.moved_to.display(),
                q.reason
            );
        }
        println!("journal records replayed: {}", report.journal_replayed);
        if let Some(d) = &report.journal_damage {
            println!("journal damage repaired: {d}");
        }
        println!("leftover temp files removed: {}", report.tmp_removed);
        println!(
            "half-finished FinishedMsg completed: {}",
            report.duplicates_resolved
        );
        println!("stale locks cleared: {locked}");
        for n in stale_notes {
            println!("  {n}");
        }
        let qdir = sp.store().root().join("quarantine");
        let earlier = std::fs::read_dir(&qdir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "why"))
                    .count()
            })
            .unwrap_or(0);
        println!("files in quarantine/ (with a .why beside each): {earlier}");
        println!(
            "{}",
            if report.quarantined.is_empty() && report.journal_damage.is_none() {
                "store OK"
            } else {
                "store repaired"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn send(cli: &Cli, store: Store, all: bool, id: Option<EntryId>) -> Result<ExitCode> {
    let mut sp = Spooler::new(store, Clock::system());
    let mut errors = 0;
    sp.handle(Command::Resume);
    match id {
        Some(id) => sp.handle(Command::SendNow(id)),
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
    loop {
        let tick = sp.tick();
        print(&mut sp, &mut errors);
        match tick {
            Tick::Ran(eid, _) => {
                if let Some(one) = id
                    && eid != one
                {
                    // `send ID` runs only that message; others stay queued.
                }
            }
            Tick::Paused => break,
            Tick::Idle(wake) => {
                let now = Timestamp::now();
                let waiting: Vec<_> = sp
                    .store()
                    .queue()
                    .filter_map(|e| sp.store().summary(e))
                    .filter(|s| s.state(now).in_queue())
                    .collect();
                if !cli.json {
                    if waiting.is_empty() {
                        println!("queue empty");
                    } else {
                        println!(
                            "{} message(s) still queued{}",
                            waiting.len(),
                            wake.map(|w| format!(
                                "; next timer at {}",
                                w.strftime("%Y-%m-%d %H:%M:%S UTC")
                            ))
                            .unwrap_or_default()
                        );
                        for s in waiting {
                            println!(
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
                break;
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
        println!("{v}");
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
            println!(
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
            println!(
                "{:>6}    recipient row {row}: PR_RESPONSIBILITY {} ({})",
                eid.0,
                if *responsibility { "TRUE" } else { "FALSE" },
                outcome.label()
            );
        }
        Event::NdrCreated { eid, ndr } => println!(
            "{:>6}    non-delivery report {} written to Inbox",
            eid.0, ndr.0
        ),
        Event::RetryScheduled {
            eid,
            at,
            transport,
            reason,
        } => {
            println!(
                "{:>6}    waiting for {transport}: {reason}; next retry {}",
                eid.0,
                at.strftime("%H:%M:%S UTC")
            );
        }
        Event::Moved { eid, to, .. } => {
            println!("{:>6}    moved to {}", eid.0, folder_name(sp.store(), *to))
        }
        Event::Removed(eid) => println!("{:>6}    deleted", eid.0),
        Event::Notice(t) => println!("note: {t}"),
        Event::Error(t) => eprintln!("spoolbox: error: {t}"),
        _ => {}
    }
}

/// The Outbox folder id of a store.
pub fn outbox(store: &Store) -> EntryId {
    store.folder_of(FolderKind::Outbox)
}
