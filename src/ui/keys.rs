//! The keyboard: one table, [`BINDINGS`], of every key and gesture the window knows. The
//! dispatcher ([`shortcuts`], run before the panels draw) reads its keys from that table and
//! turns them into [`Intent`]s like any click, and Help lists the same table, so the two
//! cannot drift apart.
//!
//! The message table is one stop in the Tab order ([`table_stop_ui`]): its rows are not.
//! Up/Down, Home/End, Enter and Ctrl+A act when the table has the keyboard (it has the focus,
//! or nothing has); a focused button takes Enter itself, a text field its keys.

use egui::{Key, KeyboardShortcut, Modifiers};

use super::Intent;
use super::model::{Model, Tab};

/// F9: Send/Receive.
pub const FLUSH: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F9);
/// F10: step.
pub const STEP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F10);
/// F5: continue.
pub const CONTINUE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F5);
/// Ctrl+N: new message.
pub const NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
/// Ctrl+Enter: send the selected messages (in the editor: submit it).
pub const SEND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
/// Ctrl+P: pause or resume.
pub const PAUSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::P);
/// F1: help.
pub const HELP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F1);
/// Ctrl+Q: quit (what the editor holds is saved first, as closing the window does).
pub const QUIT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Q);
/// Ctrl+A: select every row of the folder (no text field focused).
pub const SELECT_ALL: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::A);
/// Delete: delete the selected messages.
pub const DELETE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Delete);
/// Ctrl+Z: undo the last delete (outside text fields, which have their own undo).
pub const UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
/// Enter: open the selected message.
pub const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Enter);
/// Ctrl+T: the timeline in place of the message table, or the table again.
pub const TIMELINE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::T);
/// Escape: close the topmost small window.
pub const CLOSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Escape);

const fn key(k: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::NONE, k)
}

const fn shift(k: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::SHIFT, k)
}

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Help (F1).
    Help,
    /// New message.
    NewMessage,
    /// Open the selected message.
    Open,
    /// Send the selection (outside the editor, which takes Ctrl+Enter itself).
    Send,
    /// Delete the selection.
    Delete,
    /// Undo the last delete.
    Undo,
    /// Send/Receive.
    Flush,
    /// One pipeline step.
    Step,
    /// Run to the next breakpoint.
    Continue,
    /// Pause or resume.
    PauseResume,
    /// Show or hide the timeline.
    Timeline,
    /// Up (first key) or Down (second key), extending the selection or not.
    Move {
        /// Shift: extend the selection.
        extend: bool,
    },
    /// Home (first key) or End (second key).
    Ends {
        /// Shift: extend the selection.
        extend: bool,
    },
    /// Every row of the folder.
    SelectAll,
    /// Quit.
    Quit,
    /// Close the topmost small window (Escape is read, not consumed: the path field and the
    /// questions take it too).
    Close,
    /// Done by egui or by a widget (Tab, a click): listed in Help, nothing to dispatch.
    Widget,
}

/// One line of Help: the keys (or a pointer gesture), what they do, and the action the
/// dispatcher takes.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// The keys; for [`Action::Move`] and [`Action::Ends`], backwards then forwards.
    pub keys: &'static [KeyboardShortcut],
    /// How Help names a pointer gesture or a key egui handles (`Shift+click`, `Tab`); `None`:
    /// the keys as the platform writes them.
    pub named: Option<&'static str>,
    /// What it does, as Help says it.
    pub what: &'static str,
    /// What the dispatcher does.
    pub action: Action,
}

const fn bind(keys: &'static [KeyboardShortcut], what: &'static str, action: Action) -> Binding {
    Binding {
        keys,
        named: None,
        what,
        action,
    }
}

const fn named(named: &'static str, what: &'static str) -> Binding {
    Binding {
        keys: &[],
        named: Some(named),
        what,
        action: Action::Widget,
    }
}

/// Every key and gesture, in the order Help lists them.
pub const BINDINGS: &[Binding] = &[
    bind(&[HELP], "Help: this list", Action::Help),
    bind(
        &[NEW],
        "New message (the cursor goes to its first recipient)",
        Action::NewMessage,
    ),
    bind(
        &[OPEN],
        "Open the selected message: a draft in the editor, any other in the detail, with the keyboard there",
        Action::Open,
    ),
    bind(
        &[SEND],
        "Send the selected messages; in the editor, submit what is on screen",
        Action::Send,
    ),
    bind(
        &[DELETE],
        "Delete the selected messages to Deleted Items (Undo in the notice); from Deleted Items, for good after asking",
        Action::Delete,
    ),
    bind(&[UNDO], "Undo the last delete", Action::Undo),
    bind(
        &[FLUSH],
        "Send all: every queued message now (Send/Receive)",
        Action::Flush,
    ),
    bind(&[STEP], "Step: run one pipeline step", Action::Step),
    bind(
        &[CONTINUE],
        "Continue: run to the next breakpoint",
        Action::Continue,
    ),
    bind(&[PAUSE], "Pause / resume the spooler", Action::PauseResume),
    bind(
        &[TIMELINE],
        "Timeline: every step and hand-off on one time axis, or the message table again",
        Action::Timeline,
    ),
    named(
        "Timeline: wheel, drag / Ctrl+wheel",
        "Pan / zoom around the pointer; a click on a bar selects its message at that step",
    ),
    named(
        "Timeline: Left/Right (A/D), +/- (W/S), Home, End",
        "With the keyboard in the lanes: pan, zoom, fit everything, follow live",
    ),
    bind(
        &[key(Key::ArrowUp), key(Key::ArrowDown)],
        "Select the previous / next message (the table has the keyboard)",
        Action::Move { extend: false },
    ),
    bind(
        &[shift(Key::ArrowUp), shift(Key::ArrowDown)],
        "Extend the selection up / down",
        Action::Move { extend: true },
    ),
    bind(
        &[key(Key::Home), key(Key::End)],
        "Select the first / last message",
        Action::Ends { extend: false },
    ),
    bind(
        &[shift(Key::Home), shift(Key::End)],
        "Extend the selection to the first / last message",
        Action::Ends { extend: true },
    ),
    bind(
        &[SELECT_ALL],
        "Select every message of the folder",
        Action::SelectAll,
    ),
    named(
        "Shift+click",
        "Select every message from the last one picked",
    ),
    named(
        "Ctrl+click",
        "Add a message to the selection, or take it out",
    ),
    named(
        "Tab / Shift+Tab",
        "Next / previous control: toolbar, folders, table, detail; in the editor recipients, subject, body, Submit and Save",
    ),
    bind(
        &[QUIT],
        "Quit (the draft being edited is saved first)",
        Action::Quit,
    ),
    bind(
        &[CLOSE],
        "Close Help, Faults or an unedited Profile; answer No to a question",
        Action::Close,
    ),
];

/// How Help writes a binding's keys: `Ctrl+N`, `Up / Down`, or the gesture's name.
pub fn keys_text(ctx: &egui::Context, b: &Binding) -> String {
    if let Some(n) = b.named {
        return n.to_owned();
    }
    b.keys
        .iter()
        .map(|k| ctx.format_shortcut(k))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The table's place in the Tab order (see [`table_stop_ui`]).
pub fn table_focus_id() -> egui::Id {
    egui::Id::unique("spoolbox-message-table-keyboard")
}

/// True when the message table has the keyboard: it has the focus, or nothing has.
pub fn table_has_keyboard(ctx: &egui::Context) -> bool {
    ctx.memory(|m| m.focused().is_none_or(|f| f == table_focus_id()))
}

/// Where the keys may act this frame.
#[derive(Clone, Copy)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "four independent facts about the frame, read once"
)]
struct Where {
    /// A text field has the keyboard.
    text: bool,
    /// The table has the keyboard.
    table: bool,
    /// The editor is shown (it takes Ctrl+Enter).
    editing: bool,
    /// A question is asked (Send again?, Delete for good?, the path field): Enter, Delete
    /// and Escape are its own.
    asking: bool,
}

impl Action {
    /// True when this action may take its keys now.
    fn applies(self, w: Where) -> bool {
        match self {
            Self::Help
            | Self::NewMessage
            | Self::Flush
            | Self::Step
            | Self::Continue
            | Self::PauseResume
            | Self::Timeline
            | Self::Quit => true,
            Self::Send => !w.editing,
            Self::Delete | Self::Undo => !w.text && !w.asking,
            Self::Open | Self::Move { .. } | Self::Ends { .. } | Self::SelectAll => {
                w.table && !w.text && !w.asking
            }
            Self::Close => !w.asking,
            Self::Widget => false,
        }
    }
}

/// The window's keys, read from [`BINDINGS`]. `path_field` is true while the path field is
/// shown (it takes Escape itself, as the questions do).
pub fn shortcuts(ctx: &egui::Context, model: &Model, path_field: bool, out: &mut Vec<Intent>) {
    let w = Where {
        text: ctx.text_edit_focused(),
        // The table is not there while the timeline shows in its place.
        table: table_has_keyboard(ctx) && !model.show_timeline,
        editing: model.tab == Tab::Compose,
        asking: path_field || model.confirm_no_subject || model.confirm_delete.is_some(),
    };
    // The keys with more modifiers first: Up would take Shift+Up too.
    let mut keys: Vec<(Action, usize, KeyboardShortcut)> = BINDINGS
        .iter()
        .filter(|b| b.action.applies(w))
        .flat_map(|b| b.keys.iter().enumerate().map(|(i, k)| (b.action, i, *k)))
        .collect();
    keys.sort_by_key(|(_, _, k)| std::cmp::Reverse(modifier_count(k.modifiers)));
    let mut moved: Option<(isize, bool)> = None;
    let mut ends: Option<(bool, bool)> = None;
    for (action, i, k) in keys {
        let n = if action == Action::Close {
            usize::from(ctx.input(|inp| inp.key_pressed(k.logical_key)))
        } else {
            ctx.input_mut(|inp| inp.count_and_consume_key(k.modifiers, k.logical_key))
        };
        if n == 0 {
            continue;
        }
        match action {
            Action::Move { extend } => {
                #[allow(
                    clippy::cast_possible_wrap,
                    reason = "key repeats in one frame are few"
                )]
                let by = if i == 0 { -(n as isize) } else { n as isize };
                let (sum, ext) = moved.unwrap_or((0, false));
                moved = Some((sum + by, ext || extend));
            }
            Action::Ends { extend } => ends = Some((i == 1, extend)),
            _ => act(action, model, out),
        }
    }
    table_moves(model, moved, ends, out);
}

fn modifier_count(m: Modifiers) -> u8 {
    u8::from(m.shift) + u8::from(m.alt) + u8::from(m.ctrl || m.command || m.mac_cmd)
}

/// One key's intent (the table's moves are [`table_moves`]).
fn act(action: Action, model: &Model, out: &mut Vec<Intent>) {
    let selected = || model.selected.iter().copied().collect::<Vec<_>>();
    let intent = match action {
        Action::Help => Intent::ToggleHelp,
        Action::NewMessage => Intent::NewMessage,
        Action::Open => match model.focused {
            Some(eid) => Intent::OpenMessage(eid),
            None => return,
        },
        Action::Send => Intent::SendNow {
            eids: selected(),
            save_first: false,
        },
        Action::Delete => Intent::Delete(selected()),
        Action::Undo => Intent::UndoDelete,
        Action::Flush => Intent::Flush,
        Action::Step => Intent::Step,
        Action::Continue => Intent::Continue,
        Action::PauseResume if model.debug.paused => Intent::Resume,
        Action::PauseResume => Intent::Pause,
        Action::Timeline => Intent::ShowTimeline(!model.show_timeline),
        Action::SelectAll if model.rows.is_empty() => return,
        Action::SelectAll => Intent::SelectAll,
        Action::Close => Intent::CloseTopWindow,
        Action::Quit => Intent::Quit,
        Action::Move { .. } | Action::Ends { .. } | Action::Widget => return,
    };
    out.push(intent);
}

/// Up/Down (`moved`: rows to move, Shift held) and Home/End (`ends`: to the end, Shift held)
/// select a row of the table; the table scrolls it into view.
fn table_moves(
    model: &Model,
    moved: Option<(isize, bool)>,
    ends: Option<(bool, bool)>,
    out: &mut Vec<Intent>,
) {
    let n = model.rows.len();
    if n == 0 {
        return;
    }
    let at = model
        .focused
        .and_then(|f| model.rows.iter().position(|e| *e == f));
    let target = match (ends, moved) {
        (Some((end, extend)), _) => Some((if end { n - 1 } else { 0 }, extend)),
        (None, Some((by, extend))) if by != 0 => Some((
            at.map_or(0, |i| i.saturating_add_signed(by).min(n - 1)),
            extend,
        )),
        _ => None,
    };
    if let Some((i, extend)) = target
        && let Some(&eid) = model.rows.get(i)
    {
        out.push(Intent::SelectRow { eid, extend });
    }
}

/// The message table's one stop in the Tab order, over `rect` (drawn before the table, so
/// the rows stay on top for the pointer). While it has the focus the arrows select rows
/// instead of moving the focus; a click in the table gives it the focus.
pub fn table_stop_ui(ui: &mut egui::Ui, rect: egui::Rect) -> egui::Response {
    let id = table_focus_id();
    let r = ui.interact(rect, id, egui::Sense::FOCUSABLE);
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Group, true, "Message table"));
    if r.has_focus() {
        ui.memory_mut(|m| {
            m.set_focus_lock_filter(
                id,
                egui::EventFilter {
                    horizontal_arrows: true,
                    vertical_arrows: true,
                    ..Default::default()
                },
            );
        });
    }
    let clicked_here = ui.input(|i| {
        i.pointer.primary_clicked() && i.pointer.interact_pos().is_some_and(|p| rect.contains(p))
    });
    if clicked_here && !r.has_focus() {
        r.request_focus();
    }
    r
}

/// The ring that shows the table has the keyboard (drawn after the table, over its rows).
pub fn table_ring_ui(ui: &egui::Ui, stop: &egui::Response) {
    if stop.has_focus() {
        let stroke = ui.visuals().selection.stroke;
        // Around the table, in the panel's margin: over no cell's text.
        ui.painter().rect_stroke(
            stop.rect.expand(2.0),
            2.0,
            egui::Stroke::new(stroke.width.max(1.5), stroke.color),
            egui::StrokeKind::Outside,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shortcut_constant_is_in_the_table() {
        let listed: Vec<KeyboardShortcut> = BINDINGS
            .iter()
            .flat_map(|b| b.keys.iter().copied())
            .collect();
        for k in [
            FLUSH, STEP, CONTINUE, NEW, SEND, PAUSE, HELP, SELECT_ALL, DELETE, UNDO, OPEN, CLOSE,
            TIMELINE,
        ] {
            assert!(
                listed.contains(&k),
                "{k:?} is not in BINDINGS: Help would not list it"
            );
        }
        // And no key is bound twice.
        for (i, a) in listed.iter().enumerate() {
            assert!(!listed[i + 1..].contains(a), "{a:?} is bound twice");
        }
    }
}
