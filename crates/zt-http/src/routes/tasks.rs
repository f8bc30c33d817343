//! Sensitive tasks and prompt-frequency sessions (spec §9).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use zt_core::{SessionDelegation, SigningPublicKey, TaskAuthorization, TaskBinding, TaskKind};
use zt_store::Store;

use crate::api::{Api, Body, Path};
use crate::auth::{Authenticator, Caller};
use crate::error::ApiError;
use crate::limits::LimitClass;
use crate::wire::{decode_bytes, SessionBody, SessionStarted, TaskAccepted, VerifyTask};

/// `POST /v1/tasks/verify`: would this authorization let the task run? Checks it for the
/// caller's organization and spends its replay key (spec §9.4; §9.5 for a store's one
/// verifier): an accepted authorization is spent.
pub(crate) async fn verify_task<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Body(body): Body<VerifyTask>,
) -> Result<Json<TaskAccepted>, ApiError> {
    api.limit(&caller, LimitClass::Verify)?;
    let bytes = decode_bytes(&body.authorization, "authorization")?;
    let authorization = TaskAuthorization::decode(&bytes)?;
    let kind = TaskKind::new(&body.kind)
        .map_err(|_| ApiError::bad_request("invalid_body", "kind: 1 to 64 of a-z 0-9 . _ -"))?;
    let expected = TaskBinding {
        kind,
        payload: body.payload_digest,
    };
    match api
        .ledger
        .verify_task(caller.org, &authorization, &expected, api.now())
        .await
    {
        Ok(verified) => {
            api.metrics.task(true);
            Ok(Json(TaskAccepted {
                agent: verified.agent,
                key: verified.key,
                expires_at: verified.expires_at,
                frequency: verified.frequency,
            }))
        }
        Err(error) => {
            let error = ApiError::from(error);
            if error.status.is_client_error() {
                api.metrics.task(false);
            }
            tracing::info!(org = %caller.org, agent = %authorization.agent, code = error.code, "task refused");
            Err(error)
        }
    }
}

/// `POST /v1/sessions`: starts the caller's prompt-frequency session (spec §9.2).
pub(crate) async fn start_session<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Body(body): Body<SessionBody>,
) -> Result<(StatusCode, Json<SessionStarted>), ApiError> {
    let bytes = decode_bytes(&body.delegation, "delegation")?;
    let delegation = SessionDelegation::decode(&bytes)
        .map_err(|error| ApiError::bad_request("malformed_delegation", error.to_string()))?;
    api.ledger
        .start_session(caller.org, caller.agent, &delegation, api.now())
        .await?;
    tracing::info!(org = %caller.org, agent = %caller.agent, frequency = ?delegation.frequency, "session started");
    Ok((
        StatusCode::CREATED,
        Json(SessionStarted {
            session_key: delegation.session_key,
            expires_at: delegation.expires_at,
            frequency: delegation.frequency,
        }),
    ))
}

/// `DELETE /v1/sessions/{session_key}`: ends the caller's session (log out); tasks it
/// signs are refused from now on.
pub(crate) async fn end_session<S: Store, A: Authenticator>(
    State(api): State<Api<S, A>>,
    caller: Caller,
    Path(session_key): Path<SigningPublicKey>,
) -> Result<StatusCode, ApiError> {
    api.ledger
        .end_session(caller.org, caller.agent, session_key, api.now())
        .await?;
    tracing::info!(org = %caller.org, agent = %caller.agent, "session ended");
    Ok(StatusCode::NO_CONTENT)
}
