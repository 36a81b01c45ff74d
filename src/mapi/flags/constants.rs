//! The flag words and enumerated constants, grouped by the property or call they belong to.

// ---------------------------------------------------------------------------------------------
// PR_MESSAGE_FLAGS (b.3)

/// The message has been read (SMS also sets it when a sent message is finished).
pub const MSGFLAG_READ: u32 = 0x0000_0001;
/// The message has not been modified since it was delivered or created.
pub const MSGFLAG_UNMODIFIED: u32 = 0x0000_0002;
/// The message is submitted: in the outgoing queue and read-only to clients.
pub const MSGFLAG_SUBMIT: u32 = 0x0000_0004;
/// The message is still to be sent (a draft, or submitted and not yet finished).
pub const MSGFLAG_UNSENT: u32 = 0x0000_0008;
/// The message has at least one attachment.
pub const MSGFLAG_HASATTACH: u32 = 0x0000_0010;
/// The sending user is the message's author.
pub const MSGFLAG_FROMME: u32 = 0x0000_0020;
/// The message is a folder-associated (hidden) message.
pub const MSGFLAG_ASSOCIATED: u32 = 0x0000_0040;
/// The message is a resend of an undelivered message.
pub const MSGFLAG_RESEND: u32 = 0x0000_0080;
/// A read report is pending for the message.
pub const MSGFLAG_RN_PENDING: u32 = 0x0000_0100;
/// A non-read report is pending for the message.
pub const MSGFLAG_NRN_PENDING: u32 = 0x0000_0200;
/// Inbound only: arrived over an X.400 link (value from `mapidefs.h`, not in the reference).
pub const MSGFLAG_ORIGIN_X400: u32 = 0x0000_1000;
/// Inbound only: arrived over the Internet (value from `mapidefs.h`, not in the reference).
pub const MSGFLAG_ORIGIN_INTERNET: u32 = 0x0000_2000;
/// Inbound only: arrived over another external link (value from `mapidefs.h`, not in the
/// reference).
pub const MSGFLAG_ORIGIN_MISC_EXT: u32 = 0x0000_8000;

// ---------------------------------------------------------------------------------------------
// PR_SUBMIT_FLAGS, SetLockState, SubmitMessage, ExpandRecips, PrepareSubmit (b.3)

/// `PR_SUBMIT_FLAGS`: the spooler holds the lock on the message.
pub const SUBMITFLAG_LOCKED: u32 = 0x0000_0001;
/// `PR_SUBMIT_FLAGS`: the message needs preprocessing before any transport sees it.
pub const SUBMITFLAG_PREPROCESS: u32 = 0x0000_0002;
/// `IMsgStore::SetLockState`: lock the message for the spooler.
pub const MSG_LOCKED: u32 = 0x0000_0001;
/// `IMsgStore::SetLockState`: release the spooler's lock.
pub const MSG_UNLOCKED: u32 = 0x0000_0000;
/// `IMessage::SubmitMessage`: defined, but documented as unused.
pub const FORCE_SUBMIT: u32 = 0x0000_0001;
/// `IMAPISupport::ExpandRecips` output: the message needs preprocessing.
pub const NEEDS_PREPROCESSING: u32 = 0x0000_0001;
/// `IMAPISupport::ExpandRecips` output: a tightly coupled store cannot reach every recipient,
/// so the spooler must handle the rest.
pub const NEEDS_SPOOLER: u32 = 0x0000_0002;
/// `IMAPISupport::PrepareSubmit` (`mapispi.h`): check the sender.
pub const CHECK_SENDER: u32 = 0x0000_0001;
/// `IMAPISupport::PrepareSubmit` (`mapispi.h`): non-standard submission.
pub const NON_STANDARD: u32 = 0x0001_0000;

// ---------------------------------------------------------------------------------------------
// PR_RECIPIENT_TYPE (b.2)

/// Recipient type: the originator.
pub const MAPI_ORIG: u32 = 0;
/// Recipient type: primary (To) recipient.
pub const MAPI_TO: u32 = 1;
/// Recipient type: carbon-copy (Cc) recipient.
pub const MAPI_CC: u32 = 2;
/// Recipient type: blind carbon-copy (Bcc) recipient.
pub const MAPI_BCC: u32 = 3;
/// Recipient type bit: envelope-only copy added on resend to force retransmission.
pub const MAPI_P1: u32 = 0x1000_0000;
/// Recipient type bit: already received the message; displayed but not sent again.
pub const MAPI_SUBMITTED: u32 = 0x8000_0000;

// ---------------------------------------------------------------------------------------------
// PR_PRIORITY (b.1)

/// `PR_PRIORITY`: urgent.
pub const PRIO_URGENT: i32 = 1;
/// `PR_PRIORITY`: normal.
pub const PRIO_NORMAL: i32 = 0;
/// `PR_PRIORITY`: not urgent.
pub const PRIO_NONURGENT: i32 = -1;

// ---------------------------------------------------------------------------------------------
// PR_DEFERRED_SEND_UNITS (b.1). MAPI defines no symbols for these values; the names are ours.

/// `PR_DEFERRED_SEND_UNITS`: the deferred-send number counts minutes.
pub const DEFERRED_SEND_MINUTES: u32 = 0;
/// `PR_DEFERRED_SEND_UNITS`: the deferred-send number counts hours.
pub const DEFERRED_SEND_HOURS: u32 = 1;
/// `PR_DEFERRED_SEND_UNITS`: the deferred-send number counts days.
pub const DEFERRED_SEND_DAYS: u32 = 2;
/// `PR_DEFERRED_SEND_UNITS`: the deferred-send number counts weeks.
pub const DEFERRED_SEND_WEEKS: u32 = 3;

// ---------------------------------------------------------------------------------------------
// PR_MSG_STATUS (b.3)

/// `PR_MSG_STATUS`: shown highlighted.
pub const MSGSTATUS_HIGHLIGHTED: u32 = 0x0000_0001;
/// `PR_MSG_STATUS`: tagged by the client.
pub const MSGSTATUS_TAGGED: u32 = 0x0000_0002;
/// `PR_MSG_STATUS`: hidden.
pub const MSGSTATUS_HIDDEN: u32 = 0x0000_0004;
/// `PR_MSG_STATUS`: marked for deletion.
pub const MSGSTATUS_DELMARKED: u32 = 0x0000_0008;
/// `PR_MSG_STATUS`: a draft.
pub const MSGSTATUS_DRAFT: u32 = 0x0000_0100;
/// `PR_MSG_STATUS`: answered.
pub const MSGSTATUS_ANSWERED: u32 = 0x0000_0200;
/// `PR_MSG_STATUS`: marked for download from a remote store.
pub const MSGSTATUS_REMOTE_DOWNLOAD: u32 = 0x0000_1000;
/// `PR_MSG_STATUS`: marked for deletion in a remote store.
pub const MSGSTATUS_REMOTE_DELETE: u32 = 0x0000_2000;

// ---------------------------------------------------------------------------------------------
// IMAPISupport::SpoolerNotify (b.3)

/// `SpoolerNotify`: new mail arrived (transport).
pub const NOTIFY_NEWMAIL: u32 = 0x0000_0001;
/// `SpoolerNotify`: messages are ready to send; also the recovery after a critical error.
pub const NOTIFY_READYTOSEND: u32 = 0x0000_0002;
/// `SpoolerNotify`: a deferred message (entry id in the data) may now be re-offered.
pub const NOTIFY_SENTDEFERRED: u32 = 0x0000_0004;
/// `SpoolerNotify`: entering a critical section; `Idle`/`Poll` stop.
pub const NOTIFY_CRITSEC: u32 = 0x0000_1000;
/// `SpoolerNotify`: leaving the critical section.
pub const NOTIFY_NONCRIT: u32 = 0x0000_2000;
/// `SpoolerNotify`: the provider's configuration changed.
pub const NOTIFY_CONFIG_CHANGE: u32 = 0x0000_4000;
/// `SpoolerNotify`: fatal transport error; the spooler only releases that logon afterwards.
pub const NOTIFY_CRITICAL_ERROR: u32 = 0x1000_0000;
/// `SpoolerNotify`, store only: new mail was received into the store.
pub const NOTIFY_NEWMAIL_RECEIVED: u32 = 0x2000_0000;

// ---------------------------------------------------------------------------------------------
// IXPLogon::TransportNotify (b.3). The flags are in/out; the transport returns them unchanged.

/// `TransportNotify`: inbound traffic may begin.
pub const NOTIFY_BEGIN_INBOUND: u32 = 0x0000_0001;
/// `TransportNotify`: outbound traffic may begin; `SubmitMessage` calls may follow.
pub const NOTIFY_BEGIN_OUTBOUND: u32 = 0x0000_0002;
/// `TransportNotify`: an inbound flush begins.
pub const NOTIFY_BEGIN_INBOUND_FLUSH: u32 = 0x0000_0004;
/// `TransportNotify`: an outbound flush begins.
pub const NOTIFY_BEGIN_OUTBOUND_FLUSH: u32 = 0x0000_0008;
/// `TransportNotify`: inbound traffic ends.
pub const NOTIFY_END_INBOUND: u32 = 0x0001_0000;
/// `TransportNotify`: outbound traffic ends; no new `SubmitMessage`, the in-flight one finishes.
pub const NOTIFY_END_OUTBOUND: u32 = 0x0002_0000;
/// `TransportNotify`: the inbound flush ends.
pub const NOTIFY_END_INBOUND_FLUSH: u32 = 0x0004_0000;
/// `TransportNotify`: the outbound flush ends; the transport clears `STATUS_OUTBOUND_FLUSH`.
pub const NOTIFY_END_OUTBOUND_FLUSH: u32 = 0x0008_0000;
/// `TransportNotify`: drop deferred messages (alone at logoff, with `NOTIFY_CANCEL_MESSAGE` to
/// cancel one deferred message).
pub const NOTIFY_ABORT_DEFERRED: u32 = 0x4000_0000;
/// `TransportNotify`: cancel the message identified by the message reference.
pub const NOTIFY_CANCEL_MESSAGE: u32 = 0x8000_0000;

// ---------------------------------------------------------------------------------------------
// IXPLogon::SubmitMessage / EndMessage, TransportLogon, logoff, status rows (b.3)

/// `IXPLogon::SubmitMessage` input: this is the re-offer of a message the transport deferred.
pub const BEGIN_DEFERRED: u32 = 0x0000_0001;
/// `EndMessage` output: the transport wants the message submitted again right away.
pub const END_RESEND_NOW: u32 = 0x0001_0000;
/// `EndMessage` output: not sent now, not an error; retry later.
pub const END_RESEND_LATER: u32 = 0x0002_0000;
/// `EndMessage` output: the transport deferred the message and will announce it with
/// `NOTIFY_SENTDEFERRED`.
pub const END_DONT_RESEND: u32 = 0x0004_0000;
/// `TransportLogon` input: no user interface.
pub const LOGON_NO_DIALOG: u32 = 0x0000_0001;
/// `TransportLogon` input: do not connect yet.
pub const LOGON_NO_CONNECT: u32 = 0x0000_0004;
/// `TransportLogon` input: no inbound traffic yet (stores not open).
pub const LOGON_NO_INBOUND: u32 = 0x0000_0008;
/// `TransportLogon` input: no outbound traffic yet (stores not open).
pub const LOGON_NO_OUTBOUND: u32 = 0x0000_0010;
/// Strings are Unicode (`TransportLogon` input among others).
pub const MAPI_UNICODE: u32 = 0x8000_0000;
/// `TransportLogon` output: the transport wants `IXPLogon::Idle` calls.
pub const LOGON_SP_IDLE: u32 = 0x0001_0000;
/// `TransportLogon` output: the transport wants `IXPLogon::Poll` calls.
pub const LOGON_SP_POLL: u32 = 0x0002_0000;
/// `TransportLogon` output: the spooler should fully resolve recipients the transport does not
/// own.
pub const LOGON_SP_RESOLVE: u32 = 0x0004_0000;
/// `TransportLogoff`: normal logoff.
pub const LOGOFF_NORMAL: u32 = 0x0000_0001;
/// `TransportLogoff`: hurried logoff.
pub const LOGOFF_HURRY: u32 = 0x8000_0000;
/// `DeinitTransport`: normal shutdown.
pub const DEINIT_NORMAL: u32 = 0x0000_0001;
/// `DeinitTransport`: hurried shutdown.
pub const DEINIT_HURRY: u32 = 0x8000_0000;
/// `IMAPISupport::ModifyStatusRow`: merge the given columns into the existing row.
pub const STATUSROW_UPDATE: u32 = 0x1000_0000;

// ---------------------------------------------------------------------------------------------
// ISpoolerHook (mapihook.h, b.3)

/// `OutboundMsgHook`: delete the message instead of moving it.
pub const HOOK_DELETE: u32 = 0x0000_0001;
/// `OutboundMsgHook`: call no further hooks.
pub const HOOK_CANCEL: u32 = 0x0000_0002;
/// Profile/resource flag: the hook provider wants inbound messages.
pub const HOOK_INBOUND: u32 = 0x0000_0200;
/// Profile/resource flag: the hook provider wants outbound (sent) messages.
pub const HOOK_OUTBOUND: u32 = 0x0000_0400;

// ---------------------------------------------------------------------------------------------
// PR_STATUS_CODE (b.3)

/// Status: the provider is available.
pub const STATUS_AVAILABLE: u32 = 0x0000_0001;
/// Status: the provider works offline.
pub const STATUS_OFFLINE: u32 = 0x0000_0002;
/// Status: the provider has failed.
pub const STATUS_FAILURE: u32 = 0x0000_0004;
/// Transport status: inbound traffic is enabled.
pub const STATUS_INBOUND_ENABLED: u32 = 0x0001_0000;
/// Transport status: inbound traffic is in progress.
pub const STATUS_INBOUND_ACTIVE: u32 = 0x0002_0000;
/// Transport status: an inbound flush is requested or in progress.
pub const STATUS_INBOUND_FLUSH: u32 = 0x0004_0000;
/// Transport status: outbound traffic is enabled (after `NOTIFY_BEGIN_OUTBOUND`).
pub const STATUS_OUTBOUND_ENABLED: u32 = 0x0010_0000;
/// Transport status: a message is being sent.
pub const STATUS_OUTBOUND_ACTIVE: u32 = 0x0020_0000;
/// Transport status: an outbound flush is requested or in progress.
pub const STATUS_OUTBOUND_FLUSH: u32 = 0x0040_0000;
/// Transport status: connected through remote access.
pub const STATUS_REMOTE_ACCESS: u32 = 0x0080_0000;

// ---------------------------------------------------------------------------------------------
// PR_RESOURCE_METHODS (b.3)

/// The status object implements `ValidateState`.
pub const STATUS_VALIDATE_STATE: u32 = 0x0000_0001;
/// The status object implements `SettingsDialog`.
pub const STATUS_SETTINGS_DIALOG: u32 = 0x0000_0002;
/// The status object implements `ChangePassword`.
pub const STATUS_CHANGE_PASSWORD: u32 = 0x0000_0004;
/// The status object implements `FlushQueues`.
pub const STATUS_FLUSH_QUEUES: u32 = 0x0000_0008;

// ---------------------------------------------------------------------------------------------
// PR_RESOURCE_FLAGS (b.3; HOOK_INBOUND/HOOK_OUTBOUND are defined with the hook flags)

/// The default outbound transport.
pub const STATUS_DEFAULT_OUTBOUND: u32 = 0x0000_0001;
/// The default message store.
pub const STATUS_DEFAULT_STORE: u32 = 0x0000_0002;
/// The provider supplies the primary identity.
pub const STATUS_PRIMARY_IDENTITY: u32 = 0x0000_0004;
/// A simple store.
pub const STATUS_SIMPLE_STORE: u32 = 0x0000_0008;
/// The transport prefers to be last in the transport order.
pub const STATUS_XP_PREFER_LAST: u32 = 0x0000_0010;
/// The provider must not be the primary identity.
pub const STATUS_NO_PRIMARY_IDENTITY: u32 = 0x0000_0020;
/// The store must not be the default store.
pub const STATUS_NO_DEFAULT_STORE: u32 = 0x0000_0040;
/// A temporary profile section.
pub const STATUS_TEMP_SECTION: u32 = 0x0000_0080;
/// The store belongs to a transport (tightly coupled).
pub const STATUS_OWN_STORE: u32 = 0x0000_0100;
/// The store needs the IPM folder tree.
pub const STATUS_NEED_IPM_TREE: u32 = 0x0000_0800;
/// The primary store.
pub const STATUS_PRIMARY_STORE: u32 = 0x0000_1000;
/// A secondary store.
pub const STATUS_SECONDARY_STORE: u32 = 0x0000_2000;

// ---------------------------------------------------------------------------------------------
// PR_RESOURCE_TYPE (b.2 gives the numbers; names from mapidefs.h, confirmed by a.7 for
// MAPI_AB, MAPI_TRANSPORT_PROVIDER, MAPI_SPOOLER, MAPI_SUBSYSTEM and MAPI_HOOK_PROVIDER)

/// Resource type: a message store provider.
pub const MAPI_STORE_PROVIDER: u32 = 33;
/// Resource type: the integrated address book.
pub const MAPI_AB: u32 = 34;
/// Resource type: an address book provider.
pub const MAPI_AB_PROVIDER: u32 = 35;
/// Resource type: a transport provider.
pub const MAPI_TRANSPORT_PROVIDER: u32 = 36;
/// Resource type: the MAPI spooler.
pub const MAPI_SPOOLER: u32 = 37;
/// Resource type: a profile provider.
pub const MAPI_PROFILE_PROVIDER: u32 = 38;
/// Resource type: the MAPI subsystem as a whole.
pub const MAPI_SUBSYSTEM: u32 = 39;
/// Resource type: a spooler hook provider.
pub const MAPI_HOOK_PROVIDER: u32 = 40;

// ---------------------------------------------------------------------------------------------
// PR_NDR_REASON_CODE (b.2)

/// NDR reason: the transfer failed.
pub const MAPI_REASON_TRANSFER_FAILED: u32 = 0;
/// NDR reason: the transfer is impossible.
pub const MAPI_REASON_TRANSFER_IMPOSSIBLE: u32 = 1;
/// NDR reason: a needed conversion was not performed.
pub const MAPI_REASON_CONVERSION_NOT_PERFORMED: u32 = 2;
/// NDR reason: the physical rendition was not done.
pub const MAPI_REASON_PHYSICAL_RENDITN_NOT_DONE: u32 = 3;
/// NDR reason: the physical delivery was not done.
pub const MAPI_REASON_PHYSICAL_DELIV_NOT_DONE: u32 = 4;
/// NDR reason: delivery to the recipient is restricted.
pub const MAPI_REASON_RESTRICTED_DELIVERY: u32 = 5;
/// NDR reason: a directory operation failed.
pub const MAPI_REASON_DIRECTORY_OPERATN_FAILED: u32 = 6;

// ---------------------------------------------------------------------------------------------
// PR_OBJECT_TYPE (mapidefs.h; the reference only names MAPI_STATUS for status rows)

/// Object type: message store.
pub const MAPI_STORE: u32 = 0x0000_0001;
/// Object type: address book.
pub const MAPI_ADDRBOOK: u32 = 0x0000_0002;
/// Object type: folder.
pub const MAPI_FOLDER: u32 = 0x0000_0003;
/// Object type: address book container.
pub const MAPI_ABCONT: u32 = 0x0000_0004;
/// Object type: message.
pub const MAPI_MESSAGE: u32 = 0x0000_0005;
/// Object type: individual recipient.
pub const MAPI_MAILUSER: u32 = 0x0000_0006;
/// Object type: attachment.
pub const MAPI_ATTACH: u32 = 0x0000_0007;
/// Object type: distribution list.
pub const MAPI_DISTLIST: u32 = 0x0000_0008;
/// Object type: profile section.
pub const MAPI_PROFSECT: u32 = 0x0000_0009;
/// Object type: status object (every status-table row).
pub const MAPI_STATUS: u32 = 0x0000_000A;
/// Object type: session.
pub const MAPI_SESSION: u32 = 0x0000_000B;
/// Object type: form information.
pub const MAPI_FORMINFO: u32 = 0x0000_000C;

// ---------------------------------------------------------------------------------------------
// FlushQueues, ValidateState, StoreLogoff (b.3)

/// `FlushQueues`: flush the outgoing queue (see a.8 for the documentation's contradiction).
pub const FLUSH_UPLOAD: u32 = 0x0000_0002;
/// `FlushQueues`: flush the incoming queue.
pub const FLUSH_DOWNLOAD: u32 = 0x0000_0004;
/// `FlushQueues`: flush even if it would normally be postponed.
pub const FLUSH_FORCE: u32 = 0x0000_0008;
/// `FlushQueues`: no progress user interface.
pub const FLUSH_NO_UI: u32 = 0x0000_0010;
/// `FlushQueues`: may return before the flush completes (spooler status object only).
pub const FLUSH_ASYNC_OK: u32 = 0x0000_0020;
/// `ValidateState`: no user interface.
pub const SUPPRESS_UI: u32 = 0x0000_0001;
/// `ValidateState`: refresh the transport's header cache.
pub const REFRESH_XP_HEADER_CACHE: u32 = 0x0001_0000;
/// `ValidateState`: process the transport's header cache.
pub const PROCESS_XP_HEADER_CACHE: u32 = 0x0002_0000;
/// `ValidateState`: make the transport connect.
pub const FORCE_XP_CONNECT: u32 = 0x0004_0000;
/// `ValidateState`: make the transport disconnect.
pub const FORCE_XP_DISCONNECT: u32 = 0x0008_0000;
/// `ValidateState`: the configuration changed.
pub const CONFIG_CHANGED: u32 = 0x0010_0000;
/// `ValidateState`: abort the header-cache operation.
pub const ABORT_XP_HEADER_OPERATION: u32 = 0x0020_0000;
/// `ValidateState`: show the transport's session user interface.
pub const SHOW_XP_SESSION_UI: u32 = 0x0040_0000;
/// `StoreLogoff` input: do not wait for transports.
pub const LOGOFF_NO_WAIT: u32 = 0x0000_0001;
/// `StoreLogoff` input: wait for transports to finish their current work.
pub const LOGOFF_ORDERLY: u32 = 0x0000_0002;
/// `StoreLogoff` input: finish pending work, then log off.
pub const LOGOFF_PURGE: u32 = 0x0000_0004;
/// `StoreLogoff` input: stop all transport activity.
pub const LOGOFF_ABORT: u32 = 0x0000_0008;
/// `StoreLogoff` input: log off without user interface.
pub const LOGOFF_QUIET: u32 = 0x0000_0010;
/// `StoreLogoff` output: logoff completed.
pub const LOGOFF_COMPLETE: u32 = 0x0001_0000;
/// `StoreLogoff` output: inbound traffic was in progress.
pub const LOGOFF_INBOUND: u32 = 0x0002_0000;
/// `StoreLogoff` output: outbound traffic was in progress.
pub const LOGOFF_OUTBOUND: u32 = 0x0004_0000;
/// `StoreLogoff` output: messages were still in the outgoing queue.
pub const LOGOFF_OUTBOUND_QUEUE: u32 = 0x0008_0000;

/// Wire-level (MS-OXCROPS) equivalents of the spooler calls, as `OpenChange`'s `exchange.idl`
/// names them (reference §b.3). Kept apart because their values overlap the MAPI ones.
pub mod rop {
    /// `RopSubmitMessage` opcode.
    pub const ROP_SUBMIT_MESSAGE: u8 = 0x32;
    /// `RopAbortSubmit` opcode (`FolderId`, `MessageId`).
    pub const ROP_ABORT_SUBMIT: u8 = 0x34;
    /// `RopSetSpooler` opcode: "this client acts as the spooler".
    pub const ROP_SET_SPOOLER: u8 = 0x47;
    /// `RopSpoolerLockMessage` opcode.
    pub const ROP_SPOOLER_LOCK_MESSAGE: u8 = 0x48;
    /// `RopGetAddressTypes` opcode.
    pub const ROP_GET_ADDRESS_TYPES: u8 = 0x49;
    /// `RopTransportSend` opcode.
    pub const ROP_TRANSPORT_SEND: u8 = 0x4A;
    /// `RopTransportNewMail` opcode.
    pub const ROP_TRANSPORT_NEW_MAIL: u8 = 0x51;
    /// `RopGetTransportFolder` opcode.
    pub const ROP_GET_TRANSPORT_FOLDER: u8 = 0x6D;
    /// `RopOptionsData` opcode.
    pub const ROP_OPTIONS_DATA: u8 = 0x6F;
    /// `RopSubmitMessage` `SubmitFlags` `None`.
    pub const SUBMIT_FLAGS_NONE: u8 = 0;
    /// `RopSubmitMessage` `SubmitFlags` `PreProcess`.
    pub const SUBMIT_FLAGS_PRE_PROCESS: u8 = 1;
    /// `RopSubmitMessage` `SubmitFlags` `NeedsSpooler`.
    pub const SUBMIT_FLAGS_NEEDS_SPOOLER: u8 = 2;
    /// `RopSpoolerLockMessage` `LockState` `lstLock`.
    pub const LST_LOCK: u8 = 0;
    /// `RopSpoolerLockMessage` `LockState` `lstUnlock`: some recipients remain.
    pub const LST_UNLOCK: u8 = 1;
    /// `RopSpoolerLockMessage` `LockState` `lstFinished`: all recipients are done.
    pub const LST_FINISHED: u8 = 2;
}
