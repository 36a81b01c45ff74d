//! The transcript of a hand-off: what went over the wire, for the trace.

use std::time::Instant;

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
    pub(super) fn sent(&mut self, bytes: &[u8], what: &str) {
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
