//! The command line itself: the clap types for the commands, their options and arguments.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::bench::BenchKind;
use crate::mapi::EntryId;
use crate::profile::TlsMode;

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
    Doctor {
        /// Also fix a profile that holds sending (a `store.json` that does not read or holds a
        /// value out of range): each such value set to its default, after asking.
        #[arg(long)]
        fix: bool,
        /// With --fix: do not ask (for scripts).
        #[arg(long, requires = "fix")]
        yes: bool,
    },
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
    /// Move a message to Deleted Items (as the window's Delete), or delete it for good when
    /// it is there already.
    Delete {
        /// Message id.
        id: EntryId,
    },
    /// Put a message in Deleted Items back in the folder it was deleted from (as the window's
    /// Restore).
    Restore {
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
    /// Print the spool's timeline: steps, hand-offs, marks, queue samples (or --chrome FILE).
    ///
    /// What the spooler recorded under the store (`timeline/*.jsonl`): each step, each
    /// transport hand-off, breakpoints, pauses, injected faults and the queue's depth. A
    /// table (time, lane, what, message, outcome, duration); with `--json` one JSON array,
    /// one span a line; with `--chrome` a Chrome trace event file. Read without the store's
    /// lock (the window may be running on it); exit 1 when nothing was recorded yet.
    Timeline {
        /// Write a Chrome trace event file (for Perfetto or `chrome://tracing`) instead.
        #[arg(long, value_name = "FILE.json", conflicts_with = "json")]
        chrome: Option<PathBuf>,
        /// Only what ended at or after WHEN: an RFC 3339 time, or a duration ago (30s, 10m,
        /// 2h, 1d).
        #[arg(long, value_name = "WHEN", value_parser = super::timeline::parse_since)]
        since: Option<jiff::Timestamp>,
        /// Only the last N spans (after --since).
        #[arg(long, value_name = "N")]
        last: Option<usize>,
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
    /// Store the SMTP password, read from standard input (first line), outside the store: in
    /// the OS keyring where one answers, else in the credentials file (mode 0600); an empty
    /// line removes it.
    SetPassword {
        /// The transport whose user and server the password is for (default: the first SMTP
        /// transport).
        #[arg(long)]
        transport: Option<String>,
    },
    /// Test the SMTP transport's logon with the saved settings and password: connect, EHLO,
    /// STARTTLS, AUTH, QUIT, each step with its result and the server's replies (nothing is
    /// sent; exit status 1 when a step failed).
    Test {
        /// The transport to test (default: the first SMTP transport).
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
