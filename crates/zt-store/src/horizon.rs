//! Replay keys kept in memory behind a durable horizon (spec §9.5), for a store that one
//! server alone verifies tasks against.
//!
//! Spent replay keys are held in memory, and the store holds one durable time, the
//! horizon, raised before any authorization issued after it is accepted: a commit every
//! couple of seconds instead of one a verification. Nothing an authorization's acceptance
//! depends on is lost in a crash: a server that opens the store again refuses every
//! authorization issued at or before the horizon it finds, which covers every key it held
//! in memory. What a crash costs is availability: authorizations signed before it, and
//! not used yet, must be signed again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use zt_core::{InMemoryReplayGuard, ReplayGuard, UnixTime};

use crate::error::StoreError;
use crate::store::Store;

/// How far past `now` a raise puts the horizon, in seconds (spec §9.5, rule 4). A
/// raise is due about this often under a steady load; a restart refuses authorizations
/// issued up to this long after the last raise.
pub(crate) const HORIZON_AHEAD: u64 = 2;
/// Spent keys are swept for expired ones at most this often, in seconds.
const SWEEP_EVERY: u64 = 60;

/// The replay cache of the one verifying server of a store.
pub(crate) struct ReplayHorizon {
    /// The horizon found when the store was opened: authorizations issued at or before it
    /// are refused, as the previous server may have accepted them without a record.
    refused_through: UnixTime,
    keys: Mutex<SpentKeys>,
    /// Held while raising the horizon, so that verifications waiting on a raise share it.
    raising: tokio::sync::Mutex<()>,
    /// Horizons committed since the store was opened.
    raises: AtomicU64,
}

struct SpentKeys {
    /// Keys spent, until they expire: those this server accepted, and those it found
    /// recorded in the store when it opened it. A replay key names its organization (it is
    /// a hash over it, spec §9.4), so one set serves them all.
    spent: InMemoryReplayGuard,
    /// The latest horizon committed to the store.
    durable_through: UnixTime,
    swept_at: UnixTime,
}

impl ReplayHorizon {
    /// Opens the store's replay cache at `now`: reads the horizon a previous server left,
    /// and the replay keys recorded in the store that have not expired.
    pub(crate) async fn open<S: Store>(
        store: &S,
        now: UnixTime,
    ) -> Result<ReplayHorizon, StoreError> {
        let refused_through = store.replay_horizon().await?.unwrap_or(UnixTime(0));
        let recorded = store.unexpired_replay_keys(now).await?;
        let mut spent = InMemoryReplayGuard::default();
        for record in recorded {
            spent.first_use(record.key, record.expires_at);
        }
        Ok(ReplayHorizon {
            refused_through,
            keys: Mutex::new(SpentKeys {
                spent,
                durable_through: refused_through,
                swept_at: now,
            }),
            raising: tokio::sync::Mutex::new(()),
            raises: AtomicU64::new(0),
        })
    }

    /// Spends `key` (spec §9.5): true if it was not spent before and the authorization may
    /// be accepted. Returns once the horizon covering `issued_at` is durable. A key is
    /// spent even when raising the horizon fails: the authorization is then refused, and
    /// stays refused.
    pub(crate) async fn first_use<S: Store>(
        &self,
        store: &S,
        key: [u8; 32],
        issued_at: UnixTime,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            keys.sweep(now);
            if issued_at <= self.refused_through {
                return Ok(false);
            }
            // The first spend keeps its expiry: a later authorization with the same key
            // (the agent's nonce used twice) must not shorten how long it is remembered.
            if !keys.spent.first_use(key, expires_at) {
                return Ok(false);
            }
            if issued_at <= keys.durable_through {
                return Ok(true);
            }
        }
        let _raising = self.raising.lock().await;
        if issued_at <= self.durable_through() {
            return Ok(true);
        }
        let horizon = issued_at.max(UnixTime(now.0.saturating_add(HORIZON_AHEAD)));
        store.raise_replay_horizon(horizon).await?;
        self.raises.fetch_add(1, Ordering::Relaxed);
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.durable_through = keys.durable_through.max(horizon);
        Ok(true)
    }

    /// Horizons committed since the store was opened.
    pub(crate) fn raises(&self) -> u64 {
        self.raises.load(Ordering::Relaxed)
    }

    fn durable_through(&self) -> UnixTime {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .durable_through
    }
}

impl SpentKeys {
    /// Forgets keys whose authorizations expired a while ago: check 4 of spec §9.4 refuses
    /// them first, even if the clock steps back by less than a sweep's period.
    fn sweep(&mut self, now: UnixTime) {
        if now.0 >= self.swept_at.0.saturating_add(SWEEP_EVERY) {
            self.spent
                .prune(UnixTime(now.0.saturating_sub(SWEEP_EVERY)));
            self.swept_at = now;
        }
    }
}
