//! RFC 5322 in and out. Rendering (lettre's builder): headers, a text body, attachments as
//! MIME parts, a deterministic Message-ID and a Date. Import (mail-parser): an `.eml` file
//! becomes the parts of a draft, with recipients of address type `SMTP`, decoded encoded
//! words and charsets, and safe attachment file names.

use std::borrow::Cow;
use std::time::SystemTime;

use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart};
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
/// # Errors
/// A text naming the address or part that could not be built; with `skip_invalid` off, a
/// message without any recipient.
pub fn render_with(
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
        Some(sender.0.clone()).filter(|n| !n.is_empty()),
        from_addr.clone(),
    );
    let mut b = lettre::Message::builder()
        .from(from)
        .subject(msg.subject())
        .date(opts.date.unwrap_or_else(SystemTime::now))
        .message_id(Some(format!("<spoolbox.{}@spoolbox.local>", msg.entry_id)));
    if opts.keep_bcc {
        b = b.keep_bcc();
    }
    let mut any = false;
    let mut left_out = Vec::new();
    for row in rows {
        let Some(r) = msg.recipient(*row) else {
            continue;
        };
        let addr = match r.email().parse() {
            Ok(a) => a,
            Err(e) if !opts.skip_invalid => {
                return Err(format!("recipient address {:?}: {e}", r.email()));
            }
            Err(_) => {
                left_out.push(format!("{} ({})", r.label(), r.addrtype()));
                continue;
            }
        };
        let name = Some(r.display_name().to_owned()).filter(|n| !n.is_empty() && n != r.email());
        let mb = Mailbox::new(name, addr);
        b = match r.kind() {
            RecipientKind::To => b.to(mb),
            RecipientKind::Cc => b.cc(mb),
            RecipientKind::Bcc => b.bcc(mb),
        };
        any = true;
    }
    if !any {
        if !opts.skip_invalid {
            return Err("no recipient to address".into());
        }
        // lettre derives an envelope from the headers and refuses one without recipients;
        // a file is written, never sent, so any envelope does.
        let env = Envelope::new(Some(from_addr.clone()), vec![from_addr])
            .map_err(|e| format!("could not build the message: {e}"))?;
        b = b.envelope(env);
    }
    let email = if msg.attachments.is_empty() {
        b.header(ContentType::TEXT_PLAIN).body(msg.body.clone())
    } else {
        let mut mp = MultiPart::mixed().singlepart(SinglePart::plain(msg.body.clone()));
        for a in &msg.attachments {
            let ct = ContentType::parse(&a.mime_type).unwrap_or(ContentType::TEXT_PLAIN);
            mp = mp.singlepart(MimeAttachment::new(a.file_name.clone()).body(a.data.clone(), ct));
        }
        b.multipart(mp)
    }
    .map_err(|e| format!("could not build the message: {e}"))?;
    Ok(Rendered {
        bytes: fold_address_headers(email.formatted()),
        left_out,
    })
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
    #[error("the file is {0} bytes; an .eml file larger than 64 MiB is not imported")]
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
        subject: msg.subject().unwrap_or_default().trim().to_owned(),
        from: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned),
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
            let name = a.name().map(str::trim).unwrap_or_default();
            let row = u32::try_from(out.recipients.len()).unwrap_or(u32::MAX);
            out.recipients
                .push(Recipient::new(row, name, addr, "SMTP", kind));
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

/// A file name safe to write anywhere: the last path component only (either slash), no
/// control characters, no leading dots (so never `..` or a hidden file), no `..` inside,
/// at most 200 characters; `fallback` when nothing is left.
pub fn sanitise_file_name(name: &str, fallback: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut s: String = last
        .chars()
        .filter(|c| !c.is_control())
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
}
