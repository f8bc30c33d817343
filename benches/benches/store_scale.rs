//! Storage at scale: an organization with 100,000 agents and 300,003 log entries.
//!
//! Goals: the status page (100 rows, filtered) and the pending list each answer in under 20 ms
//! median; committing one transition (an approval) reaches at least half the throughput of one
//! raw single-row committed insert into the same database, through the same pool, measured in
//! alternating rounds. The same figures for PostgreSQL when `ZT_TEST_POSTGRES_URL` is set.
//!
//! The organization takes a minute or two to build; the databases are kept under
//! `target/zt-bench/` (SQLite) and in schema `zt_bench_scale` (PostgreSQL) and reused.

use std::cell::Cell;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use zt_benches::measure::{absolute, compare, Comparison};
use zt_core::{AgentKeyState, Command, EntryBuilder, LogEntry, Role, Seq, Statement};
use zt_store::{Append, Ledger, StatusFilter, Store};
use zt_store_sql::SqlStore;
use zt_testkit::world::{agent, agent_n, World};

/// A view's goal: median under 20 ms.
const VIEW_GOAL: Duration = Duration::from_millis(20);

/// Runs `view`, keeping its time in `samples` for the median.
fn timed_view<T>(
    rt: &tokio::runtime::Runtime,
    samples: &Mutex<Vec<Duration>>,
    view: impl std::future::Future<Output = T>,
) -> (T, Duration) {
    let started = Instant::now();
    let out = rt.block_on(view);
    let elapsed = started.elapsed();
    samples.lock().expect("samples").push(elapsed);
    (out, elapsed)
}

/// The floor of a commit: one single-row insert, committed on its own, through the store's
/// own pool (same connection settings: WAL and `synchronous = FULL` on SQLite).
async fn create_raw_insert_table(store: &SqlStore, blob_type: &str) {
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS zt_bench_raw_insert (id BIGINT PRIMARY KEY, body {blob_type} NOT NULL)"
    ))
    .execute(store.pool())
    .await
    .expect("raw insert table");
}

fn bench_store(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: SqlStore,
    world: &World,
) {
    let org = world.org;
    let mut views: Vec<(String, Mutex<Vec<Duration>>)> = Vec::new();
    let mut group = c.benchmark_group(format!("scale-100k-{name}"));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    let active_members = StatusFilter {
        state: Some(AgentKeyState::Active),
        role: Some(Role::Member),
    };
    let pages: [(&str, StatusFilter, Option<zt_core::AgentId>); 3] = [
        (
            "status page, active members, first 100",
            active_members,
            None,
        ),
        (
            "status page, active members, 100 from the middle",
            active_members,
            Some(agent_n(50_000)),
        ),
        (
            "status page, revoked, 100 from the middle",
            StatusFilter {
                state: Some(AgentKeyState::Revoked),
                role: None,
            },
            Some(agent_n(50_000)),
        ),
    ];
    for (label, filter, after) in pages {
        let label = format!("{name}: {label}");
        let samples = Mutex::new(Vec::new());
        group.bench_function(&label, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let (page, elapsed) =
                            timed_view(rt, &samples, store.status_page(org, filter, after, 100));
                        assert_eq!(page.expect("page").items.len(), 100);
                        elapsed
                    })
                    .sum()
            })
        });
        views.push((label, samples));
    }
    for (label, after) in [
        ("pending list, first 100", None),
        ("pending list, 100 from the middle", Some(Seq(150_000))),
    ] {
        let label = format!("{name}: {label}");
        let samples = Mutex::new(Vec::new());
        group.bench_function(&label, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let (page, elapsed) =
                            timed_view(rt, &samples, store.pending_requests(org, after, 100));
                        assert_eq!(page.expect("page").items.len(), 100);
                        elapsed
                    })
                    .sum()
            })
        });
        views.push((label, samples));
    }
    for (label, samples) in &mut views {
        let what = format!("{label} (100,000 agents)");
        absolute(&what, samples.get_mut().expect("samples"), VIEW_GOAL);
    }

    // Approvals: the ledger loads the whole log once (timed), then approves pending requests.
    let host = zt_core::HostKey::from_seed(zt_core::HostSeed::from_bytes(
        *world.host.seed().expose_secret(),
    ));
    let ledger = Ledger::new(store.clone(), host);
    let started = Instant::now();
    rt.block_on(ledger.read(org, |_| ()))
        .expect("the stored log verifies");
    eprintln!(
        "{name}: loading and verifying the 300,003-entry log took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let admin_key = world.keys(
        rt.block_on(ledger.read(org, |s| s.active_key(agent(0)).expect("admin key").0))
            .expect("read"),
    );
    let rng = std::cell::RefCell::new(rand_chacha::ChaCha20Rng::seed_from_u64(
        u64::try_from(nanos_since_epoch() % u128::from(u64::MAX)).expect("fits"),
    ));
    // Each timed approval approves a request made just before it, untimed, by a new agent.
    let fresh_request = || {
        let rng = &mut *rng.borrow_mut();
        let who = zt_core::AgentId::random(rng);
        let mut stretched = [0u8; 32];
        rng.fill_bytes(&mut stretched);
        let keys = zt_core::AgentKeys::from_stretched(
            &stretched,
            zt_core::KdfParams::DEFAULT,
            zt_core::Salt::random(rng),
            org,
            who,
        );
        let head = rt
            .block_on(ledger.read(org, |state| state.head()))
            .expect("head");
        let request = EntryBuilder::new(head, world.now)
            .key_request(
                who,
                zt_core::RequestId::random(rng),
                &keys,
                &zt_core::AccessSecret::random(rng),
                rng,
            )
            .expect("sealing");
        rt.block_on(ledger.execute(org, Command::RequestKey(request.clone()), world.now))
            .expect("request");
        request
    };
    let approval_at = |head, request: &LogEntry| {
        let Statement::KeyRequest(body) = request.statement() else {
            unreachable!()
        };
        EntryBuilder::new(head, world.now).approval(body, request.hash(), agent(0), admin_key)
    };
    // One approval's store commit: decide (untimed) on a fresh request, then time the append.
    let commit = || {
        |iters: u64| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let request = fresh_request();
                let append = rt
                    .block_on(ledger.read(org, |state| {
                        let context = zt_core::Context {
                            now: world.now,
                            host: &world.host,
                        };
                        let decision = state
                            .decide(
                                Command::Approve(approval_at(state.head(), &request)),
                                context,
                            )
                            .expect("valid");
                        Append::new(
                            decision.entry.entry().clone(),
                            state.changes(&decision.entry),
                            &decision.effects,
                        )
                    }))
                    .expect("read");
                let one = Instant::now();
                rt.block_on(store.append(&append)).expect("commit");
                total += one.elapsed();
            }
            total
        }
    };
    // The whole transition through the ledger: freshness check, decide, commit.
    let transition = || {
        |iters: u64| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let request = fresh_request();
                let head = rt
                    .block_on(ledger.read(org, |state| state.head()))
                    .expect("head");
                let command = Command::Approve(approval_at(head, &request));
                let one = Instant::now();
                rt.block_on(ledger.execute(org, command, world.now))
                    .expect("approved");
                total += one.elapsed();
            }
            total
        }
    };
    // The floor: one row the size of an approval entry, inserted and committed alone. Ids
    // count up from the clock's nanoseconds, so runs never collide.
    let blob_type = if name == "sqlite" { "BLOB" } else { "BYTEA" };
    rt.block_on(create_raw_insert_table(&store, blob_type));
    let body = vec![0x5a_u8; 400];
    let next_id = Cell::new(i64::try_from(nanos_since_epoch()).expect("before 2262"));
    let raw_insert = || {
        |iters: u64| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let id = next_id.get();
                next_id.set(id + 1);
                let one = Instant::now();
                rt.block_on(
                    sqlx::query("INSERT INTO zt_bench_raw_insert (id, body) VALUES ($1, $2)")
                        .bind(id)
                        .bind(body.clone())
                        .execute(store.pool()),
                )
                .expect("raw insert");
                total += one.elapsed();
            }
            total
        }
    };
    group.bench_function(format!("{name}: raw single-row insert"), |b| {
        b.iter_custom(raw_insert())
    });
    group.bench_function(format!("{name}: approval, store commit only"), |b| {
        b.iter_custom(commit())
    });
    group.bench_function(format!("{name}: approval, ledger decide and commit"), |b| {
        b.iter_custom(transition())
    });
    group.finish();
    let database = if name == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let floor = format!("one raw single-row committed insert ({database})");
    compare(
        Comparison {
            what: &format!("commit one transition, {database} (the store's append of an approval)"),
            floor: &floor,
            goal: 0.5,
            rounds: 15,
            iters: 20,
        },
        commit(),
        raw_insert(),
    );
    compare(
        Comparison {
            what: &format!(
                "approve through the ledger, {database} (freshness check, decide, commit)"
            ),
            floor: &floor,
            goal: 0.5,
            rounds: 15,
            iters: 20,
        },
        transition(),
        raw_insert(),
    );
}

fn nanos_since_epoch() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}

fn store_scale(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let world = zt_benches::scale_organization();
    eprintln!(
        "built the organization: {} agents, {} entries, in {:.1} s",
        zt_benches::SCALE_AGENTS,
        world.log.len(),
        started.elapsed().as_secs_f64()
    );

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/zt-bench");
    std::fs::create_dir_all(&dir).expect("bench directory");
    let sqlite = rt
        .block_on(zt_store_sqlite::open(dir.join("scale-100k.sqlite")))
        .expect("sqlite");
    zt_benches::populate_scale_store(&rt, &sqlite, &world);
    bench_store(c, &rt, "sqlite", sqlite, &world);

    match std::env::var("ZT_TEST_POSTGRES_URL") {
        Ok(url) => {
            let postgres = rt
                .block_on(zt_store_postgres::open_in_schema(&url, "zt_bench_scale"))
                .expect("postgres");
            zt_benches::populate_scale_store(&rt, &postgres, &world);
            bench_store(c, &rt, "postgres", postgres, &world);
        }
        Err(_) => eprintln!("postgres: skipped (set ZT_TEST_POSTGRES_URL to measure it too)"),
    }
}

criterion_group!(benches, store_scale);
criterion_main!(benches);
