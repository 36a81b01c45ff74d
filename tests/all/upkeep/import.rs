//! `import --submit` killed (SIGKILL) at instants spread over its run, at least 50 times, then
//! every file imported again: each message exists once, and the pickup transport gets each
//! once (nothing submitted twice, no orphan draft left).

use std::time::Instant;

use super::{eml, files_under};
use crate::cli::{by_subject, list, ok, spoolbox};

const FILES: usize = 10;
const KILLS: usize = 50;

#[test]
fn import_submit_killed_50_times_then_again_makes_each_message_once() {
    let dir = crate::store::fast_tempdir();
    let store = dir.path().join("store");
    ok(&spoolbox(&store, &["list"]));
    let files: Vec<_> = (0..FILES)
        .map(|i| {
            let f = dir.path().join(format!("imp{i}.eml"));
            let to = format!("user{i}@example.com");
            std::fs::write(&f, eml(&format!("imp {i}"), &to, "hello")).unwrap();
            f
        })
        .collect();
    let bin = env!("CARGO_BIN_EXE_spoolbox");
    let run = |f: &std::path::Path| {
        std::process::Command::new(bin)
            .arg("--store")
            .arg(&store)
            .args(["import", "--submit"])
            .arg(f)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long one import takes here: the kills are spread over that.
    let t = Instant::now();
    let status = run(&files[0]).wait().unwrap();
    assert!(status.success());
    let span = t.elapsed();
    let (mut kills, mut round) = (0, 0);
    while kills < KILLS {
        assert!(round < 2_000, "only {kills} kills landed in {round} runs");
        let mut child = run(&files[round % FILES]);
        let delay = span.mul_f64(f64::from(u32::try_from(round % 23).unwrap()) / 23.0);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        round += 1;
    }
    for f in &files {
        ok(&spoolbox(
            &store,
            &["import", "--submit", f.to_str().unwrap()],
        ));
    }
    ok(&spoolbox(&store, &["send", "--all"]));
    let rows = list(&store);
    for i in 0..FILES {
        let subject = format!("imp {i}");
        let copies = by_subject(&rows, &subject);
        assert_eq!(copies.len(), 1, "{subject}: {copies:#?}");
        let delivered = files_under(&store.join("pickup"))
            .iter()
            .filter(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .contains(&format!("Subject: {subject}\r\n"))
            })
            .count();
        assert_eq!(delivered, 1, "{subject} handed to the pickup folder once");
    }
    eprintln!("{kills} kills in {round} runs of import --submit ({span:?} each)");
}
