//! Errors of stores and of the ledger.

use thiserror::Error;
use zt_core::{Head, LogError, OrgId, Refusal, Seq, TaskError};

/// A store could not do what was asked.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No organization with this id.
    #[error("organization {0} not found")]
    NotFound(OrgId),
    /// The organization exists already.
    #[error("organization {0} already exists")]
    AlreadyExists(OrgId),
    /// Another writer appended at this position first; nothing was written.
    #[error("another writer appended at sequence {seq} first")]
    Conflict {
        /// The position that was taken.
        seq: Seq,
    },
    /// A stored row cannot be read back as what it should be.
    #[error("stored {what} is unreadable")]
    Corrupt {
        /// What was being read.
        what: &'static str,
    },
    /// The database failed (connection, I/O, constraint other than a conflict).
    #[error("the storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The ledger could not carry out a command or serve a state.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// zt-core refused the command; nothing changed.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Another writer appended first. The client signs again at `head`.
    #[error("the log moved on; sign again at sequence {}", head.next_seq)]
    Conflict {
        /// The current head.
        head: Head,
    },
    /// A stored entry fails verification: the database was tampered with or damaged. The
    /// organization is not served until an operator looks.
    #[error("stored log of organization {org} fails verification: {error}")]
    Tampered {
        /// The organization.
        org: OrgId,
        /// The first bad entry.
        error: LogError,
    },
    /// The organization's log was made by another host key than this server's.
    #[error("organization {0} was created by another host key")]
    WrongHost(OrgId),
    /// A task authorization was refused.
    #[error(transparent)]
    Task(TaskError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
