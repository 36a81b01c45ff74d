//! The commands of a session: EHLO (and what it offers), STARTTLS, AUTH, QUIT.

use std::sync::Arc;

use super::stream::{Stream, tls_stream};
use super::{Conn, Reply, WireError};

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

impl Conn {
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
            WireError::Protocol(e.to_string())
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
