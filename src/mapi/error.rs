//! The `HRESULT`/`SCODE` values the send pipeline returns, and an error type carrying one.
//!
//! Codes and where they arise are from `shared/reference/mapi-pipeline.md` §b.4
//! (`mapicode.h`, cross-checked with `OpenChange` `mapi-codes`); the general failures
//! (`MAPI_E_CALL_FAILED`, `MAPI_E_INVALID_PARAMETER`, …) carry their `mapicode.h` values.

use std::fmt;

/// A MAPI result code the simulator can produce or show.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum MapiCode {
    /// `MAPI_E_NO_SUPPORT`: e.g. a client called a spooler-only store method.
    NoSupport,
    /// `MAPI_E_BUSY`: a transport is busy and did nothing; retry later.
    Busy,
    /// `MAPI_E_NOT_FOUND`: e.g. an unknown transport in the transport order.
    NotFound,
    /// `MAPI_E_USER_CANCEL`: a transport stopped after the spooler cancelled the message.
    UserCancel,
    /// `MAPI_E_UNABLE_TO_ABORT`: `AbortSubmit` on a message the spooler has locked.
    UnableToAbort,
    /// `MAPI_E_CORRUPT_DATA`: data was lost during submission; rewrite and retry once.
    CorruptData,
    /// `MAPI_E_UNCONFIGURED`: the provider must be configured before it can log on.
    Unconfigured,
    /// `MAPI_E_FAILONEPROVIDER`: this provider failed to log on; the rest of its service is kept.
    FailOneProvider,
    /// `MAPI_W_ERRORS_RETURNED` (a warning): `StatusRecips` partly succeeded; treat as success.
    ErrorsReturned,
    /// `MAPI_E_WAIT`: transport has a temporary problem; retry after the returned delay.
    Wait,
    /// `MAPI_E_CANCEL`: a transport that asked for a resend no longer wants it.
    Cancel,
    /// `MAPI_E_NOT_ME`: the transport will not take the message; try the next transport.
    NotMe,
    /// `MAPI_W_CANCEL_MESSAGE` (a warning): `SpoolerYield` tells the transport to stop.
    CancelMessage,
    /// `MAPI_E_CORRUPT_STORE`: e.g. a submitted message without `PR_SUBMIT_FLAGS`.
    CorruptStore,
    /// `MAPI_E_NOT_IN_QUEUE`: the message is not in the outgoing queue.
    NotInQueue,
    /// `MAPI_E_NO_RECIPIENTS`: submitted with an empty recipient table.
    NoRecipients,
    /// `MAPI_E_SUBMITTED`: opening a queued message for writing, or deleting it.
    Submitted,
    /// `MAPI_E_NO_ACCESS`: opening a message the spooler has locked.
    NoAccess,
    /// `MAPI_E_NETWORK_ERROR`: transport network failure; retry after the returned delay.
    NetworkError,
    /// `MAPI_E_OBJECT_DELETED`: e.g. `PR_SPOOLER_STATUS` after a hook deleted the message.
    ObjectDeleted,
    /// `ecNoDelSubmitMsg`: Exchange's wire-level refusal to delete a submitted message.
    NoDelSubmitMsg,
    /// `MAPI_E_INVALID_PARAMETER`: a call got an invalid argument.
    InvalidParameter,
    /// `MAPI_E_NOT_ENOUGH_MEMORY`: out of memory.
    NotEnoughMemory,
    /// `MAPI_E_CALL_FAILED`: unspecified failure.
    CallFailed,
    /// `MAPI_E_COLLISION`: the name or entry is already in use.
    Collision,
    /// `MAPI_E_BAD_VALUE`: a property value is not acceptable.
    BadValue,
    /// `MAPI_E_INVALID_ENTRYID`: an entry id does not name a valid object.
    InvalidEntryId,
    /// `MAPI_E_DISK_ERROR`: the store could not read or write its files.
    DiskError,
    /// `MAPI_E_OBJECT_CHANGED`: the object changed since it was opened (a stale editor).
    ObjectChanged,
}

/// Every code, in the order of the reference's table followed by the general failures.
const ALL: [MapiCode; 29] = [
    MapiCode::NoSupport,
    MapiCode::Busy,
    MapiCode::NotFound,
    MapiCode::UserCancel,
    MapiCode::UnableToAbort,
    MapiCode::CorruptData,
    MapiCode::Unconfigured,
    MapiCode::FailOneProvider,
    MapiCode::ErrorsReturned,
    MapiCode::Wait,
    MapiCode::Cancel,
    MapiCode::NotMe,
    MapiCode::CancelMessage,
    MapiCode::CorruptStore,
    MapiCode::NotInQueue,
    MapiCode::NoRecipients,
    MapiCode::Submitted,
    MapiCode::NoAccess,
    MapiCode::NetworkError,
    MapiCode::ObjectDeleted,
    MapiCode::NoDelSubmitMsg,
    MapiCode::InvalidParameter,
    MapiCode::NotEnoughMemory,
    MapiCode::CallFailed,
    MapiCode::Collision,
    MapiCode::BadValue,
    MapiCode::InvalidEntryId,
    MapiCode::DiskError,
    MapiCode::ObjectChanged,
];

impl MapiCode {
    /// The numeric `HRESULT` (`0x80040607` for `MAPI_E_NO_RECIPIENTS`).
    pub const fn code(self) -> u32 {
        match self {
            Self::NoSupport => 0x8004_0102,
            Self::Busy => 0x8004_010B,
            Self::NotFound => 0x8004_010F,
            Self::UserCancel => 0x8004_0113,
            Self::UnableToAbort => 0x8004_0114,
            Self::CorruptData => 0x8004_011B,
            Self::Unconfigured => 0x8004_011C,
            Self::FailOneProvider => 0x8004_011D,
            Self::ErrorsReturned => 0x0004_0380,
            Self::Wait => 0x8004_0500,
            Self::Cancel => 0x8004_0501,
            Self::NotMe => 0x8004_0502,
            Self::CancelMessage => 0x0004_0580,
            Self::CorruptStore => 0x8004_0600,
            Self::NotInQueue => 0x8004_0601,
            Self::NoRecipients => 0x8004_0607,
            Self::Submitted => 0x8004_0608,
            Self::NoAccess => 0x8007_0005,
            // OpenChange's code list calls this value ecRpcFailed; mapicode.h's name is kept.
            Self::NetworkError => 0x8004_0115,
            Self::ObjectDeleted => 0x8004_010A,
            Self::ObjectChanged => 0x8004_0109,
            // A raw Exchange error code, not an HRESULT (OpenChange mapitest).
            Self::NoDelSubmitMsg => 0x0000_0465,
            Self::InvalidParameter => 0x8007_0057,
            Self::NotEnoughMemory => 0x8007_000E,
            Self::CallFailed => 0x8000_4005,
            Self::Collision => 0x8004_0604,
            Self::BadValue => 0x8004_0301,
            Self::InvalidEntryId => 0x8004_0107,
            Self::DiskError => 0x8004_0116,
        }
    }

    /// The header name (`"MAPI_E_NO_RECIPIENTS"`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::NoSupport => "MAPI_E_NO_SUPPORT",
            Self::Busy => "MAPI_E_BUSY",
            Self::NotFound => "MAPI_E_NOT_FOUND",
            Self::UserCancel => "MAPI_E_USER_CANCEL",
            Self::UnableToAbort => "MAPI_E_UNABLE_TO_ABORT",
            Self::CorruptData => "MAPI_E_CORRUPT_DATA",
            Self::Unconfigured => "MAPI_E_UNCONFIGURED",
            Self::FailOneProvider => "MAPI_E_FAILONEPROVIDER",
            Self::ErrorsReturned => "MAPI_W_ERRORS_RETURNED",
            Self::Wait => "MAPI_E_WAIT",
            Self::Cancel => "MAPI_E_CANCEL",
            Self::NotMe => "MAPI_E_NOT_ME",
            Self::CancelMessage => "MAPI_W_CANCEL_MESSAGE",
            Self::CorruptStore => "MAPI_E_CORRUPT_STORE",
            Self::NotInQueue => "MAPI_E_NOT_IN_QUEUE",
            Self::NoRecipients => "MAPI_E_NO_RECIPIENTS",
            Self::Submitted => "MAPI_E_SUBMITTED",
            Self::NoAccess => "MAPI_E_NO_ACCESS",
            Self::NetworkError => "MAPI_E_NETWORK_ERROR",
            Self::ObjectDeleted => "MAPI_E_OBJECT_DELETED",
            Self::ObjectChanged => "MAPI_E_OBJECT_CHANGED",
            Self::NoDelSubmitMsg => "ecNoDelSubmitMsg",
            Self::InvalidParameter => "MAPI_E_INVALID_PARAMETER",
            Self::NotEnoughMemory => "MAPI_E_NOT_ENOUGH_MEMORY",
            Self::CallFailed => "MAPI_E_CALL_FAILED",
            Self::Collision => "MAPI_E_COLLISION",
            Self::BadValue => "MAPI_E_BAD_VALUE",
            Self::InvalidEntryId => "MAPI_E_INVALID_ENTRYID",
            Self::DiskError => "MAPI_E_DISK_ERROR",
        }
    }

    /// What the code means, in words a user understands (lower case, no final period, so it
    /// reads well after a colon).
    pub fn meaning(self) -> &'static str {
        match self {
            Self::NoSupport => "the operation is not supported here (only the spooler may do it)",
            Self::Busy => "the transport is busy; the spooler will try again later",
            Self::NotFound => "the requested item was not found",
            Self::UserCancel => "sending was cancelled",
            Self::UnableToAbort => {
                "the message can no longer be taken back: the spooler is already sending it"
            }
            Self::CorruptData => "message data was lost while submitting; it must be saved again",
            Self::Unconfigured => "the provider has to be configured before it can be used",
            Self::FailOneProvider => "one provider failed to start; the others keep working",
            Self::ErrorsReturned => "the call succeeded, but some items reported errors",
            Self::Wait => {
                "the transport has a temporary problem; the spooler will retry after a delay"
            }
            Self::Cancel => "the transport no longer wants the message resent",
            Self::NotMe => "this transport does not handle the message; the next one is tried",
            Self::CancelMessage => "the spooler asked the transport to stop sending this message",
            Self::CorruptStore => "the message store is in an inconsistent state",
            Self::NotInQueue => "the message is not waiting in the outgoing queue",
            Self::NoRecipients => "the message has no recipients",
            Self::Submitted => {
                "the message has been submitted and cannot be changed or deleted unless the submission is aborted"
            }
            Self::NoAccess => "access denied: the spooler has locked the message",
            Self::NetworkError => {
                "the transport hit a network error; the spooler will retry after a delay"
            }
            Self::ObjectDeleted => "the object has been deleted",
            Self::ObjectChanged => "the object changed since it was opened",
            Self::NoDelSubmitMsg => "the server refuses to delete a message that is being sent",
            Self::InvalidParameter => "an invalid argument was passed",
            Self::NotEnoughMemory => "there is not enough memory",
            Self::CallFailed => "the operation failed",
            Self::Collision => "the name or item is already in use",
            Self::BadValue => "a property has a value that is not allowed",
            Self::InvalidEntryId => "the entry id does not refer to a valid item",
            Self::DiskError => "the store could not read or write its files",
        }
    }

    /// The code with this numeric value, if it is one the simulator knows.
    pub fn from_code(code: u32) -> Option<Self> {
        ALL.into_iter().find(|c| c.code() == code)
    }

    /// Every known code.
    pub fn all() -> &'static [MapiCode] {
        &ALL
    }

    /// True for the `MAPI_W_*` warnings, which callers treat as success (severity bit clear).
    pub const fn is_warning(self) -> bool {
        matches!(self, Self::ErrorsReturned | Self::CancelMessage)
    }
}

impl fmt::Display for MapiCode {
    /// `MAPI_E_NO_RECIPIENTS (0x80040607)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08X})", self.name(), self.code())
    }
}

/// A failed MAPI call: the code plus what went wrong in this particular case.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapiError {
    /// The result code the call returned.
    pub code: MapiCode,
    /// Case-specific explanation; may be empty, then [`MapiCode::meaning`] is shown.
    pub detail: String,
}

impl MapiError {
    /// An error with `code` and a case-specific `detail` (may be empty).
    pub fn new(code: MapiCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl From<MapiCode> for MapiError {
    fn from(code: MapiCode) -> Self {
        Self::new(code, String::new())
    }
}

impl fmt::Display for MapiError {
    /// `MAPI_E_UNABLE_TO_ABORT (0x80040114): <detail>`, or the code's meaning when there is no
    /// detail.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if self.detail.is_empty() {
            self.code.meaning()
        } else {
            &self.detail
        };
        write!(f, "{}: {text}", self.code)
    }
}

impl std::error::Error for MapiError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn reference_values() {
        assert_eq!(MapiCode::UnableToAbort.code(), 0x8004_0114);
        assert_eq!(MapiCode::NotMe.code(), 0x8004_0502);
        assert_eq!(MapiCode::NoRecipients.code(), 0x8004_0607);
        assert_eq!(MapiCode::Submitted.code(), 0x8004_0608);
        assert_eq!(MapiCode::NoSupport.code(), 0x8004_0102);
        assert_eq!(MapiCode::Busy.code(), 0x8004_010B);
        assert_eq!(MapiCode::Wait.code(), 0x8004_0500);
        assert_eq!(MapiCode::Cancel.code(), 0x8004_0501);
        assert_eq!(MapiCode::NotInQueue.code(), 0x8004_0601);
        assert_eq!(MapiCode::CorruptStore.code(), 0x8004_0600);
        assert_eq!(MapiCode::NoAccess.code(), 0x8007_0005);
        assert_eq!(MapiCode::NetworkError.code(), 0x8004_0115);
        assert_eq!(MapiCode::ErrorsReturned.code(), 0x0004_0380);
        assert_eq!(MapiCode::CancelMessage.code(), 0x0004_0580);
        assert_eq!(MapiCode::UnableToAbort.name(), "MAPI_E_UNABLE_TO_ABORT");
        assert_eq!(MapiCode::NoRecipients.name(), "MAPI_E_NO_RECIPIENTS");
    }

    #[test]
    fn every_code_round_trips() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for &code in MapiCode::all() {
            assert_eq!(MapiCode::from_code(code.code()), Some(code));
            assert!(codes.insert(code.code()), "{code:?} value repeats");
            assert!(names.insert(code.name()), "{code:?} name repeats");
            assert!(!code.meaning().is_empty());
            assert!(!code.meaning().ends_with('.'), "{code:?}");
        }
        assert_eq!(MapiCode::from_code(0), None);
        assert_eq!(MapiCode::from_code(0x8004_FFFF), None);
    }

    #[test]
    fn warnings_have_the_severity_bit_clear() {
        for &code in MapiCode::all() {
            if code.is_warning() {
                assert_eq!(code.code() & 0x8000_0000, 0, "{code:?}");
                assert!(code.name().starts_with("MAPI_W_"));
            } else if code.name().starts_with("MAPI_") {
                assert_ne!(code.code() & 0x8000_0000, 0, "{code:?}");
                assert!(code.name().starts_with("MAPI_E_"));
            }
        }
    }

    #[test]
    fn display() {
        assert_eq!(
            MapiCode::NoRecipients.to_string(),
            "MAPI_E_NO_RECIPIENTS (0x80040607)"
        );
        assert_eq!(
            MapiCode::ErrorsReturned.to_string(),
            "MAPI_W_ERRORS_RETURNED (0x00040380)"
        );
        let err = MapiError::new(MapiCode::UnableToAbort, "message 7 is locked");
        assert_eq!(
            err.to_string(),
            "MAPI_E_UNABLE_TO_ABORT (0x80040114): message 7 is locked"
        );
        let bare = MapiError::from(MapiCode::NoRecipients);
        assert_eq!(
            bare.to_string(),
            "MAPI_E_NO_RECIPIENTS (0x80040607): the message has no recipients"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(bare);
        assert!(boxed.to_string().starts_with("MAPI_E_NO_RECIPIENTS"));
    }
}
