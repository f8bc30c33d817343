//! `zt-server`: run the reference server, or administer its database.
//!
//! Exit codes: 0 on success, 1 when something refused or failed, 2 on usage errors.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use zt_core::{OrgId, Role};
use zt_http::{ApiConfig, Clock, SystemClock};
use zt_server::accounts::parse_role;
use zt_server::host::Host;
use zt_server::mail::Mailer;
use zt_server::serve::{serve, ServeConfig};
use zt_server::{db, host_key, ServerError};
use zt_store::Ledger;

#[derive(Parser)]
#[command(
    name = "zt-server",
    version,
    about = "zt's reference server: zero-trust signature keys over HTTP"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

/// Where the data and the host key are; every command takes these.
#[derive(Args, Clone)]
struct Storage {
    /// sqlite://PATH (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "ZT_DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// The host key file (created, mode 0600, if missing). Servers sharing a database
    /// share it.
    #[arg(long, env = "ZT_HOST_KEY_FILE", default_value = "zt-host.key")]
    host_key_file: PathBuf,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the API.
    Serve {
        #[command(flatten)]
        storage: Storage,
        /// The address to listen on.
        #[arg(long, env = "ZT_LISTEN", default_value = "127.0.0.1:7878")]
        listen: SocketAddr,
        /// The SMTP relay, e.g. smtp://127.0.0.1:2525 or smtps://user:pass@relay:465.
        /// Without it, mails go to the log.
        #[arg(long, env = "ZT_SMTP_URL")]
        smtp_url: Option<String>,
        /// The sender of zt's mails.
        #[arg(long, env = "ZT_MAIL_FROM", default_value = "zt@localhost")]
        mail_from: String,
        /// Seconds between passes over the mail outbox.
        #[arg(long, env = "ZT_OUTBOX_INTERVAL", default_value_t = 1)]
        outbox_interval: u64,
        /// Seconds before a failed mail is retried (doubling each time, at most an hour).
        #[arg(long, env = "ZT_MAIL_RETRY_SECONDS", default_value_t = 30)]
        mail_retry_seconds: u64,
    },
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Agents and their roles (the host's account directory).
    #[command(subcommand)]
    Agent(AgentCommand),
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization; prints its id.
    Create {
        #[command(flatten)]
        storage: Storage,
    },
    /// Support's reset: every key of the organization ends and a new epoch starts. Devices
    /// must be redeployed; the next key created is a first key.
    Reset {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        org: OrgId,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Add an agent; prints their id and API token (shown once, stored hashed).
    Add {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        org: OrgId,
        #[arg(long)]
        email: String,
        /// member, admin or super-admin.
        #[arg(long, value_parser = role_arg, default_value = "member")]
        role: Role,
    },
    /// Change an agent's role.
    Role {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        org: OrgId,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = role_arg)]
        role: Role,
        /// Allow leaving no approver with an active key.
        #[arg(long)]
        force: bool,
    },
    /// Remove an agent (deprovisioning): their key is revoked at once, their token stops.
    Remove {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        org: OrgId,
        #[arg(long)]
        email: String,
        /// Allow removing the last approver with an active key.
        #[arg(long)]
        force: bool,
    },
    /// List the organization's agents with their roles.
    List {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        org: OrgId,
    },
}

fn role_arg(word: &str) -> Result<Role, String> {
    parse_role(word)
        .filter(|role| *role != Role::Removed)
        .ok_or_else(|| "expected member, admin or super-admin".to_owned())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn host(storage: &Storage) -> Result<Host, ServerError> {
    let store = db::open(&storage.database_url).await?;
    let key = host_key::load_or_create(&storage.host_key_file)?;
    Ok(Host::new(Arc::new(Ledger::new(store, key))))
}

async fn run(cli: Cli) -> Result<(), ServerError> {
    let now = SystemClock.now();
    match cli.command {
        Commands::Serve {
            storage,
            listen,
            smtp_url,
            mail_from,
            outbox_interval,
            mail_retry_seconds,
        } => {
            let replay_keys = db::replay_keys(&storage.database_url)?;
            let store = db::open(&storage.database_url).await?;
            let key = host_key::load_or_create(&storage.host_key_file)?;
            let mailer = Mailer::new(smtp_url.as_deref(), &mail_from)?;
            let config = ServeConfig {
                listen,
                outbox_interval: Duration::from_secs(outbox_interval.max(1)),
                mail_retry_seconds: mail_retry_seconds.max(1),
                api: ApiConfig::default(),
            };
            serve(store, key, mailer, config, replay_keys).await
        }
        Commands::Org(OrgCommand::Create { storage }) => {
            let org = host(&storage).await?.create_org(now).await?;
            println!("{org}");
            Ok(())
        }
        Commands::Org(OrgCommand::Reset { storage, org }) => {
            let done = host(&storage).await?.reset_org(org, now).await?;
            println!(
                "organization {org} reset: epoch {} ended, epoch {} begins; {} agents notified",
                done.previous, done.epoch, done.notified
            );
            println!("every device must be redeployed with the new trust root; the next key created is a first key");
            Ok(())
        }
        Commands::Agent(AgentCommand::Add {
            storage,
            org,
            email,
            role,
        }) => {
            let (agent, token) = host(&storage)
                .await?
                .add_agent(org, &email, role, now)
                .await?;
            println!("agent {agent} ({email}, {role})");
            println!("token {}", token.expose());
            Ok(())
        }
        Commands::Agent(AgentCommand::Role {
            storage,
            org,
            email,
            role,
            force,
        }) => {
            let agent = host(&storage)
                .await?
                .set_role(org, &email, role, force, now)
                .await?;
            println!("agent {agent} ({email}) is now {role}");
            Ok(())
        }
        Commands::Agent(AgentCommand::Remove {
            storage,
            org,
            email,
            force,
        }) => {
            let agent = host(&storage)
                .await?
                .set_role(org, &email, Role::Removed, force, now)
                .await?;
            println!("agent {agent} ({email}) removed; their key is revoked");
            Ok(())
        }
        Commands::Agent(AgentCommand::List { storage, org }) => {
            for account in host(&storage).await?.accounts.list(org).await? {
                println!("{}  {}  {}", account.agent, account.role, account.email);
            }
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if let ServerError::Ledger(zt_store::LedgerError::Refused(refusal)) = &error {
                if matches!(
                    refusal,
                    zt_core::Refusal::Entry(zt_core::EntryFault::Rule(
                        zt_core::RuleViolation::LastApprover
                    ))
                ) {
                    eprintln!("hint: this would leave no admin able to approve keys; pass --force if that is intended");
                }
            }
            ExitCode::FAILURE
        }
    }
}
