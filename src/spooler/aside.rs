//! Commands answered off the spooler's loop: a connection test (a logon that may wait for a
//! slow server) and the password's keyring or file (a keyring may take a moment to answer).
//! The worker runs each on a short-lived thread of its own and sends its answer as events
//! ([`super::worker`]); the headless [`super::Spooler::handle`] runs them in place.

use std::path::Path;

use super::{Command, Event};
use crate::profile::SmtpSettings;
use crate::store::timeline;
use crate::transport::credentials::{Secret, Vault};

/// What Test connection tries: the settings on screen (saved or not), with the password
/// typed there (`None`: the stored one).
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionTest {
    /// Echoed in the answer, so that the window matches answers to the tests it asked for.
    pub id: u64,
    /// The SMTP settings.
    pub settings: SmtpSettings,
    /// The password typed (never shown: [`Secret`]).
    pub password: Option<Secret>,
    /// The profile's deliver-for-real switch as on screen: off, only loopback is tried.
    pub deliver_for_real: bool,
}

impl Command {
    /// True for the commands answered off the spooler's loop.
    pub fn runs_aside(&self) -> bool {
        matches!(
            self,
            Self::TestConnection(_)
                | Self::LookUpPassword(_)
                | Self::StorePassword(..)
                | Self::LoadTimeline(_)
                | Self::ExportTimeline { .. }
        )
    }
}

/// Runs one of the commands that [`Command::runs_aside`], blocking; its answer.
pub fn run(cmd: Command) -> Vec<Event> {
    match cmd {
        Command::TestConnection(t) => {
            let report =
                crate::transport::smtp::probe(&t.settings, t.password.as_ref(), t.deliver_for_real);
            vec![Event::ConnectionTested {
                id: t.id,
                report: Box::new(report),
            }]
        }
        Command::LookUpPassword(key) => {
            let state = Vault::for_user()
                .and_then(|v| v.state(&key))
                .map_err(|e| e.to_string());
            vec![Event::Password { key, state }]
        }
        Command::StorePassword(key, secret) => {
            let state = Vault::for_user()
                .and_then(|v| v.store(&key, secret.as_ref()))
                .map_err(|e| e.to_string());
            let notice = match &state {
                Ok(s) if s.stored => Event::Notice(format!("password for {key} {s}")),
                Ok(_) => Event::Notice(format!("password for {key} forgotten")),
                Err(e) => Event::Error(format!("the password for {key} was not stored: {e}")),
            };
            vec![notice, Event::Password { key, state }]
        }
        // As many as the window keeps, read from the end: never the whole history at once.
        Command::LoadTimeline(root) => match timeline::read(
            &root,
            timeline::Filter {
                since: None,
                last: Some(timeline::HISTORY_SPANS),
            },
        ) {
            Ok(r) => vec![Event::TimelineHistory(r.spans)],
            Err(e) => vec![Event::Error(format!(
                "the recorded timeline could not be read: {e}"
            ))],
        },
        Command::ExportTimeline { root, path } => vec![export_timeline(&root, &path)],
        _ => Vec::new(),
    }
}

/// Writes the timeline recorded under `root` to `path` as a Chrome trace event file.
fn export_timeline(root: &Path, path: &Path) -> Event {
    let written = timeline::read(root, timeline::Filter::default()).and_then(|r| {
        timeline::chrome::write(path, &r.spans, &root.display().to_string())?;
        Ok(r.spans.len())
    });
    match written {
        Ok(n) => Event::Notice(format!(
            "timeline exported: {n} span(s) to {} (open it in Perfetto or chrome://tracing)",
            path.display()
        )),
        Err(e) => Event::Error(format!(
            "the timeline was not exported to {}: {e}",
            path.display()
        )),
    }
}
