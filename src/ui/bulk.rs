//! What the window says after an action on several messages: what happened to each, from the
//! spooler's [`BulkReport`], never what was asked (issue 28, item 2). A delete that moved
//! messages offers Undo for exactly those.

use std::time::Instant;

use crate::mapi::EntryId;
use crate::spooler::{BulkOp, BulkReport};
use crate::store::FolderKind;

use super::model::Model;
use super::notify::{self, Undo};

/// `19998` as "19,998".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 message" / "2,000 messages".
fn messages(n: usize) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{} messages", thousands(n))
    }
}

/// At most this many refusals are named one by one; the rest are counted.
const NAMED: usize = 3;

/// The sentence for what was done.
fn done_text(op: BulkOp, report: &BulkReport, model: &Model) -> String {
    let n = report.done.len();
    match op {
        BulkOp::Delete => {
            let for_good = report.done.iter().filter(|d| d.2.is_none()).count();
            let moved = n - for_good;
            match (moved, for_good) {
                (m, 0) => format!("Moved {} to Deleted Items", messages(m)),
                (0, g) => format!("Deleted {} for good", messages(g)),
                (m, g) => format!(
                    "Moved {} to Deleted Items and deleted {} for good",
                    messages(m),
                    messages(g)
                ),
            }
        }
        BulkOp::Restore => {
            let to = report
                .done
                .first()
                .and_then(|d| d.2)
                .and_then(|f| model.folders.iter().find(|x| x.entry_id == f))
                .map(|f| f.name.clone());
            let same = report.done.iter().all(|d| d.2 == report.done[0].2);
            match to {
                Some(name) if same => format!("Restored {} to {name}", messages(n)),
                _ => format!(
                    "Restored {} to the folders they were deleted from",
                    messages(n)
                ),
            }
        }
        BulkOp::Hold(true) => format!("Held {}", messages(n)),
        BulkOp::Hold(false) => format!("Released {}", messages(n)),
        BulkOp::SendNow => format!("Sending {} now", messages(n)),
        BulkOp::AbortSubmit => format!("Aborted {}: drafts again", messages(n)),
        BulkOp::MoveTo(_) => format!("Undone: {} moved back", messages(n)),
    }
}

/// The refusals, in the spooler's words: the first few named, the rest counted.
fn refused_text(report: &BulkReport, model: &Model) -> String {
    let k = report.refused.len();
    let mut parts: Vec<String> = report
        .refused
        .iter()
        .take(NAMED)
        .map(|(eid, why)| {
            let subject = model
                .summaries
                .get(eid)
                .map_or(String::new(), |s| format!(" \"{}\"", s.subject));
            format!("message {eid}{subject}: {why}")
        })
        .collect();
    if k > NAMED {
        parts.push(format!("and {} more", thousands(k - NAMED)));
    }
    format!("{} stayed: {}", thousands(k), parts.join("; "))
}

/// Applies a bulk action's answer to the window: a notice that says what happened (an error
/// when nothing could be done, so it is not missed), and for a delete that moved messages an
/// Undo of exactly those.
pub fn apply(model: &mut Model, report: &BulkReport) {
    let Some((_, op)) = report.asked.first().copied() else {
        return;
    };
    let mut text = if report.done.is_empty() {
        format!(
            "Nothing was done to the {} selected",
            messages(report.asked.len())
        )
    } else {
        done_text(op, report, model)
    };
    if !report.refused.is_empty() {
        text.push_str("; ");
        text.push_str(&refused_text(report, model));
    }
    text.push('.');
    if op == BulkOp::Delete {
        let bin = model.folder_of(FolderKind::DeletedItems);
        let moves: Vec<(EntryId, EntryId)> = report
            .done
            .iter()
            .filter(|(_, from, to)| to.is_some() && *to == bin && Some(*from) != bin)
            .map(|(eid, from, _)| (*eid, *from))
            .collect();
        if !moves.is_empty() {
            model.undo = Some(Undo {
                text,
                moves,
                at: Instant::now(),
            });
            return;
        }
    }
    if report.done.is_empty() {
        if !model.errors.contains(&text) {
            model.errors.push(text);
        }
    } else {
        notify::notice(model, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(19_998), "19,998");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
