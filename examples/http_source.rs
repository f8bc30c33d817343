//! The device's [`LogSource`] over HTTP: `GET /v1/log` of a zt server.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zt_core::{Head, LogEntry, Seq};
use zt_http::wire::LogPage;

use crate::device::LogSource;

/// A zt server's log, read with an API token.
#[derive(Debug)]
pub struct HttpLogSource {
    http: reqwest::blocking::Client,
    server: String,
    token: String,
}

impl HttpLogSource {
    /// Reads `server`'s log (e.g. `http://127.0.0.1:7878`) with `token`.
    pub fn new(server: &str, token: &str) -> Result<HttpLogSource, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| error.to_string())?;
        Ok(HttpLogSource {
            http,
            server: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }
}

impl LogSource for HttpLogSource {
    fn fetch(&mut self, from: Seq) -> Result<(Vec<LogEntry>, Head), String> {
        let page: LogPage = self
            .http
            .get(format!("{}/v1/log?from={}&limit=1000", self.server, from.0))
            .bearer_auth(&self.token)
            .send()
            .and_then(reqwest::blocking::Response::error_for_status)
            .and_then(reqwest::blocking::Response::json)
            .map_err(|error| error.to_string())?;
        let entries = page
            .entries
            .iter()
            .map(|text| {
                let bytes = STANDARD.decode(text).map_err(|error| error.to_string())?;
                LogEntry::decode(&bytes).map_err(|error| error.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((entries, page.head))
    }
}
