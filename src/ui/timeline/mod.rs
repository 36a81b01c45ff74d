//! The Timeline panel: the whole spool at once. One lane for the spooler and one per
//! transport, each step and each hand-off a bar from its start to its end coloured by how it
//! ended, breakpoints, pauses and faults as flags; zoom and pan with the mouse (wheel pans,
//! Ctrl+wheel or a pinch zooms, drag pans) and the keyboard (←/→ or A/D pan, +/− or W/S
//! zoom, Home fits everything, End follows live), a scrubber, and follow-live while sending.
//! Hovering a bar tells its message, step, recipients and duration; a click selects the
//! message and travels to that step. Under it, live plots on the same time axis (`plots`).
//!
//! A function of the model's [`data::TimelineData`] (filled from the spooler's
//! `Event::Timeline` batches and the history read when the panel first opens), its own
//! [`TimelineState`] (the view) and a list of intents.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    clippy::many_single_char_names,
    reason = "time to pixel arithmetic (µs as i64, points as f32, rounded on purpose); \
              x, y, t, f as in geometry code; for data, draw and plots too"
)]
pub mod data;
pub mod draw;
pub mod plots;

use egui::{Color32, Key, Rect, Sense, Ui, pos2, vec2};

use super::Intent;
use super::model::Model;
use crate::mapi::{EntryId, Step};
use crate::store::timeline::{Kind, Outcome};
use data::Bar;
use draw::Frame;

/// The view when nothing was chosen: the last 10 s, following.
const DEFAULT_WIDTH: i64 = 10_000_000;
/// Fitting everything shows at least this much: 10 ms.
const FIT_MIN_WIDTH: i64 = 10_000;
/// The narrowest view: 50 µs.
const MIN_WIDTH: i64 = 50;

/// The panel's own state: what part of time is in view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineState {
    /// First visible µs (`None`: fit everything recorded).
    pub from: Option<i64>,
    /// Width of the view, µs.
    pub width: i64,
    /// Keep the latest span in view as spans arrive.
    pub follow: bool,
}

impl Default for TimelineState {
    fn default() -> Self {
        Self {
            from: None,
            width: DEFAULT_WIDTH,
            follow: true,
        }
    }
}

impl TimelineState {
    /// The visible range for what `d` holds.
    pub fn range(&self, span: Option<(i64, i64)>) -> (i64, i64) {
        let Some((a, b)) = span else {
            let now = jiff::Timestamp::now().as_microsecond();
            return (now - DEFAULT_WIDTH, now);
        };
        match self.from {
            // Following from the start: everything while it is short, then the last
            // [`DEFAULT_WIDTH`] (or the width chosen).
            None if self.follow && b - a > self.width => {
                let to = b + self.width / 40;
                (to - self.width, to)
            }
            None => {
                // At least 10 ms: a lone step of a few µs is not stretched over the screen.
                let pad = ((b - a) / 50).max(MIN_WIDTH);
                let (a, b) = (a - pad, b + pad);
                let short = (FIT_MIN_WIDTH - (b - a)).max(0) / 2;
                (a - short, b + short)
            }
            Some(_) if self.follow => {
                let to = b + self.width / 40;
                (to - self.width, to)
            }
            Some(f) => (f, f + self.width),
        }
    }

    /// Zooms by `factor` (> 1: in) around time `at`.
    pub fn zoom(&mut self, span: Option<(i64, i64)>, factor: f64, at: Option<i64>) {
        let (from, to) = self.range(span);
        let at = at.unwrap_or_else(|| i64::midpoint(from, to));
        let width = (((to - from) as f64) / factor).clamp(MIN_WIDTH as f64, 1e13) as i64;
        let left = ((at - from) as f64 / (to - from).max(1) as f64).clamp(0.0, 1.0);
        self.from = Some(at - (width as f64 * left) as i64);
        self.width = width;
        if factor > 1.0 {
            // Zooming in on the past stops following; zooming at the live edge keeps it.
            self.follow &= span.is_some_and(|(_, b)| at >= b - width / 10);
        }
    }

    /// Moves the view by `dt` µs (stops following).
    pub fn pan(&mut self, span: Option<(i64, i64)>, dt: i64) {
        let (from, to) = self.range(span);
        self.from = Some(from + dt);
        self.width = to - from;
        self.follow = false;
    }

    /// Fits everything recorded (and what comes, as it comes).
    pub fn fit(&mut self) {
        self.from = None;
        self.follow = false;
    }

    /// Follows the newest spans.
    pub fn follow_live(&mut self, span: Option<(i64, i64)>) {
        let (from, to) = self.range(span);
        self.from = Some(from);
        self.width = (to - from).min(DEFAULT_WIDTH.max(to - from));
        self.follow = true;
    }
}

/// A bar or mark under the pointer or clicked.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Its lane.
    pub lane: usize,
    /// The bar.
    pub bar: Bar,
}

impl Hit {
    fn of(lane: usize, bar: &Bar) -> Self {
        Self {
            lane,
            bar: bar.clone(),
        }
    }
}

/// The colour of an outcome, in the light or the dark theme.
pub fn outcome_color(o: Outcome, dark: bool) -> Color32 {
    let (light, night) = match o {
        Outcome::Done => ((0x5b, 0x83, 0xc4), (0x6f, 0x98, 0xd8)),
        Outcome::Skipped => ((0xb8, 0xbe, 0xc8), (0x5a, 0x60, 0x6a)),
        Outcome::Waiting => ((0x3a, 0xa6, 0xb9), (0x4c, 0xb8, 0xcb)),
        Outcome::Error => ((0x9e, 0x1c, 0x1c), (0xd0, 0x40, 0x40)),
        Outcome::Delivered => ((0x2e, 0x9d, 0x4f), (0x3f, 0xb9, 0x65)),
        Outcome::Deferred => ((0xd8, 0x96, 0x14), (0xe8, 0xaa, 0x2c)),
        Outcome::Failed => ((0xd4, 0x3c, 0x3c), (0xee, 0x5a, 0x5a)),
        Outcome::Declined => ((0x8a, 0x7f, 0xb8), (0xa3, 0x98, 0xd3)),
        Outcome::Unknown => ((0xb8, 0x3f, 0xa6), (0xd2, 0x5c, 0xc0)),
    };
    let (r, g, b) = if dark { night } else { light };
    Color32::from_rgb(r, g, b)
}

/// The outcomes the legend lists, in its order.
pub const LEGEND: [Outcome; 9] = [
    Outcome::Delivered,
    Outcome::Deferred,
    Outcome::Failed,
    Outcome::Declined,
    Outcome::Unknown,
    Outcome::Done,
    Outcome::Skipped,
    Outcome::Waiting,
    Outcome::Error,
];

/// Draws the panel.
pub fn timeline_ui(ui: &mut Ui, model: &Model, state: &mut TimelineState, out: &mut Vec<Intent>) {
    let d = &model.timeline;
    let dark = ui.visuals().dark_mode;
    let before = state.clone();
    controls_ui(ui, model, state, out);
    legend_ui(ui, dark);
    ui.separator();
    // Queue samples alone (a spooler that opened and waited) are nothing to look at yet.
    if d.count == 0 {
        ui.add_space(12.0);
        ui.label(if d.history_loaded {
            "Nothing recorded yet: send a message (Send all, F9) and each step and hand-off shows here as it runs."
        } else {
            "Reading what was recorded on this store…"
        });
        return;
    }
    let (from, to) = state.range(d.span);
    let lanes_h = draw::lanes_height(d);
    let avail = ui.available_rect_before_wrap();
    let axis_rect = Rect::from_min_size(
        pos2(avail.left() + draw::GUTTER, avail.top()),
        vec2(avail.width() - draw::GUTTER, draw::AXIS),
    );
    let lanes_rect = Rect::from_min_size(
        pos2(axis_rect.left(), axis_rect.bottom()),
        vec2(axis_rect.width(), lanes_h),
    );
    let f = Frame {
        rect: lanes_rect,
        from,
        to,
    };
    // The canvas: one stop in the Tab order, with the keys of the view while it has focus.
    let canvas = ui.interact(
        lanes_rect.union(axis_rect),
        ui.scope_id().with("timeline-canvas"),
        Sense::click_and_drag(),
    );
    canvas.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Group, true, "Timeline lanes"));
    draw::axis(ui, f, axis_rect);
    let draw::Picks {
        hovered,
        clicked,
        merged,
        ..
    } = draw::lanes(ui, d, f, dark);
    navigate(ui, &canvas, f, state, d.span);
    if canvas.has_focus() {
        ui.painter().rect_stroke(
            lanes_rect.expand(1.0),
            2.0,
            ui.visuals().selection.stroke,
            egui::StrokeKind::Outside,
        );
    }
    let clicked = clicked.or_else(|| canvas.clicked().then(|| hovered.clone()).flatten());
    if let Some(h) = &hovered {
        let lane = d.lanes.get(h.lane).map_or("", |l| l.name.as_str());
        // Whether the pointer is on a bar's own node or found under it on the canvas.
        egui::Tooltip::for_widget(&canvas)
            .at_pointer()
            .show(|ui| tooltip_ui(ui, model, lane, &h.bar));
    }
    if hovered.is_none()
        && let Some((li, bin)) = merged
    {
        let lane = d.lanes.get(li).map_or("", |l| l.name.as_str());
        egui::Tooltip::for_widget(&canvas).at_pointer().show(|ui| {
            ui.strong(format!("{lane}: {} span(s) merged here", bin.count));
            if let Some(o) = bin.worst {
                ui.label(format!("the one that matters most: {}", o.word()));
            }
            ui.label(format!("{} of work in all", draw::duration(bin.covered)));
            ui.label(egui::RichText::new("Zoom in (Ctrl+wheel, +) to see each one").italics());
        });
    }
    if let Some(h) = clicked
        && let Some(eid) = h.bar.eid
    {
        out.push(Intent::ShowSpan {
            eid,
            step: h.bar.step,
            start: h.bar.start,
        });
    }
    ui.advance_cursor_after_rect(Rect::from_min_max(avail.min, lanes_rect.max));
    ui.add_space(4.0);
    let scrub = ui.available_rect_before_wrap();
    let scrub = Rect::from_min_size(
        pos2(scrub.left() + draw::GUTTER, scrub.top()),
        vec2(scrub.width() - draw::GUTTER, 16.0),
    );
    if let Some(centre) = draw::scrubber(ui, d, f, scrub, dark) {
        state.from = Some(centre - (to - from) / 2);
        state.width = to - from;
        state.follow = false;
    }
    ui.advance_cursor_after_rect(scrub);
    ui.add_space(6.0);
    let left = ui.available_height();
    // Three plots, each under a caption of about 22 points; where they do not fit (a tall
    // detail pane, a small window) they scroll rather than run under the detail.
    let each = ((left - 84.0) / 3.0).clamp(50.0, 160.0);
    egui::ScrollArea::vertical()
        .id_salt("timeline-plots")
        .max_height(left)
        .show(ui, |ui| plots::plots_ui(ui, d, f, each));
    if *state != before {
        // The view changed in this frame (keys, wheel, drag, scrubber): draw it at once.
        ui.ctx().request_repaint();
    }
}

/// Mouse and keys: wheel pans, Ctrl+wheel or a pinch zooms around the pointer, a drag pans;
/// with the keyboard in the canvas, ←/→ (A/D) pan, +/− (W/S) zoom, Home fits, End follows.
fn navigate(
    ui: &Ui,
    canvas: &egui::Response,
    f: Frame,
    state: &mut TimelineState,
    span: Option<(i64, i64)>,
) {
    let per_px = f.per_px();
    if canvas.dragged() {
        let dx = canvas.drag_delta().x;
        if dx != 0.0 {
            state.pan(span, (-f64::from(dx) * per_px) as i64);
        }
    }
    if canvas.hovered() {
        let (zoom, scroll, at) = ui.input(|i| {
            (
                i.zoom_delta(),
                i.smooth_scroll_delta(),
                i.pointer.hover_pos().map(|p| f.t(p.x)),
            )
        });
        if (zoom - 1.0).abs() > 1e-3 {
            state.zoom(span, f64::from(zoom), at);
        } else {
            let d = if scroll.x.abs() > scroll.y.abs() {
                scroll.x
            } else {
                scroll.y
            };
            if d.abs() > 0.0 {
                state.pan(span, (-f64::from(d) * per_px) as i64);
            }
        }
    }
    if canvas.clicked() && !canvas.has_focus() {
        canvas.request_focus();
    }
    if canvas.has_focus() {
        ui.memory_mut(|m| {
            m.set_focus_lock_filter(
                canvas.id,
                egui::EventFilter {
                    horizontal_arrows: true,
                    vertical_arrows: false,
                    ..Default::default()
                },
            );
        });
        let width = (f.to - f.from) as f64;
        let pressed = |k: Key| ui.input(|i| i.key_pressed(k));
        if pressed(Key::ArrowLeft) || pressed(Key::A) {
            state.pan(span, -(width * 0.1) as i64);
        }
        if pressed(Key::ArrowRight) || pressed(Key::D) {
            state.pan(span, (width * 0.1) as i64);
        }
        if pressed(Key::Plus) || pressed(Key::Equals) || pressed(Key::W) {
            state.zoom(span, 1.5, None);
        }
        if pressed(Key::Minus) || pressed(Key::S) {
            state.zoom(span, 1.0 / 1.5, None);
        }
        if pressed(Key::Home) {
            state.fit();
        }
        if pressed(Key::End) {
            state.follow_live(span);
        }
    }
}

/// What a bar is: message (with its subject), step and MAPI call, recipients, duration.
fn tooltip_ui(ui: &mut Ui, model: &Model, lane: &str, bar: &Bar) {
    ui.set_max_width(420.0);
    ui.strong(draw::bar_label(bar, lane));
    if let Some(eid) = bar.eid {
        let subject = model.summaries.get(&eid).map_or_else(
            || "(no longer in the store)".to_owned(),
            |s| format!("“{}”", s.subject),
        );
        ui.label(format!("Message {eid}: {subject}"));
    }
    if let Some(step) = bar.step {
        ui.label(format!(
            "{} ({})",
            step.name(),
            crate::store::timeline::chrome::mapi_call(step)
        ));
    }
    ui.label(format!(
        "{} at {}, {}",
        bar.outcome.word(),
        draw::clock(bar.start),
        draw::duration(bar.dur)
    ));
    if !bar.who().is_empty() {
        ui.label(format!("Recipients: {}", bar.who().join(", ")));
    }
    if !bar.text().is_empty() {
        ui.label(egui::RichText::new(bar.text()).weak());
    }
    if bar.eid.is_some() && bar.kind != Kind::Queue {
        ui.label(egui::RichText::new("Click: select the message and show this step").italics());
    }
}

fn controls_ui(ui: &mut Ui, model: &Model, state: &mut TimelineState, out: &mut Vec<Intent>) {
    let d = &model.timeline;
    ui.horizontal(|ui| {
        ui.heading("Timeline");
        ui.add_space(8.0);
        let follow = ui
            .selectable_label(state.follow, "Follow live")
            .on_hover_text("Keep the newest spans in view as they arrive (End)");
        if follow.clicked() {
            if state.follow {
                state.follow = false;
            } else {
                state.follow_live(d.span);
            }
        }
        if ui
            .button("Fit all")
            .on_hover_text("Show everything recorded (Home)")
            .clicked()
        {
            state.fit();
        }
        if ui.button("−").on_hover_text("Zoom out (−, S, Ctrl+wheel)").clicked() {
            state.zoom(d.span, 1.0 / 1.5, None);
        }
        if ui.button("+").on_hover_text("Zoom in (+, W, Ctrl+wheel)").clicked() {
            state.zoom(d.span, 1.5, None);
        }
        let export = ui.add_enabled(d.span.is_some() && model.root.is_some(), egui::Button::new("Export Chrome trace…"));
        let export = if d.span.is_some() {
            export.on_hover_text("Write the recorded timeline as a Chrome trace event file, for Perfetto or chrome://tracing")
        } else {
            export.on_disabled_hover_text("Nothing recorded yet")
        };
        if export.clicked() {
            out.push(Intent::PickFile(super::dialogs::Purpose::ExportTimeline));
        }
        if d.count > 0 {
            let (from, to) = state.range(d.span);
            ui.label(
                egui::RichText::new(format!(
                    "{} span(s) · {} – {} ({})",
                    d.count,
                    draw::clock(from),
                    draw::clock(to),
                    draw::duration(u64::try_from(to - from).unwrap_or(0))
                ))
                .weak(),
            );
        }
    });
}

fn legend_ui(ui: &mut Ui, dark: bool) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        for o in LEGEND {
            draw::swatch(ui, outcome_color(o, dark), o.word());
            ui.add_space(6.0);
        }
        for (k, word) in [
            (Kind::Breakpoint, "breakpoint"),
            (Kind::Pause, "pause"),
            (Kind::Fault, "fault"),
        ] {
            draw::swatch(ui, draw::mark_color(k), word);
            ui.add_space(6.0);
        }
    });
}

/// Finds the record of `step` of a message's history that a span starting at `start` (µs)
/// belongs to: the last such record that started no later than the span (a hand-off starts
/// inside its Transmit step), else the first with that step.
pub fn history_index(history: &[crate::mapi::StepRecord], step: Step, start: i64) -> Option<usize> {
    let of_step = || history.iter().enumerate().filter(|(_, r)| r.step == step);
    of_step()
        .rfind(|(_, r)| r.started.as_microsecond() <= start)
        .or_else(|| of_step().next())
        .map(|(i, _)| i)
}

/// What a click on a span asks for, once the message's detail has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Travel {
    /// The message.
    pub eid: EntryId,
    /// The step (`None`: just show the message).
    pub step: Option<Step>,
    /// The span's start, µs.
    pub start: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_a_colour_of_its_own_in_both_themes() {
        for dark in [false, true] {
            let colours: Vec<Color32> = LEGEND.iter().map(|o| outcome_color(*o, dark)).collect();
            for (i, c) in colours.iter().enumerate() {
                assert!(
                    !colours[i + 1..].contains(c),
                    "{:?} shares its colour",
                    LEGEND[i]
                );
            }
        }
    }

    #[test]
    fn zooming_keeps_the_time_under_the_pointer_and_panning_stops_following() {
        let span = Some((0, 1_000_000));
        let mut s = TimelineState::default();
        s.fit();
        let (a, b) = s.range(span);
        s.zoom(span, 4.0, Some(250_000));
        let (c, d) = s.range(span);
        assert!((d - c) * 4 - (b - a) < 8, "a quarter as wide");
        let before = (250_000 - a) as f64 / (b - a) as f64;
        let after = (250_000 - c) as f64 / (d - c) as f64;
        assert!((before - after).abs() < 1e-3, "{before} {after}");
        s.follow = true;
        let (following, _) = s.range(span);
        s.pan(span, 1_000);
        assert!(!s.follow, "panning stops following");
        assert_eq!(s.range(span).0, following + 1_000);
    }
}
