//! RFC 5322 in and out. Rendering (lettre's builder): headers, a text body, attachments as
//! MIME parts, a deterministic Message-ID and a Date. Import (mail-parser): an `.eml` file
//! becomes the parts of a draft, with recipients of address type `SMTP`, decoded encoded
//! words and charsets, and safe attachment file names.

use std::borrow::Cow;
use std::time::SystemTime;

use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as MimeAttachment, Body, Mailbox, MultiPart, SinglePart};
use mail_parser::{MessageParser, MimeHeaders as _};

use crate::mapi::{Attachment, Message, Recipient, RecipientKind};

/// What goes into a rendered message besides the content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Keep the `Bcc:` header. SMTP drops it (Bcc recipients are in the envelope only), and
    /// so does [`render`]; an exported file keeps it, as Outlook's "Save as" of a sent item
    /// does, so importing it again finds every recipient.
    pub keep_bcc: bool,
    /// Leave out rows whose address is not an Internet address (FAX, EX, X400) instead of
    /// failing; used by export, where such rows cannot be written as a mailbox.
    pub skip_invalid: bool,
    /// The `Date:` header; `None` is now.
    pub date: Option<SystemTime>,
}

/// A rendered message and the rows that were left out (with `skip_invalid`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The RFC 5322 bytes.
    pub bytes: Vec<u8>,
    /// Rows left out, as "label (address type)".
    pub left_out: Vec<String>,
}

/// Renders `msg` for the rows `rows`, from `sender` (name, address), dropping `Bcc:`.
///
/// # Errors
/// A text naming the address or part that could not be built.
pub fn render(msg: &Message, rows: &[u32], sender: &(String, String)) -> Result<Vec<u8>, String> {
    render_with(msg, rows, sender, RenderOptions::default()).map(|r| r.bytes)
}

/// Renders `msg` for the rows `rows`, from `sender` (name, address), as `opts` say.
///
/// One message can never stop the queue: a panic while building it (a bug here or in
/// lettre) is caught and answered as an error naming it, like any other render failure.
///
/// # Errors
/// A text naming the address or part that could not be built; with `skip_invalid` off, a
/// message without any recipient.
pub fn render_with(
    msg: &Message,
    rows: &[u32],
    sender: &(String, String),
    opts: RenderOptions,
) -> Result<Rendered, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render_unguarded(msg, rows, sender, opts)
    }))
    .unwrap_or_else(|p| {
        Err(format!(
            "MAPI_E_CORRUPT_DATA: the message could not be rendered ({})",
            panic_text(p.as_ref())
        ))
    })
}

/// The text of a panic's payload.
pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// [`render_with`] without the guard. Linear in the number of recipients and the size of the
/// body: the address headers are written here, pre-encoded (lettre's builder re-parses the
/// whole header for each mailbox added), and the body's line endings are made CRLF here
/// (lettre inserts each CR into the string, moving everything after it).
fn render_unguarded(
    msg: &Message,
    rows: &[u32],
    sender: &(String, String),
    opts: RenderOptions,
) -> Result<Rendered, String> {
    let from_addr: lettre::Address = sender
        .1
        .parse()
        .map_err(|e| format!("sender address {:?}: {e}", sender.1))?;
    let from = Mailbox::new(
        Some(clean_header_text(&sender.0)).filter(|n| !n.is_empty()),
        from_addr.clone(),
    );
    let mut b = lettre::Message::builder()
        .from(from)
        .subject(clean_header_text(msg.subject()))
        .date(opts.date.unwrap_or_else(SystemTime::now))
        .message_id(Some(format!("<spoolbox.{}@spoolbox.local>", msg.entry_id)));
    if opts.keep_bcc {
        b = b.keep_bcc();
    }
    // The encoded mailboxes of To, Cc and Bcc, and the envelope's recipients.
    let mut lists: [Vec<String>; 3] = Default::default();
    let mut envelope = Vec::new();
    let mut left_out = Vec::new();
    for row in rows {
        let Some(r) = msg.recipient(*row) else {
            continue;
        };
        let addr: lettre::Address = match r.email().parse() {
            Ok(a) => a,
            Err(e) if !opts.skip_invalid => {
                return Err(format!("recipient address {:?}: {e}", r.email()));
            }
            Err(_) => {
                left_out.push(format!("{} ({})", r.label(), r.addrtype()));
                continue;
            }
        };
        let name = clean_header_text(r.display_name());
        let name = if name == r.email() { "" } else { name.as_str() };
        let list = match r.kind() {
            RecipientKind::To => &mut lists[0],
            RecipientKind::Cc => &mut lists[1],
            RecipientKind::Bcc => &mut lists[2],
        };
        if r.kind() != RecipientKind::Bcc || opts.keep_bcc {
            list.push(encode_mailbox(name, &addr));
        }
        envelope.push(addr);
    }
    if envelope.is_empty() {
        if !opts.skip_invalid {
            return Err("no recipient to address".into());
        }
        // lettre refuses an envelope without recipients; a file is written, never sent, so
        // any envelope does.
        envelope.push(from_addr.clone());
    }
    let env = Envelope::new(Some(from_addr), envelope)
        .map_err(|e| format!("could not build the message: {e}"))?;
    b = b.envelope(env);
    for (name, list) in [("To", &lists[0]), ("Cc", &lists[1]), ("Bcc", &lists[2])] {
        if list.is_empty() {
            continue;
        }
        // ASCII only (names are encoded words or quoted ASCII, addresses checked by lettre);
        // folded below by `fold_address_headers`.
        let value = list.join(", ");
        b = b.raw_header(HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str(name),
            value.clone(),
            value,
        ));
    }
    let body = text_body(&msg.body);
    let email = if msg.attachments.is_empty() {
        b.header(ContentType::TEXT_PLAIN).body(body)
    } else {
        let mut mp = MultiPart::mixed().singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body),
        );
        for (i, a) in msg.attachments.iter().enumerate() {
            let ct = ContentType::parse(&a.mime_type).unwrap_or(ContentType::TEXT_PLAIN);
            let name = sanitise_file_name(&a.file_name, &format!("attachment-{}", i + 1));
            mp = mp.singlepart(MimeAttachment::new(name).body(a.data.clone(), ct));
        }
        b.multipart(mp)
    }
    .map_err(|e| format!("could not build the message: {e}"))?;
    Ok(Rendered {
        bytes: fold_address_headers(email.formatted()),
        left_out,
    })
}

/// The text body, encoded in one pass: line endings made CRLF (a lone LF gets its CR, as
/// lettre does, but without moving the rest of the string for each one), and a body with NUL
/// bytes (never allowed raw in a 7bit or 8bit body, RFC 2045 section 2.7) quoted-printable,
/// where they become `=00`.
fn text_body(text: &str) -> Body {
    let mut crlf = String::with_capacity(text.len() + text.len() / 32 + 2);
    let mut prev = '\0';
    for c in text.chars() {
        if c == '\n' && prev != '\r' {
            crlf.push('\r');
        }
        crlf.push(c);
        prev = c;
    }
    if crlf.contains('\0') {
        Body::new_with_encoding(crlf, ContentTransferEncoding::QuotedPrintable)
            .unwrap_or_else(Body::new)
    } else {
        Body::new(crlf)
    }
}

/// Text fit for a header (a display name, a subject): every control character (CR, LF, TAB,
/// NUL, ...) becomes a space, runs of them one space, and the ends are trimmed. A CR or LF in
/// a display name (an imported encoded word can carry one) made lettre panic on every render.
pub fn clean_header_text(text: &str) -> String {
    if !text.chars().any(char::is_control) && text.trim() == text {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_control() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out.trim().to_owned()
}

/// Characters of a display name that may stand without quotes (RFC 5322 `atext` and spaces
/// between words).
fn is_atext_or_space(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// One mailbox as it goes in an address header: the address alone, or the name (bare when
/// it is atoms, quoted when it is other printable ASCII, else RFC 2047 encoded words of at
/// most 75 characters) and the address in angle brackets. Only ASCII comes out; spaces
/// separate the encoded words so the header can be folded there.
fn encode_mailbox(name: &str, addr: &lettre::Address) -> String {
    use base64::Engine as _;
    fn flush(chunk: &mut String, out: &mut String) {
        if chunk.is_empty() {
            return;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("=?utf-8?b?");
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes()));
        out.push_str("?=");
        chunk.clear();
    }
    if name.is_empty() {
        return addr.to_string();
    }
    let mut out = String::with_capacity(name.len() * 2 + AsRef::<str>::as_ref(addr).len() + 4);
    let printable = name.chars().all(|c| matches!(c, ' '..='~'));
    if printable && !name.contains("=?") && name.chars().all(is_atext_or_space) {
        out.push_str(name);
    } else if printable && !name.contains("=?") {
        out.push('"');
        for c in name.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        // Words of at most 45 bytes (60 in base64, 72 with `=?utf-8?b?...?=`), cut between
        // characters; a reader joins adjacent encoded words without the space (RFC 2047
        // section 6.2).
        let mut chunk = String::new();
        for c in name.chars() {
            if chunk.len() + c.len_utf8() > 45 {
                flush(&mut chunk, &mut out);
            }
            chunk.push(c);
        }
        flush(&mut chunk, &mut out);
    }
    out.push_str(" <");
    out.push_str(AsRef::<str>::as_ref(addr));
    out.push('>');
    out
}

/// The longest header line [`fold_address_headers`] leaves where it can (RFC 5322 section
/// 2.1.1 recommends 78; 998 is the hard limit, and servers refuse a message past it).
const HEADER_LINE: usize = 78;

/// Refolds the address headers (To, Cc, Bcc, From, Reply-To, Sender) at their spaces so that
/// no line is longer than [`HEADER_LINE`] (unless one word is): lettre folds only inside
/// display names, so a list of bare addresses became one line, which a server refuses past
/// 998 characters ("500 Line too long"). A space anywhere in an address list may be folding
/// white space (after a comma, between a name and its `<address>`, between encoded words,
/// inside a quoted name), so the header still reads back the same.
fn fold_address_headers(bytes: Vec<u8>) -> Vec<u8> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return bytes;
    };
    let Some(head) = bytes.get(..end).and_then(|h| std::str::from_utf8(h).ok()) else {
        return bytes;
    };
    // Header fields, each with its continuation lines unfolded (the CRLF before the white
    // space removed).
    let mut fields: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match fields.last_mut() {
            Some(f) if line.starts_with([' ', '\t']) => f.push_str(line),
            _ => fields.push(line.to_owned()),
        }
    }
    let mut out = String::with_capacity(head.len() + head.len() / 32);
    for field in &fields {
        let name = field.split_once(':').map_or("", |(n, _)| n);
        let address = ["to", "cc", "bcc", "from", "reply-to", "sender"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        if !address || field.len() <= HEADER_LINE {
            out.push_str(field);
            continue;
        }
        let mut line = 0;
        for (i, word) in field.split(' ').enumerate() {
            if i > 0 {
                if line + 1 + word.len() > HEADER_LINE && line > 0 {
                    out.push_str("\r\n");
                    line = 0;
                }
                out.push(' ');
                line += 1;
            }
            out.push_str(word);
            line += word.len();
        }
    }
    let mut folded = out.into_bytes();
    folded.extend_from_slice(bytes.get(end..).unwrap_or_default());
    folded
}

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
}

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
    let lists = [
        (msg.to(), RecipientKind::To),
        (msg.cc(), RecipientKind::Cc),
        (msg.bcc(), RecipientKind::Bcc),
    ];
    for (list, kind) in lists {
        let Some(list) = list else { continue };
        // `iter` walks plain lists and the members of groups alike; a group without members
        // ("undisclosed-recipients:;") yields nothing.
        for a in list.iter() {
            let Some(addr) = a.address().map(str::trim).filter(|s| !s.is_empty()) else {
                continue;
            };
            // No control character in a header ever reaches a builder: an encoded word can
            // carry a CR or LF ("=?UTF-8?B?QQpC?=" is "A\nB").
            let name = clean_header_text(a.name().unwrap_or_default());
            let addr = clean_header_text(addr);
            let row = u32::try_from(out.recipients.len()).unwrap_or(u32::MAX);
            out.recipients
                .push(Recipient::new(row, &name, &addr, "SMTP", kind));
        }
    }
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

/// True for the invisible characters that reorder or shape text (bidirectional embeddings,
/// overrides and isolates, directional marks, zero-width joiners, the BOM): a right-to-left
/// override makes `evil\u{202e}fdp.exe` read as `evilexe.pdf`.
pub fn is_format_control(c: char) -> bool {
    matches!(c,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// A file name safe to write anywhere: the last path component only (either slash), no
/// control characters (nor bidirectional or other invisible format ones), no leading dots (so never `..` or a hidden file), no `..` inside,
/// at most 200 characters; `fallback` when nothing is left.
pub fn sanitise_file_name(name: &str, fallback: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut s: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_format_control(*c))
        .map(|c| {
            if matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    while s.contains("..") {
        s = s.replace("..", ".");
    }
    let s = s.trim().trim_start_matches('.').trim();
    let s: String = s.chars().take(200).collect();
    if s.is_empty() { fallback.to_owned() } else { s }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn file_names_lose_directories_and_dot_dots() {
        assert_eq!(sanitise_file_name("../../etc/passwd", "x"), "passwd");
        assert_eq!(
            sanitise_file_name("C:\\Users\\a\\report.pdf", "x"),
            "report.pdf"
        );
        assert_eq!(sanitise_file_name("..", "x"), "x");
        assert_eq!(sanitise_file_name(".hidden", "x"), "hidden");
        assert_eq!(sanitise_file_name("a..b.txt", "x"), "a.b.txt");
        assert_eq!(sanitise_file_name("bad\u{0}name?.txt", "x"), "badname_.txt");
        assert_eq!(sanitise_file_name("dir/", "x"), "x");
    }

    #[test]
    fn broken_input_names_what_is_wrong() {
        assert_eq!(import(b""), Err(ImportError::Empty));
        assert_eq!(import(b" \r\n\n"), Err(ImportError::Empty));
        assert_eq!(
            import(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Err(ImportError::Binary)
        );
        assert_eq!(
            import(b"X-Foo: bar\r\nX-Bar: baz\r\n\r\nhello\r\n"),
            Err(ImportError::NotAMessage)
        );
    }

    #[test]
    fn a_plain_message_round_trips_through_render_and_import() {
        let mut m = Message::draft(crate::mapi::EntryId(7), crate::mapi::EntryId(2), "Grüße");
        m.body = "Line one\nLine two, café".into();
        m.recipients.push(Recipient::new(
            0,
            "Zoë",
            "zoe@example.com",
            "SMTP",
            RecipientKind::To,
        ));
        m.recipients.push(Recipient::new(
            1,
            "",
            "cc@example.com",
            "SMTP",
            RecipientKind::Cc,
        ));
        m.recipients.push(Recipient::new(
            2,
            "Hidden",
            "bcc@example.com",
            "SMTP",
            RecipientKind::Bcc,
        ));
        let sender = ("Ada".to_owned(), "ada@example.com".to_owned());
        let opts = RenderOptions {
            keep_bcc: true,
            ..RenderOptions::default()
        };
        let r = render_with(&m, &[0, 1, 2], &sender, opts).unwrap();
        let back = import(&r.bytes).unwrap();
        assert_eq!(back.subject, "Grüße");
        assert_eq!(back.body.trim_end(), m.body);
        let got: Vec<_> = back
            .recipients
            .iter()
            .map(|r| (r.display_name().to_owned(), r.email().to_owned(), r.kind()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Zoë".to_owned(),
                    "zoe@example.com".to_owned(),
                    RecipientKind::To
                ),
                (
                    String::new(),
                    "cc@example.com".to_owned(),
                    RecipientKind::Cc
                ),
                (
                    "Hidden".to_owned(),
                    "bcc@example.com".to_owned(),
                    RecipientKind::Bcc
                ),
            ]
        );
        // Without keep_bcc (SMTP), the Bcc row is not in the headers.
        let smtp = render(&m, &[0, 1, 2], &sender).unwrap();
        assert!(import(&smtp).unwrap().recipients.len() == 2);
    }
    #[test]
    fn headers_of_a_message_to_hundreds_of_recipients_are_folded_under_the_line_limit() {
        let mut m = Message::draft(crate::mapi::EntryId(8), crate::mapi::EntryId(2), "Many");
        m.body = "Hello".into();
        for i in 0..600u32 {
            let kind = if i % 2 == 0 {
                RecipientKind::To
            } else {
                RecipientKind::Cc
            };
            // Plain names, names quoted for their comma, names in encoded words.
            let name = match i % 6 {
                0 => format!("Person Number {i}"),
                3 => format!("Smith, John {i}"),
                5 => format!("Zoë Ærøskøbing-Łódź {i}"),
                _ => String::new(),
            };
            m.recipients.push(Recipient::new(
                i,
                &name,
                &format!("r{i:03}@example.com"),
                "SMTP",
                kind,
            ));
        }
        let rows: Vec<u32> = (0..600).collect();
        let sender = ("Ada".to_owned(), "ada@example.com".to_owned());
        let bytes = render(&m, &rows, &sender).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        // RFC 5322 section 2.1.1: at most 998 characters a line (78 recommended).
        let longest = text.split("\r\n").map(str::len).max().unwrap();
        assert!(longest <= 78, "a line of {longest} characters");
        let back = import(&bytes).unwrap();
        assert_eq!(back.recipients.len(), 600);
        let find = |e: &str| back.recipients.iter().find(|r| r.email() == e).unwrap();
        assert_eq!(find("r000@example.com").display_name(), "Person Number 0");
        assert_eq!(find("r003@example.com").display_name(), "Smith, John 3");
        assert_eq!(
            find("r005@example.com").display_name(),
            "Zoë Ærøskøbing-Łódź 5"
        );
        assert_eq!(find("r597@example.com").display_name(), "Smith, John 597");
        assert_eq!(find("r003@example.com").kind(), RecipientKind::Cc);
        assert_eq!(find("r598@example.com").kind(), RecipientKind::To);
        assert_eq!(find("r598@example.com").display_name(), "");
        assert_eq!(
            find("r599@example.com").display_name(),
            "Zoë Ærøskøbing-Łódź 599"
        );
    }

    fn many(n: u32) -> (Message, Vec<u32>) {
        let mut m = Message::draft(crate::mapi::EntryId(9), crate::mapi::EntryId(2), "Many");
        m.body = "Hello\n".into();
        for i in 0..n {
            let name = if i % 2 == 0 {
                format!("Person {i}")
            } else {
                format!("Zoë {i}")
            };
            m.recipients.push(Recipient::new(
                i,
                &name,
                &format!("r{i}@example.com"),
                "SMTP",
                RecipientKind::To,
            ));
        }
        (m, (0..n).collect())
    }

    #[test]
    fn rendering_is_linear_in_the_number_of_recipients() {
        // lettre's builder re-parsed the address header for each mailbox added: 4 times the
        // recipients took 16 times as long (20,000 took 104 s in a release build).
        let sender = ("Ada".to_owned(), "ada@example.com".to_owned());
        let time = |n: u32| {
            let (m, rows) = many(n);
            (0..2)
                .map(|_| {
                    let t0 = std::time::Instant::now();
                    let bytes = render(&m, &rows, &sender).unwrap();
                    assert!(bytes.len() > n as usize * 20);
                    t0.elapsed()
                })
                .min()
                .unwrap()
        };
        let small = time(5_000);
        let large = time(20_000);
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
        assert!(
            ratio < 8.0,
            "5,000 recipients in {small:?}, 20,000 in {large:?}: ratio {ratio:.1} (4 is linear, 16 quadratic)"
        );
        // And every one of them reads back.
        let (m, rows) = many(20_000);
        let back = import(&render(&m, &rows, &sender).unwrap()).unwrap();
        assert_eq!(back.recipients.len(), 20_000);
        assert_eq!(back.recipients[19_999].display_name(), "Zoë 19999");
    }

    #[test]
    fn a_control_character_in_a_display_name_never_reaches_the_header() {
        // The poison: "=?UTF-8?B?QQpC?=" is "A\nB"; lettre panicked on it.
        let eml = b"From: t@x.test\nTo: =?UTF-8?B?QQpC?= <alice@example.com>\nSubject: p\n\nb\n";
        let imported = import(eml).unwrap();
        assert_eq!(imported.recipients[0].display_name(), "A B");
        // Cleaned at render too, whatever the store holds (defence in depth).
        let mut m = Message::draft(
            crate::mapi::EntryId(7),
            crate::mapi::EntryId(2),
            "s\r\nBcc: x@evil.test",
        );
        m.body = "b".into();
        for (i, name) in [
            "A\nB",
            "C\r\nBcc: evil@evil.test",
            "=?UTF-8?B?QQpC?=",
            "\u{0}",
        ]
        .iter()
        .enumerate()
        {
            let i = u32::try_from(i).unwrap();
            m.recipients.push(Recipient::new(
                i,
                name,
                &format!("r{i}@example.com"),
                "SMTP",
                RecipientKind::To,
            ));
        }
        let sender = ("Ada\n".to_owned(), "ada@example.com".to_owned());
        let bytes = render(&m, &[0, 1, 2, 3], &sender).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("evil.test>"), "{text}");
        let back = import(&bytes).unwrap();
        let names: Vec<&str> = back
            .recipients
            .iter()
            .map(Recipient::display_name)
            .collect();
        assert_eq!(
            names,
            ["A B", "C Bcc: evil@evil.test", "=?UTF-8?B?QQpC?=", ""]
        );
        assert_eq!(back.subject, "s Bcc: x@evil.test");
    }

    #[test]
    fn a_nul_byte_in_the_body_is_encoded_not_sent_raw() {
        let mut m = Message::draft(crate::mapi::EntryId(7), crate::mapi::EntryId(2), "nul");
        m.body = "before\u{0}after\nline two".into();
        m.recipients.push(Recipient::new(
            0,
            "",
            "a@example.com",
            "SMTP",
            RecipientKind::To,
        ));
        let sender = (String::new(), "ada@example.com".to_owned());
        let bytes = render(&m, &[0], &sender).unwrap();
        assert!(!bytes.contains(&0), "a raw NUL in the message");
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("quoted-printable") && text.contains("=00"),
            "{text}"
        );
        assert_eq!(
            import(&bytes).unwrap().body.trim_end(),
            "before\u{0}after\nline two"
        );
    }

    #[test]
    fn bidi_and_invisible_characters_leave_attachment_file_names() {
        // "invoice\u{202e}fdp.exe" shows as "invoiceexe.pdf".
        assert_eq!(
            sanitise_file_name("invoice\u{202e}fdp.exe", "x"),
            "invoicefdp.exe"
        );
        assert_eq!(
            sanitise_file_name("a\u{200b}b\u{2066}c\u{feff}.txt", "x"),
            "abc.txt"
        );
        let mut m = Message::draft(crate::mapi::EntryId(7), crate::mapi::EntryId(2), "att");
        m.body = "b".into();
        m.recipients.push(Recipient::new(
            0,
            "",
            "a@example.com",
            "SMTP",
            RecipientKind::To,
        ));
        m.attachments.push(Attachment {
            file_name: "invoice\u{202e}fdp.exe".into(),
            mime_type: "application/octet-stream".into(),
            data: b"MZ".to_vec(),
        });
        let sender = (String::new(), "ada@example.com".to_owned());
        let bytes = render(&m, &[0], &sender).unwrap();
        let back = import(&bytes).unwrap();
        assert_eq!(back.attachments[0].file_name, "invoicefdp.exe");
        // And at import, from a file that has one.
        let eml = "From: a@x.test\r\nTo: b@x.test\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe\r\n\r\nMZ\r\n--B--\r\n";
        let imported = import(eml.as_bytes()).unwrap();
        assert_eq!(imported.attachments[0].file_name, "invoicefdp.exe");
    }
}
