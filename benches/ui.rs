//! UI benchmark (not a test): a store with many queued outbox messages; time from start to
//! the first frame that shows the outbox, CPU time per frame while scrolling the table
//! (p50/p95), and resident memory. Run with
//! `cargo bench --bench ui` (`SPOOLBOX_BENCH_MESSAGES` sets the count, default 100,000).
#![allow(
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a benchmark: fail loudly; percentile indices are small and positive"
)]

use std::time::{Duration, Instant};

use egui::{Event, Modifiers, MouseWheelSource, MouseWheelUnit, TouchPhase, vec2};
use egui_kittest::Harness;
use spoolbox::ui::SpoolboxApp;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

mod common;

fn main() {
    let n: usize = std::env::var("SPOOLBOX_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("store");
    let t = Instant::now();
    spoolbox::bench::create_outbox_quick(&dir, n).expect("create store");
    println!(
        "setup: {n} queued outbox messages x 3 recipients in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Warm: one open reads every file and writes index.json, as a previous session would have.
    drop(spoolbox::store::Store::open(&dir).expect("open"));
    let rss_before = rss_mb();

    let start = Instant::now();
    let d = dir.clone();
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(1_000_000)
        .build_eframe(move |cc| SpoolboxApp::new(cc, d, false));
    let mut frames = 0;
    loop {
        h.step();
        frames += 1;
        if h.state().model.rows.len() >= n {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_mins(2),
            "the outbox never showed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let first = start.elapsed();
    h.step(); // the frame that draws the table
    let first_drawn = start.elapsed();
    println!(
        "first frame showing the outbox of {n}: {:.3} s ({frames} frames polled; drawn by {:.3} s) (target <= 1 s)",
        first.as_secs_f64(),
        first_drawn.as_secs_f64()
    );

    let mut times = Vec::new();
    for i in 0..400 {
        let down = if (i / 100) % 2 == 0 { -120.0 } else { 120.0 };
        h.event(Event::PointerMoved(egui::pos2(600.0, 250.0)));
        h.event(Event::MouseWheel {
            unit: MouseWheelUnit::Point,
            delta: vec2(0.0, down),
            phase: TouchPhase::Move,
            source: MouseWheelSource::Wheel,
            modifiers: Modifiers::NONE,
        });
        let t = Instant::now();
        h.step();
        times.push(t.elapsed());
    }
    common::report(
        &format!("UI frame CPU while scrolling {n} rows"),
        times,
        " (target p95 <= 4 ms)",
    );
    // Load: the spooler flushes the queue (null transport, full durability) while the window
    // keeps drawing at ~60 frames a second; every frame's CPU time is measured.
    h.state_mut().command(spoolbox::spooler::Command::Resume);
    let outbox_before = h.state().model.rows.len();
    let mut load_times = Vec::new();
    let load_start = Instant::now();
    while load_start.elapsed() < Duration::from_secs(10) {
        let t = Instant::now();
        h.step();
        load_times.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(16));
    }
    h.step();
    let sent = outbox_before.saturating_sub(h.state().model.rows.len());
    common::report(
        &format!("UI frame CPU while the spooler flushes ({sent} messages sent in 10 s)"),
        load_times,
        "",
    );
    println!(
        "resident memory: {:.0} MB with {n} messages loaded ({:.0} MB before the app started) (target <= 300 MB)",
        rss_mb(),
        rss_before
    );
}
