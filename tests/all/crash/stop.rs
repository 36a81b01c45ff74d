//! Stopping without sending anything twice (issue 16, items 7 and 8).
//!
//! - A store error (a full disk: the journal refuses appends with `ENOSPC` through an
//!   `FsLayer` hook) while an SMTP hand-off is under way: its answer is recorded before the
//!   spooler stops, or kept and recorded once the store takes writes again, never handed off a
//!   second time.
//! - The window's worker shut down mid-send (what closing the window does): the same.
//!
//! The SMTP messages go to a recipient the test server answers after half a second
//! (`slow…@`), so that a hand-off is surely under way when the trouble comes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use spoolbox::mapi::tags::PR_SENTMAIL_ENTRYID;
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, RecipientState};
use spoolbox::profile::{Profile, SmtpSettings, TlsMode, TransportConfig, TransportKind};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick, submit};
use spoolbox::store::fs::{AppendFile, FsLayer as _, RealFs};
use spoolbox::store::{FolderKind, Store};

use super::process::SmtpServer;
use crate::realfs::{Hooked, Hooks};
use crate::store::fast_tempdir;

// ---------------------------------------------------------------------------------------------
// A disk that fills up: the journal refuses appends while told to

#[derive(Debug, Default)]
struct Disk {
    /// Refuse this many more appends.
    fail_next: usize,
    /// Refuse every append.
    full: bool,
}

#[derive(Debug)]
struct FillingJournal {
    inner: Box<dyn AppendFile>,
    disk: Arc<Mutex<Disk>>,
}

impl AppendFile for FillingJournal {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        {
            let mut d = self.disk.lock().unwrap();
            if d.full || d.fail_next > 0 {
                d.fail_next = d.fail_next.saturating_sub(1);
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
        }
        self.inner.write_at(offset, bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.inner.sync()
    }
    fn background_sync(&self) -> Option<spoolbox::store::fs::BackgroundSync> {
        self.inner.background_sync()
    }
}

#[derive(Debug)]
struct FillingFs(Arc<Mutex<Disk>>);

impl Hooks for FillingFs {
    fn open_append(&self, path: &Path) -> std::io::Result<(Box<dyn AppendFile>, bool)> {
        let (inner, created) = RealFs.open_append(path)?;
        Ok((
            Box::new(FillingJournal {
                inner,
                disk: Arc::clone(&self.0),
            }),
            created,
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// A store whose profile sends SMTP to the test server

fn smtp_profile(port: u16) -> Profile {
    Profile {
        transports: vec![TransportConfig::new(
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
        )],
        coupled_addrtypes: Vec::new(),
        start_paused: false,
        ..Profile::default()
    }
}

/// A store at `root` with one submitted message per `(subject, recipients)`, sent by SMTP to
/// the server on `port`, copies to Sent Items.
fn smtp_store(root: &Path, port: u16, messages: &[(String, Vec<String>)]) -> Vec<EntryId> {
    let (mut store, _) = Store::open(root).unwrap();
    store.set_profile(smtp_profile(port)).unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let sent = store.folder_of(FolderKind::SentItems);
    let mut ids = Vec::new();
    for (subject, to) in messages {
        let eid = store.new_entry_id().unwrap();
        let mut m = Message::draft(eid, outbox, subject);
        m.body = format!("Body of {subject}.\n");
        for (row, a) in to.iter().enumerate() {
            m.recipients.push(Recipient::new(
                u32::try_from(row).unwrap(),
                a,
                a,
                "SMTP",
                RecipientKind::To,
            ));
        }
        m.props
            .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        submit::save_draft(&mut store, m).unwrap();
        submit::submit_message(&mut store, eid, Timestamp::now()).unwrap();
        ids.push(eid);
    }
    ids
}

fn messages(n: usize) -> Vec<(String, Vec<String>)> {
    (0..n)
        .map(|i| {
            (
                format!("Message {i}"),
                vec![
                    format!("slow{i}@example.com"),
                    format!("ann{i}@example.com"),
                ],
            )
        })
        .collect()
}

fn open_spooler(root: &Path, disk: &Arc<Mutex<Disk>>) -> Spooler {
    let (store, _) =
        Store::open_with_fs(root, Arc::new(Hooked(FillingFs(Arc::clone(disk))))).unwrap();
    let mut sp = Spooler::new(store, Clock::system());
    sp.drain_events();
    sp
}

fn errors(sp: &mut Spooler) -> Vec<String> {
    sp.drain_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Error(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Ticks until the spooler pauses; returns the errors it reported.
fn until_paused(sp: &mut Spooler) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let t = sp.tick();
        seen.extend(errors(sp));
        match t {
            Tick::Paused => return seen,
            Tick::Idle(_) if sp.handoff_under_way() => {
                sp.wait_for_handoff(Duration::from_millis(100));
            }
            Tick::Idle(_) => panic!("went idle without pausing; errors: {seen:?}"),
            Tick::Ran(..) => {}
        }
    }
    panic!("never paused; errors: {seen:?}");
}

fn run_to_idle(sp: &mut Spooler) -> Vec<String> {
    sp.handle(Command::Resume);
    sp.run_until_idle();
    errors(sp)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every `(subject, recipient)` of `messages` reached the server exactly once since `from`.
fn delivered_once(srv: &SmtpServer, from: usize, messages: &[(String, Vec<String>)]) {
    let mut got = srv.deliveries(from);
    got.sort();
    let mut want: Vec<(String, String)> = messages
        .iter()
        .flat_map(|(s, to)| to.iter().map(move |r| (s.clone(), r.clone())))
        .collect();
    want.sort();
    assert_eq!(got, want, "each recipient exactly once at the server");
}

/// Nothing locked, and (when `finished`) every message sent and in Sent Items.
fn check_store(root: &Path, finished: bool) {
    let (store, _) = Store::open(root).unwrap();
    let sent = store.folder_of(FolderKind::SentItems);
    for s in store.summaries() {
        assert!(
            !s.is_locked(),
            "message {} ({}) left locked",
            s.eid,
            s.subject
        );
        if finished {
            assert!(
                s.folder == sent && s.next_step.is_none(),
                "message {} ({}) not finished: {:?}",
                s.eid,
                s.subject,
                s.next_step
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 7: a store error with a hand-off under way

#[test]
fn a_store_error_with_a_hand_off_under_way_records_its_answer_before_the_spooler_stops() {
    let srv = SmtpServer::start();
    let from = srv.lines();
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let msgs = messages(3);
    smtp_store(&root, srv.port, &msgs);
    let disk = Arc::new(Mutex::new(Disk::default()));
    let mut sp = open_spooler(&root, &disk);
    // Until the first message is on its way to the server (its first RCPT takes 0.5 s).
    while !sp.handoff_under_way() {
        assert!(matches!(sp.tick(), Tick::Ran(..)));
    }
    // The disk fills up: the spooler's next write (a step of the second message) is refused.
    disk.lock().unwrap().fail_next = 1;
    let seen = until_paused(&mut sp);
    assert!(
        seen.iter().any(|e| e.contains("No space left on device")),
        "{seen:?}"
    );
    // `spoolbox send` ends at the pause, and so does this spooler. The server took the first
    // message meanwhile; its answer must be on record, or the next run sends it again.
    drop(sp);
    wait_until("the first message at the server", || {
        !srv.deliveries(from).is_empty()
    });
    let mut sp = open_spooler(&root, &Arc::new(Mutex::new(Disk::default())));
    let left = run_to_idle(&mut sp);
    assert!(left.is_empty(), "{left:?}");
    drop(sp);
    delivered_once(&srv, from, &msgs);
    check_store(&root, true);
}

#[test]
fn an_answer_whose_marks_the_store_refused_is_kept_and_recorded_never_handed_off_again() {
    let srv = SmtpServer::start();
    let from = srv.lines();
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let msgs = vec![("Only one".to_owned(), vec!["ann@example.com".to_owned()])];
    let ids = smtp_store(&root, srv.port, &msgs);
    let disk = Arc::new(Mutex::new(Disk::default()));
    let mut sp = open_spooler(&root, &disk);
    while !sp.handoff_under_way() {
        assert!(matches!(sp.tick(), Tick::Ran(..)));
    }
    // The server takes it and answers; then the disk is full as the spooler collects that.
    wait_until("the message at the server", || {
        !srv.deliveries(from).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    disk.lock().unwrap().full = true;
    let seen = until_paused(&mut sp);
    assert!(
        seen.iter().any(|e| e.contains("No space left on device")),
        "{seen:?}"
    );
    assert!(sp.holds_unrecorded(), "the answer is kept");
    // Resumed while the disk is still full: the kept answer is tried, nothing is sent again.
    for _ in 0..3 {
        sp.handle(Command::Resume);
        until_paused(&mut sp);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(srv.deliveries(from).len(), 1, "sent again while unrecorded");
    // Space again: the answer is recorded, the message finishes, the server has it once.
    disk.lock().unwrap().full = false;
    let left = run_to_idle(&mut sp);
    assert!(left.is_empty(), "{left:?}");
    assert!(!sp.holds_unrecorded());
    let m = sp.store_mut().load(ids[0]).unwrap();
    assert_eq!(m.recipients[0].outcome, RecipientState::Delivered);
    assert!(
        m.trace
            .iter()
            .any(|c| c.result.contains("not offered again")),
        "the trace says the kept answer was recorded"
    );
    drop(sp);
    delivered_once(&srv, from, &msgs);
    check_store(&root, true);
}

// ---------------------------------------------------------------------------------------------
// Item 8: the window's worker

#[test]
fn shutting_the_windows_worker_down_mid_send_records_the_hand_off_and_leaves_nothing_locked() {
    let srv = SmtpServer::start();
    let from = srv.lines();
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let msgs = messages(4);
    smtp_store(&root, srv.port, &msgs);
    let (store, report) = Store::open(&root).unwrap();
    let sp = Spooler::new(store, Clock::system());
    let handle = spoolbox::spooler::worker::spawn(sp, &report, Arc::new(|| {})).unwrap();
    // One message at the server: the second is being handed off as the window closes.
    wait_until("a message at the server", || {
        srv.deliveries(from).len() >= 2
    });
    handle.shutdown();
    check_store(&root, false);
    let (store, _) = Store::open(&root).unwrap();
    let mut sp = Spooler::new(store, Clock::system());
    let left = run_to_idle(&mut sp);
    assert!(left.is_empty(), "{left:?}");
    drop(sp);
    delivered_once(&srv, from, &msgs);
    check_store(&root, true);
}
