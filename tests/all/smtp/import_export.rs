//! Import and export of real-world `.eml` files, through the CLI to the server.

use super::*;

pub(crate) fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/eml").join(name)
}

/// Imports through the spooler's command, as the app does; returns the draft.
pub(crate) fn import(r: &mut Rig, name: &str) -> Message {
    r.sp().handle(Command::ImportEml(fixture(name)));
    let events = r.sp().drain_events();
    let eid = events
        .iter()
        .find_map(|e| match e {
            Event::DraftCreated(eid) => Some(*eid),
            Event::Error(t) => panic!("{name}: {t}"),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name}: no DraftCreated in {events:?}"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Summary(s) if s.eid == eid))
    );
    let m = r.load(eid);
    assert_eq!(r.folder_name(eid), "Outbox");
    assert_eq!(r.state(eid), MessageState::Draft);
    assert!(m.recipients.iter().all(|x| x.addrtype() == "SMTP"));
    m
}

pub(crate) fn people(m: &Message) -> Vec<(String, String, RecipientKind)> {
    m.recipients
        .iter()
        .map(|x| (x.display_name().to_owned(), x.email().to_owned(), x.kind()))
        .collect()
}

pub(crate) fn p(name: &str, addr: &str, kind: RecipientKind) -> (String, String, RecipientKind) {
    (name.to_owned(), addr.to_owned(), kind)
}

#[test]
fn importing_real_world_eml_files_gives_drafts_with_the_right_fields() {
    use RecipientKind::{Bcc, Cc, To};
    let mut r = Rig::new(smtp_profile("", 25));

    let m = import(&mut r, "plain.eml");
    assert_eq!(m.subject(), "Minutes of the Tuesday meeting");
    assert_eq!(
        people(&m),
        [
            p("Alan Turing", "alan@example.org", To),
            p("Lovelace, Ada", "ada@example.com", To),
            p("", "team@example.org", Cc)
        ]
    );
    assert!(
        m.body.starts_with("Hi both,\n\nthe minutes are below.\n"),
        "{:?}",
        m.body
    );
    assert!(m.attachments.is_empty());

    let m = import(&mut r, "alternative.eml");
    assert_eq!(m.subject(), "Q3 figures");
    assert_eq!(
        m.body,
        "Hello Ada,\n\nthe figures for Q3 are ready: revenue up 12 %.\n\nRegards,\nFinance\n",
        "text/plain is preferred over the HTML alternative"
    );

    let m = import(&mut r, "html_only.eml");
    assert_eq!(
        m.body, "Newsletter\nFirst item & more\n",
        "HTML turned into text"
    );

    let m = import(&mut r, "attachments.eml");
    assert_eq!(
        people(&m),
        [p("Charles Babbage", "charles@example.org", To)]
    );
    assert_eq!(
        m.body,
        "Charles, the report and the diagram are attached.\n"
    );
    let att: Vec<(&str, &str)> = m
        .attachments
        .iter()
        .map(|a| (a.file_name.as_str(), a.mime_type.as_str()))
        .collect();
    assert_eq!(
        att,
        [
            ("report.pdf", "application/pdf"),
            ("Übersicht Q3.png", "image/png"),
            ("attached-message-3.eml", "message/rfc822")
        ],
        "directory parts stripped, RFC 2231 names decoded"
    );
    assert!(m.attachments[0].data.starts_with(b"%PDF-1.4"));
    assert!(m.attachments[1].data.starts_with(b"\x89PNG"));
    assert!(
        String::from_utf8_lossy(&m.attachments[2].data).contains("Subject: the original request")
    );

    let m = import(&mut r, "encoded_headers.eml");
    assert_eq!(m.subject(), "Grüße aus München – Résumé");
    assert_eq!(
        people(&m),
        [
            p("François Lefèvre", "francois@example.fr", To),
            p("山田太郎", "yamada@example.jp", To),
            p("", "anna@example.de", Cc),
            p("", "bert@example.de", Cc),
            p("Zöe", "zoe@example.com", Bcc),
        ],
        "encoded words decoded, group members listed"
    );
    assert_eq!(
        m.body,
        "Hallo zusammen, anbei der Lebenslauf. Schöne Grüße, Jürgen\n"
    );

    let m = import(&mut r, "latin1.eml");
    assert_eq!(m.subject(), "Café crème");
    assert_eq!(
        m.body,
        "Un café crème à côté de l'église, s'il vous plaît.\n"
    );

    let m = import(&mut r, "shift_jis.eml");
    assert_eq!(m.subject(), "会議の資料");
    assert_eq!(m.body, "お世話になっております。\n会議の資料を送ります。\n");

    let m = import(&mut r, "windows1252.eml");
    assert_eq!(m.body, "Price: € 42 – “special” offer\n");
}

#[test]
fn importing_a_broken_file_gives_a_clear_error_naming_what_is_wrong() {
    let mut r = Rig::new(smtp_profile("", 25));
    let before = r.sp().store().summaries().count();
    for (name, want) in [
        ("broken/empty.eml", "the file is empty"),
        ("broken/binary.eml", "not a message: the file is binary"),
        ("broken/no_headers.eml", "not a message: no header lines"),
        ("broken/not_a_message.eml", "none of the headers From, To"),
        ("does-not-exist.eml", "No such file"),
    ] {
        r.sp().handle(Command::ImportEml(fixture(name)));
        let errors: Vec<String> = r
            .sp()
            .drain_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Error(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1, "{name}: exactly one error: {errors:?}");
        assert!(
            errors[0].contains(want) && errors[0].contains(name.trim_start_matches("broken/")),
            "{name}: {}",
            errors[0]
        );
    }
    assert_eq!(
        r.sp().store().summaries().count(),
        before,
        "no draft was made"
    );
    // The CLI says the same in one line and exits non-zero.
    r.closed(|root| {
        let o = spoolbox(
            root,
            &["import", fixture("broken/empty.eml").to_str().unwrap()],
        );
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("spoolbox: error: ") && err.contains("empty.eml: the file is empty"),
            "{err}"
        );
    });
}

#[test]
fn cli_import_submit_send_reaches_the_server_and_export_parses_back() {
    let srv = Server::start(&[]);
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let cfg = dir.path().join("config");
    let env = [("XDG_CONFIG_HOME", cfg.as_path())];
    let port = srv.port.to_string();
    let shown = ok(&spoolbox_with(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "none",
        ],
        &env,
        None,
    ));
    assert!(
        shown.contains(&format!("host 127.0.0.1  port {port}  tls none")),
        "{shown}"
    );
    assert!(shown.contains("deliver for real: off"), "{shown}");
    let out = ok(&spoolbox_with(
        &store,
        &[
            "--json",
            "import",
            fixture("attachments.eml").to_str().unwrap(),
            "--submit",
        ],
        &env,
        None,
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["submitted"], true);
    assert_eq!(v["attachments"].as_array().unwrap().len(), 3);
    let id = v["id"].as_u64().unwrap().to_string();
    let sent = ok(&spoolbox_with(&store, &["send", &id], &env, None));
    assert!(
        sent.contains("note: deliver_for_real is off"),
        "the guard is visible: {sent}"
    );
    let got: Vec<Value> = srv
        .messages()
        .into_iter()
        .filter(|m| m["subject"] == "Report and diagram attached")
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(rcpts(&got[0]), ["charles@example.org"]);
    let data = got[0]["data"].as_str().unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(data.as_bytes())
        .unwrap();
    let first = parsed.attachment(0).unwrap();
    assert_eq!(
        mail_parser::MimeHeaders::attachment_name(first),
        Some("report.pdf")
    );
    // Export the sent message and read it back with mail-parser.
    let file = dir.path().join("out.eml");
    let out = ok(&spoolbox_with(
        &store,
        &["export", &id, file.to_str().unwrap()],
        &env,
        None,
    ));
    assert!(out.contains("exported to"), "{out}");
    let bytes = std::fs::read(&file).unwrap();
    let back = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(back.subject(), Some("Report and diagram attached"));
    assert_eq!(
        back.to().unwrap().first().unwrap().address(),
        Some("charles@example.org")
    );
    assert_eq!(back.attachment_count(), 3);
    assert_eq!(
        back.body_text(0).unwrap().trim_end(),
        "Charles, the report and the diagram are attached."
    );
    // A demo message with FAX and EX recipients exports its Internet recipients and says
    // which were left out.
    let list: Value = serde_json::from_str(&ok(&spoolbox(&store, &["list", "--json"]))).unwrap();
    let kickoff = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["subject"] == "Project kickoff: SMTP, fax and a local mailbox"
                && x["folder"] != "Inbox"
        })
        .unwrap()["id"]
        .to_string();
    let file = dir.path().join("kickoff.eml");
    let out = ok(&spoolbox(
        &store,
        &["export", &kickoff, file.to_str().unwrap()],
    ));
    assert!(
        out.contains("left out") && out.contains("(FAX)") && out.contains("(EX)"),
        "{out}"
    );
    let bytes = std::fs::read(&file).unwrap();
    let back = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        back.to().unwrap().first().unwrap().address(),
        Some("linus@example.org")
    );
}
