//! The storage trait. A store keeps bytes and views; it decides nothing (the ledger and
//! zt-core do), and it hands entries back undecoded, to be verified before use.

use std::future::Future;

use zt_core::{
    AgentId, AgentStatus, OrgId, PendingRequest, RecoveryRegistrationView, Seq, SigningPublicKey,
    UnixTime,
};

use crate::error::StoreError;
use crate::model::{
    Append, HistoryCursor, HistoryLine, OutboxMessage, Page, ReplayRecord, SessionRecord,
    StatusFilter,
};

/// Storage for organizations' logs and the views of them. Every backend implements it and
/// passes the conformance suite (`zt_store::conformance`).
///
/// Writes are atomic: an append stores the entry, its view changes and its notifications
/// together or not at all, and refuses with [`StoreError::Conflict`] if its position is
/// taken (optimistic concurrency: the position is the expected head). Reads of an
/// organization that does not exist return nothing (no entries, empty pages).
pub trait Store: Send + Sync + 'static {
    /// Creates an organization with its first entry (epoch start, sequence 0).
    fn create_org(&self, genesis: &Append) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends one entry at the sequence number it names, with its views and notifications.
    fn append(&self, append: &Append) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends entries in order, all or none (bulk import; same checks as [`Store::append`]).
    fn append_all(&self, appends: &[Append])
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` encoded entries from sequence `from`, in order. Not verified.
    fn entries(
        &self,
        org: OrgId,
        from: Seq,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send;

    /// Whether the organization's log has an entry at `from` or later: the freshness check
    /// that a cached state is current (spec §9.4), asked before most reads and every task
    /// verification, so a backend may answer it by a faster path than [`Store::entries`],
    /// which the default uses. It must read what was committed before it was called.
    fn has_entries_from(
        &self,
        org: OrgId,
        from: Seq,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let entries = self.entries(org, from, 1);
        async move { Ok(!entries.await?.is_empty()) }
    }

    /// Every organization.
    fn organizations(&self) -> impl Future<Output = Result<Vec<OrgId>, StoreError>> + Send;

    /// One agent's status row, if the log names them.
    fn agent_status(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> impl Future<Output = Result<Option<AgentStatus>, StoreError>> + Send;

    /// A page of the status page, by agent id after `after`.
    fn status_page(
        &self,
        org: OrgId,
        filter: StatusFilter,
        after: Option<AgentId>,
        limit: u32,
    ) -> impl Future<Output = Result<Page<AgentStatus, AgentId>, StoreError>> + Send;

    /// A page of pending requests, oldest first, after sequence number `after`.
    fn pending_requests(
        &self,
        org: OrgId,
        after: Option<Seq>,
        limit: u32,
    ) -> impl Future<Output = Result<Page<PendingRequest, Seq>, StoreError>> + Send;

    /// An agent's current recovery registration, if they have one (the recovery view).
    fn recovery_registration(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> impl Future<Output = Result<Option<RecoveryRegistrationView>, StoreError>> + Send;

    /// A page of the key history, oldest first, optionally about one agent.
    fn key_history(
        &self,
        org: OrgId,
        owner: Option<AgentId>,
        after: Option<HistoryCursor>,
        limit: u32,
    ) -> impl Future<Output = Result<Page<HistoryLine, HistoryCursor>, StoreError>> + Send;

    /// Records a task authorization's replay key until `expires_at`; false if it was
    /// recorded before (spec §9.4).
    fn first_use(
        &self,
        org: OrgId,
        key: [u8; 32],
        expires_at: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The replay horizon (spec §9.5): no earlier than the `issued_at` of any authorization a
    /// verifier accepted without recording its replay key here. None if never raised.
    fn replay_horizon(&self) -> impl Future<Output = Result<Option<UnixTime>, StoreError>> + Send;

    /// Raises the replay horizon to `horizon`, or leaves it if it is later; committed
    /// durably before it returns.
    fn raise_replay_horizon(
        &self,
        horizon: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The replay keys of every organization that expire at or after `now`.
    fn unexpired_replay_keys(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<Vec<ReplayRecord>, StoreError>> + Send;

    /// Records a session the agent started (spec §9.2), already checked by the ledger;
    /// false if this session key was recorded before (nothing changes then).
    fn start_session(
        &self,
        org: OrgId,
        session: &SessionRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends `agent`'s session (log out) and remembers it until `until`, whether or not it
    /// was started here. False, changing nothing, if the session key belongs to another
    /// agent.
    fn end_session(
        &self,
        org: OrgId,
        agent: AgentId,
        session_key: SigningPublicKey,
        until: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// True if the session was ended (its tasks are refused, spec §9.4).
    fn session_ended(
        &self,
        org: OrgId,
        session_key: SigningPublicKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets replay keys and sessions that expired before `now`; returns how many.
    fn prune_replay_keys(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Up to `limit` notifications due at `now`, oldest first.
    fn due_notifications(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, StoreError>> + Send;

    /// Claims a due notification for sending until `until`: true for exactly one of several
    /// servers asking at once; false if it is not due at `now` (claimed, sent or gone).
    fn claim_notification(
        &self,
        id: i64,
        now: UnixTime,
        until: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks a notification sent.
    fn notification_sent(&self, id: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a failed delivery; the notification is due again at `retry_at`.
    fn notification_failed(
        &self,
        id: i64,
        retry_at: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
