//! The application state: what every request handler and job is given. Built at start-up
//! (`crate::start`); cheap to clone.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::auth::jwt::JwtKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{Db, StoreError, Tx};
use crate::jobs::{JobHost, JobRegistry, NewJob, WorkerSettings};
use crate::twilio::TwilioContext;

/// The job handlers of this application, which run with [`AppState`].
pub type Jobs = JobRegistry<AppState>;

/// Everything a request handler or job needs, behind one [`Arc`]: axum clones the state for every
/// extractor of every request, and a clone of the fields themselves (a dozen reference counts, each
/// bumped and dropped again) showed in the webhook profile; one count is one atomic operation.
/// Reads go through [`Deref`](std::ops::Deref); a change (tests only) copies the fields first
/// if the state is shared ([`Arc::make_mut`]).
#[derive(Clone)]
pub struct AppState(Arc<AppStateFields>);

impl std::ops::Deref for AppState {
    type Target = AppStateFields;
    fn deref(&self) -> &AppStateFields {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut AppStateFields {
        Arc::make_mut(&mut self.0)
    }
}

impl From<AppStateFields> for AppState {
    fn from(fields: AppStateFields) -> Self {
        AppState(Arc::new(fields))
    }
}

/// What [`AppState`] holds. Each field is itself cheap to clone.
#[derive(Clone)]
pub struct AppStateFields {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Clock,
    pub jobs: Arc<Jobs>,
    /// Wakes this instance's idle workers when a job is enqueued locally.
    pub job_wakeup: Arc<Notify>,
    pub jwt: Arc<JwtKeys>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Live Twilio or the embedded sandbox.
    pub twilio: TwilioContext,
    /// Tenants by number and staff lists for the webhooks (see `db::routing_cache`).
    pub routing: Arc<crate::db::routing_cache::RoutingCache>,
    /// Group commit for the webhooks' writes (see `db::writer`).
    pub writer: crate::db::writer::GroupWriter,
    /// Clients for the services Switchboard calls (relay, lookup, AI, transcription).
    pub clients: Arc<crate::http_clients::HttpClients>,
}

impl AppState {
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

impl JobHost for AppState {
    fn db(&self) -> &Db {
        &self.db
    }
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
    fn registry(&self) -> &Jobs {
        &self.jobs
    }
    fn worker_settings(&self) -> WorkerSettings {
        WorkerSettings {
            concurrency: self.config.jobs.concurrency,
            poll_interval: self.config.jobs.poll_interval,
            lease: self.config.jobs.lease,
        }
    }
    fn wakeup(&self) -> &Notify {
        &self.job_wakeup
    }
    fn writer(&self) -> Option<&crate::db::writer::GroupWriter> {
        Some(&self.writer)
    }
}
