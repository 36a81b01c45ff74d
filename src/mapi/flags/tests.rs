use super::*;

const ALL_KINDS: [FlagKind; 18] = [
    FlagKind::None,
    FlagKind::MessageFlags,
    FlagKind::SubmitFlags,
    FlagKind::RecipientType,
    FlagKind::StatusCode,
    FlagKind::ResourceMethods,
    FlagKind::ResourceFlags,
    FlagKind::ResourceType,
    FlagKind::NdrReason,
    FlagKind::NdrDiag,
    FlagKind::Priority,
    FlagKind::DeferredSendUnits,
    FlagKind::MsgStatus,
    FlagKind::HookFlags,
    FlagKind::EndMessage,
    FlagKind::TransportNotify,
    FlagKind::SpoolerNotify,
    FlagKind::ObjectType,
];

#[test]
fn reference_values() {
    assert_eq!(MSGFLAG_READ, 0x1);
    assert_eq!(MSGFLAG_SUBMIT, 0x4);
    assert_eq!(MSGFLAG_UNSENT, 0x8);
    assert_eq!(MSGFLAG_RESEND, 0x80);
    assert_eq!(MSGFLAG_NRN_PENDING, 0x200);
    assert_eq!(SUBMITFLAG_LOCKED, 0x1);
    assert_eq!(SUBMITFLAG_PREPROCESS, 0x2);
    assert_eq!(MAPI_P1, 0x1000_0000);
    assert_eq!(MAPI_SUBMITTED, 0x8000_0000);
    assert_eq!(END_RESEND_NOW, 0x0001_0000);
    assert_eq!(END_RESEND_LATER, 0x0002_0000);
    assert_eq!(END_DONT_RESEND, 0x0004_0000);
    assert_eq!(NOTIFY_SENTDEFERRED, 0x4);
    assert_eq!(NOTIFY_CRITICAL_ERROR, 0x1000_0000);
    assert_eq!(NOTIFY_ABORT_DEFERRED, 0x4000_0000);
    assert_eq!(NOTIFY_CANCEL_MESSAGE, 0x8000_0000);
    assert_eq!(HOOK_DELETE, 0x1);
    assert_eq!(HOOK_CANCEL, 0x2);
    assert_eq!(HOOK_OUTBOUND, 0x400);
    assert_eq!(STATUS_OUTBOUND_ENABLED, 0x0010_0000);
    assert_eq!(STATUS_OUTBOUND_FLUSH, 0x0040_0000);
    assert_eq!(STATUS_XP_PREFER_LAST, 0x10);
    assert_eq!(MAPI_TRANSPORT_PROVIDER, 36);
    assert_eq!(MAPI_SPOOLER, 37);
    assert_eq!(MAPI_HOOK_PROVIDER, 40);
    assert_eq!(PRIO_NONURGENT, -1);
    assert_eq!(STATUSROW_UPDATE, 0x1000_0000);
    // mapidefs.h, "Values of PR_NDR_DIAG_CODE".
    assert_eq!(MAPI_DIAG_NO_DIAGNOSTIC, -1);
    assert_eq!(MAPI_DIAG_OR_NAME_UNRECOGNIZED, 0);
    assert_eq!(MAPI_DIAG_NO_BILATERAL_AGREEMENT, 17);
    assert_eq!(MAPI_DIAG_MAIL_ADDRESS_INCORRECT, 32);
    assert_eq!(MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN, 35);
    assert_eq!(MAPI_DIAG_MAIL_REFUSED, 38);
    assert_eq!(MAPI_DIAG_DOWNGRADING_IMPOSSIBLE, 47);
}

#[test]
fn decode_examples_from_the_brief() {
    assert_eq!(
        decode(FlagKind::MessageFlags, 0x0C),
        "MSGFLAG_SUBMIT | MSGFLAG_UNSENT"
    );
    assert_eq!(decode(FlagKind::SubmitFlags, 1), "SUBMITFLAG_LOCKED");
    assert_eq!(
        decode(FlagKind::SubmitFlags, 3),
        "SUBMITFLAG_LOCKED | SUBMITFLAG_PREPROCESS"
    );
    assert_eq!(
        decode(FlagKind::RecipientType, 0x8000_0001),
        "MAPI_TO | MAPI_SUBMITTED"
    );
    assert_eq!(
        decode(FlagKind::RecipientType, 0x1000_0002),
        "MAPI_CC | MAPI_P1"
    );
    assert_eq!(decode(FlagKind::RecipientType, MAPI_BCC), "MAPI_BCC");
    assert_eq!(decode(FlagKind::RecipientType, 0), "MAPI_ORIG");
}

#[test]
fn zero_and_unknown_bits() {
    assert_eq!(decode(FlagKind::MessageFlags, 0), "0");
    assert_eq!(decode(FlagKind::EndMessage, 0), "0");
    assert_eq!(
        decode(FlagKind::MessageFlags, 0x0010_0001),
        "MSGFLAG_READ | 0x00100000"
    );
    assert_eq!(decode(FlagKind::SubmitFlags, 0x4), "0x00000004");
    // Unknown leftover bits collapse into one trailing term.
    assert_eq!(
        decode(FlagKind::SubmitFlags, 0x8000_000D),
        "SUBMITFLAG_LOCKED | 0x8000000C"
    );
    assert_eq!(decode(FlagKind::RecipientType, 7), "7");
}

#[test]
fn ascending_bit_order_regardless_of_table_order() {
    assert_eq!(
        decode(
            FlagKind::TransportNotify,
            NOTIFY_CANCEL_MESSAGE | NOTIFY_ABORT_DEFERRED
        ),
        "NOTIFY_ABORT_DEFERRED | NOTIFY_CANCEL_MESSAGE"
    );
    assert_eq!(
        decode(
            FlagKind::ResourceFlags,
            HOOK_OUTBOUND | STATUS_XP_PREFER_LAST
        ),
        "STATUS_XP_PREFER_LAST | HOOK_OUTBOUND"
    );
    assert_eq!(
        decode(
            FlagKind::StatusCode,
            STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED
        ),
        "STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED"
    );
}

#[test]
fn enumerations() {
    assert_eq!(decode(FlagKind::ResourceType, 37), "MAPI_SPOOLER");
    assert_eq!(decode(FlagKind::ResourceType, 99), "99");
    assert_eq!(
        decode(FlagKind::NdrReason, 1),
        "MAPI_REASON_TRANSFER_IMPOSSIBLE"
    );
    assert_eq!(
        decode(FlagKind::Priority, PRIO_NONURGENT.cast_unsigned()),
        "PRIO_NONURGENT"
    );
    assert_eq!(decode(FlagKind::Priority, 1), "PRIO_URGENT");
    assert_eq!(
        decode(FlagKind::NdrDiag, 35),
        "MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN"
    );
    assert_eq!(
        decode(FlagKind::NdrDiag, MAPI_DIAG_NO_DIAGNOSTIC.cast_unsigned()),
        "MAPI_DIAG_NO_DIAGNOSTIC"
    );
    assert_eq!(decode(FlagKind::NdrDiag, 48), "48");
    assert_eq!(decode(FlagKind::Priority, (-5i32).cast_unsigned()), "-5");
    assert_eq!(decode(FlagKind::DeferredSendUnits, 2), "DEFERRED_SEND_DAYS");
    assert_eq!(decode(FlagKind::ObjectType, MAPI_STATUS), "MAPI_STATUS");
    assert_eq!(decode(FlagKind::None, 0xFFFF_FFFF), "4294967295");
}

#[test]
fn bit_tables_hold_single_distinct_bits_and_unique_names() {
    let bit_kinds = [
        FlagKind::MessageFlags,
        FlagKind::SubmitFlags,
        FlagKind::StatusCode,
        FlagKind::ResourceMethods,
        FlagKind::ResourceFlags,
        FlagKind::MsgStatus,
        FlagKind::HookFlags,
        FlagKind::EndMessage,
        FlagKind::TransportNotify,
        FlagKind::SpoolerNotify,
    ];
    for kind in bit_kinds {
        let table = names(kind);
        assert!(!table.is_empty(), "{kind:?}");
        let mut seen = 0u32;
        for &(bit, name) in table {
            assert_eq!(bit.count_ones(), 1, "{kind:?} {name}");
            assert_eq!(seen & bit, 0, "{kind:?} {name} repeats a bit");
            seen |= bit;
            // Every single named bit decodes to exactly its own name.
            assert_eq!(decode(kind, bit), name);
        }
    }
}

#[test]
fn enumeration_tables_round_trip() {
    for kind in ALL_KINDS {
        let mut names_seen = std::collections::HashSet::new();
        for &(value, name) in names(kind) {
            assert!(names_seen.insert(name), "{kind:?} repeats {name}");
            if matches!(kind, FlagKind::RecipientType) && value >= MAPI_P1 {
                continue;
            }
            assert_eq!(decode(kind, value), name, "{kind:?}");
        }
    }
}

#[test]
fn flag_docs_cover_the_pipeline_flags() {
    for name in [
        "MSGFLAG_SUBMIT",
        "MSGFLAG_UNSENT",
        "MSGFLAG_RESEND",
        "MSGFLAG_READ",
        "SUBMITFLAG_LOCKED",
        "SUBMITFLAG_PREPROCESS",
        "MAPI_P1",
        "MAPI_SUBMITTED",
        "HOOK_DELETE",
        "HOOK_CANCEL",
        "STATUS_AVAILABLE",
        "STATUS_OFFLINE",
        "STATUS_FAILURE",
        "STATUS_OUTBOUND_ENABLED",
        "STATUS_OUTBOUND_ACTIVE",
        "STATUS_OUTBOUND_FLUSH",
        "END_RESEND_NOW",
        "END_RESEND_LATER",
        "END_DONT_RESEND",
        "BEGIN_DEFERRED",
    ] {
        let doc = flag_doc(name).unwrap_or_default();
        assert!(doc.ends_with('.'), "{name}: {doc:?}");
    }
    assert_eq!(flag_doc("MSGFLAG_NOPE"), None);
}

#[test]
fn rop_values() {
    assert_eq!(rop::ROP_SUBMIT_MESSAGE, 0x32);
    assert_eq!(rop::ROP_SPOOLER_LOCK_MESSAGE, 0x48);
    assert_eq!(rop::LST_FINISHED, 2);
}
