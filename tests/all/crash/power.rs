//! Power loss: random store operations (create, edit, submit, send through a null transport,
//! delete, move, new folders, compaction, clean restarts) on a [`SimFs`], with the power cut
//! at a random file operation. After the "reboot" (a fresh `Store` on what the disk kept):
//! every operation that returned before the cut survived, the store opens without quarantine,
//! each message is in one folder with one file, and sending to the end delivers each recipient
//! once (twice only for a recipient whose hand-off was in flight at the cut), one NDR per
//! message at most.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use spoolbox::mapi::tags::{PR_DELETE_AFTER_SUBMIT, PR_SENTMAIL_ENTRYID, PR_SUBJECT};
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, RecipientState};
use spoolbox::profile::{Profile, TransportConfig, TransportKind};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick, submit};
use spoolbox::store::{FolderKind, Patch, Store};
use spoolbox::transport::{Handoff, RowOutcome, SubmitView, Transport};

use super::simfs::{Cut, SimFs};
use super::{Rng, env_count, seed};
use crate::store::fast_tempdir;

/// Every `(message, row)` the null transport was handed, in order, across restarts.
#[derive(Clone, Default)]
pub struct HandoffLog(Arc<Mutex<Vec<(EntryId, u32)>>>);

impl HandoffLog {
    fn counts(&self) -> HashMap<(EntryId, u32), usize> {
        let mut out = HashMap::new();
        for k in self.0.lock().unwrap().iter() {
            *out.entry(*k).or_default() += 1;
        }
        out
    }
}

/// The null transport, recording what it was handed.
pub struct LogNull {
    types: Vec<String>,
    log: HandoffLog,
}

impl LogNull {
    pub fn boxed(log: &HandoffLog) -> Vec<Box<dyn Transport>> {
        vec![Box::new(Self {
            types: vec!["NULL".into()],
            log: log.clone(),
        })]
    }
}

impl Transport for LogNull {
    fn name(&self) -> &str {
        "Null"
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        let mut log = self.log.0.lock().unwrap();
        Handoff::sent(
            view.rows
                .iter()
                .map(|r| {
                    log.push((view.msg.entry_id, *r));
                    (*r, RowOutcome::Delivered("250 null".into()))
                })
                .collect(),
        )
    }
}

/// The profile: one null transport for address type NULL (X400 rows find no transport and
/// get an NDR).
pub fn null_profile() -> Profile {
    Profile {
        transports: vec![TransportConfig::new("Null", TransportKind::Null, &["NULL"])],
        coupled_addrtypes: Vec::new(),
        ..Profile::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disp {
    /// `PR_SENTMAIL_ENTRYID` (with or without `PR_DELETE_AFTER_SUBMIT`): ends in Sent Items.
    Sent,
    /// Only `PR_DELETE_AFTER_SUBMIT`: deleted.
    Delete,
    /// Neither: stays in the Outbox.
    Stay,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Draft,
    Submitted,
    Finished,
}

/// What the model knows was made durable about one message.
#[derive(Clone, Debug)]
struct Exp {
    /// `None`: deleted for good.
    folder: Option<EntryId>,
    subject: String,
    st: St,
    disp: Disp,
    x400: bool,
}

#[derive(Default)]
struct Model {
    msgs: BTreeMap<EntryId, Exp>,
    /// Recipient rows whose delivery mark was reported durable.
    marked: BTreeSet<(EntryId, u32)>,
    /// NDRs reported written: original → report.
    ndrs: BTreeMap<EntryId, EntryId>,
    user_folders: Vec<EntryId>,
    /// Messages the operation under way when the power went may have touched.
    touched: BTreeSet<EntryId>,
    /// The operation under way at the cut (for the failure message).
    in_flight: String,
}

struct Ids {
    outbox: EntryId,
    sent: EntryId,
    deleted: EntryId,
    inbox: EntryId,
}

impl Ids {
    fn of(store: &Store) -> Self {
        Self {
            outbox: store.folder_of(FolderKind::Outbox),
            sent: store.folder_of(FolderKind::SentItems),
            deleted: store.folder_of(FolderKind::DeletedItems),
            inbox: store.folder_of(FolderKind::Inbox),
        }
    }

    fn final_folder(&self, d: Disp) -> Option<EntryId> {
        match d {
            Disp::Sent => Some(self.sent),
            Disp::Delete => None,
            Disp::Stay => Some(self.outbox),
        }
    }
}

struct Rig {
    fs: SimFs,
    root: PathBuf,
    hand: Arc<Mutex<Timestamp>>,
    clock: Clock,
    log: HandoffLog,
}

impl Rig {
    fn advance(&self, secs: i64) -> Timestamp {
        let mut h = self.hand.lock().unwrap();
        *h += SignedDuration::from_secs(secs);
        *h
    }

    fn open(&self) -> Result<Spooler, String> {
        let (store, _) = Store::open_with_fs(&self.root, Arc::new(self.fs.clone()))
            .map_err(|e| e.to_string())?;
        let mut sp = Spooler::new(store, self.clock.clone());
        sp.set_transports(LogNull::boxed(&self.log));
        Ok(sp)
    }
}

/// Applies the events of one operation to the model: only what the spooler promises durable.
fn absorb(model: &mut Model, events: Vec<Event>) {
    for e in events {
        match e {
            Event::StepStarted { eid, .. } => {
                model.touched.insert(eid);
            }
            Event::RecipientMarked {
                eid,
                row,
                responsibility: true,
                outcome: RecipientState::Delivered,
            } => {
                model.marked.insert((eid, row));
            }
            Event::NdrCreated { eid, ndr } => {
                model.ndrs.insert(eid, ndr);
            }
            _ => {}
        }
    }
}

/// One random operation. `Err` is a failure of the store that is not the power cut.
#[allow(clippy::too_many_lines, reason = "one match arm per random operation")]
fn step(
    rng: &mut Rng,
    rig: &Rig,
    sp: &mut Option<Spooler>,
    model: &mut Model,
) -> Result<(), String> {
    let now = rig.advance(1);
    let Some(s) = sp.as_mut() else {
        *sp = Some(rig.open()?);
        return Ok(());
    };
    let ids = Ids::of(s.store());
    let drafts: Vec<EntryId> = model
        .msgs
        .iter()
        .filter(|(_, e)| e.st == St::Draft && e.folder == Some(ids.outbox))
        .map(|(k, _)| *k)
        .collect();
    let at_rest: Vec<EntryId> = model
        .msgs
        .iter()
        .filter(|(_, e)| e.st != St::Submitted && e.folder.is_some())
        .map(|(k, _)| *k)
        .collect();
    let roll = rng.below(100);
    model.touched.clear();
    match roll {
        0..=19 => {
            model.in_flight = "create a draft".into();
            let eid = s.store_mut().new_entry_id().map_err(|e| e.to_string())?;
            model.touched.insert(eid);
            let subject = format!("m{}", eid.0);
            let mut m = Message::draft(eid, ids.outbox, &subject);
            let n = 1 + rng.below(3) as u32;
            let mut x400 = false;
            for row in 0..n {
                if rng.chance(12) {
                    x400 = true;
                    m.recipients.push(Recipient::new(
                        row,
                        "Gateway",
                        "c=DE;o=Spoolbox;s=Nobody",
                        "X400",
                        RecipientKind::To,
                    ));
                } else {
                    m.recipients.push(Recipient::new(
                        row,
                        &format!("R{row}"),
                        &format!("r{row}@null"),
                        "NULL",
                        RecipientKind::Cc,
                    ));
                }
            }
            let sent = rng.chance(70);
            let delete = rng.chance(35);
            if sent {
                m.props
                    .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(ids.sent.to_bytes()));
            }
            if delete {
                m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
            }
            m.body = "x".repeat(rng.below(3000) as usize);
            let disp = match (sent, delete) {
                (true, _) => Disp::Sent,
                (false, true) => Disp::Delete,
                (false, false) => Disp::Stay,
            };
            submit::save_draft(s.store_mut(), m).map_err(|e| e.to_string())?;
            model.msgs.insert(
                eid,
                Exp {
                    folder: Some(ids.outbox),
                    subject,
                    st: St::Draft,
                    disp,
                    x400,
                },
            );
        }
        20..=27 if !drafts.is_empty() => {
            let eid = *rng.pick(&drafts);
            model.in_flight = format!("journal patch of {eid}");
            model.touched.insert(eid);
            let subject = format!("m{} v{}", eid.0, now.as_second());
            let mut p = Patch::default();
            p.set.set_text(PR_SUBJECT, subject.clone());
            s.store_mut()
                .patch(eid, p, true)
                .map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().subject = subject;
        }
        28..=32 if !drafts.is_empty() => {
            let eid = *rng.pick(&drafts);
            model.in_flight = format!("rewrite of {eid}");
            model.touched.insert(eid);
            let mut m = s.store_mut().load(eid).map_err(|e| e.to_string())?;
            let subject = format!("m{} w{}", eid.0, now.as_second());
            m.props.set_text(PR_SUBJECT, subject.clone());
            m.body.push_str("edited ");
            submit::save_draft(s.store_mut(), m).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().subject = subject;
        }
        33..=44 if !drafts.is_empty() => {
            let eid = *rng.pick(&drafts);
            model.in_flight = format!("submit of {eid}");
            model.touched.insert(eid);
            submit::submit_message(s.store_mut(), eid, now).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().st = St::Submitted;
        }
        45..=74 => {
            let n = 1 + rng.below(12);
            model.in_flight = format!("{n} spooler tick(s)");
            s.handle(Command::Resume);
            for _ in 0..n {
                let t = s.tick();
                let events = s.drain_events();
                // DoSentMail's copy is filed by group commit: it is promised once its
                // StepFinished is reported (held until the group is durable), not when the
                // tick returns.
                for e in &events {
                    if let Event::StepFinished {
                        eid,
                        step: spoolbox::mapi::Step::DoSentMail,
                        ..
                    } = e
                    {
                        let entry = model.msgs.get_mut(eid).unwrap();
                        match s.store().summary(*eid) {
                            Some(sum) if sum.next_step.is_none() => {
                                entry.st = St::Finished;
                                entry.folder = Some(sum.folder);
                            }
                            Some(_) => return Err(format!("DoSentMail of {eid} did not finish")),
                            None => {
                                entry.st = St::Finished;
                                entry.folder = None;
                            }
                        }
                    }
                }
                absorb(model, events);
                if rig.fs.is_cut() {
                    break;
                }
                match t {
                    Tick::Ran(..) => {}
                    Tick::Paused => return Err("the spooler paused on an error".into()),
                    Tick::Idle(_) => break,
                }
            }
        }
        75..=79 if !at_rest.is_empty() => {
            let eid = *rng.pick(&at_rest);
            model.in_flight = format!("delete of {eid}");
            model.touched.insert(eid);
            s.store_mut().delete(eid).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().folder = None;
        }
        80..=86 if !at_rest.is_empty() => {
            let eid = *rng.pick(&at_rest);
            let mut targets = vec![ids.deleted, ids.inbox, ids.outbox, ids.sent];
            targets.extend(&model.user_folders);
            let to = *rng.pick(&targets);
            model.in_flight = format!("move of {eid} to folder {to}");
            model.touched.insert(eid);
            s.store_mut().move_to(eid, to).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().folder = Some(to);
        }
        87..=89 => {
            let name = format!("Folder {}", model.user_folders.len() + 1);
            model.in_flight = format!("create folder {name:?}");
            let id = s
                .store_mut()
                .create_folder(&name)
                .map_err(|e| e.to_string())?;
            model.user_folders.push(id);
        }
        90..=93 => {
            model.in_flight = "compaction".into();
            s.store_mut().compact().map_err(|e| e.to_string())?;
        }
        94..=96 => {
            // kill -9: the process goes without its Drop; the kernel keeps every write it
            // made, durable or not, for the next process.
            model.in_flight = "process killed".into();
            if let Some(s) = sp.take() {
                std::mem::forget(s);
            }
            *sp = Some(rig.open()?);
        }
        97..=99 => {
            model.in_flight = "clean restart".into();
            *sp = None; // drop: journal synced, index.json written
            if rig.fs.is_cut() {
                return Ok(());
            }
            *sp = Some(rig.open()?);
        }
        _ => {}
    }
    Ok(())
}

/// What one case did.
struct Outcome {
    ops: u64,
    cut: bool,
}

/// Runs `n_ops` random operations from `seed`; the power goes at file operation `cut_at`
/// (none: after the last one). Then reboots and checks.
fn run_case(mount: &Path, seed: u64, n_ops: usize, cut_at: Option<u64>, how: Cut) -> Outcome {
    let label = format!("seed {seed}, cut at {cut_at:?}, {how:?}");
    let fs = SimFs::new(mount);
    if let Some(k) = cut_at {
        fs.cut_at(k);
    }
    let (clock, hand) = Clock::manual(Timestamp::from_second(1_800_000_000).unwrap());
    let mut rig = Rig {
        fs,
        root: mount.join("store"),
        hand,
        clock,
        log: HandoffLog::default(),
    };
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    let mut sp: Option<Spooler> = None;
    // The first open and the profile are operations like any other: the power may go there.
    let opened = rig.open().and_then(|mut s| {
        s.handle(Command::SaveProfile(Box::new(null_profile())));
        let errors: Vec<_> = s
            .drain_events()
            .into_iter()
            .filter(|e| matches!(e, Event::Error(_)))
            .collect();
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(format!("{errors:?}"))
        }
    });
    match opened {
        Ok(mut s) => {
            // SaveProfile rebuilt the transports from the profile: put the recording one back.
            s.set_transports(LogNull::boxed(&rig.log));
            sp = Some(s);
            for _ in 0..n_ops {
                let r = step(&mut rng, &rig, &mut sp, &mut model);
                if std::env::var_os("SPOOLBOX_POWER_DEBUG").is_some() {
                    eprintln!(
                        "  op {} -> {r:?} (file ops {}, touched {:?})",
                        model.in_flight,
                        rig.fs.ops(),
                        model.touched
                    );
                }
                if rig.fs.is_cut() {
                    break;
                }
                if let Err(e) = r {
                    panic!(
                        "{label}: {} failed without a power cut: {e}",
                        model.in_flight
                    );
                }
            }
        }
        Err(e) => assert!(rig.fs.is_cut(), "{label}: first open failed: {e}"),
    }
    let cut = rig.fs.is_cut();
    if !cut {
        model.touched.clear();
        model.in_flight = "nothing".into();
    }
    let ops = rig.fs.ops();
    if std::env::var_os("SPOOLBOX_POWER_DEBUG").is_some() && cut_at.is_none() {
        let count = |st: St| model.msgs.values().filter(|e| e.st == st).count();
        eprintln!(
            "  {} messages: {} drafts, {} submitted, {} finished, {} deleted; {} marks, {} NDRs, {} folders",
            model.msgs.len(),
            count(St::Draft),
            count(St::Submitted),
            count(St::Finished),
            model.msgs.values().filter(|e| e.folder.is_none()).count(),
            model.marked.len(),
            model.ndrs.len(),
            model.user_folders.len()
        );
    }
    drop(sp); // the process dies with the power: its Drop writes fail on a cut disk
    let mut cut_rng = Rng::new(seed ^ cut_at.unwrap_or(0).rotate_left(17));
    rig.fs = rig.fs.power_cut(how, &mut cut_rng);
    reboot_and_check(&rig, &model, how, &label);
    Outcome { ops, cut }
}

#[allow(clippy::too_many_lines, reason = "a scenario reads top to bottom")]
fn reboot_and_check(rig: &Rig, model: &Model, how: Cut, label: &str) {
    let label = format!("{label} (in flight: {})", model.in_flight);
    let (store, report) = Store::open_with_fs(&rig.root, Arc::new(rig.fs.clone()))
        .unwrap_or_else(|e| panic!("{label}: the store does not open after the cut: {e}"));
    assert!(
        report.quarantined.is_empty(),
        "{label}: nothing may be quarantined after a power cut: {:?}",
        report.quarantined
    );
    match (&report.journal_damage, how) {
        (None, _) => {}
        (Some(d), Cut::Torn) => assert!(d.contains("torn record"), "{label}: {d}"),
        (Some(d), Cut::Strict) => panic!("{label}: synced journal damaged: {d}"),
    }
    let ids = Ids::of(&store);
    one_file_per_message(rig, &store, &label);
    // Every promise made before the cut holds.
    for (eid, e) in &model.msgs {
        if model.touched.contains(eid) {
            continue;
        }
        let s = store.summary(*eid);
        let what = format!("{label}: message {eid} ({e:?}), now {s:?}");
        match e.st {
            St::Draft | St::Finished => match e.folder {
                None => assert!(s.is_none(), "{what}: deleted, came back"),
                Some(f) => {
                    let s = s.unwrap_or_else(|| panic!("{what}: lost"));
                    assert_eq!(s.folder, f, "{what}: wrong folder");
                    assert!(s.next_step.is_none() && !s.is_submitted(), "{what}");
                    if e.st == St::Draft {
                        assert_eq!(s.subject, e.subject, "{what}: a synced change was lost");
                    }
                }
            },
            St::Submitted => match s {
                None => assert_eq!(e.disp, Disp::Delete, "{what}: lost"),
                Some(s) if s.next_step.is_some() || s.is_submitted() => {
                    let m = store.peek(*eid).unwrap();
                    for (_, row) in model.marked.range((*eid, 0)..=(*eid, u32::MAX)) {
                        let r = m.recipient(*row).unwrap();
                        assert!(
                            r.responsibility(),
                            "{what}: row {row} was marked delivered durably and is FALSE again"
                        );
                    }
                }
                Some(s) => assert_eq!(
                    Some(s.folder),
                    ids.final_folder(e.disp),
                    "{what}: finished in the wrong folder"
                ),
            },
        }
    }
    for f in &model.user_folders {
        assert!(
            store.folder(*f).is_some(),
            "{label}: folder {f} was created and is lost"
        );
    }
    for (orig, ndr) in &model.ndrs {
        assert!(
            store.summary(*ndr).is_some(),
            "{label}: the NDR {ndr} of {orig} was reported written and is lost"
        );
    }
    drop(store);
    // Now send everything to the end, as the next run of the app would.
    let mut sp = rig
        .open()
        .unwrap_or_else(|e| panic!("{label}: reopen: {e}"));
    sp.handle(Command::Resume);
    sp.handle(Command::Flush);
    for _ in 0..10_000 {
        match sp.tick() {
            Tick::Ran(..) => {}
            Tick::Idle(Some(w)) => *rig.hand.lock().unwrap() = w,
            Tick::Idle(None) => break,
            Tick::Paused => panic!("{label}: paused: {:?}", sp.drain_events()),
        }
    }
    let errors: Vec<_> = sp
        .drain_events()
        .into_iter()
        .filter(|e| matches!(e, Event::Error(_)))
        .collect();
    assert!(errors.is_empty(), "{label}: {errors:?}");
    let store = sp.store();
    assert_eq!(store.queue().count(), 0, "{label}: the queue did not drain");
    // Exactly one NDR per message, and only for messages with an X400 row.
    let mut ndr_count: HashMap<EntryId, usize> = HashMap::new();
    for s in store.summaries() {
        if s.class.starts_with("REPORT.") {
            assert_eq!(s.folder, ids.inbox, "{label}");
            let orig = store.peek(s.eid).unwrap().embedded.unwrap().entry_id;
            *ndr_count.entry(orig).or_default() += 1;
        }
    }
    for (orig, n) in &ndr_count {
        assert_eq!(*n, 1, "{label}: {n} NDRs for message {orig}");
        assert!(
            model.msgs.get(orig).is_none_or(|e| e.x400),
            "{label}: NDR for {orig}, which has no X400 row"
        );
    }
    // Each message ended where its disposal says, once; each recipient handed off once.
    let handed = rig.log.counts();
    let mut sent_subjects = BTreeSet::new();
    for s in store.summaries().filter(|s| s.folder == ids.sent) {
        assert!(
            sent_subjects.insert(s.eid),
            "{label}: {} twice in Sent Items",
            s.eid
        );
    }
    for (eid, e) in &model.msgs {
        let s = store.summary(*eid);
        if let Some(s) = s {
            assert!(
                s.next_step.is_none() && !s.is_submitted(),
                "{label}: {eid} left queued"
            );
        }
        if e.st == St::Submitted && !model.touched.contains(eid) {
            match (ids.final_folder(e.disp), s) {
                (None, s) => assert!(s.is_none(), "{label}: {eid} should be deleted"),
                (Some(f), Some(s)) => assert_eq!(s.folder, f, "{label}: {eid}"),
                (Some(_), None) => panic!("{label}: {eid} lost"),
            }
        }
        if !e.x400 {
            assert_eq!(ndr_count.get(eid), None, "{label}: NDR for {eid}");
        }
    }
    for ((eid, row), n) in &handed {
        let allowed = if model.marked.contains(&(*eid, *row)) {
            1
        } else {
            2
        };
        assert!(
            *n <= allowed,
            "{label}: message {eid} row {row} handed off {n} times (marked before the cut: {})",
            allowed == 1
        );
    }
    for (eid, e) in &model.msgs {
        if e.st == St::Finished && !model.touched.contains(eid) {
            let m_rows = handed.keys().filter(|(m, _)| m == eid).count();
            assert!(
                m_rows > 0 || e.x400,
                "{label}: finished {eid} was never handed off"
            );
        }
    }
    one_file_per_message(rig, store, &label);
}

/// On disk each message has exactly one file, in its folder.
fn one_file_per_message(rig: &Rig, store: &Store, label: &str) {
    let mut seen: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for (path, _) in rig.fs.files_under(&rig.root.join("folders")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        seen.entry(name).or_default().push(path);
    }
    for (name, paths) in &seen {
        assert_eq!(
            paths.len(),
            1,
            "{label}: {name} is on disk {} times: {paths:?}",
            paths.len()
        );
    }
    assert_eq!(
        seen.len(),
        store.message_count(),
        "{label}: files {:?}",
        seen.keys()
    );
}

#[test]
fn power_cut_at_random_operations_keeps_every_acknowledged_change() {
    let t0 = Instant::now();
    let base = seed("power_cut");
    let cases = env_count("SPOOLBOX_POWER_CUTS", 400);
    let per_workload = 16;
    let n_ops = 80;
    let dir = fast_tempdir();
    let mount = dir.path().join("sim");
    if let Ok(one) = std::env::var("SPOOLBOX_POWER_CASE") {
        // "SEED:K:Strict" or "SEED:K:Torn": replays one case of a failure message.
        let parts: Vec<&str> = one.split(':').collect();
        let how = if parts[2] == "Torn" {
            Cut::Torn
        } else {
            Cut::Strict
        };
        run_case(
            &mount,
            parts[0].parse().unwrap(),
            n_ops,
            Some(parts[1].parse().unwrap()),
            how,
        );
        return;
    }
    let mut rng = Rng::new(base);
    let (mut cuts, mut strict, mut torn, mut workloads) = (0, 0, 0, 0);
    while cuts < cases {
        let seed = rng.next_u64();
        workloads += 1;
        // A run without a cut numbers the file operations of this workload.
        let full = run_case(&mount, seed, n_ops, None, Cut::Strict);
        if std::env::var_os("SPOOLBOX_POWER_DEBUG").is_some() {
            eprintln!("workload {seed}: {} file operations", full.ops);
        }
        for i in 0..per_workload.min(cases - cuts) {
            let k = 1 + rng.below(full.ops);
            let how = if i % 2 == 0 { Cut::Strict } else { Cut::Torn };
            let o = run_case(&mount, seed, n_ops, Some(k), how);
            if o.cut {
                cuts += 1;
                if how == Cut::Strict {
                    strict += 1;
                } else {
                    torn += 1;
                }
            }
        }
    }
    eprintln!(
        "power_cut: {cuts} power cuts ({strict} strict, {torn} torn) over {workloads} workloads of {n_ops} operations in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
