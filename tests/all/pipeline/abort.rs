//! `AbortSubmit`, breakpoints, the debugger.

use super::*;

#[test]
fn abort_before_lock_returns_an_editable_draft() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp
        .handle(Command::SetBreakpoint(Step::SetLockState, true));
    let eid = rig.send("take it back", &[A]);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::SetLockState)));
    assert!(!rig.msg(eid).is_locked());
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let m = rig.msg(eid);
    assert_eq!(
        m.message_flags() & (MSGFLAG_SUBMIT | MSGFLAG_UNSENT),
        MSGFLAG_UNSENT
    );
    assert!(
        m.submit_flags().is_none(),
        "PR_SUBMIT_FLAGS only while submitted"
    );
    assert!(
        m.props.time(PR_CLIENT_SUBMIT_TIME).is_none(),
        "a draft again shows no Submitted time (issue 28)"
    );
    assert_eq!(m.state(rig.now()), MessageState::Draft);
    assert!(rig.queue().is_empty());
    assert_eq!(rig.sp.debug_state().at, None);
    position(&m.trace, |c| {
        c.call == "IMsgStore::AbortSubmit" && c.result == "S_OK"
    });
    // Editable again.
    let mut edited = m.clone();
    edited.props.set_text(PR_SUBJECT, "edited after abort");
    submit::save_draft(rig.store(), edited).unwrap();
    assert_eq!(rig.msg(eid).subject(), "edited after abort");
    rig.sp.handle(Command::Continue);
    rig.run();
    assert!(
        rig.log.offers().is_empty(),
        "an aborted message is never sent"
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Outbox"));
}

#[test]
fn abort_after_lock_is_refused() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    let eid = rig.send("too late", &[A]);
    rig.run();
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::Transmit)));
    assert!(rig.msg(eid).is_locked());
    let now = rig.now();
    let code = mapi_code(submit::abort_submit(rig.store(), eid, now).unwrap_err());
    assert_eq!(code, MapiCode::UnableToAbort);
    assert_eq!(code.code(), 0x8004_0114);
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("MAPI_E_UNABLE_TO_ABORT"),
        "{errors:?}"
    );
    let m = rig.msg(eid);
    assert!(m.is_submitted() && m.is_locked());
    rig.sp.handle(Command::Continue);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn abort_of_a_message_not_in_the_queue_is_not_in_queue() {
    let mut rig = Rig::new(&[smtp()]);
    let draft = rig.draft("never submitted", &[A]);
    let sent = rig.send("already sent", &[B]);
    rig.run();
    let now = rig.now();
    for eid in [draft, sent] {
        let code = mapi_code(submit::abort_submit(rig.store(), eid, now).unwrap_err());
        assert_eq!(code, MapiCode::NotInQueue, "message {eid}");
    }
}

#[test]
fn breakpoint_on_set_lock_state_stops_before_it_then_step_and_continue() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp
        .handle(Command::SetBreakpoint(Step::SetLockState, true));
    let eid = rig.send("debug me", &[A]);
    assert_eq!(rig.sp.tick(), Tick::Ran(eid, Step::Preprocess));
    assert_eq!(rig.sp.tick(), Tick::Paused);
    let d = rig.sp.debug_state();
    assert!(d.paused);
    assert_eq!(d.at, Some((eid, Step::SetLockState)));
    assert_eq!(d.breakpoints, [Step::SetLockState]);
    assert!(!rig.msg(eid).is_locked(), "stopped before the step ran");
    assert_eq!(rig.sp.tick(), Tick::Paused, "stays stopped");
    // Step runs exactly one step.
    rig.sp.handle(Command::Step);
    assert_eq!(rig.sp.tick(), Tick::Ran(eid, Step::SetLockState));
    assert_eq!(rig.sp.tick(), Tick::Paused);
    assert!(rig.msg(eid).is_locked());
    assert_eq!(rig.sp.debug_state().at, Some((eid, Step::Transmit)));
    assert!(rig.log.offers().is_empty());
    rig.sp.handle(Command::Step);
    assert_eq!(rig.sp.tick(), Tick::Ran(eid, Step::Transmit));
    assert_eq!(rig.sp.tick(), Tick::Paused);
    assert_eq!(rig.log.offers().len(), 1);
    // Continue finishes.
    rig.sp.handle(Command::Continue);
    let n = rig.run();
    assert_eq!(
        n, 4,
        "NonDeliveryReport, RemovePreprocessInfo, FinishedMsg, DoSentMail"
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert!(!rig.sp.debug_state().paused);
}
