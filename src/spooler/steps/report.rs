//! The report messages step 4 writes (reference S10, e.14, b.2): a non-delivery report
//! (`REPORT.<class>.NDR`) for the rows that failed, and, only when the sender asked with
//! `PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED`, one delivery report (`REPORT.<class>.DR`) for
//! the rows delivered. A report is received by the originator (`PR_RECEIVED_BY_*`: the
//! profile's sender); its recipient table is the rows it reports on, each with its reason
//! (`PR_REPORT_TEXT`, and on an NDR `PR_NDR_REASON_CODE`/`PR_NDR_DIAG_CODE`).

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::eml;
use crate::mapi::flags::{
    self, FlagKind, MAPI_DIAG_IMPRACTICAL_TO_CONVERT, MAPI_DIAG_MAIL_ADDRESS_INCORRECT,
    MAPI_DIAG_MAXIMUM_TIME_EXPIRED, MAPI_DIAG_NO_BILATERAL_AGREEMENT, MAPI_DIAG_NO_DIAGNOSTIC,
    MAPI_REASON_CONVERSION_NOT_PERFORMED, MAPI_REASON_TRANSFER_FAILED,
    MAPI_REASON_TRANSFER_IMPOSSIBLE, MAPI_SUBMITTED,
};
use crate::mapi::tags::{
    PR_CLIENT_SUBMIT_TIME, PR_DELIVER_TIME, PR_MESSAGE_CLASS, PR_MESSAGE_DELIVERY_TIME,
    PR_MESSAGE_FLAGS, PR_NDR_DIAG_CODE, PR_NDR_REASON_CODE, PR_ORIG_MESSAGE_CLASS,
    PR_ORIGINAL_DISPLAY_BCC, PR_ORIGINAL_DISPLAY_CC, PR_ORIGINAL_DISPLAY_TO, PR_ORIGINAL_SUBJECT,
    PR_ORIGINAL_SUBMIT_TIME, PR_RECEIVED_BY_ADDRTYPE, PR_RECEIVED_BY_EMAIL_ADDRESS,
    PR_RECEIVED_BY_NAME, PR_RECIPIENT_TYPE, PR_REPORT_TAG, PR_REPORT_TIME, PR_RESPONSIBILITY,
    PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME,
};
use crate::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, RecipientState};

/// The two kinds of delivery status report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Non-delivery report.
    Ndr,
    /// Delivery report.
    Dr,
}

impl Kind {
    /// `NDR`, `DR`: the last part of the report's message class.
    pub(super) const fn suffix(self) -> &'static str {
        match self {
            Self::Ndr => "NDR",
            Self::Dr => "DR",
        }
    }

    const fn subject_prefix(self) -> &'static str {
        match self {
            Self::Ndr => "Undeliverable: ",
            Self::Dr => "Delivered: ",
        }
    }
}

/// Whoever receives the reports: the originator, i.e. the profile's sender.
pub(super) struct Originator {
    /// Display name.
    pub(super) name: String,
    /// SMTP address.
    pub(super) address: String,
}

/// The rows a report of `kind` lists. NDR: failed for good or taken by no transport. DR: the
/// rows delivered by a transport or the coupled store (a row kept `MAPI_SUBMITTED` by an
/// abort after its delivery included: no report was made for it then); never a resend's
/// rows that got the original (`SkippedResend`: reported with the original).
pub(super) fn rows_for(msg: &Message, kind: Kind) -> Vec<&Recipient> {
    msg.recipients
        .iter()
        .filter(|r| !r.is_p1())
        .filter(|r| match kind {
            Kind::Ndr => r.outcome.needs_ndr(),
            Kind::Dr => matches!(
                r.outcome,
                RecipientState::Delivered | RecipientState::HandledByStore
            ),
        })
        .collect()
}

/// Why a row failed, as MAPI says it: (`MAPI_REASON_*`, `MAPI_DIAG_*`). From what failed it:
/// no transport (no route: `MAPI_DIAG_NO_BILATERAL_AGREEMENT`), a preprocessor (an address it
/// cannot use, or a message it could not convert), an SMTP server's reply (its enhanced
/// status code), the retry policy giving up (`MAPI_DIAG_MAXIMUM_TIME_EXPIRED`); otherwise no
/// diagnostic. A code a transport already set on the row is kept.
pub(super) fn diagnosis(r: &Recipient) -> (u32, i32) {
    if let Some(diag) = r.props.long(PR_NDR_DIAG_CODE) {
        let reason = r
            .props
            .value(PR_NDR_REASON_CODE)
            .and_then(PropValue::as_u32)
            .unwrap_or(MAPI_REASON_TRANSFER_FAILED);
        return (reason, diag);
    }
    if r.outcome == RecipientState::NoTransport {
        return (
            MAPI_REASON_TRANSFER_IMPOSSIBLE,
            MAPI_DIAG_NO_BILATERAL_AGREEMENT,
        );
    }
    let text = r.report_text().unwrap_or_default();
    if r.transport
        .as_deref()
        .is_some_and(|t| t.ends_with(super::preprocess::PREPROCESSOR_SUFFIX))
    {
        return if text.starts_with(super::preprocess::PREPROCESSOR_FAILED) {
            (
                MAPI_REASON_CONVERSION_NOT_PERFORMED,
                MAPI_DIAG_IMPRACTICAL_TO_CONVERT,
            )
        } else {
            (
                MAPI_REASON_TRANSFER_IMPOSSIBLE,
                MAPI_DIAG_MAIL_ADDRESS_INCORRECT,
            )
        };
    }
    if let Some(reply) = eml::smtp_reply(text) {
        return (MAPI_REASON_TRANSFER_FAILED, eml::diag_for_smtp(&reply));
    }
    if text.starts_with(super::transmit::GAVE_UP) {
        return (MAPI_REASON_TRANSFER_FAILED, MAPI_DIAG_MAXIMUM_TIME_EXPIRED);
    }
    (MAPI_REASON_TRANSFER_FAILED, MAPI_DIAG_NO_DIAGNOSTIC)
}

/// A row as the report's recipient table carries it: the recipient's own columns, its
/// report text and time; on an NDR the reason and diagnostic codes and no delivery time; on a
/// DR its delivery time. The spooler's bookkeeping (`PR_RESPONSIBILITY`, `MAPI_SUBMITTED`)
/// stays on the message.
pub(super) fn report_row(r: &Recipient, kind: Kind, now: Timestamp) -> Recipient {
    let mut row = r.clone();
    row.props.remove(PR_RESPONSIBILITY);
    let ty = row.recipient_type();
    if ty & MAPI_SUBMITTED != 0 {
        row.props.set_flags(PR_RECIPIENT_TYPE, ty & !MAPI_SUBMITTED);
    }
    if row.props.time(PR_REPORT_TIME).is_none() {
        row.props.set_time(PR_REPORT_TIME, now);
    }
    match kind {
        Kind::Ndr => {
            let (reason, diag) = diagnosis(r);
            row.props.set_flags(PR_NDR_REASON_CODE, reason);
            row.props.set(PR_NDR_DIAG_CODE, PropValue::Long(diag));
            row.props.remove(PR_DELIVER_TIME);
        }
        Kind::Dr => {
            if row.props.time(PR_DELIVER_TIME).is_none() {
                row.props.set_time(PR_DELIVER_TIME, now);
            }
            row.props.remove(PR_NDR_REASON_CODE);
            row.props.remove(PR_NDR_DIAG_CODE);
        }
    }
    row
}

/// The host named as the reporting MTA: this machine's name when it is a plain DNS name,
/// else [`eml::DEFAULT_REPORTING_HOST`].
pub(super) fn reporting_host() -> String {
    use lettre::transport::smtp::extension::ClientId;
    match ClientId::default() {
        ClientId::Domain(d)
            if !d.is_empty()
                && !d.starts_with(['-', '.'])
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            d.to_ascii_lowercase()
        }
        _ => eml::DEFAULT_REPORTING_HOST.to_owned(),
    }
}

/// The report of `kind` about `msg`, listing `rows` (made by [`report_row`]), filed in
/// `folder`, received by `to`, written by the reporting MTA `host` at `now`.
pub(super) fn build(
    kind: Kind,
    (id, folder): (EntryId, EntryId),
    msg: &Message,
    rows: Vec<Recipient>,
    to: &Originator,
    host: &str,
    now: Timestamp,
) -> Message {
    let subject = format!("{}{}", kind.subject_prefix(), msg.subject());
    let mut report = Message::draft(id, folder, &subject);
    let p = &mut report.props;
    p.set_text(
        PR_MESSAGE_CLASS,
        format!("REPORT.{}.{}", msg.message_class(), kind.suffix()),
    );
    // Received, unread.
    p.set_flags(PR_MESSAGE_FLAGS, 0);
    p.set_text(PR_ORIGINAL_SUBJECT, msg.subject());
    p.set_text(PR_ORIG_MESSAGE_CLASS, msg.message_class());
    for (tag, k) in [
        (PR_ORIGINAL_DISPLAY_TO, RecipientKind::To),
        (PR_ORIGINAL_DISPLAY_CC, RecipientKind::Cc),
        (PR_ORIGINAL_DISPLAY_BCC, RecipientKind::Bcc),
    ] {
        p.set_text(tag, msg.display_of(k));
    }
    if let Some(t) = msg.client_submit_time() {
        p.set_time(PR_ORIGINAL_SUBMIT_TIME, t);
    }
    p.set(PR_REPORT_TAG, PropValue::Binary(msg.entry_id.to_bytes()));
    p.set_text(PR_RECEIVED_BY_NAME, to.name.clone());
    p.set_text(PR_RECEIVED_BY_ADDRTYPE, "SMTP");
    p.set_text(PR_RECEIVED_BY_EMAIL_ADDRESS, to.address.clone());
    p.set_text(PR_SENDER_NAME, "Mail Delivery System");
    p.set_text(PR_SENDER_ADDRTYPE, "SMTP");
    p.set_text(PR_SENDER_EMAIL_ADDRESS, format!("MAILER-DAEMON@{host}"));
    p.set_time(PR_CLIENT_SUBMIT_TIME, now);
    p.set_time(PR_MESSAGE_DELIVERY_TIME, now);
    p.set_time(PR_REPORT_TIME, now);
    report.body = body(kind, msg, &rows);
    report.recipients = rows;
    report
}

/// The report's text (`PR_BODY`, and the human-readable part of its MIME form).
fn body(kind: Kind, msg: &Message, rows: &[Recipient]) -> String {
    let mut t = match kind {
        Kind::Ndr => "Your message did not reach some or all of its recipients.\n\n".to_owned(),
        Kind::Dr => "Your message was delivered to the recipients below.\n\n".to_owned(),
    };
    let _ = writeln!(t, "  Subject: {}", msg.subject());
    if let Some(at) = msg.client_submit_time() {
        let _ = writeln!(t, "  Sent:    {}", at.strftime("%Y-%m-%d %H:%M:%S UTC"));
    }
    t.push('\n');
    t.push_str(match kind {
        Kind::Ndr => "These recipients could not be reached:\n",
        Kind::Dr => "Delivered to:\n",
    });
    for r in rows {
        let text = r.report_text().unwrap_or_default();
        let _ = write!(t, "\n  {}\n", r.label());
        match kind {
            Kind::Ndr => {
                let (reason, diag) = diagnosis(r);
                if !text.is_empty() {
                    let _ = writeln!(t, "    {text}");
                }
                let _ = writeln!(
                    t,
                    "    {}, {} (status {})",
                    flags::decode(FlagKind::NdrReason, reason),
                    flags::decode(FlagKind::NdrDiag, diag.cast_unsigned()),
                    eml::recipient_status(false, Some(diag), text)
                );
            }
            Kind::Dr => {
                let when = r
                    .props
                    .time(PR_DELIVER_TIME)
                    .map(|t| t.strftime(" at %Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                let by = r.transport.as_deref().unwrap_or("a transport");
                let _ = writeln!(t, "    delivered by {by}{when}");
                if !text.is_empty() {
                    let _ = writeln!(t, "    {text}");
                }
            }
        }
    }
    t
}
