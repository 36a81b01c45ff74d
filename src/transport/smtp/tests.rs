use super::dialogue::dot_stuffed;
use super::*;
use crate::mapi::{Message, Recipient, RecipientKind};

/// Test messages that make the transport's thread panic (caught) or die.
pub(super) fn poison(msg: &Message) {
    match msg.subject() {
        "panic in the thread" => panic!("test poison in the SMTP thread"),
        "kill the thread" => std::panic::panic_any(super::super::SimulatedCrash),
        _ => {}
    }
}

/// A store root for the hand-offs of these tests: a folder under the system's temporary
/// directory (kept for the run), never the working directory, which is the checkout.
fn scratch_root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("spoolbox-unit-smtp-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
    .clone()
}

fn msg(eid: u64, subject: &str) -> Message {
    let mut m = Message::draft(EntryId(eid), EntryId(2), subject);
    m.recipients.push(Recipient::new(
        0,
        "",
        "a@example.com",
        "SMTP",
        RecipientKind::To,
    ));
    m
}

/// Starts a background hand-off of `m` and waits (at most 20 s) for its result.
fn hand_off(t: &mut SmtpTransport, m: &Message) -> Handoff {
    let view = SubmitView {
        msg: m,
        rows: vec![0],
        begin_deferred: false,
        sender: (String::new(), "me@example.com".into()),
        deliver_for_real: false,
        store_root: scratch_root(),
        gate: None,
    };
    if let Some(h) = t.start_submit(&view) {
        return h;
    }
    let t0 = std::time::Instant::now();
    while !t.poll_handoff() {
        assert!(t0.elapsed() < Duration::from_secs(20), "no answer");
        if let Some(rx) = t.completions() {
            let _ = rx.recv_timeout(Duration::from_millis(50));
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    t.start_submit(&view)
        .unwrap_or_else(|| Handoff::refused(SubmitResult::Busy))
}

#[test]
fn a_panic_on_the_transport_thread_fails_that_message_and_the_line_goes_on() {
    // A closed port: good messages end in a network error, which shows the line works.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(9, |a| a.port());
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        timeout_secs: 2,
        ..SmtpSettings::default()
    };
    let mut t = SmtpTransport::new("SMTP", &["SMTP".into()], settings, false);
    let failed = |h: &Handoff, what: &str| {
        matches!(h.outcomes.as_slice(), [(0, RowOutcome::Failed(text))]
            if text.contains("MAPI_E_CORRUPT_DATA") && text.contains(what))
    };
    let h = hand_off(&mut t, &msg(1, "panic in the thread"));
    assert!(failed(&h, "test poison in the SMTP thread"), "{h:?}");
    let h = hand_off(&mut t, &msg(2, "good"));
    assert!(
        matches!(&h.result, SubmitResult::NetworkError(_, why) if why.contains("cannot connect")),
        "{h:?}"
    );
    // A panic that gets past the guard kills the thread: the transport notices, fails the
    // message it was on, restarts, and says so.
    let h = hand_off(&mut t, &msg(3, "kill the thread"));
    assert!(failed(&h, "thread stopped"), "{h:?}");
    assert!(t.status_text().contains("restarted"), "{}", t.status_text());
    let h = hand_off(&mut t, &msg(4, "good again"));
    assert!(
        matches!(&h.result, SubmitResult::NetworkError(_, why) if why.contains("cannot connect")),
        "{h:?}"
    );
}

#[test]
fn dots_at_line_starts_are_doubled_and_the_terminator_added() {
    assert_eq!(
        dot_stuffed(b"a\r\n.b\r\n..\r\n"),
        b"a\r\n..b\r\n...\r\n.\r\n"
    );
    assert_eq!(dot_stuffed(b".x"), b"..x\r\n.\r\n");
    assert_eq!(
        dot_stuffed(b"x.\n.y"),
        b"x.\n.y\r\n.\r\n",
        "a bare LF starts no line"
    );
}

#[test]
fn loopback_hosts_are_recognised() {
    for h in [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
    ] {
        assert!(is_loopback_host(h), "{h}");
    }
    for h in [
        "smtp.example.com",
        "10.0.0.1",
        "192.168.1.1",
        "::2",
        "localhost.example.com",
        "",
    ] {
        assert!(!is_loopback_host(h), "{h}");
    }
}

#[test]
fn an_unconfigured_or_guarded_transport_is_offline_and_declines() {
    use crate::mapi::{EntryId, Message, Recipient, RecipientKind};
    let mut m = Message::draft(EntryId(1), EntryId(2), "s");
    m.recipients.push(Recipient::new(
        0,
        "",
        "a@example.com",
        "SMTP",
        RecipientKind::To,
    ));
    let view = |real| SubmitView {
        msg: &m,
        rows: vec![0],
        begin_deferred: false,
        sender: (String::new(), "me@example.com".into()),
        deliver_for_real: real,
        store_root: scratch_root(),
        gate: None,
    };
    let mut t = SmtpTransport::new("SMTP", &["SMTP".into()], SmtpSettings::default(), false);
    assert_eq!(t.status_code(), STATUS_OFFLINE);
    assert_eq!(t.submit_message(&view(false)).result, SubmitResult::NotMe);
    let remote = SmtpSettings {
        host: "smtp.example.com".into(),
        port: 25,
        ..SmtpSettings::default()
    };
    let mut t = SmtpTransport::new("SMTP", &["SMTP".into()], remote, false);
    assert_eq!(t.status_code(), STATUS_OFFLINE);
    assert!(t.status_text().contains(GUARD_TEXT), "{}", t.status_text());
    assert_eq!(t.submit_message(&view(false)).result, SubmitResult::NotMe);
    assert!(t.core.as_ref().is_some_and(|c| c.conn.is_none()));
}

/// (reference e.15) A `MAPI_P1` row and a content row for one mailbox (the domain in any
/// case) are one RCPT; the reply to it decides both rows.
#[test]
fn one_rcpt_per_mailbox_and_its_reply_answers_every_row_for_it() {
    use super::dialogue::{answer_twins, one_rcpt_per_mailbox};
    let a = |s: &str| {
        s.parse::<lettre::Address>()
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    };
    let (unique, twins) = one_rcpt_per_mailbox(vec![
        (0, a("bob@example.org")),
        (1, a("ann@example.org")),
        (2, a("bob@EXAMPLE.org")),
        (3, a("Bob@example.org")),
    ]);
    let rows: Vec<u32> = unique.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, [0, 1, 3], "the local part is kept as written");
    assert_eq!(twins, [(2, 0)]);
    let mut outcomes = vec![
        (0, RowOutcome::Delivered("250 ok".into())),
        (1, RowOutcome::Failed("550 no".into())),
        (3, RowOutcome::Delivered("250 ok".into())),
    ];
    answer_twins(&mut outcomes, &twins);
    assert_eq!(
        outcomes.last(),
        Some(&(2, RowOutcome::Delivered("250 ok".into())))
    );
}
