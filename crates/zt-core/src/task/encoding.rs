//! Byte layout of task authorizations and session delegations (spec §9.1, §9.2).

use super::{PayloadDigest, SessionDelegation, TaskAuthorization, TaskBinding, TaskKind};
use crate::codec::{Reader, Writer};
use crate::crypto::Signature;
use crate::error::{DecodeError, TaskError};
use crate::ids::{AgentId, Epoch, KeyId, OrgId, UnixTime};
use crate::keys::decode_signing_key;
use crate::labels;
use crate::policy::PromptFrequency;

/// The version byte that begins a task authorization.
pub const TASK_VERSION: u8 = 1;
/// The largest encoded authorization.
pub const MAX_TASK_LEN: usize = 1024;

impl SessionDelegation {
    fn encode_unsigned(&self, writer: &mut Writer) {
        writer
            .bytes(self.org.as_bytes())
            .u32(self.epoch.0)
            .bytes(self.agent.as_bytes())
            .bytes(self.key.as_bytes())
            .bytes(self.session_key.as_bytes())
            .u8(self.frequency.code())
            .u64(self.issued_at.0)
            .u64(self.expires_at.0);
    }

    /// What the agent's key signs: the label and the delegation without its signature.
    pub(crate) fn signed_message(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(160);
        writer.label(labels::SESSION_DELEGATION);
        self.encode_unsigned(&mut writer);
        writer.into_bytes()
    }

    fn encode_into(&self, writer: &mut Writer) {
        self.encode_unsigned(writer);
        writer.bytes(&self.signature.to_bytes());
    }

    /// The canonical bytes of a delegation sent on its own (spec §9.2): exactly
    /// [`SessionDelegation::ENCODED_LEN`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(Self::ENCODED_LEN);
        self.encode_into(&mut writer);
        writer.into_bytes()
    }

    /// Decodes a delegation sent on its own, refusing anything but its canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<SessionDelegation, TaskError> {
        let mut reader = Reader::new(bytes);
        let delegation = Self::decode_from(&mut reader).map_err(TaskError::Malformed)?;
        reader.finish().map_err(TaskError::Malformed)?;
        Ok(delegation)
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<SessionDelegation, DecodeError> {
        Ok(SessionDelegation {
            org: OrgId::from_bytes(reader.array("delegation org")?),
            epoch: Epoch(reader.u32("delegation epoch")?),
            agent: AgentId::from_bytes(reader.array("delegation agent")?),
            key: KeyId::from_bytes(reader.array("delegation key")?),
            session_key: decode_signing_key(reader, "session key")?,
            frequency: PromptFrequency::from_code(reader.u8("frequency")?)
                .ok_or(DecodeError::InvalidValue { field: "frequency" })?,
            issued_at: UnixTime(reader.u64("delegation issued at")?),
            expires_at: UnixTime(reader.u64("delegation expires at")?),
            signature: Signature::from_bytes(reader.array("delegation signature")?),
        })
    }
}

impl TaskAuthorization {
    fn encode_unsigned(&self, writer: &mut Writer) {
        let kind = self.binding.kind.as_str().as_bytes();
        writer
            .u8(TASK_VERSION)
            .bytes(self.org.as_bytes())
            .u32(self.epoch.0)
            .bytes(self.agent.as_bytes())
            .bytes(self.key.as_bytes())
            // TaskKind guarantees 1 to 64 bytes.
            .u8(u8::try_from(kind.len()).unwrap_or(u8::MAX))
            .bytes(kind)
            .bytes(self.binding.payload.as_bytes())
            .u64(self.issued_at.0)
            .u64(self.expires_at.0)
            .bytes(&self.nonce);
        match &self.delegation {
            None => {
                writer.u8(0);
            }
            Some(delegation) => {
                writer.u8(1);
                delegation.encode_into(writer);
            }
        }
    }

    /// What the signing key signs: the label and the authorization without its signature.
    pub(crate) fn signed_message(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(512);
        writer.label(labels::TASK_AUTHORIZATION);
        self.encode_unsigned(&mut writer);
        writer.into_bytes()
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(512);
        self.encode_unsigned(&mut writer);
        writer.bytes(&self.signature.to_bytes());
        writer.into_bytes()
    }

    /// Decodes an authorization, refusing anything but a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<TaskAuthorization, TaskError> {
        Self::decode_inner(bytes).map_err(TaskError::Malformed)
    }

    fn decode_inner(bytes: &[u8]) -> Result<TaskAuthorization, DecodeError> {
        if bytes.len() > MAX_TASK_LEN {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                max: MAX_TASK_LEN,
            });
        }
        let mut reader = Reader::new(bytes);
        let version = reader.u8("version")?;
        if version != TASK_VERSION {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let org = OrgId::from_bytes(reader.array("org")?);
        let epoch = Epoch(reader.u32("epoch")?);
        let agent = AgentId::from_bytes(reader.array("agent")?);
        let key = KeyId::from_bytes(reader.array("key")?);
        let kind_len = usize::from(reader.u8("kind length")?);
        let kind = std::str::from_utf8(reader.take(kind_len, "kind")?)
            .ok()
            .and_then(|kind| TaskKind::new(kind).ok())
            .ok_or(DecodeError::InvalidValue { field: "kind" })?;
        let payload = PayloadDigest::from_bytes(reader.array("payload digest")?);
        let issued_at = UnixTime(reader.u64("issued at")?);
        let expires_at = UnixTime(reader.u64("expires at")?);
        let nonce = reader.array("nonce")?;
        let delegation = match reader.u8("delegated")? {
            0 => None,
            1 => Some(SessionDelegation::decode_from(&mut reader)?),
            _ => return Err(DecodeError::InvalidValue { field: "delegated" }),
        };
        let signature = Signature::from_bytes(reader.array("signature")?);
        reader.finish()?;
        Ok(TaskAuthorization {
            org,
            epoch,
            agent,
            key,
            binding: TaskBinding { kind, payload },
            issued_at,
            expires_at,
            nonce,
            delegation,
            signature,
        })
    }
}
