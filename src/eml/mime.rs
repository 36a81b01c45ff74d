//! Hand-written MIME pieces for the parts lettre's builder has no type for (the report's
//! `multipart/report`): dates, unstructured header fields, folding, quoted-printable.
//! Everything comes out as ASCII with CRLF line ends.

use jiff::Timestamp;

/// The longest header line written where a space allows a fold (RFC 5322 section 2.1.1).
const LINE: usize = 78;

/// An RFC 5322 date in UTC: `Mon, 07 Jan 2030 09:00:00 +0000`.
pub(super) fn date(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `name: value` folded at its spaces so no line passes [`LINE`] (unless one word does),
/// without the final CRLF. `value` must be ASCII without control characters.
pub(super) fn fold(name: &str, value: &str) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 8);
    out.push_str(name);
    out.push(':');
    let mut line = out.len();
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        if line + 1 + word.len() > LINE && line > name.len() + 1 {
            out.push_str("\r\n");
            line = 0;
        }
        out.push(' ');
        out.push_str(word);
        line += 1 + word.len();
    }
    out
}

/// An unstructured header field (a subject), encoded as a rendered message's subject is
/// ([`super::headers::encode_unstructured`]) and folded between its words.
pub(super) fn unstructured(name: &str, value: &str) -> String {
    fold(
        name,
        &super::headers::encode_unstructured(&super::clean_header_text(value)),
    )
}

/// `text` with every line ending CRLF: a CR alone and an LF alone each become CRLF (RFC 5322
/// section 2.3: CR and LF occur only together). A bare CR was sent raw before: `<CR>.<CR><LF>`
/// in a body is the SMTP smuggling form RFC 5321 section 4.1.1.4 forbids a client to send.
pub(super) fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32 + 2);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// A text body for a MIME part: its `Content-Transfer-Encoding` and the encoded text, lines
/// ending in CRLF (a lone CR or LF is a line end, [`crlf`]). 7bit when the text is ASCII with
/// short lines and no NUL, else quoted-printable (RFC 2045 section 6.7), lines at most 76
/// characters.
pub(super) fn text_part(text: &str) -> (&'static str, String) {
    let text = crlf(text);
    let plain = text
        .split("\r\n")
        .all(|l| l.len() < 900 && l.bytes().all(|b| b == b'\t' || (32..127).contains(&b)));
    let mut out = String::with_capacity(text.len() + text.len() / 16 + 2);
    for line in text.trim_end_matches(['\r', '\n']).split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if plain {
            out.push_str(line);
        } else {
            qp_line(line, &mut out);
        }
        out.push_str("\r\n");
    }
    (if plain { "7bit" } else { "quoted-printable" }, out)
}

/// One line of quoted-printable, soft-broken (`=` CRLF) before 76 characters.
fn qp_line(line: &str, out: &mut String) {
    let bytes = line.as_bytes();
    let mut width = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let last = i + 1 == bytes.len();
        let literal = match b {
            b'=' => false,
            b' ' | b'\t' => !last,
            33..=126 => true,
            _ => false,
        };
        let token = if literal {
            char::from(b).to_string()
        } else {
            format!("={b:02X}")
        };
        if width + token.len() > 75 {
            out.push_str("=\r\n");
            width = 0;
        }
        out.push_str(&token);
        width += token.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_keeps_lines_short_and_ascii() {
        let text = format!("caf\u{e9} = ok \n{}\n", "x".repeat(200));
        let (cte, out) = text_part(&text);
        assert_eq!(cte, "quoted-printable");
        assert!(out.starts_with("caf=C3=A9 =3D ok=20\r\n"), "{out}");
        assert!(out.split("\r\n").all(|l| l.len() <= 76), "{out}");
        assert!(out.is_ascii());
        let (cte, out) = text_part("plain\nlines\n");
        assert_eq!((cte, out.as_str()), ("7bit", "plain\r\nlines\r\n"));
    }

    #[test]
    fn headers_are_folded_and_encoded() {
        let f = fold(
            "Diagnostic-Code",
            &format!("smtp; 550 {}", "word ".repeat(30)),
        );
        assert!(f.split("\r\n").all(|l| l.len() <= LINE), "{f}");
        assert!(f.starts_with("Diagnostic-Code: smtp; 550 word"));
        let s = unstructured("Subject", "Undeliverable: Grüße");
        assert!(s.starts_with("Subject: =?utf-8?b?"), "{s}");
        assert!(s.is_ascii());
        assert_eq!(unstructured("Subject", "plain"), "Subject: plain");
        let t: Timestamp = "2030-01-07T09:00:00Z".parse().unwrap_or_default();
        assert_eq!(date(t), "Mon, 07 Jan 2030 09:00:00 +0000");
    }
}
