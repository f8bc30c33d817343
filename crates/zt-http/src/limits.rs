//! Per-caller rate limits on the endpoints worth guessing at (approve, reset, code, verify).
//!
//! A token bucket per (agent, endpoint class), in this process's memory: several servers
//! each apply the limit, which bounds a caller by the number of servers times the limit.
//! The clock here is the adapter's (`Instant`), never zt-core's business.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zt_core::AgentId;

/// The endpoints that are rate limited, each with its own bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitClass {
    /// Approving or rejecting a request.
    Approve,
    /// Reporting a wrong verification code (five lock a request anyway).
    Code,
    /// Resetting a key with a recovery file, or requesting a key.
    Reset,
    /// Verifying a task authorization.
    Verify,
}

/// A bucket's size and refill rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: u32,
    /// Requests allowed per second, on average.
    pub per_second: f64,
}

/// The limits of each class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// Approve and reject.
    pub approve: Rate,
    /// Wrong-code reports.
    pub code: Rate,
    /// Recovery resets and key requests.
    pub reset: Rate,
    /// Task verifications.
    pub verify: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            approve: Rate {
                burst: 20,
                per_second: 1.0,
            },
            code: Rate {
                burst: 5,
                per_second: 0.1,
            },
            reset: Rate {
                burst: 5,
                per_second: 0.1,
            },
            verify: Rate {
                burst: 2000,
                per_second: 1000.0,
            },
        }
    }
}

impl RateLimits {
    /// No effective limit (benchmarks, and hosts that limit upstream).
    pub fn unlimited() -> RateLimits {
        let rate = Rate {
            burst: u32::MAX,
            per_second: f64::MAX,
        };
        RateLimits {
            approve: rate,
            code: rate,
            reset: rate,
            verify: rate,
        }
    }

    fn of(&self, class: LimitClass) -> Rate {
        match class {
            LimitClass::Approve => self.approve,
            LimitClass::Code => self.code,
            LimitClass::Reset => self.reset,
            LimitClass::Verify => self.verify,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(AgentId, LimitClass), Bucket>>,
}

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub(crate) fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `agent`, or says how long until one is available.
    pub(crate) fn check(&self, agent: AgentId, class: LimitClass) -> Result<(), Duration> {
        let rate = self.limits.of(class);
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            // Full buckets are as good as absent: forget them.
            let burst = |class| f64::from(self.limits.of(class).burst);
            buckets.retain(|(_, class), bucket| bucket.tokens < burst(*class));
        }
        let bucket = buckets.entry((agent, class)).or_insert(Bucket {
            tokens: f64::from(rate.burst),
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(f64::from(rate.burst));
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / rate.per_second;
        Err(Duration::from_secs_f64(wait.clamp(0.0, 86_400.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_says_when_to_retry() {
        let limiter = RateLimiter::new(RateLimits::default());
        let agent = AgentId::from_bytes([1; 16]);
        for _ in 0..5 {
            assert!(limiter.check(agent, LimitClass::Code).is_ok());
        }
        let wait = limiter.check(agent, LimitClass::Code).unwrap_err();
        assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(10));
        // Other agents and other classes have their own buckets.
        assert!(limiter
            .check(AgentId::from_bytes([2; 16]), LimitClass::Code)
            .is_ok());
        assert!(limiter.check(agent, LimitClass::Approve).is_ok());
    }
}
