//! The handlers, one module per kind of resource.

pub(crate) mod statements;
pub(crate) mod tasks;
pub(crate) mod views;
