//! The SMTP benchmark (`spoolbox bench smtp --messages 1000`), never part of the tests:
//! N messages × 3 recipients through the real SMTP transport to Postfix's `smtp-sink` on
//! loopback, each recipient's mark made durable after its hand-off, against Postfix's own
//! load generator `smtp-source -m N -r 3` to the same sink in the same run, and against a
//! loop of `msmtp` invocations (one process per message, as a cron job or script would).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use jiff::{SignedDuration, Timestamp};

use crate::mapi::{Message, RecipientState};
use crate::profile::{Profile, SmtpSettings, TlsMode, TransportConfig, TransportKind};
use crate::spooler::{Clock, Command, Spooler, submit};
use crate::store::{FolderKind, Store};

const SINK: &str = "/usr/sbin/smtp-sink";
const SOURCE: &str = "/usr/sbin/smtp-source";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

/// `smtp-sink` on a free loopback port; killed on drop.
pub(crate) struct Sink {
    child: Child,
    pub(crate) port: u16,
}

impl Sink {
    pub(crate) fn start() -> Result<Self> {
        let port = free_port()?;
        let mut c = Proc::new(SINK);
        if is_root() {
            // smtp-sink drops root after binding; it insists on being told to whom.
            c.args(["-u", "nobody"]);
        }
        let child = c
            .arg(format!("127.0.0.1:{port}"))
            .arg("1000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {SINK}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(
                Instant::now() < deadline,
                "{SINK} did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { child, port })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn profile(port: u16) -> Profile {
    Profile {
        sender_name: "Bench".into(),
        sender_address: "bench@spoolbox.test".into(),
        transports: vec![TransportConfig::new(
            "SMTP",
            TransportKind::Smtp(SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                tls: TlsMode::None,
                username: None,
                timeout_secs: 30,
                ..SmtpSettings::default()
            }),
            &["SMTP"],
        )],
        coupled_addrtypes: Vec::new(),
        ..Profile::default()
    }
}

/// Submits `n` messages (untimed), then times the spooler sending all of them to the sink.
/// Returns the seconds and the fsyncs per message of the timed part.
fn spoolbox_run(dir: &Path, port: u16, n: usize) -> Result<(f64, f64)> {
    let _ = std::fs::remove_dir_all(dir);
    let (mut store, _) = Store::open(dir)?;
    store.set_profile(profile(port))?;
    let t0 = Timestamp::now();
    for i in 0..n {
        let mut m = crate::bench::sample(&mut store, i)?;
        store.save(&mut m)?;
        let at = t0 + SignedDuration::from_micros(i64::try_from(i).unwrap_or(0));
        submit::submit_message(&mut store, m.entry_id, at)?;
    }
    let mut sp = Spooler::new(store, Clock::system());
    let events = crate::bench::consume_events(&mut sp)?;
    sp.handle(Command::Resume);
    crate::durable::fs::sync_file_system(dir)?;
    let f0 = crate::durable::fs::fsync_count();
    let t = Instant::now();
    sp.run_until_idle();
    let secs = t.elapsed().as_secs_f64();
    let fsyncs = (crate::durable::fs::fsync_count() - f0) as f64 / n.max(1) as f64;
    let sent_items = sp.store().folder_of(FolderKind::SentItems);
    let mut delivered = 0;
    let ids: Vec<_> = sp
        .store()
        .summaries()
        .filter(|s| s.folder == sent_items)
        .map(|s| s.eid)
        .collect();
    for eid in ids {
        let m = sp.store_mut().load(eid)?;
        delivered += m
            .recipients
            .iter()
            .filter(|r| r.outcome == RecipientState::Delivered)
            .count();
    }
    ensure!(
        delivered == 3 * n,
        "only {delivered} of {} recipients were delivered",
        3 * n
    );
    drop(sp);
    let told = events.join().unwrap_or(0);
    ensure!(told >= 8 * n as u64, "only {told} events for {n} messages");
    let _ = std::fs::remove_dir_all(dir);
    Ok((secs, fsyncs))
}

/// The SMTP transport alone: `n` hand-offs straight to `submit_message`, no store at all.
fn transport_only(port: u16, n: usize, dir: &Path) -> Result<f64> {
    std::fs::create_dir_all(dir)?;
    let p = profile(port);
    let mut transports = crate::transport::from_profile(&p);
    let t = transports
        .first_mut()
        .context("the benchmark profile has a transport")?;
    let msgs: Vec<Message> = (0..n)
        .map(|i| {
            crate::bench::sample_message(
                crate::mapi::EntryId(u64::try_from(i).unwrap_or(0) + 1),
                crate::mapi::EntryId(1),
                i,
            )
        })
        .collect();
    let start = Instant::now();
    for m in &msgs {
        let view = crate::transport::SubmitView {
            msg: m,
            rows: vec![0, 1, 2],
            begin_deferred: false,
            sender: (p.sender_name.clone(), p.sender_address.clone()),
            deliver_for_real: false,
            // Its own folder: the sent copies go there, never into the working directory.
            store_root: dir.to_path_buf(),
            gate: None,
        };
        let h = t.submit_message(&view);
        let delivered = h
            .outcomes
            .iter()
            .filter(|(_, o)| matches!(o, crate::transport::RowOutcome::Delivered(_)))
            .count();
        ensure!(delivered == 3, "a hand-off ended {h:?}");
    }
    Ok(start.elapsed().as_secs_f64())
}

fn smtp_source(port: u16, n: usize, reuse: bool) -> Result<f64> {
    let mut c = Proc::new(SOURCE);
    if reuse {
        c.arg("-d");
    }
    let t = Instant::now();
    let out = c
        .args(["-m", &n.to_string(), "-r", "3"])
        .args(["-f", "bench@spoolbox.test", "-t", "rcpt@example.com"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .with_context(|| format!("running {SOURCE}"))?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "{SOURCE} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(secs)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// msmtp, installed from Debian if missing and possible.
fn msmtp() -> Option<PathBuf> {
    if let Some(p) = which("msmtp") {
        return Some(p);
    }
    if is_root() && which("apt-get").is_some() {
        println!("msmtp is missing: installing the Debian package msmtp ...");
        let ok = Proc::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", "msmtp"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return which("msmtp");
        }
    }
    None
}

fn msmtp_loop(msmtp: &Path, port: u16, n: usize, dir: &Path) -> Result<f64> {
    std::fs::create_dir_all(dir)?;
    let conf = dir.join("msmtprc");
    std::fs::write(
        &conf,
        format!(
            "defaults\nauth off\ntls off\nlogfile -\naccount bench\nhost 127.0.0.1\nport {port}\nfrom bench@spoolbox.test\naccount default : bench\n"
        ),
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600))?;
    }
    let body = format!(
        "From: Bench <bench@spoolbox.test>\r\nSubject: Benchmark message\r\n\r\n{}\r\n",
        "Lorem ipsum dolor sit amet. ".repeat(8)
    );
    let t = Instant::now();
    for i in 0..n {
        let mut child = Proc::new(msmtp)
            .arg("-C")
            .arg(&conf)
            .args([
                format!("r0.{i}@example.com"),
                format!("r1.{i}@example.com"),
                format!("r2.{i}@example.com"),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("running msmtp")?;
        if let Some(mut s) = child.stdin.take() {
            s.write_all(body.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "msmtp failed on message {i}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Runs the SMTP benchmark and prints the figures.
///
/// # Errors
/// Postfix's tools missing, a sink that does not start, or a run that did not deliver all.
pub fn run(messages: usize, runs: usize, dir: Option<&Path>) -> Result<()> {
    if !Path::new(SINK).exists() || !Path::new(SOURCE).exists() {
        bail!(
            "{SINK} and {SOURCE} come with Postfix: apt-get install postfix (scripts/test.sh installs it)"
        );
    }
    let base = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("spoolbox-bench-smtp-{}", std::process::id())),
    };
    std::fs::create_dir_all(&base)?;
    if dir.is_none() {
        // Never the user's default store: a folder of its own, said where, removed after.
        println!(
            "bench: working in {} (temporary, removed at the end; --store DIR keeps it)",
            base.display()
        );
    }
    let runs = runs.max(1);
    let n = messages;
    let sink = Sink::start()?;
    println!("durability: {}", crate::durable::fs::group_sync_path());
    println!(
        "smtp: {n} messages x 3 recipients to smtp-sink on 127.0.0.1:{} (median of {runs} runs each)",
        sink.port
    );
    // tmpfs, where an fsync costs next to nothing: what the pipeline costs besides the disk.
    let shm = Path::new("/dev/shm");
    let mut ours = Vec::new();
    let mut fsyncs = 0.0;
    let mut ours_shm = Vec::new();
    let mut alone = Vec::new();
    let mut source = Vec::new();
    let mut source_reuse = Vec::new();
    for i in 0..runs {
        let (secs, f) = spoolbox_run(&base.join(format!("smtp-{i}")), sink.port, n)?;
        ours.push(secs);
        fsyncs = f;
        if shm.is_dir() {
            let d = shm.join(format!("spoolbox-bench-smtp-{}-{i}", std::process::id()));
            ours_shm.push(spoolbox_run(&d, sink.port, n)?.0);
        }
        alone.push(transport_only(
            sink.port,
            n,
            &base.join(format!("alone-{i}")),
        )?);
        source.push(smtp_source(sink.port, n, false)?);
        source_reuse.push(smtp_source(sink.port, n, true)?);
    }
    let ours = median(ours);
    let alone = median(alone);
    let source = median(source);
    let source_reuse = median(source_reuse);
    let rate = |s: f64| n as f64 / s;
    println!(
        "  spoolbox (SMTP transport, one connection, full durability):          {ours:.3} s ({:.0} msg/s); {fsyncs:.2} fsyncs/message",
        rate(ours)
    );
    if !ours_shm.is_empty() {
        let s = median(ours_shm);
        println!(
            "  the same with the store on tmpfs (fsync ~free; not durable):        {s:.3} s ({:.0} msg/s); ratio to smtp-source {:.2}",
            rate(s),
            s / source
        );
    }
    println!(
        "  the SMTP transport alone (submit_message, no store):                 {alone:.3} s ({:.0} msg/s); ratio to smtp-source {:.2}",
        rate(alone),
        alone / source
    );
    println!(
        "  smtp-source -m {n} -r 3 (a new connection per message):              {source:.3} s ({:.0} msg/s); ratio spoolbox/smtp-source {:.2} (target <= 1.5)",
        rate(source),
        ours / source
    );
    println!(
        "  smtp-source -d -m {n} -r 3 (one connection, nothing written to disk): {source_reuse:.3} s ({:.0} msg/s); ratio {:.2}",
        rate(source_reuse),
        ours / source_reuse
    );
    let skip = std::env::var_os("SPOOLBOX_BENCH_SKIP_MSMTP").is_some();
    match if skip { None } else { msmtp() } {
        Some(m) => {
            let secs = msmtp_loop(&m, sink.port, n, &base.join("msmtp"))?;
            println!(
                "  msmtp loop ({n} invocations):                                       {secs:.3} s ({:.0} msg/s); spoolbox is {:.1}x faster (target >= 10)",
                rate(secs),
                secs / ours
            );
        }
        None if skip => println!("  msmtp loop: skipped (SPOOLBOX_BENCH_SKIP_MSMTP is set)"),
        None => println!(
            "  msmtp loop: skipped: msmtp is not installed and could not be installed here (apt-get install msmtp)"
        ),
    }
    drop(sink);
    if dir.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(())
}
