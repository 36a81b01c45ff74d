//! Benchmarks (ARCHITECTURE section 5), run with `spoolbox bench`; never part of the tests.
//! Each figure is a median over several runs and, where one exists, a ratio to a limit
//! measured in the same run on the same disk.

pub mod load;
pub mod render;
pub mod smtp;

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};

use crate::durable::fs;
use crate::mapi::tags::PR_SENTMAIL_ENTRYID;
use crate::mapi::{Message, PropValue, Recipient, RecipientKind};
use crate::profile::{Profile, TransportConfig, TransportKind};
use crate::spooler::{Clock, Command, Spooler, submit};
use crate::store::{FolderKind, Store};

/// Benchmark selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchKind {
    /// Flush a large queue through the null, pickup-folder and SMTP transports.
    Load,
    /// Open a store with many outbox messages and list the outbox.
    Store,
    /// Pipeline throughput through the null transport.
    Pipeline,
    /// Both.
    All,
    /// SMTP to Postfix's smtp-sink on loopback vs smtp-source and a loop of msmtp (run
    /// with --messages 1000); not part of `all`.
    Smtp,
    /// Rendering a message to 10,000 and 40,000 recipients and a 50 MB body; not part of
    /// `all`.
    Render,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the chosen benchmarks, printing a table.
///
/// # Errors
/// I/O errors.
pub fn run(kind: BenchKind, messages: usize, runs: usize, dir: Option<&Path>) -> Result<()> {
    let base = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("spoolbox-bench-{}", std::process::id())),
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
    println!("durability: {}", fs::group_sync_path());
    let replace_rate = median(
        (0..runs)
            .map(|i| atomic_replace_rate(&base.join(format!("disk-{i}")), 1000))
            .collect::<Result<_>>()?,
    );
    println!(
        "disk: fsynced atomic file replaces (write tmp, fsync, rename, fsync dir): {replace_rate:.0}/s (median of {runs})"
    );
    if matches!(kind, BenchKind::Pipeline | BenchKind::All) {
        let mut rates = Vec::new();
        let mut fsyncs = Vec::new();
        for i in 0..runs {
            let (rate, per) = pipeline(&base.join(format!("pipeline-{i}")), messages)?;
            rates.push(rate);
            fsyncs.push(per);
        }
        let rate = median(rates);
        println!(
            "pipeline: {messages} messages x 3 recipients, null transport, full durability: {rate:.0} msg/s (median of {runs}); \
             {:.2} fsyncs/message; ratio to the disk's replace rate {:.2} (target >= 1000 msg/s, >= 0.5, <= 5 fsyncs)",
            median(fsyncs),
            rate / replace_rate
        );
    }
    if matches!(kind, BenchKind::Store | BenchKind::All) {
        let dir = base.join("store");
        if messages <= 20_000 {
            let (create_secs, per_save) = create_outbox(&dir, messages)?;
            println!(
                "store: created {messages} outbox messages x 3 recipients durably in {create_secs:.1} s ({per_save:.2} fsyncs per saved message)"
            );
        } else {
            let t = Instant::now();
            create_outbox_quick(&dir, messages)?;
            println!(
                "store: created {messages} outbox messages x 3 recipients in {:.1} s (copies of one real message; unsynced setup)",
                t.elapsed().as_secs_f64()
            );
        }
        let mut cold = Vec::new();
        for _ in 0..=runs {
            let t = Instant::now();
            let (store, _) = Store::open(&dir)?;
            let n = list_outbox(&store);
            cold.push(t.elapsed().as_secs_f64());
            drop(store);
            anyhow::ensure!(n == messages, "listed {n} of {messages}");
        }
        // The first open reads every file and writes index.json; the later ones are warm.
        let first = cold.remove(0);
        println!(
            "store: open + list outbox of {messages}: first open {:.3} s, warm median {:.3} s over {runs} (target <= 1 s)",
            first,
            median(cold)
        );
    }
    // syncfs may have been turned off during the run: say what the last groups used.
    println!("durability at the end: {}", fs::group_sync_path());
    if dir.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(())
}

fn list_outbox(store: &Store) -> usize {
    let outbox = store.folder_of(FolderKind::Outbox);
    let mut rows: Vec<_> = store.summaries().filter(|s| s.folder == outbox).collect();
    rows.sort_by_key(|s| (s.client_submit_time, s.eid));
    rows.len()
}

/// The disk's own rate of fsynced atomic replaces of a 2 KiB file.
fn atomic_replace_rate(dir: &Path, n: usize) -> Result<f64> {
    std::fs::create_dir_all(dir.join("tmp"))?;
    let data = vec![b'x'; 2048];
    let t = Instant::now();
    for i in 0..n {
        fs::write_atomic(
            &dir.join("tmp"),
            &dir.join(format!("f{}.json", i % 64)),
            &data,
        )?;
    }
    let rate = f64::from(u32::try_from(n).unwrap_or(u32::MAX)) / t.elapsed().as_secs_f64();
    std::fs::remove_dir_all(dir)?;
    Ok(rate)
}

fn null_profile() -> Profile {
    Profile {
        transports: vec![TransportConfig::new("Null", TransportKind::Null, &["SMTP"])],
        coupled_addrtypes: Vec::new(),
        ..Profile::default()
    }
}

/// Benchmark message number `i` (three SMTP recipients, a short body), not stored.
pub(crate) fn sample_message(
    eid: crate::mapi::EntryId,
    folder: crate::mapi::EntryId,
    i: usize,
) -> Message {
    let mut m = Message::draft(eid, folder, &format!("Benchmark message {i}"));
    m.body = "Lorem ipsum dolor sit amet. ".repeat(8);
    for r in 0..3u32 {
        m.recipients.push(Recipient::new(
            r,
            &format!("Rcpt {r}"),
            &format!("r{r}.{i}@example.com"),
            "SMTP",
            RecipientKind::To,
        ));
    }
    m
}

/// A benchmark message: three SMTP recipients, a short body, filed in Sent Items when sent.
///
/// # Errors
/// When no entry id can be reserved.
pub(crate) fn sample(store: &mut Store, i: usize) -> Result<Message> {
    let eid = store.new_entry_id()?;
    let mut m = sample_message(eid, store.folder_of(FolderKind::Outbox), i);
    let sent = store.folder_of(FolderKind::SentItems);
    m.props
        .set(PR_SENTMAIL_ENTRYID, PropValue::Binary(sent.to_bytes()));
    Ok(m)
}

/// Gives the spooler's events to a consumer thread through a bounded channel, a batch at a
/// time as the worker gives them to the UI, and counts them there: a benchmark pays for its events as the app
/// does (and does not pile up millions of them in memory). The count comes back once the
/// spooler, and with it the sink, is dropped.
///
/// # Errors
/// The thread could not be started.
pub(crate) fn consume_events(sp: &mut Spooler) -> Result<std::thread::JoinHandle<u64>> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<crate::spooler::Event>>(4096);
    let counter = std::thread::Builder::new()
        .name("bench-events".into())
        .spawn(move || {
            // Like the app's UI thread, which takes the events when it paints a frame: woken
            // by the first batch, it takes what has come, then sleeps a frame (60 per second).
            let mut n = 0_u64;
            while let Ok(batch) = rx.recv() {
                n += batch.len() as u64;
                n += rx.try_iter().map(|b| b.len() as u64).sum::<u64>();
                std::thread::sleep(std::time::Duration::from_millis(16));
            }
            n
        })?;
    sp.set_sink(Box::new(move |batch| {
        let _ = tx.send(batch.collect());
    }));
    Ok(counter)
}

/// Submits `n` messages, then times the spooler sending all of them.
fn pipeline(dir: &Path, n: usize) -> Result<(f64, f64)> {
    let _ = std::fs::remove_dir_all(dir);
    let (mut store, _) = Store::open(dir)?;
    store.set_profile(null_profile())?;
    let t0 = Timestamp::now();
    for i in 0..n {
        let mut m = sample(&mut store, i)?;
        store.save(&mut m)?;
        let at = t0 + SignedDuration::from_micros(i64::try_from(i).unwrap_or(0));
        submit::submit_message(&mut store, m.entry_id, at)?;
    }
    let mut sp = Spooler::new(store, Clock::system());
    let events = consume_events(&mut sp)?;
    sp.handle(Command::Resume);
    fs::sync_file_system(dir)?;
    let f0 = fs::fsync_count();
    let t = Instant::now();
    sp.run_until_idle();
    let secs = t.elapsed().as_secs_f64();
    let fsyncs = fs::fsync_count() - f0;
    let sent = sp
        .store()
        .summaries()
        .filter(|s| s.folder == sp.store().folder_of(FolderKind::SentItems))
        .count();
    anyhow::ensure!(sent == n, "only {sent} of {n} reached Sent Items");
    drop(sp);
    let told = events.join().unwrap_or(0);
    anyhow::ensure!(told >= 8 * n as u64, "only {told} events for {n} messages");
    let _ = std::fs::remove_dir_all(dir);
    let nf = f64::from(u32::try_from(n).unwrap_or(u32::MAX));
    Ok((
        nf / secs,
        f64::from(u32::try_from(fsyncs).unwrap_or(u32::MAX)) / nf,
    ))
}

/// Creates a store with `n` queued outbox messages quickly: the first goes through the real
/// save and `SubmitMessage`; the others are copies of its file under new entry ids, written
/// without fsync. Benchmark setup only: what is measured afterwards is opening and reading
/// exactly the files the store writes.
///
/// # Errors
/// I/O errors.
pub fn create_outbox_quick(dir: &Path, n: usize) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    let (mut store, _) = Store::open(dir)?;
    // Paused, so a window opened on it shows the whole queue rather than start sending it.
    store.set_profile(Profile {
        start_paused: true,
        ..null_profile()
    })?;
    let mut first = sample(&mut store, 0)?;
    store.save(&mut first)?;
    let t0 = Timestamp::now();
    let base = submit::submit_message(&mut store, first.entry_id, t0)?;
    let outbox_dir = dir
        .join("folders")
        .join(store.folder_of(FolderKind::Outbox).file_stem());
    let start = base.entry_id.0;
    drop(store);
    for i in 1..n {
        let mut m = base.clone();
        m.entry_id = crate::mapi::EntryId(start + i as u64);
        m.props.set_text(
            crate::mapi::tags::PR_SUBJECT,
            format!("Benchmark message {i}"),
        );
        for r in &mut m.recipients {
            let addr = format!("r{}.{i}@example.com", r.row_id);
            r.props.set_text(crate::mapi::tags::PR_EMAIL_ADDRESS, addr);
        }
        m.props.set_time(
            crate::mapi::tags::PR_CLIENT_SUBMIT_TIME,
            t0 + SignedDuration::from_micros(i64::try_from(i).unwrap_or(0)),
        );
        let bytes = serde_json::to_vec_pretty(&m)?;
        std::fs::write(
            outbox_dir.join(format!("{}.json", m.entry_id.file_stem())),
            bytes,
        )?;
    }
    Ok(())
}

/// Creates a store with `n` queued outbox messages through the real, durable path.
fn create_outbox(dir: &Path, n: usize) -> Result<(f64, f64)> {
    let _ = std::fs::remove_dir_all(dir);
    let (mut store, _) = Store::open(dir)?;
    store.set_profile(null_profile())?;
    let t = Instant::now();
    let f0 = fs::fsync_count();
    let t0 = Timestamp::now();
    for i in 0..n {
        let mut m = sample(&mut store, i)?;
        store.save(&mut m)?;
        let at = t0 + SignedDuration::from_micros(i64::try_from(i).unwrap_or(0));
        submit::submit_message(&mut store, m.entry_id, at)?;
    }
    let nf = f64::from(u32::try_from(n).unwrap_or(u32::MAX));
    let per = f64::from(u32::try_from(fs::fsync_count() - f0).unwrap_or(u32::MAX)) / nf / 2.0;
    Ok((t.elapsed().as_secs_f64(), per))
}
