//! Every door of the store guarded once (issue 27): a store that has been through every
//! transport (so timeline segments, sent copies, quarantine and traces exist) is listed, each
//! kind of folder and file found under it gets the hostile matrix (a symbolic link to a file
//! outside, one to a folder outside, a FIFO, a hard link shared with a file outside, mode 000,
//! a huge sparse file), and `send --all`, `list`, `timeline` and `doctor` run on it, each
//! killed after a deadline. Nothing outside may be read, written or deleted, nothing may hang
//! or crash, and a command that fails says which path.
//!
//! The set of kinds is explicit ([`KINDS`]): a kind of file that appears under the store and
//! is not in it fails [`every_kind_under_the_store_is_in_the_matrix`], so the matrix cannot
//! be outgrown.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::fs::{self, FileTimes};
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::smtp::server::Server;
use crate::store::{copy_dir, fast_tempdir};

/// Each command's deadline: longer means hung.
const DEADLINE: Duration = Duration::from_secs(20);

/// How a path under the store is named in the matrix: a pattern of its path relative to the
/// root, `*` standing for one name. Every path under a store must match one.
const KINDS: [(&str, Role); 23] = [
    ("store.lock", Role::File),
    ("store.json", Role::File),
    ("index.json", Role::File),
    ("journal", Role::Dir),
    ("journal/journal.log", Role::File),
    ("folders", Role::Dir),
    ("folders/*", Role::Dir),
    ("folders/*/*.json", Role::File),
    ("tmp", Role::Dir),
    ("tmp/*", Role::File),
    ("quarantine", Role::Dir),
    ("quarantine/*.why", Role::File),
    // Names that were not the store's, moved aside by `doctor` in one batch.
    ("quarantine/*-junk-*", Role::Dir),
    ("quarantine/*-junk-*/*", Role::File),
    ("quarantine/*", Role::File),
    ("traces", Role::Dir),
    ("traces/*.json", Role::File),
    ("sent", Role::Dir),
    ("sent/*.eml", Role::File),
    ("timeline", Role::Dir),
    ("timeline/*.jsonl", Role::File),
    // The demo's pickup folder is the profile's, not the store's: a pickup service reads and
    // deletes there, and a folder named in the profile may be a link on purpose.
    ("pickup", Role::NotTheStores),
    ("pickup/*.eml", Role::NotTheStores),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    File,
    Dir,
    NotTheStores,
}

/// What is planted at a kind's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    LinkToFile,
    LinkToFolder,
    Fifo,
    HardLink,
    Mode000,
    Sparse,
}

const CASES: [Case; 6] = [
    Case::LinkToFile,
    Case::LinkToFolder,
    Case::Fifo,
    Case::HardLink,
    Case::Mode000,
    Case::Sparse,
];

fn matches(pattern: &str, rel: &str) -> bool {
    let (p, r): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), rel.split('/').collect());
    p.len() == r.len() && p.iter().zip(&r).all(|(p, r)| segment_matches(p, r))
}

/// One path component against a pattern where each `*` stands for any run of characters.
fn segment_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The kind of `rel` (the first pattern it matches), if any.
fn kind_of(rel: &str) -> Option<(&'static str, Role)> {
    KINDS.iter().copied().find(|(p, _)| matches(p, rel))
}

/// Every path under `root`, relative, `/`-separated.
fn walk(root: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.push(
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
            if e.file_type().unwrap().is_dir() {
                go(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    go(root, root, &mut out);
    out.sort();
    out
}

fn run(store: &Path, args: &[&str]) -> Result<Output, String> {
    run_as(store, args, false)
}

/// As [`run`]; with `nobody`, as user and group 65534 (`setpriv`), for whom modes count.
fn run_as(store: &Path, args: &[&str], nobody: bool) -> Result<Output, String> {
    let bin = env!("CARGO_BIN_EXE_spoolbox");
    let mut c = if nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let mut child = c
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("SPOOLBOX_FAILPOINT")
        .env_remove("SPOOLBOX_LOG")
        .env("SPOOLBOX_KEYRING", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
        if t0.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "`{}` hung (killed after {DEADLINE:?})",
                args.join(" ")
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: o.join().unwrap_or_default(),
        stderr: e.join().unwrap_or_default(),
    })
}

fn ok(store: &Path, args: &[&str]) -> String {
    let o = run(store, args).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "spoolbox {args:?}: {text}");
    text
}

/// What the outside folder holds, name by name: length, a hash of the bytes, mtime, atime,
/// mode (a read of a file there moves its atime: it is set into the past first).
type Snapshot = BTreeMap<String, (u64, u64, i64, i64, u32)>;

fn snapshot(dir: &Path) -> Snapshot {
    walk(dir)
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let md = fs::symlink_metadata(&p).unwrap();
            let hash = if md.is_file() {
                // O_NOATIME: the test's own read must not move the atime it watches.
                let mut bytes = Vec::new();
                fs::File::options()
                    .read(true)
                    .custom_flags(libc::O_NOATIME)
                    .open(&p)
                    .unwrap()
                    .read_to_end(&mut bytes)
                    .unwrap();
                bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
                })
            } else {
                0
            };
            let atime = if md.is_file() { md.atime() } else { 0 };
            (rel, (md.len(), hash, md.mtime(), atime, md.mode()))
        })
        .collect()
}

/// Sets every file's atime under `dir` a day before its mtime: reading one moves it (relatime).
fn age_atimes(dir: &Path) {
    for rel in walk(dir) {
        let p = dir.join(rel);
        let md = fs::symlink_metadata(&p).unwrap();
        if md.is_file() {
            let m = md.modified().unwrap();
            let f = fs::File::options().write(true).open(&p).unwrap();
            f.set_times(
                FileTimes::new()
                    .set_accessed(m - Duration::from_hours(24))
                    .set_modified(m),
            )
            .unwrap();
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Root reads and writes whatever a mode says: the mode-000 case then runs the commands as
/// nobody (`setpriv`, as `tests/all/hostile_fs.rs` does), on a store and an outside folder
/// handed to nobody. `None`: no `setpriv` here, the case is skipped.
fn hand_to_nobody(dir: &Path) -> Option<()> {
    Command::new("setpriv").arg("--version").output().ok()?;
    let mut d = dir;
    // Every folder above must let nobody through.
    while let Some(p) = d.parent() {
        if p.starts_with("/dev/shm") || p.starts_with(std::env::temp_dir()) {
            if fs::metadata(d).is_ok_and(|m| m.uid() == 0) {
                fs::set_permissions(d, fs::Permissions::from_mode(0o755)).ok()?;
            }
        } else {
            break;
        }
        d = p;
    }
    let ok = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(dir)
        .status()
        .ok()?
        .success();
    ok.then_some(())
}

/// A store that has been through every transport of the demo (SMTP to the test server, the
/// fax, the pickup folder), with a file in quarantine, a trace kept for a message deleted
/// after submit, and one message queued again for the matrix's `send --all`.
fn template(dir: &Path, srv: &Server) -> PathBuf {
    let store = dir.join("template");
    ok(&store, &["list"]);
    let port = srv.port.to_string();
    ok(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
    );
    // A message file that is not a message: quarantined at the next open. (A name that is
    // not the store's is junk, counted and left for `doctor`; not a kind of the store's.)
    let outbox = fs::read_dir(store.join("folders"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    fs::write(outbox.join("0000999999.json"), b"not a message").unwrap();
    ok(&store, &["send", "--all"]);
    let eml = dir.join("queued.eml");
    fs::write(
        &eml,
        b"From: Ada <ada@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: queued for the matrix\r\n\r\nhello\r\n",
    )
    .unwrap();
    ok(&store, &["import", eml.to_str().unwrap(), "--submit"]);
    // A name that is not the store's, moved aside by doctor: quarantine/<dir>-junk-<time>/.
    fs::write(outbox.join("notes.txt"), b"not the store's").unwrap();
    ok(&store, &["doctor"]);
    // What a crash leaves in tmp/ (a spare, a file not renamed yet): removed at the next open.
    fs::write(store.join("tmp").join("4242.0.tmp"), b"{}").unwrap();
    store
}

#[test]
fn every_kind_under_the_store_is_in_the_matrix() {
    let srv = Server::start(&[]);
    let dir = fast_tempdir();
    let store = template(dir.path(), &srv);
    let mut seen = BTreeMap::new();
    for rel in walk(&store) {
        match kind_of(&rel) {
            Some((k, _)) => {
                seen.entry(k).or_insert(rel);
            }
            None => panic!(
                "{rel}: a kind of file under the store that tests/all/doors.rs does not cover; add it to KINDS (and so to the hostile matrix)"
            ),
        }
    }
    // The store went through every door the matrix is about.
    for must in [
        "store.json",
        "journal/journal.log",
        "folders/*/*.json",
        "quarantine/*",
        "quarantine/*-junk-*/*",
        "tmp/*",
        "traces/*.json",
        "sent/*.eml",
        "timeline/*.jsonl",
    ] {
        assert!(seen.contains_key(must), "no {must} under {seen:?}");
    }
}

/// Puts `case` at `rel` under `store`; `None` when the case does not apply to the kind.
fn plant(store: &Path, rel: &str, role: Role, case: Case, outside: &Path) -> Option<()> {
    let p = store.join(rel);
    let remove = |p: &Path| {
        if p.is_dir() {
            fs::remove_dir_all(p).unwrap();
        } else {
            fs::remove_file(p).unwrap();
        }
    };
    match case {
        Case::LinkToFile => {
            remove(&p);
            symlink(outside.join("victim.txt"), &p).unwrap();
        }
        Case::LinkToFolder => {
            // The folder outside holds what the store's did (for timeline/: ten segments, so a
            // rotation would delete some there).
            let there = outside.join("folder");
            if role == Role::Dir {
                copy_dir(&p, &there);
                if rel == "timeline" {
                    let seg = fs::read_dir(&there)
                        .unwrap()
                        .next()
                        .unwrap()
                        .unwrap()
                        .path();
                    for n in 1..=10 {
                        let to = there.join(format!("{n:08}.jsonl"));
                        if to != seg {
                            fs::copy(&seg, to).unwrap();
                        }
                    }
                }
            }
            remove(&p);
            symlink(&there, &p).unwrap();
        }
        Case::Fifo => {
            remove(&p);
            let ok = Command::new("mkfifo").arg(&p).status().unwrap().success();
            assert!(ok);
        }
        Case::HardLink => {
            if role != Role::File {
                return None; // a directory cannot be hard linked
            }
            fs::hard_link(&p, outside.join("shared")).unwrap();
        }
        Case::Mode000 => {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
        }
        Case::Sparse => {
            remove(&p);
            let f = fs::File::create(&p).unwrap();
            f.set_len(6 << 30).unwrap();
        }
    }
    Some(())
}

/// One kind, one case: what went wrong, if anything.
fn try_one(base: &Path, template: &Path, rel: &str, role: Role, case: Case) -> Vec<String> {
    let tag = format!("{}-{case:?}", rel.replace(['/', '.'], "_"));
    let dir = base.join(&tag);
    let store = dir.join("S");
    let outside = dir.join("outside");
    copy_dir(template, &store);
    fs::create_dir_all(outside.join("folder")).unwrap();
    fs::write(
        outside.join("victim.txt"),
        b"outside: never to be touched\n",
    )
    .unwrap();
    let nobody = case == Case::Mode000 && running_as_root();
    if nobody && hand_to_nobody(&dir).is_none() {
        eprintln!("{rel} as {case:?}: skipped (running as root, and no setpriv)");
        return Vec::new();
    }
    if plant(&store, rel, role, case, &outside).is_none() {
        return Vec::new();
    }
    age_atimes(&outside);
    let before = snapshot(&outside);
    let name = Path::new(rel)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut wrong = Vec::new();
    for args in [
        &["send", "--all"][..],
        &["list"][..],
        &["timeline"][..],
        &["doctor"][..],
    ] {
        let what = format!("{rel} as {case:?}: `spoolbox {}`", args.join(" "));
        match run_as(&store, args, nobody) {
            Err(hung) => wrong.push(format!("{what}: {hung}")),
            Ok(o) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                match o.status.code() {
                    None => wrong.push(format!("{what}: killed by a signal: {text}")),
                    Some(101) => wrong.push(format!("{what}: panicked: {text}")),
                    Some(0) => {}
                    Some(_) if !text.contains(&name) => {
                        wrong.push(format!("{what}: failed without naming {name}: {text}"));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    let (mut before, mut after) = (before, snapshot(&outside));
    if case == Case::HardLink {
        // The store reads its own file, the shared inode: its atime may move.
        for v in before.values_mut().chain(after.values_mut()) {
            v.3 = 0;
        }
    }
    if before != after {
        wrong.push(format!(
            "{rel} as {case:?}: outside was read, written or deleted: {before:?} -> {after:?}"
        ));
    }
    let _ = fs::remove_dir_all(&dir);
    wrong
}

#[test]
fn the_hostile_matrix_on_every_kind_leaves_outside_alone_and_never_hangs() {
    let t0 = Instant::now();
    let srv = Server::start(&[]);
    let dir = fast_tempdir();
    let template = template(dir.path(), &srv);
    // One path of each kind, as found under the store (a kind the store does not hold here
    // is covered by the other test's list).
    let mut pick: BTreeMap<&str, (String, Role)> = BTreeMap::new();
    for rel in walk(&template) {
        if let Some((k, role)) = kind_of(&rel)
            && role != Role::NotTheStores
        {
            pick.entry(k).or_insert((rel, role));
        }
    }
    let jobs: Vec<(String, Role, Case)> = pick
        .values()
        .flat_map(|(rel, role)| CASES.iter().map(move |c| (rel.clone(), *role, *c)))
        .collect();
    let jobs = std::sync::Mutex::new(jobs);
    let wrong = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let Some((rel, role, case)) = jobs.lock().unwrap().pop() else {
                        break;
                    };
                    let w = try_one(dir.path(), &template, &rel, role, case);
                    wrong.lock().unwrap().extend(w);
                }
            });
        }
    });
    let wrong = wrong.into_inner().unwrap();
    assert!(
        wrong.is_empty(),
        "{} failure(s) of the hostile matrix over {:?}:\n{}",
        wrong.len(),
        pick.keys().collect::<Vec<_>>(),
        wrong.join("\n")
    );
    eprintln!("the hostile matrix ran in {:?}", t0.elapsed());
}

#[test]
fn the_kind_patterns_match_as_meant() {
    assert!(matches("folders/*/*.json", "folders/1/000000000012.json"));
    assert!(!matches("folders/*/*.json", "folders/1/junk.txt"));
    assert!(matches(
        "quarantine/*.why",
        "quarantine/folders-1-junk.txt.why"
    ));
    assert_eq!(
        kind_of("quarantine/x.why").map(|k| k.0),
        Some("quarantine/*.why")
    );
    assert_eq!(kind_of("quarantine/x").map(|k| k.0), Some("quarantine/*"));
    assert_eq!(
        kind_of("quarantine/folders-0000000001-junk-1796000000/notes.txt").map(|k| k.0),
        Some("quarantine/*-junk-*/*")
    );
    assert_eq!(
        kind_of("quarantine/folders-0000000001-junk-1796000000.why").map(|k| k.0),
        Some("quarantine/*.why")
    );
    assert_eq!(kind_of("folders/1/2/3"), None);
}

/// A store with `n` messages imported and submitted (queued, not sent).
fn queued_store(dir: &Path, n: usize) -> PathBuf {
    let store = dir.join("S");
    ok(&store, &["list"]);
    for i in 0..n {
        let eml = dir.join(format!("m{i}.eml"));
        fs::write(
            &eml,
            format!(
                "From: Ada <ada@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: message {i}\r\n\r\nbody {i}\r\n"
            ),
        )
        .unwrap();
        ok(&store, &["import", eml.to_str().unwrap(), "--submit"]);
    }
    store
}

/// Finding 4: a copy of the store made with hard links keeps its bytes when the store goes on
/// (message files were reused as spares and written in place, the journal appended in place).
#[test]
fn a_copy_made_with_cp_al_keeps_every_byte_after_send_all() {
    let srv = Server::start(&[]);
    let dir = fast_tempdir();
    let store = queued_store(dir.path(), 12);
    let port = srv.port.to_string();
    ok(
        &store,
        &[
            "profile",
            "set-smtp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
    );
    let copy = dir.path().join("copy");
    let cp = Command::new("cp")
        .arg("-al")
        .arg(&store)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    let before: BTreeMap<String, Vec<u8>> = walk(&copy)
        .into_iter()
        .filter(|r| copy.join(r).is_file())
        .map(|r| {
            let b = fs::read(copy.join(&r)).unwrap();
            (r, b)
        })
        .collect();
    ok(&store, &["send", "--all"]);
    ok(&store, &["list"]);
    for (rel, bytes) in &before {
        if rel == "store.lock" {
            continue; // (a pid)
        }
        let now = fs::read(copy.join(rel)).unwrap_or_default();
        assert!(
            now == *bytes,
            "{rel} in the copy changed: {} bytes -> {} bytes",
            bytes.len(),
            now.len()
        );
    }
}

/// Finding 10: `import` of a FIFO returns at once, naming it, instead of holding the lock.
#[test]
fn import_of_a_fifo_is_refused_at_once() {
    let dir = fast_tempdir();
    let store = dir.path().join("S");
    ok(&store, &["list"]);
    let fifo = dir.path().join("mail.eml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let o = run(&store, &["import", fifo.to_str().unwrap()]).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{text}");
    assert!(text.contains("mail.eml") && text.contains("FIFO"), "{text}");
}

/// Finding 10: a re-export replaces the previous export atomically (a fresh file renamed over
/// it), never cuts it first: another name for the previous file keeps the previous bytes.
#[test]
fn a_re_export_never_writes_into_the_previous_export() {
    let dir = fast_tempdir();
    let store = queued_store(dir.path(), 1);
    let list = ok(&store, &["--json", "list"]);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = v
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|m| m["subject"] == "message 0")
                .map(|m| m["id"].to_string())
        })
        .unwrap_or_else(|| panic!("no message 0 in {list}"));
    let out = dir.path().join("out.eml");
    fs::write(&out, b"the previous export\n").unwrap();
    let previous = dir.path().join("previous.eml");
    fs::hard_link(&out, &previous).unwrap();
    ok(
        &store,
        &["export", id.trim_matches('"'), out.to_str().unwrap()],
    );
    assert_eq!(fs::read(&previous).unwrap(), b"the previous export\n");
    let new = fs::read_to_string(&out).unwrap();
    assert!(new.contains("Subject: message 0"), "{new}");
    let left: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|r| Path::new(r).extension().is_some_and(|x| x == "tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

/// Points every pickup transport of a profile's JSON at `tmp`; how many it changed.
fn point_at_tmp(v: &mut serde_json::Value) -> usize {
    match v {
        serde_json::Value::Object(m) => {
            let mut n = 0;
            if m.get("type").is_some_and(|t| t == "pickup")
                && let Some(d) = m.get_mut("dir")
            {
                *d = serde_json::Value::from("tmp");
                n += 1;
            }
            n + m.values_mut().map(point_at_tmp).sum::<usize>()
        }
        serde_json::Value::Array(a) => a.iter_mut().map(point_at_tmp).sum(),
        _ => 0,
    }
}

/// Finding 10: a pickup directory inside the store's own folders is refused at send, with
/// the reason, and nothing is written there (files in `tmp/` were deleted at the next open).
#[test]
fn a_pickup_directory_inside_the_stores_tmp_is_refused_at_send() {
    let dir = fast_tempdir();
    let store = dir.path().join("S");
    ok(&store, &["list"]);
    let meta = store.join("store.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    assert!(point_at_tmp(&mut v) > 0, "no pickup dir in {v}");
    fs::write(&meta, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let shown = ok(&store, &["profile"]);
    assert!(shown.contains("refused"), "{shown}");
    let out = run(&store, &["send", "--all"]).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let in_tmp: Vec<_> = fs::read_dir(store.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".eml"))
        .collect();
    assert!(in_tmp.is_empty(), "written into tmp/: {in_tmp:?}\n{text}");
    let trace = ok(&store, &["list"]);
    assert!(
        text.contains("inside the store") || trace.contains("inside the store"),
        "{text}\n{trace}"
    );
}
