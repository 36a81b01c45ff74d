//! Where a password is kept: the OS keyring (the Secret Service on Linux, the Keychain on
//! macOS, the Credential Manager on Windows) through the `keyring` crate, and the 0600 file
//! where no keyring answers (CI, a desktop-less Linux) or the keyring is turned off
//! (`SPOOLBOX_KEYRING=off`). Reads try the keyring first, then the file (a password stored
//! before a keyring answered still logs in); writes go to the keyring when it answers, and
//! then leave no copy in the file.
//!
//! A password travels as a [`Secret`], whose `Debug` shows none of it and which has no
//! `Display`: it cannot end up in a trace, an event, a log line or an error message by a
//! stray `{:?}`. The keyring's own errors are shown by their text only (one of them carries
//! the raw bytes of an entry that is not UTF-8).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{CredentialsError, default_path, password, store_password};

/// The keyring's service name; the entry's user is the key `user@host:port`.
pub const SERVICE: &str = "spoolbox";

/// The environment variable that turns the keyring off (`off`, `0`, `no`, `false`): the file
/// alone holds passwords.
pub const KEYRING_ENV: &str = "SPOOLBOX_KEYRING";

/// What the platform's keyring is called in the window and on the command line.
pub const KEYRING_NAME: &str = if cfg!(target_os = "macos") {
    "macOS Keychain"
} else if cfg!(target_os = "windows") {
    "Windows Credential Manager"
} else if cfg!(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd"
)) {
    "Secret Service keyring"
} else {
    "OS keyring"
};

/// A password. Its `Debug` prints no character of it and it has no `Display`; only
/// [`Secret::expose`] gives it out, where it goes on the wire or into a store of secrets.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty password.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(not shown)")
    }
}

/// Why a password is (or would be) in the file rather than the keyring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileReason {
    /// No keyring answered; its error, for a hover or `--json`.
    NoKeyring(String),
    /// The keyring is turned off; the text says how.
    KeyringOff(String),
    /// The keyring answers, but the password was stored in the file before it did.
    Earlier,
}

/// Where a password is kept, or would be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// The OS keyring ([`KEYRING_NAME`]).
    Keyring,
    /// The credentials file.
    File {
        /// The file.
        path: PathBuf,
        /// Why not the keyring.
        why: FileReason,
    },
}

/// `path` with the home directory written `~`.
pub fn tilde(path: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

impl std::fmt::Display for Holder {
    /// "in the Secret Service keyring", "in ~/.config/spoolbox/credentials.json (0600), no
    /// keyring answered".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Keyring => write!(f, "in the {KEYRING_NAME}"),
            Self::File { path, why } => {
                write!(f, "in {} (0600), ", tilde(path))?;
                match why {
                    FileReason::NoKeyring(_) => f.write_str("no keyring answered"),
                    FileReason::KeyringOff(how) => write!(f, "the keyring is off ({how})"),
                    FileReason::Earlier => f.write_str("stored before the keyring answered"),
                }
            }
        }
    }
}

/// Whether a password is stored for a key, and where (or where it would go).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordState {
    /// `user@host:port`.
    pub key: String,
    /// A password is stored.
    pub stored: bool,
    /// Where it is, or where the next one would go.
    pub holder: Holder,
}

impl std::fmt::Display for PasswordState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.stored {
            write!(f, "stored {}", self.holder)
        } else {
            write!(f, "not stored (it would be kept {})", self.holder)
        }
    }
}

/// What the keyring said.
enum Answer<T> {
    /// It answered with this.
    Yes(T),
    /// It answered: no such entry.
    NoEntry,
    /// It did not answer, or is off: why, for the file's holder.
    Not(FileReason),
}

/// The passwords of one user: the keyring (unless off) and the credentials file.
pub struct Vault {
    file: PathBuf,
    /// `Some(how)`: the keyring is off.
    off: Option<String>,
    /// The keyring's entries asked for so far (handles, never passwords).
    entries: Mutex<HashMap<String, Arc<keyring::Entry>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("file", &self.file)
            .field("off", &self.off)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// This user's: the keyring unless `SPOOLBOX_KEYRING` turns it off, and the credentials
    /// file in the configuration directory.
    ///
    /// # Errors
    /// [`CredentialsError::NoConfigDir`].
    pub fn for_user() -> Result<Self, CredentialsError> {
        let off = std::env::var(KEYRING_ENV).ok().filter(|v| {
            ["off", "0", "no", "false"].contains(&v.trim().to_ascii_lowercase().as_str())
        });
        Ok(Self {
            file: default_path()?,
            off: off.map(|v| format!("{KEYRING_ENV}={v}")),
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The keyring (whichever `keyring::set_default_credential_builder` chose) and `file`.
    pub fn with_keyring(file: PathBuf) -> Self {
        Self {
            file,
            off: None,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The file alone; `how` says why (shown where the password is).
    pub fn file_only(file: PathBuf, how: &str) -> Self {
        Self {
            file,
            off: Some(how.to_owned()),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The credentials file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The keyring's entry for `key` (made once per vault).
    ///
    /// # Errors
    /// The keyring's, as text.
    pub fn entry(&self, key: &str) -> Result<Arc<keyring::Entry>, String> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| "the keyring's entries are unusable (a thread panicked)".to_owned())?;
        if let Some(e) = entries.get(key) {
            return Ok(Arc::clone(e));
        }
        let e = Arc::new(keyring::Entry::new(SERVICE, key).map_err(|e| keyring_text(&e))?);
        entries.insert(key.to_owned(), Arc::clone(&e));
        Ok(e)
    }

    fn ask<T>(
        &self,
        key: &str,
        f: impl FnOnce(&keyring::Entry) -> keyring::Result<T>,
    ) -> Answer<T> {
        if let Some(how) = &self.off {
            return Answer::Not(FileReason::KeyringOff(how.clone()));
        }
        let entry = match self.entry(key) {
            Ok(e) => e,
            Err(why) => return Answer::Not(FileReason::NoKeyring(why)),
        };
        match f(&entry) {
            Ok(v) => Answer::Yes(v),
            Err(keyring::Error::NoEntry) => Answer::NoEntry,
            Err(e) => Answer::Not(FileReason::NoKeyring(keyring_text(&e))),
        }
    }

    /// The password stored for `key`, and where it is (or would be).
    ///
    /// # Errors
    /// An unreadable, corrupt or too open credentials file.
    pub fn lookup(&self, key: &str) -> Result<(Option<Secret>, Holder), CredentialsError> {
        let why = match self.ask(key, keyring::Entry::get_password) {
            Answer::Yes(p) => return Ok((Some(Secret(p)), Holder::Keyring)),
            Answer::NoEntry => None,
            Answer::Not(why) => Some(why),
        };
        let file = |why| Holder::File {
            path: self.file.clone(),
            why,
        };
        Ok(match (password(&self.file, key)?, why) {
            (Some(p), None) => (Some(Secret(p)), file(FileReason::Earlier)),
            (Some(p), Some(why)) => (Some(Secret(p)), file(why)),
            (None, None) => (None, Holder::Keyring),
            (None, Some(why)) => (None, file(why)),
        })
    }

    /// Whether a password is stored for `key`, and where.
    ///
    /// # Errors
    /// As [`Vault::lookup`].
    pub fn state(&self, key: &str) -> Result<PasswordState, CredentialsError> {
        let (p, holder) = self.lookup(key)?;
        Ok(PasswordState {
            key: key.to_owned(),
            stored: p.is_some(),
            holder,
        })
    }

    /// Stores the password for `key` (the keyring when it answers, else the file), or with
    /// `None` forgets it in both; says where it is (or would be) now.
    ///
    /// # Errors
    /// The file could not be written (when it is the one that holds it).
    pub fn store(
        &self,
        key: &str,
        secret: Option<&Secret>,
    ) -> Result<PasswordState, CredentialsError> {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            let why = match self.ask(key, keyring::Entry::delete_credential) {
                Answer::Yes(()) | Answer::NoEntry => None,
                Answer::Not(why) => Some(why),
            };
            store_password(&self.file, key, None)?;
            return Ok(PasswordState {
                key: key.to_owned(),
                stored: false,
                holder: why.map_or(Holder::Keyring, |why| Holder::File {
                    path: self.file.clone(),
                    why,
                }),
            });
        };
        let why = match self.ask(key, |e| e.set_password(secret.expose())) {
            Answer::Yes(()) => {
                // One place for one password: a copy left in the file would outlive a change.
                if matches!(password(&self.file, key), Ok(Some(_))) {
                    store_password(&self.file, key, None)?;
                }
                return Ok(PasswordState {
                    key: key.to_owned(),
                    stored: true,
                    holder: Holder::Keyring,
                });
            }
            Answer::NoEntry => FileReason::NoKeyring("the keyring found no entry to write".into()),
            Answer::Not(why) => why,
        };
        store_password(&self.file, key, Some(secret.expose()))?;
        Ok(PasswordState {
            key: key.to_owned(),
            stored: true,
            holder: Holder::File {
                path: self.file.clone(),
                why,
            },
        })
    }
}

/// A keyring error as text: its `Display` (never its `Debug`: `BadEncoding` carries the
/// entry's bytes).
fn keyring_text(e: &keyring::Error) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use keyring::mock::{self, MockCredential};

    use super::*;

    /// The crate's mock store in place of the platform's (process-wide; the unit tests never
    /// reach the real keyring).
    fn mock_keyring() {
        keyring::set_default_credential_builder(mock::default_credential_builder());
    }

    #[test]
    fn the_keyring_holds_the_password_and_the_file_gets_none() {
        mock_keyring();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials.json");
        let v = Vault::with_keyring(file.clone());
        let key = "alice@127.0.0.1:2525";
        let s = v.state(key).unwrap();
        assert!(!s.stored);
        assert_eq!(s.holder, Holder::Keyring);
        let s = v.store(key, Some(&Secret::new("pw-in-keyring"))).unwrap();
        assert_eq!(s.holder, Holder::Keyring);
        assert_eq!(s.to_string(), format!("stored in the {KEYRING_NAME}"));
        let (p, h) = v.lookup(key).unwrap();
        assert_eq!(p.unwrap().expose(), "pw-in-keyring");
        assert_eq!(h, Holder::Keyring);
        assert!(!file.exists(), "nothing written to the file");
        v.store(key, None).unwrap();
        assert!(v.lookup(key).unwrap().0.is_none());
    }

    #[test]
    fn a_keyring_that_does_not_answer_leaves_the_password_in_the_0600_file() {
        mock_keyring();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials.json");
        let v = Vault::with_keyring(file.clone());
        let key = "bob@mail.example:587";
        let fail = |v: &Vault| {
            let e = v.entry(key).unwrap();
            let m: &MockCredential = e.get_credential().downcast_ref().unwrap();
            m.set_error(keyring::Error::NoStorageAccess("no D-Bus session".into()));
        };
        fail(&v);
        let s = v.store(key, Some(&Secret::new("pw-in-file"))).unwrap();
        assert!(s.stored);
        assert!(
            matches!(&s.holder, Holder::File { why: FileReason::NoKeyring(w), .. } if w.contains("no D-Bus session")),
            "{s:?}"
        );
        assert!(
            s.to_string()
                .ends_with("credentials.json (0600), no keyring answered"),
            "{s}"
        );
        assert_eq!(password(&file, key).unwrap().as_deref(), Some("pw-in-file"));
        // The keyring answers again: the file's password still logs in, and says so.
        let (p, h) = v.lookup(key).unwrap();
        assert_eq!(p.unwrap().expose(), "pw-in-file");
        assert!(
            matches!(
                h,
                Holder::File {
                    why: FileReason::Earlier,
                    ..
                }
            ),
            "{h:?}"
        );
        // Stored again, it moves to the keyring and leaves the file.
        let s = v.store(key, Some(&Secret::new("pw-moved"))).unwrap();
        assert_eq!(s.holder, Holder::Keyring);
        assert_eq!(password(&file, key).unwrap(), None);
    }

    #[test]
    fn the_keyring_turned_off_uses_the_file_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials.json");
        let v = Vault::file_only(file.clone(), "SPOOLBOX_KEYRING=off");
        let s = v.store("u@h:25", Some(&Secret::new("x"))).unwrap();
        assert!(
            s.to_string()
                .ends_with("(0600), the keyring is off (SPOOLBOX_KEYRING=off)"),
            "{s}"
        );
        assert_eq!(v.lookup("u@h:25").unwrap().0.unwrap().expose(), "x");
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let s = Secret::new("hunter2-distinctive");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }
}
