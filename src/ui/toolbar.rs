//! The top bar: send and debugger controls, store and theme. Each button is enabled only
//! when its action applies to the selection, and says why not on hover.

use super::Intent;
use super::dialogs::Purpose;
use super::keys::{CONTINUE, STEP};
use super::model::Model;
use crate::mapi::{EntryId, MessageState};
use crate::store::Summary;

/// What the selection allows, with the reason when it does not.
struct Applies {
    send: Result<(), &'static str>,
    abort: Result<(), &'static str>,
}

fn applies(model: &Model) -> Applies {
    let now = jiff::Timestamp::now();
    let sel: Vec<&Summary> = model
        .selected
        .iter()
        .filter_map(|e| model.summaries.get(e))
        .collect();
    if sel.is_empty() {
        let none = "Select a message first";
        return Applies {
            send: Err(none),
            abort: Err(none),
        };
    }
    let send = if sel
        .iter()
        .any(|s| s.state(now) == MessageState::Draft || s.is_submitted())
    {
        Ok(())
    } else {
        Err(
            "Only drafts and queued messages can be sent now; a sent message has Send again… in its detail",
        )
    };
    let abort = if sel.iter().any(|s| s.is_submitted() && !s.is_locked()) {
        Ok(())
    } else if sel.iter().any(|s| s.is_locked()) {
        Err("MAPI_E_UNABLE_TO_ABORT: the spooler has locked it (SUBMITFLAG_LOCKED)")
    } else {
        Err("Only a queued message can be aborted (MAPI_E_NOT_IN_QUEUE otherwise)")
    };
    Applies { send, abort }
}

/// What the toolbar shows besides the model.
#[derive(Clone, Copy, Debug)]
pub struct Chrome {
    /// A file dialog (or the path field) is open: the buttons that open one wait.
    pub dialog_open: bool,
    /// Dark mode is on (the theme button offers light).
    pub dark: bool,
}

/// Draws the toolbar (errors and notices float in the corner: see `notify`).
pub fn toolbar_ui(ui: &mut egui::Ui, model: &Model, chrome: Chrome, out: &mut Vec<Intent>) {
    let can = applies(model);
    egui::Panel::top("toolbar").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            send_ui(ui, model, &can, out);
            ui.separator();
            debugger_ui(ui, model, out);
            right_group_ui(ui, chrome, out);
        });
        ui.add_space(2.0);
    });
}

/// New message, Send selected, Send all, Abort submit.
fn send_ui(ui: &mut egui::Ui, model: &Model, can: &Applies, out: &mut Vec<Intent>) {
    let selected = || model.selected.iter().copied().collect::<Vec<EntryId>>();
    if ui
        .button("New message")
        .on_hover_text("Compose a draft in the Outbox (Ctrl+N)")
        .clicked()
    {
        out.push(Intent::NewMessage);
    }
    ui.separator();
    if ui
        .add_enabled(can.send.is_ok(), egui::Button::new("Send selected"))
        .on_hover_text("Submit the selected drafts, or send queued ones now ignoring their retry timer (Ctrl+Enter)")
        .on_disabled_hover_text(can.send.err().unwrap_or_default())
        .clicked()
    {
        out.push(Intent::SendNow { eids: selected(), save_first: true });
    }
    if ui
        .button("Send all (F9)")
        .on_hover_text(
            "Send/Receive: every queued message is eligible now; retry timers are ignored once",
        )
        .clicked()
    {
        out.push(Intent::Flush);
    }
    if ui
        .add_enabled(can.abort.is_ok(), egui::Button::new("Abort submit"))
        .on_hover_text("IMsgStore::AbortSubmit: back to an editable draft. Refused with MAPI_E_UNABLE_TO_ABORT once SUBMITFLAG_LOCKED is set.")
        .on_disabled_hover_text(can.abort.err().unwrap_or_default())
        .clicked()
    {
        out.push(Intent::AbortSubmit(selected()));
    }
}

/// Pause or Resume, Step, Continue.
fn debugger_ui(ui: &mut egui::Ui, model: &Model, out: &mut Vec<Intent>) {
    let paused = model.debug.paused;
    let stopped = paused || model.debug.at.is_some();
    if paused {
        if ui
            .button("Resume")
            .on_hover_text("Run the spooler (Ctrl+P)")
            .clicked()
        {
            out.push(Intent::Resume);
        }
    } else if ui
        .button("Pause")
        .on_hover_text("Stop after the current step (Ctrl+P)")
        .clicked()
    {
        out.push(Intent::Pause);
    }
    let step_label = format!("Step ({})", ui.ctx().format_shortcut(&STEP));
    if ui
        .button(step_label)
        .on_hover_text("Run exactly one pipeline step, then stop")
        .clicked()
    {
        out.push(Intent::Step);
    }
    let cont_label = format!("Continue ({})", ui.ctx().format_shortcut(&CONTINUE));
    if ui
        .add_enabled(stopped, egui::Button::new(cont_label))
        .on_hover_text("Run until the next breakpoint")
        .on_disabled_hover_text("The spooler is running: nothing to continue")
        .clicked()
    {
        out.push(Intent::Continue);
    }
}

/// Right-aligned when it fits beside the rest (its width is measured each frame); on a
/// narrow window it follows on the next line instead of covering Step and Continue.
fn right_group_ui(ui: &mut egui::Ui, chrome: Chrome, out: &mut Vec<Intent>) {
    let width_id = egui::Id::unique("toolbar-right-width");
    let need = ui
        .ctx()
        .data(|d| d.get_temp::<f32>(width_id))
        .unwrap_or(f32::MAX);
    let fits = ui.available_size_before_wrap().x >= need + 16.0;
    let width = if fits {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let right = ui.max_rect().right();
            for item in RightItem::ALL.iter().rev() {
                right_item(ui, chrome, *item, out);
            }
            right - ui.min_rect().left()
        })
        .inner
    } else {
        ui.separator();
        // Measured as the sum of its buttons: on two rows its extent says nothing.
        let gap = ui.spacing().item_spacing.x;
        RightItem::ALL
            .iter()
            .map(|item| right_item(ui, chrome, *item, out).rect.width() + gap)
            .sum::<f32>()
    };
    let fits_id = width_id.with("fits");
    let was = ui.ctx().data_mut(|d| {
        let was = d.get_temp::<bool>(fits_id).unwrap_or(fits);
        d.insert_temp(fits_id, fits);
        was
    });
    if was != fits {
        // One row or two: the panel takes its new height in the next frame.
        ui.ctx().request_repaint();
    }
    ui.ctx().data_mut(|d| d.insert_temp(width_id, width));
}

/// The toolbar's right-hand group, in the order it reads left to right.
#[derive(Clone, Copy)]
enum RightItem {
    OpenStore,
    Import,
    Faults,
    Profile,
    Theme,
    Help,
}

impl RightItem {
    const ALL: [Self; 6] = [
        Self::OpenStore,
        Self::Import,
        Self::Faults,
        Self::Profile,
        Self::Theme,
        Self::Help,
    ];
}

fn right_item(
    ui: &mut egui::Ui,
    chrome: Chrome,
    item: RightItem,
    out: &mut Vec<Intent>,
) -> egui::Response {
    let busy = chrome.dialog_open;
    match item {
        RightItem::Help => {
            let r = ui.button("Help (F1)");
            if r.clicked() {
                out.push(Intent::ToggleHelp);
            }
            r
        }
        RightItem::Theme => {
            let label = if chrome.dark {
                "Light mode"
            } else {
                "Dark mode"
            };
            let r = ui.button(label);
            if r.clicked() {
                out.push(Intent::ToggleTheme);
            }
            r
        }
        RightItem::Profile => {
            let r = ui
                .button("Profile…")
                .on_hover_text("Transports, hooks, retry policy");
            if r.clicked() {
                out.push(Intent::ToggleProfile);
            }
            r
        }
        RightItem::Faults => {
            let r = ui
                .button("Faults…")
                .on_hover_text("Inject faults into a transport");
            if r.clicked() {
                out.push(Intent::ToggleFaults);
            }
            r
        }
        RightItem::Import => {
            let r = ui
                .add_enabled(!busy, egui::Button::new("Import .eml…"))
                .on_hover_text("Import RFC 5322 files as drafts in the Outbox")
                .on_disabled_hover_text("A file dialog (or the path field) is open");
            if r.clicked() {
                out.push(Intent::PickFile(Purpose::Import));
            }
            r
        }
        RightItem::OpenStore => {
            let r = ui
                .add_enabled(!busy, egui::Button::new("Open store…"))
                .on_hover_text("Open or create another store directory")
                .on_disabled_hover_text("A file dialog (or the path field) is open");
            if r.clicked() {
                out.push(Intent::PickFile(Purpose::OpenStore));
            }
            r
        }
    }
}
