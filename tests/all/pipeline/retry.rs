//! Deferred send, retries and transport deferral.

use super::*;

#[test]
fn deferred_send_time_in_the_future_holds_the_message_until_then() {
    let mut rig = Rig::new(&[smtp()]);
    let at = t0() + SignedDuration::from_mins(10);
    let eid = rig.draft_with("later", &[A], |m| {
        m.props.set_time(PR_DEFERRED_SEND_TIME, at);
    });
    rig.submit(eid);
    assert_eq!(rig.run(), 0);
    assert_eq!(
        rig.sp.tick(),
        Tick::Idle(Some(at)),
        "the next timer is the send time"
    );
    assert_eq!(
        rig.summary(eid).unwrap().state(rig.now()),
        MessageState::DeferredSend
    );
    rig.advance(9 * 60 + 59);
    assert_eq!(rig.run(), 0);
    assert!(rig.log.offers().is_empty());
    rig.advance(1);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn deferred_send_time_in_the_past_sends_at_once() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("overdue", &[A], |m| {
        m.props
            .set_time(PR_DEFERRED_SEND_TIME, t0() - SignedDuration::from_hours(1));
    });
    rig.submit(eid);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn deferred_send_number_and_units_count_from_the_submit_time() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("in two hours", &[A], |m| {
        // A stale absolute time is replaced by the one computed at submit (reference a.5).
        m.props
            .set_time(PR_DEFERRED_SEND_TIME, t0() - SignedDuration::from_hours(5));
        m.props.set_flags(PR_DEFERRED_SEND_NUMBER, 2);
        m.props.set_flags(PR_DEFERRED_SEND_UNITS, 1);
    });
    rig.advance(30);
    rig.submit(eid);
    let at = t0() + SignedDuration::from_secs(30) + SignedDuration::from_hours(2);
    assert_eq!(rig.msg(eid).props.time(PR_DEFERRED_SEND_TIME), Some(at));
    assert_eq!(rig.run(), 0);
    assert_eq!(
        rig.summary(eid).unwrap().state(rig.now()),
        MessageState::DeferredSend
    );
    rig.set_clock(at);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn deferred_delivery_time_is_passed_on_not_held() {
    let mut rig = Rig::new(&[smtp()]);
    let later = t0() + SignedDuration::from_hours(24);
    let eid = rig.draft_with("deliver tomorrow", &[A], |m| {
        m.props.set_time(PR_DEFERRED_DELIVERY_TIME, later);
    });
    rig.submit(eid);
    rig.run();
    assert_eq!(
        rig.log.of(eid).len(),
        1,
        "the spooler does not act on it (reference e.26)"
    );
    assert_eq!(
        rig.msg(eid).props.time(PR_DEFERRED_DELIVERY_TIME),
        Some(later)
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn transient_failure_waits_for_a_retry_then_succeeds() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Transient])]);
    let eid = rig.send("try again", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.state(rig.now()), MessageState::WaitingRetry);
    assert!(!m.is_locked(), "given back while it waits");
    assert_eq!(m.recipients[0].outcome, RecipientState::Retrying);
    assert!(!m.recipients[0].responsibility());
    let retry = t0() + SignedDuration::from_secs(60);
    assert_eq!(
        m.spool.next_retry,
        Some(retry),
        "first delay of the default policy"
    );
    assert_eq!(m.spool.waiting_on.as_deref(), Some("SMTP"));
    assert!(rig.events.iter().any(
        |e| matches!(e, Event::RetryScheduled { eid: x, at, .. } if *x == eid && *at == retry)
    ));
    assert_eq!(rig.run(), 0, "not before the retry time");
    rig.advance(60);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert!(rig.ndrs().is_empty());
}

#[test]
fn mapi_e_wait_uses_the_seconds_the_transport_returned() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Wait(300)])]);
    let eid = rig.send("wait 300", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).spool.next_retry,
        Some(t0() + SignedDuration::from_secs(300))
    );
    rig.advance(299);
    assert_eq!(rig.run(), 0);
    rig.advance(1);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn retry_backoff_doubles_up_to_the_maximum() {
    let mut rig = Rig::with(&[spec("SMTP", &["SMTP"], Reply::Busy)], |p| {
        p.retry = RetryPolicy {
            first_delay_secs: 60,
            max_delay_secs: 240,
            give_up_after_secs: 100_000,
        };
    });
    let eid = rig.send("busy", &[A]);
    let mut delays = Vec::new();
    for _ in 0..5 {
        rig.run();
        let m = rig.msg(eid);
        let next = m.spool.next_retry.expect("waiting");
        delays.push(next.duration_since(rig.now()).as_secs());
        rig.set_clock(next);
    }
    assert_eq!(delays, [60, 120, 240, 240, 240]);
    assert_eq!(rig.log.of(eid).len(), 5);
}

#[test]
fn retry_gives_up_after_the_configured_age_with_an_ndr() {
    let mut rig = Rig::with(&[spec("SMTP", &["SMTP"], Reply::Busy)], |p| {
        p.retry = RetryPolicy {
            first_delay_secs: 60,
            max_delay_secs: 120,
            give_up_after_secs: 300,
        };
    });
    let eid = rig.send("never", &[A]);
    for _ in 0..20 {
        rig.run();
        match rig.summary(eid).and_then(|s| s.next_retry) {
            Some(t) => rig.set_clock(t),
            None => break,
        }
    }
    // Attempts at 0, 60, 180 and 300 s; at 300 s the trouble is old enough.
    assert_eq!(rig.log.of(eid).len(), 4);
    assert_eq!(rig.now(), t0() + SignedDuration::from_secs(300));
    let m = rig.msg(eid);
    let r = &m.recipients[0];
    assert_eq!(r.outcome, RecipientState::Failed);
    assert!(r.responsibility());
    assert!(
        r.report_text().unwrap().starts_with("gave up after"),
        "{:?}",
        r.report_text()
    );
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1);
    assert!(
        rig.msg(ndrs[0].eid).recipients[0]
            .report_text()
            .unwrap()
            .starts_with("gave up after")
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn waiting_message_does_not_block_other_transports_but_keeps_order_for_its_own() {
    let mut rig = Rig::new(&[
        spec("Slow", &["SMTP"], Reply::Deliver).first(&[Reply::Busy]),
        spec("FAX", &["FAX"], Reply::Deliver),
    ]);
    let a = rig.send("A via Slow", &[A]);
    rig.advance(1);
    let b = rig.send("B via FAX", &[("+1 212 555 0100", "FAX")]);
    rig.advance(1);
    let c = rig.send("C via Slow", &[B]);
    rig.run();
    assert_eq!(
        rig.summary(a).unwrap().state(rig.now()),
        MessageState::WaitingRetry
    );
    assert_eq!(
        rig.folder_name(b).as_deref(),
        Some("Sent Items"),
        "another transport goes on"
    );
    assert_eq!(
        rig.summary(c).unwrap().state(rig.now()),
        MessageState::Queued,
        "not sent ahead of A"
    );
    assert!(rig.log.of(c).is_empty());
    rig.advance(60);
    rig.run();
    let slow: Vec<EntryId> = rig.log.to("Slow").into_iter().map(|o| o.eid).collect();
    assert_eq!(slow, [a, a, c]);
    assert_eq!(rig.folder_name(a).as_deref(), Some("Sent Items"));
    assert_eq!(rig.folder_name(c).as_deref(), Some("Sent Items"));
}

#[test]
fn waiting_message_is_not_overtaken_on_the_transport_it_waits_for() {
    // A's SMTP row is declined by Primary and waits on Shared; C's FAX row goes straight to
    // Shared. Both are bound for Shared, so C must not be sent ahead of A (SPEC 2, e.6).
    let mut rig = Rig::new(&[
        spec("Primary", &["SMTP"], Reply::NotMe),
        spec("Shared", &["SMTP", "FAX"], Reply::Deliver).first(&[Reply::Busy]),
    ]);
    let a = rig.send("A waits on Shared", &[A]);
    rig.advance(1);
    let c = rig.send("C for Shared", &[("+1 212 555 0100", "FAX")]);
    rig.run();
    assert_eq!(
        rig.summary(a).unwrap().state(rig.now()),
        MessageState::WaitingRetry
    );
    assert!(rig.log.of(c).is_empty(), "C overtook A on Shared");
    rig.advance(60);
    rig.run();
    let shared: Vec<EntryId> = rig.log.to("Shared").into_iter().map(|o| o.eid).collect();
    assert_eq!(shared, [a, a, c]);
    assert_eq!(rig.folder_name(c).as_deref(), Some("Sent Items"));
}

#[test]
fn end_dont_resend_defers_and_is_reoffered_with_begin_deferred() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(30)])]);
    let eid = rig.send("scheduled upload", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.state(rig.now()), MessageState::DeferredByTransport);
    assert!(!m.is_locked(), "the spooler gives the message back");
    assert_eq!(m.spool.deferred_by.as_deref(), Some("SMTP"));
    assert_eq!(m.spool.next_step, Some(Step::SetLockState));
    assert!(!m.recipients[0].responsibility());
    rig.advance(29);
    assert_eq!(rig.run(), 0, "nothing until the transport calls back");
    rig.advance(1);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(
        offers.iter().map(|o| o.begin_deferred).collect::<Vec<_>>(),
        [false, true]
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    let trace = rig.trace(eid);
    let notify = position(&trace, |c| {
        c.call == "IMAPISupport::SpoolerNotify" && c.args.starts_with("NOTIFY_SENTDEFERRED")
    });
    let reoffer = position(&trace, |c| {
        c.call == "IXPLogon::SubmitMessage" && c.args.contains("BEGIN_DEFERRED")
    });
    assert!(notify < reoffer);
}

#[test]
fn mapi_e_network_error_uses_the_seconds_the_transport_returned() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Net(90)])]);
    let eid = rig.send("network down", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(
        m.spool.next_retry,
        Some(t0() + SignedDuration::from_secs(90))
    );
    assert!(
        m.spool
            .last_error
            .as_deref()
            .unwrap()
            .contains("MAPI_E_NETWORK_ERROR")
    );
    rig.advance(90);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

/// Issue 27, finding 7: a retry delay past what a timestamp holds (10^12 s, ~31,700 years)
/// panicked in `retry_or_give_up` (timestamp overflow) and left the message Locked. The retry
/// time saturates at the latest time instead; the message waits, unlocked, and a flush sends it.
#[test]
fn a_retry_delay_of_10_to_the_12_seconds_saturates_and_leaves_nothing_locked() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Net(1_000_000_000_000)])]);
    let eid = rig.send("retry in 31,700 years", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.spool.next_retry, Some(Timestamp::MAX));
    assert_eq!(
        rig.summary(eid).unwrap().state(rig.now()),
        MessageState::WaitingRetry
    );
    assert!(!rig.summary(eid).unwrap().is_locked());
    // The next timer is that time; nothing panics in looking at it.
    assert_eq!(rig.sp.tick(), Tick::Idle(Some(Timestamp::MAX)));
    rig.sp.handle(Command::Flush);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn end_resend_now_submits_again_at_once() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::ResendNow])]);
    let eid = rig.send("again", &[A]);
    rig.run();
    assert_eq!(
        rig.log.of(eid).len(),
        2,
        "a new SubmitMessage in the same Transmit step"
    );
    assert_eq!(rig.now(), t0(), "no waiting");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    let transmits = rig
        .step_outcomes(eid)
        .iter()
        .filter(|(s, _)| *s == Step::Transmit)
        .count();
    assert_eq!(transmits, 1);
}

#[test]
fn abort_of_a_message_deferred_by_its_transport_succeeds() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(30)])]);
    let eid = rig.send("kept by the transport", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).state(rig.now()),
        MessageState::DeferredByTransport
    );
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    assert_eq!(rig.msg(eid).state(rig.now()), MessageState::Draft);
    // The transport's late call-back does not resurrect it.
    rig.advance(60);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(rig.msg(eid).state(rig.now()), MessageState::Draft);
    assert!(rig.queue().is_empty());
}

#[test]
fn end_resend_later_waits_for_a_retry() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::ResendLater])]);
    let eid = rig.send("not now", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.state(rig.now()), MessageState::WaitingRetry);
    assert_eq!(
        m.spool.next_retry,
        Some(t0() + SignedDuration::from_secs(60))
    );
    assert!(
        m.spool
            .last_error
            .as_deref()
            .unwrap()
            .contains("END_RESEND_LATER")
    );
    assert!(!m.recipients[0].responsibility());
    rig.advance(60);
    rig.run();
    assert_eq!(rig.log.of(eid).len(), 2);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn flush_clears_retry_timers_once() {
    let mut rig = Rig::with(&[spec("SMTP", &["SMTP"], Reply::Busy)], |p| {
        p.retry = RetryPolicy {
            first_delay_secs: 600,
            max_delay_secs: 3600,
            give_up_after_secs: 100_000,
        };
    });
    let eid = rig.send("server down", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).spool.next_retry,
        Some(t0() + SignedDuration::from_secs(600))
    );
    rig.sp.handle(Command::Flush);
    let n = rig.run();
    assert!(n <= 3, "one more attempt, no busy loop ({n} steps)");
    assert_eq!(rig.log.of(eid).len(), 2, "offered once more, at once");
    let m = rig.msg(eid);
    assert_eq!(
        m.state(rig.now()),
        MessageState::WaitingRetry,
        "still down: waits again"
    );
    assert_eq!(
        m.spool.next_retry,
        Some(t0() + SignedDuration::from_secs(1200))
    );
    assert_eq!(rig.run(), 0);
    assert_eq!(rig.log.of(eid).len(), 2);
}
