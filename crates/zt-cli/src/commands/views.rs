//! `zt login`, `zt status`, `zt history`: reading the organization.

use serde::{Deserialize, Serialize};
use zt_core::{AgentId, AgentKeyState, AgentStatus, KeyId, Role, Seq, UnixTime};
use zt_http::wire::{HistoryNext, Listing, OrgInfo};

use crate::client::Client;
use crate::commands::context::Connected;
use crate::commands::key::resolve_agent;
use crate::commands::requests::emails_of;
use crate::config::{Config, Profile};
use crate::error::CliError;
use crate::output::{or_dash, state_word, table, time, Output};

/// `zt login --server URL --token TOKEN`: checks the token with the server and saves the
/// profile.
pub(crate) fn login(
    config: &Config,
    server: &str,
    token: &str,
    out: Output,
) -> Result<(), CliError> {
    let server = server.trim_end_matches('/');
    if !(server.starts_with("https://") || server.starts_with("http://")) {
        return Err(CliError::usage(format!(
            "{server:?} is not an http:// or https:// URL"
        )));
    }
    if !server.starts_with("https://") && !is_loopback(server) {
        crate::output::warn(
            "the server is not reached over HTTPS: your token travels in clear text",
        );
    }
    let client = Client::new(server, token)?;
    let org: OrgInfo = client.get("/v1/org")?;
    config.save_profile(&Profile {
        server: server.to_owned(),
        token: token.to_owned(),
        org: org.org,
        agent: org.caller.agent,
    })?;
    let shown = serde_json::json!({
        "profile": config.profile_name(), "server": server, "org": org.org,
        "agent": org.caller.agent, "role": org.caller.role,
    });
    out.show(&shown, || {
        format!(
            "Logged in to {server} as agent {} ({}) of organization {} (profile {}).",
            org.caller.agent,
            org.caller.role,
            org.org,
            config.profile_name()
        )
    });
    Ok(())
}

fn is_loopback(server: &str) -> bool {
    let rest = server.trim_start_matches("http://");
    rest.starts_with("127.") || rest.starts_with("localhost") || rest.starts_with("[::1]")
}

/// A status row with the agent's account.
#[derive(Serialize)]
struct StatusRow {
    #[serde(flatten)]
    status: AgentStatus,
    email: Option<String>,
}

/// `zt status [--state S] [--role R] [--after ID] [--limit N]`: the zero trust status page.
pub(crate) fn status(
    ctx: &Connected,
    state: Option<AgentKeyState>,
    role: Option<Role>,
    after: Option<AgentId>,
    limit: u32,
) -> Result<(), CliError> {
    let mut query = vec![format!("limit={limit}")];
    if let Some(state) = state {
        query.push(format!("state={}", word(&state)));
    }
    if let Some(role) = role {
        query.push(format!("role={role}"));
    }
    if let Some(after) = after {
        query.push(format!("after={after}"));
    }
    let page: Listing<AgentStatus, AgentId> =
        ctx.client.get(&format!("/v1/status?{}", query.join("&")))?;
    let emails = emails_of(ctx, page.items.iter().map(|status| status.agent))?;
    let rows: Vec<StatusRow> = page
        .items
        .into_iter()
        .map(|status| StatusRow {
            email: emails.get(&status.agent).cloned(),
            status,
        })
        .collect();
    let shown = serde_json::json!({ "items": rows, "next": page.next });
    ctx.out.show(&shown, || {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                let status = &row.status;
                vec![
                    row.email
                        .clone()
                        .unwrap_or_else(|| status.agent.to_string()),
                    status.role.to_string(),
                    state_word(status.state).to_owned(),
                    or_dash(status.active_key.map(short)),
                    or_dash(status.active_since.map(time)),
                    or_dash(status.approved_by.map(|agent| {
                        emails
                            .get(&agent)
                            .cloned()
                            .unwrap_or_else(|| agent.to_string())
                    })),
                    if status.has_recovery_file {
                        "yes"
                    } else {
                        "no"
                    }
                    .to_owned(),
                ]
            })
            .collect();
        let mut text = table(
            &[
                "AGENT",
                "ROLE",
                "STATUS",
                "KEY",
                "ACTIVE SINCE",
                "APPROVED BY",
                "RECOVERY FILE",
            ],
            &cells,
        );
        if let Some(next) = page.next {
            text.push_str(&format!("\nMore: zt status --after {next}"));
        }
        text
    });
    Ok(())
}

/// A history line as the API sends it.
#[derive(Serialize, Deserialize)]
struct HistoryLine {
    seq: Seq,
    time: UnixTime,
    key: Option<KeyId>,
    owner: Option<AgentId>,
    actor: serde_json::Value,
    action: String,
    reason: String,
    line: u32,
}

/// `zt history [--agent EMAIL|ID]`: key owner, actor, action and reason, oldest first.
/// Members see their own keys only.
pub(crate) fn history(ctx: &Connected, agent: Option<&str>) -> Result<(), CliError> {
    let org = ctx.org()?;
    let agent = match agent {
        Some(text) => Some(resolve_agent(ctx, text)?),
        None if !org.caller.role.can_approve() => Some(ctx.profile.agent),
        None => None,
    };
    let mut lines: Vec<HistoryLine> = Vec::new();
    let mut cursor: Option<HistoryNext> = None;
    loop {
        let mut query = vec!["limit=1000".to_owned()];
        if let Some(agent) = agent {
            query.push(format!("agent={agent}"));
        }
        if let Some(next) = cursor {
            query.push(format!(
                "after_seq={}&after_line={}",
                next.after_seq.0, next.after_line
            ));
        }
        let page: Listing<HistoryLine, HistoryNext> = ctx
            .client
            .get(&format!("/v1/history?{}", query.join("&")))?;
        let progressed = !page.items.is_empty();
        lines.extend(page.items);
        match page.next {
            Some(next) if progressed => cursor = Some(next),
            _ => break,
        }
    }
    let named = lines
        .iter()
        .flat_map(|line| line.owner.into_iter().chain(actor_agent(&line.actor)));
    let emails = emails_of(ctx, named)?;
    let name = |agent: AgentId| {
        emails
            .get(&agent)
            .cloned()
            .unwrap_or_else(|| agent.to_string())
    };
    ctx.out.show(&lines, || {
        let cells: Vec<Vec<String>> = lines
            .iter()
            .map(|line| {
                vec![
                    time(line.time),
                    or_dash(line.owner.map(name)),
                    or_dash(line.key.map(short)),
                    actor_agent(&line.actor).map_or_else(|| "host".to_owned(), name),
                    line.action.clone(),
                    line.reason.clone(),
                ]
            })
            .collect();
        table(
            &["TIME", "KEY OWNER", "KEY", "ACTOR", "ACTION", "REASON"],
            &cells,
        )
    });
    Ok(())
}

/// The agent of an actor `{"kind": "agent", "agent": ID}`; `None` for the host.
fn actor_agent(actor: &serde_json::Value) -> Option<AgentId> {
    actor.get("agent")?.as_str()?.parse().ok()
}

/// The first 16 hex digits of a key id, for tables (JSON has them whole).
fn short(key: KeyId) -> String {
    let text = key.to_string();
    format!("{}…", text.get(..16).unwrap_or(&text))
}

/// The kebab-case word serde gives a value.
fn word(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}
