//! The SMTP transport (SPEC section 3) over its own wire (`smtp_wire`: bounded replies,
//! deadlines; lettre's command and address types): it issues MAIL, RCPT and DATA itself so
//! that each recipient's result comes from the server's own reply to its RCPT TO, which
//! lettre's high-level `SmtpTransport::send` does not expose.
//!
//! - 250 to RCPT, then 250 after the DATA dot → delivered, with the server's text.
//! - 5xx to RCPT → failed for good with the server's text (an NDR for that recipient only).
//! - 4xx to RCPT → transient for that recipient: retried with backoff, the others are done.
//! - Refused, or dropped before the final DATA dot → `MAPI_E_NETWORK_ERROR` for the whole
//!   hand-off: nothing was accepted, every row stays FALSE and the message waits.
//! - Dropped (or timed out) after the final dot and before the reply → outcome unknown: the
//!   server may have queued it. The rows are marked so, visibly, and retried: at-least-once,
//!   as Postfix does (RFC 1047); never silently dropped, never silently assumed delivered.
//! - In step (RFC 5321 sections 4.2.1, 4.3.2): only a 2yz after the dot is delivery, and DATA
//!   must answer 354. Any other positive reply, or input waiting where no reply is due (after
//!   the 354, or on a kept connection before MAIL), means the replies no longer answer the
//!   commands: the connection is closed. Before the dot nothing was sent and the message
//!   waits (or goes on a new connection); after it the outcome is unknown, as above.
//! - The envelope to a server that does not offer SMTPUTF8 is ASCII: IDN domains as A-labels
//!   (punycode), and a recipient whose local part is not ASCII is failed alone, saying why.
//!
//! When the server offers PIPELINING (RFC 2920) MAIL, every RCPT and DATA go out in one write
//! (batches of 4 KB for thousands of recipients) and their replies are read in order, as
//! Postfix's client does: one round trip for what took one per command.
//!
//! Logon is lazy: the first hand-off connects, and the connection is kept for the next
//! messages (a server that closed it meanwhile is reconnected once, before anything is
//! sent). Unconfigured (empty host) the transport is `STATUS_OFFLINE` and declines
//! (`MAPI_E_NOT_ME`) so the pickup folder below it takes the recipients. Configured but down,
//! it is `STATUS_OFFLINE` too, yet answers `MAPI_E_NETWORK_ERROR`: the user chose this server,
//! so the message waits for it rather than leaking to another transport.
//!
//! The guard: with the profile's `deliver_for_real` off, only loopback servers (127.0.0.0/8,
//! `::1`, `localhost`, checked on the resolved addresses too) are ever connected to; any other
//! host leaves the transport offline and declining, with the reason in its status text.

mod connection;
mod dialogue;
mod probe;

pub use probe::{ProbeOutcome, ProbeReport, ProbeStage, ProbeStep, probe, probe_with};

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use super::smtp_wire::{Conn, WireError};
use super::{Handoff, RowOutcome, SubmitResult, SubmitView, Transport};
use crate::mapi::EntryId;
use crate::mapi::flags::STATUS_OFFLINE;
use crate::profile::SmtpSettings;

/// The status text of a guarded transport, also shown in the trace.
pub const GUARD_TEXT: &str = "deliver_for_real is off: only loopback servers";

/// True for hosts that name this machine: `localhost`, 127.0.0.0/8, `::1` (also bracketed or
/// IPv4-mapped).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Where the transport stands with its server.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    /// No host configured.
    Unconfigured,
    /// Not a loopback host while `deliver_for_real` is off.
    Guarded,
    /// Configured, not connected yet.
    Idle,
    /// Connected; the text describes the link.
    Up(String),
    /// The last attempt failed; the text says why.
    Down(String),
}

/// The SMTP client proper: the settings, the kept connection and the link state. It runs on
/// the transport's own thread once the first background hand-off starts.
struct SmtpCore {
    settings: SmtpSettings,
    deliver_for_real: bool,
    credentials: Option<PathBuf>,
    conn: Option<Conn>,
    /// The kept connection's server offered PIPELINING.
    pipelining: bool,
    link: Link,
    /// The transcript of connections dropped during the current hand-off.
    transcript: Vec<String>,
    /// The current hand-off's rendered message (kept beside the message once handed over).
    rendered: Vec<u8>,
    /// Messages written out in full on connections dropped during the current hand-off.
    sent_on_dropped: u64,
}

impl std::fmt::Debug for SmtpCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpCore")
            .field("settings", &self.settings)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

/// A failed transaction, by where it failed.
enum Abort {
    /// Nothing can have been accepted (refused, or dropped before the final DATA dot).
    BeforeDot(String),
    /// The server had the whole message when the link broke: the accepted rows' outcome is
    /// unknown; these are every row's outcomes.
    AfterDot(Vec<(u32, RowOutcome)>),
    /// The spooler could not make the previous hand-off's marks durable: this one stopped
    /// short of its final dot (nothing delivered) and waits for a retry.
    Withdrawn(String),
}

/// How long a hand-off waits at its gate for the journal sync (milliseconds, normally).
const GATE_WAIT: Duration = Duration::from_mins(1);

/// The server's text for a negative reply, or a description of what broke (a timeout says
/// how long it waited and for which reply).
fn error_text(e: &WireError) -> String {
    e.to_string()
}

/// A negative reply's outcome for one row: 4xx transient, 5xx permanent.
fn row_outcome(e: &WireError) -> Option<RowOutcome> {
    if e.is_permanent() {
        Some(RowOutcome::Failed(error_text(e)))
    } else if e.is_transient() {
        Some(RowOutcome::Transient(error_text(e)))
    } else {
        None
    }
}

/// True when the server said it is closing the channel (421): the connection is spent.
fn is_421(e: &WireError) -> bool {
    e.code() == Some(421)
}

/// One job for the transport's thread: a background hand-off (`reply` None: the result goes
/// to the results channel and the spooler is woken) or a synchronous one.
struct Job {
    view: super::OwnedView,
    reply: Option<Sender<Handoff>>,
}

/// A finished background hand-off: (message, rows offered, result).
type Finished = (EntryId, Vec<u32>, Handoff);

/// The transport's thread, as the spooler side sees it.
struct Worker {
    jobs: Sender<Job>,
    results: Receiver<Finished>,
    wake: Receiver<()>,
    /// (`PR_STATUS_CODE`, `PR_STATUS_STRING`) as the thread last saw them.
    status: Arc<Mutex<(u32, String)>>,
}

/// Sends through an SMTP server, on its own thread: the spooler starts a hand-off and goes on
/// with other messages (and other transports) while the server answers; a slow or hung
/// server never holds the spooler (ARCHITECTURE section 4). One hand-off at a time, over one
/// kept connection.
pub struct SmtpTransport {
    name: String,
    types: Vec<String>,
    settings: SmtpSettings,
    /// Until the first background hand-off the client lives here; then on its thread.
    core: Option<SmtpCore>,
    worker: Option<Worker>,
    /// The background hand-offs under way, in order: the one on the line and at most one
    /// queued behind it (see [`Transport::queues_handoff`]).
    in_flight: VecDeque<(EntryId, Vec<u32>)>,
    /// Finished background hand-offs not yet collected by the spooler, in order.
    done: VecDeque<Finished>,
    /// What a new client is built with when the thread has to be restarted.
    deliver_for_real: bool,
    credentials: Option<PathBuf>,
    /// How many times the thread stopped and was restarted: shown in the status text.
    restarts: u32,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// An SMTP transport; `deliver_for_real` off confines it to loopback servers.
    pub fn new(
        name: &str,
        types: &[String],
        settings: SmtpSettings,
        deliver_for_real: bool,
    ) -> Self {
        Self {
            name: name.to_owned(),
            types: types.to_vec(),
            core: Some(SmtpCore::new(settings.clone(), deliver_for_real)),
            settings,
            worker: None,
            in_flight: VecDeque::new(),
            done: VecDeque::new(),
            deliver_for_real,
            credentials: None,
            restarts: 0,
        }
    }

    /// Reads the password from this file instead of the user's default credentials file.
    #[must_use]
    pub fn with_credentials_file(mut self, path: PathBuf) -> Self {
        if let Some(c) = &mut self.core {
            c.credentials = Some(path.clone());
        }
        self.credentials = Some(path);
        self
    }

    /// The transport's thread, started on first use with the client moved into it.
    fn worker(&mut self) -> Option<&Worker> {
        if self.worker.is_none() {
            let mut core = self.core.take()?;
            let (jobs, job_rx) = unbounded::<Job>();
            let (res_tx, results) = unbounded::<Finished>();
            let (wake_tx, wake) = bounded::<()>(1);
            let status = Arc::new(Mutex::new((core.status_code(), core.status_text())));
            let shared = Arc::clone(&status);
            let name = self.name.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("spoolbox-smtp-{}", self.name))
                .spawn(move || {
                    for job in job_rx {
                        // A synchronous job runs while the spooler waits for it: no gate.
                        let gate = match job.reply {
                            None => job.view.gate.as_ref(),
                            Some(_) => None,
                        };
                        // One message can never stop the line: a panic while handing it off
                        // fails its rows with the reason, drops the connection (its state is
                        // unknown) and the thread takes the next job.
                        let mut h = super::guarded(|| core.submit(&job.view.view(), gate))
                            .unwrap_or_else(|why| {
                                core.conn = None;
                                core.link = Link::Idle;
                                super::panicked(&name, &job.view.rows, &why)
                            });
                        h.answered = Some(std::time::Instant::now());
                        if let Ok(mut s) = shared.lock() {
                            *s = (core.status_code(), core.status_text());
                        }
                        if let Some(tx) = job.reply {
                            let _ = tx.send(h);
                        } else {
                            let _ = res_tx.send((job.view.msg.entry_id, job.view.rows, h));
                            let _ = wake_tx.try_send(());
                        }
                    }
                    // The spooler let go of the transport (logoff): QUIT as `core` drops.
                });
            if spawned.is_err() {
                return None;
            }
            self.worker = Some(Worker {
                jobs,
                results,
                wake,
                status,
            });
        }
        self.worker.as_ref()
    }

    /// Decided at once, without a thread: unconfigured or guarded (no byte is sent), and the
    /// synchronous path under armed fail points (a crash test's rerun must pass the same fail
    /// points, whatever the network's timing).
    fn decided_at_once(&self, view: &SubmitView<'_>) -> bool {
        let refused = self.settings.host.trim().is_empty()
            || (!view.deliver_for_real && !is_loopback_host(self.settings.host.trim()));
        refused || crate::durable::fs::fail_points_armed()
    }

    fn collect(&mut self) {
        let Some(w) = &self.worker else {
            return;
        };
        loop {
            match w.results.try_recv() {
                Ok(f) => {
                    self.in_flight.pop_front();
                    self.done.push_back(f);
                }
                Err(crossbeam_channel::TryRecvError::Empty) => return,
                Err(crossbeam_channel::TryRecvError::Disconnected) => break,
            }
        }
        self.restart();
    }

    /// The thread has stopped (a panic got past its guard): the hand-off it was on fails with
    /// the reason (`MAPI_E_CORRUPT_DATA`, as a message that panicked), the one queued behind
    /// it waits for a retry, and a new client is set up; the next hand-off starts a new thread.
    /// The status text says so.
    fn restart(&mut self) {
        self.worker = None;
        let why = "the SMTP transport's thread stopped while sending it";
        for (i, (eid, rows)) in std::mem::take(&mut self.in_flight).into_iter().enumerate() {
            let h = if i == 0 {
                super::panicked(&self.name, &rows, why)
            } else {
                Handoff::refused(SubmitResult::NetworkError(
                    0,
                    "the SMTP transport's thread stopped before sending it; it was restarted"
                        .into(),
                ))
            };
            self.done.push_back((eid, rows, h));
        }
        let mut core = SmtpCore::new(self.settings.clone(), self.deliver_for_real);
        core.credentials.clone_from(&self.credentials);
        self.core = Some(core);
        self.restarts += 1;
    }
}

impl Transport for SmtpTransport {
    fn remote(&self) -> bool {
        true
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn status_code(&self) -> u32 {
        match (&self.core, &self.worker) {
            (Some(c), _) => c.status_code(),
            (None, Some(w)) => w.status.lock().map_or(STATUS_OFFLINE, |s| s.0),
            (None, None) => STATUS_OFFLINE,
        }
    }

    fn status_text(&self) -> String {
        let base = match (&self.core, &self.worker) {
            (Some(c), _) => c.status_text(),
            (None, Some(w)) => w
                .status
                .lock()
                .map_or_else(|_| "unknown".into(), |s| s.1.clone()),
            (None, None) => "offline: the transport thread could not start".into(),
        };
        let base = match self.restarts {
            0 => base,
            1 => format!("{base} (the transport thread stopped and was restarted)"),
            n => format!("{base} (the transport thread stopped and was restarted {n} times)"),
        };
        match self.in_flight.front() {
            Some((eid, _)) => format!("{base}; sending message {eid}"),
            None => base,
        }
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        if let Some(core) = &mut self.core {
            return core.submit(view, None);
        }
        let (tx, rx) = bounded(1);
        let sent = self.worker().is_some_and(|w| {
            w.jobs
                .send(Job {
                    view: super::OwnedView::of(view),
                    reply: Some(tx),
                })
                .is_ok()
        });
        match rx.recv() {
            Ok(h) if sent => h,
            _ => {
                self.collect();
                Handoff::refused(SubmitResult::NetworkError(
                    0,
                    "the SMTP transport's thread has stopped; it was restarted".into(),
                ))
            }
        }
    }

    fn start_submit(&mut self, view: &SubmitView<'_>) -> Option<Handoff> {
        self.collect();
        let eid = view.msg.entry_id;
        if let Some(i) = self
            .done
            .iter()
            .position(|(e, rows, _)| *e == eid && *rows == view.rows)
        {
            return self.done.remove(i).map(|(_, _, h)| h);
        }
        // One on the line and one queued behind it, whose gate the spooler arms once it has
        // recorded the first (a gate still shut says the spooler means to queue it).
        let deferred = view.gate.as_ref().is_some_and(|g| !g.is_armed());
        if !deferred && self.in_flight.is_empty() {
            // A new hand-off not queued behind another: results left here are for messages
            // that moved on (nobody collects them).
            self.done.clear();
        }
        let outstanding = self.in_flight.len() + self.done.len();
        let queueing = outstanding == 1 && deferred;
        if outstanding > 0 && !queueing {
            return Some(Handoff::refused(SubmitResult::Busy));
        }
        if self.decided_at_once(view) {
            return Some(self.submit_message(view));
        }
        let job = Job {
            view: super::OwnedView::of(view),
            reply: None,
        };
        match self.worker() {
            Some(w) if w.jobs.send(job).is_ok() => {
                self.in_flight.push_back((eid, view.rows.clone()));
                None
            }
            _ => Some(Handoff::refused(SubmitResult::NetworkError(
                0,
                "the SMTP transport's thread could not start".into(),
            ))),
        }
    }

    fn gates_handoff(&mut self, view: &SubmitView<'_>) -> bool {
        // Exactly when `start_submit` goes to the thread (or collects what it brought).
        self.collect();
        if !self.done.is_empty() || !self.in_flight.is_empty() {
            return true;
        }
        !self.decided_at_once(view)
    }

    fn queues_handoff(&self) -> bool {
        true
    }

    fn poll_handoff(&mut self) -> bool {
        self.collect();
        !self.done.is_empty()
    }

    fn abandon_handoff(&mut self, eid: EntryId) {
        self.collect();
        self.done.retain(|(e, _, _)| *e != eid);
    }

    fn completions(&self) -> Option<Receiver<()>> {
        self.worker.as_ref().map(|w| w.wake.clone())
    }
}

impl Drop for SmtpCore {
    fn drop(&mut self) {
        // A polite QUIT on the way out (logoff); the server's reply does not matter.
        if let Some(mut c) = self.conn.take()
            && !c.has_broken()
        {
            c.quit();
        }
    }
}

#[cfg(test)]
mod tests;
