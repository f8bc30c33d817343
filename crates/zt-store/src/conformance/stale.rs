//! A server deciding on a cached state that another server has moved past (spec §9.4,
//! "Shared replay caches").

use zt_core::{
    PayloadDigest, PromptFrequency, PromptPolicy, SessionDelegation, SessionKey, TaskAuthorization,
    TaskBinding, TaskError, TaskKind,
};
use zt_testkit::world::{agent, agent_n};

use super::pages::busy;
use super::StoreFactory;
use crate::error::LedgerError;
use crate::store::Store;

/// A server whose cached state is behind the store decides on the current log: it accepts a
/// key approved elsewhere since it cached the organization, and refuses a key revoked
/// elsewhere even though its cached state accepted the task; that task stays spent.
pub async fn stale_servers_decide_on_the_current_log<F: StoreFactory>(factory: &F) {
    let mut mirror = busy(factory.create().await, 9).await;
    let (org, now) = (mirror.world.org, mirror.world.now);
    let stale = mirror.another_server(factory).await;
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(b"stale"),
    };
    let mut rng = mirror.world.rng().clone();
    let sign =
        |world: &zt_testkit::world::World, key, rng: &mut _| world.sign_task(key, &binding, rng);
    let member = agent_n(2);
    let old_key = mirror.world.state.active_key(member).unwrap().0;
    // The other server caches the organization.
    stale
        .verify_task(org, &sign(&mirror.world, old_key, &mut rng), &binding, now)
        .await
        .unwrap();

    // The member changes key through the first server: the stale cache does not know the
    // new key, yet the task it signed is accepted (once), and the old key's is refused.
    let new_key = mirror.world.change(member).unwrap();
    mirror.sync().await;
    let with_new_key = sign(&mirror.world, new_key, &mut rng);
    let accepted = stale
        .verify_task(org, &with_new_key, &binding, now)
        .await
        .unwrap();
    assert_eq!((accepted.agent, accepted.key), (member, new_key));
    assert!(matches!(
        stale.verify_task(org, &with_new_key, &binding, now).await,
        Err(LedgerError::Task(TaskError::Replayed))
    ));
    assert!(matches!(
        stale
            .verify_task(org, &sign(&mirror.world, old_key, &mut rng), &binding, now)
            .await,
        Err(LedgerError::Task(TaskError::KeyNotActive))
    ));

    // An admin revokes the new key through the first server. The other server's cache
    // still accepts the key: the task is recorded while the store is asked, then decided
    // on the current log, refused, and spent.
    mirror.world.revoke(agent(0), member, false).unwrap();
    mirror.sync().await;
    let after_revocation = sign(&mirror.world, new_key, &mut rng);
    assert!(matches!(
        stale
            .verify_task(org, &after_revocation, &binding, now)
            .await,
        Err(LedgerError::Task(TaskError::KeyNotActive))
    ));
    assert!(!stale
        .store()
        .first_use(
            org,
            after_revocation.replay_key(),
            after_revocation.expires_at
        )
        .await
        .unwrap());

    // Support resets the organization through the first server, and an agent founds the new
    // epoch. The other server's cache knows only the old epoch, yet a task of the new one is
    // accepted, and one signed in the old epoch is refused.
    let old_admin_key = mirror.world.state.active_key(agent(0)).unwrap().0;
    let before_reset = sign(&mirror.world, old_admin_key, &mut rng);
    mirror.world.reset_organization().unwrap();
    let founder_key = mirror.world.first_key(agent(1)).unwrap();
    mirror.sync().await;
    let new_epoch = sign(&mirror.world, founder_key, &mut rng);
    let accepted = stale
        .verify_task(org, &new_epoch, &binding, now)
        .await
        .unwrap();
    assert_eq!(
        (accepted.agent, accepted.key),
        (agent(1), founder_key),
        "a task of the epoch started elsewhere"
    );
    assert!(matches!(
        stale.verify_task(org, &before_reset, &binding, now).await,
        Err(LedgerError::Task(
            TaskError::WrongOrganization | TaskError::EpochClosed
        ))
    ));
}

/// A server whose cached prompt policy is behind the store applies the current one: a task
/// delegated for a week is accepted once another server allowed weekly sessions (*frequency
/// not allowed* from the cache is decided again, spec §9.4), and refused once another server
/// forbade them again (the cache allowed it; the freshness check finds the newer policy).
pub async fn stale_servers_apply_the_current_prompt_policy<F: StoreFactory>(factory: &F) {
    let mut mirror = busy(factory.create().await, 10).await;
    let (org, now) = (mirror.world.org, mirror.world.now);
    mirror
        .world
        .set_policy(agent(0), PromptPolicy::EACH_TASK_ONLY)
        .unwrap();
    mirror.sync().await;
    let stale = mirror.another_server(factory).await;
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(b"policy"),
    };
    let member = agent_n(2);
    let key = mirror.world.state.active_key(member).unwrap().0;
    let mut rng = mirror.world.rng().clone();
    // The other server caches the organization under the each-task-only policy.
    let each_task = mirror.world.sign_task(key, &binding, &mut rng);
    stale
        .verify_task(org, &each_task, &binding, now)
        .await
        .unwrap();

    let session = SessionKey::generate(&mut rng);
    let week = SessionDelegation::issue(
        mirror.world.keys(key),
        org,
        mirror.world.state.epoch(),
        session.public(),
        PromptFrequency::Week,
        now,
    )
    .unwrap();
    let mut weekly = || {
        TaskAuthorization::sign_with_session(&session, &week, binding.clone(), now, 300, &mut rng)
    };
    let refused_now = weekly();
    assert!(matches!(
        stale.verify_task(org, &refused_now, &binding, now).await,
        Err(LedgerError::Task(TaskError::FrequencyNotAllowed))
    ));

    let allowing_week = PromptPolicy::allowing(&[PromptFrequency::Week]);
    mirror.world.set_policy(agent(0), allowing_week).unwrap();
    mirror.sync().await;
    let accepted = stale
        .verify_task(org, &weekly(), &binding, now)
        .await
        .unwrap();
    assert_eq!(
        (accepted.agent, accepted.frequency),
        (member, PromptFrequency::Week),
        "weekly sessions allowed by another server"
    );

    mirror
        .world
        .set_policy(agent(0), PromptPolicy::EACH_TASK_ONLY)
        .unwrap();
    mirror.sync().await;
    assert!(matches!(
        stale.verify_task(org, &weekly(), &binding, now).await,
        Err(LedgerError::Task(TaskError::FrequencyNotAllowed))
    ));
}
