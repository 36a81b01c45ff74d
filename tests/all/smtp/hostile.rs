//! Issue 16: one bad message never stops the queue; a hostile server never holds a message.

use super::*;

#[test]
fn a_poison_message_beside_ten_good_ones_all_go_out_through_smtp() {
    let srv = Server::start(&[]);
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let port = srv.port.to_string();
    crate::poison::ok(&crate::poison::run_bounded(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
        &[],
        Duration::from_mins(1),
    ));
    crate::poison::import_poison_and_ten(dir.path(), &store, &[]);
    // Before the fix the transport's thread died on the poison and `send` hung.
    let out = crate::poison::ok(&crate::poison::run_bounded(
        &store,
        &["send", "--all"],
        &[],
        Duration::from_mins(2),
    ));
    // (A new store holds the demo messages too; they go out beside these.)
    srv.wait_for_rcpts(11);
    let subjects = srv.subjects();
    assert_eq!(
        subjects.iter().filter(|s| *s == "poison").count(),
        1,
        "{out}\n{subjects:?}"
    );
    assert_eq!(
        subjects.iter().filter(|s| s.starts_with("good ")).count(),
        10,
        "{out}\n{subjects:?}"
    );
}

/// A one-connection server on loopback that runs `script` on the socket it accepts (every
/// script bounded in count and time); the handle tells what the script saw.
pub(crate) fn hostile<T: Send + 'static>(
    script: impl FnOnce(std::net::TcpStream) -> T + Send + 'static,
) -> (u16, std::thread::JoinHandle<Option<T>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let h = std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_mins(1) {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                    return Some(script(s));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        None
    });
    (port, h)
}

/// Reads one command line from the client (bounded by the socket's read timeout).
pub(crate) fn client_line(r: &mut BufReader<std::net::TcpStream>) -> String {
    let mut line = String::new();
    let _ = r.read_line(&mut line);
    line
}

/// A rig whose SMTP transport talks to `port` with these bounds, and one message submitted;
/// runs until the spooler is idle and returns the message's last error and how long it took.
pub(crate) fn against(
    port: u16,
    timeout: u64,
    command_deadline: u64,
) -> (String, Duration, MessageState) {
    let mut p = smtp_profile("127.0.0.1", port);
    if let TransportKind::Smtp(s) = &mut p.transports[0].kind {
        s.timeout_secs = timeout;
        s.command_deadline_secs = command_deadline;
    }
    let mut r = Rig::new(p);
    let eid = r.submit("To a hostile server", &["ann@example.org"]);
    let t0 = Instant::now();
    r.run();
    let took = t0.elapsed();
    let m = r.load(eid);
    let state = r.state(eid);
    (m.spool.last_error.unwrap_or_default(), took, state)
}

#[test]
fn a_reply_line_without_a_newline_is_cut_off_at_the_line_limit() {
    // The greeting never ends: "220-" and then 'a' for as long as the client reads (at most
    // 20 s or 256 MiB here). Before the fix lettre read it all into one line.
    let (port, seen) = hostile(|mut s| {
        let t0 = Instant::now();
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0usize;
        let _ = s.write_all(b"220-");
        while t0.elapsed() < Duration::from_secs(20) && sent < 256 << 20 {
            match s.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => return (sent, true, t0.elapsed()),
            }
        }
        (sent, false, t0.elapsed())
    });
    let (why, took, state) = against(port, 10, 300);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("MAPI_E_NETWORK_ERROR") && why.contains("without an end"),
        "{why}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (sent, cut, _) = seen.join().unwrap().unwrap();
    assert!(cut, "the client closed the connection ({sent} bytes sent)");
}

#[test]
fn a_server_sending_one_byte_a_second_trips_the_command_deadline() {
    // A proper greeting, then the EHLO reply one byte a second (for at most 40 s). The
    // per-read timeout (10 s) never fires; the command's deadline (3 s) does.
    let (port, seen) = hostile(|s| {
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"220 slow.test ESMTP\r\n");
        let ehlo = client_line(&mut r);
        let t0 = Instant::now();
        for b in b"250-slow.test says hello very very slowly indeed\r\n250 OK\r\n" {
            if t0.elapsed() > Duration::from_secs(40) || w.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        ehlo
    });
    let (why, took, state) = against(port, 10, 3);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("timed out after 3 s") && why.contains("deadline") && why.contains("EHLO"),
        "{why}"
    );
    assert!(took < Duration::from_secs(9), "{took:?}");
    assert!(seen.join().unwrap().unwrap().starts_with("EHLO"));
}

#[test]
fn garbage_from_the_server_is_named_and_the_message_waits() {
    let (port, seen) = hostile(|s| {
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"220 junk.test ESMTP\r\n");
        let _ = client_line(&mut r);
        let _ = w.write_all(b"250 junk.test\r\n");
        let mail = client_line(&mut r);
        let _ = w.write_all(b"\x00\xff\xfeGARBAGE garbage garbage\r\n");
        // Whatever comes next (nothing, or a RSET); at most 5 s.
        let _ = r.get_ref().set_read_timeout(Some(Duration::from_secs(5)));
        let _ = client_line(&mut r);
        mail
    });
    let (why, took, state) = against(port, 10, 300);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("not an SMTP reply") && why.contains("MAIL FROM"),
        "{why}"
    );
    assert!(took < Duration::from_secs(9), "{took:?}");
    assert!(seen.join().unwrap().unwrap().starts_with("MAIL FROM"));
}

#[test]
fn a_silent_server_is_a_timeout_named_as_one() {
    let (port, seen) = hostile(|s| {
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"220 mute.test ESMTP\r\n");
        let _ = client_line(&mut r);
        let _ = w.write_all(b"250 mute.test\r\n");
        let _ = client_line(&mut r);
        let _ = w.write_all(b"250 2.1.0 Ok\r\n");
        // RCPT TO: never answered (the client gives up first; at most 20 s).
        let rcpt = client_line(&mut r);
        let _ = client_line(&mut r);
        rcpt
    });
    let (why, _, state) = against(port, 2, 300);
    assert_eq!(state, MessageState::WaitingRetry);
    assert!(
        why.contains("timed out after 2 s waiting for the reply to RCPT TO:<ann@example.org>"),
        "{why}"
    );
    assert!(!why.contains("os error 11"), "{why}");
    assert!(seen.join().unwrap().unwrap().starts_with("RCPT TO"));
}
