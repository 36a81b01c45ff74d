//! Step 0: `IMessage::SubmitMessage` and the tightly coupled store.

use super::*;

#[test]
fn submit_with_empty_recipient_table_is_refused_with_no_recipients() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft("nobody", &[]);
    let before = rig.msg(eid);
    let now = rig.now();
    let err = submit::submit_message(rig.store(), eid, now).unwrap_err();
    let code = mapi_code(err);
    assert_eq!(code, MapiCode::NoRecipients);
    assert_eq!(code.code(), 0x8004_0607);
    assert_eq!(rig.msg(eid), before, "the message is unchanged");
    assert_eq!(rig.summary(eid).unwrap().state(now), MessageState::Draft);
    assert!(rig.queue().is_empty());
    // The same through the command: one error event naming the code.
    rig.sp.handle(Command::Submit(eid));
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("MAPI_E_NO_RECIPIENTS (0x80040607)"),
        "{errors:?}"
    );
    assert_eq!(rig.msg(eid), before);
}

#[test]
fn submit_with_malformed_smtp_address_is_refused() {
    let mut rig = Rig::new(&[smtp()]);
    for bad in [
        "not an address",
        "ann@",
        "@example.org",
        "ann@example",
        "ann example@example.org",
        "a@b@example.org",
    ] {
        let eid = rig.draft("bad address", &[A, (bad, "SMTP")]);
        let before = rig.msg(eid);
        let now = rig.now();
        let code = mapi_code(submit::submit_message(rig.store(), eid, now).unwrap_err());
        assert_eq!(code, MapiCode::InvalidParameter, "{bad:?}");
        assert_eq!(
            rig.msg(eid),
            before,
            "{bad:?}: the message is unchanged and still a draft"
        );
        assert!(!rig.summary(eid).unwrap().is_submitted());
    }
    assert!(rig.queue().is_empty());
}

#[test]
fn submit_sets_submit_flags_responsibility_false_and_client_submit_time() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("hello", &[A, B], |m| {
        // A leftover from an earlier submission must not survive: every row starts FALSE.
        m.recipients[1].props.set_bool(PR_RESPONSIBILITY, true);
        m.recipients[1]
            .props
            .set_text(PR_REPORT_TEXT, "old failure");
    });
    rig.advance(5);
    let at = rig.now();
    rig.submit(eid);
    let m = rig.msg(eid);
    assert_eq!(
        m.message_flags() & (MSGFLAG_SUBMIT | MSGFLAG_UNSENT),
        MSGFLAG_SUBMIT | MSGFLAG_UNSENT
    );
    assert_eq!(m.props.time(PR_CLIENT_SUBMIT_TIME), Some(at));
    assert_eq!(
        m.submit_flags(),
        Some(0),
        "PR_SUBMIT_FLAGS exists, without LOCKED or PREPROCESS"
    );
    assert!(!m.props.has(PR_PREPROCESS));
    for r in &m.recipients {
        assert_eq!(
            r.props.boolean(PR_RESPONSIBILITY),
            Some(false),
            "row {}",
            r.row_id
        );
        assert_eq!(r.outcome, RecipientState::Pending);
        assert!(r.report_text().is_none());
    }
    assert_eq!(m.state(at), MessageState::Queued);
    assert_eq!(rig.queue(), [eid]);
    let trace = rig.trace(eid);
    let expand = position(&trace, |c| c.call == "IMAPISupport::ExpandRecips");
    let submitted = position(&trace, |c| c.call == "IMessage::SubmitMessage");
    assert!(expand < submitted);
}

#[test]
fn submit_expands_personal_distribution_lists_and_drops_duplicates() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft(
        "to a list",
        &[
            ("Ann=SMTP:ann@x.org; SMTP:bob@x.org", "MAPIPDL"),
            ("bob@x.org", "SMTP"),
            ("BOB@X.ORG", "SMTP"),
            ("carol@x.org", "SMTP"),
        ],
    );
    rig.submit(eid);
    let m = rig.msg(eid);
    let mut addrs: Vec<String> = m
        .recipients
        .iter()
        .map(|r| r.email().to_ascii_lowercase())
        .collect();
    addrs.sort();
    assert_eq!(addrs, ["ann@x.org", "bob@x.org", "carol@x.org"]);
    assert!(
        m.recipients.iter().all(|r| r.addrtype() == "SMTP"),
        "no MAPIPDL row is left"
    );
    let ann = m
        .recipients
        .iter()
        .find(|r| r.email() == "ann@x.org")
        .unwrap();
    assert_eq!(ann.display_name(), "Ann");
    let ids: HashSet<u32> = m.recipients.iter().map(|r| r.row_id).collect();
    assert_eq!(ids.len(), 3, "row ids stay unique");
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].rows.len(), 3, "each member offered once");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

#[test]
fn edit_of_a_submitted_message_is_refused_with_submitted() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::Pause);
    let eid = rig.send("read-only now", &[A]);
    let before = rig.msg(eid);
    let mut edited = before.clone();
    edited
        .props
        .set_text(PR_SUBJECT, "changed behind the spooler's back");
    let code = mapi_code(submit::save_draft(rig.store(), edited.clone()).unwrap_err());
    assert_eq!(code, MapiCode::Submitted);
    rig.sp.handle(Command::SaveDraft(Box::new(edited)));
    rig.sp.handle(Command::Delete(eid));
    rig.sp.handle(Command::Submit(eid));
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e.starts_with("MAPI_E_SUBMITTED (0x80040608)")),
        "{errors:?}"
    );
    assert_eq!(rig.msg(eid), before);
}

#[test]
fn edit_of_a_locked_message_is_refused_with_no_access() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    let eid = rig.send("locked", &[A]);
    rig.run();
    let before = rig.msg(eid);
    assert!(before.is_locked());
    let mut edited = before.clone();
    edited
        .props
        .set_text(PR_SUBJECT, "changed while the spooler holds it");
    let code = mapi_code(submit::save_draft(rig.store(), edited).unwrap_err());
    assert_eq!(code, MapiCode::NoAccess);
    assert_eq!(code.code(), 0x8007_0005);
    assert_eq!(rig.msg(eid), before);
}

#[test]
fn tightly_coupled_store_delivers_ex_recipients_at_submit() {
    let mut rig = Rig::new(&[smtp()]);
    rig.sp.handle(Command::Pause);
    let eid = rig.send(
        "kickoff",
        &[
            ("/o=Spoolbox/cn=margaret", "EX"),
            ("linus@example.org", "SMTP"),
        ],
    );
    // At once, before the spooler ran a single step.
    let m = rig.msg(eid);
    let ex = &m.recipients[0];
    assert!(ex.responsibility());
    assert_eq!(ex.outcome, RecipientState::HandledByStore);
    assert_eq!(ex.transport.as_deref(), Some("store"));
    assert!(ex.props.time(PR_DELIVER_TIME).is_some());
    assert!(!m.recipients[1].responsibility());
    let inbox = rig.in_folder("Inbox");
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].subject, "kickoff");
    assert_eq!(inbox[0].class, "IPM.Note");
    assert!(rig.log.offers().is_empty());
    rig.sp.handle(Command::Resume);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].rows, [1], "only the SMTP row goes to a transport");
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::HandledByStore);
    assert_eq!(m.recipients[1].outcome, RecipientState::Delivered);
    assert_eq!(rig.in_folder("Inbox").len(), 1, "delivered once");
}

#[test]
fn coupled_store_handling_everyone_still_runs_hooks_and_disposal() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![HookConfig {
            name: "Audit".into(),
            subject_prefix: None,
            action: HookAction::Nothing,
            cancel_chain: false,
        }];
    });
    let eid = rig.send("local only", &[("/o=x/cn=a", "EX"), ("/o=x/cn=b", "EX")]);
    let trace = rig.trace(eid);
    position(&trace, |c| c.call == "IMAPISupport::CompleteMsg");
    rig.run();
    assert!(rig.log.offers().is_empty(), "no transport is needed");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(hook_calls(&rig.trace(eid), eid).len(), 1);
    assert_eq!(rig.in_folder("Inbox").len(), 1);
}
