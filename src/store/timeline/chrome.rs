//! The timeline as a Chrome trace event file (the JSON object format), which Perfetto and
//! `chrome://tracing` open: one process, one thread (track) per lane, named with `M`
//! metadata events and kept in the timeline's order; each step and hand-off a complete event
//! (`ph: "X"`, `ts` and `dur` in microseconds), each mark an instant event on its track
//! (`ph: "i"`, `s: "t"`), the queue's depth a counter (`ph: "C"`); `args` carry the message id
//! and the MAPI names.

use serde_json::{Value, json};

use super::{Kind, SPOOLER_LANE, Span};
use crate::mapi::Step;

/// The process id every event carries.
pub const PID: u32 = 1;

/// The MAPI call a step is made of, as the trace names it.
pub const fn mapi_call(step: Step) -> &'static str {
    match step {
        Step::SubmitMessage => "IMessage::SubmitMessage",
        Step::Preprocess => "PreprocessMessage",
        Step::SetLockState => "IMsgStore::SetLockState",
        Step::Transmit => "IXPLogon::SubmitMessage",
        Step::NonDeliveryReport => "IMAPISupport::StatusRecips",
        Step::RemovePreprocessInfo => "RemovePreprocessInfo",
        Step::FinishedMsg => "IMsgStore::FinishedMsg",
        Step::DoSentMail => "IMAPISupport::DoSentMail",
    }
}

/// The lanes of `spans` in the timeline's order: the spooler first, then the transports in
/// the order they first appear.
pub fn lanes(spans: &[Span]) -> Vec<String> {
    let mut v = vec![SPOOLER_LANE.to_owned()];
    for s in spans {
        if !v.contains(&s.lane) {
            v.push(s.lane.clone());
        }
    }
    v
}

/// The event's name: the step, or what the hand-off or mark was.
pub fn name(s: &Span) -> String {
    let step = s.step.map(Step::name);
    match s.kind {
        Kind::Step => step.unwrap_or("step").to_owned(),
        Kind::Handoff => "IXPLogon::SubmitMessage".to_owned(),
        Kind::Breakpoint => format!("breakpoint before {}", step.unwrap_or("a step")),
        Kind::Pause => "paused".to_owned(),
        Kind::Fault => "fault injected".to_owned(),
        Kind::Queue => "queue".to_owned(),
    }
}

fn category(k: Kind) -> &'static str {
    match k {
        Kind::Step => "step",
        Kind::Handoff => "handoff",
        Kind::Breakpoint => "breakpoint",
        Kind::Pause => "pause",
        Kind::Fault => "fault",
        Kind::Queue => "queue",
    }
}

/// The Chrome trace event file of `spans` (`title` names the process: the store).
pub fn trace(spans: &[Span], title: &str) -> Value {
    let lanes = lanes(spans);
    let tid = |lane: &str| lanes.iter().position(|l| l == lane).map_or(0, |i| i + 1);
    let mut events = vec![json!({
        "name": "process_name", "ph": "M", "pid": PID, "tid": 0,
        "args": { "name": format!("Spoolbox: {title}") },
    })];
    for (i, lane) in lanes.iter().enumerate() {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": PID, "tid": i + 1,
            "args": { "name": lane },
        }));
        events.push(json!({
            "name": "thread_sort_index", "ph": "M", "pid": PID, "tid": i + 1,
            "args": { "sort_index": i + 1 },
        }));
    }
    for s in spans {
        let mut args = serde_json::Map::new();
        if let Some(e) = s.eid {
            args.insert("message".into(), json!(e.to_string()));
        }
        if let Some(step) = s.step {
            args.insert("step".into(), json!(step.name()));
            args.insert("mapi".into(), json!(mapi_call(step)));
        }
        args.insert("outcome".into(), json!(s.outcome.word()));
        if !s.who.is_empty() {
            args.insert("recipients".into(), json!(s.who));
        }
        if !s.text.is_empty() {
            args.insert("result".into(), json!(s.text));
        }
        let ev = match s.kind {
            Kind::Queue => {
                let d = s.depth.unwrap_or_default();
                json!({
                    "name": "queue depth", "cat": "queue", "ph": "C", "ts": s.start,
                    "pid": PID, "tid": tid(&s.lane),
                    "args": { "queued": d.queued, "in flight": d.in_flight,
                              "retrying": d.retrying, "held": d.held },
                })
            }
            _ if s.is_mark() => json!({
                "name": name(s), "cat": category(s.kind), "ph": "i", "s": "t", "ts": s.start,
                "pid": PID, "tid": tid(&s.lane), "args": args,
            }),
            _ => json!({
                "name": name(s), "cat": category(s.kind), "ph": "X", "ts": s.start,
                "dur": s.dur, "pid": PID, "tid": tid(&s.lane), "args": args,
            }),
        };
        events.push(ev);
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

/// Writes the Chrome trace event file of `spans` to `path` (see [`trace`]).
///
/// # Errors
/// When the file cannot be written.
pub fn write(path: &std::path::Path, spans: &[Span], title: &str) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, &trace(spans, title))?;
    std::io::Write::flush(&mut w)
}
