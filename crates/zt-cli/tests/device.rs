//! The device-side verifier of `examples/device.rs` against a real server: it syncs and
//! verifies the log from its pinned root, accepts tasks offline, detects a server that
//! rolls back, forks or rewrites history, and refuses everything after an organization
//! reset until redeployed with the new root.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::Org;
use zt_core::{
    Head, LogEntry, PayloadDigest, Seq, TaskBinding, TaskError, TaskKind, TrustRoot, UnixTime,
};
use zt_examples::device::{Device, LogSource, SyncError};
use zt_examples::http_source::HttpLogSource;

const ALICE: &str = "alice's long passphrase of many words";
const BOB: &str = "bob keeps a secret lighthouse phrase";

fn now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// Bob signs a task with the CLI; returns the encoded authorization and its binding.
fn bob_signs(org: &Org, payload: &str) -> (Vec<u8>, TaskBinding) {
    let path = org.path("payload");
    std::fs::write(&path, payload).unwrap();
    let run = org.zt(
        "bob",
        &[
            "task",
            "sign",
            "--kind",
            "run-script",
            "--payload",
            &path.display().to_string(),
        ],
        &[BOB],
    );
    let document: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(document["authorization"].as_str().unwrap())
        .unwrap();
    let binding = TaskBinding {
        kind: TaskKind::new("run-script").unwrap(),
        payload: PayloadDigest::of(payload.as_bytes()),
    };
    (bytes, binding)
}

/// A hostile server: the real log, altered by `alter`.
struct Hostile<'a, F: FnMut(Seq, Vec<LogEntry>, Head) -> (Vec<LogEntry>, Head)> {
    real: &'a mut HttpLogSource,
    alter: F,
}

impl<F: FnMut(Seq, Vec<LogEntry>, Head) -> (Vec<LogEntry>, Head)> LogSource for Hostile<'_, F> {
    fn fetch(&mut self, from: Seq) -> Result<(Vec<LogEntry>, Head), String> {
        let (entries, head) = self.real.fetch(from)?;
        Ok((self.alter)(from, entries, head))
    }
}

#[test]
fn a_device_verifies_offline_detects_bad_history_and_needs_redeploying_after_a_reset() {
    let org = Org::start();
    org.agent("alice@example.com", "admin");
    let bob = org.agent("bob@example.com", "member");
    let (_, device_token) = org.account("device-17@example.com", "member");
    let root: TrustRoot = org.first_key("alice", ALICE).parse().unwrap();
    org.approved_key(("bob", BOB), ("alice", ALICE));

    // Deployed with the root pinned, the device syncs and verifies the log itself.
    let copy = org.path("device.log");
    let mut server = HttpLogSource::new(&org.url, &device_token).unwrap();
    let mut device = Device::deploy(root, &copy).unwrap();
    assert!(device.sync(&mut server).unwrap() > 0);
    assert_eq!(device.log().unwrap().active_keys().len(), 2);

    // Offline: Bob's task is accepted once, for its own payload only.
    let (task, binding) = bob_signs(&org, "restart the print spooler");
    let accepted = device.verify_task(&task, &binding, now()).unwrap();
    assert_eq!(accepted.agent.to_string(), bob);
    assert_eq!(
        device.verify_task(&task, &binding, now()),
        Err(TaskError::Replayed)
    );
    let (other, _) = bob_signs(&org, "restart the print spooler");
    let moved = TaskBinding {
        payload: PayloadDigest::of(b"format c:"),
        ..binding.clone()
    };
    assert_eq!(
        device.verify_task(&other, &moved, now()),
        Err(TaskError::WrongTask)
    );

    // After a restart the device reads its own copy and verifies it again.
    let synced_to = device.next_seq();
    let mut device = Device::deploy(root, &copy).unwrap();
    assert_eq!(device.next_seq(), synced_to);

    // A revocation reaches the device at its next sync: Bob's tasks are refused from then.
    let (before_revocation, binding) = bob_signs(&org, "collect logs");
    org.zt(
        "alice",
        &["key", "revoke", "--agent", "bob@example.com"],
        &[ALICE],
    )
    .ok();
    assert_eq!(device.sync(&mut server).unwrap(), 1);
    assert_eq!(
        device.verify_task(&before_revocation, &binding, now()),
        Err(TaskError::KeyNotActive)
    );

    // A hostile server is detected, and the device's copy is left as it was.
    let kept = std::fs::read(&copy).unwrap();
    let ours = device.log().unwrap().head();
    let rolled_back = device.sync(&mut Hostile {
        real: &mut server,
        alter: |_, entries, head| {
            (
                entries,
                Head {
                    next_seq: Seq(head.next_seq.0 - 1),
                    ..head
                },
            )
        },
    });
    assert!(
        matches!(rolled_back, Err(SyncError::RolledBack { .. })),
        "{rolled_back:?}"
    );
    let rewritten = device.sync(&mut Hostile {
        real: &mut server,
        alter: |_, entries, head| {
            (
                entries,
                Head {
                    prev: root.first_key,
                    ..head
                },
            )
        },
    });
    assert!(
        matches!(rewritten, Err(SyncError::Rewritten)),
        "{rewritten:?}"
    );
    // Forked: Alice adds an entry; the hostile server serves an older entry in its place.
    org.zt("alice", &["policy", "prompt", "--allow", "task"], &[ALICE])
        .ok();
    let mut all = HttpLogSource::new(&org.url, &device_token).unwrap();
    let (history, _) = all.fetch(Seq(0)).unwrap();
    let forked = device.sync(&mut Hostile {
        real: &mut server,
        alter: |from, _, head| (vec![history[from.0 as usize - 1].clone()], head),
    });
    assert!(matches!(forked, Err(SyncError::Forked(_))), "{forked:?}");
    assert_eq!(std::fs::read(&copy).unwrap(), kept);
    assert_eq!(device.log().unwrap().head(), ours);
    // The honest server's entry is then accepted.
    assert_eq!(device.sync(&mut server).unwrap(), 1);

    // Organization reset: the device refuses every task until redeployed.
    org.admin(&["org", "reset", "--org", &org.id]);
    device.sync(&mut server).unwrap();
    assert!(device.needs_redeploy());
    let new = org
        .zt("bob", &["--json", "key", "create"], &[BOB, BOB])
        .json();
    let new_root: TrustRoot = new["root"].as_str().unwrap().parse().unwrap();
    let (task, binding) = bob_signs(&org, "after the reset");
    assert_eq!(
        device.verify_task(&task, &binding, now()),
        Err(TaskError::EpochClosed)
    );
    let mut redeployed = Device::deploy(new_root, &org.path("redeployed.log")).unwrap();
    redeployed.sync(&mut server).unwrap();
    assert!(redeployed.verify_task(&task, &binding, now()).is_ok());
}
