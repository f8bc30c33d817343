//! Domain-separation labels (spec §2.2).
//!
//! Every signature, hash and key derivation in zt starts with one of these labels, so that
//! bytes made for one purpose can never be accepted for another. The `v1` is the protocol
//! version: a change to any encoding that reuses a label is a new version, never an edit.

/// Entry hash: the link of the log's hash chain (spec §4.4).
pub const ENTRY_HASH: &str = "zt-v1/entry-hash";
/// Fingerprint of a key pair (spec §3.5).
pub const KEY_ID: &str = "zt-v1/key-id";

/// HKDF salt prefix for an agent's keys from the Argon2id output (spec §3.3).
pub const AGENT_KEY_SALT: &str = "zt-v1/agent-key";
/// HKDF info for the agent's Ed25519 seed (spec §3.3).
pub const AGENT_KEY_ED25519: &str = "zt-v1/agent-key/ed25519";
/// HKDF info for the agent's X25519 secret (spec §3.3).
pub const AGENT_KEY_X25519: &str = "zt-v1/agent-key/x25519";

/// HKDF salt prefix for recovery keys from the recovery secret (spec §8.2).
pub const RECOVERY_KEY_SALT: &str = "zt-v1/recovery-key";
/// HKDF info for the recovery Ed25519 seed (spec §8.2).
pub const RECOVERY_KEY_ED25519: &str = "zt-v1/recovery-key/ed25519";
/// HKDF info for the recovery X25519 secret (spec §8.2).
pub const RECOVERY_KEY_X25519: &str = "zt-v1/recovery-key/x25519";
/// Checksum of the recovery file's contents (spec §8.3).
pub const RECOVERY_FILE_CHECKSUM: &str = "zt-v1/recovery-file/checksum";

/// HKDF info for a sealed box's key and nonce (spec §3.7).
pub const SEAL_KEY: &str = "zt-v1/seal/key";
/// Associated data of a box sealed to an agent key (spec §3.7).
pub const SEAL_TO_AGENT_KEY: &str = "zt-v1/seal/agent-key";
/// Associated data of a box sealed to a recovery key (spec §3.7).
pub const SEAL_TO_RECOVERY_KEY: &str = "zt-v1/seal/recovery-key";

/// Input of the six-digit verification code (spec §7).
pub const VERIFICATION_CODE: &str = "zt-v1/verification-code";

/// Proof-of-possession signature by a key that a statement introduces (spec §4.3).
pub const POSSESSION: &str = "zt-v1/statement/possession";
/// Statement: an epoch starts (organization created or reset), signed by the host.
pub const STATEMENT_EPOCH_START: &str = "zt-v1/statement/epoch-start";
/// Statement: the host sets an agent's role.
pub const STATEMENT_SET_ROLE: &str = "zt-v1/statement/set-role";
/// Statement: the epoch's first key, signed by itself.
pub const STATEMENT_FIRST_KEY: &str = "zt-v1/statement/first-key";
/// Statement: a key request, signed by the requested key.
pub const STATEMENT_KEY_REQUEST: &str = "zt-v1/statement/key-request";
/// Statement: an approval, signed by the approver's active key.
pub const STATEMENT_APPROVAL: &str = "zt-v1/statement/approval";
/// Statement: a rejection, signed by the approver's active key.
pub const STATEMENT_REJECTION: &str = "zt-v1/statement/rejection";
/// Statement: a wrong verification code, signed by the approver's active key.
pub const STATEMENT_CODE_MISMATCH: &str = "zt-v1/statement/code-mismatch";
/// Statement: a key change, signed by the old key.
pub const STATEMENT_KEY_CHANGE: &str = "zt-v1/statement/key-change";
/// Statement: a revocation, signed by the key's owner or an approver.
pub const STATEMENT_REVOCATION: &str = "zt-v1/statement/revocation";
/// Statement: a recovery registration, signed by the agent's active key.
pub const STATEMENT_RECOVERY_REGISTRATION: &str = "zt-v1/statement/recovery-registration";
/// Statement: a reset with the recovery file, signed by the recovery key.
pub const STATEMENT_RECOVERY_RESET: &str = "zt-v1/statement/recovery-reset";
/// Statement: the prompt-frequency policy, signed by an approver.
pub const STATEMENT_PROMPT_POLICY: &str = "zt-v1/statement/prompt-policy";

/// A sensitive task's authorization (spec §9.1).
pub const TASK_AUTHORIZATION: &str = "zt-v1/task-authorization";
/// A session key's delegation by an agent key (spec §9.2).
pub const SESSION_DELEGATION: &str = "zt-v1/session-delegation";
/// Replay-cache key of a task authorization (spec §9.4).
pub const TASK_REPLAY_KEY: &str = "zt-v1/task-replay-key";
/// Digest of a task payload (spec §9.1).
pub const TASK_PAYLOAD: &str = "zt-v1/task-payload";

/// Every label, for the uniqueness test and the spec's table.
pub const ALL: &[&str] = &[
    ENTRY_HASH,
    KEY_ID,
    AGENT_KEY_SALT,
    AGENT_KEY_ED25519,
    AGENT_KEY_X25519,
    RECOVERY_KEY_SALT,
    RECOVERY_KEY_ED25519,
    RECOVERY_KEY_X25519,
    RECOVERY_FILE_CHECKSUM,
    SEAL_KEY,
    SEAL_TO_AGENT_KEY,
    SEAL_TO_RECOVERY_KEY,
    VERIFICATION_CODE,
    POSSESSION,
    STATEMENT_EPOCH_START,
    STATEMENT_SET_ROLE,
    STATEMENT_FIRST_KEY,
    STATEMENT_KEY_REQUEST,
    STATEMENT_APPROVAL,
    STATEMENT_REJECTION,
    STATEMENT_CODE_MISMATCH,
    STATEMENT_KEY_CHANGE,
    STATEMENT_REVOCATION,
    STATEMENT_RECOVERY_REGISTRATION,
    STATEMENT_RECOVERY_RESET,
    STATEMENT_PROMPT_POLICY,
    TASK_AUTHORIZATION,
    SESSION_DELEGATION,
    TASK_REPLAY_KEY,
    TASK_PAYLOAD,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn labels_are_unique_versioned_ascii() {
        let unique: BTreeSet<_> = ALL.iter().collect();
        assert_eq!(unique.len(), ALL.len(), "two purposes share a label");
        for label in ALL {
            assert!(label.starts_with("zt-v1/"), "{label} is not versioned");
            assert!(
                label.is_ascii() && label.len() < 64,
                "{label} is not short ASCII"
            );
            assert!(
                label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b"-/0123456789".contains(&b)),
                "{label} has characters outside [a-z0-9/-]"
            );
        }
    }

    #[test]
    fn the_spec_lists_every_label() {
        let spec = include_str!("../../../docs/spec/02-encoding.md");
        for label in ALL {
            assert!(
                spec.contains(&format!("`{label}`")),
                "spec §2.2 misses {label}"
            );
        }
    }
}
