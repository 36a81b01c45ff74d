//! The headless command line: the same store and the same spooler as the window.

#[macro_use]
pub(crate) mod output;
mod signals;

mod args;
mod doctor;
mod import;
mod profile;
mod send;
mod show;
mod timeline;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use crate::bench::BenchKind;
use crate::mapi::EntryId;
use crate::spooler::{Clock, Command, Event, Spooler};
use crate::store::{FolderKind, OpenReport, Store};

pub use args::{Cli, Cmd, ProfileCmd, TlsArg};
use doctor::doctor;
use import::import;
use profile::{one_command, profile};
use send::send;
use show::{list, show};

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
///
/// Exit status: 0 done; 1 an error (one line on standard error); 2 bad arguments; 130 or
/// 143 `send` stopped cleanly by SIGINT or SIGTERM; 141 standard output closed by its reader
/// (`spoolbox send --all | head -3`): the command stopped cleanly, without a panic.
pub fn run(cli: &Cli, cmd: &Cmd) -> ExitCode {
    let code = match run_inner(cli, cmd) {
        Ok(code) => code,
        Err(e) => {
            errln!("spoolbox: error: {e:#}");
            ExitCode::FAILURE
        }
    };
    output::flush();
    if signals::received().is_some() || !output::is_closed() {
        return code;
    }
    match output::failure() {
        Some(why) => {
            errln!("spoolbox: error: cannot write to standard output: {why}");
            ExitCode::FAILURE
        }
        None => ExitCode::from(STDOUT_CLOSED),
    }
}

/// The exit status when standard output was closed by its reader: 128 + SIGPIPE.
const STDOUT_CLOSED: u8 = 141;

fn open(cli: &Cli) -> Result<(Store, OpenReport)> {
    let dir = store_dir(cli)?;
    let (store, report) = crate::spooler::demo::open(&dir)?;
    for q in &report.quarantined {
        errln!(
            "spoolbox: warning: {} was unreadable and is now in {}: {}",
            q.original.display(),
            q.moved_to.display(),
            q.reason
        );
    }
    for u in &report.unreadable {
        errln!(
            "spoolbox: warning: message {} ({}) {}; it stays out of the queue until it can be read",
            u.eid,
            u.path.display(),
            u.reason
        );
    }
    for j in &report.junk {
        errln!(
            "spoolbox: warning: {}; spoolbox doctor moves them to quarantine/",
            j.describe()
        );
    }
    if let Some(d) = &report.journal_damage {
        errln!("spoolbox: warning: journal: {d}");
    }
    if let Some(why) = &report.profile_held {
        errln!("spoolbox: warning: sending is held: {why}");
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
        if *kind == BenchKind::Load {
            return crate::bench::load::run(*messages, cli.store.as_deref())
                .map(|()| ExitCode::SUCCESS);
        }
        if *kind == BenchKind::Render {
            return crate::bench::render::run(*runs).map(|()| ExitCode::SUCCESS);
        }
        if *kind == BenchKind::Render {
            return crate::bench::render::run(*runs).map(|()| ExitCode::SUCCESS);
        }
        if *kind == BenchKind::Smtp {
            return crate::bench::smtp::run(*messages, *runs, cli.store.as_deref())
                .map(|()| ExitCode::SUCCESS);
        }
        return crate::bench::run(*kind, *messages, *runs, cli.store.as_deref())
            .map(|()| ExitCode::SUCCESS);
    }
    if let Cmd::Timeline {
        chrome,
        since,
        last,
    } = cmd
    {
        // Before `open`: it neither creates the store nor takes its lock.
        let opts = timeline::Options {
            chrome: chrome.as_deref(),
            since: *since,
            last: *last,
        };
        return timeline::timeline(cli, &opts);
    }
    let (store, report) = open(cli)?;
    match cmd {
        Cmd::List { folder } => list(cli, &store, folder.as_deref()),
        Cmd::Show { id } => show(cli, store, *id),
        Cmd::Doctor { fix, yes } => doctor(cli, store, &report, *fix, *yes),
        Cmd::Submit { id } => {
            let mut sp = Spooler::new(store, Clock::system());
            one_command(&mut sp, Command::Submit(*id))?;
            outln!("message {id} submitted");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Abort { id } => {
            let mut sp = Spooler::new(store, Clock::system());
            one_command(&mut sp, Command::AbortSubmit(*id))?;
            outln!("message {id}: submission aborted, it is an editable draft again");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Delete { id } | Cmd::Restore { id } => {
            let mut sp = Spooler::new(store, Clock::system());
            sp.drain_events();
            let command = if matches!(cmd, Cmd::Delete { .. }) {
                Command::Delete(*id)
            } else {
                Command::Restore(*id)
            };
            sp.handle(command);
            for e in notices(&mut sp)? {
                match e {
                    Event::Moved { eid, from, to } => outln!(
                        "message {eid} moved from {} to {}",
                        show::folder_name(sp.store(), from),
                        show::folder_name(sp.store(), to)
                    ),
                    Event::Removed(eid) => {
                        outln!("message {eid} deleted for good");
                    }
                    _ => {}
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Send { all, id } => send(cli, store, *all, *id),
        Cmd::Trace { id } => {
            let mut sp = Spooler::new(store, Clock::system());
            if cli.json {
                outln!("{}", serde_json::to_string_pretty(&sp.trace_of(*id)?)?);
            } else {
                out!("{}", sp.trace_text(*id)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import { file, submit } => import(cli, store, file, *submit),
        Cmd::Export { id, file } => {
            let mut sp = Spooler::new(store, Clock::system());
            sp.drain_events();
            sp.handle(Command::ExportEml(*id, file.clone()));
            notices(&mut sp)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Profile { action } => profile(cli, store, action.as_ref()),
        Cmd::Bench { .. } | Cmd::Timeline { .. } => Ok(ExitCode::SUCCESS),
    }
}

/// Prints the notices a command produced; the first error fails it.
fn notices(sp: &mut Spooler) -> Result<Vec<Event>> {
    let events = sp.drain_events();
    for e in &events {
        match e {
            Event::Error(text) => bail!("{text}"),
            Event::Notice(text) => outln!("note: {text}"),
            _ => {}
        }
    }
    Ok(events)
}

/// The Outbox folder id of a store.
pub fn outbox(store: &Store) -> EntryId {
    store.folder_of(FolderKind::Outbox)
}
