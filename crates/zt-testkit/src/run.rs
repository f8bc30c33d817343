//! Runs a sequence of operations against zt-core and the reference model side by side, and
//! checks the properties of DESIGN.md §6 after every step.

use std::collections::{BTreeMap, BTreeSet};

use zt_core::{
    verify_log_with, AgentId, Command, Head, KeyId, KeyStatus, LogEntry, OrgId, OrgState,
    PromptFrequency, PromptPolicy, Role, Statement, StatementKind, VerifyMode,
};

use crate::model::{Model, ModelRequest};
use crate::ops::{Forgery, Op, RoleChoice, AGENTS, RECOVERY_OWNER};
use crate::world::{agent, World};

/// What a sequence did, for reports and for checking that tests exercise something.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// (accepted, refused) per kind of step.
    pub by_kind: BTreeMap<&'static str, (usize, usize)>,
    /// Steps accepted by zt-core.
    pub accepted: usize,
    /// Steps refused by zt-core (and by the model).
    pub refused: usize,
    /// Hostile steps (all refused).
    pub hostile: usize,
    /// Log verifications compared with the state.
    pub log_checks: usize,
}

/// Runs `ops` on a fresh organization seeded with `seed`; `Err` describes the first
/// property that broke.
pub fn check_sequence(seed: u64, ops: &[Op]) -> Result<Stats, String> {
    let mut runner = Runner::new(seed);
    for (index, op) in ops.iter().enumerate() {
        runner
            .step(op)
            .map_err(|problem| format!("step {index} {op:?}: {problem}"))?;
        if index % 10 == 9 {
            runner.check_log()?;
        }
    }
    runner.check_log()?;
    Ok(runner.stats)
}

impl Stats {
    /// Adds another sequence's counts.
    pub fn add(&mut self, other: &Stats) {
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.hostile += other.hostile;
        self.log_checks += other.log_checks;
        for (kind, (accepted, refused)) in &other.by_kind {
            let counts = self.by_kind.entry(kind).or_default();
            counts.0 += accepted;
            counts.1 += refused;
        }
    }
}

/// The name of a step's kind.
pub fn op_name(op: &Op) -> &'static str {
    match op {
        Op::SetRole { .. } => "set-role",
        Op::FirstKey { .. } => "first-key",
        Op::Request { .. } => "request",
        Op::Judge {
            code_matched: true, ..
        } => "approve",
        Op::Judge {
            code_matched: false,
            ..
        } => "wrong-code",
        Op::WrongCodes { .. } => "wrong-codes",
        Op::Rekey { .. } => "rekey",
        Op::Reject { .. } => "reject",
        Op::Change { .. } => "change",
        Op::Revoke { .. } => "revoke",
        Op::RegisterRecovery { .. } => "register-recovery",
        Op::RecoveryReset { .. } => "recovery-reset",
        Op::SetPolicy { .. } => "set-policy",
        Op::ResetOrganization => "reset-organization",
        Op::Forge { .. } => "forged",
        Op::ReuseKey { .. } => "reuse-key",
        Op::ApproveSubstituted { .. } => "approve-substituted",
        Op::Replay { .. } => "replay",
        Op::Tick { .. } => "tick",
    }
}

/// zt-core and the model, in step.
#[derive(Debug)]
pub struct Runner {
    /// The real organization.
    pub world: World,
    /// The reference model.
    pub model: Model,
    /// Counts.
    pub stats: Stats,
    /// Every key status ever seen, to check that terminal states never change.
    history: BTreeMap<(u32, KeyId), KeyStatus>,
}

impl Runner {
    /// A fresh organization.
    pub fn new(seed: u64) -> Runner {
        Runner {
            world: World::new(seed),
            model: Model::default(),
            stats: Stats::default(),
            history: BTreeMap::new(),
        }
    }

    /// Runs one step and checks every property.
    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        if let Op::WrongCodes {
            approver,
            request,
            count,
        } = op
        {
            // The same pick resolves to the same request each time: judgements add none.
            let judge = Op::Judge {
                approver: *approver,
                request: *request,
                code_matched: false,
            };
            for _ in 0..(*count).max(1) {
                self.step(&judge)?;
            }
            return Ok(());
        }
        if let Op::Rekey {
            agent,
            approver,
            reject,
        } = op
        {
            // `request: 2` picks the most recent request: the one just made.
            self.step(&Op::Request { agent: *agent })?;
            let (approver, request) = (*approver, 2);
            return self.step(&if *reject {
                Op::Reject { approver, request }
            } else {
                Op::Judge {
                    approver,
                    request,
                    code_matched: true,
                }
            });
        }
        let before = self.world.state.clone();
        let log_len = self.world.log.len();
        let Some((expected, accepted)) = self.run(op)? else {
            return Ok(());
        };
        let counts = self.stats.by_kind.entry(op_name(op)).or_default();
        if accepted {
            counts.0 += 1;
            self.stats.accepted += 1;
        } else {
            counts.1 += 1;
            self.stats.refused += 1;
            if self.world.state != before || self.world.log.len() != log_len {
                return Err("a refused command changed the state".into());
            }
        }
        if expected != accepted {
            return Err(format!(
                "model expected accepted={expected}, zt-core said accepted={accepted}"
            ));
        }
        self.check_properties(&before)
    }

    /// Performs `op`: `None` if it cannot be expressed in this world yet, else whether the
    /// model expected acceptance and whether zt-core accepted.
    fn run(&mut self, op: &Op) -> Result<Option<(bool, bool)>, String> {
        let owner = self.world.registrations.last().map(|(agent, _)| *agent);
        let pick_agent = |index| resolve_agent(index, owner);
        let world = &mut self.world;
        let model = &mut self.model;
        Ok(Some(match op {
            Op::SetRole {
                agent: a,
                role,
                force,
            } => {
                let (a, role) = (pick_agent(*a), role_of(*role));
                let expected = model.allows_set_role(a, role, *force);
                let accepted = world
                    .submit(Command::SetRole {
                        agent: a,
                        role,
                        force: *force,
                    })
                    .is_ok();
                if accepted {
                    model.set_role(a, role);
                }
                (expected, accepted)
            }
            Op::FirstKey { agent: a } => {
                let a = pick_agent(*a);
                let expected = model.allows_first_key(a);
                let (key, command) = world.build_first_key(a);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    model.has_first_key = true;
                    model.active.insert(a, key);
                    model.used_keys.insert(key);
                }
                (expected, accepted)
            }
            Op::Request { agent: a } => {
                let a = pick_agent(*a);
                let expected = model.can_act(a);
                let (request, command) = world.build_request(a);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    model.close_pending(a);
                    let key = world.requested_key(request).ok_or("request without key")?;
                    model.requests.insert(
                        request,
                        ModelRequest {
                            agent: a,
                            key,
                            open: true,
                            wrong_codes: 0,
                        },
                    );
                    model.pending.insert(a, request);
                    model.used_keys.insert(key);
                }
                (expected, accepted)
            }
            Op::Judge {
                approver,
                request,
                code_matched,
            } => {
                let Some(request) = pick(&world.requests, *request).map(|(id, _)| *id) else {
                    return Ok(None);
                };
                let approver = pick_agent(*approver);
                let expected = model.allows_judgement(approver, request);
                let command = world.build_judgement(approver, request, *code_matched, false);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    let info = model
                        .requests
                        .get_mut(&request)
                        .ok_or("judged an unknown request")?;
                    if *code_matched {
                        info.open = false;
                        let (subject, key) = (info.agent, info.key);
                        model.pending.remove(&subject);
                        model.active.insert(subject, key);
                    } else {
                        info.wrong_codes += 1;
                    }
                }
                (expected, accepted)
            }
            Op::ReuseKey { agent: a, key } => {
                let a = pick_agent(*a);
                let keys: Vec<KeyId> = world.state.keys().map(|(id, _)| id).collect();
                let Some(key) = pick(&keys, *key).copied() else {
                    return Ok(None);
                };
                self.stats.hostile += 1;
                let command = world.build_request_with_key(a, key);
                let expected = model.can_act(a) && !model.used_keys.contains(&key);
                (expected, world.submit(command).is_ok())
            }
            Op::Reject { approver, request } => {
                let Some(request) = pick(&world.requests, *request).map(|(id, _)| *id) else {
                    return Ok(None);
                };
                let approver = pick_agent(*approver);
                let expected = model.allows_judgement(approver, request);
                let command = world.build_judgement(approver, request, true, true);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    let info = model
                        .requests
                        .get_mut(&request)
                        .ok_or("rejected an unknown request")?;
                    info.open = false;
                    let subject = info.agent;
                    model.pending.remove(&subject);
                }
                (expected, accepted)
            }
            Op::Change { agent: a } => {
                let a = pick_agent(*a);
                let expected = model.can_act(a) && model.active.contains_key(&a);
                let (key, command) = world.build_change(a);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    model.active.insert(a, key);
                    model.used_keys.insert(key);
                }
                (expected, accepted)
            }
            Op::Revoke {
                revoker,
                subject,
                force,
            } => {
                let (revoker, subject) = (pick_agent(*revoker), pick_agent(*subject));
                let expected = model.allows_revocation(revoker, subject, *force);
                let command = world.build_revocation(revoker, subject, *force);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    model.active.remove(&subject);
                    model.recovery.remove(&subject);
                }
                (expected, accepted)
            }
            Op::RegisterRecovery { agent: a } => {
                let a = pick_agent(*a);
                let expected = model.can_act(a) && model.active.contains_key(&a);
                let (index, command) = world.build_recovery_registration(a);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    let registration = world.registration_id(index);
                    model.recovery.insert(a, registration);
                    model.known_registrations.insert(registration);
                }
                (expected, accepted)
            }
            Op::RecoveryReset {
                agent: a,
                registration,
            } => {
                let a = pick_agent(*a);
                let Some(index) = pick_registration(world, a, *registration) else {
                    return Ok(None);
                };
                let (owner, registration) =
                    (world.registrations[index].0, world.registration_id(index));
                let expected = model.can_act(a)
                    && model.active.contains_key(&a)
                    && owner == a
                    && model.recovery.get(&a) == Some(&registration);
                let (key, command) = world.build_recovery_reset(a, index);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    model.active.insert(a, key);
                    model.recovery.remove(&a);
                    model.used_keys.insert(key);
                }
                (expected, accepted)
            }
            Op::SetPolicy { admin, bits } => {
                let admin = pick_agent(*admin);
                let policy = policy_of(*bits);
                let current = model.policy.unwrap_or(PromptPolicy::ALL);
                let expected = model.has_first_key
                    && matches!(model.role(admin), Role::Admin | Role::SuperAdmin)
                    && model.active.contains_key(&admin)
                    && policy != current;
                let command = world.build_policy(admin, policy);
                let accepted = world.submit(command).is_ok();
                if accepted {
                    model.policy = Some(policy);
                }
                (expected, accepted)
            }
            Op::ResetOrganization => {
                let closing = (world.state.trust_root(), world.epoch_start);
                let accepted = world.reset_organization().is_ok();
                if accepted {
                    model.reset();
                    self.check_closed_epoch(closing.0, closing.1)?;
                }
                (true, accepted)
            }
            Op::WrongCodes { .. } | Op::Rekey { .. } => return Ok(None),
            Op::Forge { op, how } => {
                let Some(command) = self.forge(op, *how) else {
                    return Ok(None);
                };
                self.stats.hostile += 1;
                let accepted = match command {
                    Some(command) => self.world.submit(command).is_ok(),
                    None => false, // refused at decoding
                };
                (false, accepted)
            }
            Op::ApproveSubstituted { approver, request } => {
                let Some(request) = pick(&world.requests, *request).map(|(id, _)| *id) else {
                    return Ok(None);
                };
                self.stats.hostile += 1;
                let command = world.build_substituted_approval(pick_agent(*approver), request);
                (false, world.submit(command).is_ok())
            }
            Op::Replay { entry } => {
                let index = usize::from(*entry) % world.log.len();
                let Some(command) = command_for(world.log[index].clone()) else {
                    return Ok(None);
                };
                self.stats.hostile += 1;
                (false, world.submit(command).is_ok())
            }
            Op::Tick { seconds } => {
                world.now = world.now.plus(u64::from(*seconds));
                return Ok(None);
            }
        }))
    }

    /// An honest step made hostile: `None` if the step has no agent-signed entry to
    /// corrupt; `Some(None)` if the corruption does not even decode.
    fn forge(&mut self, op: &Op, how: Forgery) -> Option<Option<Command>> {
        let head = self.world.state.head();
        let previous = self
            .world
            .log
            .len()
            .checked_sub(2)
            .map(|i| self.world.log[i].hash());
        let (head, time) = match how {
            Forgery::OtherOrganization => (
                Some(Head {
                    org: OrgId::from_bytes([0xee; 16]),
                    ..head
                }),
                None,
            ),
            Forgery::NextEpoch => (
                Some(Head {
                    epoch: head.epoch.next()?,
                    ..head
                }),
                None,
            ),
            Forgery::StaleHead => {
                let seq = zt_core::Seq(head.next_seq.0.checked_sub(1)?);
                (
                    Some(Head {
                        next_seq: seq,
                        prev: previous?,
                        ..head
                    }),
                    None,
                )
            }
            Forgery::WrongPrev => (
                Some(Head {
                    prev: zt_core::EntryHash::from_bytes([0x5a; 32]),
                    ..head
                }),
                None,
            ),
            Forgery::ClockSkew => (None, Some(self.world.now.plus(3600))),
            Forgery::FlipSignatureBit(_) | Forgery::FlipSignedBit(_) => (None, None),
        };
        self.world.override_position(head, time);
        let command = self.build_only(op);
        self.world.override_position(None, None);
        let command = command?;
        Some(match how {
            Forgery::FlipSignatureBit(bit) => flip(command, bit, true),
            Forgery::FlipSignedBit(bit) => flip(command, bit, false),
            _ => Some(command),
        })
    }

    /// The signed command of an agent step, without submitting it.
    fn build_only(&mut self, op: &Op) -> Option<Command> {
        let owner = self.world.registrations.last().map(|(agent, _)| *agent);
        let pick_agent = |index| resolve_agent(index, owner);
        let world = &mut self.world;
        Some(match op {
            Op::FirstKey { agent: a } => world.build_first_key(pick_agent(*a)).1,
            Op::Request { agent: a } => world.build_request(pick_agent(*a)).1,
            Op::Judge {
                approver,
                request,
                code_matched,
            } => {
                let request = pick(&world.requests, *request)?.0;
                world.build_judgement(pick_agent(*approver), request, *code_matched, false)
            }
            Op::Reject { approver, request } => {
                let request = pick(&world.requests, *request)?.0;
                world.build_judgement(pick_agent(*approver), request, true, true)
            }
            Op::Change { agent: a } => world.build_change(pick_agent(*a)).1,
            Op::Revoke {
                revoker,
                subject,
                force,
            } => world.build_revocation(pick_agent(*revoker), pick_agent(*subject), *force),
            Op::RegisterRecovery { agent: a } => {
                world.build_recovery_registration(pick_agent(*a)).1
            }
            Op::RecoveryReset {
                agent: a,
                registration,
            } => {
                let a = pick_agent(*a);
                let index = pick_registration(world, a, *registration)?;
                world.build_recovery_reset(a, index).1
            }
            Op::SetPolicy { admin, bits } => {
                world.build_policy(pick_agent(*admin), policy_of(*bits))
            }
            _ => return None,
        })
    }

    /// DESIGN.md §6, properties 1 to 3, and the model's view, after a step.
    fn check_properties(&mut self, before: &OrgState) -> Result<(), String> {
        let state = &self.world.state;
        // §6.1: at most one active key per agent.
        let mut active_per_agent: BTreeMap<AgentId, usize> = BTreeMap::new();
        for (_, info) in state.keys() {
            if matches!(info.status, KeyStatus::Active(_)) {
                *active_per_agent.entry(info.agent).or_default() += 1;
            }
        }
        if let Some((agent, count)) = active_per_agent.iter().find(|(_, n)| **n > 1) {
            return Err(format!("agent {agent} has {count} active keys"));
        }
        // The model and the state agree on who holds which key.
        if state.active_keys() != self.model.active {
            return Err(format!(
                "active keys differ: state {:?}, model {:?}",
                state.active_keys(),
                self.model.active
            ));
        }
        // §6.1: exactly one first key per epoch.
        let first_keys = self
            .world
            .epoch_log()
            .iter()
            .filter(|entry| entry.kind() == StatementKind::FirstKey)
            .count();
        if first_keys != usize::from(self.model.has_first_key) {
            return Err(format!("{first_keys} first keys in this epoch"));
        }
        // §6.3: terminal states never change.
        let epoch = state.epoch().0;
        for (key, info) in state.keys() {
            if let Some(old) = self.history.get(&(epoch, key)) {
                if old.is_terminal() && *old != info.status {
                    return Err(format!(
                        "key {key} left terminal state {old:?} for {:?}",
                        info.status
                    ));
                }
            }
            self.history.insert((epoch, key), info.status);
        }
        // §6.2 and §6.3: a key became active only by one of the four paths, each checked
        // against the state before the step.
        if let Some(entry) = self
            .world
            .log
            .last()
            .filter(|_| state.head().next_seq != before.head().next_seq)
        {
            check_activation(before, state, entry)?;
        }
        Ok(())
    }

    /// §6.4: replaying the current epoch's log from its root, offline, gives the state.
    pub fn check_log(&mut self) -> Result<(), String> {
        let Some(root) = self.world.state.trust_root() else {
            return Ok(());
        };
        for mode in [VerifyMode::Batch, VerifyMode::Strict] {
            let verified = verify_log_with(&root, self.world.epoch_log(), mode)
                .map_err(|error| format!("the server's own log fails verification: {error}"))?;
            let state = verified.state();
            let mine = &self.world.state;
            if verified.active_keys() != mine.active_keys()
                || state.keys().collect::<Vec<_>>() != mine.keys().collect::<Vec<_>>()
                || state.pending_requests().collect::<Vec<_>>()
                    != mine.pending_requests().collect::<Vec<_>>()
                || state.prompt_policy() != mine.prompt_policy()
                || state.head() != mine.head()
            {
                return Err(format!("log replay ({mode:?}) and state machine disagree"));
            }
        }
        self.stats.log_checks += 1;
        Ok(())
    }

    /// After a reset: the old epoch's log, from its root, verifies as closed with no keys.
    fn check_closed_epoch(
        &mut self,
        root: Option<zt_core::TrustRoot>,
        start: usize,
    ) -> Result<(), String> {
        let Some(root) = root else { return Ok(()) };
        let end = self.world.epoch_start + 1;
        let verified = zt_core::verify_log(&root, &self.world.log[start..end])
            .map_err(|error| format!("closed epoch fails verification: {error}"))?;
        if verified.closed_at().is_none() || !verified.active_keys().is_empty() {
            return Err("a reset did not close the previous epoch".into());
        }
        self.stats.log_checks += 1;
        Ok(())
    }
}

/// §6.2, §6.3: a key becomes active only as the epoch's first key, by an approval from
/// another agent's active approver key, by a change signed by the agent's active key, or by
/// a reset signed by the agent's registered recovery key. Checked against the state before.
fn check_activation(before: &OrgState, after: &OrgState, entry: &LogEntry) -> Result<(), String> {
    let old: BTreeSet<KeyId> = before.active_keys().into_values().collect();
    let newly: Vec<KeyId> = after
        .active_keys()
        .into_values()
        .filter(|key| !old.contains(key))
        .collect();
    if newly.is_empty() {
        return Ok(());
    }
    if newly.len() > 1 {
        return Err("one entry activated two keys".into());
    }
    match entry.statement() {
        Statement::FirstKey(_) if before.root().is_none() => Ok(()),
        Statement::Approval(judgement) => {
            let approver_key = before.active_key(judgement.approver).map(|(key, _)| key);
            if judgement.approver == judgement.subject {
                Err("self-approval accepted".into())
            } else if !before.role(judgement.approver).can_approve() {
                Err(format!("approval by a {}", before.role(judgement.approver)))
            } else if approver_key != Some(judgement.approver_key) {
                Err("approval by a key that is not the approver's active key".into())
            } else {
                Ok(())
            }
        }
        Statement::KeyChange(change) => match before.active_key(change.agent) {
            Some((key, _)) if key == change.old_key => Ok(()),
            _ => Err("key change not signed by the active key".into()),
        },
        Statement::RecoveryReset(reset) => match before.recovery(reset.agent) {
            Some(info) if info.registration == reset.registration => Ok(()),
            _ => Err("recovery reset without the current registration".into()),
        },
        _ => Err(format!("a {} statement activated a key", entry.kind())),
    }
}

/// The command that carries an entry of this kind, for replays.
pub fn command_for(entry: LogEntry) -> Option<Command> {
    Some(match entry.kind() {
        StatementKind::FirstKey => Command::CreateFirstKey(entry),
        StatementKind::KeyRequest => Command::RequestKey(entry),
        StatementKind::Approval => Command::Approve(entry),
        StatementKind::Rejection => Command::Reject(entry),
        StatementKind::CodeMismatch => Command::ReportWrongCode(entry),
        StatementKind::KeyChange => Command::ChangeKey(entry),
        StatementKind::Revocation => Command::Revoke(entry),
        StatementKind::RecoveryRegistration => Command::RegisterRecovery(entry),
        StatementKind::RecoveryReset => Command::ResetWithRecovery(entry),
        StatementKind::PromptPolicy => Command::SetPromptPolicy(entry),
        _ => return None,
    })
}

/// The entry a command carries (host commands carry none).
pub fn command_entry(command: &Command) -> Option<&LogEntry> {
    match command {
        Command::CreateFirstKey(entry)
        | Command::RequestKey(entry)
        | Command::Approve(entry)
        | Command::Reject(entry)
        | Command::ReportWrongCode(entry)
        | Command::ChangeKey(entry)
        | Command::Revoke(entry)
        | Command::RegisterRecovery(entry)
        | Command::ResetWithRecovery(entry)
        | Command::SetPromptPolicy(entry) => Some(entry),
        _ => None,
    }
}

/// The entry an agent command carries.
pub fn entry_of(command: &Command) -> &LogEntry {
    command_entry(command).expect("an agent command")
}

/// Flips one bit of the signature (or of the signed bytes) and decodes the result again:
/// `None` if it no longer decodes.
fn flip(command: Command, bit: u16, in_signature: bool) -> Option<Command> {
    let entry = command_entry(&command)?;
    let signed = entry.signed_bytes().len();
    let mut bytes = entry.encoded().to_vec();
    let (start, len) = if in_signature {
        (signed, bytes.len() - signed)
    } else {
        (0, signed)
    };
    let bit = usize::from(bit) % (len * 8);
    bytes[start + bit / 8] ^= 1 << (bit % 8);
    let forged = LogEntry::decode(&bytes).ok()?;
    // Keep the command's own kind even if the flip changed the kind byte.
    Some(match command {
        Command::CreateFirstKey(_) => Command::CreateFirstKey(forged),
        Command::RequestKey(_) => Command::RequestKey(forged),
        Command::Approve(_) => Command::Approve(forged),
        Command::Reject(_) => Command::Reject(forged),
        Command::ReportWrongCode(_) => Command::ReportWrongCode(forged),
        Command::ChangeKey(_) => Command::ChangeKey(forged),
        Command::Revoke(_) => Command::Revoke(forged),
        Command::RegisterRecovery(_) => Command::RegisterRecovery(forged),
        Command::ResetWithRecovery(_) => Command::ResetWithRecovery(forged),
        Command::SetPromptPolicy(_) => Command::SetPromptPolicy(forged),
        other => other,
    })
}

/// Resolves an agent index: [`RECOVERY_OWNER`] is the owner of the most recent recovery
/// registration (agent 0 if there is none); other values count modulo [`AGENTS`].
fn resolve_agent(index: u8, recovery_owner: Option<AgentId>) -> AgentId {
    match (index, recovery_owner) {
        (RECOVERY_OWNER, Some(owner)) => owner,
        _ => agent(index % AGENTS),
    }
}

/// One of the items, mostly one of the last four (so that steps pile up on the same
/// request: five wrong codes, then an approval).
fn pick<T>(items: &[T], index: u8) -> Option<&T> {
    if items.is_empty() {
        return None;
    }
    let index = usize::from(index);
    let back = match index % 4 {
        0 => index / 4 % items.len(),
        1 => index / 4 % items.len().min(4),
        _ => 0,
    };
    items.get(items.len() - 1 - back)
}

/// A registration for `agent`: mostly one of theirs, sometimes anyone's.
fn pick_registration(world: &World, agent: AgentId, index: u8) -> Option<usize> {
    let own: Vec<usize> = (0..world.registrations.len())
        .filter(|i| world.registrations[*i].0 == agent)
        .collect();
    if own.is_empty() || index.is_multiple_of(5) {
        pick(
            &(0..world.registrations.len()).collect::<Vec<_>>(),
            index / 5,
        )
        .copied()
    } else {
        pick(&own, index).copied()
    }
}

fn role_of(choice: RoleChoice) -> Role {
    match choice {
        RoleChoice::Member => Role::Member,
        RoleChoice::Admin => Role::Admin,
        RoleChoice::SuperAdmin => Role::SuperAdmin,
        RoleChoice::Removed => Role::Removed,
    }
}

fn policy_of(bits: u8) -> PromptPolicy {
    let mut allowed = Vec::new();
    if bits & 2 != 0 {
        allowed.push(PromptFrequency::Day);
    }
    if bits & 4 != 0 {
        allowed.push(PromptFrequency::Week);
    }
    PromptPolicy::allowing(&allowed)
}
