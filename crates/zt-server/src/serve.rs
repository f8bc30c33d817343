//! `zt-server serve`: the API on a socket, `/healthz`, `/metrics`, the outbox and the
//! replay-cache pruning in the background, and a graceful shutdown on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;
use zt_core::{HostKey, UnixTime};
use zt_http::{Api, ApiConfig, Clock, SystemClock};
use zt_store::{Ledger, Store};
use zt_store_sql::SqlStore;

use crate::accounts::{Accounts, TokenAuth};
use crate::db::ReplayKeys;
use crate::error::ServerError;
use crate::mail::{drain_outbox, Mailer};

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// How often the outbox is drained.
    pub outbox_interval: Duration,
    /// Seconds before the first retry of a failed mail (doubling after).
    pub mail_retry_seconds: u64,
    /// The API's limits and timeouts.
    pub api: ApiConfig,
}

#[derive(Clone)]
struct Ops {
    store: SqlStore,
    api: Api<SqlStore, TokenAuth>,
    /// Held for as long as the application is (the verifier lock, if any).
    _replay_keys: Arc<ReplayKeys>,
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(ops.store.pool()).await {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ok" })),
        ),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "database unreachable" })),
            )
        }
    }
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    let mut text = ops.api.metrics().render();
    let replay = ops.store.replay_stats();
    for (name, help, value) in [
        (
            "zt_replay_commits_total",
            "Group commits of task authorizations' replay keys.",
            replay.commits.to_string(),
        ),
        (
            "zt_replay_keys_total",
            "Replay keys answered by those commits.",
            replay.keys.to_string(),
        ),
        (
            "zt_replay_commit_seconds_total",
            "Time spent in those commits.",
            format!("{:.6}", replay.commit_time.as_secs_f64()),
        ),
        (
            "zt_replay_horizon_commits_total",
            "Replay horizons committed by this server, its database's one verifier (spec 9.5).",
            ops.api
                .ledger()
                .replay_horizon_commits()
                .unwrap_or(0)
                .to_string(),
        ),
    ] {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The whole application: the API under `/v1`, and `/healthz` and `/metrics`, spending
/// replay keys as `replay_keys` says (opened at `now`).
pub async fn app(
    store: SqlStore,
    host: HostKey,
    config: &ServeConfig,
    replay_keys: ReplayKeys,
    now: UnixTime,
) -> Result<(Router, Api<SqlStore, TokenAuth>), ServerError> {
    let ledger = Arc::new(match replay_keys {
        ReplayKeys::Shared => Ledger::new(store.clone(), host),
        ReplayKeys::Alone(_) => Ledger::with_replay_horizon(store.clone(), host, now).await?,
    });
    let auth = TokenAuth::new(Accounts::new(&store));
    let api = Api::new(ledger, auth, config.api);
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(Ops {
            store,
            api: api.clone(),
            _replay_keys: Arc::new(replay_keys),
        });
    Ok((zt_http::router(api.clone()).merge(ops), api))
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight. Prints the
/// address it listens on to standard output once it does.
pub async fn serve(
    store: SqlStore,
    host: HostKey,
    mailer: Mailer,
    config: ServeConfig,
    replay_keys: ReplayKeys,
) -> Result<(), ServerError> {
    let (app, _) = app(store.clone(), host, &config, replay_keys, SystemClock.now()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "zt-server listening on http://{address}")?;
        stdout.flush()?;
    }
    let (stop, stopped) = watch::channel(false);
    let background = tokio::spawn(background(
        store,
        mailer,
        config.outbox_interval,
        config.mail_retry_seconds,
        stopped,
    ));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await?;
    let _ = stop.send(true);
    let _ = background.await;
    tracing::info!("stopped");
    Ok(())
}

/// Drains the outbox and prunes expired replay keys and sessions until told to stop.
async fn background(
    store: SqlStore,
    mailer: Mailer,
    interval: Duration,
    retry_base: u64,
    mut stop: watch::Receiver<bool>,
) {
    let accounts = Accounts::new(&store);
    let clock = SystemClock;
    let mut ticks: u64 = 0;
    loop {
        match drain_outbox(&store, &accounts, &mailer, clock.now(), retry_base).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "mail sent"),
            Err(error) => tracing::warn!(%error, "outbox pass failed; will retry"),
        }
        if ticks.is_multiple_of(60) {
            if let Err(error) = store.prune_replay_keys(clock.now()).await {
                tracing::warn!(%error, "pruning the replay cache failed");
            }
        }
        ticks = ticks.wrapping_add(1);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
