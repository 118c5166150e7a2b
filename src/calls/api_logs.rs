//! The tenant's call history (seed 000's call logs): a filtered, paged listing and one call by id.
//! Validation and the JSON shape live in [`crate::calls::logs`], shared with the CLI.

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::calls::logs::{self as calls, CallLogList, CallLogQuery, CallLogView};
use crate::calls::timeline::CallTimeline;
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::TenantAuthErrors;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidQuery;

/// The tenant's calls, newest first, filtered and paged. Dates are read in the tenant's time zone.
#[utoipa::path(get, path = "/api/telephony/call-logs", operation_id = "call_logs_list", tag = "telephony", security(("tenant" = [])), params(CallLogQuery),
    responses((status = 200, description = "Success", body = Envelope<CallLogList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn list(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<CallLogQuery>,
) -> Result<Json<Envelope<CallLogList>>, ApiError> {
    let page = calls::list(&state.db, &auth.tenant, &q).await?;
    Ok(ok(CallLogList::from(&page)))
}

/// One of the tenant's calls.
#[utoipa::path(get, path = "/api/telephony/call-logs/{id}", operation_id = "call_logs_show", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "Call log id")),
    responses((status = 200, description = "Success", body = Envelope<CallLogView>),
        (status = 404, description = "No such call for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn show(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<CallLogView>>, ApiError> {
    let call = calls::get(&state.db, &auth.tenant.id, &id).await?;
    Ok(ok(CallLogView::from(&call)))
}

/// One of the tenant's calls step by step: each webhook step, each dial attempt and its outcome,
/// the caller's answer to the menu, status reports (applied or ignored as late), recordings,
/// transcription and the missed-call text-back, oldest first.
#[utoipa::path(get, path = "/api/telephony/call-logs/{id}/timeline", operation_id = "call_logs_timeline", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "Call log id")),
    responses((status = 200, description = "Success", body = Envelope<CallTimeline>),
        (status = 404, description = "No such call for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn timeline(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<CallTimeline>>, ApiError> {
    let detail = crate::calls::timeline::detail(&state.db, &auth.tenant.id, &id).await?;
    Ok(ok(CallTimeline::from(&detail)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(timeline))
}
