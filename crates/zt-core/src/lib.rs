//! zt-core: zero-trust signature keys, the pure core.
//!
//! An organization's agents each hold a signature key that only they can derive, from a
//! passphrase. Every change to the organization's key set is a signed statement in an
//! append-only, hash-chained log; devices and auditors pin the epoch's first key and replay
//! the log offline to learn which keys are active. Sensitive tasks carry an authorization
//! signed by an active key. The server that stores the log can refuse service, but it can
//! never act as an agent.
//!
//! # What this crate does
//!
//! - Passphrases ([`NewPassphrase`]) and key derivation ([`AgentKeys`], Argon2id then HKDF).
//! - Statements and their canonical encoding ([`LogEntry`], [`EntryBuilder`]).
//! - The key lifecycle as a pure state machine: [`OrgState::decide`] turns a [`Command`] into
//!   a [`Decision`] (an entry to append, effects to carry out) or a refusal, and
//!   [`OrgState::apply`] folds a verified entry into the state.
//! - Offline log verification from a pinned root ([`verify_log`], [`VerifiedLog`]), and the
//!   log export file it reads ([`decode_log_export`]).
//! - The six-digit verification code ([`VerificationCode`]).
//! - The recovery file ([`RecoveryFile`], [`RecoveryKeys`]) and sealed access secrets.
//! - Sensitive-task authorizations and session delegations ([`TaskAuthorization`]).
//!
//! # What it does not do
//!
//! No I/O, no clock, no operating-system randomness, no threads: the time (`now`) and a
//! cryptographic RNG are arguments, so every function is deterministic and testable.
//! Storage, HTTP, e-mail and prompting for passphrases belong to the adapters that embed
//! this crate. It keeps no state between calls except the values you hold.
//!
//! # Reading order for auditors
//!
//! The normative specification is `docs/spec/` in the repository; every check in this crate
//! cites its section. Start with `statement` (what is signed), `state::check` (the rules),
//! `state::apply` (the fold) and `log` (offline verification).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Input never panics the core: no unwrap, no unchecked indexing or arithmetic, no printing.
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::print_stdout,
    clippy::print_stderr
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "tests assert by panicking"
    )
)]

mod code;
mod codec;
mod command;
mod crypto;
mod error;
mod export;
mod ids;
mod kdf;
mod keys;
pub mod labels;
mod log;
mod passphrase;
mod policy;
mod recovery;
mod seal;
mod secret;
mod state;
mod statement;
mod task;

pub use code::{CodeJudgement, VerificationCode, CODE_MEMORY_KIB, CODE_PASSES};
pub use command::{Command, Context, Decision, Effect, NotificationKind, Warning, MAX_CLOCK_SKEW};
pub use crypto::{ExchangePublicKey, Signature, SigningPublicKey, VerifyMode, BATCH_SIZE};
pub use error::{
    DecodeError, EntryFault, Error, KdfError, KeyError, LogError, ParseIdError, PassphraseError,
    RecoveryFileError, Refusal, RuleViolation, SealError, SignatureRole, StaleEntry, TaskError,
    WeakPassphrase, WrongPassphrase,
};
pub use export::{
    decode_log_export, encode_log_export, log_export_line, LogExportError, LOG_EXPORT_HEADER,
};
pub use ids::{AgentId, EntryHash, Epoch, KeyId, OrgId, RegistrationId, RequestId, Seq, UnixTime};
pub use kdf::{KdfParams, Salt, KDF_ARGON2ID_V13};
pub use keys::{AgentKeys, HostKey, PublicKeyRecord};
pub use log::{verify_encoded_log, verify_log, verify_log_with, LogReplay, TrustRoot, VerifiedLog};
pub use passphrase::{NewPassphrase, Passphrase};
pub use policy::{PromptFrequency, PromptPolicy, Role};
pub use recovery::{RecoveryFile, RecoveryKeys};
pub use seal::SealedAccess;
pub use secret::{AccessSecret, HostSeed, RecoverySecret, SessionSeed};
pub use state::{
    Activation, Actor, AgentKeyState, AgentStatus, Changes, HistoryEvent, KeyInfo, KeyStatus,
    OrgState, PendingRequest, RecoveryInfo, RecoveryRegistrationView, RejectionReason, RequestInfo,
    RequestState, RevocationReason, VerifiedEntry, HISTORY_ACTIONS, HISTORY_REASONS,
    MAX_CODE_MISMATCHES,
};
pub use statement::{
    EntryBuilder, EntryHeader, EpochReason, EpochStart, FirstKey, Head, Judgement, KeyChange,
    KeyRequest, LogEntry, PolicyChange, RecoveryRegistration, RecoveryReset, Revocation, SetRole,
    Statement, StatementKind, ENTRY_VERSION, MAX_ENTRY_LEN, MAX_EPOCH_ROLES,
};
pub use task::{
    InMemoryReplayGuard, PayloadDigest, ReplayGuard, SessionDelegation, SessionKey,
    TaskAuthorization, TaskBinding, TaskKind, VerifiedTask, MAX_TASK_LEN, MAX_TASK_LIFETIME,
    TASK_VERSION,
};
