//! The message detail: its heading and tabs here, one file per tab: Pipeline (step bar,
//! recipients, time travel), Properties, Trace, Source; the editor is `compose`.

mod pipeline;
mod prop_edit;
mod properties;
mod source;
mod trace;

use egui::{RichText, Ui};

use super::Intent;
use super::compose::{self, ComposeState};
use super::dialogs::Purpose;
use super::model::{Model, Tab};
use super::theme;
use crate::mapi::{Message, MessageState};
use crate::spooler::view::{ReasonContext, counts, reason};
use crate::store::{FolderKind, Summary};

pub use prop_edit::{Editing, PropsEdit};

/// What the reasons are read against, taken once per frame (the table asks for each row).
pub struct Reasons<'a> {
    cx: ReasonContext<'a>,
}

impl<'a> Reasons<'a> {
    /// The window's view of the spooler at `now`.
    pub fn new(model: &'a Model, now: jiff::Timestamp) -> Self {
        Self {
            cx: ReasonContext {
                profile: model.profile.as_ref(),
                debug: &model.debug,
                status: &model.status,
                running: true,
                now,
            },
        }
    }

    /// Why `s` waits (see [`reason`]).
    pub fn of(&self, s: &Summary) -> Option<String> {
        reason(s, &self.cx)
    }
}

/// The reason line for a queued message, as the table's Why column gives it.
pub fn reason_of(model: &Model, s: &Summary, now: jiff::Timestamp) -> Option<String> {
    Reasons::new(model, now).of(s)
}

/// What the detail edits and shows besides the model.
#[derive(Debug)]
pub struct DetailState<'a> {
    /// The draft editor.
    pub compose: &'a mut ComposeState,
    /// A file dialog (or the path field) is open: Export waits.
    pub dialog_open: bool,
    /// The Properties tab's editor.
    pub props: &'a mut PropsEdit,
}

/// Draws the detail area.
pub fn detail_ui(ui: &mut Ui, model: &Model, panel: DetailState<'_>, out: &mut Vec<Intent>) {
    ui.add_space(4.0);
    let Some(msg) = &model.detail else {
        ui.label(
            RichText::new(if model.focused.is_some() {
                "Loading…"
            } else {
                "Select a message to see its pipeline, properties, trace and source."
            })
            .color(theme::muted(ui)),
        );
        return;
    };
    let now = jiff::Timestamp::now();
    let state = msg.state(now);
    heading_ui(ui, model, msg, now);
    let editable = state == MessageState::Draft && model.submitting != Some(msg.entry_id);
    ui.horizontal(|ui| tabs_ui(ui, model, msg, state, editable, panel.dialog_open, out));
    ui.separator();
    let editing = model.tab == Tab::Compose && editable;
    // In the editor Submit and Save sit under the form, always in view: after the body, as
    // Tab reaches them.
    let bar = if editing {
        ui.spacing().interact_size.y + 3.0 * ui.spacing().item_spacing.y + 6.0
    } else {
        0.0
    };
    let compose = panel.compose;
    egui::ScrollArea::vertical()
        .id_salt("detail-scroll")
        .auto_shrink([false, false])
        .max_height((ui.available_height() - bar).max(40.0))
        .show(ui, |ui| match model.tab {
            Tab::Pipeline => pipeline::pipeline_ui(ui, model, msg, out),
            Tab::Properties => properties::properties_ui(ui, model, msg, panel.props, out),
            Tab::Trace => trace::trace_ui(ui, msg, panel.dialog_open, out),
            Tab::Source => source::source_ui(ui, model, msg),
            Tab::Compose => {
                if compose.loaded == Some(msg.entry_id) {
                    compose::compose_ui(ui, compose, msg, out);
                }
            }
        });
    if editing {
        ui.separator();
        compose::actions_ui(ui, compose, out);
    }
}

/// The subject, the message's number and state, its counts and why it waits.
fn heading_ui(ui: &mut Ui, model: &Model, msg: &Message, now: jiff::Timestamp) {
    let state = msg.state(now);
    let summary = model.summaries.get(&msg.entry_id);
    ui.horizontal(|ui| {
        ui.heading(if msg.subject().is_empty() {
            "(no subject)"
        } else {
            msg.subject()
        });
        ui.label(RichText::new(format!("message {}", msg.entry_id)).color(theme::muted(ui)));
        if let Some(s) = summary {
            let word = s.state_word(now);
            ui.label(
                RichText::new(word)
                    .strong()
                    .color(theme::state_word(ui, s, now)),
            );
            // Received mail tells nothing of its recipients' delivery.
            if s.total > 0 && !matches!(state, MessageState::Draft | MessageState::Received) {
                ui.label(RichText::new(counts_text(s)).color(theme::muted(ui)));
            }
        }
    });
    if let Some(why) = summary.and_then(|s| reason_of(model, s, now)) {
        ui.label(RichText::new(format!("Why it waits: {why}")).color(theme::warn(ui)));
    }
}

/// The tabs, Edit draft, and what can be done with the message (Export, Resend, Send again).
fn tabs_ui(
    ui: &mut Ui,
    model: &Model,
    msg: &Message,
    state: MessageState,
    editable: bool,
    dialog_open: bool,
    out: &mut Vec<Intent>,
) {
    for (tab, label) in [
        (Tab::Pipeline, "Pipeline"),
        (Tab::Properties, "Properties"),
        (Tab::Trace, "Trace"),
        (Tab::Source, "Source"),
    ] {
        let r = ui.selectable_label(model.tab == tab, label);
        // Enter on a message put the keyboard here, on the tab shown.
        if model.focus_detail && model.tab == tab {
            r.request_focus();
        }
        if r.clicked() {
            out.push(Intent::ShowTab(tab));
        }
    }
    if editable
        && ui
            .selectable_label(model.tab == Tab::Compose, "Edit draft")
            .clicked()
    {
        out.push(Intent::ShowTab(Tab::Compose));
    }
    ui.separator();
    if ui
        .add_enabled(!dialog_open, egui::Button::new("Export .eml…"))
        .on_hover_text("Save this message as an RFC 5322 file")
        .on_disabled_hover_text("A file dialog (or the path field) is open")
        .clicked()
    {
        out.push(Intent::PickFile(Purpose::Export(msg.entry_id)));
    }
    if msg.message_class().to_ascii_uppercase().ends_with(".NDR") && msg.embedded.is_some() {
        ui.separator();
        if ui.button("Resend…").on_hover_text("Opens a copy to correct and submit (MSGFLAG_RESEND): fix the failed addresses; recipients who got it are marked MAPI_SUBMITTED and not sent again. Nothing is sent until you submit it").clicked() {
            out.push(Intent::Resend(msg.entry_id));
        }
    }
    if Some(msg.folder) == model.folder_of(FolderKind::DeletedItems) {
        ui.separator();
        let back = model
            .summaries
            .get(&msg.entry_id)
            .and_then(|s| s.deleted_from)
            .and_then(|f| model.folders.iter().find(|x| x.entry_id == f))
            .map_or_else(
                || {
                    "the folder it belongs in (where it was deleted from was not recorded)"
                        .to_owned()
                },
                |f| f.name.clone(),
            );
        if ui
            .button("Restore")
            .on_hover_text(format!(
                "Back to {back}, as it was: a draft stays a draft, a sent copy a sent copy; nothing is sent"
            ))
            .clicked()
        {
            out.push(Intent::Restore(vec![msg.entry_id]));
        }
    }
    if state == MessageState::Sent {
        ui.separator();
        if ui
            .button("Send again…")
            .on_hover_text("Opens a copy with the same content and recipients to edit; nothing is sent until you submit it. This one and its trace stay as they are")
            .clicked()
        {
            out.push(Intent::SendAgain(msg.entry_id));
        }
    }
}

/// "2 delivered · 1 failed · 1 waiting of 4", the counts that tell the truth about a message.
pub fn counts_text(s: &Summary) -> String {
    counts(s)
}
