//! Entry ids, and the maps and sets keyed by them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An entry id: never reused within a store. Messages and folders share the number space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub u64);

impl EntryId {
    /// The `PT_BINARY` form stored in properties such as `PR_SENTMAIL_ENTRYID`.
    pub fn to_bytes(self) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }

    /// Reads the `PT_BINARY` form; `None` when it is not 8 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(Self(u64::from_be_bytes(b.try_into().ok()?)))
    }

    /// The file stem used on disk: zero-padded so a directory listing sorts by id.
    pub fn file_stem(self) -> String {
        format!("{:010}", self.0)
    }
}

/// Hashes an [`EntryId`] by one multiplication (Fibonacci hashing). Ids are handed out by
/// the store itself, so there is no adversary to guard against with `SipHash`, and the
/// spooler looks ids up several times per step.
#[derive(Clone, Copy, Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by entry id, hashed with [`IdHasher`].
pub type IdMap<V> = std::collections::HashMap<EntryId, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A set of entry ids, hashed with [`IdHasher`].
pub type IdSet = std::collections::HashSet<EntryId, std::hash::BuildHasherDefault<IdHasher>>;

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Text that is not an entry id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a message id (a number such as 42)")]
pub struct ParseIdError {
    /// The text as given.
    pub input: String,
}

impl std::str::FromStr for EntryId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        let t = s.trim().trim_start_matches('#');
        t.parse::<u64>().map(Self).map_err(|_| ParseIdError {
            input: s.to_owned(),
        })
    }
}
