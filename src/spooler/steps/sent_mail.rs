//! Step 6b, `IMAPISupport::DoSentMail`: outbound hooks, then the sent-mail disposition.

use crate::mapi::{EntryId, Message, StepOutcome};
use crate::profile::HookAction;
use crate::spooler::Spooler;
use crate::store::StoreError;

use super::{Disposal, StepDone, Tracer};

impl Spooler {
    /// Step 6b (S12–S13): `IMAPISupport::DoSentMail`: outbound hooks in order (the last
    /// target wins, `HOOK_DELETE` deletes, `HOOK_CANCEL` stops the chain), then the
    /// disposition table: neither property → stays; sent-mail folder → moved; delete → deleted;
    /// both → copied to the sent-mail folder, then the original deleted.
    pub(super) fn do_sent_mail(
        &mut self,
        msg: &mut Message,
        tr: &mut Tracer,
    ) -> Result<StepDone, StoreError> {
        let eid = msg.entry_id;
        msg.spool.finishing = false;
        let sent = msg.sentmail_folder();
        if let Some(f) = sent
            && self.store.folder(f).is_none()
        {
            let why = format!(
                "PR_SENTMAIL_ENTRYID names folder {f}, which does not exist: MAPI_E_INVALID_ENTRYID"
            );
            tr.call("IMAPISupport::DoSentMail", format!("0, {eid}"), why.clone());
            msg.spool.last_error = Some(why.clone());
            return Ok(StepDone {
                outcome: StepOutcome::Failed(why),
                next: None,
                disposal: Disposal::Save(None),
            });
        }
        let delete = msg.delete_after_submit();
        tr.call(
            "IMAPISupport::DoSentMail",
            format!("0, {eid}"),
            format!(
                "PR_SENTMAIL_ENTRYID {}, PR_DELETE_AFTER_SUBMIT {}",
                sent.and_then(|f| self.store.folder(f))
                    .map_or("absent".to_owned(), |f| format!("= {}", f.name)),
                if delete { "TRUE" } else { "FALSE" }
            ),
        );
        let hooked = self.outbound_hooks(msg, tr)?;
        let disposal = self.sent_mail_disposal(msg, sent, delete, &hooked, tr);
        Ok(StepDone {
            outcome: StepOutcome::Done,
            next: None,
            disposal,
        })
    }

    /// The outbound hooks in profile order (`ISpoolerHook::OutboundMsgHook`): a hook's target
    /// folder replaces the sent-mail folder (the last one wins), `HOOK_DELETE` deletes,
    /// `HOOK_CANCEL` stops the chain.
    fn outbound_hooks(&mut self, msg: &Message, tr: &mut Tracer) -> Result<Hooked, StoreError> {
        let eid = msg.entry_id;
        let mut target = None;
        let mut hook_delete = false;
        let hooks = self.store.profile().hooks.clone();
        let subject = msg.subject().to_lowercase();
        for hook in &hooks {
            if hook
                .subject_prefix
                .as_deref()
                .is_some_and(|p| !subject.starts_with(&p.to_lowercase()))
            {
                continue;
            }
            let result = match &hook.action {
                HookAction::MoveTo { folder } => {
                    let f = self.store.create_folder(folder)?;
                    target = Some(f);
                    format!("S_OK (target folder replaced: {folder})")
                }
                HookAction::Delete => {
                    hook_delete = true;
                    "S_OK (HOOK_DELETE)".to_owned()
                }
                HookAction::Nothing => "S_OK".to_owned(),
            };
            tr.call(
                "ISpoolerHook::OutboundMsgHook",
                format!("[{}] {eid}", hook.name),
                result,
            );
            if hook.cancel_chain {
                tr.call(
                    "ISpoolerHook::OutboundMsgHook",
                    format!("[{}]", hook.name),
                    "HOOK_CANCEL: no further hooks",
                );
                break;
            }
        }
        Ok(Hooked {
            target,
            delete: hook_delete,
        })
    }

    /// The disposition table after the hooks: a hook's delete or target first; else neither
    /// property → stays; sent-mail folder → moved; delete → deleted; both → copied to the
    /// sent-mail folder, then the original deleted.
    fn sent_mail_disposal(
        &self,
        msg: &Message,
        sent: Option<EntryId>,
        delete: bool,
        hooked: &Hooked,
        tr: &mut Tracer,
    ) -> Disposal {
        let eid = msg.entry_id;
        let name = |s: &Self, f: EntryId| {
            s.store
                .folder(f)
                .map_or_else(|| f.to_string(), |x| x.name.clone())
        };
        if hooked.delete {
            tr.call(
                "IMAPIFolder::DeleteMessages",
                format!("{eid}"),
                "S_OK (a hook set HOOK_DELETE)",
            );
            Disposal::Delete
        } else if let Some(f) = hooked.target {
            tr.call(
                "IMAPIFolder::CopyMessages",
                format!("{eid} → {}", name(self, f)),
                "S_OK (MESSAGE_MOVE, hook's target)",
            );
            Disposal::Save(Some(f))
        } else {
            match (sent, delete) {
                (Some(f), true) => {
                    tr.call(
                        "IMAPIFolder::CopyMessages",
                        format!("{eid} → {}", name(self, f)),
                        "S_OK",
                    );
                    tr.call(
                        "IMAPIFolder::DeleteMessages",
                        format!("{eid} (original)"),
                        "S_OK (PR_DELETE_AFTER_SUBMIT)",
                    );
                    Disposal::Save(Some(f))
                }
                (Some(f), false) => {
                    tr.call(
                        "IMAPIFolder::CopyMessages",
                        format!("{eid} → {}", name(self, f)),
                        "S_OK (MESSAGE_MOVE)",
                    );
                    Disposal::Save(Some(f))
                }
                (None, true) => {
                    tr.call(
                        "IMAPIFolder::DeleteMessages",
                        format!("{eid}"),
                        "S_OK (PR_DELETE_AFTER_SUBMIT)",
                    );
                    Disposal::Delete
                }
                (None, false) => {
                    tr.call(
                        "IMAPISupport::DoSentMail",
                        format!("{eid}"),
                        "no disposal properties: left in place",
                    );
                    Disposal::Save(None)
                }
            }
        }
    }
}

/// What the outbound hooks decided.
struct Hooked {
    /// The folder a hook named instead of the sent-mail folder (the last one wins).
    target: Option<EntryId>,
    /// A hook set `HOOK_DELETE`.
    delete: bool,
}
