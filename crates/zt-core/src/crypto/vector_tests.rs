//! Known-answer and edge-case vectors nobody on this project wrote (`vectors/README.md`),
//! run through zt-core's wrappers so that a wrapper that loosened a check would fail here.

#![allow(
    clippy::disallowed_methods,
    reason = "tests read the vector files; zt-core itself does no I/O"
)]

use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use serde_json::Value;
use zeroize::Zeroizing;

use super::{
    aead_open, aead_seal, argon2id, x25519, ExchangePublicKey, ExchangeSecret, Signature,
    SigningPublicKey, SigningSecret,
};
use crate::error::SealError;

/// The vector files, compiled in (no I/O at run time, even in tests).
fn load(name: &str) -> Value {
    let text = match name {
        "ed25519_speccheck_cases.json" => {
            include_str!("../../../../vectors/ed25519_speccheck_cases.json")
        }
        "rfc7748_x25519.json" => include_str!("../../../../vectors/rfc7748_x25519.json"),
        "rfc8032_ed25519.json" => include_str!("../../../../vectors/rfc8032_ed25519.json"),
        "rfc8439_chacha20poly1305.json" => {
            include_str!("../../../../vectors/rfc8439_chacha20poly1305.json")
        }
        "rfc9106_argon2id.json" => include_str!("../../../../vectors/rfc9106_argon2id.json"),
        "wycheproof_chacha20_poly1305_test.json" => {
            include_str!("../../../../vectors/wycheproof_chacha20_poly1305_test.json")
        }
        "wycheproof_ed25519_test.json" => {
            include_str!("../../../../vectors/wycheproof_ed25519_test.json")
        }
        "wycheproof_x25519_test.json" => {
            include_str!("../../../../vectors/wycheproof_x25519_test.json")
        }
        "wycheproof_xchacha20_poly1305_test.json" => {
            include_str!("../../../../vectors/wycheproof_xchacha20_poly1305_test.json")
        }
        other => panic!("no vector file {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap()).unwrap()
}

fn array<const N: usize>(value: &Value) -> [u8; N] {
    bytes(value).try_into().unwrap()
}

/// Accepts exactly as zt would: a key it registers, a 64-byte signature, `verify_strict`.
fn zt_accepts(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(public) = <[u8; 32]>::try_from(public) else {
        return false;
    };
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    SigningPublicKey::from_bytes(&public)
        .is_ok_and(|key| key.verify_strict(message, &Signature::from_bytes(signature)))
}

#[test]
fn wycheproof_ed25519_accepts_and_refuses_as_the_file_says() {
    let file = load("wycheproof_ed25519_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for group in file["testGroups"].as_array().unwrap() {
        let public = bytes(&group["publicKey"]["pk"]);
        for test in group["tests"].as_array().unwrap() {
            let expected = test["result"] == "valid";
            let accepted = zt_accepts(&public, &bytes(&test["msg"]), &bytes(&test["sig"]));
            assert_eq!(
                accepted, expected,
                "tcId {}: {}",
                test["tcId"], test["comment"]
            );
            if expected {
                valid += 1
            } else {
                invalid += 1
            }
        }
    }
    assert_eq!((valid, invalid), (88, 63));
}

#[test]
fn speccheck_edge_cases_behave_as_verify_strict() {
    let cases = load("ed25519_speccheck_cases.json");
    let accepted: Vec<usize> = cases
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, case)| {
            zt_accepts(
                &bytes(&case["pub_key"]),
                &bytes(&case["message"]),
                &bytes(&case["signature"]),
            )
        })
        .map(|(index, _)| index)
        .collect();
    assert_eq!(
        accepted,
        vec![3],
        "only case 3 is valid under verify_strict"
    );
}

#[test]
fn rfc8032_keys_and_signatures_match() {
    let file = load("rfc8032_ed25519.json");
    for test in file["tests"].as_array().unwrap() {
        let secret = SigningSecret::from_seed(&Zeroizing::new(array::<32>(&test["secret_key"])));
        assert_eq!(
            secret.public().as_bytes()[..],
            bytes(&test["public_key"])[..],
            "{}",
            test["name"]
        );
        let message = bytes(&test["message"]);
        let signature = secret.sign(&message);
        assert_eq!(
            signature.to_bytes()[..],
            bytes(&test["signature"])[..],
            "{}",
            test["name"]
        );
        assert!(zt_accepts(
            &bytes(&test["public_key"]),
            &message,
            &signature.to_bytes()
        ));
    }
}

#[test]
fn wycheproof_x25519_refuses_every_zero_shared_secret() {
    let file = load("wycheproof_x25519_test.json");
    let (mut zero, mut computed) = (0, 0);
    for group in file["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let secret = ExchangeSecret::from_bytes(&Zeroizing::new(array::<32>(&test["private"])));
            let public = array::<32>(&test["public"]);
            let flags: Vec<&str> = test["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            if flags.contains(&"ZeroSharedSecret") {
                assert_eq!(
                    x25519(&secret, &public),
                    Err(SealError::ZeroSharedSecret),
                    "tcId {}",
                    test["tcId"]
                );
                assert!(
                    ExchangePublicKey::from_bytes(&public).is_err(),
                    "tcId {}: registrable",
                    test["tcId"]
                );
                zero += 1;
            } else {
                let shared = x25519(&secret, &public).unwrap();
                assert_eq!(
                    shared[..],
                    bytes(&test["shared"])[..],
                    "tcId {}",
                    test["tcId"]
                );
                computed += 1;
            }
        }
    }
    assert_eq!((zero, computed), (31, 487));
}

#[test]
fn rfc7748_functions_and_diffie_hellman() {
    let file = load("rfc7748_x25519.json");
    for test in file["tests"].as_array().unwrap() {
        let secret = ExchangeSecret::from_bytes(&Zeroizing::new(array::<32>(&test["scalar"])));
        let output = x25519(&secret, &array::<32>(&test["u"])).unwrap();
        assert_eq!(output[..], bytes(&test["output"])[..], "{}", test["name"]);
    }
    let iterated = &file["iterated"];
    let (mut k, mut u) = (
        array::<32>(&iterated["start_k"]),
        array::<32>(&iterated["start_u"]),
    );
    for round in 1..=1000 {
        let next = *x25519(&ExchangeSecret::from_bytes(&Zeroizing::new(k)), &u).unwrap();
        u = k;
        k = next;
        if round == 1 {
            assert_eq!(k[..], bytes(&iterated["after_1"])[..]);
        }
    }
    assert_eq!(k[..], bytes(&iterated["after_1000"])[..]);
    let dh = &file["diffie_hellman"];
    let alice = ExchangeSecret::from_bytes(&Zeroizing::new(array::<32>(&dh["alice_private"])));
    let bob = ExchangeSecret::from_bytes(&Zeroizing::new(array::<32>(&dh["bob_private"])));
    assert_eq!(
        alice.public().as_bytes()[..],
        bytes(&dh["alice_public"])[..]
    );
    assert_eq!(bob.public().as_bytes()[..], bytes(&dh["bob_public"])[..]);
    assert_eq!(
        x25519(&alice, bob.public().as_bytes()).unwrap()[..],
        bytes(&dh["shared"])[..]
    );
}

/// Runs a Wycheproof AEAD file through the wrapper; returns (valid, invalid) counts.
fn aead_file<A: chacha20poly1305::aead::Aead + chacha20poly1305::KeyInit>(
    name: &str,
) -> (usize, usize) {
    let file = load(name);
    let (mut valid, mut invalid) = (0, 0);
    for group in file["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let key = array::<32>(&test["key"]);
            let (nonce, aad, message) =
                (bytes(&test["iv"]), bytes(&test["aad"]), bytes(&test["msg"]));
            let mut sealed = bytes(&test["ct"]);
            sealed.extend(bytes(&test["tag"]));
            let opened = aead_open::<A>(&key, &nonce, &aad, &sealed);
            if test["result"] == "valid" {
                assert_eq!(
                    opened.unwrap().as_slice(),
                    message.as_slice(),
                    "tcId {}",
                    test["tcId"]
                );
                assert_eq!(
                    aead_seal::<A>(&key, &nonce, &aad, &message).unwrap(),
                    sealed,
                    "tcId {}",
                    test["tcId"]
                );
                valid += 1;
            } else {
                assert_eq!(
                    opened,
                    Err(SealError::Open),
                    "tcId {} accepted",
                    test["tcId"]
                );
                invalid += 1;
            }
        }
    }
    (valid, invalid)
}

#[test]
fn wycheproof_chacha20_poly1305_classifies_every_case() {
    assert_eq!(
        aead_file::<ChaCha20Poly1305>("wycheproof_chacha20_poly1305_test.json"),
        (256, 69)
    );
}

#[test]
fn wycheproof_xchacha20_poly1305_classifies_every_case() {
    assert_eq!(
        aead_file::<XChaCha20Poly1305>("wycheproof_xchacha20_poly1305_test.json"),
        (246, 69)
    );
}

#[test]
fn rfc8439_aead_vectors() {
    let file = load("rfc8439_chacha20poly1305.json");
    for test in file["tests"].as_array().unwrap() {
        let key = array::<32>(&test["key"]);
        let (nonce, aad) = (bytes(&test["nonce"]), bytes(&test["aad"]));
        let mut sealed = bytes(&test["ciphertext"]);
        sealed.extend(bytes(&test["tag"]));
        let opened = aead_open::<ChaCha20Poly1305>(&key, &nonce, &aad, &sealed);
        if test["result"] == "valid" {
            assert_eq!(
                opened.unwrap().as_slice(),
                bytes(&test["plaintext"]).as_slice(),
                "{}",
                test["name"]
            );
        } else {
            assert_eq!(opened, Err(SealError::Open), "{}", test["name"]);
        }
    }
}

#[test]
fn rfc9106_argon2id_vector() {
    let file = load("rfc9106_argon2id.json");
    let test = &file["tests"][0];
    let tag = argon2id::<32>(
        &bytes(&test["password"]),
        &bytes(&test["salt"]),
        &bytes(&test["secret"]),
        &bytes(&test["associated_data"]),
        u32::try_from(test["memory_kib"].as_u64().unwrap()).unwrap(),
        u32::try_from(test["passes"].as_u64().unwrap()).unwrap(),
        u32::try_from(test["lanes"].as_u64().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(tag[..], bytes(&test["tag"])[..]);
}
