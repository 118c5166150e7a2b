//! Outbound calls (PRODUCT §4.10): `POST /api/twilio/make-call` in seed 003's shape
//! (`{to, message, record, userId, metadata}`) and seed 002's (`{to, clientId, assistantId}`), and
//! seed 003's call history `GET /api/twilio/calls?phoneNumber=&limit=`.
//!
//! A call is placed through Twilio's REST API with inline TwiML, a status callback for every
//! progress event (initiated, ringing, answered, completed) and, when asked, a whole-call recording
//! reported to the recording status callback. It is logged as an outbound call with the status
//! Twilio gave when it accepted it (`queued`); everything after comes from the callbacks, through
//! the same forward-only status handler as inbound calls, and its recording is processed like any.
//!
//! Twilio lets an account start about one call per second (TWILIO_FACTS B5); beyond that it queues
//! or refuses them. Each tenant's calls are paced at `OUTBOUND_CALLS_PER_SECOND` through the shared
//! `sender_pacing` table, so the pace holds across instances: a request waits up to
//! [`MAX_PACE_WAIT_MS`] for its slot, and beyond that is refused with 429 and `Retry-After`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_twilio::rest::{CreateCall, TwilioError, WebhookMethod};
use switchboard_twilio::twiml::untrusted::{self, Allowed};
use switchboard_twilio::twiml::{Dial, Number, VoiceResponse};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::render;
use crate::calls::logs::CallLogView;
use crate::db::StoreError;
use crate::db::{self, Tx, calls::Call, calls::CallFilter};
use crate::domain::CallSid;
use crate::domain::call_route::{CallStrategy, RouteTargets};
use crate::domain::states::CallStatus;
use crate::domain::{E164, new_id, text};
use crate::messaging::pacing;
use crate::state::AppState;
use crate::web::TenantAuth;
use crate::web::doc::{JsonBodyErrors, SubscriptionEnded, TenantAuthErrors};
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};
use crate::web::extract::{ValidJson, ValidQuery};
use crate::web::seed_extras::{Extras, with_extras};
use crate::web::twilio_webhook::TwilioRequest;
use crate::{with_db, with_tx};

/// Longest a make-call request waits for its tenant's next call slot before it is refused.
pub const MAX_PACE_WAIT_MS: i64 = 5_000;
/// Longest spoken message.
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// Twilio's limit on inline TwiML.
const MAX_TWIML_CHARS: usize = 4_000;
/// Seed 003's answer when `to` or the message is missing, word for word.
pub const REQUIRED_MESSAGE: &str = "Phone number and message are required";

/// Seeds 003 (`{to, message, record, userId, metadata}`) and 002 (`{to, clientId, assistantId}`).
/// Other fields are accepted and kept in the call's metadata (see `http::seed_extras`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MakeCall {
    /// E.164 number to call.
    pub to: Option<String>,
    /// Spoken to the callee when they answer (at most 1000 characters).
    pub message: Option<String>,
    /// Instead of `message`: a TwiML `<Response>` of speech only (`Say`, `Play` of an https URL or
    /// digits, `Pause`, `Hangup`; at most 4000 characters). Anything else is refused: the call runs on
    /// the Twilio account every business shares.
    pub twiml: Option<String>,
    /// Record the whole call; the recording is processed like a voicemail's (without staff alerts).
    pub record: Option<bool>,
    /// Seed 003: who asked (kept with the call).
    pub user_id: Option<String>,
    /// Seed 003: free JSON kept with the call.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Seed 002: the client the call is made for (kept with the call).
    pub client_id: Option<String>,
    /// Seed 002: a staff member's id; the callee is connected to them when they answer.
    pub assistant_id: Option<String>,
    /// `routing`: once the callee answers, connect them to the business through its normal routing
    /// (what seed 002's `{to, clientId}` without a message asks for too).
    pub connect: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extras: Extras,
}

/// What the call was asked for.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallRequestView {
    pub message: Option<String>,
    pub record: bool,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub assistant_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// A call as seed 003's history shows it: the call log, plus the make-call request for outbound calls.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    #[serde(flatten)]
    pub call: CallLogView,
    /// Null for inbound calls.
    pub request: Option<CallRequestView>,
}

/// `{"success": true, "message": "Call initiated", "callSid": "CA…", "status": "queued", "data": {…}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MakeCallAnswer {
    pub success: bool,
    pub message: String,
    /// Twilio's CallSid.
    pub call_sid: String,
    /// The call's status as logged now (normally Twilio's `queued`); later ones arrive by callback.
    pub status: String,
    pub data: CallView,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Seed 003's 400, message unprefixed because clients match on it.
fn required(field: &str) -> ApiError {
    ApiError {
        field: Some(field.to_string()),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            REQUIRED_MESSAGE,
        )
    }
}

/// A validated make-call request.
struct Order {
    to: E164,
    /// Connect the callee to the tenant's routing (click-to-call).
    routing: bool,
    message: Option<String>,
    twiml: Option<String>,
    record: bool,
    assistant: Option<db::staff::Staff>,
    request: CallRequestView,
}

async fn validate(state: &AppState, tenant_id: &str, req: MakeCall) -> Result<Order, ApiError> {
    let (to, message, twiml, assistant_id) = (
        present(&req.to),
        present(&req.message),
        present(&req.twiml),
        present(&req.assistant_id),
    );
    let Some(to) = to else {
        return Err(required("to"));
    };
    let speech = message.is_some() || twiml.is_some();
    let routing = match present(&req.connect) {
        Some("routing") if speech || assistant_id.is_some() => {
            return Err(ApiError::validation(
                "connect",
                "routing connects the callee to the business: give it without message, twiml or assistantId",
            ));
        }
        Some("routing") => true,
        Some(_) => return Err(ApiError::validation("connect", "must be routing")),
        // Seed 002's click-to-call: a client, no message, no assistant.
        None => !speech && assistant_id.is_none() && present(&req.client_id).is_some(),
    };
    if !speech && assistant_id.is_none() && !routing {
        return Err(required("message"));
    }
    let to = E164::parse("to", to)?;
    let message = message
        .map(|m| text::required("message", m, MAX_MESSAGE_CHARS))
        .transpose()?;
    if twiml.is_some() && (message.is_some() || assistant_id.is_some()) {
        return Err(ApiError::validation(
            "twiml",
            "give either twiml or message/assistantId, not both",
        ));
    }
    let twiml = twiml.map(|t| tenant_twiml(state, t)).transpose()?;
    let user_id = req
        .user_id
        .as_deref()
        .map(|u| text::optional("userId", u, 255))
        .transpose()?
        .flatten();
    let client_id = req
        .client_id
        .as_deref()
        .map(|c| text::optional("clientId", c, 255))
        .transpose()?
        .flatten();
    let metadata = with_extras(req.metadata, req.extras);
    if metadata
        .as_ref()
        .is_some_and(|m| m.to_string().len() > 16_384)
    {
        return Err(ApiError::validation(
            "metadata",
            "must be at most 16 kB of JSON",
        ));
    }
    let assistant = match assistant_id {
        Some(id) => Some(
            db::staff::get(&state.db, tenant_id, id)
                .await?
                .ok_or_else(|| ApiError::not_found("assistant"))?,
        ),
        None => None,
    };
    let record = req.record.unwrap_or(false);
    Ok(Order {
        to,
        routing,
        twiml,
        record,
        request: CallRequestView {
            message: message.clone(),
            record,
            user_id,
            client_id,
            assistant_id: assistant.as_ref().map(|a| a.id.clone()),
            metadata,
        },
        message,
        assistant,
    })
}

/// A tenant's own call script, rewritten from the speech-only allow-list (see
/// `switchboard_twilio::twiml::untrusted`): it must not reach Twilio as written.
fn tenant_twiml(state: &AppState, raw: &str) -> Result<String, ApiError> {
    if raw.chars().count() > MAX_TWIML_CHARS {
        return Err(ApiError::validation(
            "twiml",
            "must be at most 4000 characters",
        ));
    }
    let ours = state.config.public_hosts();
    let hosts: Vec<&str> = ours.iter().map(String::as_str).collect();
    let clean = untrusted::sanitize(raw, Allowed::Speech, &hosts)
        .map_err(|e| ApiError::validation("twiml", e.0))?;
    if clean.chars().count() > MAX_TWIML_CHARS {
        return Err(ApiError::validation(
            "twiml",
            "must be at most 4000 characters once written out",
        ));
    }
    Ok(clean)
}

/// The TwiML the callee hears: the recording notice, the message, then the assistant.
fn call_twiml(tenant: &db::tenants::Tenant, order: &Order, from: &str) -> String {
    if let Some(t) = &order.twiml {
        return t.clone();
    }
    let mut resp = VoiceResponse::new();
    if order.record {
        // Callers hear the same notice on recorded inbound calls.
        resp = resp.say(render::say(tenant, "This call may be recorded."));
    }
    if let Some(m) = &order.message {
        resp = resp.say(render::say(tenant, m.clone()));
    }
    if let Some(a) = &order.assistant {
        resp = resp.dial(
            Dial::new()
                .caller_id(from.to_string())
                .timeout(tenant.routing_policy.dial_timeout_secs)
                .number(Number::new(a.phone.to_string())),
        );
    }
    resp.to_xml()
}

/// Waits for the tenant's next outbound-call slot, or refuses when it is too far off.
async fn pace(state: &AppState, tenant_id: &str) -> Result<(), ApiError> {
    let cost = pacing::cost_ms(1, state.config.outbound_calls_per_second);
    if cost == 0 {
        return Ok(());
    }
    let key = format!("calls:{tenant_id}");
    let now = state.clock.now_ms();
    let mut slot = now;
    // Racing requests can take a slot this one was about to claim; a few tries settle it.
    for _ in 0..8 {
        match pacing::reserve(&state.db, &key, slot, cost).await? {
            None => {
                if slot > now {
                    tokio::time::sleep(Duration::from_millis((slot - now) as u64)).await;
                }
                return Ok(());
            }
            Some(at) if at - now > MAX_PACE_WAIT_MS => {
                return Err(too_fast(state, at - now));
            }
            Some(at) => slot = at,
        }
    }
    Err(too_fast(state, cost))
}

fn too_fast(state: &AppState, wait_ms: i64) -> ApiError {
    let mut e = ApiError::too_many_requests(((wait_ms + 999) / 1000) as u64);
    e.message = format!(
        "This business places at most {} outbound call(s) per second; try again in {} s.",
        state.config.outbound_calls_per_second,
        e.retry_after_secs.unwrap_or(1)
    );
    e
}

/// Twilio's refusal as an API error: the caller's fault (bad number) is a 400 naming `to`; Twilio
/// trouble is a 502/503 (with `Retry-After` when Twilio gave one).
fn twilio_error(e: TwilioError) -> ApiError {
    const TO_CODES: [u32; 9] = [
        21211, 21214, 21215, 21216, 21217, 21401, 21407, 13223, 13224,
    ];
    let reason = e.human_reason();
    if e.http_status() == Some(400) || matches!(e, TwilioError::InvalidRequest(_)) {
        let field = e
            .twilio_code()
            .filter(|c| TO_CODES.contains(c))
            .map(|_| "to".to_string());
        return ApiError {
            field,
            ..ApiError::new(StatusCode::BAD_REQUEST, "TWILIO_ERROR", reason)
        };
    }
    if e.is_retryable() {
        let message = if e.may_have_been_processed() {
            format!(
                "{reason} The call may have been placed: check the call logs before trying again."
            )
        } else {
            format!("{reason} Nothing was placed; try again.")
        };
        return ApiError {
            retry_after_secs: Some(e.retry_after().map_or(5, |d| d.as_secs().max(1))),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TWILIO_UNAVAILABLE",
                message,
            )
        };
    }
    tracing::error!(error = %e, "Twilio refused an outbound call");
    ApiError::new(StatusCode::BAD_GATEWAY, "TWILIO_ERROR", reason)
}

/// A call can move on before it is logged (a number that fails at once): its first callbacks then
/// find no call and are dropped. Asking Twilio once the row exists catches up, through the same
/// forward-only status handler; a callback that comes later still applies as usual.
async fn reconcile(state: &AppState, sid: &str) {
    let call = match state.twilio.client.fetch_call(sid).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(call_sid = sid, error = %e, "could not read back a new outbound call");
            return;
        }
    };
    let Some(status) = call.status.as_ref().map(|s| s.as_str().to_string()) else {
        return;
    };
    let mut params = vec![
        ("CallSid".to_string(), sid.to_string()),
        ("CallStatus".to_string(), status),
    ];
    if let Some(d) = call.duration_secs() {
        params.push(("CallDuration".to_string(), d.to_string()));
    }
    let report = TwilioRequest {
        params,
        body: Default::default(),
        url: String::new(),
    };
    if let Err(e) = super::status::apply(state, &report).await {
        tracing::warn!(call_sid = sid, error = %e, "could not apply a new outbound call's status");
    }
}

fn url_method(routing: bool) -> Option<WebhookMethod> {
    routing.then_some(WebhookMethod::Post)
}

fn public(state: &AppState, path: &str) -> String {
    format!(
        "{}{path}",
        state.config.app_url.as_str().trim_end_matches('/')
    )
}

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
    let tenant = &auth.tenant;
    crate::tenants::manage::ensure_may_send(tenant)?;
    let order = validate(&state, &tenant.id, req).await?;
    let from = tenant
        .twilio_number
        .as_ref()
        .map(E164::to_string)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "NO_PHONE_NUMBER",
                "This business has no phone number to call from yet.",
            )
        })?;
    // Click-to-call fetches its instructions when the callee answers (see `click_to_call`).
    let (twiml, url) = if order.routing {
        (
            None,
            Some(public(&state, super::click_to_call::CONNECT_PATH)),
        )
    } else {
        (Some(call_twiml(tenant, &order, &from)), None)
    };
    let mut create = CreateCall {
        to: order.to.to_string(),
        from: from.clone(),
        twiml,
        url,
        method: url_method(order.routing),
        status_callback: Some(public(&state, super::STATUS_PATHS[0])),
        status_callback_event: ["initiated", "ringing", "answered", "completed"]
            .map(String::from)
            .to_vec(),
        status_callback_method: Some(WebhookMethod::Post),
        ..Default::default()
    };
    if order.record {
        create.record = Some(true);
        create.recording_status_callback =
            Some(public(&state, crate::recordings::RECORDING_STATUS_PATHS[0]));
        create.recording_status_callback_event = vec!["completed".into(), "absent".into()];
        create.recording_status_callback_method = Some(WebhookMethod::Post);
    }
    pace(&state, &tenant.id).await?;
    let placed = state
        .twilio
        .client
        .create_call(&create)
        .await
        .map_err(twilio_error)?;
    // Twilio's own (authenticated) answer names the call: taken as it is.
    let Some(sid) = placed.sid.clone().map(CallSid::stored) else {
        tracing::error!("Twilio accepted a call without a CallSid");
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "TWILIO_ERROR",
            "Twilio's answer had no CallSid.",
        ));
    };
    let now = state.clock.now_ms();
    let call = Call {
        id: new_id(),
        tenant_id: tenant.id.clone(),
        call_sid: sid.to_string(),
        direction: "outbound".into(),
        from_number: from,
        to_number: order.to.to_string(),
        // A status Twilio does not document is kept as `queued`, which any callback moves on from.
        status: placed
            .status
            .as_ref()
            .and_then(|s| CallStatus::reported(s.as_str()).ok())
            .unwrap_or(CallStatus::Queued),
        strategy: CallStrategy::Outbound,
        after_hours: false,
        route_targets: RouteTargets::default(),
        route_index: 0,
        gather_attempts: 0,
        forwarded_to: order.assistant.as_ref().map(|a| a.phone.to_string()),
        call_reason: None,
        notes: None,
        recording_url: None,
        voicemail: false,
        missed: false,
        start_time: now,
        answered_at: None,
        end_time: None,
        duration_seconds: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    db::calls::insert_if_new(&mut tx, &call).await?;
    store::insert(&mut tx, &call, &order.request, now).await?;
    tx.commit().await?;
    reconcile(&state, sid.as_str()).await;
    metrics::counter!("switchboard_calls_total", "direction" => "outbound", "strategy" => CallStrategy::Outbound.as_str()).increment(1);
    tracing::info!(call_sid = %sid, tenant = %tenant.id, record = order.record, "outbound call placed");
    // Callbacks may already have moved it on: answer with the row as it is now.
    let current = db::calls::get_by_sid(&state.db, &sid)
        .await?
        .unwrap_or(call);
    Ok(Json(MakeCallAnswer {
        success: true,
        message: "Call initiated".into(),
        call_sid: sid.into_string(),
        status: current.status.to_string(),
        data: CallView {
            call: CallLogView::from(&current),
            request: Some(order.request),
        },
    }))
}

/// Query of seed 003's call history. Other parameters are ignored, as the seed's server did.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CallHistoryQuery {
    /// E.164 number that placed or received the calls: a customer's number gives the calls with them,
    /// the business number (as seed 003 uses it) every call. Absent: every call.
    #[param(schema_with = crate::web::doc::values::phone_filter)]
    pub phone_number: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Calls to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
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
    // An unencoded `+` in a query string arrives as a space.
    let number = q
        .phone_number
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|raw| {
            let s = match raw.strip_prefix(' ') {
                Some(rest) => format!("+{}", rest.trim()),
                None => raw.trim().to_string(),
            };
            E164::parse("phoneNumber", &s).map(|p| p.to_string())
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    if limit < 1 {
        return Err(ApiError::validation("limit", "must be at least 1"));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::validation("offset", "must not be negative"));
    }
    let filter = CallFilter {
        phone_number: number,
        ..Default::default()
    };
    let (rows, _) =
        db::calls::list(&state.db, &auth.tenant.id, &filter, limit.min(100), offset).await?;
    let ids: Vec<String> = rows
        .iter()
        .filter(|c| c.direction == "outbound")
        .map(|c| c.id.clone())
        .collect();
    let mut requests = store::for_calls(&state.db, &auth.tenant.id, &ids).await?;
    Ok(ok(rows
        .iter()
        .map(|c| CallView {
            call: CallLogView::from(c),
            request: requests.remove(&c.id),
        })
        .collect()))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(make_call))
        .routes(routes!(call_history))
}

/// The `outbound_calls` rows: what each outbound call was asked for.
mod store {
    use std::collections::HashMap;

    use super::*;

    #[derive(sqlx::FromRow)]
    struct Row {
        call_id: String,
        message: Option<String>,
        record: bool,
        user_id: Option<String>,
        client_id: Option<String>,
        assistant_id: Option<String>,
        metadata: Option<String>,
    }

    pub async fn insert(
        tx: &mut Tx,
        call: &Call,
        r: &CallRequestView,
        now: i64,
    ) -> Result<(), StoreError> {
        with_tx!(tx, |c| {
            sqlx::query(
                "INSERT INTO outbound_calls (call_id, tenant_id, message, record, user_id, client_id, assistant_id, \
                 metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (call_id) DO NOTHING",
            )
            .bind(&call.id)
            .bind(&call.tenant_id)
            .bind(&r.message)
            .bind(r.record)
            .bind(&r.user_id)
            .bind(&r.client_id)
            .bind(&r.assistant_id)
            .bind(r.metadata.as_ref().map(Value::to_string))
            .bind(now)
            .execute(c)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// The requests of the tenant's calls among `call_ids`, by call id.
    pub async fn for_calls(
        db: &crate::db::Db,
        tenant_id: &str,
        call_ids: &[String],
    ) -> Result<HashMap<String, CallRequestView>, StoreError> {
        if call_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Only numbered placeholders are spliced into the SQL.
        let marks: Vec<String> = (0..call_ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT call_id, message, record, user_id, client_id, assistant_id, metadata FROM outbound_calls \
             WHERE tenant_id = $1 AND call_id IN ({})",
            marks.join(", ")
        );
        let rows: Vec<Row> = with_db!(db, |p| {
            let mut q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant_id);
            for id in call_ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let view = CallRequestView {
                    message: r.message,
                    record: r.record,
                    user_id: r.user_id,
                    client_id: r.client_id,
                    assistant_id: r.assistant_id,
                    metadata: r.metadata.and_then(|m| serde_json::from_str(&m).ok()),
                };
                (r.call_id, view)
            })
            .collect())
    }
}
