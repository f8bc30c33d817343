//! The flows of DESIGN §3 that an agent's client signs: one endpoint per flow, each taking
//! the signed entry and checking that it is the caller's and of the endpoint's kind before
//! zt-core decides it (spec §6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use zt_core::{
    AgentId, Command, Effect, Head, LogEntry, RequestId, Statement, StatementKind, Warning,
};
use zt_store::Store;

use crate::api::{Api, Body, Path};
use crate::auth::{Authenticator, Caller};
use crate::error::ApiError;
use crate::limits::LimitClass;
use crate::wire::{decode_bytes, Accepted, EntryBody};

type Submitted = Result<(StatusCode, Json<Accepted>), ApiError>;

/// The agent a statement speaks for: the one whose key (or recovery key) signs it.
fn author(statement: &Statement) -> Option<AgentId> {
    Some(match statement {
        Statement::FirstKey(first) => first.agent,
        Statement::KeyRequest(request) => request.agent,
        Statement::Approval(judgement)
        | Statement::Rejection(judgement)
        | Statement::CodeMismatch(judgement) => judgement.approver,
        Statement::KeyChange(change) => change.agent,
        Statement::Revocation(revocation) => revocation.revoker,
        Statement::RecoveryRegistration(registration) => registration.agent,
        Statement::RecoveryReset(reset) => reset.agent,
        Statement::PromptPolicy(change) => change.admin,
        Statement::EpochStart(_) | Statement::SetRole(_) => return None,
    })
}

/// Decodes the body's entry and checks it is a `kind` statement by the caller.
fn entry_of(body: &EntryBody, caller: &Caller, kind: StatementKind) -> Result<LogEntry, ApiError> {
    let bytes = decode_bytes(&body.entry, "entry")?;
    let entry = LogEntry::decode(&bytes)
        .map_err(|error| ApiError::bad_request("malformed_entry", error.to_string()))?;
    if entry.kind() != kind {
        return Err(ApiError::bad_request(
            "wrong_statement",
            format!(
                "this endpoint takes a {kind} statement, not {}",
                entry.kind()
            ),
        ));
    }
    if author(entry.statement()) != Some(caller.agent) {
        return Err(ApiError::forbidden(
            "not_your_statement",
            "the statement speaks for another agent than the caller",
        ));
    }
    Ok(entry)
}

/// Decides and appends the entry for the caller's organization.
async fn submit<S: Store, A: Authenticator>(
    api: &Api<S, A>,
    caller: &Caller,
    entry: LogEntry,
) -> Submitted {
    let kind = entry.kind();
    let command = Command::from_entry(entry).ok_or_else(|| {
        ApiError::bad_request("wrong_statement", "host statements are not accepted here")
    })?;
    let decision = match api.ledger.execute(caller.org, command, api.now()).await {
        Ok(decision) => decision,
        Err(error) => {
            let error = ApiError::from(error);
            tracing::info!(org = %caller.org, agent = %caller.agent, %kind, code = error.code, "statement refused");
            return Err(error);
        }
    };
    let entry = decision.entry.entry();
    let header = entry.header();
    tracing::info!(org = %caller.org, agent = %caller.agent, %kind, seq = %header.seq, "statement appended");
    api.metrics.statement(&kind.to_string());
    let warnings = decision
        .effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Warn(Warning::FirstKeyCreatorCannotApprove) => {
                Some("first_key_creator_cannot_approve".to_owned())
            }
            _ => None,
        })
        .collect();
    let accepted = Accepted {
        seq: header.seq,
        hash: entry.hash(),
        head: Head {
            org: header.org,
            epoch: header.epoch,
            next_seq: header.seq.next().unwrap_or(header.seq),
            prev: entry.hash(),
        },
        warnings,
    };
    Ok((StatusCode::CREATED, Json(accepted)))
}

pub(crate) fn require_approver(caller: &Caller) -> Result<(), ApiError> {
    if caller.role.can_approve() {
        Ok(())
    } else {
        Err(ApiError::approvers_only())
    }
}

/// Checks that the path's request id is the one the judgement names.
fn judgement_for(entry: &LogEntry, request: RequestId) -> Result<(), ApiError> {
    match entry.statement() {
        Statement::Approval(judgement)
        | Statement::Rejection(judgement)
        | Statement::CodeMismatch(judgement)
            if judgement.request == request =>
        {
            Ok(())
        }
        _ => Err(ApiError::bad_request(
            "request_mismatch",
            "the statement judges another request than the path names",
        )),
    }
}

/// How each flow's endpoint treats a statement before zt-core decides it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flow {
    /// The statement kind the endpoint takes.
    kind: StatementKind,
    /// The caller's rate-limit bucket, if limited.
    limit: Option<LimitClass>,
    /// Admins and super-admins only (by the host's role).
    approvers_only: bool,
}

/// The flows, by endpoint; the handlers below take an index into this table.
pub(crate) const FLOWS: [Flow; 10] = [
    // 0: `POST /v1/keys/first`, the epoch's first key (spec §6.4).
    Flow {
        kind: StatementKind::FirstKey,
        limit: None,
        approvers_only: false,
    },
    // 1: `POST /v1/keys/requests`, a key request (spec §6.5).
    Flow {
        kind: StatementKind::KeyRequest,
        limit: Some(LimitClass::Reset),
        approvers_only: false,
    },
    // 2: `POST /v1/keys/change`, signed by the current key (spec §6.7).
    Flow {
        kind: StatementKind::KeyChange,
        limit: None,
        approvers_only: false,
    },
    // 3: `POST /v1/keys/revoke`, the caller's own key or (approvers) another's (spec §6.8).
    Flow {
        kind: StatementKind::Revocation,
        limit: None,
        approvers_only: false,
    },
    // 4: `POST /v1/recovery`, a recovery file's public keys (spec §6.9).
    Flow {
        kind: StatementKind::RecoveryRegistration,
        limit: None,
        approvers_only: false,
    },
    // 5: `POST /v1/recovery/reset`, a new key signed by the recovery key (spec §6.9).
    Flow {
        kind: StatementKind::RecoveryReset,
        limit: Some(LimitClass::Reset),
        approvers_only: false,
    },
    // 6: `PUT /v1/policy/prompt`, the prompt frequencies agents may choose (spec §6.11).
    Flow {
        kind: StatementKind::PromptPolicy,
        limit: None,
        approvers_only: true,
    },
    // 7: `POST /v1/requests/{request}/approve` (spec §6.6).
    Flow {
        kind: StatementKind::Approval,
        limit: Some(LimitClass::Approve),
        approvers_only: true,
    },
    // 8: `POST /v1/requests/{request}/reject` (spec §6.6).
    Flow {
        kind: StatementKind::Rejection,
        limit: Some(LimitClass::Approve),
        approvers_only: true,
    },
    // 9: `POST /v1/requests/{request}/wrong-code`: the requester's code did not match
    //    (spec §6.6, §7.3).
    Flow {
        kind: StatementKind::CodeMismatch,
        limit: Some(LimitClass::Code),
        approvers_only: true,
    },
];

/// Role, rate limit, kind and author checks of `flow`, then zt-core decides.
async fn accept<S: Store, A: Authenticator>(
    api: &Api<S, A>,
    caller: &Caller,
    flow: Flow,
    body: &EntryBody,
    request: Option<RequestId>,
) -> Submitted {
    if flow.approvers_only {
        require_approver(caller)?;
    }
    if let Some(class) = flow.limit {
        api.limit(caller, class)?;
    }
    let entry = entry_of(body, caller, flow.kind)?;
    if let Some(request) = request {
        judgement_for(&entry, request)?;
    }
    if let Statement::Revocation(revocation) = entry.statement() {
        if revocation.subject != caller.agent {
            require_approver(caller)?;
        }
    }
    submit(api, caller, entry).await
}

/// The endpoints of flows 0 to 6 (see [`FLOWS`]).
pub(crate) async fn statement<S: Store, A: Authenticator, const FLOW: usize>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Body(body): Body<EntryBody>,
) -> Submitted {
    let flow = FLOWS
        .get(FLOW)
        .copied()
        .ok_or_else(|| ApiError::not_found("no such flow"))?;
    accept(&api, &caller, flow, &body, None).await
}

/// The endpoints of flows 7 to 9, which judge the request the path names.
pub(crate) async fn judgement<S: Store, A: Authenticator, const FLOW: usize>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Path(request): Path<RequestId>,
    Body(body): Body<EntryBody>,
) -> Submitted {
    let flow = FLOWS
        .get(FLOW)
        .copied()
        .ok_or_else(|| ApiError::not_found("no such flow"))?;
    accept(&api, &caller, flow, &body, Some(request)).await
}
