//! A real `zt-server` process on SQLite, driven over HTTP as clients and an admin would,
//! with e-mail to a local SMTP sink.

mod common;

use common::{fast_keys, Client, Organization, SmtpSink};
use rand_core::OsRng;
use serde_json::json;
use zt_core::{
    verify_encoded_log, AccessSecret, PayloadDigest, TaskAuthorization, TaskBinding, TaskKind,
    TrustRoot,
};
use zt_http::wire::{decode_bytes, encode_bytes};

/// A verification request for a task `keys` sign now in epoch 0, valid two minutes.
fn task_body(
    keys: &zt_core::AgentKeys,
    org: zt_core::OrgId,
    binding: &TaskBinding,
) -> serde_json::Value {
    let task = TaskAuthorization::sign(
        keys,
        org,
        zt_core::Epoch(0),
        binding.clone(),
        common::now(),
        120,
        &mut OsRng,
    );
    json!({ "authorization": encode_bytes(&task.encode()), "kind": binding.kind.as_str(), "payload_digest": binding.payload.to_string() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_against_a_real_server_with_mail() {
    let sink = SmtpSink::start().await;
    let setup = Organization::on_sqlite("member");
    let (org, alice, bob) = (setup.org, setup.alice.clone(), setup.bob.clone());
    let server = setup.start(&["--smtp-url", &sink.url(), "--mail-from", "zt@example.test"]);
    let http = common::http_client();
    let health = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let a = Client::new(&server.url, &alice, org);
    let b = Client::new(&server.url, &bob, org);
    let alice_keys = fast_keys(org, alice.id);
    let (status, body) = a.first_key(&alice_keys).await;
    assert_eq!(status, 201, "{body}");

    // Bob requests a key; his client shows the code; he tells Alice; her client compares.
    let bob_keys = fast_keys(org, bob.id);
    let (request, entry) = b.request_key(&bob_keys).await;
    let (_, detail) = a.get(&format!("/v1/requests/{request}")).await;
    let fetched = decode_bytes(detail["entry"].as_str().unwrap(), "entry").unwrap();
    assert_eq!(
        fetched,
        entry.encoded(),
        "the server serves the request as signed"
    );
    let (status, body) = a.approve(request, &entry, &alice_keys).await;
    assert_eq!(status, 201, "{body}");

    // Bob is told by e-mail, through SMTP.
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, vec!["bob@example.test".to_owned()]);
    assert!(
        mails[0]
            .data
            .contains("Subject: Your zt signature key was approved"),
        "{}",
        mails[0].data
    );

    // Bob makes a recovery file and resets his key with it: he and the admins are told.
    let recovery = zt_core::RecoveryKeys::generate(org, bob.id, &mut OsRng);
    let entry = b
        .builder()
        .await
        .recovery_registration(
            bob.id,
            &bob_keys,
            &recovery,
            &AccessSecret::random(&mut OsRng),
            &mut OsRng,
        )
        .unwrap();
    assert_eq!(b.submit("/v1/recovery", &entry).await.0, 201);
    let renewed = fast_keys(org, bob.id);
    let entry = b
        .builder()
        .await
        .recovery_reset(
            bob.id,
            bob_keys.key_id(),
            &recovery,
            &renewed,
            &AccessSecret::random(&mut OsRng),
            &mut OsRng,
        )
        .unwrap();
    assert_eq!(b.submit("/v1/recovery/reset", &entry).await.0, 201);
    let bob_keys = renewed;
    let mails = sink.wait_for(3).await;
    let to = |who: &str, subject: &str| {
        mails
            .iter()
            .any(|m| m.to == [who.to_owned()] && m.data.contains(subject))
    };
    assert!(
        to(
            "bob@example.test",
            "Subject: Your zt signature key was reset with your recovery file"
        ),
        "{mails:?}"
    );
    assert!(
        to(
            "alice@example.test",
            "Subject: bob@example.test reset their zt signature key with a recovery"
        ),
        "{mails:?}"
    );

    // Bob's task, verified by the server once.
    let binding = TaskBinding {
        kind: TaskKind::new("remote-control").unwrap(),
        payload: PayloadDigest::of(b"screen"),
    };
    let body = task_body(&bob_keys, org, &binding);
    assert_eq!(a.post("/v1/tasks/verify", body.clone()).await.0, 200);
    assert_eq!(
        a.post("/v1/tasks/verify", body).await.1["code"],
        json!("task_replayed")
    );

    // An auditor verifies the served log from the pinned root and finds both keys.
    let (_, info) = a.get("/v1/org").await;
    let root: TrustRoot = info["root"].as_str().unwrap().parse().unwrap();
    let (_, log) = a.get("/v1/log?limit=1000").await;
    let entries: Vec<Vec<u8>> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| decode_bytes(e.as_str().unwrap(), "entry").unwrap())
        .collect();
    let verified = verify_encoded_log(&root, &entries, zt_core::VerifyMode::Strict).unwrap();
    assert_eq!(verified.active_keys().len(), 2);

    // Deprovisioning while the server runs: Bob's key is revoked at once, his token stops,
    // and he is told.
    setup.admin(&[
        "agent",
        "remove",
        "--org",
        &org.to_string(),
        "--email",
        "bob@example.test",
    ]);
    assert_eq!(b.get("/v1/org").await.0, 401);
    let (_, status) = a.get("/v1/status?state=revoked").await;
    assert_eq!(status["items"][0]["agent"], json!(bob.id.to_string()));
    let mails = sink.wait_for(4).await;
    assert!(
        mails[3]
            .data
            .contains("Subject: Your zt signature key was revoked"),
        "{}",
        mails[3].data
    );

    // Support resets the organization: every key ends, Alice is told, Bob's old task
    // authorizations are refused, and the next key is a first key again.
    let out = setup.admin(&["org", "reset", "--org", &org.to_string()]);
    assert!(out.contains("epoch 0 ended, epoch 1 begins"), "{out}");
    let mails = sink.wait_for(5).await;
    assert_eq!(mails[4].to, vec!["alice@example.test".to_owned()]);
    assert!(
        mails[4]
            .data
            .contains("Subject: Your organization's zt keys were reset"),
        "{}",
        mails[4].data
    );
    let (_, mine) = a.get("/v1/keys/me").await;
    assert_eq!(mine["status"]["state"], json!("reset"), "{mine}");
    let (_, info) = a.get("/v1/org").await;
    assert_eq!(
        (info["epoch"].clone(), info["has_active_key"].clone()),
        (json!(1), json!(false))
    );
    let body = task_body(&alice_keys, org, &binding);
    assert_eq!(
        a.post("/v1/tasks/verify", body).await.1["code"],
        json!("task_wrong_organization")
    );
    assert_eq!(
        a.first_key(&fast_keys(org, alice.id)).await.0,
        201,
        "a first key again"
    );

    // Metrics, then a graceful stop. The log never shows a token.
    let metrics = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("zt_statements_total{kind=\"approval\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("zt_task_verifications_total{outcome=\"accepted\"} 1"),
        "{metrics}"
    );
    // On SQLite the server is the one verifier: Bob's authorization raised the replay
    // horizon once (spec §9.5), and no replay key was committed on its own.
    assert!(metrics.contains("zt_replay_commits_total 0\n"), "{metrics}");
    assert!(
        metrics.contains("zt_replay_horizon_commits_total 1\n"),
        "{metrics}"
    );
    let log = server.log.clone();
    assert!(server.terminate(), "a graceful shutdown exits 0");
    let log = log.lock().unwrap().clone();
    // Tokens are stored only as hashes: no database file holds one.
    for file in ["zt.sqlite", "zt.sqlite-wal"] {
        let bytes = std::fs::read(setup.dir.path().join(file)).unwrap_or_default();
        for token in [&alice.token, &bob.token] {
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "{file} holds a token");
        }
    }
    assert!(log.contains("statement appended"), "{log}");
    for token in [&alice.token, &bob.token] {
        assert!(!log.contains(token.as_str()), "the server logged a token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_survives_an_unreachable_relay_and_a_restart() {
    // A port with nothing listening: the relay is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let relay = format!("smtp://127.0.0.1:{port}");
    let setup = Organization::on_sqlite("admin");
    let (org, alice, bob) = (setup.org, setup.alice.clone(), setup.bob.clone());
    let args = ["--smtp-url", relay.as_str(), "--mail-retry-seconds", "1"];
    let server = setup.start(&args);
    let a = Client::new(&server.url, &alice, org);
    let alice_keys = fast_keys(org, alice.id);
    assert_eq!(a.first_key(&alice_keys).await.0, 201);
    let b = Client::new(&server.url, &bob, org);
    let (request, entry) = b.request_key(&fast_keys(org, bob.id)).await;
    assert_eq!(a.approve(request, &entry, &alice_keys).await.0, 201);

    // The first attempt fails and is rescheduled; then the server goes away.
    for _ in 0..100 {
        if server.log.lock().unwrap().contains("will retry") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        server.log.lock().unwrap().contains("will retry"),
        "{}",
        server.log.lock().unwrap()
    );
    assert!(server.terminate());

    // The relay comes back, a new server process starts, and the mail is delivered.
    let sink = SmtpSink::start_on(port).await;
    let _server = setup.start(&args);
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "the mail was lost");
    assert_eq!(mails[0].to, vec!["bob@example.test".to_owned()]);
}

#[test]
fn administration_errors_are_clear_and_exit_1() {
    let setup = Organization::on_sqlite("member");
    let (db, key, org) = (&setup.db, &setup.key, setup.org.to_string());
    let run = |args: &[&str]| {
        std::process::Command::new(common::BINARY)
            .args(args)
            .args(["--database-url", db])
            .arg("--host-key-file")
            .arg(key)
            .output()
            .unwrap()
    };
    let taken = run(&[
        "agent",
        "add",
        "--org",
        &org,
        "--email",
        "alice@example.test",
    ]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&taken.stderr)
        .contains("error: an agent with e-mail alice@example.test already exists"));
    let bad_email = run(&["agent", "add", "--org", &org, "--email", "not-an-address"]);
    assert_eq!(bad_email.status.code(), Some(1));
    let unknown_org = run(&[
        "agent",
        "add",
        "--org",
        "00000000-0000-0000-0000-000000000000",
        "--email",
        "x@example.test",
    ]);
    assert!(String::from_utf8_lossy(&unknown_org.stderr).contains("not found"));
    let bad_role = run(&[
        "agent",
        "add",
        "--org",
        &org,
        "--email",
        "y@example.test",
        "--role",
        "root",
    ]);
    assert_eq!(bad_role.status.code(), Some(2), "a usage error");
    let bad_url = std::process::Command::new(common::BINARY)
        .args(["org", "create", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(bad_url.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_url.stderr).contains("unsupported database URL"));
}
