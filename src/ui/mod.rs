//! The desktop app (eframe/egui). Draws state and emits commands; no file or network I/O.

/// Opens the window.
///
/// # Errors
/// When the store cannot be opened or no window can be created.
pub fn run(_cli: &crate::cli::Cli) -> anyhow::Result<()> {
    anyhow::bail!("the window is not built yet")
}
