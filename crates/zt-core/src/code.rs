//! The six-digit verification code of a key request (spec §7).
//!
//! The requester's client shows the code when it makes the request; the requester tells it
//! to an approver out of band; the approver's client derives the code from the request it
//! received and compares, in constant time, before it signs anything. A server that swapped
//! the requested key would have to find a key whose code matches: the derivation runs
//! Argon2id so that each try costs what a passphrase guess costs (docs/threat-model.md).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

use crate::crypto::{argon2id, labeled_hash};
use crate::error::ParseIdError;
use crate::ids::{AgentId, Epoch, OrgId, RequestId};
use crate::keys::{AgentKeys, PublicKeyRecord};
use crate::labels;
use crate::statement::{EntryBuilder, LogEntry, Statement};

/// Argon2id memory for the code, in KiB (spec §7.1). Fixed: both sides must agree.
pub const CODE_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes for the code (spec §7.1).
pub const CODE_PASSES: u32 = 3;

/// A six-digit verification code, `000000` to `999999`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerificationCode(u32);

impl VerificationCode {
    /// Derives the code of a request (spec §7.1). Slow on purpose: about as long as one
    /// passphrase derivation at the floor parameters.
    pub fn derive(
        org: OrgId,
        epoch: Epoch,
        agent: AgentId,
        request: RequestId,
        key: &PublicKeyRecord,
    ) -> VerificationCode {
        let password = labeled_hash(
            labels::VERIFICATION_CODE,
            &[
                org.as_bytes(),
                &epoch.0.to_be_bytes(),
                agent.as_bytes(),
                request.as_bytes(),
                key.signing.as_bytes(),
                key.exchange.as_bytes(),
            ],
        );
        // Fixed, valid parameters: Argon2id cannot refuse them.
        let output = argon2id::<32>(
            &password,
            request.as_bytes(),
            &[],
            &[],
            CODE_MEMORY_KIB,
            CODE_PASSES,
            1,
        );
        let mut first = [0u8; 8];
        if let Some(prefix) = output.as_ref().and_then(|output| output.get(..8)) {
            first.copy_from_slice(prefix);
        }
        VerificationCode(u32::try_from(u64::from_be_bytes(first) % 1_000_000).unwrap_or(0))
    }

    /// The code of a key-request entry, or `None` for any other entry.
    pub fn of_request(entry: &LogEntry) -> Option<VerificationCode> {
        let Statement::KeyRequest(request) = entry.statement() else {
            return None;
        };
        let header = entry.header();
        Some(VerificationCode::derive(
            header.org,
            header.epoch,
            request.agent,
            request.request,
            &request.key,
        ))
    }

    /// Constant-time comparison (spec §7.2).
    pub fn matches(&self, other: &VerificationCode) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Display for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerificationCode({self})")
    }
}

impl FromStr for VerificationCode {
    type Err = ParseIdError;

    /// Exactly six ASCII digits.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseIdError {
                what: "verification code (six digits)",
            });
        }
        text.parse()
            .map(VerificationCode)
            .map_err(|_| ParseIdError {
                what: "verification code (six digits)",
            })
    }
}

impl Serialize for VerificationCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VerificationCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What the approver's client makes of the code the requester told them (spec §7.2).
#[derive(Debug)]
pub enum CodeJudgement {
    /// The codes match: this approval, signed, is ready to submit.
    Matches(LogEntry),
    /// They do not: this signed report counts toward the request's lock; nothing is approved.
    Mismatch(LogEntry),
}

impl EntryBuilder {
    /// The approver's step (spec §7.2): derives the code of `request_entry` (slow), compares
    /// it with the code the requester `told` in constant time, and signs an approval if they
    /// match or a code-mismatch report if not. `None` if the entry is not a key request.
    pub fn judge_code(
        &self,
        request_entry: &LogEntry,
        told: &VerificationCode,
        approver: AgentId,
        keys: &AgentKeys,
    ) -> Option<CodeJudgement> {
        let Statement::KeyRequest(request) = request_entry.statement() else {
            return None;
        };
        let expected = VerificationCode::of_request(request_entry)?;
        Some(if expected.matches(told) {
            CodeJudgement::Matches(self.approval(request, request_entry.hash(), approver, keys))
        } else {
            CodeJudgement::Mismatch(self.code_mismatch(
                request,
                request_entry.hash(),
                approver,
                keys,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_strictly() {
        assert_eq!(VerificationCode(42).to_string(), "000042");
        assert_eq!(
            "000042".parse::<VerificationCode>().unwrap(),
            VerificationCode(42)
        );
        for bad in [
            "42",
            "1234567",
            "12345a",
            "+12345",
            " 12345",
            "１２３４５６",
        ] {
            assert!(bad.parse::<VerificationCode>().is_err(), "{bad:?}");
        }
        assert!(VerificationCode(7).matches(&VerificationCode(7)));
        assert!(!VerificationCode(7).matches(&VerificationCode(8)));
    }
}
