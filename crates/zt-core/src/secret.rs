//! Secret values: zeroized on drop, redacted when printed, compared in constant time.
//!
//! No secret type derives `Debug`, `Clone` or `Copy`. `Debug` and `Display` print the kind
//! and length only. The bytes are reachable through one method, `expose_secret`, so that a
//! reader can find every place a secret leaves its box.

use std::fmt;

use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Formats the redacted form `kind(redacted, N bytes)`.
pub(crate) fn redacted(f: &mut fmt::Formatter<'_>, kind: &str, length: usize) -> fmt::Result {
    write!(f, "{kind}(redacted, {length} bytes)")
}

/// Defines a fixed-size secret type.
macro_rules! secret_bytes {
    ($(#[$doc:meta])* $name:ident, $len:literal) => {
        $(#[$doc])*
        pub struct $name(Zeroizing<[u8; $len]>);

        impl $name {
            /// Wraps secret bytes (taking ownership; the caller's copy is the caller's to wipe).
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(Zeroizing::new(bytes))
            }

            /// Fresh secret bytes from the caller's cryptographic RNG.
            pub fn random(rng: &mut impl CryptoRngCore) -> Self {
                let mut bytes = Zeroizing::new([0u8; $len]);
                rng.fill_bytes(bytes.as_mut_slice());
                Self(bytes)
            }

            /// The secret bytes. Every call site is a place where the secret leaves its box.
            pub fn expose_secret(&self) -> &[u8; $len] {
                &self.0
            }
        }

        // Its only field is `Zeroizing`, which wipes it on drop.
        impl zeroize::ZeroizeOnDrop for $name {}

        impl ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> subtle::Choice {
                self.0.as_slice().ct_eq(other.0.as_slice())
            }
        }

        impl PartialEq for $name {
            /// Constant-time comparison.
            fn eq(&self, other: &Self) -> bool {
                self.ct_eq(other).into()
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                redacted(f, stringify!($name), $len)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                redacted(f, stringify!($name), $len)
            }
        }
    };
}

secret_bytes!(
    /// The 256-bit secret an agent holds access with, sealed to their key and recovery key
    /// (spec §3.7). zt moves it between keys; the host decides what it unlocks.
    AccessSecret,
    32
);

secret_bytes!(
    /// The 256-bit secret inside a recovery file (spec §8.1).
    RecoverySecret,
    32
);

secret_bytes!(
    /// The 32-byte seed of a host signing key (spec §4.6), as the host stores it.
    HostSeed,
    32
);

secret_bytes!(
    /// The 32-byte seed of a session key (spec §9.2), as a client stores it.
    SessionSeed,
    32
);

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::ZeroizeOnDrop;

    fn zeroizes_on_drop<T: ZeroizeOnDrop>() {}

    /// Every secret, and every secret field inside one, wipes itself on drop. This fails to
    /// compile if a type loses that, e.g. if ed25519-dalek's `zeroize` feature is turned off.
    #[test]
    fn every_secret_zeroizes_on_drop() {
        // The fields secrets are made of.
        zeroizes_on_drop::<Zeroizing<[u8; 32]>>();
        zeroizes_on_drop::<Zeroizing<String>>();
        zeroizes_on_drop::<ed25519_dalek::SigningKey>();
        // x25519-dalek 2 wipes its secrets with `#[zeroize(drop)]`, a `Drop` impl, without the
        // marker trait. A `[u8; 32]` has no drop glue of its own, so `needs_drop` is true only
        // because of that `Drop`; both fail if x25519-dalek's `zeroize` feature goes away.
        fn zeroize_and_drop<T: zeroize::Zeroize>() -> bool {
            std::mem::needs_drop::<T>()
        }
        assert!(!std::mem::needs_drop::<[u8; 32]>());
        assert!(zeroize_and_drop::<x25519_dalek::StaticSecret>());
        assert!(zeroize_and_drop::<x25519_dalek::SharedSecret>());
        // The secrets.
        zeroizes_on_drop::<AccessSecret>();
        zeroizes_on_drop::<RecoverySecret>();
        zeroizes_on_drop::<HostSeed>();
        zeroizes_on_drop::<SessionSeed>();
        zeroizes_on_drop::<crate::Passphrase>();
        zeroizes_on_drop::<crate::NewPassphrase>();
        zeroizes_on_drop::<crate::crypto::SigningSecret>();
        zeroizes_on_drop::<crate::crypto::ExchangeSecret>();
        zeroizes_on_drop::<crate::AgentKeys>();
        zeroizes_on_drop::<crate::HostKey>();
        zeroizes_on_drop::<crate::SessionKey>();
        zeroizes_on_drop::<crate::RecoveryKeys>();
        zeroizes_on_drop::<crate::RecoveryFile>();
    }

    #[test]
    fn secrets_print_redacted_and_compare_by_value() {
        let secret = AccessSecret::from_bytes([0x42; 32]);
        assert_eq!(format!("{secret:?}"), "AccessSecret(redacted, 32 bytes)");
        assert_eq!(format!("{secret}"), "AccessSecret(redacted, 32 bytes)");
        assert_eq!(secret, AccessSecret::from_bytes([0x42; 32]));
        assert_ne!(secret, AccessSecret::from_bytes([0x43; 32]));
    }
}
