//! A hostile or broken file system around the store (issue 16): symbolic links planted at the
//! store's and the pickup folder's names, FIFOs, unreadable message files, a deleted
//! `store.lock`, two stores sharing a pickup folder, a hand-off with many recipients.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::io;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spoolbox::durable::fs::{FsLayer as _, RealFs};
use spoolbox::mapi::{EntryId, Message, Recipient, RecipientKind};
use spoolbox::profile::PickupSettings;
use spoolbox::spooler::{Clock, Command as SpCommand, Event, Spooler, Tick};
use spoolbox::store::{FolderKind, Store, StoreError};
use spoolbox::transport::pickup::{self, PickupTransport};
use spoolbox::transport::{RowOutcome, SubmitView, Transport as _};

use crate::realfs::{Hooked, Hooks};
use crate::store::fast_tempdir;

/// Runs `f` on a thread and fails the test if it does not return within 20 s (a FIFO opened
/// for reading blocks forever: the test must not hang CI).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: did not return within 20 s (blocked)"))
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

fn victim(dir: &Path, name: &str, text: &[u8]) -> (PathBuf, Vec<u8>, u32) {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    (p, text.to_vec(), 0o600)
}

fn unchanged(v: &(PathBuf, Vec<u8>, u32)) {
    let md = std::fs::metadata(&v.0).unwrap();
    assert_eq!(
        std::fs::read(&v.0).unwrap(),
        v.1,
        "{} changed",
        v.0.display()
    );
    assert_eq!(md.mode() & 0o7777, v.2, "{} mode changed", v.0.display());
}

fn draft(store: &mut Store, subject: &str) -> Message {
    let eid = store.new_entry_id().unwrap();
    let outbox = store.folder_of(FolderKind::Outbox);
    let mut m = Message::draft(eid, outbox, subject);
    m.recipients.push(Recipient::new(
        0,
        "Ann",
        "ann@example.org",
        "SMTP",
        RecipientKind::To,
    ));
    m.body = format!("body of {subject}");
    store.save(&mut m).unwrap();
    m
}

fn message_path(root: &Path, m: &Message) -> PathBuf {
    root.join("folders")
        .join(m.folder.file_stem())
        .join(format!("{}.json", m.entry_id.file_stem()))
}

// ---- item 2: symbolic links are never followed ----------------------------------------

#[test]
fn symlinked_store_lock_and_journal_are_refused_and_their_targets_stay_byte_for_byte() {
    let outside = fast_tempdir();
    let v1 = victim(outside.path(), "VICTIM1", b"precious lock target\n");
    let v2 = victim(
        outside.path(),
        "VICTIM2",
        b"secret journal target, mode 0600\n",
    );
    let dir = fast_tempdir();
    let root = dir.path().join("D");
    std::fs::create_dir_all(root.join("journal")).unwrap();
    symlink(&v1.0, root.join("store.lock")).unwrap();
    symlink(&v2.0, root.join("journal/journal.log")).unwrap();
    let e = Store::open(&root).expect_err("a store with a symlinked store.lock opens");
    assert!(e.to_string().contains("store.lock"), "{e}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    unchanged(&v1);
    unchanged(&v2);
    // The lock alone fixed: the journal link is refused, its target neither copied nor cut.
    std::fs::remove_file(root.join("store.lock")).unwrap();
    let e = Store::open(&root).expect_err("a store with a symlinked journal opens");
    assert!(e.to_string().contains("journal.log"), "{e}");
    unchanged(&v1);
    unchanged(&v2);
    let copies: Vec<_> = std::fs::read_dir(root.join("quarantine"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(copies.is_empty(), "copied into quarantine: {copies:?}");
}

#[test]
fn symlinked_store_json_and_index_json_are_refused() {
    let outside = fast_tempdir();
    let dir = fast_tempdir();
    for name in ["store.json", "index.json"] {
        let v = victim(outside.path(), name, b"{\"schema\": 1}");
        let root = dir.path().join(name);
        drop(Store::open(&root).unwrap());
        let _ = std::fs::remove_file(root.join(name));
        symlink(&v.0, root.join(name)).unwrap();
        let e = Store::open(&root).expect_err("opened through a symlink");
        assert!(e.to_string().contains(name), "{e}");
        unchanged(&v);
    }
}

#[test]
fn everything_the_store_writes_is_private_quarantine_included() {
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    let m = {
        let (mut store, _) = Store::open(&root).unwrap();
        draft(&mut store, "private")
    };
    std::fs::write(root.join("folders/1/000000000077.json"), b"{broken").ok();
    let bad = root
        .join("folders")
        .join(m.folder.file_stem())
        .join(format!("{}.json", EntryId(m.entry_id.0 + 1000).file_stem()));
    std::fs::write(&bad, b"{ not json").unwrap();
    let (_store, report) = Store::open(&root).unwrap();
    assert!(!report.quarantined.is_empty());
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o777;
    for d in ["", "tmp", "folders", "journal", "quarantine"] {
        assert_eq!(mode(&root.join(d)), 0o700, "{d}/");
    }
    for f in ["store.json", "store.lock", "journal/journal.log"] {
        assert_eq!(mode(&root.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&message_path(&root, &m)), 0o600);
    for e in std::fs::read_dir(root.join("quarantine"))
        .unwrap()
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "why") {
            assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
        }
    }
}

// ---- item 2 / 9a: the lock cannot be stolen by deleting store.lock ---------------------

#[test]
fn deleting_store_lock_does_not_let_a_second_owner_in() {
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    let (_first, _) = Store::open(&root).unwrap();
    std::fs::remove_file(root.join("store.lock")).unwrap();
    match Store::open(&root) {
        Err(StoreError::Locked { .. }) => {}
        other => panic!("a second owner got in: {:?}", other.map(|_| ())),
    }
    // Another process too.
    let out = Command::new(env!("CARGO_BIN_EXE_spoolbox"))
        .arg("--store")
        .arg(&root)
        .arg("list")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- item 3: FIFOs never hang; unreadable is not corrupt -------------------------------

#[test]
fn a_fifo_as_a_special_file_is_refused_at_once_naming_it() {
    let dir = fast_tempdir();
    for name in [
        "store.json",
        "index.json",
        "journal/journal.log",
        "store.lock",
    ] {
        let root = dir.path().join(name.replace('/', "-"));
        drop(Store::open(&root).unwrap());
        let _ = std::fs::remove_file(root.join(name));
        mkfifo(&root.join(name));
        let r2 = root.clone();
        let e = within(name, move || Store::open(&r2).err().map(|e| e.to_string()));
        let e = e.unwrap_or_else(|| panic!("{name}: a FIFO was accepted"));
        assert!(e.contains(name.rsplit('/').next().unwrap()), "{e}");
        assert!(e.contains("FIFO"), "{e}");
    }
}

#[test]
fn a_fifo_as_a_message_file_is_listed_unreadable_and_list_and_doctor_return() {
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    let (keep, fifo_eid, folder) = {
        let (mut store, _) = Store::open(&root).unwrap();
        let keep = draft(&mut store, "keeper");
        let gone = draft(&mut store, "becomes a FIFO");
        (keep, gone.entry_id, gone.folder)
    };
    let fifo = root
        .join("folders")
        .join(folder.file_stem())
        .join(format!("{}.json", fifo_eid.file_stem()));
    std::fs::remove_file(&fifo).unwrap();
    std::fs::remove_file(root.join("index.json")).ok();
    mkfifo(&fifo);
    let r2 = root.clone();
    let (ids, unreadable, quarantined) = within("open", move || {
        let (store, report) = Store::open(&r2).unwrap();
        let ids: Vec<EntryId> = store.summaries().map(|s| s.eid).collect();
        let u: Vec<(EntryId, String)> = store
            .unreadable()
            .map(|u| (u.eid, u.reason.clone()))
            .collect();
        (ids, u, report.quarantined.len())
    });
    assert_eq!(ids, vec![keep.entry_id]);
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert_eq!(unreadable[0].0, fifo_eid);
    assert!(unreadable[0].1.contains("FIFO"), "{unreadable:?}");
    assert_eq!(quarantined, 0, "a FIFO is not corrupt content");
    // The CLI: list and doctor return, and say so.
    let run = |args: &'static [&'static str]| {
        let r = root.clone();
        within(args[0], move || {
            Command::new(env!("CARGO_BIN_EXE_spoolbox"))
                .arg("--store")
                .arg(&r)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let list = run(&["list"]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        text.lines().any(|l| l.contains(&fifo_eid.0.to_string())
            && l.contains("Unreadable")
            && l.contains("FIFO")),
        "{text}"
    );
    let doctor = run(&["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(!text.contains("store OK"), "{text}");
    assert!(
        text.contains("unreadable message files (left in place, out of the queue): 1"),
        "{text}"
    );
}

/// Permission denied on one file, as a non-root user would get it.
#[derive(Debug, Default)]
struct Deny(Mutex<Option<PathBuf>>);

impl Hooks for Arc<Deny> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if self.0.lock().unwrap().as_deref() == Some(path) {
            return Err(io::Error::from_raw_os_error(13)); // EACCES
        }
        RealFs.read(path)
    }
}

/// Submits two messages, closes the store (`index.json` written), and returns them.
fn two_submitted(root: &Path) -> (Message, Message) {
    let (mut store, _) = Store::open(root).unwrap();
    let a = draft(&mut store, "unreadable one");
    let b = draft(&mut store, "readable one");
    let mut sp = Spooler::new(store, Clock::system());
    sp.handle(SpCommand::Pause);
    sp.handle(SpCommand::Submit(a.entry_id));
    sp.handle(SpCommand::Submit(b.entry_id));
    let queued: Vec<EntryId> = sp.store().queue().collect();
    assert_eq!(queued.len(), 2, "{queued:?}");
    (a, b)
}

#[test]
fn an_unreadable_message_with_an_index_is_skipped_once_and_the_queue_goes_on() {
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    let (a, b) = two_submitted(&root);
    assert!(root.join("index.json").exists());
    let deny = Arc::new(Deny::default());
    *deny.0.lock().unwrap() = Some(message_path(&root, &a));
    let layer = Arc::new(Hooked(Arc::clone(&deny)));
    let (store, report) = Store::open_with_fs(&root, layer).unwrap();
    assert_eq!(
        report.from_index, 2,
        "both summaries from the index, unread"
    );
    let mut sp = Spooler::new(store, Clock::system());
    sp.handle(SpCommand::Resume);
    let mut errors = Vec::new();
    let mut idle = false;
    for _ in 0..400 {
        let t = sp.tick();
        errors.extend(sp.drain_events().into_iter().filter_map(|e| match e {
            Event::Error(e) => Some(e),
            _ => None,
        }));
        match t {
            Tick::Idle(_) if sp.handoff_under_way() => {
                sp.wait_for_handoff(Duration::from_millis(100));
            }
            Tick::Idle(_) | Tick::Paused => {
                idle = true;
                break;
            }
            Tick::Ran(..) => {}
        }
    }
    assert!(
        idle,
        "the spooler never went idle; errors: {:?}",
        &errors[..errors.len().min(5)]
    );
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    assert!(errors[0].contains("Permission denied"), "{errors:?}");
    // The readable one went through: out of the queue, its .eml in the pickup folder.
    assert!(sp.store().summary(b.entry_id).is_some());
    assert!(sp.store().queue().all(|e| e != b.entry_id));
    let files = emls(&root.join("pickup"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        std::fs::read_to_string(&files[0])
            .unwrap()
            .contains("Subject: readable one")
    );
    let u: Vec<_> = sp.store().unreadable().cloned().collect();
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].eid, a.entry_id);
    assert!(u[0].reason.contains("Permission denied"), "{u:?}");
    assert!(sp.store().summary(a.entry_id).is_none());
    // Readable again: it comes back, in the queue, nothing quarantined.
    *deny.0.lock().unwrap() = None;
    let back = sp.store_mut().recheck_unreadable().unwrap();
    assert_eq!(back, vec![a.entry_id]);
    assert!(sp.store().queue().any(|e| e == a.entry_id));
    assert!(message_path(&root, &a).exists());
}

#[test]
fn an_unreadable_message_without_an_index_is_listed_not_quarantined_and_comes_back() {
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    let (a, b) = two_submitted(&root);
    std::fs::remove_file(root.join("index.json")).unwrap();
    let deny = Arc::new(Deny::default());
    *deny.0.lock().unwrap() = Some(message_path(&root, &a));
    {
        let layer = Arc::new(Hooked(Arc::clone(&deny)));
        let (store, report) = Store::open_with_fs(&root, layer).unwrap();
        assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
        assert_eq!(report.unreadable.len(), 1);
        assert_eq!(report.unreadable[0].eid, a.entry_id);
        assert!(report.unreadable[0].reason.contains("Permission denied"));
        assert!(store.summary(b.entry_id).is_some());
        assert!(store.summary(a.entry_id).is_none());
        assert!(store.queue().all(|e| e != a.entry_id));
    }
    // Readable: the next open has it back, still submitted.
    let (store, report) = Store::open(&root).unwrap();
    assert!(report.unreadable.is_empty());
    assert!(store.queue().any(|e| e == a.entry_id));
    assert!(store.unreadable().next().is_none());
}

/// The repro as a user would hit it: a mode 000 message file, a non-root process.
#[test]
fn a_mode_000_message_file_as_nobody_is_reported_and_send_all_finishes() {
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("setpriv missing: skipped");
        return;
    }
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    let (a, _b) = two_submitted(&root);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(chown.success());
    let file = message_path(&root, &a);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let as_nobody = |args: &'static [&'static str]| {
        let r = root.clone();
        within(args[0], move || {
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_spoolbox"))
                .arg("--store")
                .arg(&r)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let out = as_nobody(&["send", "--all"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mentions = all
        .lines()
        .filter(|l| l.contains("Permission denied"))
        .count();
    assert!((1..=2).contains(&mentions), "{all}");
    let doctor = as_nobody(&["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(!text.contains("store OK"), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let list = as_nobody(&["list"]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(text.contains("unreadable one"), "{text}");
    assert!(!text.contains("Unreadable"), "{text}");
}

// ---- item 4: the pickup folder never loses mail to a name ------------------------------

fn pickup_view<'a>(root: &Path, msg: &'a Message) -> SubmitView<'a> {
    SubmitView {
        msg,
        rows: msg.recipients.iter().map(|r| r.row_id).collect(),
        begin_deferred: false,
        sender: ("Me".into(), "me@example.org".into()),
        deliver_for_real: false,
        store_root: root.to_path_buf(),
        gate: None,
    }
}

fn message(eid: u64, subject: &str, recipients: u32) -> Message {
    let mut m = Message::draft(EntryId(eid), EntryId(1), subject);
    m.body = "body".into();
    for i in 0..recipients {
        m.recipients.push(Recipient::new(
            i,
            &format!("R {i}"),
            &format!("r{i}@example.org"),
            "SMTP",
            RecipientKind::To,
        ));
    }
    m
}

fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    v.sort();
    v
}

fn delivered(h: &spoolbox::transport::Handoff) -> usize {
    h.outcomes
        .iter()
        .filter(|(_, o)| matches!(o, RowOutcome::Delivered(_)))
        .count()
}

#[test]
fn two_stores_sharing_an_absolute_pickup_folder_both_deliver_message_80() {
    let dir = fast_tempdir();
    let shared = dir.path().join("shared-pickup");
    let mut subjects = Vec::new();
    for s in ["one", "two"] {
        let root = dir.path().join(s);
        drop(Store::open(&root).unwrap());
        let mut t = PickupTransport::new(
            "Pickup folder",
            &["SMTP".to_owned()],
            PickupSettings {
                dir: shared.display().to_string(),
            },
        );
        let m = message(80, &format!("from store {s}"), 1);
        let h = t.submit_message(&pickup_view(&root, &m));
        assert_eq!(delivered(&h), 1, "{h:?}");
        subjects.push(format!("from store {s}"));
    }
    let files = emls(&shared);
    assert_eq!(files.len(), 2, "{files:?}");
    let mut got: Vec<String> = files
        .iter()
        .map(|p| {
            let b = std::fs::read(p).unwrap();
            mail_parser::MessageParser::default()
                .parse(&b)
                .and_then(|m| m.subject().map(str::to_owned))
                .unwrap()
        })
        .collect();
    got.sort();
    assert_eq!(got, subjects);
}

#[test]
fn a_foreign_file_at_the_pickup_name_is_left_alone_and_never_counted_delivered() {
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    drop(Store::open(&root).unwrap());
    let pdir = root.join("pickup");
    std::fs::create_dir_all(&pdir).unwrap();
    let m = message(80, "mine", 1);
    let name = pickup::file_name(&pickup::store_tag(&root), EntryId(80), &[0]);
    let planted = victim(&pdir, &name, b"not written by this store\r\n\r\n");
    let mut t = PickupTransport::new("P", &["SMTP".to_owned()], PickupSettings::default());
    let h = t.submit_message(&pickup_view(&root, &m));
    assert_eq!(delivered(&h), 1, "{h:?}");
    unchanged(&planted);
    let files = emls(&pdir);
    assert_eq!(files.len(), 2, "{files:?}");
    let mine = files.iter().find(|p| **p != planted.0).unwrap();
    assert!(
        std::fs::read_to_string(mine)
            .unwrap()
            .contains("Subject: mine")
    );
    // A replay finds its own file and writes no third one.
    let h = t.submit_message(&pickup_view(&root, &m));
    assert_eq!(delivered(&h), 1);
    assert_eq!(emls(&pdir).len(), 2);
}

#[test]
fn a_symlink_planted_at_the_pickup_temp_name_is_not_written_through() {
    let outside = fast_tempdir();
    let v = victim(outside.path(), "VICTIM", b"do not overwrite\n");
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    drop(Store::open(&root).unwrap());
    let pdir = root.join("pickup");
    std::fs::create_dir_all(&pdir).unwrap();
    let m = message(81, "through a link?", 1);
    let name = pickup::file_name(&pickup::store_tag(&root), EntryId(81), &[0]);
    symlink(&v.0, pdir.join(format!(".{name}.tmp"))).unwrap();
    let mut t = PickupTransport::new("P", &["SMTP".to_owned()], PickupSettings::default());
    let h = t.submit_message(&pickup_view(&root, &m));
    assert_eq!(delivered(&h), 1, "{h:?}");
    unchanged(&v);
    let text = std::fs::read_to_string(pdir.join(&name)).unwrap();
    assert!(text.contains("Subject: through a link?"), "{text}");
}

#[test]
fn a_hand_off_with_120_recipients_gets_a_short_name_and_is_delivered() {
    let dir = fast_tempdir();
    let root = dir.path().join("S");
    drop(Store::open(&root).unwrap());
    let m = message(82, "many", 120);
    let mut t = PickupTransport::new("P", &["SMTP".to_owned()], PickupSettings::default());
    let h = t.submit_message(&pickup_view(&root, &m));
    assert_eq!(delivered(&h), 120, "{:?}", h.result);
    let files = emls(&root.join("pickup"));
    assert_eq!(files.len(), 1);
    let n = files[0].file_name().unwrap().len();
    assert!(n < 100, "name of {n} bytes");
}

#[test]
fn a_symlinked_store_directory_is_refused() {
    let outside = fast_tempdir();
    let dir = fast_tempdir();
    for sub in ["quarantine", "tmp", "traces"] {
        let root = dir.path().join(sub);
        drop(Store::open(&root).unwrap());
        let _ = std::fs::remove_dir_all(root.join(sub));
        let target = outside.path().join(sub);
        std::fs::create_dir_all(&target).unwrap();
        symlink(&target, root.join(sub)).unwrap();
        let e = Store::open(&root).expect_err("opened with a symlinked directory");
        assert!(e.to_string().contains(sub), "{e}");
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }
}
