//! The ledger: each organization's verified state, kept in memory over a store.
//!
//! The store holds bytes; the ledger trusts none of them until zt-core has verified them.
//! It loads an organization once by replaying its whole log (`OrgState::replay`), then
//! before every command catches up with what other servers appended, verifying each new
//! entry. Commands are decided by zt-core and appended at the head they were decided at;
//! if another writer got there first, the ledger catches up and decides again (host
//! commands) or tells the client to sign again (agent commands).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zt_core::{
    AgentId, Command, Context, Decision, EntryFault, HostKey, InMemoryReplayGuard, LogEntry,
    LogError, LogReplay, OrgId, OrgState, PromptFrequency, Refusal, Seq, SessionDelegation,
    SigningPublicKey, TaskAuthorization, TaskBinding, TaskError, UnixTime, VerifiedTask,
    VerifyMode,
};

use crate::error::{LedgerError, StoreError};
use crate::horizon::ReplayHorizon;
use crate::model::{Append, SessionRecord};
use crate::store::Store;

/// Entries fetched per round trip when loading or catching up.
const CHUNK: u32 = 1000;
/// Host commands are decided again at most this many times after conflicts.
const MAX_ATTEMPTS: usize = 8;

type Slot = Arc<OrgSlot>;

/// One organization's cached state, and the checks that it is still current.
#[derive(Default)]
struct OrgSlot {
    state: tokio::sync::RwLock<Option<OrgState>>,
    /// Stamps arrivals and checks, in order.
    clock: std::sync::atomic::AtomicU64,
    /// The stamp of the last check that the store has nothing past the cached head, and
    /// whether it had nothing. Concurrent readers share a check that started after they
    /// arrived instead of each asking the store.
    checked: tokio::sync::Mutex<(u64, bool)>,
    /// A first load's progress: the log replayed so far, a verified prefix. A caller that
    /// gives up while loading (a request timeout) leaves it to the next one, so a log too
    /// long to load within one request still loads. Only touched with `state` held for
    /// writing, and never across an await.
    loading: Mutex<Option<LogReplay>>,
}

impl OrgSlot {
    fn stamp(&self) -> u64 {
        self.clock
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            .saturating_add(1)
    }
}

/// Verified organization states over a store, for one host key.
///
/// The first use of an organization loads it: its whole log is fetched and replayed a
/// chunk of entries at a time (signatures verified in batches), letting other tasks run
/// between chunks, so a long log neither holds a runtime thread to itself nor keeps a
/// timeout around the call from firing. A caller that gives up while loading leaves the
/// entries replayed so far to the next caller, which goes on from there.
pub struct Ledger<S> {
    store: S,
    host: HostKey,
    orgs: Mutex<HashMap<OrgId, Slot>>,
    /// Where replay keys are spent: None, in the store (shared by every server, spec §9.4);
    /// or in memory behind the store's durable horizon (one server alone, spec §9.5).
    replay_horizon: Option<ReplayHorizon>,
}

impl<S: Store> Ledger<S> {
    /// A ledger over `store`, speaking for the host with `host`.
    ///
    /// Replay keys are committed to the store one verification at a time (in groups), so
    /// any number of servers may share the store.
    pub fn new(store: S, host: HostKey) -> Ledger<S> {
        Ledger {
            store,
            host,
            orgs: Mutex::new(HashMap::new()),
            replay_horizon: None,
        }
    }

    /// A ledger over `store` for the one server that verifies tasks against it, opened at
    /// `now`: replay keys are kept in memory behind a durable horizon (spec §9.5), a commit
    /// every couple of seconds instead of one a verification. Authorizations issued at or
    /// before the horizon a previous server left are refused as replayed.
    ///
    /// The caller guarantees that no other ledger verifies tasks against this store while
    /// this one lives (zt-server holds a lock on the database for it): a second one could
    /// accept an authorization this one accepted.
    pub async fn with_replay_horizon(
        store: S,
        host: HostKey,
        now: UnixTime,
    ) -> Result<Ledger<S>, StoreError> {
        let replay_horizon = ReplayHorizon::open(&store, now).await?;
        Ok(Ledger {
            replay_horizon: Some(replay_horizon),
            ..Ledger::new(store, host)
        })
    }

    /// How many replay horizons this ledger committed (spec §9.5); None if it spends replay
    /// keys in the store (spec §9.4).
    pub fn replay_horizon_commits(&self) -> Option<u64> {
        self.replay_horizon.as_ref().map(ReplayHorizon::raises)
    }

    /// The store, for the views (status page, pending list, history, outbox).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The public host key every organization of this ledger names.
    pub fn host_public(&self) -> SigningPublicKey {
        self.host.public()
    }

    /// Creates an organization: the host's first entry (spec §4.5).
    pub async fn create_org(&self, org: OrgId, now: UnixTime) -> Result<(), LedgerError> {
        let slot = self.slot(org);
        let mut state = slot.state.write().await;
        let (created, genesis) = OrgState::create(org, &self.host, now);
        let append = Append::new(genesis.into_entry(), zt_core::Changes::default(), &[]);
        self.store.create_org(&append).await?;
        *state = Some(created);
        Ok(())
    }

    /// Runs `read` on the organization's current, verified state: the cached state, once
    /// the store confirms nothing was appended since (one indexed query), or the state
    /// caught up with what other servers appended. Reads run concurrently; only catching
    /// up and commands take the organization exclusively.
    pub async fn read<R>(
        &self,
        org: OrgId,
        read: impl FnOnce(&OrgState) -> R,
    ) -> Result<R, LedgerError> {
        let slot = self.slot(org);
        let arrived = slot.stamp();
        {
            let cached = slot.state.read().await;
            if let Some(state) = cached.as_ref() {
                if self
                    .is_current(&slot, org, state.head().next_seq, arrived)
                    .await?
                {
                    return Ok(read(state));
                }
            }
        }
        let mut exclusive = slot.state.write().await;
        self.refresh(org, &slot, &mut exclusive).await?;
        let shared = exclusive.downgrade();
        let state = shared
            .as_ref()
            .ok_or(LedgerError::Store(StoreError::NotFound(org)))?;
        Ok(read(state))
    }

    /// Decides `command` against the current state and stores its entry with its views
    /// and notifications (spec §6.1). A refusal, or a conflict, changes nothing.
    pub async fn execute(
        &self,
        org: OrgId,
        command: Command,
        now: UnixTime,
    ) -> Result<Decision, LedgerError> {
        let slot = self.slot(org);
        let mut guard = slot.state.write().await;
        for _ in 0..MAX_ATTEMPTS {
            let state = self.refresh(org, &slot, &mut guard).await?;
            let context = Context {
                now,
                host: &self.host,
            };
            let decision = match state.decide(command.clone(), context) {
                Ok(decision) => decision,
                // Signed at a position another writer has taken since: sign again.
                Err(Refusal::Entry(EntryFault::SequenceTaken { .. }))
                    if command.entry().is_some() =>
                {
                    return Err(LedgerError::Conflict { head: state.head() });
                }
                Err(refusal) => return Err(refusal.into()),
            };
            let changes = state.changes(&decision.entry);
            let append = Append::new(decision.entry.entry().clone(), changes, &decision.effects);
            match self.store.append(&append).await {
                Ok(()) => {
                    state
                        .apply(decision.entry.clone())
                        .map_err(|_| LedgerError::Conflict { head: state.head() })?;
                    return Ok(decision);
                }
                Err(StoreError::Conflict { .. }) => {
                    let state = self.refresh(org, &slot, &mut guard).await?;
                    if command.entry().is_some() {
                        // The client signed at a position that is taken: it must sign again.
                        return Err(LedgerError::Conflict { head: state.head() });
                    }
                }
                Err(other) => return Err(other.into()),
            }
        }
        let state = self.refresh(org, &slot, &mut guard).await?;
        Err(LedgerError::Conflict { head: state.head() })
    }

    /// Verifies a task authorization for `expected` (spec §9.4), spending its replay key in
    /// the store, which all servers share, or in memory behind the store's durable horizon
    /// (spec §9.5, [`Ledger::with_replay_horizon`]).
    ///
    /// The hot path (spec §9.4, "Shared replay caches"): once the authorization passes every
    /// check against the cached state, its replay key is spent while the store confirms
    /// that the cached state is current, concurrently, so a verification waits for one
    /// database round trip instead of two. If the state was not current, the authorization
    /// is verified again against the caught-up state, and refused if that state refuses it
    /// (its replay key stays recorded: it is spent either way). A refusal no newer log could
    /// change ([`TaskError::depends_on_log`]) is given from the cached state, without the store.
    pub async fn verify_task(
        &self,
        org: OrgId,
        authorization: &TaskAuthorization,
        expected: &TaskBinding,
        now: UnixTime,
    ) -> Result<VerifiedTask, LedgerError> {
        // zt-core consults the replay guard last, after every other check; a fresh guard
        // answers "first use" there, and the store, shared by every server, decides. Ended
        // sessions come from the store too.
        let session_ended = match &authorization.delegation {
            Some(delegation) => {
                self.store
                    .session_ended(org, delegation.session_key)
                    .await?
            }
            None => false,
        };
        let verify = |state: &OrgState| {
            let mut guard = InMemoryReplayGuard::default();
            if let (true, Some(delegation)) = (session_ended, &authorization.delegation) {
                guard.end_session(delegation.session_key);
            }
            state.verify_task(authorization, expected, now, &mut guard)
        };
        let spend = || self.spend(org, authorization, now);
        let slot = self.slot(org);
        let arrived = slot.stamp();
        let decided = 'cached: {
            let cached = slot.state.read().await;
            let Some(state) = cached.as_ref() else {
                break 'cached None;
            };
            let verified = match verify(state) {
                Ok(verified) => verified,
                // No newer log would accept it: refused without asking the store.
                Err(error) if !error.depends_on_log() => return Err(LedgerError::Task(error)),
                Err(_) => break 'cached None,
            };
            let (current, first) = tokio::join!(
                self.is_current(&slot, org, state.head().next_seq, arrived),
                spend(),
            );
            let (current, first) = (current?, first?);
            if current {
                break 'cached Some((verified, first));
            }
            drop(cached);
            // Something was appended since the cached state: decide on the current state;
            // the key, recorded above, stays spent.
            let verified = self.read(org, verify).await?.map_err(LedgerError::Task)?;
            Some((verified, first))
        };
        let (verified, first) = match decided {
            Some(decided) => decided,
            // Not loaded yet, or refused by the cached state for a reason a newer log could
            // change: decide on the current state, then record the key.
            None => {
                let verified = self.read(org, verify).await?.map_err(LedgerError::Task)?;
                (verified, spend().await?)
            }
        };
        if first {
            Ok(verified)
        } else {
            Err(LedgerError::Task(TaskError::Replayed))
        }
    }

    /// Spends the authorization's replay key: true if it was not spent before (spec §9.4,
    /// check 7, or §9.5 with a horizon).
    async fn spend(
        &self,
        org: OrgId,
        authorization: &TaskAuthorization,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let key = authorization.replay_key();
        match &self.replay_horizon {
            Some(horizon) => {
                horizon
                    .first_use(
                        &self.store,
                        key,
                        authorization.issued_at,
                        authorization.expires_at,
                        now,
                    )
                    .await
            }
            None => {
                self.store
                    .first_use(org, key, authorization.expires_at)
                    .await
            }
        }
    }

    /// Starts `agent`'s prompt-frequency session: the delegation must be theirs, name their
    /// active key, and be allowed by the policy at `now` (spec §9.2). Starting the same
    /// session twice is harmless.
    pub async fn start_session(
        &self,
        org: OrgId,
        agent: AgentId,
        delegation: &SessionDelegation,
        now: UnixTime,
    ) -> Result<(), LedgerError> {
        if delegation.agent != agent {
            return Err(LedgerError::Task(TaskError::SessionInvalid));
        }
        self.read(org, |state| state.check_delegation(delegation, now))
            .await?
            .map_err(LedgerError::Task)?;
        if self
            .store
            .session_ended(org, delegation.session_key)
            .await?
        {
            return Err(LedgerError::Task(TaskError::SessionInvalid));
        }
        let record = SessionRecord {
            agent,
            session_key: delegation.session_key,
            expires_at: delegation.expires_at,
            ended: false,
        };
        self.store.start_session(org, &record).await?;
        Ok(())
    }

    /// Ends `agent`'s session (log out): tasks it signs are refused from now on, on every
    /// server sharing the store. Remembered for the longest a session can last.
    pub async fn end_session(
        &self,
        org: OrgId,
        agent: AgentId,
        session_key: SigningPublicKey,
        now: UnixTime,
    ) -> Result<(), LedgerError> {
        let until = now.plus(PromptFrequency::Week.max_session_seconds());
        if !self
            .store
            .end_session(org, agent, session_key, until)
            .await?
        {
            return Err(LedgerError::Task(TaskError::SessionInvalid));
        }
        Ok(())
    }

    /// Forgets the cached state of an organization (the next use loads it again).
    pub async fn forget(&self, org: OrgId) {
        let slot = self.slot(org);
        let mut state = slot.state.write().await;
        *state = None;
        *lock(&slot.loading) = None;
    }

    /// Whether the store holds nothing from `next_seq` on, as of a moment after `arrived`:
    /// one indexed query, shared by the readers that arrived before it began.
    async fn is_current(
        &self,
        slot: &OrgSlot,
        org: OrgId,
        next_seq: Seq,
        arrived: u64,
    ) -> Result<bool, LedgerError> {
        let mut checked = slot.checked.lock().await;
        if checked.0 > arrived {
            // A check that began after this read arrived: anything committed before the
            // read arrived, it saw.
            return Ok(checked.1);
        }
        let stamp = slot.stamp();
        let current = !self.store.has_entries_from(org, next_seq).await?;
        *checked = (stamp, current);
        Ok(current)
    }

    fn slot(&self, org: OrgId) -> Slot {
        lock(&self.orgs).entry(org).or_default().clone()
    }

    /// Loads the organization, or catches up with entries appended since, verifying each.
    /// `state` is `slot`'s state, held for writing.
    async fn refresh<'a>(
        &self,
        org: OrgId,
        slot: &OrgSlot,
        state: &'a mut Option<OrgState>,
    ) -> Result<&'a mut OrgState, LedgerError> {
        if state.is_none() {
            *state = Some(self.load(org, &slot.loading).await?);
        }
        let state = state
            .as_mut()
            .ok_or(LedgerError::Store(StoreError::NotFound(org)))?;
        loop {
            let rows = self
                .store
                .entries(org, state.head().next_seq, CHUNK)
                .await?;
            if rows.is_empty() {
                return Ok(state);
            }
            for bytes in rows {
                let seq = state.head().next_seq;
                let tampered = |fault| LedgerError::Tampered {
                    org,
                    error: LogError::BadEntry {
                        index: usize::try_from(seq.0).unwrap_or(usize::MAX),
                        seq: Some(seq),
                        fault,
                    },
                };
                let entry = LogEntry::decode(&bytes)
                    .map_err(|error| tampered(EntryFault::Malformed(error)))?;
                let verified = state.verify_entry(entry).map_err(tampered)?;
                state
                    .apply(verified)
                    .map_err(|_| LedgerError::Conflict { head: state.head() })?;
            }
        }
    }

    /// Replays the organization's whole stored log, batching signatures (spec §5.3).
    ///
    /// Goes on from the replay an earlier, abandoned load left in `loading` (stored entries
    /// never change, so a verified prefix stays valid), a chunk at a time. Each chunk is
    /// fetched, then replayed with no await in between, and the replay is put back before
    /// the next await: a load is finished, refused, or resumable, never half applied.
    async fn load(
        &self,
        org: OrgId,
        loading: &Mutex<Option<LogReplay>>,
    ) -> Result<OrgState, LedgerError> {
        loop {
            let from = lock(loading).as_ref().map_or(0, LogReplay::len);
            let rows = self
                .store
                .entries(org, Seq(u64::try_from(from).unwrap_or(u64::MAX)), CHUNK)
                .await?;
            if rows.is_empty() {
                break;
            }
            {
                let mut progress = lock(loading);
                // Taken out whatever the outcome: a refused log is replayed afresh next time.
                let replayed = progress.take();
                *progress = Some(self.replay_chunk(org, replayed, from, rows)?);
            }
            // Other tasks run between chunks, even over a store that answered at once.
            tokio::task::yield_now().await;
        }
        match lock(loading).take() {
            Some(replay) => Ok(replay.finish()),
            None => Err(StoreError::NotFound(org).into()),
        }
    }

    /// Decodes `rows`, the stored entries from index `from` on, and replays them after
    /// `replayed` (or from the organization's first entry, which must be this host's
    /// creation of `org`).
    fn replay_chunk(
        &self,
        org: OrgId,
        replayed: Option<LogReplay>,
        from: usize,
        rows: Vec<Vec<u8>>,
    ) -> Result<LogReplay, LedgerError> {
        let tampered = |error| LedgerError::Tampered { org, error };
        let mut entries = Vec::with_capacity(rows.len());
        for bytes in rows {
            let index = from.saturating_add(entries.len());
            let entry = LogEntry::decode(&bytes).map_err(|error| {
                tampered(LogError::BadEntry {
                    index,
                    seq: None,
                    fault: EntryFault::Malformed(error),
                })
            })?;
            entries.push(entry);
        }
        let (replay, rest) = match replayed {
            Some(replay) => (replay, entries.as_slice()),
            None => {
                let Some((first, rest)) = entries.split_first() else {
                    return Err(StoreError::NotFound(org).into());
                };
                let replay = LogReplay::begin(first).map_err(tampered)?;
                if replay.state().org() != org {
                    return Err(tampered(LogError::BadEntry {
                        index: 0,
                        seq: Some(Seq(0)),
                        fault: EntryFault::WrongOrganization {
                            expected: org,
                            found: replay.state().org(),
                        },
                    }));
                }
                // The first entry names the host key; a log made by another host is not ours.
                if self.host_of(first) != Some(self.host.public()) {
                    return Err(LedgerError::WrongHost(org));
                }
                (replay, rest)
            }
        };
        replay.extend(rest, VerifyMode::Batch).map_err(tampered)
    }

    fn host_of(&self, first: &LogEntry) -> Option<SigningPublicKey> {
        match first.statement() {
            zt_core::Statement::EpochStart(start) => Some(start.host_key),
            _ => None,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<S> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("host", &self.host.public())
            .finish_non_exhaustive()
    }
}
