//! Import keeps everything it can (issue 18): every address of every `To`/`Cc`/`Bcc`/
//! `Resent-*` occurrence, groups, encoded names; what is no usable address is named in the
//! notice; and import → export → import keeps every address, the subject and the body.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::collections::BTreeSet;
use std::fmt::Write as _;

use proptest::prelude::*;
use spoolbox::eml::{self, Imported, RenderOptions};
use spoolbox::mapi::{EntryId, Message, RecipientKind};

/// (kind, lower-case address) of every row.
fn addresses(i: &Imported) -> BTreeSet<(String, String)> {
    i.recipients
        .iter()
        .map(|r| (format!("{:?}", r.kind()), r.email().to_ascii_lowercase()))
        .collect()
}

/// Import → a draft → export (Bcc kept, as `spoolbox export` writes it) → import.
fn round_trip(first: &Imported) -> Imported {
    let mut m = Message::draft(EntryId(7), EntryId(2), &first.subject);
    m.body.clone_from(&first.body);
    m.recipients.clone_from(&first.recipients);
    let rows: Vec<u32> = m.recipients.iter().map(|r| r.row_id).collect();
    let opts = RenderOptions {
        keep_bcc: true,
        skip_invalid: true,
        date: None,
    };
    let sender = ("Spoolbox".to_owned(), "me@example.org".to_owned());
    let out = eml::render_with(&m, &rows, &sender, opts).unwrap();
    eml::import(&out.bytes).unwrap()
}

fn body_text(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[test]
fn every_occurrence_of_every_address_header_gives_its_rows() {
    let text = "From: Ann <ann@example.org>\r\n\
        To: bob@example.org\r\n\
        To: Carol <carol@example.org>, dave@example.org\r\n\
        Cc: erin@example.org\r\n\
        Cc: =?UTF-8?B?Wm/Dqw==?= <zoe@example.org>\r\n\
        Bcc: frank@example.org\r\n\
        Resent-To: grace@example.org\r\n\
        Resent-Cc: heidi@example.org\r\n\
        To: team: ivan@example.org, judy@example.org;\r\n\
        Subject: many headers\r\n\
        \r\n\
        body\r\n";
    let i = eml::import(text.as_bytes()).unwrap();
    let got: Vec<(RecipientKind, &str, &str)> = i
        .recipients
        .iter()
        .map(|r| (r.kind(), r.email(), r.display_name()))
        .collect();
    for (kind, addr) in [
        (RecipientKind::To, "bob@example.org"),
        (RecipientKind::To, "carol@example.org"),
        (RecipientKind::To, "dave@example.org"),
        (RecipientKind::To, "ivan@example.org"),
        (RecipientKind::To, "judy@example.org"),
        (RecipientKind::Cc, "erin@example.org"),
        (RecipientKind::Cc, "zoe@example.org"),
        (RecipientKind::Bcc, "frank@example.org"),
        (RecipientKind::To, "grace@example.org"),
        (RecipientKind::Cc, "heidi@example.org"),
    ] {
        assert!(
            got.iter().any(|(k, a, _)| *k == kind && *a == addr),
            "{kind:?} {addr} missing from {got:?}"
        );
    }
    assert_eq!(got.len(), 10, "{got:?}");
    assert!(
        got.iter()
            .any(|(_, a, n)| *a == "zoe@example.org" && *n == "Zoë"),
        "{got:?}"
    );
    assert!(i.unusable.is_empty(), "{:?}", i.unusable);
}

#[test]
fn an_address_header_without_a_usable_address_is_named_not_dropped() {
    let text = "From: ann@example.org\r\nTo: Just A Name\r\nCc: bob@example.org\r\nSubject: x\r\n\r\nbody\r\n";
    let i = eml::import(text.as_bytes()).unwrap();
    assert_eq!(addresses(&i).len(), 1, "{:?}", i.recipients);
    assert!(
        i.unusable
            .iter()
            .any(|u| u.starts_with("To:") && u.contains("Just A Name")),
        "{:?}",
        i.unusable
    );
    // The import command says so in its notice.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = spoolbox::store::Store::open(&dir.path().join("store")).unwrap();
    let mut sp = spoolbox::spooler::Spooler::new(store, spoolbox::spooler::Clock::system());
    let file = dir.path().join("name-only.eml");
    std::fs::write(&file, text).unwrap();
    sp.import_eml(&file).unwrap();
    let notices: Vec<String> = sp
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            spoolbox::spooler::Event::Notice(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|t| t.contains("no usable address") && t.contains("Just A Name")),
        "{notices:?}"
    );
}

#[test]
fn the_projects_fixtures_round_trip_with_every_address_subject_and_body() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eml");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let first = eml::import(&std::fs::read(&path).unwrap()).unwrap();
        let again = round_trip(&first);
        let name = path.display();
        assert_eq!(addresses(&again), addresses(&first), "{name}");
        assert_eq!(again.subject, first.subject, "{name}");
        assert_eq!(body_text(&again.body), body_text(&first.body), "{name}");
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} fixtures");
}

fn mailbox() -> impl Strategy<Value = (String, String)> {
    (
        "[a-z][a-z0-9]{0,4}([.][a-z0-9]{1,4})?",
        "[a-z]{1,8}",
        prop::sample::select(vec![
            "",
            "Ann",
            "Zoë Ünal",
            "O'Brien, Pat",
            "李 雷",
            "\"quoted\"",
        ]),
    )
        .prop_map(|(local, domain, name)| (name.to_owned(), format!("{local}@{domain}.example")))
}

proptest! {
    /// Generated messages: any mix of To/Cc/Bcc mailboxes with plain, encoded, quoted and
    /// comma-bearing names, any subject and body text, survive import → export → import.
    #[test]
    fn generated_messages_round_trip(
        to in prop::collection::vec(mailbox(), 1..6),
        cc in prop::collection::vec(mailbox(), 0..4),
        bcc in prop::collection::vec(mailbox(), 0..3),
        subject in "[a-zA-Z0-9 äöüßé€,.:;!?-]{0,60}",
        body in "[a-zA-Z0-9 äöü€.,\n-]{0,300}",
    ) {
        let fmt = |(n, a): &(String, String)| {
            if n.is_empty() { a.clone() } else {
                format!("=?UTF-8?B?{}?= <{a}>", base64(n.as_bytes()))
            }
        };
        let join = |l: &[(String, String)]| l.iter().map(fmt).collect::<Vec<_>>().join(", ");
        let mut text = format!("From: me@example.org\r\nTo: {}\r\n", join(&to));
        if !cc.is_empty() {
            write!(text, "Cc: {}\r\n", join(&cc)).unwrap();
        }
        if !bcc.is_empty() {
            write!(text, "Bcc: {}\r\n", join(&bcc)).unwrap();
        }
        write!(
            text,
            "Subject: =?UTF-8?B?{}?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
            base64(subject.trim().as_bytes()),
            body.replace('\n', "\r\n")
        )
        .unwrap();
        let first = eml::import(text.as_bytes()).unwrap();
        let want: BTreeSet<(String, String)> = [(RecipientKind::To, &to), (RecipientKind::Cc, &cc), (RecipientKind::Bcc, &bcc)]
            .iter()
            .flat_map(|(k, l)| l.iter().map(move |(_, a)| (format!("{k:?}"), a.to_ascii_lowercase())))
            .collect();
        prop_assert_eq!(addresses(&first), want.clone());
        let again = round_trip(&first);
        prop_assert_eq!(addresses(&again), want);
        prop_assert_eq!(again.subject.trim(), subject.trim());
        prop_assert_eq!(body_text(&again.body), body_text(&first.body));
        for r in &again.recipients {
            let orig = first.recipients.iter().find(|x| x.email() == r.email() && x.kind() == r.kind()).unwrap();
            prop_assert_eq!(r.display_name(), orig.display_name());
        }
    }
}

/// Standard base64 (the test's own, to build encoded words).
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
