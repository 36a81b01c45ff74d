//! The editor's widgets: one row per recipient, the subject, the body, the delivery options
//! and the attachments, then the actions bar (drawn under the form by the caller).

use egui::{RichText, Ui};

use super::{ADDRESS_TYPES, ComposeState, Content, Disposal, RowEdit, SaveState, split_pasted};
use crate::mapi::{Message, RecipientKind};
use crate::ui::Intent;
use crate::ui::dialogs::Purpose;
use crate::ui::theme;

/// Names a widget for screen readers and the tests (a text field has no label of its own).
fn name(resp: &egui::Response, label: &str) {
    let label = label.to_owned();
    resp.ctx
        .accesskit_node_builder(resp.id, move |b| b.set_label(label));
}

/// The bar under the form: Submit and Save always in view, and whether the edits are saved.
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
        let ctrl_enter = ui.input_mut(|i| i.consume_shortcut(&crate::ui::keys::SEND));
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

/// Draws the form for the draft `msg` (the actions bar is drawn under it by the caller).
pub fn compose_ui(ui: &mut Ui, c: &mut ComposeState, msg: &Message, out: &mut Vec<Intent>) {
    let before = c.content.clone();
    let full = ui.available_width();
    // Recipients, subject, body: the order they read in, and the order Tab takes.
    ui.label(RichText::new("Recipients").strong());
    recipients_ui(ui, c, full);
    ui.add_space(6.0);
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
        // The checks beside the rows were drawn from the content before this
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
    /// Into this row's address.
    row: &'a mut Option<usize>,
}

/// What a recipient row asks of the list once drawn.
struct RowChange {
    /// Replace it with these rows (a pasted list, or a typed list once the field is left).
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
        let change = ui
            .horizontal(|ui| row_ui(ui, r, i, count, widths, &mut focus))
            .inner;
        if let Some(rows) = change.split {
            split = Some((i, rows));
        }
        if change.remove {
            remove = Some(i);
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
    // The checks share the line of Add recipient, which is always there: a check that comes
    // or goes while typing never moves the fields below (a click meant for Subject landed
    // on the body when a line appeared under a recipient; issue 28, item 4).
    ui.horizontal(|ui| {
        if ui.button("Add recipient").clicked() {
            c.content.rows.push(RowEdit::new_smtp());
        }
        let said: Vec<String> = problems
            .iter()
            .map(|(row, why)| match row {
                Some(i) => format!("Recipient {}: {why}", i + 1),
                None => why.clone(),
            })
            .collect();
        if let Some(first) = said.first() {
            let text = match said.len() {
                1 => first.clone(),
                n => format!("{first} (and {} more)", n - 1),
            };
            ui.add(egui::Label::new(RichText::new(text).color(theme::bad(ui))).truncate())
                .on_hover_text(said.join("\n"));
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
    // Mouse only, never a Tab stop: a space typed after tabbing out of the address (a
    // keyboard user heading for the subject) clicked it and the autosave kept the loss
    // (seen under Xvfb). A row is emptied from the keyboard by clearing its address.
    let remove = ui
        .add_enabled(
            count > 1 || !r.is_blank(),
            egui::Button::new("×").sense(egui::Sense::CLICK),
        )
        .on_hover_text(format!("Remove recipient {n}"))
        .clicked();
    RowChange { split, remove }
}

/// A row's address field, with the cursor put there when asked; returns the rows it is to
/// become when a list was pasted into it, or typed into it and the field left.
fn address_ui(
    ui: &mut Ui,
    r: &mut RowEdit,
    i: usize,
    width: f32,
    focus: &mut Focus<'_>,
) -> Option<Vec<RowEdit>> {
    let kept = r.keeps_original();
    let mut field = egui::TextEdit::singleline(&mut r.address);
    if kept {
        field = field.text_color(theme::muted(ui));
    }
    let ad = ui.add(
        field
            .hint_text(match r.addrtype.as_str() {
                "FAX" => "Fax number, e.g. +1 212 555-0142",
                "EX" => "/o=Org/cn=name",
                _ => "Address, or paste a list: a@x.org, \"B\" <b@y.org>",
            })
            .desired_width(width),
    );
    let ad = if kept {
        ad.on_hover_text(
            "Got the original: kept and not sent again (MAPI_SUBMITTED). Change the address to send to it.",
        )
    } else {
        ad
    };
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
    // A list typed into one field stays as typed while the cursor is in it: splitting it
    // into rows as a comma was typed moved the cursor mid-frame, and what was typed in the
    // same frame went to the old row or nowhere (issue 28, item 4). The field becomes one row
    // per address when it is left; until then the draft reads the list as those rows.
    if ad.lost_focus() {
        return settled(r);
    }
    if !ad.changed() {
        return None;
    }
    // A pasted list becomes one row per address at once.
    let pasted = ui.input(|inp| {
        inp.events
            .iter()
            .any(|e| matches!(e, egui::Event::Paste(_)))
    });
    if pasted && let Some(rows) = split_pasted(&r.address) {
        return Some(rows);
    }
    None
}

/// What a left address field becomes: the rows it stands for ([`RowEdit::expanded`]: one per
/// address of a typed list, or `Name <address>` taken apart); `None` when it stays as it is
/// (one bare address, a fax number, an X.500 name).
fn settled(r: &RowEdit) -> Option<Vec<RowEdit>> {
    let rows = r.expanded();
    (rows.as_slice() != std::slice::from_ref(r)).then_some(rows)
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
