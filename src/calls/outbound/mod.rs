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

pub mod call_back;
mod store;
mod twilio;

use twilio::{pace, reconcile, twilio_error};

use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_twilio::rest::{CreateCall, TwilioError, WebhookMethod};
use switchboard_twilio::twiml::untrusted::{self, Allowed};
use switchboard_twilio::twiml::{Dial, Number, VoiceResponse};
use utoipa::{IntoParams, ToSchema};

use super::render;
use crate::calls::logs::CallLogView;
use crate::db::StoreError;
use crate::db::tenants::Tenant;
use crate::db::{self, Tx, calls::Call, calls::CallFilter};
use crate::domain::CallSid;
use crate::domain::call_route::{CallStrategy, RouteTargets};
use crate::domain::seed_extras::{Extras, with_extras};
use crate::domain::states::CallStatus;
use crate::domain::{E164, new_id, text};
use crate::failure::Failure;
use crate::messaging::pacing;
use crate::state::AppState;
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
/// Other fields are accepted and kept in the call's metadata (see `domain::seed_extras`).
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
fn required(field: &str) -> Failure {
    Failure::refused(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        REQUIRED_MESSAGE,
    )
    .with_field(field)
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

async fn validate(state: &AppState, tenant_id: &str, req: MakeCall) -> Result<Order, Failure> {
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
            return Err(Failure::invalid(
                "connect",
                "routing connects the callee to the business: give it without message, twiml or assistantId",
            ));
        }
        Some("routing") => true,
        Some(_) => return Err(Failure::invalid("connect", "must be routing")),
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
        return Err(Failure::invalid(
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
        return Err(Failure::invalid(
            "metadata",
            "must be at most 16 kB of JSON",
        ));
    }
    let assistant = match assistant_id {
        Some(id) => Some(
            db::staff::get(&state.db, tenant_id, id)
                .await?
                .ok_or_else(|| Failure::not_found("assistant"))?,
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
fn tenant_twiml(state: &AppState, raw: &str) -> Result<String, Failure> {
    if raw.chars().count() > MAX_TWIML_CHARS {
        return Err(Failure::invalid("twiml", "must be at most 4000 characters"));
    }
    let ours = state.config.server.public_hosts();
    let hosts: Vec<&str> = ours.iter().map(String::as_str).collect();
    let clean = untrusted::sanitize(raw, Allowed::Speech, &hosts)
        .map_err(|e| Failure::invalid("twiml", e.0))?;
    if clean.chars().count() > MAX_TWIML_CHARS {
        return Err(Failure::invalid(
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

fn url_method(routing: bool) -> Option<WebhookMethod> {
    routing.then_some(WebhookMethod::Post)
}

fn public(state: &AppState, path: &str) -> String {
    format!(
        "{}{path}",
        state.config.server.app_url.as_str().trim_end_matches('/')
    )
}

/// Places an outbound call (seeds 002 and 003) and logs it; answers once Twilio has accepted it.
pub async fn place(
    state: &AppState,
    tenant: &Tenant,
    req: MakeCall,
) -> Result<MakeCallAnswer, Failure> {
    crate::tenants::manage::ensure_may_send(tenant)?;
    let order = validate(state, &tenant.id, req).await?;
    let from = tenant
        .twilio_number
        .as_ref()
        .map(E164::to_string)
        .ok_or_else(|| {
            Failure::refused(
                StatusCode::CONFLICT,
                "NO_PHONE_NUMBER",
                "This business has no phone number to call from yet.",
            )
        })?;
    // Click-to-call fetches its instructions when the callee answers (see `click_to_call`).
    let (twiml, url) = if order.routing {
        (
            None,
            Some(public(state, super::click_to_call::CONNECT_PATH)),
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
        status_callback: Some(public(state, super::STATUS_PATHS[0])),
        status_callback_event: ["initiated", "ringing", "answered", "completed"]
            .map(String::from)
            .to_vec(),
        status_callback_method: Some(WebhookMethod::Post),
        ..Default::default()
    };
    if order.record {
        create.record = Some(true);
        create.recording_status_callback =
            Some(public(state, crate::recordings::RECORDING_STATUS_PATHS[0]));
        create.recording_status_callback_event = vec!["completed".into(), "absent".into()];
        create.recording_status_callback_method = Some(WebhookMethod::Post);
    }
    pace(state, &tenant.id).await?;
    let placed = state
        .twilio
        .client
        .create_call(&create)
        .await
        .map_err(twilio_error)?;
    // Twilio's own (authenticated) answer names the call: taken as it is.
    let Some(sid) = placed.sid.clone().map(CallSid::stored) else {
        tracing::error!("Twilio accepted a call without a CallSid");
        return Err(Failure::refused(
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
    if db::calls::insert_if_new(&mut tx, &call).await? {
        let step = crate::calls::steps::Step::Outbound {
            from: call.from_number.clone(),
            to: call.to_number.clone(),
            record: order.record,
        };
        crate::calls::steps::record(&mut tx, &call, now, step).await?;
    }
    store::insert(&mut tx, &call, &order.request, now).await?;
    tx.commit().await?;
    reconcile(state, sid.as_str()).await;
    metrics::counter!("switchboard_calls_total", "direction" => "outbound", "strategy" => CallStrategy::Outbound.as_str()).increment(1);
    tracing::info!(call_sid = %sid, tenant = %tenant.id, record = order.record, "outbound call placed");
    // Callbacks may already have moved it on: answer with the row as it is now.
    let current = db::calls::get_by_sid(&state.db, &sid)
        .await?
        .unwrap_or(call);
    Ok(MakeCallAnswer {
        success: true,
        message: "Call initiated".into(),
        call_sid: sid.into_string(),
        status: current.status.to_string(),
        data: CallView {
            call: CallLogView::from(&current),
            request: Some(order.request),
        },
    })
}

/// Query of seed 003's call history. Other parameters are ignored, as the seed's server did.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CallHistoryQuery {
    /// E.164 number that placed or received the calls: a customer's number gives the calls with them,
    /// the business number (as seed 003 uses it) every call. Absent: every call.
    #[param(schema_with = crate::domain::query_values::phone_filter)]
    pub phone_number: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Calls to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Seed 003's call history: the tenant's calls to or from `phoneNumber`, newest first.
pub async fn history(
    state: &AppState,
    tenant: &Tenant,
    q: &CallHistoryQuery,
) -> Result<Vec<CallView>, Failure> {
    // An unencoded `+` in a query string arrives as a space.
    let number = q
        .phone_number
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|raw| E164::from_query("phoneNumber", raw.trim_end()).map(|p| p.to_string()))
        .transpose()?;
    let (limit, offset) = crate::domain::paging::page(q.limit, q.offset)?;
    let filter = CallFilter {
        phone_number: number,
        ..Default::default()
    };
    let (rows, _) = db::calls::list(&state.db, &tenant.id, &filter, limit, offset).await?;
    let ids: Vec<String> = rows
        .iter()
        .filter(|c| c.direction == "outbound")
        .map(|c| c.id.clone())
        .collect();
    let mut requests = store::for_calls(&state.db, &tenant.id, &ids).await?;
    Ok(rows
        .iter()
        .map(|c| CallView {
            call: CallLogView::from(c),
            request: requests.remove(&c.id),
        })
        .collect())
}
