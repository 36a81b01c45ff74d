//! Issue 27: a `store.json` whose profile holds a value out of range opens with sending held,
//! and the status bar says so, naming the file, the field and the value; saving the Profile
//! form lifts it.

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
    // The Profile form shows what of the profile reads (the port at its default) and saves
    // it as it is: that lifts the hold, and the old store.json is kept in quarantine/.
    h.get_by_label("Profile…").click();
    h.run_steps(3);
    h.get_by_label_contains("Sending is held until a good profile is saved");
    h.get_by_label("Save profile").click();
    let start = Instant::now();
    while h.query_by_label_contains("Sending held:").is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "saving the form never lifted the hold"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["profile"]["transports"][0]["kind"]["port"], 25);
    assert_eq!(
        v["profile"]["sender_name"], "Ada Demo",
        "the rest is as it was"
    );
    let kept = std::fs::read_dir(root.join("quarantine"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("store-"))
        .count();
    assert_eq!(kept, 2, "the old store.json and its .why");
}
