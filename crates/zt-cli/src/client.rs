//! The HTTP client: the zt API as typed calls, the server's refusals as [`CliError`]s.
//!
//! Nothing the server sends is trusted beyond what it cannot fake: entries are decoded and
//! checked by zt-core, key records are checked by deriving the key again, and signatures
//! are made only after those checks (see `commands::me`).

use std::time::Duration;

use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zt_core::{LogEntry, Seq};
use zt_http::wire::{self, Accepted, EntryBody, LogPage};

use crate::config::Profile;
use crate::error::{hint_for, CliError};

/// The most entries one `GET /v1/log` returns.
const LOG_PAGE: u32 = 1000;

/// An authenticated connection to the server of a profile.
#[derive(Debug)]
pub(crate) struct Client {
    http: Http,
    server: String,
    authorization: zeroize::Zeroizing<String>,
}

/// The server's error body.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

impl Client {
    /// A client for `server`, sending `token`.
    pub(crate) fn new(server: &str, token: &str) -> Result<Client, CliError> {
        // rustls with ring; ignore the error if another call installed it already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Http::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("zt/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| CliError::refused(format!("cannot start the HTTP client: {error}")))?;
        Ok(Client {
            http,
            server: server.trim_end_matches('/').to_owned(),
            authorization: zeroize::Zeroizing::new(format!("Bearer {token}")),
        })
    }

    /// The client of a logged-in profile.
    pub(crate) fn of(profile: &Profile) -> Result<Client, CliError> {
        Client::new(&profile.server, &profile.token)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.server))
            .header(reqwest::header::AUTHORIZATION, self.authorization.as_str())
    }

    fn send(&self, builder: RequestBuilder) -> Result<Response, CliError> {
        let response = builder.send().map_err(|error| {
            CliError::refused(format!(
                "cannot reach the server at {}: {}",
                self.server,
                plain(&error)
            ))
            .hint("check the server URL (`zt login`) and that the server is running")
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        match response.json::<ErrorBody>() {
            Ok(body) => {
                let mut error = CliError::refused(format!("{} ({})", body.message, body.code));
                if let Some(hint) = hint_for(&body.code) {
                    error = error.hint(hint);
                }
                error.code = Some(body.code);
                error.retry_after = retry_after;
                Err(error)
            }
            Err(_) if status == StatusCode::NOT_FOUND => Err(CliError::refused(format!(
                "{} does not serve the zt API (404)",
                self.server
            ))),
            Err(_) => Err(CliError::refused(format!("the server answered {status}"))),
        }
    }

    fn json<T: DeserializeOwned>(response: Response) -> Result<T, CliError> {
        response.json::<T>().map_err(|error| {
            CliError::refused(format!(
                "the server's answer is not what zt expects: {}",
                plain(&error)
            ))
        })
    }

    /// `GET path`, decoded.
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        Client::json(self.send(self.request(Method::GET, path))?)
    }

    /// `method path` with a JSON body, decoded.
    pub(crate) fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        Client::json(self.send(self.request(method, path).json(body))?)
    }

    /// `DELETE path`.
    pub(crate) fn delete(&self, path: &str) -> Result<(), CliError> {
        self.send(self.request(Method::DELETE, path)).map(|_| ())
    }

    /// Submits a signed statement.
    pub(crate) fn submit(
        &self,
        method: Method,
        path: &str,
        entry: &LogEntry,
    ) -> Result<Accepted, CliError> {
        let body = EntryBody {
            entry: wire::encode_bytes(entry.encoded()),
        };
        self.call(method, path, &body)
    }

    /// The organization's log from `from` to the head, decoded (not yet verified).
    pub(crate) fn log_from(&self, from: Seq) -> Result<(Vec<LogEntry>, zt_core::Head), CliError> {
        let mut entries = Vec::new();
        let mut next = from;
        loop {
            let page: LogPage = self.get(&format!("/v1/log?from={}&limit={LOG_PAGE}", next.0))?;
            for text in &page.entries {
                let position = Seq(from.0.saturating_add(entries.len() as u64));
                entries.push(decode_entry(text, position)?);
            }
            match page.next {
                Some(more) if more > next => next = more,
                _ => return Ok((entries, page.head)),
            }
        }
    }

    /// The entry at `seq`, decoded and checked to sit there.
    pub(crate) fn entry_at(&self, seq: Seq) -> Result<LogEntry, CliError> {
        let page: LogPage = self.get(&format!("/v1/log?from={}&limit=1", seq.0))?;
        let text = page
            .entries
            .first()
            .ok_or_else(|| CliError::refused(format!("the server has no log entry {}", seq.0)))?;
        let entry = decode_entry(text, seq)?;
        if entry.header().seq != seq {
            return Err(CliError::refused(format!(
                "the server sent entry {} when asked for entry {}",
                entry.header().seq.0,
                seq.0
            )));
        }
        Ok(entry)
    }
}

/// Decodes a base64 entry the server sent as entry `seq`.
pub(crate) fn decode_entry(text: &str, seq: Seq) -> Result<LogEntry, CliError> {
    let bytes = base64_decode(text).ok_or_else(|| {
        CliError::refused(format!("the server sent entry {} not in base64", seq.0))
    })?;
    LogEntry::decode(&bytes).map_err(|error| {
        CliError::refused(format!(
            "the server sent a malformed entry {}: {error}",
            seq.0
        ))
    })
}

/// Standard base64, as the API uses.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// An HTTP error with its causes (connection refused, TLS, …) on one line.
fn plain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}
