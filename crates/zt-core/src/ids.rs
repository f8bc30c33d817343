//! Identifiers, counters and time (spec §2.3).
//!
//! Every identifier has one binary form (fixed-size bytes, used in everything signed or hashed)
//! and one text form (used in JSON, files and the CLI). Text parsing is strict: lower-case only,
//! exact length, so that one value has exactly one spelling.

use std::fmt;
use std::str::FromStr;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ParseIdError;

/// Writes `bytes` as lower-case hexadecimal.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
}

/// Parses exactly `N` bytes of lower-case hexadecimal.
pub(crate) fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != N.checked_mul(2)? {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (hex_value(*pair.first()?)?, hex_value(*pair.get(1)?)?);
        *byte = (high << 4) | low;
    }
    Some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(digit.wrapping_sub(b'a').wrapping_add(10)),
        _ => None,
    }
}

/// Defines a 16-byte identifier written as a lower-case UUID (`8-4-4-4-12` hex digits).
macro_rules! uuid_like_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Wraps the 16 bytes of an identifier.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The identifier's 16 bytes, as they appear in encodings.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// A fresh random identifier.
            pub fn random(rng: &mut impl CryptoRngCore) -> Self {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                Self(bytes)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (a, rest) = self.0.split_at(4);
                let (b, rest) = rest.split_at(2);
                let (c, rest) = rest.split_at(2);
                let (d, e) = rest.split_at(2);
                write_hex(f, a)?;
                for group in [b, c, d, e] {
                    f.write_str("-")?;
                    write_hex(f, group)?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_uuid_like(text)
                    .map(Self)
                    .ok_or(ParseIdError { what: $what })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

fn parse_uuid_like(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut hex = String::with_capacity(32);
    for (position, &byte) in bytes.iter().enumerate() {
        if matches!(position, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return None;
            }
        } else {
            hex.push(char::from(byte));
        }
    }
    parse_hex::<16>(&hex)
}

uuid_like_id!(
    /// An organization: the unit that owns one signed key log.
    OrgId,
    "organization id"
);
uuid_like_id!(
    /// An agent (a member of an organization), as the host's account directory names it.
    AgentId,
    "agent id"
);
uuid_like_id!(
    /// A key request, chosen at random by the requester's client (spec §5.4).
    RequestId,
    "request id"
);
uuid_like_id!(
    /// A recovery registration, chosen at random by the agent's client (spec §8).
    RegistrationId,
    "registration id"
);

/// Defines a 32-byte digest written as 64 lower-case hex digits.
macro_rules! digest_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps 32 digest bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The digest's 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_hex::<32>(text).map(Self).ok_or(ParseIdError { what: $what })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_id!(
    /// The hash of one log entry (spec §4.4); the log is a chain of these.
    EntryHash,
    "entry hash"
);
digest_id!(
    /// The fingerprint of an agent's (or recovery) public keys (spec §3.5).
    KeyId,
    "key id"
);

impl EntryHash {
    /// The `prev` value of an organization's very first entry.
    pub const ZERO: EntryHash = EntryHash([0u8; 32]);
}

impl KeyId {
    /// A short form for people: the first 8 bytes in hex. Never use it to identify a key.
    pub fn short(&self) -> String {
        struct Short<'a>(&'a [u8]);
        impl fmt::Display for Short<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, self.0)
            }
        }
        Short(self.0.get(..8).unwrap_or(&self.0)).to_string()
    }
}

/// An organization's key epoch. An organization reset starts the next one (spec §6.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub u32);

impl Epoch {
    /// The epoch after this one, or `None` at the end of the range.
    pub fn next(self) -> Option<Epoch> {
        self.0.checked_add(1).map(Epoch)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The position of an entry in its organization's log, from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// The position after this one, or `None` at the end of the range.
    pub fn next(self) -> Option<Seq> {
        self.0.checked_add(1).map(Seq)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Seconds since 1970-01-01T00:00:00Z. zt-core never reads a clock: callers pass `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// This time plus `seconds`, saturating at the end of the range.
    pub fn plus(self, seconds: u64) -> UnixTime {
        UnixTime(self.0.saturating_add(seconds))
    }

    /// Seconds from `earlier` to `self`, or 0 if `earlier` is later.
    pub fn seconds_since(self, earlier: UnixTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_form_round_trips_and_is_strict() {
        let id = AgentId::from_bytes([
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
            0x66, 0x77,
        ]);
        let text = id.to_string();
        assert_eq!(text, "01234567-89ab-cdef-0011-223344556677");
        assert_eq!(text.parse::<AgentId>(), Ok(id));
        for bad in [
            "01234567-89AB-cdef-0011-223344556677",
            "0123456789abcdef0011223344556677",
            "01234567-89ab-cdef-0011-22334455667",
            "01234567-89ab-cdef-0011-2233445566778",
            "01234567_89ab-cdef-0011-223344556677",
            "0123456g-89ab-cdef-0011-223344556677",
            "",
        ] {
            assert!(bad.parse::<AgentId>().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn digests_are_lower_case_hex() {
        let hash = EntryHash::from_bytes([0xab; 32]);
        assert_eq!(hash.to_string(), "ab".repeat(32));
        assert_eq!(hash.to_string().parse::<EntryHash>(), Ok(hash));
        assert!("AB".repeat(32).parse::<EntryHash>().is_err());
        assert!("ab".repeat(31).parse::<EntryHash>().is_err());
        assert_eq!(KeyId::from_bytes([0x5a; 32]).short(), "5a".repeat(8));
    }

    #[test]
    fn json_uses_the_text_forms() {
        let org = OrgId::from_bytes([7; 16]);
        let json = serde_json::to_string(&org).unwrap();
        assert_eq!(json, "\"07070707-0707-0707-0707-070707070707\"");
        assert_eq!(serde_json::from_str::<OrgId>(&json).unwrap(), org);
        assert!(serde_json::from_str::<OrgId>("\"nope\"").is_err());
    }
}
