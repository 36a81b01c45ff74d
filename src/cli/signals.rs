//! SIGINT and SIGTERM during `spoolbox send`: the first one asks the send loop to stop
//! cleanly (the hand-off under way answered and recorded or withdrawn before its final dot,
//! locks released, the journal synced), after which the command exits 130 (SIGINT) or 143
//! (SIGTERM), as a shell reports a command those signals ended. A second one ends the process
//! at once, by the signal's default action (like a crash: what was under way may be sent
//! again by the next run, never lost).

use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Any stop signal arrived: a second one takes the default action.
static ANY: AtomicBool = AtomicBool::new(false);
static INT: AtomicBool = AtomicBool::new(false);
static TERM: AtomicBool = AtomicBool::new(false);

/// Installs the handlers (for the rest of the process). A failure leaves the default action
/// (the process ends at the signal), which is said once on standard error.
pub fn install() {
    for (sig, flag) in [(SIGINT, &INT), (SIGTERM, &TERM)] {
        // The order matters: the default action is armed by the first signal, for the second.
        let r = signal_hook::flag::register_conditional_default(sig, &ANY)
            .and_then(|_| signal_hook::flag::register(sig, flag))
            .and_then(|_| signal_hook::flag::register(sig, &ANY));
        if let Err(e) = r {
            errln!(
                "spoolbox: warning: signal {sig} cannot be caught ({e}); it ends the process at once"
            );
        }
    }
}

/// The signal that asked for a stop, if any: its name and the exit status it leads to.
pub fn received() -> Option<(&'static str, u8)> {
    if TERM.load(Ordering::SeqCst) {
        Some(("SIGTERM", 143))
    } else if INT.load(Ordering::SeqCst) {
        Some(("SIGINT", 130))
    } else {
        None
    }
}
