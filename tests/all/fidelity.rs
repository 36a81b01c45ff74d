//! MAPI as the reference documents it (`reference/mapi-pipeline.md` section e): one named test
//! per invariant that the pipeline tests (`pipeline.rs`, whose rig these use) do not already
//! name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use jiff::SignedDuration;
use spoolbox::mapi::flags::{MSGFLAG_SUBMIT, MSGFLAG_UNSENT};
use spoolbox::mapi::tags::{
    PR_DEFERRED_SEND_TIME, PR_MESSAGE_FLAGS, PR_PROVIDER_SUBMIT_TIME, PR_SENDER_ADDRTYPE,
    PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME, PR_SUBMIT_FLAGS,
};
use spoolbox::mapi::{MessageState, PropBag, RecipientState, Step, StepOutcome};
use spoolbox::spooler::submit;
use spoolbox::spooler::{Command, Event};
use spoolbox::store::Patch;

use crate::pipeline::{A, B, Reply, Rig, smtp, spec};

/// (e.7) `SetLockState` on a message that is not in the outgoing queue fails
/// `MAPI_E_NOT_IN_QUEUE`: no transport sees it, it leaves the pipeline, and the queue goes on.
#[test]
fn e7_lock_of_a_message_not_in_the_queue_fails_not_in_queue() {
    let mut rig = Rig::new(&[smtp()]);
    let pulled = rig.send("pulled from the queue behind the spooler's back", &[A]);
    let other = rig.send("an ordinary message", &[B]);
    // Something outside the spooler cleared MSGFLAG_SUBMIT (a hand-edited message file).
    let flags = rig.msg(pulled).message_flags();
    let mut set = PropBag::new();
    set.set_flags(PR_MESSAGE_FLAGS, flags & !MSGFLAG_SUBMIT);
    rig.store()
        .patch(
            pulled,
            Patch {
                set,
                ..Patch::default()
            },
            true,
        )
        .unwrap();
    rig.run();
    let m = rig.msg(pulled);
    let lock = m
        .trace
        .iter()
        .find(|c| c.call == "IMsgStore::SetLockState")
        .expect("SetLockState was called");
    assert!(
        lock.result.starts_with("MAPI_E_NOT_IN_QUEUE"),
        "{}",
        lock.result
    );
    assert!(!m.is_locked(), "nothing was locked");
    assert_eq!(m.spool.next_step, None, "out of the pipeline");
    assert!(rig.log.of(pulled).is_empty(), "no transport saw it");
    assert!(
        rig.step_outcomes(pulled)
            .iter()
            .any(|(s, o)| matches!(s, Step::Preprocess | Step::SetLockState)
                && matches!(o, StepOutcome::Failed(_))),
        "the refusal is the step's outcome"
    );
    assert_eq!(rig.log.of(other).len(), 1, "the queue went on");
    assert_eq!(rig.msg(other).state(rig.now()), MessageState::Sent);
}

/// (e.8) `MSGFLAG_SUBMIT` set but `PR_SUBMIT_FLAGS` missing, or not a number, is a corrupt
/// state (`MAPI_E_CORRUPT_STORE`), never read as 0: the message is held with that reason,
/// nothing is sent, the queue goes on, and Abort submit gives it back as a draft.
#[test]
fn e8_submitted_without_readable_submit_flags_is_corrupt_store_and_held() {
    for broken in ["missing", "a string"] {
        let mut rig = Rig::new(&[smtp()]);
        let bad = rig.send(&format!("submit flags {broken}"), &[A]);
        let other = rig.send("an ordinary message", &[B]);
        let mut patch = Patch::default();
        if broken == "missing" {
            patch.unset.push("PR_SUBMIT_FLAGS".into());
        } else {
            patch.set.set_text(PR_SUBMIT_FLAGS, "locked?");
        }
        rig.store().patch(bad, patch, true).unwrap();
        rig.run();
        let m = rig.msg(bad);
        let lock = m
            .trace
            .iter()
            .find(|c| c.call == "IMsgStore::SetLockState")
            .expect("SetLockState was called");
        assert!(
            lock.result.starts_with("MAPI_E_CORRUPT_STORE"),
            "{broken}: {}",
            lock.result
        );
        assert!(rig.log.of(bad).is_empty(), "{broken}: nothing was sent");
        assert_eq!(m.state(rig.now()), MessageState::Held, "{broken}");
        assert!(
            m.spool
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("PR_SUBMIT_FLAGS")),
            "{broken}: the reason is kept: {:?}",
            m.spool.last_error
        );
        assert_eq!(rig.log.of(other).len(), 1, "{broken}: the queue went on");
        let now = rig.now();
        let back = submit::abort_submit(rig.store(), bad, now).unwrap();
        assert_eq!(back.state(now), MessageState::Draft, "{broken}");
        assert_ne!(back.message_flags() & MSGFLAG_UNSENT, 0);
    }
}

/// (e.18) `AbortSubmit` of a message a transport deferred (`END_DONT_RESEND`) tells that
/// transport (`NOTIFY_ABORT_DEFERRED | NOTIFY_CANCEL_MESSAGE`), which forgets it; and a call
/// back that comes anyway (a faulty transport) writes nothing onto the aborted draft.
#[test]
fn e18_abort_of_a_deferred_message_notifies_its_transport_and_a_late_call_back_writes_nothing() {
    for deaf in [false, true] {
        let s = smtp().first(&[Reply::Defer(30)]);
        let mut rig = Rig::new(&[if deaf { s.deaf_to_abort() } else { s }]);
        let eid = rig.send("kept by the transport", &[A]);
        rig.run();
        assert_eq!(
            rig.msg(eid).state(rig.now()),
            MessageState::DeferredByTransport
        );
        rig.sp.handle(Command::AbortSubmit(eid));
        rig.pump();
        assert!(rig.errors().is_empty(), "{:?}", rig.errors());
        assert_eq!(*rig.log.aborted.lock().unwrap(), [eid], "deaf={deaf}");
        let notify = rig
            .trace(eid)
            .into_iter()
            .find(|c| c.call == "IXPLogon::TransportNotify")
            .expect("the notification is in the trace");
        assert!(
            notify
                .args
                .contains("NOTIFY_ABORT_DEFERRED | NOTIFY_CANCEL_MESSAGE"),
            "{}",
            notify.args
        );
        let before = rig.msg(eid);
        rig.advance(60);
        rig.run();
        let after = rig.msg(eid);
        assert_eq!(after.state(rig.now()), MessageState::Draft, "deaf={deaf}");
        assert_eq!(
            after.spool.begin_deferred, None,
            "deaf={deaf}: no BEGIN_DEFERRED"
        );
        assert_eq!(
            after.trace.len(),
            before.trace.len(),
            "deaf={deaf}: nothing written"
        );
        assert_eq!(rig.log.of(eid).len(), 1, "deaf={deaf}: offered once");
        assert!(rig.queue().is_empty());
    }
}

/// Abort of a partly delivered message waiting for a retry, then Submit again: the rows
/// already delivered come back `MAPI_SUBMITTED` (docs/mapi-notes.md) and are never offered
/// again; only the rest are sent, and the user is told.
#[test]
fn abort_of_a_partly_delivered_message_and_submit_again_never_sends_twice() {
    const X: (&str, &str) = ("/C=US/O=Example/S=Ray", "X400");
    let slow = spec("Slow", &["X400"], Reply::Deliver).first(&[Reply::Transient]);
    let mut rig = Rig::new(&[smtp(), slow]);
    let eid = rig.send("half way", &[A, X]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.state(rig.now()), MessageState::WaitingRetry);
    assert_eq!(rig.log.to("SMTP").len(), 1, "A delivered");
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    assert!(
        rig.events.iter().any(|e| matches!(e, Event::Notice(t)
            if t.contains("1 recipient(s) who already got it") && t.contains("will not be sent to again"))),
        "the user is told"
    );
    let draft = rig.msg(eid);
    assert_eq!(draft.state(rig.now()), MessageState::Draft);
    let a = draft.recipients.iter().find(|r| r.email() == A.0).unwrap();
    assert!(a.is_submitted_marker(), "A is MAPI_SUBMITTED");
    rig.submit(eid);
    rig.run();
    assert_eq!(rig.log.to("SMTP").len(), 1, "A is never offered again");
    assert_eq!(rig.log.to("Slow").len(), 2, "the X.400 row went again");
    let done = rig.msg(eid);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    let a = done.recipients.iter().find(|r| r.email() == A.0).unwrap();
    assert_eq!(
        a.outcome,
        RecipientState::Delivered,
        "its delivery record is kept"
    );
    assert!(
        rig.trace(eid)
            .iter()
            .any(|c| c.call == "IMAPISupport::PrepareSubmit")
    );
}

/// The tightly coupled store delivers its own rows at `SubmitMessage` (reference a.4), but not
/// before a deferred send time: a message deferred to later reaches the EX recipients when it
/// is sent, with the SMTP ones, and once.
#[test]
fn coupled_store_rows_of_a_deferred_message_are_delivered_when_it_is_sent() {
    const EX: (&str, &str) = ("/o=Spoolbox/cn=margaret", "EX");
    let mut rig = Rig::new(&[smtp()]);
    let at = rig.now() + SignedDuration::from_mins(10);
    let eid = rig.draft_with("later, for everyone", &[EX, A], |m| {
        m.props.set_time(PR_DEFERRED_SEND_TIME, at);
    });
    rig.submit(eid);
    let m = rig.msg(eid);
    assert!(!m.recipients[0].responsibility(), "EX row not handled yet");
    assert!(
        rig.in_folder("Inbox").is_empty(),
        "nobody has it before its time"
    );
    assert!(
        m.trace.iter().any(
            |c| c.call == "IMsgStore (coupled) deliver" && c.args.starts_with("deferred until")
        ),
        "the trace says why"
    );
    rig.advance(9 * 60);
    assert_eq!(rig.run(), 0);
    assert!(rig.in_folder("Inbox").is_empty());
    rig.advance(60);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(m.recipients[0].outcome, RecipientState::HandledByStore);
    assert_eq!(m.recipients[1].outcome, RecipientState::Delivered);
    assert_eq!(
        rig.in_folder("Inbox").len(),
        1,
        "delivered once, at its time"
    );
    assert_eq!(rig.log.of(eid).len(), 1);
    assert_eq!(
        rig.log.of(eid)[0].rows,
        [m.recipients[1].row_id],
        "EX never offered"
    );
}

/// A transport stamps what it sends: `PR_SENDER_*` (the profile's sender, the identity it
/// sends as) are on the message it is offered, and `PR_PROVIDER_SUBMIT_TIME` is the time a
/// transport first took it, kept on the sent copy.
#[test]
fn transports_stamp_pr_sender_and_pr_provider_submit_time() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Wait(60)])]);
    let eid = rig.send("stamped", &[A]);
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(
        m.props.value(PR_PROVIDER_SUBMIT_TIME),
        None,
        "MAPI_E_WAIT: no transport took it yet"
    );
    let profile = rig.store().profile().clone();
    assert_eq!(
        m.props.text(PR_SENDER_EMAIL_ADDRESS),
        Some(profile.sender_address.as_str())
    );
    assert_eq!(m.props.text(PR_SENDER_ADDRTYPE), Some("SMTP"));
    rig.advance(60);
    let taken = rig.now();
    rig.run();
    let m = rig.msg(eid);
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(m.props.time(PR_PROVIDER_SUBMIT_TIME), Some(taken));
    assert_eq!(
        m.props.text(PR_SENDER_NAME),
        Some(profile.sender_name.as_str()).filter(|n| !n.is_empty())
    );
}

/// (e.20) `IXPLogon::SubmitMessage` only to a transport whose status row has
/// `STATUS_OUTBOUND_ENABLED`: a disabled transport and an unconfigured SMTP transport are
/// never called, the trace says why, and their rows pass to the next transport.
#[test]
fn e20_transports_without_status_outbound_enabled_are_never_offered_a_message() {
    use spoolbox::mapi::flags::STATUS_OUTBOUND_ENABLED;
    use spoolbox::profile::{SmtpSettings, TransportKind};
    use spoolbox::transport::from_profile;
    let mut rig = Rig::new(&[smtp()]);
    // The real transports of a profile: an unconfigured SMTP (no host), a disabled one, and
    // the recorder behind them that takes what they pass on.
    let mut p = rig.store().profile().clone();
    let mut unconfigured = p.transports[0].clone();
    unconfigured.name = "SMTP (no host)".into();
    unconfigured.kind = TransportKind::Smtp(SmtpSettings::default());
    let mut disabled = unconfigured.clone();
    disabled.name = "SMTP (disabled)".into();
    disabled.enabled = false;
    p.transports = vec![unconfigured, disabled];
    let real = from_profile(&p);
    for t in &real {
        assert_eq!(t.status_code() & STATUS_OUTBOUND_ENABLED, 0, "{}", t.name());
    }
    rig.set_transports_after(real, &[smtp()]);
    let eid = rig.send("past two offline transports", &[A]);
    rig.run();
    let trace = rig.trace(eid);
    for name in ["SMTP (no host)", "SMTP (disabled)"] {
        let line = trace
            .iter()
            .find(|c| {
                c.call == "IXPLogon::SubmitMessage" && c.args.starts_with(&format!("[{name}]"))
            })
            .unwrap_or_else(|| panic!("{name} is in the trace"));
        assert!(
            line.result
                .starts_with("not called: STATUS_OUTBOUND_ENABLED is clear"),
            "{name}: {}",
            line.result
        );
    }
    assert_eq!(rig.log.of(eid).len(), 1, "the next transport took it");
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
}

/// (e.15, e.12) A resend built the documented way: every content row `MAPI_SUBMITTED` (they
/// got the original) plus a `MAPI_P1` copy of the row that failed. The P1 row is transmitted
/// (an envelope recipient), the content rows are not, every row ends in a final state, and no
/// NDR is made.
#[test]
fn e15_a_documented_resend_sends_its_p1_rows_only_and_finishes_with_no_ndr() {
    use spoolbox::mapi::Recipient;
    use spoolbox::mapi::flags::{MAPI_P1, MAPI_SUBMITTED, MAPI_TO, MSGFLAG_RESEND};
    use spoolbox::mapi::tags::PR_RECIPIENT_TYPE;
    let mut rig = Rig::new(&[smtp()]);
    let eid = rig.draft_with("resend, the MAPI way", &[A, B], |m| {
        for r in &mut m.recipients {
            r.props
                .set_flags(PR_RECIPIENT_TYPE, MAPI_TO | MAPI_SUBMITTED);
        }
        let mut p1 = Recipient::new(
            2,
            "Recipient 1",
            B.0,
            B.1,
            spoolbox::mapi::RecipientKind::To,
        );
        p1.props.set_flags(PR_RECIPIENT_TYPE, MAPI_TO | MAPI_P1);
        m.recipients.push(p1);
        m.props.add_flags(PR_MESSAGE_FLAGS, MSGFLAG_RESEND);
    });
    rig.submit(eid);
    rig.run();
    let offers = rig.log.of(eid);
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0].rows, [2], "only the P1 row is transmitted");
    let m = rig.msg(eid);
    assert_eq!(
        rig.folder_name(eid).as_deref(),
        Some("Sent Items"),
        "finished"
    );
    let outcomes: Vec<RecipientState> = m.recipients.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [
            RecipientState::SkippedResend,
            RecipientState::SkippedResend,
            RecipientState::Delivered
        ]
    );
    assert!(rig.ndrs().is_empty(), "no NDR");
}

/// (e.15) The rendered message shows the content recipients in its headers and puts the P1
/// rows in the envelope only; a P1 row and a content row for one address are one envelope
/// recipient.
#[test]
fn e15_p1_rows_are_envelope_only_and_one_address_is_one_recipient() {
    use spoolbox::mapi::flags::{MAPI_P1, MAPI_SUBMITTED, MAPI_TO};
    use spoolbox::mapi::tags::PR_RECIPIENT_TYPE;
    use spoolbox::mapi::{EntryId, Message, Recipient, RecipientKind};
    let mut m = Message::draft(EntryId(9), EntryId(2), "envelope");
    let mut ann = Recipient::new(0, "Ann", "ann@example.org", "SMTP", RecipientKind::To);
    ann.props
        .set_flags(PR_RECIPIENT_TYPE, MAPI_TO | MAPI_SUBMITTED);
    let bob = Recipient::new(1, "Bob", "bob@example.org", "SMTP", RecipientKind::Cc);
    let mut p1 = Recipient::new(2, "x", "carol@example.org", "SMTP", RecipientKind::To);
    p1.props.set_flags(PR_RECIPIENT_TYPE, MAPI_TO | MAPI_P1);
    let mut twin = Recipient::new(3, "Bob", "bob@EXAMPLE.org", "SMTP", RecipientKind::To);
    twin.props.set_flags(PR_RECIPIENT_TYPE, MAPI_TO | MAPI_P1);
    m.recipients = vec![ann, bob, p1, twin];
    let sender = ("Me".to_owned(), "me@example.org".to_owned());
    let bytes = spoolbox::eml::render(&m, &[1, 2, 3], &sender).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let head = &text[..text.find("\r\n\r\n").unwrap()];
    assert!(head.contains("To: Ann <ann@example.org>"), "{head}");
    assert!(head.contains("Cc: Bob <bob@example.org>"), "{head}");
    assert!(
        !head.contains("carol"),
        "the P1 row is not a content recipient: {head}"
    );
    let i = spoolbox::eml::import(text.as_bytes()).unwrap();
    assert_eq!(i.recipients.len(), 2);
}
