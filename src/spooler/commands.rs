//! Command handling: [`Spooler::handle`] and the per-command helpers (drafts, send now,
//! faults, hold, delete, restore, move); file work (import, export, source, traces) is in
//! `files.rs`.

use jiff::Timestamp;

use crate::mapi::{EntryId, Message, MessageState};
use crate::spooler::error::SpoolerError;
use crate::store::{Patch, StoreError};
use crate::transport;

use super::{Command, Event, Mode, Spooler, submit};

impl Spooler {
    /// Handles one command.
    pub fn handle(&mut self, cmd: Command) {
        // A command acts on filed messages and reported state only.
        self.settle();
        let now = self.now();
        let result: Result<(), SpoolerError> = match cmd {
            Command::Submit(eid) => {
                submit::submit_message(&mut self.store, eid, now).map(|m| self.changed(&m))
            }
            Command::SubmitDraft { draft, seen } => {
                submit::submit_draft(&mut self.store, *draft, seen, now).map(|m| self.changed(&m))
            }
            Command::SendAgain(eid) => self.send_again(eid, now),
            Command::AbortSubmit(eid) => self.abort_submit(eid, now),
            Command::SendNow(eid) => self.send_now(eid, now).map(|()| self.say_if_paused(1)),
            Command::Flush => self.flush_queue(),
            Command::Pause => {
                self.pause();
                Ok(())
            }
            Command::Resume | Command::Continue => {
                self.released = self.at.take();
                self.mode = Mode::Running;
                self.store_trouble = false;
                self.emit_debug();
                self.emit_status();
                Ok(())
            }
            Command::Step => {
                self.released = self.at.take();
                self.mode = Mode::StepOnce;
                Ok(())
            }
            Command::SetBreakpoint(step, on) => {
                if on {
                    self.breakpoints.insert(step);
                } else {
                    self.breakpoints.remove(&step);
                }
                self.emit_debug();
                Ok(())
            }
            Command::SetFaults(name, faults) => self.set_faults(&name, faults),
            Command::SaveProfile(p) => self
                .store
                .set_profile(*p)
                .map(|()| {
                    self.transports = transport::from_profile(self.store.profile());
                    self.requeue_deferred("the transports were rebuilt from the new profile");
                    self.guard_notice();
                    let p = Box::new(self.store.profile().clone());
                    self.emit(Event::Profile(p));
                    self.emit_status();
                    // A good profile lifts a hold on sending: the window's bar says so at once.
                    self.emit_debug();
                })
                .map_err(SpoolerError::from),
            Command::SaveDraft(m) => {
                submit::save_draft(&mut self.store, *m).map(|m| self.changed(&m))
            }
            Command::NewDraft => self.new_draft(),
            Command::Hold(eid, on) => self.hold(eid, on),
            Command::Delete(eid) => self.delete(eid),
            Command::Move(eid, to) => self.move_message(eid, to),
            Command::Resend(ndr) => self.resend(ndr),
            Command::Watch(eid) => {
                self.watched = eid;
                if let Some(e) = eid
                    && let Ok(m) = self.store.peek(e)
                {
                    self.emit(Event::Detail(Box::new(m)));
                }
                Ok(())
            }
            Command::AttachFile(eid, path) => {
                submit::attach_file(&mut self.store, eid, &path).map(|m| self.changed(&m))
            }
            Command::ImportEml(path) => self.import_eml(&path).map(|_| ()),
            Command::ExportEml(eid, path) => self.export_eml(eid, &path),
            Command::Source(eid) => {
                self.source(eid);
                Ok(())
            }
            Command::ExportTrace(eid, path) => self.export_trace(eid, &path),
            Command::CreateFolder(name) => self
                .store
                .create_folder(&name)
                .map(|_| {
                    let f = self.store.folders().to_vec();
                    self.emit(Event::Folders(f));
                })
                .map_err(SpoolerError::from),
            Command::Resync => {
                let s = self.snapshot();
                self.emit(Event::Snapshot(s));
                Ok(())
            }
            Command::Shutdown => Ok(()),
            Command::Restore(eid) => self.restore(eid),
            Command::Bulk(items) => {
                self.bulk(items);
                Ok(())
            }
            // Headless (the CLI, tests): in place; the worker runs these on a thread.
            c @ (Command::TestConnection(_)
            | Command::LookUpPassword(_)
            | Command::StorePassword(..)
            | Command::LoadTimeline(_)
            | Command::ExportTimeline { .. }) => {
                for e in super::aside::run(c) {
                    self.emit(e);
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            self.emit(Event::Error(e.to_string()));
        }
        // A command's effect is reported once it is durable.
        self.settle();
    }

    /// `IMsgStore::AbortSubmit`, and `TransportNotify(NOTIFY_ABORT_DEFERRED |
    /// NOTIFY_CANCEL_MESSAGE)` to the transport that had deferred the message (e.18).
    pub(super) fn abort_submit(
        &mut self,
        eid: EntryId,
        now: Timestamp,
    ) -> Result<(), SpoolerError> {
        let deferred_by = self.store.peek(eid)?.spool.deferred_by.clone();
        let m = submit::abort_submit(&mut self.store, eid, now)?;
        if let Some(t) = deferred_by
            .as_deref()
            .and_then(|name| self.transports.iter_mut().find(|t| t.name() == name))
        {
            t.abort_deferred(eid);
        }
        let delivered = m
            .recipients
            .iter()
            .filter(|r| r.is_submitted_marker() && r.responsibility())
            .count();
        if delivered > 0 {
            self.emit(Event::Notice(format!(
                "message {eid} is a draft again; {delivered} recipient(s) who already got it are kept as delivered and will not be sent to again"
            )));
        }
        if self.current == Some(eid) {
            self.current = None;
        }
        if self.at.is_some_and(|(e, _)| e == eid) {
            self.at = None;
            self.emit_debug();
        }
        self.changed(&m);
        Ok(())
    }

    /// Send/Receive: clears the retry timer of every waiting message, once. Messages that
    /// run into trouble again wait again (a dead server never makes this spin).
    fn flush_queue(&mut self) -> Result<(), SpoolerError> {
        if let Some(why) = self.store.profile_hold() {
            // Nothing moves, not even a retry timer: the profile is what is wrong.
            let text = format!("Send/Receive: nothing is sent: sending is held: {why}");
            self.emit(Event::Error(text));
            return Ok(());
        }
        // "Send all" also tries message files that could not be read before: those readable
        // now come back into the queue.
        for eid in self.store.recheck_unreadable()? {
            if let Some(s) = self.store.summary(eid).cloned() {
                self.emit(Event::Summary(Box::new(s)));
            }
        }
        let now = self.now();
        let waiting: Vec<EntryId> = self
            .store
            .queue()
            .filter(|e| {
                self.store
                    .summary(*e)
                    .is_some_and(|s| s.state(now) == MessageState::WaitingRetry)
            })
            .collect();
        for eid in &waiting {
            let msg = self.store.load(*eid)?;
            let mut spool = msg.spool.clone();
            spool.next_retry = None;
            let m = self.store.patch(
                *eid,
                Patch {
                    spool: Some(spool),
                    ..Patch::default()
                },
                false,
            )?;
            self.changed(&m);
        }
        let queued = self.store.queue().count();
        if queued > 0 {
            self.flush_progress = Some((queued as u64, 0));
        }
        // Never silent: a flush while stopped does nothing until the user lets the spooler go.
        let until = match (self.at, self.mode) {
            (Some((eid, step)), _) => format!(
                "; queued until Continue (F5): the spooler is stopped at a breakpoint before {step} of message {eid}"
            ),
            (None, Mode::Paused) => "; queued until Resume (Ctrl+P): the spooler is paused".into(),
            _ => String::new(),
        };
        self.emit(Event::Notice(format!(
            "Send/Receive: {queued} queued message(s) eligible now ({} retry timer(s) ignored){until}",
            waiting.len()
        )));
        Ok(())
    }

    pub(super) fn send_now(&mut self, eid: EntryId, now: Timestamp) -> Result<(), SpoolerError> {
        let Some(s) = self.store.summary(eid).cloned() else {
            return Err(StoreError::NotFound(eid).into());
        };
        if s.is_submitted() {
            let msg = self.store.load(eid)?;
            let mut spool = msg.spool.clone();
            spool.next_retry = None;
            spool.held = false;
            let m = self.store.patch(
                eid,
                Patch {
                    spool: Some(spool),
                    ..Patch::default()
                },
                false,
            )?;
            self.changed(&m);
        } else {
            let m = submit::submit_message(&mut self.store, eid, now)?;
            self.changed(&m);
        }
        if self.current.is_none() {
            self.current = Some(eid);
        }
        Ok(())
    }

    fn set_faults(
        &mut self,
        name: &str,
        faults: crate::profile::FaultConfig,
    ) -> Result<(), SpoolerError> {
        let mut profile = self.store.profile().clone();
        let Some(cfg) = profile.transports.iter_mut().find(|t| t.name == name) else {
            return Err(SpoolerError::NoTransport(name.to_owned()));
        };
        cfg.faults = faults.clone();
        self.store.set_profile(profile)?;
        if let Some(f) = self
            .transports
            .iter_mut()
            .find(|t| t.name() == name)
            .and_then(|t| t.faults_mut())
        {
            *f = faults;
        }
        let p = Box::new(self.store.profile().clone());
        self.emit(Event::Profile(p));
        self.emit_status();
        Ok(())
    }

    /// "Send again": a copy of a sent message, opened to edit; nothing is sent before Submit.
    fn send_again(&mut self, eid: EntryId, now: Timestamp) -> Result<(), SpoolerError> {
        let m = submit::send_again(&mut self.store, eid, now)?;
        self.emit(Event::Notice(format!(
            "message {} is a copy of message {eid} to edit: nothing is sent until you submit it; the original and its trace are unchanged",
            m.entry_id
        )));
        self.changed(&m);
        self.emit(Event::DraftCreated(m.entry_id));
        Ok(())
    }

    /// Resend of an NDR: a copy to correct, opened to edit; nothing is sent before Submit.
    fn resend(&mut self, ndr: EntryId) -> Result<(), SpoolerError> {
        let m = submit::resend(&mut self.store, ndr)?;
        let kept = m
            .recipients
            .iter()
            .filter(|r| r.is_submitted_marker())
            .count();
        let failed = m.recipients.len() - kept;
        self.emit(Event::Notice(format!(
            "message {} resends message {ndr}'s original to its {failed} failed recipient(s): correct their addresses and submit it; the {kept} who got it are kept and not sent again",
            m.entry_id
        )));
        self.changed(&m);
        self.emit(Event::DraftCreated(m.entry_id));
        Ok(())
    }

    /// Send now while the spooler is stopped does nothing yet: it says so, and what runs it
    /// (issue 28, item 6: it used to do nothing without a word).
    pub(super) fn say_if_paused(&mut self, n: usize) {
        if self.mode != Mode::Paused {
            return;
        }
        let what = if n == 1 {
            "the message goes".to_owned()
        } else {
            format!("the {n} messages go")
        };
        let how = if self.at.is_some() {
            "stopped at a breakpoint: Continue (F5) or Step (F10) sends it"
        } else {
            "paused: Resume (or Step, F10) sends it"
        };
        self.emit(Event::Notice(format!(
            "{what} when the spooler runs again; it is {how}"
        )));
    }

    /// Pauses: the timeline records where it stopped.
    fn pause(&mut self) {
        if self.mode != Mode::Paused {
            let at = self.current.zip(
                self.current
                    .and_then(|e| self.store.summary(e))
                    .and_then(|s| s.next_step),
            );
            self.record_stop(
                crate::store::timeline::Kind::Pause,
                at,
                "paused by the user",
            );
        }
        self.mode = Mode::Paused;
        self.emit_debug();
        self.emit_status();
    }

    fn new_draft(&mut self) -> Result<(), SpoolerError> {
        self.create_draft("", |_| {}).map(|_| ())
    }

    /// A new draft in the Outbox whose sent copy goes to Sent Items, filled in by `fill`,
    /// saved and announced ([`Event::DraftCreated`]).
    pub(super) fn create_draft(
        &mut self,
        subject: &str,
        fill: impl FnOnce(&mut Message),
    ) -> Result<Message, SpoolerError> {
        let eid = self.store.new_entry_id()?;
        let outbox = self.store.folder_of(crate::store::FolderKind::Outbox);
        let mut m = Message::draft(eid, outbox, subject);
        let sent = self.store.folder_of(crate::store::FolderKind::SentItems);
        m.props.set(
            crate::mapi::tags::PR_SENTMAIL_ENTRYID,
            crate::mapi::PropValue::Binary(sent.to_bytes()),
        );
        fill(&mut m);
        submit::clean_headers(&mut m);
        self.store.save(&mut m)?;
        self.changed(&m);
        self.emit(Event::DraftCreated(eid));
        Ok(m)
    }

    pub(super) fn hold(&mut self, eid: EntryId, on: bool) -> Result<(), SpoolerError> {
        let msg = self.store.load(eid)?;
        if !msg.is_submitted() {
            return Err(SpoolerError::NotQueued(eid));
        }
        let mut spool = msg.spool.clone();
        spool.held = on;
        let m = self.store.patch(
            eid,
            Patch {
                spool: Some(spool),
                ..Patch::default()
            },
            true,
        )?;
        if on && self.current == Some(eid) && !m.is_locked() {
            self.current = None;
        }
        self.changed(&m);
        Ok(())
    }

    pub(super) fn delete(&mut self, eid: EntryId) -> Result<(), SpoolerError> {
        let Some(s) = self.store.summary(eid).cloned() else {
            return Err(StoreError::NotFound(eid).into());
        };
        if s.in_pipeline() {
            // Never from under the spooler: queued, or finished with DoSentMail still to run.
            return Err(crate::mapi::MapiError::new(
                crate::mapi::MapiCode::Submitted,
                if s.is_submitted() {
                    "a queued message cannot be deleted; abort the submission first"
                } else {
                    "the spooler has not finished with it (DoSentMail is still to run)"
                },
            )
            .into());
        }
        let wastebasket = self.store.folder_of(crate::store::FolderKind::DeletedItems);
        if s.folder == wastebasket {
            self.store.delete(eid)?;
            self.emit(Event::Removed(eid));
        } else {
            self.move_to_wastebasket(eid, s.folder)?;
        }
        Ok(())
    }

    /// Moves a message to Deleted Items, recording where it was and when
    /// (`PR_DELETED_FROM_ENTRYID`, `PR_DELETED_ON`) for Restore.
    fn move_to_wastebasket(&mut self, eid: EntryId, from: EntryId) -> Result<(), SpoolerError> {
        let wastebasket = self.store.folder_of(crate::store::FolderKind::DeletedItems);
        let mut m = self.store.load(eid)?;
        m.props.set(
            crate::mapi::tags::PR_DELETED_FROM_ENTRYID,
            crate::mapi::PropValue::Binary(from.to_bytes()),
        );
        m.props
            .set_time(crate::mapi::tags::PR_DELETED_ON, self.now());
        m.folder = wastebasket;
        self.store.save(&mut m)?;
        self.emit(Event::Moved {
            eid,
            from,
            to: wastebasket,
        });
        self.changed(&m);
        Ok(())
    }

    /// Puts a message in Deleted Items back where it was deleted from. Only its folder and
    /// the two deletion properties change: its flags, recipients and history stay, so a
    /// draft comes back a draft and a sent copy a sent copy, and nothing is submitted.
    pub(super) fn restore(&mut self, eid: EntryId) -> Result<(), SpoolerError> {
        use crate::store::FolderKind;
        let Some(s) = self.store.summary(eid).cloned() else {
            return Err(StoreError::NotFound(eid).into());
        };
        if s.is_submitted() {
            return Err(crate::mapi::MapiError::new(
                crate::mapi::MapiCode::Submitted,
                "a queued message cannot be moved; abort the submission first",
            )
            .into());
        }
        let wastebasket = self.store.folder_of(FolderKind::DeletedItems);
        if s.folder != wastebasket {
            return Err(crate::mapi::MapiError::new(
                crate::mapi::MapiCode::InvalidParameter,
                format!("message {eid} is not in Deleted Items: there is nothing to restore"),
            )
            .into());
        }
        let mut m = self.store.load(eid)?;
        let state = m.state(self.now());
        let recorded = s
            .deleted_from
            .filter(|f| *f != wastebasket && self.store.folder(*f).is_some());
        let to = recorded.unwrap_or_else(|| match state {
            MessageState::Received => self.store.folder_of(FolderKind::Inbox),
            MessageState::Sent => m
                .sentmail_folder()
                .filter(|f| *f != wastebasket && self.store.folder(*f).is_some())
                .unwrap_or_else(|| self.store.folder_of(FolderKind::SentItems)),
            _ => self.store.folder_of(FolderKind::Outbox),
        });
        m.props.remove(crate::mapi::tags::PR_DELETED_FROM_ENTRYID);
        m.props.remove(crate::mapi::tags::PR_DELETED_ON);
        m.folder = to;
        self.store.save(&mut m)?;
        self.emit(Event::Moved {
            eid,
            from: wastebasket,
            to,
        });
        self.changed(&m);
        let name = self
            .store
            .folder(to)
            .map_or_else(|| to.to_string(), |f| f.name.clone());
        let how = if recorded.is_some() {
            "where it was deleted from"
        } else {
            "where it was deleted from was not recorded"
        };
        self.emit(Event::Notice(format!(
            "message {eid} restored to {name} ({how}): {} as it was, nothing submitted",
            match state {
                MessageState::Draft => "a draft",
                MessageState::Sent => "a sent copy",
                MessageState::Received => "received mail",
                _ => "the message",
            }
        )));
        Ok(())
    }

    pub(super) fn move_message(&mut self, eid: EntryId, to: EntryId) -> Result<(), SpoolerError> {
        let Some(s) = self.store.summary(eid).cloned() else {
            return Err(StoreError::NotFound(eid).into());
        };
        if s.is_submitted() {
            return Err(crate::mapi::MapiError::new(
                crate::mapi::MapiCode::Submitted,
                "a queued message cannot be moved",
            )
            .into());
        }
        if to == self.store.folder_of(crate::store::FolderKind::DeletedItems) && s.folder != to {
            return self.move_to_wastebasket(eid, s.folder);
        }
        let m = self.store.move_to(eid, to)?;
        self.emit(Event::Moved {
            eid,
            from: s.folder,
            to,
        });
        self.changed(&m);
        Ok(())
    }
}
