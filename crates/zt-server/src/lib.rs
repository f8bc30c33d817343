//! zt-server: the reference server of zt.
//!
//! It serves zt-http's API over SQLite (the default, one file) or PostgreSQL (several
//! servers sharing one database), authenticates callers with API tokens from its own
//! account directory (standing in for a host's account login), sends e-mail from the
//! store's durable outbox through SMTP, and gives the host's administration commands:
//! organizations, agents and roles, and support's organization reset.
//!
//! # What it does not do
//!
//! It never holds an agent's passphrase or secret key: clients sign, the server stores and
//! checks. It terminates no TLS (put it behind a TLS proxy). Its host key, in a file of its
//! own, signs roles and resets only.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        reason = "tests assert by panicking"
    )
)]

pub mod accounts;
pub mod db;
pub mod error;
pub mod host;
pub mod host_key;
pub mod mail;
pub mod serve;

pub use error::ServerError;
