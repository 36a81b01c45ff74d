//! [`SpoolboxApp::apply`]: the one place that acts on what the user asked for, and what it
//! needs (selection, focus, the editor's saves, picked paths).

use std::path::PathBuf;

use super::SpoolboxApp;
use crate::mapi::{EntryId, MessageState};
use crate::spooler::{BulkOp, Command};
use crate::ui::Intent;
use crate::ui::dialogs::{Picked, Purpose};
use crate::ui::model::{SortKey, Tab};

impl SpoolboxApp {
    /// Acts on one intent: commands for the worker are queued (sent after the frame), the
    /// rest changes the model or the app's own state.
    pub fn apply(&mut self, intent: Intent) {
        match intent {
            Intent::NewMessage => {
                self.save_draft_now();
                self.command(Command::NewDraft);
            }
            Intent::SendNow { eids, save_first } => {
                if save_first {
                    self.save_draft_now();
                }
                self.bulk(eids, BulkOp::SendNow);
            }
            Intent::Flush => self.command(Command::Flush),
            Intent::AbortSubmit(eids) => self.bulk(eids, BulkOp::AbortSubmit),
            Intent::Pause => self.command(Command::Pause),
            Intent::Resume => self.command(Command::Resume),
            Intent::Step => self.command(Command::Step),
            Intent::Continue => self.command(Command::Continue),
            Intent::ToggleTheme => self.toggle_theme(),
            Intent::ToggleHelp => self.windows.help = !self.windows.help,
            Intent::ToggleFaults => self.windows.faults = !self.windows.faults,
            Intent::ToggleProfile => self.windows.settings.toggle(self.model.profile.as_ref()),
            Intent::PickFile(p) => self.dialogs.open(p),
            Intent::SetFilter(f) => {
                self.model.filter = f;
                self.model.invalidate_rows();
            }
            Intent::SortBy(k) => self.sort_by(k),
            Intent::Hold { eids, hold } => self.bulk(eids, BulkOp::Hold(hold)),
            Intent::Delete(eids) => self.delete(&eids),
            Intent::ClickRow {
                eid,
                toggle,
                extend,
            } => self.click_row(eid, toggle, extend),
            Intent::SelectRow { eid, extend } => self.select_row(eid, extend),
            Intent::SelectAll => self.model.selected = self.model.rows.iter().copied().collect(),
            Intent::CloseTopWindow => self.windows.close_top(self.model.profile.as_ref()),
            Intent::OpenFolder(id) => self.open_folder(id),
            Intent::ShowTab(tab) => self.show_tab(tab),
            Intent::TimeTravel(i) => self.model.travel = i,
            Intent::SetBreakpoint(step, on) => self.command(Command::SetBreakpoint(step, on)),
            Intent::Resend(eid) => {
                self.save_draft_now();
                self.command(Command::Resend(eid));
            }
            Intent::SendAgain(eid) => {
                self.save_draft_now();
                self.command(Command::SendAgain(eid));
            }
            Intent::SaveDraft => self.save_draft_now(),
            Intent::SubmitDraft => self.ask_or_submit(),
            Intent::Quit => {
                self.save_draft_now();
                self.ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Intent::AnswerNoSubject(yes) => {
                self.model.confirm_no_subject = false;
                if yes {
                    self.submit_draft();
                }
            }
            Intent::SubmitRefused(why) => {
                if !self.model.errors.contains(&why) {
                    self.model.errors.push(why);
                }
            }
            Intent::PathFieldDone(ok) => self.path_field_done(ok),
            Intent::SetFaults(transport, faults) => {
                self.command(Command::SetFaults(transport, faults));
            }
            Intent::SaveProfile(p) => self.command(Command::SaveProfile(p)),
            Intent::DismissError(i) => {
                if i < self.model.errors.len() {
                    self.model.errors.remove(i);
                }
            }
            Intent::DismissAllErrors => self.model.errors.clear(),
            Intent::Restore(eids) => self.restore(eids),
            Intent::GoTo(id) => self.go_to(id),
            Intent::ShowSpan { eid, step, start } => {
                self.go_to(eid);
                if step.is_some() {
                    self.model.tab = crate::ui::model::Tab::Pipeline;
                }
                self.model.travel_to = Some(crate::ui::timeline::Travel { eid, step, start });
                self.model.travel_to_step();
            }
            Intent::ShowTimeline(on) => self.model.show_timeline = on,
            Intent::SetProperty {
                eid,
                row,
                tag,
                value,
            } => self.set_property(eid, row, tag, value),
            Intent::OpenMessage(eid) => self.open_message(eid),
            Intent::UndoDelete => self.undo_delete(),
            Intent::AnswerDelete(yes) => {
                if let Some(eids) = self.model.confirm_delete.take()
                    && yes
                {
                    self.leave_rows(&eids);
                    self.bulk(eids, BulkOp::Delete);
                }
            }
            Intent::TestConnection(t) => self.command(Command::TestConnection(t)),
            Intent::LookUpPassword(key) => self.command(Command::LookUpPassword(key)),
            Intent::StorePassword(key, secret) => {
                // The answer says where it is now: ask again then.
                self.model.passwords.remove(&key);
                self.command(Command::StorePassword(key, secret));
            }
        }
    }

    /// Shows what an entry id points to: a folder is opened; a message is selected in its
    /// folder (the detail follows).
    fn go_to(&mut self, id: EntryId) {
        if self.model.folders.iter().any(|f| f.entry_id == id) {
            self.open_folder(id);
        } else if let Some(folder) = self.model.summaries.get(&id).map(|s| s.folder) {
            if self.model.folder != Some(folder) {
                self.open_folder(folder);
            }
            self.model.filter.clear();
            self.model.invalidate_rows();
            self.select_row(id, false);
        }
    }

    /// Sets one property of the draft shown and saves it as the editor saves (`SaveDraft`):
    /// on top of the editor's unsaved edits when it has any, so neither is lost.
    fn set_property(
        &mut self,
        eid: EntryId,
        row: Option<u32>,
        tag: crate::mapi::tags::PropTag,
        value: crate::mapi::PropValue,
    ) {
        let sent = self.sent_folder();
        let edited = match self.compose.take_save(sent, true) {
            Some(Command::SaveDraft(d)) if d.entry_id == eid => Some(*d),
            Some(other) => {
                self.command(other);
                None
            }
            None => None,
        };
        let Some(mut draft) =
            edited.or_else(|| self.model.detail.clone().filter(|m| m.entry_id == eid))
        else {
            return;
        };
        let bag = match row {
            None => Some(&mut draft.props),
            Some(r) => draft.recipient_mut(r).map(|r| &mut r.props),
        };
        if let Some(bag) = bag {
            bag.set(tag, value);
            self.command(Command::SaveDraft(Box::new(draft)));
        }
    }

    /// One command per message, in order.
    /// Restore; the last delete's Undo would move back what was just put back, so it goes.
    fn restore(&mut self, eids: Vec<EntryId>) {
        if self
            .model
            .undo
            .as_ref()
            .is_some_and(|u| u.moves.iter().any(|(e, _)| eids.contains(e)))
        {
            self.model.undo = None;
        }
        self.bulk(eids, BulkOp::Restore);
    }

    /// Submit, asked once first when the subject is empty: a subject left empty by accident
    /// (three quick Tabs that never reached it) is not sent without a word.
    fn ask_or_submit(&mut self) {
        if self.compose.loaded.is_some() && self.compose.content.subject.trim().is_empty() {
            self.model.confirm_no_subject = true;
        } else {
            self.submit_draft();
        }
    }

    /// One action on the selection: the single command for one message, else one
    /// [`Command::Bulk`] for all of them, answered per message (issue 28, item 2).
    pub(super) fn bulk(&mut self, eids: Vec<EntryId>, op: BulkOp) {
        match eids.as_slice() {
            [] => {}
            [eid] => self.command(op.command(*eid)),
            _ => self.command(Command::Bulk(eids.into_iter().map(|e| (e, op)).collect())),
        }
    }

    /// Sorts by `k`, or turns the direction around when the table is sorted by it already.
    fn sort_by(&mut self, k: SortKey) {
        let (key, asc) = self.model.effective_sort();
        self.model.sort = if key == k { (k, !asc) } else { (k, true) };
        self.model.invalidate_rows();
    }

    /// A click on a row: Ctrl toggles it, Shift extends the selection to it.
    fn click_row(&mut self, eid: EntryId, toggle: bool, extend: bool) {
        if toggle {
            self.toggle_row(eid);
        } else {
            self.select_row(eid, extend);
        }
        // A clicked row is in view already.
        self.outbox.scroll_to = None;
    }

    /// Shows another folder, with nothing selected.
    fn open_folder(&mut self, id: EntryId) {
        self.model.folder = Some(id);
        self.model.selected.clear();
        // A filter typed for one folder does not follow to another (it hid new messages).
        self.model.filter.clear();
        self.model.invalidate_rows();
        self.focus(None);
    }

    /// Shows a tab of the detail; the Source tab asks the worker for the text.
    fn show_tab(&mut self, tab: Tab) {
        self.model.tab = tab;
        if tab == Tab::Source
            && let Some(eid) = self.model.detail.as_ref().map(|m| m.entry_id)
        {
            self.command(Command::Source(eid));
        }
    }

    /// Submits what the editor shows. The editor closes in the same frame; the worker
    /// refuses any later submit of the submission this editor saw.
    fn submit_draft(&mut self) {
        let sent = self.sent_folder();
        let Some(cmd) = self.compose.take_submit(sent) else {
            return;
        };
        let eid = self.compose.loaded.unwrap_or(EntryId(0));
        self.compose.close();
        self.model.submitting = Some(eid);
        if self.model.tab == Tab::Compose {
            self.model.tab = Tab::Pipeline;
        }
        self.command(cmd);
    }

    /// Saves what the editor shows, if anything is unsaved (leaving a draft, closing).
    pub(super) fn save_draft_now(&mut self) {
        let sent = self.sent_folder();
        if let Some(c) = self.compose.take_save(sent, true) {
            self.command(c);
        }
    }

    /// Focuses a message (and asks the worker to stream its details). Edits of the draft
    /// being left are saved first: switching rows never loses them.
    pub(super) fn focus(&mut self, eid: Option<EntryId>) {
        if self.model.focused != eid {
            self.save_draft_now();
            self.model.focused = eid;
            self.model.detail = None;
            self.model.travel = None;
            self.model.source = None;
            self.compose.close();
            if self.model.tab == Tab::Compose {
                self.model.tab = Tab::Pipeline;
            }
            self.command(Command::Watch(eid));
            if self.model.tab == Tab::Source
                && let Some(e) = eid
            {
                self.command(Command::Source(e));
            }
        }
    }

    /// Selects `eid` (the detail follows); with `extend`, every row from the anchor to it.
    /// The table scrolls it into view.
    pub(super) fn select_row(&mut self, eid: EntryId, extend: bool) {
        let anchor = self.anchor.or(self.model.focused);
        let range = anchor.filter(|_| extend).and_then(|a| {
            let rows = &self.model.rows;
            let i = rows.iter().position(|e| *e == a)?;
            let j = rows.iter().position(|e| *e == eid)?;
            rows.get(i.min(j)..=i.max(j)).map(<[EntryId]>::to_vec)
        });
        self.model.selected.clear();
        if let Some(r) = range {
            self.model.selected.extend(r);
        } else {
            self.model.selected.insert(eid);
            self.anchor = Some(eid);
        }
        self.outbox.scroll_to = Some(eid);
        self.focus(Some(eid));
    }

    /// Ctrl+click: adds or removes one row; it becomes the anchor of a later Shift range.
    fn toggle_row(&mut self, eid: EntryId) {
        if !self.model.selected.remove(&eid) {
            self.model.selected.insert(eid);
        }
        self.anchor = Some(eid);
        self.focus(Some(eid));
    }

    /// Toggles the theme.
    fn toggle_theme(&mut self) {
        self.dark = !self.dark;
        self.ctx.set_theme(if self.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
    }

    /// What a picked (or typed) path does.
    pub(super) fn picked(&mut self, purpose: Purpose, paths: Vec<PathBuf>) {
        match purpose {
            Purpose::Import => {
                self.model.start_import(paths.len() as u64);
                for p in paths {
                    self.command(Command::ImportEml(p));
                }
            }
            Purpose::Export(eid) => {
                if let Some(p) = paths.into_iter().next() {
                    self.command(Command::ExportEml(eid, p));
                }
            }
            Purpose::ExportTrace(eid) => {
                if let Some(p) = paths.into_iter().next() {
                    self.command(Command::ExportTrace(eid, p));
                }
            }
            Purpose::OpenStore => {
                if let Some(p) = paths.into_iter().next() {
                    self.request_open_store(p);
                }
            }
            Purpose::Attach(eid) => {
                self.save_draft_now();
                for p in paths {
                    self.command(Command::AttachFile(eid, p));
                }
            }
            Purpose::PickupDir(i) => {
                if let Some(p) = paths.first() {
                    self.windows.settings.set_pickup_dir(i, p);
                }
            }
            Purpose::ExportTimeline => {
                if let (Some(path), Some(root)) =
                    (paths.into_iter().next(), self.model.root.clone())
                {
                    self.command(Command::ExportTimeline { root, path });
                }
            }
        }
    }

    /// Handles the path field's OK or Cancel.
    fn path_field_done(&mut self, ok: bool) {
        if let Some(Picked::Paths(purpose, paths)) = self.dialogs.submit_field(ok) {
            self.picked(purpose, paths);
        }
    }

    /// The editor follows the message: loaded for a draft, closed once it is not one.
    pub(super) fn sync_editor(&mut self) {
        let Some(m) = &self.model.detail else {
            return;
        };
        let draft = m.state(jiff::Timestamp::now()) == MessageState::Draft;
        if !draft || self.model.submitting == Some(m.entry_id) {
            if self.compose.loaded.is_some() {
                self.compose.close();
            }
            if self.model.tab == Tab::Compose {
                self.model.tab = Tab::Pipeline;
            }
            return;
        }
        if self.model.tab != Tab::Compose {
            return;
        }
        if self.compose.loaded == Some(m.entry_id) {
            self.compose.refresh_base(m);
        } else {
            let m = m.clone();
            self.compose.load(&m);
        }
    }

    /// The Source tab's text is rendered by the worker: asked for once per revision of the
    /// message shown, again when the message changed.
    pub(super) fn request_source(&mut self) {
        if self.model.tab != Tab::Source {
            return;
        }
        let Some(msg) = &self.model.detail else {
            return;
        };
        let (eid, revision) = (msg.entry_id, msg.revision);
        let stale = self
            .model
            .source
            .as_ref()
            .filter(|s| s.eid == eid)
            .is_none_or(|s| s.revision != revision);
        if stale && !self.model.source_requested(eid, revision) {
            self.command(Command::Source(eid));
        }
    }
}
