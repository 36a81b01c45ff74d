//! The harness every whole-app test starts from: the app on a store, stepping until a
//! condition holds, and lookups.

use super::*;

pub(crate) fn app(dir: &Path) -> Harness<'static, SpoolboxApp> {
    let dir = dir.to_path_buf();
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SpoolboxApp::new(cc, dir, false))
}

/// Steps frames until `pred` holds (the worker runs on its own thread), or fails the test.
pub(crate) fn step_until(
    h: &mut Harness<'_, SpoolboxApp>,
    what: &str,
    pred: impl Fn(&SpoolboxApp) -> bool,
) {
    let start = Instant::now();
    loop {
        h.step();
        if pred(h.state()) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for: {what}; errors: {:?}",
            h.state().model.errors
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn eid_of(app: &SpoolboxApp, subject: &str) -> Option<EntryId> {
    app.model
        .summaries
        .values()
        .find(|s| s.subject == subject)
        .map(|s| s.eid)
}

/// The folder of the outgoing message with this subject (local EX deliveries in Inbox share
/// the subject, so Inbox copies are skipped unless nothing else has it).
pub(crate) fn folder_of(app: &SpoolboxApp, subject: &str) -> Option<FolderKind> {
    let kinds: Vec<FolderKind> = app
        .model
        .summaries
        .values()
        .filter(|s| s.subject == subject)
        .filter_map(|s| {
            app.model
                .folders
                .iter()
                .find(|f| f.entry_id == s.folder)
                .map(|f| f.kind)
        })
        .collect();
    kinds
        .iter()
        .copied()
        .find(|k| *k != FolderKind::Inbox)
        .or(kinds.first().copied())
}

pub(crate) fn loaded(h: &mut Harness<'_, SpoolboxApp>) {
    step_until(h, "the demo store to load", |a| {
        eid_of(a, "Quarterly report").is_some()
    });
    h.run_steps(2);
}
