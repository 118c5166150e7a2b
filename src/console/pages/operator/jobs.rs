//! The operator's jobs pages: `/console/operator/jobs` (one tab per status, dead letters first,
//! filterable by kind and tenant, keyset-paged), `/console/operator/jobs/{id}` (a job with its
//! payload and last error), and the retries: one dead job, or the dead jobs of one kind, through
//! the same use cases as `POST /api/admin/jobs/{id}/retry` and `POST /api/admin/jobs/retry-dead`.
//!
//! Payloads are shown whole, as the admin API shows them: they carry ids (and a caller's number for
//! a missed-call text), never secrets, because a job re-reads what it needs when it runs.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::console::auth::{Form, OperatorView};
use crate::console::render::{
    Chrome, ConsoleError, ConsoleResult, FormError, page, page_with_status,
};
use crate::failure::Failure;
use crate::jobs::store::{Job, JobStatus};
use crate::outbox::{self, JobPageQuery};
use crate::state::AppState;
use crate::tenants::health;

use super::{PAGE_SIZE, link, utc};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/operator/jobs", get(list))
        .route("/console/operator/jobs/retry-dead", post(retry_dead))
        .route("/console/operator/jobs/{id}", get(show))
        .route("/console/operator/jobs/{id}/retry", post(retry))
}

/// The tabs, in order: dead letters first, since they want an operator.
const TABS: [(&str, &str); 4] = [
    ("dead", "Dead letters"),
    ("pending", "Pending"),
    ("running", "Running"),
    ("done", "Done"),
];

struct Tab {
    href: String,
    label: &'static str,
    current: bool,
}

/// A job as a row of the list shows it.
struct Row {
    id: String,
    kind: String,
    tenant: Option<(String, String)>,
    attempts: String,
    last_error: String,
    run_at: String,
    updated: String,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    tenant: Option<String>,
    after: Option<String>,
    retried: Option<String>,
    remaining: Option<String>,
}

#[derive(Template)]
#[template(path = "console/operator/jobs.html")]
struct JobsPage {
    chrome: Chrome,
    tabs: Vec<Tab>,
    status: String,
    status_label: &'static str,
    kinds: Vec<String>,
    kind: String,
    tenant: String,
    tenant_name: Option<String>,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    notice: Option<String>,
    error: FormError,
}

impl JobsPage {
    fn is_kind(&self, k: &str) -> bool {
        self.kind == k
    }
}

async fn list(
    view: OperatorView,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ConsoleResult {
    let notice = q.retried.as_deref().map(|n| {
        let remaining = q.remaining.as_deref().unwrap_or("0");
        format!(
            "{n} dead job(s) of this kind were given fresh attempts and are pending again; {remaining} dead one(s) left."
        )
    });
    let p = jobs_page(&state, &view, &q, notice, FormError::default()).await?;
    Ok(page(&p))
}

async fn jobs_page(
    state: &AppState,
    view: &OperatorView,
    q: &ListQuery,
    notice: Option<String>,
    error: FormError,
) -> Result<JobsPage, ConsoleError> {
    let status_text = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("dead");
    let status = outbox::parse_status(status_text)?;
    let kind = q.kind.as_deref().filter(|k| !k.is_empty());
    let tenant = q.tenant.as_deref().filter(|t| !t.is_empty());
    let after = q.after.as_deref().filter(|a| !a.is_empty());
    let found = outbox::page(
        state,
        &status,
        JobPageQuery {
            kind,
            tenant_id: tenant,
            after,
            limit: PAGE_SIZE,
        },
    )
    .await?;
    let tenant_ids: Vec<&str> = found
        .jobs
        .iter()
        .filter_map(|j| j.tenant_id.as_deref())
        .chain(tenant)
        .collect();
    let names = health::names(state, &tenant_ids).await?;
    let filtered = |status: &str, after: Option<&str>| {
        link(
            "/console/operator/jobs",
            &[
                ("status", Some(status)),
                ("kind", kind),
                ("tenant", tenant),
                ("after", after),
            ],
        )
    };
    let rows = found
        .jobs
        .iter()
        .map(|j| Row {
            id: j.id.clone(),
            kind: j.kind.clone(),
            tenant: j.tenant_id.as_ref().map(|t| {
                (
                    t.clone(),
                    names.get(t).cloned().unwrap_or_else(|| t.clone()),
                )
            }),
            attempts: format!("{} / {}", j.attempts, j.max_attempts),
            last_error: j.last_error.clone().unwrap_or_default(),
            run_at: utc(j.run_at),
            updated: utc(j.updated_at),
        })
        .collect();
    let mut kinds: Vec<String> = state.jobs.kinds().into_iter().map(String::from).collect();
    if let Some(k) = kind
        && !kinds.iter().any(|x| x == k)
    {
        // A kind no handler of this build runs still filters (rows queued by another version).
        kinds.push(k.to_string());
    }
    Ok(JobsPage {
        chrome: view.chrome("Jobs", "jobs"),
        tabs: TABS
            .iter()
            .map(|(s, label)| Tab {
                href: filtered(s, None),
                label,
                current: *s == status.as_str(),
            })
            .collect(),
        status_label: TABS
            .iter()
            .find(|(s, _)| *s == status.as_str())
            .map_or("", |(_, l)| l),
        status: status.as_str().to_string(),
        kinds,
        kind: kind.unwrap_or_default().to_string(),
        tenant_name: tenant.map(|t| names.get(t).cloned().unwrap_or_else(|| t.to_string())),
        tenant: tenant.unwrap_or_default().to_string(),
        rows,
        next: found
            .next
            .as_deref()
            .map(|n| filtered(status.as_str(), Some(n))),
        first: after.map(|_| filtered(status.as_str(), None)),
        notice,
        error,
    })
}

/// Retries the dead jobs of the kind posted (up to `outbox::RETRY_DEAD_BATCH` a press).
async fn retry_dead(
    view: OperatorView,
    State(state): State<AppState>,
    form: Form,
) -> ConsoleResult {
    let kind = form.get("kind").unwrap_or("");
    match outbox::retry_dead(&state, kind).await {
        Ok(r) => Ok(Redirect::to(&link(
            "/console/operator/jobs",
            &[
                ("status", Some("dead")),
                ("kind", Some(&r.kind)),
                ("retried", Some(&r.retried.to_string())),
                ("remaining", Some(&r.remaining.to_string())),
            ],
        ))
        .into_response()),
        Err(f) => {
            let error = FormError::from_failure(f);
            let q = ListQuery {
                status: Some("dead".into()),
                kind: Some(kind.to_string()),
                ..ListQuery::default()
            };
            let status = error.http_status();
            let p = jobs_page(&state, &view, &q, None, error).await?;
            Ok(page_with_status(status, &p))
        }
    }
}

#[derive(Template)]
#[template(path = "console/operator/job.html")]
struct JobPage {
    chrome: Chrome,
    id: String,
    kind: String,
    status: String,
    status_class: &'static str,
    tenant: Option<(String, String)>,
    attempts: String,
    run_at: String,
    created: String,
    updated: String,
    finished: Option<String>,
    dedupe_key: Option<String>,
    last_error: Option<String>,
    payload: String,
    dead: bool,
    notice: Option<&'static str>,
    error: FormError,
}

async fn job_page(
    state: &AppState,
    view: &OperatorView,
    job: Job,
    notice: Option<&'static str>,
    error: FormError,
) -> Result<JobPage, ConsoleError> {
    let tenant = match &job.tenant_id {
        Some(t) => {
            let names = health::names(state, &[t.as_str()]).await?;
            Some((
                t.clone(),
                names.get(t).cloned().unwrap_or_else(|| t.clone()),
            ))
        }
        None => None,
    };
    let payload = serde_json::from_str::<serde_json::Value>(&job.payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| job.payload.clone());
    let status_class = match JobStatus::parse(&job.status) {
        Some(JobStatus::Done) => "pill-ok",
        Some(JobStatus::Dead) => "pill-bad",
        Some(JobStatus::Running) => "pill-info",
        _ => "pill-warn",
    };
    Ok(JobPage {
        chrome: view.chrome(format!("Job {}", job.kind), "jobs"),
        status_class,
        dead: job.status == "dead",
        tenant,
        attempts: format!("{} of {}", job.attempts, job.max_attempts),
        run_at: utc(job.run_at),
        created: utc(job.created_at),
        updated: utc(job.updated_at),
        finished: job.finished_at.map(utc),
        payload,
        id: job.id,
        kind: job.kind,
        status: job.status,
        dedupe_key: job.dedupe_key,
        last_error: job.last_error,
        notice,
        error,
    })
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    retried: Option<String>,
}

async fn show(
    view: OperatorView,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> ConsoleResult {
    let job = crate::jobs::store::get(&state.db, &id)
        .await?
        .ok_or_else(ConsoleError::not_found)?;
    let notice = q
        .retried
        .is_some()
        .then_some("The job was given a fresh set of attempts and is pending again, due now.");
    Ok(page(
        &job_page(&state, &view, job, notice, FormError::default()).await?,
    ))
}

/// Retries one dead job, as `POST /api/admin/jobs/{id}/retry`.
async fn retry(
    view: OperatorView,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: Form,
) -> ConsoleResult {
    match outbox::retry_job(&state, &id).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/console/operator/jobs/{id}?retried=1")).into_response())
        }
        Err(f @ Failure::NotFound { .. }) => Err(f.into()),
        Err(f) => {
            let error = FormError::from_failure(f);
            let status = error.http_status();
            let job = crate::jobs::store::get(&state.db, &id)
                .await?
                .ok_or_else(ConsoleError::not_found)?;
            Ok(page_with_status(
                status,
                &job_page(&state, &view, job, None, error).await?,
            ))
        }
    }
}
