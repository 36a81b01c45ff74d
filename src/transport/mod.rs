//! Transports, mirroring `IXPLogon`: each declares its address types, receives a view of the
//! message in which only its recipients read `PR_RESPONSIBILITY == FALSE`, and answers with a
//! per-recipient outcome, a `SubmitMessage` result and an `EndMessage` flag.

pub mod background;
pub mod credentials;
pub mod faults;
pub mod fax;
pub mod null;
pub mod pickup;
pub mod smtp;
pub mod smtp_wire;

use jiff::Timestamp;

use crate::mapi::flags::{STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ENABLED};
use crate::mapi::{EntryId, Message};
use crate::profile::{Profile, TransportKind};

/// What the spooler hands a transport (`IXPLogon::SubmitMessage`'s `lpMessage`).
#[derive(Debug)]
pub struct SubmitView<'a> {
    /// The message as this transport sees it: every row not offered to it reads TRUE.
    pub msg: &'a Message,
    /// Row ids offered to this transport (they read FALSE).
    pub rows: Vec<u32>,
    /// `BEGIN_DEFERRED`: a re-offer of a message this transport deferred.
    pub begin_deferred: bool,
    /// The profile's sender identity, stamped as `PR_SENDER_*`.
    pub sender: (String, String),
    /// Off: only loopback servers and local folders may be used.
    pub deliver_for_real: bool,
    /// The store directory (for relative paths).
    pub store_root: std::path::PathBuf,
    /// For a hand-off started in the background ([`Transport::gates_handoff`]): its point of
    /// no return waits at this gate until the journal records appended before it started
    /// (the previous hand-off's recipient marks) are durable.
    pub gate: Option<crate::durable::gate::CommitGate>,
}

/// `IXPLogon::SubmitMessage`'s return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitResult {
    /// `S_OK`: `EndMessage` follows.
    Ok,
    /// `MAPI_E_BUSY`: nothing done; retry later.
    Busy,
    /// `MAPI_E_NOT_ME`: try the next matching transport.
    NotMe,
    /// `MAPI_E_WAIT`: retry after this many seconds.
    Wait(u64),
    /// `MAPI_E_NETWORK_ERROR`: retry after this many seconds; the text says what broke.
    NetworkError(u64, String),
    /// `MAPI_E_CANCEL`: do not resend; move on.
    Cancel,
}

impl SubmitResult {
    /// The MAPI name, for the trace.
    pub fn mapi_name(&self) -> String {
        match self {
            Self::Ok => "S_OK".into(),
            Self::Busy => "MAPI_E_BUSY".into(),
            Self::NotMe => "MAPI_E_NOT_ME".into(),
            // 0 s: the transport leaves the delay to the spooler's retry policy, whose time
            // the trace states on its own line.
            Self::Wait(0) => "MAPI_E_WAIT (the spooler's retry policy picks the delay)".into(),
            Self::Wait(s) => format!("MAPI_E_WAIT (retry in {s} s)"),
            Self::NetworkError(0, why) => {
                format!("MAPI_E_NETWORK_ERROR (the spooler's retry policy picks the delay): {why}")
            }
            Self::NetworkError(s, why) => format!("MAPI_E_NETWORK_ERROR (retry in {s} s): {why}"),
            Self::Cancel => "MAPI_E_CANCEL".into(),
        }
    }
}

/// What became of one offered recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    /// Delivered (`PR_RESPONSIBILITY` TRUE, `PR_DELIVER_TIME`); the text is the server's answer.
    Delivered(String),
    /// Failed for good (TRUE, `PR_REPORT_TEXT`): goes in the NDR.
    Failed(String),
    /// Transient trouble for this recipient (e.g. SMTP 4xx): stays FALSE, retried later.
    Transient(String),
    /// The outcome cannot be known (connection lost after DATA): retried, shown as such.
    Unknown(String),
}

/// `IXPLogon::EndMessage`'s flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndFlag {
    /// 0: sent.
    Sent,
    /// `END_RESEND_NOW`: call `SubmitMessage` again at once.
    ResendNow,
    /// `END_RESEND_LATER`: retry later, not an error.
    ResendLater,
    /// `END_DONT_RESEND`: the transport keeps it and calls back (`NOTIFY_SENTDEFERRED`).
    DontResend,
}

impl EndFlag {
    /// The MAPI name, for the trace.
    pub const fn mapi_name(self) -> &'static str {
        match self {
            Self::Sent => "0 (sent)",
            Self::ResendNow => "END_RESEND_NOW",
            Self::ResendLater => "END_RESEND_LATER",
            Self::DontResend => "END_DONT_RESEND",
        }
    }
}

/// One complete hand-off: `SubmitMessage` then (after `S_OK`) `EndMessage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handoff {
    /// `SubmitMessage`'s result.
    pub result: SubmitResult,
    /// Outcomes for offered rows; rows left out stay FALSE and pass to the next transport.
    pub outcomes: Vec<(u32, RowOutcome)>,
    /// `EndMessage`'s flag (only read after `S_OK`).
    pub end: EndFlag,
    /// What went over the wire (SMTP: greeting to the reply after the final dot), for the
    /// trace; empty for transports with no wire.
    pub transcript: Vec<String>,
    /// The exact bytes handed over, kept beside the message: the path relative to the store
    /// (`sent/…`), or `None` when nothing was handed over or the copy could not be written.
    pub kept: Option<String>,
    /// What an injected fault did to this hand-off (`faults::Faulty`), for the timeline.
    pub fault: Option<String>,
    /// When the transport answered, on its own thread (a background hand-off): the trace,
    /// `PR_DELIVER_TIME` and the timeline's span carry this time, not the time the spooler
    /// collected the answer (issue 28, item 3). `None` for an answer given on the spooler's
    /// thread, which is collected as it is given.
    pub answered: Option<std::time::Instant>,
}

impl Handoff {
    /// `EndMessage`'s flag as the trace and the timeline say it: `0` with what the transport
    /// did with the rows ("0 (done: 2 delivered, 1 failed)"), never "sent" for a hand-off in
    /// which no recipient was accepted (issue 28, item 6); the other flags by their names.
    pub fn end_text(&self) -> String {
        if self.end != EndFlag::Sent {
            return self.end.mapi_name().to_owned();
        }
        let count = |f: fn(&RowOutcome) -> bool| self.outcomes.iter().filter(|(_, o)| f(o)).count();
        let parts: Vec<String> = [
            (
                count(|o| matches!(o, RowOutcome::Delivered(_))),
                "delivered",
            ),
            (count(|o| matches!(o, RowOutcome::Failed(_))), "failed"),
            (count(|o| matches!(o, RowOutcome::Transient(_))), "to retry"),
            (
                count(|o| matches!(o, RowOutcome::Unknown(_))),
                "outcome unknown",
            ),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            "0 (done: no row answered for; they pass on)".into()
        } else if count(|o| matches!(o, RowOutcome::Delivered(_))) == 0 {
            format!("0 (done, none delivered: {})", parts.join(", "))
        } else {
            format!("0 (done: {})", parts.join(", "))
        }
    }

    /// A hand-off that ended with `result` and no outcomes.
    pub fn refused(result: SubmitResult) -> Self {
        Self {
            result,
            outcomes: Vec::new(),
            end: EndFlag::Sent,
            transcript: Vec::new(),
            kept: None,
            fault: None,
            answered: None,
        }
    }

    /// `S_OK` with no outcomes, ended with `end` (resend, or kept by the transport).
    pub fn ended(end: EndFlag) -> Self {
        Self {
            end,
            ..Self::sent(Vec::new())
        }
    }

    /// `S_OK` with these outcomes, sent.
    pub fn sent(outcomes: Vec<(u32, RowOutcome)>) -> Self {
        Self {
            result: SubmitResult::Ok,
            outcomes,
            end: EndFlag::Sent,
            transcript: Vec::new(),
            kept: None,
            fault: None,
            answered: None,
        }
    }
}

/// Writes the exact bytes handed over beside the message, as `sent/<message>-<time>.eml` under
/// the store (private to its owner, through the store's one way in: no symbolic link followed
/// at `sent/` or below, never over another file), and returns that path relative to the store.
/// Not synced: it is a record for people, not a promise; `None` when it could not be written
/// (the hand-off goes on regardless).
pub fn keep_sent_bytes(
    store_root: &std::path::Path,
    msg: &crate::mapi::Message,
    bytes: &[u8],
) -> Option<String> {
    use std::io::Write as _;
    let (store, dir) = sent_dir(store_root)?;
    let micros = jiff::Timestamp::now().as_microsecond();
    for n in 0..4 {
        let stem = msg.entry_id.file_stem();
        let name = if n == 0 {
            format!("{stem}-{micros}.eml")
        } else {
            format!("{stem}-{micros}-{n}.eml")
        };
        match store.open(
            &dir.join(&name),
            crate::durable::fs::beneath::Access::CreateNew,
        ) {
            Ok(mut f) => {
                return f.write_all(bytes).ok().map(|()| format!("sent/{name}"));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return None,
        }
    }
    None
}

/// Keeps the file a transport wrote (the pickup folder's, its exact bytes) beside the message
/// as [`keep_sent_bytes`] does, by a hard link (no copy; `None` when the pickup folder is on
/// another file system or the file is already gone).
pub fn keep_sent_file(
    store_root: &std::path::Path,
    msg: &crate::mapi::Message,
    file: &std::path::Path,
) -> Option<String> {
    let (store, dir) = sent_dir(store_root)?;
    let micros = jiff::Timestamp::now().as_microsecond();
    let name = format!("{}-{micros}.eml", msg.entry_id.file_stem());
    // link(2) never follows a link at the new name and never overwrites.
    store
        .link_in(file, &dir.join(&name))
        .ok()
        .map(|()| format!("sent/{name}"))
}

/// The store's `sent/`, created when missing (0700 on Unix; on Windows it inherits the
/// store's ACL); `None` when it cannot be (something else at that name: a symbolic link is
/// never followed).
fn sent_dir(
    store_root: &std::path::Path,
) -> Option<(crate::durable::fs::beneath::Beneath, std::path::PathBuf)> {
    let store = crate::durable::fs::beneath::Beneath::new(store_root).ok()?;
    let dir = store_root.join("sent");
    match store.create_dir(&dir) {
        Ok(_) => Some((store, dir)),
        // Out of file descriptors passes (a low `ulimit -n`): this copy is a record, not a
        // promise, and the hand-off goes on without it; said only when debugging.
        Err(e) if crate::durable::fs::out_of_files(&e) => {
            tracing::debug!("{}: {e}; this hand-off's bytes are not kept", dir.display());
            None
        }
        Err(e) => {
            tracing::warn!("{}: {e}", dir.display());
            None
        }
    }
}

/// A hand-off's view, owned, to cross to a transport's own thread (SMTP's line, `background`).
pub(crate) struct OwnedView {
    msg: crate::mapi::Message,
    rows: Vec<u32>,
    begin_deferred: bool,
    sender: (String, String),
    deliver_for_real: bool,
    store_root: std::path::PathBuf,
    gate: Option<crate::durable::gate::CommitGate>,
}

impl OwnedView {
    pub(crate) fn of(v: &SubmitView<'_>) -> Self {
        Self {
            msg: v.msg.clone(),
            rows: v.rows.clone(),
            begin_deferred: v.begin_deferred,
            sender: v.sender.clone(),
            deliver_for_real: v.deliver_for_real,
            store_root: v.store_root.clone(),
            gate: v.gate.clone(),
        }
    }

    pub(crate) fn view(&self) -> SubmitView<'_> {
        SubmitView {
            msg: &self.msg,
            rows: self.rows.clone(),
            begin_deferred: self.begin_deferred,
            sender: self.sender.clone(),
            deliver_for_real: self.deliver_for_real,
            store_root: self.store_root.clone(),
            gate: self.gate.clone(),
        }
    }
}

/// What a preprocessor decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preprocessed {
    /// Rows it found undeliverable, with the reason (they get an NDR).
    pub rejected: Vec<(u32, String)>,
    /// A short description for the trace.
    pub note: String,
}

/// A panic payload that is never caught by [`guarded`]: tests raise it
/// (`std::panic::panic_any(SimulatedCrash)`) to stand for the process dying mid-hand-off.
#[derive(Clone, Copy, Debug)]
pub struct SimulatedCrash;

/// A transport call that panicked, caught by [`guarded`]: the panic's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Panicked {
    /// The panic's message ("a panic without a message" when it had none).
    pub message: String,
}

/// Runs one transport call for one message; a panic in it comes back as its text instead of
/// unwinding through the spooler, so one message can never stop the queue (issue 16).
///
/// # Errors
/// [`Panicked`] with the panic's message.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        if p.is::<SimulatedCrash>() {
            std::panic::resume_unwind(p);
        }
        Panicked {
            message: crate::eml::panic_text(p.as_ref()),
        }
    })
}

/// The hand-off of a message whose transport call panicked: every offered row failed for good
/// (`MAPI_E_CORRUPT_DATA`, an NDR), with the reason; the spooler goes on with the others.
pub fn panicked(transport: &str, rows: &[u32], why: impl std::fmt::Display) -> Handoff {
    let text = format!(
        "MAPI_E_CORRUPT_DATA: {transport} failed on this message ({why}); it is parked, the other messages go on"
    );
    Handoff::sent(
        rows.iter()
            .map(|r| (*r, RowOutcome::Failed(text.clone())))
            .collect(),
    )
}

/// A transport provider logon (`IXPLogon`).
pub trait Transport: Send {
    /// The display name (status row).
    fn name(&self) -> &str;

    /// `IXPLogon::AddressTypes`.
    fn address_types(&self) -> &[String];

    /// `PR_STATUS_CODE` bits besides `STATUS_OUTBOUND_ACTIVE` (which the spooler manages).
    fn status_code(&self) -> u32 {
        STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED
    }

    /// A human status (`PR_STATUS_STRING`).
    fn status_text(&self) -> String {
        "ready".into()
    }

    /// True when this transport registered a preprocessor (`RegisterPreprocessor`).
    fn has_preprocessor(&self) -> bool {
        false
    }

    /// `PreprocessMessage` for the rows this transport will receive.
    fn preprocess(&mut self, _msg: &mut Message, _rows: &[u32]) -> Preprocessed {
        Preprocessed::default()
    }

    /// `RemovePreprocessInfo`: undo what `preprocess` added.
    fn remove_preprocess_info(&mut self, _msg: &mut Message) -> String {
        String::new()
    }

    /// `IXPLogon::SubmitMessage` followed by `EndMessage`.
    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff;

    /// Starts `SubmitMessage` and `EndMessage` for `view`, on the transport's own thread if
    /// it has one. `Some`: finished at once (as [`Transport::submit_message`]). `None`: under
    /// way; once [`Transport::poll_handoff`] says so, the spooler offers the same message and
    /// rows again and gets the hand-off's result. One hand-off at a time, or two where
    /// [`Transport::queues_handoff`] says so.
    fn start_submit(&mut self, view: &SubmitView<'_>) -> Option<Handoff> {
        Some(self.submit_message(view))
    }

    /// True when [`Transport::start_submit`] of `view` would start the hand-off on the
    /// transport's thread and wait at `view.gate` before its point of no return (or only
    /// collect a result already there), so the spooler need not sync the journal first.
    /// False (the default) when it would hand the message off at once, on the caller's thread.
    fn gates_handoff(&mut self, _view: &SubmitView<'_>) -> bool {
        false
    }

    /// True when [`Transport::start_submit`] takes one more background hand-off while one is
    /// under way: it goes on the line as soon as the first is done, and waits at its gate (a
    /// deferred one, armed by the spooler once it has recorded the first) before its point of
    /// no return. False (the default): one hand-off at a time.
    fn queues_handoff(&self) -> bool {
        false
    }

    /// The spooler no longer wants the result of the background hand-off of `eid` (the
    /// message went away meanwhile).
    fn abandon_handoff(&mut self, _eid: EntryId) {}

    /// True when a hand-off begun by [`Transport::start_submit`] has finished and waits to be
    /// collected.
    fn poll_handoff(&mut self) -> bool {
        false
    }

    /// Receives a unit whenever a background hand-off finishes (the spooler's thread waits on
    /// it beside its commands).
    fn completions(&self) -> Option<crossbeam_channel::Receiver<()>> {
        None
    }

    /// True when a hand-off goes over a network or a line (SMTP, fax): its recipient marks
    /// are fsynced at once. Local transports (null, pickup folder) let them ride the message's
    /// next durable write.
    fn remote(&self) -> bool {
        false
    }

    /// The fault-injection settings, for transports wrapped in [`faults::Faulty`].
    fn faults_mut(&mut self) -> Option<&mut crate::profile::FaultConfig> {
        None
    }

    /// `IXPLogon::TransportNotify(NOTIFY_ABORT_DEFERRED | NOTIFY_CANCEL_MESSAGE)`: message
    /// `eid`, which this transport deferred (`END_DONT_RESEND`), was aborted: the transport
    /// forgets it and never calls back for it (reference e.18).
    fn abort_deferred(&mut self, _eid: EntryId) {}

    /// The fault-injection settings as they stand (a "fail the next N" counts down).
    fn faults(&self) -> Option<&crate::profile::FaultConfig> {
        None
    }

    /// Messages this transport deferred and is now ready to take
    /// (`SpoolerNotify(NOTIFY_SENTDEFERRED)`).
    fn sent_deferred(&mut self, _now: Timestamp) -> Vec<EntryId> {
        Vec::new()
    }
}

/// Builds the transports of a profile, in priority order, each wrapped in fault injection.
/// The profile's `deliver_for_real` switch confines SMTP to loopback servers from logon on.
pub fn from_profile(profile: &Profile) -> Vec<Box<dyn Transport>> {
    profile
        .transports
        .iter()
        .map(|c| {
            let inner: Box<dyn Transport> = match &c.kind {
                TransportKind::Null => {
                    Box::new(null::NullTransport::new(&c.name, &c.address_types))
                }
                TransportKind::Fax(s) => {
                    Box::new(fax::FaxTransport::new(&c.name, &c.address_types, s.clone()))
                }
                // Rendered and written on a thread of its own, off the spooler's.
                TransportKind::Pickup(s) => Box::new(background::Background::new(Box::new(
                    pickup::PickupTransport::new(&c.name, &c.address_types, s.clone()),
                ))),
                TransportKind::Smtp(s) => Box::new(smtp::SmtpTransport::new(
                    &c.name,
                    &c.address_types,
                    s.clone(),
                    profile.deliver_for_real,
                )),
            };
            let mut t: Box<dyn Transport> = Box::new(faults::Faulty::new(inner, c.faults.clone()));
            if !c.enabled {
                t = Box::new(Offline {
                    name: c.name.clone(),
                    types: c.address_types.clone(),
                });
            }
            t
        })
        .collect()
}

/// A transport that is logged off or not configured: `STATUS_OFFLINE`, declines everything.
#[derive(Debug)]
pub struct Offline {
    name: String,
    types: Vec<String>,
}

impl Transport for Offline {
    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn status_code(&self) -> u32 {
        STATUS_OFFLINE
    }

    fn status_text(&self) -> String {
        "offline: not configured or disabled".into()
    }

    fn submit_message(&mut self, _view: &SubmitView<'_>) -> Handoff {
        Handoff::refused(SubmitResult::NotMe)
    }
}
