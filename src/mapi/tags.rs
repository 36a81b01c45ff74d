//! Property types, property tags and the catalogue of the properties the send pipeline uses.
//!
//! Tags are copied from `shared/reference/mapi-pipeline.md` §b.1–b.2; the handful of
//! general-purpose properties the app needs on top (body, attachments, times) carry their
//! well-known `mapitags.h` tags. String properties are catalogued in the width the reference
//! lists them in: mostly `PT_UNICODE` (`_W`), but the status-table strings in `PT_STRING8`
//! (`_A`), as MFCMAPI reads the status table ANSI-only.

// Tags are written as the MAPI headers and the reference write them (0x0E0F000B), so they
// can be searched for and compared by eye; digit separators would hide that.
#![allow(clippy::unreadable_literal)]

use super::flags::FlagKind;

/// Signed 16-bit integer (`PT_I2`).
pub const PT_SHORT: u16 = 0x0002;
/// Null value; `PROP_TAG(PT_NULL, 0)` is `PR_NULL`, the "no property" placeholder.
pub const PT_NULL: u16 = 0x0001;
/// Signed or unsigned 32-bit integer; flag words are `PT_LONG`.
pub const PT_LONG: u16 = 0x0003;
/// 64-bit floating point.
pub const PT_DOUBLE: u16 = 0x0005;
/// An `SCODE` standing in for a value that could not be returned.
pub const PT_ERROR: u16 = 0x000A;
/// Boolean.
pub const PT_BOOLEAN: u16 = 0x000B;
/// An object (table, stream) opened with `OpenProperty`, not a plain value.
pub const PT_OBJECT: u16 = 0x000D;
/// Signed 64-bit integer.
pub const PT_I8: u16 = 0x0014;
/// 8-bit (ANSI) string, the `_A` form of a string property.
pub const PT_STRING8: u16 = 0x001E;
/// UTF-16 string, the `_W` form of a string property.
pub const PT_UNICODE: u16 = 0x001F;
/// `FILETIME` (UTC).
pub const PT_SYSTIME: u16 = 0x0040;
/// GUID.
pub const PT_CLSID: u16 = 0x0048;
/// Exchange server id (`PtypServerId`, MS-OXCDATA), used by `PidTagSentMailSvrEID`.
pub const PT_SVREID: u16 = 0x00FB;
/// Byte array; entry ids and search keys are binary.
pub const PT_BINARY: u16 = 0x0102;
/// Multi-valued `PT_LONG`.
pub const PT_MV_LONG: u16 = 0x1003;
/// Multi-valued `PT_UNICODE`.
pub const PT_MV_UNICODE: u16 = 0x101F;
/// Multi-valued `PT_BINARY`.
pub const PT_MV_BINARY: u16 = 0x1102;

/// The symbolic name of a property type code (`"PT_LONG"`), or `"PT_UNKNOWN"`.
pub fn type_name(ty: u16) -> &'static str {
    match ty {
        PT_NULL => "PT_NULL",
        PT_SHORT => "PT_SHORT",
        PT_LONG => "PT_LONG",
        PT_DOUBLE => "PT_DOUBLE",
        PT_ERROR => "PT_ERROR",
        PT_BOOLEAN => "PT_BOOLEAN",
        PT_OBJECT => "PT_OBJECT",
        PT_I8 => "PT_I8",
        PT_STRING8 => "PT_STRING8",
        PT_UNICODE => "PT_UNICODE",
        PT_SYSTIME => "PT_SYSTIME",
        PT_CLSID => "PT_CLSID",
        PT_SVREID => "PT_SVREID",
        PT_BINARY => "PT_BINARY",
        PT_MV_LONG => "PT_MV_LONG",
        PT_MV_UNICODE => "PT_MV_UNICODE",
        PT_MV_BINARY => "PT_MV_BINARY",
        _ => "PT_UNKNOWN",
    }
}

/// A MAPI property tag: the property id in the high word, the type code in the low word
/// (`PROP_TAG(type, id)` in `mapidefs.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PropTag(pub u32);

impl PropTag {
    /// Builds the tag `(id << 16) | ty`.
    pub const fn new(id: u16, ty: u16) -> Self {
        Self(((id as u32) << 16) | ty as u32)
    }

    /// The property id (`PROP_ID`).
    pub const fn id(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The property type code (`PROP_TYPE`).
    pub const fn prop_type(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }

    /// The tag with the same id and another type, e.g. the `_A` form of a `_W` string.
    #[must_use]
    pub const fn with_type(self, ty: u16) -> Self {
        Self::new(self.id(), ty)
    }

    /// Upper-case hex with eight digits, the way MFCMAPI shows tags: `"0x0E0F000B"`.
    pub fn hex(self) -> String {
        format!("0x{:08X}", self.0)
    }

    /// Parses one to eight hex digits, with or without a `0x` prefix, in either case
    /// (`"0x0e0f000b"`, `"0E0F000B"`). Surrounding whitespace is ignored.
    pub fn parse_hex(s: &str) -> Option<Self> {
        let s = s.trim();
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        // from_str_radix alone would also take a leading '+'.
        if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok().map(Self)
    }

    /// The canonical name from [`CATALOG`] (`"PR_SUBJECT"`), else the [`hex`](Self::hex) form.
    ///
    /// A string property in the other width than the catalogued one gets the header's suffix
    /// (`0x0037001E` → `"PR_SUBJECT_A"`), since `mapitags.h` names both widths that way.
    pub fn name(self) -> String {
        if let Some(def) = lookup(self) {
            return def.name.to_owned();
        }
        let (other, suffix) = match self.prop_type() {
            PT_STRING8 => (PT_UNICODE, "_A"),
            PT_UNICODE => (PT_STRING8, "_W"),
            _ => return self.hex(),
        };
        lookup(self.with_type(other))
            .map_or_else(|| self.hex(), |def| format!("{}{suffix}", def.name))
    }
}

impl std::fmt::Display for PropTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// Whether a transport may send the property to other systems (`FIsTransmittable`).
///
/// False for ids 0x0E00–0x0FFF, the range the reference (§b) marks as non-transmittable:
/// transports must not transmit these, they are the store's and spooler's bookkeeping.
pub fn is_transmittable(tag: PropTag) -> bool {
    !(0x0E00..=0x0FFF).contains(&tag.id())
}

/// One catalogued property: its tag, its names and how to show its value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PropDef {
    /// The tag, in the width (`_W`/`_A`) the reference lists.
    pub tag: PropTag,
    /// Canonical `PR_` name without width suffix (`"PR_RESPONSIBILITY"`).
    pub name: &'static str,
    /// `PidTag` canonical property name (`"PidTagResponsibility"`); empty when none is
    /// documented.
    pub pid_name: &'static str,
    /// How to decode an integer value of this property for display.
    pub flags: FlagKind,
    /// One sentence for a tooltip: what the property means in the send pipeline.
    pub doc: &'static str,
}

/// Defines one `pub const` per property and the [`CATALOG`] from the same rows, so a
/// constant's name and its catalogue name cannot drift apart.
macro_rules! properties {
    ($($name:ident = $tag:literal, $pid:literal, $kind:ident, $doc:literal;)*) => {
        $(
            #[doc = concat!($doc, " (`", stringify!($tag), "`)")]
            pub const $name: PropTag = PropTag($tag);
        )*

        /// Every property the simulator knows by name, in reference order (b.1, b.2, then the
        /// general-purpose extras).
        pub static CATALOG: &[PropDef] = &[
            $(
                PropDef {
                    tag: $name,
                    name: stringify!($name),
                    pid_name: $pid,
                    flags: FlagKind::$kind,
                    doc: $doc,
                },
            )*
        ];
    };
}

properties! {
    // b.1 Message properties used by the pipeline.
    PR_RESPONSIBILITY = 0x0E0F000B, "PidTagResponsibility", None,
        "FALSE until a transport (or the tightly coupled store) takes this recipient; TRUE once it was delivered or failed for good.";
    PR_SUBMIT_FLAGS = 0x0E140003, "PidTagSubmitFlags", SubmitFlags,
        "Queue state of a submitted message: SUBMITFLAG_LOCKED while the spooler holds it, SUBMITFLAG_PREPROCESS while it still needs preprocessing.";
    PR_MESSAGE_FLAGS = 0x0E070003, "PidTagMessageFlags", MessageFlags,
        "Message state bits: the store sets MSGFLAG_SUBMIT (and MSGFLAG_UNSENT) on submit and clears both when the spooler finishes the message.";
    PR_PREPROCESS = 0x0E22000B, "PidTagPreprocess", None,
        "TRUE when recipient expansion found that preprocessors must run, so their cleanup also runs after sending.";
    PR_SENTMAIL_ENTRYID = 0x0E0A0102, "PidTagSentMailEntryId", None,
        "Folder the message is moved to once sent, usually a copy of the store's Sent Items id.";
    PR_DELETE_AFTER_SUBMIT = 0x0E01000B, "PidTagDeleteAfterSubmit", None,
        "TRUE asks for the message to be deleted once it has been sent.";
    PR_CLIENT_SUBMIT_TIME = 0x00390040, "PidTagClientSubmitTime", None,
        "When the client submitted the message; the outgoing queue is served oldest first by this time.";
    PR_PROVIDER_SUBMIT_TIME = 0x00480040, "PidTagProviderSubmitTime", None,
        "When the outgoing transport handed the message to its messaging system.";
    PR_DEFERRED_DELIVERY_TIME = 0x000F0040, "PidTagDeferredDeliveryTime", None,
        "Requested delivery time, passed on to the messaging system; MAPI itself does not act on it.";
    PR_DEFERRED_SEND_TIME = 0x3FEF0040, "PidTagDeferredSendTime", None,
        "The message stays in the queue until this time; a time in the past means send now.";
    PR_DEFERRED_SEND_NUMBER = 0x3FEB0003, "PidTagDeferredSendNumber", None,
        "How many deferred-send units (0 to 999) after the submit time the message is held.";
    PR_DEFERRED_SEND_UNITS = 0x3FEC0003, "PidTagDeferredSendUnits", DeferredSendUnits,
        "Unit of the deferred-send number: minutes, hours, days or weeks.";
    PR_SPOOLER_STATUS = 0x0E100003, "PidTagSpoolerStatus", None,
        "Inbound only: S_OK when the message was delivered, MAPI_E_OBJECT_DELETED when a hook deleted it.";
    PR_TRANSPORT_STATUS = 0x0E110003, "", None,
        "Reserved transport status word with no current documentation.";
    PR_RECIPIENT_STATUS = 0x0E150003, "PidTagRecipientStatus", None,
        "Reserved for the spooler's bookkeeping of which transport is responsible for which recipient.";
    PR_TRANSPORT_KEY = 0x0E160003, "PidTagTransportKey", None,
        "Reserved for the spooler to track the message through the outgoing transports.";
    PR_MSG_STATUS = 0x0E170003, "PidTagMessageStatus", MsgStatus,
        "Per-folder status bits of the message (MSGSTATUS_*), read and set through the folder.";
    PR_MESSAGE_RECIPIENTS = 0x0E12000D, "PidTagMessageRecipients", None,
        "The message's recipient table; not copied when a message is resent.";
    PR_MESSAGE_ATTACHMENTS = 0x0E13000D, "PidTagMessageAttachments", None,
        "The message's attachment table.";
    PR_ENTRYID = 0x0FFF0102, "PidTagEntryId", None,
        "Identifier of the object; the client must note it before submitting because aborting and finishing need it.";
    PR_PARENT_ENTRYID = 0x0E090102, "PidTagParentEntryId", None,
        "The folder the message currently sits in.";
    PR_MESSAGE_CLASS = 0x001A001F, "PidTagMessageClass", None,
        "Kind of message such as IPM.Note; report classes derive from it (Report.IPM.Note.NDR).";
    PR_ORIG_MESSAGE_CLASS = 0x004B001F, "PidTagOriginalMessageClass", None,
        "On a report, the class of the original message; a resend copies it back.";
    PR_ORIGINAL_ENTRYID = 0x3A120102, "PidTagOriginalEntryId", None,
        "On a resent message, the entry id of the message it resends.";
    PR_DISPLAY_TO = 0x0E04001F, "PidTagDisplayTo", None,
        "Names of the To recipients, recomputed by the store on every save; shown in the outgoing queue.";
    PR_DISPLAY_CC = 0x0E03001F, "PidTagDisplayCc", None,
        "Names of the Cc recipients, recomputed by the store on every save; shown in the outgoing queue.";
    PR_DISPLAY_BCC = 0x0E02001F, "PidTagDisplayBcc", None,
        "Names of the Bcc recipients, recomputed by the store on every save; shown in the outgoing queue.";
    PR_MESSAGE_SIZE = 0x0E080003, "PidTagMessageSize", None,
        "Size of the message in bytes; shown in the outgoing queue.";
    PR_PRIORITY = 0x00260003, "PidTagPriority", Priority,
        "Urgency of the message (urgent, normal, not urgent); shown in the outgoing queue.";
    PR_SUBJECT = 0x0037001F, "PidTagSubject", None,
        "Subject of the message; shown in the outgoing queue.";
    PR_SENDER_NAME = 0x0C1A001F, "PidTagSenderName", None,
        "Name of the sender, stamped by the transport from the identity it is logged on as.";
    PR_SENDER_ENTRYID = 0x0C190102, "PidTagSenderEntryId", None,
        "Entry id of the sender, stamped by the transport.";
    PR_SENDER_SEARCH_KEY = 0x0C1D0102, "PidTagSenderSearchKey", None,
        "Search key of the sender, stamped by the transport.";
    PR_SENDER_ADDRTYPE = 0x0C1E001F, "PidTagSenderAddressType", None,
        "Address type of the sender, stamped by the transport.";
    PR_SENDER_EMAIL_ADDRESS = 0x0C1F001F, "PidTagSenderEmailAddress", None,
        "Address of the sender, stamped by the transport.";
    PR_SENT_REPRESENTING_NAME = 0x0042001F, "PidTagSentRepresentingName", None,
        "Name of the user the message is sent on behalf of, stamped by transports that support it.";
    PR_SENT_REPRESENTING_ENTRYID = 0x00410102, "PidTagSentRepresentingEntryId", None,
        "Entry id of the user the message is sent on behalf of.";
    PR_SENT_REPRESENTING_SEARCH_KEY = 0x003B0102, "PidTagSentRepresentingSearchKey", None,
        "Search key of the user the message is sent on behalf of.";
    PR_SENT_REPRESENTING_ADDRTYPE = 0x0064001F, "PidTagSentRepresentingAddressType", None,
        "Address type of the user the message is sent on behalf of.";
    PR_SENT_REPRESENTING_EMAIL_ADDRESS = 0x0065001F, "PidTagSentRepresentingEmailAddress", None,
        "Address of the user the message is sent on behalf of.";
    PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED = 0x0023000B, "PidTagOriginatorDeliveryReportRequested", None,
        "TRUE asks for a delivery report for every recipient the message reached.";
    PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED = 0x0C08000B, "PidTagOriginatorNonDeliveryReportRequested", None,
        "FALSE suppresses non-delivery reports, which are sent otherwise.";
    PR_READ_RECEIPT_REQUESTED = 0x0029000B, "PidTagReadReceiptRequested", None,
        "TRUE asks for a read receipt; read reports are not part of sending.";
    PR_REPORT_ENTRYID = 0x00450102, "PidTagReportEntryId", None,
        "Entry id of whoever should get reports instead of the sender.";
    PR_REPORT_NAME = 0x003A001F, "PidTagReportName", None,
        "Name of whoever should get reports instead of the sender.";
    PR_REPORT_SEARCH_KEY = 0x00540102, "PidTagReportSearchKey", None,
        "Search key of whoever should get reports instead of the sender.";
    PR_MESSAGE_DELIVERY_TIME = 0x0E060040, "PidTagMessageDeliveryTime", None,
        "When the message was delivered; some transports stamp it when they transmit.";
    PR_SENTMAIL_SVR_EID = 0x674000FB, "PidTagSentMailSvrEID", None,
        "Exchange's server-side form of the sent-items folder the submitted message is moved to.";
    PR_TARGET_ENTRYID = 0x30100102, "PidTagTargetEntryId", None,
        "Exchange: another folder a submitted message can be moved to after sending.";

    // b.2 Recipient, report, store and status properties.
    PR_RECIPIENT_TYPE = 0x0C150003, "PidTagRecipientType", RecipientType,
        "To, Cc, Bcc or originator, plus MAPI_P1 for a resend copy and MAPI_SUBMITTED for a recipient that already has the message.";
    PR_ADDRTYPE = 0x3002001F, "PidTagAddressType", None,
        "Address type such as SMTP; the spooler picks a transport by exact match on it.";
    PR_EMAIL_ADDRESS = 0x3003001F, "PidTagEmailAddress", None,
        "The recipient's address in the form its address type uses.";
    PR_DISPLAY_NAME = 0x3001001F, "PidTagDisplayName", None,
        "Display name of the recipient, provider or folder.";
    PR_ROWID = 0x30000003, "PidTagRowid", None,
        "Number of the row in the recipient or status table.";
    PR_RECIPIENT_ENTRYID = 0x5FF70102, "PidTagRecipientEntryId", None,
        "Entry id of the recipient (Outlook and Exchange).";
    PR_RECIPIENT_FLAGS = 0x5FFD0003, "PidTagRecipientFlags", None,
        "Outlook and Exchange recipient flags; the classic spooler does not use them.";
    PR_DELIVER_TIME = 0x00100040, "PidTagDeliverTime", None,
        "When this recipient got the message; present means a delivery report, absent a non-delivery report.";
    PR_REPORT_TIME = 0x00320040, "PidTagReportTime", None,
        "When the report about this recipient was made.";
    PR_REPORT_TEXT = 0x1001001F, "PidTagReportText", None,
        "Why delivery to this recipient failed, as text for the non-delivery report.";
    PR_NDR_REASON_CODE = 0x0C040003, "PidTagNonDeliveryReportReasonCode", NdrReason,
        "Why delivery to this recipient failed, as a MAPI_REASON_* code.";
    PR_NDR_DIAG_CODE = 0x0C050003, "PidTagNonDeliveryReportDiagCode", NdrDiag,
        "Diagnostic code (X.400 style, MAPI_DIAG_*) for a recipient delivery failed for.";
    PR_ORIGINAL_SUBJECT = 0x0049001F, "PidTagOriginalSubject", None,
        "On a report, the subject of the message it reports on.";
    PR_ORIGINAL_SUBMIT_TIME = 0x004E0040, "PidTagOriginalSubmitTime", None,
        "On a report, when the message it reports on was submitted.";
    PR_ORIGINAL_DISPLAY_TO = 0x0074001F, "PidTagOriginalDisplayTo", None,
        "On a report, the To names of the message it reports on.";
    PR_ORIGINAL_DISPLAY_CC = 0x0073001F, "PidTagOriginalDisplayCc", None,
        "On a report, the Cc names of the message it reports on.";
    PR_ORIGINAL_DISPLAY_BCC = 0x0072001F, "PidTagOriginalDisplayBcc", None,
        "On a report, the Bcc names of the message it reports on.";
    PR_REPORT_TAG = 0x00310102, "PidTagReportTag", None,
        "On a report, what ties it to the message it reports on (here: that message's entry id).";
    PR_RECEIVED_BY_NAME = 0x0040001F, "PidTagReceivedByName", None,
        "Name of whoever the message (here: a report) was delivered to: the original's sender.";
    PR_RECEIVED_BY_ADDRTYPE = 0x0075001F, "PidTagReceivedByAddressType", None,
        "Address type of whoever the message (here: a report) was delivered to.";
    PR_RECEIVED_BY_EMAIL_ADDRESS = 0x0076001F, "PidTagReceivedByEmailAddress", None,
        "Address of whoever the message (here: a report) was delivered to.";
    PR_IPM_OUTBOX_ENTRYID = 0x35E20102, "PidTagIpmOutboxEntryId", None,
        "The store's Outbox folder, where outgoing messages are composed.";
    PR_IPM_SENTMAIL_ENTRYID = 0x35E40102, "PidTagIpmSentMailEntryId", None,
        "The store's Sent Items folder, normally copied into each outgoing message.";
    PR_IPM_WASTEBASKET_ENTRYID = 0x35E30102, "PidTagIpmWastebasketEntryId", None,
        "The store's Deleted Items folder, where a sent message can end up instead of being destroyed.";
    PR_STATUS_CODE = 0x3E040003, "PidTagStatusCode", StatusCode,
        "State bits of a provider's status row: available, offline, failed, sending, flushing.";
    PR_STATUS_STRING = 0x3E08001E, "PidTagStatusString", None,
        "Human-readable state of the provider; the spooler supplies a default.";
    PR_RESOURCE_METHODS = 0x3E020003, "PidTagResourceMethods", ResourceMethods,
        "Which status-object methods the provider supports, such as flushing its queues.";
    PR_RESOURCE_TYPE = 0x3E030003, "PidTagResourceType", ResourceType,
        "What a status row describes: store, address book, transport, spooler, subsystem or hook.";
    PR_RESOURCE_FLAGS = 0x30090003, "PidTagResourceFlags", ResourceFlags,
        "Provider flags, including 'prefer to be the last transport' and the hook directions.";
    PR_PROVIDER_DLL_NAME = 0x300A001E, "PidTagProviderDllName", None,
        "File name of the provider's DLL, filled in by MAPI.";
    PR_PROVIDER_DISPLAY = 0x3006001E, "PidTagProviderDisplay", None,
        "Name of the provider as shown in the status table.";
    PR_PROVIDER_UID = 0x300C0102, "PidTagProviderUid", None,
        "Unique id of the provider; the transport order is set as a list of these.";
    PR_IDENTITY_DISPLAY = 0x3E00001E, "PidTagIdentityDisplay", None,
        "Name of the identity a transport is logged on as.";
    PR_IDENTITY_ENTRYID = 0x3E010102, "PidTagIdentityEntryId", None,
        "Entry id of the identity a transport is logged on as.";
    PR_IDENTITY_SEARCH_KEY = 0x3E050102, "PidTagIdentitySearchKey", None,
        "Search key of the identity a transport is logged on as.";
    PR_REMOTE_PROGRESS = 0x3E0B0003, "PidTagRemoteProgress", None,
        "Percent done (0 to 100) of the provider's current transfer, -1 when idle.";
    PR_REMOTE_PROGRESS_TEXT = 0x3E0C001E, "PidTagRemoteProgressText", None,
        "Text describing the provider's current transfer.";
    PR_REMOTE_VALIDATE_OK = 0x3E0D000B, "PidTagRemoteValidateOk", None,
        "TRUE while a remote viewer may ask the transport to re-check its state.";
    PR_OBJECT_TYPE = 0x0FFE0003, "PidTagObjectType", ObjectType,
        "Kind of MAPI object, such as message, folder, or status object on status rows.";
    PR_INSTANCE_KEY = 0x0FF60102, "PidTagInstanceKey", None,
        "Key of a row within one table.";

    // General-purpose properties the simulator needs beyond the pipeline (mapitags.h).
    PR_BODY = 0x1000001F, "PidTagBody", None,
        "Plain-text body of the message.";
    PR_CREATION_TIME = 0x30070040, "PidTagCreationTime", None,
        "When the object was created.";
    PR_LAST_MODIFICATION_TIME = 0x30080040, "PidTagLastModificationTime", None,
        "When the object was last saved.";
    PR_INTERNET_MESSAGE_ID = 0x1035001F, "PidTagInternetMessageId", None,
        "Internet Message-ID header of the message.";
    PR_SEARCH_KEY = 0x300B0102, "PidTagSearchKey", None,
        "Binary key that compares equal for the same content: on an imported message, a digest of the file it came from (importing that file again finds it).";
    PR_HASATTACH = 0x0E1B000B, "PidTagHasAttachments", None,
        "TRUE when the message has attachments.";
    PR_ATTACH_FILENAME = 0x3704001F, "PidTagAttachFilename", None,
        "Short (8.3) file name of the attachment.";
    PR_ATTACH_LONG_FILENAME = 0x3707001F, "PidTagAttachLongFilename", None,
        "Full file name of the attachment.";
    PR_ATTACH_MIME_TAG = 0x370E001F, "PidTagAttachMimeTag", None,
        "MIME type of the attachment.";
    PR_ATTACH_SIZE = 0x0E200003, "PidTagAttachSize", None,
        "Size of the attachment in bytes.";
    PR_ATTACH_DATA_BIN = 0x37010102, "PidTagAttachDataBinary", None,
        "Contents of the attachment.";

    // Deleted Items: where a message was and when it was deleted, so Restore puts it back.
    PR_DELETED_ON = 0x668F0040, "PidTagDeletedOn", None,
        "When the message was moved to Deleted Items; Restore takes it off.";
    PR_DELETED_FROM_ENTRYID = 0x66F00102, "", None,
        "Spoolbox's own (a store-provider property, never transmitted): the folder the message was in before it was moved to Deleted Items; Restore puts it back there.";
}

/// The catalogue entry with exactly this tag.
pub fn lookup(tag: PropTag) -> Option<&'static PropDef> {
    CATALOG.iter().find(|def| def.tag == tag)
}

/// The catalogue entry with this property id, whatever its type; e.g. to name a `PT_ERROR`
/// column, which MAPI returns with the property's id and the error type.
pub fn lookup_id(id: u16) -> Option<&'static PropDef> {
    CATALOG.iter().find(|def| def.tag.id() == id)
}

/// The catalogue entry whose canonical name (`"PR_SUBJECT"`) or `PidTag` name
/// (`"PidTagSubject"`) is exactly `name`.
pub fn lookup_name(name: &str) -> Option<&'static PropDef> {
    if name.is_empty() {
        return None;
    }
    CATALOG
        .iter()
        .find(|def| def.name == name || def.pid_name == name)
}

/// Reads a tag the way a user may type it: a canonical or `PidTag` name, a name with the
/// `_A`/`_W` width suffix (`"PR_SUBJECT_A"`), or hex (see [`PropTag::parse_hex`]).
pub fn parse_tag(s: &str) -> Option<PropTag> {
    let s = s.trim();
    if let Some(def) = lookup_name(s) {
        return Some(def.tag);
    }
    let widths = [("_A", PT_STRING8), ("_W", PT_UNICODE)];
    for (suffix, ty) in widths {
        if let Some(def) = s.strip_suffix(suffix).and_then(lookup_name) {
            let ty_now = def.tag.prop_type();
            if ty_now == PT_STRING8 || ty_now == PT_UNICODE {
                return Some(def.tag.with_type(ty));
            }
        }
    }
    PropTag::parse_hex(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn reference_tags() {
        assert_eq!(PR_RESPONSIBILITY.0, 0x0E0F000B);
        assert_eq!(PR_SUBMIT_FLAGS.0, 0x0E140003);
        assert_eq!(PR_SENTMAIL_ENTRYID.0, 0x0E0A0102);
        assert_eq!(PR_DELETE_AFTER_SUBMIT.0, 0x0E01000B);
        assert_eq!(PR_CLIENT_SUBMIT_TIME.0, 0x00390040);
        assert_eq!(PR_DEFERRED_SEND_TIME.0, 0x3FEF0040);
        assert_eq!(PR_PREPROCESS.0, 0x0E22000B);
        assert_eq!(PR_MESSAGE_FLAGS.0, 0x0E070003);
        assert_eq!(PR_SUBJECT.0, 0x0037001F);
        assert_eq!(PR_IPM_OUTBOX_ENTRYID.0, 0x35E20102);
        assert_eq!(PR_IPM_SENTMAIL_ENTRYID.0, 0x35E40102);
        assert_eq!(PR_DEFERRED_DELIVERY_TIME.0, 0x000F0040);
        assert_eq!(PR_DEFERRED_SEND_NUMBER.0, 0x3FEB0003);
        assert_eq!(PR_DEFERRED_SEND_UNITS.0, 0x3FEC0003);
        assert_eq!(PR_REMOTE_PROGRESS.0, 0x3E0B0003);
        assert_eq!(PR_RECIPIENT_TYPE.0, 0x0C150003);
        assert_eq!(PR_ENTRYID.0, 0x0FFF0102);
        assert_eq!(PR_STATUS_STRING.0, 0x3E08001E);
    }

    #[test]
    fn tag_parts() {
        let tag = PropTag::new(0x0E0F, PT_BOOLEAN);
        assert_eq!(tag, PR_RESPONSIBILITY);
        assert_eq!(tag.id(), 0x0E0F);
        assert_eq!(tag.prop_type(), PT_BOOLEAN);
        assert_eq!(PR_SUBJECT.with_type(PT_STRING8).0, 0x0037001E);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(PR_RESPONSIBILITY.hex(), "0x0E0F000B");
        assert_eq!(PR_SUBJECT.hex(), "0x0037001F");
        assert_eq!(PropTag::parse_hex("0x0e0f000b"), Some(PR_RESPONSIBILITY));
        assert_eq!(PropTag::parse_hex("0E0F000B"), Some(PR_RESPONSIBILITY));
        assert_eq!(PropTag::parse_hex(" 0X0037001F "), Some(PR_SUBJECT));
        assert_eq!(PropTag::parse_hex(""), None);
        assert_eq!(PropTag::parse_hex("0x"), None);
        assert_eq!(PropTag::parse_hex("+1"), None);
        assert_eq!(PropTag::parse_hex("0x123456789"), None);
        assert_eq!(PropTag::parse_hex("PR_SUBJECT"), None);
        for def in CATALOG {
            assert_eq!(PropTag::parse_hex(&def.tag.hex()), Some(def.tag));
        }
    }

    #[test]
    fn names() {
        assert_eq!(PR_SUBJECT.name(), "PR_SUBJECT");
        assert_eq!(PR_SUBJECT.with_type(PT_STRING8).name(), "PR_SUBJECT_A");
        assert_eq!(
            PR_STATUS_STRING.with_type(PT_UNICODE).name(),
            "PR_STATUS_STRING_W"
        );
        assert_eq!(PropTag(0x7FFF0003).name(), "0x7FFF0003");
        assert_eq!(PR_SUBJECT.with_type(PT_ERROR).name(), "0x0037000A");
        assert_eq!(PR_RESPONSIBILITY.to_string(), "PR_RESPONSIBILITY");
        assert_eq!(type_name(PT_LONG), "PT_LONG");
        assert_eq!(type_name(PT_MV_BINARY), "PT_MV_BINARY");
        assert_eq!(type_name(0x0999), "PT_UNKNOWN");
    }

    #[test]
    fn catalogue_is_consistent() {
        let mut tags = HashSet::new();
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for def in CATALOG {
            assert!(tags.insert(def.tag), "duplicate tag {}", def.tag.hex());
            // One entry per id keeps lookup_id and the _A/_W naming unambiguous.
            assert!(ids.insert(def.tag.id()), "duplicate id in {}", def.name);
            assert!(names.insert(def.name), "duplicate name {}", def.name);
            if !def.pid_name.is_empty() {
                assert!(def.pid_name.starts_with("PidTag"), "{}", def.name);
                assert!(
                    names.insert(def.pid_name),
                    "duplicate name {}",
                    def.pid_name
                );
            }
            assert!(def.name.starts_with("PR_"), "{}", def.name);
            assert!(
                !def.doc.is_empty() && def.doc.ends_with('.'),
                "{}",
                def.name
            );
            assert_ne!(type_name(def.tag.prop_type()), "PT_UNKNOWN", "{}", def.name);
        }
    }

    #[test]
    fn name_tag_name_round_trips() {
        for def in CATALOG {
            let by_name = lookup_name(def.name).map(|d| d.tag);
            assert_eq!(by_name, Some(def.tag), "{}", def.name);
            assert_eq!(def.tag.name(), def.name);
            assert_eq!(lookup(def.tag), Some(def));
            assert_eq!(lookup_id(def.tag.id()), Some(def));
            if !def.pid_name.is_empty() {
                assert_eq!(lookup_name(def.pid_name), Some(def));
            }
            assert_eq!(parse_tag(def.name), Some(def.tag));
        }
        assert_eq!(lookup_name(""), None);
        assert_eq!(lookup_name("pr_subject"), None);
        assert_eq!(lookup_name("PidTagResponsibility"), Some(&CATALOG[0]));
    }

    #[test]
    fn parse_tag_forms() {
        assert_eq!(parse_tag("PR_SUBJECT_A"), Some(PropTag(0x0037001E)));
        assert_eq!(parse_tag("PR_SUBJECT_W"), Some(PR_SUBJECT));
        assert_eq!(parse_tag("PR_STATUS_STRING_W"), Some(PropTag(0x3E08001F)));
        assert_eq!(parse_tag("PidTagSubmitFlags"), Some(PR_SUBMIT_FLAGS));
        assert_eq!(parse_tag("0x0e140003"), Some(PR_SUBMIT_FLAGS));
        assert_eq!(parse_tag("PR_SUBMIT_FLAGS_A"), None);
        assert_eq!(parse_tag("nonsense"), None);
    }

    #[test]
    fn transmittable_range() {
        assert!(!is_transmittable(PR_RESPONSIBILITY));
        assert!(!is_transmittable(PR_SUBMIT_FLAGS));
        assert!(!is_transmittable(PR_SENTMAIL_ENTRYID));
        assert!(!is_transmittable(PR_DELETE_AFTER_SUBMIT));
        assert!(!is_transmittable(PR_ENTRYID));
        assert!(!is_transmittable(PropTag::new(0x0E00, PT_LONG)));
        assert!(is_transmittable(PropTag::new(0x0DFF, PT_LONG)));
        assert!(is_transmittable(PropTag::new(0x1000, PT_LONG)));
        assert!(is_transmittable(PR_SUBJECT));
        assert!(is_transmittable(PR_CLIENT_SUBMIT_TIME));
        assert!(is_transmittable(PR_RECIPIENT_TYPE));
    }

    #[test]
    fn decoders_are_attached() {
        let kind = |tag| lookup(tag).map(|d| d.flags);
        assert_eq!(kind(PR_MESSAGE_FLAGS), Some(FlagKind::MessageFlags));
        assert_eq!(kind(PR_SUBMIT_FLAGS), Some(FlagKind::SubmitFlags));
        assert_eq!(kind(PR_RECIPIENT_TYPE), Some(FlagKind::RecipientType));
        assert_eq!(kind(PR_STATUS_CODE), Some(FlagKind::StatusCode));
        assert_eq!(kind(PR_RESOURCE_TYPE), Some(FlagKind::ResourceType));
        assert_eq!(kind(PR_PRIORITY), Some(FlagKind::Priority));
        assert_eq!(kind(PR_SUBJECT), Some(FlagKind::None));
        for def in CATALOG {
            if def.flags != FlagKind::None {
                assert_eq!(def.tag.prop_type(), PT_LONG, "{}", def.name);
            }
        }
    }
}
