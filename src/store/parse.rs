//! Parsing what the store reads: message files and `store.json`, each checked for a schema
//! version this build reads, or one sentence ([`ParseError`]) saying why it cannot be read.

use serde::Deserialize;

use crate::mapi::{Message, SCHEMA_VERSION};

#[derive(Deserialize)]
struct SchemaHead {
    schema: Option<u32>,
}

/// Why a message file (or `store.json`) cannot be read, in one sentence: what a quarantined
/// file's `.why` says. `what` names the kind of file ("message", "store.json").
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Zero bytes.
    #[error("empty {what} file (a write cut short)")]
    Empty {
        /// The kind of file.
        what: &'static str,
    },
    /// Only zero bytes: the blocks of a file whose contents were lost in a crash.
    #[error("{what} file is all zero bytes ({len} bytes): lost in a crash")]
    Zeros {
        /// The kind of file.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// Not text.
    #[error("{what} file is not valid UTF-8 text")]
    NotUtf8 {
        /// The kind of file.
        what: &'static str,
    },
    /// Written by a newer Spoolbox.
    #[error(
        "{what} file has schema version {version}, newer than this Spoolbox reads (up to {SCHEMA_VERSION}); open it with a newer Spoolbox"
    )]
    NewerSchema {
        /// The kind of file.
        what: &'static str,
        /// The file's schema version.
        version: u32,
    },
    /// No `schema` field.
    #[error("{what} file has no schema version")]
    NoSchema {
        /// The kind of file.
        what: &'static str,
    },
    /// JSON cut off before its end.
    #[error("truncated JSON ({len} bytes, cut off at line {line} column {column})")]
    Truncated {
        /// The file's length.
        len: usize,
        /// Where the JSON stops.
        line: usize,
        /// Where the JSON stops.
        column: usize,
    },
    /// JSON of a shape this build does not know.
    #[error("not a valid message: {0}")]
    Invalid(serde_json::Error),
}

/// Parses a message file, or says in one sentence why it cannot be read.
///
/// # Errors
/// The reason: empty, not UTF-8, not JSON, a newer schema, a shape this build does not know.
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    check_schema(bytes, "message")?;
    serde_json::from_slice::<Message>(bytes).map_err(|e| describe_json_error(bytes, e))
}

pub(super) fn check_schema(bytes: &[u8], what: &'static str) -> Result<(), ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty { what });
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(ParseError::Zeros {
            what,
            len: bytes.len(),
        });
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(ParseError::NotUtf8 { what });
    }
    match serde_json::from_slice::<SchemaHead>(bytes) {
        Ok(SchemaHead { schema: Some(v) }) if v > SCHEMA_VERSION => {
            Err(ParseError::NewerSchema { what, version: v })
        }
        Ok(SchemaHead { schema: None }) => Err(ParseError::NoSchema { what }),
        Ok(_) => Ok(()),
        Err(e) => Err(describe_json_error(bytes, e)),
    }
}

pub(super) fn describe_json_error(bytes: &[u8], e: serde_json::Error) -> ParseError {
    if e.is_eof() {
        ParseError::Truncated {
            len: bytes.len(),
            line: e.line(),
            column: e.column(),
        }
    } else {
        ParseError::Invalid(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(bytes: &[u8]) -> String {
        parse_message(bytes)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn each_reason_reads_as_one_sentence() {
        assert_eq!(why(b""), "empty message file (a write cut short)");
        assert_eq!(
            why(&[0; 5]),
            "message file is all zero bytes (5 bytes): lost in a crash"
        );
        assert_eq!(why(b"{\xff}"), "message file is not valid UTF-8 text");
        assert_eq!(
            why(b"{\"schema\": 99}"),
            format!(
                "message file has schema version 99, newer than this Spoolbox reads (up to {SCHEMA_VERSION}); open it with a newer Spoolbox"
            )
        );
        assert_eq!(why(b"{}"), "message file has no schema version");
        assert_eq!(
            why(b"{\"schema\": 1,"),
            "truncated JSON (13 bytes, cut off at line 1 column 13)"
        );
        assert!(
            why(b"{\"schema\": 1}").starts_with("not a valid message: missing field"),
            "{}",
            why(b"{\"schema\": 1}")
        );
    }
}
