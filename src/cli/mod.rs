//! The headless command line: the same store and the same spooler as the window.

#[macro_use]
pub(crate) mod output;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use jiff::Timestamp;

use crate::bench::BenchKind;
use crate::mapi::flags::{self, FlagKind};
use crate::mapi::tags;
use crate::mapi::{EntryId, Message, PropValue};
use crate::profile::{Profile, SmtpSettings, TlsMode, TransportConfig, TransportKind};
use crate::spooler::{Clock, Command, Event, Spooler, Tick};
use crate::store::{FolderKind, OpenReport, Store};
use crate::transport::credentials;

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
    /// (window) Start with a breakpoint before this step (repeatable), e.g. `SetLockState`.
    #[arg(long = "break", value_name = "STEP", value_parser = parse_step)]
    pub breakpoints: Vec<crate::mapi::Step>,
    /// (window) Forget what the window remembered (size, theme, folder, sort, breakpoints,
    /// last store) and start from defaults.
    #[arg(long)]
    pub reset_ui: bool,
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
    /// Submit a draft (`IMessage::SubmitMessage`).
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
    /// Abort a submission (`IMsgStore::AbortSubmit`).
    Abort {
        /// Message id.
        id: EntryId,
    },
    /// Import an .eml file as a draft in the Outbox.
    Import {
        /// The .eml file.
        file: PathBuf,
        /// Submit the draft at once (`IMessage::SubmitMessage`).
        #[arg(long)]
        submit: bool,
    },
    /// Export a message as an .eml file (RFC 5322).
    Export {
        /// Message id.
        id: EntryId,
        /// The file to write.
        file: PathBuf,
    },
    /// Show the profile (transports, SMTP settings, the deliver-for-real switch) or change it.
    Profile {
        /// What to change; nothing shows the profile.
        #[command(subcommand)]
        action: Option<ProfileCmd>,
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

/// Changes to the profile.
#[derive(Debug, Subcommand)]
pub enum ProfileCmd {
    /// Change the SMTP transport's settings (created at the top if the profile has none);
    /// only the options given change.
    SetSmtp {
        /// The transport to change (default: the first SMTP transport).
        #[arg(long)]
        transport: Option<String>,
        /// Server host; an empty string unconfigures it (offline, declines to the pickup folder).
        #[arg(long)]
        host: Option<String>,
        /// Server port.
        #[arg(long)]
        port: Option<u16>,
        /// Transport security.
        #[arg(long, value_enum)]
        tls: Option<TlsArg>,
        /// User name for AUTH; an empty string removes it.
        #[arg(long)]
        user: Option<String>,
        /// Seconds before a silent server counts as a network error.
        #[arg(long)]
        timeout: Option<u64>,
        /// Off (the demo's setting): SMTP connects only to loopback servers.
        #[arg(long)]
        deliver_for_real: Option<bool>,
    },
    /// Store the SMTP password, read from standard input (first line), in the credentials
    /// file outside the store (mode 0600); an empty line removes it.
    SetPassword {
        /// The transport whose user and server the password is for (default: the first SMTP
        /// transport).
        #[arg(long)]
        transport: Option<String>,
    },
}

/// `--tls` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsArg {
    /// Plain text.
    None,
    /// STARTTLS after EHLO.
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

impl From<TlsArg> for TlsMode {
    fn from(t: TlsArg) -> Self {
        match t {
            TlsArg::None => Self::None,
            TlsArg::Starttls => Self::StartTls,
            TlsArg::Implicit => Self::Implicit,
        }
    }
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
    if let Some(d) = &report.journal_damage {
        errln!("spoolbox: warning: journal: {d}");
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
    let (store, report) = open(cli)?;
    match cmd {
        Cmd::List { folder } => list(cli, &store, folder.as_deref()),
        Cmd::Show { id } => show(cli, store, *id),
        Cmd::Doctor => doctor(cli, store, &report),
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
        Cmd::Bench { .. } => Ok(ExitCode::SUCCESS),
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

fn import(cli: &Cli, store: Store, file: &std::path::Path, submit: bool) -> Result<ExitCode> {
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
    if submit {
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

/// The SMTP transport named `name`, or the first one.
fn smtp_config<'a>(
    p: &'a mut Profile,
    name: Option<&str>,
) -> Option<(&'a str, &'a mut SmtpSettings)> {
    p.transports
        .iter_mut()
        .filter(|t| name.is_none_or(|n| t.name == n))
        .find_map(|t| match &mut t.kind {
            TransportKind::Smtp(s) => Some((t.name.as_str(), s)),
            _ => None,
        })
}

fn profile(cli: &Cli, store: Store, action: Option<&ProfileCmd>) -> Result<ExitCode> {
    let mut sp = Spooler::new(store, Clock::system());
    sp.drain_events();
    match action {
        None => {}
        Some(ProfileCmd::SetSmtp {
            transport,
            host,
            port,
            tls,
            user,
            timeout,
            deliver_for_real,
        }) => {
            let mut p = sp.store().profile().clone();
            if smtp_config(&mut p, transport.as_deref()).is_none() {
                if let Some(n) = transport {
                    bail!("no SMTP transport named {n:?} in the profile");
                }
                // The demo order: SMTP first, so an offline SMTP declines to the pickup folder.
                p.transports.insert(
                    0,
                    TransportConfig::new(
                        "SMTP",
                        TransportKind::Smtp(SmtpSettings {
                            port: 25,
                            timeout_secs: 30,
                            ..SmtpSettings::default()
                        }),
                        &["SMTP"],
                    ),
                );
            }
            if let Some((_, s)) = smtp_config(&mut p, transport.as_deref()) {
                if let Some(h) = host {
                    h.trim().clone_into(&mut s.host);
                }
                if let Some(x) = port {
                    s.port = *x;
                }
                if let Some(t) = tls {
                    s.tls = (*t).into();
                }
                if let Some(u) = user {
                    s.username = Some(u.trim().to_owned()).filter(|u| !u.is_empty());
                }
                if let Some(t) = timeout {
                    s.timeout_secs = (*t).max(1);
                }
            }
            if let Some(d) = deliver_for_real {
                p.deliver_for_real = *d;
            }
            sp.handle(Command::SaveProfile(Box::new(p)));
            notices(&mut sp)?;
        }
        Some(ProfileCmd::SetPassword { transport }) => {
            let mut p = sp.store().profile().clone();
            let Some((name, s)) = smtp_config(&mut p, transport.as_deref()) else {
                bail!(
                    "the profile has no SMTP transport; add one with `spoolbox profile set-smtp`"
                );
            };
            let Some(user) = s.username.clone() else {
                bail!(
                    "the SMTP transport {name:?} has no user; set one with `spoolbox profile set-smtp --user NAME`"
                );
            };
            if s.host.is_empty() {
                bail!(
                    "the SMTP transport {name:?} has no host; set one with `spoolbox profile set-smtp --host HOST`"
                );
            }
            // On a terminal the password is typed with echo off (never shown on the screen
            // or left in its scroll-back); piped in, it is the first line.
            let mut line = String::new();
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                line = rpassword::prompt_password(format!("Password for {user} (not shown): "))
                    .context("reading the password from the terminal")?;
            } else {
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
            }
            let password = line.trim_end_matches(['\r', '\n']);
            let path = credentials::default_path()?;
            let key = credentials::key(&user, &s.host, s.port);
            credentials::store_password(&path, &key, Some(password).filter(|p| !p.is_empty()))?;
            outln!(
                "password for {key} {} in {} (mode 0600; never in the store)",
                if password.is_empty() {
                    "removed"
                } else {
                    "stored"
                },
                path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    show_profile(cli, &sp)
}

fn show_profile(cli: &Cli, sp: &Spooler) -> Result<ExitCode> {
    let p = sp.store().profile();
    let status = sp.status_table();
    let cred_path = credentials::default_path().ok();
    let has_password = |s: &SmtpSettings| -> Option<bool> {
        let user = s.username.as_deref()?;
        let path = cred_path.as_deref()?;
        credentials::password(path, &credentials::key(user, &s.host, s.port))
            .ok()
            .map(|p| p.is_some())
    };
    if cli.json {
        let transports: Vec<_> = p
            .transports
            .iter()
            .map(|t| {
                let row = status.iter().find(|r| r.name == t.name);
                let mut v = serde_json::to_value(t).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("status".into(), row.map(|r| r.text.clone()).into());
                    o.insert(
                        "offline".into(),
                        row.map(|r| r.status_code & flags::STATUS_OFFLINE != 0)
                            .into(),
                    );
                    if let TransportKind::Smtp(s) = &t.kind {
                        o.insert("password_stored".into(), has_password(s).into());
                    }
                }
                v
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "sender_name": p.sender_name,
                "sender_address": p.sender_address,
                "deliver_for_real": p.deliver_for_real,
                "transports": transports,
                "coupled_addrtypes": p.coupled_addrtypes,
                "retry": p.retry,
                "credentials_file": cred_path,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("sender: {} <{}>", p.sender_name, p.sender_address);
    outln!(
        "deliver for real: {}",
        if p.deliver_for_real {
            "on (SMTP may connect to any server)"
        } else {
            "off (SMTP connects only to loopback servers; the demo's setting)"
        }
    );
    outln!("transports, in priority order:");
    for (i, t) in p.transports.iter().enumerate() {
        let row = status.iter().find(|r| r.name == t.name);
        outln!(
            "  {}. {} [{}] {}{}",
            i + 1,
            t.name,
            t.address_types.join(", "),
            t.kind.label(),
            if t.enabled { "" } else { " (disabled)" }
        );
        if let TransportKind::Smtp(s) = &t.kind {
            outln!(
                "       host {}  port {}  tls {}  user {}  timeout {} s",
                if s.host.is_empty() { "(none)" } else { &s.host },
                s.port,
                match s.tls {
                    TlsMode::None => "none",
                    TlsMode::StartTls => "starttls",
                    TlsMode::Implicit => "implicit",
                },
                s.username.as_deref().unwrap_or("(none)"),
                s.timeout_secs
            );
            if s.username.is_some() {
                outln!(
                    "       password: {} ({})",
                    match has_password(s) {
                        Some(true) => "stored",
                        Some(false) => "not stored: run `spoolbox profile set-password`",
                        None => "unreadable",
                    },
                    cred_path
                        .as_deref()
                        .map_or_else(|| "no credentials file".into(), |x| x.display().to_string())
                );
            }
        }
        if let TransportKind::Pickup(s) = &t.kind {
            outln!("       directory {}", s.dir);
        }
        if let Some(r) = row {
            outln!("       status: {}", r.text);
        }
    }
    if !p.coupled_addrtypes.is_empty() {
        outln!("coupled store handles: {}", p.coupled_addrtypes.join(", "));
    }
    outln!(
        "retry: first {} s, at most {} s apart, give up after {} s",
        p.retry.first_delay_secs,
        p.retry.max_delay_secs,
        p.retry.give_up_after_secs
    );
    Ok(ExitCode::SUCCESS)
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
    let unreadable: Vec<_> = store
        .unreadable()
        .filter(|u| only.is_none_or(|f| u.folder == f))
        .collect();
    let debug = crate::spooler::DebugState::default();
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

fn show(cli: &Cli, mut store: Store, id: EntryId) -> Result<ExitCode> {
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

fn doctor(cli: &Cli, mut store: Store, report: &OpenReport) -> Result<ExitCode> {
    let now = Timestamp::now();
    // Every message file is read (summaries from index.json were not): one that cannot be
    // read is reported, never called OK.
    store.verify_readable();
    let unreadable: Vec<_> = store.unreadable().cloned().collect();
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
        outln!("quarantined now: {}", report.quarantined.len());
        for q in &report.quarantined {
            outln!(
                "  {} -> {}: {}",
                q.original.display(),
                q.moved_to.display(),
                q.reason
            );
        }
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
        let earlier = std::fs::read_dir(&qdir).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "why"))
                .count()
        });
        outln!("files in quarantine/ (with a .why beside each): {earlier}");
        outln!(
            "{}",
            if !unreadable.is_empty() {
                "store has unreadable message files (fix their permissions or the disk; they come back once readable)"
            } else if report.quarantined.is_empty() && report.journal_damage.is_none() {
                "store OK"
            } else {
                "store repaired"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn send(cli: &Cli, store: Store, all: bool, id: Option<EntryId>) -> Result<ExitCode> {
    // From here SIGINT and SIGTERM stop the loop below instead of the process.
    signals::install();
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
        Event::NdrCreated { eid, ndr } => outln!(
            "{:>6}    non-delivery report {} written to Inbox",
            eid.0,
            ndr.0
        ),
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

/// The Outbox folder id of a store.
pub fn outbox(store: &Store) -> EntryId {
    store.folder_of(FolderKind::Outbox)
}
