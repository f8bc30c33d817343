//! `zt log export | verify`: the auditor's offline check from a pinned root (spec §5).
//!
//! An export file (spec §5.5, zt-core's `encode_log_export`) holds every entry of the
//! organization's log from sequence 0.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use zt_core::{AgentId, KeyId, LogEntry, LogError, Seq, Statement, TrustRoot};

use crate::client::Client;
use crate::config::write_new_private;
use crate::error::{file_error, CliError};
use crate::output::{table, Output};

/// `zt log export --out FILE`: the whole log, as the server serves it.
pub(crate) fn export(client: &Client, out_path: &Path, out: Output) -> Result<(), CliError> {
    if out_path.exists() {
        return Err(CliError::usage(format!(
            "{} exists: zt does not overwrite files",
            out_path.display()
        ))
        .hint("choose another path, or move the old file away first"));
    }
    let (entries, head) = client.log_from(Seq(0))?;
    write_new_private(out_path, zt_core::encode_log_export(&entries).as_bytes())?;
    out.show(
        &serde_json::json!({ "file": out_path.display().to_string(), "entries": entries.len(), "head": head }),
        || format!("Exported {} entries to {}.", entries.len(), out_path.display()),
    );
    Ok(())
}

/// Reads an export file; a line that is not an entry is named.
pub(crate) fn read_export(path: &Path) -> Result<Vec<LogEntry>, CliError> {
    let text = std::fs::read(path).map_err(|error| file_error("read", path, error))?;
    zt_core::decode_log_export(&text)
        .map_err(|error| CliError::refused(format!("{}: {error}", path.display())))
}

/// What a verification found.
#[derive(Serialize)]
struct Verified {
    root: TrustRoot,
    entries: usize,
    next_seq: Seq,
    head_hash: zt_core::EntryHash,
    closed_at: Option<Seq>,
    active_keys: BTreeMap<AgentId, KeyId>,
}

/// `zt log verify --root ROOT (--file FILE | --server)`: replays the root's epoch and prints
/// the active key set, or names the first bad entry.
pub(crate) fn verify(root: &TrustRoot, entries: &[LogEntry], out: Output) -> Result<(), CliError> {
    let start = entries
        .iter()
        .position(|entry| {
            entry.header().epoch == root.epoch
                && matches!(entry.statement(), Statement::EpochStart(_))
        })
        .ok_or_else(|| {
            CliError::refused(format!("the log holds no start of epoch {}", root.epoch))
        })?;
    let epoch = entries.get(start..).unwrap_or_default();
    // An auditor agrees bit for bit with the rules: one signature at a time (spec §5.3).
    let log = zt_core::verify_log_with(root, epoch, zt_core::VerifyMode::Strict)
        .map_err(|error| bad_log(&error, start))?;
    let head = log.head();
    let verified = Verified {
        root: *root,
        entries: log.len(),
        next_seq: head.next_seq,
        head_hash: head.prev,
        closed_at: log.closed_at(),
        active_keys: log.active_keys(),
    };
    out.show(&verified, || {
        let mut text = format!(
            "Verified {} entries of epoch {} from the pinned root.\nHead: next entry {}, last hash {}\n",
            verified.entries, root.epoch, head.next_seq, head.prev
        );
        if let Some(closed) = verified.closed_at {
            text.push_str(&format!(
                "The epoch was closed by an organization reset at entry {closed}: no key of it is active.\n"
            ));
        }
        let rows: Vec<Vec<String>> = verified
            .active_keys
            .iter()
            .map(|(agent, key)| vec![agent.to_string(), key.to_string()])
            .collect();
        text.push_str(&format!("Active keys: {}\n", rows.len()));
        if !rows.is_empty() {
            text.push_str(&table(&["AGENT", "KEY"], &rows));
        }
        text
    });
    Ok(())
}

/// The first bad entry, named by its sequence number in the whole log.
fn bad_log(error: &LogError, start: usize) -> CliError {
    let message = match error {
        LogError::BadEntry { index, seq, fault } => {
            let seq = seq.map_or_else(|| (start + index).to_string(), |seq| seq.to_string());
            format!("the log is not valid from the pinned root: entry {seq} is bad: {fault}")
        }
        LogError::RootMismatch { index } => format!(
            "the log is not valid from the pinned root: entry {} is the epoch's first key, but not the pinned one",
            start + index
        ),
        other => format!("the log is not valid from the pinned root: {other}"),
    };
    CliError::refused(message).hint("the log was altered, or the root is not this organization's")
}
