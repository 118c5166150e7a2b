//! The operator's view of the durable job outbox (`crate::jobs`): list by status and kind, inspect,
//! retry a dead job, under `/api/admin/jobs`.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::clock::rfc3339;
use crate::jobs::store::{self, Job, JobStatus};
use crate::state::AppState;
use crate::web::auth::AdminAuth;
use crate::web::doc::AdminAuthErrors;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidQuery;

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
    if let Some(s) = &f.status
        && JobStatus::parse(s).is_none()
    {
        return Err(ApiError::validation(
            "status",
            "must be one of pending, running, done, dead",
        ));
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
    let job = store::get(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    if job.status != "dead" {
        return Err(ApiError::conflict(
            "status",
            format!("only dead jobs can be retried; this one is {}", job.status),
        ));
    }
    store::revive(&state.db, &id, state.clock.now_ms()).await?;
    state.job_wakeup.notify_waiters();
    let job = store::get(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok(ok(JobView::from(&job)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(retry))
}
