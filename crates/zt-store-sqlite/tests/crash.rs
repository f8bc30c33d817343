//! Crash safety: a child process appends in a loop and is killed with SIGKILL at random
//! moments, 20 times; after each kill every acknowledged append is present, the log
//! verifies, and the views equal a fresh fold of the log (zt_store::conformance::crash).

use zt_store::conformance::crash::{append_until_killed, survive_kills, CrashSetup};

const CHILD_DB: &str = "ZT_CRASH_CHILD_DB";
const CHILD_ORG: &str = "ZT_CRASH_CHILD_ORG";
const CHILD_SEED: &str = "ZT_CRASH_CHILD_SEED";

/// Not a test of its own: the child process of `acknowledged_appends_survive_sigkill`. It
/// returns at once unless that test started it.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let setup = CrashSetup::from_env(
        &std::env::var(CHILD_ORG).unwrap(),
        &std::env::var(CHILD_SEED).unwrap(),
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        append_until_killed(zt_store_sqlite::open(path).await.unwrap(), setup).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zt.sqlite");
    let setup = CrashSetup::prepare(zt_store_sqlite::open(&path).await.unwrap()).await;
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
            .env(CHILD_DB, &path)
            .env(CHILD_ORG, &org)
            .env(CHILD_SEED, &seed);
        child
    };
    let summary = survive_kills(
        || async { zt_store_sqlite::open(&path).await.unwrap() },
        setup,
        child,
        20,
    )
    .await;
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "sqlite crash test: {summary}");
}
