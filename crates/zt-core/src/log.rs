//! Offline verification of an organization's log from a pinned root (spec §5).
//!
//! A device or auditor pins a [`TrustRoot`]: the organization, the epoch and the hash of
//! that epoch's first-key entry. [`verify_log`] replays the epoch from its start, trusting
//! nothing else, and returns the same key state the server holds, or the first bad entry.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::crypto::{VerifyMode, BATCH_SIZE};
use crate::error::{EntryFault, LogError, ParseIdError, SignatureRole};
use crate::ids::{AgentId, EntryHash, Epoch, KeyId, OrgId, Seq};
use crate::state::check::{epoch_start_signatures, verify_obligations, verify_strict, Obligation};
use crate::state::OrgState;
use crate::statement::{EpochReason, Head, LogEntry, Statement, StatementKind};

/// What a device or auditor pins: an organization, an epoch, and the hash of the epoch's
/// first-key entry (spec §5.1). Text form: `zt-root-v1:<org>:<epoch>:<hash>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrustRoot {
    /// The organization.
    pub org: OrgId,
    /// The epoch.
    pub epoch: Epoch,
    /// The hash of the epoch's first-key entry.
    pub first_key: EntryHash,
}

const ROOT_PREFIX: &str = "zt-root-v1";

impl fmt::Display for TrustRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ROOT_PREFIX}:{}:{}:{}",
            self.org, self.epoch, self.first_key
        )
    }
}

impl FromStr for TrustRoot {
    type Err = ParseIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = ParseIdError { what: "trust root" };
        let mut parts = text.split(':');
        let (Some(ROOT_PREFIX), Some(org), Some(epoch), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(error);
        };
        // The epoch is written in decimal without sign or leading zeros.
        if epoch.is_empty()
            || (epoch.len() > 1 && epoch.starts_with('0'))
            || !epoch.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(error);
        }
        Ok(TrustRoot {
            org: org.parse().map_err(|_| error)?,
            epoch: Epoch(epoch.parse().map_err(|_| error)?),
            first_key: hash.parse().map_err(|_| error)?,
        })
    }
}

impl Serialize for TrustRoot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TrustRoot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl OrgState {
    /// The root to pin for the current epoch, once it has a first key.
    pub fn trust_root(&self) -> Option<TrustRoot> {
        Some(TrustRoot {
            org: self.org,
            epoch: self.epoch,
            first_key: self.root?,
        })
    }
}

/// A signature still to check, and the entry it belongs to.
type Pending = (usize, Seq, Obligation);

/// A log verified from a pinned root: the state it leads to. Extend it as new entries
/// arrive; it only ever grows (spec §5.4).
#[derive(Clone, Debug)]
pub struct VerifiedLog {
    root: TrustRoot,
    replay: Replayer,
}

/// The replay loop shared by a pinned verifier and a server loading its own log.
#[derive(Clone, Debug)]
struct Replayer {
    state: OrgState,
    /// The first-key hash the log must reach, for a pinned verifier.
    pinned_first_key: Option<EntryHash>,
    /// A server follows resets into the next epoch; a pinned verifier stops at them.
    follow_resets: bool,
    closed_at: Option<Seq>,
    seen: HashSet<EntryHash>,
    entries: usize,
}

/// Verifies a log from a pinned root, checking signatures in batches (spec §5.3).
pub fn verify_log(root: &TrustRoot, entries: &[LogEntry]) -> Result<VerifiedLog, LogError> {
    verify_log_with(root, entries, VerifyMode::Batch)
}

/// Verifies a log from a pinned root, checking signatures as `mode` says (spec §5).
///
/// `entries` must begin with the start of the root's epoch. Entries after a reset that
/// closes the epoch are not examined: they belong to an epoch this root does not vouch for.
pub fn verify_log_with(
    root: &TrustRoot,
    entries: &[LogEntry],
    mode: VerifyMode,
) -> Result<VerifiedLog, LogError> {
    let first = entries
        .first()
        .ok_or(LogError::NotEpochStart { epoch: root.epoch })?;
    let (mut log, obligations) = VerifiedLog::begin(root, first)?;
    log.replay
        .replay(entries.get(1..).unwrap_or_default(), 1, mode, obligations)?;
    if log.replay.state.root.is_none() {
        return Err(LogError::RootNotReached);
    }
    Ok(log)
}

/// Decodes and verifies a log given as encoded entries, naming the first entry that is
/// malformed or bad (spec §5).
pub fn verify_encoded_log<B: AsRef<[u8]>>(
    root: &TrustRoot,
    encoded: &[B],
    mode: VerifyMode,
) -> Result<VerifiedLog, LogError> {
    let entries = encoded
        .iter()
        .enumerate()
        .map(|(index, bytes)| {
            LogEntry::decode(bytes.as_ref()).map_err(|error| LogError::BadEntry {
                index,
                seq: None,
                fault: EntryFault::Malformed(error),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    verify_log_with(root, &entries, mode)
}

impl VerifiedLog {
    /// The pinned root.
    pub fn root(&self) -> &TrustRoot {
        &self.root
    }

    /// The state the log leads to.
    pub fn state(&self) -> &OrgState {
        &self.replay.state
    }

    /// The agents' active keys; none once the epoch is closed by a reset.
    pub fn active_keys(&self) -> BTreeMap<AgentId, KeyId> {
        if self.replay.closed_at.is_some() {
            BTreeMap::new()
        } else {
            self.replay.state.active_keys()
        }
    }

    /// The sequence number of the reset that closed the pinned epoch, if one did.
    pub fn closed_at(&self) -> Option<Seq> {
        self.replay.closed_at
    }

    /// The next position this log expects.
    pub fn head(&self) -> Head {
        self.replay.state.head()
    }

    /// How many entries have been verified.
    pub fn len(&self) -> usize {
        self.replay.entries
    }

    /// Always false: a verified log holds at least its epoch's start and first key.
    pub fn is_empty(&self) -> bool {
        self.replay.entries == 0
    }

    /// Verifies and appends entries that continue the log, strictly, one by one. On error
    /// the entries before the bad one are kept, and the error names the bad one by its
    /// index in `entries`.
    pub fn extend(&mut self, entries: &[LogEntry]) -> Result<(), LogError> {
        self.replay
            .replay(entries, 0, VerifyMode::Strict, Vec::new())
    }

    /// The state after the epoch's start, and the start's own signatures to check.
    fn begin(root: &TrustRoot, first: &LogEntry) -> Result<(VerifiedLog, Vec<Pending>), LogError> {
        let header = first.header();
        let not_start = LogError::NotEpochStart { epoch: root.epoch };
        let Statement::EpochStart(start) = first.statement() else {
            return Err(not_start);
        };
        if header.org != root.org || header.epoch != root.epoch {
            return Err(not_start);
        }
        let obligations = if root.epoch == Epoch(0) {
            // §5.2: the organization's first entry, self-signed by the host key it names.
            if header.seq != Seq(0)
                || header.prev != EntryHash::ZERO
                || start.reason != EpochReason::Created
            {
                return Err(not_start);
            }
            epoch_start_signatures(first, &start.host_key, &start.host_key)
        } else {
            // §5.2: a later epoch's start is vouched for by the root's hash chain; the key
            // that authorized the reset belongs to the previous epoch, so only the new host
            // key's proof of possession can be checked.
            if start.reason != EpochReason::Reset {
                return Err(not_start);
            }
            epoch_start_signatures(first, &start.host_key, &start.host_key)
                .into_iter()
                .filter(|obligation| obligation.role == SignatureRole::Possession)
                .collect()
        };
        let state = OrgState::empty_epoch(header, first.hash(), start, BTreeMap::new());
        let log = VerifiedLog {
            root: *root,
            replay: Replayer {
                state,
                pinned_first_key: Some(root.first_key),
                follow_resets: false,
                closed_at: None,
                seen: HashSet::from([first.hash()]),
                entries: 1,
            },
        };
        Ok((
            log,
            obligations
                .into_iter()
                .map(|o| (0, header.seq, o))
                .collect(),
        ))
    }
}

impl Replayer {
    /// Checks and applies `entries`; `base` is the index of `entries[0]` in the caller's
    /// input. In batch mode, signatures (including `pending`) are checked at the end.
    fn replay(
        &mut self,
        entries: &[LogEntry],
        base: usize,
        mode: VerifyMode,
        mut pending: Vec<Pending>,
    ) -> Result<(), LogError> {
        for (offset, entry) in entries.iter().enumerate() {
            if self.closed_at.is_some() {
                break;
            }
            let index = base.saturating_add(offset);
            let bad = |fault: EntryFault| LogError::BadEntry {
                index,
                seq: Some(entry.header().seq),
                fault,
            };
            let checked = if self.seen.contains(&entry.hash()) {
                Err(bad(EntryFault::Replayed))
            } else {
                self.state.check(entry).map_err(bad)
            }
            .and_then(|obligations| {
                let is_root = entry.kind() == StatementKind::FirstKey;
                let pinned = self.pinned_first_key;
                if is_root && pinned.is_some_and(|first_key| entry.hash() != first_key) {
                    return Err(LogError::RootMismatch { index });
                }
                Ok(obligations)
            });
            let obligations = match checked {
                Ok(obligations) => obligations,
                Err(error) => {
                    // An earlier entry with a bad signature is the first bad entry.
                    Self::settle(std::mem::take(&mut pending), mode)?;
                    return Err(error);
                }
            };
            if mode == VerifyMode::Strict {
                verify_strict(&obligations).map_err(bad)?;
            } else {
                pending.extend(
                    obligations
                        .into_iter()
                        .map(|o| (index, entry.header().seq, o)),
                );
                // Settle each full batch as it fills: memory stays bounded, and batches are
                // still settled in log order, so the first bad entry is still the one named.
                if pending.len() >= BATCH_SIZE {
                    Self::settle(std::mem::take(&mut pending), mode)?;
                }
            }
            self.seen.insert(entry.hash());
            self.entries = self.entries.saturating_add(1);
            if entry.kind() == StatementKind::EpochStart && !self.follow_resets {
                // §5.4: a reset closes the pinned epoch; what follows needs a new root.
                self.closed_at = Some(entry.header().seq);
            } else {
                self.state.apply_checked(entry);
            }
        }
        Self::settle(pending, mode)
    }

    /// Verifies pending signatures; names the entry of the first that fails.
    fn settle(pending: Vec<Pending>, mode: VerifyMode) -> Result<(), LogError> {
        let places: Vec<(usize, Seq, SignatureRole)> = pending
            .iter()
            .map(|(index, seq, o)| (*index, *seq, o.role))
            .collect();
        let obligations = pending.into_iter().map(|(_, _, o)| o).collect();
        verify_obligations(obligations, mode).map_err(|failed| {
            let (index, seq, role) =
                places
                    .get(failed)
                    .copied()
                    .unwrap_or((0, Seq(0), SignatureRole::Authorization));
            LogError::BadEntry {
                index,
                seq: Some(seq),
                fault: EntryFault::BadSignature(role),
            }
        })
    }
}

impl OrgState {
    /// Replays an organization's whole log from its first entry, across epochs, checking
    /// every entry as §5.1 says, signatures in `mode`. This is how a server loads a log it
    /// stored: rows are data until they verify, and a tampered row is named, never used.
    /// The first entry must be the organization's creation (spec §5.2); the caller checks
    /// that it names the host key it expects. [`LogReplay`] does the same in parts.
    pub fn replay(entries: &[LogEntry], mode: VerifyMode) -> Result<OrgState, LogError> {
        let first = entries
            .first()
            .ok_or(LogError::NotEpochStart { epoch: Epoch(0) })?;
        Ok(LogReplay::begin(first)?
            .extend(entries.get(1..).unwrap_or_default(), mode)?
            .finish())
    }
}

/// An organization's stored log replayed in parts, exactly as [`OrgState::replay`] replays
/// it whole (spec §5.1, §5.3), for a server that must not hold a thread for the whole of a
/// long log. Each part is checked completely, its batched signatures settled, before
/// [`LogReplay::extend`] returns, so a replay always holds a verified prefix of the log.
#[derive(Clone, Debug)]
pub struct LogReplay {
    replay: Replayer,
}

impl LogReplay {
    /// Begins with the organization's first entry, its creation (spec §5.2), whose
    /// signatures are checked strictly.
    pub fn begin(first: &LogEntry) -> Result<LogReplay, LogError> {
        let (state, _) = OrgState::genesis(first.clone()).map_err(|fault| LogError::BadEntry {
            index: 0,
            seq: Some(first.header().seq),
            fault,
        })?;
        Ok(LogReplay {
            replay: Replayer {
                state,
                pinned_first_key: None,
                follow_resets: true,
                closed_at: None,
                seen: HashSet::from([first.hash()]),
                entries: 1,
            },
        })
    }

    /// Checks and applies the entries that follow those replayed so far, signatures in
    /// `mode`. An error names the bad entry by its index in the whole log, and consumes the
    /// replay: what it held is not a verified prefix any more.
    pub fn extend(mut self, entries: &[LogEntry], mode: VerifyMode) -> Result<LogReplay, LogError> {
        let base = self.replay.entries;
        self.replay.replay(entries, base, mode, Vec::new())?;
        Ok(self)
    }

    /// How many entries have been replayed, the first included.
    pub fn len(&self) -> usize {
        self.replay.entries
    }

    /// Always false: a replay holds at least the organization's first entry.
    pub fn is_empty(&self) -> bool {
        self.replay.entries == 0
    }

    /// The state the entries replayed so far lead to.
    pub fn state(&self) -> &OrgState {
        &self.replay.state
    }

    /// The state the whole replay leads to.
    pub fn finish(self) -> OrgState {
        self.replay.state
    }
}
