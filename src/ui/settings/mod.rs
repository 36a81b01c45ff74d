//! The Profile window: the settings as a form (transports in priority order, SMTP, the
//! pickup folder, the sender, the retry policy), checked as typed, with Test connection; and
//! the whole profile as JSON in an Advanced view. Save sends `Command::SaveProfile` and, for a
//! password typed, `Command::StorePassword` (the keyring, else the 0600 file; never the
//! profile).

pub mod draft;
mod form;
pub mod json;
mod probe;
pub mod validate;

use std::collections::HashSet;

use egui::{RichText, Ui};

use self::draft::{Draft, Field};
use super::Intent;
use super::model::Model;
use super::theme;
use crate::profile::Profile;
use crate::transport::credentials::Secret;

/// Which view the window shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// The form.
    #[default]
    Form,
    /// The JSON.
    Json,
}

/// The Profile window's own state.
#[derive(Debug, Default)]
pub struct SettingsState {
    /// The window is open.
    pub open: bool,
    /// Form or JSON.
    pub view: View,
    /// The form (from the profile when the window opened).
    pub draft: Option<Draft>,
    /// The JSON text (Advanced).
    pub json: String,
    /// The transport whose settings the form shows.
    pub selected: usize,
    /// The profile the form was made from: a change from elsewhere reloads an unedited form.
    seen: Option<Profile>,
    /// Keys whose password's place was asked for.
    asked: HashSet<String>,
    /// The last connection test asked for, and whether its answer came.
    pub test: Option<u64>,
    next_test: u64,
    /// The test whose answer was scrolled into view.
    shown_test: Option<u64>,
    /// Why the view could not switch (the JSON does not read).
    pub switch_refused: Option<String>,
    /// Opened this frame: a window sizes itself in its first frame and shows in the next.
    fresh: bool,
}

impl SettingsState {
    /// Opens or closes the window; opening shows `profile` as it is now, in the form.
    pub fn toggle(&mut self, profile: Option<&Profile>) {
        self.open = !self.open;
        if self.open {
            self.load(profile);
            self.view = View::Form;
            self.test = None;
            self.switch_refused = None;
            self.fresh = true;
        }
    }

    fn load(&mut self, profile: Option<&Profile>) {
        self.draft = profile.map(Draft::of);
        self.json = profile
            .and_then(|p| serde_json::to_string_pretty(p).ok())
            .unwrap_or_default();
        self.seen = profile.cloned();
        if self
            .draft
            .as_ref()
            .is_none_or(|d| self.selected >= d.transports.len())
        {
            self.selected = 0;
        }
    }

    /// True when nothing was typed: what is shown is `profile`.
    pub fn unedited(&self, profile: Option<&Profile>) -> bool {
        match self.view {
            View::Form => self
                .draft
                .as_ref()
                .is_some_and(|d| !d.has_typed_password() && d.build().ok().as_ref() == profile),
            View::Json => profile
                .and_then(|p| serde_json::to_string_pretty(p).ok())
                .is_some_and(|t| t == self.json),
        }
    }

    /// A directory picked for the pickup transport at `index`.
    pub fn set_pickup_dir(&mut self, index: usize, dir: &std::path::Path) {
        if let Some(t) = self
            .draft
            .as_mut()
            .and_then(|d| d.transports.get_mut(index))
            && let draft::Fields::Pickup(d) = &mut t.fields
        {
            *d = dir.display().to_string();
        }
    }

    /// The profile changed elsewhere (a save, the fault panel): an unedited form follows it.
    fn follow(&mut self, model: &Model) {
        if model.profile == self.seen {
            return;
        }
        if self.unedited(self.seen.as_ref()) || self.draft.is_none() {
            let view = self.view;
            self.load(model.profile.as_ref());
            self.view = view;
        } else {
            // Edits stay; what the form does not show follows (the fault panel's faults).
            if let (Some(d), Some(p)) = (self.draft.as_mut(), model.profile.as_ref()) {
                for t in &mut d.transports {
                    if let Some(now) = p.transports.iter().find(|c| c.name == t.config.name) {
                        t.config.faults.clone_from(&now.faults);
                    }
                }
            }
            self.seen.clone_from(&model.profile);
        }
    }
}

/// Names a widget for screen readers and the tests (a text field has no label of its own).
pub(super) fn name(resp: &egui::Response, label: &str) {
    let label = label.to_owned();
    resp.ctx
        .accesskit_node_builder(resp.id, move |b| b.set_label(label));
}

/// Draws the Profile window when open.
pub fn settings_ui(
    ctx: &egui::Context,
    model: &Model,
    s: &mut SettingsState,
    out: &mut Vec<Intent>,
) {
    if !s.open {
        return;
    }
    s.follow(model);
    if std::mem::take(&mut s.fresh) {
        ctx.request_repaint();
    }
    let mut open = true;
    egui::Window::new("Profile")
        .id(egui::Id::unique("profile-window"))
        .open(&mut open)
        .default_size([700.0, 720.0])
        .min_width(560.0)
        .show(ctx, |ui| body(ui, model, s, out));
    s.open = open;
}

fn body(ui: &mut Ui, model: &Model, s: &mut SettingsState, out: &mut Vec<Intent>) {
    ui.horizontal(|ui| {
        let mut view = s.view;
        ui.selectable_value(&mut view, View::Form, "Settings");
        ui.selectable_value(&mut view, View::Json, "Advanced (JSON)");
        if view != s.view {
            switch(s, view);
        }
        if let Some(why) = &s.switch_refused {
            ui.label(RichText::new(why).color(theme::bad(ui)));
        }
    });
    ui.separator();
    let candidate = match s.view {
        View::Form => s.draft.as_ref().map(Draft::build),
        View::Json => Some(json::parse(&s.json).map_err(|_| Vec::new()).and_then(|p| {
            match Draft::of(&p).problems() {
                problems if problems.is_empty() => Ok(p),
                problems => Err(problems),
            }
        })),
    };
    egui::Panel::bottom("profile-save")
        .show_separator_line(true)
        .show(ui, |ui| save_bar(ui, model, s, candidate.as_ref(), out));
    egui::CentralPanel::no_frame().show(ui, |ui| match s.view {
        View::Form => {
            egui::ScrollArea::vertical()
                .id_salt("profile-form")
                .auto_shrink([false, false])
                .show(ui, |ui| form::form_ui(ui, model, s, out));
        }
        View::Json => {
            let _ = json::json_ui(ui, &mut s.json);
            if let Ok(p) = json::parse(&s.json)
                && let Err(problems) = Draft::of(&p).build()
            {
                for (_, why) in problems {
                    ui.label(
                        RichText::new(format!("Not saved as it is: {why}")).color(theme::bad(ui)),
                    );
                }
            }
        }
    });
}

/// Form to JSON always works (what the form reads, else the profile it came from); JSON to
/// form only when the JSON reads.
fn switch(s: &mut SettingsState, to: View) {
    s.switch_refused = None;
    match to {
        View::Json => {
            if let Some(d) = &s.draft {
                let p = d.build().unwrap_or_else(|_| d.base.clone());
                s.json = serde_json::to_string_pretty(&p).unwrap_or_default();
            }
            s.view = View::Json;
        }
        View::Form => match json::parse(&s.json) {
            Ok(p) => {
                // Typed passwords are kept: they never go through the JSON.
                let typed: Vec<String> = s
                    .draft
                    .as_ref()
                    .map(|d| {
                        d.transports
                            .iter()
                            .map(|t| match &t.fields {
                                draft::Fields::Smtp(x) => x.password.clone(),
                                _ => String::new(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut d = Draft::of(&p);
                for (t, pw) in d.transports.iter_mut().zip(typed) {
                    if let draft::Fields::Smtp(x) = &mut t.fields {
                        x.password = pw;
                    }
                }
                s.draft = Some(d);
                s.view = View::Form;
            }
            Err(e) => {
                s.switch_refused = Some(format!(
                    "The JSON does not read ({e}): fix it to go back to the form"
                ));
            }
        },
    }
}

/// Save (disabled while anything is wrong, with why), Revert, and whether it is saved.
fn save_bar(
    ui: &mut Ui,
    model: &Model,
    s: &mut SettingsState,
    candidate: Option<&Result<Profile, Vec<(Field, String)>>>,
    out: &mut Vec<Intent>,
) {
    let typed = s.draft.as_ref().is_some_and(Draft::has_typed_password) && s.view == View::Form;
    let json_error = (s.view == View::Json)
        .then(|| json::parse(&s.json).err())
        .flatten();
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let (ok, why): (Option<&Profile>, String) = match (candidate, &json_error) {
            (_, Some(e)) => (None, format!("The JSON does not read: {e}")),
            (Some(Ok(p)), _) => (Some(p), String::new()),
            (Some(Err(problems)), _) => (
                None,
                match problems.as_slice() {
                    [(_, one)] => format!("Fix this to save: {one}"),
                    [(_, first), rest @ ..] => {
                        format!(
                            "Fix {} problems to save; the first: {first}",
                            rest.len() + 1
                        )
                    }
                    [] => String::new(),
                },
            ),
            (None, _) => (None, "No store is open".into()),
        };
        // A profile that holds sending (store.json did not read, or a value out of range) is
        // saved as the form shows it, changed or not: that is what lifts the hold.
        let held = model.debug.held.as_deref();
        let changed =
            ok.is_some_and(|p| Some(p) != model.profile.as_ref()) || typed || held.is_some();
        let save = ui
            .add_enabled(
                ok.is_some() && changed,
                egui::Button::new(RichText::new("Save profile").strong()),
            )
            .on_disabled_hover_text(if ok.is_some() {
                "Nothing changed"
            } else {
                why.as_str()
            });
        if save.clicked()
            && let Some(p) = ok
        {
            if Some(p) != model.profile.as_ref() || held.is_some() {
                out.push(Intent::SaveProfile(Box::new(p.clone())));
            }
            if let Some(d) = s.draft.as_mut().filter(|_| s.view == View::Form) {
                for (key, pw) in d.typed_passwords() {
                    out.push(Intent::StorePassword(key, Some(Secret::new(pw))));
                }
                d.clear_passwords();
            }
        }
        if ui
            .add_enabled(ok.is_none() || changed, egui::Button::new("Revert"))
            .on_hover_text("Show the saved profile again")
            .clicked()
        {
            let view = s.view;
            s.load(model.profile.as_ref());
            s.view = view;
        }
        let (text, color) = if !why.is_empty() {
            (why, theme::bad(ui))
        } else if let Some(h) = held {
            (
                format!("Sending is held until a good profile is saved: {h}"),
                theme::bad(ui),
            )
        } else if changed {
            ("Unsaved changes".to_owned(), theme::warn(ui))
        } else {
            ("Saved".to_owned(), theme::muted(ui))
        };
        ui.label(RichText::new(text).color(color));
    });
    ui.add_space(2.0);
}
