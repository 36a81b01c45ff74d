//! Stopping without sending anything twice (issue 16, items 7 and 8).
//!
//! - A store error (a full disk: the journal refuses appends with `ENOSPC` through an
//!   `FsLayer` hook) while an SMTP hand-off is under way: its answer is recorded before the
//!   spooler stops, or kept and recorded once the store takes writes again, never handed off a
//!   second time.
//! - SIGTERM and SIGINT during the real `spoolbox send --all`: the documented exit status
//!   (143, 130) after a clean stop, nothing left locked, and after a rerun every recipient
//!   delivered exactly once (SMTP, counted at the server; the pickup folder, one `.eml` each).
//! - Standard output closed under `send --all` and `list`: no panic, exit 141, nothing locked.
//! - The window's worker shut down mid-send (what closing the window does): the same.
//!
//! The SMTP messages go to a recipient the test server answers after half a second
//! (`slow…@`), so that a hand-off is surely under way when the trouble comes.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use spoolbox::durable::fs::{AppendFile, FsLayer as _, RealFs};
use spoolbox::mapi::tags::PR_SENTMAIL_ENTRYID;
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, RecipientState};
use spoolbox::profile::{Profile, SmtpSettings, TlsMode, TransportConfig, TransportKind};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick, submit};
use spoolbox::store::{FolderKind, Store};

use super::process::{Setup, SmtpServer, Template, command, text};
use super::{Rng, seed};
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
    fn background_sync(&self) -> Option<spoolbox::durable::fs::BackgroundSync> {
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
        sent_copies_mib: spoolbox::profile::SENT_COPIES_MIB,
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
// Item 8: signals, a closed standard output, the window's worker

/// Starts `spoolbox send --all` on `root` with standard output and error piped.
fn spawn_send(root: &Path) -> Child {
    command(root, None)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig}");
}

/// Reads the child's standard output on a thread (so it never blocks on a full pipe);
/// the lines arrive on the channel.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn finish_output(mut child: Child) -> (std::process::ExitStatus, String) {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap(), err)
}

/// A signal while the SMTP hand-offs go on; then a rerun finishes.
fn smtp_signal_mid_send(sig: &str, status: i32, name: &str) {
    let srv = SmtpServer::start();
    let from = srv.lines();
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let msgs = messages(6);
    smtp_store(&root, srv.port, &msgs);
    let mut child = spawn_send(&root);
    let out = lines_of(&mut child);
    // Two messages at the server: the third is being handed off.
    wait_until("two messages at the server", || {
        srv.deliveries(from).len() >= 4
    });
    kill(&child, sig);
    let (st, err) = finish_output(child);
    let printed: Vec<String> = out.try_iter().collect();
    let label = format!(
        "{sig}: exit {st:?}\nstderr:\n{err}\nstdout:\n{}",
        printed.join("\n")
    );
    assert_eq!(st.code(), Some(status), "{label}");
    assert!(err.contains(&format!("stopped by {name}")), "{label}");
    assert!(!err.contains("panicked"), "{label}");
    check_store(&root, false);
    let got = srv.deliveries(from).len();
    assert!(
        got < 12,
        "the signal came too late to test anything: {label}"
    );
    // The rest goes with the next run, and nothing goes twice.
    let o = command(&root, None).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    delivered_once(&srv, from, &msgs);
    check_store(&root, true);
}

#[test]
fn sigterm_mid_send_stops_cleanly_with_143_and_a_rerun_sends_each_recipient_once() {
    smtp_signal_mid_send("TERM", 143, "SIGTERM");
}

#[test]
fn sigint_mid_send_stops_cleanly_with_130_and_a_rerun_sends_each_recipient_once() {
    smtp_signal_mid_send("INT", 130, "SIGINT");
}

#[test]
fn sigint_and_sigterm_during_a_pickup_flush_leave_one_eml_per_message_after_a_rerun() {
    let mut rng = Rng::new(seed("signals_pickup"));
    let t = Template::new(Setup::Pickup, 150, &mut rng);
    let mut landed = 0;
    for (i, (sig, status)) in [("INT", 130), ("TERM", 143), ("INT", 130), ("TERM", 143)]
        .into_iter()
        .enumerate()
    {
        let dir = t.copy();
        let root = dir.path().join("store");
        let mut child = spawn_send(&root);
        let out = lines_of(&mut child);
        // Somewhere in the middle of the run: after 100 to 400 lines of steps.
        let after = 100 + 100 * i;
        let mut n = 0;
        while n < after && out.recv_timeout(Duration::from_secs(20)).is_ok() {
            n += 1;
        }
        kill(&child, sig);
        let (st, err) = finish_output(child);
        let label = format!("SIG{sig} after {n} lines: exit {st:?}\nstderr:\n{err}");
        assert!(!err.contains("panicked"), "{label}");
        match st.code() {
            Some(c) if c == status => {
                landed += 1;
                assert!(err.contains(&format!("stopped by SIG{sig}")), "{label}");
            }
            Some(0) => {} // finished before the signal came
            _ => panic!("{label}"),
        }
        check_store(&root, false);
        let o = command(&root, None).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        t.check(&root, &label);
    }
    assert!(landed >= 2, "the signals kept missing the runs");
}

#[test]
fn a_closed_stdout_ends_send_and_list_without_a_panic_with_141_and_nothing_locked() {
    let srv = SmtpServer::start();
    let from = srv.lines();
    let dir = fast_tempdir();
    let root = dir.path().join("store");
    let msgs = messages(4);
    smtp_store(&root, srv.port, &msgs);
    // `spoolbox send --all | head -1`: the reader goes away after the first line.
    let mut child = spawn_send(&root);
    {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(!first.is_empty());
    }
    let (st, err) = finish_output(child);
    let label = format!("send: exit {st:?}\nstderr:\n{err}");
    assert!(!err.contains("panicked"), "{label}");
    assert_eq!(st.code(), Some(141), "{label}");
    check_store(&root, false);
    assert!(srv.deliveries(from).len() < 8, "{label}");
    let o = command(&root, None).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    delivered_once(&srv, from, &msgs);
    check_store(&root, true);
    // `spoolbox list | head -0`: the reading end is closed before `list` starts (closed after
    // the spawn, a fast `list` could write everything into the pipe's buffer first and exit 0).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .arg("--store")
        .arg(&root)
        .arg("list")
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (st, err) = finish_output(child);
    assert!(!err.contains("panicked"), "list: {err}");
    assert_eq!(st.code(), Some(141), "list: {err}");
}

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
