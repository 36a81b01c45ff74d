//! What the UI benchmarks share: frame-time percentiles and how a row of them is printed.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "percentile indices are small and positive"
)]

use std::time::Duration;

/// The `p` quantile (0..1) of sorted frame times.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Prints `what: p50, p95, max over N frames` and the `target`, if any.
pub fn report(what: &str, mut times: Vec<Duration>, target: &str) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms over {} frames{target}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(times.last().copied().unwrap_or_default()),
        times.len()
    );
}
