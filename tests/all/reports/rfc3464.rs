//! RFC 3464: export, the Source tab, the transports.

use super::*;

/// A store with an NDR (Ann refused by SMTP with 5.1.1, the X.400 row without transport) and
/// a DR (Bob, the EX row) about one message, both exported to `dir`.
pub(crate) fn exported(dir: &Path) -> (Rig, Message, Message) {
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
pub(crate) fn python_json(script: &str, file: &Path) -> serde_json::Value {
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
pub(crate) const PY_EMAIL: &str = r"
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
pub(crate) const PY_MAILPARSER: &str = r"
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

pub(crate) fn field<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
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
