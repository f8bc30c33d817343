//! zt-store-sqlite: zt's embedded default store, one SQLite file.
//!
//! WAL journal, `synchronous = FULL` (an acknowledged append survives a crash of the process
//! and of the machine), a busy timeout so concurrent writers queue instead of failing, and
//! the versioned migrations in `migrations/`, compiled into the binary and applied on open.
//! The queries are shared with PostgreSQL (`zt-store-sql`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::Path;

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

/// Opens the store at a `sqlite://PATH` URL, and migrates it.
pub async fn open_url(url: &str) -> Result<SqlStore, StoreError> {
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
