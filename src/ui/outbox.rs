//! The message table of the current folder: virtualised (only visible rows are laid out),
//! sortable, filterable, multi-select with bulk actions.

use egui::RichText;
use egui_extras::{Column, TableBuilder};
use jiff::Timestamp;

use super::Intent;
use super::detail::Reasons;
use super::model::{Model, SortKey};
use super::theme;
use crate::mapi::{EntryId, MessageState};
use crate::store::Summary;

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

/// "2 sent 1 failed": delivered, failed, outcome unknown, waiting (only what is not zero), in
/// words: a screen reader reads them, and the default font has no check mark.
fn recipients_cell(ui: &mut egui::Ui, s: &Summary) {
    let mut job = Vec::new();
    if s.total == 0 {
        ui.label("-");
        return;
    }
    if s.delivered() > 0 {
        job.push((format!("{} sent", s.delivered()), theme::ok(ui)));
    }
    if s.failed > 0 {
        job.push((format!("{} failed", s.failed), theme::bad(ui)));
    }
    if s.unknown > 0 {
        job.push((format!("{} unknown", s.unknown), theme::warn(ui)));
    }
    if s.waiting() > 0 {
        job.push((format!("{} waiting", s.waiting()), theme::muted(ui)));
    }
    let r = ui
        .horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 6.0;
            for (t, c) in job {
                ui.label(RichText::new(t).color(c));
            }
        })
        .response;
    r.on_hover_text(super::detail::counts_text(s));
}

/// What the table keeps between frames besides the model.
#[derive(Debug, Default)]
pub struct OutboxState {
    /// The table scrolls this row into view in its next pass (a row reached with the
    /// keyboard).
    pub scroll_to: Option<EntryId>,
}

/// Draws the folder's heading, the filter and the bulk actions, then the table.
pub fn outbox_ui(ui: &mut egui::Ui, model: &Model, state: &mut OutboxState, out: &mut Vec<Intent>) {
    let now = Timestamp::now();
    ui.add_space(4.0);
    ui.horizontal(|ui| bar_ui(ui, model, out));
    ui.add_space(4.0);
    if model.rows.is_empty() {
        ui.add_space(20.0);
        ui.vertical_centered(|ui| {
            ui.label(
                RichText::new(if model.root.is_none() {
                    "Opening the store…"
                } else {
                    "No messages here."
                })
                .color(theme::muted(ui)),
            );
        });
        return;
    }
    // The table is one stop of the Tab order (its rows are not): see `keys`.
    let stop = super::keys::table_stop_ui(ui, ui.available_rect_before_wrap());
    table_ui(ui, model, state, now, out);
    super::keys::table_ring_ui(ui, &stop);
}

/// The folder's name, the filter, how many are selected, and Hold, Release and Delete.
fn bar_ui(ui: &mut egui::Ui, model: &Model, out: &mut Vec<Intent>) {
    let name = model
        .folder
        .and_then(|f| model.folders.iter().find(|x| x.entry_id == f))
        .map_or("", |f| f.name.as_str());
    ui.heading(name);
    ui.add_space(12.0);
    ui.label("Filter");
    let mut filter = model.filter.clone();
    let r = ui.add(
        egui::TextEdit::singleline(&mut filter)
            .hint_text("subject, recipient or state")
            .desired_width(200.0),
    );
    if r.changed() {
        out.push(Intent::SetFilter(filter));
    }
    let sel = &model.selected;
    let eids = || sel.iter().copied().collect::<Vec<EntryId>>();
    ui.add_space(12.0);
    ui.label(RichText::new(format!("{} selected", sel.len())).color(theme::muted(ui)));
    // Hold and Release act on queued messages only.
    let queued = sel
        .iter()
        .any(|e| model.summaries.get(e).is_some_and(Summary::is_submitted));
    if ui
        .add_enabled(queued, egui::Button::new("Hold"))
        .on_hover_text("Keep queued messages from being sent until released")
        .on_disabled_hover_text("Select a queued message: only those can be held")
        .clicked()
    {
        out.push(Intent::Hold {
            eids: eids(),
            hold: true,
        });
    }
    if ui
        .add_enabled(queued, egui::Button::new("Release"))
        .on_hover_text("Let held messages go again")
        .on_disabled_hover_text("Select a queued message: only those can be held or released")
        .clicked()
    {
        out.push(Intent::Hold {
            eids: eids(),
            hold: false,
        });
    }
    if ui
        .add_enabled(!sel.is_empty(), egui::Button::new("Delete"))
        .on_hover_text("Move to Deleted Items; delete for good from there (Del)")
        .clicked()
    {
        out.push(Intent::Delete(eids()));
    }
}

/// A column's header: a button that sorts by it (with the direction shown) when it sorts.
fn header_ui(
    ui: &mut egui::Ui,
    label: &str,
    key: Option<SortKey>,
    current: (SortKey, bool),
) -> bool {
    let Some(k) = key else {
        ui.strong(label);
        return false;
    };
    let arrow = if current.0 == k {
        if current.1 { " ^" } else { " v" }
    } else {
        ""
    };
    ui.add(egui::Button::new(RichText::new(format!("{label}{arrow}")).strong()).frame(false))
        .clicked()
}

/// The table: virtualised (only visible rows are laid out), sortable by its headers, a row
/// picked by a click anywhere on it.
fn table_ui(
    ui: &mut egui::Ui,
    model: &Model,
    state: &mut OutboxState,
    now: Timestamp,
    out: &mut Vec<Intent>,
) {
    let rows = &model.rows;
    let mut clicked: Option<(EntryId, egui::Modifiers)> = None;
    let mut sort_by: Option<SortKey> = None;
    let current = model.sort;
    let reasons = Reasons::new(model, now);
    // Column widths fit the window they were laid out for: a window made much narrower or
    // wider lays them out again (a width kept from 1280 pixels pushed the reason off a
    // 1024-pixel window), scaled from the widths for 1280.
    let avail = ui.available_width();
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a window is a few thousand pixels"
    )]
    let bucket = (avail / 160.0).floor() as i32;
    let k = (avail / 1110.0).clamp(0.7, 1.0);
    let mut table = TableBuilder::new(ui);
    // A row reached with the keyboard is scrolled into view.
    if let Some(i) = state
        .scroll_to
        .take()
        .and_then(|e| rows.iter().position(|r| *r == e))
    {
        table = table.scroll_to_row(i, None);
    }
    table
        .id_salt(("outbox-table", bucket))
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::CLICK)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(120.0 * k).at_least(70.0).clip(true))
        .column(Column::initial(70.0).at_least(50.0).clip(true))
        .column(Column::initial(230.0 * k).at_least(100.0).clip(true))
        .column(Column::initial(140.0 * k).at_least(60.0).clip(true))
        .column(Column::initial(96.0 * k).at_least(60.0).clip(true))
        .column(Column::initial(110.0 * k).at_least(60.0).clip(true))
        // The reason takes what is left, at least a little even at 1024 pixels.
        .column(Column::remainder().at_least(80.0).clip(true))
        .min_scrolled_height(80.0)
        .header(22.0, |mut h| {
            for (label, key) in [
                ("State", Some(SortKey::State)),
                ("Submitted", Some(SortKey::Submitted)),
                ("Subject", Some(SortKey::Subject)),
                ("To", None),
                ("Recipients", Some(SortKey::Done)),
                ("Step", None),
                ("Why / next retry", Some(SortKey::Retry)),
            ] {
                h.col(|ui| {
                    if header_ui(ui, label, key, current) {
                        sort_by = key;
                    }
                });
            }
        })
        .body(|body| {
            body.rows(22.0, rows.len(), |mut row| {
                let Some(s) = rows.get(row.index()).and_then(|e| model.summaries.get(e)) else {
                    return;
                };
                row.set_selected(model.selected.contains(&s.eid));
                row_ui(&mut row, s, &reasons, now);
                if row.response().clicked() {
                    clicked = Some((s.eid, row.response().ctx.input(|i| i.modifiers)));
                }
            });
        });
    if let Some(k) = sort_by {
        out.push(Intent::SortBy(k));
    }
    if let Some((eid, mods)) = clicked {
        out.push(Intent::ClickRow {
            eid,
            toggle: mods.command || mods.ctrl,
            extend: mods.shift,
        });
    }
}

/// One message's cells.
fn row_ui(
    row: &mut egui_extras::TableRow<'_, '_>,
    s: &Summary,
    reasons: &Reasons<'_>,
    now: Timestamp,
) {
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
        let r = ui.label(RichText::new(text).color(theme::state_word(ui, s, now)));
        if s.is_locked() {
            r.on_hover_text("SUBMITFLAG_LOCKED: the spooler holds the message");
        }
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
        recipients_cell(ui, s);
    });
    row.col(|ui| {
        ui.label(s.next_step.map_or("-", |x| x.name()));
    });
    row.col(|ui| {
        if let Some(why) = reasons.of(s) {
            let text = match (state, s.next_retry) {
                (MessageState::WaitingRetry, Some(t)) => {
                    format!("{}: {why}", countdown(now, t))
                }
                _ => why,
            };
            ui.label(RichText::new(&text).color(theme::warn(ui)))
                .on_hover_text(text);
        }
    });
}
