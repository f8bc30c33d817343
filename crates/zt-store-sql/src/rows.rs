//! How views are written as rows and read back: enums as stable words, ids as bytes.
//! Reading is strict: a row that does not decode is reported, never guessed at.

use sqlx::any::AnyRow;
use sqlx::Row;
use zt_core::{
    Actor, AgentId, AgentKeyState, AgentStatus, HistoryEvent, KeyId, NotificationKind, OrgId,
    PendingRequest, RecoveryRegistrationView, RegistrationId, RequestId, Role, Seq, UnixTime,
    HISTORY_ACTIONS, HISTORY_REASONS,
};
use zt_store::{HistoryCursor, HistoryLine, Notification, OutboxMessage, ReplayRecord, StoreError};

pub(crate) fn state_word(state: AgentKeyState) -> &'static str {
    match state {
        AgentKeyState::NotSetUp => "not-set-up",
        AgentKeyState::Pending => "pending",
        AgentKeyState::Active => "active",
        AgentKeyState::Revoked => "revoked",
        AgentKeyState::Reset => "reset",
    }
}

fn state_of(word: &str) -> Option<AgentKeyState> {
    [
        AgentKeyState::NotSetUp,
        AgentKeyState::Pending,
        AgentKeyState::Active,
        AgentKeyState::Revoked,
        AgentKeyState::Reset,
    ]
    .into_iter()
    .find(|state| state_word(*state) == word)
}

pub(crate) fn role_word(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
        Role::SuperAdmin => "super-admin",
        Role::Removed => "removed",
    }
}

fn role_of(word: &str) -> Option<Role> {
    [Role::Member, Role::Admin, Role::SuperAdmin, Role::Removed]
        .into_iter()
        .find(|role| role_word(*role) == word)
}

pub(crate) fn notification_word(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::KeyApproved => "key-approved",
        NotificationKind::KeyRecovered => "key-recovered",
        NotificationKind::KeyRevoked => "key-revoked",
        NotificationKind::OrganizationReset => "organization-reset",
    }
}

fn notification_of(word: &str) -> Option<NotificationKind> {
    [
        NotificationKind::KeyApproved,
        NotificationKind::KeyRecovered,
        NotificationKind::KeyRevoked,
        NotificationKind::OrganizationReset,
    ]
    .into_iter()
    .find(|kind| notification_word(*kind) == word)
}

/// Sequence numbers and times are `u64` in zt and `BIGINT` in SQL; both fit below 2^63.
pub(crate) fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unsigned(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

fn bytes<const N: usize>(value: Vec<u8>, what: &'static str) -> Result<[u8; N], StoreError> {
    value.try_into().map_err(|_| StoreError::Corrupt { what })
}

fn get<'r, T>(row: &'r AnyRow, column: &str, what: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|_| StoreError::Corrupt { what })
}

fn optional_id<const N: usize>(
    row: &AnyRow,
    column: &str,
    what: &'static str,
) -> Result<Option<[u8; N]>, StoreError> {
    get::<Option<Vec<u8>>>(row, column, what)?
        .map(|value| bytes::<N>(value, what))
        .transpose()
}

/// Reads a row of `agent_status`.
pub(crate) fn status(row: &AnyRow) -> Result<AgentStatus, StoreError> {
    let what = "agent status";
    Ok(AgentStatus {
        agent: AgentId::from_bytes(bytes(get(row, "agent", what)?, what)?),
        role: role_of(&get::<String>(row, "role", what)?).ok_or(StoreError::Corrupt { what })?,
        state: state_of(&get::<String>(row, "state", what)?).ok_or(StoreError::Corrupt { what })?,
        active_key: optional_id::<32>(row, "active_key", what)?.map(KeyId::from_bytes),
        active_since: get::<Option<i64>>(row, "active_since", what)?
            .map(|time| unsigned(time, what).map(UnixTime))
            .transpose()?,
        approved_by: optional_id::<16>(row, "approved_by", what)?.map(AgentId::from_bytes),
        pending_request: optional_id::<16>(row, "pending_request", what)?
            .map(RequestId::from_bytes),
        has_recovery_file: get::<i64>(row, "has_recovery", what)? != 0,
    })
}

/// Reads a row of `pending_requests`.
pub(crate) fn pending(row: &AnyRow) -> Result<PendingRequest, StoreError> {
    let what = "pending request";
    Ok(PendingRequest {
        request: RequestId::from_bytes(bytes(get(row, "request", what)?, what)?),
        agent: AgentId::from_bytes(bytes(get(row, "agent", what)?, what)?),
        key: KeyId::from_bytes(bytes(get(row, "key_id", what)?, what)?),
        seq: Seq(unsigned(get(row, "seq", what)?, what)?),
        time: UnixTime(unsigned(get(row, "time", what)?, what)?),
        mismatches: u8::try_from(get::<i64>(row, "mismatches", what)?)
            .map_err(|_| StoreError::Corrupt { what })?,
        locked: get::<i64>(row, "locked", what)? != 0,
    })
}

/// Reads a row of `recovery_registrations`.
pub(crate) fn recovery(row: &AnyRow) -> Result<RecoveryRegistrationView, StoreError> {
    let what = "recovery registration";
    Ok(RecoveryRegistrationView {
        registration: RegistrationId::from_bytes(bytes(get(row, "registration", what)?, what)?),
        seq: Seq(unsigned(get(row, "seq", what)?, what)?),
        time: UnixTime(unsigned(get(row, "time", what)?, what)?),
    })
}

/// Reads a row of `key_history`.
pub(crate) fn history(row: &AnyRow) -> Result<HistoryLine, StoreError> {
    let what = "key history";
    let word = |column: &str, words: &'static [&'static str]| -> Result<&'static str, StoreError> {
        let text = get::<String>(row, column, what)?;
        words
            .iter()
            .find(|w| **w == text)
            .copied()
            .ok_or(StoreError::Corrupt { what })
    };
    let seq = Seq(unsigned(get(row, "seq", what)?, what)?);
    Ok(HistoryLine {
        cursor: HistoryCursor {
            seq,
            line: u32::try_from(get::<i64>(row, "line", what)?)
                .map_err(|_| StoreError::Corrupt { what })?,
        },
        event: HistoryEvent {
            seq,
            time: UnixTime(unsigned(get(row, "time", what)?, what)?),
            key: optional_id::<32>(row, "key_id", what)?.map(KeyId::from_bytes),
            owner: optional_id::<16>(row, "owner", what)?.map(AgentId::from_bytes),
            actor: optional_id::<16>(row, "actor", what)?.map_or(Actor::Host, |agent| {
                Actor::Agent(AgentId::from_bytes(agent))
            }),
            action: word("action", HISTORY_ACTIONS)?,
            reason: word("reason", HISTORY_REASONS)?,
        },
    })
}

/// Reads a row of `outbox`.
pub(crate) fn outbox(row: &AnyRow) -> Result<OutboxMessage, StoreError> {
    let what = "outbox message";
    let recipients: Vec<u8> = get(row, "recipients", what)?;
    if !recipients.len().is_multiple_of(16) {
        return Err(StoreError::Corrupt { what });
    }
    Ok(OutboxMessage {
        id: get(row, "id", what)?,
        org: OrgId::from_bytes(bytes(get(row, "org", what)?, what)?),
        seq: Seq(unsigned(get(row, "seq", what)?, what)?),
        notification: Notification {
            kind: notification_of(&get::<String>(row, "kind", what)?)
                .ok_or(StoreError::Corrupt { what })?,
            subject: AgentId::from_bytes(bytes(get(row, "subject", what)?, what)?),
            recipients: recipients
                .chunks_exact(16)
                .map(|chunk| bytes::<16>(chunk.to_vec(), what).map(AgentId::from_bytes))
                .collect::<Result<_, _>>()?,
        },
        attempts: u32::try_from(get::<i64>(row, "attempts", what)?)
            .map_err(|_| StoreError::Corrupt { what })?,
    })
}

/// Reads an organization id.
pub(crate) fn org(row: &AnyRow) -> Result<OrgId, StoreError> {
    Ok(OrgId::from_bytes(bytes(
        get(row, "org", "organization")?,
        "organization",
    )?))
}

/// Reads the replay horizon, a time.
pub(crate) fn horizon(value: i64) -> Result<UnixTime, StoreError> {
    unsigned(value, "replay horizon").map(UnixTime)
}

/// Reads a row of `replay_keys`.
pub(crate) fn replay_record(row: &AnyRow) -> Result<ReplayRecord, StoreError> {
    let what = "replay key";
    Ok(ReplayRecord {
        org: OrgId::from_bytes(bytes(get(row, "org", what)?, what)?),
        key: bytes(get(row, "key", what)?, what)?,
        expires_at: UnixTime(unsigned(get(row, "expires_at", what)?, what)?),
    })
}
