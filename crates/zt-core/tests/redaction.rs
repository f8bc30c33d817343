//! No secret ever prints: every secret-bearing type, formatted with `{:?}` and `{}`, shows
//! neither the passphrase nor any secret byte, in raw, hex or file form.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zt_core::{
    AccessSecret, AgentId, AgentKeys, HostKey, HostSeed, KdfParams, NewPassphrase, OrgId,
    Passphrase, RecoveryKeys, RecoverySecret, Salt, SessionKey, SessionSeed,
};

const CANARY: &str = "canary-passphrase-7f3a91";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Asserts that neither formatting of `value` reveals any of `secrets`.
fn assert_redacted<T: std::fmt::Debug + std::fmt::Display>(
    what: &str,
    value: &T,
    secrets: &[Vec<u8>],
) {
    for printed in [
        format!("{value:?}"),
        format!("{value}"),
        format!("{value:#?}"),
    ] {
        assert!(
            !printed.contains(CANARY),
            "{what} prints the passphrase: {printed}"
        );
        for secret in secrets {
            let hex = hex(secret);
            assert!(
                !printed.contains(&hex),
                "{what} prints a secret in hex: {printed}"
            );
            assert!(
                !printed.contains(&hex[..16]),
                "{what} prints part of a secret: {printed}"
            );
            assert!(
                !printed.contains(&format!("{:?}", &secret[..8])),
                "{what} prints secret bytes: {printed}"
            );
            if let Ok(text) = std::str::from_utf8(secret) {
                assert!(!printed.contains(text), "{what} prints a secret: {printed}");
            }
        }
        assert!(
            printed.contains("redacted"),
            "{what} does not say it is redacted: {printed}"
        );
    }
}

#[test]
fn every_secret_type_prints_redacted() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (org, agent) = (OrgId::random(&mut rng), AgentId::random(&mut rng));
    let canary = CANARY.as_bytes().to_vec();

    assert_redacted(
        "Passphrase",
        &Passphrase::new(CANARY).unwrap(),
        std::slice::from_ref(&canary),
    );
    assert_redacted(
        "NewPassphrase",
        &NewPassphrase::new(CANARY).unwrap(),
        std::slice::from_ref(&canary),
    );

    let stretched = [0x5c; 32];
    let keys = AgentKeys::from_stretched(
        &stretched,
        KdfParams::DEFAULT,
        Salt::random(&mut rng),
        org,
        agent,
    );
    assert_redacted("AgentKeys", &keys, &[stretched.to_vec()]);

    let host = HostKey::generate(&mut rng);
    let host_seed = host.seed().expose_secret().to_vec();
    assert_redacted("HostKey", &host, std::slice::from_ref(&host_seed));
    assert_redacted("HostSeed", host.seed(), &[host_seed]);

    let session = SessionKey::generate(&mut rng);
    let session_seed = session.seed().expose_secret().to_vec();
    assert_redacted("SessionKey", &session, std::slice::from_ref(&session_seed));
    assert_redacted(
        "SessionSeed",
        &SessionSeed::from_bytes(session_seed.clone().try_into().unwrap()),
        &[session_seed],
    );

    let access = AccessSecret::random(&mut rng);
    assert_redacted("AccessSecret", &access, &[access.expose_secret().to_vec()]);

    let recovery = RecoveryKeys::generate(org, agent, &mut rng);
    let text = recovery.file().to_text();
    let secret_line = text
        .lines()
        .find(|line| line.starts_with("Secret: "))
        .unwrap();
    let secret_hex = secret_line.trim_start_matches("Secret: ");
    let secret: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&secret_hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_redacted("RecoveryKeys", &recovery, std::slice::from_ref(&secret));
    assert_redacted(
        "RecoveryFile",
        recovery.file(),
        &[secret.clone(), secret_line.as_bytes().to_vec()],
    );
    assert_redacted(
        "RecoverySecret",
        &RecoverySecret::from_bytes(secret.clone().try_into().unwrap()),
        &[secret],
    );

    // The seed of a host key is printed nowhere else either.
    let seed = HostSeed::from_bytes([0x77; 32]);
    assert_redacted(
        "HostKey::from_seed",
        &HostKey::from_seed(seed),
        &[vec![0x77; 32]],
    );
}
