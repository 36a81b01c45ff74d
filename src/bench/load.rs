//! Load benchmark (not a test): a store with many queued messages flushed through the null
//! transport, the pickup folder and SMTP to Postfix's `smtp-sink` on loopback, with full
//! durability. `spoolbox bench load --messages 100000`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, ensure};

use crate::bench::create_outbox_quick;
use crate::durable::fs;
use crate::profile::{PickupSettings, Profile, SmtpSettings, TransportConfig, TransportKind};
use crate::spooler::{Clock, Command, Spooler};
use crate::store::{FolderKind, Store};

/// Flushes `messages` queued messages through each transport and prints the rates.
///
/// # Errors
/// I/O errors, or a message that did not reach Sent Items.
pub fn run(messages: usize, dir: Option<&Path>) -> Result<()> {
    let base = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("spoolbox-load-{}", std::process::id())),
    };
    std::fs::create_dir_all(&base)?;
    if dir.is_none() {
        // Never the user's default store: a folder of its own, said where, removed after.
        println!(
            "bench: working in {} (temporary, removed at the end; --store DIR keeps it)",
            base.display()
        );
    }
    let sink = crate::bench::smtp::Sink::start().ok();
    let mut kinds = vec![
        ("null", TransportKind::Null),
        (
            "pickup folder",
            TransportKind::Pickup(PickupSettings::default()),
        ),
    ];
    match &sink {
        Some(s) => kinds.push((
            "SMTP to smtp-sink",
            TransportKind::Smtp(SmtpSettings {
                host: "127.0.0.1".into(),
                port: s.port,
                timeout_secs: 30,
                ..SmtpSettings::default()
            }),
        )),
        None => {
            println!("load: smtp-sink is not available (apt-get install postfix): SMTP skipped");
        }
    }
    println!("durability: {}", fs::group_sync_path());
    for (label, kind) in kinds {
        let dir = base.join(label.replace(' ', "-"));
        create_outbox_quick(&dir, messages)?;
        let (mut store, _) = Store::open(&dir)?;
        let profile = Profile {
            transports: vec![TransportConfig::new(label, kind.clone(), &["SMTP"])],
            coupled_addrtypes: Vec::new(),
            start_paused: false,
            ..Profile::default()
        };
        store.set_profile(profile)?;
        let mut sp = Spooler::new(store, Clock::system());
        let events = crate::bench::consume_events(&mut sp)?;
        sp.handle(Command::Flush);
        fs::sync_file_system(&dir)?;
        let f0 = fs::fsync_count();
        let t = Instant::now();
        sp.run_until_idle();
        let secs = t.elapsed().as_secs_f64();
        let fsyncs = fs::fsync_count() - f0;
        let sent = sp.store().folder_of(FolderKind::SentItems);
        let n_sent = sp.store().summaries().filter(|s| s.folder == sent).count();
        ensure!(
            n_sent == messages,
            "{label}: only {n_sent} of {messages} reached Sent Items"
        );
        if matches!(kind, TransportKind::Pickup(_)) {
            let files = std::fs::read_dir(dir.join("pickup"))?.count();
            ensure!(
                files == messages,
                "{label}: {files} .eml files for {messages} messages"
            );
        }
        drop(sp);
        let told = events.join().unwrap_or(0);
        ensure!(
            told >= 8 * messages as u64,
            "{label}: only {told} events for {messages} messages"
        );
        println!(
            "load: {messages} messages x 3 recipients through {label}: {secs:.1} s, {:.0} msg/s, {:.2} fsyncs/message",
            messages as f64 / secs,
            fsyncs as f64 / messages as f64
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    if dir.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(())
}
