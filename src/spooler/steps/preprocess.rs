//! Step 1, `Preprocess`: the transports' preprocessors, only with `SUBMITFLAG_PREPROCESS`.

use crate::mapi::flags::{SUBMITFLAG_LOCKED, SUBMITFLAG_PREPROCESS};
use crate::mapi::tags::{PR_REPORT_TEXT, PR_REPORT_TIME, PR_RESPONSIBILITY, PR_SUBMIT_FLAGS};
use crate::mapi::{Message, RecipientState, Step, StepOutcome};
use crate::spooler::Spooler;
use crate::transport::Preprocessed;

use super::{StepDone, Tracer};

impl Spooler {
    /// Step 1 (S3): only with `SUBMITFLAG_PREPROCESS`: lock, run the preprocessors of the
    /// transports that will receive recipients in registration order, then the spooler's
    /// resubmit clears `SUBMITFLAG_PREPROCESS`.
    pub(super) fn preprocess(&mut self, msg: &mut Message, tr: &mut Tracer) -> StepDone {
        let flags = match super::lock::queue_flags(msg) {
            Ok(f) => f,
            Err(e) => return super::lock::lock_refused(msg, tr, &e),
        };
        if flags & SUBMITFLAG_PREPROCESS == 0 {
            return StepDone::patch(StepOutcome::Skipped, Step::SetLockState);
        }
        let eid = msg.entry_id;
        msg.props
            .set_flags(PR_SUBMIT_FLAGS, flags | SUBMITFLAG_LOCKED);
        tr.call(
            "IMsgStore::SetLockState",
            format!("{eid}, MSG_LOCKED"),
            "S_OK",
        );
        let now = self.now();
        for (ti, rows) in self.route(msg) {
            let Some(t) = self.transports.get_mut(ti) else {
                continue;
            };
            if !t.has_preprocessor() {
                continue;
            }
            let name = t.name().to_owned();
            let pre = crate::transport::guarded(|| t.preprocess(msg, &rows)).unwrap_or_else(|why| {
                let why = format!(
                    "MAPI_E_CORRUPT_DATA: the {name} preprocessor failed on this message ({why})"
                );
                Preprocessed {
                    rejected: rows.iter().map(|r| (*r, why.clone())).collect(),
                    note: why,
                }
            });
            tr.call(
                "PreprocessMessage",
                format!("{name}, {eid}, {} row(s)", rows.len()),
                format!("S_OK: {}", pre.note),
            );
            for (row, why) in pre.rejected {
                if let Some(r) = msg.recipient_mut(row) {
                    r.props.set_bool(PR_RESPONSIBILITY, true);
                    r.props.set_text(PR_REPORT_TEXT, why.clone());
                    r.props.set_time(PR_REPORT_TIME, now);
                    r.outcome = RecipientState::Failed;
                    r.transport = Some(format!("{name} preprocessor"));
                }
                tr.call(
                    "PreprocessMessage (lppRecipList)",
                    format!("row {row}"),
                    format!("rejected: {why}"),
                );
            }
            msg.spool.preprocessed_by.push(name);
        }
        msg.props.set_flags(PR_SUBMIT_FLAGS, SUBMITFLAG_LOCKED);
        tr.call(
            "IMessage::SubmitMessage",
            "spooler resubmit",
            "S_OK (SUBMITFLAG_PREPROCESS cleared)",
        );
        StepDone::patch(StepOutcome::Done, Step::SetLockState)
    }
}
