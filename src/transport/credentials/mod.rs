//! SMTP passwords, kept out of the store: in the OS keyring where one answers ([`Vault`],
//! `vault.rs`), else in a JSON file in the user's configuration directory
//! (`$XDG_CONFIG_HOME/spoolbox/credentials.json` on Linux), mode 0600, written atomically.
//! The store's JSON only names the user; a store copied or attached to a bug report carries
//! no secret. A file that others can read is refused, as ssh refuses such a key.
//!
//! On Windows the keyring is the Credential Manager (keyring's `windows-native`), which is
//! where a password goes whenever it answers. The fallback file is
//! `%APPDATA%\Spoolbox\spoolbox\config\credentials.json`, created with a protected DACL of
//! one entry, full access for the user (`durable::acl`: what mode 0600 is on Unix; nothing is
//! inherited from the profile folder, so neither `SYSTEM` nor the Administrators group is
//! granted). A file found with any other DACL (one written before, or loosened by hand) is
//! tightened to that when it is read.

mod vault;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use vault::{
    FileReason, Holder, KEYRING_ENV, KEYRING_NAME, PasswordState, SERVICE, Secret, Vault, tilde,
};

/// Why a password could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No configuration directory is known on this platform.
    #[error("no configuration directory is known here (set XDG_CONFIG_HOME or HOME)")]
    NoConfigDir,
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The credentials file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not the JSON this module writes.
    #[error("{path}: not a credentials file: {why}")]
    Corrupt {
        /// The credentials file.
        path: PathBuf,
        /// The parse error.
        why: String,
    },
    /// Group or others may read the file.
    #[error(
        "{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}` and try again"
    )]
    TooOpen {
        /// The credentials file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The credentials file of this user: `<config dir>/credentials.json`.
///
/// # Errors
/// [`CredentialsError::NoConfigDir`].
pub fn default_path() -> Result<PathBuf, CredentialsError> {
    directories::ProjectDirs::from("org", "Spoolbox", "spoolbox")
        .map(|d| d.config_dir().join("credentials.json"))
        .ok_or(CredentialsError::NoConfigDir)
}

/// The key a password is stored under: `user@host:port`, so two servers with the same user
/// name keep two passwords.
pub fn key(user: &str, host: &str, port: u16) -> String {
    format!("{user}@{host}:{port}")
}

fn read_map(path: &Path) -> Result<BTreeMap<String, String>, CredentialsError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(CredentialsError::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
    };
    check_mode(path)?;
    serde_json::from_slice(&bytes).map_err(|e| CredentialsError::Corrupt {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::metadata(path).map_err(|e| CredentialsError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(windows)]
fn check_mode(path: &Path) -> Result<(), CredentialsError> {
    let io = |e| CredentialsError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    if !crate::durable::acl::is_owner_only(path).map_err(io)? {
        // Written before files were made owner-only, or loosened since: tightened now.
        crate::durable::acl::restrict_to_owner(path).map_err(io)?;
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
#[allow(
    clippy::unnecessary_wraps,
    reason = "the same signature as the Unix check; nothing to check here"
)]
fn check_mode(_path: &Path) -> Result<(), CredentialsError> {
    Ok(())
}

/// The password stored under `key` in the file at `path`, if any.
///
/// # Errors
/// An unreadable, corrupt or too open file.
pub fn password(path: &Path, key: &str) -> Result<Option<String>, CredentialsError> {
    Ok(read_map(path)?.remove(key))
}

/// Stores (or, with `None`, removes) the password under `key`: the file is written whole
/// with mode 0600 under a temp name and renamed into place, so a crash leaves the old file
/// or the new one.
///
/// # Errors
/// I/O errors, a corrupt or too open existing file.
pub fn store_password(
    path: &Path,
    key: &str,
    password: Option<&str>,
) -> Result<(), CredentialsError> {
    let io = |e| CredentialsError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut map = read_map(path)?;
    match password {
        Some(p) => map.insert(key.to_owned(), p.to_owned()),
        None => map.remove(key),
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let bytes = serde_json::to_vec_pretty(&map).map_err(|e| CredentialsError::Corrupt {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let tmp = dir.join(format!(".credentials.{}.tmp", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Created 0600 from the first byte: never a moment in which others could read it.
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    // Owner-only before the first byte of the secret is written (Windows' 0600).
    #[cfg(windows)]
    crate::durable::acl::restrict_to_owner(&tmp).map_err(io)?;
    f.write_all(&bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_password_is_stored_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("credentials.json");
        assert_eq!(password(&path, "u@h:25").unwrap(), None);
        store_password(&path, "u@h:25", Some("s3cret")).unwrap();
        assert_eq!(
            password(&path, "u@h:25").unwrap().as_deref(),
            Some("s3cret")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let e = password(&path, "u@h:25").unwrap_err();
            assert!(e.to_string().contains("chmod 600"), "{e}");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        #[cfg(windows)]
        {
            use crate::durable::acl::{is_owner_only, under_wine};
            // A protected DACL with one entry, the user's: only its owner can open it (Wine
            // reports a DACL made from the Unix mode instead: there the calls are checked to
            // succeed, not read back).
            assert!(under_wine() || is_owner_only(&path).unwrap());
            // A file with an inherited DACL (written by an older version) is tightened when
            // read.
            let old = dir.path().join("old.json");
            fs::write(&old, b"{\"u@h:25\":\"s3cret\"}").unwrap();
            assert!(!is_owner_only(&old).unwrap());
            assert_eq!(password(&old, "u@h:25").unwrap().as_deref(), Some("s3cret"));
            assert!(under_wine() || is_owner_only(&old).unwrap());
        }
        store_password(&path, "u@h:25", None).unwrap();
        assert_eq!(password(&path, "u@h:25").unwrap(), None);
    }
}
