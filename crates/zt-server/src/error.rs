//! What can go wrong in the server and its administration commands.

use thiserror::Error;

/// A failure of the server or of an administration command. Messages name the thing at
/// fault and carry no secret.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The database URL is not one zt-server speaks.
    #[error("unsupported database URL (expected sqlite://PATH or postgres://...)")]
    DatabaseUrl,
    /// Another server is serving this SQLite database.
    #[error("another zt-server is serving {0}: one server at a time verifies tasks against a SQLite database (use PostgreSQL to run several)")]
    DatabaseInUse(String),
    /// The host key file cannot be read or written.
    #[error("host key file {path}: {problem}")]
    HostKey {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// No such organization.
    #[error("organization {0} not found")]
    UnknownOrg(String),
    /// No account with this e-mail address in the organization.
    #[error("no agent with e-mail {0} in this organization")]
    UnknownAgent(String),
    /// The e-mail address is taken in the organization.
    #[error("an agent with e-mail {0} already exists in this organization")]
    EmailTaken(String),
    /// Invalid input to a command.
    #[error("{0}")]
    Invalid(String),
    /// zt-core or the ledger refused.
    #[error(transparent)]
    Ledger(#[from] zt_store::LedgerError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] zt_store::StoreError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The network or a file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Sending e-mail failed.
    #[error("mail: {0}")]
    Mail(String),
}
