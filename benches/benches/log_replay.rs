//! Replaying and verifying a 10,000-entry log from its root (§5) beside raw batch verification
//! of the same signatures. Goal: ≥ 0.8 of the raw batch throughput.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signature, VerifyingKey};
use zt_benches::measure::{compare, timed, Comparison};
use zt_core::{verify_log, verify_log_with, VerifyMode};

/// The raw batch's inputs: every signature of the log, with its signer.
fn triples(world: &zt_testkit::world::World) -> (Vec<Vec<u8>>, Vec<Signature>, Vec<VerifyingKey>) {
    let (mut messages, mut signatures, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for (message, signature, key) in zt_benches::signatures_of(zt_benches::log_of(world)) {
        messages.push(message);
        signatures.push(Signature::from_bytes(&signature.to_bytes()));
        keys.push(VerifyingKey::from_bytes(key.as_bytes()).expect("key"));
    }
    (messages, signatures, keys)
}

fn log_replay(c: &mut Criterion) {
    let world = zt_benches::organization_with_log(10_000);
    let log = zt_benches::log_of(&world);
    let root = world.state.trust_root().expect("root");
    let (messages, signatures, keys) = triples(&world);
    let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let raw = || {
        timed(|| {
            for ((m, s), k) in message_refs
                .chunks(1024)
                .zip(signatures.chunks(1024))
                .zip(keys.chunks(1024))
            {
                ed25519_dalek::verify_batch(m, s, k).expect("valid");
            }
        })
    };
    let zt = || timed(|| verify_log(&root, log).expect("valid"));

    let mut group = c.benchmark_group("log-replay-10k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("raw-verify-batch", |b| b.iter_custom(raw()));
    group.bench_function("zt-verify-log-batch", |b| b.iter_custom(zt()));
    group.bench_function("zt-verify-log-strict", |b| {
        b.iter_custom(timed(|| {
            verify_log_with(&root, log, VerifyMode::Strict).expect("valid")
        }))
    });
    group.finish();

    compare(
        Comparison {
            what: &format!("replay and verify a {}-entry log", log.len()),
            floor: "raw batch verification",
            goal: 0.8,
            rounds: 11,
            iters: 1,
        },
        zt(),
        raw(),
    );
}

criterion_group!(benches, log_replay);
criterion_main!(benches);
