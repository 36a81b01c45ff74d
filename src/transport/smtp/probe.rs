//! Test connection: the logon of the SMTP transport (the same code: resolve with the guard,
//! connect, EHLO, STARTTLS, AUTH) run step by step with settings that need not be saved,
//! then QUIT, each step with its result and the lines exchanged with the server. Nothing is
//! sent beyond logon, and the deliver-for-real guard holds: with it off, a server that is not
//! on loopback is not even looked up.

use super::connection::LogonError;
use super::{GUARD_TEXT, SmtpCore, is_loopback_host};
use crate::profile::{SmtpSettings, TlsMode};
use crate::transport::credentials::{Secret, Vault};
use crate::transport::smtp_wire::Conn;

/// A step of the test, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeStage {
    /// Resolve, connect, the greeting.
    Connect,
    /// EHLO (HELO when refused).
    Ehlo,
    /// STARTTLS and the EHLO after it.
    StartTls,
    /// AUTH.
    Auth,
    /// QUIT.
    Quit,
}

impl ProbeStage {
    /// Every step, in order.
    pub const ALL: [Self; 5] = [
        Self::Connect,
        Self::Ehlo,
        Self::StartTls,
        Self::Auth,
        Self::Quit,
    ];

    /// Its name as shown.
    pub fn label(self) -> &'static str {
        match self {
            Self::Connect => "Connect",
            Self::Ehlo => "EHLO",
            Self::StartTls => "STARTTLS",
            Self::Auth => "AUTH",
            Self::Quit => "QUIT",
        }
    }
}

/// How a step went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// It worked.
    Ok,
    /// It failed (the detail says how).
    Failed,
    /// Not run (not asked for, or an earlier step failed).
    Skipped,
}

impl ProbeOutcome {
    /// "ok", "failed", "skipped".
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// One step's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeStep {
    /// Which.
    pub stage: ProbeStage,
    /// How it went.
    pub outcome: ProbeOutcome,
    /// In words: what was learnt, why it failed (with the server's reply), why it was skipped.
    pub detail: String,
    /// What went over the wire in this step (`C:` and `S:` lines; AUTH's arguments never).
    pub wire: Vec<String>,
}

/// What a connection test found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeReport {
    /// `host:port` and the TLS mode.
    pub endpoint: String,
    /// Every step, in order ([`ProbeStage::ALL`]).
    pub steps: Vec<ProbeStep>,
}

impl ProbeReport {
    /// True when no step failed.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.outcome != ProbeOutcome::Failed)
    }

    /// The step of this stage.
    pub fn step(&self, stage: ProbeStage) -> Option<&ProbeStep> {
        self.steps.iter().find(|s| s.stage == stage)
    }

    /// The report as text, one line per step and the wire indented under it (the CLI's).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("testing {}", self.endpoint)];
        for s in &self.steps {
            out.push(format!(
                "{:<9} {:<7} {}",
                s.stage.label(),
                s.outcome.word(),
                s.detail
            ));
            out.extend(s.wire.iter().map(|w| format!("          {w}")));
        }
        out
    }
}

/// The steps taken so far; the rest are skipped once one fails.
struct Steps {
    steps: Vec<ProbeStep>,
}

impl Steps {
    fn push(
        &mut self,
        stage: ProbeStage,
        outcome: ProbeOutcome,
        detail: String,
        wire: Vec<String>,
    ) {
        self.steps.push(ProbeStep {
            stage,
            outcome,
            detail,
            wire,
        });
    }

    /// A step that ran: ok with `done`, or failed with the error; the wire since the last.
    fn ran<T>(
        &mut self,
        stage: ProbeStage,
        conn: Option<&mut Conn>,
        r: Result<T, LogonError>,
        done: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        let wire = conn.map(|c| c.transcript.take()).unwrap_or_default();
        match r {
            Ok(v) => {
                self.push(stage, ProbeOutcome::Ok, done(&v), wire);
                Some(v)
            }
            Err(e) => {
                self.push(stage, ProbeOutcome::Failed, e.to_string(), wire);
                None
            }
        }
    }

    /// Every step not yet recorded, skipped because of `failed` (QUIT too: no connection).
    fn skip_rest(mut self, failed: ProbeStage, endpoint: String) -> ProbeReport {
        for stage in ProbeStage::ALL.into_iter().skip(self.steps.len()) {
            let detail = format!("not tried: {} failed", failed.label());
            self.push(stage, ProbeOutcome::Skipped, detail, Vec::new());
        }
        ProbeReport {
            endpoint,
            steps: self.steps,
        }
    }
}

/// Tests a logon with `settings` (saved or not) and `password` (typed; `None`: the one
/// stored for the user and server, looked up in the user's keyring or credentials file):
/// connect, EHLO, STARTTLS, AUTH, QUIT. With `deliver_for_real` off only a loopback server
/// is tried. Blocks for at most a few times the settings' timeout: run it off the thread
/// that draws or runs the spooler.
pub fn probe(
    settings: &SmtpSettings,
    password: Option<&Secret>,
    deliver_for_real: bool,
) -> ProbeReport {
    let vault = Vault::for_user();
    probe_with(settings, password, deliver_for_real, vault.as_ref().ok())
}

/// [`probe`] with the passwords of `vault` (none: no vault could be opened).
pub fn probe_with(
    settings: &SmtpSettings,
    password: Option<&Secret>,
    deliver_for_real: bool,
    vault: Option<&Vault>,
) -> ProbeReport {
    let core = SmtpCore::new(settings.clone(), deliver_for_real);
    let endpoint = core.endpoint();
    let mut steps = Steps { steps: Vec::new() };
    let host = core.host();
    let refused = if host.is_empty() {
        Some("no server: type the SMTP server's host name".to_owned())
    } else if !deliver_for_real && !is_loopback_host(host) {
        Some(format!(
            "not tried: {GUARD_TEXT} (127.0.0.1, ::1, localhost) and {host} is not one; turn on \"deliver for real\" to test it"
        ))
    } else {
        None
    };
    if let Some(why) = refused {
        steps.push(ProbeStage::Connect, ProbeOutcome::Failed, why, Vec::new());
        return steps.skip_rest(ProbeStage::Connect, endpoint);
    }
    let opened = core
        .tls_config()
        .and_then(|tls| core.open(tls.as_ref()).map(|c| (c, tls)));
    let Some((mut conn, tls)) = (match opened {
        Ok((mut c, tls)) => {
            let wire = c.transcript.take();
            let how = match (c.is_encrypted(), core.settings.tls) {
                (true, _) => {
                    "encrypted from the first byte (implicit TLS), the certificate checked"
                }
                (false, TlsMode::StartTls) => "not encrypted yet (STARTTLS follows EHLO)",
                (false, _) => "not encrypted (TLS: none)",
            };
            steps.push(
                ProbeStage::Connect,
                ProbeOutcome::Ok,
                format!("connected, {how}"),
                wire,
            );
            Some((c, tls))
        }
        Err(e) => {
            steps.push(
                ProbeStage::Connect,
                ProbeOutcome::Failed,
                e.to_string(),
                Vec::new(),
            );
            None
        }
    }) else {
        return steps.skip_rest(ProbeStage::Connect, endpoint);
    };
    let hello = core.hello(&mut conn);
    let wire = conn.transcript.take();
    let keywords = ehlo_keywords(&wire);
    if let Err(e) = hello {
        steps.push(ProbeStage::Ehlo, ProbeOutcome::Failed, e.to_string(), wire);
        return finish(steps, &mut conn, ProbeStage::Ehlo, endpoint);
    }
    let offered = if keywords.is_empty() {
        "the server lists no extension".to_owned()
    } else {
        format!("the server offers {}", keywords.join(", "))
    };
    steps.push(ProbeStage::Ehlo, ProbeOutcome::Ok, offered, wire);
    match core.settings.tls {
        TlsMode::StartTls => {
            let r = core.secure(&mut conn, tls.as_ref()).map_err(|e| match e {
                LogonError::NoStartTls { endpoint } => LogonError::NoStartTls {
                    endpoint: format!("{endpoint} (its EHLO lists {})", keywords.join(", ")),
                },
                e => e,
            });
            let done = |_: &bool| "encrypted: TLS, the certificate checked".to_owned();
            if steps
                .ran(ProbeStage::StartTls, Some(&mut conn), r, done)
                .is_none()
            {
                return finish(steps, &mut conn, ProbeStage::StartTls, endpoint);
            }
        }
        TlsMode::Implicit => steps.push(
            ProbeStage::StartTls,
            ProbeOutcome::Skipped,
            "not needed: TLS from the first byte (implicit)".into(),
            Vec::new(),
        ),
        TlsMode::None => steps.push(
            ProbeStage::StartTls,
            ProbeOutcome::Skipped,
            "not asked for (TLS: none)".into(),
            Vec::new(),
        ),
    }
    if !auth_step(&core, &mut steps, &mut conn, password, vault) {
        return finish(steps, &mut conn, ProbeStage::Auth, endpoint);
    }
    let r = conn.command("QUIT\r\n", "QUIT");
    let wire = conn.transcript.take();
    conn.abort();
    match r {
        Ok(reply) => steps.push(ProbeStage::Quit, ProbeOutcome::Ok, reply.text(), wire),
        Err(e) => steps.push(ProbeStage::Quit, ProbeOutcome::Failed, e.to_string(), wire),
    }
    ProbeReport {
        endpoint,
        steps: steps.steps,
    }
}

/// AUTH: skipped without a user; with one, the typed password or the stored one. False when
/// it failed.
fn auth_step(
    core: &SmtpCore,
    steps: &mut Steps,
    conn: &mut Conn,
    password: Option<&Secret>,
    vault: Option<&Vault>,
) -> bool {
    let Some(user) = core.user() else {
        steps.push(
            ProbeStage::Auth,
            ProbeOutcome::Skipped,
            "no user name: the server is not asked to log in".into(),
            Vec::new(),
        );
        return true;
    };
    let key = core.password_key(user);
    let (secret, from) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (Some(p.clone()), "the password typed in the form".to_owned()),
        None => match vault.map(|v| v.lookup(&key)) {
            Some(Ok((Some(p), holder))) => (Some(p), format!("the password stored {holder}")),
            Some(Ok((None, holder))) => (
                None,
                format!("no password typed, and none stored for {key} ({holder})"),
            ),
            Some(Err(e)) => (
                None,
                format!("no password typed, and the stored one could not be read: {e}"),
            ),
            None => (
                None,
                "no password typed, and no configuration directory is known here".into(),
            ),
        },
    };
    let Some(secret) = secret else {
        steps.push(ProbeStage::Auth, ProbeOutcome::Failed, from, Vec::new());
        return false;
    };
    let r = core.login(conn, Some(&secret));
    steps
        .ran(ProbeStage::Auth, Some(conn), r, |_| {
            format!("logged in as {user} with {from}")
        })
        .is_some()
}

/// After a failed step: the rest skipped, and a polite QUIT if the connection still stands
/// (a refusal leaves it usable).
fn finish(mut steps: Steps, conn: &mut Conn, failed: ProbeStage, endpoint: String) -> ProbeReport {
    let quit = (!conn.has_broken()).then(|| {
        let r = conn.command("QUIT\r\n", "QUIT");
        (r, conn.transcript.take())
    });
    conn.abort();
    for stage in ProbeStage::ALL.into_iter().skip(steps.steps.len()) {
        if stage != ProbeStage::Quit {
            let detail = format!("not tried: {} failed", failed.label());
            steps.push(stage, ProbeOutcome::Skipped, detail, Vec::new());
        }
    }
    let mut report = ProbeReport {
        endpoint,
        steps: steps.steps,
    };
    report.steps.push(match quit {
        Some((Ok(reply), wire)) => ProbeStep {
            stage: ProbeStage::Quit,
            outcome: ProbeOutcome::Ok,
            detail: reply.text(),
            wire,
        },
        Some((Err(e), wire)) => ProbeStep {
            stage: ProbeStage::Quit,
            outcome: ProbeOutcome::Failed,
            detail: e.to_string(),
            wire,
        },
        None => ProbeStep {
            stage: ProbeStage::Quit,
            outcome: ProbeOutcome::Skipped,
            detail: "the connection is closed".into(),
            wire: Vec::new(),
        },
    });
    report
}

/// The keywords of the EHLO reply in `wire` (its `S: 250-` lines after the first).
fn ehlo_keywords(wire: &[String]) -> Vec<String> {
    wire.iter()
        .filter_map(|l| {
            let i = l.find("S: 250")?;
            l.get(i + "S: 250".len() + 1..).map(str::trim)
        })
        .skip(1)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}
