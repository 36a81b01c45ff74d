//! A delivery status report (`REPORT.<class>.NDR` / `.DR`) as RFC 3464 MIME:
//! `multipart/report; report-type=delivery-status` with a human-readable `text/plain` part, a
//! `message/delivery-status` part (one group of fields per recipient the report lists) and
//! the original: `message/rfc822` for an NDR (its embedded message, as submitted), or
//! `text/rfc822-headers` for a DR (MAPI's delivery reports do not carry the original).
//!
//! Written by hand (lettre's builder has no `multipart/report`): ASCII only, CRLF line ends,
//! a boundary that occurs in none of the parts.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::mapi::tags::{
    PR_CLIENT_SUBMIT_TIME, PR_DELIVER_TIME, PR_NDR_DIAG_CODE, PR_ORIGINAL_SUBJECT,
    PR_ORIGINAL_SUBMIT_TIME, PR_RECEIVED_BY_EMAIL_ADDRESS, PR_RECEIVED_BY_NAME, PR_REPORT_TAG,
    PR_REPORT_TIME, PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME,
};
use crate::mapi::{EntryId, Message, Recipient};

use super::headers::encode_mailbox;
use super::{RenderOptions, Rendered, dsn, mime};

/// The reporting MTA when the report does not name one.
pub const DEFAULT_REPORTING_HOST: &str = "spoolbox.local";

/// True for the classes rendered as a delivery status report: `REPORT.*.NDR` and
/// `REPORT.*.DR` (case-insensitive, as MAPI compares message classes).
pub fn is_delivery_report(class: &str) -> bool {
    let c = class.to_ascii_uppercase();
    c.starts_with("REPORT.")
        && c.rsplit_once('.')
            .is_some_and(|(_, kind)| kind == "NDR" || kind == "DR")
}

/// The `Message-ID` every rendering of message `eid` carries, so a report can name the
/// message it is about.
pub fn message_id(eid: EntryId) -> String {
    format!("<spoolbox.{eid}@spoolbox.local>")
}

/// The reporting host of a report: the domain of its sender (`MAILER-DAEMON@host`, written
/// when the report was made), else [`DEFAULT_REPORTING_HOST`].
fn reporting_host(report: &Message) -> String {
    report
        .props
        .text(PR_SENDER_EMAIL_ADDRESS)
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d)
        .filter(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
        .unwrap_or(DEFAULT_REPORTING_HOST)
        .to_owned()
}

/// ASCII for the delivery-status fields (RFC 3464 section 2.1.1: US-ASCII, no controls).
fn ascii(text: &str) -> String {
    super::clean_header_text(text)
        .chars()
        .map(|c| if matches!(c, ' '..='~') { c } else { '?' })
        .collect()
}

/// Renders `report` (a [`is_delivery_report`] class) as RFC 3464 MIME.
pub(super) fn render_report(report: &Message, opts: RenderOptions) -> Rendered {
    let delivered = report
        .message_class()
        .rsplit_once('.')
        .is_some_and(|(_, kind)| kind.eq_ignore_ascii_case("DR"));
    let mut left_out = Vec::new();
    let originator = (
        report.props.text_or_empty(PR_RECEIVED_BY_NAME).to_owned(),
        report
            .props
            .text_or_empty(PR_RECEIVED_BY_EMAIL_ADDRESS)
            .to_owned(),
    );
    let text = if report.body.is_empty() {
        default_text(report, delivered)
    } else {
        report.body.clone()
    };
    let status = delivery_status(report, delivered);
    let (original_type, original) = original_part(report, &originator, &mut left_out);
    let (cte, text) = mime::text_part(&text);
    // Content-Description as Postfix labels the parts of its bounces.
    let parts = [
        format!(
            "Content-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: {cte}\r\n\r\n{text}"
        ),
        format!(
            "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n{status}"
        ),
        format!("{original_type}\r\n\r\n{original}"),
    ];
    let boundary = boundary_for(report.entry_id, &parts);
    let mut out = headers(report, &originator, opts, &mut left_out);
    let _ = write!(
        out,
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\r\nThis is a delivery status notification (RFC 3464).\r\n"
    );
    for p in &parts {
        let _ = write!(out, "\r\n--{boundary}\r\n{p}");
        if !p.ends_with("\r\n") {
            out.push_str("\r\n");
        }
    }
    let _ = write!(out, "\r\n--{boundary}--\r\n");
    Rendered {
        bytes: out.into_bytes(),
        left_out,
    }
}

/// From the reporting MTA's postmaster to the originator, with the report's own subject and
/// date, tied to the original by `In-Reply-To`/`References`.
fn headers(
    report: &Message,
    originator: &(String, String),
    opts: RenderOptions,
    left_out: &mut Vec<String>,
) -> String {
    let host = reporting_host(report);
    let mut out = String::new();
    let from_addr = format!("MAILER-DAEMON@{host}");
    let from_name = report
        .props
        .text(PR_SENDER_NAME)
        .unwrap_or("Mail Delivery System");
    match from_addr.parse::<lettre::Address>() {
        Ok(a) => out.push_str(&mime::fold(
            "From",
            &encode_mailbox(&super::clean_header_text(from_name), &a),
        )),
        Err(_) => out.push_str("From: MAILER-DAEMON@spoolbox.local"),
    }
    out.push_str("\r\n");
    match originator.1.parse::<lettre::Address>() {
        Ok(a) => {
            let name = super::clean_header_text(&originator.0);
            let name = if name == originator.1 {
                String::new()
            } else {
                name
            };
            out.push_str(&mime::fold("To", &encode_mailbox(&name, &a)));
            out.push_str("\r\n");
        }
        Err(_) => left_out.push(format!(
            "{:?} (the originator, not an Internet address)",
            originator.1
        )),
    }
    out.push_str(&mime::unstructured("Subject", report.subject()));
    out.push_str("\r\n");
    let date = opts
        .date
        .and_then(|d| Timestamp::try_from(d).ok())
        .or_else(|| report.props.time(PR_CLIENT_SUBMIT_TIME))
        .unwrap_or_else(Timestamp::now);
    let _ = write!(out, "Date: {}\r\n", mime::date(date));
    let _ = write!(out, "Message-ID: {}\r\n", message_id(report.entry_id));
    if let Some(orig) = original_id(report) {
        let _ = write!(
            out,
            "In-Reply-To: {0}\r\nReferences: {0}\r\n",
            message_id(orig)
        );
    }
    // RFC 3834 section 5: a report is answered automatically, never by a person.
    out.push_str("Auto-Submitted: auto-replied\r\n");
    out
}

/// The message a report is about: its embedded original, else `PR_REPORT_TAG`.
fn original_id(report: &Message) -> Option<EntryId> {
    report.embedded.as_deref().map(|m| m.entry_id).or_else(|| {
        report
            .props
            .binary(PR_REPORT_TAG)
            .and_then(EntryId::from_bytes)
    })
}

/// The `message/delivery-status` body: the per-message fields, then one group per listed
/// recipient (RFC 3464 section 2).
fn delivery_status(report: &Message, delivered: bool) -> String {
    let mut out = format!("Reporting-MTA: dns; {}\r\n", reporting_host(report));
    if let Some(t) = report.props.time(PR_ORIGINAL_SUBMIT_TIME) {
        out.push_str(&mime::fold("Arrival-Date", &mime::date(t)));
        out.push_str("\r\n");
    }
    for r in report.recipients.iter().filter(|r| !r.is_p1()) {
        out.push_str("\r\n");
        recipient_fields(r, delivered, &mut out);
    }
    out
}

fn recipient_fields(r: &Recipient, delivered: bool, out: &mut String) {
    // RFC 3464 2.1.2: "rfc822" for Internet addresses; other types as unregistered x- names.
    let ty = if r.addrtype().eq_ignore_ascii_case("SMTP") {
        "rfc822".to_owned()
    } else {
        format!(
            "x-{}",
            ascii(r.addrtype())
                .to_ascii_lowercase()
                .replace([' ', ';'], "-")
        )
    };
    out.push_str(&mime::fold(
        "Final-Recipient",
        &format!("{ty}; {}", ascii(r.email())),
    ));
    out.push_str("\r\n");
    let text = r.report_text().unwrap_or_default();
    let diag = r.props.long(PR_NDR_DIAG_CODE);
    let _ = write!(
        out,
        "Action: {}\r\nStatus: {}\r\n",
        if delivered { "delivered" } else { "failed" },
        dsn::recipient_status(delivered, diag, text)
    );
    // The server's reply when there was one (RFC 3464 2.3.6); a failure's other text (the
    // spooler's, a fax modem's) as an x- type, so the reason travels with the report.
    let kind = match dsn::smtp_reply(text) {
        Some(_) => Some("smtp"),
        None if !delivered && !text.is_empty() => Some("x-mapi"),
        None => None,
    };
    if let Some(kind) = kind {
        out.push_str(&mime::fold(
            "Diagnostic-Code",
            &format!("{kind}; {}", ascii(text)),
        ));
        out.push_str("\r\n");
    }
    let when = if delivered {
        r.props.time(PR_DELIVER_TIME)
    } else {
        r.props.time(PR_REPORT_TIME)
    };
    if let Some(t) = when {
        out.push_str(&mime::fold("Last-Attempt-Date", &mime::date(t)));
        out.push_str("\r\n");
    }
}

/// The third part: the NDR's embedded original as `message/rfc822`, rendered from the
/// originator; otherwise the original's headers as the report knows them.
fn original_part(
    report: &Message,
    originator: &(String, String),
    left_out: &mut Vec<String>,
) -> (&'static str, String) {
    if let Some(orig) = report.embedded.as_deref() {
        let rows: Vec<u32> = orig
            .recipients
            .iter()
            .filter(|r| !r.is_p1())
            .map(|r| r.row_id)
            .collect();
        let opts = RenderOptions {
            keep_bcc: true,
            skip_invalid: true,
            date: orig.client_submit_time().map(std::time::SystemTime::from),
        };
        if let Ok(r) = super::render_with(orig, &rows, originator, opts) {
            left_out.extend(
                r.left_out
                    .into_iter()
                    .map(|l| format!("{l} in the embedded original")),
            );
            let text = String::from_utf8_lossy(&r.bytes).into_owned();
            // message/rfc822 takes 7bit or 8bit only (RFC 2046 section 5.2.1).
            let ty = if text.is_ascii() {
                "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822"
            } else {
                "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\
                 Content-Transfer-Encoding: 8bit"
            };
            return (ty, text);
        }
    }
    let mut h = String::new();
    if let Ok(a) = originator.1.parse::<lettre::Address>() {
        h.push_str(&mime::fold(
            "From",
            &encode_mailbox(&super::clean_header_text(&originator.0), &a),
        ));
        h.push_str("\r\n");
    }
    h.push_str(&mime::unstructured(
        "Subject",
        report.props.text_or_empty(PR_ORIGINAL_SUBJECT),
    ));
    h.push_str("\r\n");
    if let Some(t) = report.props.time(PR_ORIGINAL_SUBMIT_TIME) {
        let _ = write!(h, "Date: {}\r\n", mime::date(t));
    }
    if let Some(orig) = original_id(report) {
        let _ = write!(h, "Message-ID: {}\r\n", message_id(orig));
    }
    (
        "Content-Description: Message Headers\r\nContent-Type: text/rfc822-headers",
        h,
    )
}

/// The human-readable part when the report has no body of its own.
fn default_text(report: &Message, delivered: bool) -> String {
    let mut t = if delivered {
        format!(
            "Your message \"{}\" was delivered to these recipients:\n\n",
            report.props.text_or_empty(PR_ORIGINAL_SUBJECT)
        )
    } else {
        format!(
            "Your message \"{}\" could not be delivered to these recipients:\n\n",
            report.props.text_or_empty(PR_ORIGINAL_SUBJECT)
        )
    };
    for r in &report.recipients {
        let _ = writeln!(
            t,
            "  {}\n    {}",
            r.label(),
            r.report_text().unwrap_or_default()
        );
    }
    t
}

/// A boundary found in none of the parts (RFC 2046 section 5.1.1), the same for the same
/// report.
fn boundary_for(eid: EntryId, parts: &[String]) -> String {
    let mut n = 0u32;
    loop {
        let b = format!("=_spoolbox-report-{eid}-{n}");
        if !parts.iter().any(|p| p.contains(&b)) {
            return b;
        }
        n += 1;
    }
}
