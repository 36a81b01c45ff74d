//! Issue 27: SMTP in step (RFC 5321 sections 4.2.1 and 4.3.2). After the final dot only a 2yz
//! reply is delivery; DATA must answer 354; input waiting on a kept connection before MAIL
//! means the dialogue is out of step. Each against a scripted server that misbehaves so, with
//! every recipient's outcome checked, and what reached the server.

use std::io::Read as _;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

/// How one connection of a [`Scripted`] server misbehaves (or not).
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The reply to DATA; the message is read only when it starts with 354.
    pub(crate) data_reply: &'static str,
    /// What follows each message's final dot on this connection, in writes 150 ms apart;
    /// past the list, "250 2.0.0 queued".
    pub(crate) after_dot: Vec<Vec<&'static str>>,
    /// The EHLO reply offers SMTPUTF8.
    pub(crate) smtp_utf8: bool,
    /// The reply to every RCPT.
    pub(crate) rcpt_reply: &'static str,
    /// The reply to RSET.
    pub(crate) rset_reply: &'static str,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            data_reply: "354 go ahead\r\n",
            after_dot: Vec::new(),
            smtp_utf8: false,
            rcpt_reply: "250 2.1.5 recipient ok\r\n",
            rset_reply: "250 2.0.0 reset\r\n",
        }
    }
}

/// What one connection of a [`Scripted`] server got.
#[derive(Clone, Debug, Default)]
pub(crate) struct Session {
    /// Every byte the client sent.
    pub(crate) raw: Vec<u8>,
    /// The command lines (the message's lines not among them).
    pub(crate) commands: Vec<String>,
    /// Each message as sent between the 354 and the final dot (dot-stuffing left in).
    pub(crate) messages: Vec<Vec<u8>>,
}

impl Session {
    pub(crate) fn subjects(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter_map(|m| {
                String::from_utf8_lossy(m)
                    .lines()
                    .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
            })
            .collect()
    }
}

/// An SMTP server on loopback that follows its plans, one per connection in the order they
/// come (a connection past the plans gets the default one); each connection on its own
/// thread, everything bounded in time.
pub(crate) struct Scripted {
    pub(crate) port: u16,
    stop: Arc<AtomicBool>,
    accepting: std::thread::JoinHandle<Vec<std::thread::JoinHandle<Session>>>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Scripted {
    pub(crate) fn start(plans: Vec<Plan>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (stop2, open2) = (Arc::clone(&stop), Arc::clone(&open));
        let accepting = std::thread::spawn(move || {
            let mut sessions = Vec::new();
            let t0 = Instant::now();
            while !stop2.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_mins(2) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                        s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                        open2.lock().unwrap().push(s.try_clone().unwrap());
                        let plan = plans.get(sessions.len()).cloned().unwrap_or_default();
                        sessions.push(std::thread::spawn(move || serve(s, &plan)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            sessions
        });
        Self {
            port,
            stop,
            accepting,
            open,
        }
    }

    /// Stops the server (closing what the client left open) and returns what each connection
    /// got, in order.
    pub(crate) fn sessions(self) -> Vec<Session> {
        self.stop.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        let handles = self.accepting.join().unwrap();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }
}

/// Reads one line (to its LF) into `raw` too; empty at the end of the input.
fn line(r: &mut BufReader<TcpStream>, raw: &mut Vec<u8>) -> Vec<u8> {
    let mut l = Vec::new();
    let _ = r.read_until(b'\n', &mut l);
    raw.extend_from_slice(&l);
    l
}

fn serve(sock: TcpStream, plan: &Plan) -> Session {
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::new(sock);
    let mut seen = Session::default();
    let _ = w.write_all(b"220 scripted.test ESMTP\r\n");
    loop {
        let cmd = line(&mut r, &mut seen.raw);
        if cmd.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(&cmd).trim_end().to_owned();
        let verb = text
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        seen.commands.push(text.clone());
        let reply: String = match verb.as_str() {
            "EHLO" => format!(
                "250-scripted.test\r\n{}250 8BITMIME\r\n",
                if plan.smtp_utf8 {
                    "250-SMTPUTF8\r\n"
                } else {
                    ""
                }
            ),
            "HELO" => "250 scripted.test\r\n".into(),
            "MAIL" => "250 2.1.0 sender ok\r\n".into(),
            "RCPT" => plan.rcpt_reply.into(),
            "RSET" => plan.rset_reply.into(),
            "QUIT" => {
                let _ = w.write_all(b"221 2.0.0 bye\r\n");
                break;
            }
            "DATA" => {
                let _ = w.write_all(plan.data_reply.as_bytes());
                if !plan.data_reply.starts_with("354") {
                    continue;
                }
                let mut msg = Vec::new();
                loop {
                    let data = line(&mut r, &mut seen.raw);
                    if data.is_empty() || data == b".\r\n" {
                        break;
                    }
                    msg.extend_from_slice(&data);
                }
                let n = seen.messages.len();
                seen.messages.push(msg);
                let default = vec!["250 2.0.0 queued\r\n"];
                for (i, chunk) in plan.after_dot.get(n).unwrap_or(&default).iter().enumerate() {
                    if i > 0 {
                        std::thread::sleep(Duration::from_millis(150));
                    }
                    let _ = w.write_all(chunk.as_bytes());
                }
                continue;
            }
            // The end of a message sent after DATA was not answered 354.
            "." => "250 2.0.0 queued (a message nobody asked for)\r\n".into(),
            // Other lines of such a message: no reply.
            _ => continue,
        };
        let _ = w.write_all(reply.as_bytes());
    }
    // Whatever else comes (nothing, normally), until the client closes.
    let _ = r.read_to_end(&mut seen.raw);
    seen
}

/// A rig sending to `srv`.
fn rig(srv: &Scripted) -> Rig {
    Rig::new(smtp_profile("127.0.0.1", srv.port))
}

fn no_ndr(r: &mut Rig) {
    let ndrs: Vec<String> = r
        .sp()
        .store()
        .summaries()
        .filter(|s| s.subject.starts_with("Undeliverable"))
        .map(|s| s.subject.clone())
        .collect();
    assert!(ndrs.is_empty(), "{ndrs:?}");
}

#[test]
fn a_354_after_the_final_dot_is_no_delivery_and_the_next_message_goes_on_a_new_connection() {
    // The case: "354 spurious" then "554" after message 1's dot. Before the fix
    // message 1 was Sent and message 2 failed with an NDR quoting the 554, though the server
    // never got it.
    let srv = Scripted::start(vec![Plan {
        after_dot: vec![vec!["354 spurious\r\n554 5.0.0 spurious too\r\n"]],
        ..Plan::default()
    }]);
    let mut r = rig(&srv);
    let one = r.submit("Message one", &["ann@example.org", "bob@example.org"]);
    let two = r.submit("Message two", &["cat@example.org"]);
    r.run();
    assert_eq!(
        r.outcomes(one),
        [
            RecipientState::OutcomeUnknown,
            RecipientState::OutcomeUnknown
        ]
    );
    assert_eq!(r.state(one), MessageState::WaitingRetry);
    let why = r.load(one).recipients[0].report_text().unwrap().to_owned();
    assert!(
        why.contains("outcome unknown") && why.contains("354 spurious"),
        "{why}"
    );
    assert_eq!(r.outcomes(two), [RecipientState::Delivered]);
    assert_eq!(r.folder_name(two), "Sent Items");
    no_ndr(&mut r);
    drop(r);
    let sessions = srv.sessions();
    assert_eq!(sessions.len(), 2, "{sessions:#?}");
    assert_eq!(sessions[0].subjects(), ["Message one"]);
    assert_eq!(
        sessions[0]
            .commands
            .iter()
            .filter(|c| c.starts_with("MAIL"))
            .count(),
        1,
        "nothing more on the first connection: {:#?}",
        sessions[0].commands
    );
    assert_eq!(sessions[1].subjects(), ["Message two"]);
}

#[test]
fn a_reply_to_data_other_than_354_is_out_of_step_and_the_message_is_not_sent() {
    // A 250 to DATA; a 354 with a reply to the message already behind it. Before the fix the
    // body went out in both cases and the message was shown Sent.
    for data_reply in [
        "250 2.0.0 ok\r\n",
        "354 go ahead\r\n250 2.0.0 taken before the message came\r\n",
    ] {
        let srv = Scripted::start(vec![Plan {
            data_reply,
            ..Plan::default()
        }]);
        let mut r = rig(&srv);
        let eid = r.submit("Never sent", &["ann@example.org", "bob@example.org"]);
        r.run();
        assert_eq!(
            r.outcomes(eid),
            [RecipientState::Pending, RecipientState::Pending],
            "{data_reply:?}"
        );
        assert_eq!(r.state(eid), MessageState::WaitingRetry);
        let why = r.load(eid).spool.last_error.unwrap_or_default();
        assert!(
            why.contains("MAPI_E_NETWORK_ERROR") && why.contains("out of step"),
            "{why}"
        );
        no_ndr(&mut r);
        drop(r);
        let sessions = srv.sessions();
        assert_eq!(sessions.len(), 1, "{sessions:#?}");
        let raw = String::from_utf8_lossy(&sessions[0].raw).into_owned();
        assert!(
            !raw.contains("Subject:") && !raw.contains("Body of"),
            "the body went out after {data_reply:?}:\n{raw}"
        );
    }
}

#[test]
fn input_waiting_on_a_kept_connection_before_mail_means_a_new_connection() {
    // A second reply after message 1's 250: in the same write (it sits in the client's
    // buffer) or a moment later (it sits in the socket). Before the fix it was read as the
    // reply to message 2's MAIL: message 2 failed with an NDR quoting it.
    for extra in [
        vec!["250 2.0.0 queued\r\n554 5.0.0 unasked\r\n"],
        vec!["250 2.0.0 queued\r\n", "554 5.0.0 unasked\r\n"],
    ] {
        let srv = Scripted::start(vec![Plan {
            after_dot: vec![extra.clone()],
            ..Plan::default()
        }]);
        let mut r = rig(&srv);
        let one = r.submit("First on the line", &["ann@example.org"]);
        r.run();
        assert_eq!(r.outcomes(one), [RecipientState::Delivered]);
        // The late reply arrives while the connection is kept.
        std::thread::sleep(Duration::from_millis(500));
        let two = r.submit(
            "Second on the line",
            &["bob@example.org", "cat@example.org"],
        );
        r.run();
        assert_eq!(
            r.outcomes(two),
            [RecipientState::Delivered, RecipientState::Delivered],
            "{extra:?}"
        );
        no_ndr(&mut r);
        let t = super::wire::wire_calls(&r.load(two))
            .last()
            .unwrap()
            .transcript
            .join("\n");
        assert!(
            t.contains("554 5.0.0 unasked") && t.contains("out of step"),
            "{t}"
        );
        drop(r);
        let sessions = srv.sessions();
        assert_eq!(sessions.len(), 2, "{extra:?}: {sessions:#?}");
        assert_eq!(sessions[0].subjects(), ["First on the line"]);
        assert_eq!(
            sessions[0]
                .commands
                .iter()
                .filter(|c| c.starts_with("MAIL"))
                .count(),
            1,
            "{:#?}",
            sessions[0].commands
        );
        assert_eq!(sessions[1].subjects(), ["Second on the line"]);
    }
}

#[test]
fn a_reply_to_rset_other_than_a_completion_closes_the_connection() {
    // Every recipient refused, then RSET answered 354: the server thinks a message follows.
    // Before the fix the connection was kept and message 2 went to it.
    let srv = Scripted::start(vec![Plan {
        rcpt_reply: "550 5.1.1 no such user\r\n",
        rset_reply: "354 go ahead\r\n",
        ..Plan::default()
    }]);
    let mut r = rig(&srv);
    let one = r.submit("Refused", &["ann@example.org"]);
    r.run();
    assert_eq!(r.outcomes(one), [RecipientState::Failed]);
    let two = r.submit("After the reset", &["bob@example.org"]);
    r.run();
    assert_eq!(r.outcomes(two), [RecipientState::Delivered]);
    drop(r);
    let sessions = srv.sessions();
    assert_eq!(sessions.len(), 2, "{sessions:#?}");
    assert!(
        sessions[0].commands.iter().any(|c| c == "RSET"),
        "{:#?}",
        sessions[0].commands
    );
    assert_eq!(
        sessions[0]
            .commands
            .iter()
            .filter(|c| c.starts_with("MAIL"))
            .count(),
        1,
        "{:#?}",
        sessions[0].commands
    );
    assert_eq!(sessions[1].subjects(), ["After the reset"]);
}
