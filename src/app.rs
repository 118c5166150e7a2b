//! Application state and start-up: connect, migrate, load secrets, bootstrap tenants, then serve
//! HTTP and/or run workers until shutdown. `serve` takes an already-bound listener and a shutdown
//! token, so tests run the real app in-process on a port-0 listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::jwt::JwtKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db, Tx};
use crate::error::StoreError;
use crate::http::rate_limit::RateLimiter;
use crate::jobs::{JobRegistry, NewJob};
use crate::twilio::TwilioContext;

/// Everything a request handler or job needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Clock,
    pub jobs: Arc<JobRegistry>,
    /// Wakes this instance's idle workers when a job is enqueued locally.
    pub job_wakeup: Arc<Notify>,
    pub jwt: Arc<JwtKeys>,
    pub rate_limiter: Arc<RateLimiter>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Live Twilio or the embedded sandbox.
    pub twilio: TwilioContext,
    /// Tenants by number and staff lists for the webhooks (see `db::routing_cache`).
    pub routing: Arc<crate::db::routing_cache::RoutingCache>,
    /// Group commit for the webhooks' writes (see `db::writer`).
    pub writer: crate::db::writer::GroupWriter,
}

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

impl AppState {
    /// Connects, migrates and prepares the state. `registry` holds the job handlers to run.
    pub async fn build(
        config: Config,
        clock: Clock,
        mut registry: JobRegistry,
    ) -> anyhow::Result<AppState> {
        let db = Db::connect(&config.database_url, config.db_max_connections)
            .await
            .with_context(|| {
                format!(
                    "cannot open database {}",
                    crate::config::redact_url(&config.database_url)
                )
            })?;
        db.migrate().await.context("database migration failed")?;
        crate::register_job_handlers(&mut registry);
        let secret = match &config.jwt_secret {
            Some(s) => s.expose().to_string(),
            None => db::settings::get_or_init(&db, "jwt_secret", random_secret).await?,
        };
        let twilio = TwilioContext::from_config(&config)?;
        let config_recheck_ms = config.routing_cache_recheck.as_millis() as i64;
        let state =
            AppState {
                twilio,
                jwt: Arc::new(JwtKeys::new(secret.as_bytes()).with_issuer_and_audience(
                    config.jwt_issuer.clone(),
                    config.jwt_audience.clone(),
                )),
                rate_limiter: Arc::new(RateLimiter::new(&config)),
                writer: crate::db::writer::GroupWriter::start(&db, config.db_writers)?,
                config: Arc::new(config),
                db,
                clock,
                jobs: Arc::new(registry),
                job_wakeup: Arc::new(Notify::new()),
                metrics: crate::http::health::metrics_handle(),
                routing: Arc::new(crate::db::routing_cache::RoutingCache::new(
                    config_recheck_ms,
                )),
            };
        crate::service::tenants::ensure_single_business_tenant(&state)
            .await
            .map_err(|e| anyhow::anyhow!("single-business tenant: {}", e.message))?;
        crate::events::preset::ensure(&state)
            .await
            .context("as-call-service relay endpoint")?;
        Ok(state)
    }

    /// Adds `job` to the outbox inside `tx`, the caller's transaction.
    pub async fn enqueue(&self, tx: &mut Tx, job: NewJob) -> Result<Option<String>, StoreError> {
        let max = self.jobs.policy(&job.kind).max_attempts;
        crate::jobs::store::enqueue(tx, self.clock.now_ms(), max, job).await
    }

    /// `job` as an outbox row for a group-commit batch to write (see `db::batch`).
    pub fn pending_job(&self, job: NewJob) -> crate::db::batch::PendingJob {
        let max = self.jobs.policy(&job.kind).max_attempts;
        crate::jobs::store::pending(self.clock.now_ms(), max, job)
    }

    /// Enqueues `job` in a transaction of its own and wakes local workers.
    pub async fn enqueue_now(&self, job: NewJob) -> Result<Option<String>, StoreError> {
        let mut tx = self.db.begin().await?;
        let id = self.enqueue(&mut tx, job).await?;
        tx.commit().await?;
        self.job_wakeup.notify_waiters();
        Ok(id)
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
    let router = crate::http::router(state);
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
