//! `PR_NDR_DIAG_CODE` values (reference b.2): `MAPI_DIAG(n)` in `mapidefs.h` ("Values of
//! `PR_NDR_DIAG_CODE`"), the X.400 diagnostic codes, and their names for display.

/// NDR diagnostic `MAPI_DIAG(-1)`: no diagnostic.
pub const MAPI_DIAG_NO_DIAGNOSTIC: i32 = -1;
/// NDR diagnostic `MAPI_DIAG(0)`: O/R name unrecognized.
pub const MAPI_DIAG_OR_NAME_UNRECOGNIZED: i32 = 0;
/// NDR diagnostic `MAPI_DIAG(1)`: O/R name ambiguous.
pub const MAPI_DIAG_OR_NAME_AMBIGUOUS: i32 = 1;
/// NDR diagnostic `MAPI_DIAG(2)`: message transfer system congested.
pub const MAPI_DIAG_MTS_CONGESTED: i32 = 2;
/// NDR diagnostic `MAPI_DIAG(3)`: loop detected.
pub const MAPI_DIAG_LOOP_DETECTED: i32 = 3;
/// NDR diagnostic `MAPI_DIAG(4)`: recipient unavailable.
pub const MAPI_DIAG_RECIPIENT_UNAVAILABLE: i32 = 4;
/// NDR diagnostic `MAPI_DIAG(5)`: maximum time expired.
pub const MAPI_DIAG_MAXIMUM_TIME_EXPIRED: i32 = 5;
/// NDR diagnostic `MAPI_DIAG(6)`: encoded information types unsupported.
pub const MAPI_DIAG_EITS_UNSUPPORTED: i32 = 6;
/// NDR diagnostic `MAPI_DIAG(7)`: content too long.
pub const MAPI_DIAG_CONTENT_TOO_LONG: i32 = 7;
/// NDR diagnostic `MAPI_DIAG(8)`: impractical to convert.
pub const MAPI_DIAG_IMPRACTICAL_TO_CONVERT: i32 = 8;
/// NDR diagnostic `MAPI_DIAG(9)`: prohibited to convert.
pub const MAPI_DIAG_PROHIBITED_TO_CONVERT: i32 = 9;
/// NDR diagnostic `MAPI_DIAG(10)`: conversion unsubscribed.
pub const MAPI_DIAG_CONVERSION_UNSUBSCRIBED: i32 = 10;
/// NDR diagnostic `MAPI_DIAG(11)`: parameters invalid.
pub const MAPI_DIAG_PARAMETERS_INVALID: i32 = 11;
/// NDR diagnostic `MAPI_DIAG(12)`: content syntax in error.
pub const MAPI_DIAG_CONTENT_SYNTAX_IN_ERROR: i32 = 12;
/// NDR diagnostic `MAPI_DIAG(13)`: length constraint violatd.
pub const MAPI_DIAG_LENGTH_CONSTRAINT_VIOLATD: i32 = 13;
/// NDR diagnostic `MAPI_DIAG(14)`: number constraint violatd.
pub const MAPI_DIAG_NUMBER_CONSTRAINT_VIOLATD: i32 = 14;
/// NDR diagnostic `MAPI_DIAG(15)`: content type unsupported.
pub const MAPI_DIAG_CONTENT_TYPE_UNSUPPORTED: i32 = 15;
/// NDR diagnostic `MAPI_DIAG(16)`: too many recipients.
pub const MAPI_DIAG_TOO_MANY_RECIPIENTS: i32 = 16;
/// NDR diagnostic `MAPI_DIAG(17)`: no bilateral agreement.
pub const MAPI_DIAG_NO_BILATERAL_AGREEMENT: i32 = 17;
/// NDR diagnostic `MAPI_DIAG(18)`: critical func unsupported.
pub const MAPI_DIAG_CRITICAL_FUNC_UNSUPPORTED: i32 = 18;
/// NDR diagnostic `MAPI_DIAG(19)`: conversion loss prohib.
pub const MAPI_DIAG_CONVERSION_LOSS_PROHIB: i32 = 19;
/// NDR diagnostic `MAPI_DIAG(20)`: line too long.
pub const MAPI_DIAG_LINE_TOO_LONG: i32 = 20;
/// NDR diagnostic `MAPI_DIAG(21)`: page too long.
pub const MAPI_DIAG_PAGE_TOO_LONG: i32 = 21;
/// NDR diagnostic `MAPI_DIAG(22)`: pictorial symbol lost.
pub const MAPI_DIAG_PICTORIAL_SYMBOL_LOST: i32 = 22;
/// NDR diagnostic `MAPI_DIAG(23)`: punctuation symbol lost.
pub const MAPI_DIAG_PUNCTUATION_SYMBOL_LOST: i32 = 23;
/// NDR diagnostic `MAPI_DIAG(24)`: alphabetic character lost.
pub const MAPI_DIAG_ALPHABETIC_CHARACTER_LOST: i32 = 24;
/// NDR diagnostic `MAPI_DIAG(25)`: multiple info losses.
pub const MAPI_DIAG_MULTIPLE_INFO_LOSSES: i32 = 25;
/// NDR diagnostic `MAPI_DIAG(26)`: reassignment prohibited.
pub const MAPI_DIAG_REASSIGNMENT_PROHIBITED: i32 = 26;
/// NDR diagnostic `MAPI_DIAG(27)`: redirection loop detected.
pub const MAPI_DIAG_REDIRECTION_LOOP_DETECTED: i32 = 27;
/// NDR diagnostic `MAPI_DIAG(28)`: expansion prohibited.
pub const MAPI_DIAG_EXPANSION_PROHIBITED: i32 = 28;
/// NDR diagnostic `MAPI_DIAG(29)`: submission prohibited.
pub const MAPI_DIAG_SUBMISSION_PROHIBITED: i32 = 29;
/// NDR diagnostic `MAPI_DIAG(30)`: expansion failed.
pub const MAPI_DIAG_EXPANSION_FAILED: i32 = 30;
/// NDR diagnostic `MAPI_DIAG(31)`: rendition unsupported.
pub const MAPI_DIAG_RENDITION_UNSUPPORTED: i32 = 31;
/// NDR diagnostic `MAPI_DIAG(32)`: mail address incorrect.
pub const MAPI_DIAG_MAIL_ADDRESS_INCORRECT: i32 = 32;
/// NDR diagnostic `MAPI_DIAG(33)`: mail office incor or invd.
pub const MAPI_DIAG_MAIL_OFFICE_INCOR_OR_INVD: i32 = 33;
/// NDR diagnostic `MAPI_DIAG(34)`: mail address incomplete.
pub const MAPI_DIAG_MAIL_ADDRESS_INCOMPLETE: i32 = 34;
/// NDR diagnostic `MAPI_DIAG(35)`: mail recipient unknown.
pub const MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN: i32 = 35;
/// NDR diagnostic `MAPI_DIAG(36)`: mail recipient deceased.
pub const MAPI_DIAG_MAIL_RECIPIENT_DECEASED: i32 = 36;
/// NDR diagnostic `MAPI_DIAG(37)`: mail organization expired.
pub const MAPI_DIAG_MAIL_ORGANIZATION_EXPIRED: i32 = 37;
/// NDR diagnostic `MAPI_DIAG(38)`: mail refused.
pub const MAPI_DIAG_MAIL_REFUSED: i32 = 38;
/// NDR diagnostic `MAPI_DIAG(39)`: mail unclaimed.
pub const MAPI_DIAG_MAIL_UNCLAIMED: i32 = 39;
/// NDR diagnostic `MAPI_DIAG(40)`: mail recipient moved.
pub const MAPI_DIAG_MAIL_RECIPIENT_MOVED: i32 = 40;
/// NDR diagnostic `MAPI_DIAG(41)`: mail recipient travelling.
pub const MAPI_DIAG_MAIL_RECIPIENT_TRAVELLING: i32 = 41;
/// NDR diagnostic `MAPI_DIAG(42)`: mail recipient departed.
pub const MAPI_DIAG_MAIL_RECIPIENT_DEPARTED: i32 = 42;
/// NDR diagnostic `MAPI_DIAG(43)`: mail new address unknown.
pub const MAPI_DIAG_MAIL_NEW_ADDRESS_UNKNOWN: i32 = 43;
/// NDR diagnostic `MAPI_DIAG(44)`: mail forwarding unwanted.
pub const MAPI_DIAG_MAIL_FORWARDING_UNWANTED: i32 = 44;
/// NDR diagnostic `MAPI_DIAG(45)`: mail forwarding prohib.
pub const MAPI_DIAG_MAIL_FORWARDING_PROHIB: i32 = 45;
/// NDR diagnostic `MAPI_DIAG(46)`: secure messaging error.
pub const MAPI_DIAG_SECURE_MESSAGING_ERROR: i32 = 46;
/// NDR diagnostic `MAPI_DIAG(47)`: downgrading impossible.
pub const MAPI_DIAG_DOWNGRADING_IMPOSSIBLE: i32 = 47;

// PR_NDR_DIAG_CODE is a signed LONG (MAPI_DIAG_NO_DIAGNOSTIC is -1): bit patterns, as PRIORITIES.
pub(super) const NDR_DIAGS: &[(u32, &str)] = &[
    (
        MAPI_DIAG_NO_DIAGNOSTIC.cast_unsigned(),
        "MAPI_DIAG_NO_DIAGNOSTIC",
    ),
    (
        MAPI_DIAG_OR_NAME_UNRECOGNIZED.cast_unsigned(),
        "MAPI_DIAG_OR_NAME_UNRECOGNIZED",
    ),
    (
        MAPI_DIAG_OR_NAME_AMBIGUOUS.cast_unsigned(),
        "MAPI_DIAG_OR_NAME_AMBIGUOUS",
    ),
    (
        MAPI_DIAG_MTS_CONGESTED.cast_unsigned(),
        "MAPI_DIAG_MTS_CONGESTED",
    ),
    (
        MAPI_DIAG_LOOP_DETECTED.cast_unsigned(),
        "MAPI_DIAG_LOOP_DETECTED",
    ),
    (
        MAPI_DIAG_RECIPIENT_UNAVAILABLE.cast_unsigned(),
        "MAPI_DIAG_RECIPIENT_UNAVAILABLE",
    ),
    (
        MAPI_DIAG_MAXIMUM_TIME_EXPIRED.cast_unsigned(),
        "MAPI_DIAG_MAXIMUM_TIME_EXPIRED",
    ),
    (
        MAPI_DIAG_EITS_UNSUPPORTED.cast_unsigned(),
        "MAPI_DIAG_EITS_UNSUPPORTED",
    ),
    (
        MAPI_DIAG_CONTENT_TOO_LONG.cast_unsigned(),
        "MAPI_DIAG_CONTENT_TOO_LONG",
    ),
    (
        MAPI_DIAG_IMPRACTICAL_TO_CONVERT.cast_unsigned(),
        "MAPI_DIAG_IMPRACTICAL_TO_CONVERT",
    ),
    (
        MAPI_DIAG_PROHIBITED_TO_CONVERT.cast_unsigned(),
        "MAPI_DIAG_PROHIBITED_TO_CONVERT",
    ),
    (
        MAPI_DIAG_CONVERSION_UNSUBSCRIBED.cast_unsigned(),
        "MAPI_DIAG_CONVERSION_UNSUBSCRIBED",
    ),
    (
        MAPI_DIAG_PARAMETERS_INVALID.cast_unsigned(),
        "MAPI_DIAG_PARAMETERS_INVALID",
    ),
    (
        MAPI_DIAG_CONTENT_SYNTAX_IN_ERROR.cast_unsigned(),
        "MAPI_DIAG_CONTENT_SYNTAX_IN_ERROR",
    ),
    (
        MAPI_DIAG_LENGTH_CONSTRAINT_VIOLATD.cast_unsigned(),
        "MAPI_DIAG_LENGTH_CONSTRAINT_VIOLATD",
    ),
    (
        MAPI_DIAG_NUMBER_CONSTRAINT_VIOLATD.cast_unsigned(),
        "MAPI_DIAG_NUMBER_CONSTRAINT_VIOLATD",
    ),
    (
        MAPI_DIAG_CONTENT_TYPE_UNSUPPORTED.cast_unsigned(),
        "MAPI_DIAG_CONTENT_TYPE_UNSUPPORTED",
    ),
    (
        MAPI_DIAG_TOO_MANY_RECIPIENTS.cast_unsigned(),
        "MAPI_DIAG_TOO_MANY_RECIPIENTS",
    ),
    (
        MAPI_DIAG_NO_BILATERAL_AGREEMENT.cast_unsigned(),
        "MAPI_DIAG_NO_BILATERAL_AGREEMENT",
    ),
    (
        MAPI_DIAG_CRITICAL_FUNC_UNSUPPORTED.cast_unsigned(),
        "MAPI_DIAG_CRITICAL_FUNC_UNSUPPORTED",
    ),
    (
        MAPI_DIAG_CONVERSION_LOSS_PROHIB.cast_unsigned(),
        "MAPI_DIAG_CONVERSION_LOSS_PROHIB",
    ),
    (
        MAPI_DIAG_LINE_TOO_LONG.cast_unsigned(),
        "MAPI_DIAG_LINE_TOO_LONG",
    ),
    (
        MAPI_DIAG_PAGE_TOO_LONG.cast_unsigned(),
        "MAPI_DIAG_PAGE_TOO_LONG",
    ),
    (
        MAPI_DIAG_PICTORIAL_SYMBOL_LOST.cast_unsigned(),
        "MAPI_DIAG_PICTORIAL_SYMBOL_LOST",
    ),
    (
        MAPI_DIAG_PUNCTUATION_SYMBOL_LOST.cast_unsigned(),
        "MAPI_DIAG_PUNCTUATION_SYMBOL_LOST",
    ),
    (
        MAPI_DIAG_ALPHABETIC_CHARACTER_LOST.cast_unsigned(),
        "MAPI_DIAG_ALPHABETIC_CHARACTER_LOST",
    ),
    (
        MAPI_DIAG_MULTIPLE_INFO_LOSSES.cast_unsigned(),
        "MAPI_DIAG_MULTIPLE_INFO_LOSSES",
    ),
    (
        MAPI_DIAG_REASSIGNMENT_PROHIBITED.cast_unsigned(),
        "MAPI_DIAG_REASSIGNMENT_PROHIBITED",
    ),
    (
        MAPI_DIAG_REDIRECTION_LOOP_DETECTED.cast_unsigned(),
        "MAPI_DIAG_REDIRECTION_LOOP_DETECTED",
    ),
    (
        MAPI_DIAG_EXPANSION_PROHIBITED.cast_unsigned(),
        "MAPI_DIAG_EXPANSION_PROHIBITED",
    ),
    (
        MAPI_DIAG_SUBMISSION_PROHIBITED.cast_unsigned(),
        "MAPI_DIAG_SUBMISSION_PROHIBITED",
    ),
    (
        MAPI_DIAG_EXPANSION_FAILED.cast_unsigned(),
        "MAPI_DIAG_EXPANSION_FAILED",
    ),
    (
        MAPI_DIAG_RENDITION_UNSUPPORTED.cast_unsigned(),
        "MAPI_DIAG_RENDITION_UNSUPPORTED",
    ),
    (
        MAPI_DIAG_MAIL_ADDRESS_INCORRECT.cast_unsigned(),
        "MAPI_DIAG_MAIL_ADDRESS_INCORRECT",
    ),
    (
        MAPI_DIAG_MAIL_OFFICE_INCOR_OR_INVD.cast_unsigned(),
        "MAPI_DIAG_MAIL_OFFICE_INCOR_OR_INVD",
    ),
    (
        MAPI_DIAG_MAIL_ADDRESS_INCOMPLETE.cast_unsigned(),
        "MAPI_DIAG_MAIL_ADDRESS_INCOMPLETE",
    ),
    (
        MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN.cast_unsigned(),
        "MAPI_DIAG_MAIL_RECIPIENT_UNKNOWN",
    ),
    (
        MAPI_DIAG_MAIL_RECIPIENT_DECEASED.cast_unsigned(),
        "MAPI_DIAG_MAIL_RECIPIENT_DECEASED",
    ),
    (
        MAPI_DIAG_MAIL_ORGANIZATION_EXPIRED.cast_unsigned(),
        "MAPI_DIAG_MAIL_ORGANIZATION_EXPIRED",
    ),
    (
        MAPI_DIAG_MAIL_REFUSED.cast_unsigned(),
        "MAPI_DIAG_MAIL_REFUSED",
    ),
    (
        MAPI_DIAG_MAIL_UNCLAIMED.cast_unsigned(),
        "MAPI_DIAG_MAIL_UNCLAIMED",
    ),
    (
        MAPI_DIAG_MAIL_RECIPIENT_MOVED.cast_unsigned(),
        "MAPI_DIAG_MAIL_RECIPIENT_MOVED",
    ),
    (
        MAPI_DIAG_MAIL_RECIPIENT_TRAVELLING.cast_unsigned(),
        "MAPI_DIAG_MAIL_RECIPIENT_TRAVELLING",
    ),
    (
        MAPI_DIAG_MAIL_RECIPIENT_DEPARTED.cast_unsigned(),
        "MAPI_DIAG_MAIL_RECIPIENT_DEPARTED",
    ),
    (
        MAPI_DIAG_MAIL_NEW_ADDRESS_UNKNOWN.cast_unsigned(),
        "MAPI_DIAG_MAIL_NEW_ADDRESS_UNKNOWN",
    ),
    (
        MAPI_DIAG_MAIL_FORWARDING_UNWANTED.cast_unsigned(),
        "MAPI_DIAG_MAIL_FORWARDING_UNWANTED",
    ),
    (
        MAPI_DIAG_MAIL_FORWARDING_PROHIB.cast_unsigned(),
        "MAPI_DIAG_MAIL_FORWARDING_PROHIB",
    ),
    (
        MAPI_DIAG_SECURE_MESSAGING_ERROR.cast_unsigned(),
        "MAPI_DIAG_SECURE_MESSAGING_ERROR",
    ),
    (
        MAPI_DIAG_DOWNGRADING_IMPOSSIBLE.cast_unsigned(),
        "MAPI_DIAG_DOWNGRADING_IMPOSSIBLE",
    ),
];
