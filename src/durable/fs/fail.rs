//! Fail points: the crash tests abort the real binary at a named point (`SPOOLBOX_FAILPOINT`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// How `SPOOLBOX_FAILPOINT` is set.
enum FailSpec {
    /// Abort at the `count`-th hit of `name`.
    Abort { name: String, count: u64 },
    /// `list`: print every fail point passed, so a test can number them.
    List,
}

fn fail_spec() -> Option<&'static FailSpec> {
    static SPEC: OnceLock<Option<FailSpec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let v = std::env::var("SPOOLBOX_FAILPOINT").ok()?;
        if v == "list" {
            return Some(FailSpec::List);
        }
        let (n, count) = v
            .split_once(':')
            .map_or((v.as_str(), 1), |(n, c)| (n, c.parse().unwrap_or(1)));
        Some(FailSpec::Abort {
            name: n.to_owned(),
            count,
        })
    })
    .as_ref()
}

/// True when `SPOOLBOX_FAILPOINT` is set, so callers that build a fail point's name skip that
/// work in normal runs.
pub fn fail_points_armed() -> bool {
    fail_spec().is_some()
}

/// Crashes the process here when the environment names this fail point.
///
/// `SPOOLBOX_FAILPOINT=name` aborts at the first hit, `name:N` at the N-th; `list` prints
/// `spoolbox: fail point NAME passed` to stderr at every fail point and goes on, so a test can
/// number every fail point of a run and abort at any one of them. Used by the crash tests,
/// which run the real binary and check what a restart finds.
pub fn fail_point(name: &str) {
    static HITS: AtomicU64 = AtomicU64::new(0);
    match fail_spec() {
        Some(FailSpec::List) => eprintln!("spoolbox: fail point {name} passed"),
        Some(FailSpec::Abort { name: want, count })
            if want == name && HITS.fetch_add(1, Ordering::Relaxed) + 1 >= *count =>
        {
            eprintln!("spoolbox: fail point {name} hit, aborting");
            std::process::abort();
        }
        _ => {}
    }
}
