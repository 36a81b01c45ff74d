//! Import (mail-parser): an `.eml` file becomes the parts of a draft.

use std::borrow::Cow;

use mail_parser::{HeaderName, HeaderValue, MessageParser, MimeHeaders as _};

use crate::mapi::{Attachment, Recipient, RecipientKind};

use super::file_name::sanitise_file_name;
use super::headers::clean_header_text;

/// The largest file `import` reads: far above any real message, small enough never to
/// exhaust memory on a mistaken pick (a disk image renamed `.eml`).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// Why an `.eml` file could not be imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    /// Zero bytes, or only white space.
    #[error("the file is empty")]
    Empty,
    /// Larger than [`MAX_IMPORT_BYTES`].
    #[error("the file is larger than 64 MiB ({0} bytes read); it is not imported")]
    TooLarge(usize),
    /// NUL bytes in the header block: a binary file, not RFC 5322 text.
    #[error("not a message: the file is binary (NUL bytes in the first lines)")]
    Binary,
    /// No header block at all.
    #[error("not a message: no header lines (\"Name: value\") at the start of the file")]
    NoHeaders,
    /// Headers, but none that a message has.
    #[error(
        "not a message: none of the headers From, To, Cc, Bcc, Subject, Date, Message-ID or MIME-Version is present"
    )]
    NotAMessage,
}

/// A parsed `.eml` file: the parts of a draft.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    /// `Subject:`, encoded words decoded.
    pub subject: String,
    /// The text body: text/plain parts, else the HTML part turned into text.
    pub body: String,
    /// Recipients (To, Cc, Bcc), address type `SMTP`, row ids from 0.
    pub recipients: Vec<Recipient>,
    /// Attachments with sanitised file names.
    pub attachments: Vec<Attachment>,
    /// The sender as the file has it (`From:`), for the notice; drafts send as the profile's
    /// sender.
    pub from: Option<String>,
    /// What an address header held that is no address a row can use (a name without an
    /// address, text that does not parse as a mailbox list), header by header, for the
    /// notice: nothing is dropped without a word.
    pub unusable: Vec<String>,
}

/// The address headers a draft's rows come from, every occurrence of each (a file may repeat
/// `To:`), with the row kind each gives.
const ADDRESS_HEADERS: [(HeaderName<'static>, &str, RecipientKind); 6] = [
    (HeaderName::To, "To", RecipientKind::To),
    (HeaderName::Cc, "Cc", RecipientKind::Cc),
    (HeaderName::Bcc, "Bcc", RecipientKind::Bcc),
    (HeaderName::ResentTo, "Resent-To", RecipientKind::To),
    (HeaderName::ResentCc, "Resent-Cc", RecipientKind::Cc),
    (HeaderName::ResentBcc, "Resent-Bcc", RecipientKind::Bcc),
];

/// Headers whose presence marks the text as a message (RFC 5322 section 3.6).
const MESSAGE_HEADERS: [&str; 8] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
];

/// Parses an `.eml` file.
///
/// # Errors
/// [`ImportError`] naming what is wrong with the file.
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge(bytes.len()));
    }
    let head_end = header_block_end(bytes);
    let head = bytes.get(..head_end).unwrap_or(bytes);
    if head.contains(&0) {
        return Err(ImportError::Binary);
    }
    let msg = MessageParser::default()
        .parse(bytes)
        .ok_or(ImportError::NoHeaders)?;
    if msg.headers().is_empty() {
        return Err(ImportError::NoHeaders);
    }
    if !msg
        .headers()
        .iter()
        .any(|h| MESSAGE_HEADERS.contains(&h.name().to_ascii_lowercase().as_str()))
    {
        return Err(ImportError::NotAMessage);
    }
    let mut out = Imported {
        subject: clean_header_text(msg.subject().unwrap_or_default()),
        from: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(clean_header_text),
        ..Imported::default()
    };
    recipients_from(&msg, &mut out);
    // Prefer text/plain; where the only text is HTML (mail-parser lists it as the text body
    // then), turn it into text with block elements kept as line breaks.
    let texts: Vec<Cow<'_, str>> = msg
        .text_bodies()
        .filter_map(|part| {
            let t = part.text_contents()?;
            Some(if part.is_text_html() {
                Cow::Owned(html_to_text(t))
            } else {
                Cow::Borrowed(t)
            })
        })
        .collect();
    out.body = if texts.is_empty() {
        msg.body_html(0)
            .map(|h| html_to_text(&h))
            .unwrap_or_default()
    } else {
        texts.join("\n\n")
    };
    out.body = normalise_newlines(&out.body);
    for (i, part) in msg.attachments().enumerate() {
        let mime = part.content_type().map_or_else(
            || "application/octet-stream".to_owned(),
            |ct| match ct.subtype() {
                Some(sub) => format!("{}/{sub}", ct.ctype()).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            },
        );
        let fallback = if part.is_message() {
            format!("attached-message-{}.eml", i + 1)
        } else {
            format!("attachment-{}", i + 1)
        };
        let file_name = part
            .attachment_name()
            .map_or_else(|| fallback.clone(), |n| sanitise_file_name(n, &fallback));
        out.attachments.push(Attachment {
            file_name,
            mime_type: mime,
            data: part.contents().to_vec(),
        });
    }
    Ok(out)
}

/// The rows of every address of every `To`/`Cc`/`Bcc`/`Resent-*` header occurrence, in file
/// order, groups expanded, encoded names decoded; the same address in the same role once.
fn recipients_from(msg: &mail_parser::Message<'_>, out: &mut Imported) {
    let mut seen = std::collections::HashSet::new();
    for (name, label, kind) in ADDRESS_HEADERS {
        for value in msg.header_values(name) {
            let list = match value {
                HeaderValue::Address(list) => list,
                HeaderValue::Empty => continue,
                other => {
                    let text = match other {
                        HeaderValue::Text(t) => t.to_string(),
                        HeaderValue::TextList(l) => l.join(", "),
                        _ => String::from("(unreadable)"),
                    };
                    out.unusable
                        .push(format!("{label}: {:?}", clean_header_text(&text)));
                    continue;
                }
            };
            // `iter` walks plain lists and the members of groups alike; a group without
            // members ("undisclosed-recipients:;") yields nothing, and is no loss.
            for a in list.iter() {
                let Some(addr) = a.address().map(str::trim).filter(|s| !s.is_empty()) else {
                    if let Some(n) = a.name().filter(|n| !n.trim().is_empty()) {
                        out.unusable.push(format!(
                            "{label}: {:?} has no address",
                            clean_header_text(n)
                        ));
                    }
                    continue;
                };
                // No control character in a header ever reaches a builder: an encoded word
                // can carry a CR or LF ("=?UTF-8?B?QQpC?=" is "A\nB").
                let name = clean_header_text(a.name().unwrap_or_default());
                let addr = clean_header_text(addr);
                if !seen.insert((kind, addr.to_ascii_lowercase())) {
                    continue;
                }
                let row = u32::try_from(out.recipients.len()).unwrap_or(u32::MAX);
                out.recipients
                    .push(Recipient::new(row, &name, &addr, "SMTP", kind));
            }
        }
    }
}

/// HTML to plain text: mail-parser's converter (entities, no head/style/script), with the
/// ends of block elements turned into line breaks first and no-break spaces into spaces.
pub fn html_to_text(html: &str) -> String {
    const BLOCK_ENDS: [&str; 13] = [
        "</h1>",
        "</h2>",
        "</h3>",
        "</h4>",
        "</h5>",
        "</h6>",
        "</div>",
        "</li>",
        "</tr>",
        "</table>",
        "</blockquote>",
        "</title>",
        "</pre>",
    ];
    let lower = html.to_ascii_lowercase();
    let mut marked = String::with_capacity(html.len() + 64);
    let mut i = 0;
    while i < html.len() {
        if let Some(tag) = BLOCK_ENDS.iter().find(|t| lower[i..].starts_with(**t)) {
            marked.push_str("<br>");
            i += tag.len();
            continue;
        }
        let Some(ch) = html[i..].chars().next() else {
            break;
        };
        marked.push(ch);
        i += ch.len_utf8();
    }
    let text = mail_parser::decoders::html::html_to_text(&marked).replace('\u{a0}', " ");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut out = lines.join("\n").trim().to_owned();
    out.push('\n');
    out
}

/// The offset of the blank line ending the header block (or the whole length).
fn header_block_end(bytes: &[u8]) -> usize {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => bytes.len(),
    }
}

fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n")
}
