//! Performing one step: the real command on the world, the prediction on the model.

use zt_core::{
    AgentId, Command, Head, KeyId, LogEntry, OrgId, PromptFrequency, PromptPolicy, Role,
};

use super::Runner;
use crate::model::ModelRequest;
use crate::ops::{Forgery, Op, RoleChoice, AGENTS, RECOVERY_OWNER};
use crate::world::{agent, Verdict, World};

impl Runner {
    /// Performs `op`: `None` if it cannot be expressed in this world yet, else whether the
    /// model expected acceptance and whether zt-core accepted.
    pub(super) fn run(&mut self, op: &Op) -> Result<Option<(bool, bool)>, String> {
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
                let verdict = if *code_matched {
                    Verdict::Approve
                } else {
                    Verdict::WrongCode
                };
                let command = world.build_judgement(approver, request, verdict);
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
                let command = world.build_judgement(approver, request, Verdict::Reject);
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
                let Some(command) = Command::from_entry(world.log[index].clone()) else {
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
                let verdict = if *code_matched {
                    Verdict::Approve
                } else {
                    Verdict::WrongCode
                };
                world.build_judgement(pick_agent(*approver), request, verdict)
            }
            Op::Reject { approver, request } => {
                let request = pick(&world.requests, *request)?.0;
                world.build_judgement(pick_agent(*approver), request, Verdict::Reject)
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
}

/// Flips one bit of the signature (or of the signed bytes) and decodes the result again:
/// `None` if it no longer decodes.
fn flip(command: Command, bit: u16, in_signature: bool) -> Option<Command> {
    let entry = command.entry()?;
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
