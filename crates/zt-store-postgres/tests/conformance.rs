//! The conformance suite, against the PostgreSQL server at `ZT_TEST_POSTGRES_URL`, each
//! store in a schema of its own; "another handle" is a second pool, as a second server has.

mod common;

zt_store::conformance_tests!(common::postgres());
