//! Hostile and broken requests: each gets its error code, and nothing changes (the stored
//! log and the ledger's state stay the reference's, which took nothing).

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use serde_json::json;
use zt_core::{OrgId, PayloadDigest, Role, TaskAuthorization, TaskBinding, TaskKind, UnixTime};
use zt_http::wire::encode_bytes;
use zt_http::{Rate, RateLimits};
use zt_testkit::world::{agent, Verdict, World};

/// Alice (admin, active key), Bob (admin, active key), Carol (member, pending request).
async fn organization(seed: u64) -> (Harness, zt_core::RequestId) {
    let mut h = Harness::new(seed).await;
    h.set_role(agent(0), Role::Admin).await;
    h.set_role(agent(1), Role::Admin).await;
    h.set_role(agent(2), Role::Member).await;
    let (_, first) = h.world.build_first_key(agent(0));
    h.post("/v1/keys/first", agent(0), first).await;
    let (request, command) = h.world.build_request(agent(1));
    h.post("/v1/keys/requests", agent(1), command).await;
    let approval = h.world.build_judgement(agent(0), request, Verdict::Approve);
    h.post(
        &format!("/v1/requests/{request}/approve"),
        agent(0),
        approval,
    )
    .await;
    let (request, command) = h.world.build_request(agent(2));
    h.post("/v1/keys/requests", agent(2), command).await;
    h.assert_in_step().await;
    (h, request)
}

async fn send(
    h: &mut Harness,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (StatusCode, String) {
    let reply = h
        .raw(
            Method::POST,
            path,
            Some(agent(0)),
            content_type,
            body.to_vec(),
        )
        .await;
    h.assert_in_step().await;
    (reply.status, reply.code().to_owned())
}

#[tokio::test]
async fn malformed_bodies_are_4xx_with_a_code_and_change_nothing() {
    let (mut h, request) = organization(10).await;
    let approve = format!("/v1/requests/{request}/approve");
    let json = Some("application/json");
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "not JSON",
            json,
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "no content type",
            None,
            br#"{"entry":"AA=="}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "wrong type",
            json,
            br#"{"entry":42}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "missing field",
            json,
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown field",
            json,
            br#"{"entry":"AA==","admin":true}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "not base64",
            json,
            br#"{"entry":"!!!"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "not an entry",
            json,
            br#"{"entry":"AAECAwQ="}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_entry",
        ),
        (
            "oversized",
            json,
            format!(r#"{{"entry":"{}"}}"#, "A".repeat(70 * 1024)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (what, content_type, body, status, code) in cases {
        let (got_status, got_code) = send(&mut h, &approve, content_type, &body).await;
        assert_eq!((got_status, got_code.as_str()), (status, code), "{what}");
    }
    let reply = h
        .raw(
            Method::GET,
            "/v1/status?limit=many",
            Some(agent(0)),
            None,
            vec![],
        )
        .await;
    assert_eq!(reply.code(), "invalid_query");
    let reply = h
        .raw(
            Method::GET,
            "/v1/requests/xyz",
            Some(agent(0)),
            None,
            vec![],
        )
        .await;
    assert_eq!(reply.code(), "invalid_path");
}

#[tokio::test]
async fn hostile_statements_are_refused_and_change_nothing() {
    let (mut h, request) = organization(11).await;
    let approve = format!("/v1/requests/{request}/approve");

    // Without credentials, or with unknown ones.
    let approval = h.world.build_judgement(agent(0), request, Verdict::Approve);
    let body = json!({ "entry": encode_bytes(approval.entry().unwrap().encoded()) });
    let reply = h
        .raw(
            Method::POST,
            &approve,
            None,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let reply = h.json(Method::POST, &approve, agent(9), body.clone()).await;
    assert_eq!(reply.code(), "unauthenticated");

    // Someone else's signed approval, posted by Bob: not his statement.
    assert_eq!(
        h.post(&approve, agent(1), approval.clone()).await.code(),
        "not_your_statement"
    );
    // The right statement at the wrong endpoint, or for another request in the path.
    assert_eq!(
        h.post("/v1/keys/change", agent(0), approval.clone())
            .await
            .code(),
        "wrong_statement"
    );
    let other = "/v1/requests/abababab-abab-abab-abab-abababababab/approve";
    assert_eq!(
        h.post(other, agent(0), approval.clone()).await.code(),
        "request_mismatch"
    );

    // A member trying admin actions; self-approval; approval by a member's key.
    let by_member = h.world.build_judgement(agent(2), request, Verdict::Approve);
    assert_eq!(
        h.post(&approve, agent(2), by_member).await.code(),
        "forbidden"
    );
    let rejection = h.world.build_judgement(agent(2), request, Verdict::Reject);
    let path = format!("/v1/requests/{request}/reject");
    assert_eq!(h.post(&path, agent(2), rejection).await.code(), "forbidden");
    h.auth.roles.lock().unwrap().insert(agent(2), Role::Admin); // the directory says admin, the log does not
    let self_approval = h.world.build_judgement(agent(2), request, Verdict::Approve);
    assert_eq!(
        h.post(&approve, agent(2), self_approval).await.code(),
        "self_approval"
    );
    h.auth.roles.lock().unwrap().insert(agent(2), Role::Member);

    // An unknown request id.
    let (unknown, command) = h.world.build_request(agent(2));
    drop(command);
    let stray = h.world.build_judgement(agent(0), unknown, Verdict::Approve);
    let path = format!("/v1/requests/{unknown}/approve");
    assert_eq!(
        h.post(&path, agent(0), stray).await.code(),
        "unknown_request"
    );
    assert_eq!(
        h.get(&format!("/v1/requests/{unknown}"), agent(0))
            .await
            .code(),
        "not_found"
    );

    // A bad signature: flip the last byte of a valid approval.
    let mut bytes = approval.entry().unwrap().encoded().to_vec();
    *bytes.last_mut().unwrap() ^= 1;
    let reply = h
        .json(
            Method::POST,
            &approve,
            agent(0),
            json!({ "entry": encode_bytes(&bytes) }),
        )
        .await;
    assert_eq!(reply.code(), "bad_signature");
    h.assert_in_step().await;

    // Signed at a stale head (another statement went first): sign again, at the head given.
    let stale = h.world.build_judgement(agent(0), request, Verdict::Approve);
    let (_, change) = h.world.build_change(agent(1));
    assert_eq!(
        h.post("/v1/keys/change", agent(1), change).await.status,
        StatusCode::CREATED
    );
    let reply = h.post(&approve, agent(0), stale).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "stale_head")
    );
    assert_eq!(
        reply.body["head"]["next_seq"],
        json!(h.world.state.head().next_seq.0)
    );

    // A replayed statement: the same accepted entry, posted again.
    let (_, change) = h.world.build_change(agent(1));
    assert_eq!(
        h.post("/v1/keys/change", agent(1), change.clone())
            .await
            .status,
        StatusCode::CREATED
    );
    let reply = h.post("/v1/keys/change", agent(1), change).await;
    assert!(
        ["stale_head", "replayed"].contains(&reply.code()),
        "{}",
        reply.text
    );

    // Another organization's statement, and another epoch's.
    let mut stranger = World::new(99);
    stranger.set_role(agent(0), Role::Admin).unwrap();
    let (_, foreign) = stranger.build_first_key(agent(0));
    assert_eq!(
        h.post("/v1/keys/first", agent(0), foreign).await.code(),
        "wrong_organization"
    );
    let mut head = h.world.state.head();
    head.epoch = zt_core::Epoch(head.epoch.0 + 1);
    h.world.override_position(Some(head), None);
    let (_, future) = h.world.build_change(agent(1));
    h.world.override_position(None, None);
    assert_eq!(
        h.post("/v1/keys/change", agent(1), future).await.code(),
        "wrong_epoch"
    );

    // A statement from far in the past.
    h.world
        .override_position(None, Some(UnixTime(h.world.now.0 - 3600)));
    let (_, old) = h.world.build_change(agent(1));
    h.world.override_position(None, None);
    assert_eq!(
        h.post("/v1/keys/change", agent(1), old).await.code(),
        "clock_skew"
    );
    h.assert_in_step().await;
}

#[tokio::test]
async fn hostile_task_authorizations_are_refused() {
    let (mut h, _) = organization(12).await;
    let binding = TaskBinding {
        kind: TaskKind::new("remote-control").unwrap(),
        payload: PayloadDigest::of(b"session 1"),
    };
    let key = h.world.state.active_key(agent(1)).unwrap().0;
    let (org, epoch, now) = (h.world.org, h.world.state.epoch(), h.world.now);
    let mut rng = h.world.rng().clone();
    let sign = |h: &Harness, org: OrgId, rng: &mut rand_chacha::ChaCha20Rng| {
        TaskAuthorization::sign(
            h.world.keys(key),
            org,
            epoch,
            binding.clone(),
            now,
            300,
            rng,
        )
    };
    let body = |task: &TaskAuthorization, kind: &str, digest: &PayloadDigest| json!({ "authorization": encode_bytes(&task.encode()), "kind": kind, "payload_digest": digest.to_string() });
    let verify = "/v1/tasks/verify";
    let task = sign(&h, org, &mut rng);
    let other = PayloadDigest::of(b"session 2");
    let cases = [
        (body(&task, "remote-control", &other), "task_wrong_task"),
        (
            body(&task, "remote-execution", &binding.payload),
            "task_wrong_task",
        ),
        (
            body(
                &sign(&h, OrgId::from_bytes([7; 16]), &mut rng),
                "remote-control",
                &binding.payload,
            ),
            "task_wrong_organization",
        ),
        (
            json!({ "authorization": "AAAA", "kind": "remote-control", "payload_digest": binding.payload.to_string() }),
            "malformed_task",
        ),
        (
            json!({ "authorization": encode_bytes(&task.encode()), "kind": "Remote Control!", "payload_digest": binding.payload.to_string() }),
            "invalid_body",
        ),
        (
            json!({ "authorization": encode_bytes(&task.encode()), "kind": "remote-control", "payload_digest": "zz" }),
            "invalid_body",
        ),
    ];
    for (request, code) in cases {
        assert_eq!(
            h.json(Method::POST, verify, agent(0), request).await.code(),
            code
        );
    }
    // A refused authorization is not spent: the right task still verifies, once.
    let right = body(&task, "remote-control", &binding.payload);
    assert_eq!(
        h.json(Method::POST, verify, agent(0), right.clone())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.json(Method::POST, verify, agent(0), right).await.code(),
        "task_replayed"
    );
    // Expired: the clock moves past its expiry.
    let late = sign(&h, org, &mut rng);
    h.world.now = UnixTime(now.0 + 301);
    let reply = h
        .json(
            Method::POST,
            verify,
            agent(0),
            body(&late, "remote-control", &binding.payload),
        )
        .await;
    assert_eq!(reply.code(), "task_expired");
}

#[tokio::test]
async fn guessing_endpoints_are_rate_limited_with_retry_after() {
    let limits = RateLimits {
        code: Rate {
            burst: 2,
            per_second: 0.01,
        },
        ..RateLimits::unlimited()
    };
    let mut h = Harness::with_limits(13, limits).await;
    h.set_role(agent(0), Role::Admin).await;
    h.set_role(agent(1), Role::Member).await;
    let (_, first) = h.world.build_first_key(agent(0));
    h.post("/v1/keys/first", agent(0), first).await;
    let (request, command) = h.world.build_request(agent(1));
    h.post("/v1/keys/requests", agent(1), command).await;
    let path = format!("/v1/requests/{request}/wrong-code");
    for _ in 0..2 {
        let report = h
            .world
            .build_judgement(agent(0), request, Verdict::WrongCode);
        assert_eq!(
            h.post(&path, agent(0), report).await.status,
            StatusCode::CREATED
        );
    }
    let report = h
        .world
        .build_judgement(agent(0), request, Verdict::WrongCode);
    let reply = h.post(&path, agent(0), report).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "Retry-After {retry}");
}
