//! `spoolbox timeline --last` and `--since` on segments far larger than what they show (issue
//! 27, finding 8):
//! read from the end, in memory bounded by what is shown (the real binary under `ulimit -v`)
//! and in time bounded by what is shown, on a dense 200 MB segment, a 6 GB sparse one with a
//! few spans at its end, and one that is nothing but zeros.

use std::io::Write as _;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use spoolbox::store::timeline::{Kind, SPOOLER_LANE, Span};

use crate::cli::{ok, stdout};

/// A span line as the recorder writes it, with message id `i`.
fn line(i: u64) -> Vec<u8> {
    let mut s = Span::new(SPOOLER_LANE, Kind::Queue, 1_700_000_000_000_000, 0);
    s.eid = Some(spoolbox::mapi::EntryId(i));
    let mut v = serde_json::to_vec(&s).unwrap();
    v.push(b'\n');
    v
}

/// `spoolbox --store STORE timeline ARGS` under `ulimit -v` (KiB of address space), timed.
fn timeline_limited(store: &Path, vmem_kib: u64, args: &str) -> (Output, Duration) {
    let bin = env!("CARGO_BIN_EXE_spoolbox");
    let script = format!(
        "ulimit -v {vmem_kib}; exec timeout 60 '{bin}' --store '{}' timeline {args}",
        store.display()
    );
    let t = Instant::now();
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    (o, t.elapsed())
}

fn ids(o: &Output) -> Vec<u64> {
    let v: Value = serde_json::from_slice(&ok(o).stdout)
        .unwrap_or_else(|e| panic!("--json: {e}\n{}", stdout(o)));
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["message"].as_u64().unwrap())
        .collect()
}

/// A store directory with one timeline segment, written by `fill`.
fn store_with_segment(
    fill: impl FnOnce(&mut std::fs::File),
) -> (tempfile::TempDir, std::path::PathBuf) {
    // On disk, not in /dev/shm: the segments are large.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(store.join("timeline")).unwrap();
    let mut f = std::fs::File::create(store.join("timeline").join("00000001.jsonl")).unwrap();
    fill(&mut f);
    drop(f);
    (dir, store)
}

/// 400 MB of address space: the binary itself needs about a hundred; the 200 MB segment's
/// spans read whole needed several times that.
const VMEM_KIB: u64 = 400_000;

#[test]
fn last_3_of_a_200_mb_segment_reads_only_its_end() {
    let (_dir, store) = store_with_segment(|f| {
        let one = line(7);
        let block: Vec<u8> = one
            .iter()
            .copied()
            .cycle()
            .take(one.len() * 40_000)
            .collect();
        let mut written = 0;
        while written < 200 << 20 {
            f.write_all(&block).unwrap();
            written += block.len();
        }
        for i in 1..=5 {
            f.write_all(&line(1000 + i)).unwrap();
        }
    });
    let (o, took) = timeline_limited(&store, VMEM_KIB, "--json --last 3");
    assert_eq!(
        ids(&o),
        vec![1003, 1004, 1005],
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(3), "--last 3 took {took:?}");
    // Every span ended long before the last hour: --since stops at the first it reads back.
    let (o, took) = timeline_limited(&store, VMEM_KIB, "--json --since 1h");
    assert_eq!(
        ids(&o),
        Vec::<u64>::new(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(3), "--since 1h took {took:?}");
}

#[test]
fn last_3_of_a_6_gb_sparse_segment_and_of_one_all_zeros() {
    let (_dir, store) = store_with_segment(|f| {
        f.set_len(6 << 30).unwrap();
        std::io::Seek::seek(f, std::io::SeekFrom::End(0)).unwrap();
        for i in 1..=5 {
            f.write_all(&line(i)).unwrap();
        }
    });
    let (o, took) = timeline_limited(&store, VMEM_KIB, "--json --last 3");
    assert_eq!(
        ids(&o),
        vec![3, 4, 5],
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(3), "--last 3 took {took:?}");
    // Nothing but zeros: no line at all, stepped over rather than read as one.
    let (_dir2, zeros) = store_with_segment(|f| f.set_len(6 << 30).unwrap());
    let (o, took) = timeline_limited(&zeros, VMEM_KIB, "--last 3");
    assert!(
        stdout(ok(&o)).contains("nothing recorded"),
        "{}",
        stdout(&o)
    );
    assert!(took < Duration::from_secs(5), "zeros took {took:?}");
    // Dense zeros (written, not a hole) end a line and are stepped over quickly, and a line
    // over the cap is skipped and counted, never held whole.
    let (_dir3, dense) = store_with_segment(|f| {
        f.write_all(&line(1)).unwrap();
        f.write_all(&vec![b'x'; 16 << 20]).unwrap();
        f.write_all(b"\n").unwrap();
        f.write_all(&vec![0u8; 64 << 20]).unwrap();
        f.write_all(&line(2)).unwrap();
    });
    let (o, took) = timeline_limited(&dense, VMEM_KIB, "--json");
    assert_eq!(
        ids(&o),
        vec![1, 2],
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("note: 1 unreadable line(s) skipped"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(10), "dense zeros took {took:?}");
}
