//! Group commit on its own thread (`Store::commit_saves_background`): the `DoSentMail` copies
//! of many messages are written, fsynced and renamed into Sent Items while the spooler goes on;
//! no message is reported filed before its file is in its folder, and a group that fails there
//! is rolled back, said once, and filed after a resume.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use spoolbox::durable::fs::{FsLayer, RealFs};
use spoolbox::mapi::tags::PR_SENTMAIL_ENTRYID;
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind};
use spoolbox::profile::{Profile, TransportConfig, TransportKind};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick};
use spoolbox::store::{FolderKind, Store};

use crate::realfs::{Hooked, Hooks};
use crate::store::fast_tempdir;

/// Hooks for the real file system, run on the group-commit thread like `RealFs`, that fail one
/// rename into a chosen directory and notes the thread each rename ran on.
#[derive(Debug, Default)]
struct FlakyFs {
    /// Fail the next rename into this directory (once).
    fail_into: Mutex<Option<PathBuf>>,
    failed_on: Mutex<Option<String>>,
    renames_off_thread: AtomicBool,
}

impl Hooks for FlakyFs {
    fn concurrent(&self) -> bool {
        true
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        let thread = std::thread::current().name().unwrap_or("").to_owned();
        if thread == "spoolbox-group-commit" {
            self.renames_off_thread.store(true, Ordering::SeqCst);
        }
        let mut fail = self.fail_into.lock().unwrap();
        if fail
            .as_ref()
            .is_some_and(|d| to.parent() == Some(d.as_path()))
        {
            *fail = None;
            *self.failed_on.lock().unwrap() = Some(thread);
            return Err(std::io::Error::other(
                "injected: the rename into Sent Items failed",
            ));
        }
        drop(fail);
        RealFs.rename(from, to)
    }
}

struct Run {
    _dir: tempfile::TempDir,
    root: PathBuf,
    sp: Spooler,
    sent_dir: PathBuf,
    outbox_dir: PathBuf,
    ids: Vec<EntryId>,
}

/// `n` messages of two recipients each, submitted to a null transport, in a store on the real
/// file system (through `fs`); the spooler on a manual clock, so that a group is due by count
/// (64) and never by time: the test runs the same way on a slow machine.
fn queue(n: usize, fs: Arc<dyn FsLayer>) -> Run {
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let (mut store, _) = Store::open_with_fs(&root, fs).unwrap();
    store
        .set_profile(Profile {
            transports: vec![TransportConfig::new("Null", TransportKind::Null, &["SMTP"])],
            start_paused: true,
            sent_copies_mib: spoolbox::profile::SENT_COPIES_MIB,
            ..Profile::default()
        })
        .unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let sent = store.folder_of(FolderKind::SentItems);
    let mut ids = Vec::new();
    for i in 0..n {
        let eid = store.new_entry_id().unwrap();
        let mut m = Message::draft(eid, outbox, &format!("Grouped {i}"));
        m.body = format!("Body {i}\n");
        for (row, a) in ["ann@example.com", "bob@example.com"].iter().enumerate() {
            m.recipients.push(Recipient::new(
                u32::try_from(row).unwrap(),
                "R",
                a,
                "SMTP",
                RecipientKind::To,
            ));
        }
        m.props
            .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        store.save(&mut m).unwrap();
        ids.push(eid);
    }
    let (clock, _hand) = Clock::manual(Timestamp::now());
    let mut sp = Spooler::new(store, clock);
    for eid in &ids {
        sp.handle(Command::Submit(*eid));
    }
    let errors: Vec<Event> = sp
        .drain_events()
        .into_iter()
        .filter(|e| matches!(e, Event::Error(_)))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    Run {
        sent_dir: root.join("folders").join(sent.file_stem()),
        outbox_dir: root.join("folders").join(outbox.file_stem()),
        _dir: dir,
        root,
        sp,
        ids,
    }
}

impl Run {
    fn sent_file(&self, eid: EntryId) -> PathBuf {
        self.sent_dir.join(format!("{}.json", eid.file_stem()))
    }

    /// Ticks until the spooler stops; after every step checks each event it let out: a message
    /// said to be in Sent Items has its file there. Returns the events and whether a group
    /// commit was seen under way on its own thread after a step.
    fn run(&mut self) -> (Vec<Event>, bool) {
        let sent = self.sp.store().folder_of(FolderKind::SentItems);
        let mut events = Vec::new();
        let mut under_way = false;
        for _ in 0..100_000 {
            let tick = self.sp.tick();
            under_way |= self.sp.store().commit_under_way();
            for e in self.sp.drain_events() {
                if let Event::Moved { eid, to, .. } = &e
                    && *to == sent
                {
                    assert!(
                        self.sent_file(*eid).exists(),
                        "message {eid} was reported in Sent Items before its file was there"
                    );
                }
                events.push(e);
            }
            if !matches!(tick, Tick::Ran(..)) {
                return (events, under_way);
            }
        }
        panic!("the spooler never stopped");
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

#[test]
fn groups_committed_on_their_own_thread_report_a_message_filed_only_once_its_file_is_there() {
    let fs = Arc::new(Hooked(FlakyFs::default()));
    let mut r = queue(300, Arc::clone(&fs) as Arc<dyn FsLayer>);
    r.sp.handle(Command::Resume);
    let (events, under_way) = r.run();
    let errors: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Error(_)))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(under_way, "no group was ever committed on its own thread");
    assert!(fs.0.renames_off_thread.load(Ordering::SeqCst));
    // Every message reported filed once, and filed: in Sent Items on disk, gone from the Outbox.
    let sent = r.sp.store().folder_of(FolderKind::SentItems);
    for eid in &r.ids {
        let moved = events
            .iter()
            .filter(|e| matches!(e, Event::Moved { eid: m, to, .. } if m == eid && *to == sent))
            .count();
        assert_eq!(moved, 1, "message {eid} reported filed {moved} times");
        assert_eq!(r.sp.store().summary(*eid).unwrap().folder, sent);
    }
    assert_eq!(Run::files_in(&r.sent_dir).len(), 300);
    assert!(
        Run::files_in(&r.outbox_dir).is_empty(),
        "{:?}",
        Run::files_in(&r.outbox_dir)
    );
    // And so after a reopen.
    let root = r.root.clone();
    drop(r.sp);
    let (store, report) = Store::open(&root).unwrap();
    assert!(report.quarantined.is_empty());
    let filed = store
        .summaries()
        .filter(|s| s.folder == store.folder_of(FolderKind::SentItems))
        .count();
    assert_eq!(filed, 300);
}

#[test]
fn a_group_that_fails_on_its_own_thread_is_rolled_back_said_once_and_filed_after_resume() {
    let fs = Arc::new(Hooked(FlakyFs::default()));
    let mut r = queue(150, Arc::clone(&fs) as Arc<dyn FsLayer>);
    *fs.0.fail_into.lock().unwrap() = Some(r.sent_dir.clone());
    r.sp.handle(Command::Resume);
    let (events, _) = r.run();
    // It failed on the group's own thread, and the spooler said so once and paused.
    assert_eq!(
        fs.0.failed_on.lock().unwrap().as_deref(),
        Some("spoolbox-group-commit"),
        "the injected failure did not happen on the group-commit thread"
    );
    let errors: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Error(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("could not be filed") && errors[0].contains("injected"),
        "{}",
        errors[0]
    );
    // The members whose file never reached Sent Items are back where they were: in the
    // Outbox, in memory and on disk, and none of them was reported filed.
    let sent = r.sp.store().folder_of(FolderKind::SentItems);
    let outbox = r.sp.store().folder_of(FolderKind::Outbox);
    let back: Vec<EntryId> = r
        .ids
        .iter()
        .copied()
        .filter(|e| r.sp.store().summary(*e).unwrap().folder == outbox)
        .collect();
    assert!(!back.is_empty(), "nothing was rolled back");
    for eid in &back {
        assert!(!r.sent_file(*eid).exists(), "{eid}");
        assert!(
            r.outbox_dir
                .join(format!("{}.json", eid.file_stem()))
                .exists(),
            "{eid}"
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Moved { eid: m, to, .. } if m == eid && *to == sent)),
            "{eid} was reported filed"
        );
    }
    // After a resume every message is filed, each file once.
    r.sp.handle(Command::Resume);
    let (events, _) = r.run();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Error(_))),
        "{events:?}"
    );
    for eid in &r.ids {
        assert_eq!(r.sp.store().summary(*eid).unwrap().folder, sent, "{eid}");
        assert!(r.sent_file(*eid).exists(), "{eid}");
    }
    assert_eq!(Run::files_in(&r.sent_dir).len(), 150);
    assert!(Run::files_in(&r.outbox_dir).is_empty());
}
