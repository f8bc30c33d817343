//! Test databases: each store in a schema of its own in the database at
//! `ZT_TEST_POSTGRES_URL`. In CI (`CI` set) a missing URL or an unreachable server fails the
//! tests; elsewhere a missing URL skips them, saying so.

#![allow(dead_code, reason = "each test file uses part of this")]

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use zt_core::{OrgId, Seq};
use zt_store::conformance::StoreFactory;
use zt_store_postgres::SqlStore;

pub(crate) struct Postgres {
    pub(crate) url: String,
}

/// The factory, or `None` (with a message) when PostgreSQL tests are skipped.
pub(crate) fn postgres() -> Option<Postgres> {
    match std::env::var("ZT_TEST_POSTGRES_URL") {
        Ok(url) => Some(Postgres { url }),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("ZT_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL tests (.ci/run sets it)")
        }
        Err(_) => {
            // Written to stderr directly, so that the test harness shows it even on success.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: ZT_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Postgres {
    /// A fresh schema name: `zt_test_<unix time>_<random>`.
    pub(crate) fn schema_name() -> String {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("zt_test_{}_{}_{}", now(), std::process::id(), nanos)
    }

    /// Drops test schemas more than an hour old (left by interrupted runs).
    pub(crate) async fn drop_stale_schemas(&self) {
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("PostgreSQL is reachable");
        let schemas: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'zt\\_test\\_%'",
        )
        .fetch_all(&mut connection)
        .await
        .unwrap();
        for schema in schemas {
            let created: u64 = schema
                .split('_')
                .nth(2)
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            if created + 3600 < now() {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(&mut connection)
                    .await;
            }
        }
    }

    pub(crate) async fn schema_of(store: &SqlStore) -> String {
        sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(store.pool())
            .await
            .unwrap()
    }
}

impl StoreFactory for Postgres {
    type Store = SqlStore;

    async fn create(&self) -> SqlStore {
        self.drop_stale_schemas().await;
        zt_store_postgres::open_in_schema(&self.url, &Postgres::schema_name())
            .await
            .expect("PostgreSQL is reachable")
    }

    async fn another_handle(&self, store: &SqlStore) -> SqlStore {
        zt_store_postgres::open_in_schema(&self.url, &Postgres::schema_of(store).await)
            .await
            .unwrap()
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
