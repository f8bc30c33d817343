//! Every flow of DESIGN §3 through the router (no socket), with the views read back.

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use serde_json::json;
use zt_core::{
    PayloadDigest, PromptFrequency, PromptPolicy, Role, SessionDelegation, SessionKey,
    TaskAuthorization, TaskBinding, TaskKind,
};
use zt_http::wire::encode_bytes;
use zt_testkit::world::{agent, Verdict};

#[tokio::test]
async fn every_flow_over_http() {
    let mut h = Harness::new(1).await;
    let (alice, bob, carol, dave) = (agent(0), agent(1), agent(2), agent(3));
    h.set_role(alice, Role::Admin).await;
    h.set_role(bob, Role::SuperAdmin).await;
    h.set_role(carol, Role::Member).await;
    h.set_role(dave, Role::Member).await;

    // Before any key: the org says so, and no root yet.
    let org = h.get("/v1/org", carol).await;
    assert_eq!(org.status, StatusCode::OK);
    assert_eq!(org.body["has_active_key"], json!(false));
    assert_eq!(org.body["root"], json!(null));

    // A member's first key is accepted with a warning; here an admin founds the root.
    let (_, first) = h.world.build_first_key(alice);
    let reply = h.post("/v1/keys/first", alice, first).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["warnings"], json!([]));
    let org = h.get("/v1/org", carol).await;
    assert_eq!(
        org.body["root"],
        json!(h.world.state.trust_root().unwrap().to_string())
    );

    // A second first key is refused.
    let (_, second) = h.world.build_first_key(bob);
    assert_eq!(
        h.post("/v1/keys/first", bob, second).await.code(),
        "first_key_exists"
    );

    // Bob requests; Alice sees it, fetches the entry, reports a wrong code, then approves.
    let (request, command) = h.world.build_request(bob);
    assert_eq!(
        h.post("/v1/keys/requests", bob, command).await.status,
        StatusCode::CREATED
    );
    let pending = h.get("/v1/requests", alice).await;
    assert_eq!(
        pending.body["items"][0]["request"],
        json!(request.to_string())
    );
    let detail = h.get(&format!("/v1/requests/{request}"), alice).await;
    let entry = h.world.request_entry(request).unwrap().encoded().to_vec();
    assert_eq!(detail.body["entry"], json!(encode_bytes(&entry)));
    assert_eq!(
        h.get(&format!("/v1/requests/{request}"), carol)
            .await
            .code(),
        "forbidden"
    );
    let wrong = h.world.build_judgement(alice, request, Verdict::WrongCode);
    let path = format!("/v1/requests/{request}/wrong-code");
    assert_eq!(
        h.post(&path, alice, wrong).await.status,
        StatusCode::CREATED
    );
    let approval = h.world.build_judgement(alice, request, Verdict::Approve);
    let path = format!("/v1/requests/{request}/approve");
    assert_eq!(
        h.post(&path, alice, approval).await.status,
        StatusCode::CREATED
    );

    // Carol requests, Bob rejects; she requests again and Bob approves.
    let (request, command) = h.world.build_request(carol);
    h.post("/v1/keys/requests", carol, command).await;
    let rejection = h.world.build_judgement(bob, request, Verdict::Reject);
    let reply = h
        .post(&format!("/v1/requests/{request}/reject"), bob, rejection)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let (request, command) = h.world.build_request(carol);
    h.post("/v1/keys/requests", carol, command).await;
    let approval = h.world.build_judgement(bob, request, Verdict::Approve);
    let reply = h
        .post(&format!("/v1/requests/{request}/approve"), bob, approval)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);

    // Carol's key record: KDF parameters and salt to derive it again.
    let mine = h.get("/v1/keys/me", carol).await;
    let (key, info) = h.world.state.active_key(carol).unwrap();
    assert_eq!(mine.body["active"]["key"], json!(key.to_string()));
    assert_eq!(
        mine.body["active"]["record"]["salt"],
        json!(info.record.salt.to_string())
    );
    assert_eq!(mine.body["status"]["state"], json!("active"));

    // The host's directory names agents both ways; unknown accounts are simply absent.
    let found = h
        .get(&format!("/v1/agents?email={carol}@example.test"), bob)
        .await;
    assert_eq!(found.body["items"][0]["agent"], json!(carol.to_string()));
    let named = h.get(&format!("/v1/agents?ids={carol},{bob}"), carol).await;
    assert_eq!(named.body["items"].as_array().unwrap().len(), 2);
    let nobody = h.get("/v1/agents?email=nobody@example.test", bob).await;
    assert_eq!(nobody.body["items"], json!([]));
    assert_eq!(h.get("/v1/agents", bob).await.code(), "invalid_query");
    assert_eq!(h.get("/v1/agents?ids=x", bob).await.code(), "invalid_query");
    assert_eq!(h.get("/v1/agents?ids=", bob).await.body["items"], json!([]));
    for loose in [
        format!("{carol},,{bob}"),
        format!("{carol},"),
        format!(",{carol}"),
    ] {
        let response = h.get(&format!("/v1/agents?ids={loose}"), bob).await;
        assert_eq!(response.code(), "invalid_query", "{loose}");
    }

    // Carol changes her key, registers a recovery file, and resets with it.
    let (_, change) = h.world.build_change(carol);
    assert_eq!(
        h.post("/v1/keys/change", carol, change).await.status,
        StatusCode::CREATED
    );
    let (file, registration) = h.world.build_recovery_registration(carol);
    assert_eq!(
        h.post("/v1/recovery", carol, registration).await.status,
        StatusCode::CREATED
    );
    let (_, reset) = h.world.build_recovery_reset(carol, file);
    assert_eq!(
        h.post("/v1/recovery/reset", carol, reset).await.status,
        StatusCode::CREATED
    );
    let (_, spent) = h.world.build_recovery_reset(carol, file);
    assert_eq!(
        h.post("/v1/recovery/reset", carol, spent).await.code(),
        "recovery_file_spent"
    );

    // Tasks: verified once, replay refused.
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(b"Get-Process"),
    };
    let key = h.world.state.active_key(carol).unwrap().0;
    let (org_id, epoch, now) = (h.world.org, h.world.state.epoch(), h.world.now);
    let mut rng = h.world.rng().clone();
    let task = TaskAuthorization::sign(
        h.world.keys(key),
        org_id,
        epoch,
        binding.clone(),
        now,
        300,
        &mut rng,
    );
    let body = json!({
        "authorization": encode_bytes(&task.encode()),
        "kind": "remote-execution",
        "payload_digest": binding.payload.to_string(),
    });
    let accepted = h
        .json(Method::POST, "/v1/tasks/verify", alice, body.clone())
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(accepted.body["agent"], json!(carol.to_string()));
    assert_eq!(accepted.body["frequency"], json!("each-task"));
    assert_eq!(
        h.json(Method::POST, "/v1/tasks/verify", alice, body)
            .await
            .code(),
        "task_replayed"
    );

    // Sessions: Carol unlocks for a day; her session signs; she logs out; it stops.
    let session = SessionKey::generate(&mut rng);
    let delegation = SessionDelegation::issue(
        h.world.keys(key),
        org_id,
        epoch,
        session.public(),
        PromptFrequency::Day,
        now,
    )
    .unwrap();
    let started = h
        .json(
            Method::POST,
            "/v1/sessions",
            carol,
            json!({ "delegation": encode_bytes(&delegation.encode()) }),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let by_session = |rng: &mut rand_chacha::ChaCha20Rng| {
        let task = TaskAuthorization::sign_with_session(
            &session,
            &delegation,
            binding.clone(),
            now,
            300,
            rng,
        );
        json!({ "authorization": encode_bytes(&task.encode()), "kind": "remote-execution", "payload_digest": binding.payload.to_string() })
    };
    let reply = h
        .json(
            Method::POST,
            "/v1/tasks/verify",
            alice,
            by_session(&mut rng),
        )
        .await;
    assert_eq!(reply.body["frequency"], json!("day"), "{}", reply.text);
    let path = format!("/v1/sessions/{}", session.public());
    assert_eq!(
        h.raw(Method::DELETE, &path, Some(bob), None, vec![])
            .await
            .code(),
        "session_invalid"
    );
    assert_eq!(
        h.raw(Method::DELETE, &path, Some(carol), None, vec![])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let reply = h
        .json(
            Method::POST,
            "/v1/tasks/verify",
            alice,
            by_session(&mut rng),
        )
        .await;
    assert_eq!(reply.code(), "session_invalid");

    // Policy: only each task; a member may not set it.
    let policy = h.world.build_policy(alice, PromptPolicy::EACH_TASK_ONLY);
    assert_eq!(
        h.submit(Method::PUT, "/v1/policy/prompt", carol, policy.clone())
            .await
            .code(),
        "forbidden"
    );
    assert_eq!(
        h.submit(Method::PUT, "/v1/policy/prompt", alice, policy)
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        h.get("/v1/org", carol).await.body["prompt_policy"],
        json!(["each-task"])
    );

    // Revocation: Bob revokes Carol's; a member cannot revoke others; the last approver.
    let revocation = h.world.build_revocation(dave, carol, false);
    assert_eq!(
        h.post("/v1/keys/revoke", dave, revocation).await.code(),
        "forbidden"
    );
    let revocation = h.world.build_revocation(bob, carol, false);
    assert_eq!(
        h.post("/v1/keys/revoke", bob, revocation).await.status,
        StatusCode::CREATED
    );
    let own = h.world.build_revocation(bob, bob, false);
    assert_eq!(
        h.post("/v1/keys/revoke", bob, own).await.status,
        StatusCode::CREATED
    );
    let last = h.world.build_revocation(alice, alice, false);
    assert_eq!(
        h.post("/v1/keys/revoke", alice, last).await.code(),
        "last_approver"
    );
    let forced = h.world.build_revocation(alice, alice, true);
    assert_eq!(
        h.post("/v1/keys/revoke", alice, forced).await.status,
        StatusCode::CREATED
    );

    // Views: the status page (filtered, paged), history (members: their own only).
    let page = h.get("/v1/status?state=revoked&limit=1", alice).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    let next = page.body["next"].as_str().unwrap().to_owned();
    let rest = h
        .get(&format!("/v1/status?state=revoked&after={next}"), alice)
        .await;
    assert_eq!(
        rest.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        rest.text
    );
    assert_eq!(h.get("/v1/status", carol).await.code(), "forbidden");
    let own = h.get(&format!("/v1/history?agent={carol}"), carol).await;
    assert!(
        own.body["items"].as_array().unwrap().len() >= 4,
        "{}",
        own.text
    );
    assert_eq!(h.get("/v1/history", carol).await.code(), "forbidden");
    let all = h.get("/v1/history?limit=3", alice).await;
    let next = &all.body["next"];
    let more = h
        .get(
            &format!(
                "/v1/history?limit=3&after_seq={}&after_line={}",
                next["after_seq"], next["after_line"]
            ),
            alice,
        )
        .await;
    assert_ne!(all.body["items"][0], more.body["items"][0]);

    // The log, paged, is the reference's log; devices verify it from the root.
    let mut entries = Vec::new();
    let mut from = 0;
    loop {
        let page = h.get(&format!("/v1/log?from={from}&limit=7"), dave).await;
        entries.extend(
            page.body["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned()),
        );
        match page.body["next"].as_u64() {
            Some(next) => from = next,
            None => break,
        }
    }
    let expected: Vec<String> = h
        .world
        .log
        .iter()
        .map(|e| encode_bytes(e.encoded()))
        .collect();
    assert_eq!(entries, expected);
    h.assert_in_step().await;
}

#[tokio::test]
async fn a_member_first_key_warns_that_nobody_can_approve() {
    let mut h = Harness::new(2).await;
    h.set_role(agent(5), Role::Member).await;
    let (_, first) = h.world.build_first_key(agent(5));
    let reply = h.post("/v1/keys/first", agent(5), first).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.body["warnings"],
        json!(["first_key_creator_cannot_approve"])
    );
}

#[tokio::test]
async fn the_openapi_document_is_served_and_kept_in_docs() {
    let mut h = Harness::new(3).await;
    let reply = h
        .raw(Method::GET, "/v1/openapi.json", None, None, vec![])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var_os("ZT_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &reply.text).unwrap();
    }
    let kept = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        kept == reply.text,
        "docs/openapi.json is out of date: run ZT_UPDATE_OPENAPI=1 cargo test -p zt-http --test flows"
    );
}

#[tokio::test]
async fn every_documented_route_is_mounted_and_needs_credentials() {
    let mut h = Harness::new(4).await;
    for route in zt_http::openapi::ROUTES {
        let path = route
            .path
            .replace("{request}", "00000000-0000-0000-0000-000000000000")
            .replace("{session_key}", &"00".repeat(32));
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let reply = h
            .raw(
                method,
                &path,
                None,
                Some("application/json"),
                b"{}".to_vec(),
            )
            .await;
        if route.access == zt_http::openapi::Access::Public {
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{} {}",
                route.method,
                route.path
            );
        } else {
            assert_eq!(
                reply.code(),
                "unauthenticated",
                "{} {}",
                route.method,
                route.path
            );
        }
    }
    assert_eq!(h.get("/v1/nothing", agent(0)).await.code(), "not_found");
    let reply = h
        .raw(Method::DELETE, "/v1/org", Some(agent(0)), None, vec![])
        .await;
    assert_eq!(reply.code(), "method_not_allowed");
}
