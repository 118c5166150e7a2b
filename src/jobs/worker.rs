//! Job workers: the polling loop used by `serve`, and [`run_pending_jobs`], the deterministic
//! drain that tests use instead of sleeping.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use super::JobHost;
use super::retry::{self, Decision, JobError};
use super::store::{self, Job};
use crate::db::StoreError;
use crate::db::batch::{Batch, Keys};
use crate::db::writer::BatchUnit;

/// What a drain did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub succeeded: usize,
    pub retried: usize,
    pub dead: usize,
    /// Outcomes that could not be recorded because another worker took the job over.
    pub lost_leases: usize,
    /// Jobs put back to wait for their slot (not failures).
    pub deferred: usize,
}

impl RunSummary {
    pub fn ran(&self) -> usize {
        self.succeeded + self.retried + self.dead + self.lost_leases
    }
}

enum Outcome {
    Deferred,
    Succeeded,
    Retried,
    Dead,
    LostLease,
}

/// Runs one claimed job to an outcome and records it.
async fn execute<S: JobHost>(state: &S, job: Job) -> Result<Outcome, StoreError> {
    let db = state.db();
    let kind = job.kind.clone();
    let result = if job.attempts > job.max_attempts {
        // Only reachable when runs crashed mid-way until the lease expired each time.
        Err(JobError::permanent(format!(
            "gave up after {} attempts whose leases expired",
            job.max_attempts
        )))
    } else if let Some(handler) = state.registry().get(&job.kind) {
        // Stop before the lease runs out, so a slow run never overlaps a second worker's run.
        let budget = state
            .worker_settings()
            .lease
            .saturating_sub(Duration::from_secs(2))
            .max(Duration::from_secs(1));
        match tokio::time::timeout(budget, handler.run(state, &job)).await {
            Ok(r) => r,
            Err(_) => Err(JobError::retryable(format!(
                "timed out after {} s",
                budget.as_secs()
            ))),
        }
    } else {
        Err(JobError::permanent(format!(
            "no handler registered for job kind '{}'",
            job.kind
        )))
    };
    let now = state.now_ms();
    let outcome = match result {
        Ok(()) => {
            if complete(state, &job, now).await? {
                Outcome::Succeeded
            } else {
                Outcome::LostLease
            }
        }
        Err(err) => {
            let mut policy = state.registry().policy(&job.kind);
            policy.max_attempts = u32::try_from(job.max_attempts).unwrap_or(u32::MAX);
            let attempt = u32::try_from(job.attempts).unwrap_or(u32::MAX);
            let jitter: f64 = rand::rng().random();
            match retry::decide(&policy, attempt, &err, jitter) {
                Decision::RetryIn(ms) => {
                    tracing::warn!(job = %job.id, kind = %kind, attempt, error = %err, retry_in_ms = ms, "job failed; will retry");
                    if store::retry_at(db, &job, now, now + ms as i64, err.message()).await? {
                        Outcome::Retried
                    } else {
                        Outcome::LostLease
                    }
                }
                Decision::Defer(until) => {
                    if store::defer(db, &job, now, until.max(now)).await? {
                        Outcome::Deferred
                    } else {
                        Outcome::LostLease
                    }
                }
                Decision::Dead => {
                    tracing::error!(job = %job.id, kind = %kind, attempt, error = %err, "job dead");
                    if store::bury(db, &job, now, err.message()).await? {
                        Outcome::Dead
                    } else {
                        Outcome::LostLease
                    }
                }
            }
        }
    };
    let label = match outcome {
        Outcome::Succeeded => "done",
        Outcome::Retried => "retry",
        Outcome::Dead => "dead",
        Outcome::LostLease => "lost_lease",
        Outcome::Deferred => "deferred",
    };
    metrics::counter!("switchboard_jobs_total", "kind" => kind, "outcome" => label).increment(1);
    Ok(outcome)
}

/// Marks a job done; false when its lease was lost. Through the group writer when the host has
/// one: jobs finishing at about the same time (a drain runs many at once) then share one
/// transaction, instead of paying a commit each.
pub async fn complete<S: JobHost>(state: &S, job: &Job, now: i64) -> Result<bool, StoreError> {
    let (Some(writer), Some(lease_token)) = (state.writer(), job.lease_token.clone()) else {
        return store::complete(state.db(), job, now).await;
    };
    let unit = CompleteJob {
        id: job.id.clone(),
        lease_token,
        now,
    };
    writer.apply(&job.id, unit).await
}

/// A finished job's `done`, as a group-commit unit (see `db::writer`).
struct CompleteJob {
    id: String,
    lease_token: String,
    now: i64,
}

impl BatchUnit for CompleteJob {
    /// Whether the lease still held (false: another worker owns the job now).
    type Output = bool;

    fn keys(&self, keys: &mut Keys) {
        keys.jobs.push(self.id.clone());
    }

    fn apply(&self, batch: &mut Batch<'_>) -> Result<bool, StoreError> {
        Ok(batch.complete_job(&self.id, &self.lease_token, self.now))
    }
}

/// Claims up to `limit` due jobs and runs them concurrently.
pub async fn run_batch<S: JobHost>(state: &S, limit: usize) -> Result<RunSummary, StoreError> {
    let lease_ms = state.worker_settings().lease.as_millis() as i64;
    let jobs = store::claim(
        state.db(),
        state.now_ms(),
        lease_ms,
        limit as i64,
        &state.registry().kinds(),
    )
    .await?;
    let outcomes = futures::future::join_all(jobs.into_iter().map(|j| execute(state, j))).await;
    let mut summary = RunSummary::default();
    for o in outcomes {
        match o? {
            Outcome::Succeeded => summary.succeeded += 1,
            Outcome::Retried => summary.retried += 1,
            Outcome::Dead => summary.dead += 1,
            Outcome::LostLease => summary.lost_leases += 1,
            Outcome::Deferred => summary.deferred += 1,
        }
    }
    Ok(summary)
}

/// Runs every job that is due now, including ones that become due only because an earlier job in
/// this drain enqueued them, until none is left. Jobs scheduled in the future (retries, reminders)
/// stay put: advance the test clock and drain again.
pub async fn run_pending_jobs<S: JobHost>(state: &S) -> Result<RunSummary, StoreError> {
    let mut total = RunSummary::default();
    loop {
        let s = run_batch(state, state.worker_settings().concurrency).await?;
        if s.ran() == 0 {
            return Ok(total);
        }
        total.succeeded += s.succeeded;
        total.retried += s.retried;
        total.dead += s.dead;
        total.lost_leases += s.lost_leases;
        total.deferred += s.deferred;
    }
}

/// The worker loop of `serve`: drain due jobs, then wait for a wake-up (a local enqueue) or the poll
/// interval, until `shutdown`. A batch in flight finishes before the loop exits.
pub async fn work<S: JobHost>(state: S, shutdown: CancellationToken) {
    let settings = state.worker_settings();
    tracing::info!(concurrency = settings.concurrency, kinds = ?state.registry().kinds(), "job worker started");
    let mut backoff = settings.poll_interval;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        match run_batch(&state, settings.concurrency).await {
            Ok(s) if s.ran() > 0 => {
                backoff = settings.poll_interval;
                continue;
            }
            Ok(_) => backoff = settings.poll_interval,
            Err(e) => {
                // The database is unreachable: keep trying, but back off so logs stay readable.
                tracing::error!(error = %e, "job worker could not claim jobs");
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = state.wakeup().notified() => {}
            _ = tokio::time::sleep(backoff) => {}
        }
    }
    tracing::info!("job worker stopped");
}
