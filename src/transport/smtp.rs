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

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailBodyParameter, MailParameter};

use super::smtp_wire::{Conn, Limits, WireError};
use super::{Handoff, RowOutcome, SubmitResult, SubmitView, Transport, credentials};
use crate::durable::gate::CommitGate;
use crate::eml;
use crate::mapi::EntryId;
use crate::mapi::flags::{STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ENABLED};
use crate::profile::{SmtpSettings, TlsMode};

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

impl SmtpCore {
    fn new(settings: SmtpSettings, deliver_for_real: bool) -> Self {
        let mut t = Self {
            settings,
            deliver_for_real,
            credentials: None,
            conn: None,
            pipelining: false,
            link: Link::Idle,
            transcript: Vec::new(),
            rendered: Vec::new(),
            sent_on_dropped: 0,
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

    /// The bounds of a connection: the profile's timeout and deadlines (0: the defaults).
    fn limits(&self) -> Limits {
        let or = |v: u64, d: u64| Duration::from_secs(if v == 0 { d } else { v });
        Limits {
            timeout: Duration::from_secs(self.settings.timeout_secs.max(1)),
            command_deadline: or(
                self.settings.command_deadline_secs,
                crate::profile::SMTP_COMMAND_DEADLINE,
            ),
            message_deadline: or(
                self.settings.message_deadline_secs,
                crate::profile::SMTP_MESSAGE_DEADLINE,
            ),
            ..Limits::default()
        }
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
    fn connect(&self) -> Result<(Conn, bool), String> {
        let addrs = self.resolve()?;
        let hello = ClientId::default().to_string();
        let host = self.host();
        let bare = host
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(host);
        let tls = match self.settings.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Implicit => {
                Some(super::smtp_wire::tls_config().map_err(|e| format!("{e} for {host}"))?)
            }
        };
        let implicit = match (&tls, self.settings.tls) {
            (Some(c), TlsMode::Implicit) => Some((c, bare)),
            _ => None,
        };
        let mut conn = Conn::connect(addrs.as_slice(), self.limits(), implicit)
            .map_err(|e| format!("cannot connect to {}: {}", self.endpoint(), error_text(&e)))?;
        conn.ehlo(&hello)
            .map_err(|e| format!("EHLO to {}: {}", self.endpoint(), error_text(&e)))?;
        if let (TlsMode::StartTls, Some(config)) = (self.settings.tls, &tls) {
            if !conn.offers.starttls {
                conn.abort();
                return Err(format!(
                    "{} does not offer STARTTLS; not sending in plain text",
                    self.endpoint()
                ));
            }
            conn.starttls(config, bare)
                .and_then(|()| conn.ehlo(&hello))
                .map_err(|e| format!("STARTTLS with {}: {}", self.endpoint(), error_text(&e)))?;
        }
        let pipelining = conn.offers.pipelining;
        if let Some(user) = self.settings.username.as_deref().filter(|u| !u.is_empty()) {
            if !conn.is_encrypted() && !is_loopback_host(self.host()) {
                conn.abort();
                return Err(format!(
                    "{} is not encrypted; the password is never sent in plain text (set TLS to starttls or implicit)",
                    self.endpoint()
                ));
            }
            let password = self.password(user)?;
            conn.auth(user, &password).map_err(|e| {
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
        conn: &mut Conn,
        pipelining: bool,
        from: &lettre::Address,
        rcpts: &[(u32, lettre::Address)],
        body: &[u8],
        gate: Option<&CommitGate>,
    ) -> Result<(Vec<(u32, RowOutcome)>, bool), Abort> {
        // The whole transaction, MAIL to the reply after the final dot, within the message's
        // deadline.
        conn.set_message_deadline(
            std::time::Instant::now().checked_add(conn.limits().message_deadline),
        );
        let mut params = Vec::new();
        if !body.is_ascii() && conn.offers.eight_bit_mime {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let any_utf8 =
            !from.to_string().is_ascii() || rcpts.iter().any(|(_, a)| !a.to_string().is_ascii());
        if any_utf8 && conn.offers.smtp_utf8 {
            params.push(MailParameter::SmtpUtfEight);
        }
        let mut commands = vec![(
            Mail::new(Some(from.clone()), params).to_string(),
            "MAIL FROM".to_owned(),
        )];
        commands.extend(rcpts.iter().map(|(_, a)| {
            (
                Rcpt::new(a.clone(), Vec::new()).to_string(),
                format!("RCPT TO:<{a}>"),
            )
        }));
        commands.push((Data.to_string(), "DATA".to_owned()));
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
                let _ = conn.command("RSET\r\n", "RSET");
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
                let _ = conn.command("RSET\r\n", "RSET");
            }
            return Ok((outcomes, spent));
        }
        if let Err(e) = replies.next(conn) {
            let Some(o) = row_outcome(&e) else {
                return Err(Abort::BeforeDot(error_text(&e)));
            };
            outcomes.extend(accepted.iter().map(|row| (*row, o.clone())));
            if !is_421(&e) {
                let _ = conn.command("RSET\r\n", "RSET");
            }
            return Ok((outcomes, is_421(&e)));
        }
        // The point of no return: once the dot is out the server may deliver. The previous
        // hand-off's marks must be durable by then (see `durable::gate`); they were being
        // synced while MAIL, RCPT and DATA went out. Withdrawn, the connection is dropped
        // (no way out of DATA but that) and the server discards the unfinished message.
        if let Some(g) = gate
            && let Err(why) = g.wait(GATE_WAIT)
        {
            return Err(Abort::Withdrawn(format!(
                "withdrawn before the final DATA dot: {why}; nothing was delivered"
            )));
        }
        // The message and its final dot go out in one write (a small second write for the dot
        // would wait for the ACK of the first, Nagle, which the server delays because it is
        // waiting for the dot). A failed write means the dot never left; a failure after it
        // may have come after the server had the whole message.
        let data = dot_stuffed(body);
        let sent = conn.send(&data, "the message");
        let body_written = sent.is_ok();
        let reply = sent.and_then(|()| conn.read_reply("the message (after the final dot)"));
        match reply {
            Ok(r) => {
                let text = r.text();
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

/// The replies to a transaction's MAIL, RCPTs and DATA, in order: each command is sent as its
/// reply is asked for, or (pipelined) with the ones after it, up to [`PIPELINE_BATCH`] bytes.
struct Replies {
    /// (command line, what it is called in an error).
    commands: std::iter::Peekable<std::vec::IntoIter<(String, String)>>,
    pipelined: bool,
    /// Commands sent whose replies have not been read, by name.
    unread: VecDeque<String>,
}

impl Replies {
    fn new(commands: Vec<(String, String)>, pipelined: bool) -> Self {
        Self {
            commands: commands.into_iter().peekable(),
            pipelined,
            unread: VecDeque::new(),
        }
    }

    /// The next command's reply (sending it, or the next batch of commands, first if not yet
    /// sent).
    fn next(&mut self, conn: &mut Conn) -> Result<super::smtp_wire::Reply, WireError> {
        if self.unread.is_empty() {
            let mut batch = String::new();
            // At least one command; pipelined, more while the batch stays small.
            while let Some((c, what)) = self.commands.next_if(|(c, _)| {
                batch.is_empty() || (self.pipelined && batch.len() + c.len() <= PIPELINE_BATCH)
            }) {
                batch.push_str(&c);
                self.unread.push_back(what);
            }
            let what = self.unread.front().cloned().unwrap_or_default();
            conn.send(batch.as_bytes(), &what)?;
        }
        let what = self.unread.pop_front().unwrap_or_default();
        conn.read_reply(&what)
    }

    /// Reads the replies still due for commands already sent (the rest are never sent), after
    /// the transaction ended early (a refused sender, no recipient accepted): true if the
    /// connection is spent (it broke, the server is closing, or it accepted DATA anyway and
    /// only dropping the connection can end that without a message).
    fn drain(&mut self, conn: &mut Conn) -> bool {
        while !self.unread.is_empty() {
            // DATA is the last command: its reply is the last one due with nothing left unsent.
            let data = self.unread.len() == 1 && self.commands.peek().is_none();
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
fn dot_stuffed(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 64 + 8);
    let mut line_start = true;
    let mut after_cr = false;
    for &b in text {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = after_cr && b == b'\n';
        after_cr = b == b'\r';
    }
    out.extend_from_slice(if text.ends_with(b"\r\n") {
        b".\r\n"
    } else {
        b"\r\n.\r\n"
    });
    out
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

    /// Drops the kept connection, keeping what it carried for the hand-off's transcript.
    fn drop_conn(&mut self) {
        if let Some(mut c) = self.conn.take() {
            self.transcript.append(&mut c.transcript.take());
            self.sent_on_dropped += c.messages_sent();
        }
    }

    /// One hand-off; with `gate`, its final dot waits there (background hand-offs only: on
    /// the spooler's thread the wait could never end). The hand-off carries its transcript
    /// and, once the message went out, the path of the exact bytes kept under `sent/`.
    fn submit(&mut self, view: &SubmitView<'_>, gate: Option<&CommitGate>) -> Handoff {
        self.transcript.clear();
        self.rendered.clear();
        self.sent_on_dropped = 0;
        let mut lines = Vec::new();
        if let Some(c) = self.conn.as_mut().filter(|c| !c.has_broken()) {
            // What the line carried between hand-offs (nothing, or a QUIT that failed).
            c.transcript.take();
            c.count_messages_from_now();
            lines.push(format!(
                "(on the connection kept from an earlier message: {})",
                match &self.link {
                    Link::Up(d) => d.clone(),
                    _ => self.endpoint(),
                }
            ));
        }
        let mut h = self.submit_once(view, gate);
        // The message went out (its final dot was written) on the kept line or on one
        // dropped since.
        let handed_over =
            self.sent_on_dropped > 0 || self.conn.as_ref().is_some_and(|c| c.messages_sent() > 0);
        lines.append(&mut self.transcript);
        if let Some(c) = self.conn.as_mut() {
            lines.append(&mut c.transcript.take());
        }
        h.transcript = lines;
        if handed_over && !self.rendered.is_empty() {
            h.kept = super::keep_sent_bytes(&view.store_root, view.msg, &self.rendered);
        }
        self.rendered.clear();
        h
    }

    fn submit_once(&mut self, view: &SubmitView<'_>, gate: Option<&CommitGate>) -> Handoff {
        #[cfg(test)]
        tests::poison(view.msg);
        self.deliver_for_real = view.deliver_for_real;
        match self.logon_state(view.deliver_for_real) {
            Link::Unconfigured => {
                self.link = Link::Unconfigured;
                return Handoff::refused(SubmitResult::NotMe);
            }
            Link::Guarded => {
                // Never a byte to a server beyond this machine while the switch is off.
                self.drop_conn();
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
        self.rendered = match eml::render(view.msg, &good, &view.sender) {
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
                        self.drop_conn();
                        self.link = Link::Down(why.clone());
                        return Handoff::refused(SubmitResult::NetworkError(0, why));
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match Self::transaction(conn, self.pipelining, &from, &rcpts, &self.rendered, gate) {
                Ok((mut got, spent)) => {
                    if spent {
                        self.drop_conn();
                        self.link = Link::Idle;
                    }
                    outcomes.append(&mut got);
                    return Handoff::sent(outcomes);
                }
                Err(Abort::BeforeDot(why)) => {
                    self.drop_conn();
                    if reused && attempt == 0 {
                        continue;
                    }
                    self.link = Link::Down(why.clone());
                    return Handoff::refused(SubmitResult::NetworkError(0, why));
                }
                Err(Abort::Withdrawn(why)) => {
                    self.drop_conn();
                    self.link = Link::Idle;
                    return Handoff::refused(SubmitResult::NetworkError(0, why));
                }
                Err(Abort::AfterDot(mut got)) => {
                    self.drop_conn();
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
                        let h = super::guarded(|| core.submit(&job.view.view(), gate))
                            .unwrap_or_else(|why| {
                                core.conn = None;
                                core.link = Link::Idle;
                                super::panicked(&name, &job.view.rows, &why)
                            });
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
                    view: OwnedView::of(view),
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
            c.quit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapi::{Message, Recipient, RecipientKind};

    /// Test messages that make the transport's thread panic (caught) or die.
    pub(super) fn poison(msg: &Message) {
        match msg.subject() {
            "panic in the thread" => panic!("test poison in the SMTP thread"),
            "kill the thread" => std::panic::panic_any(super::super::SimulatedCrash),
            _ => {}
        }
    }

    fn msg(eid: u64, subject: &str) -> Message {
        let mut m = Message::draft(EntryId(eid), EntryId(2), subject);
        m.recipients.push(Recipient::new(
            0,
            "",
            "a@example.com",
            "SMTP",
            RecipientKind::To,
        ));
        m
    }

    /// Starts a background hand-off of `m` and waits (at most 20 s) for its result.
    fn hand_off(t: &mut SmtpTransport, m: &Message) -> Handoff {
        let view = SubmitView {
            msg: m,
            rows: vec![0],
            begin_deferred: false,
            sender: (String::new(), "me@example.com".into()),
            deliver_for_real: false,
            store_root: PathBuf::from("."),
            gate: None,
        };
        if let Some(h) = t.start_submit(&view) {
            return h;
        }
        let t0 = std::time::Instant::now();
        while !t.poll_handoff() {
            assert!(t0.elapsed() < Duration::from_secs(20), "no answer");
            if let Some(rx) = t.completions() {
                let _ = rx.recv_timeout(Duration::from_millis(50));
            } else {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        t.start_submit(&view)
            .unwrap_or_else(|| Handoff::refused(SubmitResult::Busy))
    }

    #[test]
    fn a_panic_on_the_transport_thread_fails_that_message_and_the_line_goes_on() {
        // A closed port: good messages end in a network error, which shows the line works.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or(9, |a| a.port());
        let settings = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            timeout_secs: 2,
            ..SmtpSettings::default()
        };
        let mut t = SmtpTransport::new("SMTP", &["SMTP".into()], settings, false);
        let failed = |h: &Handoff, what: &str| {
            matches!(h.outcomes.as_slice(), [(0, RowOutcome::Failed(text))]
                if text.contains("MAPI_E_CORRUPT_DATA") && text.contains(what))
        };
        let h = hand_off(&mut t, &msg(1, "panic in the thread"));
        assert!(failed(&h, "test poison in the SMTP thread"), "{h:?}");
        let h = hand_off(&mut t, &msg(2, "good"));
        assert!(
            matches!(&h.result, SubmitResult::NetworkError(_, why) if why.contains("cannot connect")),
            "{h:?}"
        );
        // A panic that gets past the guard kills the thread: the transport notices, fails the
        // message it was on, restarts, and says so.
        let h = hand_off(&mut t, &msg(3, "kill the thread"));
        assert!(failed(&h, "thread stopped"), "{h:?}");
        assert!(t.status_text().contains("restarted"), "{}", t.status_text());
        let h = hand_off(&mut t, &msg(4, "good again"));
        assert!(
            matches!(&h.result, SubmitResult::NetworkError(_, why) if why.contains("cannot connect")),
            "{h:?}"
        );
    }

    #[test]
    fn dots_at_line_starts_are_doubled_and_the_terminator_added() {
        assert_eq!(
            dot_stuffed(b"a\r\n.b\r\n..\r\n"),
            b"a\r\n..b\r\n...\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(b".x"), b"..x\r\n.\r\n");
        assert_eq!(
            dot_stuffed(b"x.\n.y"),
            b"x.\n.y\r\n.\r\n",
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
