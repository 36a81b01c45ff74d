//! Reports that are real (reference e.14, S10, b.2; issue 18 item 2): one named test per
//! invariant. The NDR and the DR are addressed to the sender, filed where `PR_REPORT_ENTRYID`
//! says, carry the original's display names and MAPI's reason and diagnostic codes, are made
//! at most once per recipient per kind, embed the message as submitted (no fax cover page),
//! and export as RFC 3464 `multipart/report`, read back by Python's `email` package and by
//! the `mail-parser` package.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::path::Path;
use std::process::Command as Process;

use spoolbox::mapi::flags::{
    MAPI_BCC, MAPI_CC, MAPI_DIAG_MAIL_ADDRESS_INCORRECT, MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN,
    MAPI_DIAG_NO_BILATERAL_AGREEMENT, MAPI_REASON_TRANSFER_FAILED, MAPI_REASON_TRANSFER_IMPOSSIBLE,
};
use spoolbox::mapi::tags::{
    PR_DELIVER_TIME, PR_NDR_DIAG_CODE, PR_NDR_REASON_CODE, PR_ORIGINAL_DISPLAY_BCC,
    PR_ORIGINAL_DISPLAY_CC, PR_ORIGINAL_DISPLAY_TO, PR_ORIGINAL_SUBJECT, PR_ORIGINAL_SUBMIT_TIME,
    PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, PR_RECEIVED_BY_EMAIL_ADDRESS, PR_RECEIVED_BY_NAME,
    PR_RECIPIENT_TYPE, PR_REPORT_ENTRYID, PR_REPORT_TEXT, PR_RESPONSIBILITY,
};
use spoolbox::mapi::{Attachment, EntryId, Message, PropValue, Recipient, Step};
use spoolbox::spooler::Command;
use spoolbox::store::{Patch, Summary};
use spoolbox::transport::fax::COVER_PAGE;

use crate::pipeline::{A, B, Reply, Rig, fax_spec, smtp, spec};

pub(crate) const NO_SUCH_USER: &str =
    "550 5.1.1 <ann@example.org>: Recipient address rejected: no such user";
pub(crate) const X400: (&str, &str) = ("c=US;a= ;p=Legacy;s=Smith", "X400");
pub(crate) const EX: (&str, &str) = ("/o=Spoolbox/cn=margaret", "EX");
pub(crate) const SLOW: (&str, &str) = ("/C=US/O=Example/S=Ray", "X400");

/// Every report in the store of this kind (`"NDR"`, `"DR"`), whatever folder holds it.
pub(crate) fn reports(rig: &Rig, kind: &str) -> Vec<Summary> {
    let mut v: Vec<Summary> = rig
        .sp
        .store()
        .summaries()
        .filter(|s| s.class.starts_with("REPORT.") && s.class.ends_with(&format!(".{kind}")))
        .cloned()
        .collect();
    v.sort_by_key(|s| s.eid);
    v
}

/// One report of `kind` about the message with this subject.
pub(crate) fn one_report(rig: &mut Rig, kind: &str, subject: &str) -> Message {
    let prefix = if kind == "NDR" {
        "Undeliverable: "
    } else {
        "Delivered: "
    };
    let found: Vec<EntryId> = reports(rig, kind)
        .into_iter()
        .filter(|s| s.subject == format!("{prefix}{subject}"))
        .map(|s| s.eid)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} about {subject:?}: {found:?}");
    rig.msg(found[0])
}

/// SMTP refuses Ann for good; Bob gets it; nobody takes the X.400 row; the coupled store
/// delivers the EX row. Ann is To, Bob Cc, the X.400 row Bcc, the EX row To.
pub(crate) fn mixed(rig: &mut Rig, subject: &str, edit: impl FnOnce(&mut Message)) -> EntryId {
    let eid = rig.draft_with(subject, &[A, B, X400, EX], |m| {
        m.recipients[1].props.set_flags(PR_RECIPIENT_TYPE, MAPI_CC);
        m.recipients[2].props.set_flags(PR_RECIPIENT_TYPE, MAPI_BCC);
        edit(m);
    });
    rig.submit(eid);
    rig.run();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    eid
}

/// The first SMTP transport delivers Bob only and leaves Ann FALSE; the second fails what it
/// is offered with the server's reply.
pub(crate) fn rig_refusing_ann() -> Rig {
    Rig::new(&[
        spec("SMTP", &["SMTP"], Reply::DeliverOnly(vec![B.0])),
        spec("Relay", &["SMTP"], Reply::Fail(NO_SUCH_USER)),
    ])
}

/// (e.14) The NDR goes to the sender (`PR_RECEIVED_BY_*` is the profile's sender, not a
/// failed recipient), lists the failed rows as its recipient table with `PR_REPORT_TEXT`,
/// `PR_NDR_REASON_CODE` and MAPI's `PR_NDR_DIAG_CODE`, and carries the original's
/// `PR_ORIGINAL_DISPLAY_TO/CC/BCC`, subject and submit time.
#[test]
fn e14_ndr_is_addressed_to_the_sender_with_the_original_display_names_and_diag_codes() {
    let mut rig = rig_refusing_ann();
    let eid = mixed(&mut rig, "to the sender", |_| {});
    let m = rig.msg(eid);
    let ndr = one_report(&mut rig, "NDR", "to the sender");
    let profile = rig.store().profile().clone();
    assert_eq!(ndr.message_class(), "REPORT.IPM.Note.NDR");
    assert_eq!(
        ndr.props.text(PR_RECEIVED_BY_EMAIL_ADDRESS),
        Some(profile.sender_address.as_str())
    );
    assert_eq!(
        ndr.props.text(PR_RECEIVED_BY_NAME),
        Some(profile.sender_name.as_str())
    );
    assert!(
        ndr.recipients
            .iter()
            .all(|r| r.email() != profile.sender_address),
        "the sender is who gets it, not a row it reports on"
    );
    assert_eq!(
        ndr.props.text(PR_ORIGINAL_DISPLAY_TO),
        Some("Recipient 0; Recipient 3")
    );
    assert_eq!(ndr.props.text(PR_ORIGINAL_DISPLAY_CC), Some("Recipient 1"));
    assert_eq!(ndr.props.text(PR_ORIGINAL_DISPLAY_BCC), Some("Recipient 2"));
    assert_eq!(ndr.props.text(PR_ORIGINAL_SUBJECT), Some("to the sender"));
    assert_eq!(
        ndr.props.time(PR_ORIGINAL_SUBMIT_TIME),
        m.client_submit_time()
    );
    let rows: Vec<(&str, Option<&str>, u32, Option<i32>)> = ndr
        .recipients
        .iter()
        .map(|r| {
            (
                r.email(),
                r.props.text(PR_REPORT_TEXT),
                r.props.flags(PR_NDR_REASON_CODE),
                r.props.long(PR_NDR_DIAG_CODE),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        (
            A.0,
            Some(NO_SUCH_USER),
            MAPI_REASON_TRANSFER_FAILED,
            Some(MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN)
        )
    );
    assert_eq!(rows[1].0, X400.0);
    assert_eq!(rows[1].2, MAPI_REASON_TRANSFER_IMPOSSIBLE);
    assert_eq!(rows[1].3, Some(MAPI_DIAG_NO_BILATERAL_AGREEMENT));
    assert!(
        ndr.recipients
            .iter()
            .all(|r| r.props.value(PR_DELIVER_TIME).is_none()
                && r.props.value(PR_RESPONSIBILITY).is_none()),
        "no delivery time on an NDR row, no spooler bookkeeping"
    );
}

pub(crate) fn folder_bytes(rig: &Rig, name: &str) -> Vec<u8> {
    rig.sp
        .store()
        .folder_named(name)
        .expect("the folder exists")
        .entry_id
        .to_bytes()
}

/// (e.14) Reports go to the folder `PR_REPORT_ENTRYID` names: the NDR and the DR are filed
/// there and the Inbox gets neither.
#[test]
fn e14_reports_are_filed_in_the_folder_pr_report_entryid_names() {
    let mut rig = rig_refusing_ann();
    rig.store().create_folder("Reports").unwrap();
    let reports_folder = folder_bytes(&rig, "Reports");
    mixed(&mut rig, "routed", |m| {
        m.props
            .set(PR_REPORT_ENTRYID, PropValue::Binary(reports_folder.clone()));
        m.props
            .set_bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, true);
    });
    for kind in ["NDR", "DR"] {
        let r = one_report(&mut rig, kind, "routed");
        assert_eq!(
            rig.folder_name(r.entry_id).as_deref(),
            Some("Reports"),
            "{kind}"
        );
    }
    assert!(
        rig.in_folder("Inbox")
            .iter()
            .all(|s| !s.class.starts_with("REPORT.")),
        "no report in the Inbox"
    );
}

/// (e.14) A `PR_REPORT_ENTRYID` that names no folder of the store (here, a message) is not
/// followed: the report goes to the Inbox and the trace says why.
#[test]
fn e14_a_pr_report_entryid_naming_no_folder_falls_back_to_the_inbox_traced() {
    let mut rig = rig_refusing_ann();
    let not_a_folder = rig.draft("just a message", &[A]).to_bytes();
    let eid = mixed(&mut rig, "misrouted", |m| {
        m.props
            .set(PR_REPORT_ENTRYID, PropValue::Binary(not_a_folder.clone()));
    });
    let ndr = one_report(&mut rig, "NDR", "misrouted");
    assert_eq!(rig.folder_name(ndr.entry_id).as_deref(), Some("Inbox"));
    let line = rig
        .trace(eid)
        .into_iter()
        .find(|c| c.call == "spooler: route reports")
        .expect("the fallback is traced");
    assert!(line.args.starts_with("PR_REPORT_ENTRYID "), "{}", line.args);
    assert!(
        line.result.contains("names no folder") && line.result.contains("Inbox"),
        "{}",
        line.result
    );
}

/// (e.14) A DR only when `PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED` is TRUE: none when it is
/// absent or FALSE; when asked for, one DR to the sender listing exactly the delivered rows
/// (by a transport and by the coupled store), each with `PR_DELIVER_TIME`, beside the NDR.
#[test]
fn e14_a_delivery_report_only_when_requested_listing_the_delivered_rows() {
    let mut rig = rig_refusing_ann();
    mixed(&mut rig, "not asked", |_| {});
    mixed(&mut rig, "asked not to", |m| {
        m.props
            .set_bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, false);
    });
    assert!(reports(&rig, "DR").is_empty(), "{:?}", reports(&rig, "DR"));
    let eid = mixed(&mut rig, "asked", |m| {
        m.props
            .set_bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, true);
    });
    let dr = one_report(&mut rig, "DR", "asked");
    assert_eq!(dr.message_class(), "REPORT.IPM.Note.DR");
    assert_eq!(dr.subject(), "Delivered: asked");
    assert_eq!(rig.folder_name(dr.entry_id).as_deref(), Some("Inbox"));
    assert_eq!(
        dr.props.text(PR_RECEIVED_BY_EMAIL_ADDRESS),
        Some(rig.store().profile().sender_address.as_str())
    );
    let listed: Vec<&str> = dr.recipients.iter().map(Recipient::email).collect();
    assert_eq!(listed, [B.0, EX.0], "the delivered rows, and only them");
    for r in &dr.recipients {
        assert!(r.props.time(PR_DELIVER_TIME).is_some(), "{}", r.email());
        assert_eq!(r.props.value(PR_NDR_DIAG_CODE), None, "{}", r.email());
    }
    assert!(dr.embedded.is_none(), "a DR does not carry the original");
    let ndr = one_report(&mut rig, "NDR", "asked");
    assert_eq!(
        ndr.recipients
            .iter()
            .map(Recipient::email)
            .collect::<Vec<_>>(),
        [A.0, X400.0]
    );
    let m = rig.msg(eid);
    assert_eq!(m.spool.dr, Some(dr.entry_id), "the message names its DR");
    assert!(
        rig.trace(eid)
            .iter()
            .any(|c| c.call == "IMAPISupport::StatusRecips"
                && c.args.contains("with PR_DELIVER_TIME")
                && c.result.contains(&format!("DR {}", dr.entry_id))),
        "StatusRecips for the DR is traced"
    );
}

/// (e.14) At most one report per recipient per kind. The report step replayed (as after a
/// crash between writing the reports and recording the step) writes no second NDR or DR; and
/// a message aborted after a partial delivery and submitted again gets one DR in which each
/// delivered row appears once.
#[test]
fn e14_no_recipient_is_reported_twice() {
    let mut rig = rig_refusing_ann();
    rig.sp
        .handle(Command::SetBreakpoint(Step::RemovePreprocessInfo, true));
    let eid = mixed(&mut rig, "replayed", |m| {
        m.props
            .set_bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, true);
    });
    assert_eq!(
        rig.sp.debug_state().at,
        Some((eid, Step::RemovePreprocessInfo))
    );
    let mut spool = rig.msg(eid).spool;
    assert!(spool.ndr.is_some() && spool.dr.is_some());
    spool.next_step = Some(Step::NonDeliveryReport);
    rig.store()
        .patch(
            eid,
            Patch {
                spool: Some(spool),
                ..Patch::default()
            },
            true,
        )
        .unwrap();
    rig.sp
        .handle(Command::SetBreakpoint(Step::RemovePreprocessInfo, false));
    rig.sp.handle(Command::Continue);
    rig.run();
    assert!(
        rig.msg(eid)
            .history
            .iter()
            .filter(|h| h.step == Step::NonDeliveryReport)
            .count()
            >= 2,
        "the report step ran again"
    );
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    assert_eq!(reports(&rig, "NDR").len(), 1, "one NDR");
    assert_eq!(reports(&rig, "DR").len(), 1, "one DR");

    // Abort after a partial delivery, then submit again.
    let slow = spec("Slow", &["X400"], Reply::Deliver).first(&[Reply::Transient]);
    let mut rig = Rig::new(&[smtp(), slow]);
    let eid = rig.draft_with("half way", &[A, SLOW], |m| {
        m.props
            .set_bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, true);
    });
    rig.submit(eid);
    rig.run();
    rig.sp.handle(Command::AbortSubmit(eid));
    rig.pump();
    rig.submit(eid);
    rig.run();
    assert_eq!(rig.folder_name(eid).as_deref(), Some("Sent Items"));
    let drs = reports(&rig, "DR");
    assert_eq!(drs.len(), 1, "{drs:?}");
    let dr = rig.msg(drs[0].eid);
    let mut listed: Vec<&str> = dr.recipients.iter().map(Recipient::email).collect();
    listed.sort_unstable();
    assert_eq!(listed, [SLOW.0, A.0], "each delivered row once");
}

/// (e.14, a.3 S10/S11) The NDR embeds the message as submitted: after a fax message, the
/// fax preprocessor's cover page is not in the embedded copy (the message's own attachment
/// is), and Resend from the NDR carries no cover page into the new message.
#[test]
fn e14_the_ndr_embeds_the_message_as_submitted_and_resend_carries_no_fax_cover_page() {
    let mut rig = Rig::new(&[fax_spec()]);
    let eid = rig.draft_with(
        "fax with a cover page",
        &[("+1 212 555 0142", "FAX"), ("12", "FAX")],
        |m| {
            m.attachments.push(Attachment {
                file_name: "contract.txt".into(),
                mime_type: "text/plain".into(),
                data: b"signed".to_vec(),
            });
        },
    );
    rig.submit(eid);
    rig.run();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let offered = rig.log.of(eid);
    assert!(
        offered[0].attachments.iter().any(|a| a == COVER_PAGE),
        "the fax was sent with its cover page: {offered:?}"
    );
    let ndr = one_report(&mut rig, "NDR", "fax with a cover page");
    let original = ndr.embedded.as_deref().expect("the original is embedded");
    let names: Vec<&str> = original
        .attachments
        .iter()
        .map(|a| a.file_name.as_str())
        .collect();
    assert_eq!(names, ["contract.txt"], "as submitted: no cover page");
    assert!(
        original.recipients.iter().all(|r| !r.responsibility()),
        "every row as submitted"
    );
    assert!(
        rig.trace(eid)
            .iter()
            .any(|c| c.call == "RemovePreprocessInfo"
                && c.args.contains("the NDR embeds")
                && c.result.contains(COVER_PAGE)),
        "the copy's cleanup is traced"
    );
    rig.sp.handle(Command::Resend(ndr.entry_id));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    // A draft to correct first; submitted as it is here.
    let draft = rig
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            spoolbox::spooler::Event::DraftCreated(d) => Some(*d),
            _ => None,
        })
        .expect("a draft to correct");
    rig.sp.handle(Command::Submit(draft));
    rig.pump();
    assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let resent = rig
        .sp
        .store()
        .summaries()
        .find(|s| s.eid != eid && s.is_submitted())
        .expect("the resend is submitted")
        .eid;
    let m = rig.msg(resent);
    assert!(
        m.attachments.iter().all(|a| a.file_name != COVER_PAGE),
        "the resend carries no cover page: {:?}",
        m.attachments
    );
    rig.run();
    let offers = rig.log.of(resent);
    assert!(
        offers
            .iter()
            .all(|o| o.attachments.iter().filter(|a| *a == COVER_PAGE).count() <= 1),
        "the fax preprocessor renders one cover page again: {offers:?}"
    );
}

/// A rejected fax number is an address the preprocessor cannot use: transfer impossible,
/// `MAPI_DIAG_MAIL_ADDRESS_INCORRECT`.
#[test]
fn a_fax_number_the_preprocessor_rejects_reads_mail_address_incorrect() {
    let mut rig = Rig::new(&[fax_spec()]);
    rig.send("bad number", &[("12", "FAX")]);
    rig.run();
    let ndr = one_report(&mut rig, "NDR", "bad number");
    let r = &ndr.recipients[0];
    assert_eq!(
        r.props.flags(PR_NDR_REASON_CODE),
        MAPI_REASON_TRANSFER_IMPOSSIBLE
    );
    assert_eq!(
        r.props.long(PR_NDR_DIAG_CODE),
        Some(MAPI_DIAG_MAIL_ADDRESS_INCORRECT)
    );
}

mod rfc3464;

#[allow(unused_imports, reason = "helpers shared with the other parts")]
pub(crate) use rfc3464::*;
