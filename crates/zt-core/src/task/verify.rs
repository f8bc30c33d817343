//! Verifying a task authorization against the key state (spec §9.4).
//!
//! Cheap checks first (organization, epoch, active key, binding, times, delegation limits),
//! then signatures, then the replay record, so that a refused authorization never enters the
//! replay cache. With the agent's key it costs one `verify_strict`; with a session key, two.

use std::collections::BTreeMap;

use super::{SessionDelegation, TaskAuthorization, TaskBinding, MAX_TASK_LIFETIME};
use crate::command::MAX_CLOCK_SKEW;
use crate::crypto::SigningPublicKey;
use crate::error::TaskError;
use crate::ids::{AgentId, KeyId, UnixTime};
use crate::log::VerifiedLog;
use crate::policy::PromptFrequency;
use crate::state::OrgState;

/// The caller's replay cache and session list (spec §9.4). zt-core keeps no state of its
/// own between calls; a server keeps these in its database, a device in memory.
pub trait ReplayGuard {
    /// Records `key` until `expires_at`; false if it was recorded before.
    fn first_use(&mut self, key: [u8; 32], expires_at: UnixTime) -> bool;

    /// True if the client ended this session (log out); its tasks are refused.
    fn session_ended(&self, session: &SigningPublicKey) -> bool {
        let _ = session;
        false
    }
}

/// A replay cache in memory, for devices and tests.
#[derive(Debug, Default, Clone)]
pub struct InMemoryReplayGuard {
    seen: BTreeMap<[u8; 32], UnixTime>,
    ended_sessions: Vec<SigningPublicKey>,
}

impl InMemoryReplayGuard {
    /// Forgets entries that expired before `now`.
    pub fn prune(&mut self, now: UnixTime) {
        self.seen.retain(|_, expires_at| *expires_at >= now);
    }

    /// Ends a session (log out).
    pub fn end_session(&mut self, session: SigningPublicKey) {
        self.ended_sessions.push(session);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

impl ReplayGuard for InMemoryReplayGuard {
    fn first_use(&mut self, key: [u8; 32], expires_at: UnixTime) -> bool {
        match self.seen.entry(key) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(expires_at);
                true
            }
        }
    }

    fn session_ended(&self, session: &SigningPublicKey) -> bool {
        self.ended_sessions.contains(session)
    }
}

/// A task authorization that passed every check: the proof a host runs the task on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTask {
    /// The agent.
    pub agent: AgentId,
    /// Their active key.
    pub key: KeyId,
    /// The task.
    pub binding: TaskBinding,
    /// Until when it is valid.
    pub expires_at: UnixTime,
    /// Each task, or the session's frequency.
    pub frequency: PromptFrequency,
}

impl OrgState {
    /// Verifies `authorization` for the task `expected` at `now` (spec §9.4).
    pub fn verify_task(
        &self,
        authorization: &TaskAuthorization,
        expected: &TaskBinding,
        now: UnixTime,
        guard: &mut impl ReplayGuard,
    ) -> Result<VerifiedTask, TaskError> {
        if authorization.org != self.org || authorization.epoch != self.epoch {
            return Err(TaskError::WrongOrganization);
        }
        let (active, info) = self
            .active_key(authorization.agent)
            .ok_or(TaskError::KeyNotActive)?;
        if active != authorization.key {
            return Err(TaskError::KeyNotActive);
        }
        if authorization.binding != *expected {
            return Err(TaskError::WrongTask);
        }
        check_window(
            authorization.issued_at,
            authorization.expires_at,
            MAX_TASK_LIFETIME,
            now,
        )?;
        let (signer, frequency) = match &authorization.delegation {
            None => (info.record.signing, PromptFrequency::EachTask),
            Some(delegation) => {
                let bound = delegation.org == authorization.org
                    && delegation.epoch == authorization.epoch
                    && delegation.agent == authorization.agent
                    && delegation.key == authorization.key;
                let outlived = authorization.expires_at > delegation.expires_at
                    || guard.session_ended(&delegation.session_key);
                self.check_delegation_with(delegation, &info.record.signing, now, bound, outlived)?;
                (delegation.session_key, delegation.frequency)
            }
        };
        if !signer.verify_strict(&authorization.signed_message(), &authorization.signature) {
            return Err(TaskError::BadSignature);
        }
        if !guard.first_use(authorization.replay_key(), authorization.expires_at) {
            return Err(TaskError::Replayed);
        }
        Ok(VerifiedTask {
            agent: authorization.agent,
            key: authorization.key,
            binding: authorization.binding.clone(),
            expires_at: authorization.expires_at,
            frequency,
        })
    }
}

impl OrgState {
    /// Checks a session delegation on its own, as a server does when a client starts a
    /// session (spec §9.2, and step 5 of §9.4 without the task): it names this organization
    /// and epoch and the agent's active key, its frequency is allowed, it is within its
    /// window at `now`, and the active key signed it. Whether the session was ended is the
    /// caller's to check.
    pub fn check_delegation(
        &self,
        delegation: &SessionDelegation,
        now: UnixTime,
    ) -> Result<(), TaskError> {
        if delegation.org != self.org || delegation.epoch != self.epoch {
            return Err(TaskError::WrongOrganization);
        }
        let (active, info) = self
            .active_key(delegation.agent)
            .ok_or(TaskError::KeyNotActive)?;
        if active != delegation.key {
            return Err(TaskError::KeyNotActive);
        }
        self.check_delegation_with(delegation, &info.record.signing, now, true, false)
    }

    /// Step 5 of §9.4, in the order the checks have always run: `bound` says the delegation
    /// names the authorization's organization, epoch, agent and key (whose signing key is
    /// `signing`); `outlived` that the task outlives the session or the session was ended.
    fn check_delegation_with(
        &self,
        delegation: &SessionDelegation,
        signing: &SigningPublicKey,
        now: UnixTime,
        bound: bool,
        outlived: bool,
    ) -> Result<(), TaskError> {
        if !bound || delegation.frequency == PromptFrequency::EachTask {
            return Err(TaskError::SessionInvalid);
        }
        if !self.policy.allows(delegation.frequency) {
            return Err(TaskError::FrequencyNotAllowed);
        }
        let limit = delegation.frequency.max_session_seconds();
        check_window(delegation.issued_at, delegation.expires_at, limit, now)
            .map_err(|_| TaskError::SessionInvalid)?;
        if outlived {
            return Err(TaskError::SessionInvalid);
        }
        if !signing.verify_strict(&delegation.signed_message(), &delegation.signature) {
            return Err(TaskError::BadSignature);
        }
        Ok(())
    }
}

impl VerifiedLog {
    /// Verifies a task on a device: as [`OrgState::verify_task`], but every task is refused
    /// once a reset closed the pinned epoch (spec §9.4).
    pub fn verify_task(
        &self,
        authorization: &TaskAuthorization,
        expected: &TaskBinding,
        now: UnixTime,
        guard: &mut impl ReplayGuard,
    ) -> Result<VerifiedTask, TaskError> {
        if self.closed_at().is_some() {
            return Err(TaskError::EpochClosed);
        }
        self.state()
            .verify_task(authorization, expected, now, guard)
    }
}

/// `issued_at` not in the future (beyond the skew), `now` before `expires_at`, and a
/// lifetime no longer than `max_lifetime`.
fn check_window(
    issued_at: UnixTime,
    expires_at: UnixTime,
    max_lifetime: u64,
    now: UnixTime,
) -> Result<(), TaskError> {
    if expires_at <= issued_at || expires_at.seconds_since(issued_at) > max_lifetime {
        return Err(TaskError::LifetimeTooLong);
    }
    if issued_at > now.plus(MAX_CLOCK_SKEW) || now >= expires_at {
        return Err(TaskError::Expired);
    }
    Ok(())
}
