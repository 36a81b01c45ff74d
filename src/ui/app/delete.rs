//! Delete, Undo and Enter: what [`SpoolboxApp::apply`] does for them.
//!
//! A delete moves messages to Deleted Items and says so with an Undo (the messages go back
//! to the folders they came from); a message already in Deleted Items is deleted for good
//! only after "Delete for good?"; a message the spooler has not finished with (submitted, or
//! with `DoSentMail` still to run) is never deleted from under it: it is refused with the
//! MAPI reason, before anything is sent to the worker (which refuses it too).

use std::time::Instant;

use super::SpoolboxApp;
use crate::mapi::{EntryId, MapiCode, MapiError, MessageState};
use crate::spooler::{BulkOp, Command};
use crate::store::{FolderKind, Summary};
use crate::ui::model::Tab;
use crate::ui::notify::{self, Undo};

/// Why the spooler keeps this message from being deleted, in MAPI's words; `None` when it
/// may go.
pub fn delete_refused(s: &Summary) -> Option<String> {
    let detail = if s.is_locked() {
        "the spooler has locked it (SUBMITFLAG_LOCKED) and is sending it; it can be deleted once it is sent"
    } else if s.is_submitted() {
        "it is queued for sending; Abort submit first (IMsgStore::AbortSubmit), then delete the draft"
    } else if let Some(step) = s.next_step {
        return Some(format!(
            "message {} \"{}\" was not deleted: {}",
            s.eid,
            s.subject,
            MapiError::new(
                MapiCode::Submitted,
                format!("the spooler has not finished with it ({step} is still to run)"),
            )
        ));
    } else {
        return None;
    };
    Some(format!(
        "message {} \"{}\" was not deleted: {}",
        s.eid,
        s.subject,
        MapiError::new(MapiCode::Submitted, detail)
    ))
}

impl SpoolboxApp {
    /// Delete: to Deleted Items with an Undo, for good after asking, or refused.
    pub(super) fn delete(&mut self, eids: &[EntryId]) {
        let wastebasket = self.model.folder_of(FolderKind::DeletedItems);
        let mut moves = Vec::new();
        let mut for_good = Vec::new();
        for eid in eids {
            let Some(s) = self.model.summaries.get(eid) else {
                continue;
            };
            if let Some(why) = delete_refused(s) {
                if !self.model.errors.contains(&why) {
                    self.model.errors.push(why);
                }
            } else if Some(s.folder) == wastebasket {
                for_good.push(*eid);
            } else {
                moves.push((*eid, s.folder));
            }
        }
        if !for_good.is_empty() {
            self.model.confirm_delete = Some(for_good);
        }
        if moves.is_empty() {
            return;
        }
        let gone: Vec<EntryId> = moves.iter().map(|(e, _)| *e).collect();
        self.leave_rows(&gone);
        let [(eid, _)] = moves.as_slice() else {
            // Several: one command; the notice and its Undo come with the spooler's answer,
            // for exactly the messages it moved (`ui::bulk`).
            self.bulk(gone, BulkOp::Delete);
            return;
        };
        self.command(Command::Delete(*eid));
        let subject = self
            .model
            .summaries
            .get(eid)
            .map_or("", |s| s.subject.as_str());
        self.model.undo = Some(Undo {
            text: format!("Moved message {eid} \"{subject}\" to Deleted Items."),
            moves,
            at: Instant::now(),
        });
    }

    /// Undo: the last delete's messages go back to the folders they came from.
    pub(super) fn undo_delete(&mut self) {
        let Some(u) = self.model.undo.take() else {
            return;
        };
        if let [(eid, folder)] = u.moves.as_slice() {
            self.command(Command::Move(*eid, *folder));
            notify::notice(
                &mut self.model,
                format!("Undone: message {eid} moved back from Deleted Items."),
            );
            return;
        }
        // Several: one command; the notice says what was moved back when it was.
        self.command(Command::Bulk(
            u.moves
                .iter()
                .map(|(eid, folder)| (*eid, BulkOp::MoveTo(*folder)))
                .collect(),
        ));
    }

    /// Messages about to leave the table leave the selection; when the one shown goes, the
    /// next row left (or the one before) takes its place, so the keyboard goes on from there.
    pub(super) fn leave_rows(&mut self, gone: &[EntryId]) {
        let rows = &self.model.rows;
        let next = self
            .model
            .focused
            .filter(|f| gone.contains(f))
            .and_then(|f| rows.iter().position(|e| *e == f))
            .and_then(|i| {
                rows[i..]
                    .iter()
                    .chain(rows[..i].iter().rev())
                    .find(|e| !gone.contains(e))
                    .copied()
            });
        for e in gone {
            self.model.selected.remove(e);
        }
        if self.model.focused.is_some_and(|f| gone.contains(&f)) {
            if let Some(n) = next {
                self.select_row(n, false);
            } else {
                self.anchor = None;
                self.focus(None);
            }
        }
    }

    /// Enter on a message: a draft opens in the editor with the cursor in its first
    /// recipient; any other message shows in the detail, with the keyboard there.
    pub(super) fn open_message(&mut self, eid: EntryId) {
        if self.model.focused != Some(eid) {
            self.select_row(eid, false);
        }
        let draft = self
            .model
            .summaries
            .get(&eid)
            .is_some_and(|s| s.state(jiff::Timestamp::now()) == MessageState::Draft)
            && self.model.submitting != Some(eid);
        if draft {
            self.model.tab = Tab::Compose;
            self.compose.focus_first = true;
        } else {
            if self.model.tab == Tab::Compose {
                self.model.tab = Tab::Pipeline;
            }
            self.model.focus_detail = true;
        }
    }
}
