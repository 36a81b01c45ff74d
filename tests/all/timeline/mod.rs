//! The spool's timeline (issue 20): what the spooler records as it runs (steps, hand-offs with
//! their outcome on the transport's lane, faults, breakpoints, pauses, queue samples), read
//! back from the store; `spoolbox timeline` (`cli.rs`); a crash's torn tail and the rotation
//! bound (`durable.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

mod cli;
// Under `ulimit -v` through `sh`: Unix only.
#[cfg(unix)]
mod bounded;
mod durable;

use std::path::Path;

use jiff::Timestamp;
use spoolbox::mapi::tags::PR_SENTMAIL_ENTRYID;
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, Step};
use spoolbox::profile::{FaultConfig, Profile, TransportConfig, TransportKind};
use spoolbox::spooler::{Clock, Command, Spooler, submit};
use spoolbox::store::timeline::{self, Filter, Kind, Outcome, SPOOLER_LANE, Span};
use spoolbox::store::{FolderKind, Store};

use crate::store::fast_tempdir;

/// A null transport named `name` for `types`, with `faults` injected around it.
pub(crate) fn null(name: &str, types: &[&str], faults: FaultConfig) -> TransportConfig {
    let mut c = TransportConfig::new(name, TransportKind::Null, types);
    c.faults = faults;
    c
}

/// A store (under a fresh directory) with these transports.
pub(crate) fn store_with(transports: Vec<TransportConfig>) -> (tempfile::TempDir, Store) {
    let dir = fast_tempdir();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    store
        .set_profile(Profile {
            transports,
            coupled_addrtypes: Vec::new(),
            start_paused: false,
            sent_copies_mib: spoolbox::profile::SENT_COPIES_MIB,
            ..Profile::default()
        })
        .unwrap();
    (dir, store)
}

/// A submitted message to these (address, address type) rows, filed in Sent Items.
pub(crate) fn submitted(store: &mut Store, subject: &str, rows: &[(&str, &str)]) -> EntryId {
    let eid = draft(store, subject, rows);
    submit::submit_message(store, eid, Timestamp::now()).unwrap();
    eid
}

/// A draft to these (address, address type) rows, to be filed in Sent Items.
pub(crate) fn draft(store: &mut Store, subject: &str, rows: &[(&str, &str)]) -> EntryId {
    let outbox = store.folder_of(FolderKind::Outbox);
    let sent = store.folder_of(FolderKind::SentItems);
    let eid = store.new_entry_id().unwrap();
    let mut m = Message::draft(eid, outbox, subject);
    for (i, (addr, ty)) in rows.iter().enumerate() {
        let row = u32::try_from(i).unwrap();
        let name = format!("Recipient {i}");
        m.recipients
            .push(Recipient::new(row, &name, addr, ty, RecipientKind::To));
    }
    m.props
        .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
    submit::save_draft(store, m).unwrap();
    eid
}

/// Everything recorded under `root`, nothing skipped.
pub(crate) fn recorded(root: &Path) -> Vec<Span> {
    let r = timeline::read(root, Filter::default()).unwrap();
    assert_eq!(r.skipped, 0, "no unreadable line");
    r.spans
}

fn handoffs(spans: &[Span], eid: EntryId) -> Vec<&Span> {
    spans
        .iter()
        .filter(|s| s.kind == Kind::Handoff && s.eid == Some(eid))
        .collect()
}

fn steps_of(spans: &[Span], eid: EntryId) -> Vec<Step> {
    spans
        .iter()
        .filter(|s| s.kind == Kind::Step && s.eid == Some(eid))
        .map(|s| {
            assert_eq!(
                s.lane, SPOOLER_LANE,
                "a step is on the spooler's lane: {s:?}"
            );
            s.step.unwrap()
        })
        .collect()
}

fn index(step: Step) -> usize {
    Step::ALL.iter().position(|s| *s == step).unwrap()
}

#[test]
fn a_send_records_each_step_in_order_and_each_handoff_on_its_transports_lane() {
    let (dir, mut store) = store_with(vec![
        null("Null", &["NULL"], FaultConfig::default()),
        null(
            "Broken",
            &["BROKEN"],
            FaultConfig {
                fail_next: 10,
                permanent: true,
                ..FaultConfig::default()
            },
        ),
        null(
            "Declines",
            &["NOPE"],
            FaultConfig {
                decline: true,
                ..FaultConfig::default()
            },
        ),
        null(
            "Flaky",
            &["FLAKY"],
            FaultConfig {
                fail_next: 1,
                ..FaultConfig::default()
            },
        ),
    ]);
    let three = submitted(
        &mut store,
        "three transports",
        &[
            ("a@null", "NULL"),
            ("b@broken", "BROKEN"),
            ("c@nope", "NOPE"),
        ],
    );
    let flaky = submitted(&mut store, "flaky", &[("d@flaky", "FLAKY")]);
    let mut sp = Spooler::new(store, Clock::system());
    sp.handle(Command::Resume);
    sp.run_until_idle();
    drop(sp);
    let spans = recorded(dir.path());

    // Each step of the message that went all the way, on the spooler's lane, in pipeline order.
    let steps = steps_of(&spans, three);
    assert!(
        steps.windows(2).all(|w| index(w[0]) <= index(w[1])),
        "pipeline order: {steps:?}"
    );
    let mut distinct = steps.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        Step::ALL[1..].to_vec(),
        "one span per step it ran (SubmitMessage ran in the client, before the spooler)"
    );
    // One hand-off per transport offered, on that transport's lane, coloured by its answer.
    let mut got: Vec<(String, Outcome)> = handoffs(&spans, three)
        .iter()
        .map(|s| {
            assert_eq!(s.step, Some(Step::Transmit));
            (s.lane.clone(), s.outcome)
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("Broken".to_owned(), Outcome::Failed),
            ("Declines".to_owned(), Outcome::Declined),
            ("Null".to_owned(), Outcome::Delivered),
        ]
    );
    let flaky_handoffs: Vec<(&str, Outcome)> = handoffs(&spans, flaky)
        .iter()
        .map(|s| (s.lane.as_str(), s.outcome))
        .collect();
    assert_eq!(flaky_handoffs, vec![("Flaky", Outcome::Deferred)]);
    // The transient fault leaves the message waiting for its retry: no step past Transmit.
    assert_eq!(steps_of(&spans, flaky).last(), Some(&Step::Transmit));
    // A fault mark on the lane of each faulted transport, none on the plain one.
    let mut faults: Vec<(&str, Option<EntryId>)> = spans
        .iter()
        .filter(|s| s.kind == Kind::Fault)
        .map(|s| {
            assert!(s.is_mark() && s.dur == 0 && !s.text.is_empty(), "{s:?}");
            (s.lane.as_str(), s.eid)
        })
        .collect();
    faults.sort_unstable();
    assert_eq!(
        faults,
        vec![
            ("Broken", Some(three)),
            ("Declines", Some(three)),
            ("Flaky", Some(flaky)),
        ]
    );
    // The queue's depth, sampled on the spooler's lane: both queued at first.
    let samples: Vec<&Span> = spans.iter().filter(|s| s.kind == Kind::Queue).collect();
    assert!(!samples.is_empty(), "queue depth samples");
    assert!(
        samples
            .iter()
            .all(|s| s.lane == SPOOLER_LANE && s.depth.is_some())
    );
    assert_eq!(samples[0].depth.unwrap().queued, 2, "{:?}", samples[0]);
}

#[test]
fn a_breakpoint_and_a_pause_are_marks_on_the_spoolers_lane() {
    let (dir, mut store) = store_with(vec![null("Null", &["NULL"], FaultConfig::default())]);
    let eid = submitted(&mut store, "stops", &[("a@null", "NULL")]);
    let mut sp = Spooler::new(store, Clock::system());
    sp.handle(Command::SetBreakpoint(Step::SetLockState, true));
    sp.handle(Command::Resume);
    sp.run_until_idle();
    // Released from the breakpoint, then paused by the user before the next step.
    sp.handle(Command::Resume);
    sp.tick();
    sp.handle(Command::Pause);
    // Pausing what is paused already is no second mark.
    sp.handle(Command::Pause);
    drop(sp);
    let spans = recorded(dir.path());
    let marks: Vec<&Span> = spans.iter().filter(|s| s.is_mark()).collect();
    assert_eq!(marks.len(), 2, "{marks:#?}");
    let (bp, pause) = (marks[0], marks[1]);
    assert_eq!(bp.kind, Kind::Breakpoint);
    assert_eq!(
        (bp.lane.as_str(), bp.eid, bp.step),
        (SPOOLER_LANE, Some(eid), Some(Step::SetLockState))
    );
    assert_eq!(pause.kind, Kind::Pause);
    assert_eq!(pause.lane, SPOOLER_LANE);
    assert_eq!(pause.text, "paused by the user");
    assert_eq!(pause.eid, Some(eid), "paused with the message under way");
    // The breakpoint stopped the spooler between Preprocess and SetLockState.
    let at = |s: &Span| spans.iter().position(|x| std::ptr::eq(x, s)).unwrap();
    assert_eq!(steps_of(&spans[..at(bp)], eid), vec![Step::Preprocess]);
    assert_eq!(
        steps_of(&spans[at(bp)..at(pause)], eid),
        vec![Step::SetLockState],
        "one step after the breakpoint, then the pause"
    );
    assert_eq!(pause.step, Some(Step::Transmit), "paused before Transmit");
}
