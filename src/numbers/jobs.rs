//! The provisioning and release jobs. Both re-read the tenant's row when they run and do nothing
//! when a later transition made them stale (their generation is not the row's any more).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::NumberError;
use super::ops::{self, Released};
use crate::jobs::{Job, JobError, JobHandler, JobKind, RetryPolicy};
use crate::state::AppState;

/// Job kind: acquire (adopt or buy) a number for a tenant.
pub const PROVISION_JOB: &str = "numbers.provision";
/// Job kind: release a canceled tenant's number once the grace period is over.
pub const RELEASE_JOB: &str = "numbers.release";

/// What both jobs carry: the tenant and the provisioning generation the job was queued for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberPayload {
    pub tenant_id: String,
    pub generation: i64,
}

impl JobKind for ProvisionJob {
    const KIND: &'static str = PROVISION_JOB;
    type Payload = NumberPayload;
}

impl JobKind for ReleaseJob {
    const KIND: &'static str = RELEASE_JOB;
    type Payload = NumberPayload;
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
        <Self as JobKind>::KIND
    }
    fn policy(&self) -> RetryPolicy {
        policy()
    }
    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let p = <Self as JobKind>::decode(job)?;
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
        <Self as JobKind>::KIND
    }
    fn policy(&self) -> RetryPolicy {
        policy()
    }
    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let p = <Self as JobKind>::decode(job)?;
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
