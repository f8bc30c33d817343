//! `zt recovery create | reset`: the recovery file (DESIGN §3, spec §8).

use std::path::Path;

use rand_core::OsRng;
use reqwest::Method;
use zt_core::{AgentKeys, RecoveryFile, RecoveryKeys};

use crate::commands::context::Connected;
use crate::commands::key::seal_failed;
use crate::config::{readable_by_others, write_new_private};
use crate::error::{file_error, CliError};
use crate::input::{with_progress, Input};
use crate::output::warn;

/// The largest recovery file read (they are a few hundred bytes).
const MAX_FILE: u64 = 16 * 1024;

/// `zt recovery create --out FILE`: registers a new recovery file and writes it, mode 0600,
/// to a path that must not exist. Any earlier file stops working.
pub(crate) fn create(ctx: &Connected, input: &mut Input, out: &Path) -> Result<(), CliError> {
    if out.exists() {
        return Err(CliError::usage(format!(
            "{} exists: zt does not overwrite files",
            out.display()
        ))
        .hint("choose another path, or move the old file away first"));
    }
    let unlocked = ctx.unlock(input, "Your passphrase")?;
    let access = unlocked.access_secret()?;
    let agent = ctx.profile.agent;
    let recovery = RecoveryKeys::generate(unlocked.org.org, agent, &mut OsRng);
    // The file is on disk before the server knows it: a registration is never left without
    // its file. If the server refuses, the file is removed again.
    write_new_private(out, recovery.file().to_text().as_bytes())?;
    let registered = ctx.submit(Method::POST, "/v1/recovery", |builder| {
        builder
            .recovery_registration(agent, &unlocked.keys, &recovery, &access, &mut OsRng)
            .map_err(seal_failed)
    });
    if let Err(error) = registered {
        let _ = std::fs::remove_file(out);
        return Err(error);
    }
    let created = serde_json::json!({
        "file": out.display().to_string(),
        "registration": recovery.registration(),
    });
    ctx.out.show(&created, || {
        format!(
            "Recovery file written to {} (registration {}).\n\
             Keep it offline, where only you can read it. Any earlier recovery file no longer works.",
            out.display(),
            recovery.registration()
        )
    });
    Ok(())
}

/// `zt recovery reset --file FILE`: a new key signed by the recovery key, active at once
/// without approval; the file is spent. The agent keeps their access (it was sealed to the
/// recovery key too).
pub(crate) fn reset(ctx: &Connected, input: &mut Input, path: &Path) -> Result<(), CliError> {
    let file = read_file(path)?;
    let org = ctx.org()?;
    let agent = ctx.profile.agent;
    file.check_owner(org.org, agent)
        .map_err(|error| CliError::refused(format!("{}: {error}", path.display())))?;
    let mine = ctx.my_key()?;
    let old_key = mine.status.active_key.ok_or_else(|| {
        CliError::refused("you have no active key to reset")
            .hint("a recovery reset replaces an active key; `zt key create` requests a new one")
    })?;
    let registration = mine.recovery.ok_or_else(|| {
        CliError::refused("no recovery file is registered for you")
            .hint("ask an approver for a new key with `zt key create`")
    })?;
    if registration.registration != file.registration() {
        return Err(CliError::refused(format!(
            "{} is not your current recovery file: a newer one replaced it",
            path.display()
        ))
        .hint("use the newest recovery file you created"));
    }
    let recovery = RecoveryKeys::from_file(file);
    // Sealed to the recovery key and bound to this registration (spec §3.7): only this
    // file opens it, whatever the server sends.
    let access = recovery
        .open_access(&registration.sealed_access)
        .map_err(|_| {
            CliError::refused("the access secret does not open with this recovery file")
        })?;
    let passphrase = input.new_passphrase("New passphrase")?;
    let new = with_progress("Deriving your new key", || {
        AgentKeys::create(&passphrase, org.org, agent, &mut OsRng)
    });
    ctx.submit(Method::POST, "/v1/recovery/reset", |builder| {
        builder
            .recovery_reset(agent, old_key, &recovery, &new, &access, &mut OsRng)
            .map_err(seal_failed)
    })?;
    ctx.end_session()?;
    let reset = serde_json::json!({ "key": new.key_id(), "revoked": old_key });
    ctx.out.show(&reset, || {
        format!(
            "Your new key {} is active; the old key {old_key} is revoked.\n\
             The recovery file is spent: create a new one with `zt recovery create --out FILE`.",
            new.key_id()
        )
    });
    Ok(())
}

/// Reads and parses a recovery file, warning when others can read it.
fn read_file(path: &Path) -> Result<RecoveryFile, CliError> {
    let file = std::fs::File::open(path).map_err(|error| file_error("read", path, error))?;
    let mut text = zeroize::Zeroizing::new(Vec::new());
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_FILE), &mut text)
        .map_err(|error| file_error("read", path, error))?;
    if readable_by_others(path) {
        warn(&format!(
            "{} can be read by other users: chmod 600 it",
            path.display()
        ));
    }
    RecoveryFile::parse(&text).map_err(|error| {
        CliError::refused(format!(
            "{} is not a valid recovery file: {error}",
            path.display()
        ))
    })
}
