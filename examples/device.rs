//! A device-side verifier, as a managed endpoint runs it (DESIGN §2, spec §5.4 and §9.4).
//!
//! Deployed with its organization's root pinned, the device syncs the log from the server,
//! verifies every new entry itself, appends it to its own copy (a file in the log export
//! format, spec §5.5) and never rewrites that copy. It accepts or refuses task
//! authorizations offline, from its copy alone. A server that forks, rewrites or rolls back
//! history is detected at the next sync; after an organization reset the device refuses
//! every task until it is redeployed with the new root.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use zt_core::{
    Head, InMemoryReplayGuard, LogEntry, LogError, Seq, Statement, TaskAuthorization, TaskBinding,
    TaskError, TrustRoot, UnixTime, VerifiedLog, VerifiedTask,
};

/// Where the device reads the log from: the server's `GET /v1/log`.
pub trait LogSource {
    /// Entries from `from` (up to a page), and the server's head.
    fn fetch(&mut self, from: Seq) -> Result<(Vec<LogEntry>, Head), String>;
}

/// Why a sync failed. Every variant but `Unreachable` means the server is not to be
/// trusted: the device keeps its copy and stops syncing from it.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached or answered nonsense.
    #[error("cannot sync: {0}")]
    Unreachable(String),
    /// The server's log does not contain the pinned root's epoch.
    #[error("the server's log does not start the pinned epoch: {0}")]
    NoRoot(LogError),
    /// The server's head is behind the device's copy: history was rolled back.
    #[error("the server's log ends at {server}, before the device's copy ({device}): history was rolled back")]
    RolledBack {
        /// The server's next sequence number.
        server: Seq,
        /// The device's.
        device: Seq,
    },
    /// The server's entries do not continue the device's copy: history was forked or rewritten.
    #[error("the server's log does not continue the device's copy: {0}")]
    Forked(LogError),
    /// The server's head names another last entry than the device's copy has.
    #[error("the server's head does not match the device's copy: history was rewritten")]
    Rewritten,
    /// The device's own copy could not be written.
    #[error("cannot write the device's copy: {0}")]
    Storage(String),
}

/// A deployed device: the pinned root, the verified copy of the log, the replay cache.
#[derive(Debug)]
pub struct Device {
    root: TrustRoot,
    copy_path: PathBuf,
    log: Option<VerifiedLog>,
    replay: InMemoryReplayGuard,
}

impl Device {
    /// A device deployed with `root`, keeping its copy at `copy_path` (read and verified
    /// again if it exists, e.g. after a restart).
    pub fn deploy(root: TrustRoot, copy_path: &Path) -> Result<Device, SyncError> {
        let mut device = Device {
            root,
            copy_path: copy_path.to_owned(),
            log: None,
            replay: InMemoryReplayGuard::default(),
        };
        if copy_path.exists() {
            let entries = read_copy(copy_path).map_err(SyncError::Storage)?;
            if !entries.is_empty() {
                let log = zt_core::verify_log(&root, &entries).map_err(SyncError::NoRoot)?;
                device.log = Some(log);
            }
        }
        Ok(device)
    }

    /// The next sequence number the device expects.
    pub fn next_seq(&self) -> Seq {
        self.log.as_ref().map_or(Seq(0), |log| log.head().next_seq)
    }

    /// The verified log, once synced.
    pub fn log(&self) -> Option<&VerifiedLog> {
        self.log.as_ref()
    }

    /// Fetches what is new, verifies it from the copy's end and appends it to the copy.
    /// Returns how many entries were added.
    pub fn sync(&mut self, source: &mut impl LogSource) -> Result<usize, SyncError> {
        if self.needs_redeploy() {
            return Ok(0);
        }
        let mut added = 0;
        // Before the first sync, scan the server's log for the pinned epoch's start.
        let mut scan = Seq(0);
        loop {
            let from = if self.log.is_some() {
                self.next_seq()
            } else {
                scan
            };
            let (entries, head) = source.fetch(from).map_err(SyncError::Unreachable)?;
            if head.next_seq < from {
                return Err(SyncError::RolledBack {
                    server: head.next_seq,
                    device: from,
                });
            }
            let accepted = match &mut self.log {
                Some(log) if entries.is_empty() => {
                    let ours = log.head();
                    if ours.next_seq != head.next_seq || ours.prev != head.prev {
                        return Err(SyncError::Rewritten);
                    }
                    return Ok(added);
                }
                Some(log) => {
                    log.extend(&entries).map_err(SyncError::Forked)?;
                    entries
                }
                None => {
                    let start = entries.iter().position(|entry| {
                        entry.header().epoch == self.root.epoch
                            && matches!(entry.statement(), Statement::EpochStart(_))
                    });
                    let Some(epoch) = start.and_then(|start| entries.get(start..)) else {
                        if entries.is_empty() {
                            return Err(SyncError::NoRoot(LogError::NotEpochStart {
                                epoch: self.root.epoch,
                            }));
                        }
                        scan = Seq(from.0.saturating_add(entries.len() as u64));
                        continue;
                    };
                    let log = zt_core::verify_log(&self.root, epoch).map_err(SyncError::NoRoot)?;
                    self.log = Some(log);
                    epoch.to_vec()
                }
            };
            let mut accepted = accepted;
            let closed = self.log.as_ref().and_then(VerifiedLog::closed_at);
            if let Some(closed) = closed {
                // A reset closed the pinned epoch: what follows belongs to an epoch this
                // root does not vouch for. Keep the log up to the reset, and stop.
                accepted.retain(|entry| entry.header().seq <= closed);
            }
            self.append(&accepted)?;
            added += accepted.len();
            if closed.is_some() {
                return Ok(added);
            }
        }
    }

    /// Verifies a task authorization offline for the task at hand (`expected`): the key
    /// must be active in the device's copy; nothing once a reset closed the pinned epoch.
    pub fn verify_task(
        &mut self,
        encoded: &[u8],
        expected: &TaskBinding,
        now: UnixTime,
    ) -> Result<VerifiedTask, TaskError> {
        let authorization = TaskAuthorization::decode(encoded)?;
        let log = self.log.as_ref().ok_or(TaskError::KeyNotActive)?;
        self.replay.prune(now);
        log.verify_task(&authorization, expected, now, &mut self.replay)
    }

    /// True once a reset closed the pinned epoch: redeploy with the new root.
    pub fn needs_redeploy(&self) -> bool {
        self.log
            .as_ref()
            .is_some_and(|log| log.closed_at().is_some())
    }

    /// Appends verified entries to the copy (the copy is only ever extended).
    fn append(&self, entries: &[LogEntry]) -> Result<(), SyncError> {
        let storage = |error: std::io::Error| SyncError::Storage(error.to_string());
        let new = !self.copy_path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.copy_path)
            .map_err(storage)?;
        let mut text = String::new();
        if new {
            text = zt_core::encode_log_export(&[]);
        }
        for entry in entries {
            text.push_str(&zt_core::log_export_line(entry));
        }
        file.write_all(text.as_bytes()).map_err(storage)?;
        File::sync_all(&file).map_err(storage)
    }
}

/// Reads a copy written by [`Device`] (or `zt log export`).
pub fn read_copy(path: &Path) -> Result<Vec<LogEntry>, String> {
    let text = std::fs::read(path).map_err(|error| error.to_string())?;
    zt_core::decode_log_export(&text).map_err(|error| format!("{}: {error}", path.display()))
}
