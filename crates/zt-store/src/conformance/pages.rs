//! Atomicity, paging and filters, the replay cache, and the outbox.

use zt_core::{
    AgentKeyState, Changes, NotificationKind, OrgState, PayloadDigest, PromptFrequency, Role, Seq,
    SessionDelegation, SessionKey, TaskAuthorization, TaskBinding, TaskError, TaskKind, UnixTime,
};
use zt_testkit::world::{agent, agent_n};

use super::mirror::Mirror;
use super::{all_history, all_pending, all_statuses, check_views, host_from, StoreFactory};
use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::model::{retry_at, Append, StatusFilter};
use crate::store::Store;

/// A small organization: admins 0 and 1, members with keys, one pending, one revoked.
pub(super) async fn busy<S: Store + Clone>(store: S, seed: u64) -> Mirror<S> {
    let mut mirror = Mirror::new(store, seed).await;
    let world = &mut mirror.world;
    world.set_role(agent(0), Role::Admin).unwrap();
    world.set_role(agent(1), Role::Admin).unwrap();
    world.first_key(agent(0)).unwrap();
    for n in 1..12u32 {
        let request = world.request(agent_n(n)).unwrap();
        if n % 4 != 3 {
            // Agent n = 1 is admin 1: admin 0 approves them; admin 1 approves the others.
            world.approve(agent(u8::from(n != 1)), request).unwrap();
        }
    }
    world.revoke(agent(0), agent_n(5), false).unwrap();
    mirror.sync().await;
    mirror
}

/// An append at a taken position, or a batch with one, changes nothing; ids are checked.
pub async fn appends_are_atomic_and_conflicts_change_nothing<F: StoreFactory>(factory: &F) {
    let mirror = busy(factory.create().await, 3).await;
    let (store, org, log) = (mirror.ledger.store(), mirror.world.org, &mirror.world.log);
    let before = store.entries(org, Seq(0), 1000).await.unwrap();
    let again = Append::new(log[4].clone(), Changes::default(), &[]);
    assert!(matches!(
        store.append(&again).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store
            .create_org(&Append::new(log[0].clone(), Changes::default(), &[]))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.entries(org, Seq(0), 1000).await.unwrap(), before);
    check_views(store, org).await.unwrap();

    // Bulk import: the same log into a new store, in one call, gives the same views.
    let other = factory.create().await;
    let (mut state, genesis) = OrgState::genesis(log[0].clone()).unwrap();
    other
        .create_org(&Append::new(genesis.into_entry(), Changes::default(), &[]))
        .await
        .unwrap();
    let mut appends = Vec::new();
    for entry in &log[1..] {
        let verified = state.verify_entry(entry.clone()).unwrap();
        appends.push(Append::new(entry.clone(), state.changes(&verified), &[]));
        state.apply(verified).unwrap();
    }
    // A batch whose last append is out of place is refused whole.
    let mut broken = appends.clone();
    broken.push(appends[2].clone());
    assert!(matches!(
        other.append_all(&broken).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(other.entries(org, Seq(0), 1000).await.unwrap().len(), 1);
    other.append_all(&appends).await.unwrap();
    assert_eq!(other.entries(org, Seq(0), 1000).await.unwrap(), before);
    check_views(&other, org).await.unwrap();

    // An unknown organization has no entries and no views; the ledger names it.
    let unknown = zt_core::OrgId::from_bytes([0x42; 16]);
    assert!(other.entries(unknown, Seq(0), 10).await.unwrap().is_empty());
    assert!(other
        .status_page(unknown, StatusFilter::default(), None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(matches!(
        Ledger::new(other.clone(), host_from(mirror.world.host.seed()))
            .read(unknown, |_| ())
            .await,
        Err(LedgerError::Store(StoreError::NotFound(_)))
    ));
    // A ledger with another host key does not serve the organization.
    let stranger = Ledger::new(
        other,
        zt_core::HostKey::from_seed(zt_core::HostSeed::from_bytes([9; 32])),
    );
    assert!(matches!(
        stranger.read(org, |_| ()).await,
        Err(LedgerError::WrongHost(_))
    ));
}

/// The status page by state and role, pending requests and history, in pages of any size.
pub async fn pages_and_filters<F: StoreFactory>(factory: &F) {
    let mirror = busy(factory.create().await, 4).await;
    let (store, org) = (mirror.ledger.store(), mirror.world.org);
    let all: Vec<_> = mirror.world.state.statuses().collect();
    for page in [1, 2, 5, 1000] {
        assert_eq!(
            all_statuses(store, org, StatusFilter::default(), page).await,
            all,
            "page size {page}"
        );
    }
    for state in [
        AgentKeyState::Active,
        AgentKeyState::Pending,
        AgentKeyState::Revoked,
        AgentKeyState::NotSetUp,
    ] {
        let expected: Vec<_> = all.iter().filter(|s| s.state == state).cloned().collect();
        let found = all_statuses(
            store,
            org,
            StatusFilter {
                state: Some(state),
                role: None,
            },
            3,
        )
        .await;
        assert_eq!(found, expected, "{state:?}");
    }
    let admins: Vec<_> = all
        .iter()
        .filter(|s| s.role == Role::Admin && s.state == AgentKeyState::Active)
        .cloned()
        .collect();
    let found = all_statuses(
        store,
        org,
        StatusFilter {
            state: Some(AgentKeyState::Active),
            role: Some(Role::Admin),
        },
        1,
    )
    .await;
    assert_eq!(found, admins);
    assert_eq!(admins.len(), 2);
    assert_eq!(
        store
            .agent_status(org, agent_n(5))
            .await
            .unwrap()
            .unwrap()
            .state,
        AgentKeyState::Revoked
    );
    assert_eq!(store.agent_status(org, agent_n(99)).await.unwrap(), None);
    assert_eq!(all_pending(store, org, 1).await.len(), 3);
    let history = all_history(store, org, None, 1000).await;
    let about_five: Vec<_> = history
        .iter()
        .filter(|line| line.event.owner == Some(agent_n(5)))
        .cloned()
        .collect();
    assert_eq!(
        all_history(store, org, Some(agent_n(5)), 2).await,
        about_five
    );
    assert_eq!(about_five.len(), 3, "requested, approved, revoked");
    let first_page = store
        .status_page(org, StatusFilter::default(), None, 4)
        .await
        .unwrap();
    assert_eq!(first_page.items.len(), 4);
    assert_eq!(first_page.next, Some(first_page.items[3].agent));
}

/// A task authorization is accepted once, by every server sharing the store.
pub async fn replay_cache_records_each_key_once<F: StoreFactory>(factory: &F) {
    let mut mirror = busy(factory.create().await, 5).await;
    let (org, now) = (mirror.world.org, mirror.world.now);
    let store = mirror.ledger.store().clone();
    assert!(store.first_use(org, [1; 32], now.plus(60)).await.unwrap());
    assert!(!store.first_use(org, [1; 32], now.plus(60)).await.unwrap());
    assert!(store.first_use(org, [2; 32], now.plus(10)).await.unwrap());
    assert_eq!(store.prune_replay_keys(now.plus(30)).await.unwrap(), 1);
    assert!(!store.first_use(org, [1; 32], now.plus(60)).await.unwrap());

    // Many at once, each key four times: exactly one of each key's four is first.
    let racers: Vec<_> = (0..64u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = [100 + i % 16; 32];
                (key, store.first_use(org, key, now.plus(60)).await.unwrap())
            })
        })
        .collect();
    let mut firsts = std::collections::BTreeMap::<[u8; 32], u32>::new();
    for racer in racers {
        let (key, first) = racer.await.unwrap();
        *firsts.entry(key).or_default() += u32::from(first);
    }
    assert_eq!(firsts.len(), 16);
    assert!(firsts.values().all(|count| *count == 1), "{firsts:?}");

    let key = mirror.world.state.active_key(agent_n(1)).unwrap().0;
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(b"Get-Process"),
    };
    let mut rng = mirror.world.rng().clone();
    let task = mirror.world.sign_task(key, &binding, &mut rng);
    mirror
        .ledger
        .verify_task(org, &task, &binding, now)
        .await
        .unwrap();
    let second_server = Ledger::new(
        factory.another_handle(&store).await,
        host_from(mirror.world.host.seed()),
    );
    assert!(matches!(
        second_server.verify_task(org, &task, &binding, now).await,
        Err(LedgerError::Task(TaskError::Replayed))
    ));
    // A refused authorization does not use up its key.
    let fresh = mirror.world.sign_task(key, &binding, &mut rng);
    let other = TaskBinding {
        payload: PayloadDigest::of(b"Stop-Computer"),
        ..binding.clone()
    };
    assert!(matches!(
        mirror.ledger.verify_task(org, &fresh, &other, now).await,
        Err(LedgerError::Task(TaskError::WrongTask))
    ));
    second_server
        .verify_task(org, &fresh, &binding, now)
        .await
        .unwrap();
}

/// A server that cached an organization sees, at its next verification, a revocation
/// another server stored: the revoked key's task is refused there at once.
pub async fn revocations_reach_every_server_at_once<F: StoreFactory>(factory: &F) {
    let mut mirror = busy(factory.create().await, 8).await;
    let (org, now) = (mirror.world.org, mirror.world.now);
    let other_server = mirror.another_server(factory).await;
    let member = agent_n(1);
    let key = mirror.world.state.active_key(member).unwrap().0;
    let binding = TaskBinding {
        kind: TaskKind::new("remote-control").unwrap(),
        payload: PayloadDigest::of(b"revoked"),
    };
    let mut rng = mirror.world.rng().clone();
    let mut task = |world: &zt_testkit::world::World| world.sign_task(key, &binding, &mut rng);
    // The other server loads the organization and accepts the member's tasks (the second
    // one after checking the store for newer entries).
    for _ in 0..2 {
        let accepted = task(&mirror.world);
        other_server
            .verify_task(org, &accepted, &binding, now)
            .await
            .unwrap();
    }
    // The first server stores the revocation...
    mirror.world.revoke(agent(0), member, false).unwrap();
    mirror.sync().await;
    // ...and the other server, with its cache, refuses the next task at once, even when
    // many verifications arrive together and share their check of the store.
    let tasks: Vec<_> = (0..8).map(|_| task(&mirror.world)).collect();
    let other_server = std::sync::Arc::new(other_server);
    let checks: Vec<_> = tasks
        .into_iter()
        .map(|task| {
            let (server, binding) = (other_server.clone(), binding.clone());
            tokio::spawn(async move { server.verify_task(org, &task, &binding, now).await })
        })
        .collect();
    for check in checks {
        assert!(matches!(
            check.await.unwrap(),
            Err(LedgerError::Task(TaskError::KeyNotActive))
        ));
    }
}

/// A session ended on one server is ended on all; only its agent can end it; it is
/// forgotten once expired.
pub async fn sessions_end_on_every_server<F: StoreFactory>(factory: &F) {
    let mut mirror = busy(factory.create().await, 7).await;
    let (org, now) = (mirror.world.org, mirror.world.now);
    let store = mirror.ledger.store().clone();
    let second_server = Ledger::new(
        factory.another_handle(&store).await,
        host_from(mirror.world.host.seed()),
    );
    let key = mirror.world.state.active_key(agent_n(1)).unwrap().0;
    let epoch = mirror.world.state.epoch();
    let mut rng = mirror.world.rng().clone();
    let session = SessionKey::generate(&mut rng);
    let delegation = SessionDelegation::issue(
        mirror.world.keys(key),
        org,
        epoch,
        session.public(),
        PromptFrequency::Day,
        now,
    )
    .unwrap();
    let binding = TaskBinding {
        kind: TaskKind::new("remote-control").unwrap(),
        payload: PayloadDigest::of(b"session"),
    };
    let mut task = || {
        TaskAuthorization::sign_with_session(
            &session,
            &delegation,
            binding.clone(),
            now,
            300,
            &mut rng,
        )
    };

    // Another agent cannot start it, its agent can (twice, harmlessly).
    assert!(matches!(
        mirror
            .ledger
            .start_session(org, agent_n(2), &delegation, now)
            .await,
        Err(LedgerError::Task(TaskError::SessionInvalid))
    ));
    for _ in 0..2 {
        mirror
            .ledger
            .start_session(org, agent_n(1), &delegation, now)
            .await
            .unwrap();
    }
    second_server
        .verify_task(org, &task(), &binding, now)
        .await
        .unwrap();

    // Another agent cannot end it; its agent ends it on the first server...
    assert!(second_server
        .end_session(org, agent_n(2), session.public(), now)
        .await
        .is_err());
    assert!(!store.session_ended(org, session.public()).await.unwrap());
    mirror
        .ledger
        .end_session(org, agent_n(1), session.public(), now)
        .await
        .unwrap();
    // ...and the second refuses its tasks, and refuses to start it again.
    assert!(matches!(
        second_server.verify_task(org, &task(), &binding, now).await,
        Err(LedgerError::Task(TaskError::SessionInvalid))
    ));
    assert!(matches!(
        second_server
            .start_session(org, agent_n(1), &delegation, now)
            .await,
        Err(LedgerError::Task(TaskError::SessionInvalid))
    ));

    // Ended and expired: forgotten (its tasks are refused as expired anyway).
    let week = PromptFrequency::Week.max_session_seconds();
    assert!(
        store
            .prune_replay_keys(now.plus(week).plus(1))
            .await
            .unwrap()
            >= 1
    );
    assert!(!store.session_ended(org, session.public()).await.unwrap());
}

/// Notifications wait in the outbox until sent; a failed delivery comes back later.
pub async fn outbox_delivers_once_with_backoff<F: StoreFactory>(factory: &F) {
    let mirror = busy(factory.create().await, 6).await;
    let store = mirror.ledger.store();
    let now = mirror.world.now;
    let due = store.due_notifications(now, 1000).await.unwrap();
    let approvals = due
        .iter()
        .filter(|m| m.notification.kind == NotificationKind::KeyApproved)
        .count();
    let revocations = due
        .iter()
        .filter(|m| m.notification.kind == NotificationKind::KeyRevoked)
        .count();
    assert_eq!((approvals, revocations), (8, 1), "{due:?}");
    assert!(due.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let first = due[0].clone();
    assert_eq!(
        first.notification.recipients,
        vec![first.notification.subject]
    );
    store
        .notification_failed(first.id, retry_at(now, 0))
        .await
        .unwrap();
    let later = store.due_notifications(now, 1000).await.unwrap();
    assert!(
        later.iter().all(|m| m.id != first.id),
        "not due again before its retry time"
    );
    let retry = store
        .due_notifications(retry_at(now, 0), 1000)
        .await
        .unwrap();
    let back = retry.iter().find(|m| m.id == first.id).unwrap();
    assert_eq!(back.attempts, 1);
    // Two servers draining the outbox: one claims a message, the other cannot until the
    // claim lapses (a sender that crashed mid-send is replaced, never doubled meanwhile).
    let at = retry_at(now, 0);
    assert!(store
        .claim_notification(back.id, at, at.plus(60))
        .await
        .unwrap());
    assert!(!store
        .claim_notification(back.id, at, at.plus(60))
        .await
        .unwrap());
    assert!(store
        .due_notifications(at, 1000)
        .await
        .unwrap()
        .iter()
        .all(|m| m.id != back.id));
    assert!(store
        .claim_notification(back.id, at.plus(60), at.plus(120))
        .await
        .unwrap());
    for message in &retry {
        store.notification_sent(message.id).await.unwrap();
    }
    assert!(store
        .due_notifications(UnixTime(u64::MAX / 2), 1000)
        .await
        .unwrap()
        .is_empty());
}
