//! Recovery: a 256-bit secret in a file the agent keeps, from which the recovery keys are
//! derived (spec §8). The server holds only their public halves.

mod file;

use std::fmt;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

pub use file::RecoveryFile;

use crate::crypto::{
    encoded_label, hkdf_sha256, ExchangePublicKey, ExchangeSecret, Signature, SigningPublicKey,
    SigningSecret,
};
use crate::error::SealError;
use crate::ids::{AgentId, OrgId, RegistrationId};
use crate::labels;
use crate::seal::{open, SealContext, SealRecipient, SealedAccess};
use crate::secret::{redacted, AccessSecret, RecoverySecret};

/// The keys a recovery file holds: an Ed25519 key that signs a reset, and an X25519 key the
/// access secret is sealed to, both derived from the file's secret and bound to its
/// organization, agent and registration (spec §8.2). Zeroized on drop; printed redacted.
pub struct RecoveryKeys {
    file: RecoveryFile,
    signing: SigningSecret,
    exchange: ExchangeSecret,
}

// Wiped on drop: its secret fields are a `RecoveryFile`, a `SigningSecret` and an
// `ExchangeSecret`.
impl zeroize::ZeroizeOnDrop for RecoveryKeys {}

impl RecoveryKeys {
    /// A new recovery secret and registration id for `agent`, from the caller's RNG.
    pub fn generate(org: OrgId, agent: AgentId, rng: &mut impl CryptoRngCore) -> RecoveryKeys {
        let registration = RegistrationId::random(rng);
        let secret = RecoverySecret::random(rng);
        RecoveryKeys::from_file(RecoveryFile::new(org, agent, registration, secret))
    }

    /// The keys in a recovery file.
    pub fn from_file(file: RecoveryFile) -> RecoveryKeys {
        let mut salt = encoded_label(labels::RECOVERY_KEY_SALT);
        salt.extend_from_slice(file.org().as_bytes());
        salt.extend_from_slice(file.agent().as_bytes());
        salt.extend_from_slice(file.registration().as_bytes());
        let ikm = file.secret().expose_secret();
        let seed = hkdf_sha256::<32>(&salt, ikm, &encoded_label(labels::RECOVERY_KEY_ED25519));
        let exchange: Zeroizing<[u8; 32]> =
            hkdf_sha256::<32>(&salt, ikm, &encoded_label(labels::RECOVERY_KEY_X25519));
        RecoveryKeys {
            signing: SigningSecret::from_seed(&seed),
            exchange: ExchangeSecret::from_bytes(&exchange),
            file,
        }
    }

    /// The file to give the agent.
    pub fn file(&self) -> &RecoveryFile {
        &self.file
    }

    /// The registration these keys belong to.
    pub fn registration(&self) -> RegistrationId {
        self.file.registration()
    }

    /// The public key that verifies a recovery reset.
    pub fn signing_public(&self) -> SigningPublicKey {
        *self.signing.public()
    }

    /// The public key the access secret is sealed to.
    pub fn exchange_public(&self) -> ExchangePublicKey {
        *self.exchange.public()
    }

    /// Opens the access secret that the registration sealed to this recovery key.
    pub fn open_access(&self, sealed: &SealedAccess) -> Result<AccessSecret, SealError> {
        let context = SealContext {
            org: self.file.org(),
            agent: self.file.agent(),
            recipient: SealRecipient::RecoveryKey(self.registration()),
        };
        open(sealed, &self.exchange, &context)
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }
}

impl fmt::Debug for RecoveryKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "RecoveryKeys", 32)
    }
}

impl fmt::Display for RecoveryKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "RecoveryKeys", 32)
    }
}
