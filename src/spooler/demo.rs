//! The demo store a first run creates: the profile and messages of SPEC section 3, one
//! message per branch of the pipeline, embedded from `assets/demo.json`.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::mapi::tags::{
    PR_DEFERRED_SEND_TIME, PR_DELETE_AFTER_SUBMIT, PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED,
    PR_SENTMAIL_ENTRYID,
};
use crate::mapi::{Message, PropValue, Recipient, RecipientKind};
use crate::profile::Profile;
use crate::spooler::SpoolerError;
use crate::store::{FolderKind, OpenReport, Result, Seed, Store, StoreError};

const DEMO_JSON: &str = include_str!("../../assets/demo.json");

#[derive(Deserialize)]
struct Demo {
    profile: Profile,
    messages: Vec<DemoMessage>,
}

#[derive(Deserialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "the demo file's switches, one per branch it shows"
)]
struct DemoMessage {
    subject: String,
    body: String,
    #[serde(default)]
    to: Vec<(String, String, String)>,
    #[serde(default)]
    cc: Vec<(String, String, String)>,
    #[serde(default)]
    sent_items: bool,
    #[serde(default)]
    delete_after_submit: bool,
    #[serde(default)]
    deferred_minutes: Option<i64>,
    /// Asks for a delivery report (`PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED`).
    #[serde(default)]
    delivery_report: bool,
    #[serde(default = "yes")]
    submit: bool,
}

fn yes() -> bool {
    true
}

fn demo() -> Option<Demo> {
    serde_json::from_str(DEMO_JSON).ok()
}

/// The demo seed: [`profile`], then [`seed`]'s messages.
pub const SEED: Seed = Seed {
    profile,
    fill: seed,
};

/// Opens the store at `root`, creating it with the demo profile and messages if new.
///
/// # Errors
/// As [`Store::open`].
pub fn open(root: &std::path::Path) -> Result<(Store, OpenReport)> {
    Store::open_seeded(root, &SEED)
}

/// The demo profile: SMTP (offline until configured) → pickup folder → fax; the coupled store
/// handles EX; the "Archive" hook files `[archive]` messages.
pub fn profile() -> Profile {
    demo().map(|d| d.profile).unwrap_or_default()
}

/// Adds the demo messages to a new store and submits those meant to be queued.
///
/// # Errors
/// I/O errors, or a broken embedded demo file.
pub fn seed(store: &mut Store) -> Result<()> {
    let demo =
        demo().ok_or_else(|| StoreError::Invalid(SpoolerError::DemoUnreadable.to_string()))?;
    store.create_folder("Archive")?;
    let outbox = store.folder_of(FolderKind::Outbox);
    let sent = store.folder_of(FolderKind::SentItems);
    for (i, d) in demo.messages.iter().enumerate() {
        let eid = store.new_entry_id()?;
        let mut msg = Message::draft(eid, outbox, &d.subject);
        msg.body.clone_from(&d.body);
        let rows =
            d.to.iter()
                .map(|r| (r, RecipientKind::To))
                .chain(d.cc.iter().map(|r| (r, RecipientKind::Cc)));
        for (n, ((name, addr, ty), kind)) in rows.enumerate() {
            let row = u32::try_from(n).unwrap_or(0);
            msg.recipients
                .push(Recipient::new(row, name, addr, ty, kind));
        }
        if d.sent_items {
            msg.props
                .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
        }
        if d.delete_after_submit {
            msg.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
        }
        if d.delivery_report {
            msg.props
                .set_bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, true);
        }
        if let Some(m) = d.deferred_minutes {
            msg.props.set_time(
                PR_DEFERRED_SEND_TIME,
                Timestamp::now() + SignedDuration::from_mins(m),
            );
        }
        store.save(&mut msg)?;
        if d.submit {
            // Submitted a few milliseconds apart so the queue order is the file's order.
            let at = Timestamp::now() + SignedDuration::from_millis(i64::try_from(i).unwrap_or(0));
            super::submit::submit_message(store, eid, at)
                .map_err(SpoolerError::into_store_error)?;
        }
    }
    Ok(())
}
