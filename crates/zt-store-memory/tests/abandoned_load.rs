//! A first load that its caller abandons (a request timeout on a long log) resumes where it
//! stopped when the next caller comes, instead of starting again; a log too long to load
//! within one request still loads. A first load lets other tasks run between chunks.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test")]

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use zt_core::{
    AgentId, AgentStatus, Changes, OrgId, PendingRequest, RecoveryRegistrationView, Role, Seq,
    SigningPublicKey, UnixTime,
};
use zt_store::conformance::{host_from, recorded_appends};
use zt_store::{
    Append, HistoryCursor, HistoryLine, Ledger, OutboxMessage, Page, ReplayRecord, SessionRecord,
    StatusFilter, Store, StoreError,
};
use zt_store_memory::MemoryStore;
use zt_testkit::world::{agent, World};

/// The memory store, with a record of where each read of the log began, and a switch that
/// makes every read past the first chunk wait forever (a store too slow for the caller).
#[derive(Default)]
struct SlowLog {
    inner: MemoryStore,
    reads_from: Mutex<Vec<Seq>>,
    stall_after_first_chunk: AtomicBool,
}

impl SlowLog {
    fn reads(&self) -> Vec<Seq> {
        std::mem::take(&mut *self.reads_from.lock().unwrap())
    }
}

impl Store for SlowLog {
    async fn entries(&self, org: OrgId, from: Seq, limit: u32) -> Result<Vec<Vec<u8>>, StoreError> {
        self.reads_from.lock().unwrap().push(from);
        if from.0 > 0 && self.stall_after_first_chunk.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.entries(org, from, limit).await
    }

    // Everything else as the memory store does it.
    fn create_org(&self, genesis: &Append) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.create_org(genesis)
    }
    fn append(&self, append: &Append) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.append(append)
    }
    fn append_all(
        &self,
        appends: &[Append],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.append_all(appends)
    }
    fn organizations(&self) -> impl Future<Output = Result<Vec<OrgId>, StoreError>> + Send {
        self.inner.organizations()
    }
    fn agent_status(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> impl Future<Output = Result<Option<AgentStatus>, StoreError>> + Send {
        self.inner.agent_status(org, agent)
    }
    fn status_page(
        &self,
        org: OrgId,
        filter: StatusFilter,
        after: Option<AgentId>,
        limit: u32,
    ) -> impl Future<Output = Result<Page<AgentStatus, AgentId>, StoreError>> + Send {
        self.inner.status_page(org, filter, after, limit)
    }
    fn pending_requests(
        &self,
        org: OrgId,
        after: Option<Seq>,
        limit: u32,
    ) -> impl Future<Output = Result<Page<PendingRequest, Seq>, StoreError>> + Send {
        self.inner.pending_requests(org, after, limit)
    }
    fn recovery_registration(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> impl Future<Output = Result<Option<RecoveryRegistrationView>, StoreError>> + Send {
        self.inner.recovery_registration(org, agent)
    }
    fn key_history(
        &self,
        org: OrgId,
        owner: Option<AgentId>,
        after: Option<HistoryCursor>,
        limit: u32,
    ) -> impl Future<Output = Result<Page<HistoryLine, HistoryCursor>, StoreError>> + Send {
        self.inner.key_history(org, owner, after, limit)
    }
    fn first_use(
        &self,
        org: OrgId,
        key: [u8; 32],
        expires_at: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.first_use(org, key, expires_at)
    }
    fn replay_horizon(&self) -> impl Future<Output = Result<Option<UnixTime>, StoreError>> + Send {
        self.inner.replay_horizon()
    }
    fn raise_replay_horizon(
        &self,
        horizon: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.raise_replay_horizon(horizon)
    }
    fn unexpired_replay_keys(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<Vec<ReplayRecord>, StoreError>> + Send {
        self.inner.unexpired_replay_keys(now)
    }
    fn start_session(
        &self,
        org: OrgId,
        session: &SessionRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.start_session(org, session)
    }
    fn end_session(
        &self,
        org: OrgId,
        agent: AgentId,
        session_key: SigningPublicKey,
        until: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.end_session(org, agent, session_key, until)
    }
    fn session_ended(
        &self,
        org: OrgId,
        session_key: SigningPublicKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.session_ended(org, session_key)
    }
    fn prune_replay_keys(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.prune_replay_keys(now)
    }
    fn due_notifications(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, StoreError>> + Send {
        self.inner.due_notifications(now, limit)
    }
    fn claim_notification(
        &self,
        id: i64,
        now: UnixTime,
        until: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.claim_notification(id, now, until)
    }
    fn notification_sent(&self, id: i64) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.notification_sent(id)
    }
    fn notification_failed(
        &self,
        id: i64,
        retry_at: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.notification_failed(id, retry_at)
    }
}

/// An organization whose log is longer than the ledger reads at once (1000 entries): the
/// host changing one agent's role back and forth.
fn long_world() -> World {
    let mut world = World::new(7);
    world.recorded_changes = Some(Vec::new());
    for round in 0..1200 {
        let role = if round % 2 == 0 {
            Role::Admin
        } else {
            Role::Member
        };
        world.set_role(agent(0), role).unwrap();
    }
    world
}

async fn stored(world: &World) -> SlowLog {
    let store = SlowLog::default();
    store
        .create_org(&Append::new(world.log[0].clone(), Changes::default(), &[]))
        .await
        .unwrap();
    store.append_all(&recorded_appends(world)).await.unwrap();
    store
}

#[tokio::test]
async fn an_abandoned_load_resumes_where_it_stopped() {
    let world = long_world();
    let entries = u64::try_from(world.log.len()).unwrap();
    assert!(entries > 1000, "the log spans more than one read");
    let ledger = Ledger::new(stored(&world).await, host_from(world.host.seed()));
    let head = |state: &zt_core::OrgState| state.head();

    // The first caller gives up while the second chunk is being read.
    ledger
        .store()
        .stall_after_first_chunk
        .store(true, Ordering::SeqCst);
    let gave_up =
        tokio::time::timeout(Duration::from_millis(200), ledger.read(world.org, head)).await;
    assert!(gave_up.is_err(), "the read waited on the stalled store");
    assert_eq!(ledger.store().reads(), [Seq(0), Seq(1000)]);

    // The next caller goes on from the second chunk, and gets the whole verified state.
    ledger
        .store()
        .stall_after_first_chunk
        .store(false, Ordering::SeqCst);
    let loaded = ledger.read(world.org, head).await.unwrap();
    assert_eq!(loaded, world.state.head());
    let reads = ledger.store().reads();
    assert_eq!(
        reads.first(),
        Some(&Seq(1000)),
        "resumed, not restarted: {reads:?}"
    );
    assert!(!reads.contains(&Seq(0)));
}

#[tokio::test]
async fn forgetting_an_organization_drops_a_partial_load() {
    let world = long_world();
    let ledger = Ledger::new(stored(&world).await, host_from(world.host.seed()));
    let head = |state: &zt_core::OrgState| state.head();
    ledger
        .store()
        .stall_after_first_chunk
        .store(true, Ordering::SeqCst);
    let gave_up =
        tokio::time::timeout(Duration::from_millis(200), ledger.read(world.org, head)).await;
    assert!(gave_up.is_err());
    ledger.forget(world.org).await;
    ledger.store().reads();

    ledger
        .store()
        .stall_after_first_chunk
        .store(false, Ordering::SeqCst);
    assert_eq!(
        ledger.read(world.org, head).await.unwrap(),
        world.state.head()
    );
    assert_eq!(
        ledger.store().reads().first(),
        Some(&Seq(0)),
        "loaded afresh"
    );
}

#[tokio::test]
async fn a_first_load_lets_other_tasks_run_between_chunks() {
    // One thread (the test runtime's), and a store that answers without waiting: only the
    // load's own yields let the other task run before the load is done.
    let world = long_world();
    let ledger = Ledger::new(stored(&world).await, host_from(world.host.seed()));
    let loaded = AtomicBool::new(false);
    let load = async {
        let head = ledger.read(world.org, |state| state.head()).await.unwrap();
        loaded.store(true, Ordering::SeqCst);
        head
    };
    let other = async {
        let mut turns = 0;
        while !loaded.load(Ordering::SeqCst) {
            turns += 1;
            tokio::task::yield_now().await;
        }
        turns
    };
    let (head, turns) = tokio::join!(load, other);
    assert_eq!(head, world.state.head());
    // Two chunks, the end of the log, and the catch-up after the load.
    let end = Seq(u64::try_from(world.log.len()).unwrap());
    assert_eq!(ledger.store().reads(), [Seq(0), Seq(1000), end, end]);
    assert!(
        turns >= 2,
        "the other task ran after each of the two chunks, not only after the load: {turns}"
    );
}
