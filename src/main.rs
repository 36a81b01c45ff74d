//! `spoolbox`: the window without a subcommand, the headless CLI with one.

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;
use spoolbox::cli::{self, Cli};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPOOLBOX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match Cli::try_parse() {
        Ok(a) => a,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            // One clear line, like every other error here, instead of clap's usage block.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.trim_start_matches("error: ");
            eprintln!("spoolbox: error: {first} (see spoolbox --help)");
            return ExitCode::from(2);
        }
    };
    match &args.command {
        Some(cmd) => cli::run(&args, cmd),
        None => match spoolbox::ui::run(spoolbox::ui::Launch {
            store: args.store.clone(),
            default_store: spoolbox::store::Store::default_dir(),
            dark: args.dark,
            breakpoints: args.breakpoints.clone(),
            reset_ui: args.reset_ui,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("spoolbox: error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
