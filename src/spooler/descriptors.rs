//! Running out of file descriptors (`EMFILE`, `ENFILE`: a low `ulimit -n`, or the group
//! commit holding many files at once) is a local condition that passes as soon as some are
//! closed, never a fault of the message: a step that fails for it is tried again after a short
//! pause, without charging the message an attempt or giving it a retry timer, and it is said
//! once, not once per message. Only when it lasts ([`GIVE_UP_AFTER`]) does the usual retry
//! policy take over.

use std::time::{Duration, Instant};

use crate::store::StoreError;

use super::{Event, Spooler};

/// The first pause; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);
/// How long a shortage may last before the messages are failed (and retried) as usual.
const GIVE_UP_AFTER: Duration = Duration::from_mins(1);
/// A shortage is said again after this long.
const SAY_AGAIN_AFTER: Duration = Duration::from_mins(1);

/// The shortage under way, if any.
#[derive(Debug, Default)]
pub(super) struct Shortage {
    since: Option<Instant>,
    pause: Duration,
    /// When it was last said (at most once a minute, however many shortages come and go).
    said: Option<Instant>,
}

impl Shortage {
    /// A step failed for want of a descriptor: true (after a short pause) when it is to be
    /// tried again as if nothing happened, false once the shortage has lasted too long. It is
    /// `announce`d at most once a minute.
    pub(super) fn wait(&mut self, announce: impl FnOnce()) -> bool {
        if self.said.is_none_or(|t| t.elapsed() > SAY_AGAIN_AFTER) {
            announce();
            self.said = Some(Instant::now());
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        if since.elapsed() > GIVE_UP_AFTER {
            return false;
        }
        self.pause = (self.pause * 2).clamp(FIRST_PAUSE, LONGEST_PAUSE);
        std::thread::sleep(self.pause);
        true
    }

    /// A step went through: the shortage, if any, is over.
    pub(super) fn over(&mut self) {
        self.since = None;
        self.pause = Duration::ZERO;
    }
}

impl Spooler {
    /// `e` failed for want of a file descriptor: true (after a short pause) when what failed
    /// is to be tried again as if nothing happened; said once, not once per message.
    pub(super) fn wait_for_descriptor(&mut self, e: &StoreError) -> bool {
        let events = &mut self.events;
        self.descriptors.wait(|| {
            events.push(Event::Notice(format!(
                "out of file descriptors (ulimit -n): the spooler pauses for a moment and tries again; {e}"
            )));
        })
    }
}
