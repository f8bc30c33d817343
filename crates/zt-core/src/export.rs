//! The log export file (spec §5.5): how a log travels between a server, auditors and
//! devices. It carries no trust of its own; verify what it holds from a pinned root.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::DecodeError;
use crate::statement::LogEntry;

/// The first line of a log export file.
pub const LOG_EXPORT_HEADER: &str = "zt-log-v1";

/// Why a log export file is refused (spec §5.5). Lines are numbered from 1.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogExportError {
    /// The first line is not `zt-log-v1`.
    #[error("not a zt log export (the first line is not {LOG_EXPORT_HEADER})")]
    NotAnExport,
    /// The file does not end with a newline.
    #[error("the last line does not end with a newline")]
    Truncated,
    /// A line is not standard base64 with padding (or holds anything else).
    #[error("line {line} is not standard base64")]
    NotBase64 {
        /// The line.
        line: usize,
    },
    /// A line's bytes are not a well-formed entry.
    #[error("line {line} (entry {index}) is malformed: {error}")]
    Malformed {
        /// The line.
        line: usize,
        /// The entry's index in the file, from 0.
        index: usize,
        /// Why.
        error: DecodeError,
    },
}

/// One entry's line: standard base64 of its canonical encoding, and a newline.
pub fn log_export_line(entry: &LogEntry) -> String {
    let mut line = STANDARD.encode(entry.encoded());
    line.push('\n');
    line
}

/// A whole export file of `entries` (spec §5.5).
pub fn encode_log_export(entries: &[LogEntry]) -> String {
    let mut text = String::from(LOG_EXPORT_HEADER);
    text.push('\n');
    for entry in entries {
        text.push_str(&log_export_line(entry));
    }
    text
}

/// Parses an export file strictly (spec §5.5): the header line, then one entry per line,
/// every line ending in `\n`; names the first line that is not an entry. The entries are
/// decoded, not verified.
pub fn decode_log_export(text: &[u8]) -> Result<Vec<LogEntry>, LogExportError> {
    let body = text
        .strip_prefix(LOG_EXPORT_HEADER.as_bytes())
        .and_then(|rest| rest.strip_prefix(b"\n"))
        .ok_or(LogExportError::NotAnExport)?;
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let body = body.strip_suffix(b"\n").ok_or(LogExportError::Truncated)?;
    body.split(|byte| *byte == b'\n')
        .enumerate()
        .map(|(index, line)| {
            let number = index.saturating_add(2);
            let bytes = STANDARD
                .decode(line)
                .map_err(|_| LogExportError::NotBase64 { line: number })?;
            LogEntry::decode(&bytes).map_err(|error| LogExportError::Malformed {
                line: number,
                index,
                error,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HostKey, OrgId, OrgState, UnixTime};
    use rand_core::SeedableRng as _;

    fn genesis() -> LogEntry {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let host = HostKey::generate(&mut rng);
        let (_, entry) = OrgState::create(OrgId::random(&mut rng), &host, UnixTime(1));
        entry.into_entry()
    }

    #[test]
    fn round_trips_and_refuses_every_deviation() {
        let entries = vec![genesis()];
        let text = encode_log_export(&entries);
        assert_eq!(decode_log_export(text.as_bytes()).unwrap(), entries);
        assert_eq!(decode_log_export(b"zt-log-v1\n").unwrap(), Vec::new());
        let line = log_export_line(&entries[0]);
        for (bad, expected) in [
            ("zt-log-v2\n".to_owned(), LogExportError::NotAnExport),
            (format!("zt-log-v1\r\n{line}"), LogExportError::NotAnExport),
            (
                format!("zt-log-v1\n{}", line.trim_end()),
                LogExportError::Truncated,
            ),
            (
                format!("zt-log-v1\n {line}"),
                LogExportError::NotBase64 { line: 2 },
            ),
            (
                format!("zt-log-v1\n{}\r\n", line.trim_end()),
                LogExportError::NotBase64 { line: 2 },
            ),
        ] {
            assert_eq!(decode_log_export(bad.as_bytes()), Err(expected), "{bad:?}");
        }
        let short = format!("zt-log-v1\n{line}AAAA\n");
        assert!(matches!(
            decode_log_export(short.as_bytes()),
            Err(LogExportError::Malformed {
                line: 3,
                index: 1,
                ..
            })
        ));
    }
}
