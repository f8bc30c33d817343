//! Real `zt-server` processes, a small SMTP sink on 127.0.0.1, and an HTTP client that
//! signs statements as an agent's client would.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses part of the harness"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand_core::OsRng;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use zt_core::{AccessSecret, AgentId, AgentKeys, EntryBuilder, Head, LogEntry, OrgId, UnixTime};

pub const BINARY: &str = env!("CARGO_BIN_EXE_zt-server");

/// An HTTP client. In a workspace build reqwest carries rustls without a crypto provider
/// (zt-cli's TLS choice: ring, installed by the client), so install ring here too.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub fn now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// Runs an administration command; returns its standard output (panics on failure).
pub fn admin(database_url: &str, host_key: &Path, args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .args(["--database-url", database_url])
        .arg("--host-key-file")
        .arg(host_key)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "zt-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// An agent added with `agent add`.
#[derive(Clone, Debug)]
pub struct Agent {
    pub id: AgentId,
    pub token: String,
}

pub fn add_agent(database_url: &str, host_key: &Path, org: &str, email: &str, role: &str) -> Agent {
    let out = admin(
        database_url,
        host_key,
        &[
            "agent", "add", "--org", org, "--email", email, "--role", role,
        ],
    );
    let mut lines = out.lines();
    let id = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let token = lines
        .next()
        .unwrap()
        .strip_prefix("token ")
        .unwrap()
        .to_owned();
    Agent { id, token }
}

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(database_url: &str, host_key: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BINARY)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .arg("--host-key-file")
            .arg(host_key)
            .args(extra)
            .env("RUST_LOG", "debug,sqlx=warn,hyper=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("zt-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Server { child, url, log }
    }

    /// Sends SIGTERM and waits; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mail the sink received.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server on 127.0.0.1 that accepts everything and keeps it.
pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> SmtpSink {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = session(socket, kept).await;
                });
            }
        });
        SmtpSink { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits until `count` mails arrived (at most 20 s).
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        for _ in 0..200 {
            let mails = self.mails.lock().unwrap().clone();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.mails.lock().unwrap().clone()
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    kept: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut to = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("MAIL FROM") {
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            to.push(
                line[8..]
                    .trim()
                    .trim_matches(|c| c == '<' || c == '>' || c == ':')
                    .to_owned(),
            );
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(&line);
                data.push('\n');
            }
            kept.lock().unwrap().push(Mail {
                to: to.clone(),
                data,
            });
            write.write_all(b"250 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
    Ok(())
}

/// An agent's client: their token, and keys derived without Argon2id (the server cannot
/// tell, and tests stay fast).
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub agent: Agent,
    pub org: OrgId,
}

pub fn fast_keys(org: OrgId, agent: AgentId) -> AgentKeys {
    zt_testkit::world::fast_keys(org, agent, &mut OsRng)
}

impl Client {
    pub fn new(url: &str, agent: &Agent, org: OrgId) -> Client {
        Client {
            http: http_client(),
            url: url.to_owned(),
            agent: agent.clone(),
            org,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.agent.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.agent.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn head(&self) -> Head {
        let (status, org) = self.get("/v1/org").await;
        assert_eq!(status, 200, "{org}");
        serde_json::from_value(org["head"].clone()).unwrap()
    }

    pub async fn builder(&self) -> EntryBuilder {
        EntryBuilder::new(self.head().await, now())
    }

    pub async fn submit(&self, path: &str, entry: &LogEntry) -> (u16, Value) {
        self.post(
            path,
            json!({ "entry": zt_http::wire::encode_bytes(entry.encoded()) }),
        )
        .await
    }

    /// Requests a key for the caller; returns the request id and its signed entry.
    pub async fn request_key(&self, keys: &AgentKeys) -> (zt_core::RequestId, LogEntry) {
        let request = zt_core::RequestId::random(&mut OsRng);
        let entry = self
            .builder()
            .await
            .key_request(
                self.agent.id,
                request,
                keys,
                &AccessSecret::random(&mut OsRng),
                &mut OsRng,
            )
            .unwrap();
        let (status, body) = self.submit("/v1/keys/requests", &entry).await;
        assert_eq!(status, 201, "{body}");
        (request, entry)
    }

    /// Approves `request` (whose entry is `entry`) as the caller, after comparing the code
    /// the requester's client shows, as the approver's client does.
    pub async fn approve(
        &self,
        request: zt_core::RequestId,
        entry: &LogEntry,
        keys: &AgentKeys,
    ) -> (u16, Value) {
        let told = zt_core::VerificationCode::of_request(entry).unwrap();
        let judged = self
            .builder()
            .await
            .judge_code(entry, &told, self.agent.id, keys);
        let Some(zt_core::CodeJudgement::Matches(approval)) = judged else {
            panic!("the codes match");
        };
        self.submit(&format!("/v1/requests/{request}/approve"), &approval)
            .await
    }

    pub async fn first_key(&self, keys: &AgentKeys) -> (u16, Value) {
        let entry = self
            .builder()
            .await
            .first_key(
                self.agent.id,
                keys,
                &AccessSecret::random(&mut OsRng),
                &mut OsRng,
            )
            .unwrap();
        self.submit("/v1/keys/first", &entry).await
    }
}

/// An organization in a fresh SQLite database: Alice (admin) and Bob (`bob_role`).
pub struct Organization {
    pub dir: tempfile::TempDir,
    pub key: PathBuf,
    pub db: String,
    pub org: OrgId,
    pub alice: Agent,
    pub bob: Agent,
}

impl Organization {
    pub fn on_sqlite(bob_role: &str) -> Organization {
        let (dir, key) = scratch();
        let db = format!("sqlite://{}", dir.path().join("zt.sqlite").display());
        let org: OrgId = admin(&db, &key, &["org", "create"]).trim().parse().unwrap();
        let alice = add_agent(&db, &key, &org.to_string(), "alice@example.test", "admin");
        let bob = add_agent(&db, &key, &org.to_string(), "bob@example.test", bob_role);
        Organization {
            dir,
            key,
            db,
            org,
            alice,
            bob,
        }
    }

    pub fn admin(&self, args: &[&str]) -> String {
        admin(&self.db, &self.key, args)
    }

    pub fn start(&self, extra: &[&str]) -> Server {
        Server::start(&self.db, &self.key, extra)
    }
}

/// A scratch directory holding the host key and, for SQLite, the database.
pub fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("zt-host.key");
    (dir, key)
}
