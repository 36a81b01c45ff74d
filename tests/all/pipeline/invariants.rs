//! The invariants of reference section (e), on random profiles and messages.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Deliver,
    Decline,
    FailAll,
    LeaveFalse,
    TransientThenDeliver(usize),
    WaitThenDeliver,
    AlwaysBusy,
    Defer,
}

#[derive(Clone, Debug)]
struct TCase {
    types: Vec<&'static str>,
    behaviour: Behaviour,
}

#[derive(Clone, Debug)]
struct MCase {
    rows: Vec<&'static str>,
    sentmail: bool,
    delete: bool,
    ndr_off: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HookKind {
    Move,
    Delete,
    Nothing,
}

#[derive(Clone, Debug)]
struct Case {
    transports: Vec<TCase>,
    messages: Vec<MCase>,
    hooks: Vec<(HookKind, bool)>,
}

fn case() -> impl Strategy<Value = Case> {
    let behaviour = prop_oneof![
        3 => Just(Behaviour::Deliver),
        1 => Just(Behaviour::Decline),
        1 => Just(Behaviour::FailAll),
        1 => Just(Behaviour::LeaveFalse),
        1 => (1..=2usize).prop_map(Behaviour::TransientThenDeliver),
        1 => Just(Behaviour::WaitThenDeliver),
        1 => Just(Behaviour::AlwaysBusy),
        1 => Just(Behaviour::Defer),
    ];
    let transport = (
        proptest::sample::subsequence(vec!["SMTP", "FAX", "X400"], 1..=2),
        behaviour,
    )
        .prop_map(|(types, behaviour)| TCase { types, behaviour });
    let message = (
        proptest::collection::vec(
            proptest::sample::select(vec!["SMTP", "FAX", "X400", "EX"]),
            1..=6,
        ),
        any::<bool>(),
        any::<bool>(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(rows, sentmail, delete, ndr_off)| MCase {
            rows,
            sentmail,
            delete,
            ndr_off,
        });
    let hook = (
        prop_oneof![
            Just(HookKind::Move),
            Just(HookKind::Delete),
            Just(HookKind::Nothing)
        ],
        proptest::bool::weighted(0.3),
    );
    (
        proptest::collection::vec(transport, 1..=4),
        proptest::collection::vec(message, 1..=3),
        proptest::collection::vec(hook, 0..=2),
    )
        .prop_map(|(transports, messages, hooks)| Case {
            transports,
            messages,
            hooks,
        })
}

const NAMES: [&str; 4] = ["T0", "T1", "T2", "T3"];

fn address(ty: &str, i: usize) -> String {
    match ty {
        "SMTP" => format!("u{i}@example.org"),
        "FAX" => format!("+1 555 010 {i:04}"),
        "X400" => format!("c=US;p=Corp;s=U{i}"),
        _ => format!("/o=Spoolbox/cn=u{i}"),
    }
}

/// What each recipient must end as, from the scripts (reference a.3 S6 and a.5).
fn expected_outcome(case: &Case, ty: &str) -> (RecipientState, Option<&'static str>) {
    if ty == "EX" {
        return (RecipientState::HandledByStore, Some("store"));
    }
    for (i, t) in case.transports.iter().enumerate() {
        if !t.types.contains(&ty) {
            continue;
        }
        match t.behaviour {
            Behaviour::Decline | Behaviour::LeaveFalse => {}
            Behaviour::FailAll => return (RecipientState::Failed, Some(NAMES[i])),
            // Busy claims the row: it waits for this transport until the spooler gives up.
            Behaviour::AlwaysBusy => return (RecipientState::Failed, None),
            _ => return (RecipientState::Delivered, Some(NAMES[i])),
        }
    }
    (RecipientState::NoTransport, None)
}

/// Where a finished message must be: `None` when deleted. Also the number of hooks that run.
fn expected_place(case: &Case, m: &MCase) -> (Option<&'static str>, usize) {
    let (mut moved, mut deleted, mut ran) = (false, false, 0);
    for (kind, cancel) in &case.hooks {
        ran += 1;
        match kind {
            HookKind::Move => moved = true,
            HookKind::Delete => deleted = true,
            HookKind::Nothing => {}
        }
        if *cancel {
            break;
        }
    }
    let place = if deleted {
        None
    } else if moved {
        Some("Archive")
    } else {
        match (m.sentmail, m.delete) {
            (true, _) => Some("Sent Items"),
            (false, true) => None,
            (false, false) => Some("Outbox"),
        }
    };
    (place, ran)
}

#[allow(clippy::too_many_lines, reason = "a scenario reads top to bottom")]
fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let specs: Vec<Spec> = case
        .transports
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let s = spec(NAMES[i], &t.types, Reply::Deliver);
            match t.behaviour {
                Behaviour::Deliver => s,
                Behaviour::Decline => spec(NAMES[i], &t.types, Reply::NotMe),
                Behaviour::FailAll => spec(NAMES[i], &t.types, Reply::Fail("554 rejected")),
                Behaviour::LeaveFalse => spec(NAMES[i], &t.types, Reply::LeaveFalse),
                Behaviour::TransientThenDeliver(n) => s.first(&vec![Reply::Transient; n]),
                Behaviour::WaitThenDeliver => s.first(&[Reply::Wait(30)]),
                Behaviour::AlwaysBusy => spec(NAMES[i], &t.types, Reply::Busy),
                Behaviour::Defer => spec(NAMES[i], &t.types, Reply::Defer(45)),
            }
        })
        .collect();
    let hooks = case
        .hooks
        .iter()
        .enumerate()
        .map(|(i, (kind, cancel))| {
            let action = match kind {
                HookKind::Move => HookAction::MoveTo {
                    folder: "Archive".into(),
                },
                HookKind::Delete => HookAction::Delete,
                HookKind::Nothing => HookAction::Nothing,
            };
            hook(&format!("H{i}"), action, *cancel)
        })
        .collect();
    let mut rig = Rig::with(&specs, |p| {
        p.hooks = hooks;
        p.retry = RetryPolicy {
            first_delay_secs: 60,
            max_delay_secs: 120,
            give_up_after_secs: 1800,
        };
    });
    let mut eids = Vec::new();
    for (n, m) in case.messages.iter().enumerate() {
        let rows: Vec<(String, &str)> = m
            .rows
            .iter()
            .enumerate()
            .map(|(i, ty)| (address(ty, i), *ty))
            .collect();
        let rows: Vec<(&str, &str)> = rows.iter().map(|(a, t)| (a.as_str(), *t)).collect();
        let eid = rig.draft_with(&format!("m{n}"), &rows, |msg| {
            if !m.sentmail {
                msg.props.remove(PR_SENTMAIL_ENTRYID);
            }
            if m.delete {
                msg.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
            }
            if m.ndr_off {
                msg.props
                    .set_bool(PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, false);
            }
        });
        rig.submit(eid);
        rig.advance(1);
        eids.push(eid);
    }
    let mut rounds = 0;
    while !rig.queue().is_empty() {
        rounds += 1;
        prop_assert!(rounds < 300, "the queue never drained: {:?}", rig.queue());
        rig.run();
        let now = rig.now();
        match rig.sp.next_wake(now) {
            Some(t) if t > now => rig.set_clock(t),
            _ => rig.advance(15),
        }
    }
    prop_assert!(rig.errors().is_empty(), "{:?}", rig.errors());
    let v = rig.log.violations.lock().unwrap().clone();
    prop_assert!(v.is_empty(), "{v:?}");

    // Nothing is left submitted or locked anywhere (e.1, e.2).
    for s in rig.sp.store().summaries() {
        prop_assert!(!s.is_submitted(), "message {} still submitted", s.eid);
        prop_assert!(
            s.submit_flags.is_none(),
            "message {} keeps PR_SUBMIT_FLAGS",
            s.eid
        );
        prop_assert!(!s.is_locked());
        prop_assert!(s.next_step.is_none());
    }
    let inbox: Vec<Summary> = rig.in_folder("Inbox");
    for (eid, m) in eids.iter().copied().zip(&case.messages) {
        let (place, hooks_ran) = expected_place(case, m);
        let trace = rig.trace(eid);
        prop_assert_eq!(
            hook_calls(&trace, eid).len(),
            hooks_ran,
            "hooks run once each (e.4)"
        );
        prop_assert_eq!(
            trace
                .iter()
                .filter(|c| c.call == "IMsgStore::FinishedMsg")
                .count(),
            1,
            "FinishedMsg exactly once"
        );
        let copies = rig.copies_on_disk(eid);
        prop_assert_eq!(
            copies.clone(),
            place.map(|p| vec![p.to_owned()]).unwrap_or_default(),
            "message {} placement",
            eid
        );
        let subject = format!("m{}", eids.iter().position(|e| *e == eid).unwrap());
        // Outcomes: every row final, the right one, from the right transport (e.11–e.13).
        let final_rows: Vec<Recipient> = match place {
            Some(_) => rig.msg(eid).recipients,
            None => Vec::new(),
        };
        let mut want_ndr = Vec::new();
        for (i, ty) in m.rows.iter().enumerate() {
            let (want, by) = expected_outcome(case, ty);
            if want.needs_ndr() {
                want_ndr.push(address(ty, i));
            }
            if let Some(r) = final_rows.get(i) {
                prop_assert!(r.outcome.is_final());
                prop_assert_eq!(&r.outcome, &want, "{} row {} ({})", eid, i, ty);
                if want != RecipientState::Failed || by.is_some() {
                    prop_assert_eq!(r.transport.as_deref(), by, "{} row {}", eid, i);
                }
                prop_assert_eq!(
                    r.responsibility(),
                    want != RecipientState::NoTransport,
                    "{} row {}",
                    eid,
                    i
                );
            }
            // A row is offered only to transports of its type, never after it was taken.
            let offered_to: Vec<String> = rig
                .log
                .of(eid)
                .into_iter()
                .filter(|o| o.rows.contains(&u32::try_from(i).unwrap()))
                .map(|o| o.transport)
                .collect();
            if let Some(b) = by.filter(|b| *b != "store") {
                prop_assert_eq!(offered_to.last().map(String::as_str), Some(b));
            }
            if *ty == "EX" {
                prop_assert!(offered_to.is_empty());
            }
        }
        // One NDR per message that needs one, unless reports were turned off (e.14).
        let reports: Vec<&Summary> = inbox
            .iter()
            .filter(|s| {
                s.class == "REPORT.IPM.Note.NDR" && s.subject == format!("Undeliverable: {subject}")
            })
            .collect();
        if want_ndr.is_empty() || m.ndr_off {
            prop_assert!(reports.is_empty());
        } else {
            prop_assert_eq!(reports.len(), 1);
            let ndr = rig.msg(reports[0].eid);
            let mut got: Vec<String> = ndr
                .recipients
                .iter()
                .map(|r| r.email().to_owned())
                .collect();
            got.sort();
            want_ndr.sort();
            prop_assert_eq!(got, want_ndr);
        }
        // One local delivery per message with EX rows.
        let local = inbox
            .iter()
            .filter(|s| s.class == "IPM.Note" && s.subject == subject)
            .count();
        prop_assert_eq!(local, usize::from(m.rows.contains(&"EX")));
    }
    Ok(())
}

fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pipeline_invariants_hold_for_random_profiles_and_messages(case in case()) {
        run_case(&case)?;
    }
}
