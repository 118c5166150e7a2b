//! The outbound-call routes (seeds 002 and 003): `POST /api/twilio/make-call` places a call
//! ([`outbound::place`]) and `GET /api/twilio/calls` lists the call history ([`outbound::history`]).

use axum::Json;
use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::outbound::{self, CallHistoryQuery, CallView, MakeCall, MakeCallAnswer};
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::{JsonBodyErrors, SubscriptionEnded, TenantAuthErrors};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};

/// Place an outbound call (seeds 002 and 003). Answers once Twilio has accepted it.
#[utoipa::path(post, path = "/api/twilio/make-call", tag = "telephony", security(("tenant" = [])), request_body = MakeCall,
    responses((status = 200, description = "Success", body = MakeCallAnswer),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such assistant", body = ErrorEnvelope),
        (status = 409, description = "The business has no phone number yet", body = ErrorEnvelope),
        (status = 429, description = "Over the tenant's outbound call pace", body = ErrorEnvelope),
        (status = 502, description = "Twilio failed or could not be reached", body = ErrorEnvelope),
        (status = 503, description = "Unavailable", body = ErrorEnvelope), TenantAuthErrors,
        JsonBodyErrors, SubscriptionEnded))]
async fn make_call(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidJson(req): ValidJson<MakeCall>,
) -> Result<Json<MakeCallAnswer>, ApiError> {
    Ok(Json(outbound::place(&state, &auth.tenant, req).await?))
}

/// Seed 003's call history: the tenant's calls to or from `phoneNumber`, newest first, as a bare
/// array in `data`.
#[utoipa::path(get, path = "/api/twilio/calls", tag = "telephony", security(("tenant" = [])), params(CallHistoryQuery),
    responses((status = 200, description = "Success", body = Envelope<Vec<CallView>>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn call_history(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<CallHistoryQuery>,
) -> Result<Json<Envelope<Vec<CallView>>>, ApiError> {
    Ok(ok(outbound::history(&state, &auth.tenant, &q).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(make_call))
        .routes(routes!(call_history))
}
