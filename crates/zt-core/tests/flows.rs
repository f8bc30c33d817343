//! Every flow of DESIGN.md §3, and a negative test for every rule of spec §6, each asserting
//! the exact refusal and that a refusal changes nothing.

use zt_core::{
    AgentKeyState, Command, Effect, EntryFault, KeyStatus, NotificationKind, PromptFrequency,
    PromptPolicy, Refusal, RejectionReason, RevocationReason, Role, RuleViolation, StatementKind,
    Warning, MAX_CODE_MISMATCHES,
};
use zt_testkit::world::{agent, World};

/// Refusal of a lifecycle rule.
fn rule(violation: RuleViolation) -> Refusal {
    Refusal::Entry(EntryFault::Rule(violation))
}

/// Runs `attempt`, expects `refusal`, and checks that the state did not change.
fn refused<T: std::fmt::Debug>(
    world: &mut World,
    refusal: Refusal,
    attempt: impl FnOnce(&mut World) -> Result<T, Refusal>,
) {
    let before = world.state.clone();
    let entries = world.log.len();
    assert_eq!(attempt(world).unwrap_err(), refusal);
    assert_eq!(world.state, before, "a refusal changed the state");
    assert_eq!(world.log.len(), entries, "a refusal appended an entry");
}

/// Agents 0 (admin, first key) and 1 (admin, approved), and members 2 and 3 with keys.
fn organization() -> World {
    let mut world = World::new(7);
    world.set_role(agent(0), Role::Admin).unwrap();
    world.set_role(agent(1), Role::SuperAdmin).unwrap();
    world.first_key(agent(0)).unwrap();
    for (member, approver) in [(1, 0), (2, 1), (3, 0)] {
        let request = world.request(agent(member)).unwrap();
        world.approve(agent(approver), request).unwrap();
    }
    world
}

#[test]
fn the_first_key_is_active_at_once_and_founds_the_root() {
    let mut world = World::new(1);
    world.set_role(agent(0), Role::Admin).unwrap();
    let key = world.first_key(agent(0)).unwrap();
    assert_eq!(world.state.active_key(agent(0)).unwrap().0, key);
    assert_eq!(world.state.root(), Some(world.log.last().unwrap().hash()));
    assert!(
        world.effects.is_empty(),
        "an admin's first key warns of nothing"
    );
}

#[test]
fn a_first_key_by_a_member_warns_that_nobody_could_approve() {
    let mut world = World::new(2);
    let (_, command) = world.build_first_key(agent(3));
    let effects = world.submit(command).unwrap();
    assert_eq!(
        effects,
        vec![Effect::Warn(Warning::FirstKeyCreatorCannotApprove)]
    );
}

#[test]
fn there_is_never_a_second_first_key_in_an_epoch() {
    let mut world = organization();
    refused(&mut world, rule(RuleViolation::FirstKeyExists), |w| {
        w.first_key(agent(4))
    });
    // Not even once every key is gone: only an organization reset opens a new root.
    for member in [3, 2, 1] {
        world.revoke(agent(member), agent(member), true).unwrap();
    }
    world.revoke(agent(0), agent(0), true).unwrap();
    assert!(world.state.active_keys().is_empty());
    refused(&mut world, rule(RuleViolation::FirstKeyExists), |w| {
        w.first_key(agent(4))
    });
}

#[test]
fn before_the_first_key_only_roles_and_a_first_key_are_accepted() {
    let mut world = World::new(3);
    refused(&mut world, rule(RuleViolation::NoFirstKeyYet), |w| {
        w.request(agent(1))
    });
    world.set_role(agent(1), Role::Admin).unwrap();
    world.first_key(agent(1)).unwrap();
    world.request(agent(2)).unwrap();
}

#[test]
fn approval_activates_the_requested_key_revokes_the_old_one_and_notifies() {
    let mut world = organization();
    let old = world.state.active_key(agent(2)).unwrap().0;
    // Agent 2 forgot their passphrase and asks for a new key.
    let request = world.request(agent(2)).unwrap();
    assert_eq!(
        world.state.agent_status(agent(2)).state,
        AgentKeyState::Active
    );
    assert_eq!(
        world.state.agent_status(agent(2)).pending_request,
        Some(request)
    );
    let effects = world.approve(agent(1), request).unwrap();
    let new = world.requested_key(request).unwrap();
    assert_eq!(world.state.active_key(agent(2)).unwrap().0, new);
    assert_eq!(
        world.state.key(old).unwrap().status,
        KeyStatus::Revoked(RevocationReason::Superseded)
    );
    assert_eq!(
        effects,
        vec![Effect::Notify {
            kind: NotificationKind::KeyApproved,
            subject: agent(2),
            recipients: vec![agent(2)]
        }]
    );
    let status = world.state.agent_status(agent(2));
    assert_eq!(status.approved_by, Some(agent(1)));
    assert_eq!(status.pending_request, None);
}

#[test]
fn a_new_request_replaces_the_earlier_pending_one() {
    let mut world = organization();
    let first = world.request(agent(4)).unwrap();
    let second = world.request(agent(4)).unwrap();
    let first_key = world.requested_key(first).unwrap();
    assert_eq!(
        world.state.key(first_key).unwrap().status,
        KeyStatus::Rejected(RejectionReason::Replaced)
    );
    refused(&mut world, rule(RuleViolation::RequestNotPending), |w| {
        w.approve(agent(0), first)
    });
    world.approve(agent(0), second).unwrap();
}

#[test]
fn a_rejected_agent_may_request_again_from_scratch() {
    let mut world = organization();
    let request = world.request(agent(4)).unwrap();
    world.reject(agent(1), request).unwrap();
    let key = world.requested_key(request).unwrap();
    assert_eq!(
        world.state.key(key).unwrap().status,
        KeyStatus::Rejected(RejectionReason::RejectedBy(agent(1)))
    );
    refused(&mut world, rule(RuleViolation::RequestNotPending), |w| {
        w.approve(agent(0), request)
    });
    let again = world.request(agent(4)).unwrap();
    world.approve(agent(0), again).unwrap();
}

#[test]
fn five_wrong_codes_lock_the_request_until_the_agent_requests_again() {
    let mut world = organization();
    let request = world.request(agent(4)).unwrap();
    for attempt in 1..=MAX_CODE_MISMATCHES {
        world
            .report_wrong_code(agent(attempt % 2), request)
            .unwrap();
        assert_eq!(world.state.request(request).unwrap().mismatches, attempt);
    }
    assert!(world.state.request(request).unwrap().is_locked());
    refused(&mut world, rule(RuleViolation::RequestLocked), |w| {
        w.approve(agent(0), request)
    });
    refused(&mut world, rule(RuleViolation::RequestLocked), |w| {
        w.report_wrong_code(agent(0), request)
    });
    refused(&mut world, rule(RuleViolation::RequestLocked), |w| {
        w.reject(agent(0), request)
    });
    let again = world.request(agent(4)).unwrap();
    world.approve(agent(0), again).unwrap();
}

#[test]
fn nobody_approves_their_own_request_and_members_approve_nothing() {
    let mut world = organization();
    let own = world.request(agent(0)).unwrap();
    refused(&mut world, rule(RuleViolation::SelfApproval), |w| {
        w.approve(agent(0), own)
    });
    refused(&mut world, rule(RuleViolation::SelfApproval), |w| {
        w.report_wrong_code(agent(0), own)
    });
    let request = world.request(agent(4)).unwrap();
    refused(&mut world, rule(RuleViolation::NotAnApprover), |w| {
        w.approve(agent(2), request)
    });
    refused(&mut world, rule(RuleViolation::NotAnApprover), |w| {
        w.reject(agent(3), request)
    });
    // An admin without an active key cannot approve either.
    world.set_role(agent(4), Role::Admin).unwrap();
    let other = world.request(agent(2)).unwrap();
    refused(&mut world, rule(RuleViolation::NoActiveKey), |w| {
        w.approve(agent(4), other)
    });
    world.approve(agent(1), other).unwrap();
}

#[test]
fn an_approval_covers_the_exact_request_and_key() {
    let mut world = organization();
    let request = world.request(agent(4)).unwrap();
    // A server that swapped the requested key shows the approver a request with the same id.
    let swapped = world.build_substituted_approval(agent(0), request);
    refused(&mut world, rule(RuleViolation::RequestMismatch), |w| {
        w.submit(swapped)
    });
    world.approve(agent(0), request).unwrap();
}

#[test]
fn approvals_must_be_signed_by_the_approvers_active_key() {
    let mut world = organization();
    let request = world.request(agent(4)).unwrap();
    let old = world.state.active_key(agent(1)).unwrap().0;
    world.change(agent(1)).unwrap();
    let stale = world.build_judgement_with_key(agent(1), request, old);
    refused(&mut world, rule(RuleViolation::NotActiveKey), |w| {
        w.submit(stale)
    });
    world.approve(agent(1), request).unwrap();
}

#[test]
fn a_key_change_is_signed_by_the_current_key_and_revokes_it() {
    let mut world = organization();
    let old = world.state.active_key(agent(2)).unwrap().0;
    let new = world.change(agent(2)).unwrap();
    assert_eq!(world.state.active_key(agent(2)).unwrap().0, new);
    assert_eq!(
        world.state.key(old).unwrap().status,
        KeyStatus::Revoked(RevocationReason::Changed)
    );
    // Without an active key there is nothing to change.
    world.revoke(agent(2), agent(2), false).unwrap();
    refused(&mut world, rule(RuleViolation::NoActiveKey), |w| {
        w.change(agent(2))
    });
}

#[test]
fn terminal_keys_never_come_back() {
    let mut world = organization();
    let old = world.state.active_key(agent(3)).unwrap().0;
    world.change(agent(3)).unwrap();
    // Re-registering the revoked key, by request or change, is refused.
    let reuse = world.build_request_with_key(agent(3), old);
    refused(&mut world, rule(RuleViolation::KeyReused), |w| {
        w.submit(reuse)
    });
}

#[test]
fn revocation_by_the_agent_or_an_approver_but_not_a_member() {
    let mut world = organization();
    world.revoke(agent(2), agent(2), false).unwrap();
    assert_eq!(
        world.state.agent_status(agent(2)).state,
        AgentKeyState::Revoked
    );
    refused(&mut world, rule(RuleViolation::NotAnApprover), |w| {
        w.revoke(agent(3), agent(1), false)
    });
    let effects = world.revoke(agent(1), agent(3), false).unwrap();
    assert_eq!(
        effects,
        vec![Effect::Notify {
            kind: NotificationKind::KeyRevoked,
            subject: agent(3),
            recipients: vec![agent(3)]
        }]
    );
    let key = world.log.iter().rev().find_map(|e| match e.statement() {
        zt_core::Statement::Revocation(r) => Some(r.key),
        _ => None,
    });
    assert_eq!(
        world.state.key(key.unwrap()).unwrap().status,
        KeyStatus::Revoked(RevocationReason::RevokedBy(agent(1)))
    );
    refused(&mut world, rule(RuleViolation::NoActiveKey), |w| {
        w.revoke(agent(1), agent(3), false)
    });
}

#[test]
fn the_last_approvers_key_is_protected_unless_forced() {
    let mut world = organization();
    world.revoke(agent(0), agent(1), false).unwrap();
    refused(&mut world, rule(RuleViolation::LastApprover), |w| {
        w.revoke(agent(0), agent(0), false)
    });
    refused(&mut world, rule(RuleViolation::LastApprover), |w| {
        w.submit(Command::SetRole {
            agent: agent(0),
            role: Role::Member,
            force: false,
        })
    });
    refused(&mut world, rule(RuleViolation::LastApprover), |w| {
        w.submit(Command::SetRole {
            agent: agent(0),
            role: Role::Removed,
            force: false,
        })
    });
    world.revoke(agent(0), agent(0), true).unwrap();
    assert!(world.state.active_approvers().next().is_none());
}

#[test]
fn recovery_resets_a_key_without_approval_and_keeps_the_access_secret() {
    let mut world = organization();
    let registration = world.register_recovery(agent(2)).unwrap();
    assert!(world.state.agent_status(agent(2)).has_recovery_file);
    let old = world.state.active_key(agent(2)).unwrap().0;
    let access_before = world.access(agent(2)).expose_secret().to_owned();
    let new = world.recovery_reset(agent(2), registration).unwrap();
    assert_eq!(world.state.active_key(agent(2)).unwrap().0, new);
    assert_eq!(
        world.state.key(old).unwrap().status,
        KeyStatus::Revoked(RevocationReason::Recovered)
    );
    // The recovery key opens the access secret sealed at registration, and the new key opens
    // the one re-sealed by the reset: the same secret.
    let recovery = &world.registrations[registration].1;
    let sealed_at_registration = world.log.iter().find_map(|e| match e.statement() {
        zt_core::Statement::RecoveryRegistration(r)
            if r.registration == recovery.registration() =>
        {
            Some(r.sealed_access)
        }
        _ => None,
    });
    assert_eq!(
        recovery
            .open_access(&sealed_at_registration.unwrap())
            .unwrap()
            .expose_secret()[..],
        access_before[..]
    );
    let sealed_now = world.state.key(new).unwrap().sealed_access;
    assert_eq!(
        world
            .keys(new)
            .open_access(&sealed_now)
            .unwrap()
            .expose_secret()[..],
        access_before[..]
    );
    // Admins are told too.
    let notified = world.effects.iter().rev().find_map(|effect| match effect {
        Effect::Notify {
            kind: NotificationKind::KeyRecovered,
            recipients,
            ..
        } => Some(recipients.clone()),
        _ => None,
    });
    assert_eq!(notified, Some(vec![agent(2), agent(0), agent(1)]));
}

#[test]
fn a_recovery_file_works_once_and_only_while_it_is_the_newest() {
    let mut world = organization();
    let first = world.register_recovery(agent(2)).unwrap();
    let second = world.register_recovery(agent(2)).unwrap();
    refused(&mut world, rule(RuleViolation::RecoveryReplaced), |w| {
        w.recovery_reset(agent(2), first)
    });
    world.recovery_reset(agent(2), second).unwrap();
    assert!(!world.state.agent_status(agent(2)).has_recovery_file);
    refused(&mut world, rule(RuleViolation::RecoverySpent), |w| {
        w.recovery_reset(agent(2), second)
    });
    // Someone else's file is no use.
    let others = world.register_recovery(agent(3)).unwrap();
    refused(&mut world, rule(RuleViolation::NoRecovery), |w| {
        w.recovery_reset(agent(2), others)
    });
}

#[test]
fn a_revocation_cancels_the_recovery_file() {
    let mut world = organization();
    let registration = world.register_recovery(agent(2)).unwrap();
    world.revoke(agent(1), agent(2), false).unwrap();
    let request = world.request(agent(2)).unwrap();
    world.approve(agent(0), request).unwrap();
    // Recovery must not undo a revocation: the file stopped working with it.
    refused(&mut world, rule(RuleViolation::RecoverySpent), |w| {
        w.recovery_reset(agent(2), registration)
    });
}

#[test]
fn removing_an_agent_revokes_their_key_and_cancels_the_rest() {
    let mut world = organization();
    let registration = world.register_recovery(agent(3)).unwrap();
    let request = world.request(agent(3)).unwrap();
    let key = world.state.active_key(agent(3)).unwrap().0;
    let effects = world.set_role(agent(3), Role::Removed).unwrap();
    assert_eq!(
        world.state.key(key).unwrap().status,
        KeyStatus::Revoked(RevocationReason::Deprovisioned)
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::Notify {
            kind: NotificationKind::KeyRevoked,
            ..
        }]
    ));
    refused(&mut world, rule(RuleViolation::RequestNotPending), |w| {
        w.approve(agent(0), request)
    });
    refused(&mut world, rule(RuleViolation::AgentRemoved), |w| {
        w.request(agent(3))
    });
    refused(&mut world, rule(RuleViolation::AgentRemoved), |w| {
        w.recovery_reset(agent(3), registration)
    });
    refused(&mut world, rule(RuleViolation::RoleUnchanged), |w| {
        w.set_role(agent(3), Role::Removed)
    });
}

#[test]
fn an_organization_reset_ends_every_key_and_the_next_key_is_a_first_key() {
    let mut world = organization();
    let old_root = world.state.trust_root().unwrap();
    let old_start = world.epoch_start;
    let effects = world.reset_organization().unwrap();
    assert!(effects.contains(&Effect::OrganizationReset {
        previous: zt_core::Epoch(0),
        epoch: zt_core::Epoch(1)
    }));
    let told = effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Notify {
                    kind: NotificationKind::OrganizationReset,
                    ..
                }
            )
        })
        .count();
    assert_eq!(told, 4, "every agent with a key is told");
    assert!(world.state.active_keys().is_empty());
    assert_eq!(
        world.state.agent_status(agent(2)).state,
        AgentKeyState::Reset
    );
    assert_eq!(
        world.state.role(agent(1)),
        Role::SuperAdmin,
        "roles survive a reset"
    );
    // The old epoch's log, replayed from the old root, is closed: devices refuse everything.
    let closed = zt_core::verify_log(&old_root, &world.log[old_start..]).unwrap();
    assert!(closed.closed_at().is_some() && closed.active_keys().is_empty());
    refused(&mut world, rule(RuleViolation::NoFirstKeyYet), |w| {
        w.request(agent(2))
    });
    world.first_key(agent(1)).unwrap();
    assert_ne!(world.state.trust_root().unwrap(), old_root);
}

#[test]
fn roles_and_policy_rules() {
    let mut world = organization();
    refused(&mut world, rule(RuleViolation::RoleUnchanged), |w| {
        w.set_role(agent(0), Role::Admin)
    });
    let day_only = PromptPolicy::allowing(&[PromptFrequency::Day]);
    refused(&mut world, rule(RuleViolation::NotAnApprover), |w| {
        w.set_policy(agent(2), day_only)
    });
    world.set_policy(agent(0), day_only).unwrap();
    assert_eq!(world.state.prompt_policy(), day_only);
    refused(&mut world, rule(RuleViolation::PolicyUnchanged), |w| {
        w.set_policy(agent(1), day_only)
    });
}

#[test]
fn malformed_misplaced_and_replayed_statements_are_refused() {
    let mut world = organization();
    // A statement signed an hour from the server's clock.
    world.override_position(None, Some(world.now.plus(3600)));
    let (_, skewed) = world.build_request(agent(4));
    world.override_position(None, None);
    let now = world.now;
    refused(
        &mut world,
        Refusal::ClockSkew {
            found: now.plus(3600),
            now,
            max_skew: 300,
        },
        |w| w.submit(skewed),
    );
    // A statement of another kind than the command says.
    let (_, request) = world.build_request(agent(4));
    let entry = zt_testkit::run::entry_of(&request).clone();
    refused(
        &mut world,
        Refusal::WrongStatement {
            expected: StatementKind::Approval,
            found: StatementKind::KeyRequest,
        },
        |w| w.submit(Command::Approve(entry)),
    );
    // An accepted entry, sent again.
    let replayed = Command::from_entry(world.log[5].clone()).unwrap();
    let expected = world.state.head().next_seq;
    refused(
        &mut world,
        Refusal::Entry(EntryFault::SequenceTaken {
            expected,
            found: zt_core::Seq(5),
        }),
        |w| w.submit(replayed),
    );
    // A host key other than this epoch's.
    let stranger = zt_core::HostKey::generate(&mut rand_chacha_rng());
    let before = world.state.clone();
    let refusal = world
        .state
        .decide(
            Command::ResetOrganization,
            zt_core::Context {
                now: world.now,
                host: &stranger,
            },
        )
        .unwrap_err();
    assert_eq!(refusal, Refusal::HostKeyMismatch);
    assert_eq!(world.state, before);
}

#[test]
fn the_status_page_shows_each_state() {
    let mut world = organization();
    world.register_recovery(agent(3)).unwrap();
    world.request(agent(4)).unwrap();
    world.revoke(agent(2), agent(2), false).unwrap();
    let states: Vec<(Role, AgentKeyState, bool)> = world
        .state
        .statuses()
        .map(|status| (status.role, status.state, status.has_recovery_file))
        .collect();
    assert_eq!(
        states,
        vec![
            (Role::Admin, AgentKeyState::Active, false),
            (Role::SuperAdmin, AgentKeyState::Active, false),
            (Role::Member, AgentKeyState::Revoked, false),
            (Role::Member, AgentKeyState::Active, true),
            (Role::Member, AgentKeyState::Pending, false),
        ]
    );
    assert_eq!(
        world.state.agent_status(agent(9)).state,
        AgentKeyState::NotSetUp
    );
}

fn rand_chacha_rng() -> rand_chacha::ChaCha20Rng {
    use rand_chacha::rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::seed_from_u64(99)
}

#[test]
fn the_key_history_says_who_did_what_to_whose_key() {
    use zt_core::Actor;
    let mut world = organization();
    let start = world.views.history.len();
    let request = world.request(agent(2)).unwrap();
    world.report_wrong_code(agent(0), request).unwrap();
    world.approve(agent(1), request).unwrap();
    world.revoke(agent(0), agent(3), false).unwrap();
    world.set_role(agent(3), Role::Removed).unwrap();
    let lines: Vec<(Option<zt_core::AgentId>, Actor, &str, &str)> = world.views.history[start..]
        .iter()
        .map(|e| (e.owner, e.actor, e.action, e.reason))
        .collect();
    assert_eq!(
        lines,
        vec![
            (Some(agent(2)), Actor::Agent(agent(2)), "requested", ""),
            (Some(agent(2)), Actor::Agent(agent(0)), "wrong-code", ""),
            // The new key approved and the old one superseded, both by the approver.
            (
                Some(agent(2)),
                Actor::Agent(agent(1)),
                "revoked",
                "superseded"
            ),
            (Some(agent(2)), Actor::Agent(agent(1)), "approved", ""),
            (
                Some(agent(3)),
                Actor::Agent(agent(0)),
                "revoked",
                "by-approver"
            ),
            (Some(agent(3)), Actor::Host, "role-changed", "removed"),
        ]
    );
    // Every line names the entry it came from.
    assert!(world
        .views
        .history
        .iter()
        .all(|e| usize::try_from(e.seq.0).unwrap() < world.log.len()));
}
