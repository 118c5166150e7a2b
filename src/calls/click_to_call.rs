//! Click-to-call (seed 002's `make-call {to, clientId}` without a message): the customer is called,
//! and once they answer they are connected to the business through its normal routing: the routing
//! plan's targets in order (staff by the policy's order, or the external number), then the policy's
//! fallback (voicemail or hang-up), exactly as an inbound call would be routed at that moment.
//!
//! The call is created with `Url` = [`CONNECT_PATH`] rather than inline TwiML, so the plan is made
//! when the customer answers (business hours, who is on duty), and so the `<Dial action>` can carry
//! the CallSid, which does not exist before the call is created. From there the ordinary dial action
//! takes over: the next target on no-answer, then the fallback. An outbound call is never "missed"
//! and never texted back (see `flow::mark_missed`).
//!
//! Twilio fetches the URL when the customer answers, normally seconds after the create; the call's
//! row is written as soon as Twilio accepts the create, so the handler waits briefly for it if the
//! answer came first. A retry of the fetch re-renders from the stored plan.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::VoiceResponse;

use super::flow::{apology, next_rotation, route_on};
use super::plan;
use crate::db::StoreError;
use crate::db::{self, calls::Call};
use crate::domain::CallSid;
use crate::recordings::RecordingHooks;
use crate::state::AppState;
use crate::web::error::ApiError;
use crate::web::twilio_webhook::TwilioRequest;

/// Where Twilio fetches a click-to-call's instructions once the customer answers.
pub const CONNECT_PATH: &str = "/api/webhooks/twilio/voice/connect";

/// How long the handler waits for the call's row when Twilio's fetch overtook it.
const ROW_WAIT: Duration = Duration::from_secs(3);

/// `POST /api/webhooks/twilio/voice/connect`.
pub async fn connect(State(state): State<AppState>, req: TwilioRequest) -> Response {
    let Some(call_sid) = req.call_sid() else {
        return ApiError::validation("CallSid", "is required").into_response();
    };
    match connect_call(&state, &call_sid).await {
        Ok(resp) => resp.into_response(),
        Err(e) => apology(e),
    }
}

async fn find_call(state: &AppState, call_sid: &CallSid) -> Result<Option<Call>, StoreError> {
    let deadline = tokio::time::Instant::now() + ROW_WAIT;
    loop {
        if let Some(call) = db::calls::get_by_sid(&state.db, call_sid).await? {
            return Ok(Some(call));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn connect_call(state: &AppState, call_sid: &CallSid) -> Result<VoiceResponse, StoreError> {
    let Some(call) = find_call(state, call_sid).await? else {
        tracing::warn!(%call_sid, "click-to-call connect for an unknown call");
        return Ok(VoiceResponse::new().hangup());
    };
    if call.direction != "outbound" {
        // Only calls Switchboard placed are connected this way.
        tracing::warn!(
            %call_sid,
            "click-to-call connect for an inbound call; ignored"
        );
        return Ok(VoiceResponse::new().hangup());
    }
    let Some(tenant) = db::tenants::get(&state.db, &call.tenant_id).await? else {
        return Ok(VoiceResponse::new().hangup());
    };
    let hooks = RecordingHooks::new(&state.config);
    let mut tx = state.db.begin().await?;
    let Some(mut call) = db::calls::get_by_sid(&mut tx, call_sid).await? else {
        return Ok(VoiceResponse::new().hangup());
    };
    if call.targets().is_empty() && call.route_index == 0 {
        // First fetch: plan now, as an inbound call would be routed at this moment.
        let staff = state
            .routing
            .staff(&state.db, state.clock.now_ms(), &tenant.id)
            .await?;
        let rotation = next_rotation(&mut tx, &tenant).await?;
        let p = plan::plan(&tenant, &staff, state.clock.now(), rotation);
        call.after_hours = p.after_hours;
        call.route_targets = p.targets.into();
        call.updated_at = state.clock.now_ms();
        db::calls::save(&mut tx, &call).await?;
        let step = super::steps::Step::Connect {
            targets: call.targets().to_vec(),
            after_hours: call.after_hours,
        };
        super::steps::record(&mut tx, &call, call.updated_at, step).await?;
    }
    tx.commit().await?;
    let ringing = !call.after_hours && (call.route_index as usize) < call.targets().len();
    let intro = if ringing {
        format!(
            "Hello, this is {}. Please hold while we connect you.",
            tenant.name
        )
    } else {
        format!("Hello, this is {}.", tenant.name)
    };
    tracing::info!(%call_sid, tenant = %tenant.id, targets = call.targets().len(), "click-to-call answered; connecting");
    Ok(route_on(&tenant, &call, Some(&intro), &hooks))
}
