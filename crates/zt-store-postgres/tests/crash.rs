//! Crash safety on PostgreSQL: as for SQLite, a child process appends in a loop and is
//! killed with SIGKILL at random moments, 20 times; after each kill every acknowledged append
//! is present, the log verifies, and the views equal a fresh fold.

mod common;

use zt_store::conformance::crash::{append_until_killed, survive_kills, CrashSetup};
use zt_store::conformance::StoreFactory;

const CHILD_URL: &str = "ZT_CRASH_CHILD_URL";
const CHILD_SCHEMA: &str = "ZT_CRASH_CHILD_SCHEMA";
const CHILD_ORG: &str = "ZT_CRASH_CHILD_ORG";
const CHILD_SEED: &str = "ZT_CRASH_CHILD_SEED";

/// Not a test of its own: the child process of `acknowledged_appends_survive_sigkill`. It
/// returns at once unless that test started it.
#[test]
fn crash_child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let schema = std::env::var(CHILD_SCHEMA).unwrap();
    let setup = CrashSetup::from_env(
        &std::env::var(CHILD_ORG).unwrap(),
        &std::env::var(CHILD_SEED).unwrap(),
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = zt_store_postgres::open_in_schema(&url, &schema)
            .await
            .unwrap();
        append_until_killed(store, setup).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill() {
    let Some(postgres) = common::postgres() else {
        return;
    };
    let store = postgres.create().await;
    let schema = common::Postgres::schema_of(&store).await;
    let setup = CrashSetup::prepare(store).await;
    let (org, seed) = setup.to_env();
    let child = || {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "crash_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_URL, &postgres.url)
            .env(CHILD_SCHEMA, &schema)
            .env(CHILD_ORG, &org)
            .env(CHILD_SEED, &seed);
        child
    };
    let open = || async {
        zt_store_postgres::open_in_schema(&postgres.url, &schema)
            .await
            .unwrap()
    };
    let summary = survive_kills(open, setup, child, 20).await;
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "postgres crash test: {summary}");
}
