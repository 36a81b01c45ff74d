//! The SMTP transport's wire: the socket (plain, STARTTLS or implicit TLS through rustls),
//! commands written out and replies read back, with bounds on everything the server sends
//! (issue 16): a reply line longer than [`Limits::max_line`] or a reply larger than
//! [`Limits::max_reply`] stops the read with an error (lettre's reader grew a line without a
//! newline until memory ran out); every reply must come within the command's deadline (and
//! the message's), however slowly the bytes drip in (Postfix's `smtp_per_record_deadline`:
//! a server that sends one byte a second no longer holds a message for minutes); a silent
//! server is a timeout named as one ("timed out after 30 s waiting for the reply to RCPT TO").

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

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

/// A reply: its code and the text of each line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text after the code on each line.
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// "250 text text", all lines joined.
    pub fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" "))
            .trim_end()
            .to_owned()
    }
}

/// What went wrong on the wire.
#[derive(Debug)]
pub enum WireError {
    /// A negative (4xx or 5xx) reply.
    Reply(Reply),
    /// Nothing (or not all) came in time; the text says how long and for what.
    Timeout(String),
    /// The server broke the protocol (garbage, a line or reply too long): the text says how.
    Protocol(String),
    /// The socket failed; `write` when it was a write (nothing after it was sent).
    Io {
        /// What failed, with the OS's error.
        text: String,
        /// It failed while writing.
        write: bool,
    },
    /// The server closed the connection.
    Closed(String),
}

impl WireError {
    /// The reply code of a negative reply.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Reply(r) => Some(r.code),
            _ => None,
        }
    }

    /// A 5xx reply.
    pub fn is_permanent(&self) -> bool {
        self.code().is_some_and(|c| (500..600).contains(&c))
    }

    /// A 4xx reply.
    pub fn is_transient(&self) -> bool {
        self.code().is_some_and(|c| (400..500).contains(&c))
    }

    /// A failed write: the bytes after the failure never left.
    pub fn write_failed(&self) -> bool {
        matches!(self, Self::Io { write: true, .. })
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Reply(r) => f.write_str(&r.text()),
            Self::Timeout(t) | Self::Protocol(t) | Self::Closed(t) | Self::Io { text: t, .. } => {
                f.write_str(t)
            }
        }
    }
}

/// The socket, plain or encrypted.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    /// Only while switching to TLS.
    Gone,
}

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Self::Plain(s) => Some(s),
            Self::Tls(s) => Some(s.get_ref()),
            Self::Gone => None,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
            Self::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
            Self::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
            Self::Gone => Ok(()),
        }
    }
}

/// What the server's EHLO reply offers.
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per EHLO keyword, as the reply lists them"
)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offers {
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// 8BITMIME.
    pub eight_bit_mime: bool,
    /// SMTPUTF8.
    pub smtp_utf8: bool,
    /// STARTTLS.
    pub starttls: bool,
    /// The AUTH mechanisms, upper case.
    pub auth: Vec<String>,
}

impl Offers {
    fn of(reply: &Reply) -> Self {
        let mut o = Self::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(k) = words.next() else { continue };
            match k.to_ascii_uppercase().as_str() {
                "PIPELINING" => o.pipelining = true,
                "8BITMIME" => o.eight_bit_mime = true,
                "SMTPUTF8" => o.smtp_utf8 = true,
                "STARTTLS" => o.starttls = true,
                "AUTH" => o.auth = words.map(str::to_ascii_uppercase).collect(),
                _ => {}
            }
        }
        o
    }
}

/// A client's TLS settings: the system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured,
/// as lettre did) and ring's crypto.
///
/// # Errors
/// A text saying why TLS could not be set up.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// At most this many lines of one hand-off's transcript are kept (a message to thousands of
/// recipients has a RCPT line and a reply for each); the rest are counted.
pub const TRANSCRIPT_LINES: usize = 400;

/// What went over the wire, for the trace: each command line (`C:`) and reply line (`S:`),
/// with the milliseconds since the record began. AUTH's arguments are never written, and the
/// message itself only as its size (its bytes are kept whole beside the message).
#[derive(Debug, Default)]
pub struct Transcript {
    started: Option<Instant>,
    lines: Vec<String>,
    dropped: usize,
}

impl Transcript {
    /// Adds a line.
    pub fn note(&mut self, text: &str) {
        let started = *self.started.get_or_insert_with(Instant::now);
        if self.lines.len() >= TRANSCRIPT_LINES {
            self.dropped += 1;
            return;
        }
        let ms = started.elapsed().as_millis();
        // A reply line is at most `Limits::max_line` long; the trace shows the start of it.
        let text: String = text.chars().take(300).collect();
        self.lines.push(format!("+{ms} ms {text}"));
    }

    /// The lines so far (and how many were left out), starting a new record.
    pub fn take(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.lines);
        if self.dropped > 0 {
            lines.push(format!(
                "({} more lines not kept: at most {TRANSCRIPT_LINES} per hand-off)",
                self.dropped
            ));
        }
        self.dropped = 0;
        self.started = None;
        lines
    }

    /// What a write of `bytes` (called `what`) shows: the command lines, AUTH's secrets and
    /// the message body left out.
    fn sent(&mut self, bytes: &[u8], what: &str) {
        match what {
            "the message" => self.note(&format!(
                "C: (the message, {} bytes after dot-stuffing, and the final dot)",
                bytes.len()
            )),
            "AUTH PLAIN" => self.note("C: AUTH PLAIN (credentials not shown)"),
            "AUTH LOGIN (user)" => self.note("C: (user name, base64, not shown)"),
            "AUTH LOGIN (password)" => self.note("C: (password not shown)"),
            _ => {
                for line in String::from_utf8_lossy(bytes).split("\r\n") {
                    if !line.is_empty() {
                        self.note(&format!("C: {line}"));
                    }
                }
            }
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

/// `ServerName` for the certificate check.
fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned()).map_err(|_| format!("{host} is not a valid host name"))
}

fn tls_stream(
    tcp: TcpStream,
    config: &Arc<rustls::ClientConfig>,
    host: &str,
) -> Result<Stream, String> {
    let conn = rustls::ClientConnection::new(Arc::clone(config), server_name(host)?)
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
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
            Some((config, host)) => tls_stream(tcp, config, host).map_err(WireError::Protocol)?,
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
            return Err(WireError::Timeout(format!(
                "timed out after {secs} s ({which}) waiting for {what}"
            )));
        }
        Ok(left)
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

    /// Sends a command line and reads its reply.
    ///
    /// # Errors
    /// As [`Conn::send`] and [`Conn::read_reply`].
    pub fn command(&mut self, line: &str, what: &str) -> Result<Reply, WireError> {
        self.send(line.as_bytes(), what)?;
        self.read_reply(what)
    }

    /// EHLO (HELO if refused with 5xx); remembers what the server offers.
    ///
    /// # Errors
    /// As [`Conn::command`].
    pub fn ehlo(&mut self, client: &str) -> Result<(), WireError> {
        match self.command(&format!("EHLO {client}\r\n"), "EHLO") {
            Ok(r) => {
                self.offers = Offers::of(&r);
                Ok(())
            }
            Err(e) if e.is_permanent() => {
                self.command(&format!("HELO {client}\r\n"), "HELO")?;
                self.offers = Offers::default();
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// STARTTLS, then the TLS handshake for `host`.
    ///
    /// # Errors
    /// A refusal, data sent along with the 220 (an injection attempt), a failed handshake.
    pub fn starttls(
        &mut self,
        config: &Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Result<(), WireError> {
        self.command("STARTTLS\r\n", "STARTTLS")?;
        if !self.buf.is_empty() {
            self.broken = true;
            return Err(WireError::Protocol(
                "the server sent data after its 220 to STARTTLS (refused: it could be injected)"
                    .into(),
            ));
        }
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            self.broken = true;
            return Err(WireError::Protocol(
                "STARTTLS on an encrypted connection".into(),
            ));
        };
        self.stream = tls_stream(tcp, config, host).map_err(|e| {
            self.broken = true;
            WireError::Protocol(e)
        })?;
        self.transcript.note(&format!(
            "(TLS with {host}: the handshake runs with the next command)"
        ));
        Ok(())
    }

    /// AUTH PLAIN (or LOGIN where only that is offered).
    ///
    /// # Errors
    /// The server's refusal, or no mechanism both sides know.
    pub fn auth(&mut self, user: &str, password: &str) -> Result<(), WireError> {
        use base64::Engine as _;
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let offered = |m: &str| self.offers.auth.iter().any(|a| a == m);
        if offered("PLAIN") || !offered("LOGIN") {
            let token = b64(format!("\0{user}\0{password}").as_bytes());
            self.command(&format!("AUTH PLAIN {token}\r\n"), "AUTH PLAIN")?;
            return Ok(());
        }
        self.command("AUTH LOGIN\r\n", "AUTH LOGIN")?;
        self.command(
            &format!("{}\r\n", b64(user.as_bytes())),
            "AUTH LOGIN (user)",
        )?;
        self.command(
            &format!("{}\r\n", b64(password.as_bytes())),
            "AUTH LOGIN (password)",
        )?;
        Ok(())
    }

    /// QUIT, politely; its reply does not matter.
    pub fn quit(&mut self) {
        if !self.broken {
            let _ = self.command("QUIT\r\n", "QUIT");
        }
        self.abort();
    }

    /// Drops the connection.
    pub fn abort(&mut self) {
        self.broken = true;
        if let Some(t) = self.stream.tcp() {
            let _ = t.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// A reply line: (code, last line, text).
fn parse_line(line: &str) -> Option<(u16, bool, &str)> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    if !(200..600).contains(&code) {
        return None;
    }
    match line.as_bytes().get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, line.get(4..).unwrap_or_default())),
        Some(b'-') => Some((code, false, line.get(4..).unwrap_or_default())),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_parse_and_garbage_does_not() {
        assert_eq!(parse_line("250 ok"), Some((250, true, "ok")));
        assert_eq!(
            parse_line("250-PIPELINING"),
            Some((250, false, "PIPELINING"))
        );
        assert_eq!(parse_line("354"), Some((354, true, "")));
        assert_eq!(parse_line("hello there"), None);
        assert_eq!(parse_line("25x ok"), None);
        assert_eq!(parse_line("250ok"), None);
        assert_eq!(parse_line("999 what"), None);
    }
}
