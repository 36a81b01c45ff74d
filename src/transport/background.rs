//! A transport's hand-offs on a thread of its own (issue 16, item 5): rendering a message and
//! writing it out (the pickup folder: a 50 MB body, 40,000 recipients) never holds the
//! spooler, which goes on with other messages and comes back for the answer, as it does for
//! SMTP. One hand-off at a time and no gate: what such a transport does is idempotent (the
//! pickup folder's file name is the message's and its rows', and a file already there is
//! never written again), so a hand-off repeated after a crash delivers nothing twice.
//!
//! Only a heavy message goes to the thread ([`is_heavy`]: thousands of recipients or
//! megabytes of content, where rendering and writing take long enough to matter); an ordinary
//! one is handed off at once, on the caller's thread, as before, so stepping through the
//! pipeline in the window still finishes one message's Transmit before the next message's
//! steps (a background hand-off lets the spooler go on with other messages meanwhile, and a
//! breakpoint on one of those would hold the first message's answer until Continue).
//!
//! With fail points armed (the crash suites) every hand-off runs on the caller's thread, so a
//! fail point stops the process at the same place in every run.

/// More recipients than this make a message heavy.
pub const HEAVY_RECIPIENTS: usize = 1000;

/// More bytes of body and attachments than this make a message heavy.
pub const HEAVY_BYTES: usize = 4 << 20;

/// True for a message whose rendering and writing out is worth a thread of its own.
pub fn is_heavy(msg: &Message) -> bool {
    let bytes = msg.body.len() + msg.attachments.iter().map(|a| a.data.len()).sum::<usize>();
    msg.recipients.len() > HEAVY_RECIPIENTS || bytes > HEAVY_BYTES
}

use std::sync::Arc;
use std::sync::Mutex;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use super::{Handoff, Preprocessed, SubmitResult, SubmitView, Transport};
use crate::mapi::{EntryId, Message};

/// One job: a background hand-off (`reply` None) or one the caller waits for.
struct Job {
    view: super::OwnedView,
    reply: Option<Sender<Handoff>>,
}

/// A finished background hand-off: (message, rows offered, result).
type Finished = (EntryId, Vec<u32>, Handoff);

/// The thread, as the spooler side sees it.
struct Worker {
    jobs: Sender<Job>,
    results: Receiver<Finished>,
    wake: Receiver<()>,
}

/// Runs `inner`'s hand-offs on a thread of its own. Everything else (name, address types,
/// status, preprocessing) is answered from what `inner` said when it was wrapped: a transport
/// wrapped here has no status that changes and no preprocessor.
pub struct Background {
    name: String,
    types: Vec<String>,
    status_code: u32,
    status_text: String,
    /// The transport, until the thread takes it (and again after the thread stopped).
    inner: Arc<Mutex<Box<dyn Transport>>>,
    worker: Option<Worker>,
    in_flight: Option<(EntryId, Vec<u32>)>,
    done: Option<Finished>,
    /// How many times the thread stopped and was started again.
    restarts: u32,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("name", &self.name)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Background {
    /// Wraps `inner` (a transport with no preprocessor and a fixed status).
    pub fn new(inner: Box<dyn Transport>) -> Self {
        Self {
            name: inner.name().to_owned(),
            types: inner.address_types().to_vec(),
            status_code: inner.status_code(),
            status_text: inner.status_text(),
            inner: Arc::new(Mutex::new(inner)),
            worker: None,
            in_flight: None,
            done: None,
            restarts: 0,
        }
    }

    fn worker(&mut self) -> Option<&Worker> {
        if self.worker.is_none() {
            let (jobs, job_rx) = unbounded::<Job>();
            let (res_tx, results) = unbounded::<Finished>();
            let (wake_tx, wake) = bounded::<()>(1);
            let inner = Arc::clone(&self.inner);
            let name = self.name.clone();
            std::thread::Builder::new()
                .name(format!("spoolbox-{}", self.name.to_lowercase().replace(' ', "-")))
                .spawn(move || {
                    for job in job_rx {
                        let view = job.view.view();
                        let rows = view.rows.clone();
                        let h = super::guarded(|| {
                            inner
                                .lock()
                                .map_or_else(
                                    |_| Handoff::refused(SubmitResult::NetworkError(
                                        0,
                                        format!("{name}: the transport was left broken by an earlier panic"),
                                    )),
                                    |mut t| t.submit_message(&view),
                                )
                        })
                        .unwrap_or_else(|why| super::panicked(&name, &rows, &why));
                        let mut h = h;
                        h.answered = Some(std::time::Instant::now());
                        if let Some(r) = job.reply {
                            let _ = r.send(h);
                        } else {
                            if res_tx.send((job.view.msg.entry_id, rows, h)).is_err() {
                                return;
                            }
                            let _ = wake_tx.try_send(());
                        }
                    }
                })
                .ok()?;
            self.worker = Some(Worker {
                jobs,
                results,
                wake,
            });
        }
        self.worker.as_ref()
    }

    fn collect(&mut self) {
        let Some(w) = &self.worker else {
            return;
        };
        match w.results.try_recv() {
            Ok(f) => {
                self.in_flight = None;
                self.done = Some(f);
            }
            Err(crossbeam_channel::TryRecvError::Empty) => {}
            Err(crossbeam_channel::TryRecvError::Disconnected) => {
                // The thread died (only a simulated crash gets past `guarded`): the hand-off
                // under way is answered as a panic, parked with the reason, and a new thread
                // starts with the next one.
                self.worker = None;
                self.restarts += 1;
                if let Some((eid, rows)) = self.in_flight.take() {
                    let h = super::panicked(
                        &self.name,
                        &rows,
                        "the transport's thread stopped while handing it off",
                    );
                    self.done = Some((eid, rows, h));
                }
            }
        }
    }

    fn on_callers_thread(&self, view: &SubmitView<'_>) -> Handoff {
        match self.inner.lock() {
            Ok(mut t) => t.submit_message(view),
            Err(_) => Handoff::refused(SubmitResult::NetworkError(
                0,
                format!(
                    "{}: the transport was left broken by an earlier panic",
                    self.name
                ),
            )),
        }
    }
}

impl Transport for Background {
    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn status_code(&self) -> u32 {
        self.status_code
    }

    fn status_text(&self) -> String {
        let base = match self.restarts {
            0 => self.status_text.clone(),
            n => format!(
                "{} (its thread stopped and was started again {n} time(s))",
                self.status_text
            ),
        };
        match &self.in_flight {
            Some((eid, _)) => format!("{base}; handing off message {eid}"),
            None => base,
        }
    }

    fn has_preprocessor(&self) -> bool {
        false
    }

    fn preprocess(&mut self, _msg: &mut Message, _rows: &[u32]) -> Preprocessed {
        Preprocessed::default()
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        if self.worker.is_none() || crate::durable::fs::fail_points_armed() {
            return self.on_callers_thread(view);
        }
        let (tx, rx) = bounded(1);
        let sent = self.worker().is_some_and(|w| {
            w.jobs
                .send(Job {
                    view: super::OwnedView::of(view),
                    reply: Some(tx),
                })
                .is_ok()
        });
        match rx.recv() {
            Ok(h) if sent => h,
            _ => {
                self.collect();
                Handoff::refused(SubmitResult::NetworkError(
                    0,
                    format!("{}: its thread has stopped; it starts again", self.name),
                ))
            }
        }
    }

    fn start_submit(&mut self, view: &SubmitView<'_>) -> Option<Handoff> {
        self.collect();
        let eid = view.msg.entry_id;
        if self
            .done
            .as_ref()
            .is_some_and(|(e, rows, _)| *e == eid && *rows == view.rows)
        {
            return self.done.take().map(|(_, _, h)| h);
        }
        if self.in_flight.is_some() {
            return Some(Handoff::refused(SubmitResult::Busy));
        }
        // A result nobody came back for (the message moved on): dropped.
        self.done = None;
        if crate::durable::fs::fail_points_armed() || !is_heavy(view.msg) {
            return Some(self.on_callers_thread(view));
        }
        let job = Job {
            view: super::OwnedView::of(view),
            reply: None,
        };
        match self.worker() {
            Some(w) if w.jobs.send(job).is_ok() => {
                self.in_flight = Some((eid, view.rows.clone()));
                None
            }
            _ => Some(self.on_callers_thread(view)),
        }
    }

    fn poll_handoff(&mut self) -> bool {
        self.collect();
        self.done.is_some()
    }

    fn abandon_handoff(&mut self, eid: EntryId) {
        self.collect();
        if self.done.as_ref().is_some_and(|(e, _, _)| *e == eid) {
            self.done = None;
        }
    }

    fn completions(&self) -> Option<Receiver<()>> {
        self.worker.as_ref().map(|w| w.wake.clone())
    }
}
