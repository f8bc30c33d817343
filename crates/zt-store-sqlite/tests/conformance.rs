//! The conformance suite, against SQLite files in a temporary directory.

use sqlx::Row;
use zt_core::{OrgId, Seq};
use zt_store::conformance::StoreFactory;
use zt_store_sqlite::SqlStore;

struct Sqlite {
    dir: tempfile::TempDir,
    next: std::sync::atomic::AtomicU32,
}

impl Sqlite {
    fn new() -> Sqlite {
        Sqlite {
            dir: tempfile::tempdir().unwrap(),
            next: std::sync::atomic::AtomicU32::new(0),
        }
    }
}

impl StoreFactory for Sqlite {
    type Store = SqlStore;

    async fn create(&self) -> SqlStore {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        zt_store_sqlite::open(self.dir.path().join(format!("zt-{n}.sqlite")))
            .await
            .unwrap()
    }

    async fn another_handle(&self, store: &SqlStore) -> SqlStore {
        // The file this store's pool uses, opened again with a pool of its own.
        let row = sqlx::query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let path: String = row.get(0);
        zt_store_sqlite::open(path).await.unwrap()
    }

    async fn corrupt_entry(&self, store: &SqlStore, org: OrgId, seq: Seq, bytes: Vec<u8>) {
        sqlx::query("UPDATE log_entries SET bytes = $1 WHERE org = $2 AND seq = $3")
            .bind(bytes)
            .bind(org.as_bytes().to_vec())
            .bind(i64::try_from(seq.0).unwrap())
            .execute(store.pool())
            .await
            .unwrap();
    }
}

zt_store::conformance_tests!(Some(Sqlite::new()));

/// The durability settings are in force on every connection.
#[tokio::test]
async fn connections_use_wal_and_full_synchronous_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = zt_store_sqlite::open(dir.path().join("zt.sqlite"))
        .await
        .unwrap();
    for _ in 0..3 {
        let mut connection = store.pool().acquire().await.unwrap();
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut *connection)
            .await
            .unwrap()
            .get(0);
        let synchronous: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(&mut *connection)
            .await
            .unwrap()
            .get(0);
        let foreign_keys: i64 = sqlx::query("PRAGMA foreign_keys")
            .fetch_one(&mut *connection)
            .await
            .unwrap()
            .get(0);
        assert_eq!((mode.as_str(), synchronous, foreign_keys), ("wal", 2, 1));
    }
}

/// Verifications arriving together share one durable commit (spec §9.4 costs a commit per
/// accepted authorization; the group commit spreads it), and a key queued twice in one
/// group is a first use once.
#[tokio::test(flavor = "current_thread")]
async fn concurrent_replay_keys_share_one_commit() {
    use zt_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let store = zt_store_sqlite::open(dir.path().join("zt.sqlite"))
        .await
        .unwrap();
    let org = OrgId::from_bytes([9; 16]);
    let expires = zt_core::UnixTime(2_000_000_000);
    // On one thread, every task queues its key before the writer task, spawned by the
    // first of them, first runs.
    let mut keys: Vec<[u8; 32]> = (0..64u8).map(|n| [n; 32]).collect();
    keys.push([5; 32]);
    let mut calls = tokio::task::JoinSet::new();
    for (index, key) in keys.into_iter().enumerate() {
        let store = store.clone();
        calls.spawn(async move { (index, store.first_use(org, key, expires).await.unwrap()) });
    }
    let mut answers = [false; 65];
    while let Some(answer) = calls.join_next().await {
        let (index, first) = answer.unwrap();
        answers[index] = first;
    }
    assert_eq!(answers.iter().filter(|first| **first).count(), 64);
    assert!(!answers[64], "a key queued twice is a first use once");
    let stats = store.replay_stats();
    assert_eq!((stats.commits, stats.keys), (1, 65));
    assert!(stats.commit_time > std::time::Duration::ZERO);
}
