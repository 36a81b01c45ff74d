//! The one check of a profile's values: the Settings form, `spoolbox profile set-smtp`, the
//! Advanced JSON view and the store's open all go through [`problems`] (the form's per-field
//! readers call the same per-value rules, so a value refused in one place is refused in all,
//! with the same words). A profile that fails it is never used to send: the store opens with
//! sending held and says which field holds which value.
//!
//! The bounds, and why:
//! - SMTP host: empty (unconfigured) or a host name or IP address: no spaces, no control
//!   characters, no CR or LF (a host goes into EHLO and the logs, one line).
//! - SMTP port: 1 to 65535 (0 is no port).
//! - SMTP timeout: 1 s to [`MAX_TIMEOUT`]; the per-command and per-message deadlines: 0 (the
//!   default) to [`MAX_DEADLINE`].
//! - Retry delays: 1 s to [`MAX_RETRY_DELAY`] (7 days: Postfix's longest backoff is hours; a
//!   message not tried for a week is lost from sight); the first no longer than the longest.
//! - Give up after: 1 s to [`MAX_GIVE_UP`] (30 days; Postfix's `maximal_queue_lifetime` is 5),
//!   and no shorter than the longest delay.
//! - A fault's defer time: at most [`MAX_GIVE_UP`].
//! - The sender's address: an RFC 5322 `addr-spec` (dot-atom or quoted local part, dot-atom
//!   or literal domain; UTF-8 allowed as RFC 6532 does) whose domain has a dot or is
//!   `localhost`, as a server would take it.
//!
//! Every bound keeps the spooler's time arithmetic far from `jiff`'s range (year 9999), which
//! its checked operations guard anyway.

use jiff::{SignedDuration, Timestamp};

use super::{Profile, TransportKind};

/// `t` plus `secs` seconds of a setting, saturating at the latest time `jiff` holds: a delay
/// from a profile never panics (the bounds above keep it far from there; this is the guard
/// behind them, for a profile read before they existed or a transport's own answer).
pub fn after(t: Timestamp, secs: u64) -> Timestamp {
    let d = SignedDuration::from_secs(i64::try_from(secs).unwrap_or(i64::MAX));
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// The longest SMTP timeout, in seconds (an hour).
pub const MAX_TIMEOUT: u64 = 3600;
/// The longest per-command or per-message SMTP deadline, in seconds (a day).
pub const MAX_DEADLINE: u64 = 86_400;
/// The longest retry delay, in seconds (7 days).
pub const MAX_RETRY_DELAY: u64 = 7 * 86_400;
/// The longest time before giving up, in seconds (30 days).
pub const MAX_GIVE_UP: u64 = 30 * 86_400;

/// A value of the profile out of range: where (`profile.transports[0].kind.port`, the path
/// in `store.json`), the value as written, and why, in the form's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value}: {why}")]
pub struct Problem {
    /// The field's path in `store.json`.
    pub field: String,
    /// The value, as JSON writes it.
    pub value: String,
    /// What is wrong, in words a user reads.
    pub why: String,
}

/// The port: 1 to 65535.
///
/// # Errors
/// What is wrong, in the form's words.
pub fn port(p: u64) -> Result<u16, String> {
    match u16::try_from(p) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("the port is a number from 1 to 65535".into()),
    }
}

/// The SMTP timeout: 1 s to [`MAX_TIMEOUT`].
///
/// # Errors
/// What is wrong.
pub fn timeout(secs: u64) -> Result<u64, String> {
    if (1..=MAX_TIMEOUT).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!(
            "the timeout is a number of seconds from 1 to {MAX_TIMEOUT}"
        ))
    }
}

/// An SMTP deadline: 0 (the default) to [`MAX_DEADLINE`].
///
/// # Errors
/// What is wrong.
pub fn deadline(secs: u64) -> Result<u64, String> {
    if secs <= MAX_DEADLINE {
        Ok(secs)
    } else {
        Err(format!(
            "a deadline is at most {MAX_DEADLINE} seconds (a day); 0 is the default"
        ))
    }
}

/// A retry delay: 1 s to [`MAX_RETRY_DELAY`].
///
/// # Errors
/// What is wrong.
pub fn retry_delay(secs: u64) -> Result<u64, String> {
    if (1..=MAX_RETRY_DELAY).contains(&secs) {
        Ok(secs)
    } else {
        Err("a retry delay is from 1 second to 7 days".into())
    }
}

/// The time before giving up: 1 s to [`MAX_GIVE_UP`].
///
/// # Errors
/// What is wrong.
pub fn give_up(secs: u64) -> Result<u64, String> {
    if (1..=MAX_GIVE_UP).contains(&secs) {
        Ok(secs)
    } else {
        Err("giving up comes after 1 second to 30 days".into())
    }
}

/// The server's host: empty (SMTP unconfigured) or a host name or IP address, exactly (no
/// spaces around it, no control characters, no CR or LF anywhere).
///
/// # Errors
/// What is wrong, in the form's words.
pub fn host(h: &str) -> Result<(), String> {
    if h.is_empty() {
        return Ok(());
    }
    let bad = || "not a host name or IP address (like smtp.example.org or 127.0.0.1)".to_owned();
    if h.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    let bare = h.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
    if bare.unwrap_or(h).parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if let Some((name, port)) = h.rsplit_once(':')
        && !name.contains(':')
        && port.parse::<u16>().is_ok()
    {
        return Err("the port goes in the Port field, not after the host".into());
    }
    if h.contains("://") || h.contains('/') {
        return Err("only the server's name, like smtp.example.org (no smtp://, no path)".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if h.len() <= 253 && h.trim_end_matches('.').split('.').all(label_ok) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// RFC 5322 `atext`, with UTF-8 as RFC 6532 allows.
fn atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// RFC 5322 `dot-atom-text`: atoms of `atext` joined by single dots.
fn dot_atom(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|a| !a.is_empty() && a.chars().all(atext))
}

/// RFC 5322 `quoted-string` without folding white space: `"`, `qtext` or quoted pairs, `"`.
fn quoted(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if !chars
                    .next()
                    .is_some_and(|q| q == ' ' || q == '\t' || q.is_ascii_graphic())
                {
                    return false;
                }
            }
            '"' => return false,
            c if c == ' ' || (c.is_ascii_graphic()) || !c.is_ascii() => {}
            _ => return false,
        }
    }
    true
}

/// The sender's address: an RFC 5322 `addr-spec` a server takes (see the module docs).
///
/// # Errors
/// What is wrong, in the form's words.
pub fn sender_address(a: &str) -> Result<(), String> {
    if a.trim().is_empty() {
        return Err("the sender's address is needed, like name@example.org".into());
    }
    let bad = || "not an email address (like name@example.org)".to_owned();
    let Some((local, domain)) = a.rsplit_once('@') else {
        return Err(bad());
    };
    let local_ok = dot_atom(local) || quoted(local);
    let literal = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']'));
    let domain_ok = match literal {
        Some(d) => {
            !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_graphic() && !"[]\\".contains(c))
        }
        None => {
            dot_atom(domain) && (domain.contains('.') || domain.eq_ignore_ascii_case("localhost"))
        }
    };
    if local_ok && domain_ok && a.len() <= 254 {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The sender's display name: one line.
///
/// # Errors
/// What is wrong, in the form's words.
pub fn display_name(n: &str) -> Result<(), String> {
    if n.chars().any(char::is_control) {
        Err("the name is one line, without tabs or line breaks".into())
    } else {
        Ok(())
    }
}

/// The retry policy's delays together: the first no longer than the longest, the longest no
/// longer than the time before giving up. Which of the two is wrong (`true`: the longest
/// delay, `false`: give up), with why; `None` when they agree.
pub fn retry_order(first: u64, max: u64, give_up: u64) -> Option<(bool, String)> {
    if first > max {
        Some((
            true,
            "the longest delay is shorter than the first one".into(),
        ))
    } else if max > give_up {
        Some((
            false,
            "giving up comes before the longest delay has passed once".into(),
        ))
    } else {
        None
    }
}

/// Collects problems with their paths.
struct Collect(Vec<Problem>);

impl Collect {
    fn check<T>(&mut self, field: String, value: impl serde::Serialize, r: Result<T, String>) {
        if let Err(why) = r {
            let value = serde_json::to_string(&value).unwrap_or_default();
            self.0.push(Problem { field, value, why });
        }
    }
}

/// Every value of `p` out of range, in the order of `store.json`; empty when it is good.
pub fn problems(p: &Profile) -> Vec<Problem> {
    let mut c = Collect(Vec::new());
    c.check(
        "profile.sender_name".into(),
        &p.sender_name,
        display_name(&p.sender_name),
    );
    c.check(
        "profile.sender_address".into(),
        &p.sender_address,
        sender_address(&p.sender_address),
    );
    for (i, t) in p.transports.iter().enumerate() {
        let at = |f: &str| format!("profile.transports[{i}].{f}");
        if let TransportKind::Smtp(s) = &t.kind {
            c.check(at("kind.host"), &s.host, host(&s.host));
            c.check(at("kind.port"), s.port, port(u64::from(s.port)));
            c.check(
                at("kind.timeout_secs"),
                s.timeout_secs,
                timeout(s.timeout_secs),
            );
            c.check(
                at("kind.command_deadline_secs"),
                s.command_deadline_secs,
                deadline(s.command_deadline_secs),
            );
            c.check(
                at("kind.message_deadline_secs"),
                s.message_deadline_secs,
                deadline(s.message_deadline_secs),
            );
        }
        let defer = t.faults.defer_secs;
        c.check(
            at("faults.defer_secs"),
            defer,
            if defer <= MAX_GIVE_UP {
                Ok(())
            } else {
                Err("a deferral is at most 30 days".to_owned())
            },
        );
    }
    let r = &p.retry;
    let first = retry_delay(r.first_delay_secs);
    let max = retry_delay(r.max_delay_secs);
    let give = give_up(r.give_up_after_secs);
    let all_read = first.is_ok() && max.is_ok() && give.is_ok();
    c.check(
        "profile.retry.first_delay_secs".into(),
        r.first_delay_secs,
        first,
    );
    c.check("profile.retry.max_delay_secs".into(), r.max_delay_secs, max);
    c.check(
        "profile.retry.give_up_after_secs".into(),
        r.give_up_after_secs,
        give,
    );
    if all_read
        && let Some((longest, why)) =
            retry_order(r.first_delay_secs, r.max_delay_secs, r.give_up_after_secs)
    {
        let (field, value) = if longest {
            ("profile.retry.max_delay_secs", r.max_delay_secs)
        } else {
            ("profile.retry.give_up_after_secs", r.give_up_after_secs)
        };
        c.check::<()>(field.into(), value, Err(why));
    }
    c.0
}

/// The first value of `p` out of range, if any.
///
/// # Errors
/// That value, its field and why.
pub fn check(p: &Profile) -> Result<(), Problem> {
    problems(p).into_iter().next().map_or(Ok(()), Err)
}

/// Sets every value of `p` that is out of range to its default (a host to none: SMTP then
/// declines to the next transport), and returns what it changed. What `doctor --fix` offers.
pub fn repair(p: &mut Profile) -> Vec<Problem> {
    let found = problems(p);
    let defaults = Profile::default();
    let smtp = super::SmtpSettings::default();
    for pr in &found {
        let f = pr.field.as_str();
        if f == "profile.sender_name" {
            p.sender_name.clone_from(&defaults.sender_name);
        } else if f == "profile.sender_address" {
            p.sender_address.clone_from(&defaults.sender_address);
        } else if f.starts_with("profile.retry.") {
            p.retry = defaults.retry.clone();
        } else if let Some(i) = transport_index(f) {
            let Some(t) = p.transports.get_mut(i) else {
                continue;
            };
            if f.ends_with("faults.defer_secs") {
                t.faults.defer_secs = 0;
            } else if let TransportKind::Smtp(s) = &mut t.kind {
                match f.rsplit('.').next() {
                    Some("host") => s.host.clear(),
                    Some("port") => s.port = smtp.port,
                    Some("timeout_secs") => s.timeout_secs = smtp.timeout_secs,
                    Some("command_deadline_secs") => s.command_deadline_secs = 0,
                    Some("message_deadline_secs") => s.message_deadline_secs = 0,
                    _ => {}
                }
            }
        }
    }
    found
}

/// `3` of `profile.transports[3]. …`.
fn transport_index(field: &str) -> Option<usize> {
    field
        .strip_prefix("profile.transports[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::profile::{SmtpSettings, TransportConfig};

    fn with_smtp(f: impl FnOnce(&mut SmtpSettings)) -> Profile {
        let mut s = SmtpSettings {
            host: "127.0.0.1".into(),
            ..SmtpSettings::default()
        };
        f(&mut s);
        let mut p = Profile::default();
        p.transports.insert(
            0,
            TransportConfig::new("SMTP", TransportKind::Smtp(s), &["SMTP"]),
        );
        p
    }

    fn fields(p: &Profile) -> Vec<String> {
        problems(p).into_iter().map(|x| x.field).collect()
    }

    #[test]
    fn time_after_a_setting_saturates_instead_of_panicking() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(after(now, 60).as_second(), 1_800_000_060);
        assert_eq!(after(now, 1_000_000_000_000), Timestamp::MAX);
        assert_eq!(after(now, u64::MAX), Timestamp::MAX);
        assert_eq!(after(Timestamp::MAX, 1), Timestamp::MAX);
    }

    #[test]
    fn the_default_and_a_plain_smtp_profile_pass() {
        assert_eq!(problems(&Profile::default()), []);
        assert_eq!(problems(&with_smtp(|_| {})), []);
    }

    #[test]
    fn a_host_with_cr_lf_space_or_control_characters_is_refused() {
        for bad in [
            "a\r\nb",
            "smtp.example.org\r\n",
            "smtp example.org",
            " x.org",
            "x\u{7}.org",
            "x\t",
        ] {
            let p = with_smtp(|s| s.host = bad.into());
            let pr = check(&p).unwrap_err();
            assert_eq!(pr.field, "profile.transports[0].kind.host", "{bad:?}");
            assert_eq!(
                pr.why,
                "not a host name or IP address (like smtp.example.org or 127.0.0.1)"
            );
        }
        for good in ["", "localhost", "::1", "[::1]", "mail-1.x_y.org."] {
            assert_eq!(host(good), Ok(()), "{good:?}");
        }
        assert!(host("x.org:25").unwrap_err().contains("Port field"));
    }

    #[test]
    fn ports_are_1_to_65535() {
        let p = with_smtp(|s| s.port = 0);
        assert_eq!(
            check(&p).unwrap_err().to_string(),
            "profile.transports[0].kind.port = 0: the port is a number from 1 to 65535"
        );
        assert_eq!(port(1), Ok(1));
        assert_eq!(port(65_535), Ok(65_535));
        assert!(port(65_536).is_err());
        assert!(port(70_000).is_err());
    }

    #[test]
    fn durations_have_bounds_at_both_ends() {
        assert_eq!(retry_delay(MAX_RETRY_DELAY), Ok(MAX_RETRY_DELAY));
        assert!(retry_delay(MAX_RETRY_DELAY + 1).is_err());
        assert!(retry_delay(0).is_err());
        assert_eq!(give_up(MAX_GIVE_UP), Ok(MAX_GIVE_UP));
        assert!(give_up(MAX_GIVE_UP + 1).is_err());
        assert!(timeout(0).is_err() && timeout(MAX_TIMEOUT + 1).is_err());
        assert_eq!(deadline(0), Ok(0));
        assert!(deadline(MAX_DEADLINE + 1).is_err());
        let mut p = Profile::default();
        p.retry.first_delay_secs = 1_000_000_000_000;
        p.retry.max_delay_secs = 1_000_000_000_000;
        let pr = problems(&p);
        assert_eq!(pr[0].field, "profile.retry.first_delay_secs");
        assert_eq!(pr[0].value, "1000000000000");
        let p = with_smtp(|s| s.timeout_secs = u64::MAX);
        assert_eq!(fields(&p), ["profile.transports[0].kind.timeout_secs"]);
        let mut p = Profile::default();
        p.retry.first_delay_secs = 7200;
        assert_eq!(fields(&p), ["profile.retry.max_delay_secs"]);
        p.transports[0].faults.defer_secs = u64::MAX;
        assert_eq!(
            fields(&p),
            [
                "profile.transports[0].faults.defer_secs",
                "profile.retry.max_delay_secs"
            ]
        );
    }

    #[test]
    fn sender_addresses_follow_rfc_5322_addr_spec() {
        for good in [
            "user@localhost",
            "ann@example.org",
            "a.b+tag@x.example.org",
            "\"ann smith\"@example.org",
            "o'hara@example.org",
            "ann@[127.0.0.1]",
            "jörg@exämple.org",
        ] {
            assert_eq!(sender_address(good), Ok(()), "{good}");
            assert!(good.parse::<lettre::Address>().is_ok(), "lettre: {good}");
        }
        for bad in [
            "ann",
            "ann@",
            "@example.org",
            "ann example@x.org",
            "ann@example",
            "a..b@example.org",
            ".a@example.org",
            "a.@example.org",
            "ann@exa mple.org",
            "<ann@example.org>",
            "ann@example.org\r\nRCPT TO:<x@y.org>",
            "ann@@example.org",
            "\"ann@example.org",
            "ann@example..org",
        ] {
            assert_eq!(
                sender_address(bad),
                Err("not an email address (like name@example.org)".into()),
                "{bad:?}"
            );
        }
        assert!(
            sender_address(" ")
                .unwrap_err()
                .starts_with("the sender's address is needed")
        );
    }

    #[test]
    fn repair_sets_each_bad_value_to_its_default_and_keeps_the_rest() {
        let mut p = with_smtp(|s| {
            s.host = "a\r\nb".into();
            s.port = 0;
            s.timeout_secs = 7;
        });
        p.sender_address = "not an address".into();
        p.sender_name = "Ann".into();
        let changed = repair(&mut p);
        assert_eq!(changed.len(), 3);
        assert_eq!(problems(&p), []);
        let TransportKind::Smtp(s) = &p.transports[0].kind else {
            panic!("smtp")
        };
        assert_eq!((s.host.as_str(), s.port, s.timeout_secs), ("", 25, 7));
        assert_eq!(p.sender_name, "Ann");
        assert_eq!(p.sender_address, "user@localhost");
    }
}
