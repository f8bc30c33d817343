//! The fold: how each verified statement changes the state (spec §6). Infallible by design:
//! everything that could refuse an entry was checked in `check.rs` against the same state.

use std::collections::BTreeMap;

use super::{
    Activation, AgentRecord, KeyInfo, KeyStatus, OrgState, RecoveryInfo, RegistrationFate,
    RejectionReason, RequestInfo, RequestState, RevocationReason, VerifiedEntry,
    MAX_CODE_MISMATCHES,
};
use crate::error::StaleEntry;
use crate::ids::{AgentId, EntryHash, KeyId, Seq, UnixTime};
use crate::keys::PublicKeyRecord;
use crate::policy::Role;
use crate::seal::SealedAccess;
use crate::statement::{LogEntry, Statement};

impl OrgState {
    /// Applies an entry verified against this very state. Refuses (changing nothing) an
    /// entry verified against another head.
    pub fn apply(&mut self, verified: VerifiedEntry) -> Result<(), StaleEntry> {
        let header = verified.entry.header();
        if header.seq != self.next_seq || header.prev != self.last_hash || header.org != self.org {
            return Err(StaleEntry);
        }
        self.apply_checked(&verified.entry);
        Ok(())
    }

    /// Applies an entry whose rules were checked against this state (signatures may still
    /// be pending in a batch; the log verifier discards the state if they fail).
    pub(crate) fn apply_checked(&mut self, entry: &LogEntry) {
        let header = *entry.header();
        let at = (header.seq, header.time);
        match entry.statement() {
            Statement::EpochStart(start) => {
                // §6.10: every key of the epoch is reset. Every agent stays known (the status
                // page lists them), with only their role and whether a reset ended a key.
                let carried: BTreeMap<AgentId, AgentRecord> = self
                    .agents
                    .iter()
                    .map(|(agent, record)| {
                        let held_key =
                            record.active_key.is_some() || record.pending_request.is_some();
                        (
                            *agent,
                            AgentRecord {
                                reset_by_epoch: held_key || record.reset_by_epoch,
                                ..AgentRecord::default()
                            },
                        )
                    })
                    .collect();
                *self = OrgState::empty_epoch(&header, entry.hash(), start, carried);
                return;
            }
            Statement::SetRole(set) => {
                let record = self.agents.entry(set.agent).or_default();
                record.role = Some(set.role);
                if set.role.can_approve() {
                    self.approvers.insert(set.agent);
                } else {
                    self.approvers.remove(&set.agent);
                }
                if set.role == Role::Removed {
                    self.deprovision(set.agent, at);
                }
            }
            Statement::FirstKey(first) => {
                self.root = Some(entry.hash());
                self.register_key(first.agent, first.key, first.sealed_access, at);
                self.activate(first.agent, first.key.key_id(), Activation::FirstKey, at);
            }
            Statement::KeyRequest(request) => {
                let replaced = self
                    .agents
                    .get(&request.agent)
                    .and_then(|record| record.pending_request);
                if let Some(replaced) = replaced {
                    self.close_request(
                        replaced,
                        RequestState::Replaced,
                        RejectionReason::Replaced,
                        at,
                    );
                }
                self.register_key(request.agent, request.key, request.sealed_access, at);
                self.requests.insert(
                    request.request,
                    RequestInfo {
                        agent: request.agent,
                        key: request.key.key_id(),
                        entry_hash: entry.hash(),
                        made: at,
                        mismatches: 0,
                        state: RequestState::Pending,
                    },
                );
                self.agents
                    .entry(request.agent)
                    .or_default()
                    .pending_request = Some(request.request);
            }
            Statement::Approval(judgement) => {
                if let Some(request) = self.requests.get_mut(&judgement.request) {
                    request.state = RequestState::Approved;
                }
                self.agents
                    .entry(judgement.subject)
                    .or_default()
                    .pending_request = None;
                self.revoke_active(judgement.subject, RevocationReason::Superseded, at);
                let activation = Activation::Approved {
                    by: judgement.approver,
                };
                self.activate(judgement.subject, judgement.subject_key, activation, at);
            }
            Statement::Rejection(judgement) => {
                let reason = RejectionReason::RejectedBy(judgement.approver);
                self.close_request(judgement.request, RequestState::Rejected, reason, at);
            }
            Statement::CodeMismatch(judgement) => {
                if let Some(request) = self.requests.get_mut(&judgement.request) {
                    request.mismatches = request
                        .mismatches
                        .saturating_add(1)
                        .min(MAX_CODE_MISMATCHES);
                }
            }
            Statement::KeyChange(change) => {
                self.revoke_active(change.agent, RevocationReason::Changed, at);
                self.register_key(change.agent, change.new_key, change.sealed_access, at);
                self.activate(
                    change.agent,
                    change.new_key.key_id(),
                    Activation::Changed,
                    at,
                );
            }
            Statement::Revocation(revocation) => {
                let reason = if revocation.revoker == revocation.subject {
                    RevocationReason::SelfRevoked
                } else {
                    RevocationReason::RevokedBy(revocation.revoker)
                };
                self.revoke_active(revocation.subject, reason, at);
                // A revoked agent's recovery file stops working too: recovery must not
                // undo a revocation (spec §6.8).
                self.end_recovery(revocation.subject, RegistrationFate::Spent);
            }
            Statement::RecoveryRegistration(registration) => {
                self.end_recovery(registration.agent, RegistrationFate::Replaced);
                self.registrations.insert(
                    registration.registration,
                    (registration.agent, RegistrationFate::Current),
                );
                self.agents.entry(registration.agent).or_default().recovery = Some(RecoveryInfo {
                    registration: registration.registration,
                    signing: registration.recovery_signing,
                    exchange: registration.recovery_exchange,
                    sealed_access: registration.sealed_access,
                    registered: at,
                });
            }
            Statement::RecoveryReset(reset) => {
                self.end_recovery(reset.agent, RegistrationFate::Spent);
                self.revoke_active(reset.agent, RevocationReason::Recovered, at);
                self.register_key(reset.agent, reset.new_key, reset.sealed_access, at);
                self.activate(
                    reset.agent,
                    reset.new_key.key_id(),
                    Activation::Recovered,
                    at,
                );
            }
            Statement::PromptPolicy(change) => {
                self.policy = change.policy;
            }
        }
        self.advance(header.seq, entry.hash());
    }

    fn advance(&mut self, seq: Seq, hash: EntryHash) {
        self.next_seq = seq.next().unwrap_or(seq);
        self.last_hash = hash;
    }

    fn register_key(
        &mut self,
        agent: AgentId,
        record: PublicKeyRecord,
        sealed: SealedAccess,
        at: (Seq, UnixTime),
    ) {
        self.keys.insert(
            record.key_id(),
            KeyInfo {
                agent,
                record,
                sealed_access: sealed,
                status: KeyStatus::Pending,
                registered: at,
                changed: at,
            },
        );
    }

    fn set_status(&mut self, key: KeyId, status: KeyStatus, at: (Seq, UnixTime)) {
        if let Some(info) = self.keys.get_mut(&key) {
            info.status = status;
            info.changed = at;
        }
    }

    fn activate(&mut self, agent: AgentId, key: KeyId, how: Activation, at: (Seq, UnixTime)) {
        self.set_status(key, KeyStatus::Active(how), at);
        self.agents.entry(agent).or_default().active_key = Some(key);
    }

    fn revoke_active(&mut self, agent: AgentId, reason: RevocationReason, at: (Seq, UnixTime)) {
        let Some(record) = self.agents.get_mut(&agent) else {
            return;
        };
        if let Some(key) = record.active_key.take() {
            record.had_revoked_key = true;
            self.set_status(key, KeyStatus::Revoked(reason), at);
        }
    }

    fn close_request(
        &mut self,
        request: crate::ids::RequestId,
        state: RequestState,
        reason: RejectionReason,
        at: (Seq, UnixTime),
    ) {
        let Some(info) = self.requests.get_mut(&request) else {
            return;
        };
        info.state = state;
        let (agent, key) = (info.agent, info.key);
        self.set_status(key, KeyStatus::Rejected(reason), at);
        if let Some(record) = self.agents.get_mut(&agent) {
            if record.pending_request == Some(request) {
                record.pending_request = None;
            }
        }
    }

    fn end_recovery(&mut self, agent: AgentId, fate: RegistrationFate) {
        let Some(record) = self.agents.get_mut(&agent) else {
            return;
        };
        if let Some(info) = record.recovery.take() {
            self.registrations.insert(info.registration, (agent, fate));
        }
    }

    /// §6.2: a removed agent's key is revoked, their request withdrawn, their recovery
    /// file cancelled, at once.
    fn deprovision(&mut self, agent: AgentId, at: (Seq, UnixTime)) {
        self.revoke_active(agent, RevocationReason::Deprovisioned, at);
        let pending = self
            .agents
            .get(&agent)
            .and_then(|record| record.pending_request);
        if let Some(request) = pending {
            self.close_request(
                request,
                RequestState::Withdrawn,
                RejectionReason::Deprovisioned,
                at,
            );
        }
        self.end_recovery(agent, RegistrationFate::Spent);
    }
}
