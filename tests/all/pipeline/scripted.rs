//! The scripted, recording transports every pipeline test hands messages to.

use super::*;

/// What a scripted transport answers to one `IXPLogon::SubmitMessage`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reply {
    /// `S_OK`, every offered row delivered.
    Deliver,
    /// `S_OK`, every offered row failed for good with this report text.
    Fail(&'static str),
    /// `S_OK`, only rows with these addresses delivered; the rest left FALSE.
    DeliverOnly(Vec<&'static str>),
    /// `S_OK` without touching any row.
    LeaveFalse,
    /// `S_OK`, every offered row transient (an SMTP 4xx).
    Transient,
    /// `MAPI_E_NOT_ME`
    NotMe,
    /// `MAPI_E_BUSY`
    Busy,
    /// `MAPI_E_WAIT` with a retry delay in seconds.
    Wait(u64),
    /// `S_OK` + `END_RESEND_LATER`
    ResendLater,
    /// `S_OK` + `END_DONT_RESEND`; the transport calls back (`NOTIFY_SENTDEFERRED`) after
    /// this many seconds and delivers when re-offered with `BEGIN_DEFERRED`.
    Defer(u64),
    /// `MAPI_E_NETWORK_ERROR` with a retry delay in seconds.
    Net(u64),
    /// `S_OK` + `END_RESEND_NOW` without touching a row.
    ResendNow,
    /// The process dies in the middle of the hand-off.
    Crash,
    /// The transport panics on this message (a bug, a poison message): caught, the message
    /// is parked, the process lives on.
    Panic,
    /// Hand the call to the wrapped real transport (the fax).
    Inner,
}

/// One offer a transport received.
#[derive(Clone, Debug)]
pub(crate) struct Offer {
    pub(crate) transport: String,
    pub(crate) eid: EntryId,
    pub(crate) rows: Vec<u32>,
    pub(crate) addrs: Vec<String>,
    pub(crate) begin_deferred: bool,
    pub(crate) attachments: Vec<String>,
    pub(crate) submit_flags: Option<u32>,
}

/// Shared by every transport of a rig (and across a restart): the offers, the rows a transport
/// already set TRUE, and any breach of the rules a transport can see from its side.
#[derive(Clone, Default)]
pub(crate) struct Log {
    pub(crate) offers: Arc<Mutex<Vec<Offer>>>,
    pub(crate) taken: Arc<Mutex<HashSet<(EntryId, u32)>>>,
    pub(crate) violations: Arc<Mutex<Vec<String>>>,
    /// The messages a transport was told were aborted while it held them deferred.
    pub(crate) aborted: Arc<Mutex<Vec<EntryId>>>,
}

impl Log {
    pub(crate) fn offers(&self) -> Vec<Offer> {
        self.offers.lock().unwrap().clone()
    }

    pub(crate) fn to(&self, transport: &str) -> Vec<Offer> {
        self.offers()
            .into_iter()
            .filter(|o| o.transport == transport)
            .collect()
    }

    pub(crate) fn of(&self, eid: EntryId) -> Vec<Offer> {
        self.offers().into_iter().filter(|o| o.eid == eid).collect()
    }
}

pub(crate) struct Scripted {
    name: String,
    types: Vec<String>,
    script: VecDeque<Reply>,
    default: Reply,
    log: Log,
    clock: Arc<Mutex<Timestamp>>,
    callbacks: Vec<(EntryId, Timestamp)>,
    inner: Option<Box<dyn Transport>>,
    /// Keeps calling back for a message it was told was aborted (a faulty transport).
    deaf_to_abort: bool,
}

impl Scripted {
    fn reply(&mut self, reply: Reply, view: &SubmitView<'_>) -> Handoff {
        let rows = &view.rows;
        let all = |o: fn(String) -> RowOutcome, text: &str| {
            rows.iter().map(|r| (*r, o(text.to_owned()))).collect()
        };
        match reply {
            Reply::Deliver => Handoff::sent(all(RowOutcome::Delivered, "250 ok")),
            Reply::Fail(text) => Handoff::sent(all(RowOutcome::Failed, text)),
            Reply::DeliverOnly(addrs) => Handoff::sent(
                rows.iter()
                    .filter(|r| {
                        view.msg
                            .recipient(**r)
                            .is_some_and(|x| addrs.contains(&x.email()))
                    })
                    .map(|r| (*r, RowOutcome::Delivered("250 ok".into())))
                    .collect(),
            ),
            Reply::LeaveFalse => Handoff::sent(Vec::new()),
            Reply::Transient => {
                Handoff::sent(all(RowOutcome::Transient, "451 4.3.0 try again later"))
            }
            Reply::NotMe => Handoff::refused(SubmitResult::NotMe),
            Reply::Busy => Handoff::refused(SubmitResult::Busy),
            Reply::Wait(s) => Handoff::refused(SubmitResult::Wait(s)),
            Reply::ResendLater => Handoff::ended(EndFlag::ResendLater),
            Reply::Defer(secs) => {
                if view.begin_deferred {
                    Handoff::sent(all(RowOutcome::Delivered, "250 ok (deferred)"))
                } else {
                    let now = *self.clock.lock().unwrap();
                    self.callbacks.push((
                        view.msg.entry_id,
                        now + SignedDuration::from_secs(secs.cast_signed()),
                    ));
                    Handoff::ended(EndFlag::DontResend)
                }
            }
            Reply::Net(s) => {
                Handoff::refused(SubmitResult::NetworkError(s, "connection refused".into()))
            }
            Reply::ResendNow => Handoff::ended(EndFlag::ResendNow),
            // A panic in a transport is caught and parks only its message (issue 16); this
            // payload alone is let through, standing for the process dying.
            Reply::Crash => std::panic::panic_any(spoolbox::transport::SimulatedCrash),
            Reply::Panic => panic!("poison message in {} (expected by the test)", self.name),
            Reply::Inner => self
                .inner
                .as_mut()
                .expect("Reply::Inner needs an inner transport")
                .submit_message(view),
        }
    }
}

impl Transport for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn has_preprocessor(&self) -> bool {
        self.inner.as_ref().is_some_and(|t| t.has_preprocessor())
    }

    fn preprocess(&mut self, msg: &mut Message, rows: &[u32]) -> Preprocessed {
        self.inner
            .as_mut()
            .map(|t| t.preprocess(msg, rows))
            .unwrap_or_default()
    }

    fn remove_preprocess_info(&mut self, msg: &mut Message) -> String {
        self.inner
            .as_mut()
            .map(|t| t.remove_preprocess_info(msg))
            .unwrap_or_default()
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        let msg = view.msg;
        let eid = msg.entry_id;
        {
            let taken = self.log.taken.lock().unwrap();
            let mut bad = self.log.violations.lock().unwrap();
            // e.2/e.3: locked for the whole transport phase, preprocessing already done.
            if msg.submit_flags() != Some(SUBMITFLAG_LOCKED) {
                bad.push(format!(
                    "{}: message {eid} offered with PR_SUBMIT_FLAGS {:?}",
                    self.name,
                    msg.submit_flags()
                ));
            }
            if !msg.is_submitted() {
                bad.push(format!(
                    "{}: message {eid} offered without MSGFLAG_SUBMIT",
                    self.name
                ));
            }
            for r in &msg.recipients {
                let offered = view.rows.contains(&r.row_id);
                if offered && r.responsibility() {
                    bad.push(format!(
                        "{}: message {eid} row {} offered but reads TRUE",
                        self.name, r.row_id
                    ));
                }
                if !offered && !r.responsibility() {
                    bad.push(format!(
                        "{}: message {eid} row {} not offered but reads FALSE",
                        self.name, r.row_id
                    ));
                }
                if offered && taken.contains(&(eid, r.row_id)) {
                    bad.push(format!(
                        "{}: message {eid} row {} offered again after a transport set it TRUE",
                        self.name, r.row_id
                    ));
                }
                if offered && !self.types.iter().any(|t| t == r.addrtype()) {
                    bad.push(format!(
                        "{}: message {eid} row {} has address type {}",
                        self.name,
                        r.row_id,
                        r.addrtype()
                    ));
                }
            }
        }
        let reply = self
            .script
            .pop_front()
            .unwrap_or_else(|| self.default.clone());
        let h = self.reply(reply, view);
        if h.result == SubmitResult::Ok {
            let mut taken = self.log.taken.lock().unwrap();
            for (row, o) in &h.outcomes {
                if matches!(o, RowOutcome::Delivered(_) | RowOutcome::Failed(_))
                    && view.rows.contains(row)
                {
                    taken.insert((eid, *row));
                }
            }
        }
        self.log.offers.lock().unwrap().push(Offer {
            transport: self.name.clone(),
            eid,
            rows: view.rows.clone(),
            addrs: view
                .rows
                .iter()
                .filter_map(|r| msg.recipient(*r))
                .map(|r| r.email().to_owned())
                .collect(),
            begin_deferred: view.begin_deferred,
            attachments: msg
                .attachments
                .iter()
                .map(|a| a.file_name.clone())
                .collect(),
            submit_flags: msg.submit_flags(),
        });
        h
    }

    fn abort_deferred(&mut self, eid: EntryId) {
        self.log.aborted.lock().unwrap().push(eid);
        if !self.deaf_to_abort {
            self.callbacks.retain(|(e, _)| *e != eid);
        }
    }

    fn sent_deferred(&mut self, now: Timestamp) -> Vec<EntryId> {
        let (ready, later): (Vec<_>, Vec<_>) =
            self.callbacks.drain(..).partition(|(_, t)| *t <= now);
        self.callbacks = later;
        ready.into_iter().map(|(e, _)| e).collect()
    }
}

/// A transport of the rig: its profile entry and its script.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) types: Vec<&'static str>,
    pub(crate) script: Vec<Reply>,
    pub(crate) default: Reply,
    pub(crate) fax: bool,
    pub(crate) deaf_to_abort: bool,
}

pub(crate) fn spec(name: &'static str, types: &[&'static str], default: Reply) -> Spec {
    Spec {
        name,
        types: types.to_vec(),
        script: Vec::new(),
        default,
        fax: false,
        deaf_to_abort: false,
    }
}

impl Spec {
    /// Answers these first, then the default.
    pub(crate) fn first(mut self, script: &[Reply]) -> Self {
        self.script = script.to_vec();
        self
    }

    /// Keeps calling back for a deferred message after it was told of its abort.
    pub(crate) fn deaf_to_abort(mut self) -> Self {
        self.deaf_to_abort = true;
        self
    }
}

/// The simulated fax, with its preprocessor, behind the recorder.
pub(crate) fn fax_spec() -> Spec {
    Spec {
        name: "Fax",
        types: vec!["FAX"],
        script: Vec::new(),
        default: Reply::Inner,
        fax: true,
        deaf_to_abort: false,
    }
}

pub(crate) fn build(s: &Spec, log: &Log, clock: &Arc<Mutex<Timestamp>>) -> Box<dyn Transport> {
    let types: Vec<String> = s.types.iter().map(|t| (*t).to_owned()).collect();
    let inner: Option<Box<dyn Transport>> = s.fax.then(|| {
        Box::new(FaxTransport::new(s.name, &types, FaxSettings::default())) as Box<dyn Transport>
    });
    Box::new(Scripted {
        name: s.name.to_owned(),
        types,
        script: s.script.iter().cloned().collect(),
        default: s.default.clone(),
        log: log.clone(),
        clock: Arc::clone(clock),
        callbacks: Vec::new(),
        inner,
        deaf_to_abort: s.deaf_to_abort,
    })
}
