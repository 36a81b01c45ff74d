//! Events about state that is not durable yet, held until it is (see `Spooler::emit`).
//!
//! They are kept as runs: consecutive events about one message form one run, so releasing
//! looks at each run once (a step's burst of events), not at each event, and asks the store
//! once per run whether its message is durable. Released runs leave in the order their events
//! were emitted; events about one message never overtake each other.

use crate::mapi::{EntryId, IdMap};

use super::Event;

#[derive(Default)]
pub(super) struct Held {
    /// Runs in emission order.
    runs: Vec<(EntryId, Vec<Event>)>,
    /// How many runs each message has in `runs`.
    counts: IdMap<u32>,
}

impl Held {
    pub(super) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// True while events about `eid` wait (a later one must wait too, to keep their order).
    pub(super) fn holds(&self, eid: EntryId) -> bool {
        self.counts.contains_key(&eid)
    }

    pub(super) fn push(&mut self, eid: EntryId, e: Event) {
        match self.runs.last_mut() {
            Some((last, run)) if *last == eid => run.push(e),
            _ => {
                self.runs.push((eid, vec![e]));
                *self.counts.entry(eid).or_default() += 1;
            }
        }
    }

    /// Moves the events of every message for which `durable` says true into `out`, in the
    /// order they were emitted; the others keep waiting.
    pub(super) fn release(
        &mut self,
        mut durable: impl FnMut(EntryId) -> bool,
        out: &mut Vec<Event>,
    ) {
        let mut decided: IdMap<bool> = IdMap::default();
        let counts = &mut self.counts;
        self.runs.retain_mut(|(eid, run)| {
            let go = *decided.entry(*eid).or_insert_with(|| durable(*eid));
            if go {
                out.append(run);
                if let Some(n) = counts.get_mut(eid) {
                    *n -= 1;
                    if *n == 0 {
                        counts.remove(eid);
                    }
                }
            }
            !go
        });
    }

    /// Forgets every event about the messages in `gone`.
    pub(super) fn forget(&mut self, gone: &[EntryId]) {
        self.runs.retain(|(eid, _)| !gone.contains(eid));
        for eid in gone {
            self.counts.remove(eid);
        }
    }

    /// Every held event, in order; nothing is held afterwards.
    pub(super) fn take_all(&mut self) -> impl Iterator<Item = Event> {
        self.counts.clear();
        std::mem::take(&mut self.runs)
            .into_iter()
            .flat_map(|(_, run)| run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(eid: u64, n: u64) -> Event {
        Event::Notice(format!("{eid}:{n}"))
    }

    fn texts(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Notice(t) => t.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn released_runs_keep_the_order_of_emission_and_the_rest_wait() {
        let mut h = Held::default();
        for (eid, n) in [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (2, 2)] {
            h.push(EntryId(eid), ev(eid, n));
        }
        let mut out = Vec::new();
        let mut asked = Vec::new();
        h.release(
            |eid| {
                asked.push(eid.0);
                eid.0 != 2
            },
            &mut out,
        );
        assert_eq!(texts(&out), ["1:1", "1:2", "1:3", "3:1"]);
        // Each message is asked about once per release, not once per run or event.
        assert_eq!(asked, [1, 2, 3]);
        assert!(!h.holds(EntryId(1)) && !h.holds(EntryId(3)));
        assert!(h.holds(EntryId(2)));
        h.push(EntryId(2), ev(2, 3));
        let all: Vec<Event> = h.take_all().collect();
        assert_eq!(texts(&all), ["2:1", "2:2", "2:3"]);
        assert!(h.is_empty() && !h.holds(EntryId(2)));
    }

    #[test]
    fn forgotten_messages_lose_their_events_and_stop_being_held() {
        let mut h = Held::default();
        for (eid, n) in [(1, 1), (2, 1), (1, 2)] {
            h.push(EntryId(eid), ev(eid, n));
        }
        h.forget(&[EntryId(1)]);
        assert!(!h.holds(EntryId(1)));
        let all: Vec<Event> = h.take_all().collect();
        assert_eq!(texts(&all), ["2:1"]);
    }
}
