//! Durable jobs: the outbox every side effect goes through.
//!
//! A feature writes its business change and a [`NewJob`] in one transaction ([`store::enqueue`]);
//! workers ([`worker`]) claim due jobs with a lease, run the handler registered for the job's kind,
//! and record the outcome: done, retried later with backoff ([`retry`]), or dead with the last error.
//! A job row carries ids, not snapshots: handlers re-read current state when they run.

pub mod kind;
pub mod retry;
pub mod store;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

pub use kind::JobKind;
pub use retry::{JobError, RetryPolicy};
pub use store::{Job, NewJob};

use tokio::sync::Notify;

use crate::db::Db;
use crate::db::writer::GroupWriter;

/// What a worker needs from the state it runs jobs with. The job runner knows nothing else of the
/// application: the state (`crate::state::AppState`) implements this, and handlers receive it whole.
pub trait JobHost: Clone + Send + Sync + 'static {
    fn db(&self) -> &Db;
    fn now_ms(&self) -> i64;
    fn registry(&self) -> &JobRegistry<Self>;
    fn worker_settings(&self) -> WorkerSettings;
    /// Notified when a job is enqueued by this process.
    fn wakeup(&self) -> &Notify;
    /// The group writer that records finished jobs, many in one transaction (see
    /// `worker::CompleteJob`); `None` records each job in a transaction of its own.
    fn writer(&self) -> Option<&GroupWriter> {
        None
    }
}

/// The worker's settings (`WORKER_CONCURRENCY`, `JOB_POLL_INTERVAL_MS`, `JOB_LEASE_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub poll_interval: std::time::Duration,
    pub lease: std::time::Duration,
}

/// Runs one kind of job with state `S`.
#[async_trait::async_trait]
pub trait JobHandler<S>: Send + Sync {
    /// The `kind` column value this handler owns, e.g. `sms.send`.
    fn kind(&self) -> &'static str;
    /// How failures of this kind are retried.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy::default()
    }
    /// Does the work. Must be idempotent: a crash after the effect but before the job is marked done
    /// runs it again.
    async fn run(&self, state: &S, job: &Job) -> Result<(), JobError>;
}

/// Handlers by kind.
pub struct JobRegistry<S> {
    handlers: HashMap<&'static str, Arc<dyn JobHandler<S>>>,
}

impl<S> Default for JobRegistry<S> {
    fn default() -> Self {
        JobRegistry {
            handlers: HashMap::new(),
        }
    }
}

impl<S> Clone for JobRegistry<S> {
    fn clone(&self) -> Self {
        JobRegistry {
            handlers: self.handlers.clone(),
        }
    }
}

impl<S> JobRegistry<S> {
    pub fn register(&mut self, handler: Arc<dyn JobHandler<S>>) {
        self.handlers.insert(handler.kind(), handler);
    }
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn JobHandler<S>>> {
        self.handlers.get(kind)
    }
    /// The retry policy for `kind`; the default for kinds nobody registered.
    pub fn policy(&self, kind: &str) -> RetryPolicy {
        self.get(kind).map(|h| h.policy()).unwrap_or_default()
    }
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.handlers.keys().copied().collect();
        k.sort_unstable();
        k
    }
}
