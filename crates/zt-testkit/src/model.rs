//! A reference model of the key lifecycle: DESIGN.md §3 restated as plainly as possible,
//! written apart from zt-core's rules so that the two can disagree.

use std::collections::{BTreeMap, BTreeSet};

use zt_core::{AgentId, KeyId, PromptPolicy, RegistrationId, RequestId, Role};

/// One request as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRequest {
    /// The requester.
    pub agent: AgentId,
    /// The requested key.
    pub key: KeyId,
    /// Still waiting.
    pub open: bool,
    /// Wrong codes so far.
    pub wrong_codes: u8,
}

/// What the model knows about an organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    /// Number of organization resets so far.
    pub epoch: u32,
    /// Whether this epoch has had its first key.
    pub has_first_key: bool,
    /// Roles other than member.
    pub roles: BTreeMap<AgentId, Role>,
    /// Active keys.
    pub active: BTreeMap<AgentId, KeyId>,
    /// Pending request of each agent.
    pub pending: BTreeMap<AgentId, RequestId>,
    /// Requests of this epoch.
    pub requests: BTreeMap<RequestId, ModelRequest>,
    /// Current recovery registration of each agent.
    pub recovery: BTreeMap<AgentId, RegistrationId>,
    /// The prompt policy, if changed from the default.
    pub policy: Option<PromptPolicy>,
    /// Registrations that were ever current in this epoch.
    pub known_registrations: BTreeSet<RegistrationId>,
    /// Keys registered in this epoch: none may be registered twice.
    pub used_keys: BTreeSet<KeyId>,
}

impl Model {
    /// The agent's role.
    pub fn role(&self, agent: AgentId) -> Role {
        self.roles.get(&agent).copied().unwrap_or(Role::Member)
    }

    fn is_approver_with_key(&self, agent: AgentId) -> bool {
        matches!(self.role(agent), Role::Admin | Role::SuperAdmin)
            && self.active.contains_key(&agent)
    }

    /// True if removing `agent`'s key or approver role would leave nobody able to approve.
    pub fn is_last_approver(&self, agent: AgentId) -> bool {
        self.is_approver_with_key(agent)
            && !self
                .active
                .keys()
                .any(|other| *other != agent && self.is_approver_with_key(*other))
    }

    /// Can the host set this role?
    pub fn allows_set_role(&self, agent: AgentId, role: Role, force: bool) -> bool {
        let demotes = !matches!(role, Role::Admin | Role::SuperAdmin);
        self.role(agent) != role && (force || !demotes || !self.is_last_approver(agent))
    }

    /// Sets a role; removal revokes, withdraws and cancels.
    pub fn set_role(&mut self, agent: AgentId, role: Role) {
        if role == Role::Member {
            self.roles.remove(&agent);
        } else {
            self.roles.insert(agent, role);
        }
        if role == Role::Removed {
            self.active.remove(&agent);
            self.close_pending(agent);
            self.recovery.remove(&agent);
        }
    }

    /// Can `agent` create the first key?
    pub fn allows_first_key(&self, agent: AgentId) -> bool {
        !self.has_first_key && self.role(agent) != Role::Removed
    }

    /// Can `agent` act for themselves (request, register recovery, …)?
    pub fn can_act(&self, agent: AgentId) -> bool {
        self.has_first_key && self.role(agent) != Role::Removed
    }

    /// Can `approver` judge `request`?
    pub fn allows_judgement(&self, approver: AgentId, request: RequestId) -> bool {
        let Some(info) = self.requests.get(&request) else {
            return false;
        };
        self.has_first_key
            && info.open
            && info.wrong_codes < 5
            && approver != info.agent
            && self.is_approver_with_key(approver)
    }

    /// Can `revoker` revoke `subject`'s key?
    pub fn allows_revocation(&self, revoker: AgentId, subject: AgentId, force: bool) -> bool {
        self.active.contains_key(&subject)
            && (revoker == subject || self.is_approver_with_key(revoker))
            && (force || !self.is_last_approver(subject))
    }

    /// Closes an agent's pending request, if any.
    pub fn close_pending(&mut self, agent: AgentId) {
        if let Some(request) = self.pending.remove(&agent) {
            if let Some(info) = self.requests.get_mut(&request) {
                info.open = false;
            }
        }
    }

    /// An organization reset: keys, requests, recovery and policy end; roles stay.
    pub fn reset(&mut self) {
        self.epoch += 1;
        self.has_first_key = false;
        self.active.clear();
        self.pending.clear();
        self.requests.clear();
        self.recovery.clear();
        self.known_registrations.clear();
        self.used_keys.clear();
        self.policy = None;
    }
}
