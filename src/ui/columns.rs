//! Which columns each folder's table shows, what their cells say and how rows sort by them.
//! The Outbox shows the queue (state, why, retry); the Inbox who sent a message and when it
//! arrived; Sent Items when it went and what became of its recipients; Deleted Items where a
//! message was and when it was deleted. Every column sorts; pure functions of the summaries,
//! so the model sorts with them and the table draws with them.

use std::cmp::Ordering;

use jiff::Timestamp;

use super::model::SortKey;
use crate::mapi::{EntryId, MessageState};
use crate::store::{Folder, FolderKind, Summary};

/// The columns of a folder of this kind, left to right. The last one takes what is left: the
/// reason in the Outbox, elsewhere the subject (so a column made wider takes from it).
pub fn of(kind: Option<FolderKind>) -> &'static [SortKey] {
    use SortKey as K;
    match kind {
        None | Some(FolderKind::Outbox) => &[
            K::State,
            K::Submitted,
            K::Subject,
            K::To,
            K::Done,
            K::Step,
            K::Retry,
        ],
        Some(FolderKind::Inbox) => &[K::From, K::Received, K::Subject],
        Some(FolderKind::SentItems) => &[K::To, K::Sent, K::Outcome, K::Subject],
        Some(FolderKind::DeletedItems) => &[K::What, K::Party, K::WasIn, K::Deleted, K::Subject],
        Some(FolderKind::User) => &[K::What, K::Party, K::Date, K::Subject],
    }
}

/// The order a folder of this kind shows when the sort picked elsewhere has no column here.
pub fn default_sort(kind: Option<FolderKind>) -> SortKey {
    match kind {
        None | Some(FolderKind::Outbox) => SortKey::Submitted,
        Some(FolderKind::Inbox) => SortKey::Received,
        Some(FolderKind::SentItems) => SortKey::Sent,
        Some(FolderKind::DeletedItems) => SortKey::Deleted,
        Some(FolderKind::User) => SortKey::Date,
    }
}

/// The key under which a folder's column widths are remembered: its kind, and for a user
/// folder its name (entry ids differ from store to store).
pub fn folder_key(folder: Option<&Folder>) -> String {
    match folder {
        None => "Outbox".into(),
        Some(f) if f.kind == FolderKind::User => format!("User/{}", f.name),
        Some(f) => format!("{:?}", f.kind),
    }
}

/// The header of a column.
pub const fn label(k: SortKey) -> &'static str {
    match k {
        SortKey::State => "State",
        SortKey::Submitted => "Submitted",
        SortKey::Subject => "Subject",
        SortKey::To => "To",
        SortKey::Done => "Recipients",
        SortKey::Step => "Step",
        SortKey::Retry => "Why / next retry",
        SortKey::From => "From",
        SortKey::Received => "Received",
        SortKey::Sent => "Sent",
        SortKey::Outcome => "Outcome",
        SortKey::What => "What",
        SortKey::Party => "From / To",
        SortKey::WasIn => "Was in",
        SortKey::Deleted => "Deleted",
        SortKey::Date => "Date",
    }
}

/// What a column's header says on hover: where its values come from.
pub const fn doc(k: SortKey) -> &'static str {
    match k {
        SortKey::State => "Where the message stands, from PR_MESSAGE_FLAGS and PR_SUBMIT_FLAGS",
        SortKey::Submitted => "PR_CLIENT_SUBMIT_TIME (UTC): the queue is served oldest first",
        SortKey::Subject => "PR_SUBJECT",
        SortKey::To => "PR_DISPLAY_TO: the To recipients",
        SortKey::Done => "What became of the recipients so far",
        SortKey::Step => "The pipeline step the message is at",
        SortKey::Retry => "Why a queued message waits, and when it is tried again",
        SortKey::From => {
            "PR_SENDER_NAME and PR_SENDER_EMAIL_ADDRESS; for a report, the system that wrote it"
        }
        SortKey::Received => {
            "PR_MESSAGE_DELIVERY_TIME (UTC); where the store has none, PR_CLIENT_SUBMIT_TIME"
        }
        SortKey::Sent => {
            "PR_PROVIDER_SUBMIT_TIME, else when the last recipient was delivered or failed (UTC)"
        }
        SortKey::Outcome => "What became of the recipients: delivered, partly delivered or failed",
        SortKey::What => "A draft, a sent copy, received mail or a report",
        SortKey::Party => "Who sent received mail; who a draft or a sent copy is to",
        SortKey::WasIn => "PR_DELETED_FROM_ENTRYID: the folder Restore puts the message back in",
        SortKey::Deleted => "PR_DELETED_ON (UTC): when the message was deleted",
        SortKey::Date => "When it was received or sent (UTC); a draft, when it was last submitted",
    }
}

/// A column's width at 1280 pixels, and the least it is made.
pub const fn widths(k: SortKey) -> (f32, f32) {
    match k {
        SortKey::State => (150.0, 70.0),
        SortKey::Submitted => (70.0, 50.0),
        SortKey::Subject => (230.0, 100.0),
        SortKey::To => (140.0, 60.0),
        SortKey::Done => (96.0, 60.0),
        SortKey::Step | SortKey::WasIn => (110.0, 60.0),
        SortKey::Retry => (200.0, 80.0),
        SortKey::From => (260.0, 80.0),
        SortKey::Received | SortKey::Sent | SortKey::Deleted | SortKey::Date => (140.0, 100.0),
        SortKey::Outcome => (220.0, 100.0),
        SortKey::What => (130.0, 60.0),
        SortKey::Party => (240.0, 80.0),
    }
}

/// A column's width at 1280 pixels in a folder of this kind.
pub fn width_in(kind: Option<FolderKind>, k: SortKey) -> f32 {
    match (kind, k) {
        (Some(FolderKind::SentItems), SortKey::To) => 240.0,
        _ => widths(k).0,
    }
}

/// When a received message arrived: `PR_MESSAGE_DELIVERY_TIME`, else the submit time the
/// store stamped when it filed the copy or wrote the report.
pub fn received(s: &Summary) -> Option<Timestamp> {
    s.delivered_at.or(s.client_submit_time)
}

/// When a sent message went out (see [`Summary::sent_at`]), else when it was submitted.
pub fn sent(s: &Summary) -> Option<Timestamp> {
    s.sent_at.or(s.client_submit_time)
}

/// The date a mixed folder shows: received, sent, or submitted.
pub fn date(s: &Summary, now: Timestamp) -> Option<Timestamp> {
    match s.state(now) {
        MessageState::Received => received(s),
        MessageState::Sent => sent(s),
        _ => s.client_submit_time,
    }
}

/// A time as a table shows it: the time of day when it is today (UTC), else the date too.
pub fn when(t: Option<Timestamp>, now: Timestamp) -> String {
    let Some(t) = t else {
        return "-".into();
    };
    if t.strftime("%Y-%m-%d").to_string() == now.strftime("%Y-%m-%d").to_string() {
        t.strftime("%H:%M:%S").to_string()
    } else {
        t.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

/// Who sent it; "(no sender recorded)" when the store has no sender.
pub fn from(s: &Summary) -> &str {
    if s.from.is_empty() {
        "(no sender recorded)"
    } else {
        &s.from
    }
}

/// True for a report (`REPORT.*`), a non-delivery report among them.
fn is_report(s: &Summary) -> bool {
    s.class.to_ascii_uppercase().starts_with("REPORT.")
}

/// What the message is, in a word: a draft, a sent copy, received mail, a report; queued
/// ones by their state.
pub fn what(s: &Summary, now: Timestamp) -> &'static str {
    match s.state(now) {
        MessageState::Received if s.class.to_ascii_uppercase().ends_with(".NDR") => {
            "Non-delivery report"
        }
        MessageState::Received if is_report(s) => "Report",
        MessageState::Received => "Received",
        MessageState::Sent => "Sent",
        state => state.label(),
    }
}

/// "From: …" for received mail, "To: …" for the rest.
pub fn party(s: &Summary, now: Timestamp) -> String {
    if s.state(now) == MessageState::Received {
        format!("From: {}", from(s))
    } else if s.to.is_empty() {
        "To: (nobody yet)".into()
    } else {
        format!("To: {}", s.to)
    }
}

/// How an outcome reads: good, mixed, bad or not known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tone {
    /// Every recipient got it.
    Good,
    /// Some did not, or it is not known.
    Mixed,
    /// Nobody got it.
    Bad,
    /// Nothing to tell (no recipients, still under way).
    Plain,
}

/// What became of a message's recipients, in words: "Delivered", "Partly delivered: 2 of 3
/// (1 failed)", "Failed", "Outcome unknown for 1 of 2".
pub fn outcome(s: &Summary) -> (String, Tone) {
    let (ok, total) = (s.delivered(), s.total);
    if total == 0 {
        return ("No recipients".into(), Tone::Plain);
    }
    if s.failed >= total {
        let text = if total == 1 {
            "Failed".to_owned()
        } else {
            format!("Failed: none of {total}")
        };
        return (text, Tone::Bad);
    }
    if s.failed > 0 {
        return (
            format!("Partly delivered: {ok} of {total} ({} failed)", s.failed),
            Tone::Mixed,
        );
    }
    if s.unknown > 0 {
        return (
            format!("Outcome unknown for {} of {total}", s.unknown),
            Tone::Mixed,
        );
    }
    if s.waiting() > 0 {
        return (format!("Under way: {ok} of {total} delivered"), Tone::Plain);
    }
    let text = if total == 1 {
        "Delivered".to_owned()
    } else {
        format!("Delivered to all {total}")
    };
    (text, Tone::Good)
}

/// The name of a folder, or its number when it is not known.
pub fn folder_name(folders: &[Folder], id: Option<EntryId>) -> String {
    match id {
        None => "(not recorded)".into(),
        Some(id) => folders
            .iter()
            .find(|f| f.entry_id == id)
            .map_or_else(|| format!("folder {id}"), |f| f.name.clone()),
    }
}

/// The order of two rows by column `k` (ties by entry id, so the order is stable).
pub fn compare(
    k: SortKey,
    a: &Summary,
    b: &Summary,
    now: Timestamp,
    folders: &[Folder],
) -> Ordering {
    let low = |t: &str| t.to_lowercase();
    let o = match k {
        SortKey::Submitted => a.client_submit_time.cmp(&b.client_submit_time),
        SortKey::State => a.state(now).cmp(&b.state(now)),
        SortKey::Subject => low(&a.subject).cmp(&low(&b.subject)),
        SortKey::To => low(&a.to).cmp(&low(&b.to)),
        SortKey::Done => (a.done, a.total).cmp(&(b.done, b.total)),
        SortKey::Step => a.next_step.cmp(&b.next_step),
        SortKey::Retry => a.next_retry.cmp(&b.next_retry),
        SortKey::From => low(from(a)).cmp(&low(from(b))),
        SortKey::Received => received(a).cmp(&received(b)),
        SortKey::Sent => sent(a).cmp(&sent(b)),
        SortKey::Outcome => {
            let key = |s: &Summary| (outcome(s).1, s.failed, s.unknown, s.total);
            key(a).cmp(&key(b))
        }
        SortKey::What => what(a, now).cmp(what(b, now)),
        SortKey::Party => low(&party(a, now)).cmp(&low(&party(b, now))),
        SortKey::WasIn => low(&folder_name(folders, a.deleted_from))
            .cmp(&low(&folder_name(folders, b.deleted_from))),
        SortKey::Deleted => a.deleted_on.cmp(&b.deleted_on),
        SortKey::Date => date(a, now).cmp(&date(b, now)),
    };
    o.then(a.eid.cmp(&b.eid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapi::{Message, Recipient, RecipientKind, RecipientState};

    fn sent_with(outcomes: &[RecipientState]) -> Summary {
        let mut m = Message::draft(EntryId(1), EntryId(2), "s");
        for (i, o) in outcomes.iter().enumerate() {
            let mut r = Recipient::new(
                u32::try_from(i).unwrap_or(0),
                "n",
                "a@example.org",
                "SMTP",
                RecipientKind::To,
            );
            r.outcome = o.clone();
            m.recipients.push(r);
        }
        Summary::of(&m)
    }

    #[test]
    fn outcomes_in_words() {
        use RecipientState as R;
        assert_eq!(outcome(&sent_with(&[R::Delivered])).0, "Delivered");
        assert_eq!(
            outcome(&sent_with(&[R::Delivered, R::HandledByStore])).0,
            "Delivered to all 2"
        );
        assert_eq!(
            outcome(&sent_with(&[R::Delivered, R::Failed, R::Delivered])).0,
            "Partly delivered: 2 of 3 (1 failed)"
        );
        assert_eq!(outcome(&sent_with(&[R::NoTransport])).0, "Failed");
        assert_eq!(
            outcome(&sent_with(&[R::Failed, R::NoTransport])),
            ("Failed: none of 2".into(), Tone::Bad)
        );
        assert_eq!(
            outcome(&sent_with(&[R::Delivered, R::OutcomeUnknown])).0,
            "Outcome unknown for 1 of 2"
        );
        assert_eq!(outcome(&sent_with(&[])).0, "No recipients");
    }

    #[test]
    fn every_folder_shows_its_own_columns_each_sortable_once() {
        for kind in [
            None,
            Some(FolderKind::Outbox),
            Some(FolderKind::Inbox),
            Some(FolderKind::SentItems),
            Some(FolderKind::DeletedItems),
            Some(FolderKind::User),
        ] {
            let cols = of(kind);
            assert!(cols.contains(&default_sort(kind)), "{kind:?}");
            for (i, c) in cols.iter().enumerate() {
                assert!(!cols[i + 1..].contains(c), "{kind:?}: {c:?} twice");
            }
        }
        assert!(!of(Some(FolderKind::Inbox)).contains(&SortKey::Retry));
    }
}
