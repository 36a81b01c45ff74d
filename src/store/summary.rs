//! The light per-message summary the store keeps for every message (the outbox table, the
//! queue, `spoolbox list`) without holding whole messages in memory.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::mapi::flags::{MSGFLAG_SUBMIT, SUBMITFLAG_LOCKED, SUBMITFLAG_PREPROCESS};
use crate::mapi::tags::{
    PR_DELETED_FROM_ENTRYID, PR_DELETED_ON, PR_DELIVER_TIME, PR_MESSAGE_DELIVERY_TIME,
    PR_PROVIDER_SUBMIT_TIME, PR_REPORT_TIME, PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME,
};
use crate::mapi::{EntryId, Message, MessageState, RecipientState, Step};

fn pending_types(msg: &Message) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in msg
        .recipients
        .iter()
        .filter(|r| !r.is_p1() && !r.responsibility())
    {
        if !out.iter().any(|t| t.eq_ignore_ascii_case(r.addrtype())) {
            out.push(r.addrtype().to_owned());
        }
    }
    out
}

fn count(msg: &Message, f: impl Fn(&RecipientState) -> bool) -> u32 {
    let n = msg
        .recipients
        .iter()
        .filter(|r| !r.is_p1() && f(&r.outcome))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What lists and tables show of one message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `PR_ENTRYID`
    pub eid: EntryId,
    /// The folder holding it.
    pub folder: EntryId,
    /// File revision.
    pub revision: u64,
    /// `PR_SUBJECT`
    pub subject: String,
    /// `PR_DISPLAY_TO`
    pub to: String,
    /// `PR_MESSAGE_CLASS`
    pub class: String,
    /// `PR_MESSAGE_FLAGS`
    pub message_flags: u32,
    /// `PR_SUBMIT_FLAGS`
    pub submit_flags: Option<u32>,
    /// `PR_CLIENT_SUBMIT_TIME`
    pub client_submit_time: Option<Timestamp>,
    /// `PR_DEFERRED_SEND_TIME`
    pub deferred_send_time: Option<Timestamp>,
    /// Next retry, while waiting.
    pub next_retry: Option<Timestamp>,
    /// State ignoring the clock (see [`Summary::state`]).
    pub base_state: MessageState,
    /// Next pipeline step while submitted.
    pub next_step: Option<Step>,
    /// Why it last failed or waited.
    pub last_error: Option<String>,
    /// Recipients with a final outcome.
    pub done: u32,
    /// Recipients (without `MAPI_P1` rows).
    pub total: u32,
    /// Attachments.
    pub attachments: u32,
    /// Recipients failed for good (an NDR names them).
    #[serde(default)]
    pub failed: u32,
    /// Recipients whose outcome is unknown (the reply after the final dot was lost).
    #[serde(default)]
    pub unknown: u32,
    /// The transport the message waits for (a retry), if any.
    #[serde(default)]
    pub waiting_on: Option<String>,
    /// The address types of the rows still FALSE, each once, in row order: which transport
    /// the message waits for.
    #[serde(default)]
    pub pending_types: Vec<String>,
    /// Who sent it, as the Inbox shows it: `PR_SENDER_NAME` with `PR_SENDER_EMAIL_ADDRESS`
    /// (either alone when the other is missing); for a report without a sender, the system
    /// that wrote it. Empty when nothing says.
    #[serde(default)]
    pub from: String,
    /// When it arrived: `PR_MESSAGE_DELIVERY_TIME`.
    #[serde(default)]
    pub delivered_at: Option<Timestamp>,
    /// When it went out: `PR_PROVIDER_SUBMIT_TIME`, else when its last recipient was dealt
    /// with (the latest `PR_DELIVER_TIME` or `PR_REPORT_TIME` of its rows).
    #[serde(default)]
    pub sent_at: Option<Timestamp>,
    /// In Deleted Items: the folder it was deleted from (`PR_DELETED_FROM_ENTRYID`).
    #[serde(default)]
    pub deleted_from: Option<EntryId>,
    /// In Deleted Items: when it was deleted (`PR_DELETED_ON`).
    #[serde(default)]
    pub deleted_on: Option<Timestamp>,
}

/// The sender as lists show it (see [`Summary::from`]).
fn sender(msg: &Message) -> String {
    let name = msg.props.text_or_empty(PR_SENDER_NAME).trim();
    let addr = msg.props.text_or_empty(PR_SENDER_EMAIL_ADDRESS).trim();
    match (name.is_empty(), addr.is_empty()) {
        (false, false) if name != addr => format!("{name} <{addr}>"),
        (false, _) => name.to_owned(),
        (true, false) => addr.to_owned(),
        (true, true)
            if msg
                .message_class()
                .to_ascii_uppercase()
                .starts_with("REPORT.") =>
        {
            // The spooler writes non-delivery reports itself (IMAPISupport::StatusRecips),
            // naming the transports that failed the rows.
            let mut by: Vec<&str> = Vec::new();
            for t in msg.recipients.iter().filter_map(|r| r.transport.as_deref()) {
                if !by.contains(&t) {
                    by.push(t);
                }
            }
            if by.is_empty() {
                "MAPI spooler".to_owned()
            } else {
                format!("MAPI spooler ({})", by.join(", "))
            }
        }
        (true, true) => String::new(),
    }
}

/// When the last recipient was dealt with.
fn last_outcome_time(msg: &Message) -> Option<Timestamp> {
    msg.recipients
        .iter()
        .filter(|r| !r.is_p1())
        .flat_map(|r| [r.props.time(PR_DELIVER_TIME), r.props.time(PR_REPORT_TIME)])
        .flatten()
        .max()
}

impl Summary {
    /// The summary of a message.
    pub fn of(msg: &Message) -> Self {
        let (done, total) = msg.recipients_done();
        Self {
            eid: msg.entry_id,
            folder: msg.folder,
            revision: msg.revision,
            subject: msg.subject().to_owned(),
            to: msg.display_to(),
            class: msg.message_class().to_owned(),
            message_flags: msg.message_flags(),
            submit_flags: msg.submit_flags(),
            client_submit_time: msg.client_submit_time(),
            deferred_send_time: msg.deferred_send_time(),
            next_retry: msg.spool.next_retry,
            // With the clock at its minimum every deferred send time is still ahead; `state`
            // resolves that against the real clock.
            base_state: msg.state(Timestamp::MIN),
            next_step: msg.spool.next_step,
            last_error: msg.spool.last_error.clone(),
            done: u32::try_from(done).unwrap_or(u32::MAX),
            total: u32::try_from(total).unwrap_or(u32::MAX),
            attachments: u32::try_from(msg.attachments.len()).unwrap_or(u32::MAX),
            failed: count(msg, RecipientState::needs_ndr),
            unknown: count(msg, |s| *s == RecipientState::OutcomeUnknown),
            waiting_on: msg.spool.waiting_on.clone(),
            pending_types: pending_types(msg),
            from: sender(msg),
            delivered_at: msg.props.time(PR_MESSAGE_DELIVERY_TIME),
            sent_at: msg
                .props
                .time(PR_PROVIDER_SUBMIT_TIME)
                .or_else(|| last_outcome_time(msg)),
            deleted_from: msg
                .props
                .binary(PR_DELETED_FROM_ENTRYID)
                .and_then(EntryId::from_bytes),
            deleted_on: msg.props.time(PR_DELETED_ON),
        }
    }

    /// What the table and `spoolbox list` say of the message: the state, and for a sent one
    /// what became of its recipients ("Failed" when none got it, "Partly delivered").
    pub fn state_word(&self, now: Timestamp) -> &'static str {
        match self.state(now) {
            MessageState::Sent if self.total > 0 && self.failed >= self.total => "Failed",
            MessageState::Sent if self.failed > 0 => "Partly delivered",
            s => s.label(),
        }
    }

    /// Recipients delivered (or handled) so far.
    pub fn delivered(&self) -> u32 {
        self.done.saturating_sub(self.failed)
    }

    /// Recipients still waiting (neither final nor unknown).
    pub fn waiting(&self) -> u32 {
        self.total
            .saturating_sub(self.done)
            .saturating_sub(self.unknown)
    }

    /// The state at time `now`.
    pub fn state(&self, now: Timestamp) -> MessageState {
        match self.base_state {
            MessageState::DeferredSend if self.deferred_send_time.is_none_or(|t| t <= now) => {
                if self.submit_flags.unwrap_or(0) & SUBMITFLAG_PREPROCESS != 0 {
                    MessageState::QueuedForPreprocess
                } else {
                    MessageState::Queued
                }
            }
            s => s,
        }
    }

    /// `MSGFLAG_SUBMIT` is set: the message is in the outgoing queue.
    pub fn is_submitted(&self) -> bool {
        self.message_flags & MSGFLAG_SUBMIT != 0
    }

    /// In the spooler's queue: submitted, or finished but with `DoSentMail` still to run.
    pub fn in_pipeline(&self) -> bool {
        self.is_submitted() || self.next_step.is_some()
    }

    /// `SUBMITFLAG_LOCKED` is set.
    pub fn is_locked(&self) -> bool {
        self.submit_flags.unwrap_or(0) & SUBMITFLAG_LOCKED != 0
    }
}
