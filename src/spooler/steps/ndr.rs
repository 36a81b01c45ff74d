//! Step 4, `NonDeliveryReport`: one NDR in Inbox for every recipient that failed for good.

use std::fmt::Write as _;

use crate::mapi::flags::{MAPI_REASON_TRANSFER_FAILED, MAPI_REASON_TRANSFER_IMPOSSIBLE};
use crate::mapi::tags::{
    PR_DELIVER_TIME, PR_MESSAGE_FLAGS, PR_NDR_REASON_CODE, PR_ORIG_MESSAGE_CLASS,
    PR_ORIGINAL_DISPLAY_TO, PR_ORIGINAL_SUBJECT, PR_ORIGINAL_SUBMIT_TIME,
    PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, PR_REPORT_TEXT, PR_REPORT_TIME, PR_RESPONSIBILITY,
};
use crate::mapi::{Message, RecipientState, SpoolState, Step, StepOutcome};
use crate::spooler::{Event, Spooler};
use crate::store::{FolderKind, Patch, StoreError};

use super::{StepDone, Tracer};

impl Spooler {
    /// Step 4 (S10): one NDR in Inbox for every recipient that failed for good or that no
    /// transport accepted, unless `PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED` is FALSE.
    pub(super) fn non_delivery_report(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> Result<StepDone, StoreError> {
        let failed: Vec<_> = msg
            .recipients
            .iter()
            .filter(|r| r.outcome.needs_ndr())
            .cloned()
            .collect();
        if failed.is_empty() {
            return Ok(StepDone::patch(
                StepOutcome::Skipped,
                Step::RemovePreprocessInfo,
            ));
        }
        let eid = msg.entry_id;
        if msg
            .props
            .boolean(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED)
            == Some(false)
        {
            tr.call(
                "IMAPISupport::StatusRecips",
                format!("{eid}, {} row(s)", failed.len()),
                "suppressed: PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED is FALSE",
            );
            return Ok(StepDone::patch(
                StepOutcome::Skipped,
                Step::RemovePreprocessInfo,
            ));
        }
        if let Some(ndr) = msg.spool.ndr
            && self.store.summary(ndr).is_some()
        {
            return Ok(StepDone::patch(
                StepOutcome::Done,
                Step::RemovePreprocessInfo,
            ));
        }
        let now = self.now();
        let ndr_id = self.store.new_entry_id()?;
        // Record the report's id durably before writing it, so a replayed step never writes two.
        msg.spool.ndr = Some(ndr_id);
        self.store.patch(
            eid,
            Patch {
                spool: Some(msg.spool.clone()),
                ..Patch::default()
            },
            true,
        )?;
        let inbox = self.store.folder_of(FolderKind::Inbox);
        let mut report =
            Message::draft(ndr_id, inbox, &format!("Undeliverable: {}", msg.subject()));
        report.props.set_text(
            crate::mapi::tags::PR_MESSAGE_CLASS,
            format!("REPORT.{}.NDR", msg.message_class()),
        );
        report.props.set_flags(PR_MESSAGE_FLAGS, 0);
        report.props.set_text(PR_ORIGINAL_SUBJECT, msg.subject());
        report
            .props
            .set_text(PR_ORIG_MESSAGE_CLASS, msg.message_class());
        report
            .props
            .set_text(PR_ORIGINAL_DISPLAY_TO, msg.display_to());
        if let Some(t) = msg.client_submit_time() {
            report.props.set_time(PR_ORIGINAL_SUBMIT_TIME, t);
        }
        report
            .props
            .set_time(crate::mapi::tags::PR_CLIENT_SUBMIT_TIME, now);
        let mut body = format!(
            "Your message \"{}\" could not be delivered to these recipients:\n\n",
            msg.subject()
        );
        for r in &failed {
            let mut row = r.clone();
            let reason = if r.outcome == RecipientState::NoTransport {
                MAPI_REASON_TRANSFER_IMPOSSIBLE
            } else {
                MAPI_REASON_TRANSFER_FAILED
            };
            row.props.set_flags(PR_NDR_REASON_CODE, reason);
            let _ = write!(
                body,
                "  {}\n    {}\n",
                r.label(),
                r.report_text().unwrap_or("")
            );
            report.recipients.push(row);
        }
        report.body = body;
        let mut original = msg.clone();
        original.history.clear();
        original.trace.clear();
        original.spool = SpoolState::default();
        for r in &mut original.recipients {
            r.props.set_bool(PR_RESPONSIBILITY, false);
            r.props.remove(PR_REPORT_TEXT);
            r.props.remove(PR_REPORT_TIME);
            r.props.remove(PR_DELIVER_TIME);
            r.outcome = RecipientState::Pending;
            r.transport = None;
        }
        report.embedded = Some(Box::new(original));
        self.store.save(&mut report)?;
        tr.call(
            "IMAPISupport::StatusRecips",
            format!("{eid}, {} row(s) without PR_DELIVER_TIME", failed.len()),
            format!("S_OK: NDR {ndr_id} in Inbox"),
        );
        let s = self.store.summary(ndr_id).cloned();
        if let Some(s) = s {
            self.emit(Event::Summary(Box::new(s)));
        }
        self.emit(Event::NdrCreated { eid, ndr: ndr_id });
        Ok(StepDone::patch(
            StepOutcome::Done,
            Step::RemovePreprocessInfo,
        ))
    }
}
