//! One person's action on many messages as one command (issue 28, item 2).
//!
//! Delete, Restore, Hold, Release, Send, Abort and Undo of N selected messages go to the
//! worker as a single [`Command::Bulk`]: they are applied in one go, in the order given, and
//! answered with one [`Event::BulkDone`] that says for each message what became of it. A full
//! command queue can drop none of it (there is one command, not N), and the window's notice
//! says what happened ("Moved 19,998; 2 stayed: …"), never what was asked.

use crate::mapi::EntryId;

use super::{Command, Event, Spooler};

/// What a bulk action does to each of its messages: the single commands of the same names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkOp {
    /// [`Command::Delete`]: to Deleted Items, or for good when it is there already.
    Delete,
    /// [`Command::Restore`].
    Restore,
    /// [`Command::Hold`] (`true`) or release (`false`).
    Hold(bool),
    /// [`Command::SendNow`].
    SendNow,
    /// [`Command::AbortSubmit`].
    AbortSubmit,
    /// [`Command::Move`] to this folder (Undo of a delete).
    MoveTo(EntryId),
}

impl BulkOp {
    /// The single command this is for one message.
    pub fn command(self, eid: EntryId) -> Command {
        match self {
            Self::Delete => Command::Delete(eid),
            Self::Restore => Command::Restore(eid),
            Self::Hold(on) => Command::Hold(eid, on),
            Self::SendNow => Command::SendNow(eid),
            Self::AbortSubmit => Command::AbortSubmit(eid),
            Self::MoveTo(to) => Command::Move(eid, to),
        }
    }
}

/// What became of each message of a bulk action.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// What was asked, in order.
    pub asked: Vec<(EntryId, BulkOp)>,
    /// Done: (message, the folder it was in before, the folder it is in now; `None` when
    /// deleted for good).
    pub done: Vec<(EntryId, EntryId, Option<EntryId>)>,
    /// Refused, with the spooler's reason (a message being sent, one already sent, one gone).
    pub refused: Vec<(EntryId, String)>,
}

/// Progress is reported this often (in messages) during a long bulk action.
const PROGRESS_EVERY: usize = 500;

impl Spooler {
    /// Applies a bulk action: each message as its single command would be, the refusals
    /// collected rather than raised one error each; answered with [`Event::BulkDone`].
    pub(super) fn bulk(&mut self, items: Vec<(EntryId, BulkOp)>) {
        let total = items.len();
        let mut report = BulkReport {
            asked: items.clone(),
            ..BulkReport::default()
        };
        // One report for all of them, not a notice each (20,000 "restored to Outbox").
        self.in_bulk = true;
        for (i, (eid, op)) in items.into_iter().enumerate() {
            let before = self.store.summary(eid).map(|s| s.folder);
            let now = self.now();
            let result = match op {
                BulkOp::Delete => self.delete(eid),
                BulkOp::Restore => self.restore(eid),
                BulkOp::Hold(on) => self.hold(eid, on),
                BulkOp::SendNow => self.send_now(eid, now),
                BulkOp::AbortSubmit => self.abort_submit(eid, now),
                BulkOp::MoveTo(to) => self.move_message(eid, to),
            };
            match (result, before) {
                (Ok(()), Some(from)) => {
                    let after = self.store.summary(eid).map(|s| s.folder);
                    report.done.push((eid, from, after));
                }
                (Ok(()), None) => {}
                (Err(e), _) => report.refused.push((eid, e.to_string())),
            }
            if total > PROGRESS_EVERY && (i + 1) % PROGRESS_EVERY == 0 {
                self.emit(Event::Progress {
                    label: bulk_label(op).into(),
                    done: (i + 1) as u64,
                    total: total as u64,
                });
                self.settle();
                self.flush_events();
            }
        }
        self.in_bulk = false;
        if total > PROGRESS_EVERY
            && let Some((_, op)) = report.asked.first()
        {
            self.emit(Event::Progress {
                label: bulk_label(*op).into(),
                done: total as u64,
                total: total as u64,
            });
        }
        if !report.done.is_empty()
            && report
                .asked
                .first()
                .is_some_and(|(_, op)| *op == BulkOp::SendNow)
        {
            self.say_if_paused(report.done.len());
        }
        self.settle();
        self.events.push(Event::BulkDone(Box::new(report)));
    }
}

/// The progress bar's label for a bulk action.
fn bulk_label(op: BulkOp) -> &'static str {
    match op {
        BulkOp::Delete => "Deleting",
        BulkOp::Restore => "Restoring",
        BulkOp::Hold(true) => "Holding",
        BulkOp::Hold(false) => "Releasing",
        BulkOp::SendNow => "Sending",
        BulkOp::AbortSubmit => "Aborting",
        BulkOp::MoveTo(_) => "Moving back",
    }
}
