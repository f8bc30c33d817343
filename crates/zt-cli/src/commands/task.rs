//! `zt task sign | verify`: sensitive-task authorizations (spec §9).
//!
//! `zt task sign` prints the document `zt task verify` (and a host's
//! `POST /v1/tasks/verify`) takes: the authorization in base64, the task's kind and its
//! payload's digest.

use std::path::Path;

use rand_core::OsRng;
use reqwest::Method;
use zt_core::{PayloadDigest, TaskAuthorization, TaskBinding, TaskKind, MAX_TASK_LIFETIME};
use zt_http::wire::{self, TaskAccepted, VerifyTask};

use crate::commands::context::{now, Connected};
use crate::commands::session::{current_session, Session};
use crate::config::write_private;
use crate::error::{file_error, CliError};
use crate::input::Input;
use crate::output::{frequency_word, time};

/// The largest payload read, in bytes.
const MAX_PAYLOAD: u64 = 64 * 1024 * 1024;

/// `zt task sign --kind KIND --payload FILE [--lifetime SECONDS] [--out FILE]`.
pub(crate) fn sign(
    ctx: &Connected,
    input: &mut Input,
    kind: &str,
    payload: &Path,
    lifetime: u64,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let kind = TaskKind::new(kind).map_err(|_| {
        CliError::usage(format!("invalid task kind {kind:?}"))
            .hint("1 to 64 characters of a-z, 0-9, '.', '_' and '-'")
    })?;
    if lifetime == 0 || lifetime > MAX_TASK_LIFETIME {
        return Err(CliError::usage(format!(
            "--lifetime must be 1 to {MAX_TASK_LIFETIME} seconds"
        )));
    }
    let binding = TaskBinding {
        kind,
        payload: digest_of(payload)?,
    };
    let org = ctx.org()?;
    let mine = ctx.my_key()?;
    let session = current_session(ctx, &org)?
        .filter(|session| mine.status.active_key == Some(session.delegation.key));
    let authorization = match session {
        Some(Session { delegation, key }) => {
            eprintln!(
                "Signing with the session unlocked until {}.",
                time(delegation.expires_at)
            );
            TaskAuthorization::sign_with_session(
                &key,
                &delegation,
                binding.clone(),
                now(),
                lifetime,
                &mut OsRng,
            )
        }
        None => {
            let unlocked = ctx.unlock(input, "Your passphrase")?;
            TaskAuthorization::sign(
                &unlocked.keys,
                unlocked.org.org,
                unlocked.org.epoch,
                binding.clone(),
                now(),
                lifetime,
                &mut OsRng,
            )
        }
    };
    let document = VerifyTask {
        authorization: wire::encode_bytes(&authorization.encode()),
        kind: binding.kind.as_str().to_owned(),
        payload_digest: binding.payload,
    };
    let mut text = serde_json::to_string_pretty(&document)
        .map_err(|error| CliError::refused(format!("cannot encode: {error}")))?;
    text.push('\n');
    match out {
        Some(path) => {
            write_private(path, text.as_bytes())?;
            eprintln!(
                "Task authorization written to {} (valid until {}).",
                path.display(),
                time(authorization.expires_at)
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `zt task verify FILE [--payload FILE]`: asks the server whether it accepts the
/// authorization; an accepted one is spent.
pub(crate) fn verify(ctx: &Connected, file: &Path, payload: Option<&Path>) -> Result<(), CliError> {
    let text = std::fs::read(file).map_err(|error| file_error("read", file, error))?;
    let mut document: VerifyTask = serde_json::from_slice(&text).map_err(|error| {
        CliError::usage(format!(
            "{} is not a task authorization document: {error}",
            file.display()
        ))
        .hint("`zt task sign` writes one")
    })?;
    if let Some(payload) = payload {
        // Verify against the task actually at hand, not the digest the document claims.
        document.payload_digest = digest_of(payload)?;
    }
    let accepted: TaskAccepted = ctx
        .client
        .call(Method::POST, "/v1/tasks/verify", &document)?;
    ctx.out.show(&accepted, || {
        format!(
            "Accepted: agent {} with key {}, valid until {} (prompt: {}).",
            accepted.agent,
            accepted.key,
            time(accepted.expires_at),
            frequency_word(accepted.frequency)
        )
    });
    Ok(())
}

/// The digest of a payload file (spec §9.1).
fn digest_of(path: &Path) -> Result<PayloadDigest, CliError> {
    let file = std::fs::File::open(path).map_err(|error| file_error("read", path, error))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_PAYLOAD + 1), &mut bytes)
        .map_err(|error| file_error("read", path, error))?;
    if bytes.len() as u64 > MAX_PAYLOAD {
        return Err(CliError::usage(format!(
            "{} is larger than 64 MiB",
            path.display()
        )));
    }
    Ok(PayloadDigest::of(&bytes))
}
