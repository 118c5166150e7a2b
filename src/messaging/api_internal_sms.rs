//! `POST /internal/sms/send` (seed 004's services): another service texts through Switchboard, with
//! `X-Service-Key`. The SMS is a notification like every other (queued durably, paced, tracked).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::domain::E164;
use crate::messaging::notifications::{NewSms, NotificationKind, queue_now};
use crate::state::AppState;
use crate::web::auth::ServiceKey;
use crate::web::doc::{JsonBodyErrors, ServiceKeyErrors, SubscriptionEnded};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidJson;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InternalSms {
    pub to: E164,
    /// The sending number; must be the tenant's. Identifies the tenant when `tenantId` is absent.
    pub from: Option<E164>,
    /// 1-1600 characters.
    #[schema(min_length = 1, max_length = 1600)]
    pub body: String,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InternalSmsQueued {
    pub id: String,
    pub tenant_id: String,
    pub status: String,
    pub created: bool,
}

/// Queue an SMS on behalf of another service.
#[utoipa::path(post, path = "/internal/sms/send", operation_id = "internal_sms_send", tag = "internal", security(("serviceKey" = [])), request_body = InternalSms,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, description = "Success", body = Envelope<InternalSmsQueued>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        ServiceKeyErrors, JsonBodyErrors, SubscriptionEnded))]
async fn send(
    _: ServiceKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<InternalSms>,
) -> Result<Json<Envelope<InternalSmsQueued>>, ApiError> {
    if req.body.trim().is_empty() || req.body.chars().count() > 1600 {
        return Err(ApiError::validation("body", "must be 1-1600 characters"));
    }
    let tenant = match (&req.tenant_id, &req.from) {
        (Some(id), _) => db::tenants::get(&state.db, id)
            .await?
            .ok_or_else(|| ApiError::validation("tenantId", "no such tenant"))?,
        (None, Some(from)) => db::tenants::get_by_number(&state.db, from)
            .await?
            .ok_or_else(|| ApiError::validation("from", "no tenant owns this number"))?,
        (None, None) => {
            return Err(ApiError::validation(
                "tenantId",
                "tenantId or from is required",
            ));
        }
    };
    if let Some(from) = &req.from
        && tenant.twilio_number.as_ref() != Some(from)
    {
        return Err(ApiError::validation("from", "is not the tenant's number"));
    }
    let mut sms = NewSms::new(
        &tenant.id,
        NotificationKind::Internal,
        req.to,
        req.body.trim(),
    );
    if let Some(k) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
    {
        sms.idempotency_key = Some(format!("internal:{k}"));
    }
    let q = queue_now(&state, sms).await?;
    Ok(ok(InternalSmsQueued {
        id: q.notification.id,
        tenant_id: tenant.id,
        status: q.notification.status.to_string(),
        created: q.created,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send))
}
