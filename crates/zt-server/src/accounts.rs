//! The reference server's account directory: e-mail, role and API token of each agent.
//! It stands in for a host's account login (zt itself logs nobody in). Tokens are shown
//! once and stored only as SHA-256 hashes; a removed agent's token stops working.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};
use zeroize::Zeroizing;
use zt_core::{AgentId, OrgId, Role};
use zt_http::{Authenticator, Caller, Unauthenticated};
use zt_store_sql::SqlStore;

use crate::error::ServerError;

/// Domain separation for token hashes.
const TOKEN_LABEL: &[u8] = b"zt-server-v1/api-token";
/// Tokens start with this, so that scanners recognize a leaked one.
const TOKEN_PREFIX: &str = "ztk_";

/// An agent's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The organization.
    pub org: OrgId,
    /// The agent.
    pub agent: AgentId,
    /// Where their e-mail goes.
    pub email: String,
    /// Their role in this directory.
    pub role: Role,
}

/// A freshly issued API token: printed once, never stored.
pub struct ApiToken(Zeroizing<String>);

impl ApiToken {
    /// The token's text, to hand to the agent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

fn token_hash(token: &str) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(TOKEN_LABEL);
    hash.update(token.as_bytes());
    hash.finalize().to_vec()
}

/// A role from the word zt-core prints for it (`member`, `admin`, `super-admin`,
/// `removed`); the accounts table stores roles as these words.
pub fn parse_role(word: &str) -> Option<Role> {
    [Role::Member, Role::Admin, Role::SuperAdmin, Role::Removed]
        .into_iter()
        .find(|role| role.to_string() == word)
}

/// Checks an e-mail address's shape (what the SMTP relay will accept).
pub fn check_email(email: &str) -> Result<(), ServerError> {
    email
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|_| ServerError::Invalid(format!("not an e-mail address: {email:?}")))
}

/// The accounts table.
#[derive(Clone, Debug)]
pub struct Accounts {
    pool: AnyPool,
}

impl Accounts {
    /// The accounts in `store`'s database.
    pub fn new(store: &SqlStore) -> Accounts {
        Accounts {
            pool: store.pool().clone(),
        }
    }

    /// Adds an agent and issues their token.
    pub async fn add(&self, account: &Account) -> Result<ApiToken, ServerError> {
        check_email(&account.email)?;
        let mut secret = Zeroizing::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, secret.as_mut_slice());
        let token = ApiToken(Zeroizing::new(format!(
            "{TOKEN_PREFIX}{}",
            hex::encode(secret.as_slice())
        )));
        let inserted = sqlx::query(
            "INSERT INTO accounts (org, agent, email, role, token_hash) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account.org.as_bytes().to_vec())
        .bind(account.agent.as_bytes().to_vec())
        .bind(account.email.clone())
        .bind(account.role.to_string())
        .bind(token_hash(token.expose()))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(token),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err(ServerError::EmailTaken(account.email.clone()))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The account with this e-mail address in `org`.
    pub async fn by_email(&self, org: OrgId, email: &str) -> Result<Option<Account>, ServerError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE org = $1 AND email = $2")
            .bind(org.as_bytes().to_vec())
            .bind(email.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| account(&row)).transpose()
    }

    /// The e-mail address of `agent` in `org`.
    pub async fn email_of(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> Result<Option<String>, ServerError> {
        Ok(sqlx::query_scalar::<_, String>(
            "SELECT email FROM accounts WHERE org = $1 AND agent = $2",
        )
        .bind(org.as_bytes().to_vec())
        .bind(agent.as_bytes().to_vec())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every account of `org`, by e-mail.
    pub async fn list(&self, org: OrgId) -> Result<Vec<Account>, ServerError> {
        let rows = sqlx::query("SELECT * FROM accounts WHERE org = $1 ORDER BY email")
            .bind(org.as_bytes().to_vec())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account).collect()
    }

    /// Changes an agent's role in the directory.
    pub async fn set_role(
        &self,
        org: OrgId,
        agent: AgentId,
        role: Role,
    ) -> Result<(), ServerError> {
        sqlx::query("UPDATE accounts SET role = $3 WHERE org = $1 AND agent = $2")
            .bind(org.as_bytes().to_vec())
            .bind(agent.as_bytes().to_vec())
            .bind(role.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account a token belongs to, unless the agent was removed.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Account>, ServerError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT * FROM accounts WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await?;
        let account = row.map(|row| account(&row)).transpose()?;
        Ok(account.filter(|account| account.role != Role::Removed))
    }
}

fn account(row: &sqlx::any::AnyRow) -> Result<Account, ServerError> {
    let corrupt = || ServerError::Invalid("an accounts row is unreadable".into());
    let bytes16 = |column: &str| -> Result<[u8; 16], ServerError> {
        row.try_get::<Vec<u8>, _>(column)?
            .try_into()
            .map_err(|_| corrupt())
    };
    Ok(Account {
        org: OrgId::from_bytes(bytes16("org")?),
        agent: AgentId::from_bytes(bytes16("agent")?),
        email: row.try_get("email")?,
        role: parse_role(&row.try_get::<String, _>("role")?).ok_or_else(corrupt)?,
    })
}

/// How long a token's lookup is reused. A role change or removal reaches the API within
/// this time; the log (which decides every statement and task) sees it at once.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);
/// Cached lookups kept at most (the cache is emptied when full).
const TOKEN_CACHE_SIZE: usize = 10_000;

type TokenCache = HashMap<Vec<u8>, (Account, Instant)>;

/// `Authorization: Bearer <token>` against the accounts table, each lookup reused for
/// [`TOKEN_CACHE_TTL`] (keyed by the token's hash; the token itself is not kept).
#[derive(Clone, Debug)]
pub struct TokenAuth {
    accounts: Accounts,
    cache: Arc<Mutex<TokenCache>>,
}

impl TokenAuth {
    /// Authentication against `accounts`.
    pub fn new(accounts: Accounts) -> TokenAuth {
        TokenAuth {
            accounts,
            cache: Arc::default(),
        }
    }

    async fn lookup(&self, token: &str) -> Result<Option<Account>, ServerError> {
        let hash = token_hash(token);
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((account, fetched)) = cache.get(&hash) {
                if now.saturating_duration_since(*fetched) < TOKEN_CACHE_TTL {
                    return Ok(Some(account.clone()));
                }
            }
        }
        let account = self.accounts.authenticate(token).await?;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= TOKEN_CACHE_SIZE {
            cache.clear();
        }
        match &account {
            Some(account) => {
                cache.insert(hash, (account.clone(), now));
            }
            None => {
                cache.remove(&hash);
            }
        }
        Ok(account)
    }
}

impl Authenticator for TokenAuth {
    async fn authenticate(
        &self,
        parts: &axum::http::request::Parts,
    ) -> Result<Caller, Unauthenticated> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Unauthenticated)?;
        match self.lookup(token.trim()).await {
            Ok(Some(account)) => Ok(Caller {
                org: account.org,
                agent: account.agent,
                role: account.role,
            }),
            Ok(None) => Err(Unauthenticated),
            Err(error) => {
                tracing::error!(%error, "accounts lookup failed");
                Err(Unauthenticated)
            }
        }
    }

    async fn find_agent(&self, org: OrgId, email: &str) -> Option<AgentId> {
        match self.accounts.by_email(org, email).await {
            Ok(account) => account.map(|account| account.agent),
            Err(error) => {
                tracing::error!(%error, "directory lookup failed");
                None
            }
        }
    }

    async fn account_of(&self, org: OrgId, agent: AgentId) -> Option<String> {
        match self.accounts.email_of(org, agent).await {
            Ok(email) => email,
            Err(error) => {
                tracing::error!(%error, "directory lookup failed");
                None
            }
        }
    }
}
