//! Real key derivation (Argon2id at the default parameters) and the verification code, as a
//! requester's and an approver's clients run them (spec §3, §7).

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zt_core::{
    AccessSecret, AgentId, AgentKeys, CodeJudgement, Command, Context, EntryBuilder, HostKey,
    KdfParams, NewPassphrase, OrgId, OrgState, Passphrase, RequestId, Role, Salt, UnixTime,
    VerificationCode, WrongPassphrase,
};

const NOW: UnixTime = UnixTime(1_795_392_000);

#[test]
fn the_same_passphrase_derives_the_same_key_on_every_client() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (org, agent) = (OrgId::random(&mut rng), AgentId::random(&mut rng));
    let passphrase = NewPassphrase::new("correct horse battery staple").unwrap();
    let created = AgentKeys::create(&passphrase, org, agent, &mut rng);
    assert_eq!(created.record().kdf, KdfParams::DEFAULT);
    // Another client of the agent, with the registered record and the passphrase typed in a
    // decomposed Unicode form, unlocks the same key.
    let typed = Passphrase::new("correct horse battery staple").unwrap();
    let unlocked = AgentKeys::unlock(&typed, created.record(), org, agent).unwrap();
    assert_eq!(unlocked.key_id(), created.key_id());
    // A wrong passphrase, a swapped salt, or another agent's binding derive something else,
    // and nothing is handed out to sign with.
    let wrong = Passphrase::new("correct horse battery stapler").unwrap();
    assert_eq!(
        AgentKeys::unlock(&wrong, created.record(), org, agent).unwrap_err(),
        WrongPassphrase
    );
    let mut lying = *created.record();
    lying.salt = Salt::from_bytes([0; 16]);
    assert_eq!(
        AgentKeys::unlock(&typed, &lying, org, agent).unwrap_err(),
        WrongPassphrase
    );
    assert!(
        AgentKeys::unlock(&typed, created.record(), org, AgentId::from_bytes([9; 16])).is_err()
    );
}

#[test]
fn composed_and_decomposed_spellings_unlock_the_same_key() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (org, agent) = (OrgId::random(&mut rng), AgentId::random(&mut rng));
    let composed = NewPassphrase::new("crème brûlée au café 42").unwrap();
    let keys = AgentKeys::create(&composed, org, agent, &mut rng);
    let decomposed =
        Passphrase::new("cre\u{300}me bru\u{302}le\u{301}e au cafe\u{301} 42").unwrap();
    assert!(AgentKeys::unlock(&decomposed, keys.record(), org, agent).is_ok());
}

/// A requester makes a request and reads the code; an approver derives the code from the
/// request the server shows them and approves only if what they are told matches.
#[test]
fn the_approver_signs_only_when_the_code_matches() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let org = OrgId::random(&mut rng);
    let host = HostKey::generate(&mut rng);
    let (mut state, _) = OrgState::create(org, &host, NOW);
    let context = Context {
        now: NOW,
        host: &host,
    };
    let (admin, requester) = (AgentId::random(&mut rng), AgentId::random(&mut rng));
    let submit = |state: &mut OrgState, command| {
        let decision = state.decide(command, context).unwrap();
        state.apply(decision.entry).unwrap();
    };
    submit(
        &mut state,
        Command::SetRole {
            agent: admin,
            role: Role::Admin,
            force: false,
        },
    );
    let admin_keys = AgentKeys::from_stretched(
        &[1; 32],
        KdfParams::DEFAULT,
        Salt::random(&mut rng),
        org,
        admin,
    );
    let first = EntryBuilder::new(state.head(), NOW)
        .first_key(
            admin,
            &admin_keys,
            &AccessSecret::random(&mut rng),
            &mut rng,
        )
        .unwrap();
    submit(&mut state, Command::CreateFirstKey(first));

    let requester_keys = AgentKeys::from_stretched(
        &[2; 32],
        KdfParams::DEFAULT,
        Salt::random(&mut rng),
        org,
        requester,
    );
    let request = EntryBuilder::new(state.head(), NOW)
        .key_request(
            requester,
            RequestId::random(&mut rng),
            &requester_keys,
            &AccessSecret::random(&mut rng),
            &mut rng,
        )
        .unwrap();
    submit(&mut state, Command::RequestKey(request.clone()));
    let told = VerificationCode::of_request(&request).unwrap();
    assert_eq!(told.to_string().len(), 6);

    // A wrong code: the approver's client signs a mismatch report, not an approval.
    let wrong: VerificationCode = if told.to_string() == "000000" {
        "000001"
    } else {
        "000000"
    }
    .parse()
    .unwrap();
    let builder = EntryBuilder::new(state.head(), NOW);
    let CodeJudgement::Mismatch(report) = builder
        .judge_code(&request, &wrong, admin, &admin_keys)
        .unwrap()
    else {
        panic!("a wrong code must not produce an approval");
    };
    submit(&mut state, Command::ReportWrongCode(report));
    let pending = state.pending_requests().next().unwrap().1.clone();
    assert_eq!(pending.mismatches, 1);

    // The right code: an approval of exactly this request.
    let builder = EntryBuilder::new(state.head(), NOW);
    let CodeJudgement::Matches(approval) = builder
        .judge_code(&request, &told, admin, &admin_keys)
        .unwrap()
    else {
        panic!("the right code must produce an approval");
    };
    submit(&mut state, Command::Approve(approval));
    assert_eq!(
        state.active_key(requester).unwrap().0,
        requester_keys.key_id()
    );
}

#[test]
fn the_code_depends_on_every_input() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (org, agent, request) = (
        OrgId::random(&mut rng),
        AgentId::random(&mut rng),
        RequestId::random(&mut rng),
    );
    let key = *AgentKeys::from_stretched(
        &[3; 32],
        KdfParams::DEFAULT,
        Salt::random(&mut rng),
        org,
        agent,
    )
    .record();
    let other_key = *AgentKeys::from_stretched(
        &[4; 32],
        KdfParams::DEFAULT,
        Salt::random(&mut rng),
        org,
        agent,
    )
    .record();
    let base = VerificationCode::derive(org, zt_core::Epoch(0), agent, request, &key);
    assert_eq!(
        base,
        VerificationCode::derive(org, zt_core::Epoch(0), agent, request, &key)
    );
    let variants = [
        VerificationCode::derive(
            OrgId::random(&mut rng),
            zt_core::Epoch(0),
            agent,
            request,
            &key,
        ),
        VerificationCode::derive(org, zt_core::Epoch(1), agent, request, &key),
        VerificationCode::derive(
            org,
            zt_core::Epoch(0),
            AgentId::random(&mut rng),
            request,
            &key,
        ),
        VerificationCode::derive(
            org,
            zt_core::Epoch(0),
            agent,
            RequestId::random(&mut rng),
            &key,
        ),
        VerificationCode::derive(org, zt_core::Epoch(0), agent, request, &other_key),
    ];
    // Each differs from the base (for these inputs; one in a million would collide).
    for variant in variants {
        assert_ne!(variant, base);
    }
}
