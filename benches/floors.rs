//! Durable floors: the cheapest ways to record a replay key durably before answering.
//!
//! Spec §9.4 lets a server accept a task authorization only once its replay key is
//! committed durably. What that costs depends on the machine (its flushes) more than on any
//! implementation, so the HTTP benchmark measures it without zt: a bare handler that runs
//! one `verify_strict` and then waits for a [`DurableRecorder`]. Each recorder owns one
//! thread that commits whatever keys are queued in one go (group commit), in the simplest
//! way its medium allows:
//!
//! - [`DurableRecorder::sqlite`]: raw SQLite (rusqlite, no pool, no async hand-offs), WAL
//!   and `synchronous = FULL` as zt-store-sqlite uses, one table keyed by (org, key) with
//!   an expiry index as zt's replay table;
//! - [`DurableRecorder::journal`]: an append-only file, one `write` and one `fdatasync` per
//!   group, duplicates found in a set in memory. No database can record more cheaply; it is
//!   the floor of any durable replay cache, not a design (it neither prunes nor serves a
//!   second process).

use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::oneshot;

/// Keys committed per group, at most (as zt-store-sql's replay writer).
const MAX_GROUP: usize = 256;

/// A key to record, and where to send whether it was new.
type Job = ([u8; 32], oneshot::Sender<bool>);

/// A thread that records keys durably, a group per commit.
#[derive(Debug)]
pub struct DurableRecorder {
    jobs: mpsc::Sender<Job>,
    commits: Arc<AtomicU64>,
}

impl DurableRecorder {
    /// Records into a new SQLite database at `path`.
    pub fn sqlite(path: PathBuf) -> Self {
        Self::start(move || {
            let connection = rusqlite::Connection::open(path).expect("open the floor database");
            connection
                .execute_batch(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     CREATE TABLE replay_keys (
                         org BLOB NOT NULL, key BLOB NOT NULL, expires_at BIGINT NOT NULL,
                         PRIMARY KEY (org, key));
                     CREATE INDEX replay_keys_by_expiry ON replay_keys (expires_at);",
                )
                .expect("create the floor's table");
            move |keys: &[[u8; 32]]| {
                connection.execute_batch("BEGIN IMMEDIATE").expect("begin");
                let mut insert = connection
                    .prepare_cached(
                        "INSERT INTO replay_keys (org, key, expires_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (org, key) DO NOTHING",
                    )
                    .expect("prepare");
                let firsts = keys
                    .iter()
                    .map(|key| {
                        let inserted = insert
                            .execute(rusqlite::params![&[7u8; 16][..], &key[..], i64::MAX])
                            .expect("insert");
                        inserted == 1
                    })
                    .collect();
                drop(insert);
                connection.execute_batch("COMMIT").expect("commit");
                firsts
            }
        })
    }

    /// Records into a new append-only file at `path`.
    pub fn journal(path: PathBuf) -> Self {
        Self::start(move || {
            let mut file = std::fs::OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(path)
                .expect("create the floor's journal");
            let mut seen = HashSet::new();
            let mut record = Vec::new();
            move |keys: &[[u8; 32]]| {
                record.clear();
                let firsts = keys
                    .iter()
                    .map(|key| {
                        let first = seen.insert(*key);
                        if first {
                            // org, key, expiry: the replay table's row.
                            record.extend_from_slice(&[7u8; 16]);
                            record.extend_from_slice(key);
                            record.extend_from_slice(&i64::MAX.to_be_bytes());
                        }
                        first
                    })
                    .collect();
                file.write_all(&record).expect("append");
                file.sync_data().expect("fdatasync");
                firsts
            }
        })
    }

    /// Starts the thread: `open` runs on it and returns the group commit.
    fn start<Commit>(open: impl FnOnce() -> Commit + Send + 'static) -> Self
    where
        Commit: FnMut(&[[u8; 32]]) -> Vec<bool>,
    {
        let (jobs, queued) = mpsc::channel::<Job>();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        std::thread::spawn(move || {
            let mut commit = open();
            while let Ok(first) = queued.recv() {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match queued.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                let keys: Vec<[u8; 32]> = group.iter().map(|(key, _)| *key).collect();
                let firsts = commit(&keys);
                counter.fetch_add(1, Ordering::Relaxed);
                for ((_, answer), first) in group.into_iter().zip(firsts) {
                    let _ = answer.send(first);
                }
            }
        });
        Self { jobs, commits }
    }

    /// Records `key`; true if it was not recorded before. Returns once it is durable.
    pub async fn record(&self, key: [u8; 32]) -> bool {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send((key, answer))
            .expect("the recorder thread runs");
        answered.await.expect("the recorder thread answers")
    }

    /// Group commits so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}
