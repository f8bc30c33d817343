//! zt-http: zt's HTTP API, an axum router a host service mounts.
//!
//! Every flow of the key lifecycle (DESIGN §3) has an endpoint under `/v1` that takes the
//! statement the agent's client signed, checks that it is the caller's and of the right
//! kind, and hands it to the [`zt_store::Ledger`], where zt-core decides it. Clients read
//! the organization's head (to sign at), its log (to verify offline), the caller's key
//! record (to derive it again), and approvers read the status page, the pending requests
//! and the key history. Hosts verify task authorizations; clients start and end
//! prompt-frequency sessions. The API is described by `/v1/openapi.json`
//! (`docs/openapi.json` in the repository).
//!
//! # What this crate does not do
//!
//! It logs nobody in: the host implements [`Authenticator`] and says who calls. It decides
//! nothing: rules live in zt-core, and this crate maps requests to commands and refusals
//! to errors (JSON `{code, message}`, 4xx for every client mistake). It never sees a
//! passphrase, a secret key or a recovery file; it logs identifiers and error codes only.
//! It does not send e-mail (the host drains the store's outbox) and does not listen on a
//! socket (zt-server does).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        reason = "tests assert by panicking"
    )
)]

mod api;
mod auth;
mod error;
mod limits;
mod metrics;
pub mod openapi;
mod routes;
pub mod wire;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use zt_store::Store;

pub use api::{Api, ApiConfig, Clock, SystemClock, MAX_BODY};
pub use auth::{Authenticator, Caller, Unauthenticated};
pub use error::{ApiError, ERROR_CODES};
pub use limits::{LimitClass, Rate, RateLimits};
pub use metrics::Metrics;

use routes::{statements, tasks, views};

/// The API's router, every route under `/v1`. Mount it in the host's axum app.
pub fn router<S: Store, A: Authenticator>(api: Api<S, A>) -> Router {
    let v1 = Router::new()
        .route("/org", get(views::org::<S, A>))
        .route("/log", get(views::log::<S, A>))
        .route("/keys/me", get(views::my_key::<S, A>))
        .route("/agents", get(views::agents::<S, A>))
        .route("/keys/first", post(statements::statement::<S, A, 0>))
        .route("/keys/requests", post(statements::statement::<S, A, 1>))
        .route("/keys/change", post(statements::statement::<S, A, 2>))
        .route("/keys/revoke", post(statements::statement::<S, A, 3>))
        .route("/requests", get(views::pending::<S, A>))
        .route("/requests/{request}", get(views::request::<S, A>))
        .route(
            "/requests/{request}/approve",
            post(statements::judgement::<S, A, 7>),
        )
        .route(
            "/requests/{request}/reject",
            post(statements::judgement::<S, A, 8>),
        )
        .route(
            "/requests/{request}/wrong-code",
            post(statements::judgement::<S, A, 9>),
        )
        .route("/recovery", post(statements::statement::<S, A, 4>))
        .route("/recovery/reset", post(statements::statement::<S, A, 5>))
        .route("/status", get(views::status::<S, A>))
        .route("/history", get(views::history::<S, A>))
        .route("/policy/prompt", put(statements::statement::<S, A, 6>))
        .route("/tasks/verify", post(tasks::verify_task::<S, A>))
        .route("/sessions", post(tasks::start_session::<S, A>))
        .route(
            "/sessions/{session_key}",
            delete(tasks::end_session::<S, A>),
        )
        .route("/openapi.json", get(openapi::serve));
    Router::new()
        .nest("/v1", v1)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take this method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            api.clone(),
            api::around::<S, A>,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}
