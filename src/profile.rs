//! The profile: transports in priority order, the coupled store, hooks and the retry policy.
//! It lives in `store.json` and is edited in the app or with `spoolbox profile`.

use serde::{Deserialize, Serialize};

pub mod check;

/// Everything the spooler is configured with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The sender's display name (`PR_SENDER_NAME` stamped by transports).
    pub sender_name: String,
    /// The sender's address.
    pub sender_address: String,
    /// Transports, highest priority first (`MsgServiceTransportOrder`).
    pub transports: Vec<TransportConfig>,
    /// The tightly coupled store's own address types (delivered into Inbox at submit).
    #[serde(default)]
    pub coupled_addrtypes: Vec<String>,
    /// Outbound hooks, in the order `DoSentMail` calls them.
    #[serde(default)]
    pub hooks: Vec<HookConfig>,
    /// Backoff for transient trouble.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Off: SMTP sends only to loopback servers, so a demo never mails the world by accident.
    #[serde(default)]
    pub deliver_for_real: bool,
    /// Start the spooler paused (the demo does, so the outbox can be seen before it drains).
    #[serde(default)]
    pub start_paused: bool,
    /// At most this many MiB of hand-off copies are kept under the store's `sent/` (for the
    /// Source tab and `export`); the oldest go first.
    #[serde(default = "sent_copies_mib")]
    pub sent_copies_mib: u64,
}

/// The default of [`Profile::sent_copies_mib`].
pub const SENT_COPIES_MIB: u64 = 256;

const fn sent_copies_mib() -> u64 {
    SENT_COPIES_MIB
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            sender_name: "Spoolbox User".into(),
            sender_address: "user@localhost".into(),
            transports: vec![TransportConfig::new(
                "Pickup folder",
                TransportKind::Pickup(PickupSettings::default()),
                &["SMTP"],
            )],
            coupled_addrtypes: vec!["EX".into()],
            hooks: Vec::new(),
            retry: RetryPolicy::default(),
            deliver_for_real: false,
            start_paused: false,
            sent_copies_mib: SENT_COPIES_MIB,
        }
    }
}

/// One transport of the profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransportConfig {
    /// Unique display name (`PR_DISPLAY_NAME` of its status row).
    pub name: String,
    /// Which implementation and its settings.
    pub kind: TransportKind,
    /// `PR_ADDRTYPE` values it handles, matched exactly (`IXPLogon::AddressTypes`).
    pub address_types: Vec<String>,
    /// A disabled transport is logged off: never offered anything.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Fault injection around this transport.
    #[serde(default, skip_serializing_if = "FaultConfig::is_off")]
    pub faults: FaultConfig,
}

fn yes() -> bool {
    true
}

impl TransportConfig {
    /// An enabled transport without faults.
    pub fn new(name: &str, kind: TransportKind, address_types: &[&str]) -> Self {
        Self {
            name: name.into(),
            kind,
            address_types: address_types.iter().map(|s| (*s).to_owned()).collect(),
            enabled: true,
            faults: FaultConfig::default(),
        }
    }
}

/// The transport implementations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransportKind {
    /// Accepts every recipient at once (tests and benchmarks).
    Null,
    /// SMTP through lettre.
    Smtp(SmtpSettings),
    /// `.eml` files in a pickup directory.
    Pickup(PickupSettings),
    /// The simulated fax (address type FAX, with a preprocessor).
    Fax(FaxSettings),
}

impl TransportKind {
    /// Short label for the UI.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Smtp(_) => "SMTP",
            Self::Pickup(_) => "pickup folder",
            Self::Fax(_) => "fax (simulated)",
        }
    }

    /// Whether this kind of transport registers a message preprocessor
    /// (`IMAPISupport::RegisterPreprocessor`): the fax renders a cover page. The transport's
    /// own `Transport::has_preprocessor` answers from here, so submit and the spooler agree.
    pub fn registers_preprocessor(&self) -> bool {
        matches!(self, Self::Fax(_))
    }
}

/// SMTP connection settings. The password is never stored here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmtpSettings {
    /// Server host; empty = unconfigured (the transport is offline and declines).
    #[serde(default)]
    pub host: String,
    /// Server port.
    #[serde(default = "smtp_port")]
    pub port: u16,
    /// Transport security.
    #[serde(default)]
    pub tls: TlsMode,
    /// User name for AUTH, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Seconds before a silent server counts as a network error.
    #[serde(default = "smtp_timeout")]
    pub timeout_secs: u64,
    /// Seconds the whole reply to one command may take, however slowly its bytes trickle in
    /// (Postfix's `smtp_per_record_deadline`); 0 is the default, 300.
    #[serde(default = "smtp_command_deadline")]
    pub command_deadline_secs: u64,
    /// Seconds one message's transaction may take, from MAIL FROM to the reply after the
    /// final dot; 0 is the default, 1800.
    #[serde(default = "smtp_message_deadline")]
    pub message_deadline_secs: u64,
}

impl Default for SmtpSettings {
    /// Unconfigured (no host), on port 25 with a 30 s timeout: the values a `store.json`
    /// without them reads as, each within [`check`]'s bounds.
    fn default() -> Self {
        Self {
            host: String::new(),
            port: smtp_port(),
            tls: TlsMode::default(),
            username: None,
            timeout_secs: smtp_timeout(),
            command_deadline_secs: 0,
            message_deadline_secs: 0,
        }
    }
}

/// The default of [`SmtpSettings::command_deadline_secs`].
pub const SMTP_COMMAND_DEADLINE: u64 = 300;
/// The default of [`SmtpSettings::message_deadline_secs`].
pub const SMTP_MESSAGE_DEADLINE: u64 = 1800;

fn smtp_command_deadline() -> u64 {
    SMTP_COMMAND_DEADLINE
}

fn smtp_message_deadline() -> u64 {
    SMTP_MESSAGE_DEADLINE
}

fn smtp_port() -> u16 {
    25
}

fn smtp_timeout() -> u64 {
    30
}

/// SMTP transport security.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain text (loopback test servers).
    #[default]
    None,
    /// STARTTLS after EHLO.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// Pickup folder settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PickupSettings {
    /// The directory; relative paths are inside the store.
    pub dir: String,
}

impl Default for PickupSettings {
    fn default() -> Self {
        Self {
            dir: "pickup".into(),
        }
    }
}

/// Simulated fax settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaxSettings {
    /// Numbers containing this text fail for good ("number not in service").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_numbers: Option<String>,
    /// Other numbers are busy this many times before they answer.
    #[serde(default)]
    pub busy_times: u32,
    /// Transmission time per recipient, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
}

/// Faults injected around any transport (the UI's fault panel edits these).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// The next N hand-offs fail (transient unless `permanent`).
    #[serde(default)]
    pub fail_next: u32,
    /// Recipients whose address contains this text fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_pattern: Option<String>,
    /// Failures are permanent (NDR) rather than transient (retry).
    #[serde(default)]
    pub permanent: bool,
    /// Extra time per hand-off, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer `MAPI_E_NOT_ME` to everything.
    #[serde(default)]
    pub decline: bool,
    /// Answer `END_DONT_RESEND` and call back after this many seconds (0: never defer).
    #[serde(default)]
    pub defer_secs: u64,
}

impl FaultConfig {
    /// True when no fault is set.
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }
}

/// An outbound hook (`ISpoolerHook::OutboundMsgHook`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HookConfig {
    /// Display name.
    pub name: String,
    /// Only messages whose subject starts with this (case-insensitive); none = every message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_prefix: Option<String>,
    /// What the hook does with a matching message.
    pub action: HookAction,
    /// Also set `HOOK_CANCEL` so no later hook runs.
    #[serde(default)]
    pub cancel_chain: bool,
}

/// A hook's effect on the sent copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HookAction {
    /// Replace the target folder (the last replacement wins).
    MoveTo {
        /// Folder name, created if missing.
        folder: String,
    },
    /// `HOOK_DELETE`: delete instead of moving.
    Delete,
    /// Change nothing (with `cancel_chain`, a pure `HOOK_CANCEL`).
    Nothing,
}

/// Postfix-like backoff: the delay doubles from `first_delay_secs` to `max_delay_secs`; after
/// `give_up_after_secs` of trouble the recipients get an NDR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// First delay.
    pub first_delay_secs: u64,
    /// Longest delay.
    pub max_delay_secs: u64,
    /// Give up after this much trouble.
    pub give_up_after_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay_secs: 60,
            max_delay_secs: 3600,
            give_up_after_secs: 5 * 24 * 3600,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`.
    pub fn delay_secs(&self, attempts: u32) -> u64 {
        let shift = attempts.saturating_sub(1).min(30);
        self.first_delay_secs
            .saturating_mul(1u64 << shift)
            .min(self.max_delay_secs)
            .max(1)
    }
}
