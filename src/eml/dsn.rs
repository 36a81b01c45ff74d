//! Delivery status codes: an SMTP reply read from a report text, RFC 3463 enhanced status
//! codes, and MAPI's diagnostic codes (`MAPI_DIAG_*`, `PR_NDR_DIAG_CODE`) mapped both ways,
//! so a report carries the same reason as a MAPI property and as an RFC 3464 `Status:`.

#[allow(
    clippy::wildcard_imports,
    reason = "the tables name most of the MAPI_DIAG_* constants"
)]
use crate::mapi::flags::*;

/// An SMTP reply at the start of a text (`"550 5.1.1 <ann@example.org>: no such user"`): the
/// three-digit code and, if the server gave one whose class matches the code (RFC 2034), the
/// enhanced status code (`"5.1.1"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpReply {
    /// The basic reply code, 200 to 599.
    pub code: u16,
    /// The enhanced status code, `class.subject.detail`.
    pub enhanced: Option<String>,
}

/// Reads an SMTP reply at the start of `text` (the `PR_REPORT_TEXT` the SMTP transport keeps:
/// the server's own words); `None` for any other text (a fax modem's, the spooler's).
pub fn smtp_reply(text: &str) -> Option<SmtpReply> {
    let digits = text.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    if !(200..600).contains(&code) {
        return None;
    }
    let rest = match text.as_bytes().get(3) {
        None => "",
        Some(b' ' | b'-') => text.get(4..).unwrap_or_default(),
        Some(_) => return None,
    };
    let word = rest.split_whitespace().next().unwrap_or_default();
    let enhanced = is_enhanced_status(word)
        .then(|| word.to_owned())
        .filter(|w| w.as_bytes().first() == digits.as_bytes().first());
    Some(SmtpReply { code, enhanced })
}

/// `class.subject.detail` with class 2, 4 or 5 and one to three digits each (RFC 3463).
fn is_enhanced_status(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    let [class, subject, detail] = parts.as_slice() else {
        return false;
    };
    matches!(*class, "2" | "4" | "5")
        && [subject, detail]
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The `MAPI_DIAG_*` an SMTP failure stands for: from its enhanced status code (RFC 3463's
/// subjects: addressing, mailbox, mail system, routing, protocol, content, policy), else from
/// the basic reply code.
pub fn diag_for_smtp(reply: &SmtpReply) -> i32 {
    let Some(enhanced) = &reply.enhanced else {
        return match reply.code {
            551 => MAPI_DIAG_MAIL_RECIPIENT_MOVED,
            552 => MAPI_DIAG_CONTENT_TOO_LONG,
            553 => MAPI_DIAG_MAIL_ADDRESS_INCORRECT,
            500..=599 => MAPI_DIAG_MAIL_REFUSED,
            _ => MAPI_DIAG_NO_DIAGNOSTIC,
        };
    };
    let mut it = enhanced
        .split('.')
        .skip(1)
        .map(|p| p.parse::<u16>().unwrap_or(0));
    let (subject, detail) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    match (subject, detail) {
        (1, 1) => MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN,
        (1, 2) => MAPI_DIAG_MAIL_OFFICE_INCOR_OR_INVD,
        (1, 3) => MAPI_DIAG_MAIL_ADDRESS_INCORRECT,
        (1, 4) => MAPI_DIAG_OR_NAME_AMBIGUOUS,
        (1, 6) => MAPI_DIAG_MAIL_RECIPIENT_MOVED,
        (1, _) => MAPI_DIAG_OR_NAME_UNRECOGNIZED,
        (2, 1 | 2) => MAPI_DIAG_RECIPIENT_UNAVAILABLE,
        (2, 3) | (3, 4) => MAPI_DIAG_CONTENT_TOO_LONG,
        (2, 4) => MAPI_DIAG_EXPANSION_FAILED,
        (3, 3) => MAPI_DIAG_CRITICAL_FUNC_UNSUPPORTED,
        (7, 5) => MAPI_DIAG_SECURE_MESSAGING_ERROR,
        (2 | 7, _) => MAPI_DIAG_MAIL_REFUSED,
        (3, _) | (4, 5) => MAPI_DIAG_MTS_CONGESTED,
        (4, 4) => MAPI_DIAG_NO_BILATERAL_AGREEMENT,
        (4, 6 | 8) => MAPI_DIAG_LOOP_DETECTED,
        (4, 7) => MAPI_DIAG_MAXIMUM_TIME_EXPIRED,
        (4, _) => MAPI_DIAG_RECIPIENT_UNAVAILABLE,
        (5, 3) => MAPI_DIAG_TOO_MANY_RECIPIENTS,
        (5, _) => MAPI_DIAG_PARAMETERS_INVALID,
        (6, 3) => MAPI_DIAG_IMPRACTICAL_TO_CONVERT,
        (6, _) => MAPI_DIAG_CONTENT_TYPE_UNSUPPORTED,
        _ => MAPI_DIAG_NO_DIAGNOSTIC,
    }
}

/// The RFC 3463 status of a recipient that failed with diagnostic `diag` and no SMTP reply
/// of its own; `"5.0.0"` (other or undefined) for `MAPI_DIAG_NO_DIAGNOSTIC` and the rest.
pub fn status_for_diag(diag: i32) -> &'static str {
    match diag {
        MAPI_DIAG_OR_NAME_UNRECOGNIZED => "5.1.0",
        MAPI_DIAG_OR_NAME_AMBIGUOUS => "5.1.4",
        MAPI_DIAG_MTS_CONGESTED => "5.4.5",
        MAPI_DIAG_LOOP_DETECTED | MAPI_DIAG_REDIRECTION_LOOP_DETECTED => "5.4.6",
        MAPI_DIAG_RECIPIENT_UNAVAILABLE
        | MAPI_DIAG_MAIL_RECIPIENT_DECEASED
        | MAPI_DIAG_MAIL_ORGANIZATION_EXPIRED
        | MAPI_DIAG_MAIL_UNCLAIMED => "5.2.1",
        MAPI_DIAG_MAXIMUM_TIME_EXPIRED => "5.4.7",
        MAPI_DIAG_EITS_UNSUPPORTED
        | MAPI_DIAG_CONTENT_TYPE_UNSUPPORTED
        | MAPI_DIAG_RENDITION_UNSUPPORTED => "5.6.1",
        MAPI_DIAG_CONTENT_TOO_LONG => "5.3.4",
        MAPI_DIAG_IMPRACTICAL_TO_CONVERT => "5.6.5",
        MAPI_DIAG_PROHIBITED_TO_CONVERT | MAPI_DIAG_CONVERSION_LOSS_PROHIB => "5.6.2",
        MAPI_DIAG_CONVERSION_UNSUBSCRIBED | MAPI_DIAG_DOWNGRADING_IMPOSSIBLE => "5.6.3",
        MAPI_DIAG_PARAMETERS_INVALID => "5.5.4",
        MAPI_DIAG_CONTENT_SYNTAX_IN_ERROR
        | MAPI_DIAG_LINE_TOO_LONG
        | MAPI_DIAG_PAGE_TOO_LONG
        | MAPI_DIAG_PICTORIAL_SYMBOL_LOST
        | MAPI_DIAG_PUNCTUATION_SYMBOL_LOST
        | MAPI_DIAG_ALPHABETIC_CHARACTER_LOST
        | MAPI_DIAG_MULTIPLE_INFO_LOSSES => "5.6.0",
        MAPI_DIAG_LENGTH_CONSTRAINT_VIOLATD => "5.2.3",
        MAPI_DIAG_NUMBER_CONSTRAINT_VIOLATD | MAPI_DIAG_TOO_MANY_RECIPIENTS => "5.5.3",
        MAPI_DIAG_NO_BILATERAL_AGREEMENT => "5.4.4",
        MAPI_DIAG_CRITICAL_FUNC_UNSUPPORTED => "5.3.3",
        MAPI_DIAG_REASSIGNMENT_PROHIBITED => "5.7.0",
        MAPI_DIAG_EXPANSION_PROHIBITED | MAPI_DIAG_EXPANSION_FAILED => "5.2.4",
        MAPI_DIAG_SUBMISSION_PROHIBITED
        | MAPI_DIAG_MAIL_REFUSED
        | MAPI_DIAG_MAIL_FORWARDING_UNWANTED
        | MAPI_DIAG_MAIL_FORWARDING_PROHIB => "5.7.1",
        MAPI_DIAG_MAIL_ADDRESS_INCORRECT | MAPI_DIAG_MAIL_ADDRESS_INCOMPLETE => "5.1.3",
        MAPI_DIAG_MAIL_OFFICE_INCOR_OR_INVD => "5.1.2",
        MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN => "5.1.1",
        MAPI_DIAG_MAIL_RECIPIENT_MOVED
        | MAPI_DIAG_MAIL_RECIPIENT_TRAVELLING
        | MAPI_DIAG_MAIL_RECIPIENT_DEPARTED
        | MAPI_DIAG_MAIL_NEW_ADDRESS_UNKNOWN => "5.1.6",
        MAPI_DIAG_SECURE_MESSAGING_ERROR => "5.7.5",
        _ => "5.0.0",
    }
}

/// A recipient's RFC 3464 `Status:`: the enhanced code of its SMTP reply when the server
/// gave one of the right class; else, for a failure, the status of its diagnostic code (or
/// `5.0.0` for an SMTP reply without one); for a delivery, `2.0.0`.
pub fn recipient_status(delivered: bool, diag: Option<i32>, report_text: &str) -> String {
    let reply = smtp_reply(report_text);
    let class = if delivered { '2' } else { '5' };
    if let Some(e) = reply
        .as_ref()
        .and_then(|r| r.enhanced.clone())
        .filter(|e| e.starts_with(class))
    {
        return e;
    }
    if delivered {
        "2.0.0".to_owned()
    } else if reply.is_some() || diag.is_none() {
        "5.0.0".to_owned()
    } else {
        status_for_diag(diag.unwrap_or(MAPI_DIAG_NO_DIAGNOSTIC)).to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn smtp_replies_are_read_and_other_texts_are_not() {
        let r = smtp_reply("550 5.1.1 <ann@example.org>: no such user").unwrap();
        assert_eq!((r.code, r.enhanced.as_deref()), (550, Some("5.1.1")));
        let r = smtp_reply("550 mailbox unavailable").unwrap();
        assert_eq!((r.code, r.enhanced), (550, None));
        // The class of the enhanced code must be the reply's (RFC 2034).
        assert_eq!(smtp_reply("550 2.1.1 odd").unwrap().enhanced, None);
        assert_eq!(smtp_reply("250 2.0.0 Ok: queued").unwrap().code, 250);
        assert_eq!(smtp_reply("fax to 12: number not in service"), None);
        assert_eq!(smtp_reply("No transport provider"), None);
        assert_eq!(smtp_reply("5501 x"), None);
        assert_eq!(smtp_reply("999 x"), None);
        assert_eq!(smtp_reply("55"), None);
    }

    #[test]
    fn diag_codes_and_status_codes_agree() {
        let reply = |t: &str| smtp_reply(t).unwrap();
        assert_eq!(
            diag_for_smtp(&reply("550 5.1.1 no such user")),
            MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN
        );
        assert_eq!(
            diag_for_smtp(&reply("552 5.3.4 too big")),
            MAPI_DIAG_CONTENT_TOO_LONG
        );
        assert_eq!(
            diag_for_smtp(&reply("554 5.7.1 relay denied")),
            MAPI_DIAG_MAIL_REFUSED
        );
        assert_eq!(
            diag_for_smtp(&reply("553 bad address")),
            MAPI_DIAG_MAIL_ADDRESS_INCORRECT
        );
        for (diag, status) in [
            (MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN, "5.1.1"),
            (MAPI_DIAG_MAIL_ADDRESS_INCORRECT, "5.1.3"),
            (MAPI_DIAG_NO_BILATERAL_AGREEMENT, "5.4.4"),
            (MAPI_DIAG_MAXIMUM_TIME_EXPIRED, "5.4.7"),
            (MAPI_DIAG_NO_DIAGNOSTIC, "5.0.0"),
        ] {
            assert_eq!(status_for_diag(diag), status);
            assert_eq!(
                recipient_status(false, Some(diag), "the modem said no"),
                status
            );
        }
        // The server's own code wins; a reply without one says 5.0.0, not a guess.
        assert_eq!(
            recipient_status(false, Some(MAPI_DIAG_MAIL_REFUSED), "550 5.1.1 x"),
            "5.1.1"
        );
        assert_eq!(
            recipient_status(false, Some(MAPI_DIAG_MAIL_REFUSED), "550 x"),
            "5.0.0"
        );
        assert_eq!(
            recipient_status(true, None, "250 2.0.0 Ok: queued"),
            "2.0.0"
        );
        assert_eq!(recipient_status(true, None, "250 ok"), "2.0.0");
        assert_eq!(recipient_status(true, None, "fax transmitted"), "2.0.0");
    }
}
