//! `zt`: the command-line client of zero-trust signature keys, for agents, admins and
//! auditors.
//!
//! This is where zero trust happens: the passphrase is typed here, the key is derived here
//! (Argon2id, then HKDF; zt-core), and statements and task authorizations are signed here.
//! The server receives public keys and signatures only. Before signing, the client checks
//! what the server told it: the key record's KDF parameters are within bounds, the derived
//! key is the registered one, an approved key is the one this client requested, and a
//! request's entry is the request it is said to be.
//!
//! What it does not do: it keeps no passphrase, anywhere; it trusts no log it has not
//! verified from a pinned root (`zt log verify`) for anything an auditor would rely on.
//!
//! Exit codes: 0 on success, 1 when the server or a check refuses, 2 on usage errors.

#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod client;
mod commands;
mod config;
mod error;
mod input;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use zt_core::{
    AgentId, AgentKeyState, PromptFrequency, RequestId, Role, TrustRoot, VerificationCode,
};

use crate::client::Client;
use crate::commands::context::Connected;
use crate::commands::{key, log, recovery, requests, session, task, views};
use crate::config::{Config, DEFAULT_PROFILE};
use crate::error::CliError;
use crate::input::Input;
use crate::output::Output;

#[derive(Parser)]
#[command(
    name = "zt",
    version,
    about = "Zero-trust signature keys: your passphrase, your key, your signatures",
    long_about = "Zero-trust signature keys: your passphrase, your key, your signatures.\n\n\
        Passphrases are read from a hidden prompt, or one per line from standard input when \
        it is not a terminal. They never appear in arguments, the environment, files or logs.\n\n\
        Exit codes: 0 on success, 1 when the server or a check refuses, 2 on usage errors."
)]
struct Cli {
    /// The profile to use (profiles live in $ZT_CONFIG_DIR, else ~/.config/zt).
    #[arg(long, global = true, env = "ZT_PROFILE", default_value = DEFAULT_PROFILE)]
    profile: String,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Save a profile: the server and your API token (from your organization's host).
    Login {
        /// The server's URL, e.g. https://zt.example.com.
        #[arg(long)]
        server: String,
        /// Your API token.
        #[arg(long)]
        token: String,
    },
    /// Your signature key.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Pending key requests (approvers).
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// Your recovery file: reset a forgotten key without anyone's approval.
    #[command(subcommand)]
    Recovery(RecoveryCommand),
    /// The organization's zero trust status page (approvers).
    Status(StatusArgs),
    /// Key history: key owner, actor, action and reason.
    History {
        /// Only this agent's keys (e-mail or agent id). Members see only their own.
        #[arg(long)]
        agent: Option<String>,
    },
    /// Choose how often you are asked for your passphrase when signing tasks.
    Unlock {
        /// Each task (the default), or once a day or week.
        #[arg(long = "for", value_enum)]
        frequency: Frequency,
    },
    /// End the unlocked session: the passphrase is asked on each task again.
    Logout,
    /// The organization's policies (admins).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Sensitive-task authorizations.
    #[command(subcommand)]
    Task(TaskCommand),
    /// The organization's log: export it, verify it from a pinned root.
    #[command(subcommand)]
    Log(LogCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create your key: the organization's first key (active at once), or a request that an
    /// approver approves after comparing its verification code.
    Create {
        /// Also write the verification code to this file.
        #[arg(long)]
        code_file: Option<PathBuf>,
    },
    /// Your key's status, and the organization's root to pin.
    Status,
    /// Replace your key with a new one, signed by the current one.
    Change,
    /// Revoke your key, or (approvers) another agent's.
    Revoke {
        /// The agent whose key to revoke (e-mail or agent id); yours if absent.
        #[arg(long)]
        agent: Option<String>,
        /// Revoke even the last approver's key.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum RequestsCommand {
    /// List pending requests.
    List,
    /// Approve a request after comparing its verification code with the requester's.
    Approve {
        /// The request id.
        request: RequestId,
        /// The six-digit code the requester read to you.
        #[arg(long)]
        code: VerificationCode,
    },
    /// Reject a request.
    Reject {
        /// The request id.
        request: RequestId,
    },
}

#[derive(Subcommand)]
enum RecoveryCommand {
    /// Create a recovery file (mode 0600; never overwrites). Earlier files stop working.
    Create {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Reset your key with your recovery file: active at once, the file is spent.
    Reset {
        /// The recovery file.
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Args)]
struct StatusArgs {
    /// Only agents in this state.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// Only agents with this role.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    /// Continue after this agent id (from the previous page).
    #[arg(long)]
    after: Option<AgentId>,
    /// Rows per page, 1 to 1000.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    limit: u32,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Which prompt frequencies agents may choose.
    Prompt {
        /// Comma-separated: task, day, week.
        #[arg(long, value_enum, value_delimiter = ',', required = true)]
        allow: Vec<Frequency>,
    },
}

#[derive(Subcommand)]
enum TaskCommand {
    /// Sign a task authorization; prints the document `zt task verify` takes.
    Sign {
        /// The task's kind, e.g. remote-control.
        #[arg(long)]
        kind: String,
        /// The file holding the task's payload.
        #[arg(long)]
        payload: PathBuf,
        /// Seconds the authorization is valid, at most 600.
        #[arg(long, default_value_t = zt_core::MAX_TASK_LIFETIME)]
        lifetime: u64,
        /// Write the document here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Ask the server whether it accepts a task authorization (an accepted one is spent).
    Verify {
        /// The document `zt task sign` printed.
        file: PathBuf,
        /// Check it against this payload instead of the digest the document names.
        #[arg(long)]
        payload: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Write the organization's whole log to a file (never overwrites).
    Export {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify the log from a pinned root; print the active keys or the first bad entry.
    Verify {
        /// The root to trust (`zt key status` shows it): zt-root-v1:ORG:EPOCH:HASH.
        #[arg(long)]
        root: TrustRoot,
        /// An export file (offline).
        #[arg(long, conflicts_with = "server", required_unless_present = "server")]
        file: Option<PathBuf>,
        /// Fetch the log from the profile's server.
        #[arg(long)]
        server: bool,
    },
}

/// A prompt frequency, as flags name it.
#[derive(Clone, Copy, ValueEnum)]
enum Frequency {
    Task,
    Day,
    Week,
}

impl From<Frequency> for PromptFrequency {
    fn from(frequency: Frequency) -> PromptFrequency {
        match frequency {
            Frequency::Task => PromptFrequency::EachTask,
            Frequency::Day => PromptFrequency::Day,
            Frequency::Week => PromptFrequency::Week,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum StateArg {
    NotSetUp,
    Pending,
    Active,
    Revoked,
    Reset,
}

impl From<StateArg> for AgentKeyState {
    fn from(state: StateArg) -> AgentKeyState {
        match state {
            StateArg::NotSetUp => AgentKeyState::NotSetUp,
            StateArg::Pending => AgentKeyState::Pending,
            StateArg::Active => AgentKeyState::Active,
            StateArg::Revoked => AgentKeyState::Revoked,
            StateArg::Reset => AgentKeyState::Reset,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Member,
    Admin,
    SuperAdmin,
    Removed,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Member => Role::Member,
            RoleArg::Admin => Role::Admin,
            RoleArg::SuperAdmin => Role::SuperAdmin,
            RoleArg::Removed => Role::Removed,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let config = Config::from_env(&cli.profile)?;
    let out = Output { json: cli.json };
    let mut input = Input::from_stdin();
    let connect = || Connected::open(config.clone(), out);
    match cli.command {
        Command::Login { server, token } => views::login(&config, &server, &token, out),
        Command::Key(command) => {
            let ctx = connect()?;
            match command {
                KeyCommand::Create { code_file } => {
                    key::create(&ctx, &mut input, code_file.as_deref())
                }
                KeyCommand::Status => key::status(&ctx),
                KeyCommand::Change => key::change(&ctx, &mut input),
                KeyCommand::Revoke { agent, force } => {
                    key::revoke(&ctx, &mut input, agent.as_deref(), force)
                }
            }
        }
        Command::Requests(command) => {
            let ctx = connect()?;
            match command {
                RequestsCommand::List => requests::list(&ctx),
                RequestsCommand::Approve { request, code } => {
                    requests::approve(&ctx, &mut input, request, code)
                }
                RequestsCommand::Reject { request } => requests::reject(&ctx, &mut input, request),
            }
        }
        Command::Recovery(command) => {
            let ctx = connect()?;
            match command {
                RecoveryCommand::Create { out } => recovery::create(&ctx, &mut input, &out),
                RecoveryCommand::Reset { file } => recovery::reset(&ctx, &mut input, &file),
            }
        }
        Command::Status(args) => views::status(
            &connect()?,
            args.state.map(Into::into),
            args.role.map(Into::into),
            args.after,
            args.limit,
        ),
        Command::History { agent } => views::history(&connect()?, agent.as_deref()),
        Command::Unlock { frequency } => session::unlock(&connect()?, &mut input, frequency.into()),
        Command::Logout => session::logout(&connect()?),
        Command::Policy(PolicyCommand::Prompt { allow }) => {
            let allow: Vec<PromptFrequency> = allow.into_iter().map(Into::into).collect();
            session::policy(&connect()?, &mut input, &allow)
        }
        Command::Task(TaskCommand::Sign {
            kind,
            payload,
            lifetime,
            out: path,
        }) => task::sign(
            &connect()?,
            &mut input,
            &kind,
            &payload,
            lifetime,
            path.as_deref(),
        ),
        Command::Task(TaskCommand::Verify { file, payload }) => {
            task::verify(&connect()?, &file, payload.as_deref())
        }
        Command::Log(LogCommand::Export { out: path }) => {
            let ctx = connect()?;
            log::export(&ctx.client, &path, out)
        }
        Command::Log(LogCommand::Verify { root, file, server }) => {
            let entries = match file {
                Some(file) if !server => log::read_export(&file)?,
                _ => {
                    let profile = config.profile()?;
                    Client::of(&profile)?.log_from(zt_core::Seq(0))?.0
                }
            };
            log::verify(&root, &entries, out)
        }
    }
}
