//! The top bar: send and debugger controls, store and theme. Each button is enabled only
//! when its action applies to the selection, and says why not on hover. One row at any width:
//! what does not fit goes under More, in the order the bar reads.

use super::Intent;
use super::dialogs::Purpose;
use super::keys::{self, CONTINUE, STEP};
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

/// A toolbar button.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// New message.
    NewMessage,
    /// Send selected.
    SendSelected,
    /// Send all (F9).
    SendAll,
    /// Abort submit.
    Abort,
    /// Pause or Resume.
    PauseResume,
    /// Step (F10).
    Step,
    /// Continue (F5).
    Continue,
    /// Open store…
    OpenStore,
    /// Import .eml…
    Import,
    /// Faults…
    Faults,
    /// Profile…
    Profile,
    /// Dark or light mode.
    Theme,
    /// Help (F1).
    Help,
}

/// The left-hand groups, in reading order (a separator between groups).
const LEFT: [&[Item]; 3] = [
    &[Item::NewMessage],
    &[Item::SendSelected, Item::SendAll, Item::Abort],
    &[Item::PauseResume, Item::Step, Item::Continue],
];

/// The right-hand group, in reading order.
const RIGHT: [Item; 6] = [
    Item::OpenStore,
    Item::Import,
    Item::Faults,
    Item::Profile,
    Item::Theme,
    Item::Help,
];

/// On a narrow window the buttons go under More in this order: the right-hand group first,
/// the debugger's Step and Continue last of all.
const FOLD_ORDER: [Item; 13] = [
    Item::OpenStore,
    Item::Import,
    Item::Profile,
    Item::Faults,
    Item::Theme,
    Item::Help,
    Item::Abort,
    Item::SendAll,
    Item::SendSelected,
    Item::NewMessage,
    Item::PauseResume,
    Item::Continue,
    Item::Step,
];

/// What a button says and does.
struct Spec {
    item: Item,
    label: String,
    hover: String,
    /// Why it is disabled.
    disabled: Option<String>,
    intent: Intent,
}

fn spec(
    item: Item,
    label: String,
    hover: String,
    disabled: Option<String>,
    intent: Intent,
) -> Spec {
    Spec {
        item,
        label,
        hover,
        disabled,
        intent,
    }
}

/// The spec of every button, in reading order (left groups, then the right group).
fn specs(ctx: &egui::Context, model: &Model, chrome: Chrome) -> Vec<Spec> {
    let can = applies(model);
    let key = |k: &egui::KeyboardShortcut| ctx.format_shortcut(k);
    let selected = || model.selected.iter().copied().collect::<Vec<EntryId>>();
    let busy = chrome
        .dialog_open
        .then(|| "A file dialog (or the path field) is open".to_owned());
    [
        spec(
            Item::NewMessage,
            "New message".into(),
            format!("Compose a draft in the Outbox ({})", key(&keys::NEW)),
            None,
            Intent::NewMessage,
        ),
        spec(
            Item::SendSelected,
            "Send selected".into(),
            format!(
                "Submit the selected drafts, or send queued ones now ignoring their retry timer ({})",
                key(&keys::SEND)
            ),
            can.send.err().map(str::to_owned),
            Intent::SendNow {
                eids: selected(),
                save_first: true,
            },
        ),
        spec(
            Item::SendAll,
            format!("Send all ({})", key(&keys::FLUSH)),
            "Send/Receive: every queued message is eligible now; retry timers are ignored once"
                .into(),
            None,
            Intent::Flush,
        ),
        spec(
            Item::Abort,
            "Abort submit".into(),
            "IMsgStore::AbortSubmit: back to an editable draft. Refused with MAPI_E_UNABLE_TO_ABORT once SUBMITFLAG_LOCKED is set.".into(),
            can.abort.err().map(str::to_owned),
            Intent::AbortSubmit(selected()),
        ),
        ]
    .into_iter()
    .chain(debugger_specs(ctx, model))
    .chain([
        spec(
            Item::OpenStore,
            "Open store…".into(),
            "Open or create another store directory".into(),
            busy.clone(),
            Intent::PickFile(Purpose::OpenStore),
        ),
        spec(
            Item::Import,
            "Import .eml…".into(),
            "Import RFC 5322 files as drafts in the Outbox".into(),
            busy,
            Intent::PickFile(Purpose::Import),
        ),
        spec(
            Item::Faults,
            "Faults…".into(),
            "Inject faults into a transport (the status bar lists those armed)".into(),
            None,
            Intent::ToggleFaults,
        ),
        spec(
            Item::Profile,
            "Profile…".into(),
            "Transports, hooks, retry policy".into(),
            None,
            Intent::ToggleProfile,
        ),
        spec(
            Item::Theme,
            if chrome.dark { "Light mode" } else { "Dark mode" }.into(),
            "Switch between light and dark".into(),
            None,
            Intent::ToggleTheme,
        ),
        spec(
            Item::Help,
            format!("Help ({})", key(&keys::HELP)),
            "Every keyboard shortcut".into(),
            None,
            Intent::ToggleHelp,
        ),
    ])
    .collect()
}

/// Pause or Resume, Step, Continue.
fn debugger_specs(ctx: &egui::Context, model: &Model) -> [Spec; 3] {
    let key = |k: &egui::KeyboardShortcut| ctx.format_shortcut(k);
    let paused = model.debug.paused;
    let stopped = paused || model.debug.at.is_some();
    [
        if paused {
            spec(
                Item::PauseResume,
                "Resume".into(),
                format!("Run the spooler ({})", key(&keys::PAUSE)),
                None,
                Intent::Resume,
            )
        } else {
            spec(
                Item::PauseResume,
                "Pause".into(),
                format!("Stop after the current step ({})", key(&keys::PAUSE)),
                None,
                Intent::Pause,
            )
        },
        spec(
            Item::Step,
            format!("Step ({})", key(&STEP)),
            "Run exactly one pipeline step, then stop".into(),
            None,
            Intent::Step,
        ),
        spec(
            Item::Continue,
            format!("Continue ({})", key(&CONTINUE)),
            "Run until the next breakpoint".into(),
            (!stopped).then(|| "The spooler is running: nothing to continue".to_owned()),
            Intent::Continue,
        ),
    ]
}

/// How wide a button with this text is.
fn button_width(ui: &egui::Ui, text: &str) -> f32 {
    let galley = egui::WidgetText::from(text).into_galley(
        ui,
        Some(egui::TextWrapMode::Extend),
        f32::INFINITY,
        egui::TextStyle::Button,
    );
    galley.size().x + 2.0 * ui.spacing().button_padding.x
}

/// The More button's text: the ellipsis glyph when the font has it.
fn more_text(ui: &egui::Ui) -> &'static str {
    let font = egui::TextStyle::Button.resolve(ui.style());
    if ui.ctx().fonts_mut(|f| f.has_glyph(&font, '⋯')) {
        "⋯"
    } else {
        "More"
    }
}

/// The buttons that go under More for the toolbar to fit `avail` points.
fn fold(ui: &egui::Ui, specs: &[Spec], avail: f32) -> Vec<Item> {
    let gap = ui.spacing().item_spacing.x;
    // A separator takes its spacing and a gap on each side.
    let sep = 6.0 + gap;
    let width_of = |it: Item| {
        specs
            .iter()
            .find(|s| s.item == it)
            .map_or(0.0, |s| button_width(ui, &s.label) + gap)
    };
    let more = button_width(ui, more_text(ui)) + gap;
    let need = |folded: &[Item]| {
        let shown = |it: &&Item| !folded.contains(*it);
        let mut w = 0.0;
        let mut groups = 0;
        for g in LEFT {
            let in_group: f32 = g.iter().filter(shown).map(|it| width_of(*it)).sum();
            if in_group > 0.0 {
                w += in_group;
                groups += 1;
            }
        }
        w += sep * (groups as f32 - 1.0).max(0.0);
        w += RIGHT
            .iter()
            .filter(shown)
            .map(|it| width_of(*it))
            .sum::<f32>();
        if !folded.is_empty() {
            w += more;
        }
        // Room between the two groups, and for rounding.
        w + 16.0
    };
    let mut folded = Vec::new();
    for it in FOLD_ORDER {
        if need(&folded) <= avail {
            break;
        }
        folded.push(it);
    }
    folded
}

/// Draws the toolbar (errors and notices float in the corner: see `notify`). On a narrow
/// window (or a large scale) the buttons that do not fit go under More, the right-hand
/// group first: Step and Continue stay in the bar, never under another button.
pub fn toolbar_ui(ui: &mut egui::Ui, model: &Model, chrome: Chrome, out: &mut Vec<Intent>) {
    egui::Panel::top("toolbar").show(ui, |ui| {
        ui.add_space(4.0);
        let specs = specs(ui.ctx(), model, chrome);
        let folded = fold(ui, &specs, ui.available_width());
        let spec = |it: Item| specs.iter().find(|s| s.item == it);
        ui.horizontal(|ui| {
            let mut first = true;
            for group in LEFT {
                let shown: Vec<&Spec> = group
                    .iter()
                    .filter(|it| !folded.contains(*it))
                    .filter_map(|it| spec(*it))
                    .collect();
                if shown.is_empty() {
                    continue;
                }
                if !first {
                    ui.separator();
                }
                first = false;
                for s in shown {
                    button_ui(ui, s, out);
                }
            }
            right_group_ui(ui, &specs, &folded, out);
        });
        ui.add_space(2.0);
    });
}

/// The right-hand group and More, against the right edge, drawn left to right so that Tab
/// goes through them in the order they read. The group's width is the one it took when last
/// drawn (a guess the first time, laid out again at once when it was wrong).
fn right_group_ui(ui: &mut egui::Ui, specs: &[Spec], folded: &[Item], out: &mut Vec<Intent>) {
    let width_id = egui::Id::unique("spoolbox-toolbar-right-width");
    let gap = ui.spacing().item_spacing.x;
    let shown: Vec<&Spec> = RIGHT
        .iter()
        .filter(|it| !folded.contains(*it))
        .filter_map(|it| specs.iter().find(|s| s.item == *it))
        .collect();
    let guess = shown
        .iter()
        .map(|s| button_width(ui, &s.label) + gap)
        .sum::<f32>()
        + if folded.is_empty() {
            0.0
        } else {
            button_width(ui, more_text(ui)) + gap
        };
    let wide = ui
        .ctx()
        .data(|d| d.get_temp::<f32>(width_id))
        .unwrap_or(guess);
    let room = ui.available_width() - wide;
    if room > 0.0 {
        ui.add_space(room);
    }
    let start = ui.cursor().left();
    let mut right = start;
    for s in shown {
        right = button_ui(ui, s, out).rect.right();
    }
    if !folded.is_empty() {
        let under: Vec<&Spec> = specs.iter().filter(|s| folded.contains(&s.item)).collect();
        right = more_ui(ui, &under, out).rect.right();
    }
    // What the group took, with the gap before it.
    let took = right - start + gap;
    if (took - wide).abs() > 0.5 {
        ui.ctx().data_mut(|d| d.insert_temp(width_id, took));
        ui.ctx()
            .request_discard("the toolbar's right-hand group changed width");
    }
}

/// One button, in the bar or under More.
fn button_ui(ui: &mut egui::Ui, s: &Spec, out: &mut Vec<Intent>) -> egui::Response {
    let mut r = ui
        .add_enabled(s.disabled.is_none(), egui::Button::new(s.label.as_str()))
        .on_hover_text(s.hover.as_str());
    if let Some(why) = &s.disabled {
        r = r.on_disabled_hover_text(why.as_str());
    }
    if r.clicked() {
        out.push(s.intent.clone());
    }
    r
}

/// More: the buttons that did not fit, in the order they read in the bar.
fn more_ui(ui: &mut egui::Ui, under: &[&Spec], out: &mut Vec<Intent>) -> egui::Response {
    let r = ui
        .menu_button(more_text(ui), |ui| {
            let mut last_group = None;
            for s in under {
                let group = group_of(s.item);
                if last_group.is_some_and(|g| g != group) {
                    ui.separator();
                }
                last_group = Some(group);
                button_ui(ui, s, out);
            }
        })
        .response;
    r.ctx.accesskit_node_builder(r.id, |b| b.set_label("More"));
    r.on_hover_text("More: the toolbar's buttons that do not fit the window")
}

/// The group a button is in (a separator between groups in the More menu too).
fn group_of(item: Item) -> usize {
    LEFT.iter()
        .position(|g| g.contains(&item))
        .unwrap_or(LEFT.len())
}
