//! Who is calling, and who is who: the host says, zt does not log anyone in.

use std::future::Future;

use axum::http::request::Parts;
use zt_core::{AgentId, OrgId, Role};

/// The authenticated caller of a request, as the host's account login established it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Their organization: every request acts on it and nothing else.
    pub org: OrgId,
    /// The agent.
    pub agent: AgentId,
    /// Their role in the host's directory. It gates the API (admin endpoints); zt-core
    /// decides statements with the role the organization's log records, which the host
    /// keeps in step with `SetRole` (spec §6.3).
    pub role: Role,
}

/// Why a request has no caller. Deliberately carries no detail for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("missing or invalid credentials")]
pub struct Unauthenticated;

/// Implemented by the host: turns a request's headers into a caller, or refuses; and,
/// optionally, names agents by their account (`GET /v1/agents`).
///
/// zt-server implements it with API tokens; a host service would use its own sessions.
/// The result must not depend on the request body (it is not read yet). The directory
/// methods only help people find each other: nothing zt decides depends on them.
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticates the request whose head is `parts`.
    fn authenticate(
        &self,
        parts: &Parts,
    ) -> impl Future<Output = Result<Caller, Unauthenticated>> + Send;

    /// The agent of `org` whose account is `email`, if the host has a directory and
    /// knows them. The default knows nobody.
    fn find_agent(&self, org: OrgId, email: &str) -> impl Future<Output = Option<AgentId>> + Send {
        let _ = (org, email);
        async { None }
    }

    /// The account (e-mail) of `agent` of `org`, if the host knows it. The default knows
    /// nobody.
    fn account_of(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> impl Future<Output = Option<String>> + Send {
        let _ = (org, agent);
        async { None }
    }
}
