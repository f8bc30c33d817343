//! An organization's key state: a fold of its log (spec §6).
//!
//! [`OrgState`] changes only by [`OrgState::apply`], which takes a [`VerifiedEntry`]: a token
//! that only [`OrgState::verify_entry`] (rules and strict signatures) and the log verifier
//! make. So every state is the fold of a verified log, and the server, devices and auditors
//! all run the same rules (`check.rs`) and the same fold (`apply.rs`).

mod apply;
mod changes;
pub(crate) mod check;
mod view;

use std::collections::{BTreeMap, BTreeSet};

pub use changes::{
    Actor, Changes, HistoryEvent, PendingRequest, RecoveryRegistrationView, HISTORY_ACTIONS,
    HISTORY_REASONS,
};
pub use view::{AgentKeyState, AgentStatus};

use crate::crypto::{ExchangePublicKey, SigningPublicKey};
use crate::error::{EntryFault, RuleViolation};
use crate::ids::{
    AgentId, EntryHash, Epoch, KeyId, OrgId, RegistrationId, RequestId, Seq, UnixTime,
};
use crate::keys::{HostKey, PublicKeyRecord};
use crate::policy::{PromptPolicy, Role};
use crate::seal::SealedAccess;
use crate::statement::{
    EntryBuilder, EntryHeader, EpochReason, EpochStart, Head, LogEntry, Statement,
};

/// Wrong verification codes after which a request is locked (spec §7.3).
pub const MAX_CODE_MISMATCHES: u8 = 5;

/// How a key became active (spec §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// The epoch's first key.
    FirstKey,
    /// Approved by this approver.
    Approved {
        /// The approver.
        by: AgentId,
    },
    /// A key change signed by the previous key.
    Changed,
    /// A reset signed by the registered recovery key.
    Recovered,
}

/// Why a key was revoked (spec §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationReason {
    /// A newer key of the agent was approved.
    Superseded,
    /// The agent changed their key.
    Changed,
    /// The agent reset their key with the recovery file.
    Recovered,
    /// The agent revoked it.
    SelfRevoked,
    /// An approver revoked it.
    RevokedBy(AgentId),
    /// The host removed the agent from the organization.
    Deprovisioned,
}

/// Why a requested key never became active (spec §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionReason {
    /// An approver rejected it.
    RejectedBy(AgentId),
    /// The agent requested another key.
    Replaced,
    /// The host removed the agent.
    Deprovisioned,
}

/// A key's state in the current epoch. Keys of earlier epochs are all `reset` (spec §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Requested, waiting for an approver.
    Pending,
    /// The agent's active key.
    Active(Activation),
    /// No longer active. Terminal.
    Revoked(RevocationReason),
    /// Never became active. Terminal.
    Rejected(RejectionReason),
}

impl KeyStatus {
    /// True for the states that never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, KeyStatus::Revoked(_) | KeyStatus::Rejected(_))
    }
}

/// One key registered in the current epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// Whose key.
    pub agent: AgentId,
    /// The public record.
    pub record: PublicKeyRecord,
    /// The access secret sealed to it.
    pub sealed_access: SealedAccess,
    /// Its state.
    pub status: KeyStatus,
    /// Where it was registered.
    pub registered: (Seq, UnixTime),
    /// Where its state last changed.
    pub changed: (Seq, UnixTime),
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting for an approver (or locked, after too many wrong codes).
    Pending,
    /// Approved.
    Approved,
    /// Rejected by an approver.
    Rejected,
    /// Replaced by a newer request of the agent.
    Replaced,
    /// Withdrawn because the agent was removed.
    Withdrawn,
}

/// A key request of the current epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    /// The requester.
    pub agent: AgentId,
    /// The requested key.
    pub key: KeyId,
    /// The request's log entry.
    pub entry_hash: EntryHash,
    /// Where it was made.
    pub made: (Seq, UnixTime),
    /// Wrong codes reported so far.
    pub mismatches: u8,
    /// Where it stands.
    pub state: RequestState,
}

impl RequestInfo {
    /// True once [`MAX_CODE_MISMATCHES`] wrong codes were reported.
    pub fn is_locked(&self) -> bool {
        self.mismatches >= MAX_CODE_MISMATCHES
    }
}

/// An agent's recovery registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryInfo {
    /// The registration, named in the file.
    pub registration: RegistrationId,
    /// Verifies a reset.
    pub signing: SigningPublicKey,
    /// The access secret is sealed to it.
    pub exchange: ExchangePublicKey,
    /// The sealed access secret.
    pub sealed_access: SealedAccess,
    /// Where it was registered.
    pub registered: (Seq, UnixTime),
}

/// What became of a recovery registration (for clear refusals, spec §6.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegistrationFate {
    Current,
    Replaced,
    Spent,
}

/// One agent, as far as the current epoch knows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AgentRecord {
    pub(crate) role: Option<Role>,
    pub(crate) active_key: Option<KeyId>,
    pub(crate) pending_request: Option<RequestId>,
    pub(crate) recovery: Option<RecoveryInfo>,
    /// Had a key that was revoked in this epoch.
    pub(crate) had_revoked_key: bool,
    /// Had a key in an earlier epoch that a reset ended.
    pub(crate) reset_by_epoch: bool,
}

impl AgentRecord {
    pub(crate) fn role(&self) -> Role {
        self.role.unwrap_or(Role::Member)
    }
}

/// An organization's key state at one position of its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgState {
    pub(crate) org: OrgId,
    pub(crate) epoch: Epoch,
    pub(crate) next_seq: Seq,
    pub(crate) last_hash: EntryHash,
    pub(crate) host_key: SigningPublicKey,
    pub(crate) root: Option<EntryHash>,
    pub(crate) policy: PromptPolicy,
    pub(crate) agents: BTreeMap<AgentId, AgentRecord>,
    /// Agents whose role may approve: few, so the last-approver rule is cheap.
    pub(crate) approvers: BTreeSet<AgentId>,
    pub(crate) keys: BTreeMap<KeyId, KeyInfo>,
    pub(crate) requests: BTreeMap<RequestId, RequestInfo>,
    pub(crate) registrations: BTreeMap<RegistrationId, (AgentId, RegistrationFate)>,
}

/// An entry that passed every rule and signature check against one state: the only thing
/// [`OrgState::apply`] accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    entry: LogEntry,
}

impl VerifiedEntry {
    /// The entry.
    pub fn entry(&self) -> &LogEntry {
        &self.entry
    }

    /// The entry, to store.
    pub fn into_entry(self) -> LogEntry {
        self.entry
    }
}

impl OrgState {
    /// Creates an organization: the host's first entry (epoch 0, sequence 0), and the state
    /// after it (spec §4.5).
    pub fn create(org: OrgId, host: &HostKey, now: UnixTime) -> (OrgState, VerifiedEntry) {
        let head = Head {
            org,
            epoch: Epoch(0),
            next_seq: Seq(0),
            prev: EntryHash::ZERO,
        };
        let entry =
            EntryBuilder::new(head, now).epoch_start(host, host, EpochReason::Created, Vec::new());
        let start = EpochStart {
            host_key: host.public(),
            reason: EpochReason::Created,
            roles: Vec::new(),
        };
        let state = OrgState::empty_epoch(entry.header(), entry.hash(), &start, BTreeMap::new());
        (state, VerifiedEntry { entry })
    }

    /// The state after an organization's first entry, checking it completely: it must be
    /// an epoch start at sequence 0, signed by the host key it names (spec §5.2).
    pub fn genesis(entry: LogEntry) -> Result<(OrgState, VerifiedEntry), EntryFault> {
        let header = *entry.header();
        let Statement::EpochStart(start) = entry.statement() else {
            return Err(RuleViolation::InvalidEpochStart.into());
        };
        if header.seq != Seq(0)
            || header.epoch != Epoch(0)
            || header.prev != EntryHash::ZERO
            || start.reason != EpochReason::Created
        {
            return Err(RuleViolation::InvalidEpochStart.into());
        }
        let checks = check::epoch_start_signatures(&entry, &start.host_key, &start.host_key);
        check::verify_strict(&checks)?;
        let state = OrgState::empty_epoch(&header, entry.hash(), start, BTreeMap::new());
        Ok((state, VerifiedEntry { entry }))
    }

    /// The head a new entry must name.
    pub fn head(&self) -> Head {
        Head {
            org: self.org,
            epoch: self.epoch,
            next_seq: self.next_seq,
            prev: self.last_hash,
        }
    }

    /// The organization.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// The current epoch.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The epoch's root: the hash of its first key's entry, once there is one.
    pub fn root(&self) -> Option<EntryHash> {
        self.root
    }

    /// The host key of the current epoch.
    pub fn host_key(&self) -> &SigningPublicKey {
        &self.host_key
    }

    /// The prompt-frequency policy.
    pub fn prompt_policy(&self) -> PromptPolicy {
        self.policy
    }

    /// An agent's role (agents the log never named are members).
    pub fn role(&self, agent: AgentId) -> Role {
        self.agents
            .get(&agent)
            .map_or(Role::Member, AgentRecord::role)
    }

    /// An agent's active key and its record.
    pub fn active_key(&self, agent: AgentId) -> Option<(KeyId, &KeyInfo)> {
        let key = self.agents.get(&agent)?.active_key?;
        Some((key, self.keys.get(&key)?))
    }

    /// Every active key, by agent.
    pub fn active_keys(&self) -> BTreeMap<AgentId, KeyId> {
        self.agents
            .iter()
            .filter_map(|(agent, record)| Some((*agent, record.active_key?)))
            .collect()
    }

    /// Every key registered in the current epoch, by key id.
    pub fn keys(&self) -> impl Iterator<Item = (KeyId, &KeyInfo)> {
        self.keys.iter().map(|(id, info)| (*id, info))
    }

    /// A key registered in the current epoch.
    pub fn key(&self, key: KeyId) -> Option<&KeyInfo> {
        self.keys.get(&key)
    }

    /// A request of the current epoch.
    pub fn request(&self, request: RequestId) -> Option<&RequestInfo> {
        self.requests.get(&request)
    }

    /// The pending requests (locked ones included).
    pub fn pending_requests(&self) -> impl Iterator<Item = (RequestId, &RequestInfo)> {
        self.requests
            .iter()
            .filter(|(_, info)| info.state == RequestState::Pending)
            .map(|(id, info)| (*id, info))
    }

    /// An agent's current recovery registration.
    pub fn recovery(&self, agent: AgentId) -> Option<&RecoveryInfo> {
        self.agents.get(&agent)?.recovery.as_ref()
    }

    /// Agents whose role may approve and who hold an active key.
    pub fn active_approvers(&self) -> impl Iterator<Item = AgentId> + '_ {
        self.approvers.iter().copied().filter(|agent| {
            self.agents
                .get(agent)
                .is_some_and(|record| record.active_key.is_some())
        })
    }

    /// A fresh epoch: what its epoch-start entry says and nothing else.
    pub(crate) fn empty_epoch(
        header: &EntryHeader,
        hash: EntryHash,
        start: &EpochStart,
        mut agents: BTreeMap<AgentId, AgentRecord>,
    ) -> OrgState {
        let mut approvers = BTreeSet::new();
        for (agent, role) in &start.roles {
            agents.entry(*agent).or_default().role = Some(*role);
            if role.can_approve() {
                approvers.insert(*agent);
            }
        }
        OrgState {
            org: header.org,
            epoch: header.epoch,
            next_seq: header.seq.next().unwrap_or(header.seq),
            last_hash: hash,
            host_key: start.host_key,
            root: None,
            policy: PromptPolicy::default(),
            agents,
            approvers,
            keys: BTreeMap::new(),
            requests: BTreeMap::new(),
            registrations: BTreeMap::new(),
        }
    }

    /// The non-member roles, sorted: what an organization reset carries into the next epoch.
    pub(crate) fn role_list(&self) -> Vec<(AgentId, Role)> {
        self.agents
            .iter()
            .filter_map(|(agent, record)| match record.role() {
                Role::Member => None,
                role => Some((*agent, role)),
            })
            .collect()
    }
}
