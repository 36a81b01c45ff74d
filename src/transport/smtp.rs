//! The SMTP transport (SPEC section 3) over lettre's low-level `SmtpConnection`: it issues
//! MAIL, RCPT and DATA itself so that each recipient's result comes from the server's own
//! reply to its RCPT TO, which lettre's high-level `SmtpTransport::send` does not expose.
//!
//! - 250 to RCPT, then 250 after the DATA dot → delivered, with the server's text.
//! - 5xx to RCPT → failed for good with the server's text (an NDR for that recipient only).
//! - 4xx to RCPT → transient for that recipient: retried with backoff, the others are done.
//! - Refused, or dropped before the final DATA dot → `MAPI_E_NETWORK_ERROR` for the whole
//!   hand-off: nothing was accepted, every row stays FALSE and the message waits.
//! - Dropped (or timed out) after the final dot and before the reply → outcome unknown: the
//!   server may have queued it. The rows are marked so, visibly, and retried: at-least-once,
//!   as Postfix does (RFC 1047); never silently dropped, never silently assumed delivered.
//!
//! When the server offers PIPELINING (RFC 2920) MAIL, every RCPT and DATA go out in one write
//! (batches of 4 KB for thousands of recipients) and their replies are read in order, as
//! Postfix's client does: one round trip for what took one per command. lettre keeps only the
//! EHLO keywords it uses, so logon asks EHLO once more.
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

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

use super::{Handoff, RowOutcome, SubmitResult, SubmitView, Transport, credentials, eml};
use crate::mapi::EntryId;
use crate::mapi::flags::{STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ENABLED};
use crate::store::gate::CommitGate;
use crate::store::profile::{SmtpSettings, TlsMode};

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
    conn: Option<SmtpConnection>,
    /// The kept connection's server offered PIPELINING.
    pipelining: bool,
    link: Link,
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

/// Converts a reply into the text kept as `PR_REPORT_TEXT` or shown as delivered.
fn reply_text(r: &Response) -> String {
    let lines: Vec<&str> = r.message().collect();
    format!("{} {}", r.code(), lines.join(" "))
        .trim_end()
        .to_owned()
}

/// The server's text for a negative reply, or a description of what broke.
fn error_text(e: &SmtpError) -> String {
    if let Some(code) = e.status() {
        let text = std::error::Error::source(e).map(ToString::to_string);
        return format!("{code} {}", text.unwrap_or_default())
            .trim_end()
            .to_owned();
    }
    let mut s = e.to_string();
    if e.is_timeout() && !s.contains("timed out") {
        s.push_str(" (timed out)");
    }
    s
}

/// A negative reply's outcome for one row: 4xx transient, 5xx permanent.
fn row_outcome(e: &SmtpError) -> Option<RowOutcome> {
    if e.is_permanent() {
        Some(RowOutcome::Failed(error_text(e)))
    } else if e.is_transient() {
        Some(RowOutcome::Transient(error_text(e)))
    } else {
        None
    }
}

/// True when the server said it is closing the channel (421): the connection is spent.
fn is_421(e: &SmtpError) -> bool {
    e.status().is_some_and(|c| c.to_string() == "421")
}

impl SmtpCore {
    fn new(settings: SmtpSettings, deliver_for_real: bool) -> Self {
        let mut t = Self {
            settings,
            deliver_for_real,
            credentials: None,
            conn: None,
            pipelining: false,
            link: Link::Idle,
        };
        t.link = t.logon_state(deliver_for_real);
        t
    }

    fn host(&self) -> &str {
        self.settings.host.trim()
    }

    fn logon_state(&self, deliver_for_real: bool) -> Link {
        if self.host().is_empty() {
            Link::Unconfigured
        } else if !deliver_for_real && !is_loopback_host(self.host()) {
            Link::Guarded
        } else {
            Link::Idle
        }
    }

    fn endpoint(&self) -> String {
        let tls = match self.settings.tls {
            TlsMode::None => "",
            TlsMode::StartTls => ", STARTTLS",
            TlsMode::Implicit => ", TLS",
        };
        format!("{}:{}{tls}", self.host(), self.settings.port)
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.timeout_secs.max(1))
    }

    /// The server's addresses; with the guard on, every one must be loopback (a `localhost`
    /// that resolves elsewhere is refused too).
    fn resolve(&self) -> Result<Vec<SocketAddr>, String> {
        let host = self.host();
        let bare = host
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(host);
        let addrs: Vec<SocketAddr> = (bare, self.settings.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host} resolves to no address"));
        }
        if !self.deliver_for_real
            && let Some(a) = addrs.iter().find(|a| !a.ip().to_canonical().is_loopback())
        {
            return Err(format!("{GUARD_TEXT}; {host} resolves to {}", a.ip()));
        }
        Ok(addrs)
    }

    fn password(&self, user: &str) -> Result<String, String> {
        let path = match &self.credentials {
            Some(p) => p.clone(),
            None => credentials::default_path().map_err(|e| e.to_string())?,
        };
        let key = credentials::key(user, self.host(), self.settings.port);
        credentials::password(&path, &key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "no password stored for {key} in {}; run `spoolbox profile set-password`",
                    path.display()
                )
            })
    }

    /// Logon: connect, EHLO, STARTTLS if asked (never falling back to plain text), AUTH if a
    /// user is configured; with whether the server offers PIPELINING.
    fn connect(&self) -> Result<(SmtpConnection, bool), String> {
        let addrs = self.resolve()?;
        let hello = ClientId::default();
        let tls = match self.settings.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Implicit => Some(
                TlsParameters::new(self.host().to_owned())
                    .map_err(|e| format!("TLS setup for {}: {e}", self.host()))?,
            ),
        };
        let implicit = if self.settings.tls == TlsMode::Implicit {
            tls.as_ref()
        } else {
            None
        };
        let mut conn = SmtpConnection::connect(
            addrs.as_slice(),
            Some(self.timeout()),
            &hello,
            implicit,
            None,
        )
        .map_err(|e| format!("cannot connect to {}: {}", self.endpoint(), error_text(&e)))?;
        if let (TlsMode::StartTls, Some(params)) = (self.settings.tls, &tls) {
            if !conn.can_starttls() {
                conn.abort();
                return Err(format!(
                    "{} does not offer STARTTLS; not sending in plain text",
                    self.endpoint()
                ));
            }
            conn.starttls(params, &hello)
                .map_err(|e| format!("STARTTLS with {}: {}", self.endpoint(), error_text(&e)))?;
        }
        // lettre keeps only the EHLO keywords it uses itself: ask again (RFC 5321 allows it
        // at any time outside a transaction) to learn whether commands may be pipelined.
        let pipelining = offers_pipelining(&mut conn, &hello)
            .map_err(|e| format!("EHLO to {}: {}", self.endpoint(), error_text(&e)))?;
        if let Some(user) = self.settings.username.as_deref().filter(|u| !u.is_empty()) {
            if !conn.is_encrypted() && !is_loopback_host(self.host()) {
                conn.abort();
                return Err(format!(
                    "{} is not encrypted; the password is never sent in plain text (set TLS to starttls or implicit)",
                    self.endpoint()
                ));
            }
            let password = self.password(user)?;
            let creds = Credentials::new(user.to_owned(), password);
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .map_err(|e| {
                    format!(
                        "authentication as {user} at {} failed: {}",
                        self.endpoint(),
                        error_text(&e)
                    )
                })?;
        }
        Ok((conn, pipelining))
    }

    /// One SMTP transaction: MAIL, one RCPT per row (its reply decides the row), DATA, the
    /// message, the dot, the final reply. With `pipelining` (the server offered PIPELINING,
    /// RFC 2920) MAIL, every RCPT and DATA go out in one write and their replies are read in
    /// order, one round trip instead of one per command, as Postfix's client does; each reply
    /// means the same either way.
    fn transaction(
        conn: &mut SmtpConnection,
        pipelining: bool,
        from: &lettre::Address,
        rcpts: &[(u32, lettre::Address)],
        body: &[u8],
        gate: Option<&CommitGate>,
    ) -> Result<(Vec<(u32, RowOutcome)>, bool), Abort> {
        let mut params = Vec::new();
        if !body.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let any_utf8 =
            !from.to_string().is_ascii() || rcpts.iter().any(|(_, a)| !a.to_string().is_ascii());
        if any_utf8 && conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            params.push(MailParameter::SmtpUtfEight);
        }
        let mut commands = vec![Mail::new(Some(from.clone()), params).to_string()];
        commands.extend(
            rcpts
                .iter()
                .map(|(_, a)| Rcpt::new(a.clone(), Vec::new()).to_string()),
        );
        commands.push(Data.to_string());
        let mut replies = Replies::new(commands, pipelining);
        let mut outcomes = Vec::new();
        if let Err(e) = replies.next(conn) {
            let Some(o) = row_outcome(&e) else {
                return Err(Abort::BeforeDot(error_text(&e)));
            };
            // The sender was refused: the same answer for every recipient of the message.
            outcomes.extend(rcpts.iter().map(|(row, _)| (*row, o.clone())));
            let spent = is_421(&e) || replies.drain(conn);
            if !spent {
                let _ = conn.command(Rset);
            }
            return Ok((outcomes, spent));
        }
        let mut accepted = Vec::new();
        for (row, _) in rcpts {
            match replies.next(conn) {
                Ok(_) => accepted.push(*row),
                Err(e) => match row_outcome(&e) {
                    // 421: the server is closing; the rows not yet answered wait for the retry.
                    Some(_) if is_421(&e) => {
                        return Err(Abort::BeforeDot(
                            "the server closed the session (421) during RCPT".into(),
                        ));
                    }
                    Some(o) => outcomes.push((*row, o)),
                    None => return Err(Abort::BeforeDot(error_text(&e))),
                },
            }
        }
        if accepted.is_empty() {
            let spent = replies.drain(conn);
            if !spent {
                let _ = conn.command(Rset);
            }
            return Ok((outcomes, spent));
        }
        if let Err(e) = replies.next(conn) {
            let Some(o) = row_outcome(&e) else {
                return Err(Abort::BeforeDot(error_text(&e)));
            };
            outcomes.extend(accepted.iter().map(|row| (*row, o.clone())));
            if !is_421(&e) {
                let _ = conn.command(Rset);
            }
            return Ok((outcomes, is_421(&e)));
        }
        // The point of no return: once the dot is out the server may deliver. The previous
        // hand-off's marks must be durable by then (see `store::gate`); they were being
        // synced while MAIL, RCPT and DATA went out. Withdrawn, the connection is dropped
        // (no way out of DATA but that) and the server discards the unfinished message.
        if let Some(g) = gate
            && let Err(why) = g.wait(GATE_WAIT)
        {
            return Err(Abort::Withdrawn(format!(
                "withdrawn before the final DATA dot: {why}; nothing was delivered"
            )));
        }
        // The message and its final dot go out in one write: lettre's own `message` writes the
        // dot separately, and that small second write waits for the ACK of the first (Nagle),
        // which the server delays (40 ms on Linux) because it is waiting for the dot. A failed
        // write (EPIPE) means the dot never left; any other failure after this point may
        // have come after the server had the whole message.
        let (reply, body_written) = if let Ok(text) = std::str::from_utf8(body) {
            let r = conn.command(Raw(dot_stuffed(text)));
            let written = !r.as_ref().err().is_some_and(write_failed);
            (r, written)
        } else {
            // 8-bit content: lettre's own writer; the iterator tells how far it got (once
            // asked past the last part, every byte of the message was written).
            let mut written = false;
            let parts = BodyParts {
                body: Some(body),
                done: &mut written,
            };
            let r = conn.message_iter(parts);
            (r, written)
        };
        match reply {
            Ok(r) => {
                let text = reply_text(&r);
                outcomes.extend(
                    accepted
                        .iter()
                        .map(|row| (*row, RowOutcome::Delivered(text.clone()))),
                );
                Ok((outcomes, false))
            }
            Err(e) => {
                if let Some(o) = row_outcome(&e) {
                    outcomes.extend(accepted.iter().map(|row| (*row, o.clone())));
                    return Ok((outcomes, is_421(&e)));
                }
                if !body_written {
                    return Err(Abort::BeforeDot(error_text(&e)));
                }
                let why = format!(
                    "outcome unknown: the connection broke after the message was sent (final DATA dot) and before the server's reply ({}); it will be sent again (at-least-once)",
                    error_text(&e)
                );
                outcomes.extend(
                    accepted
                        .iter()
                        .map(|row| (*row, RowOutcome::Unknown(why.clone()))),
                );
                // Rows refused at RCPT keep their answers; the link itself is gone.
                Err(Abort::AfterDot(outcomes))
            }
        }
    }
}

/// At most this many bytes of pipelined commands are sent before their replies are read: far
/// below any socket buffer, so that neither side can block writing while the other is not
/// reading (RFC 2920 section 3.1; a message to thousands of recipients goes in batches).
const PIPELINE_BATCH: usize = 4096;

/// Whether the server's EHLO reply lists PIPELINING (RFC 2920). A server that refuses the
/// second EHLO is talked to one command at a time; only a broken connection is an error.
fn offers_pipelining(conn: &mut SmtpConnection, hello: &ClientId) -> Result<bool, SmtpError> {
    let r = match conn.command(Ehlo::new(hello.clone())) {
        Ok(r) => r,
        Err(e) if row_outcome(&e).is_some() => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(r.message().skip(1).any(|line| {
        line.split_ascii_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
    }))
}

/// The replies to a transaction's MAIL, RCPTs and DATA, in order: each command is sent as its
/// reply is asked for, or (pipelined) with the ones after it, up to [`PIPELINE_BATCH`] bytes.
struct Replies {
    commands: std::iter::Peekable<std::vec::IntoIter<String>>,
    pipelined: bool,
    /// Commands sent whose replies have not been read.
    unread: usize,
}

impl Replies {
    fn new(commands: Vec<String>, pipelined: bool) -> Self {
        Self {
            commands: commands.into_iter().peekable(),
            pipelined,
            unread: 0,
        }
    }

    /// The next command's reply (sending it, or the next batch of commands, first if not yet
    /// sent).
    fn next(&mut self, conn: &mut SmtpConnection) -> Result<Response, SmtpError> {
        if self.unread == 0 {
            let mut batch = String::new();
            // At least one command; pipelined, more while the batch stays small.
            while let Some(c) = self.commands.next_if(|c| {
                batch.is_empty() || (self.pipelined && batch.len() + c.len() <= PIPELINE_BATCH)
            }) {
                batch.push_str(&c);
                self.unread += 1;
            }
            self.unread = self.unread.saturating_sub(1);
            return conn.command(Raw(batch));
        }
        self.unread -= 1;
        conn.read_response()
    }

    /// Reads the replies still due for commands already sent (the rest are never sent), after
    /// the transaction ended early (a refused sender, no recipient accepted): true if the
    /// connection is spent (it broke, the server is closing, or it accepted DATA anyway and
    /// only dropping the connection can end that without a message).
    fn drain(&mut self, conn: &mut SmtpConnection) -> bool {
        while self.unread > 0 {
            // DATA is the last command: its reply is the last one due with nothing left unsent.
            let data = self.unread == 1 && self.commands.peek().is_none();
            let spent = match self.next(conn) {
                Ok(_) => data,
                Err(e) => row_outcome(&e).is_none() || is_421(&e),
            };
            if spent {
                return true;
            }
        }
        false
    }
}

/// The DATA content as SMTP sends it: lines starting with a dot get a second one
/// (RFC 5321 section 4.5.2), then the terminating `CRLF . CRLF`.
fn dot_stuffed(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut line_start = true;
    let mut after_cr = false;
    for ch in text.chars() {
        if line_start && ch == '.' {
            out.push('.');
        }
        out.push(ch);
        line_start = after_cr && ch == '\n';
        after_cr = ch == '\r';
    }
    out.push_str(if text.ends_with("\r\n") {
        ".\r\n"
    } else {
        "\r\n.\r\n"
    });
    out
}

/// Pre-built DATA content written by `SmtpConnection::command` in one write.
struct Raw(String);

impl std::fmt::Display for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// True when the error is a failed write (the peer had closed): nothing after it was sent.
fn write_failed(e: &SmtpError) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        source = err.source();
    }
    false
}

/// The message as one part, with a flag set once lettre asks for more.
struct BodyParts<'a> {
    body: Option<&'a [u8]>,
    done: &'a mut bool,
}

impl<'a> Iterator for BodyParts<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let next = self.body.take();
        if next.is_none() {
            *self.done = true;
        }
        next
    }
}

impl SmtpCore {
    fn status_code(&self) -> u32 {
        match self.link {
            Link::Unconfigured | Link::Guarded | Link::Down(_) => STATUS_OFFLINE,
            Link::Idle | Link::Up(_) => STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED,
        }
    }

    fn status_text(&self) -> String {
        match &self.link {
            Link::Unconfigured => {
                "offline: no SMTP server configured (recipients pass to the next transport)".into()
            }
            Link::Guarded => format!(
                "offline: {GUARD_TEXT}; {} is not one, so its recipients pass to the next transport",
                self.host()
            ),
            Link::Idle => format!("ready: {} (connects on the first message)", self.endpoint()),
            Link::Up(d) => format!("connected to {d}"),
            Link::Down(why) => format!("offline: {why}; messages wait for a retry"),
        }
    }

    /// One hand-off; with `gate`, its final dot waits there (background hand-offs only: on
    /// the spooler's thread the wait could never end).
    fn submit(&mut self, view: &SubmitView<'_>, gate: Option<&CommitGate>) -> Handoff {
        self.deliver_for_real = view.deliver_for_real;
        match self.logon_state(view.deliver_for_real) {
            Link::Unconfigured => {
                self.link = Link::Unconfigured;
                return Handoff::refused(SubmitResult::NotMe);
            }
            Link::Guarded => {
                // Never a byte to a server beyond this machine while the switch is off.
                self.conn = None;
                self.link = Link::Guarded;
                return Handoff::refused(SubmitResult::NotMe);
            }
            _ => {
                if matches!(self.link, Link::Unconfigured | Link::Guarded) {
                    self.link = Link::Idle;
                }
            }
        }
        let mut outcomes = Vec::new();
        let mut rcpts = Vec::new();
        for row in &view.rows {
            let Some(r) = view.msg.recipient(*row) else {
                continue;
            };
            match r.email().parse::<lettre::Address>() {
                Ok(a) => rcpts.push((*row, a)),
                Err(e) => outcomes.push((
                    *row,
                    RowOutcome::Failed(format!(
                        "{:?} is not a valid Internet address: {e}",
                        r.email()
                    )),
                )),
            }
        }
        if rcpts.is_empty() {
            return Handoff::sent(outcomes);
        }
        let from: lettre::Address = match view.sender.1.parse() {
            Ok(a) => a,
            Err(e) => {
                let why = format!("the profile's sender address {:?}: {e}", view.sender.1);
                outcomes.extend(
                    rcpts
                        .iter()
                        .map(|(r, _)| (*r, RowOutcome::Failed(why.clone()))),
                );
                return Handoff::sent(outcomes);
            }
        };
        let good: Vec<u32> = rcpts.iter().map(|(r, _)| *r).collect();
        let bytes = match eml::render(view.msg, &good, &view.sender) {
            Ok(b) => b,
            Err(e) => {
                outcomes.extend(good.iter().map(|r| (*r, RowOutcome::Failed(e.clone()))));
                return Handoff::sent(outcomes);
            }
        };
        // A kept connection may have been closed by the server while idle: one reconnect,
        // and only when nothing of this message has been sent yet.
        for attempt in 0..2 {
            let reused = self.conn.as_ref().is_some_and(|c| !c.has_broken());
            if !reused {
                match self.connect() {
                    Ok((c, pipelining)) => {
                        self.link = Link::Up(if pipelining {
                            format!("{}, PIPELINING", self.endpoint())
                        } else {
                            self.endpoint()
                        });
                        self.conn = Some(c);
                        self.pipelining = pipelining;
                    }
                    Err(why) => {
                        self.conn = None;
                        self.link = Link::Down(why.clone());
                        return Handoff::refused(SubmitResult::NetworkError(0, why));
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match Self::transaction(conn, self.pipelining, &from, &rcpts, &bytes, gate) {
                Ok((mut got, spent)) => {
                    if spent {
                        self.conn = None;
                        self.link = Link::Idle;
                    }
                    outcomes.append(&mut got);
                    return Handoff::sent(outcomes);
                }
                Err(Abort::BeforeDot(why)) => {
                    self.conn = None;
                    if reused && attempt == 0 {
                        continue;
                    }
                    self.link = Link::Down(why.clone());
                    return Handoff::refused(SubmitResult::NetworkError(0, why));
                }
                Err(Abort::Withdrawn(why)) => {
                    self.conn = None;
                    self.link = Link::Idle;
                    return Handoff::refused(SubmitResult::NetworkError(0, why));
                }
                Err(Abort::AfterDot(mut got)) => {
                    self.conn = None;
                    self.link = Link::Idle;
                    outcomes.append(&mut got);
                    return Handoff::sent(outcomes);
                }
            }
        }
        Handoff::refused(SubmitResult::NetworkError(
            0,
            format!("{}: the connection broke twice", self.endpoint()),
        ))
    }
}

/// A hand-off's view, owned, to cross to the transport's thread.
struct OwnedView {
    msg: crate::mapi::Message,
    rows: Vec<u32>,
    begin_deferred: bool,
    sender: (String, String),
    deliver_for_real: bool,
    store_root: PathBuf,
    gate: Option<CommitGate>,
}

impl OwnedView {
    fn of(v: &SubmitView<'_>) -> Self {
        Self {
            msg: v.msg.clone(),
            rows: v.rows.clone(),
            begin_deferred: v.begin_deferred,
            sender: v.sender.clone(),
            deliver_for_real: v.deliver_for_real,
            store_root: v.store_root.clone(),
            gate: v.gate.clone(),
        }
    }

    fn view(&self) -> SubmitView<'_> {
        SubmitView {
            msg: &self.msg,
            rows: self.rows.clone(),
            begin_deferred: self.begin_deferred,
            sender: self.sender.clone(),
            deliver_for_real: self.deliver_for_real,
            store_root: self.store_root.clone(),
            gate: self.gate.clone(),
        }
    }
}

/// One job for the transport's thread: a background hand-off (`reply` None: the result goes
/// to the results channel and the spooler is woken) or a synchronous one.
struct Job {
    view: OwnedView,
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
        }
    }

    /// Reads the password from this file instead of the user's default credentials file.
    #[must_use]
    pub fn with_credentials_file(mut self, path: PathBuf) -> Self {
        if let Some(c) = &mut self.core {
            c.credentials = Some(path);
        }
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
            let spawned = std::thread::Builder::new()
                .name(format!("spoolbox-smtp-{}", self.name))
                .spawn(move || {
                    for job in job_rx {
                        // A synchronous job runs while the spooler waits for it: no gate.
                        let gate = match job.reply {
                            None => job.view.gate.as_ref(),
                            Some(_) => None,
                        };
                        let h = core.submit(&job.view.view(), gate);
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
        refused || crate::store::fs::fail_points_armed()
    }

    fn collect(&mut self) {
        if let Some(w) = &self.worker {
            while let Ok(f) = w.results.try_recv() {
                self.in_flight.pop_front();
                self.done.push_back(f);
            }
        }
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
                    view: OwnedView::of(view),
                    reply: Some(tx),
                })
                .is_ok()
        });
        match rx.recv() {
            Ok(h) if sent => h,
            _ => Handoff::refused(SubmitResult::NetworkError(
                0,
                "the SMTP transport's thread has stopped".into(),
            )),
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
            view: OwnedView::of(view),
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
            let _ = c.quit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_at_line_starts_are_doubled_and_the_terminator_added() {
        assert_eq!(dot_stuffed("a\r\n.b\r\n..\r\n"), "a\r\n..b\r\n...\r\n.\r\n");
        assert_eq!(dot_stuffed(".x"), "..x\r\n.\r\n");
        assert_eq!(
            dot_stuffed("x.\n.y"),
            "x.\n.y\r\n.\r\n",
            "a bare LF starts no line"
        );
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "smtp.example.com",
            "10.0.0.1",
            "192.168.1.1",
            "::2",
            "localhost.example.com",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn an_unconfigured_or_guarded_transport_is_offline_and_declines() {
        use crate::mapi::{EntryId, Message, Recipient, RecipientKind};
        let mut m = Message::draft(EntryId(1), EntryId(2), "s");
        m.recipients.push(Recipient::new(
            0,
            "",
            "a@example.com",
            "SMTP",
            RecipientKind::To,
        ));
        let view = |real| SubmitView {
            msg: &m,
            rows: vec![0],
            begin_deferred: false,
            sender: (String::new(), "me@example.com".into()),
            deliver_for_real: real,
            store_root: PathBuf::from("."),
            gate: None,
        };
        let mut t = SmtpTransport::new("SMTP", &["SMTP".into()], SmtpSettings::default(), false);
        assert_eq!(t.status_code(), STATUS_OFFLINE);
        assert_eq!(t.submit_message(&view(false)).result, SubmitResult::NotMe);
        let remote = SmtpSettings {
            host: "smtp.example.com".into(),
            port: 25,
            ..SmtpSettings::default()
        };
        let mut t = SmtpTransport::new("SMTP", &["SMTP".into()], remote, false);
        assert_eq!(t.status_code(), STATUS_OFFLINE);
        assert!(t.status_text().contains(GUARD_TEXT), "{}", t.status_text());
        assert_eq!(t.submit_message(&view(false)).result, SubmitResult::NotMe);
        assert!(t.core.as_ref().is_some_and(|c| c.conn.is_none()));
    }
}
