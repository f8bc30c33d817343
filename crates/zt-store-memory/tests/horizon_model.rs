//! Random sequences of task verifications, clock steps and crashes against a store's one
//! verifier (spec §9.5), checked against a model: no authorization is ever accepted twice,
//! across any number of crashes; and one never presented, issued after the horizon the
//! verifier found when it opened the store, is accepted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test: a broken expectation stops it with its message"
)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use zt_core::{PayloadDigest, TaskAuthorization, TaskBinding, TaskError, TaskKind, UnixTime};
use zt_store::conformance::{host_from, Mirror};
use zt_store::{Ledger, LedgerError, Store};
use zt_store_memory::MemoryStore;
use zt_testkit::world::agent;

/// Authorizations in the pool; each is signed at `start + offset`.
const POOL: usize = 8;

#[derive(Clone, Debug)]
enum Step {
    /// The verifier is handed authorization `n` of the pool.
    Present(usize),
    /// The server's clock moves on.
    Wait(u64),
    /// The server dies without a word, and a new one opens the store.
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..POOL).prop_map(Step::Present),
        2 => (0u64..4).prop_map(Step::Wait),
        1 => Just(Step::Crash),
    ]
}

fn binding() -> TaskBinding {
    TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(b"model"),
    }
}

async fn run(offsets: Vec<u64>, steps: Vec<Step>) {
    let mut mirror = Mirror::new(MemoryStore::new(), 5).await;
    mirror.world.first_key(agent(0)).unwrap();
    mirror.sync().await;
    let (org, start) = (mirror.world.org, mirror.world.now);
    let key = mirror.world.state.active_key(agent(0)).unwrap().0;
    let mut rng = mirror.world.rng().clone();
    let pool: Vec<TaskAuthorization> = offsets
        .iter()
        .map(|offset| {
            mirror.world.now = UnixTime(start.0 + offset);
            mirror.world.sign_task(key, &binding(), &mut rng)
        })
        .collect();
    let store = mirror.ledger.store().clone();
    let host = || host_from(mirror.world.host.seed());
    let mut now = start;
    let mut verifier = Ledger::with_replay_horizon(store.clone(), host(), now)
        .await
        .unwrap();
    let mut opened_after = store.replay_horizon().await.unwrap().unwrap_or(UnixTime(0));
    let mut accepted: BTreeSet<usize> = BTreeSet::new();
    let mut presented: BTreeSet<usize> = BTreeSet::new();
    for step in steps {
        match step {
            Step::Present(n) => {
                let answer = verifier.verify_task(org, &pool[n], &binding(), now).await;
                match answer {
                    Ok(_) => assert!(accepted.insert(n), "authorization {n} accepted twice"),
                    Err(LedgerError::Task(TaskError::Replayed)) => assert!(
                        presented.contains(&n) || pool[n].issued_at <= opened_after,
                        "authorization {n}, never presented, issued at {:?} after the horizon \
                         {opened_after:?}, refused as replayed",
                        pool[n].issued_at
                    ),
                    Err(error) => panic!("authorization {n}: {error}"),
                }
                presented.insert(n);
            }
            Step::Wait(seconds) => now = UnixTime(now.0 + seconds),
            Step::Crash => {
                drop(verifier);
                verifier = Ledger::with_replay_horizon(store.clone(), host(), now)
                    .await
                    .unwrap();
                opened_after = store.replay_horizon().await.unwrap().unwrap_or(UnixTime(0));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn no_authorization_is_accepted_twice_across_crashes(
        offsets in proptest::collection::vec(0u64..12, POOL),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(run(offsets, steps));
    }
}
