//! Step 4, `NonDeliveryReport` (reference S10, e.14): the reports of one submission, made
//! once all recipients are final. One NDR for the rows that failed (unless
//! `PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED` is FALSE), embedding the message as it was
//! submitted; one DR for the rows delivered, only when
//! `PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED` is TRUE. Both go to the folder
//! `PR_REPORT_ENTRYID` names, else the Inbox; each is written at most once per submission.

use crate::mapi::tags::{
    PR_DELIVER_TIME, PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED,
    PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, PR_REPORT_ENTRYID, PR_REPORT_TEXT, PR_REPORT_TIME,
    PR_RESPONSIBILITY,
};
use crate::mapi::{EntryId, Message, RecipientState, SpoolState, Step, StepOutcome};
use crate::spooler::{Event, Spooler};
use crate::store::{FolderKind, Patch, StoreError};

use super::report::{self, Kind, Originator};
use super::{StepDone, Tracer};

impl Spooler {
    /// Step 4 (S10): the NDR and, when asked for, the DR of this submission.
    pub(super) fn non_delivery_report(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> Result<StepDone, StoreError> {
        let failed = report::rows_for(msg, Kind::Ndr).len();
        let dr_asked = msg.props.boolean(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED) == Some(true);
        let delivered = if dr_asked {
            report::rows_for(msg, Kind::Dr).len()
        } else {
            0
        };
        let ndr_off = msg
            .props
            .boolean(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED)
            == Some(false);
        if failed > 0 && ndr_off {
            tr.call(
                "IMAPISupport::StatusRecips",
                format!("{}, {failed} row(s)", msg.entry_id),
                "suppressed: PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED is FALSE",
            );
        }
        let mut folder = None;
        let mut made = false;
        if failed > 0 && !ndr_off {
            made |= self.write_report(msg, Kind::Ndr, &mut folder, tr)?;
        }
        if delivered > 0 {
            made |= self.write_report(msg, Kind::Dr, &mut folder, tr)?;
        }
        let outcome = if made || msg.spool.ndr.is_some() || msg.spool.dr.is_some() {
            StepOutcome::Done
        } else {
            StepOutcome::Skipped
        };
        Ok(StepDone::patch(outcome, Step::RemovePreprocessInfo))
    }

    /// Writes the report of `kind` unless this submission has one already (a step replayed
    /// after a crash): `IMAPISupport::StatusRecips` once per recipient per kind (e.14).
    /// Returns whether it wrote one.
    fn write_report(
        &mut self,
        msg: &mut Message,
        kind: Kind,
        folder: &mut Option<EntryId>,
        tr: &mut Tracer,
    ) -> Result<bool, StoreError> {
        let slot = match kind {
            Kind::Ndr => msg.spool.ndr,
            Kind::Dr => msg.spool.dr,
        };
        if slot.is_some_and(|id| self.store.summary(id).is_some()) {
            return Ok(false);
        }
        let eid = msg.entry_id;
        let to = match *folder {
            Some(f) => f,
            None => *folder.insert(self.report_folder(msg, tr)),
        };
        let id = self.store.new_entry_id()?;
        // Record the report's id durably before writing it, so a replayed step never writes two.
        match kind {
            Kind::Ndr => msg.spool.ndr = Some(id),
            Kind::Dr => msg.spool.dr = Some(id),
        }
        self.store.patch(
            eid,
            Patch {
                spool: Some(msg.spool.clone()),
                ..Patch::default()
            },
            true,
        )?;
        let now = self.now();
        let rows: Vec<_> = report::rows_for(msg, kind)
            .into_iter()
            .map(|r| report::report_row(r, kind, now))
            .collect();
        let n = rows.len();
        let profile = self.store.profile();
        let originator = Originator {
            name: profile.sender_name.clone(),
            address: profile.sender_address.clone(),
        };
        let mut out = report::build(
            kind,
            (id, to),
            msg,
            rows,
            &originator,
            &report::reporting_host(),
            now,
        );
        if kind == Kind::Ndr {
            out.embedded = Some(Box::new(self.original_as_submitted(msg, tr)));
        }
        self.store.save(&mut out)?;
        let folder_name = self
            .store
            .folder(to)
            .map_or_else(|| to.to_string(), |f| f.name.clone());
        let with = match kind {
            Kind::Ndr => "without",
            Kind::Dr => "with",
        };
        tr.call(
            "IMAPISupport::StatusRecips",
            format!("{eid}, {n} row(s) {with} PR_DELIVER_TIME"),
            format!("S_OK: {} {id} in {folder_name}", kind.suffix()),
        );
        if let Some(s) = self.store.summary(id).cloned() {
            self.emit(Event::Summary(Box::new(s)));
        }
        match kind {
            Kind::Ndr => self.emit(Event::NdrCreated { eid, ndr: id }),
            Kind::Dr => self.emit(Event::Notice(format!(
                "delivery report {id} for message {eid} ({n} recipient(s)) in {folder_name}"
            ))),
        }
        Ok(true)
    }

    /// Where this message's reports go: the folder `PR_REPORT_ENTRYID` names, when it names
    /// a folder of this store; else the Inbox, and the trace says why.
    fn report_folder(&self, msg: &Message, tr: &mut Tracer) -> EntryId {
        let inbox = self.store.folder_of(FolderKind::Inbox);
        let Some(raw) = msg.props.binary(PR_REPORT_ENTRYID) else {
            return inbox;
        };
        if let Some(id) = EntryId::from_bytes(raw).filter(|id| self.store.folder(*id).is_some()) {
            return id;
        }
        tr.call(
            "spooler: route reports",
            format!("PR_REPORT_ENTRYID {}", crate::mapi::value::hex(raw)),
            "names no folder of this store: the report goes to the Inbox",
        );
        inbox
    }

    /// The message as it was submitted, for the NDR to embed (reference S10): its properties
    /// and rows as `SubmitMessage` left them (the later steps' changes undone, as time travel
    /// does), every row pending again, and what each preprocessor added taken out again by
    /// the `RemovePreprocessInfo` it registered (a fax's cover page), so a resend from the
    /// NDR carries none of it.
    fn original_as_submitted(&mut self, msg: &Message, tr: &mut Tracer) -> Message {
        let submitted = msg
            .history
            .iter()
            .position(|h| h.step == Step::SubmitMessage)
            .map_or(msg.history.len(), |i| i + 1);
        let mut original = super::rewind(msg, submitted);
        original.history.clear();
        original.trace.clear();
        original.spool = SpoolState::default();
        original.embedded = None;
        for r in &mut original.recipients {
            r.props.set_bool(PR_RESPONSIBILITY, false);
            r.props.remove(PR_REPORT_TEXT);
            r.props.remove(PR_REPORT_TIME);
            r.props.remove(PR_DELIVER_TIME);
            r.outcome = RecipientState::Pending;
            r.transport = None;
        }
        let eid = msg.entry_id;
        for name in &msg.spool.preprocessed_by {
            let args = format!("{name}, the copy of {eid} the NDR embeds");
            match self.transports.iter_mut().find(|t| t.name() == name) {
                Some(t) => {
                    let note = t.remove_preprocess_info(&mut original);
                    tr.call("RemovePreprocessInfo", args, format!("S_OK: {note}"));
                }
                None => tr.call(
                    "RemovePreprocessInfo",
                    args,
                    "not called: the transport is gone, the copy keeps what its preprocessor added",
                ),
            }
        }
        original
    }
}
