//! The deliver-for-real guard.

use super::*;

#[test]
fn with_deliver_for_real_off_a_non_loopback_host_is_refused_visibly_and_nothing_connects() {
    // 0.0.0.0 is not a loopback address, yet on Linux a connection to it reaches the local
    // machine: had the guard let it through, the test server would have seen it.
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("0.0.0.0", srv.port));
    let notices: Vec<String> = r
        .sp()
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Notice(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("deliver_for_real is off") && n.contains("0.0.0.0 refused")),
        "{notices:?}"
    );
    let row = r
        .sp()
        .status_table()
        .into_iter()
        .find(|x| x.name == "SMTP")
        .unwrap();
    assert_ne!(row.status_code & STATUS_OFFLINE, 0);
    assert!(row.text.contains(GUARD_TEXT), "{}", row.text);
    let eid = r.submit("Guarded", &["ann@example.com"]);
    r.run();
    let m = r.load(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("Pickup folder"));
    let trace = r.sp().trace_text(eid).unwrap();
    assert!(
        trace
            .lines()
            .any(|l| l.contains("IXPLogon::SubmitMessage([SMTP]")
                && l.contains("not called: STATUS_OUTBOUND_ENABLED is clear")
                && l.contains(GUARD_TEXT)),
        "{trace}"
    );
    assert_eq!(srv.connections(), 0, "nothing connected");
    assert!(srv.messages().is_empty());
    // Switched on, the very same host is reached: the zero above is a real zero.
    let mut p = r.sp().store().profile().clone();
    p.deliver_for_real = true;
    r.sp().handle(Command::SaveProfile(Box::new(p)));
    r.assert_no_error();
    let eid = r.submit("For real", &["ann@example.com"]);
    r.run();
    assert_eq!(r.load(eid).recipients[0].transport.as_deref(), Some("SMTP"));
    assert_eq!(srv.messages().len(), 1);
}
