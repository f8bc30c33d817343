//! Every flow through the real `zt` binary against a real `zt-server`, passphrases on
//! standard input (issue 5's end-to-end list).

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::Org;
use serde_json::Value;

const ALICE: &str = "alice's long passphrase of many words";
const BOB: &str = "bob keeps a secret lighthouse phrase";
const BOB_2: &str = "bob changed to a new harbour phrase";
const BOB_3: &str = "bob recovered with the spare lantern";
const CAROL: &str = "carol types an orchard of plums";
const DAVE: &str = "dave remembers seven copper kettles";

/// The code `zt key create --code-file` wrote.
fn code_in(org: &Org, file: &str) -> String {
    std::fs::read_to_string(org.path(file))
        .unwrap()
        .trim()
        .to_owned()
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> String {
    let number: u32 = code.parse().unwrap();
    format!("{:06}", (number + 1) % 1_000_000)
}

fn state_of(org: &Org, profile: &str) -> Value {
    org.zt(profile, &["--json", "key", "status"], &[]).json()
}

#[test]
fn requests_approvals_changes_revocations_and_recovery() {
    let org = Org::start();
    org.agent("alice@example.com", "admin");
    let bob = org.agent("bob@example.com", "member");
    org.agent("carol@example.com", "member");
    let dave = org.agent("dave@example.com", "member");

    // The first key: active at once, no approval.
    let first = org
        .zt("alice", &["--json", "key", "create"], &[ALICE, ALICE])
        .json();
    assert_eq!(first["state"], "active");
    assert!(first["root"].as_str().unwrap().starts_with("zt-root-v1:"));

    // Bob requests; the code is printed and saved.
    let request = org
        .zt(
            "bob",
            &[
                "--json",
                "key",
                "create",
                "--code-file",
                &org.path("bob.code").display().to_string(),
            ],
            &[BOB, BOB],
        )
        .json();
    assert_eq!(request["state"], "pending");
    let bob_request = request["request"].as_str().unwrap().to_owned();
    let bob_code = code_in(&org, "bob.code");
    assert_eq!(request["code"], bob_code.as_str());
    assert!(org
        .zt("bob", &["key", "status"], &[])
        .ok()
        .contains("waiting for an approver"));

    // Alice sees it; a wrong code approves nothing; the right one does.
    let listed = org.zt("alice", &["requests", "list"], &[]).ok().to_owned();
    assert!(
        listed.contains(&bob_request) && listed.contains("bob@example.com"),
        "{listed}"
    );
    org.zt(
        "alice",
        &[
            "requests",
            "approve",
            &bob_request,
            "--code",
            &wrong(&bob_code),
        ],
        &[ALICE],
    )
    .refused("does not match");
    assert_eq!(state_of(&org, "bob")["status"]["state"], "pending");
    org.zt(
        "alice",
        &["requests", "approve", &bob_request, "--code", &bob_code],
        &[ALICE],
    )
    .ok();
    let bob_status = org.zt("bob", &["key", "status"], &[]).ok().to_owned();
    assert!(bob_status.contains("was approved by"), "{bob_status}");
    assert_eq!(state_of(&org, "bob")["status"]["state"], "active");

    // A member cannot approve, nor an approver their own request.
    let carol_request = org
        .zt("carol", &["--json", "key", "create"], &[CAROL, CAROL])
        .json();
    let carol_id = carol_request["request"].as_str().unwrap().to_owned();
    let carol_code = carol_request["code"].as_str().unwrap().to_owned();
    org.zt(
        "bob",
        &["requests", "approve", &carol_id, "--code", &carol_code],
        &[BOB],
    )
    .refused("forbidden");

    // Five wrong codes lock the request: even the right code is then refused.
    for attempt in 1..=5 {
        let run = org.zt(
            "alice",
            &[
                "requests",
                "approve",
                &carol_id,
                "--code",
                &wrong(&carol_code),
            ],
            &[ALICE],
        );
        run.refused(&format!("{attempt} of 5 wrong codes"));
    }
    org.zt(
        "alice",
        &["requests", "approve", &carol_id, "--code", &carol_code],
        &[],
    )
    .refused("locked");

    // Reject, then a new request, approved.
    let dave_request = org
        .zt("dave", &["--json", "key", "create"], &[DAVE, DAVE])
        .json();
    let dave_id = dave_request["request"].as_str().unwrap().to_owned();
    org.zt("alice", &["requests", "reject", &dave_id], &[ALICE])
        .ok();
    assert!(org
        .zt("dave", &["key", "status"], &[])
        .ok()
        .contains("no longer pending"));
    let dave_request = org
        .zt("dave", &["--json", "key", "create"], &[DAVE, DAVE])
        .json();
    let (dave_id, dave_code) = (
        dave_request["request"].as_str().unwrap().to_owned(),
        dave_request["code"].as_str().unwrap().to_owned(),
    );
    org.zt(
        "alice",
        &["requests", "approve", &dave_id, "--code", &dave_code],
        &[ALICE],
    )
    .ok();

    // Bob "forgets" his key and requests another: approving it revokes the old one.
    let old_bob_key = state_of(&org, "bob")["status"]["active_key"].clone();
    let again = org.zt("bob", &["--json", "key", "create"], &[BOB_2, BOB_2]);
    assert!(
        again.stderr.contains("warning: you have an active key"),
        "{again:#?}"
    );
    let again = again.json();
    let (id, code) = (
        again["request"].as_str().unwrap(),
        again["code"].as_str().unwrap(),
    );
    org.zt(
        "alice",
        &["requests", "approve", id, "--code", code],
        &[ALICE],
    )
    .ok();
    let new_bob_key = state_of(&org, "bob")["status"]["active_key"].clone();
    assert_ne!(old_bob_key, new_bob_key);
    let history = org
        .zt(
            "alice",
            &["--json", "history", "--agent", "bob@example.com"],
            &[],
        )
        .json();
    let revoked: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["key"] == old_bob_key && line["action"] == "revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{history:#}");
    assert_eq!(revoked[0]["reason"], "superseded");

    // Change key: the old passphrase signs, the new key is active at once.
    org.zt("bob", &["key", "change"], &[ALICE, BOB, BOB])
        .refused("wrong passphrase");
    org.zt("bob", &["key", "change"], &[BOB_2, BOB, BOB]).ok();
    assert_ne!(state_of(&org, "bob")["status"]["active_key"], new_bob_key);

    // An admin revokes a member's key by e-mail.
    org.zt(
        "alice",
        &["key", "revoke", "--agent", "dave@example.com"],
        &[ALICE],
    )
    .ok();
    assert_eq!(state_of(&org, "dave")["status"]["state"], "revoked");
    let by_id = org
        .zt("alice", &["--json", "status", "--state", "revoked"], &[])
        .json();
    assert_eq!(by_id["items"][0]["agent"], dave.as_str());

    // Recovery: create, re-create (the old file stops working), reset, spent.
    let first_file = org.path("bob-1.recovery");
    let second_file = org.path("bob-2.recovery");
    let first_arg = first_file.display().to_string();
    let second_arg = second_file.display().to_string();
    org.zt("bob", &["recovery", "create", "--out", &first_arg], &[BOB])
        .ok();
    let mode = std::fs::metadata(&first_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&first_file).unwrap();
    let refused = org.zt("bob", &["recovery", "create", "--out", &first_arg], &[BOB]);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("does not overwrite"));
    assert_eq!(std::fs::read(&first_file).unwrap(), before);
    org.zt("bob", &["recovery", "create", "--out", &second_arg], &[BOB])
        .ok();
    org.zt(
        "bob",
        &["recovery", "reset", "--file", &first_arg],
        &[BOB_3, BOB_3],
    )
    .refused("not your current recovery file");
    let key_before_reset = state_of(&org, "bob")["status"]["active_key"].clone();
    org.zt(
        "bob",
        &["recovery", "reset", "--file", &second_arg],
        &[BOB_3, BOB_3],
    )
    .ok();
    let after = state_of(&org, "bob");
    assert_eq!(after["status"]["state"], "active");
    assert_ne!(after["status"]["active_key"], key_before_reset);
    assert_eq!(after["status"]["approved_by"], Value::Null);
    org.zt(
        "bob",
        &["recovery", "reset", "--file", &second_arg],
        &[BOB, BOB],
    )
    .refused("recovery file");
    // The recovered key signs (the access secret came through the recovery file).
    org.zt(
        "bob",
        &[
            "recovery",
            "create",
            "--out",
            &org.path("bob-3.recovery").display().to_string(),
        ],
        &[BOB_3],
    )
    .ok();

    // The last approver's key is protected unless forced.
    org.zt("alice", &["key", "revoke"], &[ALICE])
        .refused("last_approver");
    assert_eq!(state_of(&org, "alice")["status"]["state"], "active");
    org.zt("alice", &["key", "revoke", "--force"], &[ALICE])
        .ok();
    assert_eq!(state_of(&org, "alice")["status"]["state"], "revoked");
    let _ = bob;

    // No passphrase reached the server's log, nor any file the clients keep.
    let log = org.server_log.lock().unwrap().clone();
    for secret in [ALICE, BOB, BOB_2, BOB_3, CAROL, DAVE] {
        assert!(!log.contains(secret));
    }
    assert_private_and_free_of(&org.config_dir(), &[ALICE, BOB, BOB_2, BOB_3, CAROL, DAVE]);
}

/// Every file under `dir` is readable by its owner only (directories: 0700), and none
/// holds any of `secrets`.
fn assert_private_and_free_of(dir: &std::path::Path, secrets: &[&str]) {
    let mut files = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            pending.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|entry| entry.unwrap().path()),
            );
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for secret in secrets {
                assert!(!text.contains(secret), "a passphrase in {}", path.display());
            }
            files += 1;
        }
    }
    assert!(files >= 4, "expected the profiles under {}", dir.display());
}

/// Signs a task for `payload` as `profile`; returns the document.
fn sign_task(org: &Org, profile: &str, payload: &str, lines: &[&str]) -> common::Run {
    let path = org.path(&format!("{payload}.payload"));
    std::fs::write(&path, payload).unwrap();
    org.zt(
        profile,
        &[
            "task",
            "sign",
            "--kind",
            "remote-control",
            "--payload",
            &path.display().to_string(),
        ],
        lines,
    )
}

/// Writes a document `zt task sign` printed, for `zt task verify`.
fn save(org: &Org, name: &str, document: &str) -> String {
    let path = org.path(name);
    std::fs::write(&path, document).unwrap();
    path.display().to_string()
}

#[test]
fn tasks_sessions_the_log_and_an_organization_reset() {
    let org = Org::start();
    org.agent("alice@example.com", "admin");
    let bob = org.agent("bob@example.com", "member");
    let root = org.first_key("alice", ALICE);
    org.approved_key(("bob", BOB), ("alice", ALICE));

    // A task signed with the passphrase is accepted once; a replay is refused.
    let signed = sign_task(&org, "bob", "reboot host-17", &[BOB]);
    let document = save(&org, "task-1.json", signed.ok());
    let accepted = org
        .zt("alice", &["--json", "task", "verify", &document], &[])
        .json();
    assert_eq!(accepted["agent"], bob.as_str());
    assert_eq!(accepted["frequency"], "each-task");
    org.zt("alice", &["task", "verify", &document], &[])
        .refused("task_replayed");
    // Bound to its payload: checked against another task, it is refused.
    let other = save(&org, "other.payload", "wipe host-17");
    let signed = sign_task(&org, "bob", "reboot host-18", &[BOB]);
    let document = save(&org, "task-2.json", signed.ok());
    org.zt(
        "alice",
        &["task", "verify", &document, "--payload", &other],
        &[],
    )
    .refused("task_wrong_task");
    // Without a passphrase on standard input, signing stops at the prompt.
    let prompt = sign_task(&org, "bob", "reboot host-19", &[]);
    assert_eq!(prompt.code, 2, "{prompt:#?}");
    assert!(prompt.stderr.contains("before the passphrase"));

    // Unlocked for a day: the next tasks are signed without a prompt, and accepted.
    let unlocked = org
        .zt("bob", &["--json", "unlock", "--for", "day"], &[BOB])
        .json();
    let session = org.config_dir().join("state/bob/session.json");
    assert_eq!(
        std::fs::metadata(&session).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_private_and_free_of(&org.config_dir(), &[ALICE, BOB]);
    assert_eq!(unlocked["frequency"], "day");
    for n in 0..2 {
        let signed = sign_task(&org, "bob", &format!("session task {n}"), &[]);
        let document = save(&org, &format!("session-{n}.json"), signed.ok());
        let accepted = org
            .zt("alice", &["--json", "task", "verify", &document], &[])
            .json();
        assert_eq!(accepted["frequency"], "day");
    }
    // A task signed in the session, then logout: the prompt is back, and the session's
    // unverified authorization is refused everywhere.
    let pending = sign_task(&org, "bob", "signed before logout", &[]);
    let pending = save(&org, "pending.json", pending.ok());
    org.zt("bob", &["logout"], &[]).ok();
    assert_eq!(sign_task(&org, "bob", "after logout", &[]).code, 2);
    org.zt("alice", &["task", "verify", &pending], &[])
        .refused("session_invalid");

    // The prompt policy (admins): day no longer allowed.
    org.zt("bob", &["policy", "prompt", "--allow", "task"], &[BOB])
        .refused("forbidden");
    org.zt("alice", &["policy", "prompt", "--allow", "task"], &[ALICE])
        .ok();
    org.zt("bob", &["unlock", "--for", "day"], &[BOB])
        .refused("does not allow");

    // The auditor: export, verify offline from the root, agree with the server.
    let export = org.path("log.txt");
    let export_arg = export.display().to_string();
    org.zt("alice", &["log", "export", "--out", &export_arg], &[])
        .ok();
    let offline = org
        .zt(
            "alice",
            &[
                "--json",
                "log",
                "verify",
                "--root",
                &root,
                "--file",
                &export_arg,
            ],
            &[],
        )
        .json();
    let online = org
        .zt(
            "alice",
            &["--json", "log", "verify", "--root", &root, "--server"],
            &[],
        )
        .json();
    assert_eq!(offline["active_keys"], online["active_keys"]);
    let status = org
        .zt("alice", &["--json", "status", "--state", "active"], &[])
        .json();
    let served: serde_json::Map<String, Value> = status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["agent"].as_str().unwrap().to_owned(),
                row["active_key"].clone(),
            )
        })
        .collect();
    assert_eq!(offline["active_keys"], Value::Object(served));

    // A tampered export is refused, naming the entry.
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let target = 4; // line 5 holds entry 3: Bob's request
    let mut bytes = base64_decode(&lines[target]);
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // a bit of the authorization signature
    lines[target] = base64_encode(&bytes);
    let tampered = org.path("tampered.txt");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    org.zt(
        "alice",
        &[
            "log",
            "verify",
            "--root",
            &root,
            "--file",
            &tampered.display().to_string(),
        ],
        &[],
    )
    .refused("entry 3 is bad");

    // Organization reset: old keys reset, their authorizations refused, next key is first.
    let before_reset = sign_task(&org, "bob", "signed before the reset", &[BOB]);
    let before_reset = save(&org, "before-reset.json", before_reset.ok());
    org.admin(&["org", "reset", "--org", &org.id]);
    org.zt("alice", &["task", "verify", &before_reset], &[])
        .refused("task_");
    assert_eq!(state_of(&org, "bob")["status"]["state"], "reset");
    let again = org
        .zt("bob", &["--json", "key", "create"], &[BOB_2, BOB_2])
        .json();
    assert_eq!(again["state"], "active");
    let new_root = again["root"].as_str().unwrap();
    assert_ne!(new_root, root);
    // The old root still verifies the old epoch, and says it was closed.
    let closed = org
        .zt(
            "alice",
            &["--json", "log", "verify", "--root", &root, "--server"],
            &[],
        )
        .json();
    assert!(closed["closed_at"].is_u64());
    assert_eq!(closed["active_keys"], serde_json::json!({}));
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
