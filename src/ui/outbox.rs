//! The message table of the current folder: virtualised (only visible rows are laid out),
//! sortable by every column, filterable, multi-select with bulk actions. Each folder shows
//! the columns that fit it (see `columns`); their widths are the user's, per folder.

use egui::RichText;
use egui_extras::{Column, TableBuilder};
use jiff::Timestamp;

use std::collections::BTreeMap;

use super::Intent;
use super::columns::{self, Tone};
use super::detail::Reasons;
use super::model::{Model, SortKey};
use super::theme;
use crate::mapi::{EntryId, MessageState};
use crate::store::{FolderKind, Summary};

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
    /// Column widths the user set, per folder (`columns::folder_key`), without the last
    /// column; remembered across restarts.
    pub widths: BTreeMap<String, Vec<f32>>,
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

/// The folder's name, the filter, how many are selected, and what can be done with them:
/// Hold and Release in the Outbox, Restore in Deleted Items, Delete.
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
            .hint_text("subject, from, to or state")
            .desired_width(200.0),
    );
    if r.changed() {
        out.push(Intent::SetFilter(filter));
    }
    if !model.filter.is_empty() {
        let all = model.folder.map_or(0, |f| model.count(f));
        ui.label(
            RichText::new(format!("{} of {all} match", model.rows.len())).color(theme::muted(ui)),
        );
    }
    let sel = &model.selected;
    let eids = || sel.iter().copied().collect::<Vec<EntryId>>();
    ui.add_space(12.0);
    ui.label(RichText::new(format!("{} selected", sel.len())).color(theme::muted(ui)));
    let kind = model.folder_kind();
    if matches!(kind, None | Some(FolderKind::Outbox)) {
        hold_buttons(ui, model, out);
    }
    if kind == Some(FolderKind::DeletedItems)
        && ui
            .add_enabled(!sel.is_empty(), egui::Button::new("Restore"))
            .on_hover_text(
                "Put the selected messages back in the folder they were deleted from, as they were: a draft stays a draft, nothing is sent",
            )
            .on_disabled_hover_text("Select a message to put back where it was")
            .clicked()
    {
        out.push(Intent::Restore(eids()));
    }
    if ui
        .add_enabled(!sel.is_empty(), egui::Button::new("Delete"))
        .on_hover_text("Move to Deleted Items; delete for good from there (Del)")
        .clicked()
    {
        out.push(Intent::Delete(eids()));
    }
}

/// Hold and Release: they act on queued messages only.
fn hold_buttons(ui: &mut egui::Ui, model: &Model, out: &mut Vec<Intent>) {
    let sel = &model.selected;
    let eids = || sel.iter().copied().collect::<Vec<EntryId>>();
    let now = jiff::Timestamp::now();
    let held = |s: &Summary| s.state(now) == crate::mapi::MessageState::Held;
    let selected = || sel.iter().filter_map(|e| model.summaries.get(e));
    // Each button only where it would change something: Hold for a queued message not held
    // yet, Release for a held one.
    let holdable = selected().any(|s| s.is_submitted() && !held(s));
    let queued = selected().any(held);
    if ui
        .add_enabled(holdable, egui::Button::new("Hold"))
        .on_hover_text("Keep queued messages from being sent until released")
        .on_disabled_hover_text("Select a queued message that is not held: only those can be held")
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
        .on_disabled_hover_text("Select a held message: only those can be released")
        .clicked()
    {
        out.push(Intent::Hold {
            eids: eids(),
            hold: false,
        });
    }
}

/// A column's header: a button that sorts by it (with the direction shown), its source on
/// hover.
fn header_ui(ui: &mut egui::Ui, key: SortKey, current: (SortKey, bool)) -> bool {
    let arrow = if current.0 == key {
        if current.1 { " ^" } else { " v" }
    } else {
        ""
    };
    ui.add(
        egui::Button::new(RichText::new(format!("{}{arrow}", columns::label(key))).strong())
            .frame(false),
    )
    .on_hover_text(columns::doc(key))
    .clicked()
}

/// The widths the table starts from: the user's for this folder when remembered (made to fit
/// a narrower window), else the defaults scaled to the window.
fn start_widths(
    cols: &[SortKey],
    kind: Option<FolderKind>,
    kept: Option<&Vec<f32>>,
    avail: f32,
    spacing: f32,
) -> Vec<f32> {
    let n = cols.len();
    let Some((last, head)) = cols.split_last() else {
        return Vec::new();
    };
    if let Some(w) = kept.filter(|w| w.len() + 1 == n) {
        // A window narrower than the widths were set for shrinks them alike, the last column
        // still on screen.
        let sum: f32 = w.iter().sum();
        let room = avail - columns::widths(*last).1 - spacing * n as f32;
        let f = if sum > room && sum > 0.0 {
            (room / sum).max(0.3)
        } else {
            1.0
        };
        return w.iter().map(|x| x * f).collect();
    }
    // Defaults fit the window they are laid out for, scaled from the widths for 1280.
    let k = (avail / 1110.0).clamp(0.7, 1.0);
    head.iter()
        .map(|c| match c {
            // A state word and a time of day are as wide at any window size.
            SortKey::Submitted => columns::width_in(kind, *c),
            _ => columns::width_in(kind, *c) * k,
        })
        .collect()
}

/// The table: virtualised (only visible rows are laid out), sortable by its headers, a row
/// picked by a click anywhere on it, Restore and Delete on a right click.
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
    let current = model.effective_sort();
    let reasons = Reasons::new(model, now);
    let folder = model
        .folder
        .and_then(|f| model.folders.iter().find(|x| x.entry_id == f));
    let kind = folder.map(|f| f.kind);
    let key = columns::folder_key(folder);
    let cols = columns::of(kind);
    // Column widths fit the window they were laid out for: a window made much narrower or
    // wider lays them out again (a width kept from 1280 pixels pushed the reason off a
    // 1024-pixel window).
    let avail = ui.available_width();
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a window is a few thousand pixels"
    )]
    let bucket = (avail / 160.0).floor() as i32;
    let start = start_widths(
        cols,
        kind,
        state.widths.get(&key),
        avail,
        ui.spacing().item_spacing.x,
    );
    let mut seen: Vec<f32> = Vec::new();
    let mut menu: Option<Intent> = None;
    let mut table = TableBuilder::new(ui);
    // A row reached with the keyboard is scrolled into view.
    if let Some(i) = state
        .scroll_to
        .take()
        .and_then(|e| rows.iter().position(|r| *r == e))
    {
        table = table.scroll_to_row(i, None);
    }
    table = table
        .id_salt(("outbox-table", &key, bucket))
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::CLICK)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for (c, w) in cols.iter().zip(&start) {
        table = table.column(
            Column::initial(*w)
                .at_least(columns::widths(*c).1)
                .clip(true),
        );
    }
    // The last column takes what is left, at least a little even at 1024 pixels.
    if let Some(last) = cols.last() {
        table = table.column(
            Column::remainder()
                .at_least(columns::widths(*last).1)
                .clip(true),
        );
    }
    table
        .min_scrolled_height(80.0)
        .header(22.0, |mut h| {
            for k in cols {
                h.col(|ui| {
                    if header_ui(ui, *k, current) {
                        sort_by = Some(*k);
                    }
                });
            }
        })
        .body(|body| {
            seen = body.widths().to_vec();
            body.rows(22.0, rows.len(), |mut row| {
                let Some(s) = rows.get(row.index()).and_then(|e| model.summaries.get(e)) else {
                    return;
                };
                let selected = model.selected.contains(&s.eid);
                row.set_selected(selected);
                for k in cols {
                    row.col(|ui| cell_ui(ui, *k, s, model, &reasons, now));
                }
                let r = row.response();
                if r.clicked() {
                    clicked = Some((s.eid, r.ctx.input(|i| i.modifiers)));
                }
                r.context_menu(|ui| {
                    // The selection when the row is in it, else the row alone.
                    let eids: Vec<EntryId> = if selected {
                        model.selected.iter().copied().collect()
                    } else {
                        vec![s.eid]
                    };
                    if let Some(i) = context_menu_ui(ui, kind, eids) {
                        menu = Some(i);
                    }
                });
            });
        });
    // The widths the user dragged the columns to are kept (the last column takes the rest).
    if let Some(dragged) = seen.get(..start.len())
        && dragged.len() == start.len()
        && dragged.iter().zip(&start).any(|(a, b)| (a - b).abs() > 0.5)
    {
        state.widths.insert(key, dragged.to_vec());
    }
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
    out.extend(menu);
}

/// A row's right-click menu: Restore in Deleted Items, Delete.
fn context_menu_ui(
    ui: &mut egui::Ui,
    kind: Option<FolderKind>,
    eids: Vec<EntryId>,
) -> Option<Intent> {
    let n = eids.len();
    let what = if n == 1 {
        "this message".to_owned()
    } else {
        format!("these {n} messages")
    };
    if kind == Some(FolderKind::DeletedItems)
        && ui
            .button("Restore")
            .on_hover_text(format!(
                "Put {what} back where it was deleted from; nothing is sent"
            ))
            .clicked()
    {
        ui.close();
        return Some(Intent::Restore(eids));
    }
    let delete = if kind == Some(FolderKind::DeletedItems) {
        "Delete for good"
    } else {
        "Delete"
    };
    if ui.button(delete).clicked() {
        ui.close();
        return Some(Intent::Delete(eids));
    }
    None
}

/// One cell of a message's row.
fn cell_ui(
    ui: &mut egui::Ui,
    k: SortKey,
    s: &Summary,
    model: &Model,
    reasons: &Reasons<'_>,
    now: Timestamp,
) {
    let time = |ui: &mut egui::Ui, t: Option<Timestamp>| {
        let r = ui.label(columns::when(t, now));
        if let Some(t) = t {
            r.on_hover_text(t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string());
        }
    };
    match k {
        SortKey::State => state_cell(ui, s, now),
        SortKey::Submitted => {
            ui.label(
                s.client_submit_time
                    .map_or_else(|| "-".into(), |t| t.strftime("%H:%M:%S").to_string()),
            );
        }
        SortKey::Subject => {
            let subj = if s.subject.is_empty() {
                "(no subject)"
            } else {
                s.subject.as_str()
            };
            ui.label(subj)
                .on_hover_text(s.last_error.as_deref().unwrap_or(subj));
        }
        SortKey::To => {
            ui.label(&s.to);
        }
        SortKey::Done => recipients_cell(ui, s),
        SortKey::Step => match s.next_step {
            // Queued and not taken up yet: no step is under way, the first one is next.
            Some(step)
                if !s.is_locked() && s.done == 0 && step <= crate::mapi::Step::Preprocess =>
            {
                ui.label(RichText::new("Not started").color(theme::muted(ui)))
                    .on_hover_text(format!("Next: {}", step.name()));
            }
            Some(step) => {
                ui.label(step.name());
            }
            None => {
                ui.label("-");
            }
        },
        SortKey::Retry => why_cell(ui, s, reasons, now),
        SortKey::From => {
            let text = columns::from(s);
            let r = if s.from.is_empty() {
                ui.label(RichText::new(text).color(theme::muted(ui)))
            } else {
                ui.label(text)
            };
            r.on_hover_text(text);
        }
        SortKey::Received => time(ui, columns::received(s)),
        SortKey::Sent => time(ui, columns::sent(s)),
        SortKey::Deleted => time(ui, s.deleted_on),
        SortKey::Date => time(ui, columns::date(s, now)),
        SortKey::Outcome => {
            let (text, tone) = columns::outcome(s);
            let color = match tone {
                Tone::Good => theme::ok(ui),
                Tone::Mixed => theme::warn(ui),
                Tone::Bad => theme::bad(ui),
                Tone::Plain => theme::muted(ui),
            };
            ui.label(RichText::new(text).color(color))
                .on_hover_text(super::detail::counts_text(s));
        }
        SortKey::What => {
            ui.label(columns::what(s, now));
        }
        SortKey::Party => {
            let text = columns::party(s, now);
            ui.label(&text).on_hover_text(text);
        }
        SortKey::WasIn => {
            ui.label(columns::folder_name(&model.folders, s.deleted_from));
        }
    }
}

/// The state word (a deferred send with its countdown), coloured.
fn state_cell(ui: &mut egui::Ui, s: &Summary, now: Timestamp) {
    let text = match s.state(now) {
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
}

/// Why a queued message waits, with the countdown to its retry.
fn why_cell(ui: &mut egui::Ui, s: &Summary, reasons: &Reasons<'_>, now: Timestamp) {
    if let Some(why) = reasons.of(s) {
        let text = match (s.state(now), s.next_retry) {
            (MessageState::WaitingRetry, Some(t)) => {
                format!("{}: {why}", countdown(now, t))
            }
            _ => why,
        };
        ui.label(RichText::new(&text).color(theme::warn(ui)))
            .on_hover_text(text);
    }
}
