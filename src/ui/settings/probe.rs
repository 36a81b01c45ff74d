//! Test connection: the button, and each step of the answer with its result and the lines
//! the server sent.

use egui::{RichText, Ui};

use super::draft::{Field, SmtpFields};
use super::form::{connection_test, test_settings};
use super::name;
use crate::profile::SmtpSettings;
use crate::transport::smtp::{ProbeOutcome, ProbeReport};
use crate::ui::Intent;
use crate::ui::model::Model;
use crate::ui::theme;

/// What the button tests: the transport's saved settings with the form's fields on top.
pub(super) struct TestAsk<'a> {
    /// The transport's settings as saved (deadlines the form does not show).
    pub base: SmtpSettings,
    /// The form's fields.
    pub fields: &'a SmtpFields,
    /// The transport's place in the form.
    pub index: usize,
    /// Deliver for real, as on screen.
    pub deliver_for_real: bool,
}

/// The button, then the answer to the last test asked for.
pub(super) fn test_ui(
    ui: &mut Ui,
    model: &Model,
    ask: &TestAsk<'_>,
    problems: &[(Field, String)],
    test: &mut Option<u64>,
    (next, shown): (&mut u64, &mut Option<u64>),
    out: &mut Vec<Intent>,
) {
    let settings = test_settings(&ask.base, ask.fields);
    let blocked = problems
        .iter()
        .find(|(f, _)| matches!(f, Field::Transport(j, _) if *j == ask.index))
        .map(|(_, why)| why.clone())
        .or_else(|| {
            settings
                .is_none()
                .then(|| "type the server's host name first".to_owned())
        });
    let waiting = test.is_some_and(|id| {
        model
            .connection_test
            .as_ref()
            .is_none_or(|(got, _)| *got != id)
    });
    ui.add_space(6.0);
    let row = ui.horizontal(|ui| {
        let r = ui
            .add_enabled(blocked.is_none() && !waiting, egui::Button::new("Test connection"))
            .on_hover_text(
                "Connect, EHLO, STARTTLS, AUTH and QUIT with the settings and password on screen (saved or not); nothing is sent",
            )
            .on_disabled_hover_text(blocked.clone().unwrap_or_else(|| "testing…".into()));
        if r.clicked()
            && let Some(s) = settings
        {
            *next += 1;
            *test = Some(*next);
            out.push(Intent::TestConnection(Box::new(connection_test(
                *next,
                s,
                ask.fields,
                ask.deliver_for_real,
            ))));
        }
        if waiting {
            ui.spinner();
            ui.label(RichText::new("Testing…").color(theme::muted(ui)));
        } else if let Some(why) = &blocked {
            ui.label(RichText::new(format!("Not yet: {why}")).color(theme::muted(ui)));
        }
    });
    if let (Some(id), Some((got, report))) = (*test, &model.connection_test)
        && id == *got
    {
        report_ui(ui, report);
        // A new answer comes into view once: its button in the middle, the settings tested
        // above it, the steps below.
        if shown.replace(id) != Some(id) {
            row.response.scroll_to_me(Some(egui::Align::Center));
        }
    }
}

/// Each step: its name, ok / failed / skipped, what it found, and the lines exchanged with
/// the server under it (without their timings; `spoolbox profile test` prints those).
pub(super) fn report_ui(ui: &mut Ui, r: &ProbeReport) {
    ui.add_space(4.0);
    let (text, color) = if r.ok() {
        (
            format!("{}: the server accepts this logon.", r.endpoint),
            theme::ok(ui),
        )
    } else {
        (format!("{}: the test failed.", r.endpoint), theme::bad(ui))
    };
    ui.label(RichText::new(text).strong().color(color));
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        for s in &r.steps {
            ui.horizontal_top(|ui| {
                let l = ui.label(RichText::new(s.stage.label()).strong());
                ui.add_space((76.0 - l.rect.width()).max(6.0));
                let color = match s.outcome {
                    ProbeOutcome::Ok => theme::ok(ui),
                    ProbeOutcome::Failed => theme::bad(ui),
                    ProbeOutcome::Skipped => theme::muted(ui),
                };
                let word = ui.label(RichText::new(s.outcome.word()).color(color));
                name(&word, &format!("{}: {}", s.stage.label(), s.outcome.word()));
                ui.add_space((58.0 - word.rect.width()).max(6.0));
                ui.vertical(|ui| {
                    ui.add(egui::Label::new(&s.detail).wrap());
                    ui.spacing_mut().item_spacing.y = 0.0;
                    for w in &s.wire {
                        let line = w.split_once(" ms ").map_or(w.as_str(), |(_, rest)| rest);
                        ui.label(
                            RichText::new(line)
                                .monospace()
                                .size(11.0)
                                .color(theme::muted(ui)),
                        );
                    }
                });
            });
            ui.add_space(3.0);
        }
    });
}
