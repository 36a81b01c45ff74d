//! Step 2, `IMsgStore::SetLockState`.

use crate::mapi::flags::SUBMITFLAG_LOCKED;
use crate::mapi::tags::PR_SUBMIT_FLAGS;
use crate::mapi::{Message, Step, StepOutcome};
use crate::spooler::Spooler;

use super::{StepDone, Tracer};

impl Spooler {
    /// Step 2 (S5): `IMsgStore::SetLockState(MSG_LOCKED)` unless already locked.
    pub(super) fn set_lock_state(msg: &mut Message, tr: &mut Tracer) -> StepDone {
        let flags = msg.submit_flags().unwrap_or(0);
        if flags & SUBMITFLAG_LOCKED != 0 {
            return StepDone::patch(StepOutcome::Skipped, Step::Transmit);
        }
        msg.props
            .set_flags(PR_SUBMIT_FLAGS, flags | SUBMITFLAG_LOCKED);
        tr.call(
            "IMsgStore::SetLockState",
            format!("{}, MSG_LOCKED", msg.entry_id),
            "S_OK",
        );
        StepDone::patch(StepOutcome::Done, Step::Transmit)
    }
}
