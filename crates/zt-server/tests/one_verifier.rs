//! `zt-server serve` on SQLite is its database's one verifier: it keeps replay keys in
//! memory behind the database's durable horizon (spec §9.5), holds a lock so that no
//! second server verifies beside it, and after a crash refuses every authorization that
//! may have been accepted before it.

mod common;

use common::{fast_keys, Client, Organization};
use rand_core::OsRng;
use serde_json::json;
use zt_core::{PayloadDigest, TaskAuthorization, TaskBinding, TaskKind, UnixTime};
use zt_http::wire::encode_bytes;

fn binding() -> TaskBinding {
    TaskBinding {
        kind: TaskKind::new("remote-control").unwrap(),
        payload: PayloadDigest::of(b"screen"),
    }
}

/// A verification request for a task `keys` sign, issued at `issued_at`, valid two minutes.
fn task_body(
    keys: &zt_core::AgentKeys,
    org: zt_core::OrgId,
    issued_at: UnixTime,
) -> serde_json::Value {
    let task = TaskAuthorization::sign(
        keys,
        org,
        zt_core::Epoch(0),
        binding(),
        issued_at,
        120,
        &mut OsRng,
    );
    json!({
        "authorization": encode_bytes(&task.encode()),
        "kind": binding().kind.as_str(),
        "payload_digest": binding().payload.to_string(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_no_spent_key_and_a_second_server_is_refused() {
    let setup = Organization::on_sqlite("member");
    let (org, alice) = (setup.org, setup.alice.clone());
    let server = setup.start(&[]);
    let a = Client::new(&server.url, &alice, org);
    let keys = fast_keys(org, alice.id);
    assert_eq!(a.first_key(&keys).await.0, 201);

    let now = common::now();
    let used = task_body(&keys, org, now);
    let unused = task_body(&keys, org, now);
    assert_eq!(a.post("/v1/tasks/verify", used.clone()).await.0, 200);
    assert_eq!(
        a.post("/v1/tasks/verify", used.clone()).await.1["code"],
        json!("task_replayed")
    );

    // A second server on the same database would not see the first one's spent keys: it is
    // refused, and says why.
    let mut second = std::process::Command::new(common::BINARY)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &setup.db,
        ])
        .arg("--host-key-file")
        .arg(&setup.key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    for _ in 0..200 {
        status = second.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if status.is_none() {
        let _ = second.kill();
        let _ = second.wait();
        panic!("a second server started on the database");
    }
    assert_eq!(status.unwrap().code(), Some(1));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("another zt-server is serving") && stderr.contains("zt.sqlite"),
        "{stderr}"
    );
    // Administration goes on beside the server: it verifies no tasks.
    common::add_agent(
        &setup.db,
        &setup.key,
        &org.to_string(),
        "carol@example.test",
        "member",
    );

    // The server dies without a word (SIGKILL), and a new one starts on the database.
    drop(server);
    let server = setup.start(&[]);
    let a = Client::new(&server.url, &alice, org);
    for (what, body) in [("accepted", used), ("never used", unused)] {
        assert_eq!(
            a.post("/v1/tasks/verify", body).await.1["code"],
            json!("task_replayed"),
            "an authorization issued before the crash ({what}) is refused"
        );
    }
    // One issued after the horizon the first server left is accepted, once. (A client
    // signing right after a restart lands here within seconds; this one is a little ahead.)
    let fresh = task_body(&keys, org, UnixTime(common::now().0 + 30));
    assert_eq!(a.post("/v1/tasks/verify", fresh.clone()).await.0, 200);
    assert_eq!(
        a.post("/v1/tasks/verify", fresh).await.1["code"],
        json!("task_replayed")
    );
}
