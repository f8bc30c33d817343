//! Examples of embedding zt: `walkthrough.rs` (`cargo run --example walkthrough`) runs the
//! key lifecycle in-process; [`device`] is a device-side verifier as a managed endpoint
//! runs it, with `device_verifier.rs` as its command line.

pub mod device;
pub mod http_source;
