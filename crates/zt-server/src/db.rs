//! Opening the database a URL names: SQLite (the default) or PostgreSQL, and deciding how
//! a serving process spends replay keys there.

use std::fs::{File, TryLockError};
use std::path::PathBuf;

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
    let lock_path = PathBuf::from(format!("{path}.verifier-lock"));
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
