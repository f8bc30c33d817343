//! Statements: every change of an organization's key set, signed (spec §4).
//!
//! A [`LogEntry`] is a header (organization, epoch, sequence number, hash of the previous
//! entry, time), one [`Statement`], and one or two signatures. Its canonical bytes are kept
//! with it, so the entry that was verified is byte for byte the entry that is hashed and
//! stored.

mod build;
mod codec;

use std::fmt;

pub use build::{EntryBuilder, Head};

use crate::crypto::{ExchangePublicKey, Signature, SigningPublicKey};
use crate::ids::{
    AgentId, EntryHash, Epoch, KeyId, OrgId, RegistrationId, RequestId, Seq, UnixTime,
};
use crate::keys::PublicKeyRecord;
use crate::labels;
use crate::policy::{PromptPolicy, Role};
use crate::seal::SealedAccess;

/// The version byte that begins every entry (spec §4.1).
pub const ENTRY_VERSION: u8 = 1;
/// The largest encoded entry accepted (spec §4.1).
pub const MAX_ENTRY_LEN: usize = 256 * 1024;
/// The most roles an epoch start may list (spec §4.5).
pub const MAX_EPOCH_ROLES: usize = 10_000;

/// The kind of a statement, its tag byte in the encoding (spec §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum StatementKind {
    /// An epoch starts: the organization is created or reset. Host-signed.
    EpochStart,
    /// The host sets an agent's role.
    SetRole,
    /// The epoch's first key, self-signed: the root devices pin.
    FirstKey,
    /// An agent requests a key, signed by that key.
    KeyRequest,
    /// An approver approves a request.
    Approval,
    /// An approver rejects a request.
    Rejection,
    /// An approver was told a wrong verification code.
    CodeMismatch,
    /// An agent replaces their key, signed by the old one.
    KeyChange,
    /// A key is revoked by its owner or an approver.
    Revocation,
    /// An agent registers a recovery key.
    RecoveryRegistration,
    /// An agent resets their key with the recovery key.
    RecoveryReset,
    /// An approver sets the prompt-frequency policy.
    PromptPolicy,
}

impl StatementKind {
    /// Every kind, in tag order.
    pub const ALL: [StatementKind; 12] = [
        StatementKind::EpochStart,
        StatementKind::SetRole,
        StatementKind::FirstKey,
        StatementKind::KeyRequest,
        StatementKind::Approval,
        StatementKind::Rejection,
        StatementKind::CodeMismatch,
        StatementKind::KeyChange,
        StatementKind::Revocation,
        StatementKind::RecoveryRegistration,
        StatementKind::RecoveryReset,
        StatementKind::PromptPolicy,
    ];

    /// The tag byte.
    pub fn tag(self) -> u8 {
        match self {
            StatementKind::EpochStart => 1,
            StatementKind::SetRole => 2,
            StatementKind::FirstKey => 3,
            StatementKind::KeyRequest => 4,
            StatementKind::Approval => 5,
            StatementKind::Rejection => 6,
            StatementKind::CodeMismatch => 7,
            StatementKind::KeyChange => 8,
            StatementKind::Revocation => 9,
            StatementKind::RecoveryRegistration => 10,
            StatementKind::RecoveryReset => 11,
            StatementKind::PromptPolicy => 12,
        }
    }

    /// The kind with this tag byte.
    pub fn from_tag(tag: u8) -> Option<StatementKind> {
        StatementKind::ALL
            .into_iter()
            .find(|kind| kind.tag() == tag)
    }

    /// The label of the authorization signature (spec §4.3).
    pub fn label(self) -> &'static str {
        match self {
            StatementKind::EpochStart => labels::STATEMENT_EPOCH_START,
            StatementKind::SetRole => labels::STATEMENT_SET_ROLE,
            StatementKind::FirstKey => labels::STATEMENT_FIRST_KEY,
            StatementKind::KeyRequest => labels::STATEMENT_KEY_REQUEST,
            StatementKind::Approval => labels::STATEMENT_APPROVAL,
            StatementKind::Rejection => labels::STATEMENT_REJECTION,
            StatementKind::CodeMismatch => labels::STATEMENT_CODE_MISMATCH,
            StatementKind::KeyChange => labels::STATEMENT_KEY_CHANGE,
            StatementKind::Revocation => labels::STATEMENT_REVOCATION,
            StatementKind::RecoveryRegistration => labels::STATEMENT_RECOVERY_REGISTRATION,
            StatementKind::RecoveryReset => labels::STATEMENT_RECOVERY_RESET,
            StatementKind::PromptPolicy => labels::STATEMENT_PROMPT_POLICY,
        }
    }

    /// True if the statement introduces a key other than its signer's, whose holder must
    /// also sign (proof of possession, spec §4.3).
    pub fn needs_possession(self) -> bool {
        matches!(
            self,
            StatementKind::EpochStart
                | StatementKind::KeyChange
                | StatementKind::RecoveryRegistration
                | StatementKind::RecoveryReset
        )
    }
}

impl fmt::Display for StatementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = self.label();
        f.write_str(label.rsplit('/').next().unwrap_or(label))
    }
}

/// Why an epoch starts (spec §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochReason {
    /// The organization was created (epoch 0, sequence 0).
    Created,
    /// Support reset the organization: every key of the previous epoch is reset.
    Reset,
}

/// The start of an epoch: the host key that speaks for the host in it, and the roles that
/// are not `member` (spec §4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochStart {
    /// The host key of the new epoch.
    pub host_key: SigningPublicKey,
    /// Why the epoch starts.
    pub reason: EpochReason,
    /// Agents whose role is not `member`, sorted by agent id, each once.
    pub roles: Vec<(AgentId, Role)>,
}

/// The host sets an agent's role (spec §4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetRole {
    /// The agent.
    pub agent: AgentId,
    /// The new role.
    pub role: Role,
    /// Set when the change may leave no approver with an active key.
    pub forced: bool,
}

/// The epoch's first key (spec §4.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstKey {
    /// The agent who creates it.
    pub agent: AgentId,
    /// The key.
    pub key: PublicKeyRecord,
    /// A fresh access secret sealed to the key.
    pub sealed_access: SealedAccess,
}

/// A key request (spec §4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRequest {
    /// The requester.
    pub agent: AgentId,
    /// The request's id, chosen at random by the requester's client.
    pub request: RequestId,
    /// The requested key.
    pub key: PublicKeyRecord,
    /// An access secret sealed to the requested key.
    pub sealed_access: SealedAccess,
}

/// An approver's judgement of a request: approval, rejection or code mismatch (spec §4.9).
/// It names the exact request entry, and so the exact key it admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// The request.
    pub request: RequestId,
    /// Hash of the request's log entry.
    pub request_hash: EntryHash,
    /// The requester.
    pub subject: AgentId,
    /// The requested key.
    pub subject_key: KeyId,
    /// The approver.
    pub approver: AgentId,
    /// The approver's active key, which signs.
    pub approver_key: KeyId,
}

/// A key change signed by the old key (spec §4.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyChange {
    /// The agent.
    pub agent: AgentId,
    /// The active key being replaced; it signs.
    pub old_key: KeyId,
    /// The new key; it signs the proof of possession.
    pub new_key: PublicKeyRecord,
    /// The agent's access secret sealed to the new key.
    pub sealed_access: SealedAccess,
}

/// A revocation (spec §4.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// Whose key.
    pub subject: AgentId,
    /// The key, which must be the subject's active key.
    pub key: KeyId,
    /// Who revokes: the subject, or an approver.
    pub revoker: AgentId,
    /// The revoker's active key, which signs.
    pub revoker_key: KeyId,
    /// Set when the revocation may leave no approver with an active key.
    pub forced: bool,
}

/// A recovery registration (spec §4.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryRegistration {
    /// The agent.
    pub agent: AgentId,
    /// The agent's active key, which signs.
    pub key: KeyId,
    /// The registration's id, written in the recovery file.
    pub registration: RegistrationId,
    /// The recovery key that will sign a reset; it signs the proof of possession.
    pub recovery_signing: SigningPublicKey,
    /// The recovery key the access secret is sealed to.
    pub recovery_exchange: ExchangePublicKey,
    /// The agent's access secret sealed to the recovery key.
    pub sealed_access: SealedAccess,
}

/// A reset with the recovery file (spec §4.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryReset {
    /// The agent.
    pub agent: AgentId,
    /// The registration whose recovery key signs.
    pub registration: RegistrationId,
    /// The agent's active key, revoked by the reset.
    pub old_key: KeyId,
    /// The new key; it signs the proof of possession.
    pub new_key: PublicKeyRecord,
    /// The agent's access secret, re-sealed to the new key.
    pub sealed_access: SealedAccess,
}

/// The prompt-frequency policy (spec §4.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyChange {
    /// The frequencies agents may choose.
    pub policy: PromptPolicy,
    /// The approver who sets it.
    pub admin: AgentId,
    /// The approver's active key, which signs.
    pub admin_key: KeyId,
}

/// One change of an organization's key set (spec §4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    missing_docs,
    reason = "each variant is its body type, documented there"
)]
pub enum Statement {
    EpochStart(EpochStart),
    SetRole(SetRole),
    FirstKey(FirstKey),
    KeyRequest(KeyRequest),
    Approval(Judgement),
    Rejection(Judgement),
    CodeMismatch(Judgement),
    KeyChange(KeyChange),
    Revocation(Revocation),
    RecoveryRegistration(RecoveryRegistration),
    RecoveryReset(RecoveryReset),
    PromptPolicy(PolicyChange),
}

impl Statement {
    /// The statement's kind.
    pub fn kind(&self) -> StatementKind {
        match self {
            Statement::EpochStart(_) => StatementKind::EpochStart,
            Statement::SetRole(_) => StatementKind::SetRole,
            Statement::FirstKey(_) => StatementKind::FirstKey,
            Statement::KeyRequest(_) => StatementKind::KeyRequest,
            Statement::Approval(_) => StatementKind::Approval,
            Statement::Rejection(_) => StatementKind::Rejection,
            Statement::CodeMismatch(_) => StatementKind::CodeMismatch,
            Statement::KeyChange(_) => StatementKind::KeyChange,
            Statement::Revocation(_) => StatementKind::Revocation,
            Statement::RecoveryRegistration(_) => StatementKind::RecoveryRegistration,
            Statement::RecoveryReset(_) => StatementKind::RecoveryReset,
            Statement::PromptPolicy(_) => StatementKind::PromptPolicy,
        }
    }
}

/// Where an entry sits: organization, epoch, position, predecessor and time (spec §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryHeader {
    /// The organization whose log this is.
    pub org: OrgId,
    /// The epoch the statement belongs to.
    pub epoch: Epoch,
    /// The entry's position in the log.
    pub seq: Seq,
    /// The hash of the entry at `seq - 1`, or zero at sequence 0.
    pub prev: EntryHash,
    /// When the signer made the statement (its claim; the server checks it, spec §6.1).
    pub time: UnixTime,
}

/// One signed, canonically encoded log entry (spec §4).
#[derive(Clone, PartialEq, Eq)]
pub struct LogEntry {
    header: EntryHeader,
    statement: Statement,
    authorization: Signature,
    possession: Option<Signature>,
    encoded: Vec<u8>,
    signed_len: usize,
    hash: EntryHash,
}

impl LogEntry {
    /// The header.
    pub fn header(&self) -> &EntryHeader {
        &self.header
    }

    /// The statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The statement's kind.
    pub fn kind(&self) -> StatementKind {
        self.statement.kind()
    }

    /// The canonical bytes: what is stored, sent and hashed.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The entry's hash, the next entry's `prev` (spec §4.4).
    pub fn hash(&self) -> EntryHash {
        self.hash
    }

    /// The authorization signature.
    pub fn authorization(&self) -> &Signature {
        &self.authorization
    }

    /// The proof-of-possession signature, for the kinds that carry one.
    pub fn possession(&self) -> Option<&Signature> {
        self.possession.as_ref()
    }

    /// The bytes both signatures cover: everything before them (spec §4.3).
    pub fn signed_bytes(&self) -> &[u8] {
        self.encoded.get(..self.signed_len).unwrap_or(&self.encoded)
    }

    /// The message the authorization signature is over: the kind's label, then the signed
    /// bytes (spec §4.3).
    pub(crate) fn authorization_message(&self) -> Vec<u8> {
        codec::signature_message(self.kind().label(), self.signed_bytes())
    }

    /// The message the proof-of-possession signature is over (spec §4.3).
    pub(crate) fn possession_message(&self) -> Vec<u8> {
        codec::signature_message(labels::POSSESSION, self.signed_bytes())
    }
}

impl fmt::Debug for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogEntry")
            .field("header", &self.header)
            .field("statement", &self.statement)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}
