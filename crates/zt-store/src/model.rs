//! What stores write and read, besides the entries themselves.

use zt_core::{
    AgentId, AgentKeyState, Changes, Effect, HistoryEvent, LogEntry, NotificationKind, OrgId, Role,
    Seq, SigningPublicKey, UnixTime,
};

/// One entry to append, with what it changes in the views and the e-mail it causes, all to
/// be stored in one transaction (spec §6.1).
#[derive(Clone, Debug)]
pub struct Append {
    /// The verified entry, at the position it names.
    pub entry: LogEntry,
    /// Its changes to the views.
    pub changes: Changes,
    /// The e-mail to send once it is stored.
    pub notifications: Vec<Notification>,
}

impl Append {
    /// The append of a decided entry: its changes and the e-mail among its effects.
    pub fn new(entry: LogEntry, changes: Changes, effects: &[Effect]) -> Append {
        let notifications = effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Notify {
                    kind,
                    subject,
                    recipients,
                } => Some(Notification {
                    kind: *kind,
                    subject: *subject,
                    recipients: recipients.clone(),
                }),
                _ => None,
            })
            .collect();
        Append {
            entry,
            changes,
            notifications,
        }
    }

    /// The organization.
    pub fn org(&self) -> OrgId {
        self.entry.header().org
    }
}

/// An e-mail to send about an agent's key (spec §6.13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// What happened.
    pub kind: NotificationKind,
    /// Whose key.
    pub subject: AgentId,
    /// Who is told.
    pub recipients: Vec<AgentId>,
}

/// A notification waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The outbox row.
    pub id: i64,
    /// The organization.
    pub org: OrgId,
    /// The entry that caused it.
    pub seq: Seq,
    /// What to send.
    pub notification: Notification,
    /// Delivery attempts so far.
    pub attempts: u32,
}

/// A prompt-frequency session an agent started (spec §9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The agent.
    pub agent: AgentId,
    /// The session key their active key delegated to.
    pub session_key: SigningPublicKey,
    /// When the delegation expires.
    pub expires_at: UnixTime,
    /// Whether the agent ended it (logged out).
    pub ended: bool,
}

/// A replay key recorded in the store (spec §9.4), as loaded by a verifier that keeps
/// replay keys in memory (spec §9.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayRecord {
    /// The organization.
    pub org: OrgId,
    /// The replay key, `H("zt-v1/task-replay-key", org, agent, nonce)`.
    pub key: [u8; 32],
    /// When the authorization it spends expires.
    pub expires_at: UnixTime,
}

/// Which rows of the status page to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusFilter {
    /// Only agents in this state.
    pub state: Option<AgentKeyState>,
    /// Only agents with this role.
    pub role: Option<Role>,
}

/// Where a page of the key history starts: after this entry's line number `line`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HistoryCursor {
    /// The entry.
    pub seq: Seq,
    /// The line within the entry's lines, from 0.
    pub line: u32,
}

/// A line of the key history with its place, for paging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryLine {
    /// Its place.
    pub cursor: HistoryCursor,
    /// The line.
    pub event: HistoryEvent,
}

/// One page of a listing, and where the next starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T, C> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass this as `after` for the next page; `None` on the last page.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// A page of `items` fetched with `limit`: full pages point past their last row.
    pub fn of(items: Vec<T>, limit: u32, cursor: impl Fn(&T) -> C) -> Page<T, C> {
        let full = u32::try_from(items.len()).is_ok_and(|len| len >= limit) && limit > 0;
        let next = if full { items.last().map(cursor) } else { None };
        Page { items, next }
    }
}

/// The largest page a store returns.
pub const MAX_PAGE: u32 = 1000;

/// Clamps a requested page size to `1..=MAX_PAGE`.
pub fn page_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE)
}

/// Time-related helper for outbox backoff: when to try again after `attempts` failures.
pub fn retry_at(now: UnixTime, attempts: u32) -> UnixTime {
    // 30 s, 1 min, 2 min, … capped at one hour.
    let backoff = 30u64.saturating_mul(1u64 << attempts.min(7)).min(3600);
    now.plus(backoff)
}
