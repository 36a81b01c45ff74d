//! The real `spoolbox send --all`, crashed and restarted until it finishes.
//!
//! Two ways to crash it: abort at fail point K (`SPOOLBOX_FAILPOINT=list` numbers every fail
//! point a clean run passes: before and after each pipeline step, inside the store's atomic
//! write, the journal append and sync, and the pickup write; K is drawn from that list), and
//! SIGKILL at a random instant of the run, up to three times in a row. The store is built
//! through the library for four transport set-ups: the null transport, the pickup folder, both
//! on each message, and SMTP to the test server of `smtp.rs` on loopback, whose log counts
//! deliveries (a second copy only for the hand-off in flight at a crash). After the last, crash-free run the store must hold every message
//! exactly where its disposal says, in one copy, with one NDR per message that needs one and
//! exactly one `.eml` per message and hand-off in the pickup folder.
//!
//! `cli::crash_at_any_write_during_send_leaves_a_store_that_opens_and_finishes` already sweeps
//! the four store write points over the demo store; this suite covers every kind of fail
//! point at random K and random SIGKILLs, on its own stores.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use spoolbox::mapi::tags::{PR_DELETE_AFTER_SUBMIT, PR_SENTMAIL_ENTRYID};
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, RecipientState};
use spoolbox::profile::{
    PickupSettings, Profile, SmtpSettings, TlsMode, TransportConfig, TransportKind,
};
use spoolbox::spooler::submit;
use spoolbox::store::{FolderKind, Store};

use super::{Rng, env_count, seed};
use crate::store::{copy_dir, fast_tempdir};

/// Which transports the store's profile has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// The null transport (address type NULL).
    Null,
    /// The pickup folder (address type SMTP).
    Pickup,
    /// Both; each message has rows for both.
    Mixed,
    /// SMTP to the test server (aiosmtpd, `tests/fixtures/smtp_server.py`) on this port.
    Smtp(u16),
}

pub const SETUPS: [Setup; 3] = [Setup::Null, Setup::Pickup, Setup::Mixed];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disp {
    Sent,
    Delete,
    Stay,
}

/// One message of a template store.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub(crate) eid: EntryId,
    pub(crate) subject: String,
    pub(crate) disp: Disp,
    pub(crate) x400: bool,
    /// Rows the pickup folder receives.
    pub(crate) smtp_rows: Vec<u32>,
    /// Rows the null transport receives.
    pub(crate) null_rows: Vec<u32>,
}

/// A store ready for `send --all`, built once per test and copied for each case.
pub struct Template {
    pub setup: Setup,
    pub dir: tempfile::TempDir,
    specs: Vec<Spec>,
}

pub(crate) fn profile(setup: Setup) -> Profile {
    if let Setup::Smtp(port) = setup {
        let smtp = TransportConfig::new(
            "SMTP",
            TransportKind::Smtp(SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                tls: TlsMode::None,
                username: None,
                timeout_secs: 10,
                ..SmtpSettings::default()
            }),
            &["SMTP"],
        );
        return Profile {
            transports: vec![smtp],
            coupled_addrtypes: Vec::new(),
            ..Profile::default()
        };
    }
    let null = TransportConfig::new("Null", TransportKind::Null, &["NULL"]);
    let pickup = TransportConfig::new(
        "Pickup folder",
        TransportKind::Pickup(PickupSettings::default()),
        &["SMTP"],
    );
    Profile {
        transports: match setup {
            Setup::Null => vec![null],
            Setup::Pickup => vec![pickup],
            Setup::Mixed => vec![pickup, null],
            Setup::Smtp(_) => unreachable!(),
        },
        coupled_addrtypes: Vec::new(),
        ..Profile::default()
    }
}

impl Template {
    /// `n` submitted messages with random recipients and dispositions, built through the
    /// library.
    pub fn new(setup: Setup, n: usize, rng: &mut Rng) -> Self {
        let dir = fast_tempdir();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        store.set_profile(profile(setup)).unwrap();
        let outbox = store.folder_of(FolderKind::Outbox);
        let sent = store.folder_of(FolderKind::SentItems);
        let mut specs = Vec::new();
        for i in 0..n {
            let eid = store.new_entry_id().unwrap();
            let subject = format!("{setup:?} message {i}");
            let mut m = Message::draft(eid, outbox, &subject);
            let mut spec = Spec {
                eid,
                subject: subject.clone(),
                disp: Disp::Stay,
                x400: false,
                smtp_rows: Vec::new(),
                null_rows: Vec::new(),
            };
            let rows = 1 + rng.below(3) as u32;
            for row in 0..rows {
                let smtp = match setup {
                    Setup::Null => false,
                    Setup::Pickup | Setup::Smtp(_) => true,
                    Setup::Mixed => row % 2 == 0,
                };
                let (addr, ty) = if smtp {
                    spec.smtp_rows.push(row);
                    (format!("rcpt{row}.m{i}@example.org"), "SMTP")
                } else {
                    spec.null_rows.push(row);
                    (format!("rcpt{row}.m{i}@null"), "NULL")
                };
                m.recipients.push(Recipient::new(
                    row,
                    &format!("Recipient {row}"),
                    &addr,
                    ty,
                    RecipientKind::To,
                ));
            }
            if rng.chance(20) {
                spec.x400 = true;
                m.recipients.push(Recipient::new(
                    rows,
                    "X.400 gateway",
                    "c=DE;o=Spoolbox;s=Nobody",
                    "X400",
                    RecipientKind::Cc,
                ));
            }
            let (with_sent, delete) = (rng.chance(70), rng.chance(35));
            if with_sent {
                m.props
                    .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
            }
            if delete {
                m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
            }
            spec.disp = match (with_sent, delete) {
                (true, _) => Disp::Sent,
                (false, true) => Disp::Delete,
                (false, false) => Disp::Stay,
            };
            m.body = format!("Body of {subject}\n").repeat(1 + rng.below(40) as usize);
            submit::save_draft(&mut store, m).unwrap();
            submit::submit_message(&mut store, eid, Timestamp::now()).unwrap();
            specs.push(spec);
        }
        drop(store);
        let t = Self { setup, dir, specs };
        // Sanity: a run without a crash finishes the store as expected.
        let copy = t.copy();
        let o = run(&copy.path().join("store"), None);
        assert!(o.status.success(), "{setup:?} clean run: {}", text(&o));
        t.check(&copy.path().join("store"), &format!("{setup:?}, no crash"));
        t
    }

    /// A fresh copy in its own directory, as `<dir>/store`.
    pub fn copy(&self) -> tempfile::TempDir {
        let d = fast_tempdir();
        copy_dir(self.dir.path(), &d.path().join("store"));
        d
    }

    /// What a finished store must hold, however many crashes it went through.
    pub fn check(&self, root: &Path, label: &str) {
        let (mut store, report) = Store::open(root).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(
            report.quarantined.is_empty(),
            "{label}: {:?}",
            report.quarantined
        );
        let sent = store.folder_of(FolderKind::SentItems);
        let outbox = store.folder_of(FolderKind::Outbox);
        let inbox = store.folder_of(FolderKind::Inbox);
        for s in store.summaries() {
            assert!(!s.is_locked(), "{label}: {} left locked", s.eid);
            assert!(
                s.next_step.is_none() && !s.is_submitted(),
                "{label}: {} ({}) left in the queue at {:?}",
                s.eid,
                s.subject,
                s.next_step
            );
        }
        // Each message on disk once: one file per entry id across all folders.
        let mut files: BTreeMap<String, usize> = BTreeMap::new();
        for d in std::fs::read_dir(root.join("folders")).unwrap().flatten() {
            for f in std::fs::read_dir(d.path()).unwrap().flatten() {
                *files
                    .entry(f.file_name().to_string_lossy().into_owned())
                    .or_default() += 1;
            }
        }
        for (name, n) in &files {
            assert_eq!(*n, 1, "{label}: {name} is on disk {n} times");
        }
        assert_eq!(files.len(), store.message_count(), "{label}");
        // Sent Items holds each subject once.
        let mut in_sent: HashMap<String, usize> = HashMap::new();
        for s in store.summaries().filter(|s| s.folder == sent) {
            *in_sent.entry(s.subject.clone()).or_default() += 1;
        }
        for (subject, n) in &in_sent {
            assert_eq!(*n, 1, "{label}: {subject:?} is in Sent Items {n} times");
        }
        // One NDR per message with an X400 row, none for the others.
        let mut ndrs: HashMap<EntryId, usize> = HashMap::new();
        let reports: Vec<EntryId> = store
            .summaries()
            .filter(|s| s.class.starts_with("REPORT."))
            .map(|s| s.eid)
            .collect();
        for r in reports {
            assert_eq!(store.summary(r).unwrap().folder, inbox, "{label}");
            let orig = store.load(r).unwrap().embedded.unwrap().entry_id;
            *ndrs.entry(orig).or_default() += 1;
        }
        let pickup = pickup_files(root);
        let mut claimed: BTreeSet<PathBuf> = BTreeSet::new();
        for spec in &self.specs {
            let what = format!("{label}: {} ({:?})", spec.eid, spec.subject);
            assert_eq!(
                ndrs.get(&spec.eid).copied().unwrap_or(0),
                usize::from(spec.x400),
                "{what}: NDRs"
            );
            let s = store.summary(spec.eid).cloned();
            match (spec.disp, &s) {
                (Disp::Sent, Some(s)) => assert_eq!(s.folder, sent, "{what}"),
                (Disp::Stay, Some(s)) => assert_eq!(s.folder, outbox, "{what}"),
                (Disp::Delete, None) => {
                    // Deleted after submit: its trace was kept beside the store.
                    let t = root
                        .join("traces")
                        .join(format!("{}.json", spec.eid.file_stem()));
                    assert!(t.exists(), "{what}: no trace kept for a deleted message");
                }
                (d, s) => panic!("{what}: disposal {d:?} but found {s:?}"),
            }
            if let Some(s) = s {
                let m = store.load(s.eid).unwrap();
                for row in spec.null_rows.iter().chain(&spec.smtp_rows) {
                    let r = m.recipient(*row).unwrap();
                    assert!(
                        r.responsibility() && r.outcome == RecipientState::Delivered,
                        "{what}: row {row} is {:?}",
                        r.outcome
                    );
                }
            }
            if matches!(self.setup, Setup::Smtp(_)) {
                continue; // counted at the server instead
            }
            // The pickup folder: exactly one .eml per hand-off, every SMTP row in one file.
            let mine: Vec<&PickupFile> = pickup.iter().filter(|p| p.eid == spec.eid).collect();
            let mut rows: Vec<u32> = mine.iter().flat_map(|p| p.rows.clone()).collect();
            rows.sort_unstable();
            assert_eq!(rows, spec.smtp_rows, "{what}: rows in .eml files {mine:?}");
            if !spec.smtp_rows.is_empty() {
                assert_eq!(mine.len(), 1, "{what}: one .eml per hand-off: {mine:?}");
                let bytes = std::fs::read(&mine[0].path).unwrap();
                let parsed = mail_parser::MessageParser::default()
                    .parse(&bytes)
                    .unwrap_or_else(|| panic!("{what}: unreadable .eml"));
                assert_eq!(parsed.subject(), Some(spec.subject.as_str()), "{what}");
            }
            claimed.extend(mine.iter().map(|p| p.path.clone()));
        }
        let stray: Vec<&PickupFile> = pickup
            .iter()
            .filter(|p| !claimed.contains(&p.path))
            .collect();
        assert!(stray.is_empty(), "{label}: stray pickup files {stray:?}");
        let leftovers: Vec<String> = std::fs::read_dir(root.join("pickup"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            leftovers.is_empty(),
            "{label}: leftover files in pickup/: {leftovers:?}"
        );
    }
}

#[derive(Debug)]
pub(crate) struct PickupFile {
    pub(crate) path: PathBuf,
    pub(crate) eid: EntryId,
    pub(crate) rows: Vec<u32>,
}

/// The `.eml` files in the pickup folder, with the message and rows their name says.
pub(crate) fn pickup_files(root: &Path) -> Vec<PickupFile> {
    let Ok(rd) = std::fs::read_dir(root.join("pickup")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix("spoolbox-")
            .and_then(|r| r.strip_suffix(".eml"))
        else {
            continue;
        };
        // spoolbox-<eid>-r<rows>-<store tag>.eml
        let (rest, _tag) = rest.rsplit_once('-').unwrap();
        let (eid, rows) = rest.split_once("-r").unwrap();
        out.push(PickupFile {
            path: e.path(),
            eid: EntryId(eid.parse().unwrap()),
            rows: rows.split('_').map(|r| r.parse().unwrap()).collect(),
        });
    }
    out
}

pub(crate) fn command(root: &Path, failpoint: Option<&str>) -> Command {
    // Through sh with core dumps off: an abort must not leave a core file per case.
    #[cfg(unix)]
    let mut c = {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("ulimit -c 0; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_spoolbox"));
        c
    };
    // No core files on Windows (an abort is a fast-fail exception, exit 0xC0000409).
    #[cfg(windows)]
    let mut c = Command::new(env!("CARGO_BIN_EXE_spoolbox"));
    c.arg("--store")
        .arg(root)
        .args(["send", "--all"])
        .env_remove("SPOOLBOX_FAILPOINT")
        .env_remove("SPOOLBOX_LOG")
        .stdin(Stdio::null());
    if let Some(f) = failpoint {
        c.env("SPOOLBOX_FAILPOINT", f);
    }
    c
}

pub(crate) fn run(root: &Path, failpoint: Option<&str>) -> Output {
    crate::cli::output_of(&mut command(root, failpoint))
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `send --all` until it succeeds (each run continues where the crash left it).
pub(crate) fn finish(root: &Path, label: &str) {
    for attempt in 1..=3 {
        let o = run(root, None);
        if o.status.success() {
            return;
        }
        assert!(attempt < 3, "{label}: does not finish: {}", text(&o));
    }
}

/// The fail points a clean run passes, in order.
pub(crate) fn fail_point_list(t: &Template) -> Vec<String> {
    let copy = t.copy();
    let o = run(&copy.path().join("store"), Some("list"));
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("spoolbox: fail point "))
        .filter_map(|l| l.strip_suffix(" passed"))
        .map(str::to_owned)
        .collect()
}

/// Messages per template store.
pub(crate) const MESSAGES: usize = 12;

#[test]
fn abort_at_random_fail_points_then_restart_finishes_every_message_once() {
    let t0 = Instant::now();
    let base = seed("fail_points");
    let mut rng = Rng::new(base);
    let runs = env_count("SPOOLBOX_CRASH_RUNS", 75);
    let (mut crashes, mut random_ks) = (0, 0);
    let mut names_hit: BTreeMap<String, usize> = BTreeMap::new();
    for (i, setup) in SETUPS.iter().enumerate() {
        let t = Template::new(*setup, MESSAGES, &mut rng);
        let list = fail_point_list(&t);
        // Every kind of fail point at its first occurrence, then random K.
        let mut first: BTreeMap<&str, usize> = BTreeMap::new();
        for (k, name) in list.iter().enumerate() {
            first.entry(name.as_str()).or_insert(k);
        }
        let mut ks: Vec<usize> = first.values().copied().collect();
        let share = runs / SETUPS.len() + usize::from(i < runs % SETUPS.len());
        for _ in 0..share {
            ks.push(rng.below(list.len() as u64) as usize);
        }
        if runs >= list.len() * SETUPS.len() {
            ks = (0..list.len()).collect(); // a large run: every K
        }
        random_ks += ks.len() - first.len().min(ks.len());
        for k in ks {
            let name = &list[k];
            let nth = list[..=k].iter().filter(|n| *n == name).count();
            let spec = format!("{name}:{nth}");
            let label = format!("{setup:?}, fail point K={k} ({spec}), seed {base}");
            let dir = t.copy();
            let root = dir.path().join("store");
            let o = run(&root, Some(&spec));
            assert!(!o.status.success(), "{label}: did not crash: {}", text(&o));
            assert!(
                String::from_utf8_lossy(&o.stderr).contains(&format!("fail point {name} hit")),
                "{label}: {}",
                text(&o)
            );
            crashes += 1;
            *names_hit.entry(name.clone()).or_default() += 1;
            finish(&root, &label);
            t.check(&root, &label);
        }
    }
    let kinds = names_hit.len();
    eprintln!(
        "fail_points: {crashes} aborts ({random_ks} at random K) at {kinds} kinds of fail point in {:.1} s: {names_hit:?}",
        t0.elapsed().as_secs_f64()
    );
    assert!(crashes >= runs, "only {crashes} crashes");
    for want in [
        "step.Transmit.before",
        "step.DoSentMail.after",
        "journal.before_sync",
        "store.between_copy_and_remove",
        "pickup.after_link",
    ] {
        assert!(
            names_hit.contains_key(want),
            "{want} never hit: {names_hit:?}"
        );
    }
}

#[test]
fn sigkill_at_random_instants_then_restart_finishes_every_message_once() {
    let t0 = Instant::now();
    let base = seed("sigkill");
    let mut rng = Rng::new(base);
    let wanted = env_count("SPOOLBOX_CRASH_RUNS", 120);
    let (mut kills, mut crashes, mut cases) = (0, 0, 0);
    let templates: Vec<Template> = SETUPS
        .iter()
        .map(|s| Template::new(*s, MESSAGES, &mut rng))
        .collect();
    // Kills are spread from the time a process needs to start and open the store (`list`)
    // to the end of a clean `send --all`.
    let time = |t: &Template, args: &[&str]| {
        (0..3)
            .map(|_| {
                let d = t.copy();
                let start = Instant::now();
                let o = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
                    .arg("--store")
                    .arg(d.path().join("store"))
                    .args(args)
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{}", text(&o));
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let spans: Vec<(Duration, Duration)> = templates
        .iter()
        .map(|t| (time(t, &["list"]), time(t, &["send", "--all"])))
        .collect();
    while crashes < wanted {
        assert!(cases < wanted * 4, "kills keep missing the runs: {spans:?}");
        let i = cases % templates.len();
        let t = &templates[i];
        let (lo, hi) = spans[i];
        cases += 1;
        let dir = t.copy();
        let root = dir.path().join("store");
        let mut delays = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let lo = lo.as_micros() as u64;
            let hi = (hi.as_micros() as u64).max(lo + 1);
            let delay = Duration::from_micros(lo + rng.below(hi - lo));
            delays.push(delay);
            let mut child = command(&root, None)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            // SIGKILL. The sh wrapper execs the binary, so the pid is spoolbox's own.
            let _ = child.kill();
            let status = child.wait().unwrap();
            kills += 1;
            if !status.success() {
                crashes += 1;
            }
        }
        let label = format!(
            "{:?}, SIGKILL after {delays:?}, case {cases}, seed {base}",
            t.setup
        );
        finish(&root, &label);
        t.check(&root, &label);
    }
    eprintln!(
        "sigkill: {crashes} processes killed mid-run ({kills} kills) in {cases} cases in {:.1} s; start+open and clean run take {spans:?}",
        t0.elapsed().as_secs_f64()
    );
}

mod smtp;

#[allow(unused_imports, reason = "helpers shared with the other parts")]
pub(crate) use smtp::*;
