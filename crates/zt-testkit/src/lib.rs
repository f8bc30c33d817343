//! zt-testkit: test support shared by zt's tests, property tests, fuzz targets and benches.
//!
//! - [`world::World`]: a real organization run in-process, with helpers for every flow.
//!   Keys skip Argon2id (everything else is the real zt-core) so thousands of flows run fast.
//! - [`model::Model`]: a plain restatement of the key lifecycle, written apart from zt-core.
//! - [`ops::Op`]: honest and hostile steps, with proptest strategies and `Arbitrary`.
//! - [`run::check_sequence`]: runs steps against zt-core and the model side by side and
//!   checks DESIGN.md §6 after each one.
//!
//! Not for production: the keys it makes are only as secret as the seed you give it.

pub mod model;
pub mod ops;
pub mod run;
pub mod world;
