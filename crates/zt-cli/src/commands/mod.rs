//! One module per command group; `context` holds what the signing commands share.

pub(crate) mod context;
pub(crate) mod key;
pub(crate) mod log;
pub(crate) mod recovery;
pub(crate) mod requests;
pub(crate) mod session;
pub(crate) mod task;
pub(crate) mod views;
