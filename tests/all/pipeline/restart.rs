//! Restart, resend, the status table, the worker.

use super::*;

#[test]
fn restart_clears_a_stale_lock_and_never_reoffers_true_recipients() {
    let specs = [
        smtp(),
        spec("FAX", &["FAX"], Reply::Deliver).first(&[Reply::Busy]),
    ];
    let mut rig = Rig::new(&specs);
    let eid = rig.send("half done", &[A, ("+1 212 555 0100", "FAX")]);
    rig.run();
    assert_eq!(
        rig.msg(eid).recipients[0].outcome,
        RecipientState::Delivered
    );
    // Second attempt: stop inside the lock, then "crash".
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    rig.advance(60);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::Transmit)));
    assert!(rig.msg(eid).is_locked());
    let before = rig.log.offers().len();

    let mut rig = rig.restart(&[smtp(), spec("FAX", &["FAX"], Reply::Deliver)]);
    let m = rig.msg(eid);
    assert!(!m.is_locked(), "the stale lock is cleared at start");
    assert!(m.is_submitted());
    position(&m.trace, |c| {
        c.call == "IMsgStore::SetLockState" && c.result.contains("stale lock")
    });
    rig.pump();
    assert!(
        rig.events
            .iter()
            .any(|e| matches!(e, Event::Notice(t) if t.contains("lock was cleared")))
    );
    rig.sp.handle(Command::Resume);
    rig.run();
    let after: Vec<Offer> = rig.log.offers().into_iter().skip(before).collect();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].transport, "FAX");
    assert_eq!(
        after[0].rows,
        [1],
        "the row already TRUE is not offered again"
    );
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("SMTP"));
    assert!(
        m.recipients
            .iter()
            .all(|r| r.outcome == RecipientState::Delivered)
    );
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
}

#[test]
fn crash_between_two_hand_offs_resends_only_the_rows_still_false() {
    let mut rig = Rig::new(&[smtp(), spec("FAX", &["FAX"], Reply::Crash)]);
    let eid = rig.send("crash mid-transmit", &[A, ("+1 212 555 0100", "FAX")]);
    let crashed =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rig.sp.run_until_idle()));
    assert!(crashed.is_err(), "the FAX transport took the process down");
    // The SMTP hand-off was made durable before the FAX one began.
    let mut rig = rig.restart(&[smtp(), spec("FAX", &["FAX"], Reply::Deliver)]);
    let m = rig.msg(eid);
    assert!(!m.is_locked(), "stale lock cleared");
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert!(m.recipients[0].responsibility());
    assert!(!m.recipients[1].responsibility());
    rig.sp.handle(Command::Resume);
    rig.run();
    assert_eq!(
        rig.log.to("SMTP").len(),
        1,
        "the delivered row is not sent twice"
    );
    let fax = rig.log.to("FAX");
    assert_eq!(fax.len(), 1);
    assert_eq!(fax[0].rows, [1]);
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
}

#[test]
fn restart_half_way_through_finished_msg_completes_without_a_second_copy() {
    let specs = [smtp()];
    let mut rig = Rig::with(&specs, |p| {
        p.hooks = vec![hook("Audit", HookAction::Nothing, false)];
    });
    rig.sp
        .handle(Command::SetBreakpoint(Step::DoSentMail, true));
    let eid = rig.send("finishing", &[A]);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::DoSentMail)));
    let m = rig.msg(eid);
    assert!(!m.is_submitted() && !m.is_locked(), "FinishedMsg ran");
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);

    let mut rig = rig.restart(&specs);
    rig.sp.handle(Command::Resume);
    rig.run();
    assert_eq!(
        rig.copies_on_disk(eid),
        ["Sent Items"],
        "one copy, in Sent Items"
    );
    assert_eq!(rig.in_folder("Sent Items").len(), 1);
    assert_eq!(hook_calls(&rig.trace(eid), eid).len(), 1, "hooks ran once");
    assert_eq!(rig.log.of(eid).len(), 1, "sent once");
}

#[test]
fn restart_reoffers_a_message_deferred_by_its_transport() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(3600)])]);
    let eid = rig.send("deferred at shutdown", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).state(rig.now()),
        MessageState::DeferredByTransport
    );
    // The transport that kept the message is gone with the old process (reference a.5/a.6:
    // pending deferred messages are queued again at the next logon).
    let mut rig = rig.restart(&[smtp()]);
    rig.sp.handle(Command::Resume);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 2, "{offers:?}");
    assert!(offers[1].begin_deferred, "re-offered with BEGIN_DEFERRED");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn saving_the_profile_reoffers_messages_deferred_by_the_old_transports() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Defer(3600)])]);
    let eid = rig.send("deferred while the profile changes", &[A]);
    rig.run();
    assert_eq!(
        rig.msg(eid).state(rig.now()),
        MessageState::DeferredByTransport
    );
    // The transports are rebuilt from the profile (null transports here): the one that kept
    // the message, and would have called back, is gone.
    let p = rig.sp.store().profile().clone();
    rig.sp.handle(Command::SaveProfile(Box::new(p)));
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert_eq!(m.recipients[0].transport.as_deref(), Some("SMTP"));
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    position(&m.trace, |c| {
        c.call == "IXPLogon::SubmitMessage" && c.args.contains("BEGIN_DEFERRED")
    });
}

#[test]
fn resend_from_an_ndr_sends_only_the_failed_recipients() {
    let mut rig = Rig::new(&[smtp()]);
    let orig = rig.send(
        "first try",
        &[A, ("c=US;s=Smith", "X400"), ("/o=x/cn=local", "EX")],
    );
    rig.run();
    let ndr = rig.ndrs()[0].eid;
    // A report itself cannot be submitted (reference e.9): Resend is the way.
    let now = rig.now();
    let code = mapi_code(submit::submit_message(rig.store(), ndr, now).unwrap_err());
    assert_eq!(code, MapiCode::NoSupport);
    // An X.400 gateway is configured now.
    rig.set_transports(&[smtp(), spec("X400 gateway", &["X400"], Reply::Deliver)]);
    let before = rig.log.offers().len();
    let inbox_before = rig.in_folder("Inbox").len();
    rig.sp.handle(Command::Resend(ndr));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    // Resend makes a draft to correct; nothing is offered before it is submitted.
    let draft = rig
        .events
        .iter()
        .find_map(|e| match e {
            Event::DraftCreated(d) => Some(*d),
            _ => None,
        })
        .expect("a draft to correct");
    assert!(!rig.summary(draft).unwrap().is_submitted());
    assert_eq!(rig.log.offers().len(), before, "nothing sent before Submit");
    rig.sp.handle(Command::Submit(draft));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let resent = rig
        .sp
        .store()
        .summaries()
        .find(|s| s.eid != orig && s.is_submitted())
        .expect("a new submitted message")
        .eid;
    let m = rig.msg(resent);
    assert_ne!(m.message_flags() & MSGFLAG_RESEND, 0);
    assert_eq!(
        m.props.binary(PR_ORIGINAL_ENTRYID),
        Some(orig.to_bytes().as_slice())
    );
    for (i, got_it) in [(0, true), (1, false), (2, true)] {
        let r = &m.recipients[i];
        assert_eq!(r.recipient_type() & MAPI_SUBMITTED != 0, got_it, "row {i}");
        assert_eq!(r.responsibility(), got_it, "row {i}");
        let want = if got_it {
            RecipientState::SkippedResend
        } else {
            RecipientState::Pending
        };
        assert_eq!(r.outcome, want, "row {i}");
    }
    assert_eq!(
        rig.in_folder("Inbox").len(),
        inbox_before,
        "the local recipient is not delivered twice"
    );
    rig.run();
    let after: Vec<Offer> = rig.log.offers().into_iter().skip(before).collect();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].transport, "X400 gateway");
    assert_eq!(after[0].eid, resent);
    assert_eq!(after[0].rows, [1], "only the failed one, once");
    assert_eq!(
        rig.msg(resent).recipients[0].outcome,
        RecipientState::SkippedResend
    );
    assert_eq!(rig.ndrs().len(), 1, "no new report");
    assert_eq!(rig.folder_name(resent).as_deref(), Some("Sent Items"));
}

#[test]
fn status_table_has_a_spooler_row_and_one_row_per_transport() {
    let mut rig = Rig::new(&[smtp(), spec("FAX", &["FAX"], Reply::Deliver)]);
    let rows = rig.sp.status_table();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].resource_type, MAPI_SPOOLER);
    assert_eq!(rows[0].resource_type, 37);
    assert_eq!(rows[0].progress, -1);
    assert_eq!(rows[0].status_code & STATUS_OFFLINE, 0, "running");
    for (row, name) in rows[1..].iter().zip(["SMTP", "FAX"]) {
        assert_eq!(row.name, name);
        assert_eq!(row.resource_type, MAPI_TRANSPORT_PROVIDER);
        assert_eq!(row.resource_type, 36);
        assert_eq!(row.progress, -1, "PR_REMOTE_PROGRESS is -1 when idle");
        assert_eq!(
            row.status_code & (STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED),
            STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED
        );
        assert_eq!(row.status_code & STATUS_OUTBOUND_ACTIVE, 0);
    }
    assert_eq!(rows[2].address_types, ["FAX"]);
    // While a transport has the message its row says so.
    rig.send("watch the status", &[("+1 212 555 0100", "FAX")]);
    rig.run();
    let active = rig.events.iter().any(|e| match e {
        Event::Status(rows) => rows.iter().any(|r| {
            r.name == "FAX" && r.status_code & STATUS_OUTBOUND_ACTIVE != 0 && r.progress >= 0
        }),
        _ => false,
    });
    assert!(
        active,
        "a status row with STATUS_OUTBOUND_ACTIVE during the hand-off"
    );
    let rows = rig.sp.status_table();
    assert!(
        rows.iter()
            .all(|r| r.progress == -1 && r.status_code & STATUS_OUTBOUND_ACTIVE == 0)
    );
    rig.sp.handle(Command::Pause);
    assert_ne!(
        rig.sp.status_table()[0].status_code & STATUS_OFFLINE,
        0,
        "paused spooler"
    );
}

#[test]
fn worker_sends_a_message_and_reports_the_steps_in_pipeline_order() {
    let dir = fast_tempdir();
    let (mut store, report) = Store::open(dir.path()).unwrap();
    store.set_profile(profile_for(&[smtp()])).unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let sent = store.folder_of(FolderKind::SentItems);
    let eid = store.new_entry_id().unwrap();
    let mut m = Message::draft(eid, outbox, "via the worker");
    m.recipients
        .push(Recipient::new(0, "Ann", A.0, A.1, RecipientKind::To));
    m.props
        .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
    store.save(&mut m).unwrap();
    let log = Log::default();
    let _checker = Checker(log.clone());
    let mut sp = Spooler::new(store, Clock::system());
    let hand = Arc::new(Mutex::new(Timestamp::now()));
    sp.set_transports(vec![build(&smtp(), &log, &hand)]);
    let handle = spoolbox::spooler::worker::spawn(sp, &report, Arc::new(|| {})).unwrap();
    handle.send(Command::SendNow(eid)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = handle
            .events
            .recv_timeout(left)
            .expect("the message reaches Sent Items within 10 s");
        let done = matches!(&e, Event::Moved { eid: m, to, .. } if *m == eid && *to == sent);
        events.push(e);
        if done {
            break;
        }
    }
    handle.shutdown();
    assert!(events.iter().any(|e| matches!(e, Event::Opened { .. })));
    // Keep the events about this message, in arrival order.
    let mut seq: Vec<String> = Vec::new();
    for e in &events {
        match e {
            Event::StepStarted { eid: m, step } if *m == eid => seq.push(format!("start {step}")),
            Event::StepFinished { eid: m, step, .. } if *m == eid => {
                seq.push(format!("end {step}"));
            }
            Event::RecipientMarked {
                eid: m,
                responsibility: true,
                ..
            } if *m == eid => seq.push("marked".into()),
            Event::Trace { eid: m, call } if *m == eid => seq.push(format!("call {}", call.call)),
            _ => {}
        }
    }
    let at = |s: &str| {
        seq.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} not in {seq:#?}"))
    };
    let steps = [
        Step::Preprocess,
        Step::SetLockState,
        Step::Transmit,
        Step::NonDeliveryReport,
        Step::RemovePreprocessInfo,
        Step::FinishedMsg,
        Step::DoSentMail,
    ];
    let mut last = 0;
    for step in steps {
        let s = at(&format!("start {step}"));
        let e = at(&format!("end {step}"));
        assert!(last <= s && s < e, "{step} out of order: {seq:#?}");
        last = e;
    }
    let marked = at("marked");
    assert!(
        at("start Transmit") < marked && marked < at("end Transmit"),
        "{seq:#?}"
    );
    let lock = at("call IMsgStore::SetLockState");
    let xp = at("call IXPLogon::SubmitMessage");
    let fin = at("call IMsgStore::FinishedMsg");
    assert!(at("start SetLockState") < lock && lock < at("end SetLockState"));
    assert!(lock < xp && xp < fin);
    assert_eq!(log.of(eid).len(), 1);
}
