//! Power loss: random store operations (create, edit, submit, send through a null transport,
//! delete, move, new folders, compaction, clean restarts) on a [`SimFs`], with the power cut
//! at a random file operation. After the "reboot" (a fresh `Store` on what the disk kept):
//! every operation that returned before the cut survived, the store opens without quarantine,
//! each message is in one folder with one file, and sending to the end delivers each recipient
//! once (twice only for a recipient whose hand-off was in flight at the cut), one NDR per
//! message at most.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use spoolbox::mapi::tags::{PR_DELETE_AFTER_SUBMIT, PR_SENTMAIL_ENTRYID, PR_SUBJECT};
use spoolbox::mapi::{EntryId, Message, PropValue, Recipient, RecipientKind, RecipientState};
use spoolbox::profile::{Profile, TransportConfig, TransportKind};
use spoolbox::spooler::{Clock, Command, Event, Spooler, Tick, submit};
use spoolbox::store::{FolderKind, Patch, Store};
use spoolbox::transport::{Handoff, RowOutcome, SubmitView, Transport};

use super::simfs::{Cut, SimFs};
use super::{Rng, env_count, seed};
use crate::store::fast_tempdir;

/// Every `(message, row)` the null transport was handed, in order, across restarts.
#[derive(Clone, Default)]
pub struct HandoffLog(Arc<Mutex<Vec<(EntryId, u32)>>>);

impl HandoffLog {
    pub(crate) fn counts(&self) -> HashMap<(EntryId, u32), usize> {
        let mut out = HashMap::new();
        for k in self.0.lock().unwrap().iter() {
            *out.entry(*k).or_default() += 1;
        }
        out
    }
}

/// The null transport, recording what it was handed.
pub struct LogNull {
    types: Vec<String>,
    log: HandoffLog,
}

impl LogNull {
    pub fn boxed(log: &HandoffLog) -> Vec<Box<dyn Transport>> {
        vec![Box::new(Self {
            types: vec!["NULL".into()],
            log: log.clone(),
        })]
    }
}

impl Transport for LogNull {
    fn name(&self) -> &str {
        "Null"
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        let mut log = self.log.0.lock().unwrap();
        Handoff::sent(
            view.rows
                .iter()
                .map(|r| {
                    log.push((view.msg.entry_id, *r));
                    (*r, RowOutcome::Delivered("250 null".into()))
                })
                .collect(),
        )
    }
}

/// The profile: one null transport for address type NULL (X400 rows find no transport and
/// get an NDR).
pub fn null_profile() -> Profile {
    Profile {
        transports: vec![TransportConfig::new("Null", TransportKind::Null, &["NULL"])],
        coupled_addrtypes: Vec::new(),
        ..Profile::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disp {
    /// `PR_SENTMAIL_ENTRYID` (with or without `PR_DELETE_AFTER_SUBMIT`): ends in Sent Items.
    Sent,
    /// Only `PR_DELETE_AFTER_SUBMIT`: deleted.
    Delete,
    /// Neither: stays in the Outbox.
    Stay,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum St {
    Draft,
    Submitted,
    Finished,
}

/// What the model knows was made durable about one message.
#[derive(Clone, Debug)]
pub(crate) struct Exp {
    /// `None`: deleted for good.
    pub(crate) folder: Option<EntryId>,
    pub(crate) subject: String,
    pub(crate) st: St,
    pub(crate) disp: Disp,
    pub(crate) x400: bool,
}

#[derive(Default)]
pub(crate) struct Model {
    pub(crate) msgs: BTreeMap<EntryId, Exp>,
    /// Recipient rows whose delivery mark was reported durable.
    pub(crate) marked: BTreeSet<(EntryId, u32)>,
    /// NDRs reported written: original → report.
    pub(crate) ndrs: BTreeMap<EntryId, EntryId>,
    pub(crate) user_folders: Vec<EntryId>,
    /// Messages the operation under way when the power went may have touched.
    pub(crate) touched: BTreeSet<EntryId>,
    /// The operation under way at the cut (for the failure message).
    pub(crate) in_flight: String,
}

pub(crate) struct Ids {
    pub(crate) outbox: EntryId,
    pub(crate) sent: EntryId,
    pub(crate) deleted: EntryId,
    pub(crate) inbox: EntryId,
}

impl Ids {
    pub(crate) fn of(store: &Store) -> Self {
        Self {
            outbox: store.folder_of(FolderKind::Outbox),
            sent: store.folder_of(FolderKind::SentItems),
            deleted: store.folder_of(FolderKind::DeletedItems),
            inbox: store.folder_of(FolderKind::Inbox),
        }
    }

    pub(crate) fn final_folder(&self, d: Disp) -> Option<EntryId> {
        match d {
            Disp::Sent => Some(self.sent),
            Disp::Delete => None,
            Disp::Stay => Some(self.outbox),
        }
    }
}

pub(crate) struct Rig {
    pub(crate) fs: SimFs,
    pub(crate) root: PathBuf,
    pub(crate) hand: Arc<Mutex<Timestamp>>,
    pub(crate) clock: Clock,
    pub(crate) log: HandoffLog,
}

impl Rig {
    pub(crate) fn advance(&self, secs: i64) -> Timestamp {
        let mut h = self.hand.lock().unwrap();
        *h += SignedDuration::from_secs(secs);
        *h
    }

    pub(crate) fn open(&self) -> Result<Spooler, String> {
        let (store, _) = Store::open_with_fs(&self.root, Arc::new(self.fs.clone()))
            .map_err(|e| e.to_string())?;
        let mut sp = Spooler::new(store, self.clock.clone());
        sp.set_transports(LogNull::boxed(&self.log));
        Ok(sp)
    }
}

/// Applies the events of one operation to the model: only what the spooler promises durable.
pub(crate) fn absorb(model: &mut Model, events: Vec<Event>) {
    for e in events {
        match e {
            Event::StepStarted { eid, .. } => {
                model.touched.insert(eid);
            }
            Event::RecipientMarked {
                eid,
                row,
                responsibility: true,
                outcome: RecipientState::Delivered,
            } => {
                model.marked.insert((eid, row));
            }
            Event::NdrCreated { eid, ndr } => {
                model.ndrs.insert(eid, ndr);
            }
            _ => {}
        }
    }
}

/// One random operation. `Err` is a failure of the store that is not the power cut.
#[allow(clippy::too_many_lines, reason = "one match arm per random operation")]
pub(crate) fn step(
    rng: &mut Rng,
    rig: &Rig,
    sp: &mut Option<Spooler>,
    model: &mut Model,
) -> Result<(), String> {
    let now = rig.advance(1);
    let Some(s) = sp.as_mut() else {
        *sp = Some(rig.open()?);
        return Ok(());
    };
    let ids = Ids::of(s.store());
    let drafts: Vec<EntryId> = model
        .msgs
        .iter()
        .filter(|(_, e)| e.st == St::Draft && e.folder == Some(ids.outbox))
        .map(|(k, _)| *k)
        .collect();
    let at_rest: Vec<EntryId> = model
        .msgs
        .iter()
        .filter(|(_, e)| e.st != St::Submitted && e.folder.is_some())
        .map(|(k, _)| *k)
        .collect();
    let roll = rng.below(100);
    model.touched.clear();
    match roll {
        0..=19 => {
            model.in_flight = "create a draft".into();
            let eid = s.store_mut().new_entry_id().map_err(|e| e.to_string())?;
            model.touched.insert(eid);
            let subject = format!("m{}", eid.0);
            let mut m = Message::draft(eid, ids.outbox, &subject);
            let n = 1 + rng.below(3) as u32;
            let mut x400 = false;
            for row in 0..n {
                if rng.chance(12) {
                    x400 = true;
                    m.recipients.push(Recipient::new(
                        row,
                        "Gateway",
                        "c=DE;o=Spoolbox;s=Nobody",
                        "X400",
                        RecipientKind::To,
                    ));
                } else {
                    m.recipients.push(Recipient::new(
                        row,
                        &format!("R{row}"),
                        &format!("r{row}@null"),
                        "NULL",
                        RecipientKind::Cc,
                    ));
                }
            }
            let sent = rng.chance(70);
            let delete = rng.chance(35);
            if sent {
                m.props
                    .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(ids.sent.to_bytes()));
            }
            if delete {
                m.props.set_bool(PR_DELETE_AFTER_SUBMIT, true);
            }
            m.body = "x".repeat(rng.below(3000) as usize);
            let disp = match (sent, delete) {
                (true, _) => Disp::Sent,
                (false, true) => Disp::Delete,
                (false, false) => Disp::Stay,
            };
            submit::save_draft(s.store_mut(), m).map_err(|e| e.to_string())?;
            model.msgs.insert(
                eid,
                Exp {
                    folder: Some(ids.outbox),
                    subject,
                    st: St::Draft,
                    disp,
                    x400,
                },
            );
        }
        20..=27 if !drafts.is_empty() => {
            let eid = *rng.pick(&drafts);
            model.in_flight = format!("journal patch of {eid}");
            model.touched.insert(eid);
            let subject = format!("m{} v{}", eid.0, now.as_second());
            let mut p = Patch::default();
            p.set.set_text(PR_SUBJECT, subject.clone());
            s.store_mut()
                .patch(eid, p, true)
                .map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().subject = subject;
        }
        28..=32 if !drafts.is_empty() => {
            let eid = *rng.pick(&drafts);
            model.in_flight = format!("rewrite of {eid}");
            model.touched.insert(eid);
            let mut m = s.store_mut().load(eid).map_err(|e| e.to_string())?;
            let subject = format!("m{} w{}", eid.0, now.as_second());
            m.props.set_text(PR_SUBJECT, subject.clone());
            m.body.push_str("edited ");
            submit::save_draft(s.store_mut(), m).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().subject = subject;
        }
        33..=44 if !drafts.is_empty() => {
            let eid = *rng.pick(&drafts);
            model.in_flight = format!("submit of {eid}");
            model.touched.insert(eid);
            submit::submit_message(s.store_mut(), eid, now).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().st = St::Submitted;
        }
        45..=74 => {
            let n = 1 + rng.below(12);
            model.in_flight = format!("{n} spooler tick(s)");
            s.handle(Command::Resume);
            for _ in 0..n {
                let t = s.tick();
                let events = s.drain_events();
                // DoSentMail's copy is filed by group commit: it is promised once its
                // StepFinished is reported (held until the group is durable), not when the
                // tick returns.
                for e in &events {
                    if let Event::StepFinished {
                        eid,
                        step: spoolbox::mapi::Step::DoSentMail,
                        ..
                    } = e
                    {
                        let entry = model.msgs.get_mut(eid).unwrap();
                        match s.store().summary(*eid) {
                            Some(sum) if sum.next_step.is_none() => {
                                entry.st = St::Finished;
                                entry.folder = Some(sum.folder);
                            }
                            Some(_) => return Err(format!("DoSentMail of {eid} did not finish")),
                            None => {
                                entry.st = St::Finished;
                                entry.folder = None;
                            }
                        }
                    }
                }
                absorb(model, events);
                if rig.fs.is_cut() {
                    break;
                }
                match t {
                    Tick::Ran(..) => {}
                    Tick::Paused => return Err("the spooler paused on an error".into()),
                    Tick::Idle(_) => break,
                }
            }
        }
        75..=79 if !at_rest.is_empty() => {
            let eid = *rng.pick(&at_rest);
            model.in_flight = format!("delete of {eid}");
            model.touched.insert(eid);
            s.store_mut().delete(eid).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().folder = None;
        }
        80..=86 if !at_rest.is_empty() => {
            let eid = *rng.pick(&at_rest);
            let mut targets = vec![ids.deleted, ids.inbox, ids.outbox, ids.sent];
            targets.extend(&model.user_folders);
            let to = *rng.pick(&targets);
            model.in_flight = format!("move of {eid} to folder {to}");
            model.touched.insert(eid);
            s.store_mut().move_to(eid, to).map_err(|e| e.to_string())?;
            model.msgs.get_mut(&eid).unwrap().folder = Some(to);
        }
        87..=89 => {
            let name = format!("Folder {}", model.user_folders.len() + 1);
            model.in_flight = format!("create folder {name:?}");
            let id = s
                .store_mut()
                .create_folder(&name)
                .map_err(|e| e.to_string())?;
            model.user_folders.push(id);
        }
        90..=93 => {
            model.in_flight = "compaction".into();
            s.store_mut().compact().map_err(|e| e.to_string())?;
        }
        94..=96 => {
            // kill -9: the process goes without its Drop; the kernel keeps every write it
            // made, durable or not, for the next process.
            model.in_flight = "process killed".into();
            if let Some(s) = sp.take() {
                std::mem::forget(s);
            }
            *sp = Some(rig.open()?);
        }
        97..=99 => {
            model.in_flight = "clean restart".into();
            *sp = None; // drop: journal synced, index.json written
            if rig.fs.is_cut() {
                return Ok(());
            }
            *sp = Some(rig.open()?);
        }
        _ => {}
    }
    Ok(())
}

mod cut;

#[allow(unused_imports, reason = "helpers shared with the other parts")]
pub(crate) use cut::*;
