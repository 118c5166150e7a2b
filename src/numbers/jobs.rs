//! The provisioning and release jobs. Both re-read the tenant's row when they run and do nothing
//! when a later transition made them stale (their generation is not the row's any more).

use std::time::Duration;

use serde::Deserialize;

use super::NumberError;
use super::ops::{self, Released};
use super::{PROVISION_JOB, RELEASE_JOB};
use crate::jobs::{Job, JobError, JobHandler, RetryPolicy};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    tenant_id: String,
    generation: i64,
}

fn payload(job: &Job) -> Result<Payload, JobError> {
    serde_json::from_str(&job.payload)
        .map_err(|e| JobError::permanent(format!("bad {} payload: {e}", job.kind)))
}

/// Provisioning keeps trying for about eight hours (1 min, 2, 4 … capped at an hour): numbers sell
/// out and come back, credentials get fixed. After that the job is dead, the row stays `failed`
/// with its reason, and an operator retries it (`POST …/provisioning/retry`).
fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        base: Duration::from_secs(60),
        cap: Duration::from_secs(60 * 60),
    }
}

/// `numbers.provision`: adopt or buy the tenant's number.
pub struct ProvisionJob;

#[async_trait::async_trait]
impl JobHandler<AppState> for ProvisionJob {
    fn kind(&self) -> &'static str {
        PROVISION_JOB
    }
    fn policy(&self) -> RetryPolicy {
        policy()
    }
    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let p = payload(job)?;
        match ops::provision(state, &p.tenant_id, Some(p.generation), None).await {
            Ok(_) | Err(NumberError::TenantGone) => Ok(()),
            Err(e) => Err(e.into_job_error()),
        }
    }
}

/// `numbers.release`: release a canceled tenant's number once its grace period is over.
pub struct ReleaseJob;

#[async_trait::async_trait]
impl JobHandler<AppState> for ReleaseJob {
    fn kind(&self) -> &'static str {
        RELEASE_JOB
    }
    fn policy(&self) -> RetryPolicy {
        policy()
    }
    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let p = payload(job)?;
        match ops::release(state, &p.tenant_id, Some(p.generation)).await {
            // The grace period was extended after the job was scheduled: come back then.
            Ok(Released::NotYet(ms)) => Err(JobError::Retryable {
                message: "the grace period is not over yet".into(),
                retry_after: Some(Duration::from_millis(ms.max(0) as u64)),
            }),
            Ok(_) | Err(NumberError::TenantGone) => Ok(()),
            Err(e) => Err(e.into_job_error()),
        }
    }
}
