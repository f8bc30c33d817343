//! A request that takes longer than `ApiConfig::request_timeout` is answered `503 timeout`,
//! with `Retry-After`, and the work it was waiting on is not the client's mistake.

#![allow(clippy::unwrap_used, reason = "a test")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use zt_core::{HostKey, HostSeed};
use zt_http::{Api, ApiConfig, Authenticator, Caller, RateLimits, Unauthenticated};
use zt_store::Ledger;
use zt_store_memory::MemoryStore;

/// A host whose account lookup never answers (a directory that hangs).
#[derive(Clone)]
struct HangingAuth;

impl Authenticator for HangingAuth {
    async fn authenticate(
        &self,
        _: &axum::http::request::Parts,
    ) -> Result<Caller, Unauthenticated> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_request_over_the_timeout_is_503_with_retry_after() {
    let ledger = Arc::new(Ledger::new(
        MemoryStore::new(),
        HostKey::from_seed(HostSeed::from_bytes([7; 32])),
    ));
    let config = ApiConfig {
        rate_limits: RateLimits::unlimited(),
        request_timeout: Duration::from_millis(100),
    };
    let router = zt_http::router(Api::new(ledger, HangingAuth, config));
    let started = Instant::now();
    let response = router
        .oneshot(
            Request::get("/v1/org")
                .header(header::AUTHORIZATION, "Bearer anyone")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at the timeout"
    );
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["code"], "timeout");
}
