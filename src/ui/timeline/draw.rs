//! The lanes: the time axis, one lane for the spooler and one per transport (rows of their
//! own for hand-offs that overlap), each span a bar coloured by how it ended, marks as flags,
//! and the scrubber under them. Only what is visible is drawn; spans narrower than a pixel
//! are merged into pixel columns (from the levels of detail when many fall in one).

use egui::{Align2, Color32, FontId, Rect, Sense, Stroke, StrokeKind, Ui, Vec2, pos2, vec2};

use super::data::{Bar, Bin, LEVELS, Lane, TimelineData, merge, severity};
use super::{Hit, outcome_color};
use crate::store::timeline::{Kind, Outcome};

/// Height of one row of a lane.
pub const ROW: f32 = 16.0;
/// Space around a lane's rows.
pub const LANE_PAD: f32 = 6.0;
/// The lane names' column.
pub const GUTTER: f32 = 116.0;
/// The time axis above the lanes.
pub const AXIS: f32 = 18.0;
/// Bars at least this wide get a node of their own (hover, click, screen readers, tests);
/// narrower ones are found under the pointer.
const NODE_MIN_WIDTH: f32 = 4.0;
/// At most this many bars get a node in one frame.
const MAX_NODES: usize = 200;

/// Visible time range mapped onto the canvas.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// The lanes' drawing area (right of the names).
    pub rect: Rect,
    /// First visible µs.
    pub from: i64,
    /// Last visible µs.
    pub to: i64,
}

impl Frame {
    /// µs per point.
    pub fn per_px(&self) -> f64 {
        ((self.to - self.from).max(1) as f64) / f64::from(self.rect.width().max(1.0))
    }

    /// The x of time `t`.
    pub fn x(&self, t: i64) -> f32 {
        self.rect.left() + ((t - self.from) as f64 / self.per_px()) as f32
    }

    /// The time at `x`.
    pub fn t(&self, x: f32) -> i64 {
        self.from + (f64::from(x - self.rect.left()) * self.per_px()) as i64
    }
}

/// A lane's height.
pub fn lane_height(l: &Lane) -> f32 {
    f32::from(l.rows.max(1)) * ROW + LANE_PAD
}

/// The total height of the lanes.
pub fn lanes_height(d: &TimelineData) -> f32 {
    d.lanes
        .iter()
        .map(lane_height)
        .sum::<f32>()
        .max(ROW + LANE_PAD)
}

/// `HH:MM:SS.mmm` (UTC) of `t` µs.
pub fn clock(t: i64) -> String {
    jiff::Timestamp::from_microsecond(t).map_or_else(
        |_| t.to_string(),
        |ts| ts.strftime("%H:%M:%S%.3f").to_string(),
    )
}

/// A tick's label at `t` µs with ticks `step` µs apart: as precise as the step needs.
pub fn tick_label(t: i64, step: i64) -> String {
    let format = match step {
        1_000_000.. => "%H:%M:%S",
        1_000..1_000_000 => "%H:%M:%S%.3f",
        _ => "%H:%M:%S%.6f",
    };
    jiff::Timestamp::from_microsecond(t)
        .map_or_else(|_| t.to_string(), |ts| ts.strftime(format).to_string())
}

/// A duration in words: µs, ms or s.
pub fn duration(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

/// The time axis: ticks at 1, 2 or 5 × 10ⁿ µs, at least 90 points apart.
pub fn axis(ui: &Ui, f: Frame, rect: Rect) {
    let painter = ui.painter_at(rect);
    let text = ui.visuals().weak_text_color();
    let per_px = f.per_px();
    let step = (0..13)
        .flat_map(|e| [1_i64, 2, 5].map(|m| m * 10_i64.pow(e)))
        .find(|s| *s as f64 / per_px >= 90.0)
        .unwrap_or(1_000_000_000_000);
    let mut t = f.from.div_euclid(step) * step;
    while t <= f.to {
        let x = f.x(t);
        if x >= f.rect.left() {
            painter.line_segment(
                [pos2(x, rect.bottom() - 5.0), pos2(x, rect.bottom())],
                Stroke::new(1.0, text),
            );
            let label = tick_label(t, step);
            painter.text(
                pos2(x + 3.0, rect.top() + 1.0),
                Align2::LEFT_TOP,
                label,
                FontId::proportional(11.0),
                text,
            );
        }
        t += step;
    }
}

/// What a bar is called: for hover text, screen readers and tests.
pub fn bar_label(bar: &Bar, lane: &str) -> String {
    let msg = bar
        .eid
        .map_or_else(String::new, |e| format!(" · message {e}"));
    match bar.kind {
        Kind::Step => format!(
            "{}{msg} · {} · {}",
            bar.step.map_or("step", crate::mapi::Step::name),
            bar.outcome.word(),
            duration(bar.dur)
        ),
        Kind::Handoff => format!(
            "{lane} hand-off{msg} · {} · {}",
            bar.outcome.word(),
            duration(bar.dur)
        ),
        Kind::Breakpoint => format!(
            "Breakpoint before {}{msg}",
            bar.step.map_or("a step", crate::mapi::Step::name)
        ),
        Kind::Pause => format!("Paused{msg}"),
        Kind::Fault => format!("Fault on {lane}{msg}: {}", bar.text()),
        Kind::Queue => "Queue depth".into(),
    }
}

/// The colour of a mark.
pub fn mark_color(kind: Kind) -> Color32 {
    match kind {
        Kind::Breakpoint => Color32::from_rgb(0xd9, 0x2b, 0x6b),
        Kind::Fault => Color32::from_rgb(0xf2, 0x6b, 0x00),
        _ => Color32::from_rgb(0x6b, 0x7b, 0x93),
    }
}

/// What the pointer is over, what was clicked, and how many nodes this frame made.
#[derive(Default)]
pub struct Picks {
    /// The bar or mark under the pointer.
    pub hovered: Option<Hit>,
    /// The bar or mark clicked.
    pub clicked: Option<Hit>,
    /// Zoomed out: the lane under the pointer and what its merged columns there hold.
    pub merged: Option<(usize, Bin)>,
    nodes: usize,
}

impl Picks {
    /// Gives `bar` a node over `rect` (hover, click, its label for screen readers and tests),
    /// while fewer than [`MAX_NODES`] were made this frame.
    fn node(&mut self, ui: &Ui, rect: Rect, li: usize, bar: &Bar, lane: &str) {
        if self.nodes >= MAX_NODES {
            return;
        }
        self.nodes += 1;
        let id = ui
            .scope_id()
            .with(("span", li, bar.start, bar.eid, bar.row, bar.kind as u8));
        let resp = ui.interact(rect, id, Sense::click());
        // The label is made only when asked for (screen readers, tests), not every frame.
        resp.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, true, bar_label(bar, lane))
        });
        if resp.hovered() {
            self.hovered = Some(Hit::of(li, bar));
        }
        if resp.clicked() {
            self.clicked = Some(Hit::of(li, bar));
        }
    }
}

/// One lane's place on screen.
#[derive(Clone, Copy)]
struct Place {
    /// Its index.
    li: usize,
    /// Its rect, right of the names.
    rect: Rect,
}

impl Place {
    /// The top of `row`.
    fn top(self, row: u8) -> f32 {
        self.rect.top() + LANE_PAD / 2.0 + f32::from(row) * ROW
    }
}

/// Draws the lanes in `rect` (names in the gutter); returns what the pointer is over, and
/// what was clicked.
pub fn lanes(ui: &mut Ui, d: &TimelineData, f: Frame, dark: bool) -> Picks {
    let mut picks = Picks::default();
    let mut y = f.rect.top();
    let pointer = ui.input(|i| i.pointer.hover_pos());
    let level = LEVELS.iter().rposition(|w| (*w as f64) <= f.per_px());
    for (li, lane) in d.lanes.iter().enumerate() {
        let h = lane_height(lane);
        let place = Place {
            li,
            rect: Rect::from_min_max(pos2(f.rect.left(), y), pos2(f.rect.right(), y + h)),
        };
        lane_name(ui, lane, li, place.rect);
        let pen = ui.painter_at(place.rect);
        if let Some(level) = level {
            let height = f32::from(lane.rows.max(1)) * ROW - 2.0;
            merged_columns(&pen, lane, level, f, place.top(0), height, dark);
            if let Some(p) = pointer.filter(|p| place.rect.contains(*p)) {
                let reach = (2.0 * f.per_px()) as i64;
                let t = f.t(p.x);
                let mut here = Bin::default();
                for (_, b) in lane.bins_in(level, t - reach, t + reach) {
                    here.count += b.count;
                    here.covered += b.covered;
                    if let Some(o) = b.worst {
                        here.worst = Some(merge(here.worst, o));
                    }
                }
                picks.merged = (here.count > 0).then_some((li, here));
            }
        } else {
            raw_bars(ui, &pen, lane, place, f, dark, &mut picks);
            if picks.hovered.is_none()
                && let Some(p) = pointer.filter(|p| place.rect.contains(*p))
            {
                let row = ((p.y - place.top(0)) / ROW).floor().clamp(0.0, 2.0) as u8;
                let slack = (3.0 * f.per_px()) as i64;
                let t = f.t(p.x);
                picks.hovered = lane
                    .bars_in(t - slack, t + slack)
                    .iter()
                    .filter(|b| b.row == row && b.start - slack <= t && b.end() + slack >= t)
                    .min_by_key(|b| (b.start - t).abs().min((b.end() - t).abs()))
                    .map(|b| Hit::of(li, b));
            }
        }
        for mark in lane.marks_in(f.from, f.to) {
            let x = f.x(mark.start);
            let c = mark_color(mark.kind);
            pen.line_segment(
                [pos2(x, y + 1.0), pos2(x, y + h - 1.0)],
                Stroke::new(1.5, c),
            );
            pen.add(egui::Shape::convex_polygon(
                vec![pos2(x - 5.0, y), pos2(x + 5.0, y), pos2(x, y + 9.0)],
                c,
                Stroke::NONE,
            ));
            let flag = Rect::from_min_size(pos2(x - 5.0, y), vec2(10.0, 9.0));
            picks.node(ui, flag.expand(3.0), li, mark, &lane.name);
        }
        y += h;
    }
    if let Some(p) = pointer.filter(|p| f.rect.contains(*p)) {
        ui.painter().line_segment(
            [pos2(p.x, f.rect.top()), pos2(p.x, f.rect.bottom())],
            Stroke::new(1.0, ui.visuals().weak_text_color().gamma_multiply(0.5)),
        );
    }
    picks
}

/// The lane's name in the gutter (a node of its own: "lane NAME"), every other lane shaded.
fn lane_name(ui: &Ui, lane: &Lane, li: usize, lane_rect: Rect) {
    let name_rect = Rect::from_min_max(
        pos2(lane_rect.left() - GUTTER, lane_rect.top()),
        pos2(lane_rect.left() - 4.0, lane_rect.bottom()),
    );
    if li % 2 == 1 {
        ui.painter()
            .rect_filled(lane_rect.union(name_rect), 0.0, ui.visuals().faint_bg_color);
    }
    let name = ui.interact(name_rect, ui.scope_id().with(("lane", li)), Sense::hover());
    ui.painter_at(name_rect).text(
        pos2(
            name_rect.left() + 6.0,
            lane_rect.top() + LANE_PAD / 2.0 + ROW / 2.0,
        ),
        Align2::LEFT_CENTER,
        &lane.name,
        FontId::proportional(13.0),
        ui.visuals().strong_text_color(),
    );
    name.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Label, true, format!("lane {}", lane.name))
    });
}

/// The lane's bars one by one (zoomed in): a bar a pixel or wider drawn as itself (with a
/// node when wide enough), narrower ones merged into pixel columns.
fn raw_bars(
    ui: &Ui,
    painter: &egui::Painter,
    lane: &Lane,
    place: Place,
    f: Frame,
    dark: bool,
    picks: &mut Picks,
) {
    let mut cols: Vec<(i32, u8, Outcome)> = Vec::new();
    for bar in lane.bars_in(f.from, f.to) {
        let x0 = f.x(bar.start);
        let x1 = f.x(bar.end());
        if x1 < f.rect.left() || x0 > f.rect.right() {
            continue;
        }
        if x1 - x0 < 1.0 {
            let col = x0.floor() as i32;
            match cols.last_mut() {
                Some((c, r, o)) if *c == col && *r == bar.row => {
                    if severity(bar.outcome) > severity(*o) {
                        *o = bar.outcome;
                    }
                }
                _ => cols.push((col, bar.row, bar.outcome)),
            }
            continue;
        }
        let top = place.top(bar.row);
        let r = Rect::from_min_max(
            pos2(x0.max(f.rect.left() - 2.0), top),
            pos2(x1.min(f.rect.right() + 2.0), top + ROW - 2.0),
        );
        painter.rect_filled(r, 2.0, outcome_color(bar.outcome, dark));
        if r.width() >= NODE_MIN_WIDTH {
            picks.node(ui, r.intersect(place.rect), place.li, bar, &lane.name);
        }
        if r.width() > 60.0 {
            let text = match bar.kind {
                Kind::Step => bar.step.map_or("", crate::mapi::Step::name).to_owned(),
                _ => bar.eid.map_or_else(String::new, |e| format!("message {e}")),
            };
            painter.with_clip_rect(r).text(
                pos2(r.left().max(f.rect.left()) + 3.0, r.center().y),
                Align2::LEFT_CENTER,
                text,
                FontId::proportional(10.5),
                Color32::WHITE,
            );
        }
    }
    for (col, row, o) in cols {
        painter.rect_filled(
            Rect::from_min_size(pos2(col as f32, place.top(row)), vec2(1.0, ROW - 2.0)),
            0.0,
            outcome_color(o, dark),
        );
    }
}

/// Columns of merged spans from `level`'s bins: the worst outcome in each, fainter where
/// little of the column is covered.
fn merged_columns(
    painter: &egui::Painter,
    lane: &Lane,
    level: usize,
    f: Frame,
    top: f32,
    height: f32,
    dark: bool,
) {
    let mut cols = Columns::new(f);
    cols.add(lane, level);
    cols.paint(painter, top, height, dark, true);
}

/// One pixel column per point of a frame's width: the worst outcome of the spans merged into
/// it and the time they cover there.
struct Columns {
    f: Frame,
    cols: Vec<(Option<Outcome>, u64)>,
}

impl Columns {
    fn new(f: Frame) -> Self {
        let n = f.rect.width().ceil().max(1.0) as usize + 1;
        Self {
            f,
            cols: vec![(None, 0); n],
        }
    }

    /// Adds the bins of `lane` at `level` that fall in the frame.
    fn add(&mut self, lane: &Lane, level: usize) {
        let last = self.cols.len() - 1;
        for (start, bin) in lane.bins_in(level, self.f.from, self.f.to) {
            let Some(o) = bin.worst else { continue };
            let x = (self.f.x(start) - self.f.rect.left()).floor();
            let i = (x.max(0.0) as usize).min(last);
            let c = &mut self.cols[i];
            c.0 = Some(merge(c.0, o));
            c.1 += bin.covered;
        }
    }

    /// Paints runs of columns of one colour (and, with `shade`, one of four shades by how
    /// much of the column is covered): a few rectangles, whatever the number of spans.
    fn paint(&self, painter: &egui::Painter, top: f32, height: f32, dark: bool, shade: bool) {
        let per_px = self.f.per_px();
        let key = |c: &(Option<Outcome>, u64)| {
            c.0.map(|o| {
                let cover = (c.1 as f64 / per_px).clamp(0.0, 1.0);
                let step = if shade {
                    (cover * 3.0).round() as u8
                } else {
                    3
                };
                (o, step)
            })
        };
        let left = self.f.rect.left();
        let mut i = 0;
        while i < self.cols.len() {
            let Some(k) = key(&self.cols[i]) else {
                i += 1;
                continue;
            };
            let mut j = i + 1;
            while j < self.cols.len() && key(&self.cols[j]) == Some(k) {
                j += 1;
            }
            let alpha = 0.45 + 0.55 * f32::from(k.1) / 3.0;
            painter.rect_filled(
                Rect::from_min_max(
                    pos2(left + i as f32, top),
                    pos2(left + j as f32, top + height),
                ),
                0.0,
                outcome_color(k.0, dark).gamma_multiply(alpha),
            );
            i = j;
        }
    }
}

/// The scrubber: everything recorded, with the visible part framed; a click or drag moves
/// the view there. Returns the new centre, if moved.
pub fn scrubber(ui: &mut Ui, d: &TimelineData, f: Frame, rect: Rect, dark: bool) -> Option<i64> {
    let (a, b) = d.span?;
    let whole = Frame {
        rect,
        from: a,
        to: b.max(a + 1),
    };
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let per_px = whole.per_px();
    let level = LEVELS
        .iter()
        .rposition(|w| (*w as f64) <= per_px)
        .unwrap_or(0);
    // Every lane merged into one strip of pixel columns.
    let mut cols = Columns::new(whole);
    for lane in &d.lanes {
        cols.add(lane, level);
    }
    let strip = painter.with_clip_rect(rect.shrink(1.0));
    cols.paint(&strip, rect.top() + 3.0, rect.height() - 6.0, dark, false);
    let view = Rect::from_min_max(
        pos2(whole.x(f.from).max(rect.left()), rect.top()),
        pos2(
            whole.x(f.to).min(rect.right()).max(whole.x(f.from) + 3.0),
            rect.bottom(),
        ),
    );
    painter.rect_stroke(view, 2.0, ui.visuals().selection.stroke, StrokeKind::Inside);
    let resp = ui.interact(
        rect,
        ui.scope_id().with("scrubber"),
        Sense::click_and_drag(),
    );
    resp.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::ScrollBar, true, "Timeline scrubber")
    });
    let p = resp
        .interact_pointer_pos()
        .filter(|_| resp.clicked() || resp.dragged())?;
    Some(whole.t(p.x))
}

/// A small square of `c` and its word, for the legend.
pub fn swatch(ui: &mut Ui, c: Color32, word: &str) {
    let (r, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
    ui.painter().rect_filled(r, 2.0, c);
    ui.label(egui::RichText::new(word).small());
}
