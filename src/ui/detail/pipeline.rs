//! The Pipeline tab: the step bar (breakpoints, time travel), the diff of a step, the
//! recipient rows; for a received message, what it is.

use std::fmt::Write as _;

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use crate::mapi::flags::{self, FlagKind};
use crate::mapi::{
    Message, MessageState, PropChange, PropValue, RecipientState, Step, StepOutcome, tags,
};
use crate::spooler::view::rewind;
use crate::ui::Intent;
use crate::ui::model::Model;
use crate::ui::theme;

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
            // A step name is never broken: a chip that does not fit starts the next row. Its
            // width is the one it took when last drawn (a guess the first time, laid out
            // again at once when the guess was short).
            let width_id = egui::Id::unique(("spoolbox-step-chip", step.name()));
            #[allow(clippy::cast_precision_loss, reason = "a step name is a few dozen characters")]
            let guess = 7.5 * (step.name().len() as f32 + 2.0) + 24.0;
            let wide = ui.ctx().data(|d| d.get_temp::<f32>(width_id)).unwrap_or(guess);
            if ui.available_size_before_wrap().x < wide {
                ui.end_row();
            }
            let chip = egui::Frame::new().stroke(frame_stroke).corner_radius(4.0).inner_margin(egui::Margin::symmetric(6, 3)).show(ui, |ui| {
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
            let took = chip.response.rect.width();
            if (took - wide).abs() > 0.5 {
                ui.ctx().data_mut(|d| d.insert_temp(width_id, took));
                if took > wide {
                    ui.ctx().request_discard("a step chip was wider than its guess");
                }
            }
        }
    });
}

pub(super) fn pipeline_ui(ui: &mut Ui, model: &Model, msg: &Message, out: &mut Vec<Intent>) {
    if msg.state(jiff::Timestamp::now()) == MessageState::Received {
        received_ui(ui, msg);
        return;
    }
    step_bar_ui(ui, model, msg, out);
    if let Some(err) = &msg.spool.last_error {
        ui.add(
            egui::Label::new(RichText::new(format!("Last trouble: {err}")).color(theme::warn(ui)))
                .wrap(),
        );
    }
    if let Some(t) = msg.spool.next_retry {
        // A countdown that has passed says so: due, and why it has not run yet.
        let due = t <= jiff::Timestamp::now();
        let text = match (due, model.debug.paused) {
            (false, _) => format!(
                "Next retry at {} (attempt {})",
                t.strftime("%H:%M:%S UTC"),
                msg.spool.attempts + 1
            ),
            (true, true) => format!(
                "Retry {} was due at {}: the spooler is stopped (Continue F5 or Step F10 runs it)",
                msg.spool.attempts + 1,
                t.strftime("%H:%M:%S UTC")
            ),
            (true, false) => format!(
                "Retry {} due since {}: it runs when the spooler next gets to it",
                msg.spool.attempts + 1,
                t.strftime("%H:%M:%S UTC")
            ),
        };
        // Wrapped at the pane's edge, never cut.
        ui.add(egui::Label::new(RichText::new(text).color(theme::warn(ui))).wrap());
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
    let class = msg.message_class().to_ascii_uppercase();
    if class.starts_with("REPORT.") {
        ui.label(
            RichText::new(format!(
                "For the sender: {} <{}> (PR_RECEIVED_BY_*); the rows below are the recipients it reports on.",
                msg.props.text_or_empty(tags::PR_RECEIVED_BY_NAME),
                msg.props.text_or_empty(tags::PR_RECEIVED_BY_EMAIL_ADDRESS)
            ))
            .color(theme::muted(ui)),
        );
    }
    if class.starts_with("REPORT.") && class.rsplit_once('.').is_some_and(|(_, k)| k == "DR") {
        ui.label(RichText::new(format!(
            "Delivery report ({}) for \"{}\": delivered to {} recipient(s).",
            msg.message_class(),
            msg.props.text_or_empty(tags::PR_ORIGINAL_SUBJECT),
            msg.recipients.len()
        )));
    } else if let Some(orig) = msg.embedded.as_deref() {
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

fn value_text(tag: tags::PropTag, v: &PropValue) -> String {
    match (tags::lookup(tag).map(|d| d.flags), v.as_u32()) {
        (Some(k), Some(bits)) if k != FlagKind::None => {
            format!("0x{bits:08X} {}", flags::decode(k, bits))
        }
        _ => v.to_string(),
    }
}

/// What the fifth column of the recipient table shows: the spooler's `PR_RESPONSIBILITY`, or
/// on a report what it says of each row it reports on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FifthColumn {
    Responsibility,
    DiagCode,
    DeliverTime,
}

impl FifthColumn {
    fn of(msg: &Message) -> Self {
        let class = msg.message_class().to_ascii_uppercase();
        match class.rsplit_once('.') {
            Some((_, "NDR")) if class.starts_with("REPORT.") => Self::DiagCode,
            Some((_, "DR")) if class.starts_with("REPORT.") => Self::DeliverTime,
            _ => Self::Responsibility,
        }
    }

    fn tag(self) -> tags::PropTag {
        match self {
            Self::Responsibility => tags::PR_RESPONSIBILITY,
            Self::DiagCode => tags::PR_NDR_DIAG_CODE,
            Self::DeliverTime => tags::PR_DELIVER_TIME,
        }
    }

    fn cell(self, ui: &mut Ui, r: &crate::mapi::Recipient) {
        match self {
            Self::Responsibility => {
                let mut v = r.responsibility();
                let text = if v { "TRUE" } else { "FALSE" };
                ui.add_enabled(
                    false,
                    egui::Checkbox::new(&mut v, format!("{text} (row {})", r.row_id)),
                );
            }
            Self::DiagCode => {
                let diag = r.props.long(tags::PR_NDR_DIAG_CODE);
                let name = diag.map_or_else(
                    || "-".to_owned(),
                    |d| flags::decode(FlagKind::NdrDiag, d.cast_unsigned()),
                );
                let reason =
                    flags::decode(FlagKind::NdrReason, r.props.flags(tags::PR_NDR_REASON_CODE));
                ui.label(name.trim_start_matches("MAPI_DIAG_"))
                    .on_hover_text(format!("{name}\nPR_NDR_REASON_CODE: {reason}"));
            }
            Self::DeliverTime => {
                let t = r.props.time(tags::PR_DELIVER_TIME);
                ui.label(t.map_or_else(
                    || "-".to_owned(),
                    |t| t.strftime("%H:%M:%S UTC").to_string(),
                ));
            }
        }
    }
}

fn recipients_ui(ui: &mut Ui, msg: &Message) {
    ui.label(RichText::new("Recipients").strong());
    let fifth = FifthColumn::of(msg);
    let fifth_name = fifth.tag().name();
    TableBuilder::new(ui)
        .id_salt("recipients")
        .striped(true)
        .vscroll(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(40.0))
        .column(Column::initial(190.0).clip(true))
        .column(Column::exact(60.0))
        .column(Column::exact(40.0))
        .column(
            Column::initial(if fifth == FifthColumn::DiagCode {
                200.0
            } else {
                150.0
            })
            .clip(true),
        )
        .column(Column::initial(110.0).clip(true))
        .column(Column::initial(120.0))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            for t in [
                "Row",
                "Recipient",
                "Type",
                "Kind",
                fifth_name.as_str(),
                "Transport",
                "Outcome",
                "Report text",
            ] {
                h.col(|ui| {
                    let r = ui.strong(t);
                    if t == fifth_name {
                        r.on_hover_text(tags::lookup(fifth.tag()).map_or("", |d| d.doc));
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
                    row.col(|ui| fifth.cell(ui, r));
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
