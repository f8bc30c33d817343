//! Sensitive-task authorizations and prompt-frequency sessions (spec §9): every refusal
//! named by the spec, on a server state and on a device's verified log.

use zt_core::{
    InMemoryReplayGuard, PayloadDigest, PromptFrequency, PromptPolicy, Role, SessionDelegation,
    SessionKey, TaskAuthorization, TaskBinding, TaskError, TaskKind, UnixTime, MAX_TASK_LIFETIME,
};
use zt_testkit::world::{agent, World};

fn organization() -> World {
    let mut world = World::new(21);
    world.set_role(agent(0), Role::Admin).unwrap();
    world.first_key(agent(0)).unwrap();
    let request = world.request(agent(1)).unwrap();
    world.approve(agent(0), request).unwrap();
    world
}

fn task(payload: &[u8]) -> TaskBinding {
    TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(payload),
    }
}

fn sign(world: &mut World, who: u8, binding: TaskBinding) -> TaskAuthorization {
    let key = world.state.active_key(agent(who)).unwrap().0;
    let mut rng = world.rng().clone();
    world.sign_task(key, &binding, &mut rng)
}

/// Agent `who`'s client makes a session key and delegates to it for `frequency`.
fn delegate(
    world: &mut World,
    who: u8,
    frequency: PromptFrequency,
) -> (SessionKey, SessionDelegation) {
    let key = world.state.active_key(agent(who)).unwrap().0;
    let session = SessionKey::generate(world.rng());
    let (org, epoch, now) = (world.org, world.state.epoch(), world.now);
    let delegation = SessionDelegation::issue(
        world.keys(key),
        org,
        epoch,
        session.public(),
        frequency,
        now,
    )
    .unwrap();
    (session, delegation)
}

#[test]
fn an_active_key_authorizes_exactly_one_task_once() {
    let mut world = organization();
    let authorization = sign(&mut world, 1, task(b"Get-Process"));
    let bytes = authorization.encode();
    let decoded = TaskAuthorization::decode(&bytes).unwrap();
    assert_eq!(decoded, authorization);
    let mut guard = InMemoryReplayGuard::default();
    let verified = world
        .state
        .verify_task(&decoded, &task(b"Get-Process"), world.now, &mut guard)
        .unwrap();
    assert_eq!(
        (verified.agent, verified.frequency),
        (agent(1), PromptFrequency::EachTask)
    );
    // Replayed.
    assert_eq!(
        world
            .state
            .verify_task(&decoded, &task(b"Get-Process"), world.now, &mut guard),
        Err(TaskError::Replayed)
    );
}

#[test]
fn mis_bound_expired_and_foreign_authorizations_are_refused_before_the_replay_cache() {
    let mut world = organization();
    let authorization = sign(&mut world, 1, task(b"Get-Process"));
    let mut guard = InMemoryReplayGuard::default();
    let now = world.now;
    let check =
        |guard: &mut InMemoryReplayGuard,
         binding: &TaskBinding,
         at: UnixTime,
         a: &TaskAuthorization| { world.state.verify_task(a, binding, at, guard) };
    assert_eq!(
        check(&mut guard, &task(b"Stop-Computer"), now, &authorization),
        Err(TaskError::WrongTask)
    );
    let other_kind = TaskBinding {
        kind: TaskKind::new("remote-control").unwrap(),
        ..task(b"Get-Process")
    };
    assert_eq!(
        check(&mut guard, &other_kind, now, &authorization),
        Err(TaskError::WrongTask)
    );
    assert_eq!(
        check(
            &mut guard,
            &task(b"Get-Process"),
            now.plus(301),
            &authorization
        ),
        Err(TaskError::Expired)
    );
    assert_eq!(
        check(
            &mut guard,
            &task(b"Get-Process"),
            UnixTime(now.0 - 400),
            &authorization
        ),
        Err(TaskError::Expired)
    );
    let mut foreign = authorization.clone();
    foreign.org = zt_core::OrgId::from_bytes([1; 16]);
    assert_eq!(
        check(&mut guard, &task(b"Get-Process"), now, &foreign),
        Err(TaskError::WrongOrganization)
    );
    let mut long = authorization.clone();
    long.expires_at = long.issued_at.plus(MAX_TASK_LIFETIME + 1);
    assert_eq!(
        check(&mut guard, &task(b"Get-Process"), now, &long),
        Err(TaskError::LifetimeTooLong)
    );
    let mut edited = authorization.clone();
    edited.nonce[0] ^= 1;
    assert_eq!(
        check(&mut guard, &task(b"Get-Process"), now, &edited),
        Err(TaskError::BadSignature)
    );
    // None of those refusals used up the authorization.
    assert!(guard.is_empty());
    assert!(check(&mut guard, &task(b"Get-Process"), now, &authorization).is_ok());
}

#[test]
fn a_revoked_or_replaced_key_authorizes_nothing() {
    let mut world = organization();
    let before_change = sign(&mut world, 1, task(b"x"));
    world.change(agent(1)).unwrap();
    let mut guard = InMemoryReplayGuard::default();
    assert_eq!(
        world
            .state
            .verify_task(&before_change, &task(b"x"), world.now, &mut guard),
        Err(TaskError::KeyNotActive)
    );
    let after_change = sign(&mut world, 1, task(b"x"));
    world.revoke(agent(0), agent(1), false).unwrap();
    assert_eq!(
        world
            .state
            .verify_task(&after_change, &task(b"x"), world.now, &mut guard),
        Err(TaskError::KeyNotActive)
    );
}

#[test]
fn a_day_session_signs_tasks_without_the_passphrase_until_it_ends() {
    let mut world = organization();
    let (session, delegation) = delegate(&mut world, 1, PromptFrequency::Day);
    let now = world.now;
    assert_eq!(delegation.expires_at, now.plus(24 * 3600));
    let mut rng = world.rng().clone();
    let mut guard = InMemoryReplayGuard::default();
    // Twelve hours later, still valid.
    let later = now.plus(12 * 3600);
    let authorization = TaskAuthorization::sign_with_session(
        &session,
        &delegation,
        task(b"a"),
        later,
        300,
        &mut rng,
    );
    let decoded = TaskAuthorization::decode(&authorization.encode()).unwrap();
    let verified = world
        .state
        .verify_task(&decoded, &task(b"a"), later, &mut guard)
        .unwrap();
    assert_eq!(verified.frequency, PromptFrequency::Day);
    // A day and a minute later, the session is over.
    let expired = now.plus(24 * 3600 + 60);
    let late = TaskAuthorization::sign_with_session(
        &session,
        &delegation,
        task(b"b"),
        expired,
        300,
        &mut rng,
    );
    assert_eq!(
        world
            .state
            .verify_task(&late, &task(b"b"), expired, &mut guard),
        Err(TaskError::SessionInvalid)
    );
    // Logging out ends it at once.
    let fresh = TaskAuthorization::sign_with_session(
        &session,
        &delegation,
        task(b"c"),
        later,
        300,
        &mut rng,
    );
    guard.end_session(session.public());
    assert_eq!(
        world
            .state
            .verify_task(&fresh, &task(b"c"), later, &mut guard),
        Err(TaskError::SessionInvalid)
    );
}

#[test]
fn sessions_fall_back_to_each_task_on_key_change_or_a_stricter_policy() {
    let mut world = organization();
    let (session, week) = delegate(&mut world, 1, PromptFrequency::Week);
    let now = world.now;
    let mut rng = world.rng().clone();
    let authorization =
        TaskAuthorization::sign_with_session(&session, &week, task(b"a"), now, 300, &mut rng);
    let mut guard = InMemoryReplayGuard::default();
    world
        .set_policy(agent(0), PromptPolicy::allowing(&[PromptFrequency::Day]))
        .unwrap();
    assert_eq!(
        world
            .state
            .verify_task(&authorization, &task(b"a"), now, &mut guard),
        Err(TaskError::FrequencyNotAllowed)
    );
    world.set_policy(agent(0), PromptPolicy::ALL).unwrap();
    assert!(world
        .state
        .verify_task(&authorization, &task(b"a"), now, &mut guard)
        .is_ok());
    world.change(agent(1)).unwrap();
    let again =
        TaskAuthorization::sign_with_session(&session, &week, task(b"b"), now, 300, &mut rng);
    assert_eq!(
        world
            .state
            .verify_task(&again, &task(b"b"), now, &mut guard),
        Err(TaskError::KeyNotActive)
    );
}

#[test]
fn a_delegation_cannot_outlive_its_frequency_nor_be_forged() {
    let mut world = organization();
    let (session, day) = delegate(&mut world, 1, PromptFrequency::Day);
    let (key, now) = (world.state.active_key(agent(1)).unwrap().0, world.now);
    let each_task = SessionDelegation::issue(
        world.keys(key),
        world.org,
        world.state.epoch(),
        session.public(),
        PromptFrequency::EachTask,
        now,
    );
    assert_eq!(each_task, Err(TaskError::FrequencyNotAllowed));
    let mut rng = world.rng().clone();
    let mut guard = InMemoryReplayGuard::default();
    // Stretched to a week: the delegation's signature no longer holds, and it is too long.
    let mut stretched = day.clone();
    stretched.expires_at = now.plus(168 * 3600);
    let authorization =
        TaskAuthorization::sign_with_session(&session, &stretched, task(b"a"), now, 300, &mut rng);
    assert_eq!(
        world
            .state
            .verify_task(&authorization, &task(b"a"), now, &mut guard),
        Err(TaskError::SessionInvalid)
    );
    // Another agent's key cannot hide behind agent 1's delegation.
    let thief = SessionKey::generate(world.rng());
    let stolen = TaskAuthorization::sign_with_session(&thief, &day, task(b"b"), now, 300, &mut rng);
    assert_eq!(
        world
            .state
            .verify_task(&stolen, &task(b"b"), now, &mut guard),
        Err(TaskError::BadSignature)
    );
}

#[test]
fn a_device_refuses_every_task_once_the_organization_is_reset() {
    let mut world = organization();
    let root = world.state.trust_root().unwrap();
    let authorization = sign(&mut world, 1, task(b"a"));
    let mut device = zt_core::verify_log(&root, world.epoch_log()).unwrap();
    let mut guard = InMemoryReplayGuard::default();
    assert!(device
        .verify_task(
            &authorization,
            &task(b"a"),
            world.now,
            &mut InMemoryReplayGuard::default()
        )
        .is_ok());
    let synced = world.log.len();
    world.reset_organization().unwrap();
    device.extend(&world.log[synced..]).unwrap();
    assert_eq!(
        device.verify_task(&authorization, &task(b"a"), world.now, &mut guard),
        Err(TaskError::EpochClosed)
    );
}

#[test]
fn task_encodings_are_strict() {
    let mut world = organization();
    let bytes = sign(&mut world, 1, task(b"a")).encode();
    for cut in 0..bytes.len() {
        assert!(matches!(
            TaskAuthorization::decode(&bytes[..cut]),
            Err(TaskError::Malformed(_))
        ));
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(
        TaskAuthorization::decode(&extra),
        Err(TaskError::Malformed(_))
    ));
    for bad_kind in ["", "Remote", "a b", &"x".repeat(65)] {
        assert!(TaskKind::new(bad_kind).is_err(), "{bad_kind:?}");
    }
}
