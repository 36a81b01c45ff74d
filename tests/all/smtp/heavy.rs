//! The pickup folder renders and writes a heavy message off the spooler's thread.

use super::*;

#[test]
fn a_heavy_message_goes_to_the_pickup_folder_off_the_spoolers_thread_and_once() {
    let mut profile = smtp_profile("127.0.0.1", 1);
    profile.transports.retain(|t| t.name == "Pickup folder");
    let mut r = Rig::new(profile);
    // A light message is handed off at once, on the spooler's thread, as before.
    let light = r.submit("Light", &["ann@example.com"]);
    let mut saw_background = false;
    for _ in 0..50 {
        r.sp().tick();
        saw_background |= r.sp().handoff_under_way();
    }
    r.run();
    assert!(!saw_background, "a light message needs no thread");
    assert_eq!(r.folder_name(light), "Sent Items");
    // A heavy one (6 MB of body) is rendered and written on the transport's thread: the
    // spooler's Transmit step comes back at once with the hand-off under way.
    let heavy = r.submit("Heavy", &["ann@example.com", "bob@example.com"]);
    {
        let store = r.sp().store_mut();
        let mut m = store.load(heavy).unwrap();
        m.body = "A line of a long report, seventy-odd characters wide, again and again.\n"
            .repeat(6 << 20 >> 6);
        store.save(&mut m).unwrap();
    }
    let mut saw_background = false;
    for _ in 0..200 {
        r.sp().tick();
        if r.sp().handoff_under_way() {
            saw_background = true;
            break;
        }
    }
    assert!(
        saw_background,
        "the heavy hand-off went to the transport's thread"
    );
    r.run();
    assert_eq!(r.folder_name(heavy), "Sent Items");
    assert_eq!(
        r.outcomes(heavy),
        [RecipientState::Delivered, RecipientState::Delivered]
    );
    // Exactly one file for it in the pickup folder, with the whole body.
    let pickup = r.root().join("pickup");
    let files: Vec<PathBuf> = std::fs::read_dir(&pickup)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "eml")
                && std::fs::read(p)
                    .is_ok_and(|b| String::from_utf8_lossy(&b).contains("Subject: Heavy"))
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 6_000_000);
    // Nothing is handed off again, however long the spooler runs.
    r.advance(7 * 24 * 3600);
    r.run();
    assert_eq!(std::fs::read_dir(&pickup).unwrap().count(), 2);
}
