//! Ed25519 (RFC 8032): validated public keys, strict verification, batches (spec §3.4, §5.3).

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::error::{KeyError, ParseIdError};
use crate::ids::{parse_hex, write_hex};

/// An Ed25519 public key that zt accepts: on the curve, canonically encoded, not of small
/// order (spec §3.4). Holding one proves those checks passed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigningPublicKey(VerifyingKey);

impl SigningPublicKey {
    /// Validates a public key: refuses non-points, non-canonical encodings and small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotOnCurve)?;
        if key.to_edwards().compress().as_bytes() != bytes {
            return Err(KeyError::NonCanonicalSigningKey);
        }
        if key.is_weak() {
            return Err(KeyError::SmallOrderSigningKey);
        }
        Ok(SigningPublicKey(key))
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Verifies `signature` on `message` with `verify_strict`, the only verification zt uses
    /// for a single signature (spec §3.4).
    pub fn verify_strict(&self, message: &[u8], signature: &Signature) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Display for SigningPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, self.as_bytes())
    }
}

impl fmt::Debug for SigningPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningPublicKey({self})")
    }
}

impl std::str::FromStr for SigningPublicKey {
    type Err = ParseIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let what = "Ed25519 public key";
        let bytes = parse_hex::<32>(text).ok_or(ParseIdError { what })?;
        SigningPublicKey::from_bytes(&bytes).map_err(|_| ParseIdError { what })
    }
}

impl Serialize for SigningPublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SigningPublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A 64-byte Ed25519 signature `R || S`. Any 64 bytes parse; verification decides.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// Wraps 64 signature bytes.
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Signature(bytes)
    }

    /// The 64 bytes.
    pub const fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    pub(crate) fn as_dalek(&self) -> ed25519_dalek::Signature {
        ed25519_dalek::Signature::from_bytes(&self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

/// An Ed25519 secret key. Zeroized on drop; never printed; not `Clone`.
pub(crate) struct SigningSecret {
    key: SigningKey,
    public: SigningPublicKey,
}

// Wiped on drop: `SigningKey` zeroizes itself (ed25519-dalek's `zeroize` feature).
impl zeroize::ZeroizeOnDrop for SigningSecret {}

impl SigningSecret {
    /// The key whose RFC 8032 seed is `seed`.
    pub(crate) fn from_seed(seed: &Zeroizing<[u8; 32]>) -> Self {
        let key = SigningKey::from_bytes(seed);
        // [a]B for a clamped scalar a is canonical and in the prime-order subgroup.
        let public = SigningPublicKey(key.verifying_key());
        SigningSecret { key, public }
    }

    pub(crate) fn public(&self) -> &SigningPublicKey {
        &self.public
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.key.sign(message).to_bytes())
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningSecret(public: {}, secret: redacted)",
            self.public
        )
    }
}

/// How to check many signatures at once (spec §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VerifyMode {
    /// `verify_strict` on every signature: the normative rule, bit for bit.
    Strict,
    /// Batches of up to [`BATCH_SIZE`] signatures checked together, about three times
    /// faster. Accepts every strictly valid signature; may also accept one whose `R` has a
    /// small-order component, which only the key's holder can make (spec §5.3).
    #[default]
    Batch,
}

/// Signatures per batch: past this, larger batches gain little (docs/performance.md).
pub const BATCH_SIZE: usize = 1024;

/// One signature to check.
#[derive(Debug)]
pub(crate) struct SignatureCheck {
    pub(crate) key: SigningPublicKey,
    pub(crate) message: Vec<u8>,
    pub(crate) signature: Signature,
}

impl SignatureCheck {
    fn holds(&self) -> bool {
        self.key.verify_strict(&self.message, &self.signature)
    }
}

/// Checks every signature; on failure returns the index of the first bad one.
pub(crate) fn verify_all(checks: &[SignatureCheck], mode: VerifyMode) -> Result<(), usize> {
    let first_strict_failure = |offset: usize, chunk: &[SignatureCheck]| {
        chunk
            .iter()
            .position(|check| !check.holds())
            .map_or(Ok(()), |index| Err(offset.saturating_add(index)))
    };
    match mode {
        VerifyMode::Strict => first_strict_failure(0, checks),
        VerifyMode::Batch => {
            for (chunk_index, chunk) in checks.chunks(BATCH_SIZE).enumerate() {
                let offset = chunk_index.saturating_mul(BATCH_SIZE);
                let messages: Vec<&[u8]> = chunk.iter().map(|c| c.message.as_slice()).collect();
                let signatures: Vec<_> = chunk.iter().map(|c| c.signature.as_dalek()).collect();
                let keys: Vec<VerifyingKey> = chunk.iter().map(|c| c.key.0).collect();
                if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_err() {
                    // A batch fails only if some signature fails strictly: find the first.
                    first_strict_failure(offset, chunk)?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> SigningSecret {
        SigningSecret::from_seed(&Zeroizing::new([byte; 32]))
    }

    #[test]
    fn strict_verification_binds_message_and_key() {
        let (alice, bob) = (secret(1), secret(2));
        let signature = alice.sign(b"message");
        assert!(alice.public().verify_strict(b"message", &signature));
        assert!(!alice.public().verify_strict(b"messagE", &signature));
        assert!(!bob.public().verify_strict(b"message", &signature));
    }

    #[test]
    fn batches_name_the_first_bad_signature_in_either_mode() {
        let signer = secret(3);
        let mut checks: Vec<SignatureCheck> = (0..2100u32)
            .map(|i| {
                let message = i.to_be_bytes().to_vec();
                SignatureCheck {
                    key: *signer.public(),
                    signature: signer.sign(&message),
                    message,
                }
            })
            .collect();
        assert_eq!(verify_all(&checks, VerifyMode::Batch), Ok(()));
        assert_eq!(verify_all(&checks, VerifyMode::Strict), Ok(()));
        for bad in [2099, 1500, 1024, 7] {
            checks[bad].message.push(0);
            assert_eq!(verify_all(&checks, VerifyMode::Batch), Err(bad));
            assert_eq!(verify_all(&checks, VerifyMode::Strict), Err(bad));
        }
    }

    /// Spec §5.3's caveat, shown: the holder of a key can make a signature whose `R` has an
    /// order-8 component. `verify_strict` refuses it; a batch accepts it whenever the batch's
    /// random coefficient for it is a multiple of 8 (here: after a few tries).
    #[test]
    fn batch_may_accept_what_strict_refuses_only_for_torsion_made_by_the_key_holder() {
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
        use curve25519_dalek::edwards::CompressedEdwardsY;
        use curve25519_dalek::scalar::Scalar;
        use sha2::{Digest, Sha512};

        let seed = [7u8; 32];
        let secret = SigningSecret::from_seed(&Zeroizing::new(seed));
        let expanded = Sha512::digest(seed);
        let mut a_bytes: [u8; 32] = expanded[..32].try_into().unwrap();
        a_bytes[0] &= 248;
        a_bytes[31] &= 127;
        a_bytes[31] |= 64;
        let a = Scalar::from_bytes_mod_order(a_bytes);
        // A point of order 8 (ed25519-speccheck's small-order R).
        let torsion = CompressedEdwardsY(
            hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .decompress()
        .unwrap();
        let tweaked = |message: &[u8]| {
            let r = Scalar::from_hash(
                Sha512::new()
                    .chain_update(&expanded[32..])
                    .chain_update(message),
            );
            let big_r = (r * B + torsion).compress();
            let k = Scalar::from_hash(
                Sha512::new()
                    .chain_update(big_r.as_bytes())
                    .chain_update(secret.public().as_bytes())
                    .chain_update(message),
            );
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(big_r.as_bytes());
            signature[32..].copy_from_slice((r + k * a).as_bytes());
            Signature(signature)
        };
        let mut accepted_by_batch = 0;
        for attempt in 0u32..64 {
            let message = attempt.to_be_bytes().to_vec();
            let check = SignatureCheck {
                key: *secret.public(),
                signature: tweaked(&message),
                message,
            };
            assert!(
                !check.holds(),
                "verify_strict must refuse a torsion component"
            );
            assert_eq!(
                verify_all(std::slice::from_ref(&check), VerifyMode::Strict),
                Err(0)
            );
            if verify_all(std::slice::from_ref(&check), VerifyMode::Batch).is_ok() {
                accepted_by_batch += 1;
            }
        }
        // About one in eight; never all (that would mean the batch checks nothing).
        assert!(
            (1..64).contains(&accepted_by_batch),
            "{accepted_by_batch} of 64"
        );
    }

    #[test]
    fn small_order_and_non_canonical_keys_are_refused() {
        // The identity point (order 1), canonical encoding.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            SigningPublicKey::from_bytes(&identity),
            Err(KeyError::SmallOrderSigningKey)
        );
        // The identity with y = 1 + p: a non-canonical encoding of the same point.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(
            SigningPublicKey::from_bytes(&non_canonical),
            Err(KeyError::NonCanonicalSigningKey)
        );
        assert!(SigningPublicKey::from_bytes(secret(4).public().as_bytes()).is_ok());
    }
}
