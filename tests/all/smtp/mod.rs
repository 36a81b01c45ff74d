//! The real transports (SPEC section 3) against a real SMTP server on loopback, never a mock:
//! aiosmtpd with the handler in `tests/fixtures/smtp_server.py`, started on a free port by each
//! test and stopped when it ends. The server answers each RCPT by the recipient's local part
//! (`reject…` 550, `later…` 451 always, `once…` 451 the first time) and writes every message
//! it accepts into a JSON-lines log, which is how these tests count deliveries at the server.
//! Also `.eml` import and export, and the deliver-for-real guard.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use spoolbox::durable::fs::{AppendFile, FsLayer, RealFs};
use spoolbox::mapi::flags::STATUS_OFFLINE;
use spoolbox::mapi::tags::{PR_DELIVER_TIME, PR_SENTMAIL_ENTRYID};
use spoolbox::mapi::{
    EntryId, Message, MessageState, PropValue, Recipient, RecipientKind, RecipientState, Step,
};
use spoolbox::profile::{
    PickupSettings, Profile, RetryPolicy, SmtpSettings, TlsMode, TransportConfig, TransportKind,
};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick};
use spoolbox::store::{FolderKind, Store};
use spoolbox::transport::smtp::GUARD_TEXT;

use crate::realfs::{Hooked, Hooks};
use crate::store::fast_tempdir;

mod auth;
mod canonical;
mod gate;
mod guard;
mod heavy;
mod hostile;
mod import_export;
mod in_step;
mod pipelining;
mod replies;
mod rig;
pub(crate) mod server;
mod tls;
mod wire;

pub(crate) use rig::*;
pub(crate) use server::*;
