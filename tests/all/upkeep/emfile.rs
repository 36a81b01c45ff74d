//! `spoolbox send --all` with few open files allowed (`ulimit -n 32`, and 16 and 12, where the
//! debug build's smaller group commits run out as surely as the release build's do at 32):
//! running out of file descriptors is a local, passing condition: the send pauses and tries
//! again, no message fails and nothing is left unfiled for it, and every message goes.

use super::{eml, files_under};
use crate::cli::{list, ok, output_of, spoolbox, stderr, stdout};

const MESSAGES: usize = 60;

#[test]
fn send_all_under_ulimit_n_32_pauses_and_retries_instead_of_failing_each_message() {
    let dir = crate::store::fast_tempdir();
    let store = dir.path().join("store");
    ok(&spoolbox(&store, &["list"]));
    for i in 0..MESSAGES {
        let f = dir.path().join(format!("m{i}.eml"));
        let to = format!("user{i}@example.com");
        std::fs::write(&f, eml(&format!("fd {i}"), &to, "hello")).unwrap();
        ok(&spoolbox(
            &store,
            &["import", "--submit", f.to_str().unwrap()],
        ));
    }
    let bin = env!("CARGO_BIN_EXE_spoolbox");
    for limit in [32, 16, 12] {
        let run = dir.path().join(format!("run{limit}"));
        crate::store::copy_dir(&store, &run);
        let o = output_of(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "ulimit -n {limit}; exec \"$0\" --store \"$1\" send --all"
                ))
                .arg(bin)
                .arg(&run),
        );
        let err = stderr(&o);
        let out = stdout(&o);
        // The one pause notice names the error it waits out; no other line may (a message
        // failed, or left unfiled, for it).
        let failed: Vec<&str> = out
            .lines()
            .chain(err.lines())
            .filter(|l| l.contains("Too many open files") && !l.contains("out of file descriptors"))
            .collect();
        assert!(
            failed.is_empty(),
            "ulimit -n {limit}: no message fails for it, nothing is left unfiled:\n{failed:#?}\n{err}"
        );
        assert!(
            o.status.success(),
            "ulimit -n {limit}: {}\n{err}",
            stdout(&o)
        );
        let said = stdout(&o).matches("out of file descriptors").count();
        assert!(said <= 1, "said once, not once per message: {said} times");
        let rows = list(&run);
        let pending: Vec<_> = rows
            .iter()
            .filter(|r| r["subject"].as_str().is_some_and(|s| s.starts_with("fd ")))
            .filter(|r| r["state"] != "Sent")
            .collect();
        assert!(
            pending.is_empty(),
            "ulimit -n {limit}: every message went: {pending:#?}\n{err}"
        );
        let delivered = files_under(&run.join("pickup"))
            .iter()
            .filter(|p| std::fs::read_to_string(p).unwrap().contains("Subject: fd "))
            .count();
        assert_eq!(delivered, MESSAGES, "ulimit -n {limit}: {err}");
    }
}
