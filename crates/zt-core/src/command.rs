//! Commands: every flow of the key lifecycle, decided purely (spec §6).
//!
//! `OrgState::decide(command, context)` returns a [`Decision`] (the verified entry to append
//! and the effects to carry out) or a [`Refusal`]; it changes nothing. The caller appends the
//! entry, applies it, and only then carries out the effects. Agents' statements arrive
//! signed by their clients; the host's (role changes, organization reset) are signed here
//! with the host key the caller passes in.

use crate::error::Refusal;
use crate::ids::{AgentId, Epoch, UnixTime};
use crate::keys::HostKey;
use crate::policy::Role;
use crate::state::{OrgState, VerifiedEntry};
use crate::statement::{EntryBuilder, EpochReason, LogEntry, Statement, StatementKind};

/// How far a statement's time may be from the server's clock, in seconds (spec §6.1).
pub const MAX_CLOCK_SKEW: u64 = 300;

/// One flow of the key lifecycle (DESIGN §3), with its signed statement.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Command {
    /// The epoch's first key, self-signed.
    CreateFirstKey(LogEntry),
    /// A key request (also by an agent who forgot their key).
    RequestKey(LogEntry),
    /// An approval, after the approver's client compared the verification code.
    Approve(LogEntry),
    /// A rejection.
    Reject(LogEntry),
    /// An approver's report of a wrong verification code.
    ReportWrongCode(LogEntry),
    /// A key change signed by the current key.
    ChangeKey(LogEntry),
    /// A revocation by the agent or an approver.
    Revoke(LogEntry),
    /// A recovery registration (replaces the agent's earlier one).
    RegisterRecovery(LogEntry),
    /// A reset with the recovery file.
    ResetWithRecovery(LogEntry),
    /// The prompt-frequency policy, by an approver.
    SetPromptPolicy(LogEntry),
    /// Host input: an agent's role changed in the host's directory (or they were removed).
    SetRole {
        /// The agent.
        agent: AgentId,
        /// The new role.
        role: Role,
        /// Allow leaving no approver with an active key.
        force: bool,
    },
    /// Support, authorized by the host: reset the organization and start a new epoch.
    ResetOrganization,
}

impl Command {
    /// The command that carries an agent's signed statement, chosen by the statement's kind;
    /// `None` for the host's kinds (epoch start, set role), which the host makes itself.
    pub fn from_entry(entry: LogEntry) -> Option<Command> {
        Some(match entry.kind() {
            StatementKind::FirstKey => Command::CreateFirstKey(entry),
            StatementKind::KeyRequest => Command::RequestKey(entry),
            StatementKind::Approval => Command::Approve(entry),
            StatementKind::Rejection => Command::Reject(entry),
            StatementKind::CodeMismatch => Command::ReportWrongCode(entry),
            StatementKind::KeyChange => Command::ChangeKey(entry),
            StatementKind::Revocation => Command::Revoke(entry),
            StatementKind::RecoveryRegistration => Command::RegisterRecovery(entry),
            StatementKind::RecoveryReset => Command::ResetWithRecovery(entry),
            StatementKind::PromptPolicy => Command::SetPromptPolicy(entry),
            StatementKind::EpochStart | StatementKind::SetRole => return None,
        })
    }

    /// The signed statement an agent's command carries (`None` for host commands).
    pub fn entry(&self) -> Option<&LogEntry> {
        match self {
            Command::CreateFirstKey(entry)
            | Command::RequestKey(entry)
            | Command::Approve(entry)
            | Command::Reject(entry)
            | Command::ReportWrongCode(entry)
            | Command::ChangeKey(entry)
            | Command::Revoke(entry)
            | Command::RegisterRecovery(entry)
            | Command::ResetWithRecovery(entry)
            | Command::SetPromptPolicy(entry) => Some(entry),
            Command::SetRole { .. } | Command::ResetOrganization => None,
        }
    }

    /// The statement kind the command carries or makes.
    pub fn kind(&self) -> StatementKind {
        match self {
            Command::CreateFirstKey(_) => StatementKind::FirstKey,
            Command::RequestKey(_) => StatementKind::KeyRequest,
            Command::Approve(_) => StatementKind::Approval,
            Command::Reject(_) => StatementKind::Rejection,
            Command::ReportWrongCode(_) => StatementKind::CodeMismatch,
            Command::ChangeKey(_) => StatementKind::KeyChange,
            Command::Revoke(_) => StatementKind::Revocation,
            Command::RegisterRecovery(_) => StatementKind::RecoveryRegistration,
            Command::ResetWithRecovery(_) => StatementKind::RecoveryReset,
            Command::SetPromptPolicy(_) => StatementKind::PromptPolicy,
            Command::SetRole { .. } => StatementKind::SetRole,
            Command::ResetOrganization => StatementKind::EpochStart,
        }
    }
}

/// What `decide` needs besides the state: the time, and the host key for host statements.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The server's clock.
    pub now: UnixTime,
    /// This epoch's host key.
    pub host: &'a HostKey,
}

/// Something the caller must do after appending a decision's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// Send an e-mail about `subject`'s key to `recipients` (spec §6.13).
    Notify {
        /// What happened.
        kind: NotificationKind,
        /// Whose key it concerns.
        subject: AgentId,
        /// Who is told (the subject first).
        recipients: Vec<AgentId>,
    },
    /// Tell the caller something it should show (API and CLI).
    Warn(Warning),
    /// Tell the host: the organization was reset; devices must be redeployed and what was
    /// bound to the old keys re-created (spec §6.10).
    OrganizationReset {
        /// The epoch that ended.
        previous: Epoch,
        /// The epoch that starts.
        epoch: Epoch,
    },
}

/// Why an e-mail is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    /// The agent's key request was approved.
    KeyApproved,
    /// The agent reset their key with a recovery file.
    KeyRecovered,
    /// The agent's key was revoked (by them, an approver or the host).
    KeyRevoked,
    /// The organization was reset.
    OrganizationReset,
}

/// A warning to show with a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The first key's creator is not an admin: nobody can approve later keys until an
    /// admin has a key, and only a reset can give them one (spec §6.4).
    FirstKeyCreatorCannotApprove,
}

/// A command's outcome: the entry to append, then the effects.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The verified entry, to append and then apply.
    pub entry: VerifiedEntry,
    /// What to do once the entry is stored.
    pub effects: Vec<Effect>,
}

impl OrgState {
    /// Decides a command against this state, changing nothing (spec §6).
    pub fn decide(&self, command: Command, context: Context<'_>) -> Result<Decision, Refusal> {
        let kind = command.kind();
        let entry = match command {
            Command::SetRole { agent, role, force } => {
                self.check_host(context.host)?;
                EntryBuilder::new(self.head(), context.now).set_role(
                    context.host,
                    agent,
                    role,
                    force,
                )
            }
            Command::ResetOrganization => {
                self.check_host(context.host)?;
                let mut head = self.head();
                head.epoch = self.epoch.next().ok_or(Refusal::Exhausted)?;
                EntryBuilder::new(head, context.now).epoch_start(
                    context.host,
                    context.host,
                    EpochReason::Reset,
                    self.role_list(),
                )
            }
            Command::CreateFirstKey(entry)
            | Command::RequestKey(entry)
            | Command::Approve(entry)
            | Command::Reject(entry)
            | Command::ReportWrongCode(entry)
            | Command::ChangeKey(entry)
            | Command::Revoke(entry)
            | Command::RegisterRecovery(entry)
            | Command::ResetWithRecovery(entry)
            | Command::SetPromptPolicy(entry) => {
                if entry.kind() != kind {
                    return Err(Refusal::WrongStatement {
                        expected: kind,
                        found: entry.kind(),
                    });
                }
                let time = entry.header().time;
                if time.0.abs_diff(context.now.0) > MAX_CLOCK_SKEW {
                    return Err(Refusal::ClockSkew {
                        found: time,
                        now: context.now,
                        max_skew: MAX_CLOCK_SKEW,
                    });
                }
                entry
            }
        };
        if self.next_seq.next().is_none() {
            return Err(Refusal::Exhausted);
        }
        let effects = self.effects_of(&entry);
        let entry = self.verify_entry(entry)?;
        Ok(Decision { entry, effects })
    }

    fn check_host(&self, host: &HostKey) -> Result<(), Refusal> {
        if host.public() != self.host_key {
            return Err(Refusal::HostKeyMismatch);
        }
        Ok(())
    }

    /// The effects an entry has once applied to this state (spec §6.13).
    fn effects_of(&self, entry: &LogEntry) -> Vec<Effect> {
        let admins: Vec<AgentId> = self.active_approvers().collect();
        let notify = |kind, subject: AgentId, also_admins: bool| {
            let mut recipients = vec![subject];
            if also_admins {
                recipients.extend(admins.iter().filter(|admin| **admin != subject));
            }
            Effect::Notify {
                kind,
                subject,
                recipients,
            }
        };
        match entry.statement() {
            Statement::FirstKey(first) if !self.role(first.agent).can_approve() => {
                vec![Effect::Warn(Warning::FirstKeyCreatorCannotApprove)]
            }
            Statement::Approval(judgement) => {
                vec![notify(
                    NotificationKind::KeyApproved,
                    judgement.subject,
                    false,
                )]
            }
            Statement::RecoveryReset(reset) => {
                vec![notify(NotificationKind::KeyRecovered, reset.agent, true)]
            }
            Statement::Revocation(revocation) => {
                vec![notify(
                    NotificationKind::KeyRevoked,
                    revocation.subject,
                    false,
                )]
            }
            Statement::SetRole(set)
                if set.role == Role::Removed && self.active_key(set.agent).is_some() =>
            {
                vec![notify(NotificationKind::KeyRevoked, set.agent, false)]
            }
            Statement::EpochStart(_) => {
                let mut effects: Vec<Effect> = self
                    .agents
                    .iter()
                    .filter(|(_, record)| {
                        record.active_key.is_some() || record.pending_request.is_some()
                    })
                    .map(|(agent, _)| notify(NotificationKind::OrganizationReset, *agent, false))
                    .collect();
                let told: Vec<AgentId> = effects
                    .iter()
                    .filter_map(|effect| match effect {
                        Effect::Notify { subject, .. } => Some(*subject),
                        _ => None,
                    })
                    .collect();
                for admin in admins.iter().filter(|admin| !told.contains(admin)) {
                    effects.push(notify(NotificationKind::OrganizationReset, *admin, false));
                }
                effects.push(Effect::OrganizationReset {
                    previous: self.epoch,
                    epoch: entry.header().epoch,
                });
                effects
            }
            _ => Vec::new(),
        }
    }
}
