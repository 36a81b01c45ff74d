//! The form's checks, one per kind of field: each takes the text as typed and returns the
//! value, or what is wrong in words a user reads ("the port is a number from 1 to 65535").

use crate::profile::check;

/// What is wrong with a field's text, in words a user reads ("the port is a number from 1 to
/// 65535"); the form shows it under the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<&str> for Invalid {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for Invalid {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// The port: 1 to 65535 ([`check::port`]).
pub fn port(text: &str) -> Result<u16, Invalid> {
    let n = text.trim().parse::<u64>().unwrap_or(0);
    check::port(n).map_err(Invalid)
}

/// The longest timeout the form takes, in seconds.
pub const MAX_TIMEOUT: u64 = check::MAX_TIMEOUT;

/// The timeout: whole seconds, 1 to [`MAX_TIMEOUT`] ([`check::timeout`]).
pub fn timeout(text: &str) -> Result<u64, Invalid> {
    let n = text.trim().parse::<u64>().unwrap_or(0);
    check::timeout(n).map_err(Invalid)
}

/// The server's host: a name or an address; empty leaves SMTP unconfigured (it declines and
/// the next transport takes its recipients). [`check::host`] of the text trimmed.
pub fn host(text: &str) -> Result<String, Invalid> {
    let h = text.trim();
    check::host(h).map_err(Invalid)?;
    Ok(h.to_owned())
}

/// The AUTH user name: empty for none; no spaces or line breaks.
pub fn user(text: &str) -> Result<Option<String>, Invalid> {
    let u = text.trim();
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a user name has no spaces".into());
    }
    Ok(Some(u.to_owned()).filter(|u| !u.is_empty()))
}

/// The sender's address ([`check::sender_address`] of the text trimmed).
pub fn email(text: &str) -> Result<String, Invalid> {
    let a = text.trim();
    check::sender_address(a).map_err(Invalid)?;
    Ok(a.to_owned())
}

/// The sender's display name: one line ([`check::display_name`]).
pub fn display_name(text: &str) -> Result<String, Invalid> {
    let n = text.trim();
    check::display_name(n).map_err(Invalid)?;
    Ok(n.to_owned())
}

/// The pickup directory: a path, inside the store when relative.
pub fn directory(text: &str) -> Result<String, Invalid> {
    let d = text.trim();
    if d.is_empty() {
        return Err("type a directory, or choose one".into());
    }
    // Relative to the store: one of the store's own folders is refused (the transport checks
    // absolute ones against the store's root at every send).
    let first = std::path::Path::new(d)
        .components()
        .find(|c| !matches!(c, std::path::Component::CurDir));
    if let Some(std::path::Component::Normal(first)) = first
        && crate::transport::pickup::STORE_NAMES
            .iter()
            .any(|n| first == std::ffi::OsStr::new(n))
    {
        return Err(format!(
            "{} is the store's own: its files would be deleted or quarantined; choose another directory",
            first.to_string_lossy()
        )
        .into());
    }
    Ok(d.to_owned())
}

/// A duration: `90` or `90s` seconds, `15m`, `2h`, `5d`; at least one second.
pub fn duration(text: &str) -> Result<u64, Invalid> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || Invalid::from("a duration such as 90s, 15m, 2h or 5d");
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t.as_str(), "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(mult) {
        Some(0) => Err("at least one second".into()),
        Some(s) => Ok(s),
        None => Err(bad()),
    }
}

/// `secs` in its largest whole unit: `90s`, `15m`, `2h`, `5d`.
pub fn format_duration(secs: u64) -> String {
    match secs {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The retry policy's delays together: the first no longer than the longest, the longest
/// no longer than the time before giving up. `None` when they agree.
pub fn retry_order(first: u64, max: u64, give_up: u64) -> Option<(RetryField, String)> {
    check::retry_order(first, max, give_up).map(|(longest, why)| {
        (
            if longest {
                RetryField::Max
            } else {
                RetryField::GiveUp
            },
            why,
        )
    })
}

/// The retry policy's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryField {
    /// The first delay.
    First,
    /// The longest delay.
    Max,
    /// Give up after.
    GiveUp,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_port_is_a_number_from_1_to_65535() {
        assert_eq!(port(" 587 "), Ok(587));
        assert_eq!(port("65535"), Ok(65535));
        for bad in ["0", "65536", "-1", "25a", "", "smtp"] {
            assert_eq!(
                port(bad),
                Err("the port is a number from 1 to 65535".into()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_timeout_is_whole_seconds_within_an_hour() {
        assert_eq!(timeout("30"), Ok(30));
        assert_eq!(
            timeout("0"),
            Err("the timeout is a number of seconds from 1 to 3600".into())
        );
        assert!(timeout("3601").is_err());
        assert!(timeout("1.5").is_err());
    }

    #[test]
    fn hosts_are_names_or_addresses_and_a_port_after_the_host_is_pointed_out() {
        for good in [
            "smtp.example.org",
            "localhost",
            "127.0.0.1",
            "::1",
            "[::1]",
            "mail-1.x_y.org.",
        ] {
            assert_eq!(host(good).as_deref(), Ok(good), "{good}");
        }
        assert_eq!(host("  "), Ok(String::new()), "empty: unconfigured");
        assert_eq!(
            host("smtp.example.org:587"),
            Err("the port goes in the Port field, not after the host".into())
        );
        assert!(host("smtp://x.org").unwrap_err().0.contains("no smtp://"));
        for bad in ["smtp example.org", "-x.org", "a..b", "x@y.org"] {
            assert_eq!(
                host(bad),
                Err("not a host name or IP address (like smtp.example.org or 127.0.0.1)".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_address_that_is_not_one_says_so() {
        assert_eq!(email(" user@localhost "), Ok("user@localhost".into()));
        assert_eq!(email("ann@example.org"), Ok("ann@example.org".into()));
        for bad in [
            "ann",
            "ann@",
            "@example.org",
            "ann example@x.org",
            "ann@example",
        ] {
            assert_eq!(
                email(bad),
                Err("not an email address (like name@example.org)".into()),
                "{bad}"
            );
        }
        assert!(
            email("")
                .unwrap_err()
                .0
                .starts_with("the sender's address is needed")
        );
    }

    #[test]
    fn users_names_and_directories() {
        assert_eq!(user(""), Ok(None));
        assert_eq!(user(" alice "), Ok(Some("alice".into())));
        assert_eq!(user("al ice"), Err("a user name has no spaces".into()));
        assert!(display_name("Ann\nB").is_err());
        assert_eq!(display_name(" Ann B "), Ok("Ann B".into()));
        assert_eq!(
            directory(" "),
            Err("type a directory, or choose one".into())
        );
    }

    #[test]
    fn durations_read_units_and_write_the_largest() {
        assert_eq!(duration("60"), Ok(60));
        assert_eq!(duration("90s"), Ok(90));
        assert_eq!(duration("15m"), Ok(900));
        assert_eq!(duration("2 h"), Ok(7200));
        assert_eq!(duration("5d"), Ok(432_000));
        assert_eq!(duration("0"), Err("at least one second".into()));
        assert_eq!(
            duration("soon"),
            Err("a duration such as 90s, 15m, 2h or 5d".into())
        );
        assert_eq!(format_duration(60), "1m");
        assert_eq!(format_duration(432_000), "5d");
        assert_eq!(format_duration(90), "90s");
        assert_eq!(
            retry_order(120, 60, 600).map(|(f, _)| f),
            Some(RetryField::Max)
        );
        assert_eq!(
            retry_order(60, 7200, 3600).map(|(f, _)| f),
            Some(RetryField::GiveUp)
        );
        assert_eq!(retry_order(60, 3600, 432_000), None);
    }
}
