//! Concurrent writers: each with its own ledger (its own cache), over two handles on the
//! store, as two servers sharing one database would be.

use std::sync::Arc;

use zt_core::{Role, Statement, StatementKind};
use zt_testkit::world::{agent, agent_n, Verdict};

use super::mirror::Mirror;
use super::{check_views, host_from, StoreFactory};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::Store;

/// 16 writers race to create the first key: exactly one succeeds (DESIGN.md §6.1).
pub async fn first_key_race<F: StoreFactory>(factory: &F) {
    for round in 0..3 {
        let mut mirror = Mirror::new(factory.create().await, 200 + round).await;
        let handles = [
            mirror.ledger.store().clone(),
            factory.another_handle(mirror.ledger.store()).await,
        ];
        let org = mirror.world.org;
        let now = mirror.world.now;
        let mut tasks = Vec::new();
        for writer in 0..16u32 {
            let (_, command) = mirror.world.build_first_key(agent_n(100 + writer));
            let store = handles[usize::try_from(writer % 2).unwrap()].clone();
            let ledger = Arc::new(Ledger::new(store, host_from(mirror.world.host.seed())));
            tasks.push(tokio::spawn(async move {
                ledger.execute(org, command, now).await
            }));
        }
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => winners += 1,
                Err(LedgerError::Conflict { .. } | LedgerError::Refused(_)) => {}
                Err(other) => panic!("a racing writer failed: {other}"),
            }
        }
        assert_eq!(winners, 1, "exactly one first key");
        // Every server, reading the store afresh, verifies the log the race left.
        mirror.ledger.read(org, |_| ()).await.unwrap();
        let entries = mirror
            .ledger
            .store()
            .entries(org, zt_core::Seq(0), 100)
            .await
            .unwrap();
        let first_keys = entries
            .iter()
            .filter(|bytes| {
                zt_core::LogEntry::decode(bytes).unwrap().kind() == StatementKind::FirstKey
            })
            .count();
        assert_eq!((entries.len(), first_keys), (2, 1));
        check_views(mirror.ledger.store(), org).await.unwrap();
    }
}

/// Two approvals of one request: one wins; the other, signed again, is refused (§6.6).
pub async fn two_approvals_race<F: StoreFactory>(factory: &F) {
    for round in 0..4 {
        let mut mirror = Mirror::new(factory.create().await, 300 + round).await;
        let world = &mut mirror.world;
        world.set_role(agent(0), Role::Admin).unwrap();
        world.set_role(agent(1), Role::Admin).unwrap();
        world.first_key(agent(0)).unwrap();
        let second = world.request(agent(1)).unwrap();
        world.approve(agent(0), second).unwrap();
        let request = world.request(agent(4)).unwrap();
        mirror.sync().await;
        let org = mirror.world.org;
        let now = mirror.world.now;
        let other = Arc::new(Ledger::new(
            factory.another_handle(mirror.ledger.store()).await,
            host_from(mirror.world.host.seed()),
        ));
        let by_zero = mirror
            .world
            .build_judgement(agent(0), request, Verdict::Approve);
        let by_one = mirror
            .world
            .build_judgement(agent(1), request, Verdict::Approve);
        let (a, b) = (mirror.ledger.clone(), other.clone());
        let first = tokio::spawn(async move { a.execute(org, by_zero, now).await });
        let second = tokio::spawn(async move { b.execute(org, by_one, now).await });
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        let (won, lost) = match (&first, &second) {
            (Ok(_), Err(LedgerError::Conflict { head })) => (0, (1, *head)),
            (Err(LedgerError::Conflict { head }), Ok(_)) => (1, (0, *head)),
            other => panic!("expected one approval and one conflict: {other:?}"),
        };
        // The loser signs again at the new head: the request is no longer pending.
        mirror.world.override_position(Some(lost.1), None);
        let again = mirror
            .world
            .build_judgement(agent(lost.0), request, Verdict::Approve);
        mirror.world.override_position(None, None);
        let retried = other.execute(org, again, now).await;
        assert!(
            matches!(
                retried,
                Err(LedgerError::Refused(zt_core::Refusal::Entry(
                    zt_core::EntryFault::Rule(zt_core::RuleViolation::RequestNotPending)
                )))
            ),
            "{retried:?}"
        );
        let entries = mirror
            .ledger
            .store()
            .entries(org, zt_core::Seq(0), 100)
            .await
            .unwrap();
        let approvals: Vec<_> = entries
            .iter()
            .map(|bytes| zt_core::LogEntry::decode(bytes).unwrap())
            .filter_map(|entry| match entry.statement() {
                Statement::Approval(judgement) => Some(judgement.approver),
                _ => None,
            })
            .collect();
        // Two approvals in the log: agent 1's own (by agent 0), and exactly one of the race.
        assert_eq!(approvals.len(), 2);
        assert_eq!(approvals[1], agent(won));
        check_views(mirror.ledger.store(), org).await.unwrap();
    }
}
