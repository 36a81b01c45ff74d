//! MAPI as the reference documents it (`reference/mapi-pipeline.md` section e): one named test
//! per invariant that the pipeline tests (`pipeline.rs`, whose rig these use) do not already
//! name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use spoolbox::mapi::flags::{MSGFLAG_SUBMIT, MSGFLAG_UNSENT};
use spoolbox::mapi::tags::{PR_MESSAGE_FLAGS, PR_SUBMIT_FLAGS};
use spoolbox::mapi::{MessageState, PropBag, Step, StepOutcome};
use spoolbox::spooler::submit;
use spoolbox::store::Patch;

use crate::pipeline::{A, B, Rig, smtp};

/// (e.7) `SetLockState` on a message that is not in the outgoing queue fails
/// `MAPI_E_NOT_IN_QUEUE`: no transport sees it, it leaves the pipeline, and the queue goes on.
#[test]
fn e7_lock_of_a_message_not_in_the_queue_fails_not_in_queue() {
    let mut rig = Rig::new(&[smtp()]);
    let pulled = rig.send("pulled from the queue behind the spooler's back", &[A]);
    let other = rig.send("an ordinary message", &[B]);
    // Something outside the spooler cleared MSGFLAG_SUBMIT (a hand-edited message file).
    let flags = rig.msg(pulled).message_flags();
    let mut set = PropBag::new();
    set.set_flags(PR_MESSAGE_FLAGS, flags & !MSGFLAG_SUBMIT);
    rig.store()
        .patch(
            pulled,
            Patch {
                set,
                ..Patch::default()
            },
            true,
        )
        .unwrap();
    rig.run();
    let m = rig.msg(pulled);
    let lock = m
        .trace
        .iter()
        .find(|c| c.call == "IMsgStore::SetLockState")
        .expect("SetLockState was called");
    assert!(
        lock.result.starts_with("MAPI_E_NOT_IN_QUEUE"),
        "{}",
        lock.result
    );
    assert!(!m.is_locked(), "nothing was locked");
    assert_eq!(m.spool.next_step, None, "out of the pipeline");
    assert!(rig.log.of(pulled).is_empty(), "no transport saw it");
    assert!(
        rig.step_outcomes(pulled)
            .iter()
            .any(|(s, o)| matches!(s, Step::Preprocess | Step::SetLockState)
                && matches!(o, StepOutcome::Failed(_))),
        "the refusal is the step's outcome"
    );
    assert_eq!(rig.log.of(other).len(), 1, "the queue went on");
    assert_eq!(rig.msg(other).state(rig.now()), MessageState::Sent);
}

/// (e.8) `MSGFLAG_SUBMIT` set but `PR_SUBMIT_FLAGS` missing, or not a number, is a corrupt
/// state (`MAPI_E_CORRUPT_STORE`), never read as 0: the message is held with that reason,
/// nothing is sent, the queue goes on, and Abort submit gives it back as a draft.
#[test]
fn e8_submitted_without_readable_submit_flags_is_corrupt_store_and_held() {
    for broken in ["missing", "a string"] {
        let mut rig = Rig::new(&[smtp()]);
        let bad = rig.send(&format!("submit flags {broken}"), &[A]);
        let other = rig.send("an ordinary message", &[B]);
        let mut patch = Patch::default();
        if broken == "missing" {
            patch.unset.push("PR_SUBMIT_FLAGS".into());
        } else {
            patch.set.set_text(PR_SUBMIT_FLAGS, "locked?");
        }
        rig.store().patch(bad, patch, true).unwrap();
        rig.run();
        let m = rig.msg(bad);
        let lock = m
            .trace
            .iter()
            .find(|c| c.call == "IMsgStore::SetLockState")
            .expect("SetLockState was called");
        assert!(
            lock.result.starts_with("MAPI_E_CORRUPT_STORE"),
            "{broken}: {}",
            lock.result
        );
        assert!(rig.log.of(bad).is_empty(), "{broken}: nothing was sent");
        assert_eq!(m.state(rig.now()), MessageState::Held, "{broken}");
        assert!(
            m.spool
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("PR_SUBMIT_FLAGS")),
            "{broken}: the reason is kept: {:?}",
            m.spool.last_error
        );
        assert_eq!(rig.log.of(other).len(), 1, "{broken}: the queue went on");
        let now = rig.now();
        let back = submit::abort_submit(rig.store(), bad, now).unwrap();
        assert_eq!(back.state(now), MessageState::Draft, "{broken}");
        assert_ne!(back.message_flags() & MSGFLAG_UNSENT, 0);
    }
}
