//! The rules an entry must meet at its position (spec §6). Read-only: nothing here changes
//! the state, and signatures are listed, not verified, so that the log verifier can batch
//! them and the server can verify them strictly.

use super::{AgentRecord, OrgState, RegistrationFate, RequestState, VerifiedEntry};
use crate::crypto::{verify_all, Signature, SignatureCheck, SigningPublicKey, VerifyMode};
use crate::error::{EntryFault, RuleViolation, SignatureRole};
use crate::ids::{AgentId, KeyId};
use crate::policy::Role;
use crate::statement::{EpochReason, Judgement, LogEntry, Statement, StatementKind};

/// A signature an entry must carry: who must have made it, over what.
#[derive(Debug)]
pub(crate) struct Obligation {
    pub(crate) check: SignatureCheck,
    pub(crate) role: SignatureRole,
}

/// The two signatures of an epoch start: by the authorizing host key, and the new host
/// key's proof of possession (spec §4.5).
pub(crate) fn epoch_start_signatures(
    entry: &LogEntry,
    authorizer: &SigningPublicKey,
    new_host: &SigningPublicKey,
) -> Vec<Obligation> {
    let mut obligations = vec![authorization(entry, *authorizer)];
    obligations.push(possession(entry, *new_host));
    obligations
}

fn authorization(entry: &LogEntry, key: SigningPublicKey) -> Obligation {
    Obligation {
        check: SignatureCheck {
            key,
            message: entry.authorization_message(),
            signature: *entry.authorization(),
        },
        role: SignatureRole::Authorization,
    }
}

/// The proof-of-possession obligation. Decoding and the builders guarantee that the kinds
/// needing one carry one; if an entry ever lacked it, the all-zero signature put in its place
/// can never verify (its R has small order), so the check fails instead of being skipped.
fn possession(entry: &LogEntry, key: SigningPublicKey) -> Obligation {
    Obligation {
        check: SignatureCheck {
            key,
            message: entry.possession_message(),
            signature: entry
                .possession()
                .copied()
                .unwrap_or(Signature::from_bytes([0; 64])),
        },
        role: SignatureRole::Possession,
    }
}

/// Verifies every obligation with `verify_strict` (spec §3.4).
pub(crate) fn verify_strict(obligations: &[Obligation]) -> Result<(), EntryFault> {
    for obligation in obligations {
        if !obligation
            .check
            .key
            .verify_strict(&obligation.check.message, &obligation.check.signature)
        {
            return Err(EntryFault::BadSignature(obligation.role));
        }
    }
    Ok(())
}

/// Verifies many entries' obligations in `mode`; on failure, the index of the first
/// obligation that fails.
pub(crate) fn verify_obligations(
    obligations: Vec<Obligation>,
    mode: VerifyMode,
) -> Result<(), usize> {
    let checks: Vec<SignatureCheck> = obligations.into_iter().map(|o| o.check).collect();
    verify_all(&checks, mode)
}

impl OrgState {
    /// Checks an entry completely against this state (position, rules, strict signatures)
    /// and returns the token that [`OrgState::apply`] takes (spec §5, §6).
    pub fn verify_entry(&self, entry: LogEntry) -> Result<VerifiedEntry, EntryFault> {
        let obligations = self.check(&entry)?;
        verify_strict(&obligations)?;
        Ok(VerifiedEntry { entry })
    }

    /// Checks an entry's position and rules against this state, and lists the signatures it
    /// must carry. Verifies no signature.
    pub(crate) fn check(&self, entry: &LogEntry) -> Result<Vec<Obligation>, EntryFault> {
        self.check_position(entry)?;
        let kind = entry.kind();
        // §6.4: before the epoch's first key, only roles, the first key or a reset.
        if self.root.is_none()
            && !matches!(
                kind,
                StatementKind::SetRole | StatementKind::FirstKey | StatementKind::EpochStart
            )
        {
            return Err(RuleViolation::NoFirstKeyYet.into());
        }
        let signer = match entry.statement() {
            Statement::EpochStart(start) => {
                // §6.10: after creation, an epoch starts only as a reset by the host.
                if start.reason != EpochReason::Reset {
                    return Err(RuleViolation::InvalidEpochStart.into());
                }
                return Ok(epoch_start_signatures(
                    entry,
                    &self.host_key,
                    &start.host_key,
                ));
            }
            Statement::SetRole(set) => {
                // §6.2
                if self.role(set.agent) == set.role {
                    return Err(RuleViolation::RoleUnchanged.into());
                }
                if !set.role.can_approve() && !set.forced && self.is_last_active_approver(set.agent)
                {
                    return Err(RuleViolation::LastApprover.into());
                }
                self.host_key
            }
            Statement::FirstKey(first) => {
                // §6.4: exactly one first key per epoch, never a second one.
                if self.root.is_some() {
                    return Err(RuleViolation::FirstKeyExists.into());
                }
                self.check_not_removed(first.agent)?;
                self.check_unused(first.key.key_id())?;
                first.key.signing
            }
            Statement::KeyRequest(request) => {
                // §6.5
                self.check_not_removed(request.agent)?;
                if self.requests.contains_key(&request.request) {
                    return Err(RuleViolation::IdReused.into());
                }
                self.check_unused(request.key.key_id())?;
                request.key.signing
            }
            Statement::Approval(judgement)
            | Statement::Rejection(judgement)
            | Statement::CodeMismatch(judgement) => self.check_judgement(judgement)?,
            Statement::KeyChange(change) => {
                // §6.7
                self.check_not_removed(change.agent)?;
                let old = self.active_signing_key(change.agent, change.old_key)?;
                self.check_unused(change.new_key.key_id())?;
                let mut obligations = vec![authorization(entry, old)];
                obligations.push(possession(entry, change.new_key.signing));
                return Ok(obligations);
            }
            Statement::Revocation(revocation) => {
                // §6.8
                self.active_signing_key(revocation.subject, revocation.key)?;
                if revocation.revoker != revocation.subject {
                    self.check_approver(revocation.revoker)?;
                }
                let signer = self.active_signing_key(revocation.revoker, revocation.revoker_key)?;
                if !revocation.forced && self.is_last_active_approver(revocation.subject) {
                    return Err(RuleViolation::LastApprover.into());
                }
                signer
            }
            Statement::RecoveryRegistration(registration) => {
                // §6.9
                self.check_not_removed(registration.agent)?;
                let signer = self.active_signing_key(registration.agent, registration.key)?;
                if self.registrations.contains_key(&registration.registration) {
                    return Err(RuleViolation::IdReused.into());
                }
                let mut obligations = vec![authorization(entry, signer)];
                obligations.push(possession(entry, registration.recovery_signing));
                return Ok(obligations);
            }
            Statement::RecoveryReset(reset) => {
                // §6.9
                self.check_not_removed(reset.agent)?;
                let recovery_key = self.current_recovery_key(reset.agent, reset)?;
                self.active_signing_key(reset.agent, reset.old_key)?;
                self.check_unused(reset.new_key.key_id())?;
                let mut obligations = vec![authorization(entry, recovery_key)];
                obligations.push(possession(entry, reset.new_key.signing));
                return Ok(obligations);
            }
            Statement::PromptPolicy(change) => {
                // §6.11
                self.check_approver(change.admin)?;
                let signer = self.active_signing_key(change.admin, change.admin_key)?;
                if change.policy == self.policy {
                    return Err(RuleViolation::PolicyUnchanged.into());
                }
                signer
            }
        };
        Ok(vec![authorization(entry, signer)])
    }

    /// §5.1: organization, sequence, chain and epoch.
    fn check_position(&self, entry: &LogEntry) -> Result<(), EntryFault> {
        let header = entry.header();
        if header.org != self.org {
            return Err(EntryFault::WrongOrganization {
                expected: self.org,
                found: header.org,
            });
        }
        if header.seq < self.next_seq {
            return Err(EntryFault::SequenceTaken {
                expected: self.next_seq,
                found: header.seq,
            });
        }
        if header.seq > self.next_seq {
            return Err(EntryFault::SequenceGap {
                expected: self.next_seq,
                found: header.seq,
            });
        }
        if header.prev != self.last_hash {
            return Err(EntryFault::BrokenChain);
        }
        let expected = if entry.kind() == StatementKind::EpochStart {
            self.epoch.next().unwrap_or(self.epoch)
        } else {
            self.epoch
        };
        if header.epoch != expected {
            return Err(EntryFault::WrongEpoch {
                expected,
                found: header.epoch,
            });
        }
        Ok(())
    }

    /// §6.6: approve, reject, report a code: an approver with an active key, judging a pending,
    /// unlocked request of someone else, named exactly.
    fn check_judgement(&self, judgement: &Judgement) -> Result<SigningPublicKey, EntryFault> {
        let request = self
            .requests
            .get(&judgement.request)
            .ok_or(RuleViolation::UnknownRequest)?;
        if request.state != RequestState::Pending {
            return Err(RuleViolation::RequestNotPending.into());
        }
        if request.is_locked() {
            return Err(RuleViolation::RequestLocked.into());
        }
        if judgement.request_hash != request.entry_hash
            || judgement.subject != request.agent
            || judgement.subject_key != request.key
        {
            return Err(RuleViolation::RequestMismatch.into());
        }
        if judgement.approver == judgement.subject {
            return Err(RuleViolation::SelfApproval.into());
        }
        self.check_approver(judgement.approver)?;
        self.active_signing_key(judgement.approver, judgement.approver_key)
    }

    fn record(&self, agent: AgentId) -> Option<&AgentRecord> {
        self.agents.get(&agent)
    }

    fn check_not_removed(&self, agent: AgentId) -> Result<(), EntryFault> {
        if self.role(agent) == Role::Removed {
            return Err(RuleViolation::AgentRemoved.into());
        }
        Ok(())
    }

    fn check_approver(&self, agent: AgentId) -> Result<(), EntryFault> {
        if !self.role(agent).can_approve() {
            return Err(RuleViolation::NotAnApprover.into());
        }
        Ok(())
    }

    /// §6.3: terminal states never come back, so a key registers once per epoch.
    fn check_unused(&self, key: KeyId) -> Result<(), EntryFault> {
        if self.keys.contains_key(&key) {
            return Err(RuleViolation::KeyReused.into());
        }
        Ok(())
    }

    /// The agent's active key, which must be `key`.
    fn active_signing_key(
        &self,
        agent: AgentId,
        key: KeyId,
    ) -> Result<SigningPublicKey, EntryFault> {
        let active = self
            .record(agent)
            .and_then(|record| record.active_key)
            .ok_or(RuleViolation::NoActiveKey)?;
        if active != key {
            return Err(RuleViolation::NotActiveKey.into());
        }
        self.keys
            .get(&key)
            .map(|info| info.record.signing)
            .ok_or_else(|| RuleViolation::NoActiveKey.into())
    }

    /// True if `agent` is an approver with an active key and no other approver has one.
    fn is_last_active_approver(&self, agent: AgentId) -> bool {
        let holds = |agent: &AgentId| {
            self.record(*agent)
                .is_some_and(|record| record.active_key.is_some())
        };
        self.approvers.contains(&agent)
            && holds(&agent)
            && !self
                .approvers
                .iter()
                .any(|other| *other != agent && holds(other))
    }

    /// §6.9: the recovery key of the agent's current registration, or why there is none.
    fn current_recovery_key(
        &self,
        agent: AgentId,
        reset: &crate::statement::RecoveryReset,
    ) -> Result<SigningPublicKey, EntryFault> {
        match self.registrations.get(&reset.registration) {
            Some((owner, _)) if *owner != agent => Err(RuleViolation::NoRecovery.into()),
            Some((_, RegistrationFate::Replaced)) => Err(RuleViolation::RecoveryReplaced.into()),
            Some((_, RegistrationFate::Spent)) => Err(RuleViolation::RecoverySpent.into()),
            Some((_, RegistrationFate::Current)) => self
                .record(agent)
                .and_then(|record| record.recovery)
                .filter(|info| info.registration == reset.registration)
                .map(|info| info.signing)
                .ok_or_else(|| RuleViolation::NoRecovery.into()),
            None => Err(RuleViolation::NoRecovery.into()),
        }
    }
}
