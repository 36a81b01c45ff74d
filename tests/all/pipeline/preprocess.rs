//! Steps 1 and 5: the preprocessors and `RemovePreprocessInfo`.

use super::*;

#[test]
fn preprocess_adds_the_cover_page_and_remove_preprocess_info_strips_it() {
    let mut rig = Rig::new(&[fax_spec()]);
    let eid = rig.send("fax me", &[("+1 212 555 0142", "FAX")]);
    let m = rig.msg(eid);
    assert_eq!(m.props.boolean(PR_PREPROCESS), Some(true));
    assert_eq!(m.submit_flags(), Some(SUBMITFLAG_PREPROCESS));
    assert_eq!(m.state(rig.now()), MessageState::QueuedForPreprocess);
    rig.sp.handle(Command::SetBreakpoint(Step::Transmit, true));
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(
        m.attachments
            .iter()
            .map(|a| a.file_name.as_str())
            .collect::<Vec<_>>(),
        [COVER_PAGE]
    );
    assert_eq!(
        m.submit_flags(),
        Some(SUBMITFLAG_LOCKED),
        "PREPROCESS cleared, lock kept"
    );
    assert_eq!(m.spool.preprocessed_by, ["Fax"]);
    rig.sp.handle(Command::Continue);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(
        offers[0].attachments,
        [COVER_PAGE],
        "the transport got the rendered cover page"
    );
    assert_eq!(
        offers[0].submit_flags,
        Some(SUBMITFLAG_LOCKED),
        "no transport sees SUBMITFLAG_PREPROCESS"
    );
    let m = rig.msg(eid);
    assert!(
        m.attachments.is_empty(),
        "RemovePreprocessInfo removed it again"
    );
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    let trace = rig.trace(eid);
    let pre = position(&trace, |c| c.call == "PreprocessMessage");
    let resubmit = position(&trace, |c| {
        c.call == "IMessage::SubmitMessage" && c.args == "spooler resubmit"
    });
    let transmit = position(&trace, |c| c.call == "IXPLogon::SubmitMessage");
    let remove = position(&trace, |c| c.call == "RemovePreprocessInfo");
    let finished = position(&trace, |c| c.call == "IMsgStore::FinishedMsg");
    assert!(
        pre < resubmit && resubmit < transmit && transmit < remove && remove < finished,
        "{}",
        dump(&trace)
    );
    let steps = rig.step_outcomes(eid);
    assert!(steps.contains(&(Step::Preprocess, StepOutcome::Done)));
    assert!(
        steps.contains(&(Step::SetLockState, StepOutcome::Skipped)),
        "already locked by Preprocess"
    );
    assert!(steps.contains(&(Step::RemovePreprocessInfo, StepOutcome::Done)));
}

#[test]
fn preprocessor_of_a_transport_that_gets_no_recipient_does_not_run() {
    // A higher-priority transport takes the FAX rows, so the fax's preprocessor is not needed.
    let mut rig = Rig::new(&[spec("Fax gateway", &["FAX"], Reply::Deliver), fax_spec()]);
    let eid = rig.send("no cover page", &[("+1 212 555 0142", "FAX")]);
    let m = rig.msg(eid);
    assert!(!m.props.has(PR_PREPROCESS));
    assert_eq!(m.submit_flags(), Some(0));
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].transport, "Fax gateway");
    assert!(offers[0].attachments.is_empty());
    let steps = rig.step_outcomes(eid);
    assert!(steps.contains(&(Step::Preprocess, StepOutcome::Skipped)));
    assert!(steps.contains(&(Step::RemovePreprocessInfo, StepOutcome::Skipped)));
}

#[test]
fn preprocessor_rejected_recipient_gets_ndr() {
    let mut rig = Rig::new(&[fax_spec()]);
    let eid = rig.send("fax two", &[("+1 212 555 0142", "FAX"), ("12", "FAX")]);
    rig.run();
    let m = rig.msg(eid);
    let bad = &m.recipients[1];
    assert_eq!(bad.outcome, RecipientState::Failed);
    assert!(bad.responsibility());
    assert_eq!(bad.transport.as_deref(), Some("Fax preprocessor"));
    assert!(bad.report_text().unwrap().contains("not a fax number"));
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1);
    assert_eq!(
        offers[0].rows,
        [0],
        "the rejected row never reaches the transport"
    );
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1);
    let ndr = rig.msg(ndrs[0].eid);
    assert_eq!(
        ndr.recipients
            .iter()
            .map(Recipient::email)
            .collect::<Vec<_>>(),
        ["12"]
    );
}
