//! The desktop app (eframe/egui). Draws state and emits commands; no file or network I/O:
//! the spooler worker owns the store, and dialogs only return paths that travel as commands.

pub mod app;
pub mod compose;
pub mod detail;
pub mod folders;
pub mod model;
pub mod outbox;
pub mod status;
pub mod theme;
pub mod toolbar;
pub mod windows;

pub use app::SpoolboxApp;

/// Opens the window on the store the command line names (or the default one).
///
/// # Errors
/// When no store directory is known or no window can be created.
pub fn run(cli: &crate::cli::Cli) -> anyhow::Result<()> {
    let dir = crate::cli::store_dir(cli)?;
    let dark = cli.dark;
    let breakpoints = cli.breakpoints.clone();
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
