//! `timeline`: what the spooler recorded under the store (`store::timeline`), as a table, as
//! JSON for scripts, or as a Chrome trace event file for Perfetto and `chrome://tracing`.
//!
//! Read only and without the store's lock: the window (or a `spoolbox send`) may be running
//! on the store meanwhile, and the store is never created or changed by this command.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::store::timeline::{self, Filter, Kind, Span, chrome};

use super::Cli;

/// `--since`: an RFC 3339 time, or a duration ago (`30s`, `10m`, `2h`, `1d`, `1h30m`).
///
/// # Errors
/// When it is neither.
pub fn parse_since(s: &str) -> Result<Timestamp, String> {
    parse_since_at(s, Timestamp::now())
}

/// As [`parse_since`], a duration counted back from `now`.
///
/// # Errors
/// When `s` is neither a time nor a duration.
pub fn parse_since_at(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let ago = match s.strip_suffix('d').map(str::parse::<i64>) {
        Some(Ok(days)) => SignedDuration::from_hours(days.saturating_mul(24)),
        _ => s.parse::<SignedDuration>().map_err(|_| {
            format!(
                "{s:?} is neither an RFC 3339 time (2026-12-03T15:00:00Z) nor a duration ago (30s, 10m, 2h, 1d)"
            )
        })?,
    };
    if ago.is_negative() {
        return Err(format!("{s:?}: a duration ago cannot be negative"));
    }
    now.checked_sub(ago)
        .map_err(|e| format!("{s:?} reaches too far back: {e}"))
}

/// What `spoolbox timeline` was asked for.
pub(super) struct Options<'a> {
    pub(super) chrome: Option<&'a Path>,
    pub(super) since: Option<Timestamp>,
    pub(super) last: Option<usize>,
}

pub(super) fn timeline(cli: &Cli, opts: &Options<'_>) -> Result<ExitCode> {
    let root = super::store_dir(cli)?;
    if !root.is_dir() {
        bail!("no store at {} (--store DIR names one)", root.display());
    }
    let filter = Filter {
        since: opts.since.map(timeline::micros),
        last: opts.last,
    };
    let rec = timeline::read(&root, filter)
        .with_context(|| format!("the timeline under {} could not be read", root.display()))?;
    if rec.spans.is_empty() && !timeline::is_recorded(&root)? {
        bail!(
            "no timeline recorded in {} yet: the spooler records one as it runs (spoolbox send, or the window)",
            root.display()
        );
    }
    if rec.skipped > 0 {
        errln!(
            "spoolbox: note: {} unreadable line(s) skipped (torn by a crash, or still being written)",
            rec.skipped
        );
    }
    if let Some(path) = opts.chrome {
        chrome::write(path, &rec.spans, &root.display().to_string())
            .with_context(|| format!("the timeline was not written to {}", path.display()))?;
        outln!(
            "timeline: {} span(s) written to {} (open it in Perfetto or chrome://tracing)",
            rec.spans.len(),
            path.display()
        );
    } else if cli.json {
        print_json(&rec.spans);
    } else {
        print_table(&rec.spans, opts.since);
    }
    Ok(ExitCode::SUCCESS)
}

/// One span for scripts: readable keys (the file's are one letter), times in µs since the
/// epoch and as RFC 3339.
pub fn span_json(s: &Span) -> serde_json::Value {
    let mut v = json!({
        "start_us": s.start,
        "start": time_of(s.start).to_string(),
        "dur_us": s.dur,
        "lane": s.lane,
        "kind": s.kind,
        "what": chrome::name(s),
        "outcome": s.outcome,
    });
    let o = v
        .as_object_mut()
        .unwrap_or_else(|| unreachable!("json! of an object"));
    if let Some(step) = s.step {
        o.insert("step".into(), json!(step.name()));
        o.insert("mapi".into(), json!(chrome::mapi_call(step)));
    }
    if let Some(e) = s.eid {
        o.insert("message".into(), json!(e.0));
    }
    if !s.who.is_empty() {
        o.insert("recipients".into(), json!(s.who));
    }
    if !s.text.is_empty() {
        o.insert("text".into(), json!(s.text));
    }
    if let Some(d) = s.depth {
        o.insert("depth".into(), json!(d));
    }
    v
}

/// One JSON array, one span a line (a script can also read it line by line).
fn print_json(spans: &[Span]) {
    if spans.is_empty() {
        outln!("[]");
        return;
    }
    outln!("[");
    for (i, s) in spans.iter().enumerate() {
        let comma = if i + 1 < spans.len() { "," } else { "" };
        outln!("{}{comma}", span_json(s));
    }
    outln!("]");
}

fn time_of(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A duration in µs as people read it.
pub fn duration_text(micros: u64) -> String {
    let f = micros as f64;
    match micros {
        0..1_000 => format!("{micros} µs"),
        1_000..1_000_000 => format!("{:.2} ms", f / 1e3),
        _ => format!("{:.2} s", f / 1e6),
    }
}

fn print_table(spans: &[Span], since: Option<Timestamp>) {
    if spans.is_empty() {
        match since {
            Some(t) => outln!("nothing recorded since {t}"),
            None => outln!("nothing recorded"),
        }
        return;
    }
    let lane_w = spans
        .iter()
        .map(|s| s.lane.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    outln!(
        "{:<26}  {:<lane_w$}  {:<32} {:>8}  {:<24} {:>10}  DETAIL",
        "TIME (UTC)",
        "LANE",
        "WHAT",
        "MESSAGE",
        "OUTCOME",
        "DURATION"
    );
    for s in spans {
        let time = time_of(s.start).strftime("%Y-%m-%d %H:%M:%S%.6f");
        let message = s.eid.map_or_else(|| "-".to_owned(), |e| e.to_string());
        let (outcome, duration) = match s.kind {
            Kind::Queue => ("-".to_owned(), "-".to_owned()),
            _ if s.is_mark() => ("-".to_owned(), "-".to_owned()),
            _ => (s.outcome.word().to_owned(), duration_text(s.dur)),
        };
        let mut detail = s.text.clone();
        if let Some(d) = s.depth {
            detail = format!(
                "queued {}, in flight {}, retrying {}, held {}",
                d.queued, d.in_flight, d.retrying, d.held
            );
        }
        if !s.who.is_empty() {
            let who = s.who.join(", ");
            detail = if detail.is_empty() {
                who
            } else {
                format!("{detail}; to {who}")
            };
        }
        outln!(
            "{time:<26}  {:<lane_w$}  {:<32} {message:>8}  {outcome:<24} {duration:>10}  {detail}",
            s.lane,
            chrome::name(s),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_duration_ago() {
        let now: Timestamp = "2026-12-03T15:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let at = |s: &str| parse_since_at(s, now).map(|t| t.to_string());
        assert_eq!(
            at("2026-12-03T14:00:00Z"),
            Ok("2026-12-03T14:00:00Z".into())
        );
        assert_eq!(
            at("2026-12-03T16:00:00+01:00"),
            Ok("2026-12-03T15:00:00Z".into())
        );
        assert_eq!(at("30s"), Ok("2026-12-03T14:59:30Z".into()));
        assert_eq!(at("10m"), Ok("2026-12-03T14:50:00Z".into()));
        assert_eq!(at("2h"), Ok("2026-12-03T13:00:00Z".into()));
        assert_eq!(at("1h30m"), Ok("2026-12-03T13:30:00Z".into()));
        assert_eq!(at("1d"), Ok("2026-12-02T15:00:00Z".into()));
        assert!(at("yesterday").is_err());
        assert!(at("-5m").is_err());
    }

    #[test]
    fn durations_read_as_people_read_them() {
        assert_eq!(duration_text(0), "0 µs");
        assert_eq!(duration_text(999), "999 µs");
        assert_eq!(duration_text(1_500), "1.50 ms");
        assert_eq!(duration_text(2_345_678), "2.35 s");
    }
}
