//! Durable jobs: the outbox every side effect goes through.
//!
//! A feature writes its business change and a [`NewJob`] in one transaction ([`store::enqueue`]);
//! workers ([`worker`]) claim due jobs with a lease, run the handler registered for the job's kind,
//! and record the outcome: done, retried later with backoff ([`retry`]), or dead with the last error.
//! A job row carries ids, not snapshots: handlers re-read current state when they run.

pub mod retry;
pub mod store;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

pub use retry::{JobError, RetryPolicy};
pub use store::{Job, NewJob};

use crate::app::AppState;

/// Runs one kind of job.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    /// The `kind` column value this handler owns, e.g. `sms.send`.
    fn kind(&self) -> &'static str;
    /// How failures of this kind are retried.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy::default()
    }
    /// Does the work. Must be idempotent: a crash after the effect but before the job is marked done
    /// runs it again.
    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError>;
}

/// Handlers by kind.
#[derive(Default, Clone)]
pub struct JobRegistry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl JobRegistry {
    pub fn register(&mut self, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(handler.kind(), handler);
    }
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
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
