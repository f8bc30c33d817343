//! Verifying one task authorization in-process (decode, bind, strict verify, replay check,
//! §9.4) beside one raw `verify_strict` of the same signed bytes. Goal: ≥ 0.9 of its throughput.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_chacha::rand_core::SeedableRng;
use zt_benches::measure::{compare, timed, Comparison};
use zt_core::{InMemoryReplayGuard, PayloadDigest, TaskAuthorization, TaskBinding, TaskKind};
use zt_testkit::world::agent;

/// Distinct authorizations verified against one replay guard before a fresh guard.
const DISTINCT: usize = 4096;

fn task_verify(c: &mut Criterion) {
    let world = zt_benches::organization_with_log(64);
    let (key, info) = world.state.active_key(agent(2)).expect("agent 2 has a key");
    let public = VerifyingKey::from_bytes(info.record.signing.as_bytes()).expect("key");
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").expect("kind"),
        payload: PayloadDigest::of(b"Get-Process"),
    };
    let now = world.now;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let authorizations: Vec<Vec<u8>> = (0..DISTINCT)
        .map(|_| world.sign_task(key, &binding, &mut rng).encode())
        .collect();
    let state = world.state.clone();

    // The floor: the signature check alone, on the labeled bytes zt verifies (§9.2).
    let bytes = &authorizations[0];
    let (message, signature) = bytes.split_at(bytes.len() - 64);
    let mut labeled = vec![u8::try_from(zt_core::labels::TASK_AUTHORIZATION.len()).expect("short")];
    labeled.extend_from_slice(zt_core::labels::TASK_AUTHORIZATION.as_bytes());
    labeled.extend_from_slice(message);
    let signature = Signature::from_bytes(signature.try_into().expect("64 bytes"));
    let raw = || timed(|| public.verify_strict(&labeled, &signature).expect("valid"));

    // zt: every authorization is new to the guard (a replay would be refused), so each run
    // of up to DISTINCT verifications starts a fresh guard, outside the timing.
    let zt = || {
        |iters: u64| {
            let mut total = Duration::ZERO;
            let mut left = usize::try_from(iters).expect("fits");
            while left > 0 {
                let run = left.min(DISTINCT);
                let mut guard = InMemoryReplayGuard::default();
                let started = Instant::now();
                for bytes in &authorizations[..run] {
                    let authorization = TaskAuthorization::decode(bytes).expect("decodes");
                    std::hint::black_box(
                        state
                            .verify_task(&authorization, &binding, now, &mut guard)
                            .expect("valid"),
                    );
                }
                total += started.elapsed();
                left -= run;
            }
            total
        }
    };

    let mut group = c.benchmark_group("task-verify");
    group.bench_function("raw-verify-strict", |b| b.iter_custom(raw()));
    group.bench_function("zt-verify-task", |b| b.iter_custom(zt()));
    group.finish();

    compare(
        Comparison {
            what: "verify one task authorization in-process",
            floor: "one raw `verify_strict`",
            goal: 0.9,
            rounds: 21,
            iters: 2000,
        },
        zt(),
        raw(),
    );
}

criterion_group!(benches, task_verify);
criterion_main!(benches);
