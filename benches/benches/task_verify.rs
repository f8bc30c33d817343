//! Verifying one task authorization in-process (decode, bind, strict verify, replay check,
//! §9.4) beside one raw `verify_strict` of the same signed bytes. Goal: ≥ 0.9 of its throughput.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_chacha::rand_core::SeedableRng;
use zt_core::{InMemoryReplayGuard, PayloadDigest, TaskAuthorization, TaskBinding, TaskKind};
use zt_testkit::world::agent;

fn task_verify(c: &mut Criterion) {
    let mut world = zt_benches::organization_with_log(64);
    let (key, info) = world.state.active_key(agent(2)).expect("agent 2 has a key");
    let public = VerifyingKey::from_bytes(info.record.signing.as_bytes()).expect("key");
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").expect("kind"),
        payload: PayloadDigest::of(b"Get-Process"),
    };
    let (org, epoch, now) = (world.org, world.state.epoch(), world.now);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let authorizations: Vec<Vec<u8>> = (0..4096)
        .map(|_| {
            TaskAuthorization::sign(
                world.keys(key),
                org,
                epoch,
                binding.clone(),
                now,
                300,
                &mut rng,
            )
            .encode()
        })
        .collect();
    let state = world.state.clone();
    let _ = world.rng();

    let mut group = c.benchmark_group("task-verify");
    group.bench_function("raw-verify-strict", |b| {
        let bytes = &authorizations[0];
        let (message, signature) = bytes.split_at(bytes.len() - 64);
        let mut labeled =
            vec![u8::try_from(zt_core::labels::TASK_AUTHORIZATION.len()).expect("short")];
        labeled.extend_from_slice(zt_core::labels::TASK_AUTHORIZATION.as_bytes());
        labeled.extend_from_slice(message);
        let signature = Signature::from_bytes(signature.try_into().expect("64 bytes"));
        b.iter(|| public.verify_strict(&labeled, &signature).expect("valid"))
    });
    group.bench_function("zt-verify-task", |b| {
        b.iter_batched(
            || {
                (
                    InMemoryReplayGuard::default(),
                    authorizations.iter().cycle(),
                )
            },
            |(mut guard, mut next)| {
                let authorization =
                    TaskAuthorization::decode(next.next().expect("cycle")).expect("decodes");
                state
                    .verify_task(&authorization, &binding, now, &mut guard)
                    .expect("valid")
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, task_verify);
criterion_main!(benches);
