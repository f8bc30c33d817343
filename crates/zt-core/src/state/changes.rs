//! What an entry changes in the views a store keeps (spec §6.12): agent statuses, pending
//! requests, recovery registrations, key history.
//!
//! Derived, never restated: the entry is applied, with the same fold as always, to a copy of
//! just the parts of the state it touches, and the views are read off the result. The key
//! history is the difference of key states before and after.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{
    AgentRecord, KeyStatus, OrgState, RecoveryInfo, RejectionReason, RequestInfo, RequestState,
    RevocationReason, VerifiedEntry,
};
use crate::ids::{AgentId, KeyId, RegistrationId, RequestId, Seq, UnixTime};
use crate::policy::Role;
use crate::state::{Activation, AgentStatus};
use crate::statement::{LogEntry, Statement};

/// Who made a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "agent")]
pub enum Actor {
    /// An agent, with their key (or recovery key).
    Agent(AgentId),
    /// The host (role changes, organization resets).
    Host,
}

/// One line of the key history view: who did what to whose key (the seeds' history page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEvent {
    /// The entry that did it.
    pub seq: Seq,
    /// When (the statement's time).
    pub time: UnixTime,
    /// The key concerned, if the event concerns a key.
    pub key: Option<KeyId>,
    /// Whose key, or whom the event concerns.
    pub owner: Option<AgentId>,
    /// Who made the statement.
    pub actor: Actor,
    /// What happened, e.g. `approved`, `revoked`.
    pub action: &'static str,
    /// Why, e.g. `superseded`, `self`, `by-approver`; empty when there is nothing to add.
    pub reason: &'static str,
}

/// Every history action (for stores that read lines back).
pub const HISTORY_ACTIONS: &[&str] = &[
    "requested",
    "approved",
    "activated",
    "revoked",
    "rejected",
    "reset",
    "wrong-code",
    "locked",
    "recovery-file-created",
    "role-changed",
    "policy-changed",
    "organization-reset",
];

/// Every history reason (for stores that read lines back).
pub const HISTORY_REASONS: &[&str] = &[
    "",
    "first-key",
    "changed",
    "recovered",
    "superseded",
    "self",
    "by-approver",
    "deprovisioned",
    "replaced",
    "member",
    "admin",
    "super-admin",
    "removed",
];

/// A pending request as the pending list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingRequest {
    /// The request.
    pub request: RequestId,
    /// The requester.
    pub agent: AgentId,
    /// The requested key.
    pub key: KeyId,
    /// The request entry's sequence number.
    pub seq: Seq,
    /// When it was made.
    pub time: UnixTime,
    /// Wrong codes reported so far.
    pub mismatches: u8,
    /// Locked after too many wrong codes.
    pub locked: bool,
}

impl PendingRequest {
    /// The view of a request.
    pub fn of(request: RequestId, info: &RequestInfo) -> PendingRequest {
        PendingRequest {
            request,
            agent: info.agent,
            key: info.key,
            seq: info.made.0,
            time: info.made.1,
            mismatches: info.mismatches,
            locked: info.is_locked(),
        }
    }
}

/// What one entry changes in the views.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The new status of every agent whose status the entry may change.
    pub statuses: Vec<AgentStatus>,
    /// Requests now pending (inserted or updated).
    pub pending: Vec<PendingRequest>,
    /// Requests no longer pending.
    pub closed: Vec<RequestId>,
    /// New lines of the key history.
    pub history: Vec<HistoryEvent>,
    /// The recovery registrations the entry changed: each agent's registration now (`None`:
    /// the agent has none any more).
    pub recovery: Vec<(AgentId, Option<RecoveryRegistrationView>)>,
}

/// An agent's current recovery registration, as the recovery view shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RecoveryRegistrationView {
    /// The registration, named in the agent's recovery file.
    pub registration: RegistrationId,
    /// The entry that registered it.
    pub seq: Seq,
    /// When.
    pub time: UnixTime,
}

impl RecoveryRegistrationView {
    /// The view of a registration.
    pub fn of(info: &RecoveryInfo) -> RecoveryRegistrationView {
        RecoveryRegistrationView {
            registration: info.registration,
            seq: info.registered.0,
            time: info.registered.1,
        }
    }
}

impl OrgState {
    /// What `entry`, verified against this state, changes in the views (spec §6.12).
    pub fn changes(&self, entry: &VerifiedEntry) -> Changes {
        let entry = entry.entry();
        let (agents, requests) = self.touched_by(entry);
        let before = match &agents {
            Some(agents) => self.restricted(agents, &requests),
            None => self.clone(),
        };
        let mut after = before.clone();
        after.apply_checked(entry);
        let header = entry.header();
        let actor = actor_of(entry);
        let everyone: BTreeSet<AgentId> = before
            .agents
            .keys()
            .chain(after.agents.keys())
            .copied()
            .collect();
        let statuses = match &agents {
            Some(agents) => agents
                .iter()
                .map(|agent| after.agent_status(*agent))
                .collect(),
            None => everyone
                .iter()
                .map(|agent| after.agent_status(*agent))
                .collect(),
        };
        let recovery = everyone
            .iter()
            .filter_map(|agent| {
                let now = after.recovery(*agent).map(RecoveryRegistrationView::of);
                let then = before.recovery(*agent).map(RecoveryRegistrationView::of);
                (now != then).then_some((*agent, now))
            })
            .collect();
        let mut changes = Changes {
            statuses,
            recovery,
            history: key_history(&before, &after, header.seq, header.time, actor),
            ..Changes::default()
        };
        let request_ids: BTreeSet<RequestId> = before
            .requests
            .keys()
            .chain(after.requests.keys())
            .copied()
            .collect();
        for id in request_ids {
            match after.requests.get(&id) {
                Some(info) if info.state == RequestState::Pending => {
                    changes.pending.push(PendingRequest::of(id, info));
                }
                _ if before
                    .requests
                    .get(&id)
                    .is_some_and(|info| info.state == RequestState::Pending) =>
                {
                    changes.closed.push(id);
                }
                _ => {}
            }
        }
        let event = |key, owner, action, reason| HistoryEvent {
            seq: header.seq,
            time: header.time,
            key,
            owner,
            actor,
            action,
            reason,
        };
        match entry.statement() {
            Statement::CodeMismatch(judgement) => {
                let locked = after
                    .requests
                    .get(&judgement.request)
                    .is_some_and(RequestInfo::is_locked);
                let action = if locked { "locked" } else { "wrong-code" };
                changes.history.push(event(
                    Some(judgement.subject_key),
                    Some(judgement.subject),
                    action,
                    "",
                ));
            }
            Statement::RecoveryRegistration(registration) => {
                changes.history.push(event(
                    Some(registration.key),
                    Some(registration.agent),
                    "recovery-file-created",
                    "",
                ));
            }
            Statement::SetRole(set) => {
                changes.history.push(event(
                    None,
                    Some(set.agent),
                    "role-changed",
                    role_name(set.role),
                ));
            }
            Statement::PromptPolicy(change) => {
                changes
                    .history
                    .push(event(None, Some(change.admin), "policy-changed", ""));
            }
            Statement::EpochStart(_) => {
                changes
                    .history
                    .push(event(None, None, "organization-reset", ""));
            }
            _ => {}
        }
        changes
    }

    /// The agents and requests an entry may change; `None` agents means everyone (a reset).
    fn touched_by(&self, entry: &LogEntry) -> (Option<Vec<AgentId>>, Vec<RequestId>) {
        let (agents, requests) = match entry.statement() {
            Statement::EpochStart(_) => return (None, Vec::new()),
            Statement::SetRole(set) => (vec![set.agent], Vec::new()),
            Statement::FirstKey(first) => (vec![first.agent], Vec::new()),
            Statement::KeyRequest(request) => (vec![request.agent], vec![request.request]),
            Statement::Approval(judgement)
            | Statement::Rejection(judgement)
            | Statement::CodeMismatch(judgement) => {
                (vec![judgement.subject], vec![judgement.request])
            }
            Statement::KeyChange(change) => (vec![change.agent], Vec::new()),
            Statement::Revocation(revocation) => (vec![revocation.subject], Vec::new()),
            Statement::RecoveryRegistration(registration) => (vec![registration.agent], Vec::new()),
            Statement::RecoveryReset(reset) => (vec![reset.agent], Vec::new()),
            Statement::PromptPolicy(_) => (Vec::new(), Vec::new()),
        };
        (Some(agents), requests)
    }

    /// A copy holding only what applying an entry about `agents` reads: their records, active
    /// keys and pending requests, the named requests, and the organization-wide fields.
    fn restricted(&self, agents: &[AgentId], requests: &[RequestId]) -> OrgState {
        let mut copy = OrgState {
            agents: BTreeMap::new(),
            keys: BTreeMap::new(),
            requests: BTreeMap::new(),
            // Apply only writes registrations, never reads them.
            registrations: BTreeMap::new(),
            approvers: self.approvers.clone(),
            ..self.shallow()
        };
        let mut wanted_requests: Vec<RequestId> = requests.to_vec();
        for agent in agents {
            let record = self
                .agents
                .get(agent)
                .cloned()
                .unwrap_or_else(AgentRecord::default);
            if let Some(key) = record.active_key {
                copy.copy_key(self, key);
            }
            wanted_requests.extend(record.pending_request);
            copy.agents.insert(*agent, record);
        }
        for request in wanted_requests {
            if let Some(info) = self.requests.get(&request) {
                copy.copy_key(self, info.key);
                copy.requests.insert(request, info.clone());
            }
        }
        copy
    }

    fn copy_key(&mut self, from: &OrgState, key: KeyId) {
        if let Some(info) = from.keys.get(&key) {
            self.keys.insert(key, info.clone());
        }
    }

    /// The organization-wide fields, with empty maps.
    fn shallow(&self) -> OrgState {
        OrgState {
            org: self.org,
            epoch: self.epoch,
            next_seq: self.next_seq,
            last_hash: self.last_hash,
            host_key: self.host_key,
            root: self.root,
            policy: self.policy,
            agents: BTreeMap::new(),
            approvers: BTreeSet::new(),
            keys: BTreeMap::new(),
            requests: BTreeMap::new(),
            registrations: BTreeMap::new(),
        }
    }
}

fn actor_of(entry: &LogEntry) -> Actor {
    match entry.statement() {
        Statement::EpochStart(_) | Statement::SetRole(_) => Actor::Host,
        Statement::FirstKey(first) => Actor::Agent(first.agent),
        Statement::KeyRequest(request) => Actor::Agent(request.agent),
        Statement::Approval(j) | Statement::Rejection(j) | Statement::CodeMismatch(j) => {
            Actor::Agent(j.approver)
        }
        Statement::KeyChange(change) => Actor::Agent(change.agent),
        Statement::Revocation(revocation) => Actor::Agent(revocation.revoker),
        Statement::RecoveryRegistration(registration) => Actor::Agent(registration.agent),
        Statement::RecoveryReset(reset) => Actor::Agent(reset.agent),
        Statement::PromptPolicy(change) => Actor::Agent(change.admin),
    }
}

/// A history line for every key whose state the entry changed (a reset ends every key).
fn key_history(
    before: &OrgState,
    after: &OrgState,
    seq: Seq,
    time: UnixTime,
    actor: Actor,
) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    let mut line = |key, owner, (action, reason)| {
        events.push(HistoryEvent {
            seq,
            time,
            key: Some(key),
            owner: Some(owner),
            actor,
            action,
            reason,
        });
    };
    if after.epoch != before.epoch {
        for (key, info) in &before.keys {
            if matches!(info.status, KeyStatus::Active(_) | KeyStatus::Pending) {
                line(*key, info.agent, ("reset", ""));
            }
        }
        return events;
    }
    for (key, info) in &after.keys {
        if before.keys.get(key).map(|old| old.status) != Some(info.status) {
            line(*key, info.agent, describe(info.status));
        }
    }
    events
}

/// The history action and reason of a key state.
fn describe(status: KeyStatus) -> (&'static str, &'static str) {
    match status {
        KeyStatus::Pending => ("requested", ""),
        KeyStatus::Active(Activation::FirstKey) => ("activated", "first-key"),
        KeyStatus::Active(Activation::Approved { .. }) => ("approved", ""),
        KeyStatus::Active(Activation::Changed) => ("activated", "changed"),
        KeyStatus::Active(Activation::Recovered) => ("activated", "recovered"),
        KeyStatus::Revoked(reason) => (
            "revoked",
            match reason {
                RevocationReason::Superseded => "superseded",
                RevocationReason::Changed => "changed",
                RevocationReason::Recovered => "recovered",
                RevocationReason::SelfRevoked => "self",
                RevocationReason::RevokedBy(_) => "by-approver",
                RevocationReason::Deprovisioned => "deprovisioned",
            },
        ),
        KeyStatus::Rejected(reason) => (
            "rejected",
            match reason {
                RejectionReason::RejectedBy(_) => "by-approver",
                RejectionReason::Replaced => "replaced",
                RejectionReason::Deprovisioned => "deprovisioned",
            },
        ),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
        Role::SuperAdmin => "super-admin",
        Role::Removed => "removed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores read history lines back through these lists: every word `changes` can write
    /// must be in them.
    #[test]
    fn the_vocabularies_cover_every_line() {
        let agent = AgentId::from_bytes([1; 16]);
        let statuses = [
            KeyStatus::Pending,
            KeyStatus::Active(Activation::FirstKey),
            KeyStatus::Active(Activation::Approved { by: agent }),
            KeyStatus::Active(Activation::Changed),
            KeyStatus::Active(Activation::Recovered),
            KeyStatus::Revoked(RevocationReason::Superseded),
            KeyStatus::Revoked(RevocationReason::Changed),
            KeyStatus::Revoked(RevocationReason::Recovered),
            KeyStatus::Revoked(RevocationReason::SelfRevoked),
            KeyStatus::Revoked(RevocationReason::RevokedBy(agent)),
            KeyStatus::Revoked(RevocationReason::Deprovisioned),
            KeyStatus::Rejected(RejectionReason::RejectedBy(agent)),
            KeyStatus::Rejected(RejectionReason::Replaced),
            KeyStatus::Rejected(RejectionReason::Deprovisioned),
        ];
        for status in statuses {
            let (action, reason) = describe(status);
            assert!(HISTORY_ACTIONS.contains(&action), "{action}");
            assert!(HISTORY_REASONS.contains(&reason), "{reason}");
        }
        for role in [Role::Member, Role::Admin, Role::SuperAdmin, Role::Removed] {
            assert!(HISTORY_REASONS.contains(&role_name(role)));
        }
        for action in [
            "reset",
            "wrong-code",
            "locked",
            "recovery-file-created",
            "role-changed",
            "policy-changed",
            "organization-reset",
        ] {
            assert!(HISTORY_ACTIONS.contains(&action));
        }
    }
}
