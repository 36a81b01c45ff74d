//! What the Timeline panel draws, kept for drawing fast: the spans of each lane sorted by
//! start, with a level of detail (bins of 1 ms up to 1000 s, each keeping how many spans it
//! holds, the time they cover and the outcome that matters most) so that a view of a million
//! spans draws a pixel column from one bin rather than from thousands of spans; and per
//! second, the figures the plots show (messages finished, the queue's depth, hand-off
//! latencies).

use std::collections::BTreeMap;

use crate::mapi::{EntryId, Step};
use crate::store::timeline::{Depth, Kind, Outcome, SPOOLER_LANE, Span};

/// At most this many spans are kept in the window (the store keeps about as many).
pub const MAX_SPANS: usize = crate::store::timeline::HISTORY_SPANS;

/// Bin widths of the levels of detail, in µs: 1 ms, 10 ms, … 1000 s.
pub const LEVELS: [i64; 7] = [
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// One span of a lane, as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Start, µs since the epoch.
    pub start: i64,
    /// Duration, µs.
    pub dur: u64,
    /// What it is.
    pub kind: Kind,
    /// The step.
    pub step: Option<Step>,
    /// The message.
    pub eid: Option<EntryId>,
    /// How it ended.
    pub outcome: Outcome,
    /// Which row of the lane (hand-offs overlap when one is queued behind another).
    pub row: u8,
    /// Recipients and the call's result, when recorded.
    pub detail: Option<Box<(Vec<String>, String)>>,
}

impl Bar {
    /// When it ended.
    pub fn end(&self) -> i64 {
        self.start
            .saturating_add(i64::try_from(self.dur).unwrap_or(i64::MAX))
    }

    /// The recipients recorded.
    pub fn who(&self) -> &[String] {
        self.detail.as_ref().map_or(&[], |d| &d.0)
    }

    /// The call's result or the mark's reason.
    pub fn text(&self) -> &str {
        self.detail.as_ref().map_or("", |d| &d.1)
    }
}

/// Many spans of one lane merged: what a sub-pixel stretch of the timeline shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bin {
    /// Spans starting in it.
    pub count: u32,
    /// Time they cover, µs (summed, so it may exceed the bin).
    pub covered: u64,
    /// The outcome that matters most among them.
    pub worst: Option<Outcome>,
}

/// How much an outcome matters when spans are merged: a failure shows through a thousand
/// deliveries.
pub const fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::Skipped => 0,
        Outcome::Done => 1,
        Outcome::Delivered => 2,
        Outcome::Waiting => 3,
        Outcome::Declined => 4,
        Outcome::Deferred => 5,
        Outcome::Unknown => 6,
        Outcome::Failed => 7,
        Outcome::Error => 8,
    }
}

/// Of what merged so far (`a`) and `b`, the outcome that matters most.
pub fn merge(a: Option<Outcome>, b: Outcome) -> Outcome {
    match a {
        Some(a) if severity(a) >= severity(b) => a,
        _ => b,
    }
}

/// One lane: its bars and marks, sorted by start, and its levels of detail.
#[derive(Clone, Debug, Default)]
pub struct Lane {
    /// The lane's name (the spooler, or a transport).
    pub name: String,
    /// Steps or hand-offs, sorted by start.
    pub bars: Vec<Bar>,
    /// Breakpoints, pauses and faults, sorted by start.
    pub marks: Vec<Bar>,
    /// The longest bar, µs: a search for what is visible starts this much earlier.
    pub longest: u64,
    /// Rows in use (1 to 3).
    pub rows: u8,
    row_ends: [i64; 3],
    /// Per level, bins by index (start / width), sorted.
    pub levels: Vec<Vec<(i64, Bin)>>,
    sorted: bool,
}

impl Lane {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            rows: 1,
            levels: vec![Vec::new(); LEVELS.len()],
            sorted: true,
            ..Self::default()
        }
    }

    fn push(&mut self, bar: Bar) {
        if bar.kind == Kind::Breakpoint || bar.kind == Kind::Pause || bar.kind == Kind::Fault {
            let at = self.marks.partition_point(|m| m.start <= bar.start);
            self.marks.insert(at, bar);
            return;
        }
        if self.bars.last().is_some_and(|l| l.start > bar.start) {
            self.sorted = false;
        }
        self.add_to_levels(&bar);
        self.longest = self.longest.max(bar.dur);
        self.bars.push(bar);
    }

    fn add_to_levels(&mut self, bar: &Bar) {
        for (level, width) in self.levels.iter_mut().zip(LEVELS) {
            let key = bar.start.div_euclid(width);
            let at = match level.last() {
                Some((k, _)) if *k == key => level.len() - 1,
                Some((k, _)) if *k < key => {
                    level.push((key, Bin::default()));
                    level.len() - 1
                }
                None => {
                    level.push((key, Bin::default()));
                    0
                }
                Some(_) => match level.binary_search_by_key(&key, |(k, _)| *k) {
                    Ok(i) => i,
                    Err(i) => {
                        level.insert(i, (key, Bin::default()));
                        i
                    }
                },
            };
            let bin = &mut level[at].1;
            bin.count += 1;
            bin.covered += bar.dur;
            bin.worst = Some(merge(bin.worst, bar.outcome));
        }
    }

    /// Sorts what came out of order and gives each bar its row (overlapping bars on rows of
    /// their own, at most three).
    fn settle(&mut self) {
        if !self.sorted {
            self.bars.sort_by_key(|b| b.start);
            self.sorted = true;
            self.rows = 1;
            self.row_ends = [i64::MIN; 3];
            for i in 0..self.bars.len() {
                let row = self.row_for(self.bars[i].start, self.bars[i].end());
                self.bars[i].row = row;
            }
        }
    }

    fn row_for(&mut self, start: i64, end: i64) -> u8 {
        let row = self
            .row_ends
            .iter()
            .position(|e| *e <= start)
            .unwrap_or(self.row_ends.len() - 1);
        self.row_ends[row] = end;
        let row = u8::try_from(row).unwrap_or(0);
        self.rows = self.rows.max(row + 1);
        row
    }

    /// The bars that may show between `from` and `to` (µs): a slice, sorted by start.
    pub fn bars_in(&self, from: i64, to: i64) -> &[Bar] {
        let longest = i64::try_from(self.longest).unwrap_or(i64::MAX);
        let lo = self
            .bars
            .partition_point(|b| b.start < from.saturating_sub(longest));
        let hi = self.bars.partition_point(|b| b.start <= to);
        &self.bars[lo..hi.max(lo)]
    }

    /// The marks between `from` and `to`.
    pub fn marks_in(&self, from: i64, to: i64) -> &[Bar] {
        let lo = self.marks.partition_point(|b| b.start < from);
        let hi = self.marks.partition_point(|b| b.start <= to);
        &self.marks[lo..hi.max(lo)]
    }

    /// The bins of `level` between `from` and `to`: (bin start µs, bin).
    pub fn bins_in(&self, level: usize, from: i64, to: i64) -> impl Iterator<Item = (i64, Bin)> {
        let width = LEVELS[level];
        let bins = &self.levels[level];
        let lo = bins.partition_point(|(k, _)| *k < from.div_euclid(width));
        let hi = bins.partition_point(|(k, _)| *k <= to.div_euclid(width));
        bins[lo..hi.max(lo)]
            .iter()
            .map(move |(k, b)| (k * width, *b))
    }
}

/// Latencies of one second and lane: a histogram of powers of two of µs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latencies {
    /// `buckets[i]`: hand-offs that took from 2^i to 2^(i+1) µs.
    pub buckets: [u32; 40],
}

impl Default for Latencies {
    fn default() -> Self {
        Self { buckets: [0; 40] }
    }
}

impl Latencies {
    fn add(&mut self, micros: u64) {
        let i = (64 - micros.max(1).leading_zeros() - 1) as usize;
        self.buckets[i.min(39)] += 1;
    }

    /// Adds another's counts.
    pub fn absorb(&mut self, o: &Self) {
        for (a, b) in self.buckets.iter_mut().zip(o.buckets) {
            *a += b;
        }
    }

    /// The `q` quantile (0..1) in ms: the bucket's geometric middle; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total: u64 = self.buckets.iter().map(|c| u64::from(*c)).sum();
        if total == 0 {
            return None;
        }
        let want = (q * total as f64).ceil().max(1.0);
        let mut seen = 0u64;
        for (i, c) in self.buckets.iter().enumerate() {
            seen += u64::from(*c);
            if seen as f64 >= want {
                let lo = (1u64 << i) as f64;
                return Some(lo * std::f64::consts::SQRT_2 / 1000.0);
            }
        }
        None
    }
}

/// The plots' figures for one second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Second {
    /// Messages that finished (`DoSentMail` done).
    pub finished: u32,
    /// The last queue sample taken in it.
    pub depth: Option<Depth>,
    /// Hand-off latencies per lane index.
    pub latency: Vec<(u16, Latencies)>,
}

/// Everything the panel draws.
#[derive(Clone, Debug, Default)]
pub struct TimelineData {
    /// Lanes: the spooler first, then transports in the order they first appear.
    pub lanes: Vec<Lane>,
    /// Per second since the epoch.
    pub seconds: BTreeMap<i64, Second>,
    /// The earliest start and the latest end of the steps, hand-offs and marks held.
    pub span: Option<(i64, i64)>,
    /// Spans held.
    pub count: usize,
    /// The history was read (or asked for and failed).
    pub history_loaded: bool,
    /// Changes since the plots last looked (their caches key on it).
    pub generation: u64,
}

impl TimelineData {
    /// The lane called `name`, made when new.
    fn lane_index(&mut self, name: &str) -> usize {
        if self.lanes.is_empty() {
            self.lanes.push(Lane::new(SPOOLER_LANE));
        }
        if let Some(i) = self.lanes.iter().position(|l| l.name == name) {
            return i;
        }
        self.lanes.push(Lane::new(name));
        self.lanes.len() - 1
    }

    /// Makes lanes for these transports (the profile's, in priority order) before any span
    /// names them, so an idle transport shows as an empty lane.
    pub fn ensure_lanes<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for n in names {
            self.lane_index(n);
        }
    }

    /// Adds recorded spans (in any order; live ones come about in order).
    pub fn ingest(&mut self, spans: impl IntoIterator<Item = Span>) {
        for s in spans {
            self.add(s);
        }
        for l in &mut self.lanes {
            l.settle();
        }
        self.generation += 1;
        if self.count > MAX_SPANS + MAX_SPANS / 10 {
            self.trim();
        }
    }

    /// The history read when the window opened: what ran before, merged with what came
    /// live meanwhile (a span in both is kept once).
    pub fn ingest_history(&mut self, spans: Vec<Span>) {
        let live_from = self.span.map(|(s, _)| s);
        let old = spans
            .into_iter()
            .filter(|s| live_from.is_none_or(|t| s.start < t));
        self.ingest(old);
        self.history_loaded = true;
    }

    fn add(&mut self, s: Span) {
        let li = self.lane_index(&s.lane);
        let end = s.end();
        // Queue samples are taken while nothing runs too: they do not stretch the view.
        if s.kind != Kind::Queue {
            self.span = Some(match self.span {
                Some((a, b)) => (a.min(s.start), b.max(end)),
                None => (s.start, end),
            });
        }
        let second = s.start.div_euclid(1_000_000);
        match s.kind {
            Kind::Queue => {
                self.seconds.entry(second).or_default().depth = s.depth;
                return;
            }
            Kind::Step if s.step == Some(Step::DoSentMail) && s.outcome == Outcome::Done => {
                self.seconds
                    .entry(end.div_euclid(1_000_000))
                    .or_default()
                    .finished += 1;
            }
            Kind::Handoff => {
                let lane = u16::try_from(li).unwrap_or(u16::MAX);
                let sec = self.seconds.entry(end.div_euclid(1_000_000)).or_default();
                if let Some((_, h)) = sec.latency.iter_mut().find(|(l, _)| *l == lane) {
                    h.add(s.dur);
                } else {
                    let mut h = Latencies::default();
                    h.add(s.dur);
                    sec.latency.push((lane, h));
                }
            }
            _ => {}
        }
        let detail = (!s.who.is_empty() || !s.text.is_empty()).then(|| Box::new((s.who, s.text)));
        let lane = &mut self.lanes[li];
        let row = if s.kind == Kind::Handoff && lane.sorted {
            lane.row_for(s.start, end)
        } else {
            0
        };
        lane.push(Bar {
            start: s.start,
            dur: s.dur,
            kind: s.kind,
            step: s.step,
            eid: s.eid,
            outcome: s.outcome,
            row,
            detail,
        });
        self.count += 1;
    }

    /// Drops the oldest spans past [`MAX_SPANS`] (the levels are built again).
    fn trim(&mut self) {
        let mut starts: Vec<i64> = self
            .lanes
            .iter()
            .flat_map(|l| l.bars.iter().map(|b| b.start))
            .collect();
        let drop = starts.len().saturating_sub(MAX_SPANS);
        if drop == 0 {
            return;
        }
        let (_, cut, _) = starts.select_nth_unstable(drop);
        let cut = *cut;
        self.count = 0;
        for l in &mut self.lanes {
            l.bars.retain(|b| b.start >= cut);
            l.marks.retain(|b| b.start >= cut);
            l.levels = vec![Vec::new(); LEVELS.len()];
            let bars = std::mem::take(&mut l.bars);
            for b in &bars {
                l.add_to_levels(b);
            }
            l.bars = bars;
            self.count += l.bars.len() + l.marks.len();
        }
        self.seconds = self.seconds.split_off(&cut.div_euclid(1_000_000));
        self.span = self.span.map(|(_, b)| (cut, b));
    }

    /// The bar of lane `li` starting at `start` for `eid`, if held.
    pub fn find(&self, li: usize, start: i64, eid: Option<EntryId>) -> Option<&Bar> {
        let lane = self.lanes.get(li)?;
        let i = lane.bars.partition_point(|b| b.start < start);
        lane.bars[i..]
            .iter()
            .take_while(|b| b.start == start)
            .find(|b| b.eid == eid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(lane: &str, kind: Kind, start: i64, dur: u64, outcome: Outcome) -> Span {
        let mut s = Span::new(lane, kind, start, dur);
        s.outcome = outcome;
        s
    }

    #[test]
    fn bins_keep_the_worst_outcome_and_bars_come_back_sorted() {
        let mut d = TimelineData::default();
        d.ingest([
            span("SMTP", Kind::Handoff, 5_000, 100, Outcome::Delivered),
            span("SMTP", Kind::Handoff, 1_000, 100, Outcome::Failed),
            span("SMTP", Kind::Handoff, 2_500, 100, Outcome::Delivered),
        ]);
        let lane = &d.lanes[1];
        assert_eq!(lane.name, "SMTP");
        let starts: Vec<i64> = lane.bars.iter().map(|b| b.start).collect();
        assert_eq!(starts, vec![1_000, 2_500, 5_000]);
        let bins: Vec<_> = lane.bins_in(2, 0, 10_000).collect();
        assert_eq!(bins.len(), 1);
        assert_eq!(bins[0].1.count, 3);
        assert_eq!(bins[0].1.worst, Some(Outcome::Failed));
        assert_eq!(lane.bars_in(2_000, 3_000).len(), 1);
        assert_eq!(
            lane.bars_in(1_050, 3_000).len(),
            2,
            "a bar that starts before the view and reaches into it is in it"
        );
    }

    #[test]
    fn overlapping_handoffs_take_rows_and_latency_quantiles_come_out() {
        let mut d = TimelineData::default();
        d.ingest([
            span("SMTP", Kind::Handoff, 0, 10_000, Outcome::Delivered),
            span("SMTP", Kind::Handoff, 5_000, 10_000, Outcome::Delivered),
            span("SMTP", Kind::Handoff, 20_000, 1_000, Outcome::Delivered),
        ]);
        let rows: Vec<u8> = d.lanes[1].bars.iter().map(|b| b.row).collect();
        assert_eq!(rows, vec![0, 1, 0]);
        assert_eq!(d.lanes[1].rows, 2);
        let sec = &d.seconds[&0];
        let h = &sec.latency[0].1;
        let p50 = h.quantile_ms(0.5).unwrap_or(0.0);
        assert!((5.0..20.0).contains(&p50), "{p50}");
        let p95 = h.quantile_ms(0.95).unwrap_or(0.0);
        assert!(p95 >= p50);
    }
}
