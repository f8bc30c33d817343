//! `zt unlock`, `zt logout`, `zt policy prompt`: the prompt frequency (DESIGN §3, spec §9.2).
//!
//! `zt unlock --for day|week` derives the key once, delegates to a fresh session key for 24
//! or 168 hours, registers the delegation with the server and keeps the session key in the
//! profile's state (mode 0600); `zt task sign` then signs without a prompt until it expires.
//! `zt logout`, `zt unlock --for task` and `zt key change` end it, on the server too.

use rand_core::OsRng;
use reqwest::Method;
use zt_core::{PromptFrequency, PromptPolicy, SessionDelegation, SessionKey, SessionSeed};
use zt_http::wire::{self, OrgInfo, SessionBody, SessionStarted};

use crate::client::base64_decode;
use crate::commands::context::{now, Connected};
use crate::config::SessionFile;
use crate::error::CliError;
use crate::input::Input;
use crate::output::{frequency_word, time};

/// `zt unlock --for task|day|week`.
pub(crate) fn unlock(
    ctx: &Connected,
    input: &mut Input,
    frequency: PromptFrequency,
) -> Result<(), CliError> {
    if frequency == PromptFrequency::EachTask {
        let ended = ctx.end_session()?;
        ctx.out.show(
            &serde_json::json!({ "prompt": "task", "ended_session": ended }),
            || "The passphrase is asked on each task.".to_owned(),
        );
        return Ok(());
    }
    let org = ctx.org()?;
    if !org.prompt_policy.contains(&frequency) {
        return Err(CliError::refused(format!(
            "the organization does not allow unlocking for a {}",
            frequency_word(frequency)
        ))
        .hint("see the prompt policy in `zt key status`"));
    }
    let unlocked = ctx.unlock(input, "Your passphrase")?;
    // One session at a time: a new unlock replaces (and ends) the previous one.
    ctx.end_session()?;
    let session = SessionKey::generate(&mut OsRng);
    let delegation = SessionDelegation::issue(
        &unlocked.keys,
        unlocked.org.org,
        unlocked.org.epoch,
        session.public(),
        frequency,
        now(),
    )
    .map_err(|error| CliError::refused(format!("cannot delegate: {error}")))?;
    let encoded = wire::encode_bytes(&delegation.encode());
    // The session key is stored before the server hears of it, so that a started session
    // can always be ended.
    ctx.config.save_session(&SessionFile {
        seed: hex::encode(session.seed().expose_secret()),
        delegation: encoded.clone(),
    })?;
    let started: Result<SessionStarted, CliError> = ctx.client.call(
        Method::POST,
        "/v1/sessions",
        &SessionBody {
            delegation: encoded,
        },
    );
    let started = match started {
        Ok(started) => started,
        Err(error) => {
            ctx.config.clear_session()?;
            return Err(error);
        }
    };
    ctx.out.show(&started, || {
        format!(
            "Unlocked for a {}: tasks are signed without the passphrase until {}.\n`zt logout` ends it sooner.",
            frequency_word(frequency),
            time(started.expires_at)
        )
    });
    Ok(())
}

/// `zt logout`: ends the session; the passphrase is asked on each task again.
pub(crate) fn logout(ctx: &Connected) -> Result<(), CliError> {
    let ended = ctx.end_session()?;
    ctx.out
        .show(&serde_json::json!({ "ended_session": ended }), || {
            if ended {
                "Logged out: the passphrase is asked on each task again.".to_owned()
            } else {
                "No session was unlocked: the passphrase is asked on each task.".to_owned()
            }
        });
    Ok(())
}

/// `zt policy prompt --allow task,day,week` (admins).
pub(crate) fn policy(
    ctx: &Connected,
    input: &mut Input,
    allow: &[PromptFrequency],
) -> Result<(), CliError> {
    let policy = PromptPolicy::allowing(allow);
    let unlocked = ctx.unlock(input, "Your passphrase")?;
    let me = ctx.profile.agent;
    ctx.submit(Method::PUT, "/v1/policy/prompt", |builder| {
        Ok(builder.prompt_policy(me, &unlocked.keys, policy))
    })?;
    let words: Vec<&str> = policy
        .frequencies()
        .into_iter()
        .map(frequency_word)
        .collect();
    ctx.out.show(
        &serde_json::json!({ "allow": policy.frequencies() }),
        || format!("Agents may now choose: {}.", words.join(", ")),
    );
    Ok(())
}

/// The delegation stored in a session file, if it decodes.
pub(crate) fn delegation_of(session: &SessionFile) -> Option<SessionDelegation> {
    SessionDelegation::decode(&base64_decode(&session.delegation)?).ok()
}

/// An unlocked session: the delegation and the session key it names.
pub(crate) struct Session {
    pub(crate) delegation: SessionDelegation,
    pub(crate) key: SessionKey,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("delegation", &self.delegation)
            .finish_non_exhaustive()
    }
}

/// The session key in a session file, if it decodes and is the one the delegation names.
fn session_key_of(session: &SessionFile, delegation: &SessionDelegation) -> Option<SessionKey> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&session.seed, seed.as_mut_slice()).ok()?;
    let key = SessionKey::from_seed(SessionSeed::from_bytes(*seed));
    (key.public() == delegation.session_key).then_some(key)
}

/// The profile's session, if one is stored, valid now and for the organization's current
/// epoch; a stale or damaged one is deleted.
pub(crate) fn current_session(ctx: &Connected, org: &OrgInfo) -> Result<Option<Session>, CliError> {
    let Some(file) = ctx.config.session()? else {
        return Ok(None);
    };
    let valid = delegation_of(&file)
        .filter(|delegation| {
            delegation.org == org.org
                && delegation.epoch == org.epoch
                && delegation.agent == ctx.profile.agent
                && now() < delegation.expires_at
        })
        .and_then(|delegation| {
            let key = session_key_of(&file, &delegation)?;
            Some(Session { delegation, key })
        });
    if valid.is_none() {
        ctx.config.clear_session()?;
    }
    Ok(valid)
}
