//! The composer: one row per recipient over the full width, validation as you type with the
//! MAPI-named reason, autosave, and Save / Submit always in view.
//!
//! The editor exists only for unsent drafts. It names the submission it saw
//! ([`crate::mapi::SpoolState::submission`]); its Submit is [`Command::SubmitDraft`], which the
//! worker refuses once that submission is no longer current, so a stale editor, a second
//! click or a race can never send a message twice. Edits are saved a moment after the last
//! keystroke, when another message is selected and when the window closes, so none is lost.

mod form;
mod list;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

pub use form::{actions_ui, compose_ui};
pub use list::{parse_list, split_pasted};

use crate::mapi::tags::{
    PR_DEFERRED_SEND_TIME, PR_DELETE_AFTER_SUBMIT, PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED,
    PR_SENTMAIL_ENTRYID, PR_SUBJECT,
};
use crate::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind};
use crate::spooler::Command;
use crate::spooler::view::compose_problem;

/// How long after the last keystroke a draft is saved.
pub const AUTOSAVE_AFTER: Duration = Duration::from_millis(800);

/// The address types a row can take.
pub const ADDRESS_TYPES: [&str; 5] = ["SMTP", "FAX", "EX", "X400", "MAPIPDL"];

/// What happens to the message after sending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Disposal {
    /// `PR_SENTMAIL_ENTRYID` = Sent Items.
    #[default]
    SentItems,
    /// `PR_DELETE_AFTER_SUBMIT`.
    Delete,
    /// Both (a copy in Sent Items, the original deleted).
    Both,
    /// Neither: stays in the Outbox.
    None,
}

/// One recipient row being edited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowEdit {
    /// `PR_DISPLAY_NAME`
    pub name: String,
    /// `PR_EMAIL_ADDRESS`
    pub address: String,
    /// `PR_ADDRTYPE`
    pub addrtype: String,
    /// To/Cc/Bcc.
    pub kind: Option<RecipientKind>,
    /// The row got the original (`MAPI_SUBMITTED`, a resend): its name, address and type as
    /// loaded. While they stay so it is kept and not sent again; an edited address is a new
    /// recipient, sent to (MAPI's resend rules for the rows left as they were).
    pub got_original: Option<(String, String, String)>,
}

impl RowEdit {
    fn new_smtp() -> Self {
        Self {
            addrtype: "SMTP".into(),
            kind: Some(RecipientKind::To),
            ..Self::default()
        }
    }

    fn is_blank(&self) -> bool {
        self.name.trim().is_empty() && self.address.trim().is_empty()
    }

    fn recipient(&self, row: u32) -> Recipient {
        let mut r = Recipient::new(
            row,
            self.name.trim(),
            self.address.trim(),
            self.addrtype.trim(),
            self.kind.unwrap_or(RecipientKind::To),
        );
        if self.keeps_original() {
            let t = r.recipient_type();
            r.props.set_flags(
                crate::mapi::tags::PR_RECIPIENT_TYPE,
                t | crate::mapi::flags::MAPI_SUBMITTED,
            );
        }
        r
    }

    /// True while a row that got the original is as it was loaded: kept, not sent again.
    pub fn keeps_original(&self) -> bool {
        self.got_original.as_ref().is_some_and(|(n, a, t)| {
            (n.as_str(), a.as_str(), t.as_str())
                == (self.name.trim(), self.address.trim(), self.addrtype.trim())
        })
    }

    /// The rows this field stands for: an SMTP field holding a typed list or
    /// `Name <address>` (not yet taken apart: the cursor is still in it) reads as what it
    /// becomes once left; any other field as itself.
    pub(super) fn expanded(&self) -> Vec<Self> {
        if self.addrtype.trim() != "SMTP" || !self.address.contains([',', ';', '<', '\n']) {
            return vec![self.clone()];
        }
        let mut rows = list::parse_list(&self.address);
        if let Some(first) = rows.first_mut()
            && first.name.is_empty()
        {
            first.name.clone_from(&self.name);
        }
        for r in &mut rows {
            r.kind = self.kind;
        }
        if rows.is_empty() {
            vec![self.clone()]
        } else {
            rows
        }
    }
}

/// What the form holds: compared with what was last saved to know whether to save.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Recipients (a blank last row is the place to type the next one, not a recipient).
    pub rows: Vec<RowEdit>,
    /// Disposal.
    pub disposal: Disposal,
    /// Minutes to defer sending (0: now).
    pub defer_minutes: u32,
    /// Ask for NDRs.
    pub ndr: bool,
}

/// Whether what is on screen is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveState {
    /// Nothing typed since the last save.
    Saved,
    /// Typed; a save follows shortly.
    Unsaved,
    /// The last save was refused or failed (the reason is in the notifications).
    Failed(String),
}

/// The form's state.
#[derive(Clone, Debug, Default)]
pub struct ComposeState {
    /// The draft loaded into the form.
    pub loaded: Option<EntryId>,
    /// The submission number of the draft when the editor opened it.
    pub seen_submission: u32,
    /// What the form shows.
    pub content: Content,
    /// What was last sent to the worker to save (or loaded from it).
    saved: Content,
    /// The draft the form was built over (properties the form does not edit are kept).
    base: Option<Message>,
    /// When the user last changed something not yet saved.
    last_edit: Option<Instant>,
    /// Put the cursor in the first recipient at the next frame.
    pub focus_first: bool,
    /// Frames the cursor has been asked into the first recipient (it stops after a few).
    focus_frames: u8,
    /// Put the cursor in this recipient's address at the next frame (a typed comma ended
    /// the row before it).
    focus_row: Option<usize>,
    /// A save the worker refused (cleared when the user edits again).
    pub save_error: Option<String>,
}

impl ComposeState {
    /// Loads `m` into the form (replacing what it showed).
    pub fn load(&mut self, m: &Message) {
        self.loaded = Some(m.entry_id);
        self.seen_submission = m.spool.submission;
        let mut rows: Vec<RowEdit> = m
            .recipients
            .iter()
            .filter(|r| !r.is_p1())
            .map(|r| RowEdit {
                name: r.display_name().into(),
                address: r.email().into(),
                addrtype: r.addrtype().into(),
                kind: Some(r.kind()),
                got_original: r.is_submitted_marker().then(|| {
                    (
                        r.display_name().into(),
                        r.email().into(),
                        r.addrtype().into(),
                    )
                }),
            })
            .collect();
        if rows.is_empty() {
            rows.push(RowEdit::new_smtp());
            self.focus_first = true;
        }
        self.content = Content {
            subject: m.subject().to_owned(),
            body: m.body.clone(),
            rows,
            disposal: match (m.sentmail_folder().is_some(), m.delete_after_submit()) {
                (true, false) => Disposal::SentItems,
                (false, true) => Disposal::Delete,
                (true, true) => Disposal::Both,
                (false, false) => Disposal::None,
            },
            defer_minutes: m.deferred_send_time().map_or(0, |t| {
                u32::try_from(t.duration_since(Timestamp::now()).as_mins().max(0)).unwrap_or(0)
            }),
            ndr: m.props.boolean(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED) != Some(false),
        };
        self.saved = self.content.clone();
        self.base = Some(m.clone());
        self.last_edit = None;
        self.save_error = None;
    }

    /// A newer copy of the loaded draft arrived from the worker (an autosave landed, a file
    /// was attached): keep what is on screen, take the rest.
    pub fn refresh_base(&mut self, m: &Message) {
        if self.loaded == Some(m.entry_id) {
            self.base = Some(m.clone());
        }
    }

    /// Closes the editor (the message was submitted, or is no draft any more).
    pub fn close(&mut self) {
        *self = Self::default();
    }

    /// True while what is on screen differs from what was saved.
    pub fn dirty(&self) -> bool {
        self.loaded.is_some() && self.content != self.saved
    }

    /// Where the form stands, for the line beside Save.
    pub fn save_state(&self) -> SaveState {
        if let Some(e) = &self.save_error {
            SaveState::Failed(e.clone())
        } else if self.dirty() {
            SaveState::Unsaved
        } else {
            SaveState::Saved
        }
    }

    /// The draft as on screen.
    pub fn build(&self, sent: EntryId) -> Option<Message> {
        let base = self.base.as_ref()?;
        let c = &self.content;
        let mut m = base.clone();
        m.props.set_text(PR_SUBJECT, c.subject.clone());
        m.body.clone_from(&c.body);
        m.recipients = c
            .rows
            .iter()
            .filter(|r| !r.is_blank())
            .flat_map(RowEdit::expanded)
            .filter(|r| !r.is_blank())
            .enumerate()
            .map(|(i, r)| r.recipient(u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        m.props.remove(PR_SENTMAIL_ENTRYID);
        m.props.remove(PR_DELETE_AFTER_SUBMIT);
        if matches!(c.disposal, Disposal::SentItems | Disposal::Both) {
            m.props
                .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        }
        if matches!(c.disposal, Disposal::Delete | Disposal::Both) {
            m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
        }
        if c.defer_minutes > 0 {
            m.props.set_time(
                PR_DEFERRED_SEND_TIME,
                Timestamp::now() + SignedDuration::from_mins(i64::from(c.defer_minutes)),
            );
        } else {
            m.props.remove(PR_DEFERRED_SEND_TIME);
        }
        m.props
            .set_bool(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, c.ndr);
        Some(m)
    }

    /// The save owed now: when `force` (leaving the draft, closing the window) or a moment
    /// after the last edit. Marks it saved.
    pub fn take_save(&mut self, sent: EntryId, force: bool) -> Option<Command> {
        if !self.dirty() {
            return None;
        }
        if !force && self.last_edit.is_some_and(|t| t.elapsed() < AUTOSAVE_AFTER) {
            return None;
        }
        let draft = self.build(sent)?;
        self.saved = self.content.clone();
        self.last_edit = None;
        Some(Command::SaveDraft(Box::new(draft)))
    }

    /// Submit what is on screen (the worker saves it first, at the submission seen).
    pub fn take_submit(&mut self, sent: EntryId) -> Option<Command> {
        let draft = self.build(sent)?;
        let seen = self.seen_submission;
        Some(Command::SubmitDraft {
            draft: Box::new(draft),
            seen,
        })
    }

    /// Why Submit cannot go now, in MAPI words (`None`: it can).
    pub fn problems(&self) -> Vec<(Option<usize>, String)> {
        let mut out = Vec::new();
        let mut any = false;
        for (i, r) in self.content.rows.iter().enumerate() {
            if r.is_blank() {
                continue;
            }
            any = true;
            if let Some(why) = r
                .expanded()
                .iter()
                .find_map(|x| compose_problem(&x.recipient(0)))
            {
                out.push((Some(i), why));
            }
        }
        if !any {
            out.push((
                None,
                "MAPI_E_NO_RECIPIENTS: add at least one recipient before submitting".into(),
            ));
        }
        out
    }

    fn edited(&mut self) {
        self.last_edit = Some(Instant::now());
        self.save_error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_list_becomes_rows_and_one_address_stays() {
        assert!(split_pasted("alice@example.org").is_none());
        let rows = split_pasted("alice@example.org, \"Bob, Jr.\" <bob@example.org>;\ncarol@x.org")
            .unwrap_or_default();
        let got: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.address.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("", "alice@example.org"),
                ("Bob, Jr.", "bob@example.org"),
                ("", "carol@x.org")
            ]
        );
    }

    #[test]
    fn a_fax_number_that_is_not_a_number_is_refused_while_typing() {
        let mut c = ComposeState::default();
        c.content.rows = vec![RowEdit {
            name: "Office".into(),
            address: "call me".into(),
            addrtype: "FAX".into(),
            kind: Some(RecipientKind::To),
            got_original: None,
        }];
        let p = c.problems();
        assert_eq!(p.len(), 1);
        assert!(p[0].1.contains("not a fax number"), "{p:?}");
        c.content.rows[0].address = "+1 212 555-0142".into();
        assert!(c.problems().is_empty());
    }
}
