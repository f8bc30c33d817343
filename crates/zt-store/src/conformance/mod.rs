//! The conformance suite: one set of tests every [`Store`] backend must pass.
//!
//! A backend provides a [`StoreFactory`] and expands [`conformance_tests!`](crate::conformance_tests)
//! in a test file. The suite drives a [`Ledger`] over the store with real, signed commands made
//! by the test kit's in-process organization, and compares everything the store returns with
//! that reference: the entries byte for byte, and the views (statuses, pending requests,
//! recovery registrations, key history) with a fresh fold of the log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "a test suite: a broken expectation stops the test with its message"
)]

pub mod crash;
mod horizon;
mod mirror;
mod pages;
mod races;
mod stale;

use std::collections::BTreeMap;
use std::future::Future;

pub use horizon::{
    a_reused_nonce_keeps_the_first_expiry, replay_keys_behind_a_horizon_survive_a_restart,
};
pub use mirror::{
    approve_racing_revoke, every_flow_mirrors_the_reference, random_sequences_mirror_the_reference,
    tampered_rows_are_named_never_used, Mirror,
};
pub use pages::{
    appends_are_atomic_and_conflicts_change_nothing, outbox_delivers_once_with_backoff,
    pages_and_filters, replay_cache_records_each_key_once, revocations_reach_every_server_at_once,
    sessions_end_on_every_server,
};
pub use races::{first_key_race, two_approvals_race};
pub use stale::{
    stale_servers_apply_the_current_prompt_policy, stale_servers_decide_on_the_current_log,
};

use zt_core::{
    AgentId, AgentStatus, HostKey, HostSeed, LogEntry, OrgId, OrgState, PendingRequest,
    RecoveryRegistrationView, Seq, VerifiedEntry,
};

use crate::model::{HistoryCursor, HistoryLine, StatusFilter};
use crate::store::Store;

/// How the suite makes stores of one backend.
pub trait StoreFactory: Send + Sync + 'static {
    /// The backend.
    type Store: Store + Clone;

    /// A new, empty store: a fresh database, schema or file.
    fn create(&self) -> impl Future<Output = Self::Store> + Send;

    /// A second handle on the same data, with its own connections, as a second server has.
    fn another_handle(&self, store: &Self::Store) -> impl Future<Output = Self::Store> + Send;

    /// Overwrites the stored bytes of one entry, as someone with write access to the
    /// database could.
    fn corrupt_entry(
        &self,
        store: &Self::Store,
        org: OrgId,
        seq: Seq,
        bytes: Vec<u8>,
    ) -> impl Future<Output = ()> + Send;
}

/// Expands to one `#[tokio::test]` per conformance test, each with `$factory` (an expression
/// building the backend's [`StoreFactory`]).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@tests $factory;
            every_flow_mirrors_the_reference,
            random_sequences_mirror_the_reference,
            tampered_rows_are_named_never_used,
            appends_are_atomic_and_conflicts_change_nothing,
            pages_and_filters,
            replay_cache_records_each_key_once,
            replay_keys_behind_a_horizon_survive_a_restart,
            a_reused_nonce_keeps_the_first_expiry,
            sessions_end_on_every_server,
            revocations_reach_every_server_at_once,
            stale_servers_decide_on_the_current_log,
            stale_servers_apply_the_current_prompt_policy,
            outbox_delivers_once_with_backoff,
            first_key_race,
            two_approvals_race,
            approve_racing_revoke,
        );
    };
    (@tests $factory:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let Some(factory) = $factory else { return };
                $crate::conformance::$test(&factory).await;
            }
        )*
    };
}

/// The appends that store `world`'s log after its first entry, with the changes the world
/// recorded (set `world.recorded_changes` before its commands): a bulk import.
pub fn recorded_appends(world: &zt_testkit::world::World) -> Vec<crate::Append> {
    let changes = world.recorded_changes.as_ref().expect("recorded changes");
    world.log[1..]
        .iter()
        .zip(changes)
        .map(|(entry, changes)| crate::Append::new(entry.clone(), changes.clone(), &[]))
        .collect()
}

/// The ledger host key of a test organization, from its seed.
pub fn host_from(seed: &HostSeed) -> HostKey {
    HostKey::from_seed(HostSeed::from_bytes(*seed.expose_secret()))
}

/// Every status row, all pages.
pub async fn all_statuses<S: Store>(
    store: &S,
    org: OrgId,
    filter: StatusFilter,
    page: u32,
) -> Vec<AgentStatus> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.status_page(org, filter, after, page).await.unwrap();
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// The recovery registration of every agent the status view names.
pub async fn all_recovery<S: Store>(
    store: &S,
    org: OrgId,
) -> BTreeMap<AgentId, RecoveryRegistrationView> {
    let mut all = BTreeMap::new();
    for status in all_statuses(store, org, StatusFilter::default(), 100).await {
        let registration = store
            .recovery_registration(org, status.agent)
            .await
            .unwrap();
        all.extend(registration.map(|registration| (status.agent, registration)));
    }
    all
}

/// Every pending request, all pages.
pub async fn all_pending<S: Store>(store: &S, org: OrgId, page: u32) -> Vec<PendingRequest> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.pending_requests(org, after, page).await.unwrap();
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// Every history line, all pages, optionally about one agent.
pub async fn all_history<S: Store>(
    store: &S,
    org: OrgId,
    owner: Option<zt_core::AgentId>,
    page: u32,
) -> Vec<HistoryLine> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.key_history(org, owner, after, page).await.unwrap();
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// The key history a fresh replay of `log` gives, with its cursors.
pub fn history_of(log: &[LogEntry]) -> Vec<HistoryLine> {
    let (mut state, _) = OrgState::genesis(log[0].clone()).unwrap();
    let mut lines = Vec::new();
    for entry in &log[1..] {
        let verified: VerifiedEntry = state.verify_entry(entry.clone()).unwrap();
        for (line, event) in state.changes(&verified).history.into_iter().enumerate() {
            lines.push(HistoryLine {
                cursor: HistoryCursor {
                    seq: entry.header().seq,
                    line: u32::try_from(line).unwrap(),
                },
                event,
            });
        }
        state.apply(verified).unwrap();
    }
    lines
}

/// Checks that the store's views equal a fresh fold of its log (statuses, pending requests,
/// key history); `Err` says which differs.
pub async fn check_views<S: Store>(store: &S, org: OrgId) -> Result<(), String> {
    let mut log = Vec::new();
    loop {
        let rows = store
            .entries(org, Seq(u64::try_from(log.len()).unwrap()), 1000)
            .await
            .unwrap();
        if rows.is_empty() {
            break;
        }
        log.extend(rows.iter().map(|bytes| LogEntry::decode(bytes).unwrap()));
    }
    let state = OrgState::replay(&log, zt_core::VerifyMode::Batch)
        .map_err(|e| format!("the log fails to replay: {e}"))?;
    let statuses: Vec<AgentStatus> = state.statuses().collect();
    if all_statuses(store, org, StatusFilter::default(), 7).await != statuses {
        return Err("stored statuses differ from a fresh fold".into());
    }
    if all_pending(store, org, 3).await != state.pending_views() {
        return Err("stored pending requests differ from a fresh fold".into());
    }
    let recovery: BTreeMap<_, _> = state.recovery_views().collect();
    if all_recovery(store, org).await != recovery {
        return Err("stored recovery registrations differ from a fresh fold".into());
    }
    if all_history(store, org, None, 11).await != history_of(&log) {
        return Err("stored key history differs from a fresh fold".into());
    }
    Ok(())
}
