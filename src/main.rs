//! `spoolbox`: the window without a subcommand, the headless CLI with one.

use std::process::ExitCode;

use clap::Parser as _;
use spoolbox::cli::{self, Cli};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPOOLBOX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Cli::parse();
    match &args.command {
        Some(cmd) => cli::run(&args, cmd),
        None => match spoolbox::ui::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("spoolbox: error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
