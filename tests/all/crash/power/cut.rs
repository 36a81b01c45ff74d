//! Running a workload to a power cut, the reboot and its checks, and the test.

use super::*;

/// What one case did.
pub(crate) struct Outcome {
    pub(crate) ops: u64,
    pub(crate) cut: bool,
}

/// Runs `n_ops` random operations from `seed`; the power goes at file operation `cut_at`
/// (none: after the last one). Then reboots and checks.
pub(crate) fn run_case(
    mount: &Path,
    seed: u64,
    n_ops: usize,
    cut_at: Option<u64>,
    how: Cut,
) -> Outcome {
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
pub(crate) fn reboot_and_check(rig: &Rig, model: &Model, how: Cut, label: &str) {
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
pub(crate) fn one_file_per_message(rig: &Rig, store: &Store, label: &str) {
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
