//! Send APIs: seed 000's `POST /api/telephony/sms`, seeds 002/003's `POST /api/twilio/send-sms`,
//! staff notifications, and the retry of a failed notification. Each answers once the SMS is durably
//! QUEUED (row + job committed); delivery happens in the worker. An `Idempotency-Key` header makes a
//! retried request queue nothing new. The rules (text, opt-outs, retries) are `messaging::outgoing`'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::domain::seed_extras::{Extras, with_extras};
use crate::domain::{E164, text};
use crate::messaging::notifications::{NewSms, NotificationKind, Queued};
use crate::messaging::outgoing::{self, sms_text};
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::{JsonBodyErrors, SubscriptionEnded, TenantAuthErrors};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::ValidJson;

/// Seed 000: `{phoneNumber, message}`. Other fields are accepted and kept in the notification's
/// metadata (see `domain::seed_extras`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendSms {
    /// E.164 recipient.
    pub phone_number: E164,
    /// 1-1600 characters.
    #[schema(min_length = 1, max_length = 1600)]
    pub message: String,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extras: Extras,
}

/// Seeds 002 (`{to, message, clientId}`) and 003 (`{to, body, userId, metadata}`). Other fields
/// (seed 002's `clientId`, say) are accepted and kept in the notification's metadata.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwilioSendSms {
    pub to: E164,
    /// Seed 003's name for the text.
    pub body: Option<String>,
    /// Seed 002's name for the text.
    pub message: Option<String>,
    /// Seed 003: who asked (kept with the notification).
    pub user_id: Option<String>,
    /// Seed 003: free JSON kept with the notification.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extras: Extras,
}

/// Staff notification: `{message}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyStaff {
    #[schema(min_length = 1, max_length = 1600)]
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedSms {
    /// The notification's id (follow it in `GET /api/telephony/notifications`).
    pub id: String,
    /// `QUEUED` when first accepted; a repeated `Idempotency-Key` shows the notification's current status.
    pub status: String,
    pub to: String,
    pub segments: i64,
    /// False when an `Idempotency-Key` matched an earlier request (nothing new was queued).
    pub created: bool,
}

/// `{"success": true, "message": "…", "data": {…}}`: seed 000's answer plus the queued notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendAnswer {
    pub success: bool,
    pub message: String,
    pub data: QueuedSms,
}

fn answer(message: &str, q: Queued) -> Json<SendAnswer> {
    let n = q.notification;
    Json(SendAnswer {
        success: true,
        message: message.to_string(),
        data: QueuedSms {
            id: n.id,
            status: n.status.to_string(),
            to: n.recipient,
            segments: n.segments,
            created: q.created,
        },
    })
}

/// The `Idempotency-Key` header: 1-255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::validation("Idempotency-Key", "must be visible ASCII"))?
        .trim();
    if s.is_empty() || s.len() > 255 {
        return Err(ApiError::validation(
            "Idempotency-Key",
            "must be 1-255 characters",
        ));
    }
    Ok(Some(s.to_string()))
}

/// Send an SMS to a customer (seed 000). Answers once it is durably queued.
#[utoipa::path(post, path = "/api/telephony/sms", operation_id = "sms_send", tag = "telephony", security(("tenant" = [])), request_body = SendSms,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key: the same key queues once")),
    responses((status = 200, description = "Success", body = SendAnswer),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 409, description = "`RECIPIENT_OPTED_OUT`: the recipient texted STOP; nothing was queued", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors, SubscriptionEnded))]
async fn send(
    auth: TenantAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<SendSms>,
) -> Result<Json<SendAnswer>, ApiError> {
    let message = sms_text("message", &req.message)?;
    let mut sms = NewSms::new(
        &auth.tenant.id,
        NotificationKind::Api,
        req.phone_number,
        message,
    );
    sms.idempotency_key = idempotency_key(&headers)?;
    sms.metadata = with_extras(None, req.extras);
    Ok(answer(
        "SMS sent successfully",
        outgoing::send(&state, sms, "phoneNumber").await?,
    ))
}

/// Send an SMS (seeds 002 and 003: `{to, message}` or `{to, body, userId, metadata}`).
#[utoipa::path(post, path = "/api/twilio/send-sms", tag = "telephony", security(("tenant" = [])), request_body = TwilioSendSms,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key: the same key queues once")),
    responses((status = 200, description = "Success", body = SendAnswer),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 409, description = "`RECIPIENT_OPTED_OUT`: the recipient texted STOP; nothing was queued", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors, SubscriptionEnded))]
async fn send_twilio(
    auth: TenantAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<TwilioSendSms>,
) -> Result<Json<SendAnswer>, ApiError> {
    let (field, raw) = match (&req.body, &req.message) {
        (Some(b), None) => ("body", b),
        (None, Some(m)) => ("message", m),
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "body",
                "give either body or message, not both",
            ));
        }
        (None, None) => return Err(ApiError::validation("body", "is required (or message)")),
    };
    let message = sms_text(field, raw)?;
    if let Some(u) = &req.user_id {
        text::required("userId", u, 255)?;
    }
    let mut sms = NewSms::new(&auth.tenant.id, NotificationKind::Api, req.to, message);
    sms.idempotency_key = idempotency_key(&headers)?;
    let metadata = with_extras(req.metadata, req.extras);
    if req.user_id.is_some() || metadata.is_some() {
        let meta = serde_json::json!({ "userId": req.user_id, "metadata": metadata });
        if meta.to_string().len() > 16_384 {
            return Err(ApiError::validation(
                "metadata",
                "must be at most 16 kB of JSON",
            ));
        }
        sms.metadata = Some(meta);
    }
    Ok(answer(
        "SMS queued for delivery",
        outgoing::send(&state, sms, "to").await?,
    ))
}

/// Text a staff member of the tenant (employee notification).
#[utoipa::path(post, path = "/api/telephony/staff/{id}/notify", tag = "telephony", security(("tenant" = [])), request_body = NotifyStaff,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key: the same key queues once")),
    responses((status = 200, description = "Success", body = SendAnswer),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "No such staff member for this tenant", body = ErrorEnvelope),
        (status = 409, description = "`RECIPIENT_OPTED_OUT`: the staff member's phone texted STOP; nothing was queued", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors, SubscriptionEnded))]
async fn notify_staff(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<NotifyStaff>,
) -> Result<Json<SendAnswer>, ApiError> {
    let staff = db::staff::get(&state.db, &auth.tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("staff member"))?;
    let message = sms_text("message", &req.message)?;
    let mut sms = NewSms::new(
        &auth.tenant.id,
        NotificationKind::Staff,
        staff.phone.clone(),
        message,
    );
    sms.staff_id = Some(staff.id.clone());
    sms.idempotency_key = idempotency_key(&headers)?;
    Ok(answer(
        "Employee notification sent successfully",
        outgoing::send(&state, sms, "id").await?,
    ))
}

/// Queue a failed (or undelivered) SMS notification again: a new notification with the same
/// recipient and text (its metadata names the original as `retryOf`). Asking twice queues once: the
/// second answer shows the first retry with `created: false`.
#[utoipa::path(post, path = "/api/telephony/notifications/{id}/retry", operation_id = "notifications_retry", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "The failed notification's id")),
    responses((status = 200, description = "The retry, queued (or the earlier retry of this notification)", body = SendAnswer),
        (status = 404, description = "No such notification for this tenant", body = ErrorEnvelope),
        (status = 409, description = "`NOT_RETRYABLE` (not a failed SMS) or `RECIPIENT_OPTED_OUT`", body = ErrorEnvelope),
        TenantAuthErrors, SubscriptionEnded))]
async fn retry(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SendAnswer>, ApiError> {
    let r = outgoing::retry(&state, &auth.tenant.id, &id).await?;
    Ok(answer("Notification queued again", r.retry))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(send_twilio))
        .routes(routes!(notify_staff))
        .routes(routes!(retry))
}
