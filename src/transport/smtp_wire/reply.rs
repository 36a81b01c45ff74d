//! Replies read back, and what can go wrong on the wire.

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

    /// 2yz: the command completed (RFC 5321 section 4.2.1).
    pub fn is_completion(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// "250 text text", all lines joined.
    pub fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" "))
            .trim_end()
            .to_owned()
    }
}

/// The reply a command must get to go on (RFC 5321 section 4.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A 2yz completion: MAIL, RCPT, RSET, and the final dot of the message.
    Completion,
    /// 354: DATA, before the message may be sent.
    StartData,
}

impl Expect {
    /// True when `code` is the reply expected.
    pub fn admits(self, code: u16) -> bool {
        match self {
            Self::Completion => (200..300).contains(&code),
            Self::StartData => code == 354,
        }
    }

    /// What was expected, for an error.
    pub fn name(self) -> &'static str {
        match self {
            Self::Completion => "a 2yz completion",
            Self::StartData => "354",
        }
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

/// A reply line: (code, last line, text).
pub(super) fn parse_line(line: &str) -> Option<(u16, bool, &str)> {
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
