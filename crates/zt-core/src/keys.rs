//! Agent keys derived from a passphrase, and host keys (spec §3.3 – §3.6).

use std::fmt;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::crypto::{
    encoded_label, hkdf_sha256, labeled_hash, ExchangePublicKey, ExchangeSecret, Signature,
    SigningPublicKey, SigningSecret,
};
use crate::error::{DecodeError, SealError, WrongPassphrase};
use crate::ids::{AgentId, KeyId, OrgId};
use crate::kdf::{stretch, KdfParams, Salt};
use crate::labels;
use crate::passphrase::{NewPassphrase, Passphrase};
use crate::seal::{open, SealContext, SealRecipient, SealedAccess};
use crate::secret::{redacted, AccessSecret, HostSeed};

/// The fingerprint of a pair of public keys: SHA-256 over the label and both keys (spec §3.5).
pub(crate) fn key_id_of(signing: &SigningPublicKey, exchange: &ExchangePublicKey) -> KeyId {
    KeyId::from_bytes(labeled_hash(
        labels::KEY_ID,
        &[signing.as_bytes(), exchange.as_bytes()],
    ))
}

/// The public half of an agent key as registered in the log: both public keys and what any
/// client of the agent needs to derive them again (spec §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyRecord {
    /// The Ed25519 key that signs statements and tasks.
    pub signing: SigningPublicKey,
    /// The X25519 key that access secrets are sealed to.
    pub exchange: ExchangePublicKey,
    /// The Argon2id parameters the key was derived with.
    pub kdf: KdfParams,
    /// The Argon2id salt.
    pub salt: Salt,
}

impl PublicKeyRecord {
    /// Encoded size in bytes.
    pub const ENCODED_LEN: usize = 32 + 32 + 13 + 16;

    /// The key's fingerprint (spec §3.5).
    pub fn key_id(&self) -> KeyId {
        key_id_of(&self.signing, &self.exchange)
    }

    pub(crate) fn encode(&self, writer: &mut Writer) {
        writer
            .bytes(self.signing.as_bytes())
            .bytes(self.exchange.as_bytes());
        self.kdf.encode(writer);
        writer.bytes(self.salt.as_bytes());
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<PublicKeyRecord, DecodeError> {
        let signing = decode_signing_key(reader, "signing key")?;
        let exchange = decode_exchange_key(reader, "exchange key")?;
        let kdf = KdfParams::decode(reader)?;
        let salt = Salt::from_bytes(reader.array("salt")?);
        Ok(PublicKeyRecord {
            signing,
            exchange,
            kdf,
            salt,
        })
    }
}

/// Reads and validates an Ed25519 public key (spec §3.4).
pub(crate) fn decode_signing_key(
    reader: &mut Reader<'_>,
    field: &'static str,
) -> Result<SigningPublicKey, DecodeError> {
    SigningPublicKey::from_bytes(&reader.array(field)?)
        .map_err(|source| DecodeError::InvalidKey { field, source })
}

/// Reads and validates an X25519 public key (spec §3.4).
pub(crate) fn decode_exchange_key(
    reader: &mut Reader<'_>,
    field: &'static str,
) -> Result<ExchangePublicKey, DecodeError> {
    ExchangePublicKey::from_bytes(&reader.array(field)?)
        .map_err(|source| DecodeError::InvalidKey { field, source })
}

/// An agent's secret keys: the Ed25519 signing key and the X25519 key, both derived from
/// one Argon2id output (spec §3.3). Zeroized on drop; printed redacted; not `Clone`.
pub struct AgentKeys {
    org: OrgId,
    agent: AgentId,
    signing: SigningSecret,
    exchange: ExchangeSecret,
    record: PublicKeyRecord,
    key_id: KeyId,
}

// Wiped on drop: its secret fields are a `SigningSecret` and an `ExchangeSecret`.
impl zeroize::ZeroizeOnDrop for AgentKeys {}

impl AgentKeys {
    /// Derives a new key from a checked passphrase, with the default parameters and a fresh
    /// salt from `rng`. Takes about as long as [`KdfParams::DEFAULT`] costs.
    pub fn create(
        passphrase: &NewPassphrase,
        org: OrgId,
        agent: AgentId,
        rng: &mut impl CryptoRngCore,
    ) -> AgentKeys {
        AgentKeys::derive(
            passphrase.passphrase(),
            KdfParams::DEFAULT,
            Salt::random(rng),
            org,
            agent,
        )
    }

    /// Derives the key for `passphrase` with the given parameters and salt (spec §3.3).
    pub fn derive(
        passphrase: &Passphrase,
        kdf: KdfParams,
        salt: Salt,
        org: OrgId,
        agent: AgentId,
    ) -> AgentKeys {
        let stretched = stretch(passphrase, &salt, &kdf);
        AgentKeys::from_stretched(&stretched, kdf, salt, org, agent)
    }

    /// Derives the key for `passphrase` with a registered key's parameters and salt, and
    /// refuses (in constant time) unless it is that key. Clients call this before signing,
    /// so that a wrong passphrase, or a server that lies about the salt, signs nothing.
    pub fn unlock(
        passphrase: &Passphrase,
        registered: &PublicKeyRecord,
        org: OrgId,
        agent: AgentId,
    ) -> Result<AgentKeys, WrongPassphrase> {
        let keys = AgentKeys::derive(passphrase, registered.kdf, registered.salt, org, agent);
        if bool::from(keys.key_id.as_bytes().ct_eq(registered.key_id().as_bytes())) {
            Ok(keys)
        } else {
            Err(WrongPassphrase)
        }
    }

    /// Stage two of derivation, from Argon2id's 32-byte output (spec §3.3). Public so that
    /// tests and simulations can make many keys without paying for Argon2id; a real client
    /// always goes through [`AgentKeys::derive`].
    pub fn from_stretched(
        stretched: &[u8; 32],
        kdf: KdfParams,
        salt: Salt,
        org: OrgId,
        agent: AgentId,
    ) -> AgentKeys {
        let mut hkdf_salt = encoded_label(labels::AGENT_KEY_SALT);
        hkdf_salt.extend_from_slice(org.as_bytes());
        hkdf_salt.extend_from_slice(agent.as_bytes());
        let seed = hkdf_sha256::<32>(
            &hkdf_salt,
            stretched,
            &encoded_label(labels::AGENT_KEY_ED25519),
        );
        let exchange_bytes = hkdf_sha256::<32>(
            &hkdf_salt,
            stretched,
            &encoded_label(labels::AGENT_KEY_X25519),
        );
        let signing = SigningSecret::from_seed(&seed);
        let exchange = ExchangeSecret::from_bytes(&exchange_bytes);
        let record = PublicKeyRecord {
            signing: *signing.public(),
            exchange: *exchange.public(),
            kdf,
            salt,
        };
        AgentKeys {
            org,
            agent,
            key_id: record.key_id(),
            signing,
            exchange,
            record,
        }
    }

    /// The public record to register.
    pub fn record(&self) -> &PublicKeyRecord {
        &self.record
    }

    /// The key's fingerprint.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The agent the key belongs to.
    pub fn agent(&self) -> AgentId {
        self.agent
    }

    /// Opens an access secret that a statement sealed to this key (spec §3.7).
    pub fn open_access(&self, sealed: &SealedAccess) -> Result<AccessSecret, SealError> {
        let context = SealContext {
            org: self.org,
            agent: self.agent,
            recipient: SealRecipient::AgentKey(self.key_id),
        };
        open(sealed, &self.exchange, &context)
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }
}

impl fmt::Debug for AgentKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AgentKeys(key id: {}, secrets: redacted)",
            self.key_id.short()
        )
    }
}

impl fmt::Display for AgentKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The host's signing key: it signs epoch starts (organization created or reset) and role
/// changes, the host's own word in the log (spec §4.6). It cannot make any agent key active.
pub struct HostKey {
    seed: HostSeed,
    signing: SigningSecret,
}

// Wiped on drop: its secret fields are a `HostSeed` and a `SigningSecret`.
impl zeroize::ZeroizeOnDrop for HostKey {}

impl HostKey {
    /// A fresh host key from the caller's cryptographic RNG.
    pub fn generate(rng: &mut impl CryptoRngCore) -> HostKey {
        HostKey::from_seed(HostSeed::random(rng))
    }

    /// The host key stored as `seed`.
    pub fn from_seed(seed: HostSeed) -> HostKey {
        let signing = SigningSecret::from_seed(&Zeroizing::new(*seed.expose_secret()));
        HostKey { seed, signing }
    }

    /// The seed to store (secret).
    pub fn seed(&self) -> &HostSeed {
        &self.seed
    }

    /// The public key that entries name and verifiers check.
    pub fn public(&self) -> SigningPublicKey {
        *self.signing.public()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }
}

impl fmt::Debug for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "HostKey", 32)
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "HostKey", 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KeyError;

    fn org() -> OrgId {
        OrgId::from_bytes([1; 16])
    }

    #[test]
    fn one_stretched_secret_gives_distinct_keys_per_agent() {
        let stretched = [7u8; 32];
        let salt = Salt::from_bytes([3; 16]);
        let alice = AgentKeys::from_stretched(
            &stretched,
            KdfParams::DEFAULT,
            salt,
            org(),
            AgentId::from_bytes([1; 16]),
        );
        let bob = AgentKeys::from_stretched(
            &stretched,
            KdfParams::DEFAULT,
            salt,
            org(),
            AgentId::from_bytes([2; 16]),
        );
        assert_ne!(alice.record.signing, bob.record.signing);
        assert_ne!(alice.record.exchange, bob.record.exchange);
        assert_ne!(alice.key_id(), bob.key_id());
    }

    #[test]
    fn record_encoding_round_trips_with_validation() {
        let keys = AgentKeys::from_stretched(
            &[9; 32],
            KdfParams::DEFAULT,
            Salt::from_bytes([4; 16]),
            org(),
            AgentId::from_bytes([5; 16]),
        );
        let mut writer = Writer::default();
        keys.record().encode(&mut writer);
        let mut bytes = writer.into_bytes();
        assert_eq!(bytes.len(), PublicKeyRecord::ENCODED_LEN);
        let mut reader = Reader::new(&bytes);
        assert_eq!(
            PublicKeyRecord::decode(&mut reader).as_ref(),
            Ok(keys.record())
        );
        // A small-order signing key is refused at decoding (registration).
        bytes[..32].copy_from_slice(&{
            let mut identity = [0u8; 32];
            identity[0] = 1;
            identity
        });
        assert_eq!(
            PublicKeyRecord::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::InvalidKey {
                field: "signing key",
                source: KeyError::SmallOrderSigningKey
            })
        );
    }
}
