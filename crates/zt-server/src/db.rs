//! Opening the database a URL names: SQLite (the default) or PostgreSQL.

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
