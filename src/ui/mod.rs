//! The desktop app (eframe/egui). Draws state and emits commands; no file or network I/O:
//! the spooler worker owns the store, and dialogs only return paths that travel as commands.

pub mod app;
pub mod compose;
pub mod detail;
pub mod dialogs;
pub mod folders;
pub mod model;
pub mod notify;
pub mod outbox;
pub mod status;
pub mod theme;
pub mod toolbar;
pub mod windows;

pub use app::SpoolboxApp;

/// What a panel asks of the app, applied after the panel has drawn (as egui's demo app and
/// rerun's viewer do): a panel reads the model and pushes intents, and never reaches for the
/// worker, a dialog or another panel itself.
#[derive(Debug)]
pub enum Intent {
    /// Send a command to the spooler.
    Command(crate::spooler::Command),
    /// The editor submitted this draft: close the editor now, in this frame.
    Submitted(crate::mapi::EntryId),
    /// Tell the user something went wrong.
    Error(String),
    /// Ask for a path (a dialog, or the path field where none can open).
    PickFile(dialogs::Purpose),
    /// Save the draft in the editor now.
    SaveNow,
}

/// What the window opens with (from the command line, resolved by `main`).
#[derive(Clone, Debug)]
pub struct Launch {
    /// The store directory.
    pub store: std::path::PathBuf,
    /// Start in dark mode.
    pub dark: bool,
    /// Breakpoints set before the first step.
    pub breakpoints: Vec<crate::mapi::Step>,
}

/// Opens the window on `launch.store`.
///
/// # Errors
/// When no window can be created.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    let Launch {
        store: dir,
        dark,
        breakpoints,
    } = launch;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Spoolbox — MAPI spooler debugger")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 560.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Spoolbox",
        options,
        Box::new(move |cc| {
            let mut app = SpoolboxApp::new(cc, dir, dark);
            for step in breakpoints {
                app.command(crate::spooler::Command::SetBreakpoint(step, true));
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
