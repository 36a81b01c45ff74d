//! The message detail: Pipeline (step bar, recipients, time travel), Properties, Trace, Source.

use std::fmt::Write as _;

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use super::Intent;
use super::compose::{self, ComposeState};
use super::dialogs::Purpose;
use super::model::{Model, Tab};
use super::theme;
use crate::mapi::flags::{self, FlagKind};
use crate::mapi::{
    Message, MessageState, PropBag, PropChange, RecipientState, Step, StepOutcome, tags,
};
use crate::spooler::view::{ReasonContext, counts, reason, rewind};
use crate::store::Summary;

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
}

/// Draws the detail area.
pub fn detail_ui(ui: &mut Ui, model: &Model, state: DetailState<'_>, out: &mut Vec<Intent>) {
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
    let state_now = msg.state(now);
    heading_ui(ui, model, msg, now);
    let editable = state_now == MessageState::Draft && model.submitting != Some(msg.entry_id);
    ui.horizontal(|ui| tabs_ui(ui, model, msg, editable, state.dialog_open, out));
    ui.separator();
    if model.tab == Tab::Compose && editable {
        compose::actions_ui(ui, state.compose, out);
        ui.separator();
    }
    let compose = state.compose;
    egui::ScrollArea::vertical()
        .id_salt("detail-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| match model.tab {
            Tab::Pipeline => pipeline_ui(ui, model, msg, out),
            Tab::Properties => properties_ui(ui, msg),
            Tab::Trace => trace_ui(ui, msg, state.dialog_open, out),
            Tab::Source => source_ui(ui, model, msg),
            Tab::Compose => {
                if compose.loaded == Some(msg.entry_id) {
                    compose::compose_ui(ui, compose, msg, out);
                }
            }
        });
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
            if s.total > 0 && state != MessageState::Draft {
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
    editable: bool,
    dialog_open: bool,
    out: &mut Vec<Intent>,
) {
    let state = msg.state(jiff::Timestamp::now());
    for (tab, label) in [
        (Tab::Pipeline, "Pipeline"),
        (Tab::Properties, "Properties"),
        (Tab::Trace, "Trace"),
        (Tab::Source, "Source"),
    ] {
        if ui.selectable_label(model.tab == tab, label).clicked() {
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
        if ui.button("Resend").on_hover_text("A new message with MSGFLAG_RESEND: recipients who got it are marked MAPI_SUBMITTED and not sent again").clicked() {
            out.push(Intent::Resend(msg.entry_id));
        }
    }
    if state == MessageState::Sent {
        ui.separator();
        if ui
            .button("Send again…")
            .on_hover_text("A new message with the same content to every recipient; this one and its trace stay as they are")
            .clicked()
        {
            out.push(Intent::AskSendAgain(msg.entry_id));
        }
    }
}

/// "2 delivered · 1 failed · 1 waiting of 4", the counts that tell the truth about a message.
pub fn counts_text(s: &Summary) -> String {
    counts(s)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StepState {
    Pending,
    Active,
    Done,
    Skipped,
    Waiting,
    Failed,
}

/// Draws the step bar: a click on a recorded step travels back to before it, a checkbox
/// sets a breakpoint.
fn step_bar_ui(ui: &mut Ui, model: &Model, msg: &Message, out: &mut Vec<Intent>) {
    let at = model
        .debug
        .at
        .filter(|(e, _)| *e == msg.entry_id)
        .map(|(_, s)| s);
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        for step in &Step::ALL {
            let rec_idx = msg.history.iter().rposition(|r| r.step == *step);
            let rec = rec_idx.and_then(|i| msg.history.get(i));
            let next = msg.spool.next_step;
            let state = if at == Some(*step) {
                StepState::Active
            } else {
                match rec.map(|r| &r.outcome) {
                    // A wait that a later attempt got past reads as done.
                    Some(StepOutcome::Waiting(_)) if next.is_some_and(|n| n <= *step) => StepState::Waiting,
                    Some(StepOutcome::Done | StepOutcome::Waiting(_)) => StepState::Done,
                    Some(StepOutcome::Skipped) => StepState::Skipped,
                    Some(StepOutcome::Failed(_)) => StepState::Failed,
                    None => StepState::Pending,
                }
            };
            let (color, mark) = match state {
                StepState::Pending => (theme::muted(ui), "·"),
                StepState::Active => (theme::active(ui), "»"),
                StepState::Done => (theme::ok(ui), "+"),
                StepState::Skipped => (theme::muted(ui), "–"),
                StepState::Waiting => (theme::warn(ui), "…"),
                StepState::Failed => (theme::bad(ui), "×"),
            };
            let timing = rec.map(|r| if r.micros >= 1000 { format!(" {} ms", r.micros / 1000) } else { format!(" {} µs", r.micros) }).unwrap_or_default();
            let selected = model.travel.is_some() && model.travel == rec_idx;
            let text = RichText::new(format!("{mark} {}", step.name())).color(color);
            let text = if selected { text.strong().underline() } else { text };
            let frame_stroke = if state == StepState::Active { egui::Stroke::new(2.0, color) } else { egui::Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color) };
            // A step name is never broken: a chip that does not fit starts the next row.
            #[allow(clippy::cast_precision_loss, reason = "a step name is a few dozen characters")]
            let wide = 7.5 * (step.name().len() as f32 + 2.0) + 24.0;
            if ui.available_size_before_wrap().x < wide {
                ui.end_row();
            }
            egui::Frame::new().stroke(frame_stroke).corner_radius(4.0).inner_margin(egui::Margin::symmetric(6, 3)).show(ui, |ui| {
                ui.vertical(|ui| {
                    let r = ui.add(egui::Button::new(text).frame(false).wrap_mode(egui::TextWrapMode::Extend));
                    let mut tip = step.doc().to_owned();
                    if let Some(r) = rec {
                        let _ = write!(tip, "\n\n{}: {:?}", r.started.strftime("%H:%M:%S%.3f"), r.outcome);
                        tip.push_str("\nClick to see the message as it was before this step, with the properties it changed.");
                    }
                    if r.on_hover_text(tip).clicked() {
                        out.push(Intent::TimeTravel(if selected { None } else { rec_idx }));
                    }
                    ui.horizontal(|ui| {
                        let mut on = model.debug.breakpoints.contains(step);
                        if ui.checkbox(&mut on, RichText::new("break").small()).on_hover_text(format!("Break before {}", step.name())).changed() {
                            out.push(Intent::SetBreakpoint(*step, on));
                        }
                        ui.label(RichText::new(timing.trim()).small().color(theme::muted(ui)));
                    });
                });
            });
        }
    });
}

fn pipeline_ui(ui: &mut Ui, model: &Model, msg: &Message, out: &mut Vec<Intent>) {
    if msg.state(jiff::Timestamp::now()) == MessageState::Received {
        received_ui(ui, msg);
        return;
    }
    step_bar_ui(ui, model, msg, out);
    if let Some(err) = &msg.spool.last_error {
        ui.label(RichText::new(format!("Last trouble: {err}")).color(theme::warn(ui)));
    }
    if let Some(t) = msg.spool.next_retry {
        ui.label(
            RichText::new(format!(
                "Next retry at {} (attempt {})",
                t.strftime("%H:%M:%S UTC"),
                msg.spool.attempts + 1
            ))
            .color(theme::warn(ui)),
        );
    }
    ui.add_space(6.0);
    let then;
    let shown = match model.travel {
        Some(i) => {
            then = rewind(msg, i);
            let rec = msg.history.get(i);
            ui.group(|ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!(
                            "Time travel: the message before {} ({} change(s) made by that step)",
                            rec.map_or("?", |r| r.step.name()),
                            rec.map_or(0, |r| r.changes.len())
                        ))
                        .strong()
                        .color(theme::active(ui)),
                    );
                    if ui.button("Back to now").clicked() {
                        out.push(Intent::TimeTravel(None));
                    }
                });
                if let Some(r) = rec {
                    diff_ui(ui, &r.changes);
                }
            });
            &then
        }
        None => msg,
    };
    ui.add_space(4.0);
    recipients_ui(ui, shown);
}

/// Reports and local deliveries never go through the send pipeline: say what they are.
fn received_ui(ui: &mut Ui, msg: &Message) {
    if let Some(orig) = msg.embedded.as_deref() {
        ui.label(RichText::new(format!(
            "Non-delivery report ({}) for message {} \"{}\": {} recipient(s) could not be reached.",
            msg.message_class(),
            orig.entry_id,
            orig.subject(),
            msg.recipients.len()
        )));
        ui.label(
            RichText::new("Resend creates a new message with MSGFLAG_RESEND: the recipients who got it are marked MAPI_SUBMITTED and are not sent again.")
                .color(theme::muted(ui)),
        );
    } else {
        ui.label("A received message (delivered locally by the tightly coupled store): the send pipeline does not run on it.");
    }
    ui.add_space(4.0);
    recipients_ui(ui, msg);
}

fn diff_ui(ui: &mut Ui, changes: &[PropChange]) {
    egui::Grid::new("diff").striped(true).show(ui, |ui| {
        ui.strong("Row");
        ui.strong("Property");
        ui.strong("Before");
        ui.strong("After");
        ui.end_row();
        for c in changes {
            ui.label(c.row.map_or("message".into(), |r| format!("recipient {r}")));
            ui.label(c.tag.name())
                .on_hover_text(tags::lookup(c.tag).map_or("", |d| d.doc));
            ui.label(
                c.before
                    .as_ref()
                    .map_or("(absent)".into(), |v| value_text(c.tag, v)),
            );
            ui.label(
                c.after
                    .as_ref()
                    .map_or("(removed)".into(), |v| value_text(c.tag, v)),
            );
            ui.end_row();
        }
    });
}

fn value_text(tag: tags::PropTag, v: &crate::mapi::PropValue) -> String {
    match (tags::lookup(tag).map(|d| d.flags), v.as_u32()) {
        (Some(k), Some(bits)) if k != FlagKind::None => {
            format!("0x{bits:08X} {}", flags::decode(k, bits))
        }
        _ => v.to_string(),
    }
}

fn recipients_ui(ui: &mut Ui, msg: &Message) {
    ui.label(RichText::new("Recipients").strong());
    TableBuilder::new(ui)
        .id_salt("recipients")
        .striped(true)
        .vscroll(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(40.0))
        .column(Column::initial(190.0).clip(true))
        .column(Column::exact(60.0))
        .column(Column::exact(40.0))
        .column(Column::exact(150.0))
        .column(Column::initial(110.0).clip(true))
        .column(Column::initial(120.0))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            for t in [
                "Row",
                "Recipient",
                "Type",
                "Kind",
                "PR_RESPONSIBILITY",
                "Transport",
                "Outcome",
                "Report text",
            ] {
                h.col(|ui| {
                    let r = ui.strong(t);
                    if t == "PR_RESPONSIBILITY" {
                        r.on_hover_text(
                            tags::lookup(tags::PR_RESPONSIBILITY).map_or("", |d| d.doc),
                        );
                    }
                });
            }
        })
        .body(|mut body| {
            for r in msg.recipients.iter().filter(|r| !r.is_p1()) {
                body.row(20.0, |mut row| {
                    row.col(|ui| {
                        ui.label(r.row_id.to_string());
                    });
                    row.col(|ui| {
                        ui.label(r.label());
                    });
                    row.col(|ui| {
                        ui.label(r.addrtype()).on_hover_text(
                            "PR_ADDRTYPE: matched exactly against each transport's address types",
                        );
                    });
                    row.col(|ui| {
                        let k = r.kind().label();
                        if r.is_submitted_marker() {
                            ui.label(format!("{k}*")).on_hover_text(
                                "MAPI_SUBMITTED: already received; shown, never sent again",
                            );
                        } else {
                            ui.label(k);
                        }
                    });
                    row.col(|ui| {
                        let mut v = r.responsibility();
                        let text = if v { "TRUE" } else { "FALSE" };
                        ui.add_enabled(
                            false,
                            egui::Checkbox::new(&mut v, format!("{text} (row {})", r.row_id)),
                        );
                    });
                    row.col(|ui| {
                        ui.label(r.transport.as_deref().unwrap_or("-"));
                    });
                    row.col(|ui| {
                        let c = match r.outcome {
                            RecipientState::Delivered
                            | RecipientState::HandledByStore
                            | RecipientState::SkippedResend => theme::ok(ui),
                            RecipientState::Failed | RecipientState::NoTransport => theme::bad(ui),
                            RecipientState::Retrying | RecipientState::OutcomeUnknown => {
                                theme::warn(ui)
                            }
                            RecipientState::Pending => theme::muted(ui),
                        };
                        ui.label(RichText::new(r.outcome.label()).color(c));
                    });
                    row.col(|ui| {
                        let t = r.report_text().unwrap_or("");
                        ui.label(t).on_hover_text(t);
                    });
                });
            }
        });
}

fn props_grid(ui: &mut Ui, id: &str, bag: &PropBag) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            ui.strong("Tag");
            ui.strong("Name");
            ui.strong("Type");
            ui.strong("Value");
            ui.strong("Flags");
            ui.end_row();
            for (tag, v) in bag.iter() {
                let def = tags::lookup(tag);
                ui.monospace(tag.hex());
                ui.label(tag.name())
                    .on_hover_text(def.map_or("(not in the catalogue; kept as is)", |d| d.doc));
                ui.label(tags::type_name(tag.prop_type()));
                let value = v.to_string();
                let shown = if value.len() > 80 {
                    format!("{}…", value.chars().take(80).collect::<String>())
                } else {
                    value.clone()
                };
                ui.label(shown).on_hover_text(value);
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
                ui.end_row();
            }
        });
}

fn properties_ui(ui: &mut Ui, msg: &Message) {
    ui.label(RichText::new(format!("Message properties ({})", msg.props.len())).strong());
    props_grid(ui, "msg-props", &msg.props);
    for r in &msg.recipients {
        egui::CollapsingHeader::new(format!("Recipient row {}: {}", r.row_id, r.label()))
            .default_open(false)
            .show(ui, |ui| {
                props_grid(ui, &format!("rcpt-{}", r.row_id), &r.props);
            });
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

fn trace_ui(ui: &mut Ui, msg: &Message, dialog_open: bool, out: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("{} MAPI call(s)", msg.trace.len())).strong());
        if ui
            .add_enabled(!dialog_open, egui::Button::new("Export trace…"))
            .clicked()
        {
            out.push(Intent::PickFile(Purpose::ExportTrace(msg.entry_id)));
        }
    });
    let mut submission = 0;
    let mut handoff = 0;
    // The time and step columns take about 230 points; the call gets the rest.
    let call_w = (ui.available_width() - 240.0).max(240.0);
    egui::Grid::new("trace").striped(true).show(ui, |ui| {
        for (i, c) in msg.trace.iter().enumerate() {
            // Every attempt stays, numbered: each submission and each hand-off.
            if c.step == Step::SubmitMessage && c.call == "IMessage::SaveChanges" {
                submission += 1;
                handoff = 0;
                ui.label("");
                ui.label(
                    RichText::new(format!("Submission {submission}"))
                        .strong()
                        .color(theme::active(ui)),
                );
                ui.end_row();
            }
            if c.call == "IXPLogon::SubmitMessage" {
                handoff += 1;
            }
            ui.monospace(c.at.strftime("%H:%M:%S%.3f").to_string());
            ui.label(RichText::new(c.step.name()).color(theme::muted(ui)));
            let failed = c.result.starts_with("MAPI_E") || c.result.contains("FAIL");
            let line = if c.call == "IXPLogon::SubmitMessage" {
                format!("[hand-off {handoff}] {c}")
            } else {
                c.to_string()
            };
            let text = RichText::new(line.clone()).monospace();
            // Long lines wrap at the pane's edge (a wrapping label alone in a grid cell
            // shrinks to the narrowest column); hover shows the whole call.
            ui.scope(|ui| {
                ui.set_width(call_w);
                ui.add(
                    egui::Label::new(if failed {
                        text.color(theme::bad(ui))
                    } else {
                        text
                    })
                    .wrap(),
                )
                .on_hover_text(line);
            });
            ui.end_row();
            if !c.transcript.is_empty() || c.bytes.is_some() {
                ui.label("");
                ui.label("");
                ui.scope(|ui| {
                    ui.set_width(call_w);
                    wire_ui(ui, c, handoff, i);
                });
                ui.end_row();
            }
        }
    });
}

/// Under a hand-off in the trace: what went over the wire, and where its bytes are kept.
fn wire_ui(ui: &mut Ui, c: &crate::mapi::TraceCall, handoff: usize, i: usize) {
    ui.vertical(|ui| {
        if let Some(b) = &c.bytes {
            ui.label(
                RichText::new(format!(
                    "The bytes handed over are kept as {b} (Source shows them)"
                ))
                .small()
                .color(theme::muted(ui)),
            );
        }
        if !c.transcript.is_empty() {
            egui::CollapsingHeader::new(format!(
                "Transcript of hand-off {handoff} ({} lines)",
                c.transcript.len()
            ))
            .id_salt(("transcript", i))
            .show(ui, |ui| {
                for line in &c.transcript {
                    let color = if line.contains(" S: 4") || line.contains(" S: 5") {
                        theme::bad(ui)
                    } else if line.contains(" S: ") {
                        theme::ok(ui)
                    } else {
                        ui.visuals().text_color()
                    };
                    ui.add(egui::Label::new(RichText::new(line).monospace().color(color)).wrap());
                }
            });
        }
    });
}

/// The message as RFC 5322 text. Rendered once by the worker (the window renders nothing
/// itself), again when the message changed: the app asks for it before the frame (`request_source`).
fn source_ui(ui: &mut Ui, model: &Model, msg: &Message) {
    let current = model.source.as_ref().filter(|s| s.eid == msg.entry_id);
    let Some(src) = current else {
        ui.label(RichText::new("Rendering…").color(theme::muted(ui)));
        return;
    };
    let draft = msg.state(jiff::Timestamp::now()) == MessageState::Draft;
    ui.label(
        RichText::new(if draft {
            "Preview: a draft is rendered again when it is sent (Date is the submit time then)."
        } else if src.preview {
            "Rendered from the stored message as `spoolbox export` writes it (Date: the submit time, Bcc kept)."
        } else {
            "The exact bytes of the last hand-off, as the transport sent them (every hand-off is in the Trace)."
        })
        .color(theme::muted(ui)),
    );
    match &src.text {
        Ok(text) => {
            let mut text = text.as_str();
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .code_editor()
                    .desired_width(f32::INFINITY),
            );
        }
        Err(e) => {
            ui.label(RichText::new(e).color(theme::bad(ui)));
        }
    }
}
