//! AEAD (RFC 8439 ChaCha20-Poly1305) with one coarse failure (spec §3.7).
//!
//! Generic over the cipher so that the same wrapper runs the ChaCha20-Poly1305 and
//! XChaCha20-Poly1305 vectors; zt itself seals with ChaCha20-Poly1305 only.

use chacha20poly1305::aead::generic_array::typenum::Unsigned;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use zeroize::Zeroizing;

use crate::error::SealError;

/// Encrypts `plaintext`; the result is the ciphertext followed by the 16-byte tag.
/// Refuses a nonce of the wrong length.
pub(crate) fn aead_seal<A: Aead + KeyInit>(
    key: &[u8; 32],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    if nonce.len() != A::NonceSize::USIZE {
        return Err(SealError::Open);
    }
    let cipher = A::new_from_slice(key).map_err(|_| SealError::Open)?;
    cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| SealError::Open)
}

/// Decrypts and authenticates `ciphertext_and_tag`. Every failure (wrong key, nonce, data
/// or tag; wrong nonce length) is the same [`SealError::Open`].
pub(crate) fn aead_open<A: Aead + KeyInit>(
    key: &[u8; 32],
    nonce: &[u8],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if nonce.len() != A::NonceSize::USIZE
        || ciphertext_and_tag.len() < <A as AeadCore>::TagSize::USIZE
    {
        return Err(SealError::Open);
    }
    let cipher = A::new_from_slice(key).map_err(|_| SealError::Open)?;
    cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext_and_tag,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SealError::Open)
}
