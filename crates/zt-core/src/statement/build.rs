//! Making signed entries: one method per flow, each signing with exactly the keys its
//! statement kind requires (spec §4.3). Clients use these; so do tests and the host.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use super::codec::{signature_message, unsigned_encoding};
use super::{
    EntryHeader, EpochReason, EpochStart, FirstKey, Judgement, KeyChange, KeyRequest, LogEntry,
    PolicyChange, RecoveryRegistration, RecoveryReset, Revocation, SetRole, Statement,
};
use crate::error::SealError;
use crate::ids::{AgentId, EntryHash, Epoch, KeyId, OrgId, RequestId, Seq, UnixTime};
use crate::keys::{AgentKeys, HostKey};
use crate::labels;
use crate::policy::{PromptPolicy, Role};
use crate::recovery::RecoveryKeys;
use crate::seal::{seal, SealContext, SealRecipient};
use crate::secret::AccessSecret;

/// The position the next entry takes: what a client needs from the server to sign one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The organization.
    pub org: OrgId,
    /// The current epoch.
    pub epoch: Epoch,
    /// The sequence number the next entry takes.
    pub next_seq: Seq,
    /// The hash of the last entry (zero for an empty log).
    pub prev: EntryHash,
}

/// Builds signed entries for the next position of a log.
#[derive(Clone, Copy, Debug)]
pub struct EntryBuilder {
    header: EntryHeader,
}

impl EntryBuilder {
    /// Entries at `head`, stamped with `time`.
    pub fn new(head: Head, time: UnixTime) -> EntryBuilder {
        EntryBuilder {
            header: EntryHeader {
                org: head.org,
                epoch: head.epoch,
                seq: head.next_seq,
                prev: head.prev,
                time,
            },
        }
    }

    /// The epoch's first key, self-signed (spec §4.7).
    pub fn first_key(
        &self,
        agent: AgentId,
        keys: &AgentKeys,
        access: &AccessSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<LogEntry, SealError> {
        let statement = Statement::FirstKey(FirstKey {
            agent,
            key: *keys.record(),
            sealed_access: self.seal_to_key(agent, keys, access, rng)?,
        });
        Ok(self.sign(statement, |m| keys.sign(m), None::<fn(&[u8]) -> _>))
    }

    /// A key request, signed by the requested key (spec §4.8).
    pub fn key_request(
        &self,
        agent: AgentId,
        request: RequestId,
        keys: &AgentKeys,
        access: &AccessSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<LogEntry, SealError> {
        let statement = Statement::KeyRequest(KeyRequest {
            agent,
            request,
            key: *keys.record(),
            sealed_access: self.seal_to_key(agent, keys, access, rng)?,
        });
        Ok(self.sign(statement, |m| keys.sign(m), None::<fn(&[u8]) -> _>))
    }

    /// An approval of `request` (whose entry hash is `request_hash`) by an approver (spec §4.9).
    pub fn approval(
        &self,
        request: &KeyRequest,
        request_hash: EntryHash,
        approver: AgentId,
        keys: &AgentKeys,
    ) -> LogEntry {
        let judgement = Self::judgement(request, request_hash, approver, keys);
        self.sign(
            Statement::Approval(judgement),
            |m| keys.sign(m),
            None::<fn(&[u8]) -> _>,
        )
    }

    /// A rejection of `request` by an approver (spec §4.9).
    pub fn rejection(
        &self,
        request: &KeyRequest,
        request_hash: EntryHash,
        approver: AgentId,
        keys: &AgentKeys,
    ) -> LogEntry {
        let judgement = Self::judgement(request, request_hash, approver, keys);
        self.sign(
            Statement::Rejection(judgement),
            |m| keys.sign(m),
            None::<fn(&[u8]) -> _>,
        )
    }

    /// An approver's report that the code they were told does not match (spec §4.9, §7.3).
    pub fn code_mismatch(
        &self,
        request: &KeyRequest,
        request_hash: EntryHash,
        approver: AgentId,
        keys: &AgentKeys,
    ) -> LogEntry {
        let judgement = Self::judgement(request, request_hash, approver, keys);
        self.sign(
            Statement::CodeMismatch(judgement),
            |m| keys.sign(m),
            None::<fn(&[u8]) -> _>,
        )
    }

    /// A key change: signed by the old key, with the new key's proof of possession (§4.10).
    pub fn key_change(
        &self,
        agent: AgentId,
        old: &AgentKeys,
        new: &AgentKeys,
        access: &AccessSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<LogEntry, SealError> {
        let statement = Statement::KeyChange(KeyChange {
            agent,
            old_key: old.key_id(),
            new_key: *new.record(),
            sealed_access: self.seal_to_key(agent, new, access, rng)?,
        });
        Ok(self.sign(statement, |m| old.sign(m), Some(|m: &[u8]| new.sign(m))))
    }

    /// A revocation of `subject`'s key `key` by `revoker` (the subject or an approver, §4.11).
    pub fn revocation(
        &self,
        subject: AgentId,
        key: KeyId,
        revoker: AgentId,
        revoker_keys: &AgentKeys,
        forced: bool,
    ) -> LogEntry {
        let statement = Statement::Revocation(Revocation {
            subject,
            key,
            revoker,
            revoker_key: revoker_keys.key_id(),
            forced,
        });
        self.sign(statement, |m| revoker_keys.sign(m), None::<fn(&[u8]) -> _>)
    }

    /// A recovery registration: signed by the agent's key, with the recovery key's proof of
    /// possession; the access secret is sealed to the recovery key (spec §4.12).
    pub fn recovery_registration(
        &self,
        agent: AgentId,
        keys: &AgentKeys,
        recovery: &RecoveryKeys,
        access: &AccessSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<LogEntry, SealError> {
        let context = SealContext {
            org: self.header.org,
            agent,
            recipient: SealRecipient::RecoveryKey(recovery.registration()),
        };
        let statement = Statement::RecoveryRegistration(RecoveryRegistration {
            agent,
            key: keys.key_id(),
            registration: recovery.registration(),
            recovery_signing: recovery.signing_public(),
            recovery_exchange: recovery.exchange_public(),
            sealed_access: seal(access, &recovery.exchange_public(), &context, rng)?,
        });
        Ok(self.sign(
            statement,
            |m| keys.sign(m),
            Some(|m: &[u8]| recovery.sign(m)),
        ))
    }

    /// A reset with the recovery file: signed by the recovery key, with the new key's proof
    /// of possession (spec §4.13).
    pub fn recovery_reset(
        &self,
        agent: AgentId,
        old_key: KeyId,
        recovery: &RecoveryKeys,
        new: &AgentKeys,
        access: &AccessSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<LogEntry, SealError> {
        let statement = Statement::RecoveryReset(RecoveryReset {
            agent,
            registration: recovery.registration(),
            old_key,
            new_key: *new.record(),
            sealed_access: self.seal_to_key(agent, new, access, rng)?,
        });
        Ok(self.sign(
            statement,
            |m| recovery.sign(m),
            Some(|m: &[u8]| new.sign(m)),
        ))
    }

    /// The prompt-frequency policy, set by an approver (spec §4.14).
    pub fn prompt_policy(
        &self,
        admin: AgentId,
        keys: &AgentKeys,
        policy: PromptPolicy,
    ) -> LogEntry {
        let statement = Statement::PromptPolicy(PolicyChange {
            policy,
            admin,
            admin_key: keys.key_id(),
        });
        self.sign(statement, |m| keys.sign(m), None::<fn(&[u8]) -> _>)
    }

    /// An epoch start, authorized by `authorizer` (the new host key itself when the
    /// organization is created, the current host key on a reset), with the new host key's
    /// proof of possession (spec §4.5). `roles` must be sorted and hold no `member`.
    pub(crate) fn epoch_start(
        &self,
        authorizer: &HostKey,
        new_host: &HostKey,
        reason: EpochReason,
        roles: Vec<(AgentId, Role)>,
    ) -> LogEntry {
        let statement = Statement::EpochStart(EpochStart {
            host_key: new_host.public(),
            reason,
            roles,
        });
        self.sign(
            statement,
            |m| authorizer.sign(m),
            Some(|m: &[u8]| new_host.sign(m)),
        )
    }

    /// A role change, signed by the host (spec §4.6).
    pub(crate) fn set_role(
        &self,
        host: &HostKey,
        agent: AgentId,
        role: Role,
        forced: bool,
    ) -> LogEntry {
        let statement = Statement::SetRole(SetRole {
            agent,
            role,
            forced,
        });
        self.sign(statement, |m| host.sign(m), None::<fn(&[u8]) -> _>)
    }

    fn judgement(
        request: &KeyRequest,
        request_hash: EntryHash,
        approver: AgentId,
        keys: &AgentKeys,
    ) -> Judgement {
        Judgement {
            request: request.request,
            request_hash,
            subject: request.agent,
            subject_key: request.key.key_id(),
            approver,
            approver_key: keys.key_id(),
        }
    }

    fn seal_to_key(
        &self,
        agent: AgentId,
        keys: &AgentKeys,
        access: &AccessSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<crate::seal::SealedAccess, SealError> {
        let context = SealContext {
            org: self.header.org,
            agent,
            recipient: SealRecipient::AgentKey(keys.key_id()),
        };
        seal(access, &keys.record().exchange, &context, rng)
    }

    fn sign<A, P>(&self, statement: Statement, authorize: A, possess: Option<P>) -> LogEntry
    where
        A: Fn(&[u8]) -> crate::crypto::Signature,
        P: Fn(&[u8]) -> crate::crypto::Signature,
    {
        let signed = unsigned_encoding(&self.header, &statement).into_bytes();
        let authorization = authorize(&signature_message(statement.kind().label(), &signed));
        let possession =
            possess.map(|possess| possess(&signature_message(labels::POSSESSION, &signed)));
        LogEntry::assemble(self.header, statement, authorization, possession)
    }
}
