//! The Trace tab: every MAPI call, numbered by submission and hand-off, with what went over
//! the wire.

use egui::{RichText, Ui};

use crate::mapi::{Message, Step, TraceCall};
use crate::spooler::view::{trace_line, trace_text};
use crate::ui::Intent;
use crate::ui::dialogs::Purpose;
use crate::ui::theme;

pub(super) fn trace_ui(ui: &mut Ui, msg: &Message, dialog_open: bool, out: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("{} MAPI call(s)", msg.trace.len())).strong());
        if ui
            .add_enabled(!dialog_open, egui::Button::new("Export trace…"))
            .clicked()
        {
            out.push(Intent::PickFile(Purpose::ExportTrace(msg.entry_id)));
        }
        if ui
            .button("Copy all")
            .on_hover_text("Copy every call, with the transcripts, as Export trace… writes them")
            .clicked()
        {
            ui.ctx().copy_text(trace_text(&msg.trace));
        }
    });
    let mut submission = 0;
    let mut handoff = 0;
    // The time and step columns take about 230 points and Copy about 50; the call gets the
    // rest, or what its longest line takes (Copy then follows the text on a wide window).
    let room = (ui.available_width() - 300.0).max(240.0);
    let longest = msg
        .trace
        .iter()
        .map(|c| {
            egui::WidgetText::from(RichText::new(format!("[hand-off 99] {c}")).monospace())
                .into_galley(
                    ui,
                    Some(egui::TextWrapMode::Extend),
                    f32::INFINITY,
                    egui::TextStyle::Monospace,
                )
                .size()
                .x
        })
        .fold(0.0_f32, f32::max);
    let call_w = room.min(longest.max(240.0));
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
            let copy = ui.small_button("Copy");
            if copy
                .on_hover_text("Copy this call (time, step and call) to the clipboard")
                .clicked()
            {
                ui.ctx().copy_text(trace_line(c));
            }
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
fn wire_ui(ui: &mut Ui, c: &TraceCall, handoff: usize, i: usize) {
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
                if ui.small_button("Copy transcript").clicked() {
                    ui.ctx().copy_text(c.transcript.join("\n"));
                }
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
