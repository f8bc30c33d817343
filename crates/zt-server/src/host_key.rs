//! The host key: signs what the host says (roles, organization resets), never an agent's
//! statement. Kept in a file of its own, mode 0600, outside the database, so that reading
//! the database does not give it away. Several servers on one database share the file.

use std::io::Write;
use std::path::Path;

use zeroize::Zeroizing;
use zt_core::{HostKey, HostSeed};

use crate::error::ServerError;

const HEADER: &str = "zt-host-key-v1";

/// Loads the host key from `path`, or creates it there if the file does not exist.
pub fn load_or_create(path: &Path) -> Result<HostKey, ServerError> {
    match std::fs::read(path) {
        Ok(bytes) => parse(&Zeroizing::new(bytes)).ok_or_else(|| ServerError::HostKey {
            path: path.display().to_string(),
            problem: format!("not a {HEADER} file"),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(error) => Err(ServerError::HostKey {
            path: path.display().to_string(),
            problem: error.to_string(),
        }),
    }
}

fn parse(bytes: &[u8]) -> Option<HostKey> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(lines.next()?.trim(), seed.as_mut_slice()).ok()?;
    if lines.any(|line| !line.trim().is_empty()) {
        return None;
    }
    Some(HostKey::from_seed(HostSeed::from_bytes(*seed)))
}

fn create(path: &Path) -> Result<HostKey, ServerError> {
    let failed = |error: std::io::Error| ServerError::HostKey {
        path: path.display().to_string(),
        problem: error.to_string(),
    };
    let key = HostKey::generate(&mut rand_core::OsRng);
    let text = Zeroizing::new(format!(
        "{HEADER}\n{}\n",
        hex::encode(key.seed().expose_secret())
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    tracing::info!(path = %path.display(), public = %key.public(), "created a new host key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_loads_again_and_a_damaged_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.key");
        let created = load_or_create(&path).unwrap();
        assert_eq!(load_or_create(&path).unwrap().public(), created.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "zt-host-key-v1\nnot hex\n").unwrap();
        assert!(load_or_create(&path).is_err());
    }
}
