//! Roles and the prompt-frequency policy (spec §6.2, §9.3).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An agent's role in the organization, as the host's directory says (spec §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// May hold a key; cannot approve.
    Member,
    /// May approve, reject and revoke others' keys.
    Admin,
    /// Same powers as an admin in zt.
    SuperAdmin,
    /// Deprovisioned: their key is revoked and they can do nothing.
    Removed,
}

impl Role {
    /// True for the roles that may approve keys.
    pub fn can_approve(self) -> bool {
        matches!(self, Role::Admin | Role::SuperAdmin)
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Role::Member => 1,
            Role::Admin => 2,
            Role::SuperAdmin => 3,
            Role::Removed => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Role> {
        match code {
            1 => Some(Role::Member),
            2 => Some(Role::Admin),
            3 => Some(Role::SuperAdmin),
            4 => Some(Role::Removed),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::SuperAdmin => "super-admin",
            Role::Removed => "removed",
        })
    }
}

/// How often a client prompts for the passphrase (spec §9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptFrequency {
    /// On each sensitive task (the default).
    EachTask,
    /// Once a day: a session key delegated for 24 hours.
    Day,
    /// Once a week: a session key delegated for 168 hours.
    Week,
}

impl PromptFrequency {
    /// The longest a session delegation for this frequency may last, in seconds.
    pub fn max_session_seconds(self) -> u64 {
        match self {
            PromptFrequency::EachTask => 0,
            PromptFrequency::Day => 24 * 3600,
            PromptFrequency::Week => 168 * 3600,
        }
    }

    fn bit(self) -> u8 {
        match self {
            PromptFrequency::EachTask => 1,
            PromptFrequency::Day => 2,
            PromptFrequency::Week => 4,
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            PromptFrequency::EachTask => 1,
            PromptFrequency::Day => 2,
            PromptFrequency::Week => 3,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<PromptFrequency> {
        match code {
            1 => Some(PromptFrequency::EachTask),
            2 => Some(PromptFrequency::Day),
            3 => Some(PromptFrequency::Week),
            _ => None,
        }
    }
}

/// The frequencies an organization lets its agents choose. Prompting on each task is
/// always allowed (spec §9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PromptPolicy(u8);

impl PromptPolicy {
    /// Every frequency allowed: the policy of a new organization.
    pub const ALL: PromptPolicy = PromptPolicy(0b111);
    /// Only prompting on each task.
    pub const EACH_TASK_ONLY: PromptPolicy = PromptPolicy(0b001);

    /// The policy allowing `frequencies` (each-task is always added).
    pub fn allowing(frequencies: &[PromptFrequency]) -> PromptPolicy {
        PromptPolicy(frequencies.iter().fold(1, |bits, f| bits | f.bit()))
    }

    /// True if agents may choose `frequency`.
    pub fn allows(self, frequency: PromptFrequency) -> bool {
        self.0 & frequency.bit() != 0
    }

    /// The allowed frequencies, in order.
    pub fn frequencies(self) -> Vec<PromptFrequency> {
        [
            PromptFrequency::EachTask,
            PromptFrequency::Day,
            PromptFrequency::Week,
        ]
        .into_iter()
        .filter(|f| self.allows(*f))
        .collect()
    }

    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    /// Bit 0 (each task) must be set; bits 3 to 7 must be clear.
    pub(crate) fn from_bits(bits: u8) -> Option<PromptPolicy> {
        (bits & 1 == 1 && bits & !0b111 == 0).then_some(PromptPolicy(bits))
    }
}

impl Default for PromptPolicy {
    fn default() -> Self {
        PromptPolicy::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_task_is_always_allowed() {
        let policy = PromptPolicy::allowing(&[PromptFrequency::Week]);
        assert!(policy.allows(PromptFrequency::EachTask));
        assert!(policy.allows(PromptFrequency::Week));
        assert!(!policy.allows(PromptFrequency::Day));
        assert_eq!(PromptPolicy::from_bits(0b110), None);
        assert_eq!(PromptPolicy::from_bits(0b1001), None);
        assert_eq!(PromptPolicy::from_bits(0b101), Some(policy));
    }

    #[test]
    fn codes_round_trip() {
        for role in [Role::Member, Role::Admin, Role::SuperAdmin, Role::Removed] {
            assert_eq!(Role::from_code(role.code()), Some(role));
        }
        assert_eq!(Role::from_code(0), None);
        assert_eq!(Role::from_code(5), None);
    }
}
