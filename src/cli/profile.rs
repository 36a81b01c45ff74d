//! `profile`: showing and changing the profile (transports, SMTP settings, retry).

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use crate::mapi::flags;
use crate::profile::{Profile, SmtpSettings, TlsMode, TransportConfig, TransportKind};
use crate::spooler::{Clock, Command, Event, Spooler};
use crate::store::Store;
use crate::transport::credentials::{self, PasswordState, Secret, Vault};
use crate::transport::smtp::{ProbeOutcome, probe};

use super::{Cli, ProfileCmd, notices};

/// The SMTP transport named `name`, or the first one.
fn smtp_config<'a>(
    p: &'a mut Profile,
    name: Option<&str>,
) -> Option<(&'a str, &'a mut SmtpSettings)> {
    p.transports
        .iter_mut()
        .filter(|t| name.is_none_or(|n| t.name == n))
        .find_map(|t| match &mut t.kind {
            TransportKind::Smtp(s) => Some((t.name.as_str(), s)),
            _ => None,
        })
}

pub(super) fn profile(cli: &Cli, store: Store, action: Option<&ProfileCmd>) -> Result<ExitCode> {
    let mut sp = Spooler::new(store, Clock::system());
    sp.drain_events();
    match action {
        None => {}
        Some(ProfileCmd::SetSmtp {
            transport,
            host,
            port,
            tls,
            user,
            timeout,
            deliver_for_real,
        }) => {
            let mut p = sp.store().profile().clone();
            if smtp_config(&mut p, transport.as_deref()).is_none() {
                if let Some(n) = transport {
                    bail!("no SMTP transport named {n:?} in the profile");
                }
                // The demo order: SMTP first, so an offline SMTP declines to the pickup folder.
                p.transports.insert(
                    0,
                    TransportConfig::new(
                        "SMTP",
                        TransportKind::Smtp(SmtpSettings {
                            port: 25,
                            timeout_secs: 30,
                            ..SmtpSettings::default()
                        }),
                        &["SMTP"],
                    ),
                );
            }
            if let Some((_, s)) = smtp_config(&mut p, transport.as_deref()) {
                if let Some(h) = host {
                    h.trim().clone_into(&mut s.host);
                }
                if let Some(x) = port {
                    s.port = *x;
                }
                if let Some(t) = tls {
                    s.tls = (*t).into();
                }
                if let Some(u) = user {
                    s.username = Some(u.trim().to_owned()).filter(|u| !u.is_empty());
                }
                if let Some(t) = timeout {
                    s.timeout_secs = (*t).max(1);
                }
            }
            if let Some(d) = deliver_for_real {
                p.deliver_for_real = *d;
            }
            sp.handle(Command::SaveProfile(Box::new(p)));
            notices(&mut sp)?;
        }
        Some(ProfileCmd::SetPassword { transport }) => {
            let mut p = sp.store().profile().clone();
            let Some((name, s)) = smtp_config(&mut p, transport.as_deref()) else {
                bail!(
                    "the profile has no SMTP transport; add one with `spoolbox profile set-smtp`"
                );
            };
            let Some(user) = s.username.clone() else {
                bail!(
                    "the SMTP transport {name:?} has no user; set one with `spoolbox profile set-smtp --user NAME`"
                );
            };
            if s.host.is_empty() {
                bail!(
                    "the SMTP transport {name:?} has no host; set one with `spoolbox profile set-smtp --host HOST`"
                );
            }
            // On a terminal the password is typed with echo off (never shown on the screen
            // or left in its scroll-back); piped in, it is the first line.
            let mut line = String::new();
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                line = rpassword::prompt_password(format!("Password for {user} (not shown): "))
                    .context("reading the password from the terminal")?;
            } else {
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
            }
            let password = line.trim_end_matches(['\r', '\n']);
            let key = credentials::key(&user, &s.host, s.port);
            let secret = Some(Secret::new(password)).filter(|p| !p.is_empty());
            let state = Vault::for_user()?.store(&key, secret.as_ref())?;
            if state.stored {
                outln!("password for {key} {state} (never in the store)");
            } else {
                outln!("password for {key} removed (from the keyring and the credentials file)");
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(ProfileCmd::Test { transport }) => return test(cli, &sp, transport.as_deref()),
    }
    show_profile(cli, &sp)
}

fn show_profile(cli: &Cli, sp: &Spooler) -> Result<ExitCode> {
    let p = sp.store().profile();
    let status = sp.status_table();
    let vault = Vault::for_user().ok();
    let cred_path = vault.as_ref().map(|v| v.file().to_path_buf());
    let password_state = |s: &SmtpSettings| -> Option<Result<PasswordState, String>> {
        let user = s.username.as_deref()?;
        let key = credentials::key(user, &s.host, s.port);
        Some(match &vault {
            Some(v) => v.state(&key).map_err(|e| e.to_string()),
            None => Err("no configuration directory is known here".into()),
        })
    };
    if cli.json {
        let transports: Vec<_> = p
            .transports
            .iter()
            .map(|t| {
                let row = status.iter().find(|r| r.name == t.name);
                let mut v = serde_json::to_value(t).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("status".into(), row.map(|r| r.text.clone()).into());
                    o.insert(
                        "offline".into(),
                        row.map(|r| r.status_code & flags::STATUS_OFFLINE != 0)
                            .into(),
                    );
                    if let TransportKind::Smtp(s) = &t.kind {
                        let state = password_state(s);
                        let stored = state
                            .as_ref()
                            .and_then(|r| r.as_ref().ok())
                            .map(|p| p.stored);
                        let place = state.map(|r| match r {
                            Ok(p) => p.holder.to_string(),
                            Err(e) => e,
                        });
                        o.insert("password_stored".into(), stored.into());
                        o.insert("password_place".into(), place.into());
                    }
                }
                v
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "sender_name": p.sender_name,
                "sender_address": p.sender_address,
                "deliver_for_real": p.deliver_for_real,
                "transports": transports,
                "coupled_addrtypes": p.coupled_addrtypes,
                "retry": p.retry,
                "credentials_file": cred_path,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("sender: {} <{}>", p.sender_name, p.sender_address);
    outln!(
        "deliver for real: {}",
        if p.deliver_for_real {
            "on (SMTP may connect to any server)"
        } else {
            "off (SMTP connects only to loopback servers; the demo's setting)"
        }
    );
    outln!("transports, in priority order:");
    for (i, t) in p.transports.iter().enumerate() {
        let row = status.iter().find(|r| r.name == t.name);
        outln!(
            "  {}. {} [{}] {}{}",
            i + 1,
            t.name,
            t.address_types.join(", "),
            t.kind.label(),
            if t.enabled { "" } else { " (disabled)" }
        );
        if let TransportKind::Smtp(s) = &t.kind {
            outln!("{}", smtp_line(s));
            match password_state(s) {
                None => {}
                Some(Ok(p)) if p.stored => outln!("       password: {p}"),
                Some(Ok(p)) => outln!(
                    "       password: not stored: run `spoolbox profile set-password` (it would be kept {})",
                    p.holder
                ),
                Some(Err(e)) => outln!("       password: unreadable: {e}"),
            }
        }
        if let TransportKind::Pickup(s) = &t.kind {
            outln!(
                "       directory {}{}",
                s.dir,
                pickup_note(sp.store().root(), s)
            );
        }
        if let Some(r) = row {
            outln!("       status: {}", r.text);
        }
    }
    if !p.coupled_addrtypes.is_empty() {
        outln!("coupled store handles: {}", p.coupled_addrtypes.join(", "));
    }
    outln!(
        "retry: first {} s, at most {} s apart, give up after {} s",
        p.retry.first_delay_secs,
        p.retry.max_delay_secs,
        p.retry.give_up_after_secs
    );
    Ok(ExitCode::SUCCESS)
}

/// The SMTP transport's settings on one line of `profile`.
fn smtp_line(s: &SmtpSettings) -> String {
    format!(
        "       host {}  port {}  tls {}  user {}  timeout {} s",
        if s.host.is_empty() { "(none)" } else { &s.host },
        s.port,
        match s.tls {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "implicit",
        },
        s.username.as_deref().unwrap_or("(none)"),
        s.timeout_secs
    )
}

/// What `profile` says under a pickup directory the transport refuses (inside the store's own
/// folders): a line of its own, or nothing.
fn pickup_note(root: &std::path::Path, s: &crate::profile::PickupSettings) -> String {
    let dir = crate::transport::pickup::PickupTransport::new("", &[], s.clone()).dir(root);
    crate::transport::pickup::inside_store(root, &dir)
        .map(|why| format!("\n       refused at every send: {why}"))
        .unwrap_or_default()
}

/// `profile test`: the saved settings' logon, step by step.
fn test(cli: &Cli, sp: &Spooler, transport: Option<&str>) -> Result<ExitCode> {
    let mut p = sp.store().profile().clone();
    let deliver_for_real = p.deliver_for_real;
    let Some((_, s)) = smtp_config(&mut p, transport) else {
        match transport {
            Some(n) => bail!("no SMTP transport named {n:?} in the profile"),
            None => {
                bail!("the profile has no SMTP transport; add one with `spoolbox profile set-smtp`")
            }
        }
    };
    let report = probe(s, None, deliver_for_real);
    if cli.json {
        let steps: Vec<_> = report
            .steps
            .iter()
            .map(|s| {
                serde_json::json!({
                    "step": s.stage.label(),
                    "result": s.outcome.word(),
                    "detail": s.detail,
                    "wire": s.wire,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "endpoint": report.endpoint,
                "ok": report.ok(),
                "steps": steps,
            }))?
        );
    } else {
        for line in report.lines() {
            outln!("{line}");
        }
        let failed = report
            .steps
            .iter()
            .find(|s| s.outcome == ProbeOutcome::Failed);
        match failed {
            Some(f) => outln!("{} failed: {}", f.stage.label(), f.detail),
            None => outln!("the server accepts this logon"),
        }
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub(super) fn one_command(sp: &mut Spooler, cmd: Command) -> Result<()> {
    sp.handle(cmd);
    for e in sp.drain_events() {
        if let Event::Error(text) = e {
            bail!(text);
        }
    }
    Ok(())
}
