//! Examples of embedding zt-core; see `walkthrough.rs` (`cargo run --example walkthrough`).
