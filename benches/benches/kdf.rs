//! Key derivation: zt's derivation (Argon2id then HKDF, §3.3) beside the raw argon2 call with
//! the same parameters, and the verification code (§7.1). Goal: zt within 3% of raw.

use criterion::{criterion_group, criterion_main, Criterion};
use zt_benches::measure::{compare, timed, Comparison};
use zt_core::{
    AgentId, AgentKeys, KdfParams, OrgId, Passphrase, PublicKeyRecord, Salt, VerificationCode,
};

fn raw_argon2(params: KdfParams, password: &[u8], salt: &[u8]) -> [u8; 32] {
    let params = argon2::Params::new(
        params.memory_kib(),
        params.passes(),
        params.lanes(),
        Some(32),
    )
    .expect("params");
    let mut out = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(password, salt, &mut out)
        .expect("argon2");
    out
}

fn kdf(c: &mut Criterion) {
    let passphrase = &Passphrase::new("correct horse battery staple").expect("passphrase");
    let (org, agent, salt) = (
        OrgId::from_bytes([1; 16]),
        AgentId::from_bytes([2; 16]),
        Salt::from_bytes([3; 16]),
    );
    let mut group = c.benchmark_group("kdf");
    group.sample_size(10);
    let zt = |params| timed(move || AgentKeys::derive(passphrase, params, salt, org, agent));
    let raw =
        |params| timed(move || raw_argon2(params, passphrase.expose_secret(), salt.as_bytes()));
    for (name, params) in [
        ("default-128MiB-t3", KdfParams::DEFAULT),
        (
            "floor-64MiB-t3",
            KdfParams::new(65_536, 3, 1).expect("floor"),
        ),
    ] {
        group.bench_function(format!("zt-derive/{name}"), |b| b.iter_custom(zt(params)));
        group.bench_function(format!("raw-argon2id/{name}"), |b| {
            b.iter_custom(raw(params))
        });
    }
    let record: PublicKeyRecord =
        *AgentKeys::from_stretched(&[9; 32], KdfParams::DEFAULT, salt, org, agent).record();
    group.bench_function("verification-code", |b| {
        b.iter(|| {
            VerificationCode::derive(
                org,
                zt_core::Epoch(0),
                agent,
                zt_core::RequestId::from_bytes([4; 16]),
                &record,
            )
        })
    });
    group.finish();

    compare(
        Comparison {
            what: "derive keys from a passphrase (default parameters: 128 MiB, 3 passes)",
            floor: "the raw argon2 call",
            goal: 0.97,
            rounds: 15,
            iters: 1,
        },
        zt(KdfParams::DEFAULT),
        raw(KdfParams::DEFAULT),
    );
}

criterion_group!(benches, kdf);
criterion_main!(benches);
