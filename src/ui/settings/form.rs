//! The form: transports in priority order (enabled or not, moved up and down), the selected
//! transport's settings, deliver for real, the sender and the retry policy. A field that does
//! not read says why under it.

use egui::{RichText, Ui};

use super::draft::{Draft, Field, Fields, SmtpFields, TransportDraft, TransportField, smtp_key};
use super::validate::RetryField;
use super::{SettingsState, name};
use crate::profile::{TlsMode, TransportKind};
use crate::spooler::ConnectionTest;
use crate::transport::credentials::Secret;
use crate::ui::Intent;
use crate::ui::dialogs::Purpose;
use crate::ui::model::Model;
use crate::ui::theme;

/// The width of the form's labels (every grid lines its fields up at the same place).
const LABEL_WIDTH: f32 = 130.0;

/// A grid of labels and their fields, one label column wide enough for every section.
fn field_grid(id: impl egui::AsIdSalt) -> egui::Grid {
    egui::Grid::new(id)
        .num_columns(2)
        .min_col_width(LABEL_WIDTH)
        .spacing([12.0, 6.0])
}

/// The width of the form's text fields.
const FIELD_WIDTH: f32 = 280.0;

/// A labelled text field in a two-column grid, with its problem under it.
fn text_row(
    ui: &mut Ui,
    label: &str,
    access: &str,
    text: &mut String,
    hint: &str,
    problem: Option<&str>,
) {
    ui.label(label);
    let r = ui.add(
        egui::TextEdit::singleline(text)
            .hint_text(hint.to_owned())
            .desired_width(FIELD_WIDTH),
    );
    name(&r, access);
    ui.end_row();
    note_row(ui, problem.map(|p| (p.to_owned(), theme::bad(ui))));
}

/// A row under a field: its problem, or a note (nothing when `None`).
fn note_row(ui: &mut Ui, note: Option<(String, egui::Color32)>) {
    if let Some((text, color)) = note {
        ui.label("");
        ui.add(egui::Label::new(RichText::new(text).color(color)).wrap());
        ui.end_row();
    }
}

/// A section heading.
fn heading(ui: &mut Ui, text: &str) {
    ui.add_space(10.0);
    ui.label(RichText::new(text).strong().size(15.0));
}

/// The whole form.
pub(super) fn form_ui(ui: &mut Ui, model: &Model, s: &mut SettingsState, out: &mut Vec<Intent>) {
    let Some(draft) = s.draft.as_mut() else {
        ui.label("No store is open.");
        return;
    };
    let problems = draft.problems();
    let p = |f: Field| Draft::problem(&problems, f);
    heading(ui, "Transports, in priority order");
    ui.label(
        RichText::new(
            "Each recipient goes to the first enabled transport that handles its address type; one that declines passes it on to the next.",
        )
        .color(theme::muted(ui)),
    );
    transports_ui(ui, draft, &mut s.selected, &problems);
    let selected = s.selected;
    let deliver_for_real = draft.deliver_for_real;
    if let Some(t) = draft.transports.get_mut(selected) {
        match &mut t.fields {
            Fields::Smtp(x) => {
                heading(ui, &format!("SMTP settings: {}", t.config.name));
                field_grid(("profile-smtp", selected)).show(ui, |ui| {
                    smtp_rows(ui, x, selected, &p);
                    password_rows(ui, model, x, &mut s.asked, out);
                });
                let base = match &t.config.kind {
                    TransportKind::Smtp(b) => b.clone(),
                    _ => crate::profile::SmtpSettings::default(),
                };
                let test = super::probe::TestAsk {
                    base,
                    fields: x,
                    index: selected,
                    deliver_for_real,
                };
                super::probe::test_ui(
                    ui,
                    model,
                    &test,
                    &problems,
                    &mut s.test,
                    (&mut s.next_test, &mut s.shown_test),
                    out,
                );
            }
            Fields::Pickup(dir) => {
                heading(ui, &format!("Pickup folder: {}", t.config.name));
                pickup_ui(
                    ui,
                    dir,
                    selected,
                    p(Field::Transport(selected, TransportField::Directory)),
                    out,
                );
            }
            Fields::Other => {
                heading(ui, &t.config.name);
                ui.label(
                    RichText::new(format!(
                        "The {} has no settings in this form; the Advanced (JSON) view shows them.",
                        t.config.kind.label()
                    ))
                    .color(theme::muted(ui)),
                );
            }
        }
    }
    ui.add_space(12.0);
    deliver_ui(ui, &mut draft.deliver_for_real);
    heading(ui, "Sender");
    field_grid("profile-sender").show(ui, |ui| {
        text_row(
            ui,
            "Name",
            "Sender name",
            &mut draft.sender_name,
            "Ann Example",
            p(Field::SenderName),
        );
        text_row(
            ui,
            "Address",
            "Sender address",
            &mut draft.sender_address,
            "name@example.org",
            p(Field::SenderAddress),
        );
    });
    heading(ui, "Retry policy");
    retry_ui(ui, draft, &p);
    ui.add_space(8.0);
}

/// One row per transport: its place, enabled, its name (click to show its settings), what
/// it is; Move up and Move down for the selected one.
fn transports_ui(ui: &mut Ui, d: &mut Draft, selected: &mut usize, problems: &[(Field, String)]) {
    let n = d.transports.len();
    egui::Grid::new("profile-transports")
        .num_columns(4)
        .striped(true)
        .spacing([10.0, 4.0])
        .show(ui, |ui| {
            for (i, t) in d.transports.iter_mut().enumerate() {
                ui.label(format!("{}.", i + 1));
                let r = ui.checkbox(&mut t.enabled, "").on_hover_text(
                    "Enabled: offered recipients. Off: logged off, offered nothing.",
                );
                name(&r, &format!("{} enabled", t.config.name));
                if ui
                    .selectable_label(*selected == i, &t.config.name)
                    .clicked()
                {
                    *selected = i;
                }
                ui.horizontal(|ui| {
                    ui.label(RichText::new(summary(t)).color(theme::muted(ui)));
                    if problems
                        .iter()
                        .any(|(f, _)| matches!(f, Field::Transport(j, _) if *j == i))
                    {
                        ui.label(RichText::new("needs a fix").color(theme::bad(ui)));
                    }
                });
                ui.end_row();
            }
        });
    ui.horizontal(|ui| {
        let i = *selected;
        if ui
            .add_enabled(i > 0, egui::Button::new("Move up"))
            .on_hover_text("Offer it recipients before the transport above")
            .clicked()
            && d.move_transport(i, true)
        {
            *selected = i - 1;
        }
        if ui
            .add_enabled(i + 1 < n, egui::Button::new("Move down"))
            .on_hover_text("Offer it recipients after the transport below")
            .clicked()
            && d.move_transport(i, false)
        {
            *selected = i + 1;
        }
        if let Some(t) = d.transports.get(i) {
            ui.label(RichText::new(format!("selected: {}", t.config.name)).color(theme::muted(ui)));
        }
    });
}

/// What a transport is and where it sends, in a few words.
fn summary(t: &TransportDraft) -> String {
    let types = t.config.address_types.join(", ");
    let what = match &t.fields {
        Fields::Smtp(x) if x.host.trim().is_empty() => {
            "SMTP, no server yet (passes everything on)".to_owned()
        }
        Fields::Smtp(x) => {
            let tls = match x.tls {
                TlsMode::None => "",
                TlsMode::StartTls => ", STARTTLS",
                TlsMode::Implicit => ", TLS",
            };
            format!("SMTP to {}:{}{tls}", x.host.trim(), x.port.trim())
        }
        Fields::Pickup(dir) => format!(".eml files in {}", dir.trim()),
        Fields::Other => t.config.kind.label().to_owned(),
    };
    if t.enabled {
        format!("{what}, for {types} addresses")
    } else {
        format!("{what}, for {types} addresses (off)")
    }
}

/// Host, port, TLS, user, timeout.
fn smtp_rows<'a>(ui: &mut Ui, x: &mut SmtpFields, i: usize, p: &impl Fn(Field) -> Option<&'a str>) {
    let f = |tf| p(Field::Transport(i, tf));
    {
        {
            text_row(
                ui,
                "Server",
                "SMTP host",
                &mut x.host,
                "smtp.example.org (empty: SMTP off)",
                f(TransportField::Host),
            );
            text_row(
                ui,
                "Port",
                "SMTP port",
                &mut x.port,
                "587",
                f(TransportField::Port),
            );
            ui.label("Security");
            ui.horizontal(|ui| {
                let before = x.tls;
                ui.radio_value(&mut x.tls, TlsMode::None, "None");
                ui.radio_value(&mut x.tls, TlsMode::StartTls, "STARTTLS");
                ui.radio_value(&mut x.tls, TlsMode::Implicit, "Implicit TLS");
                if x.tls != before {
                    // The usual port follows the usual security, when it was a usual one.
                    let usual = |t| match t {
                        TlsMode::None => "25",
                        TlsMode::StartTls => "587",
                        TlsMode::Implicit => "465",
                    };
                    if x.port.trim() == usual(before) {
                        usual(x.tls).clone_into(&mut x.port);
                    }
                }
            });
            ui.end_row();
            text_row(
                ui,
                "User",
                "SMTP user",
                &mut x.user,
                "empty: no login (AUTH)",
                f(TransportField::User),
            );
            text_row(
                ui,
                "Timeout (s)",
                "SMTP timeout",
                &mut x.timeout,
                "30",
                f(TransportField::Timeout),
            );
        }
    }
}

/// The password: masked, stored on Save (never in the profile); where the stored one is.
fn password_rows(
    ui: &mut Ui,
    model: &Model,
    x: &mut SmtpFields,
    asked: &mut std::collections::HashSet<String>,
    out: &mut Vec<Intent>,
) {
    let key = smtp_key(x);
    if let Some(k) = &key
        && asked.insert(k.clone())
    {
        out.push(Intent::LookUpPassword(k.clone()));
    }
    let state = key.as_ref().and_then(|k| model.passwords.get(k));
    let stored = matches!(state, Some(Ok(s)) if s.stored);
    ui.label("Password");
    ui.horizontal(|ui| {
        let r = ui.add_enabled(
            key.is_some(),
            egui::TextEdit::singleline(&mut x.password)
                .password(true)
                .hint_text(if stored {
                    "stored; type a new one to change it"
                } else {
                    "type the password"
                })
                .desired_width(FIELD_WIDTH),
        );
        name(&r, "SMTP password");
        if ui
            .add_enabled(stored, egui::Button::new("Forget"))
            .on_hover_text("Remove the stored password (keyring and file)")
            .clicked()
            && let Some(k) = &key
        {
            out.push(Intent::StorePassword(k.clone(), None));
        }
    });
    ui.end_row();
    note_row(
        ui,
        Some(password_text(
            ui,
            model,
            key.as_deref(),
            !x.password.is_empty(),
        )),
    );
}

fn password_text(
    ui: &Ui,
    model: &Model,
    key: Option<&str>,
    typed: bool,
) -> (String, egui::Color32) {
    let Some(key) = key else {
        return (
            "A password is kept for a user at a server and port: fill those in first.".into(),
            theme::muted(ui),
        );
    };
    match model.passwords.get(key) {
        None => (
            format!("Looking for the password of {key}…"),
            theme::muted(ui),
        ),
        Some(Err(e)) => (
            format!("The stored password cannot be read: {e}"),
            theme::bad(ui),
        ),
        Some(Ok(s)) if typed => (
            format!(
                "Save keeps the new password {}; never in the profile.",
                s.holder
            ),
            theme::warn(ui),
        ),
        Some(Ok(s)) if s.stored => (format!("Password for {key}: {s}."), theme::ok(ui)),
        Some(Ok(s)) => (
            format!(
                "No password stored for {key}; one typed here is kept {}.",
                s.holder
            ),
            theme::warn(ui),
        ),
    }
}

/// The pickup directory, with a folder picker.
fn pickup_ui(
    ui: &mut Ui,
    dir: &mut String,
    i: usize,
    problem: Option<&str>,
    out: &mut Vec<Intent>,
) {
    field_grid(("profile-pickup", i))
        .show(ui, |ui| {
            ui.label("Directory");
            ui.horizontal(|ui| {
                let r = ui.add(
                    egui::TextEdit::singleline(dir)
                        .hint_text("pickup")
                        .desired_width(FIELD_WIDTH),
                );
                name(&r, "Pickup directory");
                if ui
                    .button("Choose…")
                    .on_hover_text("Pick the directory the .eml files go to")
                    .clicked()
                {
                    out.push(Intent::PickFile(Purpose::PickupDir(i)));
                }
            });
            ui.end_row();
            note_row(ui, problem.map(|p| (p.to_owned(), theme::bad(ui))));
            note_row(
                ui,
                Some((
                    "Each message is written there as an .eml file; a relative path is inside the store."
                        .to_owned(),
                    theme::muted(ui),
                )),
            );
        });
}

/// The deliver-for-real switch and what it means.
fn deliver_ui(ui: &mut Ui, on: &mut bool) {
    ui.checkbox(on, "Deliver for real: SMTP may connect to any server");
    if *on {
        ui.label(
            RichText::new(
                "Mail really goes out: every queued message may reach real people through the SMTP server above.",
            )
            .color(theme::bad(ui)),
        );
    } else {
        ui.label(
            RichText::new(
                "Off: SMTP only connects to servers on this machine (127.0.0.1, ::1, localhost); for any other server its recipients go to the next transport. Test connection keeps to this too.",
            )
            .color(theme::muted(ui)),
        );
    }
}

/// The three delays of the retry policy.
fn retry_ui<'a>(ui: &mut Ui, d: &mut Draft, p: &impl Fn(Field) -> Option<&'a str>) {
    ui.label(
        RichText::new("Durations such as 90s, 15m, 2h or 5d. Each retry waits twice as long as the one before.")
            .color(theme::muted(ui)),
    );
    field_grid("profile-retry").show(ui, |ui| {
        text_row(
            ui,
            "First retry after",
            "First retry after",
            &mut d.retry_first,
            "1m",
            p(Field::Retry(RetryField::First)),
        );
        text_row(
            ui,
            "Longest wait",
            "Longest wait",
            &mut d.retry_max,
            "1h",
            p(Field::Retry(RetryField::Max)),
        );
        text_row(
            ui,
            "Give up (NDR) after",
            "Give up after",
            &mut d.retry_give_up,
            "5d",
            p(Field::Retry(RetryField::GiveUp)),
        );
    });
}

/// The settings a test tries: the transport's saved ones with the form's fields on top.
pub(super) fn test_settings(
    base: &crate::profile::SmtpSettings,
    x: &SmtpFields,
) -> Option<crate::profile::SmtpSettings> {
    use super::validate;
    let mut s = base.clone();
    s.host = validate::host(&x.host).ok().filter(|h| !h.is_empty())?;
    s.port = validate::port(&x.port).ok()?;
    s.username = validate::user(&x.user).ok()?;
    s.timeout_secs = validate::timeout(&x.timeout).ok()?;
    s.tls = x.tls;
    Some(s)
}

/// The connection test to ask for.
pub(super) fn connection_test(
    id: u64,
    settings: crate::profile::SmtpSettings,
    x: &SmtpFields,
    deliver_for_real: bool,
) -> ConnectionTest {
    ConnectionTest {
        id,
        settings,
        password: Some(Secret::new(x.password.clone())).filter(|p| !p.is_empty()),
        deliver_for_real,
    }
}
