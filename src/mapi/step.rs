//! The pipeline's steps, named after the MAPI call that performs each one.
//!
//! The same names are used in code, events, the trace, the CLI and the UI, so a reader can
//! follow one message from the step bar to the function that ran it.

use serde::{Deserialize, Serialize};

/// One step of the send pipeline, in MAPI's order (SPEC section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Step {
    /// `IMessage::SubmitMessage`: the client marks the message submitted.
    SubmitMessage,
    /// Registered `PreprocessMessage` functions (only with `SUBMITFLAG_PREPROCESS`).
    Preprocess,
    /// `IMsgStore::SetLockState(MSG_LOCKED)`.
    SetLockState,
    /// `IXPLogon::SubmitMessage`/`EndMessage` on each matching transport.
    Transmit,
    /// Reports: the NDR for recipients nobody could deliver to, and the DR when one was asked for.
    NonDeliveryReport,
    /// `RemovePreprocessInfo` (only with `PR_PREPROCESS`).
    RemovePreprocessInfo,
    /// `IMsgStore::FinishedMsg`: unlock, clear the submit flags.
    FinishedMsg,
    /// `IMAPISupport::DoSentMail`: hooks, copy to the sent-mail folder, delete.
    DoSentMail,
}

impl Step {
    /// Every step, in pipeline order.
    pub const ALL: [Self; 8] = [
        Self::SubmitMessage,
        Self::Preprocess,
        Self::SetLockState,
        Self::Transmit,
        Self::NonDeliveryReport,
        Self::RemovePreprocessInfo,
        Self::FinishedMsg,
        Self::DoSentMail,
    ];

    /// The step's name as the trace, the CLI and the UI show it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::SubmitMessage => "SubmitMessage",
            Self::Preprocess => "Preprocess",
            Self::SetLockState => "SetLockState",
            Self::Transmit => "Transmit",
            Self::NonDeliveryReport => "NonDeliveryReport",
            Self::RemovePreprocessInfo => "RemovePreprocessInfo",
            Self::FinishedMsg => "FinishedMsg",
            Self::DoSentMail => "DoSentMail",
        }
    }

    /// Parses a step name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s))
    }

    /// The step after this one, ignoring whether it will be skipped.
    pub fn next(self) -> Option<Self> {
        let i = Self::ALL.iter().position(|s| *s == self)?;
        Self::ALL.get(i + 1).copied()
    }

    /// A sentence for the step bar's tooltip.
    pub const fn doc(self) -> &'static str {
        match self {
            Self::SubmitMessage => {
                "IMessage::SubmitMessage: refuses an empty recipient table, sets MSGFLAG_SUBMIT, \
                 sets every PR_RESPONSIBILITY to FALSE, stamps PR_CLIENT_SUBMIT_TIME, expands \
                 personal distribution lists; the coupled store delivers EX recipients at once."
            }
            Self::Preprocess => {
                "Runs the preprocessors registered by the transports that will get recipients, in \
                 registration order, then clears SUBMITFLAG_PREPROCESS. Skipped without it."
            }
            Self::SetLockState => {
                "IMsgStore::SetLockState(MSG_LOCKED): sets SUBMITFLAG_LOCKED. From here \
                 AbortSubmit fails with MAPI_E_UNABLE_TO_ABORT."
            }
            Self::Transmit => {
                "IXPLogon::SubmitMessage on each transport in priority order whose address types \
                 match, showing it only its recipients as PR_RESPONSIBILITY FALSE; then EndMessage."
            }
            Self::NonDeliveryReport => {
                "IMAPISupport::StatusRecips: one NDR (the message as submitted embedded) for \
                 recipients that failed for good or that no transport accepted, unless \
                 PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED is FALSE; one DR for those \
                 delivered when PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED is TRUE. Both go to the \
                 sender, filed in the PR_REPORT_ENTRYID folder, else the Inbox."
            }
            Self::RemovePreprocessInfo => {
                "Each preprocessor that ran removes what it added. Skipped unless PR_PREPROCESS."
            }
            Self::FinishedMsg => {
                "IMsgStore::FinishedMsg: the store unlocks the message and clears MSGFLAG_SUBMIT \
                 and MSGFLAG_UNSENT."
            }
            Self::DoSentMail => {
                "IMAPISupport::DoSentMail: outbound hooks in order, then the copy to the \
                 PR_SENTMAIL_ENTRYID folder, then deletion when PR_DELETE_AFTER_SUBMIT."
            }
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
