//! Standard output and error for the command line, written without panicking: a reader that
//! went away (`spoolbox send --all | head -3`) ends the command cleanly instead of a panic in
//! `println!`. The first failed write marks standard output closed; nothing more is written to
//! it, `spoolbox send` stops as on a signal (locks released, marks recorded), and the command
//! exits 141 (128 + SIGPIPE, what a shell reports for a command killed by a closed pipe).

use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Standard output failed: no more writes, the command stops.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// Why, when it was not a closed pipe (a full disk under a redirect, say): reported at exit.
static OTHER: Mutex<Option<String>> = Mutex::new(None);

/// Writes `args` to standard output (flushed at each newline); a failure marks it closed.
pub fn write(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        closed(&e);
    }
}

/// Flushes standard output at the end of a command (text written without a newline).
pub fn flush() {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = std::io::stdout().lock().flush() {
        closed(&e);
    }
}

fn closed(e: &std::io::Error) {
    CLOSED.store(true, Ordering::Relaxed);
    if e.kind() != std::io::ErrorKind::BrokenPipe
        && let Ok(mut o) = OTHER.lock()
    {
        o.get_or_insert_with(|| e.to_string());
    }
}

/// True once a write to standard output failed.
pub fn is_closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Why standard output failed, if not because its reader went away.
pub fn failure() -> Option<String> {
    OTHER.lock().ok().and_then(|o| o.clone())
}

/// Writes one line to standard error; a failure is ignored (there is nowhere left to say it).
pub fn error_line(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `println!` that never panics: see [`write`].
macro_rules! outln {
    () => {
        $crate::cli::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::error_line(format_args!($($arg)*))
    };
}
