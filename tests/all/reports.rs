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

const NO_SUCH_USER: &str = "550 5.1.1 <ann@example.org>: Recipient address rejected: no such user";
const X400: (&str, &str) = ("c=US;a= ;p=Legacy;s=Smith", "X400");
const EX: (&str, &str) = ("/o=Spoolbox/cn=margaret", "EX");
const SLOW: (&str, &str) = ("/C=US/O=Example/S=Ray", "X400");

/// Every report in the store of this kind (`"NDR"`, `"DR"`), whatever folder holds it.
fn reports(rig: &Rig, kind: &str) -> Vec<Summary> {
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
fn one_report(rig: &mut Rig, kind: &str, subject: &str) -> Message {
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
fn mixed(rig: &mut Rig, subject: &str, edit: impl FnOnce(&mut Message)) -> EntryId {
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
fn rig_refusing_ann() -> Rig {
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

fn folder_bytes(rig: &Rig, name: &str) -> Vec<u8> {
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

// ---------------------------------------------------------------------------------------------
// RFC 3464: export, the Source tab, the transports

/// A store with an NDR (Ann refused by SMTP with 5.1.1, the X.400 row without transport) and
/// a DR (Bob, the EX row) about one message, both exported to `dir`.
fn exported(dir: &Path) -> (Rig, Message, Message) {
    let mut rig = rig_refusing_ann();
    mixed(&mut rig, "Quarterly report", |m| {
        m.props
            .set_bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, true);
        m.body = "The figures, as promised.\n".into();
    });
    let ndr = one_report(&mut rig, "NDR", "Quarterly report");
    let dr = one_report(&mut rig, "DR", "Quarterly report");
    for (r, name) in [(&ndr, "ndr.eml"), (&dr, "dr.eml")] {
        rig.sp
            .handle(Command::ExportEml(r.entry_id, dir.join(name)));
        rig.pump();
        assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    }
    (rig, ndr, dr)
}

/// Runs `script` with the test Python on `file`; its stdout is JSON.
fn python_json(script: &str, file: &Path) -> serde_json::Value {
    let py = crate::smtp::python();
    let out = Process::new(&py)
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", py.display()));
    assert!(
        out.status.success(),
        "{} failed (scripts/test.sh installs aiosmtpd and mail-parser):\n{}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Python's own parser, policy `default`: the report's type and parameters, the parts, the
/// delivery-status blocks field by field, the original's subject and attachments.
const PY_EMAIL: &str = r"
import email, json, sys
from email import policy
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
parts = list(m.iter_parts())
out = {
    'content_type': m.get_content_type(),
    'report_type': m.get_param('report-type'),
    'from': str(m['From']), 'to': str(m['To']), 'subject': str(m['Subject']),
    'auto_submitted': str(m['Auto-Submitted']),
    'defects': [type(d).__name__ for p in m.walk() for d in p.defects],
    'parts': [p.get_content_type() for p in parts],
    'text': parts[0].get_content(),
}
ds = [p for p in parts if p.get_content_type() == 'message/delivery-status'][0]
blocks = ds.get_payload()
out['per_message'] = {k: str(v) for k, v in blocks[0].items()}
out['per_recipient'] = [{k: str(v) for k, v in b.items()} for b in blocks[1:]]
third = parts[2]
if third.get_content_type() == 'message/rfc822':
    inner = third.get_payload()[0]
    out['original'] = {
        'subject': str(inner['Subject']), 'to': str(inner['To']), 'from': str(inner['From']),
        'attachments': [a.get_filename() for a in inner.iter_attachments()],
        'text': inner.get_body(('plain',)).get_content(),
    }
else:
    out['original_headers'] = third.get_content()
print(json.dumps(out))
";

/// The `mail-parser` package (`mailparser.parse_from_bytes`).
const PY_MAILPARSER: &str = r"
import json, sys, mailparser
m = mailparser.parse_from_bytes(open(sys.argv[1], 'rb').read())
print(json.dumps({
    'subject': m.subject,
    'to': [list(t) for t in m.to],
    'from': [list(t) for t in m.from_],
    'text_plain': m.text_plain,
    'attachments': [{'filename': a.get('filename'), 'type': a.get('mail_content_type'),
                     'payload': a.get('payload') if not a.get('binary') else None}
                    for a in m.attachments],
    'parts': [p.get_content_type() for p in m.message.walk()],
}))
";

fn field<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

/// The export of an NDR is RFC 3464 `multipart/report; report-type=delivery-status`, from the
/// reporting MTA to the sender, with the text, a `message/delivery-status` part Python's
/// `email` package reads field by field (Reporting-MTA, Arrival-Date; per recipient
/// Final-Recipient, Action, Status from the SMTP reply or the diagnostic code,
/// Diagnostic-Code) and the original, as submitted, as `message/rfc822`; the DR likewise,
/// `Action: delivered`, `Status: 2.0.0`, with the original's headers.
#[test]
fn export_of_reports_is_rfc_3464_read_field_by_field_by_python_email() {
    let dir = tempfile::tempdir().unwrap();
    let (rig, _ndr, _dr) = exported(dir.path());
    let profile = rig.sp.store().profile().clone();
    let v = python_json(PY_EMAIL, &dir.path().join("ndr.eml"));
    assert_eq!(field(&v, "content_type"), "multipart/report");
    assert_eq!(field(&v, "report_type"), "delivery-status");
    assert_eq!(v["defects"], serde_json::json!([]), "{v}");
    assert!(field(&v, "to").contains(&profile.sender_address), "{v}");
    assert!(field(&v, "from").contains("MAILER-DAEMON@"), "{v}");
    assert_eq!(field(&v, "subject"), "Undeliverable: Quarterly report");
    assert_eq!(field(&v, "auto_submitted"), "auto-replied");
    assert_eq!(
        v["parts"],
        serde_json::json!(["text/plain", "message/delivery-status", "message/rfc822"])
    );
    assert!(field(&v, "text").contains(NO_SUCH_USER), "{v}");
    let pm = &v["per_message"];
    assert!(field(pm, "Reporting-MTA").starts_with("dns; "), "{pm}");
    assert!(pm["Arrival-Date"].is_string(), "{pm}");
    let pr = v["per_recipient"].as_array().unwrap();
    assert_eq!(pr.len(), 2, "{pr:?}");
    assert_eq!(field(&pr[0], "Final-Recipient"), "rfc822; ann@example.org");
    assert_eq!(field(&pr[0], "Action"), "failed");
    assert_eq!(field(&pr[0], "Status"), "5.1.1");
    assert_eq!(
        field(&pr[0], "Diagnostic-Code"),
        format!("smtp; {NO_SUCH_USER}")
    );
    assert_eq!(
        field(&pr[1], "Final-Recipient"),
        format!("x-x400; {}", X400.0)
    );
    assert_eq!(field(&pr[1], "Action"), "failed");
    assert_eq!(
        field(&pr[1], "Status"),
        "5.4.4",
        "no route: the diag code's"
    );
    let orig = &v["original"];
    assert_eq!(field(orig, "subject"), "Quarterly report");
    assert!(field(orig, "to").contains(A.0), "{orig}");
    assert!(
        field(orig, "from").contains(&profile.sender_address),
        "{orig}"
    );
    assert_eq!(field(orig, "text").trim_end(), "The figures, as promised.");

    let v = python_json(PY_EMAIL, &dir.path().join("dr.eml"));
    assert_eq!(field(&v, "content_type"), "multipart/report");
    assert_eq!(field(&v, "report_type"), "delivery-status");
    assert_eq!(v["defects"], serde_json::json!([]), "{v}");
    assert_eq!(field(&v, "subject"), "Delivered: Quarterly report");
    assert_eq!(
        v["parts"],
        serde_json::json!([
            "text/plain",
            "message/delivery-status",
            "text/rfc822-headers"
        ])
    );
    let pr = v["per_recipient"].as_array().unwrap();
    let got: Vec<(&str, &str, &str)> = pr
        .iter()
        .map(|b| {
            (
                field(b, "Final-Recipient"),
                field(b, "Action"),
                field(b, "Status"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("rfc822; bob@example.org", "delivered", "2.0.0"),
            ("x-ex; /o=Spoolbox/cn=margaret", "delivered", "2.0.0"),
        ]
    );
    assert!(
        field(&v, "original_headers").contains("Subject: Quarterly report"),
        "{v}"
    );
}

/// The same exports read by the `mail-parser` package: subject, To (the sender), From (the
/// reporting MTA), the text of the notification and of the original, the parts, and no part
/// taken for an attached file.
#[test]
fn export_of_reports_is_read_by_mail_parser() {
    let dir = tempfile::tempdir().unwrap();
    let (rig, _ndr, _dr) = exported(dir.path());
    let sender = rig.sp.store().profile().sender_address.clone();
    let v = python_json(PY_MAILPARSER, &dir.path().join("ndr.eml"));
    assert_eq!(field(&v, "subject"), "Undeliverable: Quarterly report");
    assert_eq!(v["to"][0][1], serde_json::json!(sender), "{v}");
    assert!(
        v["from"][0][1]
            .as_str()
            .is_some_and(|f| f.starts_with("MAILER-DAEMON@")),
        "{v}"
    );
    let parts: Vec<&str> = v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(parts[0], "multipart/report", "{parts:?}");
    assert!(parts.contains(&"message/delivery-status"), "{parts:?}");
    assert!(parts.contains(&"message/rfc822"), "{parts:?}");
    let text = v["text_plain"].to_string();
    assert!(
        text.contains("could not be reached"),
        "the notification: {text}"
    );
    assert!(
        text.contains("The figures, as promised."),
        "the original's text: {text}"
    );
    assert_eq!(
        v["attachments"],
        serde_json::json!([]),
        "no part mistaken for a file"
    );
    let v = python_json(PY_MAILPARSER, &dir.path().join("dr.eml"));
    assert_eq!(field(&v, "subject"), "Delivered: Quarterly report");
    assert_eq!(v["to"][0][1], serde_json::json!(sender), "{v}");
}

/// What the transports hand over is rendered the same way: `eml::render` (the SMTP
/// transport's) and `eml::render_with` (the pickup folder's and export's) both give
/// `multipart/report` for a report, and the Source tab shows it.
#[test]
fn the_transports_and_the_source_tab_render_a_report_as_multipart_report() {
    let mut rig = rig_refusing_ann();
    mixed(&mut rig, "rendered", |_| {});
    let ndr = one_report(&mut rig, "NDR", "rendered");
    let sender = (String::new(), "someone@example.org".to_owned());
    let rows: Vec<u32> = ndr.recipients.iter().map(|r| r.row_id).collect();
    let smtp_bytes = spoolbox::eml::render(&ndr, &rows, &sender).unwrap();
    let pickup = spoolbox::eml::render_with(
        &ndr,
        &rows,
        &sender,
        spoolbox::eml::RenderOptions {
            keep_bcc: true,
            ..spoolbox::eml::RenderOptions::default()
        },
    )
    .unwrap();
    for bytes in [&smtp_bytes, &pickup.bytes] {
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("Content-Type: multipart/report; report-type=delivery-status;"),
            "{text}"
        );
        assert!(
            text.contains(&format!("To: {}", rig.sp.store().profile().sender_address))
                || text.contains(&format!("<{}>", rig.sp.store().profile().sender_address)),
            "addressed to the sender, not the failed rows: {text}"
        );
        assert!(text.split("\r\n").all(|l| l.len() <= 998), "line length");
        assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    }
    rig.sp.handle(Command::Source(ndr.entry_id));
    rig.pump();
    let shown = rig
        .events
        .iter()
        .find_map(|e| match e {
            spoolbox::spooler::Event::Source { eid, text, .. } if *eid == ndr.entry_id => {
                Some(text.clone())
            }
            _ => None,
        })
        .expect("the Source tab's text")
        .unwrap();
    assert!(shown.contains("message/delivery-status"), "{shown}");
    assert!(shown.contains("Status: 5.1.1"), "{shown}");
}
