//! The draft lifecycle at the worker (issue: "never sent twice from the window"): a submit
//! names the submission its editor saw, a sent message is never a draft again, "Send again"
//! is its own message, and every attempt stays in the trace.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use jiff::Timestamp;
use spoolbox::mapi::tags::{PR_SENTMAIL_ENTRYID, PR_SUBJECT};
use spoolbox::mapi::{EntryId, Message, MessageState, PropValue, Recipient, RecipientKind};
use spoolbox::profile::{Profile, TransportConfig, TransportKind};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick};
use spoolbox::store::{FolderKind, Store};

use crate::store::fast_tempdir;

struct Rig {
    _dir: tempfile::TempDir,
    sp: Spooler,
    draft: EntryId,
}

/// A store with the null transport and one draft to two recipients, filed in Sent Items.
fn rig() -> Rig {
    let dir = fast_tempdir();
    let (mut store, _) = Store::open(&dir.path().join("store")).expect("store");
    store
        .set_profile(Profile {
            transports: vec![TransportConfig::new("Null", TransportKind::Null, &["SMTP"])],
            ..Profile::default()
        })
        .expect("profile");
    let outbox = store.folder_of(FolderKind::Outbox);
    let sent = store.folder_of(FolderKind::SentItems);
    let eid = store.new_entry_id().expect("id");
    let mut m = Message::draft(eid, outbox, "Twice?");
    for (row, a) in ["ann@example.com", "bob@example.com"].iter().enumerate() {
        m.recipients.push(Recipient::new(
            u32::try_from(row).expect("row"),
            "R",
            a,
            "SMTP",
            RecipientKind::To,
        ));
    }
    m.props
        .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
    store.save(&mut m).expect("save");
    let sp = Spooler::new(store, Clock::system());
    Rig {
        _dir: dir,
        sp,
        draft: eid,
    }
}

impl Rig {
    fn run(&mut self) {
        for _ in 0..1000 {
            if matches!(self.sp.tick(), Tick::Idle(_)) {
                return;
            }
        }
        panic!("the spooler never went idle");
    }

    fn errors(&mut self) -> Vec<String> {
        self.sp
            .drain_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Error(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn message(&mut self, eid: EntryId) -> Message {
        self.sp.store_mut().load(eid).expect("message")
    }

    fn submits(&mut self, eid: EntryId) -> usize {
        self.message(eid)
            .trace
            .iter()
            .filter(|c| c.call == "IMessage::SubmitMessage")
            .count()
    }
}

#[test]
fn two_submits_of_one_draft_revision_send_it_once() {
    let mut r = rig();
    let draft = r.message(r.draft);
    let seen = draft.spool.submission;
    // A double click: the same editor content, at the same submission, twice in a row.
    for _ in 0..2 {
        r.sp.handle(Command::SubmitDraft {
            draft: Box::new(draft.clone()),
            seen,
        });
    }
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("MAPI_E_OBJECT_CHANGED"), "{errors:?}");
    r.run();
    assert!(r.errors().is_empty());
    // And once it was sent, the stale editor again: refused, nothing written.
    r.sp.handle(Command::SubmitDraft {
        draft: Box::new(draft.clone()),
        seen,
    });
    let errors = r.errors();
    assert!(
        errors.iter().any(|e| e.contains("MAPI_E_OBJECT_CHANGED")),
        "{errors:?}"
    );
    r.run();
    let sent = r.message(r.draft);
    assert_eq!(sent.state(Timestamp::now()), MessageState::Sent);
    assert_eq!(sent.spool.submission, 1);
    assert_eq!(r.submits(r.draft), 1, "one SubmitMessage in the trace");
    assert_eq!(
        sent.recipients
            .iter()
            .filter(|x| x.outcome == spoolbox::mapi::RecipientState::Delivered)
            .count(),
        2
    );
}

#[test]
fn a_sent_message_is_never_a_draft_again_nor_submitted_again() {
    let mut r = rig();
    r.sp.handle(Command::Submit(r.draft));
    r.run();
    assert!(r.errors().is_empty());
    let sent = r.message(r.draft);
    let trace_len = sent.trace.len();
    // Saving a stale editor's copy would have turned it back into a draft.
    let mut stale = sent.clone();
    stale.props.set_text(PR_SUBJECT, "edited after sending");
    r.sp.handle(Command::SaveDraft(Box::new(stale)));
    r.sp.handle(Command::Submit(r.draft));
    r.sp.handle(Command::SendNow(r.draft));
    let errors = r.errors();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors.iter().all(|e| e.contains("MAPI_E_NO_ACCESS")),
        "{errors:?}"
    );
    r.run();
    let after = r.message(r.draft);
    assert_eq!(after.subject(), "Twice?");
    assert_eq!(after.state(Timestamp::now()), MessageState::Sent);
    assert_eq!(
        after.trace.len(),
        trace_len,
        "the trace of the sent message is untouched"
    );
}

#[test]
fn send_again_makes_a_new_message_and_leaves_the_original_and_its_trace() {
    let mut r = rig();
    r.sp.handle(Command::Submit(r.draft));
    r.run();
    let original = r.message(r.draft);
    r.sp.handle(Command::SendAgain(r.draft));
    let events = r.sp.drain_events();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Error(_))),
        "{events:?}"
    );
    // A copy to edit: nothing is sent until it is submitted.
    let copy = events
        .iter()
        .find_map(|e| match e {
            Event::DraftCreated(d) => Some(*d),
            _ => None,
        })
        .expect("a draft");
    r.run();
    assert_eq!(
        r.message(copy).state(Timestamp::now()),
        MessageState::Draft,
        "not sent before Submit"
    );
    r.sp.handle(Command::Submit(copy));
    r.run();
    assert_eq!(r.message(r.draft), original, "the original is untouched");
    let copies: Vec<EntryId> =
        r.sp.store()
            .summaries()
            .filter(|s| s.subject == "Twice?" && s.eid != r.draft)
            .map(|s| s.eid)
            .collect();
    assert_eq!(copies.len(), 1, "one new message");
    let copy = r.message(copies[0]);
    assert_eq!(copy.state(Timestamp::now()), MessageState::Sent);
    assert_eq!(copy.recipients.len(), 2);
    // Send again on something that was not sent is refused.
    r.sp.handle(Command::SendAgain(EntryId(9999)));
    assert_eq!(r.errors().len(), 1);
}

#[test]
fn an_aborted_and_resubmitted_message_keeps_every_attempt_in_its_trace() {
    let mut r = rig();
    r.sp.handle(Command::Pause);
    r.sp.handle(Command::Submit(r.draft));
    r.sp.handle(Command::AbortSubmit(r.draft));
    let draft = r.message(r.draft);
    assert_eq!(draft.state(Timestamp::now()), MessageState::Draft);
    r.sp.handle(Command::SubmitDraft {
        draft: Box::new(draft.clone()),
        seen: draft.spool.submission,
    });
    r.sp.handle(Command::Resume);
    r.run();
    assert!(r.errors().is_empty());
    let m = r.message(r.draft);
    let calls: Vec<&str> = m.trace.iter().map(|c| c.call.as_str()).collect();
    assert_eq!(m.spool.submission, 2);
    assert_eq!(r.submits(r.draft), 2, "{calls:?}");
    assert!(calls.contains(&"IMsgStore::AbortSubmit"), "{calls:?}");
    let args: Vec<&str> = m
        .trace
        .iter()
        .filter(|c| c.call == "IMessage::SubmitMessage")
        .map(|c| c.args.as_str())
        .collect();
    assert_eq!(args, ["0 (submission 1)", "0 (submission 2)"]);
}

#[test]
fn a_message_whose_only_recipient_failed_reads_failed_and_a_partial_one_partly_delivered() {
    let mut r = rig();
    let mut m = r.message(r.draft);
    // Row 1 has a type no transport takes: it fails (NDR), row 0 is delivered.
    m.recipients[1] = Recipient::new(1, "Nobody", "nobody", "X400", RecipientKind::To);
    r.sp.handle(Command::SaveDraft(Box::new(m.clone())));
    r.sp.handle(Command::Submit(r.draft));
    r.run();
    let now = Timestamp::now();
    let s = r.sp.store().summary(r.draft).cloned().expect("summary");
    assert_eq!((s.delivered(), s.failed, s.total), (1, 1, 2));
    assert_eq!(s.state_word(now), "Partly delivered");
    // A copy with only the failing row: "Failed", never a green "Sent".
    let outbox = r.sp.store().folder_of(FolderKind::Outbox);
    let eid = r.sp.store_mut().new_entry_id().expect("id");
    let mut only = Message::draft(eid, outbox, "Nobody at all");
    only.recipients.push(Recipient::new(
        0,
        "Nobody",
        "nobody",
        "X400",
        RecipientKind::To,
    ));
    r.sp.store_mut().save(&mut only).expect("save");
    r.sp.handle(Command::Submit(eid));
    r.run();
    let s = r.sp.store().summary(eid).cloned().expect("summary");
    assert_eq!(s.base_state, MessageState::Sent);
    assert_eq!(s.state_word(now), "Failed");
}

/// A bulk action is one command answered once: no notice per message (20,000 "restored to
/// Outbox" toasts flooded the window under Xvfb), and the report names each message.
#[test]
fn a_bulk_restore_is_answered_once_without_a_notice_per_message() {
    use spoolbox::spooler::{BulkOp, Command as C};
    let mut r = rig();
    let outbox = r.sp.store().folder_of(FolderKind::Outbox);
    let mut eids = vec![r.draft];
    for i in 0..4 {
        r.sp.handle(C::NewDraft);
        let e =
            r.sp.drain_events()
                .into_iter()
                .find_map(|e| match e {
                    Event::DraftCreated(d) => Some(d),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("draft {i}"));
        eids.push(e);
    }
    r.sp.handle(C::Bulk(eids.iter().map(|e| (*e, BulkOp::Delete)).collect()));
    r.sp.drain_events();
    r.sp.handle(C::Bulk(
        eids.iter().map(|e| (*e, BulkOp::Restore)).collect(),
    ));
    let events = r.sp.drain_events();
    let notices: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::Notice(_)))
        .collect();
    assert!(notices.is_empty(), "{notices:?}");
    let reports: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::BulkDone(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].done.len(), eids.len());
    assert!(reports[0].done.iter().all(|(_, _, to)| *to == Some(outbox)));
}
