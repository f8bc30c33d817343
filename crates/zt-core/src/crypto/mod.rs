//! zt's wrappers around the primitives (spec §3).
//!
//! Everything zt signs, verifies, derives or seals goes through these few functions, so that
//! each check (strict verification, canonical keys, non-zero shared secrets, bounded Argon2id
//! work) lives in exactly one place. The test vectors in `vectors/` run through these
//! wrappers, not only through the underlying crates.

mod aead;
mod argon;
mod ed25519;
mod x25519;

#[cfg(test)]
mod vector_tests;

pub(crate) use aead::{aead_open, aead_seal};
pub(crate) use argon::argon2id;
pub(crate) use ed25519::{verify_all, SignatureCheck, SigningSecret};
pub use ed25519::{Signature, SigningPublicKey, VerifyMode, BATCH_SIZE};
pub use x25519::ExchangePublicKey;
pub(crate) use x25519::{x25519, ExchangeSecret};

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::codec::Writer;

/// SHA-256 over a label and the concatenated parts (spec §2.4).
pub(crate) fn labeled_hash(label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut prefix = Writer::with_capacity(64);
    prefix.label(label);
    hasher.update(prefix.into_bytes());
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// HKDF-SHA-256 (RFC 5869), extract then expand to `N` bytes (spec §2.4).
pub(crate) fn hkdf_sha256<const N: usize>(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
) -> Zeroizing<[u8; N]> {
    let mut okm = Zeroizing::new([0u8; N]);
    // N is a compile-time constant far below HKDF's limit of 255 × 32 bytes.
    let expanded = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, okm.as_mut_slice());
    debug_assert!(expanded.is_ok());
    okm
}

/// The encoding of a label on its own, as used for HKDF salts and infos (spec §2.2).
pub(crate) fn encoded_label(label: &str) -> Vec<u8> {
    let mut writer = Writer::with_capacity(label.len().saturating_add(1));
    writer.label(label);
    writer.into_bytes()
}
