//! The reference organization (zt-testkit's `World`, in memory) and a ledger over the store
//! under test, kept in step: every entry the reference accepts is executed on the ledger,
//! which must accept it too and store the same bytes and views.

use std::sync::Arc;

use zt_core::{Command, LogEntry, Role, Seq, Statement, UnixTime};
use zt_testkit::ops::sequence;
use zt_testkit::run::Runner;
use zt_testkit::world::{agent, Views, World};

use super::{
    all_history, all_pending, all_recovery, all_statuses, check_views, host_from, StoreFactory,
};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::model::StatusFilter;
use crate::store::Store;

/// A reference world and a ledger over a store, in step.
pub struct Mirror<S: Store> {
    /// The reference, in memory.
    pub world: World,
    /// The ledger under test.
    pub ledger: Arc<Ledger<S>>,
    synced: usize,
}

impl<S: Store> std::fmt::Debug for Mirror<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("world", &self.world)
            .field("synced", &self.synced)
            .finish()
    }
}

impl<S: Store + Clone> Mirror<S> {
    /// A new organization in both, with the same host key.
    pub async fn new(store: S, seed: u64) -> Mirror<S> {
        Mirror::on(store, World::new(seed)).await
    }

    /// Another server: a ledger of its own, with an empty cache, over another handle on this
    /// mirror's store and the same host key.
    pub async fn another_server<F: StoreFactory<Store = S>>(&self, factory: &F) -> Ledger<S> {
        Ledger::new(
            factory.another_handle(self.ledger.store()).await,
            host_from(self.world.host.seed()),
        )
    }

    /// Mirrors `world` (whose log holds only its first entry) into `store`.
    pub async fn on(store: S, world: World) -> Mirror<S> {
        let ledger = Arc::new(Ledger::new(store, host_from(world.host.seed())));
        ledger
            .create_org(world.org, world.log[0].header().time)
            .await
            .unwrap();
        let stored = ledger.store().entries(world.org, Seq(0), 10).await.unwrap();
        assert_eq!(
            stored,
            vec![world.log[0].encoded().to_vec()],
            "the first entry is stored as made"
        );
        Mirror {
            world,
            ledger,
            synced: 1,
        }
    }

    /// Executes on the ledger every entry the reference accepted since the last sync, and
    /// checks that it stores the same bytes.
    pub async fn sync(&mut self) {
        while self.synced < self.world.log.len() {
            let entry = self.world.log[self.synced].clone();
            let stored = execute_as_made(&self.ledger, &entry)
                .await
                .unwrap_or_else(|error| {
                    panic!(
                        "the ledger refused entry {} ({}) the reference accepted: {error}",
                        self.synced,
                        entry.kind()
                    )
                });
            assert_eq!(
                stored.encoded(),
                entry.encoded(),
                "entry {} stored differently",
                self.synced
            );
            self.synced += 1;
        }
    }

    /// Checks the store's views against the reference's and against a fresh fold.
    pub async fn check(&self) {
        let store = self.ledger.store();
        let org = self.world.org;
        let expected: Views = self.world.views.clone();
        let statuses = all_statuses(store, org, StatusFilter::default(), 5).await;
        assert_eq!(
            statuses,
            expected.statuses.values().cloned().collect::<Vec<_>>(),
            "statuses"
        );
        let mut pending: Vec<_> = expected.pending.values().cloned().collect();
        pending.sort_by_key(|p| p.seq);
        assert_eq!(
            all_pending(store, org, 2).await,
            pending,
            "pending requests"
        );
        assert_eq!(
            all_recovery(store, org).await,
            expected.recovery,
            "recovery registrations"
        );
        let history: Vec<_> = all_history(store, org, None, 9)
            .await
            .into_iter()
            .map(|line| line.event)
            .collect();
        assert_eq!(history, expected.history, "key history");
        check_views(store, org).await.unwrap();
    }
}

/// Executes an entry the reference made, as the command that made it, at its own time.
pub(super) async fn execute_as_made<S: Store>(
    ledger: &Ledger<S>,
    entry: &LogEntry,
) -> Result<LogEntry, LedgerError> {
    let org = entry.header().org;
    let now: UnixTime = entry.header().time;
    let command = match entry.statement() {
        Statement::SetRole(set) => Command::SetRole {
            agent: set.agent,
            role: set.role,
            force: set.forced,
        },
        Statement::EpochStart(_) => Command::ResetOrganization,
        _ => Command::from_entry(entry.clone()).unwrap(),
    };
    Ok(ledger.execute(org, command, now).await?.entry.into_entry())
}

/// Every flow of DESIGN.md §3, stored and read back.
pub async fn every_flow_mirrors_the_reference<F: StoreFactory>(factory: &F) {
    let mut mirror = Mirror::new(factory.create().await, 1).await;
    let world = &mut mirror.world;
    world.set_role(agent(0), Role::Admin).unwrap();
    world.set_role(agent(1), Role::SuperAdmin).unwrap();
    world.first_key(agent(0)).unwrap();
    let bob = world.request(agent(1)).unwrap();
    world.report_wrong_code(agent(0), bob).unwrap();
    world.approve(agent(0), bob).unwrap();
    let carol = world.request(agent(2)).unwrap();
    world.reject(agent(1), carol).unwrap();
    let carol = world.request(agent(2)).unwrap();
    world.approve(agent(1), carol).unwrap();
    let forgot = world.request(agent(2)).unwrap();
    world.approve(agent(0), forgot).unwrap();
    world.change(agent(2)).unwrap();
    let file = world.register_recovery(agent(2)).unwrap();
    world.recovery_reset(agent(2), file).unwrap();
    world
        .set_policy(agent(1), zt_core::PromptPolicy::EACH_TASK_ONLY)
        .unwrap();
    world.request(agent(3)).unwrap();
    world.revoke(agent(1), agent(2), false).unwrap();
    world.set_role(agent(3), Role::Removed).unwrap();
    mirror.sync().await;
    mirror.check().await;
    // A reset ends every key; the next key is a first key again.
    mirror.world.reset_organization().unwrap();
    mirror.world.first_key(agent(1)).unwrap();
    mirror.sync().await;
    mirror.check().await;
    // A fresh ledger over the same store loads the same state from the stored log alone.
    let reloaded = mirror.another_server(factory).await;
    let state = reloaded.read(mirror.world.org, Clone::clone).await.unwrap();
    assert_eq!(state, mirror.world.state);
}

/// Random sequences (honest and hostile, from the property tests) stored and read back.
pub async fn random_sequences_mirror_the_reference<F: StoreFactory>(factory: &F) {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for seed in 0..24 {
        let ops = sequence(40).new_tree(&mut runner).unwrap().current();
        let mut reference = Runner::new(seed);
        let world = std::mem::replace(&mut reference.world, World::new(seed));
        let mut mirror = Mirror::on(factory.create().await, world).await;
        for op in &ops {
            std::mem::swap(&mut reference.world, &mut mirror.world);
            reference.step(op).unwrap();
            std::mem::swap(&mut reference.world, &mut mirror.world);
            mirror.sync().await;
        }
        mirror.check().await;
    }
}

/// A stored entry changed behind the server's back is named, never used: when a server
/// loads the log, and when a running server catches up with rows others appended.
pub async fn tampered_rows_are_named_never_used<F: StoreFactory>(factory: &F) {
    let mut mirror = Mirror::new(factory.create().await, 2).await;
    mirror.world.set_role(agent(0), Role::Admin).unwrap();
    mirror.world.first_key(agent(0)).unwrap();
    for member in 1..4 {
        let request = mirror.world.request(agent(member)).unwrap();
        mirror.world.approve(agent(0), request).unwrap();
    }
    mirror.sync().await;
    let (org, host) = (mirror.world.org, mirror.world.host.seed());
    let store = factory.another_handle(mirror.ledger.store()).await;
    let damages: [fn(&mut Vec<u8>); 3] = [
        // A flipped bit in the signature.
        |bytes| *bytes.last_mut().unwrap() ^= 1,
        // A flipped bit in the header's time: still decodes, no longer signed.
        |bytes| bytes[2 + 16 + 4 + 8 + 32 + 7] ^= 1,
        // Garbage.
        |bytes| bytes.truncate(10),
    ];
    for (seq, damage) in [5usize, 7, 3].into_iter().zip(damages) {
        let original = mirror.world.log[seq].encoded().to_vec();
        let mut bytes = original.clone();
        damage(&mut bytes);
        factory
            .corrupt_entry(&store, org, Seq(u64::try_from(seq).unwrap()), bytes)
            .await;
        let fresh = Ledger::new(store.clone(), host_from(host));
        assert_tampered_at(fresh.read(org, |state| state.head()).await, seq);
        factory
            .corrupt_entry(&store, org, Seq(u64::try_from(seq).unwrap()), original)
            .await;
    }
    // A second server loads the log, then others append; a damaged new row is named when it
    // catches up, and what it had verified is kept.
    let follower = Ledger::new(store.clone(), host_from(host));
    let head = follower.read(org, |state| state.head()).await.unwrap();
    let request = mirror.world.request(agent(4)).unwrap();
    mirror.world.approve(agent(0), request).unwrap();
    mirror.sync().await;
    let damaged = usize::try_from(head.next_seq.0).unwrap() + 1;
    let mut bytes = mirror.world.log[damaged].encoded().to_vec();
    *bytes.last_mut().unwrap() ^= 1;
    factory
        .corrupt_entry(&store, org, Seq(u64::try_from(damaged).unwrap()), bytes)
        .await;
    assert_tampered_at(follower.read(org, |state| state.head()).await, damaged);
}

fn assert_tampered_at<T: std::fmt::Debug>(result: Result<T, LedgerError>, seq: usize) {
    match result {
        Err(LedgerError::Tampered {
            error: zt_core::LogError::BadEntry { index, .. },
            ..
        }) => {
            assert_eq!(index, seq, "the tampered entry is the one named");
        }
        other => panic!("tampering at {seq} went unnoticed: {other:?}"),
    }
}

/// Approval racing the revocation of the approver's key (spec §6.6, §6.8): the result is
/// one of the two serial orders, never both.
pub async fn approve_racing_revoke<F: StoreFactory>(factory: &F) {
    for round in 0..6 {
        let mut mirror = Mirror::new(factory.create().await, 100 + round).await;
        let world = &mut mirror.world;
        for admin in 0..3 {
            world.set_role(agent(admin), Role::Admin).unwrap();
        }
        world.first_key(agent(0)).unwrap();
        for admin in 1..3 {
            let request = world.request(agent(admin)).unwrap();
            world.approve(agent(0), request).unwrap();
        }
        let member = world.request(agent(5)).unwrap();
        mirror.sync().await;
        let world = &mut mirror.world;
        // Both signed at the same head: agent 1 approves; agent 2 revokes agent 1's key.
        let approval = world.build_judgement(agent(1), member, zt_testkit::world::Verdict::Approve);
        let revocation = world.build_revocation(agent(2), agent(1), false);
        let org = world.org;
        let now = world.now;
        let other = Arc::new(mirror.another_server(factory).await);
        let (first, second) = (mirror.ledger.clone(), other.clone());
        let (a, b) = (approval.clone(), revocation.clone());
        let approve = tokio::spawn(async move { first.execute(org, a, now).await });
        let revoke = tokio::spawn(async move { second.execute(org, b, now).await });
        let (approved, revoked) = (approve.await.unwrap(), revoke.await.unwrap());
        assert!(
            approved.is_ok() != revoked.is_ok(),
            "exactly one wins the position: {approved:?} {revoked:?}"
        );
        // The loser signs again at the new head and retries. (The reference world has not
        // seen either entry; it only supplies the agents' keys.)
        let head = mirror.ledger.read(org, |state| state.head()).await.unwrap();
        mirror.world.override_position(Some(head), None);
        let retried = if approved.is_ok() {
            mirror.world.build_revocation(agent(2), agent(1), false)
        } else {
            mirror
                .world
                .build_judgement(agent(1), member, zt_testkit::world::Verdict::Approve)
        };
        mirror.world.override_position(None, None);
        let retry = mirror.ledger.execute(org, retried, now).await;
        let state = mirror.ledger.read(org, Clone::clone).await.unwrap();
        let requested = mirror.world.requested_key(member).unwrap();
        let member_active = state.active_key(agent(5)).map(|(key, _)| key) == Some(requested);
        if approved.is_ok() {
            // Approval, then revocation: the member's key stays active, the approver's is gone.
            assert!(retry.is_ok(), "{retry:?}");
            assert!(member_active);
        } else {
            // Revocation, then approval by a revoked key: refused.
            assert!(matches!(retry, Err(LedgerError::Refused(_))), "{retry:?}");
            assert!(!member_active);
        }
        assert!(state.active_key(agent(1)).is_none());
        check_views(mirror.ledger.store(), org).await.unwrap();
    }
}
