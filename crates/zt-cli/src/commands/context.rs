//! What every signing command shares: the logged-in profile and its server, the checks the
//! client makes on what the server says, unlocking the agent's key, and submitting signed
//! statements at the current head.

use reqwest::Method;
use zt_core::{AccessSecret, AgentKeys, EntryBuilder, LogEntry, SealedAccess, UnixTime};
use zt_http::wire::{Accepted, MyKey, OrgInfo};

use crate::client::Client;
use crate::config::{Config, Profile};
use crate::error::CliError;
use crate::input::{with_progress, Input};
use crate::output::{warn, Output};

/// How often a statement is signed again when another one took its place in the log, or
/// sent again after the server asked to wait.
const RETRIES: usize = 3;

/// The longest wait the client sits through when rate-limited, in seconds.
const MAX_RATE_LIMIT_WAIT: u64 = 10;

/// A command's context once logged in.
#[derive(Debug)]
pub(crate) struct Connected {
    pub(crate) config: Config,
    pub(crate) profile: Profile,
    pub(crate) client: Client,
    pub(crate) out: Output,
}

/// The agent's key, unlocked after the client checked it against the registered record.
pub(crate) struct Unlocked {
    pub(crate) org: OrgInfo,
    pub(crate) keys: AgentKeys,
    /// The access secret sealed to the key, as the server sent it.
    sealed_access: SealedAccess,
}

impl Unlocked {
    /// Opens the access secret sealed to the key. Only the key opens it, and the seal is
    /// bound to the organization, the agent and the key id (spec §3.7), so a server that
    /// sends another one gets a refusal, not a key change that loses the agent's access.
    pub(crate) fn access_secret(&self) -> Result<AccessSecret, CliError> {
        self.keys
            .open_access(&self.sealed_access)
            .map_err(|_| CliError::refused("your access secret does not open with your key"))
    }
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocked")
            .field("key", &self.keys.key_id())
            .finish_non_exhaustive()
    }
}

/// The current time, in seconds since the Unix epoch.
pub(crate) fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs()),
    )
}

impl Connected {
    /// The logged-in profile of `config`, and a client for its server.
    pub(crate) fn open(config: Config, out: Output) -> Result<Connected, CliError> {
        let profile = config.profile()?;
        let client = Client::of(&profile)?;
        Ok(Connected {
            config,
            profile,
            client,
            out,
        })
    }

    /// The organization, checked to be the profile's, and the caller to be its agent.
    pub(crate) fn org(&self) -> Result<OrgInfo, CliError> {
        let org: OrgInfo = self.client.get("/v1/org")?;
        if org.org != self.profile.org || org.caller.agent != self.profile.agent {
            return Err(CliError::refused(format!(
                "the server now says this token is agent {} of organization {}, not agent {} of {}",
                org.caller.agent, org.org, self.profile.agent, self.profile.org
            ))
            .hint("log in again with `zt login` if this is expected"));
        }
        if org.head.org != org.org || org.head.epoch != org.epoch {
            return Err(CliError::refused(
                "the server's head is not its organization's",
            ));
        }
        Ok(org)
    }

    /// The caller's status and key record.
    pub(crate) fn my_key(&self) -> Result<MyKey, CliError> {
        let mine: MyKey = self.client.get("/v1/keys/me")?;
        if mine.status.agent != self.profile.agent {
            return Err(CliError::refused(
                "the server sent another agent's key record",
            ));
        }
        Ok(mine)
    }

    /// Asks for the passphrase and derives the caller's active key with the registered
    /// record's parameters and salt; refuses unless the derived key is the registered one
    /// (a wrong passphrase, or a server that lies about the record, signs nothing).
    pub(crate) fn unlock(&self, input: &mut Input, prompt: &str) -> Result<Unlocked, CliError> {
        let org = self.org()?;
        let mine = self.my_key()?;
        let active = mine.active.clone().ok_or_else(|| {
            CliError::refused(format!(
                "you have no active key ({})",
                crate::output::state_word(mine.status.state)
            ))
            .hint("`zt key create` requests one; `zt key status` shows where you stand")
        })?;
        // The record's KDF parameters were checked within bounds when it was parsed
        // (spec §3.2); its id must be the one the server names.
        if active.record.key_id() != active.key || mine.status.active_key != Some(active.key) {
            return Err(CliError::refused(
                "the server's key record does not match the key it names as active",
            ));
        }
        let passphrase = input.passphrase(prompt)?;
        let keys = with_progress("Deriving your key", || {
            AgentKeys::unlock(&passphrase, &active.record, org.org, self.profile.agent)
        })
        .map_err(|_| {
            CliError::refused("wrong passphrase: it does not derive your active key")
                .hint("if you forgot it, `zt recovery reset --file FILE` or ask an approver for a new key with `zt key create`")
        })?;
        Ok(Unlocked {
            org,
            keys,
            sealed_access: active.sealed_access,
        })
    }

    /// Signs with `sign` at the current head and submits to `path`; signs again at the new
    /// head if another statement took the place first. Prints the server's warnings.
    pub(crate) fn submit(
        &self,
        method: Method,
        path: &str,
        mut sign: impl FnMut(EntryBuilder) -> Result<LogEntry, CliError>,
    ) -> Result<Accepted, CliError> {
        let mut attempt = 0;
        loop {
            let org = self.org()?;
            let entry = sign(EntryBuilder::new(org.head, now()))?;
            match self.client.submit(method.clone(), path, &entry) {
                Err(error) if error.is("stale_head") && attempt < RETRIES => {
                    attempt += 1;
                }
                Err(error)
                    if error.is("rate_limited")
                        && attempt < RETRIES
                        && error
                            .retry_after
                            .is_some_and(|wait| wait <= MAX_RATE_LIMIT_WAIT) =>
                {
                    let wait = error.retry_after.unwrap_or(1);
                    eprintln!("The server asks to slow down: trying again in {wait} s.");
                    std::thread::sleep(std::time::Duration::from_secs(wait));
                    attempt += 1;
                }
                Err(error) => return Err(error),
                Ok(accepted) => {
                    if accepted.hash != entry.hash() {
                        return Err(CliError::refused(
                            "the server acknowledged another entry than the one signed",
                        ));
                    }
                    for warning in &accepted.warnings {
                        warn(&warning_text(warning));
                    }
                    return Ok(accepted);
                }
            }
        }
    }

    /// Ends the prompt-frequency session, here and on the server (best effort there: a
    /// session of a key that is no longer active is refused anyway).
    pub(crate) fn end_session(&self) -> Result<bool, CliError> {
        let Some(session) = self.config.session()? else {
            return Ok(false);
        };
        if let Some(delegation) = crate::commands::session::delegation_of(&session) {
            if let Err(error) = self
                .client
                .delete(&format!("/v1/sessions/{}", delegation.session_key))
            {
                if !error.is("not_found") {
                    warn(&format!(
                        "the server did not end the session: {}",
                        error.message
                    ));
                }
            }
        }
        self.config.clear_session()?;
        Ok(true)
    }
}

/// A warning code as a sentence.
fn warning_text(code: &str) -> String {
    match code {
        "first_key_creator_cannot_approve" => "you are not an admin, so nobody can approve other agents' keys: until an organization reset, no admin can get a key".to_owned(),
        other => other.to_owned(),
    }
}
