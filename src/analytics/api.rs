//! The tenant's analytics (`/api/telephony/analytics`), monthly usage with an estimated cost
//! (`/usage`) and CSV exports (`/export`). Queries, definitions and the CSV encoding live in
//! [`crate::analytics`], shared with the admin API and `switchboard report`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::analytics::export::{self, ExportQuery};
use crate::analytics::usage::{self, UsageQuery, UsageReport};
use crate::analytics::{self, AnalyticsQuery, AnalyticsReport, Scope};
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::TenantAuthErrors;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidQuery;

/// Calls, SMS, missed-call text-backs and inbound conversations over a range, in day, week or month
/// buckets of the tenant's time zone, with totals.
#[utoipa::path(get, path = "/api/telephony/analytics", tag = "telephony", security(("tenant" = [])), params(AnalyticsQuery),
    responses((status = 200, description = "Success", body = Envelope<AnalyticsReport>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn report(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<AnalyticsQuery>,
) -> Result<Json<Envelope<AnalyticsReport>>, ApiError> {
    let req = q.validate(&auth.tenant.time_zone, state.clock.now_ms())?;
    let report = analytics::analytics(&state.db, Scope::Tenant(&auth.tenant.id), &req).await?;
    Ok(ok(report))
}

/// One month's billable usage (minutes rounded up per call, SMS segments, recordings, the phone
/// number) and its estimated cost from the configured price table.
#[utoipa::path(get, path = "/api/telephony/usage", tag = "telephony", security(("tenant" = [])), params(UsageQuery),
    responses((status = 200, description = "Success", body = Envelope<UsageReport>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn usage_of_month(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<UsageQuery>,
) -> Result<Json<Envelope<UsageReport>>, ApiError> {
    let now = state.clock.now_ms();
    let month = q.validate(&auth.tenant.time_zone.time_zone(), now)?;
    let u = usage::usage(&state.db, &auth.tenant, month, &state.config.prices, now).await?;
    Ok(ok(u))
}

/// The tenant's calls or messages as CSV (RFC 4180, UTF-8, header row), oldest first, streamed.
#[utoipa::path(get, path = "/api/telephony/export", tag = "telephony", security(("tenant" = [])), params(ExportQuery),
    responses((status = 200, description = "CSV, one row per call or message", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn export_csv(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let e = q.validate(&auth.tenant.time_zone.time_zone())?;
    let filename = format!("{}-{}.csv", e.kind.as_str(), auth.tenant.slug.as_str());
    let body = Body::from_stream(export::stream(state.db.clone(), auth.tenant.id.clone(), e));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(usage_of_month))
        .routes(routes!(export_csv))
}
