//! zt-store: where zt keeps its logs, and how a server serves verified state from them.
//!
//! - [`Store`]: the storage trait. A store appends entries atomically with their views
//!   (agent statuses, pending requests, recovery registrations, key history) and
//!   notifications, under optimistic concurrency, and reads them back. It decides nothing and trusts nothing it returns.
//!   Backends: `zt-store-memory`, `zt-store-sqlite` (the embedded default),
//!   `zt-store-postgres` (several servers on one database).
//! - [`Ledger`]: each organization's state, verified by zt-core from the stored log and
//!   kept in memory, caught up before every command; commands are decided by zt-core.
//! - `conformance` (feature `conformance`): the suite every backend must pass.
//!
//! zt-store does no I/O of its own; backends do.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod horizon;
mod ledger;
mod model;
mod store;

pub use error::{LedgerError, StoreError};
pub use ledger::Ledger;
pub use model::{
    page_limit, retry_at, Append, HistoryCursor, HistoryLine, Notification, OutboxMessage, Page,
    ReplayRecord, SessionRecord, StatusFilter, MAX_PAGE,
};
pub use store::Store;
