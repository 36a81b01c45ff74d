//! `spoolbox timeline` run as a user runs it, after the real `spoolbox send --all` on a demo
//! store: the Chrome trace event file checked against the format, `--json`, `--last`,
//! `--since`, a store with nothing recorded, and a store whose lock another process holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use spoolbox::store::Store;

use crate::cli::{demo, ok, one_error_line, spoolbox, stderr, stdout};

/// A demo store after `spoolbox send --all`.
fn sent_demo() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, store) = demo();
    ok(&spoolbox(&store, &["send", "--all"]));
    (dir, store)
}

fn json_spans(store: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["timeline", "--json"];
    all.extend_from_slice(args);
    let o = spoolbox(store, &all);
    let v: Value = serde_json::from_slice(&ok(&o).stdout)
        .unwrap_or_else(|e| panic!("--json is one JSON document: {e}\n{}", stdout(&o)));
    v.as_array().expect("one array").clone()
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {v}"))
}

#[test]
fn chrome_export_of_a_demo_send_follows_the_trace_event_format() {
    let (dir, store) = demo();
    ok(&spoolbox(&store, &["list"]));
    // A millisecond of latency injected around the pickup folder: a fault mark per hand-off.
    let (mut s, _) = Store::open(&store).unwrap();
    let mut p = s.profile().clone();
    let pickup = p.transports.iter_mut().find(|t| t.name == "Pickup folder");
    pickup.unwrap().faults.latency_ms = 1;
    s.set_profile(p).unwrap();
    drop(s);
    ok(&spoolbox(&store, &["send", "--all"]));
    let file = dir.path().join("F.json");
    let o = spoolbox(&store, &["timeline", "--chrome", file.to_str().unwrap()]);
    assert!(stdout(ok(&o)).contains("written to"), "{}", stdout(&o));
    let trace: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().expect("traceEvents array");
    // The lanes: one thread_name metadata event per tid, one tid per lane.
    let mut lanes: BTreeMap<u64, String> = BTreeMap::new();
    for e in events {
        assert!(e["name"].is_string(), "name: {e}");
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("ph: {e}"));
        assert!(["X", "i", "C", "M"].contains(&ph), "ph {ph}: {e}");
        num(&e["pid"], "pid");
        num(&e["tid"], "tid");
        if ph == "M" && e["name"] == "thread_name" {
            let tid = e["tid"].as_u64().unwrap();
            let lane = e["args"]["name"].as_str().unwrap().to_owned();
            assert!(lanes.insert(tid, lane).is_none(), "one name per tid: {e}");
        }
    }
    let names: BTreeSet<&str> = lanes.values().map(String::as_str).collect();
    assert_eq!(names.len(), lanes.len(), "one tid per lane: {lanes:?}");
    // The spooler and the demo's transports that were handed something.
    for lane in ["spooler", "Pickup folder", "Fax"] {
        assert!(names.contains(lane), "lane {lane} in {lanes:?}");
    }
    let lane_of = |e: &Value| -> &str {
        let tid = e["tid"].as_u64().unwrap();
        lanes
            .get(&tid)
            .unwrap_or_else(|| panic!("tid {tid} is a named lane: {e}"))
    };
    let (mut steps, mut handoffs, mut counters, mut faults) = (0, 0, 0, 0);
    for e in events.iter().filter(|e| e["ph"] != "M") {
        let lane = lane_of(e);
        num(&e["ts"], "ts");
        match e["ph"].as_str().unwrap() {
            "X" => assert!(num(&e["dur"], "dur") >= 0.0, "{e}"),
            "i" => assert!(e["s"].is_string(), "an instant event has a scope: {e}"),
            "C" => {
                counters += 1;
                let args = e["args"].as_object().unwrap();
                assert!(args.values().all(Value::is_number), "{e}");
            }
            _ => unreachable!(),
        }
        match e["cat"].as_str() {
            Some("step") => {
                steps += 1;
                assert_eq!(lane, "spooler", "{e}");
                assert!(e["args"]["message"].is_string(), "message id: {e}");
                assert!(e["args"]["mapi"].is_string(), "MAPI name: {e}");
            }
            Some("handoff") => {
                handoffs += 1;
                assert_ne!(
                    lane, "spooler",
                    "a hand-off is on its transport's lane: {e}"
                );
                assert_eq!(e["args"]["mapi"], "IXPLogon::SubmitMessage", "{e}");
            }
            Some("fault") => {
                faults += 1;
                assert_eq!(e["ph"], "i", "{e}");
                assert_eq!(
                    lane, "Pickup folder",
                    "on the faulted transport's lane: {e}"
                );
            }
            _ => {}
        }
    }
    assert!(
        steps > 20 && handoffs >= 5 && counters > 0 && faults >= 5,
        "{steps} {handoffs} {counters} {faults}"
    );
    // What a second reader says (optional: where python3 is installed).
    if let Ok(py) = std::process::Command::new("python3")
        .args([
            "-c",
            "import json,sys; d=json.load(open(sys.argv[1])); \
             assert all(e['ph'] in 'XiCM' for e in d['traceEvents']); print(len(d['traceEvents']))",
        ])
        .arg(&file)
        .output()
    {
        assert!(py.status.success(), "python3: {}", stderr(&py));
        assert_eq!(stdout(&py).trim(), events.len().to_string());
    }
}

#[test]
fn json_last_and_since_narrow_what_is_printed() {
    let (_dir, store) = sent_demo();
    let all = json_spans(&store, &[]);
    assert!(all.len() > 20, "{}", all.len());
    for s in &all {
        assert!(s["lane"].is_string() && s["kind"].is_string(), "{s}");
        num(&s["start_us"], "start_us");
        num(&s["dur_us"], "dur_us");
        assert!(
            s["start"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .is_ok(),
            "{s}"
        );
    }
    assert!(
        all.iter()
            .any(|s| s["kind"] == "handoff" && s["outcome"] == "delivered")
    );
    let last = json_spans(&store, &["--last", "5"]);
    assert_eq!(last.len(), 5);
    assert_eq!(
        last,
        all[all.len() - 5..].to_vec(),
        "the last five, in order"
    );
    // --since a moment in the middle: what ended at or after it.
    let end = |s: &Value| {
        s["start_us"].as_i64().unwrap() + i64::try_from(s["dur_us"].as_u64().unwrap()).unwrap()
    };
    let mid = end(&all[all.len() / 2]);
    let when = jiff::Timestamp::from_microsecond(mid).unwrap().to_string();
    let since = json_spans(&store, &["--since", &when]);
    let expected: Vec<Value> = all.iter().filter(|s| end(s) >= mid).cloned().collect();
    assert!(
        !since.is_empty() && since.len() < all.len(),
        "{}",
        since.len()
    );
    assert_eq!(since, expected);
    assert_eq!(json_spans(&store, &["--since", "1h"]).len(), all.len());
    assert!(json_spans(&store, &["--since", "2100-01-01T00:00:00Z"]).is_empty());
    // The table: a header and a line per span.
    let table = stdout(ok(&spoolbox(&store, &["timeline", "--last", "3"])));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].contains("LANE") && lines[0].contains("OUTCOME"),
        "{table}"
    );
    // Bad values are one error line.
    let bad = one_error_line(&spoolbox(&store, &["timeline", "--since", "soon"]));
    assert!(bad.contains("--since"), "{bad}");
}

#[test]
fn says_when_nothing_was_recorded_and_never_creates_a_store() {
    let (dir, store) = demo();
    let e = one_error_line(&spoolbox(&store, &["timeline"]));
    assert!(e.contains("no store at"), "{e}");
    assert!(!store.exists(), "timeline created no store");
    // A demo store nothing ran on yet.
    ok(&spoolbox(&store, &["list"]));
    for args in [&["timeline"][..], &["timeline", "--json"]] {
        let e = one_error_line(&spoolbox(&store, args));
        assert!(e.contains("no timeline recorded"), "{e}");
    }
    let file = dir.path().join("none.json");
    one_error_line(&spoolbox(
        &store,
        &["timeline", "--chrome", file.to_str().unwrap()],
    ));
    assert!(!file.exists());
}

#[test]
fn reads_while_another_process_holds_the_store() {
    let (_dir, store) = sent_demo();
    let (held, _) = Store::open(&store).unwrap();
    // Commands that open the store are refused meanwhile; the timeline is not.
    assert!(!spoolbox(&store, &["list"]).status.success());
    let spans = json_spans(&store, &[]);
    assert!(!spans.is_empty());
    drop(held);
}
