//! The desktop app (eframe/egui). Draws state and emits commands; no file or network I/O:
//! the spooler worker owns the store, and dialogs only return paths that travel as commands.
//!
//! Each panel is a function of the [`model::Model`] (read only), its own edit state and a
//! list of [`Intent`]s; [`SpoolboxApp::apply`] acts on them after the frame. From the spooler
//! the window reads its `Command`/`Event` contract, the worker that runs it, and
//! `spooler::view` (pure functions of plain data).

pub mod app;
pub mod bulk;
pub mod columns;
pub mod compose;
pub mod confirm;
pub mod detail;
pub mod dialogs;
pub mod folders;
pub mod help;
pub mod intent;
pub mod keys;
pub mod model;
pub mod notify;
pub mod order;
pub mod outbox;
pub mod persist;
pub mod settings;
pub mod status;
pub mod theme;
pub mod timeline;
pub mod toolbar;
pub mod windows;

pub use app::SpoolboxApp;
pub use intent::Intent;

/// What the window opens with (from the command line, resolved by `main`).
#[derive(Clone, Debug)]
pub struct Launch {
    /// The store directory given with `--store` (it wins over the remembered one).
    pub store: Option<std::path::PathBuf>,
    /// The store when none is given or remembered (the platform data directory).
    pub default_store: Option<std::path::PathBuf>,
    /// Start in dark mode.
    pub dark: bool,
    /// Breakpoints set before the first step (besides the remembered ones).
    pub breakpoints: Vec<crate::mapi::Step>,
    /// `--reset-ui`: forget what the window remembered and start from defaults.
    pub reset_ui: bool,
}

/// What the window starts with: the remembered state (or defaults when `launch.reset_ui`),
/// with the command line on top (`--dark`, `--break`), and the store to open.
///
/// # Errors
/// When no store is given, remembered or known.
pub fn start_state(
    launch: &Launch,
    storage: Option<&dyn eframe::Storage>,
) -> anyhow::Result<(std::path::PathBuf, persist::UiState)> {
    let mut state = persist::UiState::restored(storage, launch.reset_ui);
    let dir = state
        .store_to_open(launch.store.clone(), launch.default_store.clone())
        .ok_or_else(|| {
            anyhow::anyhow!("no platform data directory is known here; pass --store DIR")
        })?;
    state.dark |= launch.dark;
    for step in &launch.breakpoints {
        if !state.breakpoints.contains(step) {
            state.breakpoints.push(*step);
        }
    }
    Ok((dir, state))
}

/// The application icon (`assets/spoolbox.svg`, rendered at 256 px).
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/spoolbox.png");

/// Opens the window on the store `launch` names (or the remembered one).
///
/// # Errors
/// When no window can be created.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    let file = persist::storage_file();
    if launch.reset_ui
        && let Some(f) = &file
    {
        // The window's size and position go too (eframe reads them before the app starts);
        // the file is written again, from defaults, when the window closes.
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("--reset-ui: could not remove {}: {e}", f.display()),
        }
    }
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Spoolbox — MAPI spooler debugger")
        .with_app_id("spoolbox");
    // The icon is built in; a broken one (never expected) leaves the desktop's default.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(ICON_PNG) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport: viewport
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 560.0]),
        persist_window: true,
        persistence_path: file,
        ..Default::default()
    };
    eframe::run_native(
        "Spoolbox",
        options,
        Box::new(move |cc| {
            let (dir, state) = start_state(&launch, cc.storage)?;
            Ok(Box::new(SpoolboxApp::with_state(cc, dir, state)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
