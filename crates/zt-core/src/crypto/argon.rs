//! Argon2id version 0x13 (RFC 9106) with the parameters given (spec §3.2).
//!
//! Bounds are the caller's job ([`crate::KdfParams`] enforces them); this wrapper only runs
//! the function. The secret and associated data inputs are empty everywhere in zt and exist
//! so that the RFC 9106 vector runs through this very function.

use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
use zeroize::Zeroizing;

/// Argon2id(password, salt) with `memory_kib`, `passes`, `lanes`, producing `N` bytes.
/// `None` if the parameters are outside what Argon2 itself allows.
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors RFC 9106's inputs one to one"
)]
pub(crate) fn argon2id<const N: usize>(
    password: &[u8],
    salt: &[u8],
    secret: &[u8],
    associated_data: &[u8],
    memory_kib: u32,
    passes: u32,
    lanes: u32,
) -> Option<Zeroizing<[u8; N]>> {
    let mut builder = ParamsBuilder::new();
    builder
        .m_cost(memory_kib)
        .t_cost(passes)
        .p_cost(lanes)
        .output_len(N);
    if !associated_data.is_empty() {
        builder.data(AssociatedData::new(associated_data).ok()?);
    }
    let params = builder.build().ok()?;
    let argon = if secret.is_empty() {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    } else {
        Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, params).ok()?
    };
    let mut output = Zeroizing::new([0u8; N]);
    argon
        .hash_password_into(password, salt, output.as_mut_slice())
        .ok()?;
    Some(output)
}
