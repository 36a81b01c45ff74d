//! The Source tab: the message as RFC 5322 text, rendered by the worker.

use egui::{RichText, Ui};

use crate::mapi::{Message, MessageState};
use crate::ui::model::Model;
use crate::ui::theme;

/// The message as RFC 5322 text. Rendered once by the worker (the window renders nothing
/// itself), again when the message changed: the app asks for it before the frame (`request_source`).
pub(super) fn source_ui(ui: &mut Ui, model: &Model, msg: &Message) {
    let current = model.source.as_ref().filter(|s| s.eid == msg.entry_id);
    let Some(src) = current else {
        ui.label(RichText::new("Rendering…").color(theme::muted(ui)));
        return;
    };
    let draft = msg.state(jiff::Timestamp::now()) == MessageState::Draft;
    ui.label(
        RichText::new(if draft {
            "Preview: a draft is rendered again when it is sent (Date is the submit time then)."
        } else if src.preview {
            "Rendered from the stored message as `spoolbox export` writes it (Date: the submit time, Bcc kept)."
        } else {
            "The exact bytes of the last hand-off, as the transport sent them (every hand-off is in the Trace)."
        })
        .color(theme::muted(ui)),
    );
    match &src.text {
        Ok(text) => {
            let mut text = text.as_str();
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .code_editor()
                    .desired_width(f32::INFINITY),
            );
        }
        Err(e) => {
            ui.label(RichText::new(e).color(theme::bad(ui)));
        }
    }
}
