//! The replay cache's writes, committed in groups.
//!
//! Every accepted task authorization records its replay key durably before the task may
//! run (spec §9.4), so each verification costs a commit, and a commit costs an fsync. When
//! verifications arrive together, one commit serves them all: the first caller becomes the
//! writer and commits everything queued, in order, in one transaction, while later callers
//! queue for the next one. Each caller learns its own answer (first use or not) only after
//! the commit that recorded it. Duplicates inside a group are decided by the order they
//! were queued in, as the database's unique key would decide them one by one.
//!
//! The writer runs as a task of its own, so a caller that gives up (a request timeout)
//! cannot strand the others.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::{AnyPool, Row};
use tokio::sync::oneshot;
use zt_core::{OrgId, UnixTime};
use zt_store::StoreError;

use crate::rows::int;

/// Keys recorded per transaction, at most.
const MAX_GROUP: usize = 256;

type Answer = oneshot::Sender<Result<bool, Arc<sqlx::Error>>>;

struct Waiting {
    org: OrgId,
    key: [u8; 32],
    expires_at: UnixTime,
    answer: Answer,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    writing: bool,
}

/// The group-commit queue of one store (shared by its clones).
#[derive(Clone, Default)]
pub(crate) struct ReplayWriter {
    queue: Arc<Mutex<Queue>>,
    counters: Arc<Counters>,
}

/// What the replay-cache writer of one store has done since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Group commits that succeeded.
    pub commits: u64,
    /// Replay keys those commits answered (first uses and replays alike).
    pub keys: u64,
    /// Time spent in those commits, from the statement sent to its answer.
    pub commit_time: Duration,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    keys: AtomicU64,
    commit_nanos: AtomicU64,
}

impl Counters {
    fn committed(&self, keys: usize, took: Duration) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.keys
            .fetch_add(u64::try_from(keys).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.commit_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

impl std::fmt::Debug for ReplayWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayWriter").finish_non_exhaustive()
    }
}

impl ReplayWriter {
    /// The counters so far.
    pub(crate) fn stats(&self) -> ReplayStats {
        ReplayStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            keys: self.counters.keys.load(Ordering::Relaxed),
            commit_time: Duration::from_nanos(self.counters.commit_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Records `key` until `expires_at`; true if it was not recorded before. Returns once
    /// the transaction that recorded it (or found it) committed.
    pub(crate) async fn first_use(
        &self,
        pool: &AnyPool,
        org: OrgId,
        key: [u8; 32],
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let (answer, answered) = oneshot::channel();
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push(Waiting {
                org,
                key,
                expires_at,
                answer,
            });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            tokio::spawn(write_groups(
                self.queue.clone(),
                self.counters.clone(),
                pool.clone(),
            ));
        }
        match answered.await {
            Ok(Ok(first)) => Ok(first),
            Ok(Err(error)) => Err(StoreError::Backend(Box::new(SharedError(error)))),
            Err(_) => Err(StoreError::Backend(
                "the replay-cache writer stopped".into(),
            )),
        }
    }
}

/// Commits queued keys, a group per transaction, until the queue is empty.
async fn write_groups(queue: Arc<Mutex<Queue>>, counters: Arc<Counters>, pool: AnyPool) {
    loop {
        let group: Vec<Waiting> = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.waiting.is_empty() {
                queue.writing = false;
                return;
            }
            let take = queue.waiting.len().min(MAX_GROUP);
            queue.waiting.drain(..take).collect()
        };
        let started = Instant::now();
        match commit(&pool, &group).await {
            Ok(firsts) => {
                counters.committed(group.len(), started.elapsed());
                for (waiting, first) in group.into_iter().zip(firsts) {
                    let _ = waiting.answer.send(Ok(first));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for waiting in group {
                    let _ = waiting.answer.send(Err(error.clone()));
                }
            }
        }
    }
}

async fn commit(pool: &AnyPool, group: &[Waiting]) -> Result<Vec<bool>, sqlx::Error> {
    // One statement for the group. A key queued twice is inserted once: its first
    // occurrence gets the database's answer, the later ones are replays.
    let mut distinct: Vec<&Waiting> = Vec::with_capacity(group.len());
    for waiting in group {
        if !distinct
            .iter()
            .any(|seen| seen.org == waiting.org && seen.key == waiting.key)
        {
            distinct.push(waiting);
        }
    }
    let mut sql = String::from("INSERT INTO replay_keys (org, key, expires_at) VALUES ");
    for index in 0..distinct.len() {
        let base = index * 3;
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${})", base + 1, base + 2, base + 3));
    }
    sql.push_str(" ON CONFLICT (org, key) DO NOTHING RETURNING org, key");
    let mut query = sqlx::query(&sql);
    for waiting in &distinct {
        query = query
            .bind(waiting.org.as_bytes().to_vec())
            .bind(waiting.key.to_vec())
            .bind(int(waiting.expires_at.0));
    }
    // One statement is its own transaction on both databases: committed (durably, with
    // SQLite's `synchronous = FULL`) before it returns, in one round trip.
    let rows = query.fetch_all(pool).await?;
    let mut inserted: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(rows.len());
    for row in &rows {
        inserted.push((row.try_get("org")?, row.try_get("key")?));
    }
    let mut answered: Vec<([u8; 16], [u8; 32])> = Vec::with_capacity(group.len());
    Ok(group
        .iter()
        .map(|waiting| {
            let id = (*waiting.org.as_bytes(), waiting.key);
            if answered.contains(&id) {
                return false;
            }
            answered.push(id);
            inserted
                .iter()
                .any(|(org, key)| org.as_slice() == id.0 && key.as_slice() == id.1)
        })
        .collect())
}

/// A database error shared by every caller of a failed group.
#[derive(Debug)]
struct SharedError(Arc<sqlx::Error>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}
