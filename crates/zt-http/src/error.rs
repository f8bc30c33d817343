//! API errors: JSON `{ "code": ..., "message": ... }` with stable codes (docs/openapi.json
//! lists them). A client's mistake is a 4xx; a 5xx means the server or its storage failed.
//! Messages name the rule or field at fault and never carry a secret.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use zt_core::{EntryFault, Head, Refusal, RuleViolation, TaskError};
use zt_store::{LedgerError, StoreError};

/// An error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable, machine-readable code.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The log's head, when the client must sign again at it.
    pub head: Option<Box<Head>>,
    /// Seconds to wait before trying again (`Retry-After`): for 429, and 503 `timeout`.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<&'a Head>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            head: None,
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "missing or invalid credentials",
        )
    }

    pub(crate) fn approvers_only() -> ApiError {
        ApiError::forbidden("forbidden", "only an admin or super-admin may do this")
    }

    pub(crate) fn rate_limited(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; retry after {retry_after} s"),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
            head: self.head.as_deref(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .extensions_mut()
            .insert(crate::api::ErrorCode(self.code));
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> ApiError {
        match error {
            LedgerError::Refused(refusal) => refusal.into(),
            LedgerError::Conflict { head } => ApiError {
                head: Some(Box::new(head)),
                ..ApiError::new(
                    StatusCode::CONFLICT,
                    "stale_head",
                    format!(
                        "another statement took this position; sign again at sequence {}",
                        head.next_seq
                    ),
                )
            },
            LedgerError::Task(error) => error.into(),
            LedgerError::Store(StoreError::NotFound(_)) => {
                ApiError::not_found("the organization does not exist")
            }
            LedgerError::Tampered { org, error } => {
                tracing::error!(%org, %error, "stored log fails verification");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "log_unverifiable",
                    "the stored log fails verification; an operator must look",
                )
            }
            LedgerError::WrongHost(org) => {
                tracing::error!(%org, "organization belongs to another host key");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "wrong_host_key",
                    "the organization was created with another host key",
                )
            }
            LedgerError::Store(error) => error.into(),
            other => {
                tracing::error!(error = %other, "ledger failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(_) => ApiError::not_found("the organization does not exist"),
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other), "storage failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the storage backend failed; try again",
                )
            }
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        let message = refusal.to_string();
        let (status, code) = match &refusal {
            Refusal::Entry(fault) => return entry_fault(fault, message),
            Refusal::ClockSkew { .. } => (StatusCode::BAD_REQUEST, "clock_skew"),
            Refusal::WrongStatement { .. } => (StatusCode::BAD_REQUEST, "wrong_statement"),
            Refusal::HostKeyMismatch => (StatusCode::INTERNAL_SERVER_ERROR, "wrong_host_key"),
            Refusal::Exhausted => (StatusCode::CONFLICT, "log_exhausted"),
            _ => (StatusCode::BAD_REQUEST, "refused"),
        };
        ApiError::new(status, code, message)
    }
}

fn entry_fault(fault: &EntryFault, message: String) -> ApiError {
    let (status, code) = match fault {
        EntryFault::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_entry"),
        EntryFault::WrongOrganization { .. } => (StatusCode::BAD_REQUEST, "wrong_organization"),
        EntryFault::WrongEpoch { .. } => (StatusCode::BAD_REQUEST, "wrong_epoch"),
        EntryFault::SequenceTaken { .. }
        | EntryFault::SequenceGap { .. }
        | EntryFault::BrokenChain => (StatusCode::CONFLICT, "stale_head"),
        EntryFault::Replayed => (StatusCode::CONFLICT, "replayed"),
        EntryFault::BadSignature(_) => (StatusCode::BAD_REQUEST, "bad_signature"),
        EntryFault::Rule(rule) => rule_violation(rule),
        _ => (StatusCode::BAD_REQUEST, "refused"),
    };
    ApiError::new(status, code, message)
}

/// Each rule of spec §6 has its own code.
fn rule_violation(rule: &RuleViolation) -> (StatusCode, &'static str) {
    use RuleViolation as R;
    match rule {
        R::NoFirstKeyYet => (StatusCode::CONFLICT, "no_first_key_yet"),
        R::FirstKeyExists => (StatusCode::CONFLICT, "first_key_exists"),
        R::InvalidEpochStart => (StatusCode::BAD_REQUEST, "invalid_epoch_start"),
        R::NotHostKey => (StatusCode::FORBIDDEN, "not_host_key"),
        R::AgentRemoved => (StatusCode::FORBIDDEN, "agent_removed"),
        R::KeyReused => (StatusCode::CONFLICT, "key_reused"),
        R::IdReused => (StatusCode::CONFLICT, "id_reused"),
        R::UnknownRequest => (StatusCode::NOT_FOUND, "unknown_request"),
        R::RequestNotPending => (StatusCode::CONFLICT, "request_not_pending"),
        R::RequestLocked => (StatusCode::CONFLICT, "request_locked"),
        R::RequestMismatch => (StatusCode::BAD_REQUEST, "request_mismatch"),
        R::SelfApproval => (StatusCode::FORBIDDEN, "self_approval"),
        R::NotAnApprover => (StatusCode::FORBIDDEN, "not_an_approver"),
        R::NoActiveKey => (StatusCode::CONFLICT, "no_active_key"),
        R::NotActiveKey => (StatusCode::CONFLICT, "not_active_key"),
        R::LastApprover => (StatusCode::CONFLICT, "last_approver"),
        R::NoRecovery => (StatusCode::CONFLICT, "no_recovery_file"),
        R::RecoveryReplaced => (StatusCode::CONFLICT, "recovery_file_replaced"),
        R::RecoverySpent => (StatusCode::CONFLICT, "recovery_file_spent"),
        R::RoleUnchanged => (StatusCode::CONFLICT, "role_unchanged"),
        R::PolicyUnchanged => (StatusCode::CONFLICT, "policy_unchanged"),
        _ => (StatusCode::CONFLICT, "refused"),
    }
}

impl From<TaskError> for ApiError {
    fn from(error: TaskError) -> ApiError {
        let code = match error {
            TaskError::Malformed(_) => {
                return ApiError::bad_request("malformed_task", error.to_string())
            }
            TaskError::WrongOrganization => "task_wrong_organization",
            TaskError::EpochClosed => "task_epoch_closed",
            TaskError::KeyNotActive => "task_key_not_active",
            TaskError::WrongTask => "task_wrong_task",
            TaskError::Expired => "task_expired",
            TaskError::LifetimeTooLong => "task_lifetime_too_long",
            TaskError::BadSignature => "task_bad_signature",
            TaskError::SessionInvalid => "session_invalid",
            TaskError::FrequencyNotAllowed => "frequency_not_allowed",
            TaskError::Replayed => "task_replayed",
            _ => "task_refused",
        };
        ApiError::forbidden(code, error.to_string())
    }
}

/// A JSON body that did not parse: 400 for syntax, 422 for the wrong shape, 413 and 415
/// as the rejection says.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
            _ => "malformed_json",
        };
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request("invalid_query", rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::bad_request("invalid_path", rejection.body_text())
    }
}

/// Every code the API answers with, for the OpenAPI document and its tests.
pub const ERROR_CODES: &[&str] = &[
    "unauthenticated",
    "forbidden",
    "not_your_statement",
    "not_found",
    "method_not_allowed",
    "malformed_json",
    "invalid_body",
    "invalid_query",
    "invalid_path",
    "payload_too_large",
    "unsupported_media_type",
    "malformed_entry",
    "malformed_task",
    "malformed_delegation",
    "wrong_statement",
    "wrong_organization",
    "wrong_epoch",
    "stale_head",
    "replayed",
    "bad_signature",
    "clock_skew",
    "refused",
    "no_first_key_yet",
    "first_key_exists",
    "invalid_epoch_start",
    "not_host_key",
    "agent_removed",
    "key_reused",
    "id_reused",
    "unknown_request",
    "request_not_pending",
    "request_locked",
    "request_mismatch",
    "self_approval",
    "not_an_approver",
    "no_active_key",
    "not_active_key",
    "last_approver",
    "no_recovery_file",
    "recovery_file_replaced",
    "recovery_file_spent",
    "role_unchanged",
    "policy_unchanged",
    "log_exhausted",
    "task_wrong_organization",
    "task_epoch_closed",
    "task_key_not_active",
    "task_wrong_task",
    "task_expired",
    "task_lifetime_too_long",
    "task_bad_signature",
    "session_invalid",
    "frequency_not_allowed",
    "task_replayed",
    "task_refused",
    "rate_limited",
    "timeout",
    "storage_unavailable",
    "log_unverifiable",
    "wrong_host_key",
    "internal",
];
