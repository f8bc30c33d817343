//! Every error zt-core reports.
//!
//! Each operation returns its own narrow error type; [`Error`] gathers them for callers that
//! want one type. Messages are lower-case, carry no secret, and name the rule or field at
//! fault. Failures of decryption stay coarse on purpose ([`SealError::Open`]).

use thiserror::Error;

use crate::ids::{Epoch, OrgId, Seq, UnixTime};
use crate::statement::StatementKind;

/// Any zt-core error.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not a canonical encoding.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A text identifier that does not parse.
    #[error(transparent)]
    ParseId(#[from] ParseIdError),
    /// A passphrase that is refused.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// Key-derivation parameters out of bounds.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// A public key that zt refuses to register or use.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Sealing or opening a sealed box failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A command was refused; nothing changed.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A log failed verification.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A recovery file was refused.
    #[error(transparent)]
    RecoveryFile(#[from] RecoveryFileError),
    /// A task authorization was refused.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// A passphrase does not derive the registered key.
    #[error(transparent)]
    WrongPassphrase(#[from] WrongPassphrase),
    /// Caller misuse: an entry applied to a state it was not verified against.
    #[error(transparent)]
    Stale(#[from] StaleEntry),
}

/// The passphrase does not derive the registered key: nothing is signed with it.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the passphrase does not match the registered key")]
pub struct WrongPassphrase;

/// Caller misuse: the state moved on since the entry was verified; verify it again.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the entry was verified against another head of the log")]
pub struct StaleEntry;

/// A text identifier, key or hash that does not parse (spec §2.3).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("invalid {what}")]
pub struct ParseIdError {
    pub(crate) what: &'static str,
}

/// Bytes that are not a canonical encoding (spec §2).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a field.
    #[error("truncated: the input ends inside {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes remain after a complete value.
    #[error("{count} unexpected bytes after the end")]
    TrailingBytes {
        /// How many bytes remain.
        count: usize,
    },
    /// A field holds a value the spec does not allow.
    #[error("invalid value for {field}")]
    InvalidValue {
        /// The field at fault.
        field: &'static str,
    },
    /// A format version this implementation does not know.
    #[error("unsupported format version {version}")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// A statement kind this implementation does not know.
    #[error("unknown statement kind {kind}")]
    UnknownKind {
        /// The kind byte found.
        kind: u8,
    },
    /// The input exceeds its size limit.
    #[error("{size} bytes is over the limit of {max}")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A public key field holds a key zt refuses.
    #[error("{field}: {source}")]
    InvalidKey {
        /// The field at fault.
        field: &'static str,
        /// Why the key is refused.
        source: KeyError,
    },
    /// Key-derivation parameters out of bounds.
    #[error("key-derivation parameters: {0}")]
    Kdf(#[from] KdfError),
}

/// A public key that zt refuses (spec §3.4).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes do not decode to a point on Ed25519.
    #[error("not an Ed25519 public key")]
    NotOnCurve,
    /// The Ed25519 encoding is not the canonical one.
    #[error("non-canonical Ed25519 public key encoding")]
    NonCanonicalSigningKey,
    /// The Ed25519 point has small order: anyone could forge for it.
    #[error("small-order Ed25519 public key")]
    SmallOrderSigningKey,
    /// The X25519 encoding is not canonical (u ≥ p or top bit set).
    #[error("non-canonical X25519 public key encoding")]
    NonCanonicalExchangeKey,
    /// The X25519 point has low order: every shared secret would be predictable.
    #[error("low-order X25519 public key")]
    LowOrderExchangeKey,
}

/// A passphrase that zt refuses (spec §3.1).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassphraseError {
    /// Fewer characters than the minimum, counted after normalization.
    #[error("passphrase has {chars} characters; at least {min} are required")]
    TooShort {
        /// Characters found.
        chars: usize,
        /// The minimum.
        min: usize,
    },
    /// More characters than the maximum.
    #[error("passphrase has {chars} characters; at most {max} are allowed")]
    TooLong {
        /// Characters found.
        chars: usize,
        /// The maximum.
        max: usize,
    },
    /// A control character (such as a tab or a line break).
    #[error("passphrase contains a control character")]
    ControlCharacter,
    /// Obviously weak, for the reason given.
    #[error("passphrase is too easy to guess: {0}")]
    Weak(WeakPassphrase),
}

/// Why a passphrase is obviously weak (spec §3.1).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WeakPassphrase {
    /// It uses fewer than five different characters.
    #[error("it uses fewer than five different characters")]
    FewDistinctCharacters,
    /// It is one of the most common passwords.
    #[error("it is one of the most common passwords")]
    Common,
    /// It is a common password with digits, symbols or letter substitutions added.
    #[error("it is a common password with digits, symbols or substitutions added")]
    CommonWithAdditions,
    /// It is a run of the alphabet, the digits or a keyboard row.
    #[error("it is a run of the alphabet, the digits or a keyboard row")]
    Sequence,
    /// It repeats a shorter part.
    #[error("it repeats a shorter part")]
    Repetition,
}

/// Key-derivation parameters out of bounds (spec §3.2).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KdfError {
    /// An algorithm other than Argon2id version 0x13.
    #[error("unknown key-derivation algorithm {0}")]
    UnknownAlgorithm(u8),
    /// Weaker than the floor: a client refuses this downgrade.
    #[error("memory {found} KiB is below the minimum of {min} KiB")]
    MemoryTooLow {
        /// Found.
        found: u32,
        /// The floor.
        min: u32,
    },
    /// More memory than the ceiling: a client refuses this much work.
    #[error("memory {found} KiB is above the maximum of {max} KiB")]
    MemoryTooHigh {
        /// Found.
        found: u32,
        /// The ceiling.
        max: u32,
    },
    /// Fewer passes than the floor.
    #[error("{found} passes is below the minimum of {min}")]
    IterationsTooLow {
        /// Found.
        found: u32,
        /// The floor.
        min: u32,
    },
    /// More passes than the ceiling.
    #[error("{found} passes is above the maximum of {max}")]
    IterationsTooHigh {
        /// Found.
        found: u32,
        /// The ceiling.
        max: u32,
    },
    /// Lanes outside the allowed range.
    #[error("{found} lanes is outside 1..={max}")]
    ParallelismOutOfRange {
        /// Found.
        found: u32,
        /// The ceiling.
        max: u32,
    },
    /// Memory times passes above the work ceiling.
    #[error("memory × passes is above the work ceiling of {max} KiB")]
    TooMuchWork {
        /// The ceiling.
        max: u64,
    },
}

/// Sealing or opening a sealed box failed (spec §3.7).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The X25519 shared secret is all zero (a low-order public key).
    #[error("refused: the X25519 shared secret is all zero")]
    ZeroSharedSecret,
    /// Wrong key, wrong context or tampered data; deliberately not more precise.
    #[error("the sealed data could not be opened")]
    Open,
}

/// Which signature of an entry failed (spec §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRole {
    /// The signature that authorizes the statement.
    Authorization,
    /// The proof that the statement's new key is held.
    Possession,
}

impl std::fmt::Display for SignatureRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureRole::Authorization => "authorization",
            SignatureRole::Possession => "proof-of-possession",
        })
    }
}

/// Why one log entry is invalid at its position (spec §5, §6).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryFault {
    /// Not a canonical encoding.
    #[error("malformed: {0}")]
    Malformed(DecodeError),
    /// Names another organization.
    #[error("entry belongs to organization {found}, not {expected}")]
    WrongOrganization {
        /// This log's organization.
        expected: OrgId,
        /// The entry's.
        found: OrgId,
    },
    /// Names another epoch.
    #[error("entry is for epoch {found}, expected epoch {expected}")]
    WrongEpoch {
        /// The epoch at this position.
        expected: Epoch,
        /// The entry's.
        found: Epoch,
    },
    /// Its position is already taken: a replay, or a lost race with another writer.
    #[error("sequence number {found} is already taken; the next is {expected}")]
    SequenceTaken {
        /// The next free position.
        expected: Seq,
        /// The entry's.
        found: Seq,
    },
    /// Its position leaves a gap.
    #[error("sequence number {found} leaves a gap; the next is {expected}")]
    SequenceGap {
        /// The next free position.
        expected: Seq,
        /// The entry's.
        found: Seq,
    },
    /// `prev` is not the hash of the entry before it.
    #[error("broken hash chain: prev does not match the previous entry")]
    BrokenChain,
    /// The same entry appeared earlier in the log.
    #[error("replayed entry: it already appears earlier in the log")]
    Replayed,
    /// A signature does not verify under `verify_strict`.
    #[error("bad {0} signature")]
    BadSignature(SignatureRole),
    /// The statement breaks a lifecycle rule.
    #[error("{0}")]
    Rule(#[from] RuleViolation),
}

/// A lifecycle rule that a statement breaks (spec §6).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleViolation {
    /// Nothing but roles and a first key may precede the epoch's first key.
    #[error("the epoch has no first key yet")]
    NoFirstKeyYet,
    /// The epoch already has its first key; no second one, ever (spec §6.4).
    #[error("the epoch already has its first key")]
    FirstKeyExists,
    /// An epoch starts only at the beginning or as an organization reset.
    #[error("invalid epoch start")]
    InvalidEpochStart,
    /// A host statement is not signed by this epoch's host key.
    #[error("not signed by this epoch's host key")]
    NotHostKey,
    /// The agent was removed from the organization.
    #[error("the agent was removed from the organization")]
    AgentRemoved,
    /// The key was already registered in this epoch (terminal states never come back).
    #[error("this key was already registered in this epoch")]
    KeyReused,
    /// The request or registration id was already used in this epoch.
    #[error("this id was already used in this epoch (replay)")]
    IdReused,
    /// No request with this id.
    #[error("unknown request")]
    UnknownRequest,
    /// The request is no longer pending (approved, rejected or replaced).
    #[error("the request is no longer pending")]
    RequestNotPending,
    /// Five wrong verification codes locked the request (spec §7.3).
    #[error("the request is locked after too many wrong verification codes; request again")]
    RequestLocked,
    /// The statement names a different request, subject or key than the request has.
    #[error("the statement does not match the request it names")]
    RequestMismatch,
    /// An agent may not approve, reject or judge the code of their own request.
    #[error("an agent cannot approve their own request")]
    SelfApproval,
    /// Only an admin or super-admin may do this.
    #[error("only an admin or super-admin with an active key may do this")]
    NotAnApprover,
    /// The agent has no active key.
    #[error("the agent has no active key")]
    NoActiveKey,
    /// The statement names a key that is not the agent's active key.
    #[error("the named key is not the agent's active key")]
    NotActiveKey,
    /// It would leave no admin with an active key: refused unless forced.
    #[error("this would remove the last approver's key; nobody could approve keys afterwards (force it to proceed)")]
    LastApprover,
    /// The agent has no recovery registration.
    #[error("no recovery file is registered for this agent")]
    NoRecovery,
    /// The recovery file was replaced by a newer one.
    #[error("this recovery file was replaced by a newer one")]
    RecoveryReplaced,
    /// The recovery file was already used, or cancelled by a revocation.
    #[error("this recovery file was already used or cancelled")]
    RecoverySpent,
    /// The role is already the agent's role.
    #[error("the agent already has this role")]
    RoleUnchanged,
    /// The policy is already in force, or does not allow each-task prompts.
    #[error("invalid or unchanged prompt policy")]
    PolicyUnchanged,
}

/// A command that was refused; nothing changed (spec §6).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The statement is invalid at the log's head.
    #[error(transparent)]
    Entry(#[from] EntryFault),
    /// The statement's time is too far from the server's clock.
    #[error("statement time {found} is more than {max_skew} s from now ({now})")]
    ClockSkew {
        /// The statement's time.
        found: UnixTime,
        /// The server's time.
        now: UnixTime,
        /// The tolerance.
        max_skew: u64,
    },
    /// Caller misuse: the statement is not of the kind the command expects.
    #[error("this command expects a {expected} statement, not {found}")]
    WrongStatement {
        /// What the command takes.
        expected: StatementKind,
        /// What it was given.
        found: StatementKind,
    },
    /// Caller misuse: the host key given is not this epoch's host key.
    #[error("the host signing key is not this epoch's host key")]
    HostKeyMismatch,
    /// The sequence, epoch or roles reached the end of their range.
    #[error("the log cannot grow further")]
    Exhausted,
}

/// A log that fails verification (spec §5).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogError {
    /// The first bad entry, by its index in the input and its sequence number.
    #[error("entry {index}{}: {fault}", seq.map(|s| format!(" (seq {s})")).unwrap_or_default())]
    BadEntry {
        /// Index in the input, from 0.
        index: usize,
        /// The entry's sequence number, when it could be read.
        seq: Option<Seq>,
        /// What is wrong with it.
        fault: EntryFault,
    },
    /// The input does not begin with the start of the pinned root's epoch.
    #[error("the log does not begin with the start of epoch {epoch}")]
    NotEpochStart {
        /// The pinned epoch.
        epoch: Epoch,
    },
    /// The epoch's first key is not the pinned root.
    #[error("entry {index} is the epoch's first key, but its hash is not the pinned root")]
    RootMismatch {
        /// Index of the first key in the input.
        index: usize,
    },
    /// The input ends before the pinned root.
    #[error("the log ends before the pinned root")]
    RootNotReached,
}

/// A recovery file that is refused (spec §8.3).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoveryFileError {
    /// Not a zt recovery file at all.
    #[error("not a zt recovery file (the first line is wrong)")]
    NotARecoveryFile,
    /// A newer version of the format.
    #[error("unsupported recovery file version {0}")]
    UnsupportedVersion(String),
    /// A line is not what the format requires there.
    #[error("line {line}: expected {expected}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What the format requires.
        expected: &'static str,
    },
    /// The file ends early.
    #[error("the file is truncated (it ends before line {line})")]
    Truncated {
        /// The missing line.
        line: usize,
    },
    /// The checksum does not match: the file is damaged.
    #[error("the checksum does not match: the file is damaged or was edited")]
    BadChecksum,
    /// Bytes after the end line.
    #[error("unexpected data after the end of the recovery file")]
    TrailingData,
    /// Larger than any recovery file.
    #[error("too large to be a recovery file")]
    TooLarge,
    /// The file belongs to another organization or agent.
    #[error("this recovery file belongs to another organization or agent")]
    WrongOwner,
}

/// A task authorization that is refused (spec §9).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// Not a canonical encoding.
    #[error("malformed task authorization: {0}")]
    Malformed(DecodeError),
    /// For another organization or epoch.
    #[error("the authorization is for another organization or epoch")]
    WrongOrganization,
    /// The organization was reset after the pinned epoch.
    #[error("the organization was reset; devices must be redeployed")]
    EpochClosed,
    /// The key is not the agent's active key (revoked, replaced or unknown).
    #[error("the signing key is not the agent's active key")]
    KeyNotActive,
    /// For another task kind or payload than the one presented.
    #[error("the authorization is for another task")]
    WrongTask,
    /// Expired, or not yet valid.
    #[error("the authorization has expired or is not yet valid")]
    Expired,
    /// Valid for longer than the spec allows.
    #[error("the authorization's lifetime exceeds the maximum")]
    LifetimeTooLong,
    /// A signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The session delegation expired, was revoked, or outlives its frequency.
    #[error("the session has expired or was ended")]
    SessionInvalid,
    /// The organization's policy does not allow this prompt frequency.
    #[error("the organization's policy does not allow this prompt frequency")]
    FrequencyNotAllowed,
    /// Seen before.
    #[error("replayed authorization")]
    Replayed,
}

impl TaskError {
    /// Whether a newer state of the log could decide otherwise (spec §9.4, "Shared replay
    /// caches"): the organization's epoch, its keys, sessions and policy change with the log;
    /// an encoding, a task, a clock check or a signature under a named key do not.
    pub fn depends_on_log(&self) -> bool {
        match self {
            TaskError::WrongOrganization
            | TaskError::EpochClosed
            | TaskError::KeyNotActive
            | TaskError::SessionInvalid
            | TaskError::FrequencyNotAllowed => true,
            TaskError::Malformed(_)
            | TaskError::WrongTask
            | TaskError::Expired
            | TaskError::LifetimeTooLong
            | TaskError::BadSignature
            | TaskError::Replayed => false,
        }
    }
}

impl From<EntryFault> for Error {
    fn from(fault: EntryFault) -> Self {
        Error::Refused(Refusal::Entry(fault))
    }
}

impl From<RuleViolation> for Refusal {
    fn from(violation: RuleViolation) -> Self {
        Refusal::Entry(violation.into())
    }
}
