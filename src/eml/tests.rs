#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;
use crate::mapi::{Attachment, Message, Recipient, RecipientKind};

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

#[test]
fn file_names_windows_forbids_are_made_portable_on_every_platform() {
    use super::{is_portable_file_name, is_windows_device_name};
    for device in [
        "CON",
        "con",
        "aux.eml",
        "Aux.EML",
        "NUL.tar.gz",
        "prn",
        "COM1",
        "com9.txt",
        "LPT1.eml",
        "lpt²",
        "NUL .txt",
        "conin$",
    ] {
        assert!(is_windows_device_name(device), "{device}");
        let safe = sanitise_file_name(device, "x");
        assert!(!is_windows_device_name(&safe), "{device} -> {safe}");
        assert!(is_portable_file_name(&safe), "{device} -> {safe}");
    }
    assert_eq!(sanitise_file_name("aux.eml", "x"), "_aux.eml");
    assert_eq!(sanitise_file_name("CON", "x"), "_CON");
    for fine in [
        "console.eml",
        "auxiliary.txt",
        "COM10",
        "LPT",
        "com.eml",
        "nul_report.pdf",
    ] {
        assert!(!is_windows_device_name(fine), "{fine}");
        assert_eq!(sanitise_file_name(fine, "x"), fine);
    }
    assert_eq!(
        sanitise_file_name("a<b>c:d\"e|f?g*h.txt", "x"),
        "a_b_c_d_e_f_g_h.txt"
    );
    assert_eq!(sanitise_file_name("report.txt. . ", "x"), "report.txt");
    assert_eq!(sanitise_file_name(" . ", "x"), "x");
    assert!(!is_portable_file_name("a:b"));
    assert!(!is_portable_file_name("trailing."));
}

#[test]
fn a_text_attachment_with_bare_lfs_is_rendered_with_crlf_only_and_read_back_byte_for_byte() {
    let mut m = Message::draft(crate::mapi::EntryId(1), crate::mapi::EntryId(1), "s");
    m.body = "one\ntwo\n".into();
    m.recipients.push(Recipient::new(
        0,
        "",
        "a@example.com",
        "SMTP",
        RecipientKind::To,
    ));
    let text = b"FAX COVER PAGE\n\nTo: Head office\nand a lone \r too\n".to_vec();
    m.attachments.push(Attachment {
        file_name: "FaxCoverPage.txt".into(),
        mime_type: "text/plain".into(),
        data: text.clone(),
    });
    let sender = (String::new(), "ada@example.com".to_owned());
    let bytes = render(&m, &[0], &sender).unwrap();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && bytes[i - 1] == b'\r', "a bare LF at byte {i}"),
            b'\r' => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "a bare CR at byte {i}"),
            _ => {}
        }
    }
    assert_eq!(import(&bytes).unwrap().attachments[0].data, text);
}

/// Every line of `bytes` ends in CRLF: no CR or LF alone.
fn assert_crlf_only(bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && bytes[i - 1] == b'\r', "a bare LF at byte {i}"),
            b'\r' => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "a bare CR at byte {i}"),
            _ => {}
        }
    }
}

#[test]
fn a_bare_cr_in_the_body_becomes_a_line_end_so_the_smuggling_form_is_never_rendered() {
    // Issue 27: `<CR>.<CR><LF>` went out raw, declared 7bit.
    for body in [
        "hello\r.\r\nMAIL FROM:<smuggled@evil.test>\r\nDATA\r\nx\r\n\r.\r\nend",
        "caf\u{e9}\r.\r\nMAIL FROM:<smuggled@evil.test>\rlone\nLF",
        "nul\u{0}\r.\r\nafter",
    ] {
        let mut m = Message::draft(crate::mapi::EntryId(3), crate::mapi::EntryId(2), "s\r.\r\n");
        m.body = body.into();
        m.recipients.push(Recipient::new(
            0,
            "",
            "a@example.com",
            "SMTP",
            RecipientKind::To,
        ));
        let sender = (String::new(), "ada@example.com".to_owned());
        let bytes = render(&m, &[0], &sender).unwrap();
        assert_crlf_only(&bytes);
        let back = import(&bytes).unwrap();
        let want = body.replace("\r\n", "\n").replace('\r', "\n");
        assert_eq!(back.body.replace("\r\n", "\n").trim_end(), want, "{body:?}");
    }
}

#[test]
fn a_3000_character_subject_is_folded_under_78_and_reads_back_the_same() {
    for subject in [
        "x".repeat(3000),
        format!("Before {} after", "y".repeat(2990)),
        "Grüße ".repeat(500).trim_end().to_owned(),
        "word ".repeat(600).trim_end().to_owned(),
    ] {
        let mut m = Message::draft(crate::mapi::EntryId(4), crate::mapi::EntryId(2), &subject);
        m.body = "Hello".into();
        m.recipients.push(Recipient::new(
            0,
            "",
            "a@example.com",
            "SMTP",
            RecipientKind::To,
        ));
        let sender = (String::new(), "ada@example.com".to_owned());
        let bytes = render(&m, &[0], &sender).unwrap();
        assert_crlf_only(&bytes);
        let text = String::from_utf8(bytes.clone()).unwrap();
        let longest = text.split("\r\n").map(str::len).max().unwrap();
        assert!(longest <= 78, "a line of {longest} characters");
        assert_eq!(import(&bytes).unwrap().subject, subject);
    }
}

#[test]
fn idn_domains_in_address_headers_are_written_as_punycode() {
    let mut m = Message::draft(crate::mapi::EntryId(5), crate::mapi::EntryId(2), "IDN");
    m.body = "Hello".into();
    m.recipients.push(Recipient::new(
        0,
        "Ann",
        "ann@bücher.example",
        "SMTP",
        RecipientKind::To,
    ));
    let sender = (String::new(), "ada@münchen.example".to_owned());
    let bytes = render(&m, &[0], &sender).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("ann@xn--bcher-kva.example"), "{text}");
    assert!(text.contains("ada@xn--mnchen-3ya.example"), "{text}");
}

#[test]
fn no_header_line_passes_998_octets_whatever_the_names_and_types() {
    let mut m = Message::draft(crate::mapi::EntryId(6), crate::mapi::EntryId(2), "parts");
    m.body = "Hello".into();
    m.recipients.push(Recipient::new(
        0,
        &"N".repeat(3000),
        "a@example.com",
        "SMTP",
        RecipientKind::To,
    ));
    m.attachments.push(Attachment {
        file_name: format!("{}.txt", "f".repeat(3000)),
        mime_type: format!("text/plain; x={}", "t".repeat(3000)),
        data: b"x\r\n".to_vec(),
    });
    m.attachments.push(Attachment {
        file_name: format!("{}.txt", "ü".repeat(1500)),
        mime_type: "text/plain".into(),
        data: b"y\r\n".to_vec(),
    });
    let sender = ("S".repeat(3000), "ada@example.com".to_owned());
    let bytes = render(&m, &[0], &sender).unwrap();
    assert_crlf_only(&bytes);
    for l in bytes.split(|b| *b == b'\n') {
        assert!(l.len() <= 999, "a line of {} octets", l.len());
    }
    // The long names read back whole.
    let back = import(&bytes).unwrap();
    assert_eq!(back.recipients[0].display_name(), "N".repeat(3000));
    let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("S".repeat(3000).as_str()));
    assert_eq!(from.address(), Some("ada@example.com"));
    assert_eq!(back.attachments.len(), 2);
}
