//! The recovery file's text format (spec §8.3).
//!
//! Nine lines of ASCII, each ending in LF, nothing before or after:
//!
//! ```text
//! -----BEGIN ZT RECOVERY FILE-----
//! Version: 1
//! Note: anyone with this file can reset your zt signature key; keep it private.
//! Organization: <uuid>
//! Agent: <uuid>
//! Registration: <uuid>
//! Secret: <64 lower-case hex digits>
//! Checksum: <16 lower-case hex digits>
//! -----END ZT RECOVERY FILE-----
//! ```
//!
//! The checksum is the first 8 bytes of SHA-256 over the checksum label and lines 1 to 7
//! with their line feeds. Parsing accepts exactly this spelling, so every change of a byte
//! and every truncation is refused with a reason.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::labeled_hash;
use crate::error::RecoveryFileError;
use crate::ids::{parse_hex, AgentId, OrgId, RegistrationId};
use crate::labels;
use crate::secret::{redacted, RecoverySecret};

const BEGIN: &str = "-----BEGIN ZT RECOVERY FILE-----";
const VERSION_PREFIX: &str = "Version: ";
const VERSION: &str = "1";
const NOTE: &str = "Note: anyone with this file can reset your zt signature key; keep it private.";
const END: &str = "-----END ZT RECOVERY FILE-----";
/// Larger inputs are refused before parsing.
const MAX_LEN: usize = 1024;

/// A recovery file's contents: where it belongs and its secret (spec §8.1).
/// Zeroized on drop; `Debug` and `Display` are redacted; [`RecoveryFile::to_text`] is the
/// one way to the secret text.
pub struct RecoveryFile {
    org: OrgId,
    agent: AgentId,
    registration: RegistrationId,
    secret: RecoverySecret,
}

// Wiped on drop: its only secret field is a `RecoverySecret`.
impl zeroize::ZeroizeOnDrop for RecoveryFile {}

impl RecoveryFile {
    pub(crate) fn new(
        org: OrgId,
        agent: AgentId,
        registration: RegistrationId,
        secret: RecoverySecret,
    ) -> RecoveryFile {
        RecoveryFile {
            org,
            agent,
            registration,
            secret,
        }
    }

    /// The organization the file belongs to.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// The agent the file belongs to.
    pub fn agent(&self) -> AgentId {
        self.agent
    }

    /// The registration the file was made for.
    pub fn registration(&self) -> RegistrationId {
        self.registration
    }

    pub(crate) fn secret(&self) -> &RecoverySecret {
        &self.secret
    }

    /// Refuses the file unless it belongs to `org` and `agent`.
    pub fn check_owner(&self, org: OrgId, agent: AgentId) -> Result<(), RecoveryFileError> {
        if self.org == org && self.agent == agent {
            Ok(())
        } else {
            Err(RecoveryFileError::WrongOwner)
        }
    }

    /// The file's text, secret included. Write it where only the agent can read it.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut body = Zeroizing::new(String::with_capacity(512));
        for line in [
            BEGIN.to_owned(),
            format!("{VERSION_PREFIX}{VERSION}"),
            NOTE.to_owned(),
            format!("Organization: {}", self.org),
            format!("Agent: {}", self.agent),
            format!("Registration: {}", self.registration),
        ] {
            body.push_str(&line);
            body.push('\n');
        }
        body.push_str("Secret: ");
        for byte in self.secret.expose_secret() {
            body.push(hex_digit(byte >> 4));
            body.push(hex_digit(byte & 0xf));
        }
        body.push('\n');
        let checksum = checksum(body.as_bytes());
        body.push_str("Checksum: ");
        for byte in checksum {
            body.push(hex_digit(byte >> 4));
            body.push(hex_digit(byte & 0xf));
        }
        body.push('\n');
        body.push_str(END);
        body.push('\n');
        body
    }

    /// Parses a recovery file, refusing every deviation from the format (spec §8.3).
    pub fn parse(text: &[u8]) -> Result<RecoveryFile, RecoveryFileError> {
        if text.len() > MAX_LEN {
            return Err(RecoveryFileError::TooLarge);
        }
        let mut lines = Lines {
            rest: text,
            number: 0,
        };
        let first = lines.next_line();
        if first
            .as_ref()
            .map_or(true, |line| *line != BEGIN.as_bytes())
        {
            // A truncated first line that is still a prefix of BEGIN is a truncation.
            return Err(match first {
                Err(error) if BEGIN.as_bytes().starts_with(text) && !text.is_empty() => error,
                _ => RecoveryFileError::NotARecoveryFile,
            });
        }
        let version = lines.field(VERSION_PREFIX, "\"Version: 1\"")?;
        if version != VERSION.as_bytes() {
            return Err(
                if !version.is_empty() && version.iter().all(u8::is_ascii_digit) {
                    RecoveryFileError::UnsupportedVersion(
                        String::from_utf8_lossy(version).into_owned(),
                    )
                } else {
                    RecoveryFileError::Malformed {
                        line: lines.number,
                        expected: "\"Version: 1\"",
                    }
                },
            );
        }
        lines.exact(NOTE, "the note line")?;
        let org = lines.uuid("Organization: ", "\"Organization: \" and a lower-case UUID")?;
        let agent = lines.uuid("Agent: ", "\"Agent: \" and a lower-case UUID")?;
        let registration =
            lines.uuid("Registration: ", "\"Registration: \" and a lower-case UUID")?;
        let secret_hex = lines.field("Secret: ", "\"Secret: \" and 64 lower-case hex digits")?;
        let secret = parse_hex::<32>(std::str::from_utf8(secret_hex).unwrap_or(""))
            .map(RecoverySecret::from_bytes)
            .ok_or(RecoveryFileError::Malformed {
                line: lines.number,
                expected: "\"Secret: \" and 64 lower-case hex digits",
            })?;
        let checked_len = text.len().saturating_sub(lines.rest.len());
        let checksum_hex =
            lines.field("Checksum: ", "\"Checksum: \" and 16 lower-case hex digits")?;
        let found = parse_hex::<8>(std::str::from_utf8(checksum_hex).unwrap_or("")).ok_or(
            RecoveryFileError::Malformed {
                line: lines.number,
                expected: "\"Checksum: \" and 16 lower-case hex digits",
            },
        )?;
        lines.exact(END, "the end line")?;
        if !lines.rest.is_empty() {
            return Err(RecoveryFileError::TrailingData);
        }
        let expected = checksum(text.get(..checked_len).unwrap_or_default());
        if !bool::from(expected.ct_eq(&found)) {
            return Err(RecoveryFileError::BadChecksum);
        }
        Ok(RecoveryFile {
            org,
            agent,
            registration,
            secret,
        })
    }
}

impl fmt::Debug for RecoveryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "RecoveryFile", 32)
    }
}

impl fmt::Display for RecoveryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "RecoveryFile", 32)
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

fn checksum(lines: &[u8]) -> [u8; 8] {
    let digest = labeled_hash(labels::RECOVERY_FILE_CHECKSUM, &[lines]);
    let mut out = [0u8; 8];
    out.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    out
}

/// Walks the file line by line, numbering from 1.
struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Result<&'a [u8], RecoveryFileError> {
        self.number = self.number.saturating_add(1);
        let end = self
            .rest
            .iter()
            .position(|&byte| byte == b'\n')
            .ok_or(RecoveryFileError::Truncated { line: self.number })?;
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest.get(1..).unwrap_or_default();
        Ok(line)
    }

    fn exact(
        &mut self,
        expected_line: &str,
        expected: &'static str,
    ) -> Result<(), RecoveryFileError> {
        let line = self.next_line()?;
        if line == expected_line.as_bytes() {
            Ok(())
        } else {
            Err(RecoveryFileError::Malformed {
                line: self.number,
                expected,
            })
        }
    }

    fn field(
        &mut self,
        prefix: &str,
        expected: &'static str,
    ) -> Result<&'a [u8], RecoveryFileError> {
        let line = self.next_line()?;
        line.strip_prefix(prefix.as_bytes())
            .ok_or(RecoveryFileError::Malformed {
                line: self.number,
                expected,
            })
    }

    fn uuid<T: std::str::FromStr>(
        &mut self,
        prefix: &str,
        expected: &'static str,
    ) -> Result<T, RecoveryFileError> {
        let value = self.field(prefix, expected)?;
        std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or(RecoveryFileError::Malformed {
                line: self.number,
                expected,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecoveryFile {
        RecoveryFile::new(
            OrgId::from_bytes([1; 16]),
            AgentId::from_bytes([2; 16]),
            RegistrationId::from_bytes([3; 16]),
            RecoverySecret::from_bytes([0xa5; 32]),
        )
    }

    #[test]
    fn round_trip() {
        let text = sample().to_text();
        let parsed = RecoveryFile::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.org(), sample().org());
        assert_eq!(parsed.agent(), sample().agent());
        assert_eq!(parsed.registration(), sample().registration());
        assert_eq!(parsed.secret(), sample().secret());
        assert_eq!(text.lines().count(), 9);
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let text = sample().to_text();
        let bytes = text.as_bytes();
        for position in 0..bytes.len() {
            for value in 0..=255u8 {
                if value == bytes[position] {
                    continue;
                }
                let mut corrupted = bytes.to_vec();
                corrupted[position] = value;
                assert!(
                    RecoveryFile::parse(&corrupted).is_err(),
                    "byte {position} set to {value:#04x} was accepted"
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_refused_and_says_so() {
        let text = sample().to_text();
        let bytes = text.as_bytes();
        for length in 0..bytes.len() {
            let error = RecoveryFile::parse(&bytes[..length]).unwrap_err();
            assert!(
                matches!(
                    error,
                    RecoveryFileError::Truncated { .. } | RecoveryFileError::NotARecoveryFile
                ),
                "truncated to {length} bytes: {error}"
            );
            if length > 0 {
                assert!(
                    matches!(error, RecoveryFileError::Truncated { .. }),
                    "truncated to {length} bytes: {error}"
                );
            }
        }
    }

    #[test]
    fn errors_are_specific() {
        let text = sample().to_text().to_string();
        let parse = |t: &str| RecoveryFile::parse(t.as_bytes()).unwrap_err();
        assert_eq!(parse("hello\n"), RecoveryFileError::NotARecoveryFile);
        assert_eq!(
            parse(&text.replace("Version: 1", "Version: 2")),
            RecoveryFileError::UnsupportedVersion("2".into())
        );
        assert_eq!(parse(&format!("{text}x")), RecoveryFileError::TrailingData);
        assert_eq!(
            parse(&text.replace("Secret: a5", "Secret: b5")),
            RecoveryFileError::BadChecksum
        );
        assert_eq!(
            parse(&text.replace("Secret: a5", "Secret: A5")),
            RecoveryFileError::Malformed {
                line: 7,
                expected: "\"Secret: \" and 64 lower-case hex digits"
            }
        );
        assert_eq!(
            parse(&text.replace('\n', "\r\n")),
            RecoveryFileError::NotARecoveryFile
        );
        assert_eq!(parse(&"x".repeat(2000)), RecoveryFileError::TooLarge);
    }

    #[test]
    fn owner_is_checked() {
        let file = sample();
        assert!(file.check_owner(file.org(), file.agent()).is_ok());
        assert_eq!(
            file.check_owner(file.org(), AgentId::from_bytes([9; 16])),
            Err(RecoveryFileError::WrongOwner)
        );
    }
}
