//! The text forms clients send and the server reads (identifiers, digests, public keys,
//! salts, sealed access, trust roots, verification codes, task kinds, KDF parameters and
//! passphrases): never panics; an accepted text is canonical (printing it gives the same
//! text back), through `FromStr` and through serde alike; a passphrase is normalized once
//! and for all, within its bounds, and prints redacted.
#![no_main]

use std::fmt::Display;
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use serde::de::{value::StrDeserializer, Deserialize, IntoDeserializer};
use unicode_normalization::UnicodeNormalization;
use zt_core::{
    AgentId, EntryHash, ExchangePublicKey, KdfParams, KeyId, NewPassphrase, OrgId, Passphrase,
    PayloadDigest, RegistrationId, RequestId, Salt, SealedAccess, SigningPublicKey, TaskKind,
    TrustRoot, VerificationCode,
};

/// What `FromStr` accepts prints back unchanged, and serde accepts exactly the same.
fn canonical<T>(text: &str)
where
    T: FromStr + Display + for<'de> Deserialize<'de>,
{
    let parsed = text.parse::<T>().ok();
    if let Some(value) = &parsed {
        assert_eq!(value.to_string(), text, "accepted but not canonical");
    }
    let deserializer: StrDeserializer<'_, serde::de::value::Error> = text.into_deserializer();
    let deserialized = T::deserialize(deserializer).ok();
    assert_eq!(
        deserialized.map(|value| value.to_string()),
        parsed.map(|value| value.to_string()),
        "FromStr and serde disagree"
    );
}

/// Types read through serde alone: what they accept prints back unchanged.
fn canonical_serde<T>(text: &str)
where
    T: Display + for<'de> Deserialize<'de>,
{
    let deserializer: StrDeserializer<'_, serde::de::value::Error> = text.into_deserializer();
    if let Ok(value) = T::deserialize(deserializer) {
        assert_eq!(value.to_string(), text, "accepted but not canonical");
    }
}

fn passphrase(text: &str) {
    let Ok(passphrase) = Passphrase::new(text) else {
        assert!(NewPassphrase::new(text).is_err(), "a new passphrase is a passphrase first");
        return;
    };
    let normalized = std::str::from_utf8(passphrase.expose_secret()).expect("UTF-8");
    assert_eq!(normalized.nfkc().collect::<String>(), normalized, "normalized once");
    let chars = normalized.chars().count();
    assert!((Passphrase::MIN_CHARS..=Passphrase::MAX_CHARS).contains(&chars));
    assert!(!normalized.chars().any(char::is_control));
    let redacted = format!("Passphrase(redacted, {} bytes)", normalized.len());
    assert_eq!(format!("{passphrase:?}"), redacted);
    assert_eq!(passphrase.to_string(), redacted);
}

fuzz_target!(|data: &[u8]| {
    if let [a, b, c, d, e, f, g, h, i, j, k, l, ..] = *data {
        let numbers = [
            u32::from_le_bytes([a, b, c, d]),
            u32::from_le_bytes([e, f, g, h]),
            u32::from_le_bytes([i, j, k, l]),
        ];
        if let Ok(params) = KdfParams::new(numbers[0], numbers[1], numbers[2]) {
            assert_eq!(
                (params.memory_kib(), params.passes(), params.lanes()),
                (numbers[0], numbers[1], numbers[2])
            );
        }
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    canonical::<OrgId>(text);
    canonical::<AgentId>(text);
    canonical::<RequestId>(text);
    canonical::<RegistrationId>(text);
    canonical::<EntryHash>(text);
    canonical::<KeyId>(text);
    canonical::<SigningPublicKey>(text);
    canonical::<ExchangePublicKey>(text);
    canonical::<Salt>(text);
    canonical::<SealedAccess>(text);
    canonical::<TrustRoot>(text);
    canonical::<VerificationCode>(text);
    canonical_serde::<PayloadDigest>(text);
    if let Ok(kind) = TaskKind::new(text) {
        assert_eq!(kind.as_str(), text, "a task kind is taken as written");
    }
    passphrase(text);
});
