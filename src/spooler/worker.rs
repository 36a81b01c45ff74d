//! The spooler's worker thread: it owns the store, takes [`Command`]s from a bounded channel,
//! runs the pipeline one step at a time, and sends [`Event`]s back, waking the UI with a
//! repaint request. Nothing polls: between steps it waits on commands and the next timer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::{Command, Event, Spooler, Tick};
use crate::store::OpenReport;

/// Called after events were sent (the app passes `ctx.request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The UI's end of the worker.
#[derive(Debug)]
pub struct WorkerHandle {
    /// Commands to the spooler.
    pub commands: Sender<Command>,
    /// Events from the spooler.
    pub events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Sends a command; a full or closed channel is reported as an error.
    ///
    /// # Errors
    /// When the worker is gone or its queue is full.
    pub fn send(&self, cmd: Command) -> Result<(), super::SpoolerError> {
        self.commands.try_send(cmd).map_err(|e| match e {
            TrySendError::Full(_) => super::SpoolerError::Busy,
            TrySendError::Disconnected(_) => super::SpoolerError::WorkerStopped,
        })
    }

    /// Stops the worker and waits for it: the hand-off under way is finished and recorded (or
    /// withdrawn before its final dot), every lock released, the store closed cleanly.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the worker thread `spoolbox-spooler` for `spooler`.
///
/// # Errors
/// When the OS refuses a thread.
pub fn spawn(
    mut spooler: Spooler,
    report: &OpenReport,
    waker: Waker,
) -> std::io::Result<WorkerHandle> {
    let (cmd_tx, cmd_rx) = bounded::<Command>(1024);
    let (evt_tx, evt_rx) = bounded::<Event>(65_536);
    let notes = open_notes(report);
    let thread = std::thread::Builder::new()
        .name("spoolbox-spooler".into())
        .spawn(move || serve(&mut spooler, notes, &cmd_rx, &evt_tx, &waker))?;
    Ok(WorkerHandle {
        commands: cmd_tx,
        events: evt_rx,
        thread: Some(thread),
    })
}

/// The worker thread's body: wire the event sink, announce the store, then run.
fn serve(
    spooler: &mut Spooler,
    notes: Vec<String>,
    cmds: &Receiver<Command>,
    evt_tx: &Sender<Event>,
    waker: &Waker,
) {
    let overflowed = Arc::new(AtomicBool::new(false));
    let sink_tx = evt_tx.clone();
    let sink_over = Arc::clone(&overflowed);
    let sink_waker = Arc::clone(waker);
    spooler.set_sink(Box::new(move |batch| {
        for e in batch {
            send(&sink_tx, &sink_over, e);
        }
        sink_waker();
    }));
    let opened = Event::Opened {
        root: spooler.store().root().to_path_buf(),
        folders: spooler.store().folders().to_vec(),
        profile: Box::new(spooler.store().profile().clone()),
        notes,
    };
    send(evt_tx, &overflowed, opened);
    send(evt_tx, &overflowed, Event::Snapshot(spooler.snapshot()));
    send(evt_tx, &overflowed, Event::Status(spooler.status_table()));
    send(evt_tx, &overflowed, Event::Debug(spooler.debug_state()));
    waker();
    run(spooler, cmds, evt_tx, &overflowed, waker);
    // Shut down (the window closing, another store opened): the hand-off under way is
    // answered and recorded or withdrawn before its final dot, and no lock is left behind.
    spooler.stop(super::STOP_WAIT);
    spooler.flush_events();
    waker();
}

/// The window never starts with faults armed: a fault is a debugging session's, and the
/// profile keeps what was set, not what is left (a "fail next 1" that has run out would come
/// back as 1). Clears every transport's faults in the profile, before the spooler builds its
/// transports from it, and says which were cleared; nothing when none was set. (The
/// headless commands run with the profile as it is: faults set by hand in its JSON stay.)
pub fn clear_faults(store: &mut crate::store::Store) -> Option<String> {
    let mut profile = store.profile().clone();
    let armed: Vec<String> = profile
        .transports
        .iter_mut()
        .filter(|t| !t.faults.is_off())
        .map(|t| {
            t.faults = crate::profile::FaultConfig::default();
            t.name.clone()
        })
        .collect();
    if armed.is_empty() {
        return None;
    }
    Some(match store.set_profile(profile) {
        Ok(()) => format!(
            "faults from the last session were cleared on start ({}); set them again in Faults…",
            armed.join(", ")
        ),
        Err(e) => format!(
            "faults from the last session were cleared for now ({}), but the profile could not be saved: {e}",
            armed.join(", ")
        ),
    })
}

fn open_notes(r: &OpenReport) -> Vec<String> {
    let mut notes = Vec::new();
    for q in &r.quarantined {
        notes.push(format!(
            "{} was unreadable and moved to {}: {}",
            q.original.display(),
            q.moved_to.display(),
            q.reason
        ));
    }
    for u in &r.unreadable {
        notes.push(format!(
            "message {} ({}) {}; it stays out of the queue until it can be read",
            u.eid,
            u.path.display(),
            u.reason
        ));
    }
    for j in &r.junk {
        notes.push(format!(
            "{}; Doctor (spoolbox doctor) moves them to quarantine/",
            j.describe()
        ));
    }
    if let Some(d) = &r.journal_damage {
        notes.push(format!(
            "journal: {d}; the good records before it were replayed"
        ));
    }
    if r.journal_replayed > 0 {
        notes.push(format!(
            "recovered {} unsaved step(s) from the journal",
            r.journal_replayed
        ));
    }
    if r.duplicates_resolved > 0 {
        notes.push(format!(
            "completed {} message(s) left half-way through FinishedMsg",
            r.duplicates_resolved
        ));
    }
    notes
}

fn send(tx: &Sender<Event>, overflowed: &AtomicBool, e: Event) {
    // Never block the spooler on a slow UI: drop fine-grained events and resync later.
    if tx.try_send(e).is_err() {
        overflowed.store(true, Ordering::Relaxed);
    }
}

fn run(
    spooler: &mut Spooler,
    cmds: &Receiver<Command>,
    tx: &Sender<Event>,
    overflowed: &AtomicBool,
    waker: &Waker,
) {
    let mut last_idle = None;
    loop {
        while let Ok(cmd) = cmds.try_recv() {
            if matches!(cmd, Command::Shutdown) {
                return;
            }
            dispatch(spooler, cmd, tx, waker);
        }
        if overflowed.swap(false, Ordering::Relaxed) {
            spooler.handle(Command::Resync);
            spooler.flush_events();
        }
        let tick = spooler.tick();
        spooler.flush_events();
        let wait = match tick {
            Tick::Ran(..) => {
                last_idle = None;
                continue;
            }
            Tick::Paused => Duration::from_millis(500),
            Tick::Idle(wake) => {
                if last_idle != Some(wake) && !spooler.handoff_under_way() {
                    last_idle = Some(wake);
                    send(tx, overflowed, Event::Idle(wake));
                    waker();
                }
                let now = spooler.now();
                wake.map_or(Duration::from_millis(500), |w| {
                    Duration::try_from(w.duration_since(now))
                        .unwrap_or_default()
                        .min(Duration::from_millis(500))
                })
            }
        };
        // Sleep until a command arrives, a timer (retry, deferred send, transport call-back) is
        // due, or a transport's hand-off under way finishes.
        if let Some(done) = spooler.handoff_completions() {
            crossbeam_channel::select! {
                recv(cmds) -> cmd => match cmd {
                    Ok(Command::Shutdown) | Err(_) => return,
                    Ok(cmd) => dispatch(spooler, cmd, tx, waker),
                },
                recv(done) -> _ => {}
                default(wait) => {}
            }
            continue;
        }
        match cmds.recv_timeout(wait) {
            Ok(Command::Shutdown) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                return;
            }
            Ok(cmd) => dispatch(spooler, cmd, tx, waker),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Hands a command to the spooler, or, for one answered off its loop (a connection test, the
/// keyring), to a short-lived thread that sends the answer itself: a slow server or keyring
/// never holds the pipeline.
fn dispatch(spooler: &mut Spooler, cmd: Command, tx: &Sender<Event>, waker: &Waker) {
    if cmd.runs_aside() {
        let answer_tx = tx.clone();
        let answer_waker = Arc::clone(waker);
        let spawned = std::thread::Builder::new()
            .name("spoolbox-aside".into())
            .spawn(move || {
                for e in super::aside::run(cmd) {
                    // Its own thread: it may wait for room (the answers are few and small).
                    let _ = answer_tx.send(e);
                }
                answer_waker();
            });
        if let Err(e) = spawned {
            let _ = tx.try_send(Event::Error(format!("could not start a thread: {e}")));
            waker();
        }
        return;
    }
    spooler.handle(cmd);
    spooler.flush_events();
}

/// Opens the store at `dir` on the worker thread itself (so the UI never touches the disk)
/// and runs the spooler there. A store that cannot be opened (in use by another process,
/// unreadable) is reported as an [`Event::Error`] and the worker ends.
///
/// # Errors
/// When the OS refuses a thread.
pub fn spawn_store(
    dir: std::path::PathBuf,
    demo: bool,
    waker: Waker,
) -> std::io::Result<WorkerHandle> {
    let (cmd_tx, cmd_rx) = bounded::<Command>(1024);
    let (evt_tx, evt_rx) = bounded::<Event>(65_536);
    let thread = std::thread::Builder::new()
        .name("spoolbox-spooler".into())
        .spawn(move || {
            let opened = if demo {
                crate::spooler::demo::open(&dir)
            } else {
                crate::store::Store::open(&dir)
            };
            let (store, report) = match opened {
                Ok(x) => x,
                Err(e) => {
                    let _ = evt_tx.try_send(Event::Error(e.to_string()));
                    waker();
                    return;
                }
            };
            let mut store = store;
            if let Some(n) = clear_faults(&mut store) {
                let _ = evt_tx.try_send(Event::Notice(n));
            }
            let mut spooler = Spooler::new(store, super::Clock::system());
            serve(&mut spooler, open_notes(&report), &cmd_rx, &evt_tx, &waker);
        })?;
    Ok(WorkerHandle {
        commands: cmd_tx,
        events: evt_rx,
        thread: Some(thread),
    })
}
