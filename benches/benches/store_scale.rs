//! Storage at scale: an organization with 100,000 agents and 300,003 log entries.
//!
//! Goals (issue 3): the status page (100 rows, filtered) and the pending list each answer in
//! under 20 ms median; appending one approval commits in under 5 ms median on SQLite. The
//! same figures for PostgreSQL when `ZT_TEST_POSTGRES_URL` is set. Each measurement prints
//! its median and 90th percentile after criterion's own report.
//!
//! The organization takes a minute or two to build; the databases are kept under
//! `target/zt-bench/` (SQLite) and in schema `zt_bench_scale` (PostgreSQL) and reused.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use zt_core::{AgentKeyState, Command, EntryBuilder, LogEntry, Role, Seq, Statement};
use zt_store::{Append, Ledger, StatusFilter, Store};
use zt_testkit::world::{agent, agent_n, World};

struct Timings(Mutex<Vec<(String, Vec<Duration>)>>);

impl Timings {
    fn record(&self, name: &str, sample: Duration) {
        let mut all = self.0.lock().expect("timings");
        match all.iter_mut().find(|(n, _)| n == name) {
            Some((_, samples)) => samples.push(sample),
            None => all.push((name.to_owned(), vec![sample])),
        }
    }

    fn report(&self) {
        for (name, samples) in self.0.lock().expect("timings").iter_mut() {
            samples.sort();
            let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
            eprintln!(
                "{name}: median {:.3} ms, p90 {:.3} ms ({} runs)",
                at(0.5).as_secs_f64() * 1e3,
                at(0.9).as_secs_f64() * 1e3,
                samples.len()
            );
        }
    }
}

/// Stores the organization unless the store already holds all of it.
fn populate<S: Store>(rt: &tokio::runtime::Runtime, store: &S, world: &World) {
    let org = world.org;
    let last = Seq(u64::try_from(world.log.len() - 1).expect("small"));
    // The stored log begins with the generated one (earlier runs appended approvals after it).
    let stored = rt.block_on(store.entries(org, last, 1)).expect("read");
    if stored.first().map(Vec::as_slice) == Some(world.log.last().expect("entries").encoded()) {
        eprintln!(
            "reusing the stored organization ({} entries)",
            world.log.len()
        );
        return;
    }
    let started = Instant::now();
    let genesis = Append::new(world.log[0].clone(), zt_core::Changes::default(), &[]);
    rt.block_on(store.create_org(&genesis))
        .expect("a fresh store (remove target/zt-bench or the schema to rebuild)");
    for chunk in zt_benches::appends_of(world).chunks(5_000) {
        rt.block_on(store.append_all(chunk)).expect("import");
    }
    eprintln!(
        "imported {} entries in {:.1} s",
        world.log.len(),
        started.elapsed().as_secs_f64()
    );
}

fn bench_store<S: Store + Clone>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: S,
    world: &World,
) {
    let org = world.org;
    let timings = Timings(Mutex::new(Vec::new()));
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
        group.bench_function(&label, |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    let one = Instant::now();
                    let page = rt
                        .block_on(store.status_page(org, filter, after, 100))
                        .expect("page");
                    assert_eq!(page.items.len(), 100);
                    timings.record(&label, one.elapsed());
                }
                started.elapsed()
            })
        });
    }
    for (label, after) in [
        ("pending list, first 100", None),
        ("pending list, 100 from the middle", Some(Seq(150_000))),
    ] {
        let label = format!("{name}: {label}");
        group.bench_function(&label, |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    let one = Instant::now();
                    let page = rt
                        .block_on(store.pending_requests(org, after, 100))
                        .expect("page");
                    assert_eq!(page.items.len(), 100);
                    timings.record(&label, one.elapsed());
                }
                started.elapsed()
            })
        });
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
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(u64::from(nanos));
    // Each timed approval approves a request made just before it, untimed, by a new agent.
    let mut fresh_request = || {
        let who = zt_core::AgentId::random(&mut rng);
        let mut stretched = [0u8; 32];
        rng.fill_bytes(&mut stretched);
        let keys = zt_core::AgentKeys::from_stretched(
            &stretched,
            zt_core::KdfParams::DEFAULT,
            zt_core::Salt::random(&mut rng),
            org,
            who,
        );
        let head = rt
            .block_on(ledger.read(org, |state| state.head()))
            .expect("head");
        let request = EntryBuilder::new(head, world.now)
            .key_request(
                who,
                zt_core::RequestId::random(&mut rng),
                &keys,
                &zt_core::AccessSecret::random(&mut rng),
                &mut rng,
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
    let label = format!("{name}: approval, store commit only");
    group.bench_function(&label, |b| {
        b.iter_custom(|iters| {
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
                let elapsed = one.elapsed();
                timings.record(&label, elapsed);
                total += elapsed;
            }
            total
        })
    });
    let label = format!("{name}: approval, ledger decide and commit");
    group.bench_function(&label, |b| {
        b.iter_custom(|iters| {
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
                let elapsed = one.elapsed();
                timings.record(&label, elapsed);
                total += elapsed;
            }
            total
        })
    });
    group.finish();
    timings.report();
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
    populate(&rt, &sqlite, &world);
    bench_store(c, &rt, "sqlite", sqlite, &world);

    match std::env::var("ZT_TEST_POSTGRES_URL") {
        Ok(url) => {
            let postgres = rt
                .block_on(zt_store_postgres::open_in_schema(&url, "zt_bench_scale"))
                .expect("postgres");
            populate(&rt, &postgres, &world);
            bench_store(c, &rt, "postgres", postgres, &world);
        }
        Err(_) => eprintln!("postgres: skipped (set ZT_TEST_POSTGRES_URL to measure it too)"),
    }
}

criterion_group!(benches, store_scale);
criterion_main!(benches);
