//! The keyboard: the window's shortcuts and the message table's keys, read before the panels
//! draw and turned into [`Intent`]s like any click.

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
/// Ctrl+Enter: send the selected messages.
pub const SEND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
/// Ctrl+P: pause or resume.
pub const PAUSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::P);
/// F1: help.
pub const HELP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F1);
/// Ctrl+A: select every row of the folder (no text field focused).
pub const SELECT_ALL: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::A);
/// Delete: delete the selected messages.
pub const DELETE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Delete);

/// The window's keys. `path_field` is true while the path field is shown (it takes Escape
/// itself, as "Send again?" does).
pub fn shortcuts(ctx: &egui::Context, model: &Model, path_field: bool, out: &mut Vec<Intent>) {
    let typing = ctx.memory(|m| m.focused().is_some());
    // In the editor Ctrl+Enter submits what is on screen: `compose::actions_ui` takes it.
    let editing = model.tab == Tab::Compose;
    let (flush, step, cont, new, send, pause, help, delete) = ctx.input_mut(|i| {
        (
            i.consume_shortcut(&FLUSH),
            i.consume_shortcut(&STEP),
            i.consume_shortcut(&CONTINUE),
            i.consume_shortcut(&NEW),
            !editing && i.consume_shortcut(&SEND),
            i.consume_shortcut(&PAUSE),
            i.consume_shortcut(&HELP),
            !typing && i.consume_shortcut(&DELETE),
        )
    });
    let selected = || model.selected.iter().copied().collect::<Vec<_>>();
    for (pressed, intent) in [
        (flush, Intent::Flush),
        (step, Intent::Step),
        (cont, Intent::Continue),
        (new, Intent::NewMessage),
    ] {
        if pressed {
            out.push(intent);
        }
    }
    if send {
        out.push(Intent::SendNow {
            eids: selected(),
            save_first: false,
        });
    }
    if pause {
        out.push(if model.debug.paused {
            Intent::Resume
        } else {
            Intent::Pause
        });
    }
    if help {
        out.push(Intent::ToggleHelp);
    }
    if delete {
        out.push(Intent::Delete(selected()));
    }
    let escape = ctx.input(|i| i.key_pressed(Key::Escape));
    if escape && !path_field && model.confirm_send_again.is_none() {
        out.push(Intent::CloseTopWindow);
    }
    if !ctx.text_edit_focused() {
        table_keys(ctx, model, out);
    }
}

/// The message table's keys (no text field has focus): Up/Down move the selection (with
/// Shift they extend it), Home/End go to the first/last row, Ctrl+A selects every row.
fn table_keys(ctx: &egui::Context, model: &Model, out: &mut Vec<Intent>) {
    let (up_s, down_s, home_s, end_s, up, down, home, end, all) = ctx.input_mut(|i| {
        (
            i.count_and_consume_key(Modifiers::SHIFT, Key::ArrowUp),
            i.count_and_consume_key(Modifiers::SHIFT, Key::ArrowDown),
            i.consume_key(Modifiers::SHIFT, Key::Home),
            i.consume_key(Modifiers::SHIFT, Key::End),
            i.count_and_consume_key(Modifiers::NONE, Key::ArrowUp),
            i.count_and_consume_key(Modifiers::NONE, Key::ArrowDown),
            i.consume_key(Modifiers::NONE, Key::Home),
            i.consume_key(Modifiers::NONE, Key::End),
            i.consume_shortcut(&SELECT_ALL),
        )
    });
    let n = model.rows.len();
    if n == 0 {
        return;
    }
    if all {
        out.push(Intent::SelectAll);
    }
    let at = model
        .focused
        .and_then(|f| model.rows.iter().position(|e| *e == f));
    let moved = |by: isize| -> usize { at.map_or(0, |i| i.saturating_add_signed(by).min(n - 1)) };
    #[allow(
        clippy::cast_possible_wrap,
        reason = "key repeats in one frame are few"
    )]
    let target = if home || home_s {
        Some((0, home_s))
    } else if end || end_s {
        Some((n - 1, end_s))
    } else if down + down_s > 0 {
        Some((moved((down + down_s) as isize), down_s > 0))
    } else if up + up_s > 0 {
        Some((moved(-((up + up_s) as isize)), up_s > 0))
    } else {
        None
    };
    if let Some((i, extend)) = target
        && let Some(&eid) = model.rows.get(i)
    {
        out.push(Intent::SelectRow { eid, extend });
    }
}
