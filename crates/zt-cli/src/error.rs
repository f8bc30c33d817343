//! What goes wrong, as the user reads it: an `error:` line, perhaps a `hint:` line, and
//! the exit code (1 when the server or a check refuses, 2 on usage errors).

use std::fmt;

/// How the process ends when a command fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server or one of the client's checks refused (exit 1).
    Refused,
    /// The command was used wrongly (exit 2).
    Usage,
}

/// A failed command. Messages name identifiers and reasons, never a secret.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) failure: Failure,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// The server's error code, when the server refused.
    pub(crate) code: Option<String>,
    /// The seconds the server asked to wait (`Retry-After`), when it rate-limited.
    pub(crate) retry_after: Option<u64>,
}

impl CliError {
    /// A refusal by the server or by a check (exit 1).
    pub(crate) fn refused(message: impl Into<String>) -> CliError {
        CliError {
            failure: Failure::Refused,
            message: message.into(),
            hint: None,
            code: None,
            retry_after: None,
        }
    }

    /// A usage error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError {
            failure: Failure::Usage,
            ..CliError::refused(message)
        }
    }

    /// Adds a hint line.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// True if the server refused with `code`.
    pub(crate) fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        match self.failure {
            Failure::Refused => 1,
            Failure::Usage => 2,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

/// A local file could not be read or written.
pub(crate) fn file_error(action: &str, path: &std::path::Path, error: std::io::Error) -> CliError {
    CliError::refused(format!("cannot {action} {}: {error}", path.display()))
}

/// Hints for the server's refusal codes (`docs/openapi.json`), where one helps.
const HINTS: &[(&[&str], &str)] = &[
    (&["unauthenticated"], "your token was refused: log in again with `zt login --server URL --token TOKEN`"),
    (&["forbidden", "not_an_approver"], "this needs an admin or super-admin with an active key"),
    (&["first_key_exists"], "the organization has a first key already: `zt key create` requests a key instead"),
    (&["no_active_key", "not_active_key", "task_key_not_active"], "see `zt key status`; `zt key create` requests a key"),
    (&["self_approval"], "another approver must approve your request"),
    (&["request_locked"], "five wrong codes locked this request: the requester runs `zt key create` again"),
    (&["request_not_pending", "unknown_request"], "see `zt requests list` for the pending requests"),
    (&["last_approver"], "pass --force to revoke it anyway: nobody could approve new keys until an organization reset"),
    (&["no_recovery_file"], "no recovery file is registered for you: ask an approver for a new key with `zt key create`"),
    (&["recovery_file_replaced"], "a newer recovery file replaced this one: use the newest file"),
    (&["recovery_file_spent"], "this recovery file was used: ask an approver for a new key with `zt key create`"),
    (&["rate_limited"], "too many attempts: wait a moment and try again"),
    (&["wrong_epoch", "task_epoch_closed", "task_wrong_organization"], "the organization was reset: run `zt key status`"),
    (&["task_replayed"], "each task authorization is accepted once: sign the task again"),
    (&["task_expired"], "sign the task again, just before running it"),
    (&["clock_skew"], "this computer's clock is off: set it right and try again"),
    (&["frequency_not_allowed"], "see the organization's prompt policy in `zt key status`"),
    (&["session_invalid"], "run `zt unlock` again"),
];

/// The hint for a refusal code of the server, where one helps.
pub(crate) fn hint_for(code: &str) -> Option<&'static str> {
    HINTS
        .iter()
        .find(|(codes, _)| codes.contains(&code))
        .map(|(_, hint)| *hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hinted_code_is_one_the_api_sends() {
        for (codes, _) in HINTS {
            for code in *codes {
                assert!(
                    zt_http::ERROR_CODES.contains(code),
                    "{code} is not an API error code"
                );
            }
        }
        assert!(hint_for("last_approver").is_some_and(|hint| hint.contains("--force")));
        assert_eq!(hint_for("internal"), None);
    }
}
