//! Sensitive tasks: authorizations signed by an active key or by a session key that the
//! active key delegated for a day or a week (spec §9).

mod encoding;
mod verify;

use std::fmt;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

pub use encoding::{MAX_TASK_LEN, TASK_VERSION};
pub use verify::{InMemoryReplayGuard, ReplayGuard, VerifiedTask};

use crate::crypto::{labeled_hash, Signature, SigningPublicKey, SigningSecret};
use crate::error::{ParseIdError, TaskError};
use crate::ids::{write_hex, AgentId, Epoch, KeyId, OrgId, UnixTime};
use crate::keys::AgentKeys;
use crate::labels;
use crate::policy::PromptFrequency;
use crate::secret::{redacted, SessionSeed};

/// The longest a task authorization may be valid, in seconds (spec §9.1).
pub const MAX_TASK_LIFETIME: u64 = 600;

/// A kind of sensitive task: 1 to 64 characters of `a-z 0-9 . _ -` (spec §9.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaskKind(String);

impl TaskKind {
    /// The longest kind, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps a kind.
    pub fn new(kind: &str) -> Result<TaskKind, ParseIdError> {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
        if kind.is_empty() || kind.len() > Self::MAX_LEN || !kind.bytes().all(allowed) {
            return Err(ParseIdError { what: "task kind" });
        }
        Ok(TaskKind(kind.to_owned()))
    }

    /// The kind's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The digest of a task's payload (spec §9.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayloadDigest([u8; 32]);

impl PayloadDigest {
    /// SHA-256 over the label and the payload.
    pub fn of(payload: &[u8]) -> PayloadDigest {
        PayloadDigest(labeled_hash(labels::TASK_PAYLOAD, &[payload]))
    }

    /// Wraps digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> PayloadDigest {
        PayloadDigest(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for PayloadDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayloadDigest(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

impl fmt::Display for PayloadDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl Serialize for PayloadDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PayloadDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        crate::ids::parse_hex::<32>(&text)
            .map(PayloadDigest)
            .ok_or_else(|| serde::de::Error::custom("invalid payload digest"))
    }
}

/// What a task is: its kind and payload digest. Verification compares these with the task
/// actually being run, so an authorization cannot be moved to another task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskBinding {
    /// The kind.
    pub kind: TaskKind,
    /// The payload's digest.
    pub payload: PayloadDigest,
}

/// A session key: made by a client when the agent picks a prompt frequency of a day or a
/// week, and delegated by their active key (spec §9.2). Zeroized on drop; printed redacted.
pub struct SessionKey {
    seed: SessionSeed,
    signing: SigningSecret,
}

// Wiped on drop: its secret fields are a `SessionSeed` and a `SigningSecret`.
impl zeroize::ZeroizeOnDrop for SessionKey {}

impl SessionKey {
    /// A fresh session key from the caller's cryptographic RNG.
    pub fn generate(rng: &mut impl CryptoRngCore) -> SessionKey {
        SessionKey::from_seed(SessionSeed::random(rng))
    }

    /// The session key stored as `seed`.
    pub fn from_seed(seed: SessionSeed) -> SessionKey {
        let signing = SigningSecret::from_seed(&Zeroizing::new(*seed.expose_secret()));
        SessionKey { seed, signing }
    }

    /// The seed to store (secret).
    pub fn seed(&self) -> &SessionSeed {
        &self.seed
    }

    /// The public key a delegation names.
    pub fn public(&self) -> SigningPublicKey {
        *self.signing.public()
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "SessionKey", 32)
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "SessionKey", 32)
    }
}

/// An active key's delegation to a session key for a day or a week (spec §9.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDelegation {
    /// The organization.
    pub org: OrgId,
    /// The epoch.
    pub epoch: Epoch,
    /// The agent.
    pub agent: AgentId,
    /// The agent's active key, which signs the delegation.
    pub key: KeyId,
    /// The session key that may sign tasks.
    pub session_key: SigningPublicKey,
    /// The prompt frequency the session implements.
    pub frequency: PromptFrequency,
    /// When the session starts.
    pub issued_at: UnixTime,
    /// When it ends.
    pub expires_at: UnixTime,
    /// By the agent's key.
    pub signature: Signature,
}

impl SessionDelegation {
    /// Encoded size in bytes (spec §9.2).
    pub const ENCODED_LEN: usize = 16 + 4 + 16 + 32 + 32 + 1 + 8 + 8 + 64;

    /// Delegates to `session` for the whole of `frequency` (24 or 168 hours) from `now`.
    /// Refuses each-task, which needs no session.
    pub fn issue(
        keys: &AgentKeys,
        org: OrgId,
        epoch: Epoch,
        session: SigningPublicKey,
        frequency: PromptFrequency,
        now: UnixTime,
    ) -> Result<SessionDelegation, TaskError> {
        if frequency == PromptFrequency::EachTask {
            return Err(TaskError::FrequencyNotAllowed);
        }
        let mut delegation = SessionDelegation {
            org,
            epoch,
            agent: keys.agent(),
            key: keys.key_id(),
            session_key: session,
            frequency,
            issued_at: now,
            expires_at: now.plus(frequency.max_session_seconds()),
            signature: Signature::from_bytes([0; 64]),
        };
        delegation.signature = keys.sign(&delegation.signed_message());
        Ok(delegation)
    }
}

/// The authorization of one sensitive task (spec §9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskAuthorization {
    /// The organization.
    pub org: OrgId,
    /// The epoch.
    pub epoch: Epoch,
    /// The agent.
    pub agent: AgentId,
    /// The agent's active key (which signs, or delegated the session key that signs).
    pub key: KeyId,
    /// What the task is.
    pub binding: TaskBinding,
    /// When it was signed.
    pub issued_at: UnixTime,
    /// When it stops being valid.
    pub expires_at: UnixTime,
    /// Random; makes each authorization unique for the replay check.
    pub nonce: [u8; 16],
    /// The delegation, when a session key signs.
    pub delegation: Option<SessionDelegation>,
    /// By the agent's key or the session key.
    pub signature: Signature,
}

impl TaskAuthorization {
    /// Signs a task with the agent's key (prompting on each task), valid for `lifetime`
    /// seconds (at most [`MAX_TASK_LIFETIME`]).
    pub fn sign(
        keys: &AgentKeys,
        org: OrgId,
        epoch: Epoch,
        binding: TaskBinding,
        now: UnixTime,
        lifetime: u64,
        rng: &mut impl CryptoRngCore,
    ) -> TaskAuthorization {
        let mut authorization = TaskAuthorization::unsigned(
            org,
            epoch,
            keys.agent(),
            keys.key_id(),
            binding,
            now,
            lifetime,
            None,
            rng,
        );
        authorization.signature = keys.sign(&authorization.signed_message());
        authorization
    }

    /// Signs a task with a session key under its delegation, without the passphrase.
    pub fn sign_with_session(
        session: &SessionKey,
        delegation: &SessionDelegation,
        binding: TaskBinding,
        now: UnixTime,
        lifetime: u64,
        rng: &mut impl CryptoRngCore,
    ) -> TaskAuthorization {
        let mut authorization = TaskAuthorization::unsigned(
            delegation.org,
            delegation.epoch,
            delegation.agent,
            delegation.key,
            binding,
            now,
            lifetime,
            Some(delegation.clone()),
            rng,
        );
        authorization.signature = session.signing.sign(&authorization.signed_message());
        authorization
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "every field of the authorization"
    )]
    fn unsigned(
        org: OrgId,
        epoch: Epoch,
        agent: AgentId,
        key: KeyId,
        binding: TaskBinding,
        now: UnixTime,
        lifetime: u64,
        delegation: Option<SessionDelegation>,
        rng: &mut impl CryptoRngCore,
    ) -> TaskAuthorization {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        TaskAuthorization {
            org,
            epoch,
            agent,
            key,
            binding,
            issued_at: now,
            expires_at: now.plus(lifetime.min(MAX_TASK_LIFETIME)),
            nonce,
            delegation,
            signature: Signature::from_bytes([0; 64]),
        }
    }

    /// The replay-cache key: unique per organization, agent and nonce (spec §9.4).
    pub fn replay_key(&self) -> [u8; 32] {
        labeled_hash(
            labels::TASK_REPLAY_KEY,
            &[self.org.as_bytes(), self.agent.as_bytes(), &self.nonce],
        )
    }
}
