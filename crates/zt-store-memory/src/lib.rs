//! zt-store-memory: a [`Store`] in memory, for tests and examples.
//!
//! One mutex around everything: every operation is atomic and serialized, which makes this
//! store the reference the conformance suite compares the others with. Nothing survives the
//! process. Clones share the same data (as two connection pools share a database).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use zt_core::{
    AgentId, AgentStatus, EntryHash, OrgId, PendingRequest, RecoveryRegistrationView, RequestId,
    Seq, SigningPublicKey, UnixTime,
};
use zt_store::{
    page_limit, Append, HistoryCursor, HistoryLine, OutboxMessage, Page, ReplayRecord,
    SessionRecord, StatusFilter, Store, StoreError,
};

/// A store in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    data: Arc<Mutex<Data>>,
}

#[derive(Debug, Default)]
struct Data {
    orgs: BTreeMap<OrgId, Org>,
    outbox: BTreeMap<i64, Outbox>,
    next_outbox_id: i64,
    replay_horizon: Option<UnixTime>,
}

#[derive(Debug, Default)]
struct Org {
    entries: Vec<(Vec<u8>, EntryHash)>,
    statuses: BTreeMap<AgentId, AgentStatus>,
    pending: BTreeMap<RequestId, PendingRequest>,
    recovery: BTreeMap<AgentId, RecoveryRegistrationView>,
    history: Vec<HistoryLine>,
    replay: BTreeMap<[u8; 32], UnixTime>,
    sessions: BTreeMap<[u8; 32], SessionRecord>,
}

#[derive(Debug)]
struct Outbox {
    message: OutboxMessage,
    due: UnixTime,
    sent: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the stored bytes of one entry (for tests of tamper detection).
    pub fn corrupt_entry(&self, org: OrgId, seq: Seq, bytes: Vec<u8>) {
        let mut data = self.data();
        let entry = data.orgs.get_mut(&org).and_then(|org| {
            org.entries
                .get_mut(usize::try_from(seq.0).unwrap_or(usize::MAX))
        });
        if let Some(entry) = entry {
            entry.0 = bytes;
        }
    }
}

impl Data {
    /// Applies one append after checking its position; changes nothing on error.
    fn append(&mut self, append: &Append) -> Result<(), StoreError> {
        let header = *append.entry.header();
        let org = self
            .orgs
            .get_mut(&header.org)
            .ok_or(StoreError::NotFound(header.org))?;
        let next = u64::try_from(org.entries.len()).unwrap_or(u64::MAX);
        let prev = org
            .entries
            .last()
            .map_or(EntryHash::ZERO, |(_, hash)| *hash);
        if header.seq.0 != next || header.prev != prev {
            return Err(StoreError::Conflict { seq: header.seq });
        }
        org.entries
            .push((append.entry.encoded().to_vec(), append.entry.hash()));
        let changes = &append.changes;
        for status in &changes.statuses {
            org.statuses.insert(status.agent, status.clone());
        }
        for request in &changes.closed {
            org.pending.remove(request);
        }
        for pending in &changes.pending {
            org.pending.insert(pending.request, pending.clone());
        }
        for (agent, registration) in &changes.recovery {
            match registration {
                Some(registration) => org.recovery.insert(*agent, *registration),
                None => org.recovery.remove(agent),
            };
        }
        for (line, event) in changes.history.iter().enumerate() {
            org.history.push(HistoryLine {
                cursor: HistoryCursor {
                    seq: header.seq,
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                },
                event: event.clone(),
            });
        }
        for notification in &append.notifications {
            self.next_outbox_id = self.next_outbox_id.saturating_add(1);
            self.outbox.insert(
                self.next_outbox_id,
                Outbox {
                    message: OutboxMessage {
                        id: self.next_outbox_id,
                        org: header.org,
                        seq: header.seq,
                        notification: notification.clone(),
                        attempts: 0,
                    },
                    due: header.time,
                    sent: false,
                },
            );
        }
        Ok(())
    }
}

impl Store for MemoryStore {
    async fn create_org(&self, genesis: &Append) -> Result<(), StoreError> {
        let mut data = self.data();
        let org = genesis.org();
        if data.orgs.contains_key(&org) {
            return Err(StoreError::AlreadyExists(org));
        }
        data.orgs.insert(org, Org::default());
        let result = data.append(genesis);
        if result.is_err() {
            data.orgs.remove(&org);
        }
        result
    }

    async fn append(&self, append: &Append) -> Result<(), StoreError> {
        self.data().append(append)
    }

    async fn append_all(&self, appends: &[Append]) -> Result<(), StoreError> {
        let mut data = self.data();
        // All or nothing: check the whole chain of positions first.
        let mut next: BTreeMap<OrgId, (u64, EntryHash)> = BTreeMap::new();
        for append in appends {
            let header = append.entry.header();
            let org = data
                .orgs
                .get(&header.org)
                .ok_or(StoreError::NotFound(header.org))?;
            let (seq, prev) = next.entry(header.org).or_insert_with(|| {
                (
                    u64::try_from(org.entries.len()).unwrap_or(u64::MAX),
                    org.entries
                        .last()
                        .map_or(EntryHash::ZERO, |(_, hash)| *hash),
                )
            });
            if header.seq.0 != *seq || header.prev != *prev {
                return Err(StoreError::Conflict { seq: header.seq });
            }
            *seq = seq.saturating_add(1);
            *prev = append.entry.hash();
        }
        for append in appends {
            data.append(append)?;
        }
        Ok(())
    }

    async fn entries(&self, org: OrgId, from: Seq, limit: u32) -> Result<Vec<Vec<u8>>, StoreError> {
        let data = self.data();
        let Some(org) = data.orgs.get(&org) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(from.0).unwrap_or(usize::MAX);
        Ok(org
            .entries
            .iter()
            .skip(start)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(bytes, _)| bytes.clone())
            .collect())
    }

    async fn organizations(&self) -> Result<Vec<OrgId>, StoreError> {
        Ok(self.data().orgs.keys().copied().collect())
    }

    async fn agent_status(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> Result<Option<AgentStatus>, StoreError> {
        let data = self.data();
        Ok(data
            .orgs
            .get(&org)
            .and_then(|org| org.statuses.get(&agent).cloned()))
    }

    async fn status_page(
        &self,
        org: OrgId,
        filter: StatusFilter,
        after: Option<AgentId>,
        limit: u32,
    ) -> Result<Page<AgentStatus, AgentId>, StoreError> {
        let limit = page_limit(limit);
        let data = self.data();
        let Some(org) = data.orgs.get(&org) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let items: Vec<AgentStatus> = org
            .statuses
            .values()
            .filter(|status| after.is_none_or(|after| status.agent > after))
            .filter(|status| filter.state.is_none_or(|state| status.state == state))
            .filter(|status| filter.role.is_none_or(|role| status.role == role))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        Ok(Page::of(items, limit, |status| status.agent))
    }

    async fn pending_requests(
        &self,
        org: OrgId,
        after: Option<Seq>,
        limit: u32,
    ) -> Result<Page<PendingRequest, Seq>, StoreError> {
        let limit = page_limit(limit);
        let data = self.data();
        let Some(org) = data.orgs.get(&org) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let mut items: Vec<PendingRequest> = org
            .pending
            .values()
            .filter(|pending| after.is_none_or(|after| pending.seq > after))
            .cloned()
            .collect();
        items.sort_by_key(|pending| pending.seq);
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(Page::of(items, limit, |pending| pending.seq))
    }

    async fn recovery_registration(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> Result<Option<RecoveryRegistrationView>, StoreError> {
        let data = self.data();
        Ok(data
            .orgs
            .get(&org)
            .and_then(|org| org.recovery.get(&agent).copied()))
    }

    async fn key_history(
        &self,
        org: OrgId,
        owner: Option<AgentId>,
        after: Option<HistoryCursor>,
        limit: u32,
    ) -> Result<Page<HistoryLine, HistoryCursor>, StoreError> {
        let limit = page_limit(limit);
        let data = self.data();
        let Some(org) = data.orgs.get(&org) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let items: Vec<HistoryLine> = org
            .history
            .iter()
            .filter(|line| after.is_none_or(|after| line.cursor > after))
            .filter(|line| owner.is_none_or(|owner| line.event.owner == Some(owner)))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        Ok(Page::of(items, limit, |line| line.cursor))
    }

    async fn first_use(
        &self,
        org: OrgId,
        key: [u8; 32],
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut data = self.data();
        let org = data.orgs.get_mut(&org).ok_or(StoreError::NotFound(org))?;
        Ok(match org.replay.entry(key) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(expires_at);
                true
            }
        })
    }

    async fn replay_horizon(&self) -> Result<Option<UnixTime>, StoreError> {
        Ok(self.data().replay_horizon)
    }

    async fn raise_replay_horizon(&self, horizon: UnixTime) -> Result<(), StoreError> {
        let mut data = self.data();
        data.replay_horizon = Some(data.replay_horizon.map_or(horizon, |was| was.max(horizon)));
        Ok(())
    }

    async fn unexpired_replay_keys(&self, now: UnixTime) -> Result<Vec<ReplayRecord>, StoreError> {
        let data = self.data();
        Ok(data
            .orgs
            .iter()
            .flat_map(|(org, data)| {
                data.replay
                    .iter()
                    .filter(|(_, expires_at)| **expires_at >= now)
                    .map(|(key, expires_at)| ReplayRecord {
                        org: *org,
                        key: *key,
                        expires_at: *expires_at,
                    })
            })
            .collect())
    }

    async fn start_session(&self, org: OrgId, session: &SessionRecord) -> Result<bool, StoreError> {
        let mut data = self.data();
        let org = data.orgs.get_mut(&org).ok_or(StoreError::NotFound(org))?;
        Ok(match org.sessions.entry(*session.session_key.as_bytes()) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(*session);
                true
            }
        })
    }

    async fn end_session(
        &self,
        org: OrgId,
        agent: AgentId,
        session_key: SigningPublicKey,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut data = self.data();
        let org = data.orgs.get_mut(&org).ok_or(StoreError::NotFound(org))?;
        let record = org
            .sessions
            .entry(*session_key.as_bytes())
            .or_insert(SessionRecord {
                agent,
                session_key,
                expires_at: until,
                ended: false,
            });
        if record.agent != agent {
            return Ok(false);
        }
        record.ended = true;
        record.expires_at = record.expires_at.max(until);
        Ok(true)
    }

    async fn session_ended(
        &self,
        org: OrgId,
        session_key: SigningPublicKey,
    ) -> Result<bool, StoreError> {
        let data = self.data();
        Ok(data
            .orgs
            .get(&org)
            .and_then(|org| org.sessions.get(session_key.as_bytes()))
            .is_some_and(|record| record.ended))
    }

    async fn prune_replay_keys(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut data = self.data();
        let mut pruned: u64 = 0;
        for org in data.orgs.values_mut() {
            let before = org.replay.len().saturating_add(org.sessions.len());
            org.replay.retain(|_, expires_at| *expires_at >= now);
            org.sessions.retain(|_, record| record.expires_at >= now);
            let after = org.replay.len().saturating_add(org.sessions.len());
            pruned =
                pruned.saturating_add(u64::try_from(before.saturating_sub(after)).unwrap_or(0));
        }
        Ok(pruned)
    }

    async fn due_notifications(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let data = self.data();
        Ok(data
            .outbox
            .values()
            .filter(|row| !row.sent && row.due <= now)
            .take(usize::try_from(page_limit(limit)).unwrap_or(usize::MAX))
            .map(|row| row.message.clone())
            .collect())
    }

    async fn claim_notification(
        &self,
        id: i64,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(match self.data().outbox.get_mut(&id) {
            Some(row) if !row.sent && row.due <= now => {
                row.due = until;
                true
            }
            _ => false,
        })
    }

    async fn notification_sent(&self, id: i64) -> Result<(), StoreError> {
        if let Some(row) = self.data().outbox.get_mut(&id) {
            row.sent = true;
        }
        Ok(())
    }

    async fn notification_failed(&self, id: i64, retry_at: UnixTime) -> Result<(), StoreError> {
        if let Some(row) = self.data().outbox.get_mut(&id) {
            row.message.attempts = row.message.attempts.saturating_add(1);
            row.due = retry_at;
        }
        Ok(())
    }
}
