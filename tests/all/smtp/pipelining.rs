//! PIPELINING (RFC 2920): MAIL, the RCPTs and DATA in one write when the server offers it.

use super::*;

/// Sends a message to three recipients, one of them refused (550), then one to a single
/// recipient, on one connection; returns the first's outcomes and each accepted RCPT's
/// `ahead` (bytes of later commands already at the server when it answered).
pub(crate) fn send_550_case(server_args: &[&str]) -> (Vec<RecipientState>, Vec<u64>) {
    let srv = Server::start(server_args);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let first = r.submit(
        "Three recipients",
        &[
            "ann@example.com",
            "reject-bob@example.com",
            "cat@example.com",
        ],
    );
    let second = r.submit("One recipient", &["dan@example.com"]);
    r.run();
    assert_eq!(
        srv.subjects(),
        ["Three recipients", "One recipient"],
        "{server_args:?}"
    );
    assert_eq!(
        rcpts(&srv.messages()[0]),
        ["ann@example.com", "cat@example.com"]
    );
    assert_eq!(r.outcomes(second), [RecipientState::Delivered]);
    assert!(
        r.load(first)
            .recipient(1)
            .unwrap()
            .report_text()
            .unwrap()
            .starts_with("550 5.1.1"),
        "the server's own text"
    );
    assert_eq!(srv.connections(), 1, "{server_args:?}");
    // The transport's status says which way it talks.
    let status = r
        .sp()
        .status_table()
        .into_iter()
        .find(|x| x.name == "SMTP")
        .unwrap()
        .text;
    assert!(status.starts_with("connected to 127.0.0.1:"), "{status}");
    assert_eq!(
        status.ends_with(", PIPELINING"),
        !server_args.contains(&"--no-pipelining"),
        "{status}"
    );
    let aheads = srv
        .records("rcpt")
        .iter()
        .map(|v| v["ahead"].as_u64().unwrap())
        .collect();
    (r.outcomes(first), aheads)
}

#[test]
fn commands_are_pipelined_when_the_server_offers_it_with_the_same_outcomes_as_one_by_one() {
    let (pipelined, ahead) = send_550_case(&[]);
    let (one_by_one, waited) = send_550_case(&["--no-pipelining"]);
    // The keywords come from the first EHLO (the client reads the reply itself): a server that
    // would refuse a second one is never asked it, and is pipelined to.
    let (refused_ehlo, not_waited) = send_550_case(&["--refuse-second-ehlo"]);
    let want = [
        RecipientState::Delivered,
        RecipientState::Failed,
        RecipientState::Delivered,
    ];
    assert_eq!(pipelined, want);
    assert_eq!(one_by_one, want);
    assert_eq!(refused_ehlo, want);
    // Pipelined, every RCPT (the refused one is not logged) was answered with the commands
    // after it already at the server; one by one, never.
    assert_eq!(ahead.len(), 3);
    assert!(ahead.iter().all(|a| *a > 0), "{ahead:?}");
    assert_eq!(waited, [0, 0, 0]);
    assert!(not_waited.iter().all(|a| *a > 0), "{not_waited:?}");
}

#[test]
fn hundreds_of_recipients_are_pipelined_in_small_batches_and_each_gets_its_own_answer() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    // 600 RCPTs are about 18 KB of commands: sent all at once, a server that answers each as
    // it reads could fill its socket buffer while the client is still writing.
    let to: Vec<String> = (0..600)
        .map(|i| {
            if i % 150 == 7 {
                format!("reject-{i}@example.com")
            } else {
                format!("r{i:03}@example.com")
            }
        })
        .collect();
    let refs: Vec<&str> = to.iter().map(String::as_str).collect();
    let eid = r.submit("Many recipients", &refs);
    r.run();
    let outcomes = r.outcomes(eid);
    for (i, o) in outcomes.iter().enumerate() {
        let want = if i % 150 == 7 {
            RecipientState::Failed
        } else {
            RecipientState::Delivered
        };
        assert_eq!(*o, want, "row {i}");
    }
    let got = srv.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(rcpts(&got[0]).len(), 596);
    // Never more than one batch (4 KB of commands) ahead of the server's answers, and the
    // client did wait for them between batches.
    let ahead: Vec<u64> = srv
        .records("rcpt")
        .iter()
        .map(|v| v["ahead"].as_u64().unwrap())
        .collect();
    assert_eq!(ahead.len(), 596);
    assert!(ahead.iter().all(|a| *a < 4096), "{ahead:?}");
    let waits = ahead.iter().filter(|a| **a == 0).count();
    assert!((3..=10).contains(&waits), "{waits} batch ends: {ahead:?}");
}

#[test]
fn a_refused_sender_or_no_accepted_recipient_ends_the_transaction_and_the_connection_goes_on() {
    for args in [&[][..], &["--no-pipelining"][..]] {
        let srv = Server::start(args);
        let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
        // Every recipient refused: DATA is refused too (or, one by one, never sent).
        let nobody = r.submit(
            "Nobody takes it",
            &["reject-a@example.com", "reject-b@example.com"],
        );
        let fine = r.submit("Fine", &["ann@example.com"]);
        r.run();
        assert_eq!(
            r.outcomes(nobody),
            [RecipientState::Failed, RecipientState::Failed],
            "{args:?}"
        );
        assert_eq!(r.outcomes(fine), [RecipientState::Delivered], "{args:?}");
        // The sender refused at MAIL: the same answer for every recipient.
        let mut p = smtp_profile("127.0.0.1", srv.port);
        p.sender_address = "reject-sender@spoolbox.test".into();
        r.sp().store_mut().set_profile(p).unwrap();
        let refused = r.submit("Refused sender", &["ann@example.com", "bob@example.com"]);
        r.run();
        let m = r.load(refused);
        for rc in &m.recipients {
            assert_eq!(rc.outcome, RecipientState::Failed, "{args:?}");
            assert!(
                rc.report_text().unwrap().starts_with("550 5.7.1"),
                "{:?}",
                rc.report_text()
            );
        }
        assert_eq!(r.folder_name(refused), "Sent Items");
        // Only the one message anybody took; and the replies were read in step, so the
        // connection carried all three transactions.
        assert_eq!(srv.subjects(), ["Fine"], "{args:?}");
        assert_eq!(srv.connections(), 1, "{args:?}");
        for eid in [nobody, fine, refused] {
            assert_eq!(r.load(eid).spool.attempts, 0, "{args:?}: no retry");
        }
    }
}
