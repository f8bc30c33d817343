//! The host's side, acting on the database: organizations, agents and their roles, and
//! support's organization reset. Every change of role goes into the organization's log
//! as a statement signed with the host key (spec §4.6), then into the account directory.

use std::sync::Arc;

use zt_core::{AgentId, Command, Effect, Epoch, OrgId, Role, UnixTime};
use zt_store::{Ledger, LedgerError, StoreError};
use zt_store_sql::SqlStore;

use crate::accounts::{check_email, Account, Accounts, ApiToken};
use crate::error::ServerError;

/// The host's administration over one database.
#[derive(Clone, Debug)]
pub struct Host {
    /// The ledger (shared with the API when serving).
    pub ledger: Arc<Ledger<SqlStore>>,
    /// The account directory.
    pub accounts: Accounts,
}

/// What `org reset` did.
#[derive(Clone, Copy, Debug)]
pub struct ResetDone {
    /// The epoch that ended.
    pub previous: Epoch,
    /// The epoch that starts.
    pub epoch: Epoch,
    /// Notifications queued.
    pub notified: usize,
}

impl Host {
    /// The host over `ledger`.
    pub fn new(ledger: Arc<Ledger<SqlStore>>) -> Host {
        let accounts = Accounts::new(ledger.store());
        Host { ledger, accounts }
    }

    /// Creates an organization.
    pub async fn create_org(&self, now: UnixTime) -> Result<OrgId, ServerError> {
        let org = OrgId::random(&mut rand_core::OsRng);
        self.ledger.create_org(org, now).await?;
        Ok(org)
    }

    async fn check_org(&self, org: OrgId) -> Result<(), ServerError> {
        match self.ledger.read(org, |_| ()).await {
            Err(LedgerError::Store(StoreError::NotFound(_))) => {
                Err(ServerError::UnknownOrg(org.to_string()))
            }
            other => Ok(other?),
        }
    }

    /// Adds an agent with `role` and issues their API token.
    pub async fn add_agent(
        &self,
        org: OrgId,
        email: &str,
        role: Role,
        now: UnixTime,
    ) -> Result<(AgentId, ApiToken), ServerError> {
        self.check_org(org).await?;
        check_email(email)?;
        if role == Role::Removed {
            return Err(ServerError::Invalid("a new agent cannot be removed".into()));
        }
        if self.accounts.by_email(org, email).await?.is_some() {
            return Err(ServerError::EmailTaken(email.to_owned()));
        }
        let agent = AgentId::random(&mut rand_core::OsRng);
        // Members are members without a statement; other roles are stated in the log.
        if role != Role::Member {
            self.state_role(org, agent, role, false, now).await?;
        }
        let account = Account {
            org,
            agent,
            email: email.to_owned(),
            role,
        };
        let token = self.accounts.add(&account).await?;
        Ok((agent, token))
    }

    async fn state_role(
        &self,
        org: OrgId,
        agent: AgentId,
        role: Role,
        force: bool,
        now: UnixTime,
    ) -> Result<(), ServerError> {
        let current = self.ledger.read(org, |state| state.role(agent)).await?;
        if current == role {
            return Ok(());
        }
        self.ledger
            .execute(org, Command::SetRole { agent, role, force }, now)
            .await?;
        Ok(())
    }

    /// Changes an agent's role; refuses to leave no approver with an active key unless
    /// `force`. Removing an agent (deprovisioning) revokes their key at once.
    pub async fn set_role(
        &self,
        org: OrgId,
        email: &str,
        role: Role,
        force: bool,
        now: UnixTime,
    ) -> Result<AgentId, ServerError> {
        self.check_org(org).await?;
        let account = self
            .accounts
            .by_email(org, email)
            .await?
            .ok_or_else(|| ServerError::UnknownAgent(email.to_owned()))?;
        self.state_role(org, account.agent, role, force, now)
            .await?;
        self.accounts.set_role(org, account.agent, role).await?;
        Ok(account.agent)
    }

    /// Support's organization reset: every key of the epoch ends, a new epoch starts.
    pub async fn reset_org(&self, org: OrgId, now: UnixTime) -> Result<ResetDone, ServerError> {
        self.check_org(org).await?;
        let decision = self
            .ledger
            .execute(org, Command::ResetOrganization, now)
            .await?;
        let (previous, epoch) = decision
            .effects
            .iter()
            .find_map(|effect| match effect {
                Effect::OrganizationReset { previous, epoch } => Some((*previous, *epoch)),
                _ => None,
            })
            .ok_or_else(|| ServerError::Invalid("a reset without its host event".into()))?;
        // The host's event: what was bound to the old keys is gone.
        tracing::warn!(%org, %previous, %epoch, "organization reset: redeploy every device, re-create device groups, alerts and policies");
        let notified = decision
            .effects
            .iter()
            .filter(|effect| matches!(effect, Effect::Notify { .. }))
            .count();
        let done = ResetDone {
            previous,
            epoch,
            notified,
        };
        Ok(done)
    }
}
