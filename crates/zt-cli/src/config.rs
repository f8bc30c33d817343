//! Profiles and the client's local state, in the user's config directory.
//!
//! ```text
//! $ZT_CONFIG_DIR (else $XDG_CONFIG_HOME/zt, else ~/.config/zt), mode 0700
//!   profiles/<name>.json          server, API token, organization, agent   (0600)
//!   state/<name>/request.json     the key request this client made          (0600)
//!   state/<name>/session.json     the prompt-frequency session key          (0600)
//! ```
//!
//! Nothing here is a passphrase or derives one. The API token stands in for the host's
//! account login; the session key signs tasks for a day or a week after `zt unlock`, as the
//! agent chose, and is deleted by `zt logout`, `zt key change` and `zt unlock --for task`.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zt_core::{AgentId, KeyId, OrgId, RequestId, UnixTime};

use crate::error::{file_error, CliError};

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// The config directory and the chosen profile's name.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    dir: PathBuf,
    profile: String,
}

/// A logged-in profile.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    /// The server's base URL, without a trailing slash.
    pub(crate) server: String,
    /// The API token (secret).
    pub(crate) token: String,
    /// The organization the token belongs to.
    pub(crate) org: OrgId,
    /// The agent the token belongs to.
    pub(crate) agent: AgentId,
}

impl Drop for Profile {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

impl Drop for SessionFile {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.seed);
    }
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("server", &self.server)
            .field("token", &"<redacted>")
            .field("org", &self.org)
            .field("agent", &self.agent)
            .finish()
    }
}

/// The key request this client made, to check later that the key an approver approved is
/// the one requested.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestMemo {
    pub(crate) request: RequestId,
    pub(crate) key: KeyId,
    pub(crate) made_at: UnixTime,
}

/// A prompt-frequency session: the session key's seed and its delegation.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionFile {
    /// Hex of the session key's seed (secret).
    pub(crate) seed: String,
    /// Base64 of the delegation's canonical encoding (spec §9.2).
    pub(crate) delegation: String,
}

impl Config {
    /// The config directory from the environment, and the profile to use.
    pub(crate) fn from_env(profile: &str) -> Result<Config, CliError> {
        check_profile_name(profile)?;
        let dir = match std::env::var_os("ZT_CONFIG_DIR").filter(|dir| !dir.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
                Some(dir) => PathBuf::from(dir).join("zt"),
                None => match std::env::var_os("HOME").filter(|dir| !dir.is_empty()) {
                    Some(home) => PathBuf::from(home).join(".config").join("zt"),
                    None => {
                        return Err(CliError::usage("no config directory: HOME is not set")
                            .hint("set ZT_CONFIG_DIR to a directory for zt's profiles"))
                    }
                },
            },
        };
        Ok(Config {
            dir,
            profile: profile.to_owned(),
        })
    }

    /// The profile's name.
    pub(crate) fn profile_name(&self) -> &str {
        &self.profile
    }

    fn profile_path(&self) -> PathBuf {
        self.dir
            .join("profiles")
            .join(format!("{}.json", self.profile))
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join("state").join(&self.profile)
    }

    /// The logged-in profile, or a usage error saying how to log in.
    pub(crate) fn profile(&self) -> Result<Profile, CliError> {
        read_json(&self.profile_path())?.ok_or_else(|| {
            CliError::usage(format!("not logged in (profile {:?})", self.profile))
                .hint("run `zt login --server URL --token TOKEN` first")
        })
    }

    /// Saves the profile; a new identity starts with fresh local state.
    pub(crate) fn save_profile(&self, profile: &Profile) -> Result<(), CliError> {
        if let Some(old) = read_json::<Profile>(&self.profile_path())? {
            if old.org != profile.org || old.agent != profile.agent {
                self.clear_state()?;
            }
        }
        write_private(&self.profile_path(), &to_json(profile))
    }

    /// The key request this client made, if any.
    pub(crate) fn request_memo(&self) -> Result<Option<RequestMemo>, CliError> {
        read_json(&self.state_dir().join("request.json"))
    }

    /// Remembers the key request this client made.
    pub(crate) fn save_request_memo(&self, memo: &RequestMemo) -> Result<(), CliError> {
        write_private(&self.state_dir().join("request.json"), &to_json(memo))
    }

    /// Forgets the key request.
    pub(crate) fn clear_request_memo(&self) -> Result<(), CliError> {
        remove(&self.state_dir().join("request.json"))
    }

    /// The prompt-frequency session, if any.
    pub(crate) fn session(&self) -> Result<Option<SessionFile>, CliError> {
        read_json(&self.state_dir().join("session.json"))
    }

    /// Stores the session key (secret) and its delegation.
    pub(crate) fn save_session(&self, session: &SessionFile) -> Result<(), CliError> {
        write_private(&self.state_dir().join("session.json"), &to_json(session))
    }

    /// Deletes the session key.
    pub(crate) fn clear_session(&self) -> Result<(), CliError> {
        remove(&self.state_dir().join("session.json"))
    }

    fn clear_state(&self) -> Result<(), CliError> {
        self.clear_session()?;
        self.clear_request_memo()
    }
}

/// Profile names become file names: keep them plain.
fn check_profile_name(name: &str) -> Result<(), CliError> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(CliError::usage(format!("invalid profile name {name:?}"))
            .hint("use 1 to 64 letters, digits, '-' or '_'"))
    }
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, CliError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(file_error("read", path, error)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
        CliError::refused(format!("{} is damaged: {error}", path.display()))
            .hint("delete it and log in again")
    })
}

fn remove(path: &Path) -> Result<(), CliError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(file_error("delete", path, error)),
    }
}

/// Creates `path`'s directory with mode 0700 if it is missing.
fn private_dir(path: &Path) -> Result<(), CliError> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|error| file_error("create", dir, error))
}

/// Writes `bytes` to `path` with mode 0600, replacing it whole or not at all (a temporary
/// file renamed over it).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    private_dir(path)?;
    let temporary = path.with_extension("tmp");
    let _ = fs::remove_file(&temporary);
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    written.map_err(|error| {
        let _ = fs::remove_file(&temporary);
        file_error("write", path, error)
    })
}

/// Writes a new file with mode 0600; refuses if `path` exists (nothing is overwritten).
pub(crate) fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let mut file = match created {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::usage(format!(
                "{} exists: zt does not overwrite files",
                path.display()
            ))
            .hint("choose another path, or move the old file away first"))
        }
        Err(error) => return Err(file_error("create", path, error)),
    };
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    written.map_err(|error| {
        let _ = fs::remove_file(path);
        file_error("write", path, error)
    })
}

/// True if others than the owner may read `path`.
pub(crate) fn readable_by_others(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o077 != 0)
}
