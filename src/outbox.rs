//! The operator's view of the durable job outbox (`crate::jobs`): list by status and kind, inspect,
//! retry a dead job or every dead job of a kind, under `/api/admin/jobs` and on the console's
//! jobs pages, which call the same use cases ([`retry_job`], [`retry_dead`], [`page`]).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::clock::rfc3339;
use crate::failure::Failure;
use crate::jobs::store::{self, After, Job, JobStatus};
use crate::state::AppState;
use crate::web::auth::AdminAuth;
use crate::web::doc::{AdminAuthErrors, JsonBodyErrors};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};

/// A job status as a filter, or the API's refusal naming `status`.
pub fn parse_status(s: &str) -> Result<JobStatus, Failure> {
    JobStatus::parse(s)
        .ok_or_else(|| Failure::invalid("status", "must be one of pending, running, done, dead"))
}

/// Gives the dead job `id` a fresh set of attempts, due now, and wakes the workers. 404 when
/// there is no such job, 409 when it is not dead.
pub async fn retry_job(state: &AppState, id: &str) -> Result<Job, Failure> {
    let job = store::get(&state.db, id)
        .await?
        .ok_or_else(|| Failure::not_found("job"))?;
    if job.status != "dead" {
        return Err(Failure::conflict(
            "status",
            format!("only dead jobs can be retried; this one is {}", job.status),
        ));
    }
    store::revive(&state.db, id, state.clock.now_ms()).await?;
    state.job_wakeup.notify_waiters();
    store::get(&state.db, id)
        .await?
        .ok_or_else(|| Failure::not_found("job"))
}

/// How many dead jobs one [`retry_dead`] revives at most; call again for more.
pub const RETRY_DEAD_BATCH: i64 = 500;

/// What [`retry_dead`] did.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetriedDead {
    pub kind: String,
    /// Dead jobs given a fresh set of attempts, due now (at most 500 per call).
    pub retried: u64,
    /// Dead jobs of this kind still left (call again to retry them too).
    pub remaining: i64,
}

/// Gives up to [`RETRY_DEAD_BATCH`] dead jobs of `kind` a fresh set of attempts (the ones that
/// died first), due now, and wakes the workers.
pub async fn retry_dead(state: &AppState, kind: &str) -> Result<RetriedDead, Failure> {
    let kind = kind.trim();
    if kind.is_empty() || kind.len() > 100 {
        return Err(Failure::invalid(
            "kind",
            "must name a job kind, e.g. notification.send",
        ));
    }
    let retried =
        store::revive_kind(&state.db, kind, state.clock.now_ms(), RETRY_DEAD_BATCH).await?;
    if retried > 0 {
        state.job_wakeup.notify_waiters();
    }
    Ok(RetriedDead {
        kind: kind.to_string(),
        retried,
        remaining: store::count(&state.db, Some("dead"), Some(kind)).await?,
    })
}

/// A page of jobs in one status, in keyset order (see [`store::page`]).
#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// Which jobs [`page`] lists.
#[derive(Debug, Clone, Default)]
pub struct JobPageQuery<'a> {
    pub kind: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    /// The `next` cursor of the page before.
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// Up to `q.limit` jobs in `status` after the cursor `q.after`, for browsing a queue of any
/// length (the console's jobs pages). A cursor that is not one is refused, naming `after`.
pub async fn page(
    state: &AppState,
    status: &JobStatus,
    q: JobPageQuery<'_>,
) -> Result<JobPage, Failure> {
    let after = q.after.map(parse_cursor).transpose()?;
    let limit = q.limit.clamp(1, 500);
    let mut jobs = store::page(
        &state.db,
        status,
        q.kind,
        q.tenant_id,
        after.as_ref(),
        limit + 1,
    )
    .await?;
    let next = if jobs.len() as i64 > limit {
        jobs.truncate(limit as usize);
        jobs.last().map(|j| format!("{}.{}", j.run_at, j.id))
    } else {
        None
    };
    Ok(JobPage { jobs, next })
}

fn parse_cursor(s: &str) -> Result<After, Failure> {
    s.split_once('.')
        .and_then(|(at, id)| {
            Some(After {
                run_at: at.parse().ok()?,
                id: id.to_string(),
            })
        })
        .filter(|a| !a.id.is_empty())
        .ok_or_else(|| {
            Failure::invalid(
                "after",
                "is not a position in this list; start from the first page",
            )
        })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub tenant_id: Option<String>,
    /// The job's input (ids, not snapshots).
    pub payload: serde_json::Value,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        JobView {
            id: j.id.clone(),
            kind: j.kind.clone(),
            status: j.status.clone(),
            tenant_id: j.tenant_id.clone(),
            payload: serde_json::from_str(&j.payload).unwrap_or(serde_json::Value::Null),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: rfc3339(j.run_at),
            last_error: j.last_error.clone(),
            created_at: rfc3339(j.created_at),
            updated_at: rfc3339(j.updated_at),
            finished_at: j.finished_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// pending, running, done or dead.
    #[param(schema_with = crate::domain::query_values::job_status)]
    pub status: Option<String>,
    /// Job kind, e.g. sms.send.
    pub kind: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Jobs, newest first.
#[utoipa::path(get, path = "/api/admin/jobs", operation_id = "admin_jobs_list", tag = "admin", security(("admin" = [])), params(JobFilter),
    responses((status = 200, description = "Success", body = Envelope<JobList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidQuery(f): ValidQuery<JobFilter>,
) -> Result<Json<Envelope<JobList>>, ApiError> {
    if let Some(s) = &f.status {
        parse_status(s)?;
    }
    let page = crate::web::envelope::Page {
        limit: f.limit.unwrap_or(50),
        offset: f.offset.unwrap_or(0),
    }
    .validate()?;
    let (jobs, total) = store::list(
        &state.db,
        f.status.as_deref(),
        f.kind.as_deref(),
        page.limit,
        page.offset,
    )
    .await?;
    Ok(ok(JobList {
        jobs: jobs.iter().map(JobView::from).collect(),
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// One job.
#[utoipa::path(get, path = "/api/admin/jobs/{id}", operation_id = "admin_jobs_show", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<JobView>),
        (status = 404, description = "No such job", body = ErrorEnvelope), AdminAuthErrors))]
async fn show(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<JobView>>, ApiError> {
    let job = store::get(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok(ok(JobView::from(&job)))
}

/// Give a dead job a fresh set of attempts, due now.
#[utoipa::path(post, path = "/api/admin/jobs/{id}/retry", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Success", body = Envelope<JobView>),
        (status = 404, description = "No such job", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with the current state; `error.code` says how", body = ErrorEnvelope),
        AdminAuthErrors))]
async fn retry(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<JobView>>, ApiError> {
    Ok(ok(JobView::from(&retry_job(&state, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryDead {
    /// The kind whose dead jobs to retry, e.g. `notification.send`.
    pub kind: String,
}

/// Give up to 500 dead jobs of one kind (those that died first) a fresh set of attempts, due now;
/// `remaining` says how many are left for another call.
#[utoipa::path(post, path = "/api/admin/jobs/retry-dead", tag = "admin", security(("admin" = [])),
    request_body = RetryDead,
    responses((status = 200, description = "Success", body = Envelope<RetriedDead>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        AdminAuthErrors, JsonBodyErrors))]
async fn retry_dead_of_kind(
    _: AdminAuth,
    State(state): State<AppState>,
    ValidJson(req): ValidJson<RetryDead>,
) -> Result<Json<Envelope<RetriedDead>>, ApiError> {
    Ok(ok(retry_dead(&state, &req.kind).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(retry))
        .routes(routes!(retry_dead_of_kind))
}
