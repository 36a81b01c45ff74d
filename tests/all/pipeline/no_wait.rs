//! No message waits for another's timer (issue 27, item 11): a message whose recipients a
//! server answered 4xx was handed over in its turn and waits on its own retry timer; the
//! messages behind it for the same transport go at once. Only an unavailable transport
//! (`MAPI_E_BUSY`, `MAPI_E_WAIT`, `MAPI_E_NETWORK_ERROR`, `END_RESEND_*`) or one that keeps a
//! message (`END_DONT_RESEND`) holds the later messages for it (reference e.6: never reorder
//! two messages bound for one transport; that rule is pinned by
//! `retry::waiting_message_does_not_block_other_transports_but_keeps_order_for_its_own`).

use super::*;

/// One message's first answer from the only transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum First {
    /// 250: delivered.
    Delivered,
    /// 550: failed for good, an NDR.
    Failed,
    /// 451: deferred, retried on its own timer.
    Deferred,
    /// `MAPI_E_NOT_ME`: declined; no other transport, so the spooler's NDR.
    Declined,
}

fn reply(f: First) -> Reply {
    match f {
        First::Delivered => Reply::Deliver,
        First::Failed => Reply::Fail("550 5.1.1 no such user"),
        First::Deferred => Reply::Transient,
        First::Declined => Reply::NotMe,
    }
}

fn address(i: usize) -> String {
    format!("user{i}@example.org")
}

/// Sends one message per answer, in that order, through one SMTP transport that answers each
/// message's first hand-off as scripted (and delivers every retry); checks that the first run
/// offers every message exactly once and in submit order, each ending as its answer says,
/// and that the retries deliver the deferred ones later.
fn run_order(order: &[First]) -> Result<(), TestCaseError> {
    let script: Vec<Reply> = order.iter().copied().map(reply).collect();
    let mut rig = Rig::new(&[smtp().first(&script)]);
    let mut eids = Vec::new();
    for (i, _) in order.iter().enumerate() {
        let a = address(i);
        eids.push(rig.send(&format!("message {i}"), &[(a.as_str(), "SMTP")]));
        rig.advance(1);
    }
    rig.run();
    // The run ended only once every eligible message had been offered, in submit order.
    let offered: Vec<EntryId> = rig.log.to("SMTP").into_iter().map(|o| o.eid).collect();
    prop_assert_eq!(
        &offered,
        &eids,
        "one offer each, in submit order: {:?}",
        order
    );
    let now = rig.now();
    for (f, eid) in order.iter().zip(&eids) {
        let m = rig.msg(*eid);
        let state = m.state(now);
        let outcome = m.recipients[0].outcome.clone();
        let folder = rig.folder_name(*eid);
        match f {
            First::Delivered => {
                prop_assert_eq!(outcome, RecipientState::Delivered);
                prop_assert_eq!(folder.as_deref(), Some("Sent Items"));
            }
            First::Failed => {
                prop_assert_eq!(outcome, RecipientState::Failed);
                prop_assert_eq!(folder.as_deref(), Some("Sent Items"));
            }
            First::Declined => {
                prop_assert_eq!(outcome, RecipientState::NoTransport);
                prop_assert_eq!(folder.as_deref(), Some("Sent Items"));
            }
            First::Deferred => {
                prop_assert_eq!(state, MessageState::WaitingRetry);
                prop_assert_eq!(outcome, RecipientState::Retrying);
                prop_assert!(!m.spool.transport_wait, "a 4xx is the message's own wait");
            }
        }
    }
    let ndrs = order
        .iter()
        .filter(|f| matches!(f, First::Failed | First::Declined))
        .count();
    prop_assert_eq!(rig.ndrs().len(), ndrs, "one NDR per failed message");
    // The retries come on their own timers and deliver.
    rig.advance(600);
    rig.run();
    for (f, eid) in order.iter().zip(&eids) {
        if *f == First::Deferred {
            let outcome = rig.msg(*eid).recipients[0].outcome.clone();
            let folder = rig.folder_name(*eid);
            prop_assert_eq!(outcome, RecipientState::Delivered);
            prop_assert_eq!(folder.as_deref(), Some("Sent Items"));
        }
    }
    let deferred = order.iter().filter(|f| **f == First::Deferred).count();
    prop_assert_eq!(rig.log.to("SMTP").len(), order.len() + deferred);
    prop_assert!(rig.queue().is_empty(), "nothing left queued");
    Ok(())
}

#[test]
fn a_4xx_holds_no_later_message_for_its_transport() {
    // The case: the 451 message first, then two that the server takes.
    run_order(&[First::Deferred, First::Delivered, First::Delivered]).unwrap();
}

#[test]
fn a_transport_that_is_busy_still_holds_the_messages_behind_for_it() {
    // The other side of the rule: MAPI_E_BUSY is the transport's wait (e.6).
    let mut rig = Rig::new(&[smtp().first(&[Reply::Busy])]);
    let a = rig.send("A", &[A]);
    rig.advance(1);
    let b = rig.send("B", &[B]);
    rig.run();
    assert!(rig.msg(a).spool.transport_wait);
    assert!(rig.log.of(b).is_empty(), "B overtook A on a busy transport");
    rig.advance(120);
    rig.run();
    let order: Vec<EntryId> = rig.log.to("SMTP").into_iter().map(|o| o.eid).collect();
    assert_eq!(order, [a, a, b]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_order_of_answers_offers_every_message_in_one_run(
        order in proptest::collection::vec(
            prop_oneof![
                Just(First::Delivered),
                Just(First::Failed),
                Just(First::Deferred),
                Just(First::Declined),
            ],
            1..=7,
        )
    ) {
        run_order(&order)?;
    }
}
