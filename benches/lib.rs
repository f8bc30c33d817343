//! Benchmarks for zt live in `benches/`; run them with `cargo bench -p zt-benches`.
//!
//! Each benchmark measures a zt operation beside the raw primitive underneath it, in the same
//! run, because absolute times on shared machines drift; compare the ratio. For a figure that
//! does not drift, count instructions: `examples/replay_once.rs` runs one replay (zt's or the
//! raw batch) under `valgrind --tool=callgrind`.

pub mod floors;
pub mod measure;

use zt_core::{LogEntry, Role};
use zt_testkit::world::{agent, World};

/// An organization whose log has at least `entries` entries: agents requesting keys, admins
/// approving them, and some changing their keys.
pub fn organization_with_log(entries: usize) -> World {
    let mut world = World::new(42);
    world.set_role(agent(0), Role::Admin).expect("admin");
    world.set_role(agent(1), Role::Admin).expect("admin");
    world.first_key(agent(0)).expect("first key");
    let second_admin = world.request(agent(1)).expect("request");
    world.approve(agent(0), second_admin).expect("approve");
    let mut next: u32 = 2;
    while world.log.len() < entries {
        let who = zt_testkit::world::agent_n(next);
        let request = world.request(who).expect("request");
        world
            .approve(agent(u8::from(next.is_multiple_of(2))), request)
            .expect("approve");
        if next.is_multiple_of(3) {
            world.change(who).expect("change");
        }
        next += 1;
    }
    world
}

/// The log's entries.
pub fn log_of(world: &World) -> &[LogEntry] {
    world.epoch_log()
}

/// Every signature of `log` with the key that must have made it, read from the statements
/// directly: (message, signature, public key). The baseline of the replay benchmark.
pub fn signatures_of(
    log: &[LogEntry],
) -> Vec<(Vec<u8>, zt_core::Signature, zt_core::SigningPublicKey)> {
    use std::collections::BTreeMap;
    use zt_core::{KeyId, Statement};
    let labeled = |label: &str, entry: &LogEntry| {
        let mut message = vec![u8::try_from(label.len()).expect("short label")];
        message.extend_from_slice(label.as_bytes());
        message.extend_from_slice(entry.signed_bytes());
        message
    };
    let mut keys: BTreeMap<KeyId, zt_core::SigningPublicKey> = BTreeMap::new();
    let mut recovery = BTreeMap::new();
    let mut host = None;
    let mut out = Vec::new();
    for entry in log {
        let (authorizer, introduced) = match entry.statement() {
            Statement::EpochStart(start) => {
                host = Some(start.host_key);
                (start.host_key, Some(start.host_key))
            }
            Statement::SetRole(_) => (host.expect("a host key"), None),
            Statement::FirstKey(first) => {
                keys.insert(first.key.key_id(), first.key.signing);
                (first.key.signing, None)
            }
            Statement::KeyRequest(request) => {
                keys.insert(request.key.key_id(), request.key.signing);
                (request.key.signing, None)
            }
            Statement::Approval(j) | Statement::Rejection(j) | Statement::CodeMismatch(j) => {
                (keys[&j.approver_key], None)
            }
            Statement::KeyChange(change) => {
                keys.insert(change.new_key.key_id(), change.new_key.signing);
                (keys[&change.old_key], Some(change.new_key.signing))
            }
            Statement::Revocation(revocation) => (keys[&revocation.revoker_key], None),
            Statement::RecoveryRegistration(registration) => {
                recovery.insert(registration.registration, registration.recovery_signing);
                (keys[&registration.key], Some(registration.recovery_signing))
            }
            Statement::RecoveryReset(reset) => {
                keys.insert(reset.new_key.key_id(), reset.new_key.signing);
                (recovery[&reset.registration], Some(reset.new_key.signing))
            }
            Statement::PromptPolicy(change) => (keys[&change.admin_key], None),
        };
        out.push((
            labeled(entry.kind().label(), entry),
            *entry.authorization(),
            authorizer,
        ));
        if let (Some(key), Some(signature)) = (introduced, entry.possession()) {
            out.push((labeled(zt_core::labels::POSSESSION, entry), *signature, key));
        }
    }
    out
}

/// Agents in the scale benchmark's organization.
pub const SCALE_AGENTS: u32 = 100_000;

/// The scale benchmark's organization: 100,000 agents and 300,003 entries. Agent n (1 to
/// 100,000) requests a key; the admin approves nine in ten (one in ten stays pending); of
/// the approved, six in nine change their key, two revoke it, and three register a recovery
/// file. Every entry's changes are recorded for a bulk import.
pub fn scale_organization() -> World {
    use zt_testkit::world::agent_n;
    let mut world = World::new(7);
    world.recorded_changes = Some(Vec::new());
    world.set_role(agent(0), Role::Admin).expect("admin");
    world.first_key(agent(0)).expect("first key");
    let mut requests = Vec::new();
    for n in 1..=SCALE_AGENTS {
        let request = world.request(agent_n(n)).expect("request");
        if n % 10 != 0 {
            world.approve(agent(0), request).expect("approve");
        }
        requests.push(request);
    }
    for n in 1..=SCALE_AGENTS {
        let who = agent_n(n);
        match n % 10 {
            1..=3 => {
                world.change(who).expect("change");
                world.register_recovery(who).expect("recovery");
            }
            4..=6 => {
                world.change(who).expect("change");
            }
            7 | 8 => {
                world.revoke(who, who, false).expect("revoke");
            }
            _ => {}
        }
    }
    world
}

/// Stores the scale organization `world` unless `store` already holds all of it (the bench
/// databases under `target/zt-bench/` are reused between runs).
pub fn populate_scale_store<S: zt_store::Store>(
    rt: &tokio::runtime::Runtime,
    store: &S,
    world: &World,
) {
    #![allow(clippy::print_stderr, reason = "a benchmark's progress")]
    let org = world.org;
    let last = zt_core::Seq(u64::try_from(world.log.len() - 1).expect("small"));
    // The stored log begins with the generated one (earlier runs appended approvals after it).
    let stored = rt.block_on(store.entries(org, last, 1)).expect("read");
    if stored.first().map(Vec::as_slice) == Some(world.log.last().expect("entries").encoded()) {
        eprintln!(
            "reusing the stored organization ({} entries)",
            world.log.len()
        );
        return;
    }
    let started = std::time::Instant::now();
    let genesis = zt_store::Append::new(world.log[0].clone(), zt_core::Changes::default(), &[]);
    rt.block_on(store.create_org(&genesis))
        .expect("a fresh store (remove target/zt-bench or the schema to rebuild)");
    for chunk in zt_store::conformance::recorded_appends(world).chunks(5_000) {
        rt.block_on(store.append_all(chunk)).expect("import");
    }
    eprintln!(
        "imported {} entries in {:.1} s",
        world.log.len(),
        started.elapsed().as_secs_f64()
    );
}
