//! `zt key create | status | change | revoke`: the agent's own key (DESIGN §3).

use std::path::Path;

use rand_core::OsRng;
use reqwest::Method;
use serde::Serialize;
use zt_core::{
    AccessSecret, AgentId, AgentKeys, KeyId, LogEntry, RequestId, Statement, UnixTime,
    VerificationCode,
};
use zt_http::wire::{Listing, MyKey};

use crate::commands::context::{now, Connected};
use crate::commands::session::current_session;
use crate::config::{write_private, RequestMemo};
use crate::error::CliError;
use crate::input::{with_progress, Input};
use crate::output::{frequency_word, or_dash, state_word, time};

/// What `zt key create` did.
#[derive(Serialize)]
struct Created {
    state: &'static str,
    key: KeyId,
    request: Option<RequestId>,
    code: Option<String>,
    root: Option<zt_core::TrustRoot>,
}

/// `zt key create`: the epoch's first key if there is none (active at once), else a key
/// request with its verification code.
pub(crate) fn create(
    ctx: &Connected,
    input: &mut Input,
    code_file: Option<&Path>,
) -> Result<(), CliError> {
    let org = ctx.org()?;
    let mine = ctx.my_key()?;
    if mine.active.is_some() {
        // An agent who forgot their passphrase requests a new key; approving it revokes
        // the old one (DESIGN §3).
        crate::output::warn(
            "you have an active key: if you remember its passphrase, `zt key change` needs no approver; \
             this request replaces it once approved",
        );
    }
    let agent = ctx.profile.agent;
    let passphrase = input.new_passphrase("New passphrase")?;
    let keys = with_progress("Deriving your new key", || {
        AgentKeys::create(&passphrase, org.org, agent, &mut OsRng)
    });
    let access = AccessSecret::random(&mut OsRng);
    if !org.has_active_key {
        let first = ctx.submit(Method::POST, "/v1/keys/first", |builder| {
            builder
                .first_key(agent, &keys, &access, &mut OsRng)
                .map_err(seal_failed)
        });
        match first {
            Ok(_) => {
                ctx.config.clear_request_memo()?;
                let root = ctx.org()?.root;
                let created = Created {
                    state: "active",
                    key: keys.key_id(),
                    request: None,
                    code: None,
                    root,
                };
                ctx.out.show(&created, || {
                    format!(
                        "Your key {} is active: it is the organization's first key.\nRoot to pin on devices: {}",
                        keys.key_id(),
                        or_dash(root)
                    )
                });
                return Ok(());
            }
            // Another agent was first: this key is requested instead, as any later key.
            Err(error) if error.is("first_key_exists") => {}
            Err(error) => return Err(error),
        }
    }
    let request = RequestId::random(&mut OsRng);
    let mut signed: Option<LogEntry> = None;
    ctx.submit(Method::POST, "/v1/keys/requests", |builder| {
        let entry = builder
            .key_request(agent, request, &keys, &access, &mut OsRng)
            .map_err(seal_failed)?;
        signed = Some(entry.clone());
        Ok(entry)
    })?;
    ctx.config.save_request_memo(&RequestMemo {
        request,
        key: keys.key_id(),
        made_at: now(),
    })?;
    let entry = signed.ok_or_else(|| CliError::refused("no request was signed"))?;
    let code = with_progress("Computing the verification code", || {
        VerificationCode::of_request(&entry)
    })
    .ok_or_else(|| CliError::refused("the signed entry is not a key request"))?;
    if let Some(path) = code_file {
        write_private(path, format!("{code}\n").as_bytes())?;
    }
    let created = Created {
        state: "pending",
        key: keys.key_id(),
        request: Some(request),
        code: Some(code.to_string()),
        root: None,
    };
    ctx.out.show(&created, || {
        format!(
            "Key requested: request {request}\nVerification code: {code}\n\
             Tell this code to an approver yourself (by phone or in person); they approve with\n  \
             zt requests approve {request} --code {code}"
        )
    });
    Ok(())
}

/// `zt key status`.
#[derive(Serialize)]
struct KeyStatus {
    #[serde(flatten)]
    mine: MyKey,
    org: zt_core::OrgId,
    epoch: zt_core::Epoch,
    root: Option<zt_core::TrustRoot>,
    prompt_policy: Vec<zt_core::PromptFrequency>,
    session_until: Option<UnixTime>,
    note: Option<String>,
}

/// `zt key status`: the caller's key, the organization's root to pin, and what became of
/// the request this client made (checking that an approved key is the one requested).
pub(crate) fn status(ctx: &Connected) -> Result<(), CliError> {
    let org = ctx.org()?;
    let mine = ctx.my_key()?;
    let note = check_request(ctx, &mine)?;
    let session_until = current_session(ctx, &org)?.map(|session| session.delegation.expires_at);
    let status = &mine.status;
    let human = || {
        let mut text = format!(
            "Agent            {} ({})\nStatus           {}\n",
            status.agent,
            status.role,
            state_word(status.state)
        );
        if let Some(active) = &mine.active {
            text.push_str(&format!(
                "Key              {}\nActive since     {}\nApproved by      {}\n",
                active.key,
                or_dash(status.active_since.map(time)),
                or_dash(status.approved_by)
            ));
        }
        text.push_str(&format!(
            "Pending request  {}\nRecovery file    {}\n",
            or_dash(status.pending_request),
            if status.has_recovery_file {
                "yes"
            } else {
                "no"
            }
        ));
        text.push_str(&format!(
            "Organization     {} (epoch {})\nRoot to pin      {}\nPrompt policy    {}\nPrompt           {}\n",
            org.org,
            org.epoch,
            or_dash(org.root),
            org.prompt_policy
                .iter()
                .map(|frequency| frequency_word(*frequency))
                .collect::<Vec<_>>()
                .join(", "),
            session_until.map_or_else(
                || "on each task".to_owned(),
                |until| format!("unlocked until {}", time(until))
            )
        ));
        if let Some(note) = &note {
            text.push_str(note);
        }
        text
    };
    let text = human();
    ctx.out.show(
        &KeyStatus {
            org: org.org,
            epoch: org.epoch,
            root: org.root,
            prompt_policy: org.prompt_policy.clone(),
            session_until,
            note: note.clone(),
            mine: mine.clone(),
        },
        || text,
    );
    Ok(())
}

/// What became of the request this client made. An approval of it must have made the very
/// key it asked for active; anything else is a server substituting keys, and is refused.
fn check_request(ctx: &Connected, mine: &MyKey) -> Result<Option<String>, CliError> {
    let Some(memo) = ctx.config.request_memo()? else {
        return Ok(None);
    };
    if mine.status.pending_request == Some(memo.request) {
        return Ok(Some(format!(
            "Your request {} is waiting for an approver.",
            memo.request
        )));
    }
    let approval = match &mine.active {
        Some(active) => match ctx.client.entry_at(active.changed_seq)?.statement() {
            Statement::Approval(judgement) if judgement.request == memo.request => {
                Some((judgement.subject_key, judgement.approver, active.key))
            }
            _ => None,
        },
        None => None,
    };
    ctx.config.clear_request_memo()?;
    match approval {
        Some((approved, approver, active)) if approved == memo.key && active == memo.key => {
            Ok(Some(format!(
                "Your request {} was approved by {approver}.",
                memo.request
            )))
        }
        Some(_) => Err(CliError::refused(format!(
            "the server shows your request {} approved with a key you did not request",
            memo.request
        ))
        .hint("do not use this key; tell your administrators: the server may be compromised")),
        None => Ok(Some(format!(
            "Your request {} is no longer pending: it was rejected, locked or replaced.",
            memo.request
        ))),
    }
}

/// `zt key change`: a new key signed by the current one, active at once; the prompt
/// frequency falls back to each task.
pub(crate) fn change(ctx: &Connected, input: &mut Input) -> Result<(), CliError> {
    let unlocked = ctx.unlock(input, "Current passphrase")?;
    let access = unlocked.access_secret()?;
    let passphrase = input.new_passphrase("New passphrase")?;
    let agent = ctx.profile.agent;
    let new = with_progress("Deriving your new key", || {
        AgentKeys::create(&passphrase, unlocked.org.org, agent, &mut OsRng)
    });
    ctx.submit(Method::POST, "/v1/keys/change", |builder| {
        builder
            .key_change(agent, &unlocked.keys, &new, &access, &mut OsRng)
            .map_err(seal_failed)
    })?;
    ctx.end_session()?;
    let changed = serde_json::json!({ "key": new.key_id(), "revoked": unlocked.keys.key_id() });
    ctx.out.show(&changed, || {
        format!(
            "Your new key {} is active; the old key {} is revoked.",
            new.key_id(),
            unlocked.keys.key_id()
        )
    });
    Ok(())
}

/// `zt key revoke [--agent EMAIL] [--force]`: revokes the caller's key, or (approvers)
/// another agent's.
pub(crate) fn revoke(
    ctx: &Connected,
    input: &mut Input,
    agent: Option<&str>,
    force: bool,
) -> Result<(), CliError> {
    let me = ctx.profile.agent;
    let subject = match agent {
        Some(text) => resolve_agent(ctx, text)?,
        None => me,
    };
    let subject_key = if subject == me {
        None
    } else {
        Some(active_key_of(ctx, subject)?)
    };
    let unlocked = ctx.unlock(input, "Your passphrase")?;
    let key = subject_key.unwrap_or_else(|| unlocked.keys.key_id());
    ctx.submit(Method::POST, "/v1/keys/revoke", |builder| {
        Ok(builder.revocation(subject, key, me, &unlocked.keys, force))
    })?;
    if subject == me {
        ctx.end_session()?;
        ctx.config.clear_request_memo()?;
    }
    let revoked = serde_json::json!({ "agent": subject, "key": key, "forced": force });
    ctx.out.show(&revoked, || {
        format!("Key {key} of agent {subject} is revoked.")
    });
    Ok(())
}

/// An agent named by id or by e-mail (from the host's directory).
pub(crate) fn resolve_agent(ctx: &Connected, text: &str) -> Result<AgentId, CliError> {
    if let Ok(agent) = text.parse::<AgentId>() {
        return Ok(agent);
    }
    if !text.contains('@') {
        return Err(CliError::usage(format!(
            "{text:?} is neither an agent id nor an e-mail address"
        )));
    }
    let found: Listing<zt_http::wire::DirectoryEntry, ()> = ctx
        .client
        .get(&format!("/v1/agents?email={}", percent_encode(text)))?;
    found
        .items
        .into_iter()
        .find(|entry| entry.email == text)
        .map(|entry| entry.agent)
        .ok_or_else(|| {
            CliError::refused(format!("no agent {text} in this organization"))
                .hint("check the address; `zt status` lists the agents")
        })
}

/// The active key of another agent, from the status page (approvers).
fn active_key_of(ctx: &Connected, agent: AgentId) -> Result<KeyId, CliError> {
    // The status page lists agents after `after` by id: start just below this one.
    let below = u128::from_be_bytes(*agent.as_bytes())
        .checked_sub(1)
        .map(|id| AgentId::from_bytes(id.to_be_bytes()));
    let path = match below {
        Some(below) => format!("/v1/status?after={below}&limit=1"),
        None => "/v1/status?limit=1".to_owned(),
    };
    let page: Listing<zt_core::AgentStatus, AgentId> = ctx.client.get(&path)?;
    let status = page
        .items
        .into_iter()
        .find(|status| status.agent == agent)
        .ok_or_else(|| {
            CliError::refused(format!("agent {agent} has no key in this organization"))
        })?;
    status.active_key.ok_or_else(|| {
        CliError::refused(format!(
            "agent {agent} has no active key ({})",
            state_word(status.state)
        ))
    })
}

/// Percent-encodes a query value.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Sealing the access secret failed: only with a degenerate key, which derivation never
/// gives.
pub(crate) fn seal_failed(error: zt_core::SealError) -> CliError {
    CliError::refused(format!("cannot seal the access secret: {error}"))
}
