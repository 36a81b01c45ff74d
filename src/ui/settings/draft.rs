//! The profile as the form edits it: text as typed, turned back into a [`Profile`] only when
//! every field reads. What the form does not show (hooks, address types, faults, the fax's
//! settings, SMTP deadlines) is kept from the profile it was opened with.

use super::validate::{self, RetryField};
use crate::profile::check;
use crate::profile::{Profile, RetryPolicy, TlsMode, TransportConfig, TransportKind};
use crate::transport::credentials;

/// A field of the form, for its inline message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The sender's name.
    SenderName,
    /// The sender's address.
    SenderAddress,
    /// A delay of the retry policy.
    Retry(RetryField),
    /// A field of the transport at this position.
    Transport(usize, TransportField),
}

/// A transport's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportField {
    /// SMTP host.
    Host,
    /// SMTP port.
    Port,
    /// SMTP user.
    User,
    /// SMTP timeout.
    Timeout,
    /// The pickup directory.
    Directory,
}

/// An SMTP transport's fields as typed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SmtpFields {
    /// Host.
    pub host: String,
    /// Port.
    pub port: String,
    /// TLS.
    pub tls: TlsMode,
    /// User for AUTH.
    pub user: String,
    /// A new password, typed (stored on Save, never in the profile); empty: keep the stored.
    pub password: String,
    /// Timeout in seconds.
    pub timeout: String,
}

impl std::fmt::Debug for SmtpFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpFields")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "(typed, not shown)"
                },
            )
            .finish_non_exhaustive()
    }
}

/// The fields the form shows for a transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fields {
    /// SMTP.
    Smtp(SmtpFields),
    /// The pickup folder's directory.
    Pickup(String),
    /// Nothing to edit here (null, fax: the Advanced view has them).
    Other,
}

/// One transport: the profile's entry, enabled or not, and its fields.
#[derive(Clone, Debug, PartialEq)]
pub struct TransportDraft {
    /// As in the profile (name, kind, address types, faults).
    pub config: TransportConfig,
    /// Enabled.
    pub enabled: bool,
    /// The editable fields.
    pub fields: Fields,
}

/// The whole form.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// The profile it was opened with.
    pub base: Profile,
    /// Transports in priority order.
    pub transports: Vec<TransportDraft>,
    /// The sender's name.
    pub sender_name: String,
    /// The sender's address.
    pub sender_address: String,
    /// SMTP may connect to any server.
    pub deliver_for_real: bool,
    /// First retry delay.
    pub retry_first: String,
    /// Longest delay.
    pub retry_max: String,
    /// Give up after.
    pub retry_give_up: String,
}

impl Draft {
    /// The form for `p`.
    pub fn of(p: &Profile) -> Self {
        let transports = p
            .transports
            .iter()
            .map(|t| TransportDraft {
                config: t.clone(),
                enabled: t.enabled,
                fields: match &t.kind {
                    TransportKind::Smtp(s) => Fields::Smtp(SmtpFields {
                        host: s.host.clone(),
                        port: s.port.to_string(),
                        tls: s.tls,
                        user: s.username.clone().unwrap_or_default(),
                        password: String::new(),
                        timeout: s.timeout_secs.to_string(),
                    }),
                    TransportKind::Pickup(d) => Fields::Pickup(d.dir.clone()),
                    TransportKind::Null | TransportKind::Fax(_) => Fields::Other,
                },
            })
            .collect();
        Self {
            base: p.clone(),
            transports,
            sender_name: p.sender_name.clone(),
            sender_address: p.sender_address.clone(),
            deliver_for_real: p.deliver_for_real,
            retry_first: validate::format_duration(p.retry.first_delay_secs),
            retry_max: validate::format_duration(p.retry.max_delay_secs),
            retry_give_up: validate::format_duration(p.retry.give_up_after_secs),
        }
    }

    /// Moves the transport at `i` one place up (`up`) or down; false when it cannot.
    pub fn move_transport(&mut self, i: usize, up: bool) -> bool {
        let j = if up { i.checked_sub(1) } else { Some(i + 1) };
        match j {
            Some(j) if j < self.transports.len() && i < self.transports.len() => {
                self.transports.swap(i, j);
                true
            }
            _ => false,
        }
    }

    /// Every field that does not read, with why, in the order the form shows them.
    pub fn problems(&self) -> Vec<(Field, String)> {
        self.build().err().unwrap_or_default()
    }

    /// The profile the form describes, or every problem.
    ///
    /// # Errors
    /// The fields that do not read.
    pub fn build(&self) -> Result<Profile, Vec<(Field, String)>> {
        let mut problems = Vec::new();
        let mut check = Checker(&mut problems);
        let mut profile = self.base.clone();
        profile.transports.clear();
        for (i, t) in self.transports.iter().enumerate() {
            let mut config = t.config.clone();
            config.enabled = t.enabled;
            let f = |tf| Field::Transport(i, tf);
            match (&mut config.kind, &t.fields) {
                (TransportKind::Smtp(s), Fields::Smtp(x)) => {
                    let host = check.take(f(TransportField::Host), validate::host(&x.host));
                    let port = check.take(f(TransportField::Port), validate::port(&x.port));
                    let user = check.take(
                        f(TransportField::User),
                        validate::user(&x.user).and_then(|u| match u {
                            None if !x.password.is_empty() => {
                                Err("type the user name the password is for".into())
                            }
                            u => Ok(u),
                        }),
                    );
                    let timeout =
                        check.take(f(TransportField::Timeout), validate::timeout(&x.timeout));
                    if let (Some(host), Some(port), Some(user), Some(timeout)) =
                        (host, port, user, timeout)
                    {
                        s.host = host;
                        s.port = port;
                        s.username = user;
                        s.timeout_secs = timeout;
                        s.tls = x.tls;
                    }
                }
                (TransportKind::Pickup(d), Fields::Pickup(dir)) => {
                    if let Some(dir) =
                        check.take(f(TransportField::Directory), validate::directory(dir))
                    {
                        d.dir = dir;
                    }
                }
                _ => {}
            }
            profile.transports.push(config);
        }
        if let Some(n) = check.take(Field::SenderName, validate::display_name(&self.sender_name)) {
            profile.sender_name = n;
        }
        if let Some(a) = check.take(Field::SenderAddress, validate::email(&self.sender_address)) {
            profile.sender_address = a;
        }
        profile.deliver_for_real = self.deliver_for_real;
        let delay = |t: &str| {
            validate::duration(t).and_then(|s| check::retry_delay(s).map_err(validate::Invalid))
        };
        let first = check.take(Field::Retry(RetryField::First), delay(&self.retry_first));
        let max = check.take(Field::Retry(RetryField::Max), delay(&self.retry_max));
        let give_up = check.take(
            Field::Retry(RetryField::GiveUp),
            validate::duration(&self.retry_give_up)
                .and_then(|s| check::give_up(s).map_err(validate::Invalid)),
        );
        if let (Some(first), Some(max), Some(give_up)) = (first, max, give_up) {
            if let Some((which, why)) = validate::retry_order(first, max, give_up) {
                check.0.push((Field::Retry(which), why));
            }
            profile.retry = RetryPolicy {
                first_delay_secs: first,
                max_delay_secs: max,
                give_up_after_secs: give_up,
            };
        }
        // The one check the store and `profile set-smtp` apply too: whatever the fields above
        // let through (values the form does not show, kept from the profile) is caught here.
        for p in check::problems(&profile) {
            let field = form_field(&p.field);
            if !problems.iter().any(|(f, _)| *f == field) {
                problems.push((field, format!("{}: {}", p.field, p.why)));
            }
        }
        if problems.is_empty() {
            Ok(profile)
        } else {
            Err(problems)
        }
    }

    /// The passwords typed, each with the key it is stored under (`user@host:port` as the
    /// form now reads); transports whose fields do not read are left out.
    pub fn typed_passwords(&self) -> Vec<(String, String)> {
        self.transports
            .iter()
            .filter_map(|t| match &t.fields {
                Fields::Smtp(x) if !x.password.is_empty() => {
                    Some((smtp_key(x)?, x.password.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// True when a password was typed.
    pub fn has_typed_password(&self) -> bool {
        self.transports
            .iter()
            .any(|t| matches!(&t.fields, Fields::Smtp(x) if !x.password.is_empty()))
    }

    /// Forgets every typed password (after Save sent them, or on Revert).
    pub fn clear_passwords(&mut self) {
        for t in &mut self.transports {
            if let Fields::Smtp(x) = &mut t.fields {
                x.password.clear();
            }
        }
    }

    /// The first message for `field`, if any, among `problems`.
    pub fn problem(problems: &[(Field, String)], field: Field) -> Option<&str> {
        problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, w)| w.as_str())
    }
}

/// The form's field for a path of [`check::problems`]; what the form does not show goes
/// under the transport's timeout (deadlines, a fault's deferral) or the sender's address.
fn form_field(path: &str) -> Field {
    let rest = path.strip_prefix("profile.").unwrap_or(path);
    match rest {
        "sender_name" => Field::SenderName,
        "retry.first_delay_secs" => Field::Retry(RetryField::First),
        "retry.max_delay_secs" => Field::Retry(RetryField::Max),
        "retry.give_up_after_secs" => Field::Retry(RetryField::GiveUp),
        _ => {
            let transport = rest
                .strip_prefix("transports[")
                .and_then(|r| r.split_once(']'))
                .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f)));
            match transport {
                Some((i, ".kind.host")) => Field::Transport(i, TransportField::Host),
                Some((i, ".kind.port")) => Field::Transport(i, TransportField::Port),
                Some((i, _)) => Field::Transport(i, TransportField::Timeout),
                None => Field::SenderAddress,
            }
        }
    }
}

/// Collects what does not read.
struct Checker<'a>(&'a mut Vec<(Field, String)>);

impl Checker<'_> {
    fn take<T>(&mut self, field: Field, r: Result<T, validate::Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(why) => {
                self.0.push((field, why.0));
                None
            }
        }
    }
}

/// The key of the password for these fields (`user@host:port`), when host, port and user read.
pub fn smtp_key(x: &SmtpFields) -> Option<String> {
    let host = validate::host(&x.host).ok().filter(|h| !h.is_empty())?;
    let port = validate::port(&x.port).ok()?;
    let user = validate::user(&x.user).ok().flatten()?;
    Some(credentials::key(&user, &host, port))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::profile::{SmtpSettings, TransportConfig};

    fn profile() -> Profile {
        let mut p = Profile::default();
        p.transports.insert(
            0,
            TransportConfig::new(
                "SMTP",
                TransportKind::Smtp(SmtpSettings {
                    host: "127.0.0.1".into(),
                    port: 2525,
                    timeout_secs: 30,
                    ..SmtpSettings::default()
                }),
                &["SMTP"],
            ),
        );
        p
    }

    #[test]
    fn an_untouched_form_builds_the_profile_it_was_opened_with() {
        let p = profile();
        assert_eq!(Draft::of(&p).build().unwrap(), p);
    }

    #[test]
    fn problems_name_their_field_and_the_order_moves() {
        let mut d = Draft::of(&profile());
        if let Fields::Smtp(x) = &mut d.transports[0].fields {
            x.port = "99999".into();
        }
        d.sender_address = "nobody".into();
        let problems = d.problems();
        assert_eq!(
            Draft::problem(&problems, Field::Transport(0, TransportField::Port)),
            Some("the port is a number from 1 to 65535")
        );
        assert_eq!(
            Draft::problem(&problems, Field::SenderAddress),
            Some("not an email address (like name@example.org)")
        );
        let mut d = Draft::of(&profile());
        assert!(d.move_transport(1, true));
        assert!(!d.move_transport(0, true));
        let p = d.build().unwrap();
        assert_eq!(p.transports[0].name, "Pickup folder");
    }

    #[test]
    fn a_typed_password_is_keyed_and_never_in_the_profile_or_debug() {
        let mut d = Draft::of(&profile());
        if let Fields::Smtp(x) = &mut d.transports[0].fields {
            x.user = "alice".into();
            x.password = "pw-distinctive-1".into();
        }
        let p = d.build().unwrap();
        assert!(
            !serde_json::to_string(&p)
                .unwrap()
                .contains("pw-distinctive-1")
        );
        assert!(!format!("{d:?}").contains("pw-distinctive-1"));
        assert_eq!(
            d.typed_passwords(),
            vec![(
                "alice@127.0.0.1:2525".to_owned(),
                "pw-distinctive-1".to_owned()
            )]
        );
    }
}
