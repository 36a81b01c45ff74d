//! The composer: one row per recipient over the full width, validation as you type with the
//! MAPI-named reason, autosave, and Save / Submit always in view.
//!
//! The editor exists only for unsent drafts. It names the submission it saw
//! ([`crate::mapi::SpoolState::submission`]); its Submit is [`Command::SubmitDraft`], which the
//! worker refuses once that submission is no longer current, so a stale editor, a second
//! click or a race can never send a message twice. Edits are saved a moment after the last
//! keystroke, when another message is selected and when the window closes, so none is lost.

use std::time::{Duration, Instant};

use egui::{RichText, Ui};
use jiff::{SignedDuration, Timestamp};

use super::Intent;
use super::dialogs::Purpose;
use super::theme;
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
        Recipient::new(
            row,
            self.name.trim(),
            self.address.trim(),
            self.addrtype.trim(),
            self.kind.unwrap_or(RecipientKind::To),
        )
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
            if let Some(why) = compose_problem(&r.recipient(0)) {
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

/// Splits a pasted list (`a@x, "B" <b@y>; c@z` or one per line) into rows; `None` when the
/// text is a single address.
pub fn split_pasted(text: &str) -> Option<Vec<RowEdit>> {
    if !text.contains([',', ';', '\n']) {
        return None;
    }
    let rows = parse_list(text);
    (rows.len() > 1).then_some(rows)
}

/// The recipients in a list of addresses (`a@x.org, "B" <b@y.org>; c@z.org`), one row each.
pub fn parse_list(text: &str) -> Vec<RowEdit> {
    let mut rows = Vec::new();
    let mut quoted = false;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                item.push(c);
            }
            ',' | ';' | '\n' | '\r' if !quoted => items.push(std::mem::take(&mut item)),
            _ => item.push(c),
        }
    }
    items.push(item);
    for it in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let (name, addr) = match (it.rfind('<'), it.rfind('>')) {
            (Some(a), Some(b)) if a < b => (
                it[..a].trim().trim_matches('"').trim().to_owned(),
                it[a + 1..b].trim().to_owned(),
            ),
            _ => (String::new(), it.to_owned()),
        };
        rows.push(RowEdit {
            name,
            address: addr,
            addrtype: "SMTP".into(),
            kind: Some(RecipientKind::To),
        });
    }
    rows
}

/// Names a widget for screen readers and the tests (a text field has no label of its own).
fn name(resp: &egui::Response, label: &str) {
    let label = label.to_owned();
    resp.ctx
        .accesskit_node_builder(resp.id, move |b| b.set_label(label));
}

/// The bar above the form: Submit and Save always in view, and whether the edits are saved.
pub fn actions_ui(ui: &mut Ui, c: &ComposeState, out: &mut Vec<Intent>) {
    let problems = c.problems();
    ui.horizontal(|ui| {
        let submit = ui
            .add_enabled(
                problems.is_empty(),
                egui::Button::new(RichText::new("Submit").strong()),
            )
            .on_hover_text("IMessage::SubmitMessage with what is on screen (Ctrl+Enter)")
            .on_disabled_hover_text(
                problems
                    .first()
                    .map_or_else(String::new, |(_, why)| why.clone()),
            );
        let ctrl_enter = ui.input_mut(|i| {
            i.consume_shortcut(&egui::KeyboardShortcut::new(
                egui::Modifiers::COMMAND,
                egui::Key::Enter,
            ))
        });
        if submit.clicked() || (ctrl_enter && problems.is_empty()) {
            out.push(Intent::SubmitDraft);
        } else if ctrl_enter && let Some((_, why)) = problems.first() {
            out.push(Intent::SubmitRefused(format!("not submitted: {why}")));
        }
        if ui
            .add_enabled(c.dirty(), egui::Button::new("Save draft"))
            .on_hover_text("IMessage::SaveChanges now (drafts also save themselves as you type)")
            .on_disabled_hover_text("Everything on screen is saved")
            .clicked()
        {
            out.push(Intent::SaveDraft);
        }
        if ui
            .button("Attach file…")
            .on_hover_text("Pick files to attach; the spooler reads them")
            .clicked()
            && let Some(eid) = c.loaded
        {
            out.push(Intent::SaveDraft);
            out.push(Intent::PickFile(Purpose::Attach(eid)));
        }
        let (text, color) = match c.save_state() {
            SaveState::Saved => ("All changes saved".to_owned(), theme::muted(ui)),
            SaveState::Unsaved => ("Unsaved changes (saving…)".to_owned(), theme::warn(ui)),
            SaveState::Failed(e) => (format!("Not saved: {e}"), theme::bad(ui)),
        };
        ui.label(RichText::new(text).color(color));
    });
}

/// Draws the form for the draft `msg` (the actions bar is drawn above it by the caller).
pub fn compose_ui(ui: &mut Ui, c: &mut ComposeState, msg: &Message, out: &mut Vec<Intent>) {
    let before = c.content.clone();
    let full = ui.available_width();
    ui.horizontal(|ui| {
        let l = ui.label(RichText::new("Subject").strong());
        let r = ui.add(
            egui::TextEdit::singleline(&mut c.content.subject)
                .hint_text("Subject")
                .desired_width(full - 80.0),
        );
        r.labelled_by(l.id);
    });
    ui.add_space(6.0);
    ui.label(RichText::new("Recipients").strong());
    recipients_ui(ui, c, full);
    ui.add_space(6.0);
    ui.label(RichText::new("Body").strong());
    let body = ui.add(
        egui::TextEdit::multiline(&mut c.content.body)
            .desired_rows(6)
            .desired_width(f32::INFINITY),
    );
    name(&body, "Body");
    ui.add_space(6.0);
    options_ui(ui, c);
    attachments_ui(ui, c, msg, out);
    if c.content != before {
        c.edited();
        // The checks and the Submit button above were drawn from the content before this
        // frame's typing: one more frame shows them for what is on screen now.
        ui.ctx().request_repaint();
    }
}

/// Where the cursor is to go in the recipient rows.
struct Focus<'a> {
    /// Into the first recipient's address (a new draft), asked for a few frames.
    first: &'a mut bool,
    /// Frames it has been asked.
    frames: &'a mut u8,
    /// Into this row's address (a typed comma ended the row before it).
    row: &'a mut Option<usize>,
}

/// What a recipient row asks of the list once drawn.
struct RowChange {
    /// Replace it with these rows (a pasted list, or a row ended by a comma).
    split: Option<Vec<RowEdit>>,
    /// Remove it (×).
    remove: bool,
}

/// The widths of a row's name and address fields.
#[derive(Clone, Copy)]
struct Widths {
    name: f32,
    address: f32,
}

/// The recipient rows, each with its problem, then Add recipient and what the whole list
/// lacks.
fn recipients_ui(ui: &mut Ui, c: &mut ComposeState, full: f32) {
    let problems = c.problems();
    let mut remove = None;
    let mut split: Option<(usize, Vec<RowEdit>)> = None;
    let fixed = 70.0 + 96.0 + 34.0 + 4.0 * ui.spacing().item_spacing.x;
    let flexible = (full - fixed).max(240.0);
    let widths = Widths {
        name: flexible * 0.38,
        address: flexible * 0.62 - 8.0,
    };
    let count = c.content.rows.len();
    let mut focus = Focus {
        first: &mut c.focus_first,
        frames: &mut c.focus_frames,
        row: &mut c.focus_row,
    };
    for (i, r) in c.content.rows.iter_mut().enumerate() {
        let n = i + 1;
        let change = ui
            .horizontal(|ui| row_ui(ui, r, i, count, widths, &mut focus))
            .inner;
        if let Some(rows) = change.split {
            split = Some((i, rows));
        }
        if change.remove {
            remove = Some(i);
        }
        if let Some((_, why)) = problems.iter().find(|(row, _)| *row == Some(i)) {
            ui.label(RichText::new(format!("  Recipient {n}: {why}")).color(theme::bad(ui)));
        }
    }
    if let Some((i, rows)) = split {
        c.content.rows.splice(i..=i, rows);
    }
    if let Some(i) = remove {
        c.content.rows.remove(i);
        if c.content.rows.is_empty() {
            c.content.rows.push(RowEdit::new_smtp());
        }
    }
    ui.horizontal(|ui| {
        if ui.button("Add recipient").clicked() {
            c.content.rows.push(RowEdit::new_smtp());
        }
        if let Some((None, why)) = problems.first() {
            ui.label(RichText::new(why).color(theme::bad(ui)));
        }
    });
}

/// One recipient row: To/Cc/Bcc, name, address, address type, remove.
fn row_ui(
    ui: &mut Ui,
    r: &mut RowEdit,
    i: usize,
    count: usize,
    widths: Widths,
    focus: &mut Focus<'_>,
) -> RowChange {
    let n = i + 1;
    egui::ComboBox::from_id_salt(("kind", i))
        .selected_text(r.kind.unwrap_or(RecipientKind::To).label())
        .width(62.0)
        .show_ui(ui, |ui| {
            for k in [RecipientKind::To, RecipientKind::Cc, RecipientKind::Bcc] {
                ui.selectable_value(&mut r.kind, Some(k), k.label());
            }
        });
    let nm = ui.add(
        egui::TextEdit::singleline(&mut r.name)
            .hint_text("Display name")
            .desired_width(widths.name),
    );
    name(&nm, &format!("Recipient {n} name"));
    let split = address_ui(ui, r, i, widths.address, focus);
    egui::ComboBox::from_id_salt(("addrtype", i))
        .selected_text(if r.addrtype.is_empty() {
            "type"
        } else {
            r.addrtype.as_str()
        })
        .width(80.0)
        .show_ui(ui, |ui| {
            for t in ADDRESS_TYPES {
                ui.selectable_value(&mut r.addrtype, t.to_owned(), t);
            }
        })
        .response
        .on_hover_text("PR_ADDRTYPE: picks the transport");
    let remove = ui
        .add_enabled(count > 1 || !r.is_blank(), egui::Button::new("×"))
        .on_hover_text(format!("Remove recipient {n}"))
        .clicked();
    RowChange { split, remove }
}

/// A row's address field, with the cursor put there when asked; returns the rows it is to
/// become when a list was pasted into it or a typed comma ended it.
fn address_ui(
    ui: &mut Ui,
    r: &mut RowEdit,
    i: usize,
    width: f32,
    focus: &mut Focus<'_>,
) -> Option<Vec<RowEdit>> {
    let ad = ui.add(
        egui::TextEdit::singleline(&mut r.address)
            .hint_text(match r.addrtype.as_str() {
                "FAX" => "Fax number, e.g. +1 212 555-0142",
                "EX" => "/o=Org/cn=name",
                _ => "Address, or paste a list: a@x.org, \"B\" <b@y.org>",
            })
            .desired_width(width),
    );
    name(&ad, &format!("Recipient {} address", i + 1));
    if i == 0 && *focus.first {
        // Asked until it holds: the New message button takes the focus when the
        // mouse button comes up, which may be a frame after the draft arrived.
        if ad.has_focus() || *focus.frames >= 30 {
            *focus.first = false;
            *focus.frames = 0;
        } else {
            ad.request_focus();
            *focus.frames += 1;
            ui.ctx().request_repaint();
        }
    }
    if *focus.row == Some(i) {
        ad.request_focus();
        *focus.row = None;
    }
    if !ad.changed() {
        return None;
    }
    // A pasted list becomes one row per address at once; typed, a comma or semicolon after
    // an address ends that row and the cursor moves on to a new one (splitting in the middle
    // of typing left the cursor in the old row).
    let pasted = ui.input(|inp| {
        inp.events
            .iter()
            .any(|e| matches!(e, egui::Event::Paste(_)))
    });
    let ended = r.address.trim_end().ends_with([',', ';']);
    if pasted && let Some(rows) = split_pasted(&r.address) {
        return Some(rows);
    }
    if !(ended
        && parse_list(&r.address)
            .iter()
            .all(|x| x.address.contains('@')))
    {
        return None;
    }
    let mut rows = parse_list(&r.address);
    if let Some(first) = rows.first_mut() {
        first.kind = r.kind;
        first.addrtype.clone_from(&r.addrtype);
        if first.name.is_empty() {
            first.name.clone_from(&r.name);
        }
    }
    rows.push(RowEdit {
        kind: r.kind,
        ..RowEdit::new_smtp()
    });
    *focus.row = Some(i + rows.len() - 1);
    Some(rows)
}

fn options_ui(ui: &mut Ui, c: &mut ComposeState) {
    let c = &mut c.content;
    egui::CollapsingHeader::new("Delivery options")
        .default_open(true)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label("After sending:");
                ui.radio_value(&mut c.disposal, Disposal::SentItems, "Move to Sent Items")
                    .on_hover_text("PR_SENTMAIL_ENTRYID = Sent Items");
                ui.radio_value(&mut c.disposal, Disposal::Delete, "Delete")
                    .on_hover_text("PR_DELETE_AFTER_SUBMIT = TRUE");
                ui.radio_value(&mut c.disposal, Disposal::Both, "Both")
                    .on_hover_text("Copy to Sent Items, then delete the original");
                ui.radio_value(&mut c.disposal, Disposal::None, "Keep in Outbox")
                    .on_hover_text("Neither property: it stays, no longer submitted");
            });
            ui.horizontal(|ui| {
                ui.label("Defer send (minutes)");
                ui.add(egui::DragValue::new(&mut c.defer_minutes).range(0..=10_080))
                    .on_hover_text(
                        "PR_DEFERRED_SEND_TIME: the spooler holds the message until then",
                    );
                ui.checkbox(&mut c.ndr, "Non-delivery reports")
                    .on_hover_text("PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED");
            });
        });
}

fn attachments_ui(ui: &mut Ui, c: &mut ComposeState, msg: &Message, out: &mut Vec<Intent>) {
    if msg.attachments.is_empty() {
        return;
    }
    ui.label(RichText::new(format!("Attachments ({})", msg.attachments.len())).strong());
    let mut drop_attachment = None;
    for (i, a) in msg.attachments.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} ({}, {} KB)",
                a.file_name,
                a.mime_type,
                a.data.len().div_ceil(1024)
            ));
            if ui.small_button(format!("Remove {}", a.file_name)).clicked() {
                drop_attachment = Some(i);
            }
        });
    }
    if let Some(i) = drop_attachment
        && let Some(base) = &mut c.base
    {
        if i < base.attachments.len() {
            base.attachments.remove(i);
        }
        // Saved at once with what is on screen.
        c.saved = Content::default();
        c.last_edit = None;
        out.push(Intent::SaveDraft);
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
        }];
        let p = c.problems();
        assert_eq!(p.len(), 1);
        assert!(p[0].1.contains("not a fax number"), "{p:?}");
        c.content.rows[0].address = "+1 212 555-0142".into();
        assert!(c.problems().is_empty());
    }
}
