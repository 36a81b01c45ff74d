//! AUTH: the password outside the store, and nowhere else.

use super::*;

#[test]
fn auth_password_lives_in_a_0600_file_outside_the_store_and_logs_in() {
    let srv = Server::start(&["--auth", "alice:s3cret pass"]);
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let cfg = dir.path().join("config");
    let env = [("XDG_CONFIG_HOME", cfg.as_path())];
    let port = srv.port.to_string();
    set_smtp_user(&store, &port, "alice", &env);
    // Without a password the message waits and says why.
    let out = ok(&spoolbox_with(&store, &["send", "--all"], &env, None));
    assert!(
        out.contains("no password stored for alice@127.0.0.1"),
        "{out}"
    );
    assert!(srv.messages().is_empty());
    let out = ok(&spoolbox_with(
        &store,
        &["profile", "set-password"],
        &env,
        Some("s3cret pass\n"),
    ));
    assert!(out.contains("stored"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let cred = cfg.join("spoolbox/credentials.json");
        let mode = std::fs::metadata(&cred).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    for entry in walk(&store) {
        let text = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains("s3cret"),
            "the password leaked into {}",
            entry.display()
        );
    }
    let shown = ok(&spoolbox_with(&store, &["profile"], &env, None));
    assert!(shown.contains("password: stored"), "{shown}");
    ok(&spoolbox_with(&store, &["send", "--all"], &env, None));
    assert!(!srv.messages().is_empty(), "logged in and sent");
    // The transcript shows that AUTH ran, never its arguments: neither the password nor the
    // base64 token that carries it is anywhere in the store (traces and kept bytes included).
    let token = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "\0alice\0s3cret pass",
    );
    let mut saw_auth = false;
    for entry in walk(&store) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains("s3cret"),
            "the password leaked into {}",
            entry.display()
        );
        assert!(
            !text.contains(&token),
            "the AUTH token leaked into {}",
            entry.display()
        );
        saw_auth |= text.contains("C: AUTH PLAIN (credentials not shown)");
    }
    assert!(
        saw_auth,
        "the transcript records the AUTH command, redacted"
    );
}

/// Issue 17: a distinctive password, after a send with AUTH and a connection test with it
/// typed, is in its credentials file and nowhere else: not in the store (messages, traces,
/// the kept bytes), not in any event the window is sent, not in the trace, not in the log
/// at its most verbose, not in the command line's output.
#[test]
fn a_distinctive_password_is_nowhere_but_its_credentials_after_a_send_with_auth() {
    use spoolbox::spooler::ConnectionTest;
    use spoolbox::transport::credentials::{self, Secret, Vault};
    use spoolbox::transport::smtp::SmtpTransport;

    const PW: &str = "Zq8-tangerine-4711-distinctive";
    let srv = Server::start(&["--auth", &format!("alice:{PW}")]);
    let token = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("\0alice\0{PW}"),
    );
    let mut profile = smtp_profile("127.0.0.1", srv.port);
    let TransportKind::Smtp(settings) = &mut profile.transports[0].kind else {
        panic!("SMTP first")
    };
    settings.username = Some("alice".into());
    let settings = settings.clone();
    // In process: the transport reads the password from a credentials file of its own.
    let cfg = fast_tempdir();
    let file = cfg.path().join("spoolbox/credentials.json");
    Vault::file_only(file.clone(), "test")
        .store(
            &credentials::key("alice", "127.0.0.1", srv.port),
            Some(&Secret::new(PW)),
        )
        .unwrap();
    let mut r = Rig::new(profile);
    r.sp().drain_events();
    r.sp().set_transports(vec![Box::new(
        SmtpTransport::new("SMTP", &["SMTP".to_owned()], settings.clone(), false)
            .with_credentials_file(file.clone()),
    )]);
    let eid = r.submit("Password check", &["ann@example.com"]);
    let mut events = r.run();
    assert_eq!(r.outcomes(eid), [RecipientState::Delivered]);
    // Test connection with the password typed, as the window asks it.
    r.sp()
        .handle(Command::TestConnection(Box::new(ConnectionTest {
            id: 7,
            settings,
            password: Some(Secret::new(PW)),
            deliver_for_real: false,
        })));
    events.extend(r.sp().drain_events());
    let tested = events
        .iter()
        .any(|e| matches!(e, Event::ConnectionTested { id: 7, report } if report.ok()));
    assert!(tested, "the test logged in: {events:?}");
    let msg = r.load(eid);
    let mut everything = format!("{events:?}\n{msg:?}");
    assert!(
        everything.contains("(credentials not shown)"),
        "AUTH is in the transcript"
    );
    // The command line, logging in with the same file: a message imported and sent with
    // the log at its most verbose, then its trace, its JSON and the profile.
    let store = r.root();
    let eml = cfg.path().join("check.eml");
    std::fs::write(
        &eml,
        "From: Ann <ann@example.org>\r\nTo: bob@example.com\r\nSubject: CLI check\r\n\r\nHello.\r\n",
    )
    .unwrap();
    r.closed(|root| {
        let env: [(&str, &Path); 2] = [
            ("XDG_CONFIG_HOME", cfg.path()),
            ("SPOOLBOX_LOG", Path::new("trace")),
        ];
        let eid = eid.to_string();
        for args in [
            vec!["import", eml.to_str().unwrap(), "--submit"],
            vec!["send", "--all"],
            vec!["trace", &eid],
            vec!["--json", "show", &eid],
            vec!["profile"],
        ] {
            let o = spoolbox_with(root, &args, &env, None);
            assert!(o.status.success(), "{args:?}: {o:?}");
            everything.push_str(&String::from_utf8_lossy(&o.stdout));
            everything.push_str(&String::from_utf8_lossy(&o.stderr));
        }
    });
    assert!(
        srv.subjects().iter().any(|s| s == "CLI check"),
        "the command line logged in and sent too: {:?}",
        srv.subjects()
    );
    for entry in walk(&store) {
        everything.push_str(&String::from_utf8_lossy(&std::fs::read(&entry).unwrap()));
    }
    assert!(!everything.contains(PW), "the password leaked");
    assert!(!everything.contains(&token), "the AUTH token leaked");
    assert!(
        std::fs::read_to_string(&file).unwrap().contains(PW),
        "it is where it belongs"
    );
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
