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

    // No passphrase reached the server's log.
    let log = org.server_log.lock().unwrap().clone();
    for secret in [ALICE, BOB, BOB_2, BOB_3, CAROL, DAVE] {
        assert!(!log.contains(secret));
    }
}
