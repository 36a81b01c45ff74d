//! The Properties tab: every property of the message and of each recipient row, flags
//! decoded.

use egui::{RichText, Ui};

use crate::mapi::flags::{self, FlagKind};
use crate::mapi::{Message, PropBag, tags};

fn props_grid(ui: &mut Ui, id: &str, bag: &PropBag) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            ui.strong("Tag");
            ui.strong("Name");
            ui.strong("Type");
            ui.strong("Value");
            ui.strong("Flags");
            ui.end_row();
            for (tag, v) in bag.iter() {
                let def = tags::lookup(tag);
                ui.monospace(tag.hex());
                ui.label(tag.name())
                    .on_hover_text(def.map_or("(not in the catalogue; kept as is)", |d| d.doc));
                ui.label(tags::type_name(tag.prop_type()));
                let value = v.to_string();
                let shown = if value.len() > 80 {
                    format!("{}…", value.chars().take(80).collect::<String>())
                } else {
                    value.clone()
                };
                ui.label(shown).on_hover_text(value);
                match (def.map(|d| d.flags), v.as_u32()) {
                    (Some(k), Some(bits)) if k != FlagKind::None => {
                        let decoded = flags::decode(k, bits);
                        let tip: Vec<String> = decoded
                            .split(" | ")
                            .filter_map(|n| flags::flag_doc(n).map(|d| format!("{n}: {d}")))
                            .collect();
                        let r = ui.label(decoded);
                        if !tip.is_empty() {
                            r.on_hover_text(tip.join("\n"));
                        }
                    }
                    _ => {
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
}

pub(super) fn properties_ui(ui: &mut Ui, msg: &Message) {
    ui.label(RichText::new(format!("Message properties ({})", msg.props.len())).strong());
    props_grid(ui, "msg-props", &msg.props);
    for r in &msg.recipients {
        egui::CollapsingHeader::new(format!("Recipient row {}: {}", r.row_id, r.label()))
            .default_open(false)
            .show(ui, |ui| {
                props_grid(ui, &format!("rcpt-{}", r.row_id), &r.props);
            });
    }
    if !msg.attachments.is_empty() {
        ui.label(RichText::new("Attachments").strong());
        for a in &msg.attachments {
            ui.label(format!(
                "{} ({}, {} bytes)",
                a.file_name,
                a.mime_type,
                a.data.len()
            ));
        }
    }
}
