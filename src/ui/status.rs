//! The status table (`IMAPISession::GetStatusTable`): the spooler's row and one per transport,
//! each transport with the faults injected around it now (what is armed, what is left) and a
//! Clear that takes them off. The bar keeps its place at the bottom first and is drawn last
//! (see `order`), so Tab reaches it after the detail.

use egui::RichText;

use super::Intent;
use super::model::Model;
use super::order::{self, Place};
use super::theme;
use crate::mapi::flags::{self, FlagKind, STATUS_FAILURE, STATUS_OFFLINE, STATUS_OUTBOUND_ACTIVE};
use crate::profile::FaultConfig;
use crate::spooler::StatusRow;

fn height_id() -> egui::Id {
    egui::Id::unique("spoolbox-status-height")
}

/// Keeps the status bar's place at the bottom, as high as its contents were last drawn.
pub fn keep_ui(ui: &mut egui::Ui) -> Place {
    let h = ui
        .ctx()
        .data(|d| d.get_temp::<f32>(height_id()))
        .unwrap_or(ui.spacing().interact_size.y + 4.0);
    let margin = egui::Frame::side_top_panel(ui.style())
        .total_margin()
        .sum()
        .y;
    order::keep(
        ui,
        egui::Panel::bottom("status").exact_size(h + margin),
        Some(h),
    )
}

/// Draws the status bar into its place.
pub fn status_ui(ui: &mut egui::Ui, model: &Model, place: Place, out: &mut Vec<Intent>) {
    let ((), used) = order::fill(ui, "status-contents", place, |ui| {
        ui.add_space(3.0);
        ui.horizontal_wrapped(|ui| row_ui(ui, model));
        let armed = armed(model);
        if !armed.is_empty() {
            ui.horizontal_wrapped(|ui| faults_ui(ui, &armed, out));
        }
        ui.add_space(1.0);
    });
    if (used - place.content.height()).abs() > 0.5 {
        // One row or two: laid out again at once with the height it takes.
        ui.ctx().data_mut(|d| d.insert_temp(height_id(), used));
        ui.ctx().request_discard("the status bar changed height");
    }
}

fn row_ui(ui: &mut egui::Ui, model: &Model) {
    ui.label(spooler_state(ui, model));
    ui.separator();
    for row in &model.status {
        transport_ui(ui, row);
        ui.separator();
    }
    if let Some((label, done, total)) = &model.progress {
        let p = if *total == 0 {
            0.0
        } else {
            *done as f32 / *total as f32
        };
        ui.add(
            egui::ProgressBar::new(p)
                .text(format!("{label}: {done}/{total}"))
                .desired_width(200.0),
        );
    }
    if let Some(root) = &model.root {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            // In the room that is left, cut short (the whole path on hover) rather
            // than drawn over the transports.
            let path = format!("store: {}", root.display());
            ui.add(
                egui::Label::new(RichText::new(&path).color(theme::muted(ui)).small()).truncate(),
            )
            .on_hover_text(path);
        });
    }
}

/// Running, paused, idle, stopped at a breakpoint, or held (the profile cannot be used: the
/// reason names store.json, the field and the value).
fn spooler_state(ui: &egui::Ui, model: &Model) -> RichText {
    if let Some(why) = &model.debug.held {
        return RichText::new(format!("Sending held: {why}"))
            .color(theme::bad(ui))
            .strong();
    }
    match (&model.debug.at, model.debug.paused) {
        (Some((eid, step)), _) => RichText::new(format!("Stopped before {step} of message {eid}"))
            .color(theme::active(ui))
            .strong(),
        (None, true) => match &model.debug.under_way {
            Some((eid, transport)) => RichText::new(format!(
                "Paused; message {eid} is being handed to {transport} (its answer shows when it comes)"
            ))
            .color(theme::active(ui))
            .strong(),
            None => RichText::new("Spooler paused").color(theme::warn(ui)).strong(),
        },
        (None, false) => match model.idle_until {
            Some(Some(t)) => RichText::new(format!("Idle until {}", t.strftime("%H:%M:%S UTC")))
                .color(theme::muted(ui)),
            Some(None) => RichText::new("Idle").color(theme::muted(ui)),
            None => RichText::new("Running").color(theme::ok(ui)),
        },
    }
}

/// One row of the status table: its name, its progress or status string (a transport with
/// faults armed says so; the line under the bar says which).
fn transport_ui(ui: &mut egui::Ui, row: &StatusRow) {
    let c = if row.status_code & STATUS_FAILURE != 0 {
        theme::bad(ui)
    } else if row.status_code & STATUS_OUTBOUND_ACTIVE != 0 {
        theme::active(ui)
    } else if row.status_code & STATUS_OFFLINE != 0 {
        theme::warn(ui)
    } else {
        theme::ok(ui)
    };
    let r = ui.label(RichText::new(row.name.clone()).color(c).strong());
    r.on_hover_text(format!(
        "PR_STATUS_CODE: {}\nPR_REMOTE_PROGRESS: {}\nPR_STATUS_STRING: {}\n{}",
        flags::decode(FlagKind::StatusCode, row.status_code),
        row.progress,
        row.text,
        if row.address_types.is_empty() {
            String::new()
        } else {
            format!("address types: {}", row.address_types.join(", "))
        }
    ));
    if row.progress >= 0 {
        let p = f32::from(u8::try_from(row.progress.clamp(0, 100)).unwrap_or(0)) / 100.0;
        ui.add(
            egui::ProgressBar::new(p)
                .desired_width(70.0)
                .show_percentage(),
        );
    } else {
        ui.label(RichText::new(&row.text).color(theme::muted(ui)).small());
    }
}

/// The transports with faults armed now, each with what is armed and left.
fn armed(model: &Model) -> Vec<(String, String)> {
    model
        .status
        .iter()
        .filter_map(|row| {
            let set = model
                .profile
                .as_ref()
                .and_then(|p| p.transports.iter().find(|t| t.name == row.name))
                .map(|t| &t.faults);
            let text = row.faults.as_ref().and_then(|f| fault_text(f, set))?;
            Some((row.name.clone(), text))
        })
        .collect()
}

/// The line of faults armed, under the status table: per transport what is armed and what
/// is left, and a Clear that takes them off.
fn faults_ui(ui: &mut egui::Ui, armed: &[(String, String)], out: &mut Vec<Intent>) {
    ui.label(
        RichText::new("Faults armed:")
            .color(theme::bad(ui))
            .strong(),
    )
    .on_hover_text("Injected by Faults…; cleared when the window opens a store");
    for (transport, text) in armed {
        ui.label(RichText::new(format!("{transport}: {text}")).color(theme::bad(ui)));
        let label = format!("Clear the faults on {transport}");
        let clear = ui.small_button("Clear");
        clear
            .ctx
            .accesskit_node_builder(clear.id, |b| b.set_label(label.clone()));
        if clear.on_hover_text(label).clicked() {
            out.push(Intent::SetFaults(transport.clone(), FaultConfig::default()));
        }
        ui.separator();
    }
}

/// What is armed, in words, with what is left of a "fail the next N" (`set`: as the profile
/// has it, `live`: as the transport has it now); `None` when nothing would act.
pub fn fault_text(live: &FaultConfig, set: Option<&FaultConfig>) -> Option<String> {
    let kind = if live.permanent {
        "permanent, NDR"
    } else {
        "transient, retried"
    };
    let mut parts = Vec::new();
    if live.fail_next > 0 {
        let of = set
            .map(|s| s.fail_next)
            .filter(|n| *n > live.fail_next)
            .map(|n| format!(", {} of {n} used", n - live.fail_next))
            .unwrap_or_default();
        parts.push(format!(
            "fail the next {} hand-off(s) ({kind}{of})",
            live.fail_next
        ));
    }
    if let Some(p) = live.fail_pattern.as_deref().filter(|p| !p.is_empty()) {
        parts.push(format!("fail recipients matching \"{p}\" ({kind})"));
    }
    if live.decline {
        parts.push("decline everything (MAPI_E_NOT_ME)".into());
    }
    if live.defer_secs > 0 {
        parts.push(format!("defer {} s (END_DONT_RESEND)", live.defer_secs));
    }
    if live.latency_ms > 0 {
        parts.push(format!("{} ms latency per hand-off", live.latency_ms));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_says_what_is_armed_and_what_is_left() {
        let set = FaultConfig {
            fail_next: 3,
            ..FaultConfig::default()
        };
        let live = FaultConfig {
            fail_next: 1,
            ..FaultConfig::default()
        };
        assert_eq!(
            fault_text(&live, Some(&set)).as_deref(),
            Some("fail the next 1 hand-off(s) (transient, retried, 2 of 3 used)")
        );
        // "permanent" alone fails nothing: nothing is shown.
        let idle = FaultConfig {
            permanent: true,
            ..FaultConfig::default()
        };
        assert_eq!(fault_text(&idle, None), None);
        let decline = FaultConfig {
            decline: true,
            latency_ms: 200,
            ..FaultConfig::default()
        };
        assert_eq!(
            fault_text(&decline, None).as_deref(),
            Some("decline everything (MAPI_E_NOT_ME); 200 ms latency per hand-off")
        );
    }
}
