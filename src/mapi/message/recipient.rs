//! The recipient table's rows: who, To/Cc/Bcc, and what became of each.

use serde::{Deserialize, Serialize};

use crate::mapi::flags::{MAPI_BCC, MAPI_CC, MAPI_P1, MAPI_SUBMITTED, MAPI_TO};
use crate::mapi::tags::{
    PR_ADDRTYPE, PR_DISPLAY_NAME, PR_EMAIL_ADDRESS, PR_RECIPIENT_TYPE, PR_REPORT_TEXT,
    PR_RESPONSIBILITY,
};
use crate::mapi::value::PropBag;

/// What became of one recipient (reference section a.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecipientState {
    /// `PR_RESPONSIBILITY` FALSE: no transport has taken it yet.
    #[default]
    Pending,
    /// A transport delivered it (TRUE).
    Delivered,
    /// A transport (or a preprocessor) failed it for good (TRUE); an NDR follows.
    Failed,
    /// No transport accepted it; the spooler writes the NDR (FALSE at the end of the scan).
    NoTransport,
    /// The tightly coupled store delivered it in `SubmitMessage` (TRUE).
    HandledByStore,
    /// `MAPI_SUBMITTED` on a resend: shown, never sent again.
    SkippedResend,
    /// Transient trouble (4xx, busy): still FALSE, retried later.
    Retrying,
    /// The connection dropped after the final DATA dot: the server may or may not have it.
    /// Retried (at-least-once, as Postfix does) and shown as such.
    OutcomeUnknown,
}

impl RecipientState {
    /// True for the states in which the recipient needs nothing more (invariant e.12).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Delivered
                | Self::Failed
                | Self::NoTransport
                | Self::HandledByStore
                | Self::SkippedResend
        )
    }

    /// True for the states that put the recipient in a non-delivery report.
    pub fn needs_ndr(&self) -> bool {
        matches!(self, Self::Failed | Self::NoTransport)
    }

    /// Short label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::NoTransport => "no transport",
            Self::HandledByStore => "delivered by store",
            Self::SkippedResend => "already sent",
            Self::Retrying => "retrying",
            Self::OutcomeUnknown => "outcome unknown",
        }
    }
}

/// One row of the recipient table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    /// `PR_ROWID`: stable within the message.
    pub row_id: u32,
    /// The row's properties (`PR_DISPLAY_NAME`, `PR_EMAIL_ADDRESS`, `PR_ADDRTYPE`,
    /// `PR_RECIPIENT_TYPE`, `PR_RESPONSIBILITY`, `PR_REPORT_TEXT`, `PR_DELIVER_TIME`, ...).
    pub props: PropBag,
    /// The outcome so far.
    #[serde(default)]
    pub outcome: RecipientState,
    /// The transport (or "store", or a preprocessor) that took the row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
}

/// To, Cc or Bcc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecipientKind {
    /// `MAPI_TO`
    To,
    /// `MAPI_CC`
    Cc,
    /// `MAPI_BCC`
    Bcc,
}

impl RecipientKind {
    /// The `PR_RECIPIENT_TYPE` value.
    pub const fn mapi(self) -> u32 {
        match self {
            Self::To => MAPI_TO,
            Self::Cc => MAPI_CC,
            Self::Bcc => MAPI_BCC,
        }
    }

    /// Reads the low part of `PR_RECIPIENT_TYPE`.
    pub fn from_mapi(v: u32) -> Self {
        match v & 0xFF {
            MAPI_CC => Self::Cc,
            MAPI_BCC => Self::Bcc,
            _ => Self::To,
        }
    }

    /// "To", "Cc", "Bcc".
    pub const fn label(self) -> &'static str {
        match self {
            Self::To => "To",
            Self::Cc => "Cc",
            Self::Bcc => "Bcc",
        }
    }
}

impl Recipient {
    /// A new row with the client-side columns set.
    pub fn new(
        row_id: u32,
        name: &str,
        address: &str,
        addrtype: &str,
        kind: RecipientKind,
    ) -> Self {
        let mut props = PropBag::new();
        props.set_text(PR_DISPLAY_NAME, name);
        props.set_text(PR_EMAIL_ADDRESS, address);
        props.set_text(PR_ADDRTYPE, addrtype);
        props.set_flags(PR_RECIPIENT_TYPE, kind.mapi());
        Self {
            row_id,
            props,
            outcome: RecipientState::Pending,
            transport: None,
        }
    }

    /// `PR_DISPLAY_NAME`
    pub fn display_name(&self) -> &str {
        self.props.text_or_empty(PR_DISPLAY_NAME)
    }

    /// `PR_EMAIL_ADDRESS`
    pub fn email(&self) -> &str {
        self.props.text_or_empty(PR_EMAIL_ADDRESS)
    }

    /// `PR_ADDRTYPE`
    pub fn addrtype(&self) -> &str {
        self.props.text_or_empty(PR_ADDRTYPE)
    }

    /// `PR_RECIPIENT_TYPE` bits.
    pub fn recipient_type(&self) -> u32 {
        self.props.flags(PR_RECIPIENT_TYPE)
    }

    /// To/Cc/Bcc.
    pub fn kind(&self) -> RecipientKind {
        RecipientKind::from_mapi(self.recipient_type())
    }

    /// `MAPI_P1`: an envelope-only resend row, never shown as a content recipient.
    pub fn is_p1(&self) -> bool {
        self.recipient_type() & MAPI_P1 != 0
    }

    /// `MAPI_SUBMITTED`: the recipient already received the message.
    pub fn is_submitted_marker(&self) -> bool {
        self.recipient_type() & MAPI_SUBMITTED != 0
    }

    /// `PR_RESPONSIBILITY` (absent reads as FALSE).
    pub fn responsibility(&self) -> bool {
        self.props.boolean(PR_RESPONSIBILITY).unwrap_or(false)
    }

    /// `PR_REPORT_TEXT`
    pub fn report_text(&self) -> Option<&str> {
        self.props.text(PR_REPORT_TEXT)
    }

    /// "Name <address>" or just the address.
    pub fn label(&self) -> String {
        let (n, a) = (self.display_name(), self.email());
        if n.is_empty() || n == a {
            a.to_owned()
        } else {
            format!("{n} <{a}>")
        }
    }
}
