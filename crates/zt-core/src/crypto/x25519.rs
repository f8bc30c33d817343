//! X25519 (RFC 7748): validated public keys and a Diffie-Hellman that refuses all-zero
//! shared secrets (spec §3.4, §3.7).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::{KeyError, ParseIdError, SealError};
use crate::ids::{parse_hex, write_hex};

/// The field prime p = 2^255 - 19, little-endian.
const FIELD_PRIME: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// The canonical encodings (u < p) of the points of order 1, 2, 4 and 8 on Curve25519 and
/// its twist: X25519 with any of them gives an all-zero or predictable shared secret.
const LOW_ORDER_POINTS: [[u8; 32]; 5] = [
    // u = 0
    [0; 32],
    // u = 1
    {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    },
    // u = p - 1
    {
        let mut minus_one = FIELD_PRIME;
        minus_one[0] = 0xec;
        minus_one
    },
    // the two points of order 8
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
];

/// `u < p`, comparing little-endian 32-byte integers from the most significant byte.
fn is_canonical(u: &[u8; 32]) -> bool {
    for (byte, prime_byte) in u.iter().rev().zip(FIELD_PRIME.iter().rev()) {
        if byte != prime_byte {
            return byte < prime_byte;
        }
    }
    false
}

/// An X25519 public key that zt accepts: canonical (u < p, top bit clear) and not of low
/// order (spec §3.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExchangePublicKey([u8; 32]);

impl ExchangePublicKey {
    /// Validates a public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        if !is_canonical(bytes) {
            return Err(KeyError::NonCanonicalExchangeKey);
        }
        if LOW_ORDER_POINTS.contains(bytes) {
            return Err(KeyError::LowOrderExchangeKey);
        }
        Ok(ExchangePublicKey(*bytes))
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ExchangePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for ExchangePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExchangePublicKey({self})")
    }
}

impl std::str::FromStr for ExchangePublicKey {
    type Err = ParseIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let what = "X25519 public key";
        let bytes = parse_hex::<32>(text).ok_or(ParseIdError { what })?;
        ExchangePublicKey::from_bytes(&bytes).map_err(|_| ParseIdError { what })
    }
}

impl Serialize for ExchangePublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExchangePublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An X25519 secret scalar. Zeroized on drop; never printed; not `Clone`.
pub(crate) struct ExchangeSecret {
    secret: StaticSecret,
    public: ExchangePublicKey,
}

// Wiped on drop: `StaticSecret` zeroizes itself in its `Drop` (x25519-dalek's `zeroize`
// feature, `#[zeroize(drop)]`); secret.rs tests that it still does.
impl zeroize::ZeroizeOnDrop for ExchangeSecret {}

impl ExchangeSecret {
    /// The secret whose 32 bytes are `bytes` (clamped by X25519 as RFC 7748 says).
    pub(crate) fn from_bytes(bytes: &Zeroizing<[u8; 32]>) -> Self {
        let secret = StaticSecret::from(**bytes);
        // [k]B for the base point B and a clamped k is canonical and of large order.
        let public = ExchangePublicKey(PublicKey::from(&secret).to_bytes());
        ExchangeSecret { secret, public }
    }

    pub(crate) fn public(&self) -> &ExchangePublicKey {
        &self.public
    }
}

impl fmt::Debug for ExchangeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ExchangeSecret(public: {}, secret: redacted)",
            self.public
        )
    }
}

/// X25519 with `their_public` as given (RFC 7748 §5), refusing an all-zero result in
/// constant time (RFC 7748 §6.1, spec §3.7).
pub(crate) fn x25519(
    secret: &ExchangeSecret,
    their_public: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let shared = secret
        .secret
        .diffie_hellman(&PublicKey::from(*their_public));
    let bytes = Zeroizing::new(shared.to_bytes());
    if bool::from(bytes.ct_eq(&[0u8; 32])) {
        return Err(SealError::ZeroSharedSecret);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_low_order_point_is_refused_and_gives_zero() {
        let secret = ExchangeSecret::from_bytes(&Zeroizing::new([9u8; 32]));
        for point in LOW_ORDER_POINTS {
            assert_eq!(
                ExchangePublicKey::from_bytes(&point),
                Err(KeyError::LowOrderExchangeKey)
            );
            assert_eq!(x25519(&secret, &point), Err(SealError::ZeroSharedSecret));
        }
        assert_eq!(
            ExchangePublicKey::from_bytes(&FIELD_PRIME),
            Err(KeyError::NonCanonicalExchangeKey)
        );
        let mut top_bit = [0u8; 32];
        top_bit[0] = 9;
        top_bit[31] = 0x80;
        assert_eq!(
            ExchangePublicKey::from_bytes(&top_bit),
            Err(KeyError::NonCanonicalExchangeKey)
        );
    }

    #[test]
    fn both_sides_agree() {
        let alice = ExchangeSecret::from_bytes(&Zeroizing::new([1u8; 32]));
        let bob = ExchangeSecret::from_bytes(&Zeroizing::new([2u8; 32]));
        assert!(ExchangePublicKey::from_bytes(alice.public().as_bytes()).is_ok());
        assert_eq!(
            *x25519(&alice, bob.public().as_bytes()).unwrap(),
            *x25519(&bob, alice.public().as_bytes()).unwrap()
        );
    }
}
