//! Rendering (lettre's builder): headers, a text body, attachments as MIME parts, a
//! deterministic Message-ID and a Date.

use std::time::SystemTime;

use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as MimeAttachment, Body, Mailbox, MultiPart, SinglePart};

use crate::mapi::{Message, RecipientKind};

use super::file_name::sanitise_file_name;
use super::headers::{
    clean_header_text, encode_mailbox, encode_unstructured, fold_address_headers, with_ascii_domain,
};

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

/// Why a message could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The profile's sender address is not an Internet address.
    #[error("sender address {address:?}: {reason}")]
    Sender {
        /// The address as the profile has it.
        address: String,
        /// What is wrong with it.
        reason: lettre::address::AddressError,
    },
    /// A recipient's address is not an Internet address (with `skip_invalid` off).
    #[error("recipient address {address:?}: {reason}")]
    Recipient {
        /// The address as the row has it.
        address: String,
        /// What is wrong with it.
        reason: lettre::address::AddressError,
    },
    /// No row to address (with `skip_invalid` off).
    #[error("no recipient to address")]
    NoRecipient,
    /// lettre refused the envelope or the message.
    #[error("could not build the message: {0}")]
    Build(lettre::error::Error),
    /// Building it panicked (a bug here or in lettre); the text is the panic's.
    #[error("MAPI_E_CORRUPT_DATA: the message could not be rendered ({0})")]
    Panicked(String),
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
/// A [`RenderError`] naming the address or part that could not be built.
pub fn render(
    msg: &Message,
    rows: &[u32],
    sender: &(String, String),
) -> Result<Vec<u8>, RenderError> {
    render_with(msg, rows, sender, RenderOptions::default()).map(|r| r.bytes)
}

/// Renders `msg` for the rows `rows`, from `sender` (name, address), as `opts` say. A
/// delivery status report (`REPORT.*.NDR`/`.DR`) is rendered as RFC 3464 `multipart/report`,
/// from the reporting MTA to the originator it names (`rows` and `sender` are not used).
///
/// One message can never stop the queue: a panic while building it (a bug here or in
/// lettre) is caught and answered as an error naming it, like any other render failure.
///
/// # Errors
/// A [`RenderError`] naming the address or part that could not be built; with
/// `skip_invalid` off, a message without any recipient.
pub fn render_with(
    msg: &Message,
    rows: &[u32],
    sender: &(String, String),
    opts: RenderOptions,
) -> Result<Rendered, RenderError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if super::report::is_delivery_report(msg.message_class()) {
            // A report is addressed to its originator, whatever rows it lists (export, the
            // Source tab and every transport render it this way).
            Ok(super::report::render_report(msg, opts))
        } else {
            render_unguarded(msg, rows, sender, opts)
        }
    }))
    .unwrap_or_else(|p| Err(RenderError::Panicked(panic_text(p.as_ref()))))
}

/// What makes two addresses one mailbox: the local part as written (servers treat it so),
/// the domain in any case.
fn mailbox_key(a: &lettre::Address) -> (String, String) {
    (a.user().to_owned(), a.domain().to_ascii_lowercase())
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
) -> Result<Rendered, RenderError> {
    let from_addr: lettre::Address = sender.1.parse().map_err(|reason| RenderError::Sender {
        address: sender.1.clone(),
        reason,
    })?;
    // Written as To and Cc are (lettre's own encoding left a long name one unfoldable line);
    // lettre reads the plain form back to check there is a sender.
    let from_name = clean_header_text(&sender.0);
    let from = Mailbox::new(
        Some(from_name.clone()).filter(|n| !n.is_empty()),
        with_ascii_domain(&from_addr).into_owned(),
    );
    let mut b = lettre::Message::builder()
        .raw_header(HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str("From"),
            from.to_string(),
            encode_mailbox(&from_name, &from_addr),
        ))
        .date(opts.date.unwrap_or_else(SystemTime::now))
        .message_id(Some(super::report::message_id(msg.entry_id)));
    if opts.keep_bcc {
        b = b.keep_bcc();
    }
    let subject = clean_header_text(msg.subject());
    if !subject.is_empty() {
        // Folded with the address headers, at the spaces between words.
        b = b.raw_header(HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str("Subject"),
            subject.clone(),
            encode_unstructured(&subject),
        ));
    }
    // The encoded mailboxes of To, Cc and Bcc, and the envelope's recipients.
    let mut lists: [Vec<String>; 3] = Default::default();
    let mut envelope: Vec<lettre::Address> = Vec::new();
    let mut in_envelope: std::collections::HashSet<(String, String)> =
        std::collections::HashSet::with_capacity(rows.len());
    let mut left_out = Vec::new();
    for row in rows {
        let Some(r) = msg.recipient(*row) else {
            continue;
        };
        let addr: lettre::Address = match r.email().parse() {
            Ok(a) => a,
            Err(reason) if !opts.skip_invalid => {
                return Err(RenderError::Recipient {
                    address: r.email().to_owned(),
                    reason,
                });
            }
            Err(_) => {
                left_out.push(format!("{} ({})", r.label(), r.addrtype()));
                continue;
            }
        };
        // A `MAPI_P1` row and a content row for one address make one envelope recipient.
        if in_envelope.insert(mailbox_key(&addr)) {
            envelope.push(addr);
        }
    }
    // The headers show the message's content recipients (never `MAPI_P1` rows, reference
    // e.15): the offered ones, and those another transport handles or that already got it
    // (a resend's `MAPI_SUBMITTED` rows), where they are Internet addresses. Bcc only when
    // kept, and only the offered ones.
    let offered_rows: std::collections::HashSet<u32> = rows.iter().copied().collect();
    for r in msg.recipients.iter().filter(|r| !r.is_p1()) {
        let offered = offered_rows.contains(&r.row_id);
        if r.kind() == RecipientKind::Bcc && !(offered && opts.keep_bcc) {
            continue;
        }
        let Ok(addr) = r.email().parse::<lettre::Address>() else {
            continue; // an offered one is in `left_out` already; others are not ours
        };
        let name = clean_header_text(r.display_name());
        let name = if name == r.email() { "" } else { name.as_str() };
        let list = match r.kind() {
            RecipientKind::To => &mut lists[0],
            RecipientKind::Cc => &mut lists[1],
            RecipientKind::Bcc => &mut lists[2],
        };
        list.push(encode_mailbox(name, &addr));
    }
    if envelope.is_empty() {
        if !opts.skip_invalid {
            return Err(RenderError::NoRecipient);
        }
        // lettre refuses an envelope without recipients; a file is written, never sent, so
        // any envelope does.
        envelope.push(from_addr.clone());
    }
    let env = Envelope::new(Some(from_addr), envelope).map_err(RenderError::Build)?;
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
            let ct = content_type(&a.mime_type);
            let name = sanitise_file_name(&a.file_name, &format!("attachment-{}", i + 1));
            mp = mp.singlepart(MimeAttachment::new(name).body(attachment_body(&a.data), ct));
        }
        b.multipart(mp)
    }
    .map_err(RenderError::Build)?;
    Ok(Rendered {
        bytes: fold_address_headers(email.formatted()),
        left_out,
    })
}

/// An attachment's MIME type as its `Content-Type`: as the message has it, or only its
/// `type/subtype` when its parameters would make a header line too long to fold (an imported
/// file's type can carry anything), `text/plain` when it does not parse.
fn content_type(mime: &str) -> ContentType {
    const LONGEST: usize = 200;
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let usable = if mime.len() <= LONGEST { mime } else { essence };
    ContentType::parse(usable)
        .ok()
        .filter(|_| usable.len() <= LONGEST)
        .unwrap_or(ContentType::TEXT_PLAIN)
}

/// An attachment's body: base64 when its bytes hold a line end other than CRLF (a text file
/// written with LFs, the demo's fax cover page): lettre would send such bytes as 7bit with
/// their bare LFs, which RFC 5322 does not allow in a message (lines end in CRLF, on disk too);
/// base64 keeps the bytes exactly. Anything else as lettre chooses.
fn attachment_body(data: &[u8]) -> Body {
    let bare = data.iter().enumerate().any(|(i, b)| match b {
        b'\n' => i == 0 || data[i - 1] != b'\r',
        b'\r' => data.get(i + 1) != Some(&b'\n'),
        _ => false,
    });
    if bare {
        Body::new_with_encoding(data.to_vec(), ContentTransferEncoding::Base64)
            .unwrap_or_else(Body::new)
    } else {
        Body::new(data.to_vec())
    }
}

/// The text body, encoded in one pass: line endings made CRLF ([`super::mime::crlf`]: a
/// lone CR as well as a lone LF, which lettre left raw, so that an imported body's
/// `<CR>.<CR><LF>` can never reach the wire), and a body with NUL bytes (never allowed raw in
/// a 7bit or 8bit body, RFC 2045 section 2.7) quoted-printable, where they become `=00`.
fn text_body(text: &str) -> Body {
    let crlf = super::mime::crlf(text);
    if crlf.contains('\0') {
        Body::new_with_encoding(crlf, ContentTransferEncoding::QuotedPrintable)
            .unwrap_or_else(Body::new)
    } else {
        Body::new(crlf)
    }
}
