//! The timeline through a crash and over time: the real `spoolbox send --all` killed with
//! SIGKILL in the middle of a large flush (and a torn last line left as a crash mid-write
//! leaves it) reads back up to its tail and goes on after a restart; the real recorder, run
//! by the spooler with small limits, keeps only the last segments.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spoolbox::mapi::Step;
use spoolbox::profile::FaultConfig;
use spoolbox::spooler::{Clock, Command as SpoolerCommand, Spooler};
use spoolbox::store::timeline::{self, Filter, Kind, Limits, Span};

use super::{draft, null, recorded, store_with, submitted};
use crate::cli::{ok, spoolbox, stderr};

/// The timeline's segment files, oldest first.
fn segment_files(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join(timeline::DIR))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    v.sort();
    v
}

fn bytes_recorded(root: &Path) -> u64 {
    segment_files(root)
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// A span as `--json` prints it: start, lane, kind, message.
type Printed = (i64, String, String, Option<u64>);

/// `spoolbox timeline --json` parsed back, and what it said on stderr (skipped lines).
fn cli_spans(root: &Path) -> (Vec<Printed>, String) {
    let o = spoolbox(root, &["timeline", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&ok(&o).stdout).unwrap();
    let spans = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start_us"].as_i64().unwrap(),
                s["lane"].as_str().unwrap().to_owned(),
                s["kind"].as_str().unwrap().to_owned(),
                s["message"].as_u64(),
            )
        })
        .collect();
    (spans, stderr(&o))
}

#[test]
fn survives_a_kill_during_a_large_flush_and_goes_on_after_the_restart() {
    let (dir, mut store) = store_with(vec![null("Null", &["NULL"], FaultConfig::default())]);
    for i in 0..1_500 {
        submitted(&mut store, &format!("message {i}"), &[("a@null", "NULL")]);
    }
    drop(store);
    let root = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .arg("--store")
        .arg(root)
        .args(["send", "--all"])
        .env_remove("SPOOLBOX_FAILPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once a good part of the timeline is written, well before the flush ends.
    let deadline = Instant::now() + Duration::from_mins(1);
    while bytes_recorded(root) < 40_000 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the flush ended too soon"
        );
        assert!(Instant::now() < deadline, "nothing recorded");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = crate::cli::list(root)
        .iter()
        .filter(|m| m["folder"] == "Sent Items")
        .count();
    assert!(killed < 1_500, "killed mid-flush: {killed} sent");
    let (before, _) = cli_spans(root);
    assert!(before.len() > 100, "{}", before.len());
    // A crash in the middle of a write leaves a torn last line: skipped when read.
    let last = segment_files(root).pop().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap();
    f.write_all(br#"{"t":1796312147191349,"d":12,"l":"spoo"#)
        .unwrap();
    drop(f);
    let (torn, note) = cli_spans(root);
    assert_eq!(torn, before, "everything before the tail reads back");
    assert!(note.contains("1 unreadable line"), "{note}");
    // The restart finishes the flush; recording goes on after the torn line.
    ok(&spoolbox(root, &["send", "--all"]));
    let (after, note) = cli_spans(root);
    assert!(note.contains("1 unreadable line"), "{note}");
    assert_eq!(after[..before.len()], before[..], "what was read stays");
    assert!(
        after.len() > before.len() + 1_000,
        "{} then {}",
        before.len(),
        after.len()
    );
    // The torn line stays a line of its own: nothing recorded after it is lost to it.
    let text = std::fs::read_to_string(&last).unwrap();
    assert!(
        text.lines()
            .any(|l| l == r#"{"t":1796312147191349,"d":12,"l":"spoo"#),
        "the torn line is closed before the next span"
    );
    let spans = timeline::read(root, Filter::default()).unwrap();
    assert_eq!(spans.skipped, 1);
    // Every message's last step is on the timeline, once the restart sent it.
    let done: std::collections::HashSet<_> = spans
        .spans
        .iter()
        .filter(|s| s.kind == Kind::Step && s.step == Some(Step::DoSentMail))
        .map(|s| s.eid)
        .collect();
    assert!(done.len() >= 1_500 - killed, "{} of the rest", done.len());
}

#[test]
fn recorded_by_the_spooler_keeps_only_the_last_segments() {
    let (dir, store) = store_with(vec![null("Null", &["NULL"], FaultConfig::default())]);
    let mut sp = Spooler::new(store, Clock::system());
    sp.set_timeline_limits(Limits {
        segment_bytes: 8_000,
        segments: 3,
    });
    sp.handle(SpoolerCommand::Resume);
    // One message at a time, the spooler idle between them (what it recorded written out
    // each time, as over a long day).
    let mut send = |subject: &str| {
        let eid = draft(sp.store_mut(), subject, &[("a@null", "NULL")]);
        sp.handle(SpoolerCommand::Submit(eid));
        sp.run_until_idle();
        eid
    };
    let first = send("first");
    for i in 0..150 {
        send(&format!("message {i}"));
    }
    let last = send("last");
    drop(sp);
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 3, "only the last segments: {files:?}");
    let spans: Vec<Span> = recorded(dir.path());
    assert!(
        spans.iter().all(|s| s.eid != Some(first)),
        "the oldest spans are gone"
    );
    let finished = |eid| {
        spans
            .iter()
            .any(|s| s.eid == Some(eid) && s.step == Some(Step::DoSentMail))
    };
    assert!(finished(last), "the newest are kept");
    assert!(
        spans
            .windows(2)
            .all(|w| w[0].start <= w[1].start + 1_000_000),
        "in the order recorded"
    );
}
