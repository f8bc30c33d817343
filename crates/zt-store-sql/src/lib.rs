//! zt-store-sql: the [`Store`] written once in SQL, for SQLite and PostgreSQL.
//!
//! The backends (`zt-store-sqlite`, `zt-store-postgres`) own their connection settings and
//! migrations and hand this crate a connection pool (sqlx's `Any` driver); every query here
//! runs unchanged on both. An append is one transaction: the entry first (its primary key
//! `(org, seq)` is the optimistic-concurrency check, and on SQLite the first write takes the
//! write lock), then the check that it chains to the stored previous entry, then the views
//! and the outbox. Any failure rolls all of it back.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod replay;
mod rows;

pub use replay::ReplayStats;

use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::AnyPool;
use sqlx::{Any, Transaction};
use zt_core::{
    Actor, AgentId, AgentStatus, EntryHash, OrgId, PendingRequest, RecoveryRegistrationView, Seq,
    SigningPublicKey, UnixTime,
};
use zt_store::{
    page_limit, Append, HistoryCursor, HistoryLine, OutboxMessage, Page, ReplayRecord,
    SessionRecord, StatusFilter, Store, StoreError,
};

use crate::rows::{int, notification_word, role_word, state_word};

/// A store on a SQL database, through a pool the backend configured and migrated.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    replay: replay::ReplayWriter,
    probe: Option<Arc<dyn EntryProbe>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("pool", &self.pool)
            .field("probe", &self.probe.is_some())
            .finish_non_exhaustive()
    }
}

/// A backend's faster answer to [`Store::has_entries_from`] than a query through the pool
/// (SQLite: a point read on a connection of its own, on the caller's thread).
pub trait EntryProbe: Send + Sync + 'static {
    /// Whether the organization's log has an entry at `from` or later, read by a
    /// transaction that begins when it is called.
    fn has_entries_from(&self, org: OrgId, from: Seq) -> Result<bool, StoreError>;
}

/// Wraps a database failure.
pub fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(error))
}

impl SqlStore {
    /// A store over a migrated database.
    pub fn from_pool(pool: AnyPool) -> SqlStore {
        SqlStore {
            pool,
            replay: replay::ReplayWriter::default(),
            probe: None,
        }
    }

    /// This store, answering the freshness check with `probe`.
    #[must_use]
    pub fn with_entry_probe(self, probe: Arc<dyn EntryProbe>) -> SqlStore {
        SqlStore {
            probe: Some(probe),
            ..self
        }
    }

    /// What this store's replay-cache writer has done: group commits, the keys they
    /// answered, and the time they took (for `/metrics` and benchmarks).
    pub fn replay_stats(&self) -> ReplayStats {
        self.replay.stats()
    }

    /// The pool, for backends' own maintenance and tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn fetch_all<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<Vec<AnyRow>, StoreError> {
        query.fetch_all(&self.pool).await.map_err(backend)
    }
}

/// Writes one append inside `tx`; on error the caller drops the transaction (rollback).
async fn write(tx: &mut Transaction<'_, Any>, append: &Append) -> Result<(), StoreError> {
    let header = *append.entry.header();
    let org = header.org.as_bytes().to_vec();
    let inserted = sqlx::query("INSERT INTO log_entries (org, seq, hash, kind, time, bytes) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(org.clone())
        .bind(int(header.seq.0))
        .bind(append.entry.hash().as_bytes().to_vec())
        .bind(i64::from(append.entry.kind().tag()))
        .bind(int(header.time.0))
        .bind(append.entry.encoded().to_vec())
        .execute(&mut **tx)
        .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            return Err(StoreError::Conflict { seq: header.seq });
        }
        Err(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => {
            return Err(StoreError::NotFound(header.org));
        }
        Err(error) => return Err(backend(error)),
    }
    // The entry must chain to the stored previous one (or be the first).
    let prev = match header.seq.0.checked_sub(1) {
        None => Some(EntryHash::ZERO.as_bytes().to_vec()),
        Some(previous) => sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT hash FROM log_entries WHERE org = $1 AND seq = $2",
        )
        .bind(org.clone())
        .bind(int(previous))
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?,
    };
    if prev.as_deref() != Some(header.prev.as_bytes().as_slice()) {
        return Err(StoreError::Conflict { seq: header.seq });
    }
    let changes = &append.changes;
    for status in &changes.statuses {
        write_status(tx, &org, status).await?;
    }
    for request in &changes.closed {
        sqlx::query("DELETE FROM pending_requests WHERE org = $1 AND request = $2")
            .bind(org.clone())
            .bind(request.as_bytes().to_vec())
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
    }
    for pending in &changes.pending {
        write_pending(tx, &org, pending).await?;
    }
    for (agent, registration) in &changes.recovery {
        write_recovery(tx, &org, *agent, registration.as_ref()).await?;
    }
    for (line, event) in changes.history.iter().enumerate() {
        sqlx::query(
            "INSERT INTO key_history (org, seq, line, time, key_id, owner, actor, action, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org.clone())
        .bind(int(event.seq.0))
        .bind(i64::try_from(line).unwrap_or(i64::MAX))
        .bind(int(event.time.0))
        .bind(event.key.map(|key| key.as_bytes().to_vec()))
        .bind(event.owner.map(|owner| owner.as_bytes().to_vec()))
        .bind(match event.actor {
            Actor::Agent(agent) => Some(agent.as_bytes().to_vec()),
            Actor::Host => None,
        })
        .bind(event.action)
        .bind(event.reason)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    }
    for notification in &append.notifications {
        let recipients: Vec<u8> = notification
            .recipients
            .iter()
            .flat_map(|agent| *agent.as_bytes())
            .collect();
        sqlx::query("INSERT INTO outbox (org, seq, kind, subject, recipients, due) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(org.clone())
            .bind(int(header.seq.0))
            .bind(notification_word(notification.kind))
            .bind(notification.subject.as_bytes().to_vec())
            .bind(recipients)
            .bind(int(header.time.0))
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

async fn write_status(
    tx: &mut Transaction<'_, Any>,
    org: &[u8],
    status: &AgentStatus,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO agent_status (org, agent, role, state, active_key, active_since, approved_by, pending_request, has_recovery) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (org, agent) DO UPDATE SET role = excluded.role, state = excluded.state, \
         active_key = excluded.active_key, active_since = excluded.active_since, approved_by = excluded.approved_by, \
         pending_request = excluded.pending_request, has_recovery = excluded.has_recovery",
    )
    .bind(org.to_vec())
    .bind(status.agent.as_bytes().to_vec())
    .bind(role_word(status.role))
    .bind(state_word(status.state))
    .bind(status.active_key.map(|key| key.as_bytes().to_vec()))
    .bind(status.active_since.map(|time| int(time.0)))
    .bind(status.approved_by.map(|agent| agent.as_bytes().to_vec()))
    .bind(status.pending_request.map(|request| request.as_bytes().to_vec()))
    .bind(i64::from(status.has_recovery_file))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn write_pending(
    tx: &mut Transaction<'_, Any>,
    org: &[u8],
    pending: &PendingRequest,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pending_requests (org, request, agent, key_id, seq, time, mismatches, locked) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (org, request) DO UPDATE SET mismatches = excluded.mismatches, locked = excluded.locked",
    )
    .bind(org.to_vec())
    .bind(pending.request.as_bytes().to_vec())
    .bind(pending.agent.as_bytes().to_vec())
    .bind(pending.key.as_bytes().to_vec())
    .bind(int(pending.seq.0))
    .bind(int(pending.time.0))
    .bind(i64::from(pending.mismatches))
    .bind(i64::from(pending.locked))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Records an agent's current recovery registration, or that they have none.
async fn write_recovery(
    tx: &mut Transaction<'_, Any>,
    org: &[u8],
    agent: AgentId,
    registration: Option<&RecoveryRegistrationView>,
) -> Result<(), StoreError> {
    let query = match registration {
        Some(registration) => sqlx::query(
            "INSERT INTO recovery_registrations (org, agent, registration, seq, time) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org, agent) DO UPDATE SET registration = excluded.registration, \
             seq = excluded.seq, time = excluded.time",
        )
        .bind(org.to_vec())
        .bind(agent.as_bytes().to_vec())
        .bind(registration.registration.as_bytes().to_vec())
        .bind(int(registration.seq.0))
        .bind(int(registration.time.0)),
        None => sqlx::query("DELETE FROM recovery_registrations WHERE org = $1 AND agent = $2")
            .bind(org.to_vec())
            .bind(agent.as_bytes().to_vec()),
    };
    query.execute(&mut **tx).await.map_err(backend)?;
    Ok(())
}

fn limit_of(limit: u32) -> (u32, i64) {
    let limit = page_limit(limit);
    (limit, i64::from(limit))
}

impl Store for SqlStore {
    async fn create_org(&self, genesis: &Append) -> Result<(), StoreError> {
        let org = genesis.org();
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let created = sqlx::query("INSERT INTO orgs (org, created_at) VALUES ($1, $2)")
            .bind(org.as_bytes().to_vec())
            .bind(int(genesis.entry.header().time.0))
            .execute(&mut *tx)
            .await;
        match created {
            Ok(_) => {}
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                return Err(StoreError::AlreadyExists(org))
            }
            Err(error) => return Err(backend(error)),
        }
        write(&mut tx, genesis).await?;
        tx.commit().await.map_err(backend)
    }

    async fn append(&self, append: &Append) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        write(&mut tx, append).await?;
        tx.commit().await.map_err(backend)
    }

    async fn append_all(&self, appends: &[Append]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for append in appends {
            write(&mut tx, append).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn entries(&self, org: OrgId, from: Seq, limit: u32) -> Result<Vec<Vec<u8>>, StoreError> {
        let (_, limit) = limit_of(limit);
        sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT bytes FROM log_entries WHERE org = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
        )
        .bind(org.as_bytes().to_vec())
        .bind(int(from.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn has_entries_from(&self, org: OrgId, from: Seq) -> Result<bool, StoreError> {
        if let Some(probe) = &self.probe {
            return probe.has_entries_from(org, from);
        }
        let found = sqlx::query_scalar::<_, i64>(
            "SELECT 1 FROM log_entries WHERE org = $1 AND seq >= $2 LIMIT 1",
        )
        .bind(org.as_bytes().to_vec())
        .bind(int(from.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(found.is_some())
    }

    async fn organizations(&self) -> Result<Vec<OrgId>, StoreError> {
        let rows = self
            .fetch_all(sqlx::query("SELECT org FROM orgs ORDER BY org"))
            .await?;
        rows.iter().map(rows::org).collect()
    }

    async fn agent_status(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> Result<Option<AgentStatus>, StoreError> {
        sqlx::query("SELECT * FROM agent_status WHERE org = $1 AND agent = $2")
            .bind(org.as_bytes().to_vec())
            .bind(agent.as_bytes().to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(rows::status)
            .transpose()
    }

    async fn recovery_registration(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> Result<Option<RecoveryRegistrationView>, StoreError> {
        sqlx::query("SELECT * FROM recovery_registrations WHERE org = $1 AND agent = $2")
            .bind(org.as_bytes().to_vec())
            .bind(agent.as_bytes().to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(rows::recovery)
            .transpose()
    }

    async fn status_page(
        &self,
        org: OrgId,
        filter: StatusFilter,
        after: Option<AgentId>,
        limit: u32,
    ) -> Result<Page<AgentStatus, AgentId>, StoreError> {
        let (limit, sql_limit) = limit_of(limit);
        let mut sql = String::from("SELECT * FROM agent_status WHERE org = $1 AND agent > $2");
        let mut next = 3;
        if filter.state.is_some() {
            sql.push_str(&format!(" AND state = ${next}"));
            next += 1;
        }
        if filter.role.is_some() {
            sql.push_str(&format!(" AND role = ${next}"));
            next += 1;
        }
        sql.push_str(&format!(" ORDER BY agent LIMIT ${next}"));
        let mut query = sqlx::query(&sql)
            .bind(org.as_bytes().to_vec())
            .bind(after.map_or_else(Vec::new, |agent| agent.as_bytes().to_vec()));
        if let Some(state) = filter.state {
            query = query.bind(state_word(state));
        }
        if let Some(role) = filter.role {
            query = query.bind(role_word(role));
        }
        let rows = self.fetch_all(query.bind(sql_limit)).await?;
        let items = rows
            .iter()
            .map(rows::status)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(items, limit, |status| status.agent))
    }

    async fn pending_requests(
        &self,
        org: OrgId,
        after: Option<Seq>,
        limit: u32,
    ) -> Result<Page<PendingRequest, Seq>, StoreError> {
        let (limit, sql_limit) = limit_of(limit);
        let query = sqlx::query(
            "SELECT * FROM pending_requests WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(org.as_bytes().to_vec())
        .bind(after.map_or(-1, |seq| int(seq.0)))
        .bind(sql_limit);
        let rows = self.fetch_all(query).await?;
        let items = rows
            .iter()
            .map(rows::pending)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(items, limit, |pending| pending.seq))
    }

    async fn key_history(
        &self,
        org: OrgId,
        owner: Option<AgentId>,
        after: Option<HistoryCursor>,
        limit: u32,
    ) -> Result<Page<HistoryLine, HistoryCursor>, StoreError> {
        let (limit, sql_limit) = limit_of(limit);
        let (seq, line) = after.map_or((-1, -1), |cursor| {
            (int(cursor.seq.0), i64::from(cursor.line))
        });
        // Parameters are numbered in the order they appear (SQLite names them by position).
        let (owner_clause, limit_parameter) = if owner.is_some() {
            (" AND owner = $4", "$5")
        } else {
            ("", "$4")
        };
        let sql = format!(
            "SELECT * FROM key_history WHERE org = $1 AND (seq > $2 OR (seq = $2 AND line > $3)){owner_clause} \
             ORDER BY seq, line LIMIT {limit_parameter}"
        );
        let mut query = sqlx::query(&sql)
            .bind(org.as_bytes().to_vec())
            .bind(seq)
            .bind(line);
        if let Some(owner) = owner {
            query = query.bind(owner.as_bytes().to_vec());
        }
        let query = query.bind(sql_limit);
        let rows = self.fetch_all(query).await?;
        let items = rows
            .iter()
            .map(rows::history)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(items, limit, |line| line.cursor))
    }

    async fn first_use(
        &self,
        org: OrgId,
        key: [u8; 32],
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.replay
            .first_use(&self.pool, org, key, expires_at)
            .await
    }

    async fn replay_horizon(&self) -> Result<Option<UnixTime>, StoreError> {
        let horizon =
            sqlx::query_scalar::<_, i64>("SELECT horizon FROM replay_horizon WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        horizon.map(rows::horizon).transpose()
    }

    async fn raise_replay_horizon(&self, horizon: UnixTime) -> Result<(), StoreError> {
        // One statement, so its own transaction: durable before it returns (SQLite's
        // `synchronous = FULL`; PostgreSQL's default `synchronous_commit`).
        sqlx::query(
            "INSERT INTO replay_horizon (id, horizon) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET horizon = \
             CASE WHEN replay_horizon.horizon > excluded.horizon THEN replay_horizon.horizon ELSE excluded.horizon END",
        )
        .bind(int(horizon.0))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn unexpired_replay_keys(&self, now: UnixTime) -> Result<Vec<ReplayRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT org, key, expires_at FROM replay_keys WHERE expires_at >= $1")
                .bind(int(now.0))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter().map(rows::replay_record).collect()
    }

    async fn start_session(&self, org: OrgId, session: &SessionRecord) -> Result<bool, StoreError> {
        let inserted = sqlx::query("INSERT INTO sessions (org, session_key, agent, expires_at, ended) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org, session_key) DO NOTHING")
            .bind(org.as_bytes().to_vec())
            .bind(session.session_key.as_bytes().to_vec())
            .bind(session.agent.as_bytes().to_vec())
            .bind(int(session.expires_at.0))
            .bind(i64::from(session.ended))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn end_session(
        &self,
        org: OrgId,
        agent: AgentId,
        session_key: SigningPublicKey,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        // One statement: insert the ended session, or end the agent's own stored one (the
        // WHERE keeps another agent's row untouched, and then no row is affected).
        let ended = sqlx::query(
            "INSERT INTO sessions (org, session_key, agent, expires_at, ended) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (org, session_key) DO UPDATE SET ended = 1, expires_at = \
             CASE WHEN sessions.expires_at > excluded.expires_at THEN sessions.expires_at ELSE excluded.expires_at END \
             WHERE sessions.agent = excluded.agent",
        )
        .bind(org.as_bytes().to_vec())
        .bind(session_key.as_bytes().to_vec())
        .bind(agent.as_bytes().to_vec())
        .bind(int(until.0))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(ended.rows_affected() == 1)
    }

    async fn session_ended(
        &self,
        org: OrgId,
        session_key: SigningPublicKey,
    ) -> Result<bool, StoreError> {
        let ended = sqlx::query_scalar::<_, i64>(
            "SELECT ended FROM sessions WHERE org = $1 AND session_key = $2",
        )
        .bind(org.as_bytes().to_vec())
        .bind(session_key.as_bytes().to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(ended.is_some_and(|ended| ended != 0))
    }

    async fn prune_replay_keys(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let mut pruned = 0;
        for query in [
            "DELETE FROM replay_keys WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
        ] {
            let deleted = sqlx::query(query)
                .bind(int(now.0))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            pruned += deleted.rows_affected();
        }
        tx.commit().await.map_err(backend)?;
        Ok(pruned)
    }

    async fn due_notifications(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let (_, limit) = limit_of(limit);
        let query =
            sqlx::query("SELECT * FROM outbox WHERE sent = 0 AND due <= $1 ORDER BY id LIMIT $2")
                .bind(int(now.0))
                .bind(limit);
        let rows = self.fetch_all(query).await?;
        rows.iter().map(rows::outbox).collect()
    }

    async fn claim_notification(
        &self,
        id: i64,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        let claimed =
            sqlx::query("UPDATE outbox SET due = $3 WHERE id = $1 AND sent = 0 AND due <= $2")
                .bind(id)
                .bind(int(now.0))
                .bind(int(until.0))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn notification_sent(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET sent = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn notification_failed(&self, id: i64, retry_at: UnixTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, due = $2 WHERE id = $1")
            .bind(id)
            .bind(int(retry_at.0))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
