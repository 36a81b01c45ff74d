//! Issue 16, "one bad message never stops the queue", through the real binary: a poison
//! message (a display name whose encoded word holds a line feed, which made lettre panic on
//! every render) beside ten good ones, an import of an endless file, a password typed on a
//! terminal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::store::fast_tempdir;

/// The message of the issue: `To: =?UTF-8?B?QQpC?=` is "A\nB".
pub const POISON: &str =
    "From: t@x.test\nTo: =?UTF-8?B?QQpC?= <alice@example.com>\nSubject: poison\n\nb\n";

/// The binary under test; `SPOOLBOX_TEST_BIN` names another (an older build, to see these
/// tests fail without the fixes).
pub fn binary() -> PathBuf {
    std::env::var_os("SPOOLBOX_TEST_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_spoolbox")),
        PathBuf::from,
    )
}

/// Runs the binary on `store`, killed after `limit` (a hang is a failure, not a stuck test).
pub fn run_bounded(store: &Path, args: &[&str], env: &[(&str, &Path)], limit: Duration) -> Output {
    let mut c = Command::new(binary());
    c.arg("--store")
        .arg(store)
        .args(args)
        .env_remove("SPOOLBOX_FAILPOINT")
        .env_remove("SPOOLBOX_LOG")
        // Never the user's own keyring: passwords go to the test's credentials file.
        .env("SPOOLBOX_KEYRING", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "spoolbox {args:?} still running after {limit:?} (hung); stderr so far: {}",
                String::from_utf8_lossy(&e.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    }
}

/// Exit 0, or the output in the panic.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Imports the poison message and ten good ones, each submitted, in that order (so the poison
/// comes first in the queue).
pub fn import_poison_and_ten(dir: &Path, store: &Path, env: &[(&str, &Path)]) {
    let p = dir.join("p.eml");
    std::fs::write(&p, POISON).unwrap();
    ok(&run_bounded(
        store,
        &["import", p.to_str().unwrap(), "--submit"],
        env,
        Duration::from_mins(1),
    ));
    for i in 0..10 {
        let g = dir.join(format!("good{i}.eml"));
        std::fs::write(
            &g,
            format!("From: t@x.test\nTo: Good {i} <good{i}@example.com>\nSubject: good {i}\n\nhello {i}\n"),
        )
        .unwrap();
        ok(&run_bounded(
            store,
            &["import", g.to_str().unwrap(), "--submit"],
            env,
            Duration::from_mins(1),
        ));
    }
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_poison_message_beside_ten_good_ones_all_go_out_through_the_pickup_folder() {
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    import_poison_and_ten(dir.path(), &store, &[]);
    let out = ok(&run_bounded(
        &store,
        &["send", "--all"],
        &[],
        Duration::from_mins(2),
    ));
    // (A new store holds the demo messages too; some go out through the pickup folder.)
    let files = eml_files(&store.join("pickup"));
    let mut names = Vec::new();
    let mut subjects = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let subject = m.subject().unwrap_or_default().to_owned();
        if subject != "poison" && !subject.starts_with("good ") {
            continue;
        }
        subjects.push(subject);
        let to = m.to().unwrap().first().unwrap();
        let name = to.name().unwrap_or_default().to_owned();
        assert!(
            !name.contains(['\r', '\n']),
            "a control character reached the file: {name:?}"
        );
        names.push(name);
    }
    assert_eq!(subjects.len(), 11, "{out}\n{subjects:?}");
    assert!(names.iter().any(|n| n == "A B"), "{names:?}");
}

#[test]
fn import_of_an_endless_file_reads_only_past_the_cap_and_says_it_is_too_large() {
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let t0 = Instant::now();
    // Before the fix the whole "file" was read first: memory grew until it ran out. A regular
    // file past the cap (sparse: 1 GiB of nothing) is read only one byte past it...
    let big = dir.path().join("big.eml");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(1 << 30))
        .unwrap();
    let o = run_bounded(
        &store,
        &["import", big.to_str().unwrap()],
        &[],
        Duration::from_mins(1),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("larger than 64 MiB"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    // ... and an endless device is not a file to import at all (issue 27: nor is a FIFO,
    // whose open blocked): refused at once, saying what it is.
    #[cfg(unix)]
    {
        let o = run_bounded(
            &store,
            &["import", "/dev/zero"],
            &[],
            Duration::from_mins(1),
        );
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("/dev/zero") && err.contains("not a regular file"),
            "{err}"
        );
    }
}

#[test]
fn set_password_on_a_terminal_does_not_echo_it() {
    // A pseudo-terminal (Python's pty): what the terminal shows is what the user would see.
    if Command::new("python3")
        .args(["-c", "import pty"])
        .status()
        .map_or(true, |s| !s.success())
    {
        panic!("python3 with pty is needed; scripts/test.sh installs it");
    }
    let dir = fast_tempdir();
    let store = dir.path().join("store");
    let cfg = dir.path().join("config");
    let env = [("XDG_CONFIG_HOME", cfg.as_path())];
    ok(&run_bounded(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            "2525",
            "--user",
            "alice",
        ],
        &env,
        Duration::from_mins(1),
    ));
    let script = r#"
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
deadline = time.time() + 30
sent = False
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if not sent and (b"assword" in seen or time.time() > deadline - 25):
        time.sleep(0.3)
        os.write(fd, b"hunter2secret\n")
        sent = True
os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
"#;
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(binary())
        .arg("--store")
        .arg(&store)
        .args(["profile", "set-password"])
        .env("XDG_CONFIG_HOME", &cfg)
        .env("SPOOLBOX_KEYRING", "off")
        .env_remove("SPOOLBOX_LOG")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("stored"), "{shown}");
    assert!(
        !shown.contains("hunter2secret"),
        "the password was echoed on the terminal: {shown}"
    );
    let shown = ok(&run_bounded(
        &store,
        &["profile"],
        &env,
        Duration::from_mins(1),
    ));
    assert!(shown.contains("password: stored"), "{shown}");
}
