//! The spooler's per-message bookkeeping: steps recorded, trace calls, spool state.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{EntryId, RecipientState};
use crate::mapi::step::Step;
use crate::mapi::value::PropChange;

/// How one step ended, for the step bar and the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum StepOutcome {
    /// The step ran to its end.
    Done,
    /// The step does not apply to this message (e.g. Preprocess without `SUBMITFLAG_PREPROCESS`).
    Skipped,
    /// The step must run again later (transient trouble); the text says why.
    Waiting(String),
    /// The step failed; the text names the MAPI error.
    Failed(String),
}

/// One recorded step of one message: what ran, when, and which properties it changed.
/// Applying the changes backwards gives the message as it was before the step (time travel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step.
    pub step: Step,
    /// When it started.
    pub started: Timestamp,
    /// How long it took, in microseconds.
    pub micros: u64,
    /// How it ended.
    pub outcome: StepOutcome,
    /// The property changes it made (message and recipient rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<PropChange>,
    /// The spooler's own columns (outcome, transport) of each row this step changed, as
    /// they were before it, so time travel shows every recipient column as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows_before: Vec<RowBefore>,
}

/// A recipient row's spooler columns before a step changed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowBefore {
    /// `PR_ROWID`
    pub row: u32,
    /// The outcome before the step.
    pub outcome: RecipientState,
    /// The transport before the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
}

/// One MAPI call as the trace shows it: `IMsgStore::SetLockState(42, MSG_LOCKED) -> S_OK`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceCall {
    /// When it was made.
    pub at: Timestamp,
    /// The step it belongs to.
    pub step: Step,
    /// `Interface::Method`.
    pub call: String,
    /// The arguments, as text.
    pub args: String,
    /// `S_OK`, an error name, or a result description.
    pub result: String,
    /// What went over the wire during the call (an SMTP hand-off: greeting to the reply after
    /// the final dot, AUTH's arguments never shown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<String>,
    /// The exact bytes the call handed over, kept under the store (`sent/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
}

impl fmt::Display for TraceCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({}) -> {}", self.call, self.args, self.result)
    }
}

/// The spooler's bookkeeping for a message, kept beside its properties.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpoolState {
    /// The next step to run while submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<Step>,
    /// Not eligible before this time (transient trouble); the transport it waits on is below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry: Option<Timestamp>,
    /// The transport that asked to be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    /// The wait is the transport's (`MAPI_E_BUSY`, `MAPI_E_WAIT`, `MAPI_E_NETWORK_ERROR`,
    /// `END_RESEND_*`): the transport is unavailable, so no later message for it is handed
    /// over first (reference e.6). False when the transport took the message and only its
    /// recipients were answered 4xx or unknown: the message waits on its own timer, which
    /// holds no other message back (Postfix's deferred queue).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transport_wait: bool,
    /// When transient trouble started (for giving up after the configured age).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trouble_since: Option<Timestamp>,
    /// Transient attempts so far (drives the backoff).
    #[serde(default)]
    pub attempts: u32,
    /// The transport holding the message after `END_DONT_RESEND`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_by: Option<String>,
    /// The last error seen, for the UI ("why did it fail").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Preprocessors that ran, in order, so `RemovePreprocessInfo` undoes exactly those.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preprocessed_by: Vec<String>,
    /// Held by the user: not sent until released.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// The transport to re-offer a deferred message to with `BEGIN_DEFERRED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_deferred: Option<String>,
    /// The NDR already written for this submission (so a replayed step never writes two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndr: Option<EntryId>,
    /// The delivery report already written for this submission (only when one was asked
    /// for with `PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED`), for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dr: Option<EntryId>,
    /// Set when the spooler started `FinishedMsg`: a restart completes the disposal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finishing: bool,
    /// How many times the message was submitted (`IMessage::SubmitMessage`), kept across
    /// steps, aborts and its filing. A window's editor names the submission it saw, so a stale
    /// editor, a double click or a race can never submit one draft twice.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub submission: u32,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}
