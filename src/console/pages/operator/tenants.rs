//! The operator's tenant pages: `/console/operator/tenants` (the operator's start page: totals,
//! then every tenant with its health, searchable and filterable to the unhealthy ones) and
//! `/console/operator/tenants/{id}` (one tenant's health, number provisioning and relay
//! endpoints), with the two things an operator does for a tenant: issue a business sign-in link
//! to hand over (shown once), and retry a failed provisioning. Both are the API's use cases
//! (`console::session::issue_link`, `numbers::request_number`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::console::auth::{Form, OperatorView};
use crate::console::render::{
    Chrome, ConsoleError, ConsoleResult, FormError, page, page_with_status,
};
use crate::console::session;
use crate::failure::Failure;
use crate::numbers::{self, ProvisioningState};
use crate::state::AppState;
use crate::tenants::health::{self, HealthQuery, HealthSummary, TenantHealth};

use super::{PAGE_SIZE, is_htmx, link, utc};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/operator/tenants", get(list))
        .route("/console/operator/tenants/{id}", get(show))
        .route(
            "/console/operator/tenants/{id}/sign-in-link",
            post(issue_sign_in_link),
        )
        .route(
            "/console/operator/tenants/{id}/provisioning/retry",
            post(retry_provisioning),
        )
}

/// Something wrong with a tenant, with where to look into it.
struct Issue {
    text: String,
    href: String,
}

/// A tenant as its row (and the top of its page) shows it.
struct Row {
    id: String,
    name: String,
    slug: String,
    number: String,
    subscription: String,
    subscription_class: &'static str,
    zone: String,
    provisioning: &'static str,
    provisioning_class: &'static str,
    issues: Vec<Issue>,
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Words and pill class of a provisioning state.
fn provisioning_label(s: ProvisioningState) -> (&'static str, &'static str) {
    match s {
        ProvisioningState::None => ("Not started", ""),
        ProvisioningState::Provisioning => ("Provisioning", "pill-info"),
        ProvisioningState::Active => ("Active", "pill-ok"),
        ProvisioningState::Releasing => ("Releasing", "pill-warn"),
        ProvisioningState::Released => ("Released", ""),
        ProvisioningState::Failed => ("Failed", "pill-bad"),
    }
}

impl From<TenantHealth> for Row {
    fn from(t: TenantHealth) -> Self {
        let detail = format!("/console/operator/tenants/{}", t.id);
        let mut issues = Vec::new();
        if t.provisioning == ProvisioningState::Failed {
            let mut text = "Provisioning failed".to_string();
            if let Some(r) = &t.provisioning_reason {
                text.push_str(": ");
                text.push_str(r);
            }
            if let Some(code) = t.twilio_code {
                text.push_str(&format!(" (Twilio error {code})"));
            }
            issues.push(Issue {
                text,
                href: format!("{detail}#provisioning"),
            });
        }
        if t.dead_jobs > 0 {
            issues.push(Issue {
                text: plural(t.dead_jobs, "dead job", "dead jobs"),
                href: link(
                    "/console/operator/jobs",
                    &[("status", Some("dead")), ("tenant", Some(&t.id))],
                ),
            });
        }
        if t.failing_endpoints > 0 {
            issues.push(Issue {
                text: plural(
                    t.failing_endpoints,
                    "failing relay endpoint",
                    "failing relay endpoints",
                ),
                href: format!("{detail}#endpoints"),
            });
        }
        let subscription_class = match t.subscription_status.as_str() {
            "ACTIVE" | "TRIALING" => "pill-ok",
            "PAST_DUE" | "UNPAID" | "INCOMPLETE" => "pill-warn",
            "CANCELED" | "INCOMPLETE_EXPIRED" => "pill-bad",
            _ => "",
        };
        let (provisioning, provisioning_class) = provisioning_label(t.provisioning);
        Row {
            subscription: t.subscription_status.to_lowercase().replace('_', " "),
            subscription_class,
            number: t.phone_number.clone().unwrap_or_else(|| "—".into()),
            provisioning,
            provisioning_class,
            issues,
            id: t.id,
            name: t.name,
            slug: t.slug,
            zone: t.time_zone,
        }
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    unhealthy: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "console/operator/tenants.html")]
struct TenantsPage {
    chrome: Chrome,
    summary: HealthSummary,
    rows: Vec<Row>,
    q: String,
    unhealthy: bool,
    /// Where the next page is, if there is one.
    next: Option<String>,
    /// Where the first page is, when this is a later one.
    first: Option<String>,
    error: FormError,
}

async fn list(
    view: OperatorView,
    State(state): State<AppState>,
    Query(f): Query<ListQuery>,
) -> ConsoleResult {
    let q = f.q.unwrap_or_default();
    let unhealthy = f.unhealthy.is_some_and(|v| !v.is_empty());
    let after = f.after.as_deref().filter(|a| !a.is_empty());
    let summary = health::summary(&state).await?;
    let query = HealthQuery {
        search: Some(q.as_str()),
        unhealthy_only: unhealthy,
        after,
        limit: PAGE_SIZE,
    };
    let filters = |after: Option<&str>| {
        link(
            "/console/operator/tenants",
            &[
                ("q", Some(q.as_str())),
                ("unhealthy", unhealthy.then_some("1")),
                ("after", after),
            ],
        )
    };
    let (rows, next, error) = match health::page(&state, query).await {
        Ok(p) => (
            p.tenants.into_iter().map(Row::from).collect(),
            p.next.as_deref().map(|n| filters(Some(n))),
            FormError::default(),
        ),
        Err(e @ Failure::Invalid { .. }) => (Vec::new(), None, FormError::from_failure(e)),
        Err(e) => return Err(e.into()),
    };
    let page_ = TenantsPage {
        chrome: view.chrome("Tenants", "tenants"),
        summary,
        rows,
        first: after.map(|_| filters(None)),
        next,
        q: q.clone(),
        unhealthy,
        error,
    };
    if page_.error.message.is_empty() {
        Ok(page(&page_))
    } else {
        Ok(page_with_status(page_.error.http_status(), &page_))
    }
}

/// A sign-in link just issued, shown this once.
struct IssuedLink {
    url: String,
    expires: String,
}

/// The tenant's provisioning as its page shows it.
struct ProvisioningFacts {
    reason: Option<String>,
    twilio_code: Option<i64>,
    attempts: i64,
    last_attempt: Option<String>,
    job_id: Option<String>,
    job_status: String,
}

struct EndpointRow {
    id: String,
    url: String,
    state: &'static str,
    class: &'static str,
    reason: String,
}

#[derive(Template)]
#[template(path = "console/operator/tenant.html")]
struct TenantPage {
    chrome: Chrome,
    tenant: Row,
    provisioning: ProvisioningFacts,
    can_retry: bool,
    endpoints: Vec<EndpointRow>,
    notice: Option<&'static str>,
    /// A refused provisioning retry.
    error: FormError,
    /// The sign-in-link slot: `tenant_id`, and the link when one was just issued.
    tenant_id: String,
    link: Option<IssuedLink>,
}

/// The sign-in-link slot alone, for htmx to swap in.
#[derive(Template)]
#[template(path = "console/operator/link_slot.html")]
struct LinkSlot {
    chrome: Chrome,
    tenant_id: String,
    link: Option<IssuedLink>,
}

/// An RFC 3339 instant as `2026-12-04 14:03` UTC.
fn utc_text(s: &str) -> String {
    s.parse::<jiff::Timestamp>()
        .map(|t| utc(t.as_millisecond()))
        .unwrap_or_else(|_| s.to_string())
}

async fn tenant_page(
    state: &AppState,
    view: &OperatorView,
    id: &str,
    error: FormError,
    link: Option<IssuedLink>,
    notice: Option<&'static str>,
) -> Result<TenantPage, ConsoleError> {
    let t = crate::db::tenants::get(&state.db, id)
        .await?
        .ok_or_else(ConsoleError::not_found)?;
    let h = health::of(state, id).await?;
    let can_retry = h.provisioning == ProvisioningState::Failed;
    let p = numbers::view(state, &t).await?;
    let endpoints = health::endpoints(state, id)
        .await?
        .into_iter()
        .map(|e| {
            let (state, class) = match (e.enabled, e.failing) {
                (false, _) => ("Disabled", "pill-bad"),
                (true, true) => ("Failing", "pill-warn"),
                (true, false) => ("Working", "pill-ok"),
            };
            EndpointRow {
                id: e.id,
                url: e.url,
                state,
                class,
                reason: e.disabled_reason.unwrap_or_default(),
            }
        })
        .collect();
    Ok(TenantPage {
        chrome: view.chrome(t.name.clone(), "tenants"),
        tenant: Row::from(h),
        provisioning: ProvisioningFacts {
            reason: p.reason,
            twilio_code: p.twilio_code,
            attempts: p.attempts,
            last_attempt: p.last_attempt_at.as_deref().map(utc_text),
            job_status: p
                .job
                .as_ref()
                .map(|j| {
                    format!(
                        "{} ({} of {} attempts)",
                        j.status, j.attempts, j.max_attempts
                    )
                })
                .unwrap_or_default(),
            job_id: p.job.map(|j| j.id),
        },
        can_retry,
        endpoints,
        notice,
        error,
        tenant_id: t.id,
        link,
    })
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    done: Option<String>,
}

async fn show(
    view: OperatorView,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> ConsoleResult {
    let notice = match q.done.as_deref() {
        Some("provisioning") => Some("Provisioning started again with fresh attempts."),
        _ => None,
    };
    let p = tenant_page(&state, &view, &id, FormError::default(), None, notice).await?;
    Ok(page(&p))
}

/// Issues a business sign-in link for the tenant and shows it once (the page is not cached).
async fn issue_sign_in_link(
    view: OperatorView,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    _: Form,
) -> ConsoleResult {
    let issued = session::issue_link(&state, &id).await?;
    let link = IssuedLink {
        url: issued.url,
        expires: utc(issued.expires_at_ms),
    };
    if is_htmx(&headers) {
        return Ok(page(&LinkSlot {
            chrome: view.chrome("Sign-in link", "tenants"),
            tenant_id: id,
            link: Some(link),
        }));
    }
    let p = tenant_page(&state, &view, &id, FormError::default(), Some(link), None).await?;
    Ok(page(&p))
}

/// Starts provisioning again with fresh attempts, as `POST /api/admin/tenants/{id}/provisioning/retry`.
async fn retry_provisioning(
    view: OperatorView,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: Form,
) -> ConsoleResult {
    match numbers::request_number(&state, &id, true, 0).await {
        Ok(_) => Ok(
            Redirect::to(&format!("/console/operator/tenants/{id}?done=provisioning"))
                .into_response(),
        ),
        Err(e) => {
            let f = Failure::from(e);
            if matches!(f, Failure::NotFound { .. }) {
                return Err(f.into());
            }
            let error = FormError::from_failure(f);
            let status = error.http_status();
            let p = tenant_page(&state, &view, &id, error, None, None).await?;
            Ok(page_with_status(status, &p))
        }
    }
}
