//! Decoding flag words and enumerations into names for display, and the flags' tooltips.

#[allow(
    clippy::wildcard_imports,
    reason = "the tables name nearly every constant"
)]
use super::constants::*;
use super::diag::NDR_DIAGS;

/// How a numeric property value (or a flag word passed to a pipeline call) is decoded for
/// display; see [`decode`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FlagKind {
    /// Not decoded: shown as a plain decimal number.
    None,
    /// `PR_MESSAGE_FLAGS` bits (`MSGFLAG_*`).
    MessageFlags,
    /// `PR_SUBMIT_FLAGS` bits (`SUBMITFLAG_*`).
    SubmitFlags,
    /// `PR_RECIPIENT_TYPE`: an enumeration (`MAPI_ORIG`/`TO`/`CC`/`BCC`) plus the `MAPI_P1` and
    /// `MAPI_SUBMITTED` bits.
    RecipientType,
    /// `PR_STATUS_CODE` bits of a status-table row (`STATUS_AVAILABLE`, …).
    StatusCode,
    /// `PR_RESOURCE_METHODS` bits (`STATUS_VALIDATE_STATE`, …).
    ResourceMethods,
    /// `PR_RESOURCE_FLAGS` bits (`STATUS_DEFAULT_OUTBOUND`, …, `HOOK_INBOUND`, …).
    ResourceFlags,
    /// `PR_RESOURCE_TYPE` enumeration (`MAPI_SPOOLER`, `MAPI_TRANSPORT_PROVIDER`, …).
    ResourceType,
    /// `PR_NDR_REASON_CODE` enumeration (`MAPI_REASON_*`).
    NdrReason,
    /// `PR_NDR_DIAG_CODE` enumeration (`MAPI_DIAG_*`), a signed value.
    NdrDiag,
    /// `PR_PRIORITY` enumeration (`PRIO_*`), a signed value.
    Priority,
    /// `PR_DEFERRED_SEND_UNITS` enumeration (minutes, hours, days, weeks).
    DeferredSendUnits,
    /// `PR_MSG_STATUS` bits (`MSGSTATUS_*`).
    MsgStatus,
    /// `ISpoolerHook` flags (`HOOK_DELETE`, `HOOK_CANCEL`, and the profile bits `HOOK_INBOUND`,
    /// `HOOK_OUTBOUND`).
    HookFlags,
    /// `IXPLogon::EndMessage` output bits (`END_*`); zero means "sent".
    EndMessage,
    /// `IXPLogon::TransportNotify` bits (`NOTIFY_BEGIN_*`, `NOTIFY_END_*`, …).
    TransportNotify,
    /// `IMAPISupport::SpoolerNotify` bits (`NOTIFY_READYTOSEND`, `NOTIFY_SENTDEFERRED`, …).
    SpoolerNotify,
    /// `PR_OBJECT_TYPE` enumeration (`MAPI_MESSAGE`, `MAPI_STATUS`, …).
    ObjectType,
}

// ---------------------------------------------------------------------------------------------
// Decoding tables. Bit tables hold single bits only (checked by a test), in any order.

const MESSAGE_FLAGS: &[(u32, &str)] = &[
    (MSGFLAG_READ, "MSGFLAG_READ"),
    (MSGFLAG_UNMODIFIED, "MSGFLAG_UNMODIFIED"),
    (MSGFLAG_SUBMIT, "MSGFLAG_SUBMIT"),
    (MSGFLAG_UNSENT, "MSGFLAG_UNSENT"),
    (MSGFLAG_HASATTACH, "MSGFLAG_HASATTACH"),
    (MSGFLAG_FROMME, "MSGFLAG_FROMME"),
    (MSGFLAG_ASSOCIATED, "MSGFLAG_ASSOCIATED"),
    (MSGFLAG_RESEND, "MSGFLAG_RESEND"),
    (MSGFLAG_RN_PENDING, "MSGFLAG_RN_PENDING"),
    (MSGFLAG_NRN_PENDING, "MSGFLAG_NRN_PENDING"),
    (MSGFLAG_ORIGIN_X400, "MSGFLAG_ORIGIN_X400"),
    (MSGFLAG_ORIGIN_INTERNET, "MSGFLAG_ORIGIN_INTERNET"),
    (MSGFLAG_ORIGIN_MISC_EXT, "MSGFLAG_ORIGIN_MISC_EXT"),
];

const SUBMIT_FLAGS: &[(u32, &str)] = &[
    (SUBMITFLAG_LOCKED, "SUBMITFLAG_LOCKED"),
    (SUBMITFLAG_PREPROCESS, "SUBMITFLAG_PREPROCESS"),
];

const RECIPIENT_TYPES: &[(u32, &str)] = &[
    (MAPI_ORIG, "MAPI_ORIG"),
    (MAPI_TO, "MAPI_TO"),
    (MAPI_CC, "MAPI_CC"),
    (MAPI_BCC, "MAPI_BCC"),
];

/// The bits of `PR_RECIPIENT_TYPE` that are flags rather than part of the enumeration.
const RECIPIENT_TYPE_BITS: &[(u32, &str)] =
    &[(MAPI_P1, "MAPI_P1"), (MAPI_SUBMITTED, "MAPI_SUBMITTED")];

const STATUS_CODES: &[(u32, &str)] = &[
    (STATUS_AVAILABLE, "STATUS_AVAILABLE"),
    (STATUS_OFFLINE, "STATUS_OFFLINE"),
    (STATUS_FAILURE, "STATUS_FAILURE"),
    (STATUS_INBOUND_ENABLED, "STATUS_INBOUND_ENABLED"),
    (STATUS_INBOUND_ACTIVE, "STATUS_INBOUND_ACTIVE"),
    (STATUS_INBOUND_FLUSH, "STATUS_INBOUND_FLUSH"),
    (STATUS_OUTBOUND_ENABLED, "STATUS_OUTBOUND_ENABLED"),
    (STATUS_OUTBOUND_ACTIVE, "STATUS_OUTBOUND_ACTIVE"),
    (STATUS_OUTBOUND_FLUSH, "STATUS_OUTBOUND_FLUSH"),
    (STATUS_REMOTE_ACCESS, "STATUS_REMOTE_ACCESS"),
];

const RESOURCE_METHODS: &[(u32, &str)] = &[
    (STATUS_VALIDATE_STATE, "STATUS_VALIDATE_STATE"),
    (STATUS_SETTINGS_DIALOG, "STATUS_SETTINGS_DIALOG"),
    (STATUS_CHANGE_PASSWORD, "STATUS_CHANGE_PASSWORD"),
    (STATUS_FLUSH_QUEUES, "STATUS_FLUSH_QUEUES"),
];

const RESOURCE_FLAGS: &[(u32, &str)] = &[
    (STATUS_DEFAULT_OUTBOUND, "STATUS_DEFAULT_OUTBOUND"),
    (STATUS_DEFAULT_STORE, "STATUS_DEFAULT_STORE"),
    (STATUS_PRIMARY_IDENTITY, "STATUS_PRIMARY_IDENTITY"),
    (STATUS_SIMPLE_STORE, "STATUS_SIMPLE_STORE"),
    (STATUS_XP_PREFER_LAST, "STATUS_XP_PREFER_LAST"),
    (STATUS_NO_PRIMARY_IDENTITY, "STATUS_NO_PRIMARY_IDENTITY"),
    (STATUS_NO_DEFAULT_STORE, "STATUS_NO_DEFAULT_STORE"),
    (STATUS_TEMP_SECTION, "STATUS_TEMP_SECTION"),
    (STATUS_OWN_STORE, "STATUS_OWN_STORE"),
    (HOOK_INBOUND, "HOOK_INBOUND"),
    (HOOK_OUTBOUND, "HOOK_OUTBOUND"),
    (STATUS_NEED_IPM_TREE, "STATUS_NEED_IPM_TREE"),
    (STATUS_PRIMARY_STORE, "STATUS_PRIMARY_STORE"),
    (STATUS_SECONDARY_STORE, "STATUS_SECONDARY_STORE"),
];

const RESOURCE_TYPES: &[(u32, &str)] = &[
    (MAPI_STORE_PROVIDER, "MAPI_STORE_PROVIDER"),
    (MAPI_AB, "MAPI_AB"),
    (MAPI_AB_PROVIDER, "MAPI_AB_PROVIDER"),
    (MAPI_TRANSPORT_PROVIDER, "MAPI_TRANSPORT_PROVIDER"),
    (MAPI_SPOOLER, "MAPI_SPOOLER"),
    (MAPI_PROFILE_PROVIDER, "MAPI_PROFILE_PROVIDER"),
    (MAPI_SUBSYSTEM, "MAPI_SUBSYSTEM"),
    (MAPI_HOOK_PROVIDER, "MAPI_HOOK_PROVIDER"),
];

const NDR_REASONS: &[(u32, &str)] = &[
    (MAPI_REASON_TRANSFER_FAILED, "MAPI_REASON_TRANSFER_FAILED"),
    (
        MAPI_REASON_TRANSFER_IMPOSSIBLE,
        "MAPI_REASON_TRANSFER_IMPOSSIBLE",
    ),
    (
        MAPI_REASON_CONVERSION_NOT_PERFORMED,
        "MAPI_REASON_CONVERSION_NOT_PERFORMED",
    ),
    (
        MAPI_REASON_PHYSICAL_RENDITN_NOT_DONE,
        "MAPI_REASON_PHYSICAL_RENDITN_NOT_DONE",
    ),
    (
        MAPI_REASON_PHYSICAL_DELIV_NOT_DONE,
        "MAPI_REASON_PHYSICAL_DELIV_NOT_DONE",
    ),
    (
        MAPI_REASON_RESTRICTED_DELIVERY,
        "MAPI_REASON_RESTRICTED_DELIVERY",
    ),
    (
        MAPI_REASON_DIRECTORY_OPERATN_FAILED,
        "MAPI_REASON_DIRECTORY_OPERATN_FAILED",
    ),
];

// PR_PRIORITY is a signed LONG; the table keeps its bit pattern so every table has one type.
const PRIORITIES: &[(u32, &str)] = &[
    (PRIO_NONURGENT.cast_unsigned(), "PRIO_NONURGENT"),
    (PRIO_NORMAL as u32, "PRIO_NORMAL"),
    (PRIO_URGENT as u32, "PRIO_URGENT"),
];

const DEFERRED_SEND_UNITS: &[(u32, &str)] = &[
    (DEFERRED_SEND_MINUTES, "DEFERRED_SEND_MINUTES"),
    (DEFERRED_SEND_HOURS, "DEFERRED_SEND_HOURS"),
    (DEFERRED_SEND_DAYS, "DEFERRED_SEND_DAYS"),
    (DEFERRED_SEND_WEEKS, "DEFERRED_SEND_WEEKS"),
];

const MSG_STATUS: &[(u32, &str)] = &[
    (MSGSTATUS_HIGHLIGHTED, "MSGSTATUS_HIGHLIGHTED"),
    (MSGSTATUS_TAGGED, "MSGSTATUS_TAGGED"),
    (MSGSTATUS_HIDDEN, "MSGSTATUS_HIDDEN"),
    (MSGSTATUS_DELMARKED, "MSGSTATUS_DELMARKED"),
    (MSGSTATUS_DRAFT, "MSGSTATUS_DRAFT"),
    (MSGSTATUS_ANSWERED, "MSGSTATUS_ANSWERED"),
    (MSGSTATUS_REMOTE_DOWNLOAD, "MSGSTATUS_REMOTE_DOWNLOAD"),
    (MSGSTATUS_REMOTE_DELETE, "MSGSTATUS_REMOTE_DELETE"),
];

const HOOK_FLAGS: &[(u32, &str)] = &[
    (HOOK_DELETE, "HOOK_DELETE"),
    (HOOK_CANCEL, "HOOK_CANCEL"),
    (HOOK_INBOUND, "HOOK_INBOUND"),
    (HOOK_OUTBOUND, "HOOK_OUTBOUND"),
];

const END_MESSAGE: &[(u32, &str)] = &[
    (END_RESEND_NOW, "END_RESEND_NOW"),
    (END_RESEND_LATER, "END_RESEND_LATER"),
    (END_DONT_RESEND, "END_DONT_RESEND"),
];

const TRANSPORT_NOTIFY: &[(u32, &str)] = &[
    (NOTIFY_BEGIN_INBOUND, "NOTIFY_BEGIN_INBOUND"),
    (NOTIFY_BEGIN_OUTBOUND, "NOTIFY_BEGIN_OUTBOUND"),
    (NOTIFY_BEGIN_INBOUND_FLUSH, "NOTIFY_BEGIN_INBOUND_FLUSH"),
    (NOTIFY_BEGIN_OUTBOUND_FLUSH, "NOTIFY_BEGIN_OUTBOUND_FLUSH"),
    (NOTIFY_END_INBOUND, "NOTIFY_END_INBOUND"),
    (NOTIFY_END_OUTBOUND, "NOTIFY_END_OUTBOUND"),
    (NOTIFY_END_INBOUND_FLUSH, "NOTIFY_END_INBOUND_FLUSH"),
    (NOTIFY_END_OUTBOUND_FLUSH, "NOTIFY_END_OUTBOUND_FLUSH"),
    (NOTIFY_ABORT_DEFERRED, "NOTIFY_ABORT_DEFERRED"),
    (NOTIFY_CANCEL_MESSAGE, "NOTIFY_CANCEL_MESSAGE"),
];

const SPOOLER_NOTIFY: &[(u32, &str)] = &[
    (NOTIFY_NEWMAIL, "NOTIFY_NEWMAIL"),
    (NOTIFY_READYTOSEND, "NOTIFY_READYTOSEND"),
    (NOTIFY_SENTDEFERRED, "NOTIFY_SENTDEFERRED"),
    (NOTIFY_CRITSEC, "NOTIFY_CRITSEC"),
    (NOTIFY_NONCRIT, "NOTIFY_NONCRIT"),
    (NOTIFY_CONFIG_CHANGE, "NOTIFY_CONFIG_CHANGE"),
    (NOTIFY_CRITICAL_ERROR, "NOTIFY_CRITICAL_ERROR"),
    (NOTIFY_NEWMAIL_RECEIVED, "NOTIFY_NEWMAIL_RECEIVED"),
];

const OBJECT_TYPES: &[(u32, &str)] = &[
    (MAPI_STORE, "MAPI_STORE"),
    (MAPI_ADDRBOOK, "MAPI_ADDRBOOK"),
    (MAPI_FOLDER, "MAPI_FOLDER"),
    (MAPI_ABCONT, "MAPI_ABCONT"),
    (MAPI_MESSAGE, "MAPI_MESSAGE"),
    (MAPI_MAILUSER, "MAPI_MAILUSER"),
    (MAPI_ATTACH, "MAPI_ATTACH"),
    (MAPI_DISTLIST, "MAPI_DISTLIST"),
    (MAPI_PROFSECT, "MAPI_PROFSECT"),
    (MAPI_STATUS, "MAPI_STATUS"),
    (MAPI_SESSION, "MAPI_SESSION"),
    (MAPI_FORMINFO, "MAPI_FORMINFO"),
];

/// The named values [`decode`] knows for `kind`, as `(value, name)` pairs; e.g. for a UI that
/// lists every bit of a flag word with a check box.
///
/// For [`FlagKind::RecipientType`] these are the enumeration values followed by the `MAPI_P1`
/// and `MAPI_SUBMITTED` bits; for [`FlagKind::Priority`] the values are the `i32` bit patterns.
/// [`FlagKind::None`] has none.
pub fn names(kind: FlagKind) -> &'static [(u32, &'static str)] {
    const RECIPIENT_TYPE_ALL: &[(u32, &str)] = &[
        (MAPI_ORIG, "MAPI_ORIG"),
        (MAPI_TO, "MAPI_TO"),
        (MAPI_CC, "MAPI_CC"),
        (MAPI_BCC, "MAPI_BCC"),
        (MAPI_P1, "MAPI_P1"),
        (MAPI_SUBMITTED, "MAPI_SUBMITTED"),
    ];
    match kind {
        FlagKind::None => &[],
        FlagKind::MessageFlags => MESSAGE_FLAGS,
        FlagKind::SubmitFlags => SUBMIT_FLAGS,
        FlagKind::RecipientType => RECIPIENT_TYPE_ALL,
        FlagKind::StatusCode => STATUS_CODES,
        FlagKind::ResourceMethods => RESOURCE_METHODS,
        FlagKind::ResourceFlags => RESOURCE_FLAGS,
        FlagKind::ResourceType => RESOURCE_TYPES,
        FlagKind::NdrReason => NDR_REASONS,
        FlagKind::NdrDiag => NDR_DIAGS,
        FlagKind::Priority => PRIORITIES,
        FlagKind::DeferredSendUnits => DEFERRED_SEND_UNITS,
        FlagKind::MsgStatus => MSG_STATUS,
        FlagKind::HookFlags => HOOK_FLAGS,
        FlagKind::EndMessage => END_MESSAGE,
        FlagKind::TransportNotify => TRANSPORT_NOTIFY,
        FlagKind::SpoolerNotify => SPOOLER_NOTIFY,
        FlagKind::ObjectType => OBJECT_TYPES,
    }
}

/// Renders `value` the way MFCMAPI's property pane does, so the simulator's view of a message
/// reads like the real tool's.
///
/// * Bit sets: the names of the set bits joined with `" | "` in ascending bit order, unknown
///   leftover bits as one trailing hex term (`"MSGFLAG_READ | 0x00100000"`); zero is `"0"`.
/// * Enumerations (`ResourceType`, `NdrReason`, `NdrDiag` and `Priority` read as `i32`,
///   `DeferredSendUnits`,
///   `ObjectType`): the value's name, else the decimal number.
/// * `RecipientType`: the enumeration name of the low part followed by the `MAPI_P1` /
///   `MAPI_SUBMITTED` bits (`0x80000001` → `"MAPI_TO | MAPI_SUBMITTED"`).
/// * `None`: the decimal number.
pub fn decode(kind: FlagKind, value: u32) -> String {
    match kind {
        FlagKind::None => value.to_string(),
        FlagKind::MessageFlags => decode_bits(MESSAGE_FLAGS, value),
        FlagKind::SubmitFlags => decode_bits(SUBMIT_FLAGS, value),
        FlagKind::StatusCode => decode_bits(STATUS_CODES, value),
        FlagKind::ResourceMethods => decode_bits(RESOURCE_METHODS, value),
        FlagKind::ResourceFlags => decode_bits(RESOURCE_FLAGS, value),
        FlagKind::MsgStatus => decode_bits(MSG_STATUS, value),
        FlagKind::HookFlags => decode_bits(HOOK_FLAGS, value),
        FlagKind::EndMessage => decode_bits(END_MESSAGE, value),
        FlagKind::TransportNotify => decode_bits(TRANSPORT_NOTIFY, value),
        FlagKind::SpoolerNotify => decode_bits(SPOOLER_NOTIFY, value),
        FlagKind::ResourceType => decode_enum(RESOURCE_TYPES, value),
        FlagKind::NdrReason => decode_enum(NDR_REASONS, value),
        FlagKind::DeferredSendUnits => decode_enum(DEFERRED_SEND_UNITS, value),
        FlagKind::ObjectType => decode_enum(OBJECT_TYPES, value),
        FlagKind::NdrDiag => match name_of(NDR_DIAGS, value) {
            Some(name) => name.to_owned(),
            None => value.cast_signed().to_string(),
        },
        FlagKind::Priority => match name_of(PRIORITIES, value) {
            Some(name) => name.to_owned(),
            // The bit pattern is reinterpreted on purpose: PR_PRIORITY is a signed LONG.
            None => value.cast_signed().to_string(),
        },
        FlagKind::RecipientType => {
            let flag_bits = MAPI_P1 | MAPI_SUBMITTED;
            let mut out = decode_enum(RECIPIENT_TYPES, value & !flag_bits);
            for &(bit, name) in RECIPIENT_TYPE_BITS {
                if value & bit != 0 {
                    out.push_str(" | ");
                    out.push_str(name);
                }
            }
            out
        }
    }
}

fn name_of(table: &[(u32, &'static str)], value: u32) -> Option<&'static str> {
    table
        .iter()
        .find(|&&(v, _)| v == value)
        .map(|&(_, name)| name)
}

fn decode_enum(table: &[(u32, &'static str)], value: u32) -> String {
    name_of(table, value).map_or_else(|| value.to_string(), str::to_owned)
}

fn decode_bits(table: &[(u32, &'static str)], value: u32) -> String {
    if value == 0 {
        return "0".to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut unknown = 0u32;
    for bit in (0..32).map(|shift| 1u32 << shift) {
        if value & bit == 0 {
            continue;
        }
        match name_of(table, bit) {
            Some(name) => parts.push(name.to_owned()),
            None => unknown |= bit,
        }
    }
    if unknown != 0 {
        parts.push(format!("0x{unknown:08X}"));
    }
    parts.join(" | ")
}

/// One-sentence tooltip for the flags that matter most when watching the pipeline, by constant
/// name (`"MSGFLAG_SUBMIT"`); `None` for names without a tooltip.
pub fn flag_doc(name: &str) -> Option<&'static str> {
    // Sentences paraphrase reference §a.1–a.7 and b.1–b.3.
    let doc = match name {
        "MSGFLAG_READ" => {
            "The message is marked as read; the sample store also sets it when a sent message is finished."
        }
        "MSGFLAG_UNSENT" => {
            "The message has not been sent yet: set on drafts and kept while it is submitted, cleared when the spooler finishes it."
        }
        "MSGFLAG_SUBMIT" => {
            "The message has been submitted and sits in the outgoing queue; clients can no longer edit it, only abort the submission."
        }
        "MSGFLAG_RESEND" => {
            "The message resends a message that could not be delivered, so only the recipients that failed are transmitted again."
        }
        "SUBMITFLAG_LOCKED" => {
            "The spooler has locked the message for sending; from now on AbortSubmit fails and clients cannot open it."
        }
        "SUBMITFLAG_PREPROCESS" => {
            "The message still has to run through the transports' preprocessors before any transport sees it."
        }
        "MAPI_P1" => {
            "An envelope-only copy of a recipient added on resend to force retransmission; it is never shown as a visible recipient."
        }
        "MAPI_SUBMITTED" => {
            "This recipient already received the message; on resend it is shown but not sent again."
        }
        "HOOK_DELETE" => {
            "The hook asks the spooler to delete the sent message instead of moving it."
        }
        "HOOK_CANCEL" => "The hook asks the spooler to call no further hooks for this message.",
        "STATUS_AVAILABLE" => "The provider is logged on and available.",
        "STATUS_OFFLINE" => "The provider is working offline.",
        "STATUS_FAILURE" => "The provider has failed and cannot do its work.",
        "STATUS_OUTBOUND_ENABLED" => {
            "The transport accepts outgoing messages (the spooler sent NOTIFY_BEGIN_OUTBOUND)."
        }
        "STATUS_OUTBOUND_ACTIVE" => {
            "The transport is sending a message right now and will refuse another one as busy."
        }
        "STATUS_OUTBOUND_FLUSH" => {
            "The transport asked the spooler to hand it its whole outgoing queue now (send now)."
        }
        "END_RESEND_NOW" => "The transport wants the message handed to it again right away.",
        "END_RESEND_LATER" => {
            "The transport did not send the message now, without an error; the spooler retries later."
        }
        "END_DONT_RESEND" => {
            "The transport kept the message to send later and will tell the spooler when it may be re-offered."
        }
        "BEGIN_DEFERRED" => {
            "The spooler is re-offering a message the transport deferred earlier, after it announced NOTIFY_SENTDEFERRED."
        }
        _ => return None,
    };
    Some(doc)
}
