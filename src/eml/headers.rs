//! Address and text headers: display names cleaned and encoded, address lists folded.

use std::borrow::Cow;

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

/// `text` as RFC 2047 encoded words (`=?utf-8?b?...?=`) of at most 45 bytes each (60 in
/// base64, 72 in all), cut between characters and separated by spaces, appended to `out`; a
/// reader joins adjacent encoded words without the space (RFC 2047 section 6.2).
fn push_encoded_words(text: &str, out: &mut String) {
    use base64::Engine as _;
    let flush = |chunk: &str, out: &mut String| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str("=?utf-8?b?");
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes()));
        out.push_str("?=");
    };
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() - start > 45 {
            flush(&text[start..i], out);
            start = i;
        }
    }
    if start < text.len() {
        flush(&text[start..], out);
    }
}

/// One mailbox as it goes in an address header (its domain as A-labels,
/// [`with_ascii_domain`]): the address alone, or the name (bare when
/// it is atoms, quoted when it is other printable ASCII, else RFC 2047 encoded words of at
/// most 75 characters) and the address in angle brackets. Only ASCII comes out; spaces
/// separate the encoded words so the header can be folded there.
pub(super) fn encode_mailbox(name: &str, addr: &lettre::Address) -> String {
    if name.is_empty() {
        return with_ascii_domain(addr).to_string();
    }
    let mut out = String::with_capacity(name.len() * 2 + AsRef::<str>::as_ref(addr).len() + 4);
    // A word too long to fold is written as encoded words, which can be.
    let printable = name.chars().all(|c| matches!(c, ' '..='~'))
        && name.split(' ').all(|w| w.len() <= LONGEST_PLAIN_WORD);
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
        push_encoded_words(name, &mut out);
    }
    out.push_str(" <");
    out.push_str(AsRef::<str>::as_ref(with_ascii_domain(addr).as_ref()));
    out.push('>');
    out
}

/// `addr` with an internationalised domain as IDNA A-labels (`bücher.example` becomes
/// `xn--bcher-kva.example`, RFC 5891), the local part as it is. Headers always carry this
/// form: a message's headers must be ASCII unless every hop speaks SMTPUTF8 (RFC 6532), which
/// a rendered message (sent, written to a pickup folder, exported) cannot know, and the A-label
/// names the same domain for every reader. The SMTP envelope uses it for a server that does
/// not offer SMTPUTF8. A domain that does not convert is left as it is (lettre checked it).
pub fn with_ascii_domain(addr: &lettre::Address) -> Cow<'_, lettre::Address> {
    if addr.domain().is_ascii() {
        return Cow::Borrowed(addr);
    }
    idna::domain_to_ascii(addr.domain())
        .ok()
        .and_then(|d| lettre::Address::new(addr.user(), d).ok())
        .map_or(Cow::Borrowed(addr), Cow::Owned)
}

/// An unstructured header's value (`Subject:`) as it goes on the wire: printable ASCII as it
/// is; anything else (or text that reads like an encoded word) as RFC 2047 encoded words of at
/// most 45 bytes each, separated by spaces a reader drops (section 6.2), so every character,
/// runs of spaces included, reads back the same. lettre's own encoding splits at spaces and
/// leaves them outside the words, where a reader may collapse them ("ö  0" read back "ö 0").
///
/// A word too long to fold (a 3,000-character subject without a space went out as one
/// 3,009-byte line, past RFC 5322's 998) makes the whole text encoded words too: they can
/// be folded between, and each fits a line.
pub(super) fn encode_unstructured(text: &str) -> String {
    if text.chars().all(|c| matches!(c, ' '..='~'))
        && !text.contains("=?")
        && text.split(' ').all(|w| w.len() <= LONGEST_PLAIN_WORD)
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    push_encoded_words(text, &mut out);
    out
}

/// The longest word an unstructured header keeps as plain text: after `Subject: ` it still
/// fits a line of [`HEADER_LINE`].
const LONGEST_PLAIN_WORD: usize = HEADER_LINE - "Subject: ".len();

/// The longest header line [`fold_address_headers`] leaves where it can (RFC 5322 section
/// 2.1.1 recommends 78; 998 is the hard limit, and servers refuse a message past it).
const HEADER_LINE: usize = 78;

/// Refolds the address headers (To, Cc, Bcc, From, Reply-To, Sender) and the subject (written
/// by [`encode_unstructured`], unfolded) at their spaces so that
/// no line is longer than [`HEADER_LINE`] (unless one word is): lettre folds only inside
/// display names, so a list of bare addresses became one line, which a server refuses past
/// 998 characters ("500 Line too long"). A space anywhere in an address list may be folding
/// white space (after a comma, between a name and its `<address>`, between encoded words,
/// inside a quoted name), so the header still reads back the same.
pub(super) fn fold_address_headers(bytes: Vec<u8>) -> Vec<u8> {
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
        let address = ["to", "cc", "bcc", "from", "reply-to", "sender", "subject"]
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
