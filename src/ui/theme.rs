//! Colours in one place, read from the current visuals so dark mode just works.

use egui::{Color32, Ui};

use crate::mapi::{MessageState, StepOutcome};

fn pick(ui: &Ui, light: Color32, dark: Color32) -> Color32 {
    if ui.visuals().dark_mode { dark } else { light }
}

/// Done / delivered.
pub fn ok(ui: &Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0x1b, 0x7f, 0x3b),
        Color32::from_rgb(0x5f, 0xd0, 0x7f),
    )
}

/// Waiting / transient.
pub fn warn(ui: &Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0xa8, 0x5d, 0x00),
        Color32::from_rgb(0xf0, 0xb0, 0x40),
    )
}

/// Failed.
pub fn bad(ui: &Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0xb3, 0x1d, 0x1d),
        Color32::from_rgb(0xff, 0x78, 0x78),
    )
}

/// Active / stopped here.
pub fn active(ui: &Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0x1f, 0x5f, 0xbf),
        Color32::from_rgb(0x6a, 0xa8, 0xff),
    )
}

/// Skipped / pending.
pub fn muted(ui: &Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// Error banner background.
pub fn banner_bg(ui: &Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0xfd, 0xe2, 0xe2),
        Color32::from_rgb(0x4a, 0x1c, 0x1c),
    )
}

/// Colour for a message state in the outbox table.
pub fn state(ui: &Ui, s: MessageState) -> Color32 {
    match s {
        MessageState::Sent => ok(ui),
        MessageState::WaitingRetry | MessageState::DeferredByTransport | MessageState::Held => {
            warn(ui)
        }
        MessageState::Locked => active(ui),
        MessageState::Draft | MessageState::DeferredSend | MessageState::Received => muted(ui),
        MessageState::Queued | MessageState::QueuedForPreprocess => ui.visuals().text_color(),
    }
}

/// Colour for a message's state word ([`crate::store::Summary::state_word`]): a sent message
/// whose recipients all failed reads red, a partly delivered one amber.
pub fn state_word(ui: &Ui, s: &crate::store::Summary, now: jiff::Timestamp) -> Color32 {
    match s.state(now) {
        MessageState::Sent if s.total > 0 && s.failed >= s.total => bad(ui),
        MessageState::Sent if s.failed > 0 => warn(ui),
        other => state(ui, other),
    }
}

/// Colour for a recorded step outcome.
pub fn outcome(ui: &Ui, o: &StepOutcome) -> Color32 {
    match o {
        StepOutcome::Done => ok(ui),
        StepOutcome::Skipped => muted(ui),
        StepOutcome::Waiting(_) => warn(ui),
        StepOutcome::Failed(_) => bad(ui),
    }
}
