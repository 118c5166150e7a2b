//! The tenant's appointments (pushed by the host app, keyed by the host's id) and seed 000's
//! confirmation and reminder send endpoints. Validation, scheduling and wording live in
//! [`crate::appointments::manage`] and [`crate::appointments::reminders`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::appointments::manage::{
    self as appointments, AppointmentInput, AppointmentList, AppointmentQuery, AppointmentRef,
    AppointmentView, Text,
};
use crate::domain::text;
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::{JsonBodyErrors, SubscriptionEnded, TenantAuthErrors};
use crate::web::envelope::{Envelope, MessageEnvelope, message, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};

/// Create or replace an appointment by the host app's `id`: 201 when it is new, 200 when it
/// replaced one. Booked appointments get their reminders scheduled; a new start time reschedules them.
#[utoipa::path(post, path = "/api/telephony/appointments", operation_id = "appointments_create", tag = "telephony", security(("tenant" = [])),
    request_body = AppointmentInput,
    responses((status = 201, description = "Created", body = Envelope<AppointmentView>),
        (status = 200, description = "Success", body = Envelope<AppointmentView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors))]
async fn create(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidJson(input): ValidJson<AppointmentInput>,
) -> Result<(StatusCode, Json<Envelope<AppointmentView>>), ApiError> {
    let up = appointments::upsert(&state, &auth.tenant, None, input).await?;
    Ok(answer(&up, &auth))
}

/// Create or replace the appointment whose host-app id is in the path (201 new, 200 replaced).
#[utoipa::path(put, path = "/api/telephony/appointments/{id}", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "The host app's appointment id")),
    request_body = AppointmentInput,
    responses((status = 201, description = "Created", body = Envelope<AppointmentView>),
        (status = 200, description = "Success", body = Envelope<AppointmentView>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors))]
async fn replace(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ValidJson(input): ValidJson<AppointmentInput>,
) -> Result<(StatusCode, Json<Envelope<AppointmentView>>), ApiError> {
    let up = appointments::upsert(&state, &auth.tenant, Some(&id), input).await?;
    Ok(answer(&up, &auth))
}

fn answer(
    up: &appointments::Upserted,
    auth: &TenantAuth,
) -> (StatusCode, Json<Envelope<AppointmentView>>) {
    let status = if up.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        ok(AppointmentView::new(&up.appointment, &auth.tenant)),
    )
}

/// The tenant's appointments in start order; `from`/`to` dates are read in the tenant's time zone.
#[utoipa::path(get, path = "/api/telephony/appointments", operation_id = "appointments_list", tag = "telephony", security(("tenant" = [])),
    params(AppointmentQuery),
    responses((status = 200, description = "Success", body = Envelope<AppointmentList>),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn list(
    auth: TenantAuth,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<AppointmentQuery>,
) -> Result<Json<Envelope<AppointmentList>>, ApiError> {
    Ok(ok(appointments::list(&state, &auth.tenant, &q).await?))
}

/// One appointment, by the host app's id or Switchboard's.
#[utoipa::path(get, path = "/api/telephony/appointments/{id}", operation_id = "appointments_show", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "The host app's appointment id, or Switchboard's")),
    responses((status = 200, description = "Success", body = Envelope<AppointmentView>),
        (status = 404, description = "No such appointment for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn show(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<AppointmentView>>, ApiError> {
    let a = appointments::get(&state, &auth.tenant.id, &id).await?;
    Ok(ok(AppointmentView::new(&a, &auth.tenant)))
}

/// Cancel an appointment (status CANCELED): its pending reminders are not sent. Cancelling again
/// answers the same.
#[utoipa::path(delete, path = "/api/telephony/appointments/{id}", tag = "telephony", security(("tenant" = [])),
    params(("id" = String, Path, description = "The host app's appointment id, or Switchboard's")),
    responses((status = 200, description = "Success", body = Envelope<AppointmentView>),
        (status = 404, description = "No such appointment for this tenant", body = ErrorEnvelope),
        TenantAuthErrors))]
async fn cancel(
    auth: TenantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<AppointmentView>>, ApiError> {
    let a = appointments::cancel(&state, &auth.tenant, &id).await?;
    Ok(ok(AppointmentView::new(&a, &auth.tenant)))
}

/// Text the customer their appointment confirmation now (seed 000). With an `Idempotency-Key`
/// header, a repeated request queues nothing new.
#[utoipa::path(post, path = "/api/telephony/appointment-confirmation", tag = "telephony", security(("tenant" = [])),
    request_body = AppointmentRef,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key, up to 255 characters")),
    responses((status = 200, description = "Success", body = MessageEnvelope, example = json!({"success": true, "message": "Appointment confirmation sent successfully"})),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "Not found", body = ErrorEnvelope),
        (status = 409, description = "The appointment is canceled or has started", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors, SubscriptionEnded))]
async fn send_confirmation(
    auth: TenantAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<AppointmentRef>,
) -> Result<Json<MessageEnvelope>, ApiError> {
    send(&state, &auth, &headers, &req, Text::Confirmation).await?;
    Ok(message("Appointment confirmation sent successfully"))
}

/// Text the customer a reminder now (seed 000), worded "today", "tomorrow", "in N days" or "in less
/// than 2 hours" on the tenant's calendar. With an `Idempotency-Key` header, a repeat queues nothing new.
#[utoipa::path(post, path = "/api/telephony/appointment-reminder", tag = "telephony", security(("tenant" = [])),
    request_body = AppointmentRef,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key, up to 255 characters")),
    responses((status = 200, description = "Success", body = MessageEnvelope, example = json!({"success": true, "message": "Appointment reminder sent successfully"})),
        (status = 400, description = "Invalid input; `error.field` names the field", body = ErrorEnvelope),
        (status = 404, description = "Not found", body = ErrorEnvelope),
        (status = 409, description = "The appointment is canceled or has started", body = ErrorEnvelope),
        TenantAuthErrors, JsonBodyErrors, SubscriptionEnded))]
async fn send_reminder(
    auth: TenantAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<AppointmentRef>,
) -> Result<Json<MessageEnvelope>, ApiError> {
    send(&state, &auth, &headers, &req, Text::Reminder).await?;
    Ok(message("Appointment reminder sent successfully"))
}

async fn send(
    state: &AppState,
    auth: &TenantAuth,
    headers: &HeaderMap,
    req: &AppointmentRef,
    which: Text,
) -> Result<(), ApiError> {
    let id = appointments::external_id("appointmentId", &req.appointment_id)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| ApiError::validation("Idempotency-Key", "must be printable ASCII"))?;
            text::optional("Idempotency-Key", v, 255)?
        }
    };
    appointments::send_now(state, &auth.tenant, &id, which, key.as_deref()).await?;
    Ok(())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, replace, cancel))
        .routes(routes!(send_confirmation))
        .routes(routes!(send_reminder))
}
