//! The Properties tab, as MFCMAPI shows an object: every property of the message, then of
//! each recipient row, with its tag, canonical name, type and value, flag words decoded.
//! Entry ids name the folder or message they point to, as a link that shows it. On a draft a
//! property's name opens a typed editor (`prop_edit`) that saves through the draft save path;
//! anything else is read-only, and says why.

use std::borrow::Cow;

use egui::{RichText, Ui};

use super::super::Intent;
use super::super::model::Model;
use super::super::theme;
use super::prop_edit::{self, Done, Editing, PropsEdit};
use crate::mapi::flags::{self, FlagKind};
use crate::mapi::tags::{self, PropTag};
use crate::mapi::{EntryId, Message, MessageState, PropBag, PropValue};

/// Where an entry id points in this store.
enum Target<'a> {
    Folder(&'a str),
    Message(&'a str),
}

/// The folder or message an entry id property points to, if it is one of this store's.
fn target<'a>(model: &'a Model, tag: PropTag, v: &PropValue) -> Option<(EntryId, Target<'a>)> {
    let PropValue::Binary(b) = v else {
        return None;
    };
    if !tag.name().ends_with("ENTRYID") {
        return None;
    }
    let id = EntryId::from_bytes(b)?;
    if let Some(f) = model.folders.iter().find(|f| f.entry_id == id) {
        return Some((id, Target::Folder(&f.name)));
    }
    model
        .summaries
        .get(&id)
        .map(|s| (id, Target::Message(&s.subject)))
}

/// Why the message's properties cannot be edited, if they cannot.
fn read_only(model: &Model, msg: &Message, state: MessageState) -> Option<String> {
    Some(match state {
        MessageState::Draft if model.submitting == Some(msg.entry_id) => {
            "Read-only while the submit is under way.".into()
        }
        MessageState::Draft => return None,
        MessageState::Sent => "Read-only: a sent copy keeps what the spooler recorded (Send again… makes a new message to edit).".into(),
        MessageState::Received => "Read-only: received mail and reports are kept as they arrived.".into(),
        MessageState::Locked => "Read-only: the spooler has locked the message (SUBMITFLAG_LOCKED) to send it.".into(),
        _ => "Read-only: the message is submitted (MSGFLAG_SUBMIT); Abort submit makes it a draft again to edit it.".into(),
    })
}

/// What a grid draws and edits: the bag, with the properties the store computes added.
struct Grid<'a> {
    id: String,
    row: Option<u32>,
    props: Vec<(PropTag, Cow<'a, PropValue>, bool)>,
}

impl<'a> Grid<'a> {
    fn new(id: String, row: Option<u32>, bag: &'a PropBag) -> Self {
        Self {
            id,
            row,
            props: bag
                .iter()
                .map(|(t, v)| (t, Cow::Borrowed(v), false))
                .collect(),
        }
    }

    /// Adds a property the store computes (shown where the bag lacks it).
    fn computed(mut self, tag: PropTag, v: PropValue) -> Self {
        if !self.props.iter().any(|(t, _, _)| *t == tag) {
            self.props.push((tag, Cow::Owned(v), true));
            self.props.sort_by_key(|(t, _, _)| *t);
        }
        self
    }
}

/// What the grid is drawn with.
struct Cx<'m, 'e> {
    model: &'m Model,
    eid: EntryId,
    editable: bool,
    edit: &'e mut PropsEdit,
}

/// The Properties tab.
pub(super) fn properties_ui(
    ui: &mut Ui,
    model: &Model,
    msg: &Message,
    edit: &mut PropsEdit,
    out: &mut Vec<Intent>,
) {
    let state = msg.state(jiff::Timestamp::now());
    let why = read_only(model, msg, state);
    if edit.editing.as_ref().is_some_and(|e| e.eid != msg.entry_id) || why.is_some() {
        edit.editing = None;
    }
    ui.label(
        RichText::new(why.clone().unwrap_or_else(|| {
            "A draft: click a property's name to edit it; it is saved with the draft.".into()
        }))
        .color(theme::muted(ui)),
    );
    ui.add_space(4.0);
    let mut cx = Cx {
        model,
        eid: msg.entry_id,
        editable: why.is_none(),
        edit,
    };
    let message = Grid::new("msg-props".into(), None, &msg.props)
        .computed(tags::PR_ENTRYID, PropValue::Binary(msg.entry_id.to_bytes()))
        .computed(
            tags::PR_PARENT_ENTRYID,
            PropValue::Binary(msg.folder.to_bytes()),
        );
    egui::CollapsingHeader::new(
        RichText::new(format!("Message ({} properties)", message.props.len())).strong(),
    )
    .id_salt("props-message")
    .default_open(true)
    .show(ui, |ui| grid_ui(ui, &message, &mut cx, out));
    // A few recipients are shown open; many start closed.
    let open = msg.recipients.len() <= 4;
    for r in &msg.recipients {
        let by = r
            .transport
            .as_deref()
            .map_or_else(String::new, |t| format!(" by {t}"));
        let title = format!(
            "Recipient {}: {} ({} properties; {}{by})",
            r.row_id,
            r.label(),
            r.props.len(),
            r.outcome.label()
        );
        let grid = Grid::new(format!("rcpt-{}", r.row_id), Some(r.row_id), &r.props);
        egui::CollapsingHeader::new(title)
            .id_salt(("props-rcpt", r.row_id))
            .default_open(open)
            .show(ui, |ui| grid_ui(ui, &grid, &mut cx, out));
    }
    if !msg.attachments.is_empty() {
        ui.label(RichText::new("Attachments").strong());
        for a in &msg.attachments {
            ui.label(format!(
                "{} ({}, {} bytes)",
                a.file_name,
                a.mime_type,
                a.data.len()
            ));
        }
    }
}

/// One bag as a grid: tag, name, type, value (or its editor), decoded flags.
fn grid_ui(ui: &mut Ui, grid: &Grid<'_>, cx: &mut Cx<'_, '_>, out: &mut Vec<Intent>) {
    egui::Grid::new(&grid.id)
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            ui.strong("Tag");
            ui.strong("Name");
            ui.strong("Type");
            ui.strong("Value");
            ui.strong("Flags");
            ui.end_row();
            for (tag, v, computed) in &grid.props {
                row_ui(ui, grid.row, *tag, v, *computed, cx, out);
                ui.end_row();
            }
        });
}

/// One property's row.
fn row_ui(
    ui: &mut Ui,
    row: Option<u32>,
    tag: PropTag,
    v: &PropValue,
    computed: bool,
    cx: &mut Cx<'_, '_>,
    out: &mut Vec<Intent>,
) {
    let def = tags::lookup(tag);
    let doc = def.map_or("(not in the catalogue; kept as is)", |d| d.doc);
    ui.monospace(tag.hex());
    let fixed = if computed {
        Some("set by the store".to_owned())
    } else {
        prop_edit::fixed(tag)
    };
    let name = tag.name();
    if cx.editable && fixed.is_none() {
        let r = ui
            .add(egui::Button::new(RichText::new(&name).underline()).frame(false))
            .on_hover_text(format!("Edit {name}: {doc}"));
        if r.clicked() {
            cx.edit.editing = Some(Editing::start(cx.eid, row, tag, v));
        }
    } else {
        let tip = match (&fixed, cx.editable) {
            (Some(why), true) => format!("{doc}\nRead-only: {why}."),
            _ => doc.to_owned(),
        };
        ui.label(&name).on_hover_text(tip);
    }
    ui.label(tags::type_name(tag.prop_type()));
    let editing = cx
        .edit
        .editing
        .as_mut()
        .filter(|e| e.eid == cx.eid && e.row == row && e.tag == tag);
    if let Some(e) = editing {
        match prop_edit::editor_ui(ui, e) {
            Some(Done::Save(value)) => {
                out.push(Intent::SetProperty {
                    eid: cx.eid,
                    row,
                    tag,
                    value,
                });
                cx.edit.editing = None;
            }
            Some(Done::Cancel) => cx.edit.editing = None,
            None => {}
        }
    } else {
        value_ui(ui, cx.model, tag, v, out);
    }
    match (def.map(|d| d.flags), v.as_u32()) {
        (Some(k), Some(bits)) if k != FlagKind::None => {
            let decoded = flags::decode(k, bits);
            let tip: Vec<String> = decoded
                .split(" | ")
                .filter_map(|n| flags::flag_doc(n).map(|d| format!("{n}: {d}")))
                .collect();
            let r = ui.label(decoded);
            if !tip.is_empty() {
                r.on_hover_text(tip.join("\n"));
            }
        }
        _ => {
            ui.label("");
        }
    }
}

/// A value: an entry id of this store as a link to what it points to, else its text (long
/// ones cut, in full on hover).
fn value_ui(ui: &mut Ui, model: &Model, tag: PropTag, v: &PropValue, out: &mut Vec<Intent>) {
    let value = v.to_string();
    if let Some((id, t)) = target(model, tag, v) {
        let text = match t {
            Target::Folder(name) => format!("folder: {name}"),
            Target::Message("") => format!("message {id}: (no subject)"),
            Target::Message(s) => format!("message {id}: {s}"),
        };
        if ui
            .link(text)
            .on_hover_text(format!("{value}\nClick to show it"))
            .clicked()
        {
            out.push(Intent::GoTo(id));
        }
        return;
    }
    let shown = if value.chars().count() > 80 {
        format!("{}…", value.chars().take(80).collect::<String>())
    } else {
        value.clone()
    };
    ui.label(shown).on_hover_text(value);
}
