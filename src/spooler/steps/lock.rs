//! Step 2, `IMsgStore::SetLockState`, and the queue check every lock makes first.

use crate::mapi::flags::SUBMITFLAG_LOCKED;
use crate::mapi::tags::PR_SUBMIT_FLAGS;
use crate::mapi::{MapiCode, MapiError, Message, Step, StepOutcome};
use crate::spooler::Spooler;

use super::{Disposal, StepDone, Tracer};

/// What `SetLockState` finds before it locks (reference e.7, e.8): the message's
/// `PR_SUBMIT_FLAGS`, or why it cannot be locked: not in the outgoing queue
/// (`MAPI_E_NOT_IN_QUEUE`: `MSGFLAG_SUBMIT` is clear), or submitted without readable submit
/// flags, a corrupt state (`MAPI_E_CORRUPT_STORE`).
pub(super) fn queue_flags(msg: &Message) -> Result<u32, MapiError> {
    let eid = msg.entry_id;
    if !msg.is_submitted() {
        return Err(MapiError::new(
            MapiCode::NotInQueue,
            format!("message {eid} is not in the outgoing queue (MSGFLAG_SUBMIT is clear)"),
        ));
    }
    msg.submit_flags().ok_or_else(|| {
        MapiError::new(
            MapiCode::CorruptStore,
            format!(
                "message {eid} is submitted (MSGFLAG_SUBMIT) but its PR_SUBMIT_FLAGS is missing or not a number"
            ),
        )
    })
}

/// The lock refused (`e` from [`queue_flags`]): said in the trace, and the message taken
/// out of the pipeline. One not in the queue simply leaves it; a corrupt one is held with the
/// reason, so the queue goes on and the user sees why (Abort submit gives it back as a draft).
pub(super) fn lock_refused(msg: &mut Message, tr: &mut Tracer, e: &MapiError) -> StepDone {
    let text = e.to_string();
    tr.call(
        "IMsgStore::SetLockState",
        format!("{}, MSG_LOCKED", msg.entry_id),
        text.clone(),
    );
    msg.spool.last_error = Some(text.clone());
    let next = if e.code == MapiCode::CorruptStore {
        msg.spool.held = true;
        Some(Step::SetLockState)
    } else {
        None
    };
    StepDone {
        outcome: StepOutcome::Failed(text),
        next,
        disposal: Disposal::Patch { sync: true },
    }
}

impl Spooler {
    /// Step 2 (S5): `IMsgStore::SetLockState(MSG_LOCKED)` unless already locked; refused for
    /// a message not in the queue or with corrupt submit flags.
    pub(super) fn set_lock_state(msg: &mut Message, tr: &mut Tracer) -> StepDone {
        let flags = match queue_flags(msg) {
            Ok(f) => f,
            Err(e) => return lock_refused(msg, tr, &e),
        };
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
