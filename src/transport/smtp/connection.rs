//! Logon: the settings, the resolve and the guard, connect, EHLO, STARTTLS, AUTH, and the
//! link state shown as the transport status.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::Duration;

use lettre::transport::smtp::extension::ClientId;

use super::{GUARD_TEXT, Link, SmtpCore, is_loopback_host};
use crate::mapi::flags::{STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ENABLED};
use crate::profile::{SmtpSettings, TlsMode};
use crate::transport::credentials::{self, CredentialsError, Secret, Vault};
use crate::transport::smtp_wire::{Conn, Limits, TlsError, WireError};

/// Why logon failed: the transport goes offline with this as the reason, and the hand-off
/// waits for a retry.
#[derive(Debug, thiserror::Error)]
pub(super) enum LogonError {
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host as configured.
        host: String,
        /// The resolver's error.
        reason: std::io::Error,
    },
    /// The host name resolved to nothing.
    #[error("{host} resolves to no address")]
    NoAddress {
        /// The host as configured.
        host: String,
    },
    /// With `deliver_for_real` off, the host resolved to an address that is not loopback.
    #[error("{GUARD_TEXT}; {host} resolves to {ip}")]
    Guarded {
        /// The host as configured.
        host: String,
        /// The first address that is not loopback.
        ip: IpAddr,
    },
    /// TLS could not be set up.
    #[error("{reason} for {host}")]
    Tls {
        /// Why.
        reason: TlsError,
        /// The host as configured.
        host: String,
    },
    /// No connection, or no 220 greeting.
    #[error("cannot connect to {endpoint}: {error}")]
    Connect {
        /// `host:port` and the TLS mode.
        endpoint: String,
        /// What went wrong on the wire.
        error: WireError,
    },
    /// EHLO (and HELO) refused or failed.
    #[error("EHLO to {endpoint}: {error}")]
    Ehlo {
        /// `host:port` and the TLS mode.
        endpoint: String,
        /// What went wrong on the wire.
        error: WireError,
    },
    /// STARTTLS is asked for and the server does not offer it.
    #[error("{endpoint} does not offer STARTTLS; not sending in plain text")]
    NoStartTls {
        /// `host:port` and the TLS mode.
        endpoint: String,
    },
    /// STARTTLS (or the EHLO after it) failed.
    #[error("STARTTLS with {endpoint}: {error}")]
    StartTls {
        /// `host:port` and the TLS mode.
        endpoint: String,
        /// What went wrong on the wire.
        error: WireError,
    },
    /// A password would go in plain text to a server that is not loopback.
    #[error(
        "{endpoint} is not encrypted; the password is never sent in plain text (set TLS to starttls or implicit)"
    )]
    Unencrypted {
        /// `host:port` and the TLS mode.
        endpoint: String,
    },
    /// The credentials file could not be found or read (the keyring falls back to it).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// No password is stored for this user and server.
    #[error(
        "no password stored for {key} (it would be kept {place}); run `spoolbox profile set-password` or type it in Profile…"
    )]
    NoPassword {
        /// `user@host:port`.
        key: String,
        /// Where it would be kept ("in the Secret Service keyring", "in ~/.config/...").
        place: String,
    },
    /// The server refused the credentials.
    #[error("authentication as {user} at {endpoint} failed: {error}")]
    Auth {
        /// The user name.
        user: String,
        /// `host:port` and the TLS mode.
        endpoint: String,
        /// What went wrong on the wire.
        error: WireError,
    },
}

impl SmtpCore {
    pub(super) fn new(settings: SmtpSettings, deliver_for_real: bool) -> Self {
        let mut t = Self {
            settings,
            deliver_for_real,
            credentials: None,
            conn: None,
            pipelining: false,
            link: Link::Idle,
            transcript: Vec::new(),
            rendered: Vec::new(),
            sent_on_dropped: 0,
        };
        t.link = t.logon_state(deliver_for_real);
        t
    }

    /// The user to log in as, when one is configured.
    pub(super) fn user(&self) -> Option<&str> {
        self.settings
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
    }

    pub(super) fn host(&self) -> &str {
        self.settings.host.trim()
    }

    pub(super) fn logon_state(&self, deliver_for_real: bool) -> Link {
        if self.host().is_empty() {
            Link::Unconfigured
        } else if !deliver_for_real && !is_loopback_host(self.host()) {
            Link::Guarded
        } else {
            Link::Idle
        }
    }

    pub(super) fn endpoint(&self) -> String {
        let tls = match self.settings.tls {
            TlsMode::None => "",
            TlsMode::StartTls => ", STARTTLS",
            TlsMode::Implicit => ", TLS",
        };
        format!("{}:{}{tls}", self.host(), self.settings.port)
    }

    /// The bounds of a connection: the profile's timeout and deadlines (0: the defaults).
    fn limits(&self) -> Limits {
        let or = |v: u64, d: u64| Duration::from_secs(if v == 0 { d } else { v });
        Limits {
            timeout: Duration::from_secs(self.settings.timeout_secs.max(1)),
            command_deadline: or(
                self.settings.command_deadline_secs,
                crate::profile::SMTP_COMMAND_DEADLINE,
            ),
            message_deadline: or(
                self.settings.message_deadline_secs,
                crate::profile::SMTP_MESSAGE_DEADLINE,
            ),
            ..Limits::default()
        }
    }

    /// The server's addresses; with the guard on, every one must be loopback (a `localhost`
    /// that resolves elsewhere is refused too).
    fn resolve(&self) -> Result<Vec<SocketAddr>, LogonError> {
        let host = self.host();
        let bare = host
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(host);
        let addrs: Vec<SocketAddr> = (bare, self.settings.port)
            .to_socket_addrs()
            .map_err(|reason| LogonError::Resolve {
                host: host.to_owned(),
                reason,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(LogonError::NoAddress {
                host: host.to_owned(),
            });
        }
        if !self.deliver_for_real
            && let Some(a) = addrs.iter().find(|a| !a.ip().to_canonical().is_loopback())
        {
            return Err(LogonError::Guarded {
                host: host.to_owned(),
                ip: a.ip(),
            });
        }
        Ok(addrs)
    }

    /// Where this transport's passwords are: the user's keyring and credentials file, or
    /// only the file given with [`super::SmtpTransport::with_credentials_file`].
    pub(super) fn vault(&self) -> Result<Vault, CredentialsError> {
        match &self.credentials {
            Some(p) => Ok(Vault::file_only(p.clone(), "a credentials file was given")),
            None => Vault::for_user(),
        }
    }

    /// The key of this server's password: `user@host:port`.
    pub(super) fn password_key(&self, user: &str) -> String {
        credentials::key(user, self.host(), self.settings.port)
    }

    fn password(&self, user: &str) -> Result<Secret, LogonError> {
        let vault = self.vault()?;
        let key = self.password_key(user);
        match vault.lookup(&key)? {
            (Some(password), _) => Ok(password),
            (None, holder) => Err(LogonError::NoPassword {
                key,
                place: holder.to_string(),
            }),
        }
    }

    /// The TLS configuration when TLS is asked for.
    pub(super) fn tls_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, LogonError> {
        match self.settings.tls {
            TlsMode::None => Ok(None),
            TlsMode::StartTls | TlsMode::Implicit => crate::transport::smtp_wire::tls_config()
                .map(Some)
                .map_err(|reason| LogonError::Tls {
                    reason,
                    host: self.host().to_owned(),
                }),
        }
    }

    /// The host without the brackets of an IPv6 literal (the name TLS checks).
    fn bare_host(&self) -> &str {
        let host = self.host();
        host.strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// Resolves (with the guard), connects (TLS from the first byte when implicit) and reads
    /// the greeting.
    pub(super) fn open(&self, tls: Option<&Arc<rustls::ClientConfig>>) -> Result<Conn, LogonError> {
        let addrs = self.resolve()?;
        let implicit = match (tls, self.settings.tls) {
            (Some(c), TlsMode::Implicit) => Some((c, self.bare_host())),
            _ => None,
        };
        Conn::connect(addrs.as_slice(), self.limits(), implicit).map_err(|error| {
            LogonError::Connect {
                endpoint: self.endpoint(),
                error,
            }
        })
    }

    /// EHLO (HELO when refused).
    pub(super) fn hello(&self, conn: &mut Conn) -> Result<(), LogonError> {
        conn.ehlo(&ClientId::default().to_string())
            .map_err(|error| LogonError::Ehlo {
                endpoint: self.endpoint(),
                error,
            })
    }

    /// STARTTLS and the EHLO after it, when asked for (never falling back to plain text);
    /// true when it ran.
    pub(super) fn secure(
        &self,
        conn: &mut Conn,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<bool, LogonError> {
        let (TlsMode::StartTls, Some(config)) = (self.settings.tls, tls) else {
            return Ok(false);
        };
        if !conn.offers.starttls {
            conn.abort();
            return Err(LogonError::NoStartTls {
                endpoint: self.endpoint(),
            });
        }
        conn.starttls(config, self.bare_host())
            .and_then(|()| conn.ehlo(&ClientId::default().to_string()))
            .map_err(|error| LogonError::StartTls {
                endpoint: self.endpoint(),
                error,
            })?;
        Ok(true)
    }

    /// AUTH when a user is configured, with `given` or the stored password; true when it ran.
    /// A password goes in plain text only to a loopback server.
    pub(super) fn login(
        &self,
        conn: &mut Conn,
        given: Option<&Secret>,
    ) -> Result<bool, LogonError> {
        let Some(user) = self.user() else {
            return Ok(false);
        };
        if !conn.is_encrypted() && !is_loopback_host(self.host()) {
            conn.abort();
            return Err(LogonError::Unencrypted {
                endpoint: self.endpoint(),
            });
        }
        let stored;
        let password = if let Some(p) = given {
            p
        } else {
            stored = self.password(user)?;
            &stored
        };
        conn.auth(user, password.expose())
            .map_err(|error| LogonError::Auth {
                user: user.to_owned(),
                endpoint: self.endpoint(),
                error,
            })?;
        Ok(true)
    }

    /// Logon: connect, EHLO, STARTTLS if asked (never falling back to plain text), AUTH if a
    /// user is configured; with whether the server offers PIPELINING.
    pub(super) fn connect(&self) -> Result<(Conn, bool), LogonError> {
        let tls = self.tls_config()?;
        let mut conn = self.open(tls.as_ref())?;
        self.hello(&mut conn)?;
        self.secure(&mut conn, tls.as_ref())?;
        let pipelining = conn.offers.pipelining;
        self.login(&mut conn, None)?;
        Ok((conn, pipelining))
    }

    pub(super) fn status_code(&self) -> u32 {
        match self.link {
            // Not logged on for outbound (reference e.20): the spooler does not offer it
            // messages, and their rows pass to the next transport.
            Link::Unconfigured | Link::Guarded => STATUS_OFFLINE,
            // Logged on but its server is unreachable: still takes messages, answering
            // MAPI_E_NETWORK_ERROR, so they wait for a retry instead of going elsewhere.
            Link::Down(_) => STATUS_OFFLINE | STATUS_OUTBOUND_ENABLED,
            Link::Idle | Link::Up(_) => STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED,
        }
    }

    pub(super) fn status_text(&self) -> String {
        match &self.link {
            Link::Unconfigured => {
                "offline: no SMTP server configured (recipients pass to the next transport)".into()
            }
            Link::Guarded => format!(
                "offline: {GUARD_TEXT}; {} is not one, so its recipients pass to the next transport",
                self.host()
            ),
            Link::Idle => format!("ready: {} (connects on the first message)", self.endpoint()),
            Link::Up(d) => format!("connected to {d}"),
            Link::Down(why) => format!("offline: {why}; messages wait for a retry"),
        }
    }

    /// Drops the kept connection, keeping what it carried for the hand-off's transcript.
    pub(super) fn drop_conn(&mut self) {
        if let Some(mut c) = self.conn.take() {
            self.transcript.append(&mut c.transcript.take());
            self.sent_on_dropped += c.messages_sent();
        }
    }
}
