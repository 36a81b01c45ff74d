//! The reliability suites (issue 6): crash, power loss, corruption and bad input.
//!
//! - [`process`]: the real `spoolbox send --all` aborted at every kind of fail point and killed
//!   with SIGKILL at random instants, restarted until done, for the null transport, the pickup
//!   folder, both at once, and SMTP to a real server on loopback (deliveries counted in its log).
//! - [`power`]: random store operations on a simulated disk ([`simfs`]) that loses everything
//!   not fsynced when the power is cut at a random operation.
//! - [`corruption`]: damaged message files, `store.json` and journal (every byte cut, every bit
//!   flipped, zeros, bad UTF-8, unknown schema); `spoolbox doctor`; proptest fuzzing of the
//!   loader and the property-bag reader.
//! - [`bad_input`]: a 50 MB body, 10,000 recipients, path-like names, a read-only store, a
//!   full disk.
//! - [`stop`]: stopping without sending twice: a store error with a hand-off under way, SIGTERM
//!   and SIGINT during `spoolbox send`, a closed standard output, the window's worker shut down.
//!
//! Every suite runs a bounded number of cases by default (CI) and more on demand:
//! `SPOOLBOX_CRASH_RUNS`, `SPOOLBOX_POWER_CUTS`, `SPOOLBOX_FUZZ_CASES`, `SPOOLBOX_BITFLIP_ALL`.
//! Random choices come from one seed, printed by each test; `SPOOLBOX_CRASH_SEED=N` replays it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic with its message is the failure report"
)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::naive_bytecount,
    clippy::many_single_char_names,
    clippy::type_complexity,
    clippy::unnecessary_literal_bound,
    clippy::case_sensitive_file_extension_comparisons,
    clippy::range_plus_one,
    clippy::single_match_else,
    reason = "test code: small inputs, counts and names chosen for reading"
)]

mod bad_input;
mod corruption;
mod power;
mod process;
mod restore;
mod simfs;
mod stop;

/// A small seeded generator (`SplitMix64`): the same seed gives the same run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A count from the environment, or the default.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The seed of a test: `SPOOLBOX_CRASH_SEED`, or a fresh one from the clock. Printed, so a
/// failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let s = std::env::var("SPOOLBOX_CRASH_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("{test}: seed {s} (replay with SPOOLBOX_CRASH_SEED={s})");
    s
}
