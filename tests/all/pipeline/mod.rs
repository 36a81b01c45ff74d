//! The pipeline (SPEC section 2, reference a.5 and e): one test per branch, named after it,
//! driven through the library with a hand-moved clock and scripted transports that record
//! every row they are offered.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use spoolbox::mapi::flags::{
    MAPI_REASON_TRANSFER_FAILED, MAPI_REASON_TRANSFER_IMPOSSIBLE, MAPI_SPOOLER, MAPI_SUBMITTED,
    MAPI_TRANSPORT_PROVIDER, MSGFLAG_READ, MSGFLAG_RESEND, MSGFLAG_SUBMIT, MSGFLAG_UNSENT,
    STATUS_AVAILABLE, STATUS_OFFLINE, STATUS_OUTBOUND_ACTIVE, STATUS_OUTBOUND_ENABLED,
    SUBMITFLAG_LOCKED, SUBMITFLAG_PREPROCESS,
};
use spoolbox::mapi::tags::{
    PR_CLIENT_SUBMIT_TIME, PR_DEFERRED_DELIVERY_TIME, PR_DEFERRED_SEND_NUMBER,
    PR_DEFERRED_SEND_TIME, PR_DEFERRED_SEND_UNITS, PR_DELETE_AFTER_SUBMIT, PR_DELIVER_TIME,
    PR_NDR_REASON_CODE, PR_ORIGINAL_ENTRYID, PR_ORIGINAL_SUBJECT,
    PR_ORIGINATOR_NON_DELIVERY_REPORT_REQUESTED, PR_PREPROCESS, PR_REPORT_TEXT, PR_RESPONSIBILITY,
    PR_SENTMAIL_ENTRYID, PR_SUBJECT,
};
use spoolbox::mapi::{
    EntryId, MapiCode, Message, MessageState, PropValue, Recipient, RecipientKind, RecipientState,
    Step, StepOutcome, TraceCall,
};
use spoolbox::profile::{
    FaxSettings, HookAction, HookConfig, Profile, RetryPolicy, TransportConfig, TransportKind,
};
use spoolbox::spooler::{Clock, Command, Event, Spooler, SpoolerError, Tick, submit};
use spoolbox::store::{FolderKind, Store, Summary};
use spoolbox::transport::fax::{COVER_PAGE, FaxTransport};
use spoolbox::transport::{
    EndFlag, Handoff, Preprocessed, RowOutcome, SubmitResult, SubmitView, Transport,
};

use crate::store::fast_tempdir;

mod abort;
mod disposal;
mod invariants;
mod no_wait;
mod poison;
mod preprocess;
mod restart;
mod retry;
mod rig;
mod scripted;
mod submitting;
mod transmit;

pub(crate) use disposal::hook;
pub(crate) use rig::*;
pub(crate) use scripted::*;
