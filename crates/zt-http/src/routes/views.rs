//! What clients read: the organization and its head, the log, the caller's key, and (for
//! approvers) the status page, pending requests and key history.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use zt_core::{AgentId, AgentKeyState, RequestId, Role, Seq};
use zt_store::{page_limit, HistoryCursor, StatusFilter, Store};

use crate::wire::HistoryNext;

use crate::api::{Api, Path, Query};
use crate::auth::{Authenticator, Caller};
use crate::error::ApiError;
use crate::routes::statements::require_approver as approvers_only;
use crate::wire::{
    encode_bytes, ActiveKey, CallerInfo, DirectoryEntry, HistoryRow, Listing, LogPage, MyKey,
    OrgInfo, PendingRequestRow, RecoveryRecord, RequestDetail,
};

/// The default page size.
const DEFAULT_PAGE: u32 = 100;

/// `GET /v1/org`: the organization, its head and root, and the caller.
pub(crate) async fn org<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
) -> Result<Json<OrgInfo>, ApiError> {
    let info = api
        .ledger
        .read(caller.org, |state| OrgInfo {
            org: state.org(),
            epoch: state.epoch(),
            head: state.head(),
            root: state.trust_root(),
            host_key: *state.host_key(),
            prompt_policy: state.prompt_policy().frequencies(),
            has_active_key: !state.active_keys().is_empty(),
            caller: CallerInfo {
                agent: caller.agent,
                role: caller.role,
            },
        })
        .await?;
    Ok(Json(info))
}

/// Query of `GET /v1/log`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogQuery {
    #[serde(default)]
    from: u64,
    limit: Option<u32>,
}

/// `GET /v1/log`: encoded entries from `from`, up to the verified head (what devices and
/// auditors sync and verify themselves, spec §5).
pub(crate) async fn log<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Query(query): Query<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    // Reading through the ledger verifies every entry up to the head first.
    let head = api.ledger.read(caller.org, |state| state.head()).await?;
    let limit = page_limit(query.limit.unwrap_or(DEFAULT_PAGE));
    let available = head.next_seq.0.saturating_sub(query.from);
    let limit = u32::try_from(available.min(u64::from(limit))).unwrap_or(limit);
    let entries = if limit == 0 {
        Vec::new()
    } else {
        api.ledger
            .store()
            .entries(caller.org, Seq(query.from), limit)
            .await?
    };
    let end = query.from.saturating_add(entries.len() as u64);
    Ok(Json(LogPage {
        entries: entries.iter().map(|bytes| encode_bytes(bytes)).collect(),
        next: (end < head.next_seq.0).then_some(Seq(end)),
        head,
    }))
}

/// `GET /v1/keys/me`: the caller's status, and their active key's public record (with the
/// KDF parameters and salt their client derives it with, spec §3).
pub(crate) async fn my_key<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
) -> Result<Json<MyKey>, ApiError> {
    let mine = api
        .ledger
        .read(caller.org, |state| MyKey {
            status: state.agent_status(caller.agent),
            active: state.active_key(caller.agent).map(|(key, info)| ActiveKey {
                key,
                record: info.record,
                registered_seq: info.registered.0,
                sealed_access: info.sealed_access,
                changed_seq: info.changed.0,
            }),
            recovery: state.recovery(caller.agent).map(|recovery| RecoveryRecord {
                registration: recovery.registration,
                seq: recovery.registered.0,
                time: recovery.registered.1,
                sealed_access: recovery.sealed_access,
            }),
        })
        .await?;
    Ok(Json(mine))
}

/// Query of `GET /v1/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusQuery {
    state: Option<AgentKeyState>,
    role: Option<Role>,
    after: Option<AgentId>,
    limit: Option<u32>,
}

/// `GET /v1/status`: the zero trust status page, by agent id (approvers).
pub(crate) async fn status<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Query(query): Query<StatusQuery>,
) -> Result<Json<Listing<zt_core::AgentStatus, AgentId>>, ApiError> {
    approvers_only(&caller)?;
    let filter = StatusFilter {
        state: query.state,
        role: query.role,
    };
    let limit = page_limit(query.limit.unwrap_or(DEFAULT_PAGE));
    let page = api
        .ledger
        .store()
        .status_page(caller.org, filter, query.after, limit)
        .await?;
    Ok(Json(Listing {
        items: page.items,
        next: page.next,
    }))
}

/// Query of `GET /v1/requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PendingQuery {
    after: Option<Seq>,
    limit: Option<u32>,
}

/// `GET /v1/requests`: pending requests, oldest first (approvers).
pub(crate) async fn pending<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Query(query): Query<PendingQuery>,
) -> Result<Json<Listing<PendingRequestRow, Seq>>, ApiError> {
    approvers_only(&caller)?;
    let limit = page_limit(query.limit.unwrap_or(DEFAULT_PAGE));
    let page = api
        .ledger
        .store()
        .pending_requests(caller.org, query.after, limit)
        .await?;
    Ok(Json(Listing {
        items: page
            .items
            .into_iter()
            .map(PendingRequestRow::from)
            .collect(),
        next: page.next,
    }))
}

/// `GET /v1/requests/{request}`: a pending request with its signed entry, from which the
/// approver's client computes the verification code (approvers, or the requester).
pub(crate) async fn request<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Path(request): Path<RequestId>,
) -> Result<Json<RequestDetail>, ApiError> {
    let row = api
        .ledger
        .read(caller.org, |state| {
            state
                .request(request)
                .filter(|info| info.state == zt_core::RequestState::Pending)
                .map(|info| zt_core::PendingRequest::of(request, info))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no pending request with this id"))?;
    if row.agent != caller.agent {
        approvers_only(&caller)?;
    }
    let entry = api
        .ledger
        .store()
        .entries(caller.org, row.seq, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("no pending request with this id"))?;
    Ok(Json(RequestDetail {
        request: row.into(),
        entry: encode_bytes(&entry),
    }))
}

/// Query of `GET /v1/history`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    agent: Option<AgentId>,
    after_seq: Option<Seq>,
    after_line: Option<u32>,
    limit: Option<u32>,
}

/// `GET /v1/history`: key owner, actor, action and reason, oldest first. Members see only
/// their own keys' history.
pub(crate) async fn history<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Listing<HistoryRow, HistoryNext>>, ApiError> {
    let owner = match query.agent {
        Some(agent) if agent == caller.agent => Some(agent),
        other => {
            approvers_only(&caller)?;
            other
        }
    };
    let after = query.after_seq.map(|seq| HistoryCursor {
        seq,
        line: query.after_line.unwrap_or(u32::MAX),
    });
    let limit = page_limit(query.limit.unwrap_or(DEFAULT_PAGE));
    let page = api
        .ledger
        .store()
        .key_history(caller.org, owner, after, limit)
        .await?;
    Ok(Json(Listing {
        items: page
            .items
            .into_iter()
            .map(|line| HistoryRow {
                event: line.event,
                line: line.cursor.line,
            })
            .collect(),
        next: page.next.map(|cursor| HistoryNext {
            after_seq: cursor.seq,
            after_line: cursor.line,
        }),
    }))
}

/// The most agents one `GET /v1/agents?ids=` names.
pub(crate) const MAX_DIRECTORY_IDS: usize = 100;

/// Query of `GET /v1/agents`: exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DirectoryQuery {
    email: Option<String>,
    ids: Option<String>,
}

/// `GET /v1/agents`: agents by account, from the host's directory (any agent; an empty
/// list when the host keeps no directory or does not know them).
pub(crate) async fn agents<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Query(query): Query<DirectoryQuery>,
) -> Result<Json<Listing<DirectoryEntry, ()>>, ApiError> {
    let items = match (query.email, query.ids) {
        (Some(email), None) => match api.auth.find_agent(caller.org, &email).await {
            Some(agent) => vec![DirectoryEntry { agent, email }],
            None => Vec::new(),
        },
        (None, Some(ids)) => {
            // No ids (the empty string), or ids separated by single commas: the document's
            // pattern, nothing looser.
            let parse = |id: &str| {
                id.parse::<AgentId>().map_err(|_| {
                    ApiError::bad_request("invalid_query", "ids must be agent ids, comma-separated")
                })
            };
            let ids = if ids.is_empty() {
                Vec::new()
            } else {
                ids.split(',').map(parse).collect::<Result<Vec<_>, _>>()?
            };
            if ids.len() > MAX_DIRECTORY_IDS {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("at most {MAX_DIRECTORY_IDS} ids at a time"),
                ));
            }
            let mut items = Vec::with_capacity(ids.len());
            for agent in ids {
                if let Some(email) = api.auth.account_of(caller.org, agent).await {
                    items.push(DirectoryEntry { agent, email });
                }
            }
            items
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give either email or ids",
            ))
        }
    };
    Ok(Json(Listing { items, next: None }))
}
