//! Two `zt-server` processes on one PostgreSQL database, driven concurrently over HTTP,
//! keep the storage guarantees: exactly one first key per epoch, one of two approvals.
//!
//! Needs `ZT_TEST_POSTGRES_URL` (`.ci/run` sets it and starts PostgreSQL); in CI a missing
//! URL fails, elsewhere it skips and says so. Each run makes a database of its own.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{add_agent, admin, fast_keys, scratch, Agent, Client, Server};
use rand_core::OsRng;
use sqlx::Connection;
use zt_core::{AccessSecret, AgentKeys, EntryBuilder, OrgId};

fn postgres_url() -> Option<String> {
    match std::env::var("ZT_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("ZT_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL tests (.ci/run sets it)")
        }
        Err(_) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: ZT_TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
}

/// A fresh database next to the one `base` names; dropped by [`drop_database`].
async fn fresh_database(base: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(base)
        .await
        .expect("PostgreSQL is reachable");
    let name = format!("zt_e2e_{}_{}", common::now().0, std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    (format!("{prefix}/{name}"), name)
}

async fn drop_database(base: &str, name: &str) {
    let mut connection = sqlx::AnyConnection::connect(base).await.unwrap();
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut connection)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_keep_every_guarantee() {
    let Some(base) = postgres_url() else { return };
    let (db, name) = fresh_database(&base).await;
    let (_dir, key) = scratch();
    let org: OrgId = admin(&db, &key, &["org", "create"]).trim().parse().unwrap();
    let agents: Vec<Agent> = (0..16)
        .map(|i| {
            add_agent(
                &db,
                &key,
                &org.to_string(),
                &format!("admin{i}@example.test"),
                "admin",
            )
        })
        .collect();
    let servers = [Server::start(&db, &key, &[]), Server::start(&db, &key, &[])];
    let client = |i: usize| Client::new(&servers[i % 2].url, &agents[i], org);

    // 16 first keys, all signed at the same head, sent at once through both servers.
    let head = client(0).head().await;
    let mut racers = Vec::new();
    let mut keys: BTreeMap<usize, Arc<AgentKeys>> = BTreeMap::new();
    for (i, agent) in agents.iter().enumerate() {
        let keys_i = fast_keys(org, agent.id);
        let entry = EntryBuilder::new(head, common::now())
            .first_key(
                agents[i].id,
                &keys_i,
                &AccessSecret::random(&mut OsRng),
                &mut OsRng,
            )
            .unwrap();
        keys.insert(i, Arc::new(keys_i));
        let client = client(i);
        racers.push(tokio::spawn(async move {
            (i, client.submit("/v1/keys/first", &entry).await)
        }));
    }
    let mut winners = Vec::new();
    for racer in racers {
        let (i, (status, body)) = racer.await.unwrap();
        match status {
            201 => winners.push(i),
            409 => assert!(
                ["first_key_exists", "stale_head"].contains(&body["code"].as_str().unwrap()),
                "{body}"
            ),
            other => panic!("a racing first key got {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one first key: {winners:?}");
    let first = winners[0];
    let (_, one) = client(0).get("/v1/org").await;
    let (_, other) = client(1).get("/v1/org").await;
    assert_eq!(one["root"], other["root"], "both servers see the same root");

    // A second approver: requested through one server, approved through the other.
    let second = (first + 1) % 16;
    let (request, entry) = client(second).request_key(&keys[&second]).await;
    let (status, body) = client(first).approve(request, &entry, &keys[&first]).await;
    assert_eq!(status, 201, "{body}");

    // Two approvals of one request, through the two servers at once: one wins.
    let third = (first + 2) % 16;
    let (request, entry) = client(third).request_key(&keys[&third]).await;
    let (approver_one, approver_two) = (client(first), client(second));
    let (a, b) = tokio::join!(
        approver_one.approve(request, &entry, &keys[&first]),
        approver_two.approve(request, &entry, &keys[&second]),
    );
    let statuses = [a.0, b.0];
    assert!(
        statuses.contains(&201) && statuses.contains(&409),
        "one approval wins: {a:?} {b:?}"
    );
    let loser = if a.0 == 409 { &a.1 } else { &b.1 };
    assert!(
        ["stale_head", "request_not_pending"].contains(&loser["code"].as_str().unwrap()),
        "{loser}"
    );

    // Both servers serve the same log, and it holds exactly one approval of the request.
    let (_, log_one) = client(0).get("/v1/log?limit=1000").await;
    let (_, log_two) = client(1).get("/v1/log?limit=1000").await;
    assert_eq!(log_one["entries"], log_two["entries"]);
    let (_, status) = client(0).get("/v1/status?state=active").await;
    assert_eq!(status["items"].as_array().unwrap().len(), 3, "{status}");

    drop(servers);
    drop_database(&base, &name).await;
}
