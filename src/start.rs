//! Start-up: connect, migrate, load secrets, register the job handlers, bootstrap tenants, then
//! serve HTTP and/or run workers until shutdown. `serve_http` takes an already-bound listener and a
//! shutdown token, so tests run the real app in-process on a port-0 listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::jwt::JwtKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db};
use crate::state::{AppState, Jobs};
use crate::twilio::TwilioContext;

/// What this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// HTTP API and background workers.
    All,
    /// HTTP API only.
    Api,
    /// Background workers only.
    Worker,
}

/// Registers every built-in job handler. Features add theirs here.
pub fn register_job_handlers(registry: &mut Jobs) {
    use crate::{appointments, events, messaging, numbers, recordings};
    registry.register(Arc::new(messaging::sender::SendNotification));
    registry.register(Arc::new(messaging::text_back::MissedCallTextBack));
    registry.register(Arc::new(events::deliver::Deliver));
    registry.register(Arc::new(appointments::reminders::ReminderJob));
    numbers::register(registry);
    recordings::register(registry);
}

impl AppState {
    /// Connects, migrates and prepares the state. `registry` holds the job handlers to run.
    pub async fn build(
        config: Config,
        clock: Clock,
        mut registry: Jobs,
    ) -> anyhow::Result<AppState> {
        let db = Db::connect_with_wal_reset(
            &config.db.url,
            config.db.max_connections,
            config.db.sqlite_wal_reset_mb,
        )
        .await
        .with_context(|| {
            format!(
                "cannot open database {}",
                crate::config::redact_url(&config.db.url)
            )
        })?;
        db.migrate().await.context("database migration failed")?;
        register_job_handlers(&mut registry);
        let secret = match &config.auth.jwt_secret {
            Some(s) => s.expose().to_string(),
            None => db::settings::get_or_init(&db, "jwt_secret", random_secret).await?,
        };
        let twilio = TwilioContext::from_config(&config)?;
        let config_recheck_ms = config.tenants.routing_cache_recheck.as_millis() as i64;
        let state = AppState::from(crate::state::AppStateFields {
            twilio,
            jwt: Arc::new(JwtKeys::new(secret.as_bytes()).with_issuer_and_audience(
                config.auth.jwt_issuer.clone(),
                config.auth.jwt_audience.clone(),
            )),
            writer: crate::db::writer::GroupWriter::start(&db, config.db.writers)?,
            clients: Arc::new(
                crate::http_clients::HttpClients::new(config.services.allow_private_destinations)
                    .context("HTTP clients")?,
            ),
            config: Arc::new(config),
            db,
            clock,
            jobs: Arc::new(registry),
            job_wakeup: Arc::new(Notify::new()),
            metrics: crate::telemetry::metrics_handle(),
            routing: Arc::new(crate::db::routing_cache::RoutingCache::new(
                config_recheck_ms,
            )),
        });
        crate::tenants::manage::ensure_single_business_tenant(&state)
            .await
            .map_err(|e| anyhow::anyhow!("single-business tenant: {}", e.describe()))?;
        crate::events::preset::ensure(&state)
            .await
            .context("as-call-service relay endpoint")?;
        Ok(state)
    }
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Serves HTTP on `listener` until `shutdown` is cancelled, then finishes in-flight requests.
pub async fn serve_http(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let router = crate::http::router(state);
    // Building the router (and with it the OpenAPI document) is the largest burst of allocation
    // in a server's life, a few MB, nearly all freed at once; give mimalloc's emptied pages back
    // now rather than keep them for an idle server (about 1 MB of its resident memory). A no-op
    // where mimalloc is not the allocator (tests).
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true)
    };
    // Without TCP_NODELAY, a response that leaves in two writes (hyper flushes the head before a
    // body that is not ready yet) waits for the client's delayed ACK, up to 40 ms, behind Nagle.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
    .context("HTTP server failed")
}

/// Runs the configured roles until `shutdown`.
pub async fn run(
    state: AppState,
    role: Role,
    listener: Option<TcpListener>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    if role != Role::Api {
        tasks.spawn(crate::jobs::worker::work(state.clone(), shutdown.clone()));
    }
    if role != Role::Worker {
        let listener = listener.context("the api role needs a listener")?;
        let (st, sd) = (state.clone(), shutdown.clone());
        tasks.spawn(async move {
            if let Err(e) = serve_http(st, listener, sd.clone()).await {
                tracing::error!(error = %e, "HTTP server stopped");
                sd.cancel();
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    state.db.close().await;
    Ok(())
}
