//! The live plots under the lanes, on the same time axis: messages finished per second, the
//! queue's depth by state, and each transport's hand-off latency (p50 and p95). They read
//! the per-second figures kept as spans arrive, merged into at most [`MAX_POINTS`] points
//! for a wide view, so a flush of 100,000 costs them what a flush of 100 does.

use egui::{Color32, Ui};
use egui_plot::{Line, MarkerShape, Plot, PlotPoints, Points};

use super::data::{Latencies, TimelineData};
use super::draw::Frame;

/// Points per line at most.
pub const MAX_POINTS: usize = 600;

/// One transport's hand-off latency: its lane, p50 and p95 (ms) over time.
pub type LatencySeries = (String, Vec<[f64; 2]>, Vec<[f64; 2]>);

/// What the plots draw for one view, computed from the per-second figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Messages finished per second.
    pub rate: Vec<[f64; 2]>,
    /// Queue depth: queued, in flight, retrying, held.
    pub depth: [Vec<[f64; 2]>; 4],
    /// Per transport lane: its name, p50 and p95 in ms.
    pub latency: Vec<LatencySeries>,
}

/// The series for the view `from`..`to` (µs), x in seconds since `origin`.
pub fn series(d: &TimelineData, from: i64, to: i64, origin: i64) -> Series {
    let s0 = from.div_euclid(1_000_000);
    let s1 = to.div_euclid(1_000_000);
    let n = usize::try_from(s1 - s0 + 1).unwrap_or(1).max(1);
    let group = i64::try_from(n.div_ceil(MAX_POINTS)).unwrap_or(1).max(1);
    let x = |sec: i64| (sec * 1_000_000 - origin) as f64 / 1e6;
    let mut out = Series::default();
    let mut lat: Vec<(u16, Latencies)> = Vec::new();
    let mut finished = 0u32;
    let mut depth = d.seconds.range(..s0).rev().find_map(|(_, s)| s.depth);
    let mut bucket = s0.div_euclid(group);
    let flush = |b: i64,
                 finished: &mut u32,
                 lat: &mut Vec<(u16, Latencies)>,
                 depth: Option<crate::store::timeline::Depth>,
                 out: &mut Series| {
        let at = x(b * group);
        out.rate.push([at, f64::from(*finished) / group as f64]);
        if let Some(dp) = depth {
            for (i, v) in [dp.queued, dp.in_flight, dp.retrying, dp.held]
                .into_iter()
                .enumerate()
            {
                // A step: the depth holds until the next sample.
                let line = &mut out.depth[i];
                if let Some(&[_, prev]) = line.last() {
                    line.push([at, prev]);
                }
                line.push([at, f64::from(v)]);
            }
        }
        for (lane, h) in lat.drain(..) {
            let name = d
                .lanes
                .get(usize::from(lane))
                .map_or_else(String::new, |l| l.name.clone());
            let i = if let Some(i) = out.latency.iter().position(|(n, ..)| *n == name) {
                i
            } else {
                out.latency.push((name, Vec::new(), Vec::new()));
                out.latency.len() - 1
            };
            if let (Some(p50), Some(p95)) = (h.quantile_ms(0.5), h.quantile_ms(0.95)) {
                out.latency[i].1.push([at, p50]);
                out.latency[i].2.push([at, p95]);
            }
        }
        *finished = 0;
    };
    for (sec, s) in d.seconds.range(s0..=s1) {
        let b = sec.div_euclid(group);
        if b != bucket {
            // Seconds with nothing recorded count as nothing finished.
            flush(bucket, &mut finished, &mut lat, depth, &mut out);
            for empty in bucket + 1..b {
                if out.rate.len() < MAX_POINTS * 2 {
                    out.rate.push([x(empty * group), 0.0]);
                }
            }
            bucket = b;
        }
        finished += s.finished;
        if s.depth.is_some() {
            depth = s.depth;
        }
        for (lane, h) in &s.latency {
            match lat.iter_mut().find(|(l, _)| l == lane) {
                Some((_, acc)) => acc.absorb(h),
                None => lat.push((*lane, h.clone())),
            }
        }
    }
    flush(bucket, &mut finished, &mut lat, depth, &mut out);
    // The depth holds until the end of what was recorded (or of the view).
    let end = d.span.map_or(s1, |(_, b)| b.div_euclid(1_000_000)).min(s1);
    for line in &mut out.depth {
        if let Some(&[x0, v]) = line.last()
            && x(end) > x0
        {
            line.push([x(end), v]);
        }
    }
    out
}

const DEPTH: [(&str, Color32); 4] = [
    ("queued", Color32::from_rgb(0x4c, 0x7f, 0xd1)),
    ("in flight", Color32::from_rgb(0x2e, 0x9d, 0x4f)),
    ("retrying", Color32::from_rgb(0xd8, 0x96, 0x14)),
    ("held", Color32::from_rgb(0x8a, 0x7f, 0xb8)),
];

/// The width of the plots' value axis: they start that far left of the lanes, so that their
/// time axis lines up with the lanes'.
pub const Y_AXIS: f32 = 44.0;

/// A tick of the time axis: to the second, or to the millisecond when closer.
fn tick(origin: i64, m: &egui_plot::GridMark) -> String {
    let t = origin + (m.value * 1e6) as i64;
    super::draw::tick_label(t, (m.step_size * 1e6) as i64)
}

/// Draws the three plots, each `height` tall, over the view of `f`, their plotting area
/// exactly under the lanes.
pub fn plots_ui(ui: &mut Ui, d: &TimelineData, f: Frame, height: f32) {
    // On the hour, so that the plot's grid falls on round times.
    let origin = d.span.map_or(f.from, |(a, _)| a).div_euclid(3_600_000_000) * 3_600_000_000;
    let s = series(d, f.from, f.to, origin);
    let x0 = (f.from - origin) as f64 / 1e6;
    let x1 = (f.to - origin) as f64 / 1e6;
    let plot = |id: &str| {
        Plot::new(id)
            .height(height)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .y_axis_min_width(Y_AXIS)
            .include_y(0.0)
            .x_axis_formatter(move |m, _| tick(origin, &m))
    };
    let avail = ui.available_rect_before_wrap();
    let rect = egui::Rect::from_min_max(
        egui::pos2(f.rect.left() - Y_AXIS, avail.top()),
        egui::pos2(f.rect.right(), avail.bottom()),
    );
    let dark = ui.visuals().dark_mode;
    ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
        let peak = s.rate.iter().map(|p| p[1]).fold(0.0, f64::max);
        let rate = format!("messages finished per second (peak {peak:.0})");
        caption(ui, &[(RATE, &rate)]);
        plot("timeline-rate").show(ui, |p| {
            p.set_auto_bounds([false, true]);
            p.set_plot_bounds_x(x0..=x1);
            p.line(
                Line::new(
                    "messages finished per second",
                    PlotPoints::from(s.rate.clone()),
                )
                .color(RATE)
                .fill(0.0),
            );
        });
        // Each state with its depth at the end of the view.
        let now: Vec<String> = DEPTH
            .iter()
            .enumerate()
            .map(|(i, (n, _))| {
                let v = s.depth[i].last().map_or(0.0, |p| p[1]);
                format!("{n} {v:.0}")
            })
            .collect();
        let mut depth = vec![(Color32::TRANSPARENT, "queue depth:")];
        depth.extend(DEPTH.iter().zip(&now).map(|((_, c), t)| (*c, t.as_str())));
        caption(ui, &depth);
        plot("timeline-depth").show(ui, |p| {
            p.set_auto_bounds([false, true]);
            p.set_plot_bounds_x(x0..=x1);
            for (i, (name, c)) in DEPTH.iter().enumerate() {
                p.line(
                    Line::new(*name, PlotPoints::from(s.depth[i].clone()))
                        .color(*c)
                        .allow_band(false),
                );
            }
        });
        let names: Vec<String> = s
            .latency
            .iter()
            .map(|(n, _, p95)| {
                let worst = p95.iter().map(|p| p[1]).fold(0.0, f64::max);
                format!(
                    "{n} (p50 circles, p95 triangles; worst p95 {})",
                    super::draw::duration((worst * 1e3) as u64)
                )
            })
            .collect();
        let mut lat = vec![(Color32::TRANSPARENT, "hand-off latency, ms:")];
        lat.extend(
            s.latency
                .iter()
                .zip(&names)
                .map(|((n, ..), label)| (lane_colour(d, n, dark), label.as_str())),
        );
        caption(ui, &lat);
        plot("timeline-latency").show(ui, |p| {
            p.set_auto_bounds([false, true]);
            p.set_plot_bounds_x(x0..=x1);
            // Points, not lines: a second without hand-offs has no latency.
            for (name, p50, p95) in &s.latency {
                let c = lane_colour(d, name, dark);
                p.points(
                    Points::new(format!("{name} p50"), PlotPoints::from(p50.clone()))
                        .color(c)
                        .radius(2.5)
                        .shape(MarkerShape::Circle),
                );
                p.points(
                    Points::new(format!("{name} p95"), PlotPoints::from(p95.clone()))
                        .color(c)
                        .radius(3.5)
                        .shape(MarkerShape::Up),
                );
            }
        });
    });
}

const RATE: Color32 = Color32::from_rgb(0x2e, 0x9d, 0x4f);

/// A transport's colour in the latency plot, by its lane.
fn lane_colour(d: &TimelineData, name: &str, dark: bool) -> Color32 {
    const LIGHT: [Color32; 4] = [
        Color32::from_rgb(0x1f, 0x6f, 0xb4),
        Color32::from_rgb(0xc2, 0x4e, 0x00),
        Color32::from_rgb(0x6a, 0x3d, 0x9a),
        Color32::from_rgb(0x00, 0x8a, 0x80),
    ];
    const DARK: [Color32; 4] = [
        Color32::from_rgb(0x6c, 0xb0, 0xf0),
        Color32::from_rgb(0xff, 0x9a, 0x4a),
        Color32::from_rgb(0xb5, 0x8f, 0xe0),
        Color32::from_rgb(0x4f, 0xd1, 0xc5),
    ];
    let i = d.lanes.iter().position(|l| l.name == name).unwrap_or(0);
    (if dark { DARK } else { LIGHT })[i % 4]
}

/// One line above a plot naming its series, each with its colour.
fn caption(ui: &mut Ui, items: &[(Color32, &str)]) {
    ui.horizontal(|ui| {
        ui.add_space(Y_AXIS);
        for (c, text) in items {
            if *c == Color32::TRANSPARENT {
                ui.label(egui::RichText::new(*text).small().weak());
            } else {
                super::draw::swatch(ui, *c, text);
            }
            ui.add_space(6.0);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::timeline::{Kind, Outcome, Span};

    #[test]
    fn a_wide_view_is_merged_into_at_most_max_points() {
        let mut d = TimelineData::default();
        let spans = (0..5_000_i64).map(|i| {
            let mut s = Span::new("SMTP", Kind::Handoff, i * 1_000_000, 2_000);
            s.outcome = Outcome::Delivered;
            s
        });
        d.ingest(spans);
        let s = series(&d, 0, 5_000 * 1_000_000, 0);
        assert!(s.rate.len() <= MAX_POINTS * 3, "{}", s.rate.len());
        assert_eq!(s.latency.len(), 1);
        assert!(s.latency[0].1.len() <= MAX_POINTS + 1);
        assert!(s.latency[0].1.iter().all(|p| (1.0..4.0).contains(&p[1])));
    }
}
