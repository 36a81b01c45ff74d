//! Issue 27: canonical lines on the wire and on disk. A bare CR or LF never leaves (so the
//! `<CR>.<CR><LF>` smuggling form can never be sent), header lines are folded under the
//! limit, IDN domains go as punycode to a server without SMTPUTF8 (a UTF-8 local part is then
//! that recipient's clear error), and pickup files are readable as their folder allows.

use super::in_step::{Plan, Scripted};
use super::*;

/// Every line of `bytes` ends in CRLF (no CR or LF alone) and is at most 998 octets.
fn assert_canonical(bytes: &[u8], what: &str) {
    let around = |i: usize| {
        String::from_utf8_lossy(&bytes[i.saturating_sub(40)..(i + 40).min(bytes.len())])
            .into_owned()
    };
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\n' => assert!(
                i > 0 && bytes[i - 1] == b'\r',
                "{what}: a bare LF at byte {i}: {:?}",
                around(i)
            ),
            b'\r' => assert!(
                bytes.get(i + 1) == Some(&b'\n'),
                "{what}: a bare CR at byte {i}: {:?}",
                around(i)
            ),
            _ => {}
        }
    }
    let longest = bytes
        .split(|b| *b == b'\n')
        .map(|l| l.len().saturating_sub(1))
        .max()
        .unwrap_or(0);
    assert!(longest <= 998, "{what}: a line of {longest} octets");
}

/// The smuggling body: a bare CR before a dot, then SMTP commands.
const SMUGGLING: &[u8] = b"From: Mallory <mallory@example.org>\r\n\
To: ann@example.org\r\n\
Subject: smuggling\r\n\
\r\n\
hello\r.\r\nMAIL FROM:<smuggled@evil.test>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n\
smuggled\r\n\r.\r\nand a lone LF\nbye\r\n";

/// `spoolbox import FILE --submit` and `spoolbox send ID`; the message's id.
fn import_and_send(store: &Path, file: &Path) -> String {
    let out = ok(&spoolbox(
        store,
        &["--json", "import", file.to_str().unwrap(), "--submit"],
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    let id = v["id"].as_u64().unwrap().to_string();
    ok(&spoolbox(store, &["send", &id]));
    id
}

#[test]
fn a_bare_cr_in_an_imported_body_never_reaches_the_wire_the_pickup_file_or_an_export() {
    let dir = fast_tempdir();
    let file = dir.path().join("smuggling.eml");
    std::fs::write(&file, SMUGGLING).unwrap();
    // Through SMTP: every byte the server got.
    let srv = Scripted::start(vec![]);
    let store = dir.path().join("store");
    let port = srv.port.to_string();
    ok(&spoolbox(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
    ));
    let id = import_and_send(&store, &file);
    let sessions = srv.sessions();
    let mut got = 0;
    for s in &sessions {
        assert_canonical(&s.raw, "on the wire");
        assert!(
            !s.commands.iter().any(|c| c.contains("smuggled@evil.test")),
            "{:#?}",
            s.commands
        );
        got += s.subjects().iter().filter(|x| *x == "smuggling").count();
    }
    assert_eq!(got, 1, "{sessions:#?}");
    // The export (the kept bytes of the hand-off).
    let out = dir.path().join("out.eml");
    ok(&spoolbox(&store, &["export", &id, out.to_str().unwrap()]));
    assert_canonical(&std::fs::read(&out).unwrap(), "the export");
    // Through the pickup folder (a new store: its demo profile has no SMTP server).
    let store2 = dir.path().join("store2");
    let id2 = import_and_send(&store2, &file);
    let files: Vec<PathBuf> = std::fs::read_dir(store2.join("pickup"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            std::fs::read(p)
                .unwrap()
                .windows(9)
                .any(|w| w == b"smuggling")
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    assert_canonical(&bytes, "the pickup file");
    // The text reads back with its lines, each bare CR a line end.
    let back = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let body = back.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        body.starts_with("hello\n.\nMAIL FROM:<smuggled@evil.test>\n"),
        "{body:?}"
    );
    // And an export of a message not sent yet (rendered anew). Another subject: importing
    // the same bytes again answers with the message imported before (import is idempotent).
    let eml = dir.path().join("draft.eml");
    let draft_bytes = String::from_utf8_lossy(SMUGGLING)
        .replace("Subject: smuggling", "Subject: smuggling, as a draft")
        .into_bytes();
    std::fs::write(&eml, draft_bytes).unwrap();
    let v: Value = serde_json::from_str(&ok(&spoolbox(
        &store2,
        &["--json", "import", eml.to_str().unwrap()],
    )))
    .unwrap();
    let draft = v["id"].as_u64().unwrap().to_string();
    assert_ne!(draft, id2);
    let out = dir.path().join("draft-out.eml");
    ok(&spoolbox(
        &store2,
        &["export", &draft, out.to_str().unwrap()],
    ));
    assert_canonical(&std::fs::read(&out).unwrap(), "the export of a draft");
}

#[test]
fn a_3000_character_subject_goes_out_folded_and_reads_back_the_same() {
    let srv = Scripted::start(vec![]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let subjects = [
        "x".repeat(3000),
        format!("A long one: {} end", "y".repeat(2990)),
        "word ".repeat(600).trim_end().to_owned(),
    ];
    for s in &subjects {
        let eid = r.submit(s, &["ann@example.org"]);
        r.run();
        assert_eq!(r.outcomes(eid), [RecipientState::Delivered]);
    }
    drop(r);
    let sessions = srv.sessions();
    let messages: Vec<&Vec<u8>> = sessions.iter().flat_map(|s| &s.messages).collect();
    assert_eq!(messages.len(), 3);
    for (m, want) in messages.iter().zip(&subjects) {
        assert_canonical(m, "a message with a long subject");
        let head = &m[..m.windows(4).position(|w| w == b"\r\n\r\n").unwrap()];
        let longest = head.split(|b| *b == b'\n').map(<[u8]>::len).max().unwrap();
        // 78 characters and the CR.
        assert!(longest <= 79, "a header line of {longest} octets");
        let back = mail_parser::MessageParser::default().parse(m).unwrap();
        assert_eq!(back.subject(), Some(want.as_str()));
    }
}

#[test]
fn idn_domains_go_as_punycode_where_smtputf8_is_not_offered_and_a_utf8_local_part_fails_alone() {
    let to = ["ann@bücher.example", "jörg@example.org", "cat@example.org"];
    // No SMTPUTF8: the domain as punycode, the UTF-8 local part refused before RCPT.
    let srv = Scripted::start(vec![]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit("IDN", &to);
    r.run();
    assert_eq!(
        r.outcomes(eid),
        [
            RecipientState::Delivered,
            RecipientState::Failed,
            RecipientState::Delivered
        ]
    );
    let why = r.load(eid).recipients[1].report_text().unwrap().to_owned();
    assert!(
        why.contains("jörg@example.org") && why.contains("SMTPUTF8"),
        "{why}"
    );
    drop(r);
    let sessions = srv.sessions();
    assert_eq!(sessions.len(), 1);
    let rcpts: Vec<&String> = sessions[0]
        .commands
        .iter()
        .filter(|c| c.starts_with("RCPT"))
        .collect();
    assert_eq!(
        rcpts,
        [
            "RCPT TO:<ann@xn--bcher-kva.example>",
            "RCPT TO:<cat@example.org>"
        ]
    );
    for c in &sessions[0].commands {
        if c.starts_with("MAIL") {
            assert!(!c.contains("SMTPUTF8"), "{c}");
        }
    }
    // With SMTPUTF8 offered: as written, with the SMTPUTF8 parameter.
    let srv = Scripted::start(vec![Plan {
        smtp_utf8: true,
        ..Plan::default()
    }]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit("IDN", &to);
    r.run();
    assert_eq!(r.outcomes(eid), vec![RecipientState::Delivered; 3]);
    drop(r);
    let sessions = srv.sessions();
    let c = &sessions[0].commands;
    assert!(
        c.iter()
            .any(|x| x.starts_with("MAIL FROM:<sender@spoolbox.test>") && x.contains("SMTPUTF8")),
        "{c:#?}"
    );
    assert!(
        c.iter().any(|x| x == "RCPT TO:<ann@bücher.example>"),
        "{c:#?}"
    );
    assert!(
        c.iter().any(|x| x == "RCPT TO:<jörg@example.org>"),
        "{c:#?}"
    );
}

#[cfg(unix)]
#[test]
fn pickup_files_are_readable_as_far_as_the_pickup_folder_is() {
    use std::os::unix::fs::PermissionsExt as _;
    for (dir_mode, want) in [(0o755, 0o644), (0o750, 0o640), (0o700, 0o600)] {
        let out = fast_tempdir();
        let pickup = out.path().join("pickup");
        std::fs::create_dir(&pickup).unwrap();
        std::fs::set_permissions(&pickup, std::fs::Permissions::from_mode(dir_mode)).unwrap();
        let mut p = smtp_profile("127.0.0.1", 1);
        p.transports = vec![TransportConfig::new(
            "Pickup folder",
            TransportKind::Pickup(PickupSettings {
                dir: pickup.to_str().unwrap().to_owned(),
            }),
            &["SMTP"],
        )];
        let mut r = Rig::new(p);
        let eid = r.submit("For the pickup service", &["ann@example.org"]);
        r.run();
        assert_eq!(r.outcomes(eid), [RecipientState::Delivered]);
        let files: Vec<PathBuf> = std::fs::read_dir(&pickup)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "in a folder of mode {dir_mode:o}: {mode:o}");
    }
}
