//! SMTP: the same crashes against a real server on loopback, deliveries counted in its log.

use super::*;

/// The other suite's test SMTP server (`tests/fixtures/smtp_server.py`, aiosmtpd), started on
/// a free port; it logs every accepted message as a JSON line.
pub(crate) struct SmtpServer {
    child: std::process::Child,
    pub(crate) port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub(crate) fn start() -> Self {
        use std::io::BufRead as _;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.jsonl");
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let venv = repo.join("target/smtp-venv/bin/python3");
        let py = std::env::var_os("SPOOLBOX_TEST_PYTHON").map_or_else(
            || {
                if venv.exists() {
                    venv
                } else {
                    PathBuf::from("python3")
                }
            },
            PathBuf::from,
        );
        let mut child = Command::new(&py)
            .arg(repo.join("tests/fixtures/smtp_server.py"))
            .args(["--port", "0", "--max-seconds", "600", "--log"])
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{}: {e} (scripts/test.sh installs aiosmtpd)", py.display())
            });
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the test SMTP server did not start: {line:?}"));
        Self {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// `(subject, recipient)` of every delivery logged after line `from`.
    pub(crate) fn deliveries(&self, from: usize) -> Vec<(String, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .skip(from)
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["event"] == "message")
            .flat_map(|v| {
                let subject = v["subject"].as_str().unwrap_or_default().to_owned();
                v["rcpt_tos"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |r| (subject.clone(), r.as_str().unwrap_or_default().to_owned()))
            })
            .collect()
    }

    pub(crate) fn lines(&self) -> usize {
        std::fs::read_to_string(&self.log).map_or(0, |t| t.lines().count())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn smtp_crashes_deliver_every_recipient_and_duplicate_only_what_was_in_flight() {
    let t0 = Instant::now();
    let base = seed("smtp_crash");
    let mut rng = Rng::new(base);
    let runs = env_count("SPOOLBOX_CRASH_RUNS", 75) * 2 / 5;
    let server = SmtpServer::start();
    let from = server.lines();
    let t = Template::new(Setup::Smtp(server.port), MESSAGES, &mut rng);
    // The template's own clean run delivered each recipient exactly once.
    let clean = server.deliveries(from);
    let want: usize = t.specs.iter().map(|s| s.smtp_rows.len()).sum();
    assert_eq!(clean.len(), want, "clean run: {clean:?}");
    let list = fail_point_list(&t);
    let start = Instant::now();
    let d = t.copy();
    assert!(run(&d.path().join("store"), None).status.success());
    let span = start.elapsed();
    let (mut crashes, mut duplicated, mut cases) = (0, 0, 0);
    while crashes < runs {
        cases += 1;
        let dir = t.copy();
        let root = dir.path().join("store");
        let before = server.lines();
        let mut hits = 0;
        let how = if cases % 2 == 0 {
            let k = rng.below(list.len() as u64) as usize;
            let name = &list[k];
            let nth = list[..=k].iter().filter(|n| *n == name).count();
            let spec = format!("{name}:{nth}");
            let o = run(&root, Some(&spec));
            assert!(!o.status.success(), "{spec}: did not crash: {}", text(&o));
            hits += 1;
            format!("fail point {spec}")
        } else {
            let delay = Duration::from_micros(rng.below(span.as_micros() as u64 + 1));
            let mut child = command(&root, None)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            let _ = child.kill();
            if !child.wait().unwrap().success() {
                hits += 1;
            }
            format!("SIGKILL after {delay:?}")
        };
        crashes += hits;
        let label = format!("SMTP, {how}, case {cases}, seed {base}");
        finish(&root, &label);
        t.check(&root, &label);
        // At the server: every recipient at least once; a second copy only for the one
        // hand-off that was in flight at the crash (one message, its rows, once).
        let got = server.deliveries(before);
        let mut count: BTreeMap<(String, String), usize> = BTreeMap::new();
        for k in got {
            *count.entry(k).or_default() += 1;
        }
        for s in &t.specs {
            for row in &s.smtp_rows {
                let rcpt = format!(
                    "rcpt{row}.m{}@example.org",
                    &s.subject[s.subject.rfind(' ').unwrap() + 1..]
                );
                assert!(
                    count.contains_key(&(s.subject.clone(), rcpt.clone())),
                    "{label}: {rcpt} of {:?} never delivered",
                    s.subject
                );
            }
        }
        let twice: BTreeSet<&String> = count
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((s, _), _)| s)
            .collect();
        assert!(count.values().all(|n| *n <= 2), "{label}: {count:?}");
        assert!(
            twice.len() <= hits,
            "{label}: {} messages sent twice after {hits} crash(es): {twice:?}",
            twice.len()
        );
        duplicated += twice.len();
    }
    eprintln!(
        "smtp_crash: {crashes} crashes in {cases} cases in {:.1} s; {duplicated} hand-offs in flight at a crash were sent again",
        t0.elapsed().as_secs_f64()
    );
}
