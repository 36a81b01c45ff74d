//! The message table of the current folder: virtualised (only visible rows are laid out),
//! sortable, filterable, multi-select with bulk actions.

use egui::RichText;
use egui_extras::{Column, TableBuilder};
use jiff::Timestamp;

use super::app::SpoolboxApp;
use super::model::SortKey;
use super::theme;
use crate::mapi::{EntryId, MessageState};
use crate::spooler::Command;

fn countdown(now: Timestamp, t: Timestamp) -> String {
    let s = t.duration_since(now).as_secs();
    if s <= 0 {
        "due".into()
    } else if s < 120 {
        format!("in {s} s")
    } else if s < 7200 {
        format!("in {} min", s / 60)
    } else {
        t.strftime("%m-%d %H:%M").to_string()
    }
}

/// Draws the table.
pub fn outbox_ui(app: &mut SpoolboxApp, ui: &mut egui::Ui) {
    let now = Timestamp::now();
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let name = app
            .model
            .folder
            .and_then(|f| app.model.folders.iter().find(|x| x.entry_id == f))
            .map_or("", |f| f.name.as_str());
        ui.heading(name);
        ui.add_space(12.0);
        ui.label("Filter");
        let r = ui.add(
            egui::TextEdit::singleline(&mut app.model.filter)
                .hint_text("subject, recipient or state")
                .desired_width(200.0),
        );
        if r.changed() {
            app.model.invalidate_rows();
        }
        let sel: Vec<EntryId> = app.model.selected.iter().copied().collect();
        ui.add_space(12.0);
        ui.label(RichText::new(format!("{} selected", sel.len())).color(theme::muted(ui)));
        if ui
            .add_enabled(!sel.is_empty(), egui::Button::new("Hold"))
            .on_hover_text("Keep queued messages from being sent until released")
            .clicked()
        {
            for e in &sel {
                app.command(Command::Hold(*e, true));
            }
        }
        if ui
            .add_enabled(!sel.is_empty(), egui::Button::new("Release"))
            .clicked()
        {
            for e in &sel {
                app.command(Command::Hold(*e, false));
            }
        }
        if ui
            .add_enabled(!sel.is_empty(), egui::Button::new("Delete"))
            .on_hover_text("Move to Deleted Items; delete for good from there (Del)")
            .clicked()
        {
            for e in &sel {
                app.command(Command::Delete(*e));
            }
        }
    });
    ui.add_space(4.0);
    let _ = app.model.refresh_rows(now);
    let rows = std::mem::take(&mut app.model.rows);
    if rows.is_empty() {
        ui.add_space(20.0);
        ui.vertical_centered(|ui| {
            ui.label(
                RichText::new(if app.model.root.is_none() {
                    "Opening the store…"
                } else {
                    "No messages here."
                })
                .color(theme::muted(ui)),
            );
        });
        return;
    }
    let mut clicked: Option<(EntryId, egui::Modifiers)> = None;
    let mut sort_by: Option<SortKey> = None;
    let header = |ui: &mut egui::Ui,
                  label: &str,
                  key: Option<SortKey>,
                  current: (SortKey, bool),
                  sort_by: &mut Option<SortKey>| {
        match key {
            Some(k) => {
                let arrow = if current.0 == k {
                    if current.1 { " ^" } else { " v" }
                } else {
                    ""
                };
                if ui
                    .add(
                        egui::Button::new(RichText::new(format!("{label}{arrow}")).strong())
                            .frame(false),
                    )
                    .clicked()
                {
                    *sort_by = Some(k);
                }
            }
            None => {
                ui.strong(label);
            }
        }
    };
    let current = app.model.sort;
    TableBuilder::new(ui)
        .id_salt("outbox-table")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(128.0))
        .column(Column::exact(110.0))
        .column(Column::remainder().at_least(160.0).clip(true))
        .column(Column::initial(170.0).clip(true))
        .column(Column::exact(46.0))
        .column(Column::exact(130.0))
        .column(Column::exact(36.0))
        .column(Column::exact(90.0))
        .min_scrolled_height(80.0)
        .header(22.0, |mut h| {
            for (label, key) in [
                ("State", Some(SortKey::State)),
                ("Submitted", Some(SortKey::Submitted)),
                ("Subject", Some(SortKey::Subject)),
                ("To", None),
                ("Done", Some(SortKey::Done)),
                ("Step", None),
                ("Lock", None),
                ("Next retry", Some(SortKey::Retry)),
            ] {
                h.col(|ui| header(ui, label, key, current, &mut sort_by));
            }
        })
        .body(|body| {
            body.rows(22.0, rows.len(), |mut row| {
                let Some(s) = rows
                    .get(row.index())
                    .and_then(|e| app.model.summaries.get(e))
                else {
                    return;
                };
                let eid = s.eid;
                row.set_selected(app.model.selected.contains(&eid));
                let state = s.state(now);
                row.col(|ui| {
                    let text = match state {
                        MessageState::DeferredSend => format!(
                            "Deferred {}",
                            s.deferred_send_time
                                .map(|t| countdown(now, t))
                                .unwrap_or_default()
                        ),
                        _ => s.state_word(now).to_owned(),
                    };
                    // A sent message whose recipients all failed reads "Failed" in red.
                    let color = match s.state_word(now) {
                        "Failed" => theme::bad(ui),
                        "Partly delivered" => theme::warn(ui),
                        _ => theme::state(ui, state),
                    };
                    ui.label(RichText::new(text).color(color));
                });
                row.col(|ui| {
                    ui.label(
                        s.client_submit_time
                            .map_or_else(|| "-".into(), |t| t.strftime("%H:%M:%S").to_string()),
                    );
                });
                row.col(|ui| {
                    let subj = if s.subject.is_empty() {
                        "(no subject)"
                    } else {
                        s.subject.as_str()
                    };
                    ui.label(subj)
                        .on_hover_text(s.last_error.as_deref().unwrap_or(subj));
                });
                row.col(|ui| {
                    ui.label(&s.to);
                });
                row.col(|ui| {
                    let r = ui.label(format!("{}/{}", s.done, s.total));
                    if s.failed > 0 || s.unknown > 0 {
                        r.on_hover_text(format!(
                            "{} delivered, {} failed, {} outcome unknown",
                            s.delivered(),
                            s.failed,
                            s.unknown
                        ));
                    }
                });
                row.col(|ui| {
                    ui.label(s.next_step.map_or("-", |x| x.name()));
                });
                row.col(|ui| {
                    if s.is_locked() {
                        ui.label("yes")
                            .on_hover_text("SUBMITFLAG_LOCKED: the spooler holds the message");
                    }
                });
                row.col(|ui| {
                    let t = if state == MessageState::WaitingRetry {
                        s.next_retry.map(|t| countdown(now, t))
                    } else {
                        None
                    };
                    ui.label(RichText::new(t.unwrap_or_default()).color(theme::warn(ui)));
                });
                if row.response().clicked() {
                    clicked = Some((eid, row.response().ctx.input(|i| i.modifiers)));
                }
            });
        });
    app.model.rows = rows;
    if let Some(k) = sort_by {
        app.model.sort = if app.model.sort.0 == k {
            (k, !app.model.sort.1)
        } else {
            (k, true)
        };
        app.model.invalidate_rows();
    }
    if let Some((eid, mods)) = clicked {
        if mods.command || mods.ctrl {
            if !app.model.selected.remove(&eid) {
                app.model.selected.insert(eid);
            }
        } else {
            app.model.selected.clear();
            app.model.selected.insert(eid);
        }
        app.focus(Some(eid));
    }
}
