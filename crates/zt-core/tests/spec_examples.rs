//! The worked examples of docs/spec/10-examples.md, regenerated and compared.
//!
//! Every value is computed twice: by zt-core, and by a second implementation written from
//! the spec's text with the underlying crates (argon2, hkdf, sha2, ed25519-dalek,
//! x25519-dalek, chacha20poly1305). The test fails if the two disagree, or if the checked-in
//! examples differ from what they produce. `ZT_UPDATE_SPEC_EXAMPLES=1` rewrites the file.

#![allow(
    clippy::disallowed_methods,
    reason = "a test may read files and the environment; zt-core itself does not"
)]
use std::fmt::Write as _;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use zt_core::{
    AccessSecret, AgentId, AgentKeys, Command, Context, EntryBuilder, Epoch, HostKey, HostSeed,
    KdfParams, LogEntry, OrgId, OrgState, Passphrase, PayloadDigest, RecoveryFile, RecoveryKeys,
    RegistrationId, RequestId, Role, Salt, TaskAuthorization, TaskBinding, TaskKind, UnixTime,
    VerificationCode,
};

const NOW: UnixTime = UnixTime(1_795_392_000);
const EXAMPLES: &str = "../../docs/spec/10-examples.md";

// ----- the second implementation, from the spec's text -----

/// §2.2
fn label(label: &str) -> Vec<u8> {
    let mut out = vec![u8::try_from(label.len()).unwrap()];
    out.extend_from_slice(label.as_bytes());
    out
}

/// §2.4: H(L, x…)
fn h(l: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(label(l));
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// §2.4: HKDF(salt, ikm, info, n)
fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .unwrap();
    out
}

fn argon2id(password: &[u8], salt: &[u8], memory_kib: u32, passes: u32) -> [u8; 32] {
    let params = argon2::Params::new(memory_kib, passes, 1, Some(32)).unwrap();
    let mut out = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(password, salt, &mut out)
        .unwrap();
    out
}

/// §3.3 and §3.5: everything about an agent key, from the passphrase.
struct SpecKey {
    stretched: [u8; 32],
    seed: [u8; 32],
    x_secret: [u8; 32],
    ed_public: [u8; 32],
    x_public: [u8; 32],
    key_id: [u8; 32],
    signing: ed25519_dalek::SigningKey,
}

fn spec_key(
    org: OrgId,
    agent: AgentId,
    passphrase: &str,
    salt: [u8; 16],
    memory_kib: u32,
) -> SpecKey {
    let stretched = argon2id(passphrase.as_bytes(), &salt, memory_kib, 3);
    let mut hkdf_salt = label("zt-v1/agent-key");
    hkdf_salt.extend_from_slice(org.as_bytes());
    hkdf_salt.extend_from_slice(agent.as_bytes());
    let seed: [u8; 32] = hkdf(
        &hkdf_salt,
        &stretched,
        &label("zt-v1/agent-key/ed25519"),
        32,
    )
    .try_into()
    .unwrap();
    let x_secret: [u8; 32] = hkdf(&hkdf_salt, &stretched, &label("zt-v1/agent-key/x25519"), 32)
        .try_into()
        .unwrap();
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let ed_public = signing.verifying_key().to_bytes();
    let x_public =
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(x_secret)).to_bytes();
    let key_id = h("zt-v1/key-id", &[&ed_public, &x_public]);
    SpecKey {
        stretched,
        seed,
        x_secret,
        ed_public,
        x_public,
        key_id,
        signing,
    }
}

/// §3.7: sealing with a given ephemeral secret.
fn spec_seal(e: [u8; 32], recipient: [u8; 32], ad: &[u8], message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let e_secret = x25519_dalek::StaticSecret::from(e);
    let e_public = x25519_dalek::PublicKey::from(&e_secret).to_bytes();
    let shared = e_secret
        .diffie_hellman(&x25519_dalek::PublicKey::from(recipient))
        .to_bytes();
    let okm = hkdf(
        &[e_public, recipient].concat(),
        &shared,
        &label("zt-v1/seal/key"),
        44,
    );
    let cipher = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&okm[..32]).unwrap();
    let sealed = cipher
        .encrypt(
            okm[32..].into(),
            Payload {
                msg: message,
                aad: ad,
            },
        )
        .unwrap();
    ([e_public.as_slice(), &sealed].concat(), okm)
}

// ----- rendering -----

struct Doc(String);

impl Doc {
    fn heading(&mut self, text: &str) {
        writeln!(self.0, "\n## {text}\n").unwrap();
    }
    fn text(&mut self, text: &str) {
        writeln!(self.0, "{text}\n").unwrap();
    }
    fn value(&mut self, name: &str, bytes: &[u8]) {
        writeln!(self.0, "```\n{name} =").unwrap();
        for chunk in hex::encode(bytes).as_bytes().chunks(64) {
            writeln!(self.0, "  {}", std::str::from_utf8(chunk).unwrap()).unwrap();
        }
        writeln!(self.0, "```\n").unwrap();
    }
    fn line(&mut self, name: &str, value: &str) {
        writeln!(self.0, "- `{name}`: `{value}`").unwrap();
    }
}

fn entry_example(
    doc: &mut Doc,
    title: &str,
    entry: &LogEntry,
    spec_signature: Option<&ed25519_dalek::SigningKey>,
) {
    doc.heading(title);
    let header = entry.header();
    doc.line(
        "kind",
        &format!("{} ({})", entry.kind(), entry.kind().tag()),
    );
    doc.line("seq", &header.seq.to_string());
    doc.line("epoch", &header.epoch.to_string());
    doc.line("prev", &header.prev.to_string());
    doc.line("time", &header.time.to_string());
    doc.text("");
    doc.value(
        "signed bytes (version, kind, header, body)",
        entry.signed_bytes(),
    );
    doc.value("entry (signed bytes, then signatures)", entry.encoded());
    doc.value("entry hash", entry.hash().as_bytes());
    // The second implementation: the hash over the bytes, and the deterministic Ed25519
    // signature over label || signed bytes, made with the key derived from the spec.
    assert_eq!(
        *entry.hash().as_bytes(),
        h("zt-v1/entry-hash", &[entry.encoded()])
    );
    if let Some(key) = spec_signature {
        use ed25519_dalek::Signer;
        let message = [label(entry.kind().label()), entry.signed_bytes().to_vec()].concat();
        assert_eq!(
            key.sign(&message).to_bytes(),
            entry.authorization().to_bytes(),
            "{title}"
        );
    }
}

fn generate() -> String {
    let mut doc = Doc(String::new());
    doc.0.push_str(
        "# 10. Worked examples\n\n\
         Generated by `crates/zt-core/tests/spec_examples.rs`, which computes every value twice (with\n\
         zt-core, and with the raw primitives following §2 – §9) and fails if they differ or if\n\
         this file is out of date. All inputs are fixed; byte strings are hex.\n",
    );
    let org =
        OrgId::from_bytes(*b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff");
    let admin = AgentId::from_bytes([0x0a; 16]);
    let member = AgentId::from_bytes([0x0b; 16]);

    // §2.2
    doc.heading("10.1 A label (§2.2)");
    doc.value("label(\"zt-v1/key-id\")", &label("zt-v1/key-id"));

    // §3.3: the admin's key from a passphrase.
    doc.heading("10.2 Deriving an agent key (§3.2 – §3.5)");
    let passphrase = "correct horse battery staple";
    let salt: [u8; 16] = core::array::from_fn(|i| u8::try_from(i + 1).unwrap());
    doc.line("organization", &org.to_string());
    doc.line("agent", &admin.to_string());
    doc.line("passphrase", passphrase);
    doc.line("Argon2id", "memory 131072 KiB, 3 passes, 1 lane");
    doc.text("");
    doc.value("salt", &salt);
    let spec_admin = spec_key(org, admin, passphrase, salt, 131_072);
    let admin_keys = AgentKeys::derive(
        &Passphrase::new(passphrase).unwrap(),
        KdfParams::DEFAULT,
        Salt::from_bytes(salt),
        org,
        admin,
    );
    assert_eq!(admin_keys.key_id().as_bytes(), &spec_admin.key_id);
    doc.value("stretched (Argon2id output)", &spec_admin.stretched);
    doc.value("ed25519 seed", &spec_admin.seed);
    doc.value("x25519 secret", &spec_admin.x_secret);
    doc.value("ed25519 public", &spec_admin.ed_public);
    doc.value("x25519 public", &spec_admin.x_public);
    let record = [
        &spec_admin.ed_public[..],
        &spec_admin.x_public,
        &hex::decode("01000200000000000300000001").unwrap(),
        &salt,
    ]
    .concat();
    doc.value("key record", &record);
    doc.value("key id", &spec_admin.key_id);

    // The log.
    let host = HostKey::from_seed(HostSeed::from_bytes([0x11; 32]));
    let (mut state, genesis) = OrgState::create(org, &host, NOW);
    let mut log = vec![genesis.into_entry()];
    let context = Context {
        now: NOW,
        host: &host,
    };
    let submit = |state: &mut OrgState, log: &mut Vec<LogEntry>, command| {
        let decision = state.decide(command, context).unwrap();
        log.push(decision.entry.entry().clone());
        state.apply(decision.entry).unwrap();
    };
    doc.heading("10.3 The organization's first entry (§4.5)");
    doc.text("The host key's seed is 32 bytes of `11`.");
    doc.value("host public key", host.public().as_bytes());
    let spec_host = ed25519_dalek::SigningKey::from_bytes(&[0x11; 32]);
    entry_example(
        &mut doc,
        "10.3.1 Epoch start, created",
        &log[0],
        Some(&spec_host),
    );
    submit(
        &mut state,
        &mut log,
        Command::SetRole {
            agent: admin,
            role: Role::Admin,
            force: false,
        },
    );
    entry_example(
        &mut doc,
        "10.4 Set role: the admin (§4.6)",
        &log[1],
        Some(&spec_host),
    );

    // First key, with a sealed access secret whose ephemeral secret comes from a seeded RNG.
    let access = AccessSecret::from_bytes([0xa1; 32]);
    let first = EntryBuilder::new(state.head(), NOW)
        .first_key(
            admin,
            &admin_keys,
            &access,
            &mut ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
    let mut e = [0u8; 32];
    ChaCha20Rng::seed_from_u64(1).fill_bytes(&mut e);
    let ad = [
        label("zt-v1/seal/agent-key"),
        org.as_bytes().to_vec(),
        admin.as_bytes().to_vec(),
        spec_admin.key_id.to_vec(),
    ]
    .concat();
    let (sealed, okm) = spec_seal(e, spec_admin.x_public, &ad, &[0xa1; 32]);
    submit(&mut state, &mut log, Command::CreateFirstKey(first));
    doc.heading("10.5 Sealing the access secret (§3.7)");
    doc.text("The access secret is 32 bytes of `a1`; the ephemeral secret is the first 32 bytes of\nChaCha20Rng seeded with 1 (any 32 random bytes will do in practice).");
    doc.value("ephemeral secret e", &e);
    doc.value("associated data", &ad);
    doc.value("HKDF output (key || nonce)", &okm);
    doc.value("sealed", &sealed);
    let zt_zealed = match log[2].statement() {
        zt_core::Statement::FirstKey(first) => first.sealed_access,
        _ => unreachable!(),
    };
    assert_eq!(zt_zealed.as_bytes().to_vec(), sealed);
    assert_eq!(admin_keys.open_access(&zt_zealed).unwrap(), access);
    entry_example(
        &mut doc,
        "10.6 First key: the root (§4.7)",
        &log[2],
        Some(&spec_admin.signing),
    );
    // §4.7: the body is agent || key record || sealed access.
    let expected_body = [admin.as_bytes().as_slice(), &record, &sealed].concat();
    assert!(log[2].signed_bytes().ends_with(&expected_body));
    let root = state.trust_root().unwrap();
    doc.line("trust root", &root.to_string());
    doc.text("");

    // The member's request and its code.
    let member_passphrase = "purple monkey dishwasher 9";
    let member_salt = [0x21u8; 16];
    let spec_member = spec_key(org, member, member_passphrase, member_salt, 65_536);
    let member_keys = AgentKeys::derive(
        &Passphrase::new(member_passphrase).unwrap(),
        KdfParams::new(65_536, 3, 1).unwrap(),
        Salt::from_bytes(member_salt),
        org,
        member,
    );
    assert_eq!(member_keys.key_id().as_bytes(), &spec_member.key_id);
    let request_id = RequestId::from_bytes([0x7e; 16]);
    let request = EntryBuilder::new(state.head(), NOW)
        .key_request(
            member,
            request_id,
            &member_keys,
            &AccessSecret::from_bytes([0xa2; 32]),
            &mut ChaCha20Rng::seed_from_u64(2),
        )
        .unwrap();
    submit(&mut state, &mut log, Command::RequestKey(request.clone()));
    doc.heading("10.7 A key request and its verification code (§4.8, §7.1)");
    doc.line("member", &member.to_string());
    doc.line("passphrase", member_passphrase);
    doc.line(
        "Argon2id",
        "memory 65536 KiB, 3 passes, 1 lane; salt 16 bytes of 21",
    );
    doc.line("request id", &request_id.to_string());
    doc.text("");
    doc.value("member key id", &spec_member.key_id);
    entry_example(
        &mut doc,
        "10.7.1 The request entry",
        &log[3],
        Some(&spec_member.signing),
    );
    let password = h(
        "zt-v1/verification-code",
        &[
            org.as_bytes(),
            &0u32.to_be_bytes(),
            member.as_bytes(),
            request_id.as_bytes(),
            &spec_member.ed_public,
            &spec_member.x_public,
        ],
    );
    let output = argon2id(&password, request_id.as_bytes(), 65_536, 3);
    let code = u64::from_be_bytes(output[..8].try_into().unwrap()) % 1_000_000;
    assert_eq!(
        VerificationCode::of_request(&request).unwrap().to_string(),
        format!("{code:06}")
    );
    doc.value("code password", &password);
    doc.value("code Argon2id output", &output);
    doc.line("verification code", &format!("{code:06}"));
    doc.text("");

    let approval = EntryBuilder::new(state.head(), NOW).approval(
        match request.statement() {
            zt_core::Statement::KeyRequest(body) => body,
            _ => unreachable!(),
        },
        request.hash(),
        admin,
        &admin_keys,
    );
    submit(&mut state, &mut log, Command::Approve(approval));
    entry_example(
        &mut doc,
        "10.8 The approval (§4.9)",
        &log[4],
        Some(&spec_admin.signing),
    );

    // The recovery file.
    doc.heading("10.9 A recovery file and its keys (§8)");
    let registration = RegistrationId::from_bytes([0x5a; 16]);
    let secret = [0x5e; 32];
    let file_text = format!(
        "-----BEGIN ZT RECOVERY FILE-----\nVersion: 1\nNote: anyone with this file can reset your zt signature key; keep it private.\n\
         Organization: {org}\nAgent: {member}\nRegistration: {registration}\nSecret: {}\n",
        hex::encode(secret)
    );
    let checksum = &h("zt-v1/recovery-file/checksum", &[file_text.as_bytes()])[..8];
    let file_text = format!(
        "{file_text}Checksum: {}\n-----END ZT RECOVERY FILE-----\n",
        hex::encode(checksum)
    );
    let file = RecoveryFile::parse(file_text.as_bytes()).unwrap();
    assert_eq!(file.to_text().as_str(), file_text);
    let recovery = RecoveryKeys::from_file(file);
    let mut recovery_salt = label("zt-v1/recovery-key");
    recovery_salt.extend_from_slice(org.as_bytes());
    recovery_salt.extend_from_slice(member.as_bytes());
    recovery_salt.extend_from_slice(registration.as_bytes());
    let recovery_seed: [u8; 32] = hkdf(
        &recovery_salt,
        &secret,
        &label("zt-v1/recovery-key/ed25519"),
        32,
    )
    .try_into()
    .unwrap();
    let recovery_x: [u8; 32] = hkdf(
        &recovery_salt,
        &secret,
        &label("zt-v1/recovery-key/x25519"),
        32,
    )
    .try_into()
    .unwrap();
    let recovery_public = ed25519_dalek::SigningKey::from_bytes(&recovery_seed)
        .verifying_key()
        .to_bytes();
    let recovery_x_public =
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(recovery_x)).to_bytes();
    assert_eq!(recovery.signing_public().as_bytes(), &recovery_public);
    assert_eq!(recovery.exchange_public().as_bytes(), &recovery_x_public);
    doc.text(&format!(
        "The secret is 32 bytes of `5e`.\n\n```text\n{file_text}```"
    ));
    doc.value("recovery ed25519 public", &recovery_public);
    doc.value("recovery x25519 public", &recovery_x_public);

    // A task.
    doc.heading("10.10 A task authorization (§9.1)");
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(b"Get-Process"),
    };
    assert_eq!(
        binding.payload.as_bytes(),
        &h("zt-v1/task-payload", &[b"Get-Process"])
    );
    let task = TaskAuthorization::sign(
        &member_keys,
        org,
        Epoch(0),
        binding.clone(),
        NOW,
        300,
        &mut ChaCha20Rng::seed_from_u64(3),
    );
    {
        use ed25519_dalek::Signer;
        let bytes = task.encode();
        let message = [
            label("zt-v1/task-authorization"),
            bytes[..bytes.len() - 64].to_vec(),
        ]
        .concat();
        assert_eq!(
            spec_member.signing.sign(&message).to_bytes()[..],
            bytes[bytes.len() - 64..]
        );
    }
    doc.line("kind", "remote-execution");
    doc.line("payload", "Get-Process (ASCII)");
    doc.text("");
    doc.value("payload digest", binding.payload.as_bytes());
    doc.value("authorization", &task.encode());
    doc.value("replay key", &task.replay_key());
    assert_eq!(
        task.replay_key(),
        h(
            "zt-v1/task-replay-key",
            &[org.as_bytes(), member.as_bytes(), &task.nonce]
        )
    );
    let verified = state.verify_task(
        &task,
        &binding,
        NOW,
        &mut zt_core::InMemoryReplayGuard::default(),
    );
    assert!(verified.is_ok());
    // The whole example log verifies from its root.
    assert!(zt_core::verify_log(&root, &log).is_ok());
    doc.0
}

#[test]
fn the_worked_examples_are_current() {
    let generated = generate();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLES);
    if std::env::var_os("ZT_UPDATE_SPEC_EXAMPLES").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/spec/10-examples.md is out of date: run ZT_UPDATE_SPEC_EXAMPLES=1 cargo test -p zt-core --test spec_examples"
    );
}
