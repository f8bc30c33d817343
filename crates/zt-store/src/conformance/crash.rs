//! Crash safety (DESIGN.md §6.4): a child process appends in a loop and is killed with
//! SIGKILL at a random moment; every append it acknowledged must then be stored, the log
//! must verify, and the views must equal a fresh fold. Durable backends run this from a
//! test that re-executes its own binary as the child.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zt_core::{
    AccessSecret, AgentId, AgentKeys, Command, EntryBuilder, HostKey, HostSeed, KdfParams, OrgId,
    RequestId, Role, Salt, Seq, Statement, UnixTime,
};

use super::check_views;
use crate::ledger::Ledger;
use crate::store::Store;

/// The line a child prints after each acknowledged append.
pub const ACKED: &str = "zt-crash-acked ";

/// What parent and child share: the organization and the host key's seed.
#[derive(Clone, Copy, Debug)]
pub struct CrashSetup {
    /// The organization.
    pub org: OrgId,
    /// The host key's seed.
    pub host_seed: [u8; 32],
}

const ADMIN: AgentId = AgentId::from_bytes([0xad; 16]);

fn now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

fn admin_keys(org: OrgId) -> AgentKeys {
    AgentKeys::from_stretched(
        &[0xad; 32],
        KdfParams::DEFAULT,
        Salt::from_bytes([0xad; 16]),
        org,
        ADMIN,
    )
}

impl CrashSetup {
    /// Creates the organization with an admin holding the first key.
    pub async fn prepare<S: Store>(store: S) -> CrashSetup {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(std::process::id()));
        let setup = CrashSetup {
            org: OrgId::random(&mut rng),
            host_seed: [0x5e; 32],
        };
        let ledger = Ledger::new(store, setup.host());
        ledger.create_org(setup.org, now()).await.unwrap();
        ledger
            .execute(
                setup.org,
                Command::SetRole {
                    agent: ADMIN,
                    role: Role::Admin,
                    force: false,
                },
                now(),
            )
            .await
            .unwrap();
        let head = ledger.read(setup.org, |state| state.head()).await.unwrap();
        let first = EntryBuilder::new(head, now())
            .first_key(
                ADMIN,
                &admin_keys(setup.org),
                &AccessSecret::random(&mut rng),
                &mut rng,
            )
            .unwrap();
        ledger
            .execute(setup.org, Command::CreateFirstKey(first), now())
            .await
            .unwrap();
        setup
    }

    /// The host key.
    pub fn host(&self) -> HostKey {
        HostKey::from_seed(HostSeed::from_bytes(self.host_seed))
    }

    /// The setup as environment values for the child: (org, host seed in hex).
    pub fn to_env(&self) -> (String, String) {
        (
            self.org.to_string(),
            self.host_seed.iter().map(|b| format!("{b:02x}")).collect(),
        )
    }

    /// The setup the parent passed in the environment.
    pub fn from_env(org: &str, seed: &str) -> CrashSetup {
        let mut host_seed = [0u8; 32];
        for (i, byte) in host_seed.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&seed[2 * i..2 * i + 2], 16).unwrap();
        }
        CrashSetup {
            org: org.parse().unwrap(),
            host_seed,
        }
    }
}

/// The child: new agents request keys and the admin approves them, forever, printing
/// [`ACKED`] and the sequence number after each append the store acknowledged.
pub async fn append_until_killed<S: Store>(store: S, setup: CrashSetup) {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut rng =
        ChaCha20Rng::seed_from_u64(u64::try_from(seed % u128::from(u64::MAX)).unwrap_or(0));
    let ledger = Ledger::new(store, setup.host());
    let admin = admin_keys(setup.org);
    let mut out = std::io::stdout();
    loop {
        let agent = AgentId::random(&mut rng);
        let mut stretched = [0u8; 32];
        rng.fill_bytes(&mut stretched);
        let keys = AgentKeys::from_stretched(
            &stretched,
            KdfParams::DEFAULT,
            Salt::random(&mut rng),
            setup.org,
            agent,
        );
        let head = ledger.read(setup.org, |state| state.head()).await.unwrap();
        let request = EntryBuilder::new(head, now())
            .key_request(
                agent,
                RequestId::random(&mut rng),
                &keys,
                &AccessSecret::random(&mut rng),
                &mut rng,
            )
            .unwrap();
        let decided = ledger
            .execute(setup.org, Command::RequestKey(request.clone()), now())
            .await
            .unwrap();
        writeln!(out, "{ACKED}{}", decided.entry.entry().header().seq).unwrap();
        out.flush().unwrap();
        let Statement::KeyRequest(body) = request.statement() else {
            unreachable!()
        };
        let head = ledger.read(setup.org, |state| state.head()).await.unwrap();
        let approval = EntryBuilder::new(head, now()).approval(body, request.hash(), ADMIN, &admin);
        let decided = ledger
            .execute(setup.org, Command::Approve(approval), now())
            .await
            .unwrap();
        writeln!(out, "{ACKED}{}", decided.entry.entry().header().seq).unwrap();
        out.flush().unwrap();
    }
}

/// Starts the child `command` (stdout piped), kills it with SIGKILL after `delay`, and
/// returns the last sequence number it acknowledged.
pub fn run_and_kill(mut command: std::process::Command, delay: std::time::Duration) -> Option<Seq> {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the test binary starts again as the child");
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| {
                line.strip_prefix(ACKED)
                    .and_then(|seq| seq.trim().parse().ok())
            })
            .map(Seq)
            .max()
    });
    std::thread::sleep(delay);
    // `Child::kill` sends SIGKILL on Unix: no destructor, no flush, no commit runs.
    child.kill().expect("the child can be killed");
    child.wait().expect("the child is reaped");
    reader.join().expect("the reader thread ends with the pipe")
}

/// After a kill: every acknowledged append is stored, the log verifies from its first
/// entry, and the views equal a fresh fold. Returns the number of entries.
pub async fn check_after_kill<S: Store>(
    store: S,
    setup: CrashSetup,
    acked: Option<Seq>,
) -> Result<u64, String> {
    let ledger = Ledger::new(store, setup.host());
    // A killed client's last COMMIT may still be running in a database server (PostgreSQL
    // finishes a COMMIT it received before it notices the closed socket): wait until the log
    // stops moving. A half-written transaction would not heal by waiting, so this hides
    // nothing the check is for.
    let mut head = None;
    for _ in 0..50 {
        let now = ledger
            .read(setup.org, |state| state.head())
            .await
            .map_err(|error| format!("the stored log does not verify after a kill: {error}"))?;
        if head == Some(now) {
            break;
        }
        head = Some(now);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let head = head.ok_or("no head")?;
    if let Some(acked) = acked {
        if head.next_seq <= acked {
            return Err(format!(
                "acknowledged entry {acked} is missing (the log ends at {})",
                head.next_seq
            ));
        }
    }
    check_views(ledger.store(), setup.org).await?;
    Ok(head.next_seq.0)
}

/// The parent side: `rounds` times, starts `child()` (which runs [`append_until_killed`]),
/// kills it with SIGKILL at a random moment between 150 and 650 ms, and checks the store
/// with [`check_after_kill`]. Panics with the round and the problem on failure; returns a
/// summary line.
pub async fn survive_kills<S, F, Fut>(
    open: F,
    setup: CrashSetup,
    child: impl Fn() -> std::process::Command,
    rounds: u32,
) -> String
where
    S: Store,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let mut noise = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.subsec_nanos());
    let (mut acked, mut progressed, mut entries) = (None, 0u32, 0u64);
    for round in 0..rounds {
        noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let delay = std::time::Duration::from_millis(150 + u64::from(noise % 500));
        let this_round = run_and_kill(child(), delay);
        if this_round > acked {
            progressed += 1;
            acked = this_round;
        }
        entries = check_after_kill(open().await, setup, acked)
            .await
            .unwrap_or_else(|problem| panic!("round {round}: {problem}"));
    }
    assert!(
        progressed * 4 >= rounds * 3,
        "only {progressed} of {rounds} children appended before the kill"
    );
    format!(
        "{rounds} SIGKILLs, {progressed} with progress, last acknowledged {acked:?}, {entries} entries stored, all verified"
    )
}
