//! Timeline benchmark (not a test): frame CPU while the Timeline panel follows a flush of
//! 10,000 messages at full speed (null transport, full durability), and with 1,000,000
//! recorded spans zoomed out, zoomed in and panned. Run with `cargo bench --bench timeline`
//! (`SPOOLBOX_BENCH_MESSAGES` sets the flush, default 10,000; `SPOOLBOX_BENCH_SPANS` the
//! recorded spans, default 1,000,000).
#![allow(
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    reason = "a benchmark: fail loudly; indices and counts are small and positive"
)]

use std::time::{Duration, Instant};

use egui::{Event, Modifiers, MouseWheelSource, MouseWheelUnit, TouchPhase, vec2};
use egui_kittest::Harness;
use spoolbox::mapi::{EntryId, Step};
use spoolbox::store::timeline::{Kind, Outcome, Span};
use spoolbox::ui::SpoolboxApp;

mod common;

/// The frame-time row of `what`, against the other panels' target.
fn report(what: &str, times: Vec<Duration>) {
    common::report(what, times, " (target p95 <= 4 ms)");
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn harness(dir: std::path::PathBuf) -> Harness<'static, SpoolboxApp> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(1_000_000)
        .build_eframe(move |cc| SpoolboxApp::new(cc, dir, false))
}

/// Spans as a long run of the spooler records them: per message its steps on the spooler's
/// lane and one hand-off on one of three transports, some deferred or failed, 300 a second.
fn synthetic(n: usize) -> Vec<Span> {
    let lanes = ["SMTP", "Pickup folder", "Fax"];
    let steps = [
        Step::Preprocess,
        Step::SetLockState,
        Step::Transmit,
        Step::NonDeliveryReport,
        Step::FinishedMsg,
        Step::DoSentMail,
    ];
    let mut out = Vec::with_capacity(n);
    let mut t = 1_796_000_000_000_000_i64;
    let mut m = 0u64;
    while out.len() < n {
        m += 1;
        let eid = Some(EntryId(m));
        for (i, step) in steps.iter().enumerate() {
            let mut s = Span::new("spooler", Kind::Step, t + i as i64 * 300, 250);
            s.step = Some(*step);
            s.eid = eid;
            out.push(s);
        }
        let mut h = Span::new(lanes[(m % 3) as usize], Kind::Handoff, t + 600, 2_000);
        h.step = Some(Step::Transmit);
        h.eid = eid;
        h.outcome = match m % 50 {
            0 => Outcome::Failed,
            1..=3 => Outcome::Deferred,
            _ => Outcome::Delivered,
        };
        h.who = vec![format!("rcpt{m}@example.com")];
        out.push(h);
        t += 3_333;
    }
    out.truncate(n);
    out
}

fn wheel(h: &mut Harness<'_, SpoolboxApp>, dy: f32, modifiers: Modifiers) {
    h.event(Event::PointerMoved(egui::pos2(800.0, 150.0)));
    h.event(Event::MouseWheel {
        unit: MouseWheelUnit::Point,
        delta: vec2(0.0, dy),
        phase: TouchPhase::Move,
        source: MouseWheelSource::Wheel,
        modifiers,
    });
}

fn main() {
    let n = env("SPOOLBOX_BENCH_MESSAGES", 10_000);
    let spans = env("SPOOLBOX_BENCH_SPANS", 1_000_000);

    // 1. Following a flush at full speed.
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("store");
    spoolbox::bench::create_outbox_quick(&dir, n).expect("create store");
    drop(spoolbox::store::Store::open(&dir).expect("open"));
    let mut h = harness(dir);
    let start = Instant::now();
    while h.state().model.rows.len() < n {
        h.step();
        assert!(
            start.elapsed() < Duration::from_mins(2),
            "the outbox never showed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // (SPOOLBOX_BENCH_TABLE=1: the same flush with the table shown, for comparison.)
    h.state_mut().model.show_timeline = std::env::var_os("SPOOLBOX_BENCH_TABLE").is_none();
    h.step();
    h.state_mut().command(spoolbox::spooler::Command::Resume);
    let mut times = Vec::new();
    let flush = Instant::now();
    while flush.elapsed() < Duration::from_mins(1) {
        let t = Instant::now();
        h.step();
        times.push(t.elapsed());
        let sent = h
            .state()
            .model
            .timeline
            .seconds
            .values()
            .map(|s| u64::from(s.finished))
            .sum::<u64>();
        if sent >= n as u64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(16));
    }
    let secs = flush.elapsed().as_secs_f64();
    let recorded = h.state().model.timeline.count;
    report(
        &format!(
            "{} a flush of {n} ({recorded} spans recorded, {:.0} msg/s over {secs:.1} s)",
            if std::env::var_os("SPOOLBOX_BENCH_TABLE").is_some() {
                "The message table (for comparison) during"
            } else {
                "Timeline following"
            },
            n as f64 / secs
        ),
        times,
    );
    drop(h);

    // 2. A million recorded spans.
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("store");
    spoolbox::bench::create_outbox_quick(&dir, 10).expect("create store");
    let mut h = harness(dir);
    while h.state().model.root.is_none() {
        h.step();
        std::thread::sleep(Duration::from_millis(1));
    }
    let data = synthetic(spans);
    let t = Instant::now();
    h.state_mut().model.timeline.ingest_history(data);
    println!(
        "{spans} recorded spans taken in by the window in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    {
        let app = h.state_mut();
        app.model.show_timeline = true;
        app.timeline.fit();
    }
    h.step();
    let mut zoomed_out = Vec::new();
    for i in 0..200 {
        h.event(Event::PointerMoved(egui::pos2(
            400.0 + i as f32 * 3.0,
            150.0,
        )));
        let t = Instant::now();
        h.step();
        zoomed_out.push(t.elapsed());
    }
    report(
        &format!("Timeline with {spans} spans, zoomed out to all of them (hovering)"),
        zoomed_out,
    );
    let mut zooming = Vec::new();
    for i in 0..200 {
        let dy = if (i / 50) % 2 == 0 { 40.0 } else { -40.0 };
        wheel(&mut h, dy, Modifiers::COMMAND);
        let t = Instant::now();
        h.step();
        zooming.push(t.elapsed());
    }
    report(
        &format!("Timeline with {spans} spans, zooming in and out"),
        zooming,
    );
    {
        let app = h.state_mut();
        let (a, _) = app.model.timeline.span.expect("spans");
        app.timeline.from = Some(a + 60_000_000);
        app.timeline.width = 50_000;
        app.timeline.follow = false;
    }
    let mut panning = Vec::new();
    for _ in 0..200 {
        wheel(&mut h, -30.0, Modifiers::NONE);
        let t = Instant::now();
        h.step();
        panning.push(t.elapsed());
    }
    report(
        &format!("Timeline with {spans} spans, zoomed in to 50 ms and panning"),
        panning,
    );
}
