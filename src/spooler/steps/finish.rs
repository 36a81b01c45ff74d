//! Steps 5 and 6a: `RemovePreprocessInfo` and `IMsgStore::FinishedMsg`.

use crate::mapi::flags::{MSGFLAG_READ, MSGFLAG_SUBMIT, MSGFLAG_UNSENT};
use crate::mapi::tags::{PR_MESSAGE_FLAGS, PR_PREPROCESS, PR_SUBMIT_FLAGS};
use crate::mapi::{Message, SpoolState, Step, StepOutcome};
use crate::spooler::Spooler;

use super::{StepDone, Tracer};

impl Spooler {
    /// Step 5 (S11): only if `PR_PREPROCESS`: each preprocessor that ran cleans up.
    pub(super) fn remove_preprocess_info(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> StepDone {
        if msg.props.boolean(PR_PREPROCESS) != Some(true) {
            return StepDone::patch(StepOutcome::Skipped, Step::FinishedMsg);
        }
        for name in msg.spool.preprocessed_by.clone() {
            if let Some(t) = self.transports.iter_mut().find(|t| t.name() == name) {
                let note = t.remove_preprocess_info(msg);
                tr.call(
                    "RemovePreprocessInfo",
                    format!("{name}, {}", msg.entry_id),
                    format!("S_OK: {note}"),
                );
            }
        }
        StepDone::patch(StepOutcome::Done, Step::FinishedMsg)
    }

    /// Step 6a (S12): `IMsgStore::FinishedMsg`: the store unlocks the message and clears
    /// `MSGFLAG_SUBMIT`/`MSGFLAG_UNSENT`; the message leaves the outgoing queue.
    pub(super) fn finished_msg(msg: &mut Message, tr: &mut Tracer) -> StepDone {
        msg.props.remove(PR_SUBMIT_FLAGS);
        msg.props
            .clear_flags(PR_MESSAGE_FLAGS, MSGFLAG_SUBMIT | MSGFLAG_UNSENT);
        msg.props.add_flags(PR_MESSAGE_FLAGS, MSGFLAG_READ);
        msg.spool = SpoolState {
            preprocessed_by: msg.spool.preprocessed_by.clone(),
            ndr: msg.spool.ndr,
            dr: msg.spool.dr,
            finishing: true,
            submission: msg.spool.submission,
            ..SpoolState::default()
        };
        tr.call(
            "IMsgStore::FinishedMsg",
            format!("0, {}", msg.entry_id),
            "S_OK (unlocked, MSGFLAG_SUBMIT cleared)",
        );
        StepDone::patch(StepOutcome::Done, Step::DoSentMail)
    }
}
