//! Every flow with canary passphrases, a real recovery file and real tasks: neither the
//! server's logs (at TRACE, everything) nor any response contains a passphrase, the
//! recovery file's secret, or anything but public material.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::Harness;
use rand_core::OsRng;
use serde_json::json;
use zt_core::{
    AccessSecret, AgentKeys, CodeJudgement, EntryBuilder, LogEntry, NewPassphrase, PayloadDigest,
    RecoveryFile, RecoveryKeys, RequestId, Role, TaskAuthorization, TaskBinding, TaskKind,
    VerificationCode,
};
use zt_http::wire::{decode_bytes, encode_bytes};
use zt_testkit::world::agent;

const CANARIES: [&str; 3] = [
    "canary-Alice-passphrase-7f3a9c",
    "canary-Bob-passphrase-e81d42",
    "canary-Bob-new-passphrase-55c0b7",
];

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn keys(h: &Harness, who: u8, passphrase: &str) -> AgentKeys {
    let passphrase = NewPassphrase::new(passphrase).unwrap();
    AgentKeys::create(&passphrase, h.world.org, agent(who), &mut OsRng)
}

async fn builder(h: &mut Harness) -> EntryBuilder {
    let org = h.get("/v1/org", agent(0)).await;
    let head = serde_json::from_value(org.body["head"].clone()).unwrap();
    EntryBuilder::new(head, h.world.now)
}

async fn post(h: &mut Harness, path: &str, who: u8, entry: &LogEntry) {
    let body = json!({ "entry": encode_bytes(entry.encoded()) });
    let reply = h.json(Method::POST, path, agent(who), body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{path}: {}", reply.text);
}

#[tokio::test(flavor = "current_thread")]
async fn no_passphrase_secret_or_recovery_file_in_logs_or_responses() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut h = Harness::new(20).await;
    h.set_role(agent(0), Role::Admin).await;
    h.set_role(agent(1), Role::Admin).await;
    let alice = keys(&h, 0, CANARIES[0]);
    let entry = builder(&mut h)
        .await
        .first_key(
            agent(0),
            &alice,
            &AccessSecret::random(&mut OsRng),
            &mut OsRng,
        )
        .unwrap();
    post(&mut h, "/v1/keys/first", 0, &entry).await;

    // Bob requests; Alice's client compares the code he tells her, and approves.
    let bob = keys(&h, 1, CANARIES[1]);
    let request = RequestId::random(&mut OsRng);
    let entry = builder(&mut h)
        .await
        .key_request(
            agent(1),
            request,
            &bob,
            &AccessSecret::random(&mut OsRng),
            &mut OsRng,
        )
        .unwrap();
    post(&mut h, "/v1/keys/requests", 1, &entry).await;
    let told = VerificationCode::of_request(&entry).unwrap();
    let detail = h.get(&format!("/v1/requests/{request}"), agent(0)).await;
    let fetched =
        LogEntry::decode(&decode_bytes(detail.body["entry"].as_str().unwrap(), "entry").unwrap())
            .unwrap();
    let Some(CodeJudgement::Matches(approval)) =
        builder(&mut h)
            .await
            .judge_code(&fetched, &told, agent(0), &alice)
    else {
        panic!("the codes match");
    };
    post(
        &mut h,
        &format!("/v1/requests/{request}/approve"),
        0,
        &approval,
    )
    .await;

    // Bob makes a recovery file and resets with it to a new passphrase.
    let recovery = RecoveryKeys::generate(h.world.org, agent(1), &mut OsRng);
    let file_text = recovery.file().to_text().to_string();
    let entry = builder(&mut h)
        .await
        .recovery_registration(
            agent(1),
            &bob,
            &recovery,
            &AccessSecret::random(&mut OsRng),
            &mut OsRng,
        )
        .unwrap();
    post(&mut h, "/v1/recovery", 1, &entry).await;
    let from_file = RecoveryKeys::from_file(RecoveryFile::parse(file_text.as_bytes()).unwrap());
    let renewed = keys(&h, 1, CANARIES[2]);
    let entry = builder(&mut h)
        .await
        .recovery_reset(
            agent(1),
            bob.key_id(),
            &from_file,
            &renewed,
            &AccessSecret::random(&mut OsRng),
            &mut OsRng,
        )
        .unwrap();
    post(&mut h, "/v1/recovery/reset", 1, &entry).await;

    // A task, verified.
    let binding = TaskBinding {
        kind: TaskKind::new("remote-execution").unwrap(),
        payload: PayloadDigest::of(b"Restart-Service spooler"),
    };
    let epoch = zt_core::Epoch(0);
    let task = TaskAuthorization::sign(
        &renewed,
        h.world.org,
        epoch,
        binding.clone(),
        h.world.now,
        60,
        &mut OsRng,
    );
    let body = json!({ "authorization": encode_bytes(&task.encode()), "kind": "remote-execution", "payload_digest": binding.payload.to_string() });
    let reply = h
        .json(Method::POST, "/v1/tasks/verify", agent(0), body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    for path in [
        "/v1/keys/me",
        "/v1/status",
        "/v1/history",
        "/v1/log?limit=1000",
        "/v1/org",
    ] {
        h.get(path, agent(1)).await;
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("statement appended"),
        "the capture works: {logs}"
    );
    let responses = h.transcript.join("\n");
    // The secret line of the recovery file (its body, not the header naming org and agent).
    let secret_lines: Vec<&str> = file_text
        .lines()
        .filter(|line| {
            line.len() >= 32
                && !line.contains(&h.world.org.to_string())
                && !line.contains(&agent(1).to_string())
        })
        .collect();
    assert!(
        !secret_lines.is_empty(),
        "the file has a secret line: {file_text}"
    );
    for needle in CANARIES.iter().copied().chain(secret_lines.iter().copied()) {
        assert!(!logs.contains(needle), "a log line contains {needle:?}");
        assert!(
            !responses.contains(needle),
            "a response contains {needle:?}"
        );
    }
}
