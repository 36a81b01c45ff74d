//! The Advanced view: the profile as JSON, with line numbers, and a parse error pointed at
//! its line (`serde_json`'s line and column are the editor's: lines never wrap here).

use std::sync::Arc;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, RichText, TextBuffer, Ui};

use crate::profile::Profile;
use crate::ui::theme;

/// Where the JSON does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// The line, from 1, as the editor numbers it.
    pub line: usize,
    /// The column, from 1 (0: at the end of the line before).
    pub column: usize,
    /// What is wrong, without the position.
    pub message: String,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column > 0 {
            write!(
                f,
                "Line {}, column {}: {}",
                self.line, self.column, self.message
            )
        } else {
            write!(f, "Line {}: {}", self.line, self.message)
        }
    }
}

/// The profile in `text`, or where and why it does not read.
///
/// # Errors
/// The JSON's first error, with its line.
pub fn parse(text: &str) -> Result<Profile, JsonError> {
    serde_json::from_str::<Profile>(text).map_err(|e| {
        let full = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&at).unwrap_or(&full).to_owned();
        let message = if message.starts_with("EOF while parsing") {
            format!("{message} (the text ends before every {{ and [ is closed)")
        } else {
            message
        };
        let lines = text.split('\n').count().max(1);
        JsonError {
            line: e.line().clamp(1, lines),
            column: e.column(),
            message,
        }
    })
}

/// The text laid out on one line per line (no wrapping), the error's line on a tinted
/// background.
fn layout(ui: &Ui, text: &str, bad_line: Option<usize>, tint: Color32) -> Arc<egui::Galley> {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let color = ui.visuals().text_color();
    let mut job = LayoutJob::default();
    let mut start = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let mut format = TextFormat::simple(font.clone(), color);
        if bad_line == Some(i + 1) {
            format.background = tint;
        }
        job.append(line, 0.0, format);
        start += line.len();
    }
    if start < text.len() || text.is_empty() {
        job.append(
            text.get(start..).unwrap_or_default(),
            0.0,
            TextFormat::simple(font, color),
        );
    }
    job.wrap.max_width = f32::INFINITY;
    ui.fonts_mut(|f| f.layout_job(job))
}

/// Draws the editor with its line numbers and, below it, whether the profile reads; returns
/// the parse result (read once per frame).
pub fn json_ui(ui: &mut Ui, text: &mut String) -> Result<Profile, JsonError> {
    let parsed = parse(text);
    let bad_line = parsed.as_ref().err().map(|e| e.line);
    let message = parsed.as_ref().err().map(|e| e.message.clone());
    ui.label(
        RichText::new(
            "The whole profile: transports with their address types and settings, hooks, the coupled store's address types, the retry policy. The SMTP password is never kept here.",
        )
        .color(theme::muted(ui)),
    );
    let tint = theme::banner_bg(ui);
    let bad = theme::bad(ui);
    let muted = theme::muted(ui);
    let mut layouter =
        |ui: &Ui, buf: &dyn TextBuffer, _wrap: f32| layout(ui, buf.as_str(), bad_line, tint);
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let lines = text.split('\n').count();
    let gutter = ui
        .fonts_mut(|f| f.layout_no_wrap(format!("{lines:>4} "), font.clone(), muted))
        .size()
        .x;
    egui::ScrollArea::both()
        .id_salt("profile-json")
        .max_height((ui.available_height() - 60.0).max(200.0))
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal_top(|ui| {
                ui.add_space(gutter);
                let out = egui::TextEdit::multiline(text)
                    .code_editor()
                    .desired_width(f32::INFINITY)
                    .desired_rows(24)
                    .layouter(&mut layouter)
                    .show(ui);
                super::name(&out.response.response, "Profile JSON");
                // The numbers beside each row of the laid-out text: exactly its lines.
                let painter = ui.painter();
                let right = out.galley_pos.x - 6.0;
                for (i, row) in out.galley.rows.iter().enumerate() {
                    let y = out.galley_pos.y + row.pos.y;
                    let is_bad = bad_line == Some(i + 1);
                    if is_bad && let Some(why) = &message {
                        // And what is wrong, beside the line itself.
                        painter.text(
                            egui::pos2(out.galley_pos.x + row.rect().max.x + 24.0, y),
                            egui::Align2::LEFT_TOP,
                            format!("< {why}"),
                            font.clone(),
                            bad,
                        );
                    }
                    let label = if is_bad {
                        format!("{} >", i + 1)
                    } else {
                        format!("{}", i + 1)
                    };
                    painter.text(
                        egui::pos2(right, y),
                        egui::Align2::RIGHT_TOP,
                        label,
                        font.clone(),
                        if is_bad { bad } else { muted },
                    );
                }
            });
        });
    match &parsed {
        Ok(_) => ui.label(RichText::new("The JSON reads as a profile.").color(theme::ok(ui))),
        Err(e) => ui.label(RichText::new(e.to_string()).color(bad)),
    };
    parsed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn an_error_points_at_the_line_the_editor_shows() {
        let good = serde_json::to_string_pretty(&Profile::default()).unwrap();
        assert!(parse(&good).is_ok());
        // A comma missing at the end of line 3.
        let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
        let l = lines[2].trim_end_matches(',').to_owned();
        lines[2] = l;
        let e = parse(&lines.join("\n")).unwrap_err();
        assert_eq!(e.line, 4, "serde reads on to the next key: {e}");
        assert!(e.to_string().starts_with("Line 4, column "), "{e}");
        assert!(!e.message.contains(" at line "), "{e:?}");
        let e = parse("{\n  \"sender_name\": \"x\"\n").unwrap_err();
        assert!(e.message.contains("the text ends before"), "{e}");
        assert!(e.line <= 3, "{e:?}");
    }
}
