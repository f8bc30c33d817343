//! The admin's zero trust status view, derived from the state (spec §6.12).

use serde::{Deserialize, Serialize};

use super::{Activation, KeyStatus, OrgState, PendingRequest, RecoveryRegistrationView};
use crate::ids::{AgentId, KeyId, RequestId, UnixTime};
use crate::policy::Role;

/// An agent's zero trust status, as the seeds' status page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentKeyState {
    /// Never had a key in this epoch (nor in an earlier one).
    NotSetUp,
    /// Has a request waiting for approval and no active key.
    Pending,
    /// Has an active key.
    Active,
    /// Had a key in this epoch; it was revoked and not replaced.
    Revoked,
    /// Had a key that an organization reset ended; has not set up again.
    Reset,
}

/// One row of the zero trust status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// The agent.
    pub agent: AgentId,
    /// Their role.
    pub role: Role,
    /// Their zero trust status.
    pub state: AgentKeyState,
    /// Their active key.
    pub active_key: Option<KeyId>,
    /// When the active key became active.
    pub active_since: Option<UnixTime>,
    /// Who approved the active key, if an approver did.
    pub approved_by: Option<AgentId>,
    /// Their pending request, if any.
    pub pending_request: Option<RequestId>,
    /// Whether a recovery file is registered.
    pub has_recovery_file: bool,
}

impl OrgState {
    /// The status of one agent (an agent the log never named is `not set up`).
    pub fn agent_status(&self, agent: AgentId) -> AgentStatus {
        let record = self.agents.get(&agent).cloned().unwrap_or_default();
        let active = record
            .active_key
            .and_then(|key| Some((key, self.keys.get(&key)?)));
        let state = if active.is_some() {
            AgentKeyState::Active
        } else if record.pending_request.is_some() {
            AgentKeyState::Pending
        } else if record.had_revoked_key {
            AgentKeyState::Revoked
        } else if record.reset_by_epoch {
            AgentKeyState::Reset
        } else {
            AgentKeyState::NotSetUp
        };
        AgentStatus {
            agent,
            role: record.role(),
            state,
            active_key: active.map(|(key, _)| key),
            active_since: active.map(|(_, info)| info.changed.1),
            approved_by: active.and_then(|(_, info)| match info.status {
                KeyStatus::Active(Activation::Approved { by }) => Some(by),
                _ => None,
            }),
            pending_request: record.pending_request,
            has_recovery_file: record.recovery.is_some(),
        }
    }

    /// The status of every agent the log names, by agent id.
    pub fn statuses(&self) -> impl Iterator<Item = AgentStatus> + '_ {
        self.agents.keys().map(|agent| self.agent_status(*agent))
    }

    /// Every pending request as the pending list shows it, oldest first.
    pub fn pending_views(&self) -> Vec<PendingRequest> {
        let mut views: Vec<PendingRequest> = self
            .pending_requests()
            .map(|(request, info)| PendingRequest::of(request, info))
            .collect();
        views.sort_by_key(|view| view.seq);
        views
    }

    /// Every current recovery registration, by agent id.
    pub fn recovery_views(&self) -> impl Iterator<Item = (AgentId, RecoveryRegistrationView)> + '_ {
        self.agents.iter().filter_map(|(agent, record)| {
            let view = RecoveryRegistrationView::of(record.recovery.as_ref()?);
            Some((*agent, view))
        })
    }
}
