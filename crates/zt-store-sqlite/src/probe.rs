//! The freshness check's fast path: whether a log has grown, read on the caller's thread.
//!
//! The ledger asks before most reads and every task verification whether the organization's
//! log has an entry past its cached state (spec §9.4). Through the pool, that one indexed
//! read costs two hand-offs to a connection's worker thread and back, which on a small
//! machine is most of a verification's wait. Here it is a point read on a read-only
//! connection of its own, in WAL mode, where readers never wait for the writer: a few
//! microseconds, on the calling thread.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use zt_core::{OrgId, Seq};
use zt_store::StoreError;
use zt_store_sql::EntryProbe;

/// The longest the read waits on a lock (only WAL recovery or a checkpoint restart holds
/// one against readers).
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

const HAS_ENTRIES_FROM: &str = "SELECT 1 FROM log_entries WHERE org = ?1 AND seq >= ?2 LIMIT 1";

/// A read-only connection to one SQLite file, for [`EntryProbe`].
pub(crate) struct FileProbe {
    connection: Mutex<Connection>,
}

impl FileProbe {
    /// Opens `path`, which must be the database file the pool opened (not an in-memory
    /// database: a second connection to one would read another, empty, database).
    pub(crate) fn open(path: &Path) -> Result<FileProbe, StoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(probe_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(probe_error)?;
        connection
            .prepare_cached(HAS_ENTRIES_FROM)
            .map_err(probe_error)?;
        Ok(FileProbe {
            connection: Mutex::new(connection),
        })
    }
}

impl EntryProbe for FileProbe {
    fn has_entries_from(&self, org: OrgId, from: Seq) -> Result<bool, StoreError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let from = i64::try_from(from.0).unwrap_or(i64::MAX);
        // In autocommit mode the statement is its own read transaction, begun now: it sees
        // every commit that finished before this call.
        let found: Option<i64> = connection
            .prepare_cached(HAS_ENTRIES_FROM)
            .map_err(probe_error)?
            .query_row((org.as_bytes().as_slice(), from), |row| row.get(0))
            .optional()
            .map_err(probe_error)?;
        Ok(found.is_some())
    }
}

fn probe_error(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(error))
}
