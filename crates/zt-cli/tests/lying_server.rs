//! A server that lies: `zt` must notice before it signs (or, for an approval, as soon as it
//! looks), and send nothing. The server here is a canned-answer axum app on 127.0.0.1 whose
//! answers come from a real organization run in-process (zt-testkit's `World`).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, Uri};
use rand_chacha::rand_core::SeedableRng as _;
use serde_json::{json, Value};
use zt_core::{Command, LogEntry, Statement};
use zt_http::wire::{ActiveKey, CallerInfo, LogPage, MyKey, OrgInfo};
use zt_testkit::world::{agent, World};

/// Canned answers by path and query; every request that is not a GET is counted.
#[derive(Clone, Default)]
struct Canned {
    answers: Arc<Mutex<HashMap<String, Value>>>,
    writes: Arc<AtomicUsize>,
}

impl Canned {
    fn set(&self, path: &str, value: Value) {
        self.answers.lock().unwrap().insert(path.to_owned(), value);
    }

    /// Serves on 127.0.0.1; returns the base URL.
    fn serve(&self) -> String {
        let canned = self.clone();
        let app = axum::Router::new().fallback(move |method: axum::http::Method, uri: Uri| {
            let canned = canned.clone();
            async move {
                if method != axum::http::Method::GET {
                    canned.writes.fetch_add(1, Ordering::SeqCst);
                }
                let key = uri
                    .path_and_query()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match canned.answers.lock().unwrap().get(&key) {
                    Some(value) => (StatusCode::OK, axum::Json(value.clone())),
                    None => (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({ "code": "not_found", "message": key })),
                    ),
                }
            }
        });
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                sender.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        format!("http://{}", receiver.recv().unwrap())
    }
}

/// An organization where Alice (admin) holds the first key and Bob's request was made;
/// the lying server speaks to Bob.
struct Setup {
    world: World,
    canned: Canned,
    config: tempfile::TempDir,
}

fn setup() -> Setup {
    let mut world = World::new(7);
    world.set_role(agent(1), zt_core::Role::Admin).unwrap();
    world.first_key(agent(1)).unwrap();
    let canned = Canned::default();
    let bob = agent(2);
    canned.set(
        "/v1/org",
        serde_json::to_value(OrgInfo {
            org: world.org,
            epoch: world.state.epoch(),
            head: world.state.head(),
            root: world.state.trust_root(),
            host_key: *world.state.host_key(),
            prompt_policy: world.state.prompt_policy().frequencies(),
            has_active_key: true,
            caller: CallerInfo {
                agent: bob,
                role: zt_core::Role::Member,
            },
        })
        .unwrap(),
    );
    let url = canned.serve();
    let config = tempfile::tempdir().unwrap();
    common::run_zt(
        config.path(),
        "bob",
        &["login", "--server", &url, "--token", "t"],
        &[],
    )
    .ok();
    Setup {
        world,
        canned,
        config,
    }
}

/// Bob's key record as the server would send it, for a key the world made.
fn my_key(world: &World, key: zt_core::KeyId, registered: u64) -> Value {
    let mut status = world.state.agent_status(agent(2));
    status.active_key = Some(key);
    status.state = zt_core::AgentKeyState::Active;
    status.pending_request = None;
    serde_json::to_value(MyKey {
        status,
        active: Some(ActiveKey {
            key,
            record: *world.keys(key).record(),
            registered_seq: zt_core::Seq(registered),
            sealed_access: zt_core::SealedAccess::from_bytes([0; 80]),
            changed_seq: zt_core::Seq(registered),
        }),
        recovery: None,
    })
    .unwrap()
}

#[test]
fn absurd_kdf_parameters_are_refused_before_any_prompt_or_signature() {
    let mut s = setup();
    let key = s.world.new_key(agent(2));
    let mut mine = my_key(&s.world, key, 2);
    mine["active"]["record"]["kdf"]["memory_kib"] = json!(1);
    s.canned.set("/v1/keys/me", mine);
    let run = common::run_zt(
        s.config.path(),
        "bob",
        &["key", "change"],
        &["a passphrase that is long enough"],
    );
    run.refused("not what zt expects");
    assert!(run.stderr.contains("memory"), "{run:#?}");
    assert!(
        !run.stderr.contains("Deriving"),
        "derived before checking: {run:#?}"
    );
    assert_eq!(s.canned.writes.load(Ordering::SeqCst), 0);
}

#[test]
fn a_record_that_is_not_the_named_key_is_refused() {
    let mut s = setup();
    let named = s.world.new_key(agent(2));
    let other = s.world.new_key(agent(2));
    let mut mine = my_key(&s.world, named, 2);
    mine["active"]["record"] = serde_json::to_value(s.world.keys(other).record()).unwrap();
    s.canned.set("/v1/keys/me", mine);
    let run = common::run_zt(
        s.config.path(),
        "bob",
        &["task", "sign", "--kind", "x", "--payload", "/dev/null"],
        &["whatever passphrase"],
    );
    run.refused("does not match");
    assert_eq!(s.canned.writes.load(Ordering::SeqCst), 0);
}

#[test]
fn an_approval_of_another_key_than_requested_is_reported() {
    let mut s = setup();
    // Bob's client requested a key; the server shows his request approved with another.
    let request = s.world.request(agent(2)).unwrap();
    let requested = s.world.requested_key(request).unwrap();
    let Command::Approve(approval) = s.world.build_substituted_approval(agent(1), request) else {
        unreachable!()
    };
    let Statement::Approval(judgement) = approval.statement() else {
        unreachable!()
    };
    let substituted = judgement.subject_key;
    assert_ne!(substituted, requested);
    let seq = approval.header().seq;
    s.canned
        .set("/v1/keys/me", my_key(&s.world, substituted, seq.0));
    s.canned.set(
        &format!("/v1/log?from={}&limit=1", seq.0),
        serde_json::to_value(LogPage {
            entries: vec![zt_http::wire::encode_bytes(LogEntry::encoded(&approval))],
            next: None,
            head: s.world.state.head(),
        })
        .unwrap(),
    );
    let memo = json!({ "request": request, "key": requested, "made_at": 0 });
    let state = s.config.path().join("state").join("bob");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("request.json"), memo.to_string()).unwrap();

    let run = common::run_zt(s.config.path(), "bob", &["key", "status"], &[]);
    run.refused("approved with a key you did not request");
    assert!(run.stderr.contains("hint: do not use this key"));
}

/// Bob's key derived from a real passphrase, with the access secret sealed to it (from a
/// first-key entry, which seals it), as his record on the server.
fn derived_record(s: &Setup, passphrase: &str) -> (Value, zt_core::SealedAccess) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let keys = zt_core::AgentKeys::derive(
        &zt_core::Passphrase::new(passphrase).unwrap(),
        zt_core::KdfParams::DEFAULT,
        zt_core::Salt::random(&mut rng),
        s.world.org,
        agent(2),
    );
    let access = zt_core::AccessSecret::random(&mut rng);
    let entry = zt_core::EntryBuilder::new(s.world.state.head(), zt_core::UnixTime(1))
        .first_key(agent(2), &keys, &access, &mut rng)
        .unwrap();
    let Statement::FirstKey(body) = entry.statement() else {
        unreachable!()
    };
    let mut status = s.world.state.agent_status(agent(2));
    status.active_key = Some(keys.key_id());
    status.state = zt_core::AgentKeyState::Active;
    let mine = serde_json::to_value(MyKey {
        status,
        active: Some(ActiveKey {
            key: keys.key_id(),
            record: *keys.record(),
            registered_seq: zt_core::Seq(2),
            sealed_access: body.sealed_access,
            changed_seq: zt_core::Seq(2),
        }),
        recovery: None,
    })
    .unwrap();
    (mine, body.sealed_access)
}

const BOB: &str = "bob keeps a secret lighthouse phrase";

#[test]
fn an_access_secret_not_sealed_to_the_key_stops_a_key_change() {
    let s = setup();
    let (mut mine, _) = derived_record(&s, BOB);
    mine["active"]["sealed_access"] = json!("00".repeat(80));
    s.canned.set("/v1/keys/me", mine);
    let new = "bob's next passphrase is long enough";
    let run = common::run_zt(s.config.path(), "bob", &["key", "change"], &[BOB, new, new]);
    run.refused("does not open");
    assert_eq!(s.canned.writes.load(Ordering::SeqCst), 0);
}

#[test]
fn a_recovery_file_the_server_refused_is_removed() {
    let s = setup();
    let (mine, _) = derived_record(&s, BOB);
    s.canned.set("/v1/keys/me", mine);
    let file = s.config.path().join("bob.recovery");
    let run = common::run_zt(
        s.config.path(),
        "bob",
        &["recovery", "create", "--out", &file.display().to_string()],
        &[BOB],
    );
    // The canned server refuses every POST (404): the registration was attempted, refused,
    // and the file written before it is gone again.
    run.refused("not_found");
    assert_eq!(s.canned.writes.load(Ordering::SeqCst), 1);
    assert!(
        !file.exists(),
        "a recovery file nobody registered was left behind"
    );
}
