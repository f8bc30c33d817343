//! The one verifying server of a store, keeping replay keys in memory behind the store's
//! durable horizon (spec §9.5).

use zt_core::{PayloadDigest, TaskAuthorization, TaskBinding, TaskError, TaskKind, UnixTime};
use zt_testkit::world::{agent, World};

use super::pages::busy;
use super::{host_from, StoreFactory};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::Store;

fn binding() -> TaskBinding {
    TaskBinding {
        kind: TaskKind::new("remote-control").unwrap(),
        payload: PayloadDigest::of(b"horizon"),
    }
}

/// A task signed by `world`'s admin 0, issued at `issued_at`.
fn signed_at(world: &mut World, issued_at: UnixTime) -> TaskAuthorization {
    let key = world.state.active_key(agent(0)).unwrap().0;
    let was = std::mem::replace(&mut world.now, issued_at);
    let mut rng = world.rng().clone();
    let signed = world.sign_task(key, &binding(), &mut rng);
    *world.rng() = rng;
    world.now = was;
    signed
}

async fn opened<F: StoreFactory>(
    factory: &F,
    store: &F::Store,
    world: &World,
    now: UnixTime,
) -> Ledger<F::Store> {
    Ledger::with_replay_horizon(
        factory.another_handle(store).await,
        host_from(world.host.seed()),
        now,
    )
    .await
    .unwrap()
}

fn replayed<T: std::fmt::Debug>(result: Result<T, LedgerError>) -> bool {
    matches!(result, Err(LedgerError::Task(TaskError::Replayed)))
}

/// Each authorization is accepted once; the store's horizon is durable past it before it
/// is; a server opening the store again (after a crash: nothing else was written) refuses
/// every authorization issued at or before that horizon, used or not, and accepts later
/// ones; keys recorded by servers sharing the store stay spent; the horizon never falls.
pub async fn replay_keys_behind_a_horizon_survive_a_restart<F: StoreFactory>(factory: &F) {
    let mut mirror = busy(factory.create().await, 17).await;
    let (org, now) = (mirror.world.org, mirror.world.now);
    let store = mirror.ledger.store().clone();
    let first = opened(factory, &store, &mirror.world, now).await;

    let used = signed_at(&mut mirror.world, now);
    let unused = signed_at(&mut mirror.world, now);
    first
        .verify_task(org, &used, &binding(), now)
        .await
        .unwrap();
    let horizon = store.replay_horizon().await.unwrap().unwrap();
    assert!(
        horizon >= used.issued_at,
        "the horizon is durable past the accepted authorization"
    );
    assert!(replayed(
        first.verify_task(org, &used, &binding(), now).await
    ));
    assert!(
        !store
            .unexpired_replay_keys(now)
            .await
            .unwrap()
            .iter()
            .any(|record| record.key == used.replay_key()),
        "the key was kept in memory, not committed"
    );

    // A client whose clock runs ahead (within spec §9.4's 300 s) raises the horizon.
    let ahead = signed_at(&mut mirror.world, UnixTime(now.0 + 100));
    first
        .verify_task(org, &ahead, &binding(), now)
        .await
        .unwrap();
    let horizon = store.replay_horizon().await.unwrap().unwrap();
    assert!(horizon >= ahead.issued_at);

    // A key spent by a server that records in the store stays spent.
    let later = UnixTime(horizon.0 + 1);
    let shared = signed_at(&mut mirror.world, later);
    mirror
        .ledger
        .verify_task(org, &shared, &binding(), later)
        .await
        .unwrap();

    // The server stops without a word (a crash); another opens the store.
    drop(first);
    let second = opened(factory, &store, &mirror.world, later).await;
    for refused in [&used, &unused, &ahead, &shared] {
        assert!(
            replayed(second.verify_task(org, refused, &binding(), later).await),
            "issued at {:?}, horizon {horizon:?}",
            refused.issued_at
        );
    }
    let fresh = signed_at(&mut mirror.world, later);
    second
        .verify_task(org, &fresh, &binding(), later)
        .await
        .unwrap();
    assert!(replayed(
        second.verify_task(org, &fresh, &binding(), later).await
    ));

    // Raising never lowers it.
    let top = store.replay_horizon().await.unwrap().unwrap();
    store.raise_replay_horizon(UnixTime(1)).await.unwrap();
    assert_eq!(store.replay_horizon().await.unwrap(), Some(top));
}

/// Two authorizations with one nonce (a client that drew it twice) have one replay key: the
/// second is refused, and its shorter lifetime does not shorten how long the first's key is
/// remembered, so the first stays refused until it expires.
pub async fn a_reused_nonce_keeps_the_first_expiry<F: StoreFactory>(factory: &F) {
    let mut mirror = busy(factory.create().await, 23).await;
    let (org, now) = (mirror.world.org, mirror.world.now);
    let store = mirror.ledger.store().clone();
    let verifier = opened(factory, &store, &mirror.world, now).await;
    let key = mirror.world.state.active_key(agent(0)).unwrap().0;
    let nonce_source = mirror.world.rng().clone();
    let keys = mirror.world.keys(key);
    let sign = |lifetime| {
        TaskAuthorization::sign(
            keys,
            org,
            mirror.world.state.epoch(),
            binding(),
            now,
            lifetime,
            &mut nonce_source.clone(),
        )
    };
    let (long, short) = (sign(600), sign(10));
    assert_eq!(long.replay_key(), short.replay_key());
    verifier
        .verify_task(org, &long, &binding(), now)
        .await
        .unwrap();
    assert!(replayed(
        verifier.verify_task(org, &short, &binding(), now).await
    ));
    // Well past the short one's expiry and the spent keys' sweeps, the long one is valid,
    // and still spent.
    let later = UnixTime(now.0 + 300);
    assert!(replayed(
        verifier.verify_task(org, &long, &binding(), later).await
    ));
}
