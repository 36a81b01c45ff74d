//! The SMTP transport's wire: the socket (plain, STARTTLS or implicit TLS through rustls),
//! commands written out and replies read back, with bounds on everything the server sends
//! (issue 16): a reply line longer than [`Limits::max_line`] or a reply larger than
//! [`Limits::max_reply`] stops the read with an error (lettre's reader grew a line without a
//! newline until memory ran out); every reply must come within the command's deadline (and
//! the message's), however slowly the bytes drip in (Postfix's `smtp_per_record_deadline`:
//! a server that sends one byte a second no longer holds a message for minutes); a silent
//! server is a timeout named as one ("timed out after 30 s waiting for the reply to RCPT TO").

mod commands;
mod reply;
mod stream;
mod transcript;

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use commands::Offers;
use reply::parse_line;
pub use reply::{Expect, Reply, WireError};
use stream::{Stream, tls_stream};
pub use stream::{TlsError, tls_config};
pub use transcript::{TRANSCRIPT_LINES, Transcript};

/// The bounds of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest wait for any one read or write (the profile's `timeout_secs`).
    pub timeout: Duration,
    /// The longest a command's reply may take in all, bytes trickling in or not.
    pub command_deadline: Duration,
    /// The longest one message's whole transaction may take (MAIL to the final reply).
    pub message_deadline: Duration,
    /// The longest reply line accepted (RFC 5321 section 4.5.3.1.5 says 512 with the CRLF).
    pub max_line: usize,
    /// The largest reply accepted (all its lines).
    pub max_reply: usize,
}

/// The longest reply line read: far above RFC 5321's 512, as Postfix's `line_length_limit`.
pub const MAX_LINE: usize = 2048;
/// The largest reply read (an EHLO listing every extension is a few hundred bytes).
pub const MAX_REPLY: usize = 64 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            command_deadline: Duration::from_mins(5),
            message_deadline: Duration::from_mins(30),
            max_line: MAX_LINE,
            max_reply: MAX_REPLY,
        }
    }
}

/// One connection to an SMTP server.
pub struct Conn {
    stream: Stream,
    /// Bytes read and not yet taken as reply lines.
    buf: Vec<u8>,
    limits: Limits,
    /// Set for a transaction: no reply may come after it.
    message_deadline: Option<Instant>,
    broken: bool,
    /// What the last EHLO offered.
    pub offers: Offers,
    /// What went over the wire since the transport last took it.
    pub transcript: Transcript,
    /// Messages written out in full with their final dot.
    messages_sent: u64,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("limits", &self.limits)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Connects to the first of `addrs` that answers within the timeout; with `implicit`, TLS
    /// from the first byte for `host`. Reads the greeting.
    ///
    /// # Errors
    /// Why no connection could be made or the greeting was not 220.
    pub fn connect(
        addrs: &[SocketAddr],
        limits: Limits,
        implicit: Option<(&Arc<rustls::ClientConfig>, &str)>,
    ) -> Result<Self, WireError> {
        let mut last = None;
        let mut tcp = None;
        for a in addrs {
            match TcpStream::connect_timeout(a, limits.timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let mut transcript = Transcript::default();
        if let Some(a) = tcp.as_ref().and_then(|t| t.peer_addr().ok()) {
            transcript.note(&format!(
                "connected to {a}{}",
                if implicit.is_some() {
                    " (TLS from the first byte)"
                } else {
                    ""
                }
            ));
        }
        let tcp = tcp.ok_or_else(|| WireError::Io {
            text: last.map_or_else(|| "no address to connect to".into(), |e| e.to_string()),
            write: false,
        })?;
        let _ = tcp.set_nodelay(true);
        let stream = match implicit {
            Some((config, host)) => {
                tls_stream(tcp, config, host).map_err(|e| WireError::Protocol(e.to_string()))?
            }
            None => Stream::Plain(tcp),
        };
        let mut c = Self {
            stream,
            buf: Vec::new(),
            limits,
            message_deadline: None,
            broken: false,
            offers: Offers::default(),
            transcript,
            messages_sent: 0,
        };
        let greeting = c.read_reply("the greeting")?;
        if greeting.code != 220 {
            c.broken = true;
            return Err(WireError::Reply(greeting));
        }
        Ok(c)
    }

    /// How many messages were written out in full, with their final dot, since the
    /// connection opened or [`Conn::count_messages_from_now`].
    pub fn messages_sent(&self) -> u64 {
        self.messages_sent
    }

    /// Starts [`Conn::messages_sent`] again from zero (a new hand-off on a kept line).
    pub fn count_messages_from_now(&mut self) {
        self.messages_sent = 0;
    }

    /// True once the connection failed (a read or write error, a timeout, a protocol error):
    /// it must not be used again.
    pub fn has_broken(&self) -> bool {
        self.broken
    }

    /// True when the connection is encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// No reply of this transaction may come after `deadline` (None: the end of it).
    pub fn set_message_deadline(&mut self, deadline: Option<Instant>) {
        self.message_deadline = deadline;
    }

    /// The limits this connection reads with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Writes `bytes` (a command, pipelined commands, or the message with its dot) in full,
    /// within the timeout for each write and the message's deadline.
    ///
    /// # Errors
    /// [`WireError::Io`] with `write` set, or a timeout; the connection is broken either way.
    pub fn send(&mut self, bytes: &[u8], what: &str) -> Result<(), WireError> {
        self.transcript.sent(bytes, what);
        let r = self.send_inner(bytes, what);
        match &r {
            Err(e) => self.transcript.note(&format!("({e})")),
            Ok(()) if what == "the message" => self.messages_sent += 1,
            Ok(()) => {}
        }
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    fn send_inner(&mut self, bytes: &[u8], what: &str) -> Result<(), WireError> {
        let started = Instant::now();
        let mut rest = bytes;
        while !rest.is_empty() {
            // Writing a large message may take long: only the message's deadline bounds it (and
            // the timeout each write).
            let wait = self.wait_left(
                started,
                self.limits.message_deadline,
                "the deadline for one message",
                &format!("the server to take {what}"),
            )?;
            if let Some(t) = self.stream.tcp() {
                let _ = t.set_write_timeout(Some(wait.min(self.limits.timeout)));
            }
            // At most 64 KiB a write, so that the deadline is looked at between them.
            let chunk = rest.get(..rest.len().min(64 * 1024)).unwrap_or(rest);
            match self.stream.write(chunk) {
                Ok(0) => {
                    return Err(WireError::Io {
                        text: format!("the connection closed while sending {what}"),
                        write: true,
                    });
                }
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    return Err(WireError::Timeout(format!(
                        "timed out after {} s sending {what} (the server takes no more data)",
                        self.limits.timeout.as_secs()
                    )));
                }
                Err(e) => {
                    return Err(WireError::Io {
                        text: format!("sending {what}: {e}"),
                        write: true,
                    });
                }
            }
        }
        self.stream.flush().map_err(|e| WireError::Io {
            text: format!("sending {what}: {e}"),
            write: true,
        })
    }

    /// How long the current read or write may still wait: the command's deadline from
    /// `started`, and the message's.
    fn wait_left(
        &self,
        started: Instant,
        command: Duration,
        label: &str,
        what: &str,
    ) -> Result<Duration, WireError> {
        self.wait_bound(started, command, label).map_or_else(
            |(secs, which)| {
                Err(WireError::Timeout(format!(
                    "timed out after {secs} s ({which}) waiting for {what}"
                )))
            },
            |(left, _, _)| Ok(left),
        )
    }

    /// The time left before the nearer of the command's deadline (from `started`) and the
    /// message's, with that deadline's length and name; `Err` with them when none is left.
    fn wait_bound<'a>(
        &self,
        started: Instant,
        command: Duration,
        label: &'a str,
    ) -> Result<(Duration, u64, &'a str), (u64, &'a str)> {
        let now = Instant::now();
        let mut left = started
            .checked_add(command)
            .map_or(Duration::MAX, |end| end.saturating_duration_since(now));
        let mut which = label;
        let mut secs = command.as_secs();
        if let Some(m) = self.message_deadline {
            let m_left = m.saturating_duration_since(now);
            if m_left < left {
                left = m_left;
                which = "the deadline for one message";
                secs = self.limits.message_deadline.as_secs();
            }
        }
        if left.is_zero() {
            return Err((secs, which));
        }
        Ok((left, secs, which))
    }

    /// Reads one reply. A negative one is an error ([`WireError::Reply`]); the connection
    /// stays usable after it, and only after it.
    ///
    /// # Errors
    /// A negative reply, a timeout, a protocol error, a closed or failed connection.
    pub fn read_reply(&mut self, what: &str) -> Result<Reply, WireError> {
        let r = self.read_reply_inner(what);
        match &r {
            Ok(reply) => {
                let n = reply.lines.len();
                for (i, l) in reply.lines.iter().enumerate() {
                    let sep = if i + 1 == n { ' ' } else { '-' };
                    self.transcript.note(&format!("S: {}{sep}{l}", reply.code));
                }
            }
            Err(e) => self.transcript.note(&format!("({e})")),
        }
        match r {
            Ok(r) if r.is_positive() => Ok(r),
            Ok(r) => Err(WireError::Reply(r)),
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// `reply` (to `what`) when it is the reply `want` names. Any other positive reply (a 354
    /// after the final dot, a 250 to DATA) means the client and the server are out of step:
    /// whatever the server meant, the replies that follow would answer other commands
    /// (RFC 5321 sections 4.2.1 and 4.3.2). It is a protocol error and the connection is closed.
    ///
    /// # Errors
    /// [`WireError::Protocol`] naming the reply and what was expected.
    pub fn in_step(&mut self, reply: Reply, what: &str, want: Expect) -> Result<Reply, WireError> {
        if want.admits(reply.code) {
            return Ok(reply);
        }
        let e = WireError::Protocol(format!(
            "the server answered {what} with \"{}\" where RFC 5321 expects {}: the dialogue is out of step, so the connection was closed",
            reply.text().chars().take(120).collect::<String>(),
            want.name()
        ));
        self.transcript.note(&format!("({e})"));
        self.abort();
        Err(e)
    }

    /// What the server sent that no command asked for, or that it closed the connection,
    /// looked at without waiting: bytes left after the last reply, or arriving on the socket
    /// (through TLS: received records too). Between transactions a kept connection must be
    /// quiet; anything there (a late second reply to the last message, a 421 before an idle
    /// close) means the next reply read would not be the next command's: the connection is
    /// closed and `Some` says what was there. `None`: quiet, the connection may be used.
    pub fn unasked_input(&mut self) -> Option<String> {
        if self.buf.is_empty() {
            let mut chunk = [0u8; 512];
            let why = match self.stream.read_now(&mut chunk) {
                Ok(None) => return None,
                Ok(Some(0)) => Some("the server closed the connection".to_owned()),
                Ok(Some(n)) => {
                    self.buf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    None
                }
                Err(e) => Some(format!("the connection failed ({e})")),
            };
            if let Some(why) = why {
                self.abort();
                return Some(why);
            }
        }
        let first = String::from_utf8_lossy(&self.buf);
        let first = first.lines().next().unwrap_or_default();
        let why = format!(
            "the server sent {:?} that no command asked for: the dialogue is out of step",
            first.chars().take(120).collect::<String>()
        );
        self.transcript.note(&format!("S: {first}"));
        self.abort();
        Some(why)
    }

    fn read_reply_inner(&mut self, what: &str) -> Result<Reply, WireError> {
        let started = Instant::now();
        let mut code = None;
        let mut lines = Vec::new();
        let mut size = 0;
        loop {
            // Whole lines already read.
            while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=nl).collect();
                size += raw.len();
                if raw.len() > self.limits.max_line {
                    return Err(WireError::Protocol(format!(
                        "the reply to {what} has a line of {} bytes (at most {} are read)",
                        raw.len(),
                        self.limits.max_line
                    )));
                }
                if size > self.limits.max_reply {
                    return Err(WireError::Protocol(format!(
                        "the reply to {what} is over {} bytes; not read further",
                        self.limits.max_reply
                    )));
                }
                let line = String::from_utf8_lossy(&raw);
                let line = line.trim_end_matches(['\r', '\n']);
                let (c, last, text) = parse_line(line).ok_or_else(|| {
                    WireError::Protocol(format!(
                        "the server answered {what} with something that is not an SMTP reply: {:?}",
                        line.chars().take(80).collect::<String>()
                    ))
                })?;
                if code.is_some_and(|k| k != c) {
                    return Err(WireError::Protocol(format!(
                        "the reply to {what} changes its code from line to line ({} then {c})",
                        code.unwrap_or_default()
                    )));
                }
                code = Some(c);
                lines.push(text.to_owned());
                if last {
                    return Ok(Reply { code: c, lines });
                }
            }
            if self.buf.len() > self.limits.max_line {
                return Err(WireError::Protocol(format!(
                    "the reply to {what} has a line of over {} bytes without an end; not read further",
                    self.limits.max_line
                )));
            }
            let wait = self.wait_left(
                started,
                self.limits.command_deadline,
                "the deadline for one command",
                &format!("the reply to {what}"),
            )?;
            // When a deadline, not the read timeout, bounds this read, its expiry is named as
            // that deadline's (the read's own timer fires at the same moment).
            let deadline = (wait < self.limits.timeout).then(|| {
                self.wait_bound(
                    started,
                    self.limits.command_deadline,
                    "the deadline for one command",
                )
                .map_or_else(|(s, w)| (s, w), |(_, s, w)| (s, w))
            });
            if let Some(t) = self.stream.tcp() {
                let _ = t.set_read_timeout(Some(wait.min(self.limits.timeout)));
            }
            let mut chunk = [0u8; 4096];
            // Never more than the line limit can still take: a flood is cut where it starts.
            let room = (self.limits.max_line + 1)
                .saturating_sub(self.buf.len())
                .clamp(1, chunk.len());
            let Some(dst) = chunk.get_mut(..room) else {
                continue;
            };
            match self.stream.read(dst) {
                Ok(0) => {
                    return Err(WireError::Closed(format!(
                        "the server closed the connection instead of answering {what}"
                    )));
                }
                Ok(n) => self.buf.extend_from_slice(dst.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    if let Some((secs, which)) = deadline {
                        return Err(WireError::Timeout(format!(
                            "timed out after {secs} s ({which}) waiting for the reply to {what}"
                        )));
                    }
                    let waited = started.elapsed().as_secs_f64().round();
                    return Err(WireError::Timeout(format!(
                        "timed out after {waited} s waiting for the reply to {what}"
                    )));
                }
                Err(e) => {
                    return Err(WireError::Io {
                        text: format!("reading the reply to {what}: {e}"),
                        write: false,
                    });
                }
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

#[cfg(all(test, unix))]
mod tests;
