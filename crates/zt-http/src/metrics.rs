//! Counters for `/metrics`, in the Prometheus text format. No labels carry identifiers of
//! organizations or agents, and nothing secret is ever counted by value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The API's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    responses: Mutex<BTreeMap<(&'static str, u16), u64>>,
    statements: Mutex<BTreeMap<String, u64>>,
    tasks_accepted: AtomicU64,
    tasks_refused: AtomicU64,
    rate_limited: AtomicU64,
}

impl Metrics {
    /// Counts a response by error code (`ok` for successes) and status.
    pub(crate) fn response(&self, code: &'static str, status: u16) {
        let mut responses = self
            .responses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = responses.entry((code, status)).or_default();
        *count = count.saturating_add(1);
    }

    /// Counts an accepted statement by kind.
    pub(crate) fn statement(&self, kind: &str) {
        let mut statements = self
            .statements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = statements.entry(kind.to_owned()).or_default();
        *count = count.saturating_add(1);
    }

    /// Counts a task verification.
    pub(crate) fn task(&self, accepted: bool) {
        let counter = if accepted {
            &self.tasks_accepted
        } else {
            &self.tasks_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request refused by a rate limit.
    pub(crate) fn limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP zt_http_responses_total API responses by code and status."
        );
        let _ = writeln!(out, "# TYPE zt_http_responses_total counter");
        for ((code, status), count) in self
            .responses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "zt_http_responses_total{{code=\"{code}\",status=\"{status}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP zt_statements_total Statements appended, by kind."
        );
        let _ = writeln!(out, "# TYPE zt_statements_total counter");
        for (kind, count) in self
            .statements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "zt_statements_total{{kind=\"{kind}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP zt_task_verifications_total Task authorizations checked."
        );
        let _ = writeln!(out, "# TYPE zt_task_verifications_total counter");
        for (outcome, counter) in [
            ("accepted", &self.tasks_accepted),
            ("refused", &self.tasks_refused),
        ] {
            let _ = writeln!(
                out,
                "zt_task_verifications_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP zt_rate_limited_total Requests refused by a rate limit."
        );
        let _ = writeln!(out, "# TYPE zt_rate_limited_total counter");
        let _ = writeln!(
            out,
            "zt_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        out
    }
}
