//! Issue 27: a `store.json` whose profile holds a value out of range opens with sending held,
//! and the status bar says so, naming the file, the field and the value; saving a good
//! profile in Settings lifts it.

use super::*;

#[test]
fn the_status_bar_shows_why_sending_is_held() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    drop(spoolbox::spooler::demo::open(&root).unwrap());
    let path = root.join("store.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["profile"]["transports"][0]["kind"]["port"] = 70_000.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let mut h = app(&root);
    loaded(&mut h);
    let want = "Sending held: store.json: profile.transports[0].kind.port = 70000";
    let start = Instant::now();
    while h.query_by_label_contains(want).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the status bar never said: {want}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    // Resume does not send: the hold is not the user's pause.
    h.get_by_label("Resume").click();
    h.run_steps(5);
    assert!(h.query_by_label_contains(want).is_some());
    assert_ne!(
        folder_of(h.state(), "Quarterly report"),
        Some(FolderKind::SentItems)
    );
}
