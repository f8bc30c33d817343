//! Opening the database a URL names: SQLite (the default) or PostgreSQL, and deciding how
//! a serving process spends replay keys there.

use std::ffi::OsString;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use zt_store_sql::SqlStore;

use crate::error::ServerError;

/// The default database: `zt.sqlite` in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://zt.sqlite";

/// Opens and migrates the store at `url`: `sqlite://PATH` (created if missing) or
/// `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> Result<SqlStore, ServerError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(ServerError::DatabaseUrl);
        }
        let url = if path.contains('?') {
            url.to_owned()
        } else {
            format!("{url}?mode=rwc")
        };
        return Ok(zt_store_sqlite::open_url(&url).await?);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(zt_store_postgres::open(url).await?);
    }
    Err(ServerError::DatabaseUrl)
}

/// Where `zt-server serve` spends task authorizations' replay keys.
#[derive(Debug)]
pub enum ReplayKeys {
    /// In the database, a commit per key (in groups): several servers may share it
    /// (PostgreSQL; spec §9.4).
    Shared,
    /// In memory, behind the database's durable horizon (spec §9.5): this server alone
    /// verifies tasks against the database (SQLite), and holds the lock that says so.
    Alone(VerifierLock),
}

/// An exclusive lock on `PATH.verifier-lock` beside a SQLite database, held while a server
/// verifies tasks against it. The operating system releases it when the process ends, a
/// crash included. Administration commands do not take it: they verify no tasks.
#[derive(Debug)]
pub struct VerifierLock {
    _file: Option<File>,
}

/// How a server serving the database at `url` spends replay keys: alone on a SQLite
/// database, whose verifier lock it takes here (refused if another server holds it);
/// shared on PostgreSQL.
pub fn replay_keys(url: &str) -> Result<ReplayKeys, ServerError> {
    let Some(path) = url.strip_prefix("sqlite://") else {
        return Ok(ReplayKeys::Shared);
    };
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Err(ServerError::DatabaseUrl);
    }
    if path.starts_with(":memory:") {
        // A database in memory is the process's own.
        return Ok(ReplayKeys::Alone(VerifierLock { _file: None }));
    }
    let lock_path = lock_path(Path::new(path));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)?;
    match file.try_lock() {
        Ok(()) => Ok(ReplayKeys::Alone(VerifierLock { _file: Some(file) })),
        Err(TryLockError::WouldBlock) => Err(ServerError::DatabaseInUse(path.to_owned())),
        Err(TryLockError::Error(error)) => Err(error.into()),
    }
}

/// The verifier lock file of the database at `path`: beside the file the path resolves to,
/// so that two spellings of one database (relative, absolute, through a symbolic link)
/// share one lock.
fn lock_path(path: &Path) -> PathBuf {
    let resolved = std::fs::canonicalize(path)
        .ok()
        .or_else(|| {
            // Not created yet: resolve its directory.
            let directory = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            Some(
                std::fs::canonicalize(directory)
                    .ok()?
                    .join(path.file_name()?),
            )
        })
        .unwrap_or_else(|| path.to_path_buf());
    let mut name = OsString::from(resolved);
    name.push(".verifier-lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::lock_path;

    #[test]
    fn one_database_has_one_lock_however_it_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("zt.sqlite");
        let before = lock_path(&database);
        std::fs::write(&database, b"").unwrap();
        let link = dir.path().join("link.sqlite");
        std::os::unix::fs::symlink(&database, &link).unwrap();
        let dotted = dir.path().join(".").join("zt.sqlite");
        assert_eq!(lock_path(&database), before);
        assert_eq!(lock_path(&link), before);
        assert_eq!(lock_path(&dotted), before);
        assert!(before.ends_with("zt.sqlite.verifier-lock"));
        assert_eq!(
            lock_path(Path::new("/nonexistent-dir/zt.sqlite")),
            Path::new("/nonexistent-dir/zt.sqlite.verifier-lock")
        );
    }
}
