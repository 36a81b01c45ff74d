//! The write-ahead gate: a background hand-off's final dot waits for the previous marks' fsync.

use super::*;

/// What [`WatchedFs`] does at a journal fsync.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// The server's log, to count what it accepted.
    server_log: PathBuf,
    /// How long each journal fsync takes (60 ms when zero).
    sync_ms: u64,
    /// A marks record (recipient rows) was appended since the last fsync.
    marks_written: bool,
    /// Messages with a marks record appended since the last fsync began, and those whose
    /// marks a finished fsync made durable.
    marked: BTreeSet<String>,
    durable: BTreeSet<String>,
    /// Fail the first fsync after a marks record once the server has a message.
    fail_once: bool,
    failed: bool,
    /// What each fsync of marks records saw.
    seen: Vec<SyncSeen>,
}

/// One fsync of marks records, as [`WatchedFs`] saw it.
#[derive(Debug)]
pub(crate) struct SyncSeen {
    /// Messages the server had accepted when it began ...
    at_start: usize,
    /// ... and 60 ms later, as it ended.
    at_end: usize,
    /// Messages whose marks were durable throughout (not those it was syncing).
    durable: usize,
}

impl Watch {
    /// (messages accepted, recipients accepted) at the server so far.
    fn at_server(&self) -> (usize, usize) {
        let log = std::fs::read_to_string(&self.server_log).unwrap_or_default();
        let count = |ev: &str| {
            log.lines()
                .filter(|l| l.contains(&format!(r#""event": "{ev}""#)))
                .count()
        };
        (count("message"), count("rcpt"))
    }
}

/// The real file system, with a slow journal fsync (60 ms, during which a hand-off that did
/// not wait for it would reach the server) that can be made to fail once.
#[derive(Debug)]
pub(crate) struct WatchedFs(Arc<Mutex<Watch>>);

#[derive(Debug)]
pub(crate) struct WatchedJournal {
    inner: Box<dyn AppendFile>,
    watch: Arc<Mutex<Watch>>,
}

impl AppendFile for WatchedJournal {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        if text.contains(r#""recipients":["#) {
            let mut w = self.watch.lock().unwrap();
            w.marks_written = true;
            // A record is "crc32 json\n": the message it is about.
            for line in text.lines() {
                if let Some((_, json)) = line.split_once(' ')
                    && let Ok(v) = serde_json::from_str::<Value>(json)
                    && v["patch"]["recipients"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
                {
                    w.marked.insert(v["eid"].to_string());
                }
            }
        }
        self.inner.write_at(offset, bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        let inner = &mut self.inner;
        watched_sync(&self.watch, &mut || inner.sync())
    }
    fn background_sync(&self) -> Option<spoolbox::durable::fs::BackgroundSync> {
        // The spooler's real path: the journal synced on its own thread.
        let mut inner = self.inner.background_sync()?;
        let watch = Arc::clone(&self.watch);
        Some(Box::new(move || watched_sync(&watch, &mut inner)))
    }
}

pub(crate) fn watched_sync(
    watch: &Mutex<Watch>,
    inner: &mut dyn FnMut() -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (before, syncing) = {
        let mut w = watch.lock().unwrap();
        (w.at_server().0, std::mem::take(&mut w.marked))
    };
    let ms = watch.lock().unwrap().sync_ms;
    std::thread::sleep(Duration::from_millis(if ms == 0 { 60 } else { ms }));
    let mut w = watch.lock().unwrap();
    let after = w.at_server();
    let marks = std::mem::take(&mut w.marks_written);
    if !syncing.is_empty() {
        let durable = w.durable.len();
        w.seen.push(SyncSeen {
            at_start: before,
            at_end: after.0,
            durable,
        });
    }
    if w.fail_once && !w.failed && marks && after.0 > 0 {
        w.failed = true;
        w.marked.extend(syncing);
        return Err(std::io::Error::other(
            "injected: the disk failed the journal fsync",
        ));
    }
    drop(w);
    let r = inner();
    let mut w = watch.lock().unwrap();
    if r.is_ok() {
        w.durable.extend(syncing);
    } else {
        w.marked.extend(syncing);
    }
    r
}

impl Hooks for WatchedFs {
    fn open_append(&self, path: &Path) -> std::io::Result<(Box<dyn AppendFile>, bool)> {
        let (inner, created) = RealFs.open_append(path)?;
        let watch = Arc::clone(&self.0);
        Ok((Box::new(WatchedJournal { inner, watch }), created))
    }
}

#[test]
fn a_final_dot_overlaps_the_fsync_of_the_marks_before_it_but_never_the_one_before_that() {
    let srv = Server::start(&[]);
    let watch = Arc::new(Mutex::new(Watch {
        server_log: srv.log.clone(),
        // Long enough that the server (which fsyncs its log) answers within it on a busy
        // machine (250 ms was not: 4 runs in 20 saw fewer overlaps under load).
        sync_ms: 600,
        ..Watch::default()
    }));
    let mut r = Rig::with_fs(
        smtp_profile("127.0.0.1", srv.port),
        Arc::new(Hooked(WatchedFs(Arc::clone(&watch)))),
    );
    let ids: Vec<EntryId> = (0..5)
        .map(|i| {
            r.submit(
                &format!("Gated {i}"),
                &["ann@example.com", "bob@example.com"],
            )
        })
        .collect();
    r.run();
    assert_eq!(srv.messages().len(), 5, "each message once");
    for eid in ids {
        assert_eq!(r.folder_name(eid), "Sent Items");
        assert_eq!(r.load(eid).spool.attempts, 0);
    }
    // Closing the store lets the last syncs finish.
    drop(r);
    let w = watch.lock().unwrap();
    assert!(w.seen.len() >= 4, "{:#?}", w.seen);
    // Two deep: while the marks of one message were being synced (250 ms here), the next one
    // could reach the server, but no further one: at no time did the server have more than
    // two messages whose marks were not durable (one answered, one in flight) ...
    for s in &w.seen {
        assert!(s.at_end <= s.at_start + 1, "{:#?}", w.seen);
        assert!(s.at_end <= s.durable + 2, "{:#?}", w.seen);
    }
    // ... and it did overlap: a message after the second is accepted during the fsync of the
    // marks of the one before it, instead of waiting for them. (The second waits for the
    // first's: there is no hand-off before the first to stand in.) Three could; at least one
    // must, however busy the machine (the bounds above are the promise, this is the speed).
    let overlapped = w.seen.iter().filter(|s| s.at_end > s.at_start).count();
    assert!(overlapped >= 1, "{:#?}", w.seen);
}

#[test]
fn the_next_message_goes_on_the_line_before_the_last_is_recorded_but_its_dot_waits_for_that() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    // The server takes half a second over the first message's RCPT: the spooler has queued
    // the second behind it by then.
    let first = r.submit("First", &["slow@example.com"]);
    let second = r.submit("Second", &["bob@example.com", "cyd@example.com"]);
    while let Tick::Ran(..) = r.sp().tick() {}
    assert!(r.sp().handoff_under_way());
    assert_eq!(srv.messages().len(), 0, "the first is still at its RCPT");
    // No more ticks: the spooler does not look at the first hand-off's answer. The transport
    // goes on with the second by itself, as far as its final dot ...
    srv.wait_for_rcpts(3);
    let rcpts: Vec<String> = srv
        .records("rcpt")
        .iter()
        .map(|v| v["address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        rcpts,
        ["slow@example.com", "bob@example.com", "cyd@example.com"],
        "the second message's dialogue started while the first was not yet recorded"
    );
    // ... and no further: its dot waits until the first one's marks are journaled and synced,
    // which only the spooler can do. At most one message is ever at the server unrecorded.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(srv.subjects(), ["First"]);
    assert_eq!(r.outcomes(first), [RecipientState::Pending]);
    // The spooler goes on: the first is recorded, the second's gate opens, both are filed.
    r.run();
    assert_eq!(srv.subjects(), ["First", "Second"], "each once, in order");
    for eid in [first, second] {
        assert_eq!(r.folder_name(eid), "Sent Items");
        assert_eq!(r.load(eid).spool.attempts, 0);
        assert!(
            r.outcomes(eid)
                .iter()
                .all(|o| *o == RecipientState::Delivered)
        );
    }
    assert_eq!(srv.connections(), 1, "one connection carried both");
}

#[test]
fn pausing_with_a_hand_off_queued_holds_it_before_its_dot_and_resume_sends_both_once() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let first = r.submit("First", &["slow@example.com"]);
    let second = r.submit("Second", &["bob@example.com"]);
    while let Tick::Ran(..) = r.sp().tick() {}
    // Paused while the first is at the server and the second queued behind it.
    r.sp().handle(Command::Pause);
    assert!(matches!(r.sp().tick(), Tick::Paused));
    srv.wait_for_rcpts(2);
    std::thread::sleep(Duration::from_millis(300));
    // The paused spooler records nothing, so the second stays before its dot.
    assert_eq!(srv.messages().len(), 1);
    assert_eq!(r.outcomes(first), [RecipientState::Pending]);
    r.sp().handle(Command::Resume);
    r.run();
    assert_eq!(srv.subjects(), ["First", "Second"]);
    for eid in [first, second] {
        assert_eq!(r.folder_name(eid), "Sent Items");
        assert_eq!(r.load(eid).spool.attempts, 0, "no retry for {eid}");
        assert_eq!(r.outcomes(eid), [RecipientState::Delivered]);
    }
}

#[test]
fn a_failed_journal_fsync_withdraws_the_next_hand_off_before_its_dot_and_it_is_sent_later() {
    let srv = Server::start(&[]);
    let watch = Arc::new(Mutex::new(Watch {
        server_log: srv.log.clone(),
        fail_once: true,
        ..Watch::default()
    }));
    let mut r = Rig::with_fs(
        smtp_profile("127.0.0.1", srv.port),
        Arc::new(Hooked(WatchedFs(Arc::clone(&watch)))),
    );
    let first = r.submit("First", &["ann@example.com"]);
    let second = r.submit("Second", &["bob@example.com"]);
    r.sp().run_until_idle();
    let events = r.sp().drain_events();
    assert!(
        watch.lock().unwrap().failed,
        "the fsync after the first marks failed"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Error(m) if m.contains("journal could not be synced"))),
        "the failure is reported: {events:?}"
    );
    // The first message's marks could not be made durable in time, so the second hand-off
    // (already in DATA) was withdrawn: the server has only the first.
    assert_eq!(srv.messages().len(), 1);
    assert_eq!(srv.messages()[0]["subject"], "First");
    assert_eq!(r.folder_name(first), "Sent Items");
    assert_eq!(r.state(second), MessageState::WaitingRetry);
    let why = r.load(second).spool.last_error.unwrap_or_default();
    assert!(why.contains("withdrawn before the final DATA dot"), "{why}");
    // After the backoff it goes, once.
    r.advance(3600);
    r.run();
    assert_eq!(r.folder_name(second), "Sent Items");
    assert_eq!(srv.subjects(), ["First", "Second"]);
}

/// A journal whose fsync fails once as Linux fails it ("fsyncgate"): what was written since the
/// last good sync never reaches the disk (here it is overwritten with zeros, durably), yet the
/// pages count as clean, so a plain second fsync succeeds without them.
#[derive(Debug)]
pub(crate) struct LosingJournal {
    inner: Box<dyn AppendFile>,
    path: PathBuf,
    state: Arc<Mutex<Losing>>,
}

#[derive(Debug, Default)]
pub(crate) struct Losing {
    /// The end of the records covered by the last good sync, and of those written.
    synced: u64,
    end: u64,
    /// The failure happened, and what it lost (bytes).
    lost: u64,
}

/// One sync of a [`LosingJournal`]: the first one that covers recipient marks loses them.
pub(crate) fn losing_sync(
    path: &Path,
    state: &Mutex<Losing>,
    sync: &mut dyn FnMut() -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (from, end, fail) = {
        let s = state.lock().unwrap();
        let bytes = std::fs::read(path).unwrap_or_default();
        let range = bytes
            .get(usize::try_from(s.synced).unwrap()..usize::try_from(s.end).unwrap())
            .unwrap_or_default();
        let marks = String::from_utf8_lossy(range).contains(r#""recipients":["#);
        (s.synced, s.end, s.lost == 0 && marks)
    };
    if fail {
        let zeros = vec![0u8; usize::try_from(end - from).unwrap()];
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(from))?;
        std::io::Write::write_all(&mut f, &zeros)?;
        f.sync_data()?;
        state.lock().unwrap().lost = end - from;
        return Err(std::io::Error::other(
            "injected: EIO on write-back (pages lost)",
        ));
    }
    sync()?;
    let mut s = state.lock().unwrap();
    s.synced = s.synced.max(end);
    Ok(())
}

impl AppendFile for LosingJournal {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_at(offset, bytes)?;
        // Records, not the zeros written ahead of them.
        if bytes.iter().any(|b| *b != 0) {
            let mut s = self.state.lock().unwrap();
            s.end = s.end.max(offset + bytes.len() as u64);
        }
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        let inner = &mut self.inner;
        losing_sync(&self.path, &self.state, &mut || inner.sync())
    }
    fn background_sync(&self) -> Option<spoolbox::durable::fs::BackgroundSync> {
        let mut inner = self.inner.background_sync()?;
        let (path, state) = (self.path.clone(), Arc::clone(&self.state));
        Some(Box::new(move || losing_sync(&path, &state, &mut inner)))
    }
}

#[derive(Debug)]
pub(crate) struct LosingFs(Arc<Mutex<Losing>>);

impl Hooks for LosingFs {
    fn open_append(&self, path: &Path) -> std::io::Result<(Box<dyn AppendFile>, bool)> {
        let (inner, created) = RealFs.open_append(path)?;
        let state = Arc::clone(&self.0);
        Ok((
            Box::new(LosingJournal {
                inner,
                path: path.to_path_buf(),
                state,
            }),
            created,
        ))
    }
}

#[test]
fn after_a_journal_fsync_that_lost_its_pages_the_records_are_written_again_before_any_sync_counts()
{
    let srv = Server::start(&[]);
    let state = Arc::new(Mutex::new(Losing::default()));
    let mut r = Rig::with_fs(
        smtp_profile("127.0.0.1", srv.port),
        Arc::new(Hooked(LosingFs(Arc::clone(&state)))),
    );
    let ids: Vec<EntryId> = (0..3)
        .map(|i| r.submit(&format!("Message {i}"), &["ann@example.com"]))
        .collect();
    r.sp().run_until_idle();
    let events = r.sp().drain_events();
    assert!(state.lock().unwrap().lost > 0, "the failure happened");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Error(m) if m.contains("journal could not be synced"))),
        "the failure is reported: {events:?}"
    );
    r.advance(3600);
    r.run();
    // Every record the spooler journaled is on the disk, the lost ones written again: a crash
    // now would replay every mark (a plain second fsync would have left zeros where the lost
    // records were, and replay stops at the first zero, losing every record after them too).
    let bytes = std::fs::read(r.root().join("journal").join("journal.log")).unwrap();
    let replay = spoolbox::store::journal::parse(&bytes);
    assert!(replay.damage.is_none(), "{:?}", replay.damage);
    let marked: BTreeSet<EntryId> = replay
        .records
        .iter()
        .filter(|rec| !rec.patch.recipients.is_empty())
        .map(|rec| rec.eid)
        .collect();
    for eid in &ids {
        assert!(
            marked.contains(eid),
            "the marks of {eid} are in the journal"
        );
        assert_eq!(r.folder_name(*eid), "Sent Items");
    }
    let mut subjects = srv.subjects();
    subjects.sort();
    assert_eq!(
        subjects,
        ["Message 0", "Message 1", "Message 2"],
        "each once"
    );
}
