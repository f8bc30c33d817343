//! A real `zt-server` process on 127.0.0.1 with a SQLite database in a temporary
//! directory, and the real `zt` binary driven through standard input, one profile per agent.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses part of the harness"
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const ZT: &str = env!("CARGO_BIN_EXE_zt");

/// The `zt-server` binary, built next to `zt` by `cargo test --workspace` (zt-server's own
/// tests need it). Missing means it was not built: a failure, never a skip.
pub fn server_binary() -> PathBuf {
    let path = Path::new(ZT).with_file_name("zt-server");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p zt-server` first (`cargo test --workspace` builds it)",
        path.display()
    );
    path
}

/// What one `zt` run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success; returns standard output.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "zt failed: {self:#?}");
        &self.stdout
    }

    /// Asserts that zt refused (exit 1) with `fragment` in its error; returns stderr.
    #[track_caller]
    pub fn refused(&self, fragment: &str) -> &str {
        assert_eq!(self.code, 1, "expected a refusal: {self:#?}");
        assert!(self.stderr.contains("error: "), "no error line: {self:#?}");
        assert!(
            self.stderr.contains(fragment),
            "expected {fragment:?}: {self:#?}"
        );
        &self.stderr
    }

    /// Standard output as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|error| panic!("not JSON ({error}): {self:#?}"))
    }
}

/// An organization on a running server, with a config directory for every agent's profile.
pub struct Org {
    pub dir: tempfile::TempDir,
    pub id: String,
    server: Child,
    pub url: String,
    pub server_log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Org {
    /// Starts a server on a fresh database and creates an organization.
    pub fn start() -> Org {
        let dir = tempfile::tempdir().unwrap();
        let id = admin(dir.path(), &["org", "create"])
            .split_whitespace()
            .last()
            .unwrap()
            .to_owned();
        let mut server = Command::new(server_binary())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(storage(dir.path()))
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("zt-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let server_log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = server_log.clone();
        let stderr = server.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Org {
            dir,
            id,
            server,
            url,
            server_log,
        }
    }

    /// Adds an agent with `role`, logs their profile (named after the part of the e-mail
    /// before `@`) in, and returns their agent id.
    pub fn agent(&self, email: &str, role: &str) -> String {
        self.account(email, role).0
    }

    /// As [`Org::agent`]; returns the agent id and the API token.
    pub fn account(&self, email: &str, role: &str) -> (String, String) {
        let out = admin(
            self.dir.path(),
            &[
                "agent", "add", "--org", &self.id, "--email", email, "--role", role,
            ],
        );
        let mut lines = out.lines();
        let agent = lines
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned();
        let token = lines
            .next()
            .unwrap()
            .strip_prefix("token ")
            .unwrap()
            .to_owned();
        let profile = email.split('@').next().unwrap();
        self.zt(
            profile,
            &["login", "--server", &self.url, "--token", &token],
            &[],
        )
        .ok();
        (agent, token)
    }

    /// `profile` creates the epoch's first key; returns the root to pin.
    pub fn first_key(&self, profile: &str, passphrase: &str) -> String {
        let created = self
            .zt(
                profile,
                &["--json", "key", "create"],
                &[passphrase, passphrase],
            )
            .json();
        assert_eq!(created["state"], "active", "{created:#}");
        created["root"].as_str().unwrap().to_owned()
    }

    /// `requester` requests a key, and `approver` approves it with the code it was shown.
    pub fn approved_key(&self, requester: (&str, &str), approver: (&str, &str)) {
        let (profile, passphrase) = requester;
        let request = self
            .zt(
                profile,
                &["--json", "key", "create"],
                &[passphrase, passphrase],
            )
            .json();
        let id = request["request"].as_str().unwrap();
        let code = request["code"].as_str().unwrap();
        self.zt(
            approver.0,
            &["requests", "approve", id, "--code", code],
            &[approver.1],
        )
        .ok();
    }

    /// Runs `zt --profile PROFILE ARGS`, with `lines` on standard input.
    pub fn zt(&self, profile: &str, args: &[&str], lines: &[&str]) -> Run {
        run_zt(&self.config_dir(), profile, args, lines)
    }

    /// The config directory every profile lives in.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// A path in the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs a `zt-server` administration command on this organization's database.
    pub fn admin(&self, args: &[&str]) -> String {
        admin(self.dir.path(), args)
    }
}

impl Drop for Org {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Runs `zt` with its own config directory.
pub fn run_zt(config: &Path, profile: &str, args: &[&str], lines: &[&str]) -> Run {
    let mut child = Command::new(ZT)
        .arg("--profile")
        .arg(profile)
        .args(args)
        .env("ZT_CONFIG_DIR", config)
        .env_remove("ZT_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn storage(dir: &Path) -> Vec<String> {
    vec![
        "--database-url".into(),
        format!("sqlite://{}", dir.join("zt.sqlite").display()),
        "--host-key-file".into(),
        dir.join("zt-host.key").display().to_string(),
    ]
}

fn admin(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(server_binary())
        .args(args)
        .args(storage(dir))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "zt-server {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
