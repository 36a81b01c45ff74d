//! Issue 16: a transport that panics on one message.

use super::*;

#[test]
fn a_transport_that_panics_on_one_message_fails_only_that_one_and_the_other_ten_go_out() {
    let mut rig = Rig::new(&[smtp().first(&[Reply::Panic])]);
    let poison = rig.send("poison", &[A]);
    let good: Vec<EntryId> = (0..10)
        .map(|i| rig.send(&format!("good {i}"), &[B]))
        .collect();
    rig.run();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    for eid in &good {
        assert_eq!(rig.folder_name(*eid).as_deref(), Some("Sent Items"));
        assert_eq!(
            rig.msg(*eid).recipients[0].outcome,
            RecipientState::Delivered
        );
    }
    let m = rig.msg(poison);
    let r = &m.recipients[0];
    assert_eq!(r.outcome, RecipientState::Failed);
    assert!(r.responsibility());
    let text = r.props.text_or_empty(PR_REPORT_TEXT);
    assert!(
        text.contains("MAPI_E_CORRUPT_DATA") && text.contains("poison message in SMTP"),
        "{text}"
    );
    // The sender hears of it: an NDR naming the reason.
    let ndrs = rig.ndrs();
    assert_eq!(ndrs.len(), 1, "{ndrs:?}");
    let ndr = rig.msg(ndrs[0].eid);
    assert!(ndr.body.contains("MAPI_E_CORRUPT_DATA"), "{}", ndr.body);
    let trace: Vec<String> = rig
        .trace(poison)
        .iter()
        .map(|c| format!("{} {}", c.call, c.result))
        .collect();
    assert!(
        trace.iter().any(|t| t.contains("poison message in SMTP")),
        "{trace:?}"
    );
}
