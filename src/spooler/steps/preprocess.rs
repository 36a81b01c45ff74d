//! Step 1, `Preprocess`: the transports' preprocessors, only with `SUBMITFLAG_PREPROCESS`.

use crate::mapi::flags::{SUBMITFLAG_LOCKED, SUBMITFLAG_PREPROCESS};
use crate::mapi::tags::{PR_REPORT_TEXT, PR_REPORT_TIME, PR_RESPONSIBILITY, PR_SUBMIT_FLAGS};
use crate::mapi::{Message, RecipientState, Step, StepOutcome};
use crate::spooler::Spooler;
use crate::transport::Preprocessed;

use super::{StepDone, Tracer};

/// The end of the `transport` column of a row a preprocessor rejected (`"Fax preprocessor"`).
pub(super) const PREPROCESSOR_SUFFIX: &str = " preprocessor";
/// The start of the report text of a row whose preprocessor failed on the message itself.
pub(super) const PREPROCESSOR_FAILED: &str = "MAPI_E_CORRUPT_DATA: the ";

impl Spooler {
    /// Step 1 (S3): only with `SUBMITFLAG_PREPROCESS`: lock, run the preprocessors of the
    /// transports that will receive recipients in registration order, then the spooler's
    /// resubmit clears `SUBMITFLAG_PREPROCESS`.
    pub(super) fn preprocess(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> Result<StepDone, crate::store::StoreError> {
        let flags = match super::lock::queue_flags(msg) {
            Ok(f) => f,
            Err(e) => return Ok(super::lock::lock_refused(msg, tr, &e)),
        };
        // A deferred message's coupled-store rows were left at submit: delivered now that
        // its time has come (reference a.4 with a.5's deferred send).
        if crate::spooler::submit::coupled_rows(msg, self.store.profile())
            .next()
            .is_some()
        {
            self.deliver_coupled_now(msg, tr)?;
        }
        if flags & SUBMITFLAG_PREPROCESS == 0 {
            return Ok(StepDone::patch(StepOutcome::Skipped, Step::SetLockState));
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
            let pre =
                crate::transport::guarded(|| t.preprocess(msg, &rows)).unwrap_or_else(|why| {
                    let why = format!(
                        "{PREPROCESSOR_FAILED}{name} preprocessor failed on this message ({why})"
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
                    r.transport = Some(format!("{name}{PREPROCESSOR_SUFFIX}"));
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
        Ok(StepDone::patch(StepOutcome::Done, Step::SetLockState))
    }

    /// The coupled store's delivery of a deferred message, when the spooler takes it up.
    fn deliver_coupled_now(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> Result<(), crate::store::StoreError> {
        let profile = self.store.profile().clone();
        let before = msg.clone_head();
        let now = self.now();
        let start = msg.trace.len();
        crate::spooler::submit::deliver_coupled(&mut self.store, msg, &before, &profile, now)
            .map_err(crate::spooler::SpoolerError::into_store_error)?;
        // Its trace lines belong to this step's record.
        for call in msg.trace.drain(start..) {
            tr.call(&call.call, call.args, call.result);
        }
        Ok(())
    }
}
