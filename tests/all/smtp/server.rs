//! The test SMTP server (aiosmtpd with `tests/fixtures/smtp_server.py`) and where to find Python.

use super::*;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python that has aiosmtpd and mail-parser: `SPOOLBOX_TEST_PYTHON`, else the venv
/// scripts/test.sh makes where pip refuses the system Python, else `python3`.
pub(crate) fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SPOOLBOX_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join("target/smtp-venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running aiosmtpd, killed when dropped (and stopping by itself after 5 minutes, or when
/// this process goes away and its stdin closes).
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) log: PathBuf,
    pub(crate) _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Self {
        Self::start_on(0, args)
    }

    pub(crate) fn start_on(port: u16, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.jsonl");
        let py = python();
        let spawned = Proc::new(&py)
            .arg(repo().join("tests/fixtures/smtp_server.py"))
            .args(["--port", &port.to_string(), "--max-seconds", "300"])
            .arg("--log")
            .arg(&log)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = spawned.unwrap_or_else(|e| {
            panic!(
                "cannot run {} for the test SMTP server: {e}. scripts/test.sh installs python3 and aiosmtpd",
                py.display()
            )
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Some(bound) = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse::<u16>().ok())
        else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the test SMTP server (aiosmtpd, {}) did not start: {line:?}\n{}\nscripts/test.sh installs python3 and aiosmtpd",
                py.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Self {
            child,
            port: bound,
            log,
            _dir: dir,
        }
    }

    pub(crate) fn records(&self, event: &str) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["event"] == event)
            .collect()
    }

    /// Every message the server accepted (250 after the dot, or dropped after it).
    pub(crate) fn messages(&self) -> Vec<Value> {
        self.records("message")
    }

    /// Waits (up to 20 s) until the server has accepted `n` recipients in all.
    pub(crate) fn wait_for_rcpts(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.records("rcpt").len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The subjects of the messages accepted, in order.
    pub(crate) fn subjects(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Connections (the first EHLO of each; the client asks again to learn the keywords
    /// lettre does not keep).
    pub(crate) fn connections(&self) -> usize {
        self.records("ehlo")
            .iter()
            .filter(|v| v["again"] == false)
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn rcpts(m: &Value) -> Vec<String> {
    m["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}
