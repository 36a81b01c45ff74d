//! Step 6: `DoSentMail`, hooks and the disposal table.

use super::*;

#[test]
fn no_disposal_properties_leave_the_message_in_the_outbox_no_longer_submitted() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("stays", &[A], |m| {
        m.props.remove(PR_SENTMAIL_ENTRYID);
    });
    rig.submit(eid);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Outbox"));
    assert_eq!(m.message_flags() & (MSGFLAG_SUBMIT | MSGFLAG_UNSENT), 0);
    assert_ne!(m.message_flags() & MSGFLAG_READ, 0);
    assert!(m.submit_flags().is_none());
    assert_eq!(m.state(rig.now()), MessageState::Sent);
    assert!(rig.queue().is_empty(), "out of the outgoing queue");
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);
}

#[test]
fn sentmail_entryid_only_moves_the_message_there() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.send("moved", &[A]);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
    assert!(rig.in_folder("Outbox").is_empty());
    assert!(
        rig.events
            .iter()
            .any(|e| matches!(e, Event::Moved { eid: m, .. } if *m == eid))
    );
}

#[test]
fn delete_after_submit_only_deletes_and_the_trace_survives() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("self-destruct", &[A], |m| {
        m.props.remove(PR_SENTMAIL_ENTRYID);
        m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
    });
    rig.submit(eid);
    rig.run();
    assert!(rig.summary(eid).is_none());
    assert!(rig.copies_on_disk(eid).is_empty());
    assert!(
        rig.in_folder("Deleted Items").is_empty(),
        "deleted for good, not moved"
    );
    assert!(
        rig.events
            .iter()
            .any(|e| matches!(e, Event::Removed(m) if *m == eid))
    );
    let trace = rig.trace(eid);
    position(&trace, |c| c.call == "IMAPIFolder::DeleteMessages");
    position(&trace, |c| c.call == "IXPLogon::SubmitMessage");
    assert_eq!(rig.log.of(eid).len(), 1);
}

#[test]
fn both_disposal_properties_leave_one_copy_in_sent_items() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("both", &[A], |m| {
        m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
    });
    rig.submit(eid);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(
        rig.copies_on_disk(eid),
        ["Sent Items"],
        "in Sent Items once, not in the Outbox"
    );
    let trace = rig.trace(eid);
    let copy = position(&trace, |c| c.call == "IMAPIFolder::CopyMessages");
    let delete = position(&trace, |c| c.call == "IMAPIFolder::DeleteMessages");
    assert!(copy < delete, "copy first, then the original is deleted");
}

pub(crate) fn hook(name: &str, action: HookAction, cancel_chain: bool) -> HookConfig {
    HookConfig {
        name: name.into(),
        subject_prefix: None,
        action,
        cancel_chain,
    }
}

#[test]
fn hook_moves_the_sent_copy_to_a_folder_it_creates() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![HookConfig {
            name: "Archive".into(),
            subject_prefix: Some("[archive]".into()),
            action: HookAction::MoveTo {
                folder: "Archive".into(),
            },
            cancel_chain: false,
        }];
    });
    assert!(rig.sp.store().folder_named("Archive").is_none());
    let filed = rig.send("[ARCHIVE] minutes", &[A]);
    let plain = rig.send("not for the archive", &[B]);
    rig.run();
    assert!(
        rig.sp.store().folder_named("Archive").is_some(),
        "the hook created its folder"
    );
    assert_eq!(rig.folder_name(filed).as_deref(), Some("Archive"));
    assert_eq!(rig.copies_on_disk(filed), ["Archive"]);
    assert_eq!(rig.folder_name(plain).as_deref(), Some("Sent Items"));
    assert_eq!(hook_calls(&rig.trace(filed), filed).len(), 1);
    assert!(
        hook_calls(&rig.trace(plain), plain).is_empty(),
        "the subject filter skips it"
    );
}

#[test]
fn hook_delete_deletes_instead_of_moving() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![
            hook(
                "Mover",
                HookAction::MoveTo {
                    folder: "Archive".into(),
                },
                false,
            ),
            hook("Shredder", HookAction::Delete, false),
        ];
    });
    let eid = rig.send("shred", &[A]);
    rig.run();
    assert!(rig.summary(eid).is_none());
    assert!(
        rig.copies_on_disk(eid).is_empty(),
        "HOOK_DELETE wins over an earlier move and PR_SENTMAIL_ENTRYID"
    );
    let trace = rig.trace(eid);
    assert_eq!(
        hook_calls(&trace, eid),
        [format!("[Mover] {eid}"), format!("[Shredder] {eid}")]
    );
    position(&trace, |c| c.result.contains("HOOK_DELETE"));
}

#[test]
fn hook_cancel_stops_the_chain() {
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![
            hook(
                "First",
                HookAction::MoveTo {
                    folder: "Kept".into(),
                },
                true,
            ),
            hook("Second", HookAction::Delete, false),
        ];
    });
    let eid = rig.send("stop after first", &[A]);
    rig.run();
    assert_eq!(
        rig.folder_name(eid).as_deref(),
        Some("Kept"),
        "the second hook (delete) never ran"
    );
    let trace = rig.trace(eid);
    assert_eq!(hook_calls(&trace, eid), [format!("[First] {eid}")]);
    position(&trace, |c| c.result.starts_with("HOOK_CANCEL"));
    assert!(!trace.iter().any(|c| c.args.contains("[Second]")));
}

#[test]
fn invalid_sentmail_entryid_is_a_do_sent_mail_failure_and_the_message_is_kept() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("nowhere to go", &[A], |m| {
        m.props.set(
            PR_SENTMAIL_ENTRYID,
            PropValue::Binary(EntryId(987_654).to_bytes()),
        );
    });
    rig.submit(eid);
    rig.run();
    let failed = rig.events.iter().find_map(|e| match e {
        Event::StepFinished {
            eid: m,
            step: Step::DoSentMail,
            outcome: StepOutcome::Failed(why),
            ..
        } if *m == eid => Some(why.clone()),
        _ => None,
    });
    let why = failed.expect("DoSentMail reports the failure");
    assert!(why.contains("MAPI_E_INVALID_ENTRYID"), "{why}");
    let m = rig.msg(eid);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Outbox"), "not lost");
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);
    assert!(!m.is_submitted() && !m.is_locked());
    assert!(
        m.spool
            .last_error
            .as_deref()
            .unwrap()
            .contains("MAPI_E_INVALID_ENTRYID")
    );
    assert!(
        rig.summary(eid).unwrap().last_error.is_some(),
        "shown in the outbox table"
    );
    assert!(rig.queue().is_empty(), "no retry loop");
    assert_eq!(rig.run(), 0);
}

#[test]
fn do_sent_mail_failure_waits_for_a_retry_instead_of_spinning() {
    // A hook names a folder that cannot be created: DoSentMail fails after FinishedMsg.
    let mut rig = Rig::with(&[smtp()], |p| {
        p.hooks = vec![hook(
            "Bad",
            HookAction::MoveTo {
                folder: "2030/01".into(),
            },
            false,
        )];
    });
    let eid = rig.send("hook trouble", &[A]);
    let mut ran = 0;
    while let Tick::Ran(..) = rig.sp.tick() {
        ran += 1;
        assert!(ran < 50, "DoSentMail is retried in a busy loop");
    }
    rig.pump();
    let errors = rig.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("DoSentMail"), "{errors:?}");
    let s = rig.summary(eid).unwrap();
    assert_eq!(
        s.next_step,
        Some(Step::DoSentMail),
        "still to be finished, not lost"
    );
    let retry = s.next_retry.expect("a retry time");
    assert!(retry > rig.now());
    assert_eq!(
        rig.sp.next_wake(rig.now()),
        Some(retry),
        "the worker wakes up for it"
    );
    assert_eq!(rig.copies_on_disk(eid), ["Outbox"]);
    // Fixing the profile lets the retry finish the message.
    let mut p = rig.sp.store().profile().clone();
    p.hooks.clear();
    rig.sp.handle(Command::SaveProfile(Box::new(p)));
    rig.set_transports(&[smtp()]);
    rig.set_clock(retry);
    rig.run();
    assert_eq!(rig.copies_on_disk(eid), ["Sent Items"]);
    assert_eq!(rig.log.of(eid).len(), 1, "sent once");
}

#[test]
fn ndr_is_suppressed_when_originator_non_delivery_report_requested_is_false() {
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("no reports please", &[A, ("c=US;s=Nobody", "X400")], |m| {
        m.props
            .set_bool(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, false);
    });
    rig.submit(eid);
    rig.run();
    assert!(rig.ndrs().is_empty());
    let m = rig.msg(eid);
    assert_eq!(m.recipients[1].outcome, RecipientState::NoTransport);
    position(&m.trace, |c| c.result.contains("suppressed"));
    assert!(
        !rig.events
            .iter()
            .any(|e| matches!(e, Event::NdrCreated { .. }))
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}
