//! Offline log verification (spec §5): a device or auditor that trusts only the pinned root
//! reaches the server's key set, and any tampering is refused with the first bad entry named,
//! in batch and in strict mode alike.

use zt_core::{
    verify_encoded_log, verify_log, verify_log_with, DecodeError, EntryFault, Epoch, LogEntry,
    LogError, LogReplay, OrgState, Role, RuleViolation, Seq, SignatureRole, TrustRoot, VerifyMode,
};
use zt_testkit::run::entry_of;
use zt_testkit::world::{agent, Verdict, World};

const MODES: [VerifyMode; 2] = [VerifyMode::Batch, VerifyMode::Strict];

/// A busy organization: roles, keys, approvals, a rejection, wrong codes, a change, a
/// recovery and a revocation.
fn busy() -> World {
    let mut world = World::new(11);
    world.set_role(agent(0), Role::Admin).unwrap();
    world.set_role(agent(1), Role::Admin).unwrap();
    world.first_key(agent(0)).unwrap();
    for member in 1..5 {
        let request = world.request(agent(member)).unwrap();
        world.report_wrong_code(agent(0), request).unwrap();
        world
            .approve(agent(u8::from(member != 1)), request)
            .unwrap();
    }
    let rejected = world.request(agent(5)).unwrap();
    world.reject(agent(1), rejected).unwrap();
    world.change(agent(2)).unwrap();
    let registration = world.register_recovery(agent(3)).unwrap();
    world.recovery_reset(agent(3), registration).unwrap();
    world.revoke(agent(1), agent(4), false).unwrap();
    world
}

fn root(world: &World) -> TrustRoot {
    world.state.trust_root().unwrap()
}

fn bad_entry(result: Result<zt_core::VerifiedLog, LogError>) -> (usize, EntryFault) {
    match result {
        Err(LogError::BadEntry { index, fault, .. }) => (index, fault),
        other => panic!("expected a bad entry, got {other:?}"),
    }
}

#[test]
fn replay_reaches_the_servers_key_set_in_both_modes() {
    let world = busy();
    for mode in MODES {
        let verified = verify_log_with(&root(&world), &world.log, mode).unwrap();
        assert_eq!(verified.active_keys(), world.state.active_keys());
        assert_eq!(verified.head(), world.state.head());
        assert_eq!(verified.len(), world.log.len());
    }
}

#[test]
fn a_flipped_signature_bit_is_named() {
    let world = busy();
    for index in [0, 4, 9, world.log.len() - 1] {
        let mut log = world.log.clone();
        let mut bytes = log[index].encoded().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        log[index] = LogEntry::decode(&bytes).unwrap();
        for mode in MODES {
            let (at, fault) = bad_entry(verify_log_with(&root(&world), &log, mode));
            assert_eq!(at, index, "{mode:?}");
            assert!(
                matches!(fault, EntryFault::BadSignature(_)),
                "{mode:?}: {fault}"
            );
        }
    }
}

#[test]
fn an_edited_statement_is_named_before_the_broken_link_after_it() {
    let world = busy();
    let index = 8;
    let mut log = world.log.clone();
    let mut bytes = log[index].encoded().to_vec();
    // The time field of the header: still decodes, but the signature no longer covers it.
    bytes[2 + 16 + 4 + 8 + 32 + 7] ^= 1;
    log[index] = LogEntry::decode(&bytes).unwrap();
    for mode in MODES {
        assert_eq!(
            bad_entry(verify_log_with(&root(&world), &log, mode)),
            (
                index,
                EntryFault::BadSignature(SignatureRole::Authorization)
            ),
            "{mode:?}"
        );
    }
}

#[test]
fn removed_reordered_and_repeated_entries_are_named() {
    let world = busy();
    let root = root(&world);
    let mut removed = world.log.clone();
    removed.remove(6);
    assert_eq!(
        bad_entry(verify_log(&root, &removed)),
        (
            6,
            EntryFault::SequenceGap {
                expected: Seq(6),
                found: Seq(7)
            }
        )
    );
    let mut swapped = world.log.clone();
    swapped.swap(6, 7);
    assert_eq!(
        bad_entry(verify_log(&root, &swapped)),
        (
            6,
            EntryFault::SequenceGap {
                expected: Seq(6),
                found: Seq(7)
            }
        )
    );
    let mut repeated = world.log.clone();
    repeated.insert(7, world.log[6].clone());
    for mode in MODES {
        assert_eq!(
            bad_entry(verify_log_with(&root, &repeated, mode)),
            (7, EntryFault::Replayed)
        );
    }
}

#[test]
fn a_broken_chain_and_a_foreign_entry_are_named() {
    let world = busy();
    let other = busy_other();
    let mut foreign = world.log.clone();
    foreign.push(other.log[3].clone());
    let (index, fault) = bad_entry(verify_log(&root(&world), &foreign));
    assert_eq!(index, world.log.len());
    assert!(
        matches!(fault, EntryFault::WrongOrganization { .. }),
        "{fault}"
    );

    // A fork: the server shows a device a history that diverges from what it synced.
    let mut device = verify_log(&root(&world), &world.log[..10]).unwrap();
    let mut fork = World::new(11);
    fork.set_role(agent(0), Role::Admin).unwrap();
    fork.set_role(agent(1), Role::Admin).unwrap();
    fork.first_key(agent(0)).unwrap();
    let error = device.extend(&fork.log[3..]).unwrap_err();
    assert!(
        matches!(error, LogError::BadEntry { index: 0, .. }),
        "{error}"
    );
    // The device keeps what it had verified, and only extends it with the real history.
    assert_eq!(device.len(), 10);
    device.extend(&world.log[10..]).unwrap();
    assert_eq!(device.active_keys(), world.state.active_keys());
}

fn busy_other() -> World {
    let mut world = World::new(12);
    world.set_role(agent(0), Role::Admin).unwrap();
    world.first_key(agent(0)).unwrap();
    world.request(agent(1)).unwrap();
    world.request(agent(2)).unwrap();
    world
}

#[test]
fn a_statement_the_server_should_have_refused_is_named_with_its_rule() {
    let mut world = busy();
    let request = world.request(agent(6)).unwrap();
    // A member's approval, appended by a server that skipped the rules.
    let forged = world.build_judgement(agent(2), request, Verdict::Approve);
    let mut log = world.log.clone();
    log.push(entry_of(&forged).clone());
    for mode in MODES {
        assert_eq!(
            bad_entry(verify_log_with(&root(&world), &log, mode)),
            (
                log.len() - 1,
                EntryFault::Rule(RuleViolation::NotAnApprover)
            )
        );
    }
    // A self-approval.
    world.set_role(agent(6), Role::Admin).unwrap();
    let mut log = world.log.clone();
    let own = world.request(agent(1)).unwrap();
    log.push(world.log.last().unwrap().clone());
    let selfish = world.build_judgement(agent(1), own, Verdict::Approve);
    log.push(entry_of(&selfish).clone());
    assert_eq!(
        bad_entry(verify_log(&root(&world), &log)),
        (log.len() - 1, EntryFault::Rule(RuleViolation::SelfApproval))
    );
}

#[test]
fn the_root_pins_the_first_key() {
    let world = busy();
    let other = busy_other();
    let wrong = TrustRoot {
        first_key: other.state.root().unwrap(),
        ..root(&world)
    };
    assert_eq!(
        verify_log(&wrong, &world.log).unwrap_err(),
        LogError::RootMismatch { index: 3 }
    );
    assert_eq!(
        verify_log(&root(&world), &world.log[..3]).unwrap_err(),
        LogError::RootNotReached
    );
    assert_eq!(
        verify_log(&root(&world), &world.log[1..]).unwrap_err(),
        LogError::NotEpochStart { epoch: Epoch(0) }
    );
    assert_eq!(
        verify_log(&root(&world), &[]).unwrap_err(),
        LogError::NotEpochStart { epoch: Epoch(0) }
    );
    let text = root(&world).to_string();
    assert!(text.starts_with("zt-root-v1:"));
    assert_eq!(text.parse::<TrustRoot>().unwrap(), root(&world));
    for bad in [
        text.replace("zt-root-v1", "zt-root-v2"),
        text.replace(":0:", ":00:"),
        text.to_uppercase(),
        format!("{text}:"),
    ] {
        assert!(bad.parse::<TrustRoot>().is_err(), "{bad}");
    }
}

#[test]
fn a_later_epoch_verifies_from_its_own_start_and_root() {
    let mut world = busy();
    world.reset_organization().unwrap();
    world.set_role(agent(7), Role::Admin).unwrap();
    world.first_key(agent(7)).unwrap();
    let request = world.request(agent(8)).unwrap();
    world.approve(agent(7), request).unwrap();
    let verified = verify_log(&root(&world), world.epoch_log()).unwrap();
    assert_eq!(verified.active_keys(), world.state.active_keys());
    assert_eq!(verified.active_keys().len(), 2);
    // The whole log is not a valid input for the new root: it starts in epoch 0.
    assert!(verify_log(&root(&world), &world.log).is_err());
}

#[test]
fn malformed_bytes_are_named_by_index() {
    let world = busy();
    let mut encoded: Vec<Vec<u8>> = world.log.iter().map(|e| e.encoded().to_vec()).collect();
    assert!(verify_encoded_log(&root(&world), &encoded, VerifyMode::Batch).is_ok());
    encoded[5].push(0);
    assert_eq!(
        verify_encoded_log(&root(&world), &encoded, VerifyMode::Batch).unwrap_err(),
        LogError::BadEntry {
            index: 5,
            seq: None,
            fault: EntryFault::Malformed(DecodeError::TrailingBytes { count: 1 })
        }
    );
    encoded[5].pop();
    encoded[5][0] = 2;
    assert!(matches!(
        verify_encoded_log(&root(&world), &encoded, VerifyMode::Batch).unwrap_err(),
        LogError::BadEntry {
            index: 5,
            fault: EntryFault::Malformed(DecodeError::UnsupportedVersion { version: 2 }),
            ..
        }
    ));
}

#[test]
fn every_entry_decodes_and_re_encodes_to_the_same_bytes() {
    let world = busy();
    for entry in &world.log {
        let decoded = LogEntry::decode(entry.encoded()).unwrap();
        assert_eq!(&decoded, entry);
        assert_eq!(decoded.encoded(), entry.encoded());
        assert_eq!(decoded.hash(), entry.hash());
    }
}

#[test]
fn genesis_accepts_only_an_organizations_first_entry() {
    let world = busy();
    let (state, verified) = zt_core::OrgState::genesis(world.log[0].clone()).unwrap();
    assert_eq!(verified.entry(), &world.log[0]);
    assert_eq!(state.head().next_seq, Seq(1));
    assert_eq!(state.host_key(), &world.host.public());
    for not_genesis in [&world.log[1], &world.log[2]] {
        assert_eq!(
            zt_core::OrgState::genesis(not_genesis.clone()).unwrap_err(),
            EntryFault::Rule(RuleViolation::InvalidEpochStart)
        );
    }
    // A first entry whose signature does not hold.
    let mut bytes = world.log[0].encoded().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(
        zt_core::OrgState::genesis(LogEntry::decode(&bytes).unwrap()).unwrap_err(),
        EntryFault::BadSignature(_)
    ));
}

#[test]
fn every_agent_statement_maps_to_its_command_and_back() {
    let world = busy();
    for entry in &world.log {
        match zt_core::Command::from_entry(entry.clone()) {
            Some(command) => {
                assert_eq!(command.kind(), entry.kind());
                assert_eq!(command.entry(), Some(entry));
            }
            None => assert!(matches!(
                entry.kind(),
                zt_core::StatementKind::EpochStart | zt_core::StatementKind::SetRole
            )),
        }
    }
}

#[test]
fn the_first_bad_entry_is_named_across_batch_boundaries() {
    let mut world = World::new(13);
    world.set_role(agent(0), Role::Admin).unwrap();
    world.first_key(agent(0)).unwrap();
    let mut n = 1u32;
    while world.log.len() < 2600 {
        let request = world.request(zt_testkit::world::agent_n(n)).unwrap();
        world.approve(agent(0), request).unwrap();
        n += 1;
    }
    for bad in [500, 1023, 1024, 1025, 2100] {
        let mut log = world.log.clone();
        let mut bytes = log[bad].encoded().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        log[bad] = LogEntry::decode(&bytes).unwrap();
        // A second, later bad entry must not hide the first.
        let mut later = log[bad + 300].encoded().to_vec();
        let last = later.len() - 1;
        later[last] ^= 0x20;
        log[bad + 300] = LogEntry::decode(&later).unwrap();
        for mode in MODES {
            let (index, fault) = bad_entry(verify_log_with(&root(&world), &log, mode));
            assert_eq!(index, bad, "{mode:?}");
            assert!(
                matches!(fault, EntryFault::BadSignature(_)),
                "{mode:?}: {fault}"
            );
        }
    }
}

/// A server's load, `part` entries at a time after the first.
fn replay_in_parts(log: &[LogEntry], part: usize, mode: VerifyMode) -> Result<OrgState, LogError> {
    let mut replay = LogReplay::begin(&log[0])?;
    for entries in log[1..].chunks(part) {
        replay = replay.extend(entries, mode)?;
        assert!(replay.len() <= log.len());
    }
    assert_eq!(replay.len(), log.len());
    Ok(replay.finish())
}

#[test]
fn a_replay_in_parts_decides_as_the_whole_replay_does() {
    let world = busy();
    let flipped = |log: &mut Vec<LogEntry>, index: usize| {
        let mut bytes = log[index].encoded().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        log[index] = LogEntry::decode(&bytes).unwrap();
    };
    let mut logs = vec![("untouched", world.log.clone())];
    for index in [1, 4, 9, world.log.len() - 1] {
        let mut log = world.log.clone();
        flipped(&mut log, index);
        logs.push(("a flipped signature bit", log));
    }
    let mut two_bad = world.log.clone();
    flipped(&mut two_bad, 5);
    flipped(&mut two_bad, 6);
    logs.push(("two bad entries in a row", two_bad));
    let mut removed = world.log.clone();
    removed.remove(7);
    logs.push(("a removed entry", removed));
    let mut repeated = world.log.clone();
    repeated.insert(8, repeated[6].clone());
    logs.push(("a repeated entry", repeated));
    for (what, log) in &logs {
        for mode in MODES {
            let whole = OrgState::replay(log, mode);
            if *what == "untouched" {
                assert_eq!(whole.as_ref().ok(), Some(&world.state));
            } else {
                assert!(whole.is_err(), "{what}");
            }
            for part in [1, 2, 3, 5, log.len()] {
                assert_eq!(
                    replay_in_parts(log, part, mode),
                    whole,
                    "{what}, {mode:?}, parts of {part}"
                );
            }
        }
    }
}
