//! Sealing an agent's access secret to an X25519 key (spec §3.7).
//!
//! A sealed box is `E || ciphertext || tag`: a fresh ephemeral X25519 key `E` per seal, key
//! and nonce derived from the shared secret with HKDF, ChaCha20-Poly1305 over the 32-byte
//! access secret, associated data naming the organization, agent and recipient key. A fresh
//! ephemeral key per seal means a (key, nonce) pair is never used twice.

use std::fmt;

use chacha20poly1305::ChaCha20Poly1305;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::crypto::{
    aead_open, aead_seal, encoded_label, hkdf_sha256, x25519, ExchangePublicKey, ExchangeSecret,
};
use crate::error::{DecodeError, SealError};
use crate::ids::{AgentId, KeyId, OrgId, RegistrationId};
use crate::labels;
use crate::secret::AccessSecret;

/// What a box is sealed to; part of its associated data (spec §3.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SealRecipient {
    /// An agent key, by its fingerprint.
    AgentKey(KeyId),
    /// A recovery key, by its registration.
    RecoveryKey(RegistrationId),
}

/// Where a sealed box belongs: the associated data of its AEAD (spec §3.7).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SealContext {
    pub(crate) org: OrgId,
    pub(crate) agent: AgentId,
    pub(crate) recipient: SealRecipient,
}

impl SealContext {
    fn associated_data(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(96);
        match self.recipient {
            SealRecipient::AgentKey(key_id) => {
                writer
                    .label(labels::SEAL_TO_AGENT_KEY)
                    .bytes(self.org.as_bytes())
                    .bytes(self.agent.as_bytes())
                    .bytes(key_id.as_bytes());
            }
            SealRecipient::RecoveryKey(registration) => {
                writer
                    .label(labels::SEAL_TO_RECOVERY_KEY)
                    .bytes(self.org.as_bytes())
                    .bytes(self.agent.as_bytes())
                    .bytes(registration.as_bytes());
            }
        }
        writer.into_bytes()
    }
}

/// An access secret sealed to one X25519 key: 80 bytes, public (spec §3.7).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SealedAccess([u8; SealedAccess::LEN]);

impl SealedAccess {
    /// Encoded size: ephemeral key (32), ciphertext (32), tag (16).
    pub const LEN: usize = 80;

    /// Wraps the 80 bytes of a sealed box.
    pub const fn from_bytes(bytes: [u8; SealedAccess::LEN]) -> SealedAccess {
        SealedAccess(bytes)
    }

    /// The 80 bytes.
    pub const fn as_bytes(&self) -> &[u8; SealedAccess::LEN] {
        &self.0
    }

    pub(crate) fn encode(&self, writer: &mut Writer) {
        writer.bytes(&self.0);
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<SealedAccess, DecodeError> {
        Ok(SealedAccess(reader.array("sealed access")?))
    }
}

impl fmt::Debug for SealedAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedAccess({self})")
    }
}

/// Lower-case hex of the 80 bytes (it is public: only the recipient's key opens it).
impl fmt::Display for SealedAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::ids::write_hex(f, &self.0)
    }
}

impl std::str::FromStr for SealedAccess {
    type Err = crate::error::ParseIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::ids::parse_hex::<{ SealedAccess::LEN }>(text)
            .map(SealedAccess)
            .ok_or(crate::error::ParseIdError {
                what: "sealed access",
            })
    }
}

impl serde::Serialize for SealedAccess {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SealedAccess {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Key and nonce for one box, from the shared secret and both public keys (spec §3.7).
fn box_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> Zeroizing<[u8; 44]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    hkdf_sha256::<44>(&salt, shared, &encoded_label(labels::SEAL_KEY))
}

fn split_key(okm: &[u8; 44]) -> (Zeroizing<[u8; 32]>, [u8; 12]) {
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    key.copy_from_slice(&okm[..32]);
    nonce.copy_from_slice(&okm[32..]);
    (key, nonce)
}

/// Seals `secret` to `recipient` with a fresh ephemeral key from `rng`.
pub(crate) fn seal(
    secret: &AccessSecret,
    recipient: &ExchangePublicKey,
    context: &SealContext,
    rng: &mut impl CryptoRngCore,
) -> Result<SealedAccess, SealError> {
    let mut ephemeral_bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(ephemeral_bytes.as_mut_slice());
    let ephemeral = ExchangeSecret::from_bytes(&ephemeral_bytes);
    let shared = x25519(&ephemeral, recipient.as_bytes())?;
    let (key, nonce) = split_key(&box_key(
        &shared,
        ephemeral.public().as_bytes(),
        recipient.as_bytes(),
    ));
    let ciphertext = aead_seal::<ChaCha20Poly1305>(
        &key,
        &nonce,
        &context.associated_data(),
        secret.expose_secret(),
    )?;
    let mut sealed = [0u8; SealedAccess::LEN];
    sealed[..32].copy_from_slice(ephemeral.public().as_bytes());
    if ciphertext.len() != 48 {
        return Err(SealError::Open);
    }
    sealed[32..].copy_from_slice(&ciphertext);
    Ok(SealedAccess(sealed))
}

/// Opens a box sealed to `recipient`'s public key.
pub(crate) fn open(
    sealed: &SealedAccess,
    recipient: &ExchangeSecret,
    context: &SealContext,
) -> Result<AccessSecret, SealError> {
    let (ephemeral, ciphertext) = sealed.0.split_at(32);
    let ephemeral: [u8; 32] = ephemeral.try_into().map_err(|_| SealError::Open)?;
    let shared = x25519(recipient, &ephemeral)?;
    let (key, nonce) = split_key(&box_key(&shared, &ephemeral, recipient.public().as_bytes()));
    let plaintext =
        aead_open::<ChaCha20Poly1305>(&key, &nonce, &context.associated_data(), ciphertext)?;
    let bytes: [u8; 32] = plaintext
        .as_slice()
        .try_into()
        .map_err(|_| SealError::Open)?;
    Ok(AccessSecret::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn context(recipient: SealRecipient) -> SealContext {
        SealContext {
            org: OrgId::from_bytes([1; 16]),
            agent: AgentId::from_bytes([2; 16]),
            recipient,
        }
    }

    #[test]
    fn seal_open_round_trip_and_bindings() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let recipient = ExchangeSecret::from_bytes(&Zeroizing::new([5; 32]));
        let secret = AccessSecret::random(&mut rng);
        let here = context(SealRecipient::AgentKey(KeyId::from_bytes([3; 32])));
        let sealed = seal(&secret, recipient.public(), &here, &mut rng).unwrap();
        assert_eq!(open(&sealed, &recipient, &here).unwrap(), secret);

        // Another agent, organization or recipient key: refused, with the same coarse error.
        let mut elsewhere = here;
        elsewhere.agent = AgentId::from_bytes([9; 16]);
        assert_eq!(open(&sealed, &recipient, &elsewhere), Err(SealError::Open));
        let recovery = context(SealRecipient::RecoveryKey(RegistrationId::from_bytes(
            [3; 16],
        )));
        assert_eq!(open(&sealed, &recipient, &recovery), Err(SealError::Open));
        let stranger = ExchangeSecret::from_bytes(&Zeroizing::new([6; 32]));
        assert_eq!(open(&sealed, &stranger, &here), Err(SealError::Open));

        // Every single-bit flip is detected.
        for bit in 0..SealedAccess::LEN * 8 {
            let mut bytes = *sealed.as_bytes();
            bytes[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&SealedAccess(bytes), &recipient, &here).is_err());
        }
    }

    #[test]
    fn every_seal_uses_a_fresh_ephemeral_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let recipient = ExchangeSecret::from_bytes(&Zeroizing::new([5; 32]));
        let secret = AccessSecret::from_bytes([7; 32]);
        let here = context(SealRecipient::AgentKey(KeyId::from_bytes([3; 32])));
        let first = seal(&secret, recipient.public(), &here, &mut rng).unwrap();
        let second = seal(&secret, recipient.public(), &here, &mut rng).unwrap();
        assert_ne!(first.as_bytes()[..32], second.as_bytes()[..32]);
        assert_ne!(first.as_bytes()[32..], second.as_bytes()[32..]);
    }

    #[test]
    fn a_low_order_ephemeral_key_is_refused_not_decrypted() {
        let recipient = ExchangeSecret::from_bytes(&Zeroizing::new([5; 32]));
        let here = context(SealRecipient::AgentKey(KeyId::from_bytes([3; 32])));
        // E = 0: the shared secret would be all zero, known to anyone.
        let forged = SealedAccess([0u8; SealedAccess::LEN]);
        assert_eq!(
            open(&forged, &recipient, &here),
            Err(SealError::ZeroSharedSecret)
        );
    }
}
