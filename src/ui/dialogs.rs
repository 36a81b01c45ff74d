//! File dialogs that never block the frame, and a path field where none can open.
//!
//! A dialog runs on a thread of its own (rfd's blocking dialog; the frame keeps drawing) and
//! hands back paths, which travel to the worker as commands: the window never opens a file.
//! Where no dialog can open (no desktop portal and no zenity, as on a bare X server) rfd
//! returns at once as if cancelled; an answer within [`NO_DIALOG_WITHIN`] is read as "no
//! dialog", and a path field takes its place, with a notification saying why.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

use crate::mapi::EntryId;

/// No person cancels a dialog this fast: an empty answer sooner means none opened. (A
/// portal that fails slowly under load took longer than the 300 ms this once was, and the
/// dialog then seemed to do nothing; a quick Escape now gets the path field, which Escape
/// closes too.)
pub const NO_DIALOG_WITHIN: Duration = Duration::from_secs(2);

/// Why no file dialog can open on this desktop, before trying one (`None`: one may). On
/// Linux and the BSDs rfd asks the desktop portal over the session's D-Bus, then zenity:
/// with neither a session bus and a portal installed, nor zenity on `PATH`, it would return
/// as if cancelled, so the path field is shown at once instead, with this reason.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn no_dialog_reason(
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
    exists: impl Fn(&std::path::Path) -> bool,
) -> Option<String> {
    let on_path = |name: &str| {
        env("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| exists(&d.join(name))))
    };
    if on_path("zenity") {
        return None;
    }
    let bus = env("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty())
        || env("XDG_RUNTIME_DIR").is_some_and(|d| exists(&std::path::Path::new(&d).join("bus")));
    let portal = [
        "/usr/libexec/xdg-desktop-portal",
        "/usr/lib/xdg-desktop-portal",
        "/usr/lib/xdg-desktop-portal/xdg-desktop-portal",
    ]
    .iter()
    .any(|p| exists(std::path::Path::new(p)));
    match (bus, portal) {
        (true, true) => None,
        (false, _) => Some(
            "no file dialog can open here (no D-Bus session for a desktop portal, and no zenity): type a path"
                .into(),
        ),
        (true, false) => Some(
            "no file dialog can open here (no desktop portal installed, and no zenity): type a path"
                .into(),
        ),
    }
}

/// Why no file dialog can open (elsewhere the platform always has one).
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn no_dialog_reason(
    _env: impl Fn(&str) -> Option<std::ffi::OsString>,
    _exists: impl Fn(&std::path::Path) -> bool,
) -> Option<String> {
    None
}

/// The folder a typed relative path (or `~/`) is read from: the home folder, never the
/// process's working directory (which the person typing cannot see).
pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
}

/// What the picked path is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Import `.eml` files as drafts.
    Import,
    /// Export a message as `.eml`.
    Export(EntryId),
    /// Save a message's trace as text.
    ExportTrace(EntryId),
    /// Open (or create) another store.
    OpenStore,
    /// Attach files to a draft.
    Attach(EntryId),
    /// The pickup folder's directory, for the transport at this place in the Profile form.
    PickupDir(usize),
    /// Export the recorded timeline as a Chrome trace event file.
    ExportTimeline,
}

impl Purpose {
    /// The dialog's title and the path field's label.
    pub fn title(self) -> &'static str {
        match self {
            Self::Import => "Import .eml files",
            Self::Export(_) => "Export as .eml",
            Self::ExportTrace(_) => "Export the trace",
            Self::OpenStore => "Open or create a Spoolbox store",
            Self::Attach(_) => "Attach files",
            Self::PickupDir(_) => "Pickup directory",
            Self::ExportTimeline => "Export the timeline (Chrome trace event file)",
        }
    }

    fn saves(self) -> bool {
        matches!(
            self,
            Self::Export(_) | Self::ExportTrace(_) | Self::ExportTimeline
        )
    }

    /// The file name a save dialog proposes.
    pub fn suggested_name(self) -> Option<String> {
        match self {
            Self::Export(eid) => Some(format!("message-{eid}.eml")),
            Self::ExportTrace(eid) => Some(format!("trace-{eid}.txt")),
            Self::ExportTimeline => Some("spoolbox-timeline.json".into()),
            _ => None,
        }
    }
}

/// How dialogs are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The platform's dialogs through rfd, falling back to the path field.
    Native,
    /// Always the path field (`SPOOLBOX_NO_FILE_DIALOG=1`, tests, machines without a desktop).
    PathField,
}

/// A path field shown instead of a dialog.
#[derive(Clone, Debug)]
pub struct PathField {
    /// What it is for.
    pub purpose: Purpose,
    /// What the user typed.
    pub text: String,
    /// Why it shows (no dialog could open).
    pub why: String,
}

/// A dialog on its thread: what it is for, when it opened, and where its answer comes.
type Running = (Purpose, Instant, Receiver<Option<Vec<PathBuf>>>);

/// Dialogs under way.
#[derive(Debug)]
pub struct Dialogs {
    backend: Backend,
    running: Option<Running>,
    /// The path field shown, if any.
    pub field: Option<PathField>,
}

impl Default for Dialogs {
    fn default() -> Self {
        let off = std::env::var_os("SPOOLBOX_NO_FILE_DIALOG").is_some_and(|v| v != "0");
        Self::new(if off {
            Backend::PathField
        } else {
            Backend::Native
        })
    }
}

/// What became of a dialog.
#[derive(Debug, PartialEq, Eq)]
pub enum Picked {
    /// Paths picked (or typed).
    Paths(Purpose, Vec<PathBuf>),
    /// No dialog could open: the path field is shown; the text says why.
    Fallback(String),
}

impl Dialogs {
    /// Dialogs shown through `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            running: None,
            field: None,
        }
    }

    /// True while a dialog is open (its button is disabled meanwhile).
    pub fn busy(&self) -> bool {
        self.running.is_some() || self.field.is_some()
    }

    /// Opens a dialog for `purpose` (without waiting for it).
    pub fn open(&mut self, purpose: Purpose) {
        if self.busy() {
            return;
        }
        if self.backend == Backend::PathField {
            self.field = Some(PathField {
                purpose,
                text: String::new(),
                why: "file dialogs are off here (SPOOLBOX_NO_FILE_DIALOG): type a path".into(),
            });
            return;
        }
        if let Some(why) = no_dialog_reason(|k| std::env::var_os(k), std::path::Path::exists) {
            self.field = Some(PathField {
                purpose,
                text: String::new(),
                why,
            });
            return;
        }
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("spoolbox-file-dialog".into())
            .spawn(move || {
                let mut d = rfd::FileDialog::new().set_title(purpose.title());
                if let Some(n) = purpose.suggested_name() {
                    d = d.set_file_name(n);
                }
                if matches!(purpose, Purpose::Import) {
                    d = d.add_filter("E-mail message", &["eml"]);
                }
                let picked = match purpose {
                    Purpose::OpenStore | Purpose::PickupDir(_) => d.pick_folder().map(|p| vec![p]),
                    p if p.saves() => d.save_file().map(|p| vec![p]),
                    _ => d.pick_files(),
                };
                let _ = tx.send(picked);
            });
        match spawned {
            Ok(_) => self.running = Some((purpose, Instant::now(), rx)),
            Err(e) => {
                self.field = Some(PathField {
                    purpose,
                    text: String::new(),
                    why: format!("no file dialog could start ({e}): type a path"),
                });
            }
        }
    }

    /// Collects a finished dialog (called every frame).
    pub fn poll(&mut self) -> Option<Picked> {
        let (purpose, started, rx) = self.running.as_ref()?;
        let (purpose, started) = (*purpose, *started);
        let answer = match rx.try_recv() {
            Ok(a) => a,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => None,
        };
        self.running = None;
        match answer {
            Some(paths) if !paths.is_empty() => Some(Picked::Paths(purpose, paths)),
            _ if started.elapsed() < NO_DIALOG_WITHIN => {
                let why = "no file dialog could open here (the desktop portal and zenity answered nothing): type a path instead".to_owned();
                self.field = Some(PathField {
                    purpose,
                    text: String::new(),
                    why: why.clone(),
                });
                Some(Picked::Fallback(why))
            }
            _ => None,
        }
    }

    /// The path field's answer: the typed paths (several for Import/Attach, separated by
    /// new lines), or nothing when cancelled.
    pub fn submit_field(&mut self, ok: bool) -> Option<Picked> {
        let f = self.field.take()?;
        if !ok {
            return None;
        }
        let paths: Vec<PathBuf> = f
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let typed = PathBuf::from(l.strip_prefix("~/").unwrap_or(l));
                match home() {
                    Some(h) if typed.is_relative() => h.join(typed),
                    _ => typed,
                }
            })
            .collect();
        (!paths.is_empty()).then_some(Picked::Paths(f.purpose, paths))
    }
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use std::ffi::OsString;
    use std::path::Path;

    use super::no_dialog_reason;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn a_dialog_is_tried_only_where_one_can_open() {
        let none = |_: &Path| false;
        let zenity = |p: &Path| p == Path::new("/usr/bin/zenity");
        let portal = |p: &Path| p == Path::new("/usr/libexec/xdg-desktop-portal");
        let path = [("PATH", "/usr/local/bin:/usr/bin")];
        let why = no_dialog_reason(env(&path), none).unwrap_or_default();
        assert!(why.contains("no D-Bus session"), "{why}");
        assert_eq!(
            no_dialog_reason(env(&path), zenity),
            None,
            "zenity is enough"
        );
        let bus = [
            ("PATH", "/usr/bin"),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus"),
        ];
        assert_eq!(
            no_dialog_reason(env(&bus), portal),
            None,
            "a bus and a portal"
        );
        let why = no_dialog_reason(env(&bus), none).unwrap_or_default();
        assert!(why.contains("no desktop portal installed"), "{why}");
    }
}
