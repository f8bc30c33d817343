//! zt-store-sqlite: zt's embedded default store, one SQLite file.
//!
//! WAL journal, `synchronous = FULL` (an acknowledged append survives a crash of the process
//! and of the machine), a busy timeout so concurrent writers queue instead of failing, and
//! the versioned migrations in `migrations/`, compiled into the binary and applied on open.
//! The queries are shared with PostgreSQL (`zt-store-sql`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod probe;

use std::path::Path;
use std::sync::Arc;

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use zt_store::StoreError;
use zt_store_sql::backend;
pub use zt_store_sql::SqlStore;

/// Settings every connection gets.
const PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA foreign_keys = ON",
];

/// Opens (creating if needed) the store in the SQLite file at `path`, and migrates it.
pub async fn open(path: impl AsRef<Path>) -> Result<SqlStore, StoreError> {
    open_url(&format!("sqlite://{}?mode=rwc", path.as_ref().display())).await
}

/// Opens the store at a `sqlite://PATH` URL, and migrates it. A store in a file answers the
/// freshness check on the caller's thread (`probe.rs`); one in memory, through the pool.
pub async fn open_url(url: &str) -> Result<SqlStore, StoreError> {
    let store = open_pool(url).await?;
    match file_of(url) {
        Some(path) => Ok(store.with_entry_probe(Arc::new(probe::FileProbe::open(path)?))),
        None => Ok(store),
    }
}

/// The database file a `sqlite://` URL names; None for an in-memory database.
fn file_of(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty()
        || path.starts_with(":memory:")
        || path.starts_with("file:")
        || options.split('&').any(|option| option == "mode=memory");
    (!in_memory).then(|| Path::new(path))
}

async fn open_pool(url: &str) -> Result<SqlStore, StoreError> {
    install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        // A connection to a local file does not go stale; pinging it before every use
        // would cost each query a second trip to its worker thread.
        .test_before_acquire(false)
        .after_connect(|connection, _| {
            Box::pin(async move {
                for pragma in PRAGMAS {
                    sqlx::query(pragma).execute(&mut *connection).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(backend)?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|error| StoreError::Backend(Box::new(error)))?;
    Ok(SqlStore::from_pool(pool))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::file_of;

    #[test]
    fn only_a_file_gets_the_probe() {
        assert_eq!(
            file_of("sqlite://zt.sqlite?mode=rwc"),
            Some(Path::new("zt.sqlite"))
        );
        assert_eq!(
            file_of("sqlite:///var/lib/zt/zt.sqlite"),
            Some(Path::new("/var/lib/zt/zt.sqlite"))
        );
        for in_memory in [
            "sqlite://:memory:",
            "sqlite::memory:",
            "sqlite://file:zt?mode=memory&cache=shared",
            "sqlite://zt?mode=memory",
            "sqlite://",
        ] {
            assert_eq!(file_of(in_memory), None, "{in_memory}");
        }
    }
}
