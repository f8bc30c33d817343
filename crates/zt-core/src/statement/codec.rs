//! The byte layout of log entries (spec §4.1 – §4.14).

use super::{
    EntryHeader, EpochReason, EpochStart, FirstKey, Judgement, KeyChange, KeyRequest, LogEntry,
    PolicyChange, RecoveryRegistration, RecoveryReset, Revocation, SetRole, Statement,
    StatementKind, ENTRY_VERSION, MAX_ENTRY_LEN, MAX_EPOCH_ROLES,
};
use crate::codec::{Reader, Writer};
use crate::crypto::{labeled_hash, Signature};
use crate::error::DecodeError;
use crate::ids::{
    AgentId, EntryHash, Epoch, KeyId, OrgId, RegistrationId, RequestId, Seq, UnixTime,
};
use crate::keys::{decode_exchange_key, decode_signing_key, PublicKeyRecord};
use crate::labels;
use crate::policy::{PromptPolicy, Role};
use crate::seal::SealedAccess;

/// `label || signed bytes`: what a signature covers (spec §4.3).
pub(super) fn signature_message(label: &str, signed: &[u8]) -> Vec<u8> {
    let mut writer = Writer::with_capacity(signed.len().saturating_add(64));
    writer.label(label).bytes(signed);
    writer.into_bytes()
}

impl LogEntry {
    /// Builds the canonical bytes of a signed entry and its hash.
    pub(crate) fn assemble(
        header: EntryHeader,
        statement: Statement,
        authorization: Signature,
        possession: Option<Signature>,
    ) -> LogEntry {
        let mut writer = unsigned_encoding(&header, &statement);
        let signed_len = writer.len();
        writer.bytes(&authorization.to_bytes());
        if let Some(possession) = &possession {
            writer.bytes(&possession.to_bytes());
        }
        let encoded = writer.into_bytes();
        let hash = entry_hash(&encoded);
        LogEntry {
            header,
            statement,
            authorization,
            possession,
            encoded,
            signed_len,
            hash,
        }
    }

    /// Decodes one entry, refusing anything that is not the canonical encoding of a
    /// well-formed entry: unknown versions or kinds, invalid keys or parameters, unsorted
    /// role lists, truncation and trailing bytes (spec §4.1).
    pub fn decode(bytes: &[u8]) -> Result<LogEntry, DecodeError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                max: MAX_ENTRY_LEN,
            });
        }
        let mut reader = Reader::new(bytes);
        let version = reader.u8("version")?;
        if version != ENTRY_VERSION {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let tag = reader.u8("kind")?;
        let kind = StatementKind::from_tag(tag).ok_or(DecodeError::UnknownKind { kind: tag })?;
        let header = EntryHeader {
            org: OrgId::from_bytes(reader.array("org")?),
            epoch: Epoch(reader.u32("epoch")?),
            seq: Seq(reader.u64("seq")?),
            prev: EntryHash::from_bytes(reader.array("prev")?),
            time: UnixTime(reader.u64("time")?),
        };
        let statement = decode_body(kind, &mut reader)?;
        let signed_len = reader.position();
        let authorization = Signature::from_bytes(reader.array("authorization signature")?);
        let possession = if kind.needs_possession() {
            Some(Signature::from_bytes(reader.array("possession signature")?))
        } else {
            None
        };
        reader.finish()?;
        Ok(LogEntry {
            header,
            statement,
            authorization,
            possession,
            encoded: bytes.to_vec(),
            signed_len,
            hash: entry_hash(bytes),
        })
    }
}

/// SHA-256 over the label and the whole encoded entry, signatures included (spec §4.4).
fn entry_hash(encoded: &[u8]) -> EntryHash {
    EntryHash::from_bytes(labeled_hash(labels::ENTRY_HASH, &[encoded]))
}

/// Version, kind, header and body: the bytes that signatures cover.
pub(super) fn unsigned_encoding(header: &EntryHeader, statement: &Statement) -> Writer {
    let mut writer = Writer::with_capacity(512);
    writer
        .u8(ENTRY_VERSION)
        .u8(statement.kind().tag())
        .bytes(header.org.as_bytes())
        .u32(header.epoch.0)
        .u64(header.seq.0)
        .bytes(header.prev.as_bytes())
        .u64(header.time.0);
    encode_body(statement, &mut writer);
    writer
}

fn encode_body(statement: &Statement, writer: &mut Writer) {
    match statement {
        Statement::EpochStart(start) => {
            writer
                .bytes(start.host_key.as_bytes())
                .u8(match start.reason {
                    EpochReason::Created => 1,
                    EpochReason::Reset => 2,
                });
            // Bounded by MAX_EPOCH_ROLES when built or decoded.
            writer.u32(u32::try_from(start.roles.len()).unwrap_or(u32::MAX));
            for (agent, role) in &start.roles {
                writer.bytes(agent.as_bytes()).u8(role.code());
            }
        }
        Statement::SetRole(set) => {
            writer
                .bytes(set.agent.as_bytes())
                .u8(set.role.code())
                .u8(u8::from(set.forced));
        }
        Statement::FirstKey(first) => {
            writer.bytes(first.agent.as_bytes());
            first.key.encode(writer);
            first.sealed_access.encode(writer);
        }
        Statement::KeyRequest(request) => {
            writer
                .bytes(request.agent.as_bytes())
                .bytes(request.request.as_bytes());
            request.key.encode(writer);
            request.sealed_access.encode(writer);
        }
        Statement::Approval(judgement)
        | Statement::Rejection(judgement)
        | Statement::CodeMismatch(judgement) => {
            writer
                .bytes(judgement.request.as_bytes())
                .bytes(judgement.request_hash.as_bytes())
                .bytes(judgement.subject.as_bytes())
                .bytes(judgement.subject_key.as_bytes())
                .bytes(judgement.approver.as_bytes())
                .bytes(judgement.approver_key.as_bytes());
        }
        Statement::KeyChange(change) => {
            writer
                .bytes(change.agent.as_bytes())
                .bytes(change.old_key.as_bytes());
            change.new_key.encode(writer);
            change.sealed_access.encode(writer);
        }
        Statement::Revocation(revocation) => {
            writer
                .bytes(revocation.subject.as_bytes())
                .bytes(revocation.key.as_bytes())
                .bytes(revocation.revoker.as_bytes())
                .bytes(revocation.revoker_key.as_bytes())
                .u8(u8::from(revocation.forced));
        }
        Statement::RecoveryRegistration(registration) => {
            writer
                .bytes(registration.agent.as_bytes())
                .bytes(registration.key.as_bytes())
                .bytes(registration.registration.as_bytes())
                .bytes(registration.recovery_signing.as_bytes())
                .bytes(registration.recovery_exchange.as_bytes());
            registration.sealed_access.encode(writer);
        }
        Statement::RecoveryReset(reset) => {
            writer
                .bytes(reset.agent.as_bytes())
                .bytes(reset.registration.as_bytes())
                .bytes(reset.old_key.as_bytes());
            reset.new_key.encode(writer);
            reset.sealed_access.encode(writer);
        }
        Statement::PromptPolicy(change) => {
            writer
                .u8(change.policy.bits())
                .bytes(change.admin.as_bytes())
                .bytes(change.admin_key.as_bytes());
        }
    }
}

fn agent(reader: &mut Reader<'_>, field: &'static str) -> Result<AgentId, DecodeError> {
    Ok(AgentId::from_bytes(reader.array(field)?))
}

fn key_id(reader: &mut Reader<'_>, field: &'static str) -> Result<KeyId, DecodeError> {
    Ok(KeyId::from_bytes(reader.array(field)?))
}

fn role(reader: &mut Reader<'_>) -> Result<Role, DecodeError> {
    Role::from_code(reader.u8("role")?).ok_or(DecodeError::InvalidValue { field: "role" })
}

fn decode_body(kind: StatementKind, reader: &mut Reader<'_>) -> Result<Statement, DecodeError> {
    Ok(match kind {
        StatementKind::EpochStart => Statement::EpochStart(decode_epoch_start(reader)?),
        StatementKind::SetRole => Statement::SetRole(SetRole {
            agent: agent(reader, "agent")?,
            role: role(reader)?,
            forced: reader.flag("forced")?,
        }),
        StatementKind::FirstKey => Statement::FirstKey(FirstKey {
            agent: agent(reader, "agent")?,
            key: PublicKeyRecord::decode(reader)?,
            sealed_access: SealedAccess::decode(reader)?,
        }),
        StatementKind::KeyRequest => Statement::KeyRequest(KeyRequest {
            agent: agent(reader, "agent")?,
            request: RequestId::from_bytes(reader.array("request")?),
            key: PublicKeyRecord::decode(reader)?,
            sealed_access: SealedAccess::decode(reader)?,
        }),
        StatementKind::Approval => Statement::Approval(decode_judgement(reader)?),
        StatementKind::Rejection => Statement::Rejection(decode_judgement(reader)?),
        StatementKind::CodeMismatch => Statement::CodeMismatch(decode_judgement(reader)?),
        StatementKind::KeyChange => Statement::KeyChange(KeyChange {
            agent: agent(reader, "agent")?,
            old_key: key_id(reader, "old key")?,
            new_key: PublicKeyRecord::decode(reader)?,
            sealed_access: SealedAccess::decode(reader)?,
        }),
        StatementKind::Revocation => Statement::Revocation(Revocation {
            subject: agent(reader, "subject")?,
            key: key_id(reader, "key")?,
            revoker: agent(reader, "revoker")?,
            revoker_key: key_id(reader, "revoker key")?,
            forced: reader.flag("forced")?,
        }),
        StatementKind::RecoveryRegistration => {
            Statement::RecoveryRegistration(RecoveryRegistration {
                agent: agent(reader, "agent")?,
                key: key_id(reader, "key")?,
                registration: RegistrationId::from_bytes(reader.array("registration")?),
                recovery_signing: decode_signing_key(reader, "recovery signing key")?,
                recovery_exchange: decode_exchange_key(reader, "recovery exchange key")?,
                sealed_access: SealedAccess::decode(reader)?,
            })
        }
        StatementKind::RecoveryReset => Statement::RecoveryReset(RecoveryReset {
            agent: agent(reader, "agent")?,
            registration: RegistrationId::from_bytes(reader.array("registration")?),
            old_key: key_id(reader, "old key")?,
            new_key: PublicKeyRecord::decode(reader)?,
            sealed_access: SealedAccess::decode(reader)?,
        }),
        StatementKind::PromptPolicy => Statement::PromptPolicy(PolicyChange {
            policy: PromptPolicy::from_bits(reader.u8("policy")?)
                .ok_or(DecodeError::InvalidValue { field: "policy" })?,
            admin: agent(reader, "admin")?,
            admin_key: key_id(reader, "admin key")?,
        }),
    })
}

fn decode_judgement(reader: &mut Reader<'_>) -> Result<Judgement, DecodeError> {
    Ok(Judgement {
        request: RequestId::from_bytes(reader.array("request")?),
        request_hash: EntryHash::from_bytes(reader.array("request hash")?),
        subject: agent(reader, "subject")?,
        subject_key: key_id(reader, "subject key")?,
        approver: agent(reader, "approver")?,
        approver_key: key_id(reader, "approver key")?,
    })
}

fn decode_epoch_start(reader: &mut Reader<'_>) -> Result<EpochStart, DecodeError> {
    let host_key = decode_signing_key(reader, "host key")?;
    let reason = match reader.u8("reason")? {
        1 => EpochReason::Created,
        2 => EpochReason::Reset,
        _ => return Err(DecodeError::InvalidValue { field: "reason" }),
    };
    let count = usize::try_from(reader.u32("role count")?).unwrap_or(usize::MAX);
    if count > MAX_EPOCH_ROLES {
        return Err(DecodeError::InvalidValue {
            field: "role count",
        });
    }
    let mut roles: Vec<(AgentId, Role)> = Vec::with_capacity(count);
    for _ in 0..count {
        let agent = agent(reader, "role agent")?;
        let role = role(reader)?;
        // Only non-member roles, in strictly increasing agent order: one encoding per set.
        if role == Role::Member || roles.last().is_some_and(|(previous, _)| *previous >= agent) {
            return Err(DecodeError::InvalidValue { field: "roles" });
        }
        roles.push((agent, role));
    }
    Ok(EpochStart {
        host_key,
        reason,
        roles,
    })
}
