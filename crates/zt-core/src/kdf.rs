//! Argon2id parameters, their bounds, and the salt (spec §3.2).

use std::fmt;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::crypto::argon2id;
use crate::error::{DecodeError, KdfError, ParseIdError};
use crate::ids::{parse_hex, write_hex};
use crate::passphrase::Passphrase;

/// The only key-derivation algorithm: Argon2id, version 0x13 (spec §3.2).
pub const KDF_ARGON2ID_V13: u8 = 1;

/// Argon2id cost parameters, always within zt's floor and ceiling (spec §3.2).
///
/// The floor stops a server from downgrading a client to cheap derivations (which would make
/// the resulting public key cheap to attack offline); the ceiling stops it from making a
/// client do absurd work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedKdfParams")]
pub struct KdfParams {
    memory_kib: u32,
    passes: u32,
    lanes: u32,
}

/// The wire form before bounds are checked.
#[derive(Deserialize)]
struct UncheckedKdfParams {
    memory_kib: u32,
    passes: u32,
    lanes: u32,
}

impl TryFrom<UncheckedKdfParams> for KdfParams {
    type Error = KdfError;

    fn try_from(raw: UncheckedKdfParams) -> Result<Self, Self::Error> {
        KdfParams::new(raw.memory_kib, raw.passes, raw.lanes)
    }
}

impl KdfParams {
    /// The parameters new keys use: 128 MiB, 3 passes, 1 lane (about 0.4 s here; see
    /// docs/threat-model.md for the measurement).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 128 * 1024,
        passes: 3,
        lanes: 1,
    };
    /// Floor of memory: 64 MiB.
    pub const MIN_MEMORY_KIB: u32 = 64 * 1024;
    /// Ceiling of memory: 1 GiB.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    /// Floor of passes.
    pub const MIN_PASSES: u32 = 3;
    /// Ceiling of passes.
    pub const MAX_PASSES: u32 = 16;
    /// Ceiling of lanes (the reference derivation computes lanes one after another).
    pub const MAX_LANES: u32 = 4;
    /// Ceiling of memory × passes, in KiB: 4 GiB of memory traffic, a few seconds.
    pub const MAX_WORK_KIB: u64 = 4 * 1024 * 1024;

    /// Checks the parameters against the floor and ceiling.
    pub fn new(memory_kib: u32, passes: u32, lanes: u32) -> Result<KdfParams, KdfError> {
        if memory_kib < Self::MIN_MEMORY_KIB {
            return Err(KdfError::MemoryTooLow {
                found: memory_kib,
                min: Self::MIN_MEMORY_KIB,
            });
        }
        if memory_kib > Self::MAX_MEMORY_KIB {
            return Err(KdfError::MemoryTooHigh {
                found: memory_kib,
                max: Self::MAX_MEMORY_KIB,
            });
        }
        if passes < Self::MIN_PASSES {
            return Err(KdfError::IterationsTooLow {
                found: passes,
                min: Self::MIN_PASSES,
            });
        }
        if passes > Self::MAX_PASSES {
            return Err(KdfError::IterationsTooHigh {
                found: passes,
                max: Self::MAX_PASSES,
            });
        }
        if lanes == 0 || lanes > Self::MAX_LANES {
            return Err(KdfError::ParallelismOutOfRange {
                found: lanes,
                max: Self::MAX_LANES,
            });
        }
        if u64::from(memory_kib).saturating_mul(u64::from(passes)) > Self::MAX_WORK_KIB {
            return Err(KdfError::TooMuchWork {
                max: Self::MAX_WORK_KIB,
            });
        }
        Ok(KdfParams {
            memory_kib,
            passes,
            lanes,
        })
    }

    /// Memory in KiB (Argon2's m).
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Passes over memory (Argon2's t).
    pub fn passes(&self) -> u32 {
        self.passes
    }

    /// Lanes (Argon2's p).
    pub fn lanes(&self) -> u32 {
        self.lanes
    }

    /// Encoding: algorithm u8, m u32, t u32, p u32 (spec §3.2).
    pub(crate) fn encode(&self, writer: &mut Writer) {
        writer
            .u8(KDF_ARGON2ID_V13)
            .u32(self.memory_kib)
            .u32(self.passes)
            .u32(self.lanes);
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<KdfParams, DecodeError> {
        let algorithm = reader.u8("kdf algorithm")?;
        if algorithm != KDF_ARGON2ID_V13 {
            return Err(KdfError::UnknownAlgorithm(algorithm).into());
        }
        let (memory, passes, lanes) = (
            reader.u32("kdf memory")?,
            reader.u32("kdf passes")?,
            reader.u32("kdf lanes")?,
        );
        Ok(KdfParams::new(memory, passes, lanes)?)
    }
}

/// A key's random 16-byte Argon2id salt (spec §3.2). Public: stored with the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Salt([u8; 16]);

impl Salt {
    /// Wraps salt bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Salt {
        Salt(bytes)
    }

    /// A fresh salt from the caller's cryptographic RNG.
    pub fn random(rng: &mut impl CryptoRngCore) -> Salt {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Salt(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({self})")
    }
}

impl std::str::FromStr for Salt {
    type Err = ParseIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_hex::<16>(text)
            .map(Salt)
            .ok_or(ParseIdError { what: "salt" })
    }
}

impl Serialize for Salt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Stage one of key derivation: Argon2id(passphrase, salt) → 32 bytes (spec §3.2). Slow by
/// design: this is what an attacker must repeat for every guess.
pub(crate) fn stretch(
    passphrase: &Passphrase,
    salt: &Salt,
    params: &KdfParams,
) -> Zeroizing<[u8; 32]> {
    // The bounds of KdfParams lie well inside Argon2's own limits, so this cannot fail;
    // the fallback keeps the function total without a panic path.
    argon2id::<32>(
        passphrase.expose_secret(),
        salt.as_bytes(),
        &[],
        &[],
        params.memory_kib,
        params.passes,
        params.lanes,
    )
    .unwrap_or_else(|| Zeroizing::new([0u8; 32]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_refuse_downgrades_and_absurd_work() {
        assert_eq!(
            KdfParams::new(KdfParams::DEFAULT.memory_kib, 3, 1),
            Ok(KdfParams::DEFAULT)
        );
        assert!(KdfParams::new(65536, 3, 1).is_ok());
        assert!(matches!(
            KdfParams::new(65535, 3, 1),
            Err(KdfError::MemoryTooLow { .. })
        ));
        assert!(matches!(
            KdfParams::new(65536, 2, 1),
            Err(KdfError::IterationsTooLow { .. })
        ));
        assert!(matches!(
            KdfParams::new(2 * 1024 * 1024, 3, 1),
            Err(KdfError::MemoryTooHigh { .. })
        ));
        assert!(matches!(
            KdfParams::new(65536, 17, 1),
            Err(KdfError::IterationsTooHigh { .. })
        ));
        assert!(matches!(
            KdfParams::new(65536, 3, 0),
            Err(KdfError::ParallelismOutOfRange { .. })
        ));
        assert!(matches!(
            KdfParams::new(65536, 3, 5),
            Err(KdfError::ParallelismOutOfRange { .. })
        ));
        assert!(matches!(
            KdfParams::new(1024 * 1024, 5, 1),
            Err(KdfError::TooMuchWork { .. })
        ));
    }

    #[test]
    fn json_input_is_checked_too() {
        let weak = r#"{"memory_kib":1024,"passes":1,"lanes":1}"#;
        assert!(serde_json::from_str::<KdfParams>(weak).is_err());
        let json = serde_json::to_string(&KdfParams::DEFAULT).unwrap();
        assert_eq!(
            serde_json::from_str::<KdfParams>(&json).unwrap(),
            KdfParams::DEFAULT
        );
    }

    #[test]
    fn decoding_refuses_unknown_algorithms_and_out_of_bounds_values() {
        let mut writer = Writer::default();
        KdfParams::DEFAULT.encode(&mut writer);
        let mut bytes = writer.into_bytes();
        assert_eq!(
            KdfParams::decode(&mut Reader::new(&bytes)),
            Ok(KdfParams::DEFAULT)
        );
        bytes[0] = 2;
        assert_eq!(
            KdfParams::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::Kdf(KdfError::UnknownAlgorithm(2)))
        );
        bytes[0] = 1;
        bytes[1..5].copy_from_slice(&1024u32.to_be_bytes());
        assert!(matches!(
            KdfParams::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::Kdf(KdfError::MemoryTooLow { .. }))
        ));
    }
}
