//! zt-store-postgres: zt's store for several servers sharing one PostgreSQL database.
//!
//! Every server keeps its own verified cache (the ledger) and appends under the same
//! optimistic concurrency as on SQLite: the primary key `(org, seq)` of the log lets exactly
//! one of two racing writers take a position. The versioned migrations in `migrations/` are
//! compiled in and applied on open (sqlx takes an advisory lock, so servers starting together
//! do not race). The queries are shared with SQLite (`zt-store-sql`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::Connection;
use zt_store::StoreError;
use zt_store_sql::backend;
pub use zt_store_sql::SqlStore;

/// Connections per server.
const POOL_SIZE: u32 = 8;

/// Opens the store in the database at `url` (`postgres://…`), and migrates it.
pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
    connect(url, None).await
}

/// Opens the store in schema `schema` of the database at `url`, creating the schema if
/// needed (tests give each run its own). The name must be ASCII letters, digits and `_`.
pub async fn open_in_schema(url: &str, schema: &str) -> Result<SqlStore, StoreError> {
    if schema.is_empty()
        || !schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(StoreError::Backend("invalid schema name".into()));
    }
    install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.map_err(backend)?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
        .execute(&mut connection)
        .await
        .map_err(backend)?;
    connection.close().await.map_err(backend)?;
    connect(url, Some(schema.to_owned())).await
}

async fn connect(url: &str, schema: Option<String>) -> Result<SqlStore, StoreError> {
    install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(POOL_SIZE)
        .after_connect(move |connection, _| {
            let schema = schema.clone();
            Box::pin(async move {
                if let Some(schema) = schema {
                    sqlx::query(&format!("SET search_path TO \"{schema}\""))
                        .execute(&mut *connection)
                        .await?;
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
