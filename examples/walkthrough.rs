//! Every flow of zt's key lifecycle, run in-process and narrated.
//!
//! `cargo run --example walkthrough`
//!
//! An organization with two admins (Alice, Bob) and a member (Carol): the first key, a
//! request approved after a code check, a rejection, a forgotten passphrase, a key change, a
//! recovery file and a reset with it, sensitive tasks and a day-long session, revocations and
//! the last-approver rule, a device that verifies offline, an organization reset, and an
//! auditor who catches a tampered log. Keys are derived from passphrases with the default
//! Argon2id parameters, so each derivation takes about half a second.
//!
//! zt-core is pure: this example supplies the clock and the randomness, and plays the
//! server (which in zt-server stores the log and sends e-mail) with a `Vec`.

#![allow(clippy::print_stdout, reason = "an example that narrates what it does")]

use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::OsRng;
use zt_core::{
    verify_log_with, AccessSecret, AgentId, AgentKeys, CodeJudgement, Command, Context, Decision,
    Effect, EntryBuilder, HostKey, InMemoryReplayGuard, LogEntry, NewPassphrase, OrgId, OrgState,
    Passphrase, PayloadDigest, PromptFrequency, PromptPolicy, RecoveryFile, RecoveryKeys,
    RequestId, Role, SessionDelegation, SessionKey, Statement, TaskAuthorization, TaskBinding,
    TaskKind, TrustRoot, UnixTime, VerificationCode, VerifyMode,
};

fn now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// What the reference server does with zt-core: decide, append, apply, carry out effects.
struct Server {
    host: HostKey,
    state: OrgState,
    log: Vec<LogEntry>,
}

impl Server {
    fn create() -> Server {
        let host = HostKey::generate(&mut OsRng);
        let (state, genesis) = OrgState::create(OrgId::random(&mut OsRng), &host, now());
        Server {
            host,
            state,
            log: vec![genesis.into_entry()],
        }
    }

    fn submit(&mut self, command: Command) -> Result<(), zt_core::Refusal> {
        let Decision { entry, effects } = self.state.decide(
            command,
            Context {
                now: now(),
                host: &self.host,
            },
        )?;
        let appended = entry.entry().clone();
        self.state
            .apply(entry)
            .expect("verified against this state");
        println!("    log #{}: {}", appended.header().seq, appended.kind());
        self.log.push(appended);
        for effect in effects {
            match effect {
                Effect::Notify {
                    kind,
                    subject,
                    recipients,
                } => {
                    println!(
                        "    e-mail: {kind:?} about {} to {}",
                        name(subject),
                        names(&recipients)
                    );
                }
                Effect::Warn(warning) => println!("    warning: {warning:?}"),
                Effect::OrganizationReset { previous, epoch } => {
                    println!("    host event: epoch {previous} ended, epoch {epoch} begins: redeploy every device");
                }
                other => println!("    effect: {other:?}"),
            }
        }
        Ok(())
    }

    fn builder(&self) -> EntryBuilder {
        EntryBuilder::new(self.state.head(), now())
    }
}

const ALICE: AgentId = AgentId::from_bytes([0xa1; 16]);
const BOB: AgentId = AgentId::from_bytes([0xb0; 16]);
const CAROL: AgentId = AgentId::from_bytes([0xca; 16]);

fn name(agent: AgentId) -> &'static str {
    match agent {
        ALICE => "Alice",
        BOB => "Bob",
        CAROL => "Carol",
        _ => "someone",
    }
}

fn names(agents: &[AgentId]) -> String {
    agents
        .iter()
        .map(|a| name(*a))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A client creating a key: checks the passphrase, derives with a fresh salt.
fn create_key(server: &Server, agent: AgentId, passphrase: &str) -> AgentKeys {
    let passphrase = NewPassphrase::new(passphrase).expect("a strong passphrase");
    AgentKeys::create(&passphrase, server.state.org(), agent, &mut OsRng)
}

/// A client unlocking the agent's registered key: derives and checks before signing.
fn unlock(server: &Server, agent: AgentId, passphrase: &str) -> AgentKeys {
    let (_, info) = server.state.active_key(agent).expect("an active key");
    AgentKeys::unlock(
        &Passphrase::new(passphrase).expect("long enough"),
        &info.record,
        server.state.org(),
        agent,
    )
    .expect("the right passphrase")
}

fn request_key(server: &mut Server, agent: AgentId, passphrase: &str) -> (LogEntry, AgentKeys) {
    let keys = create_key(server, agent, passphrase);
    let access = AccessSecret::random(&mut OsRng);
    let entry = server
        .builder()
        .key_request(
            agent,
            RequestId::random(&mut OsRng),
            &keys,
            &access,
            &mut OsRng,
        )
        .expect("sealing");
    server
        .submit(Command::RequestKey(entry.clone()))
        .expect("request accepted");
    let code = VerificationCode::of_request(&entry).expect("a request");
    println!(
        "    {}'s client shows the verification code {code}",
        name(agent)
    );
    (entry, keys)
}

fn approve(
    server: &mut Server,
    request: &LogEntry,
    told: &VerificationCode,
    approver: AgentId,
    keys: &AgentKeys,
) {
    match server
        .builder()
        .judge_code(request, told, approver, keys)
        .expect("a request")
    {
        CodeJudgement::Matches(approval) => {
            println!(
                "    {}'s client: the code {told} matches; signing the approval",
                name(approver)
            );
            server
                .submit(Command::Approve(approval))
                .expect("approval accepted");
        }
        CodeJudgement::Mismatch(report) => {
            println!(
                "    {}'s client: the code {told} does NOT match; reporting it, approving nothing",
                name(approver)
            );
            server
                .submit(Command::ReportWrongCode(report))
                .expect("report accepted");
        }
    }
}

/// An approval that the code check lets through but the rules refuse: returns why.
fn refused_approval(
    server: &mut Server,
    request: &LogEntry,
    code: &VerificationCode,
    approver: AgentId,
    keys: &AgentKeys,
) -> String {
    match server.builder().judge_code(request, code, approver, keys) {
        Some(CodeJudgement::Matches(approval)) => match server.submit(Command::Approve(approval)) {
            Err(refusal) => refusal.to_string(),
            Ok(()) => "accepted (it should not have been)".to_owned(),
        },
        other => format!("no approval was signed: {other:?}"),
    }
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn main() {
    let mut server = Server::create();
    let org = server.state.org();
    println!("zt walkthrough: organization {org}");

    step("The host's directory: Alice and Bob are admins, Carol is a member");
    server
        .submit(Command::SetRole {
            agent: ALICE,
            role: Role::Admin,
            force: false,
        })
        .expect("role");
    server
        .submit(Command::SetRole {
            agent: BOB,
            role: Role::SuperAdmin,
            force: false,
        })
        .expect("role");

    step("Alice creates the first key: active at once, it founds the epoch's root");
    match NewPassphrase::new("password123") {
        Err(reason) => println!("    refused: {reason}"),
        Ok(_) => unreachable!("a common password"),
    }
    let alice = create_key(&server, ALICE, "velvet tangerine orbit 1987");
    let first = server
        .builder()
        .first_key(ALICE, &alice, &AccessSecret::random(&mut OsRng), &mut OsRng)
        .expect("sealing");
    server
        .submit(Command::CreateFirstKey(first))
        .expect("first key");
    let root = server.state.trust_root().expect("a root");
    println!("    devices pin the root {root}");

    step("Bob requests a key; Alice compares the code he reads to her over the phone");
    let (bob_request, bob_keys) = request_key(&mut server, BOB, "glacier harmonica sunrise 42");
    let told_wrong: VerificationCode = "123456".parse().expect("six digits");
    approve(&mut server, &bob_request, &told_wrong, ALICE, &alice);
    let told_right = VerificationCode::of_request(&bob_request).expect("a request");
    approve(&mut server, &bob_request, &told_right, ALICE, &alice);
    assert_eq!(
        server.state.active_key(BOB).map(|(k, _)| k),
        Some(bob_keys.key_id())
    );

    step("Carol requests a key; Bob rejects it; she requests again and Alice approves");
    let (carol_first, _) = request_key(&mut server, CAROL, "marble lantern quiet river");
    let Statement::KeyRequest(body) = carol_first.statement() else {
        unreachable!()
    };
    let rejection = server
        .builder()
        .rejection(body, carol_first.hash(), BOB, &bob_keys);
    server
        .submit(Command::Reject(rejection))
        .expect("rejection");
    let (carol_request, _) = request_key(&mut server, CAROL, "marble lantern quiet river");
    let code = VerificationCode::of_request(&carol_request).expect("a request");
    approve(&mut server, &carol_request, &code, ALICE, &alice);

    step("Nobody approves their own request, and members approve nothing");
    let (own, _) = request_key(&mut server, ALICE, "second key for alice 77");
    let code = VerificationCode::of_request(&own).expect("a request");
    println!(
        "    Alice approving her own request: {}",
        refused_approval(&mut server, &own, &code, ALICE, &alice)
    );
    let carol_now = unlock(&server, CAROL, "marble lantern quiet river");
    println!(
        "    Carol (a member) approving it: {}",
        refused_approval(&mut server, &own, &code, CAROL, &carol_now)
    );

    step("Carol forgets her passphrase: she requests a new key, Bob approves, the old one is revoked");
    let (forgot, carol_keys) = request_key(&mut server, CAROL, "copper kettle winter moon");
    let code = VerificationCode::of_request(&forgot).expect("a request");
    approve(&mut server, &forgot, &code, BOB, &bob_keys);

    step("Carol changes her key, signing with the current one");
    let carol_new = create_key(&server, CAROL, "orchid velocity canyon 5");
    let carol_access = carol_keys
        .open_access(
            &server
                .state
                .active_key(CAROL)
                .expect("active")
                .1
                .sealed_access,
        )
        .expect("opens");
    let change = server
        .builder()
        .key_change(CAROL, &carol_keys, &carol_new, &carol_access, &mut OsRng)
        .expect("sealing");
    server.submit(Command::ChangeKey(change)).expect("change");

    step("Carol creates a recovery file, forgets her passphrase again, and resets alone");
    let recovery = RecoveryKeys::generate(org, CAROL, &mut OsRng);
    let carol = unlock(&server, CAROL, "orchid velocity canyon 5");
    let registration = server
        .builder()
        .recovery_registration(CAROL, &carol, &recovery, &carol_access, &mut OsRng)
        .expect("sealing");
    server
        .submit(Command::RegisterRecovery(registration))
        .expect("registration");
    let text = recovery.file().to_text();
    for line in text.lines() {
        let shown = if line.starts_with("Secret: ") {
            "Secret: (64 hex digits, not shown)"
        } else {
            line
        };
        println!("    | {shown}");
    }
    let file = RecoveryFile::parse(text.as_bytes()).expect("the file parses");
    file.check_owner(org, CAROL).expect("Carol's file");
    let recovery = RecoveryKeys::from_file(file);
    let registered = server.state.recovery(CAROL).expect("registered");
    let access = recovery
        .open_access(&registered.sealed_access)
        .expect("opens");
    let carol_reset = create_key(&server, CAROL, "new start lighthouse 3");
    let old = server.state.active_key(CAROL).expect("active").0;
    let reset = server
        .builder()
        .recovery_reset(CAROL, old, &recovery, &carol_reset, &access, &mut OsRng)
        .expect("sealing");
    server
        .submit(Command::ResetWithRecovery(reset))
        .expect("reset");
    let reopened = carol_reset
        .open_access(
            &server
                .state
                .active_key(CAROL)
                .expect("active")
                .1
                .sealed_access,
        )
        .expect("opens");
    println!(
        "    Carol's access secret survived the reset: {}",
        reopened == carol_access
    );
    let again = RecoveryKeys::from_file(RecoveryFile::parse(text.as_bytes()).expect("parses"));
    let another = create_key(&server, CAROL, "one more try bicycle 8");
    let replay = server
        .builder()
        .recovery_reset(
            CAROL,
            carol_reset.key_id(),
            &again,
            &another,
            &access,
            &mut OsRng,
        )
        .expect("sealing");
    println!(
        "    the same file again: {}",
        server
            .submit(Command::ResetWithRecovery(replay))
            .unwrap_err()
    );

    step("A device pins the root and verifies the log offline");
    let mut device =
        verify_log_with(&root, &server.log, VerifyMode::Batch).expect("the log verifies");
    println!(
        "    device sees {} active keys after {} entries",
        device.active_keys().len(),
        device.len()
    );

    step("Carol authorizes a sensitive task; the device accepts it once");
    let task = TaskBinding {
        kind: TaskKind::new("remote-execution").expect("kind"),
        payload: PayloadDigest::of(b"Get-Process"),
    };
    let authorization = TaskAuthorization::sign(
        &carol_reset,
        org,
        server.state.epoch(),
        task.clone(),
        now(),
        300,
        &mut OsRng,
    );
    let mut replay_cache = InMemoryReplayGuard::default();
    println!(
        "    first time: {:?}",
        device
            .verify_task(&authorization, &task, now(), &mut replay_cache)
            .map(|v| v.agent == CAROL)
    );
    println!(
        "    replayed: {}",
        device
            .verify_task(&authorization, &task, now(), &mut replay_cache)
            .unwrap_err()
    );
    let other = TaskBinding {
        payload: PayloadDigest::of(b"Stop-Computer"),
        ..task.clone()
    };
    println!(
        "    for another payload: {}",
        device
            .verify_task(&authorization, &other, now(), &mut replay_cache)
            .unwrap_err()
    );

    step("Carol chooses to be prompted once a day: a session key signs without her passphrase");
    let session = SessionKey::generate(&mut OsRng);
    let delegation = SessionDelegation::issue(
        &carol_reset,
        org,
        server.state.epoch(),
        session.public(),
        PromptFrequency::Day,
        now(),
    )
    .expect("a day is allowed");
    let by_session = TaskAuthorization::sign_with_session(
        &session,
        &delegation,
        task.clone(),
        now(),
        300,
        &mut OsRng,
    );
    println!(
        "    session task: {:?}",
        server
            .state
            .verify_task(
                &by_session,
                &task,
                now(),
                &mut InMemoryReplayGuard::default()
            )
            .map(|v| v.frequency)
    );
    let strict = PromptPolicy::EACH_TASK_ONLY;
    let policy = server.builder().prompt_policy(ALICE, &alice, strict);
    server
        .submit(Command::SetPromptPolicy(policy))
        .expect("policy");
    let later = TaskAuthorization::sign_with_session(
        &session,
        &delegation,
        task.clone(),
        now(),
        300,
        &mut OsRng,
    );
    println!(
        "    after the admins require a prompt on each task: {}",
        server
            .state
            .verify_task(&later, &task, now(), &mut InMemoryReplayGuard::default())
            .unwrap_err()
    );

    step("Revocations, and the last approver's key");
    let revoke_carol =
        server
            .builder()
            .revocation(CAROL, carol_reset.key_id(), BOB, &bob_keys, false);
    server
        .submit(Command::Revoke(revoke_carol))
        .expect("revocation");
    let revoke_bob = server
        .builder()
        .revocation(BOB, bob_keys.key_id(), BOB, &bob_keys, false);
    server
        .submit(Command::Revoke(revoke_bob))
        .expect("revocation");
    let alone = server
        .builder()
        .revocation(ALICE, alice.key_id(), ALICE, &alice, false);
    println!(
        "    Alice revoking her own key: {}",
        server.submit(Command::Revoke(alone)).unwrap_err()
    );

    step("The device syncs: Carol's task is refused now");
    let fresh = TaskAuthorization::sign(
        &carol_reset,
        org,
        server.state.epoch(),
        task.clone(),
        now(),
        300,
        &mut OsRng,
    );
    device
        .extend(&server.log[device.len()..])
        .expect("the new entries verify");
    println!(
        "    {}",
        device
            .verify_task(&fresh, &task, now(), &mut replay_cache)
            .unwrap_err()
    );

    step("Nobody remembers a key: support resets the organization");
    server.submit(Command::ResetOrganization).expect("reset");
    device
        .extend(&server.log[device.len()..])
        .expect("the reset verifies");
    println!(
        "    the device, still pinned to the old root: {}",
        device
            .verify_task(&fresh, &task, now(), &mut replay_cache)
            .unwrap_err()
    );
    let alice_again = create_key(&server, ALICE, "a fresh start tapestry 12");
    let first = server
        .builder()
        .first_key(
            ALICE,
            &alice_again,
            &AccessSecret::random(&mut OsRng),
            &mut OsRng,
        )
        .expect("sealing");
    server
        .submit(Command::CreateFirstKey(first))
        .expect("a new first key");
    println!(
        "    new root to redeploy devices with: {}",
        server.state.trust_root().expect("root")
    );

    step("An auditor checks the old epoch from its root; a tampered copy is caught");
    let audited =
        verify_log_with(&root, &server.log, VerifyMode::Strict).expect("the history verifies");
    println!(
        "    old epoch closed at entry {:?}, active keys left: {}",
        audited.closed_at(),
        audited.active_keys().len()
    );
    let mut tampered = server.log.clone();
    let mut bytes = tampered[6].encoded().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    tampered[6] = LogEntry::decode(&bytes).expect("still decodes");
    println!(
        "    tampered: {}",
        verify_log_with(&root, &tampered, VerifyMode::Strict).unwrap_err()
    );
    let _: &TrustRoot = &root;
    println!("\ndone: {} log entries", server.log.len());
}
