//! A router over a memory store, driven by zt-testkit's `World` as the clients: each
//! statement the world signs is posted to the API, and the world (the reference) takes it
//! only if the API accepted it, so the two stay in step.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses part of the harness"
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use zt_core::{AgentId, Command, OrgId, Role, Seq, UnixTime};
use zt_http::wire::encode_bytes;
use zt_http::{Api, ApiConfig, Authenticator, Caller, Clock, RateLimits, Unauthenticated};
use zt_store::{Ledger, Store};
use zt_store_memory::MemoryStore;
use zt_testkit::world::World;

/// Authenticates `Authorization: Bearer <agent id>` against a role table the test keeps.
#[derive(Clone, Debug, Default)]
pub struct TestAuth {
    pub org: Arc<Mutex<Option<OrgId>>>,
    pub roles: Arc<Mutex<HashMap<AgentId, Role>>>,
}

impl Authenticator for TestAuth {
    async fn authenticate(
        &self,
        parts: &axum::http::request::Parts,
    ) -> Result<Caller, Unauthenticated> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Unauthenticated)?;
        let agent: AgentId = token.parse().map_err(|_| Unauthenticated)?;
        let role = *self
            .roles
            .lock()
            .unwrap()
            .get(&agent)
            .ok_or(Unauthenticated)?;
        let org = self.org.lock().unwrap().ok_or(Unauthenticated)?;
        Ok(Caller { org, agent, role })
    }

    /// The test directory: every known agent's account is `<agent id>@example.test`.
    async fn find_agent(&self, _org: zt_core::OrgId, email: &str) -> Option<AgentId> {
        let agent: AgentId = email.strip_suffix("@example.test")?.parse().ok()?;
        self.roles
            .lock()
            .unwrap()
            .contains_key(&agent)
            .then_some(agent)
    }

    async fn account_of(&self, _org: zt_core::OrgId, agent: AgentId) -> Option<String> {
        let known = self.roles.lock().unwrap().contains_key(&agent);
        known.then(|| format!("{agent}@example.test"))
    }
}

/// A clock the test sets.
#[derive(Debug, Default)]
pub struct TestClock(pub AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// One response: status, headers, body (JSON, or the text as a JSON string).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

pub struct Harness {
    pub world: World,
    pub ledger: Arc<Ledger<MemoryStore>>,
    pub router: Router,
    pub auth: TestAuth,
    pub clock: Arc<TestClock>,
    /// Every response body, for the canary test.
    pub transcript: Vec<String>,
}

impl Harness {
    pub async fn new(seed: u64) -> Harness {
        Harness::with_limits(seed, RateLimits::unlimited()).await
    }

    pub async fn with_limits(seed: u64, rate_limits: RateLimits) -> Harness {
        let world = World::new(seed);
        let host = zt_core::HostKey::from_seed(zt_core::HostSeed::from_bytes(
            *world.host.seed().expose_secret(),
        ));
        let ledger = Arc::new(Ledger::new(MemoryStore::new(), host));
        ledger.create_org(world.org, world.now).await.unwrap();
        let auth = TestAuth::default();
        *auth.org.lock().unwrap() = Some(world.org);
        let clock = Arc::new(TestClock(AtomicU64::new(world.now.0)));
        let config = ApiConfig {
            rate_limits,
            ..ApiConfig::default()
        };
        let api = Api::with_clock(ledger.clone(), auth.clone(), config, clock.clone());
        Harness {
            world,
            ledger,
            router: zt_http::router(api),
            auth,
            clock,
            transcript: Vec::new(),
        }
    }

    /// The host gives `agent` a role, in its directory and in the log.
    pub async fn set_role(&mut self, agent: AgentId, role: Role) {
        self.auth.roles.lock().unwrap().insert(agent, role);
        if self.world.state.role(agent) == role {
            return;
        }
        self.world.set_role(agent, role).unwrap();
        let command = Command::SetRole {
            agent,
            role,
            force: false,
        };
        self.ledger
            .execute(self.world.org, command, self.world.now)
            .await
            .unwrap();
    }

    /// Sends a request as `agent` (or anonymously) with a raw body.
    pub async fn raw(
        &mut self,
        method: Method,
        path: &str,
        agent: Option<AgentId>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        self.clock.0.store(self.world.now.0, Ordering::SeqCst);
        let mut request = Request::builder().method(method).uri(path);
        if let Some(agent) = agent {
            request = request.header(header::AUTHORIZATION, format!("Bearer {agent}"));
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.transcript.push(text.clone());
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::String(text.clone()));
        if !status.is_success() {
            assert!(
                body["code"].is_string() && body["message"].is_string(),
                "an error without a JSON code and message: {status} {text}"
            );
            assert!(
                status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE,
                "not a 4xx: {status} {text}"
            );
        }
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&mut self, path: &str, agent: AgentId) -> Reply {
        self.raw(Method::GET, path, Some(agent), None, Vec::new())
            .await
    }

    pub async fn json(&mut self, method: Method, path: &str, agent: AgentId, body: Value) -> Reply {
        let bytes = serde_json::to_vec(&body).unwrap();
        self.raw(method, path, Some(agent), Some("application/json"), bytes)
            .await
    }

    /// Posts the statement `command` carries as `agent`; if the API accepts it, the
    /// reference takes it too (and must agree).
    pub async fn submit(
        &mut self,
        method: Method,
        path: &str,
        agent: AgentId,
        command: Command,
    ) -> Reply {
        let entry = command.entry().expect("an agent's command").clone();
        let body = serde_json::json!({ "entry": encode_bytes(entry.encoded()) });
        let reply = self.json(method, path, agent, body).await;
        if reply.status == StatusCode::CREATED {
            self.world.submit(command).unwrap_or_else(|refusal| {
                panic!("the API accepted what the reference refuses: {refusal}")
            });
            assert_eq!(reply.body["seq"], serde_json::json!(entry.header().seq.0));
        } else {
            // Nothing changed: the stored log still ends where the reference's does.
            self.assert_in_step().await;
        }
        reply
    }

    pub async fn post(&mut self, path: &str, agent: AgentId, command: Command) -> Reply {
        self.submit(Method::POST, path, agent, command).await
    }

    /// The stored log is the reference's log, byte for byte, and the ledger's state the
    /// reference's state.
    pub async fn assert_in_step(&self) {
        let stored = self
            .ledger
            .store()
            .entries(self.world.org, Seq(0), 100_000)
            .await
            .unwrap();
        let expected: Vec<Vec<u8>> = self
            .world
            .log
            .iter()
            .map(|e| e.encoded().to_vec())
            .collect();
        assert_eq!(
            stored, expected,
            "the stored log differs from the reference"
        );
        let state = self
            .ledger
            .read(self.world.org, Clone::clone)
            .await
            .unwrap();
        assert_eq!(
            state, self.world.state,
            "the ledger's state differs from the reference"
        );
    }
}
