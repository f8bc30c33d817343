//! The JSON bodies of the API. Signed bytes (entries, task authorizations, delegations)
//! travel as standard base64 of their canonical encoding (spec §2), never re-encoded.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zt_core::{
    AgentId, AgentStatus, EntryHash, Epoch, HistoryEvent, KeyId, OrgId, PayloadDigest,
    PendingRequest, PromptFrequency, PublicKeyRecord, Role, Seq, SigningPublicKey, TrustRoot,
    UnixTime,
};

use crate::error::ApiError;

/// Base64 text of signed bytes.
pub fn encode_bytes(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes base64 text of signed bytes, naming `what` when it is not base64.
pub fn decode_bytes(text: &str, what: &'static str) -> Result<Vec<u8>, ApiError> {
    STANDARD
        .decode(text)
        .map_err(|_| ApiError::bad_request("invalid_body", format!("{what} is not base64")))
}

/// A signed statement from a client.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    /// The entry's canonical encoding (spec §4), base64.
    pub entry: String,
}

/// What an accepted statement did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// Where the entry was appended.
    pub seq: Seq,
    /// The entry's hash.
    pub hash: EntryHash,
    /// The head after it: where the next statement goes.
    pub head: zt_core::Head,
    /// Warnings to show the user (`first_key_creator_cannot_approve`).
    pub warnings: Vec<String>,
}

/// The organization as a client needs it to sign.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgInfo {
    /// The organization.
    pub org: OrgId,
    /// Its current epoch.
    pub epoch: Epoch,
    /// Where the next statement goes.
    pub head: zt_core::Head,
    /// The root devices and auditors pin, once the epoch has a first key.
    pub root: Option<TrustRoot>,
    /// The host key the log names.
    pub host_key: SigningPublicKey,
    /// The prompt frequencies agents may choose.
    pub prompt_policy: Vec<PromptFrequency>,
    /// Whether the epoch has an active key (if not, the next key is a first key).
    pub has_active_key: bool,
    /// The caller, as the host authenticated them.
    pub caller: CallerInfo,
}

/// The caller, as the host authenticated them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallerInfo {
    /// The agent.
    pub agent: AgentId,
    /// Their role in the host's directory.
    pub role: Role,
}

/// A page of the log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogPage {
    /// Encoded entries from `from`, in order, base64.
    pub entries: Vec<String>,
    /// The `from` of the next page, if there is more.
    pub next: Option<Seq>,
    /// The head the page was read at.
    pub head: zt_core::Head,
}

/// The caller's own key: status, and what their client needs to derive it again.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MyKey {
    /// The caller's status row.
    pub status: AgentStatus,
    /// Their active key, if any.
    pub active: Option<ActiveKey>,
    /// Their current recovery registration, if any.
    pub recovery: Option<RecoveryRecord>,
}

/// The caller's current recovery registration, with what a recovery reset opens.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecoveryRecord {
    /// The registration, as the recovery file names it.
    pub registration: zt_core::RegistrationId,
    /// The entry that registered it.
    pub seq: Seq,
    /// When.
    pub time: UnixTime,
    /// The access secret sealed to the recovery key (spec §3.7): only the file opens it.
    pub sealed_access: zt_core::SealedAccess,
}

/// An active key's public record (KDF parameters and salt included).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActiveKey {
    /// The key's id.
    pub key: KeyId,
    /// Public keys, KDF parameters and salt.
    pub record: PublicKeyRecord,
    /// The entry that registered it.
    pub registered_seq: Seq,
    /// The access secret sealed to this key (spec §3.7): only the key opens it, so a key
    /// change can seal it again to the next key.
    pub sealed_access: zt_core::SealedAccess,
    /// The entry of the key's last change of status.
    pub changed_seq: Seq,
}

/// A page of rows and where the next one starts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Listing<T, C> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<C>,
}

/// One pending request, with its signed entry (the approver's client computes the
/// verification code from it, spec §7).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestDetail {
    /// The request's row.
    pub request: PendingRequestRow,
    /// The request's entry, base64.
    pub entry: String,
}

/// A pending request's row (owned, for deserializing in clients).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingRequestRow {
    /// The request.
    pub request: zt_core::RequestId,
    /// The requester.
    pub agent: AgentId,
    /// The requested key.
    pub key: KeyId,
    /// The request's entry.
    pub seq: Seq,
    /// When it was made.
    pub time: UnixTime,
    /// Wrong codes reported so far.
    pub mismatches: u8,
    /// Whether five wrong codes locked it.
    pub locked: bool,
}

impl From<PendingRequest> for PendingRequestRow {
    fn from(view: PendingRequest) -> Self {
        PendingRequestRow {
            request: view.request,
            agent: view.agent,
            key: view.key,
            seq: view.seq,
            time: view.time,
            mismatches: view.mismatches,
            locked: view.locked,
        }
    }
}

/// A history line with its place, for paging.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryRow {
    /// The line.
    #[serde(flatten)]
    pub event: HistoryEvent,
    /// Its line within its entry.
    pub line: u32,
}

/// Where the next page of the key history starts: pass both as query parameters.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct HistoryNext {
    /// The entry of the last line returned.
    pub after_seq: Seq,
    /// The line within it.
    pub after_line: u32,
}

/// A task authorization to verify, and the task it must be for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyTask {
    /// The authorization's canonical encoding (spec §9.1), base64.
    pub authorization: String,
    /// The task's kind.
    pub kind: String,
    /// The digest of the task's payload (spec §9.1), hex.
    pub payload_digest: PayloadDigest,
}

/// An accepted task authorization.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskAccepted {
    /// The agent who authorized it.
    pub agent: AgentId,
    /// Their active key.
    pub key: KeyId,
    /// Until when the authorization is valid.
    pub expires_at: UnixTime,
    /// Each task, or the session's frequency.
    pub frequency: PromptFrequency,
}

/// A session delegation (spec §9.2).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    /// The delegation's canonical encoding, base64.
    pub delegation: String,
}

/// A started session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionStarted {
    /// The session key (its id in `DELETE /v1/sessions/{session_key}`).
    pub session_key: SigningPublicKey,
    /// When it ends at the latest.
    pub expires_at: UnixTime,
    /// Its frequency.
    pub frequency: PromptFrequency,
}

/// An agent and their account in the host's directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// The agent.
    pub agent: AgentId,
    /// Their account's e-mail.
    pub email: String,
}
