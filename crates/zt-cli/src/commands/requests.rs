//! `zt requests list | approve | reject`: the approver's side (DESIGN §3, spec §7).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Serialize;
use zt_core::{AgentId, LogEntry, RequestId, Seq, Statement, VerificationCode};
use zt_http::wire::{DirectoryEntry, Listing, PendingRequestRow, RequestDetail};

use crate::client::decode_entry;
use crate::commands::context::Connected;
use crate::error::CliError;
use crate::input::{with_progress, Input};
use crate::output::{table, time};

/// A pending request as listed, with the requester's account where the host knows it.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    request: PendingRequestRow,
    email: Option<String>,
}

/// `zt requests list`: every pending request, oldest first.
pub(crate) fn list(ctx: &Connected) -> Result<(), CliError> {
    let mut rows = Vec::new();
    let mut after: Option<Seq> = None;
    loop {
        let path = match after {
            Some(seq) => format!("/v1/requests?after={}", seq.0),
            None => "/v1/requests".to_owned(),
        };
        let page: Listing<PendingRequestRow, Seq> = ctx.client.get(&path)?;
        rows.extend(page.items);
        match page.next {
            Some(next) if Some(next) != after => after = Some(next),
            _ => break,
        }
    }
    let emails = emails_of(ctx, rows.iter().map(|row| row.agent))?;
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|request| Row {
            email: emails.get(&request.agent).cloned(),
            request,
        })
        .collect();
    ctx.out.show(&rows, || {
        if rows.is_empty() {
            return "No pending requests.".to_owned();
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                vec![
                    row.request.request.to_string(),
                    row.email
                        .clone()
                        .unwrap_or_else(|| row.request.agent.to_string()),
                    time(row.request.time),
                    format!("{}/5", row.request.mismatches),
                    if row.request.locked { "locked" } else { "open" }.to_owned(),
                ]
            })
            .collect();
        table(
            &["REQUEST", "AGENT", "MADE", "WRONG CODES", "STATE"],
            &cells,
        )
    });
    Ok(())
}

/// The accounts of `agents`, from the host's directory (100 at a time).
pub(crate) fn emails_of(
    ctx: &Connected,
    agents: impl Iterator<Item = AgentId>,
) -> Result<BTreeMap<AgentId, String>, CliError> {
    let agents: Vec<AgentId> = agents
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut emails = BTreeMap::new();
    for chunk in agents.chunks(100) {
        let ids: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        let found: Listing<DirectoryEntry, ()> = ctx
            .client
            .get(&format!("/v1/agents?ids={}", ids.join(",")))?;
        emails.extend(
            found
                .items
                .into_iter()
                .map(|entry| (entry.agent, entry.email)),
        );
    }
    Ok(emails)
}

/// A pending request's entry, checked to be the key request it is said to be.
fn fetch_request(
    ctx: &Connected,
    request: RequestId,
) -> Result<(PendingRequestRow, LogEntry), CliError> {
    let detail: RequestDetail = ctx.client.get(&format!("/v1/requests/{request}"))?;
    let entry = decode_entry(&detail.entry, detail.request.seq)?;
    let Statement::KeyRequest(body) = entry.statement() else {
        return Err(CliError::refused(
            "the server sent an entry that is not a key request",
        ));
    };
    let header = entry.header();
    let consistent = body.request == request
        && body.agent == detail.request.agent
        && body.key.key_id() == detail.request.key
        && header.org == ctx.profile.org
        && header.seq == detail.request.seq;
    if !consistent {
        return Err(CliError::refused(
            "the server's request entry does not match the request it describes",
        ));
    }
    Ok((detail.request, entry))
}

/// `zt requests approve ID --code NNNNNN`: compares the code the requester told with the
/// one computed from the request (spec §7.2); approves if they match, else reports the
/// mismatch (five lock the request) and fails.
pub(crate) fn approve(
    ctx: &Connected,
    input: &mut Input,
    request: RequestId,
    told: VerificationCode,
) -> Result<(), CliError> {
    let (row, entry) = fetch_request(ctx, request)?;
    refuse_own(ctx, &row)?;
    if row.locked {
        return Err(
            CliError::refused(format!("request {request} is locked by five wrong codes"))
                .hint("the requester runs `zt key create` again"),
        );
    }
    let unlocked = ctx.unlock(input, "Your passphrase")?;
    let me = ctx.profile.agent;
    let expected = with_progress("Computing the verification code", || {
        VerificationCode::of_request(&entry)
    })
    .ok_or_else(|| CliError::refused("the request entry is not a key request"))?;
    let matches = expected.matches(&told);
    let path = if matches {
        format!("/v1/requests/{request}/approve")
    } else {
        format!("/v1/requests/{request}/wrong-code")
    };
    let Statement::KeyRequest(body) = entry.statement() else {
        return Err(CliError::refused("the request entry is not a key request"));
    };
    // As `EntryBuilder::judge_code`, with the code derived once for all attempts.
    ctx.submit(Method::POST, &path, |builder| {
        Ok(if matches {
            builder.approval(body, entry.hash(), me, &unlocked.keys)
        } else {
            builder.code_mismatch(body, entry.hash(), me, &unlocked.keys)
        })
    })?;
    if !matches {
        let reported = row.mismatches.saturating_add(1);
        return Err(CliError::refused(format!(
            "the code does not match request {request}: nothing was approved ({reported} of 5 wrong codes)"
        ))
        .hint("ask the requester to read the code again from their screen; at 5 wrong codes the request is locked"));
    }
    let approved = serde_json::json!({ "request": request, "agent": row.agent, "key": row.key });
    ctx.out.show(&approved, || {
        format!(
            "Approved request {request}: key {} of agent {} is active.",
            row.key, row.agent
        )
    });
    Ok(())
}

/// `zt requests reject ID`.
pub(crate) fn reject(
    ctx: &Connected,
    input: &mut Input,
    request: RequestId,
) -> Result<(), CliError> {
    let (row, entry) = fetch_request(ctx, request)?;
    refuse_own(ctx, &row)?;
    let Statement::KeyRequest(body) = entry.statement() else {
        return Err(CliError::refused("the request entry is not a key request"));
    };
    let unlocked = ctx.unlock(input, "Your passphrase")?;
    let me = ctx.profile.agent;
    ctx.submit(
        Method::POST,
        &format!("/v1/requests/{request}/reject"),
        |builder| Ok(builder.rejection(body, entry.hash(), me, &unlocked.keys)),
    )?;
    let rejected = serde_json::json!({ "request": request, "agent": row.agent });
    ctx.out.show(&rejected, || {
        format!(
            "Rejected request {request} of agent {} (made {}).",
            row.agent,
            time(row.time)
        )
    });
    Ok(())
}

/// Approvers never judge their own requests (DESIGN §6.3): say so before any prompt.
fn refuse_own(ctx: &Connected, row: &PendingRequestRow) -> Result<(), CliError> {
    if row.agent == ctx.profile.agent {
        return Err(
            CliError::refused("this is your own request: you cannot judge it")
                .hint("another approver must approve it"),
        );
    }
    Ok(())
}
