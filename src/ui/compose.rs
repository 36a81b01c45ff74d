//! Compose and edit drafts: recipients with address types, To/Cc/Bcc, subject, body, disposal
//! properties, deferred send time. Validation names the MAPI error the submit would return.

use egui::{RichText, Ui};
use jiff::{SignedDuration, Timestamp};

use super::app::SpoolboxApp;
use super::theme;
use crate::mapi::tags::{
    PR_DEFERRED_SEND_TIME, PR_DELETE_AFTER_SUBMIT, PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED,
    PR_SENTMAIL_ENTRYID, PR_SUBJECT,
};
use crate::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind};
use crate::spooler::Command;
use crate::spooler::submit::validate_recipient;
use crate::store::FolderKind;

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
#[derive(Clone, Debug, Default)]
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

/// The form's state.
#[derive(Clone, Debug, Default)]
pub struct ComposeState {
    /// The draft loaded into the form.
    pub loaded: Option<EntryId>,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Recipients.
    pub rows: Vec<RowEdit>,
    /// Disposal.
    pub disposal: Disposal,
    /// Minutes to defer sending (0: now).
    pub defer_minutes: u32,
    /// Ask for NDRs.
    pub ndr: bool,
}

impl ComposeState {
    fn load(&mut self, m: &Message) {
        self.loaded = Some(m.entry_id);
        m.subject().clone_into(&mut self.subject);
        self.body.clone_from(&m.body);
        self.rows = m
            .recipients
            .iter()
            .map(|r| RowEdit {
                name: r.display_name().into(),
                address: r.email().into(),
                addrtype: r.addrtype().into(),
                kind: Some(r.kind()),
            })
            .collect();
        self.disposal = match (m.sentmail_folder().is_some(), m.delete_after_submit()) {
            (true, false) => Disposal::SentItems,
            (false, true) => Disposal::Delete,
            (true, true) => Disposal::Both,
            (false, false) => Disposal::None,
        };
        self.defer_minutes = m.deferred_send_time().map_or(0, |t| {
            u32::try_from(t.duration_since(Timestamp::now()).as_mins().max(0)).unwrap_or(0)
        });
        self.ndr = m.props.boolean(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED) != Some(false);
    }

    fn build(&self, base: &Message, sent: EntryId) -> Message {
        let mut m = base.clone();
        m.props.set_text(PR_SUBJECT, self.subject.clone());
        m.body.clone_from(&self.body);
        m.recipients = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Recipient::new(
                    u32::try_from(i).unwrap_or(0),
                    r.name.trim(),
                    r.address.trim(),
                    r.addrtype.trim(),
                    r.kind.unwrap_or(RecipientKind::To),
                )
            })
            .collect();
        m.props.remove(PR_SENTMAIL_ENTRYID);
        m.props.remove(PR_DELETE_AFTER_SUBMIT);
        if matches!(self.disposal, Disposal::SentItems | Disposal::Both) {
            m.props
                .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        }
        if matches!(self.disposal, Disposal::Delete | Disposal::Both) {
            m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
        }
        if self.defer_minutes > 0 {
            m.props.set_time(
                PR_DEFERRED_SEND_TIME,
                Timestamp::now() + SignedDuration::from_mins(i64::from(self.defer_minutes)),
            );
        } else {
            m.props.remove(PR_DEFERRED_SEND_TIME);
        }
        m.props
            .set_bool(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, self.ndr);
        m
    }
}

/// Draws the form for the draft `msg`.
pub fn compose_ui(app: &mut SpoolboxApp, ui: &mut Ui, msg: &Message) {
    if app.compose.loaded != Some(msg.entry_id) {
        app.compose.load(msg);
    }
    let c = &mut app.compose;
    egui::Grid::new("compose-head")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Subject");
            ui.add(egui::TextEdit::singleline(&mut c.subject).desired_width(480.0));
            ui.end_row();
            ui.label("After sending");
            ui.horizontal(|ui| {
                ui.radio_value(&mut c.disposal, Disposal::SentItems, "Move to Sent Items")
                    .on_hover_text("PR_SENTMAIL_ENTRYID = Sent Items");
                ui.radio_value(&mut c.disposal, Disposal::Delete, "Delete")
                    .on_hover_text("PR_DELETE_AFTER_SUBMIT = TRUE");
                ui.radio_value(&mut c.disposal, Disposal::Both, "Both")
                    .on_hover_text("Copy to Sent Items, then delete the original");
                ui.radio_value(&mut c.disposal, Disposal::None, "Keep in Outbox")
                    .on_hover_text("Neither property: it stays, no longer submitted");
            });
            ui.end_row();
            ui.label("Defer send (minutes)");
            ui.horizontal(|ui| {
                ui.add(egui::DragValue::new(&mut c.defer_minutes).range(0..=10_080))
                    .on_hover_text(
                        "PR_DEFERRED_SEND_TIME: the spooler holds the message until then",
                    );
                ui.checkbox(&mut c.ndr, "Non-delivery reports")
                    .on_hover_text("PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED");
            });
            ui.end_row();
        });
    ui.add_space(4.0);
    ui.label(RichText::new("Recipients").strong());
    let mut remove = None;
    egui::Grid::new("compose-rcpts")
        .num_columns(5)
        .show(ui, |ui| {
            for (i, r) in c.rows.iter_mut().enumerate() {
                ui.add(
                    egui::TextEdit::singleline(&mut r.name)
                        .hint_text("Display name")
                        .desired_width(150.0),
                );
                ui.add(
                    egui::TextEdit::singleline(&mut r.address)
                        .hint_text("Address")
                        .desired_width(220.0),
                );
                egui::ComboBox::from_id_salt(("addrtype", i))
                    .selected_text(if r.addrtype.is_empty() {
                        "type"
                    } else {
                        r.addrtype.as_str()
                    })
                    .width(80.0)
                    .show_ui(ui, |ui| {
                        for t in ["SMTP", "FAX", "EX", "X400", "MAPIPDL"] {
                            ui.selectable_value(&mut r.addrtype, t.to_owned(), t);
                        }
                    });
                egui::ComboBox::from_id_salt(("kind", i))
                    .selected_text(r.kind.unwrap_or(RecipientKind::To).label())
                    .width(50.0)
                    .show_ui(ui, |ui| {
                        for k in [RecipientKind::To, RecipientKind::Cc, RecipientKind::Bcc] {
                            ui.selectable_value(&mut r.kind, Some(k), k.label());
                        }
                    });
                if ui.small_button("Remove").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
    if let Some(i) = remove {
        c.rows.remove(i);
    }
    if ui.button("Add recipient").clicked() {
        c.rows.push(RowEdit {
            addrtype: "SMTP".into(),
            kind: Some(RecipientKind::To),
            ..RowEdit::default()
        });
    }
    ui.add_space(4.0);
    ui.label(RichText::new("Body").strong());
    ui.add(
        egui::TextEdit::multiline(&mut c.body)
            .desired_rows(5)
            .desired_width(f32::INFINITY),
    );
    let sent = app
        .model
        .folder_of(FolderKind::SentItems)
        .unwrap_or(EntryId(0));
    let draft = app.compose.build(msg, sent);
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Attachments ({})", msg.attachments.len())).strong());
        if ui.button("Attach file…").clicked()
            && let Some(paths) = rfd::FileDialog::new()
                .set_title("Attach files")
                .pick_files()
        {
            // Save the form first so the worker adds the file to what is on screen.
            app.command(Command::SaveDraft(Box::new(draft.clone())));
            for p in paths {
                app.command(Command::AttachFile(msg.entry_id, p));
            }
        }
    });
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
    if let Some(i) = drop_attachment {
        let mut d = draft.clone();
        if i < d.attachments.len() {
            d.attachments.remove(i);
        }
        app.command(Command::SaveDraft(Box::new(d)));
    }
    let problems: Vec<String> = if draft.recipients.is_empty() {
        vec!["MAPI_E_NO_RECIPIENTS: add at least one recipient before submitting".into()]
    } else {
        draft
            .recipients
            .iter()
            .filter_map(validate_recipient)
            .map(|w| format!("MAPI_E_INVALID_PARAMETER: {w}"))
            .collect()
    };
    for p in &problems {
        ui.label(RichText::new(p).color(theme::bad(ui)));
    }
    ui.horizontal(|ui| {
        if ui.button("Save draft").clicked() {
            app.command(Command::SaveDraft(Box::new(draft.clone())));
        }
        if ui
            .button("Submit")
            .on_hover_text("IMessage::SubmitMessage")
            .clicked()
        {
            // Saved and submitted in one command at the submission this editor saw: the
            // worker refuses a second click or a stale editor (MAPI_E_OBJECT_CHANGED). The
            // editor closes in this frame.
            let seen = msg.spool.submission;
            app.command(Command::SubmitDraft {
                draft: Box::new(draft),
                seen,
            });
            app.compose.loaded = None;
            app.model.tab = super::model::Tab::Pipeline;
        }
    });
}
