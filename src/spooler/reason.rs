//! "Why is it waiting?": one line for every queued message, from plain data the window and
//! the CLI both have (the summary, the debugger state, the status table and the profile).

use jiff::Timestamp;

use super::{DebugState, StatusRow};
use crate::mapi::MessageState;
use crate::mapi::flags::STATUS_OFFLINE;
use crate::profile::Profile;
use crate::store::Summary;

/// What the reason is read against.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The transports in priority order (which one a message waits for).
    pub profile: Option<&'a Profile>,
    /// Paused, stopped at a breakpoint.
    pub debug: &'a DebugState,
    /// The status table (a transport offline and why, busy).
    pub status: &'a [StatusRow],
    /// Whether a spooler runs at all (false for `spoolbox list`: nothing moves until `send`).
    pub running: bool,
    /// Now.
    pub now: Timestamp,
}

/// "2 delivered · 1 failed · 1 waiting of 4": what became of the recipients.
pub fn counts(s: &Summary) -> String {
    let mut parts = vec![format!("{} delivered", s.delivered())];
    if s.failed > 0 {
        parts.push(format!("{} failed", s.failed));
    }
    if s.unknown > 0 {
        parts.push(format!("{} outcome unknown", s.unknown));
    }
    if s.waiting() > 0 {
        parts.push(format!("{} waiting", s.waiting()));
    }
    format!("{} of {}", parts.join(" · "), s.total)
}

fn hms(t: Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

/// Why the message is not moving, or `None` for one that is not in the queue.
pub fn reason(s: &Summary, cx: &Context<'_>) -> Option<String> {
    let state = s.state(cx.now);
    if !s.in_pipeline() {
        return None;
    }
    if let Some((eid, step)) = cx.debug.at
        && eid == s.eid
    {
        return Some(format!(
            "stopped at a breakpoint before {step}: Continue (F5) or Step (F10)"
        ));
    }
    let transport = waits_for(s, cx);
    let text = match state {
        MessageState::Locked => match &transport {
            Some((name, _)) => format!("locked by the spooler: being handed to {name}"),
            None => "locked by the spooler: a step is under way".into(),
        },
        MessageState::Held => "held: Release to send it".into(),
        MessageState::DeferredSend => format!(
            "deferred send until {} (PR_DEFERRED_SEND_TIME)",
            s.deferred_send_time.map_or_else(|| "?".into(), hms)
        ),
        MessageState::DeferredByTransport => {
            "kept by its transport (END_DONT_RESEND) until the transport calls back".into()
        }
        MessageState::WaitingRetry => {
            let on = s.waiting_on.as_deref().unwrap_or("a transport");
            let at = s.next_retry.map_or_else(|| "?".into(), hms);
            match &s.last_error {
                Some(e) => format!("retry at {at} on {on} after \"{}\"", first_line(e)),
                None => format!("retry at {at} on {on}"),
            }
        }
        _ => queued(s, cx, transport.as_ref(), state),
    };
    Some(text)
}

fn queued(
    s: &Summary,
    cx: &Context<'_>,
    transport: Option<&(String, Option<&StatusRow>)>,
    state: MessageState,
) -> String {
    if cx.debug.held.is_some() {
        // The whole reason is said once (the status bar, the first line of `list`).
        return "sending is held: the profile in store.json needs a fix".into();
    }
    if !cx.running {
        return "queued: the next `spoolbox send` (or the window) sends it".into();
    }
    if let Some((eid, step)) = cx.debug.at {
        return format!(
            "waits while the spooler is stopped at a breakpoint on message {eid} ({step})"
        );
    }
    if cx.debug.paused {
        return "the spooler is paused: Resume (Ctrl+P), Step (F10) or Send all (F9)".into();
    }
    if let Some((name, Some(row))) = transport {
        if row.status_code & STATUS_OFFLINE != 0 {
            return format!("waiting for {name}: offline ({})", first_line(&row.text));
        }
        if row.progress >= 0 || row.text.starts_with("sending") {
            return format!("waiting for {name}: busy ({})", first_line(&row.text));
        }
    }
    if state == MessageState::QueuedForPreprocess {
        return match transport {
            Some((name, _)) => format!("next: preprocessing by {name}'s preprocessor"),
            None => "next: preprocessing".into(),
        };
    }
    match (transport, s.next_step) {
        (Some((name, _)), _) => format!("next in the queue for {name}"),
        (None, Some(step)) => format!("next: {step}"),
        (None, None) if s.pending_types.is_empty() => "next: finishing".into(),
        (None, None) => format!(
            "no enabled transport takes {}: the spooler will write an NDR",
            s.pending_types.join(", ")
        ),
    }
}

/// The first enabled transport, in priority order, that takes one of the rows still FALSE,
/// with its status row.
fn waits_for<'a>(s: &Summary, cx: &Context<'a>) -> Option<(String, Option<&'a StatusRow>)> {
    let profile = cx.profile?;
    let t = profile.transports.iter().find(|t| {
        t.enabled
            && s.pending_types
                .iter()
                .any(|p| t.address_types.iter().any(|a| a.eq_ignore_ascii_case(p)))
    })?;
    let row = cx.status.iter().find(|r| r.name == t.name);
    Some((t.name.clone(), row))
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(140) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}
