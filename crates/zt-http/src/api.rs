//! The router's state, its extractors, and the middleware around every request.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use zt_core::UnixTime;
use zt_store::{Ledger, Store};

use crate::auth::{Authenticator, Caller};
use crate::error::ApiError;
use crate::limits::{LimitClass, RateLimiter, RateLimits};
use crate::metrics::Metrics;

/// The largest request body, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The server's clock, in whole seconds since the Unix epoch. zt-core never reads a clock;
/// the adapter passes this time in.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> UnixTime;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
        )
    }
}

/// How the API behaves: limits and timeouts.
#[derive(Clone, Copy, Debug)]
pub struct ApiConfig {
    /// Per-caller rate limits.
    pub rate_limits: RateLimits,
    /// The longest a request may take before it is answered `503 timeout`.
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            rate_limits: RateLimits::default(),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Everything a request handler needs: the ledger, the host's authenticator, the clock.
pub struct Api<S, A> {
    pub(crate) ledger: Arc<Ledger<S>>,
    pub(crate) auth: Arc<A>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: ApiConfig,
}

impl<S, A> Clone for Api<S, A> {
    fn clone(&self) -> Self {
        Api {
            ledger: self.ledger.clone(),
            auth: self.auth.clone(),
            clock: self.clock.clone(),
            limiter: self.limiter.clone(),
            metrics: self.metrics.clone(),
            config: self.config,
        }
    }
}

impl<S, A> std::fmt::Debug for Api<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Store, A: Authenticator> Api<S, A> {
    /// The API over `ledger`, trusting `auth` to say who calls, with the system clock.
    pub fn new(ledger: Arc<Ledger<S>>, auth: A, config: ApiConfig) -> Api<S, A> {
        Api::with_clock(ledger, auth, config, Arc::new(SystemClock))
    }

    /// As [`Api::new`], with another clock (tests).
    pub fn with_clock(
        ledger: Arc<Ledger<S>>,
        auth: A,
        config: ApiConfig,
        clock: Arc<dyn Clock>,
    ) -> Api<S, A> {
        Api {
            ledger,
            auth: Arc::new(auth),
            clock,
            limiter: Arc::new(RateLimiter::new(config.rate_limits)),
            metrics: Arc::new(Metrics::default()),
            config,
        }
    }

    /// The ledger (for the host's own commands: role changes, organization reset).
    pub fn ledger(&self) -> &Arc<Ledger<S>> {
        &self.ledger
    }

    /// The counters, for `/metrics`.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Takes a token from the caller's bucket of `class`, or answers 429.
    pub(crate) fn limit(&self, caller: &Caller, class: LimitClass) -> Result<(), ApiError> {
        self.limiter.check(caller.agent, class).map_err(|wait| {
            self.metrics.limited();
            let seconds = wait.as_secs().saturating_add(1);
            ApiError::rate_limited(seconds)
        })
    }
}

impl<S: Store, A: Authenticator> FromRequestParts<Api<S, A>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Api<S, A>) -> Result<Caller, ApiError> {
        api.auth
            .authenticate(parts)
            .await
            .map_err(|_| ApiError::unauthenticated())
    }
}

/// A JSON body whose rejections are API errors (JSON, with a stable code).
#[derive(Debug)]
pub(crate) struct Body<T>(pub(crate) T);

impl<T, St> FromRequest<St> for Body<T>
where
    T: DeserializeOwned,
    St: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &St) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(Body(value))
    }
}

/// Query parameters whose rejections are API errors.
#[derive(Debug)]
pub(crate) struct Query<T>(pub(crate) T);

impl<T, St> FromRequestParts<St> for Query<T>
where
    T: DeserializeOwned,
    St: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// Path parameters whose rejections are API errors.
#[derive(Debug)]
pub(crate) struct Path<T>(pub(crate) T);

impl<T, St> FromRequestParts<St> for Path<T>
where
    T: DeserializeOwned + Send,
    St: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// Answers `503 timeout` with `Retry-After: 1` when a request takes too long (work it
/// leaves, such as a first load of a long log, goes on with the next request), and counts
/// every response.
pub(crate) async fn around<S: Store, A: Authenticator>(
    axum::extract::State(api): axum::extract::State<Api<S, A>>,
    request: Request,
    next: Next,
) -> Response {
    let response = match tokio::time::timeout(api.config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long; try again",
            )
        }
        .into_response(),
    };
    let code = response
        .extensions()
        .get::<ErrorCode>()
        .map_or("ok", |code| code.0);
    api.metrics.response(code, response.status().as_u16());
    response
}

/// The error code of a response, for the counters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrorCode(pub(crate) &'static str);
