//! The first step of an inbound call: the voice webhook logs the call once, plans its route and
//! greets; the follow-ups (dial, gather and voicemail actions) are in `actions`.

use std::sync::Arc;

use axum::extract::State;

use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::VoiceResponse;

use super::plan;
use super::render;
use super::steps::{self, Step};
use crate::db::StoreError;
use crate::db::batch::{Batch, Keys};
use crate::db::writer::BatchUnit;
use crate::db::{self, Tx, calls::Call, tenants::Tenant};
use crate::domain::CallSid;
use crate::domain::call_route::CallStrategy;
use crate::domain::routing::{Fallback, Strategy};
use crate::domain::states::CallStatus;
use crate::domain::{E164, new_id};
use crate::events::{self, CallData};
use crate::jobs::{JobKind, NewJob};
use crate::messaging::text_back::{MissedCallTextBack, TextBackPayload};
use crate::recordings::RecordingHooks;
use crate::state::AppState;
use crate::web::error::ApiError;
use crate::web::twilio_webhook::TwilioRequest;
use crate::with_tx;

/// Job kind of the missed-call text-back SMS (delivered by the messaging worker).
pub use crate::messaging::text_back::MISSED_CALL_TEXT_BACK;

/// Internal failures on a webhook: logged, then a spoken apology with HTTP 200 so the caller hears
/// something better than Twilio's "application error".
pub(super) fn apology(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "voice webhook failed");
    VoiceResponse::new()
        .say("We are sorry, we cannot take your call right now. Please try again later.")
        .hangup()
        .into_response()
}

pub(super) fn bad_request(field: &str, msg: &str) -> Response {
    ApiError::validation(field, msg).into_response()
}

/// Resolves the tenant that owns the called number.
async fn tenant_for(state: &AppState, to: Option<&str>) -> Result<Option<Arc<Tenant>>, StoreError> {
    let now = state.clock.now_ms();
    if let Some(raw) = to
        && let Some(Some(tenant)) = state.routing.cached_tenant(&state.db, now, raw).await?
    {
        return Ok(Some(tenant));
    }
    let Some(number) = to.and_then(|t| E164::parse("To", t).ok()) else {
        return Ok(None);
    };
    if let Some(t) = state
        .routing
        .tenant_by_number(&state.db, now, &number)
        .await?
    {
        return Ok(Some(t));
    }
    // Seed 004: numbers managed elsewhere are resolved by the provisioning service.
    match super::lookup::tenant_id(state, &number).await {
        Some(id) => Ok(db::tenants::find(&state.db, &id).await?.map(Arc::new)),
        None => Ok(None),
    }
}

/// Marks the call missed, once: enqueues the missed-call text-back (when the caller can receive a
/// text) and emits `call.missed`, both in `tx`. `outcome` is what ended it (`no-answer`, `busy`, …).
pub(crate) async fn mark_missed(
    state: &AppState,
    tx: &mut Tx,
    call: &mut Call,
    outcome: &str,
) -> Result<(), StoreError> {
    let Some(NewlyMissed { text_back }) = missed(call) else {
        return Ok(());
    };
    if let Some(job) = text_back {
        state.enqueue(tx, job).await?;
    }
    let data = CallData::of(call).dial_call_status(outcome);
    let (tenant, sid) = (call.tenant_id.as_str(), call.call_sid.as_str());
    events::emit(state, tx, Some(tenant), "call.missed", Some(sid), data).await?;
    Ok(())
}

/// [`mark_missed`] inside a group-commit batch.
pub(crate) fn mark_missed_in(
    state: &AppState,
    batch: &mut Batch<'_>,
    call: &mut Call,
    outcome: &str,
) {
    let Some(NewlyMissed { text_back }) = missed(call) else {
        return;
    };
    if let Some(job) = text_back {
        batch.enqueue(state.pending_job(job));
    }
    let data = CallData::of(call).dial_call_status(outcome);
    let (tenant, sid) = (call.tenant_id.as_str(), call.call_sid.as_str());
    events::emit_in(state, batch, Some(tenant), "call.missed", Some(sid), data);
}

/// A call that [`missed`] has just marked missed.
struct NewlyMissed {
    /// The missed-call text-back, when the caller can receive a text.
    text_back: Option<NewJob>,
}

/// Sets `call.missed` unless it was already, or the call is not inbound (then `None`). The
/// `call.missed` event's data is the call's ([`CallData`]) with `dialCallStatus`, the outcome.
fn missed(call: &mut Call) -> Option<NewlyMissed> {
    if call.missed || call.direction != "inbound" {
        return None;
    }
    call.missed = true;
    let text_back = E164::parse("From", &call.from_number).is_ok().then(|| {
        MissedCallTextBack::new_job(&TextBackPayload {
            tenant_id: call.tenant_id.clone(),
            call_sid: call.call_sid.clone(),
            to: call.from_number.clone(),
        })
        .tenant(call.tenant_id.clone())
        .dedupe(format!("missed-call-text-back:{}", call.call_sid))
    });
    Some(NewlyMissed { text_back })
}

/// The voice webhook (`/api/webhooks/twilio/voice` and the seed aliases).
pub async fn incoming(State(state): State<AppState>, req: TwilioRequest) -> Response {
    // Seed 004: only a ringing (or already answered) call gets instructions.
    let status = req
        .non_empty("CallStatus")
        .unwrap_or("ringing")
        .to_ascii_lowercase();
    if !matches!(
        CallStatus::parse(&status),
        Ok(CallStatus::Ringing | CallStatus::InProgress)
    ) {
        return VoiceResponse::new().into_response();
    }
    let Some(call_sid) = req.call_sid() else {
        return bad_request("CallSid", "is required and must be a Twilio SID");
    };
    let to = req.non_empty("To").or(req.non_empty("Called"));
    let tenant = match tenant_for(&state, to).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            tracing::warn!(
                to = to.unwrap_or(""),
                %call_sid,
                "call to a number no tenant owns"
            );
            return render::not_in_service().into_response();
        }
        Err(e) => return apology(e),
    };
    match start_call(&state, &tenant, &req, &call_sid).await {
        // The hand-off may ask the provider's API, so it runs here rather than in `first_step`.
        Ok(call) if call.strategy == CallStrategy::AiAssistant => {
            match super::ai::hand_off(&state, &tenant, &call).await {
                Some(twiml) => twiml,
                None => after_failed_hand_off(&tenant, &call, &RecordingHooks::new(&state.config))
                    .into_response(),
            }
        }
        Ok(call) => first_step(&tenant, &call, &RecordingHooks::new(&state.config)).into_response(),
        Err(e) => apology(e),
    }
}

/// Logs the call once per CallSid with its plan; a retry finds the stored call and gets the same
/// answer, also when it lands in the same group-commit batch as its original.
async fn start_call(
    state: &AppState,
    tenant: &Arc<Tenant>,
    req: &TwilioRequest,
    call_sid: &CallSid,
) -> Result<Call, StoreError> {
    let staff = state
        .routing
        .staff(&state.db, state.clock.now_ms(), &tenant.id)
        .await?;
    let mut unit = StartCall {
        state: state.clone(),
        tenant: tenant.clone(),
        staff,
        call_sid: call_sid.clone(),
        // `From` is kept as Twilio sent it (Anonymous, client:…, sip:…), bounded in size.
        from: req.get("From").unwrap_or("").chars().take(128).collect(),
        planned: None,
    };
    // Planned here, on the request's own task, unless the plan needs the batch (round robin): the
    // writer's time is the one thing all webhooks share.
    if !unit.round_robin() {
        unit.planned = Some(unit.new_call(0));
    }
    // Keyed by tenant: its round-robin cursor is only ever moved by one writer.
    let (call, created) = state.writer.apply(&tenant.id, unit).await?;
    if created {
        metrics::counter!("switchboard_calls_total", "direction" => "inbound", "strategy" => call.strategy.as_str()).increment(1);
        tracing::info!(%call_sid, tenant = %tenant.id, strategy = %call.strategy, after_hours = call.after_hours, "incoming call");
    }
    Ok(call)
}

/// The first voice webhook's writes: the call with its plan, and `call.incoming`.
struct StartCall {
    state: AppState,
    tenant: Arc<Tenant>,
    staff: Arc<Vec<db::staff::Staff>>,
    call_sid: CallSid,
    from: String,
    /// The call as it will be stored, when it could be planned before the batch.
    planned: Option<Call>,
}

impl StartCall {
    fn round_robin(&self) -> bool {
        self.tenant.routing_policy.staff_order == crate::domain::routing::StaffOrder::RoundRobin
    }

    /// The call row, planned with the round-robin position `rotation`.
    fn new_call(&self, rotation: u64) -> Call {
        let (state, tenant) = (&self.state, &self.tenant);
        let p = plan::plan(tenant, &self.staff, state.clock.now(), rotation);
        let now = state.clock.now_ms();
        Call {
            id: new_id(),
            tenant_id: tenant.id.clone(),
            call_sid: self.call_sid.to_string(),
            direction: "inbound".into(),
            from_number: self.from.clone(),
            to_number: tenant
                .twilio_number
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            status: CallStatus::Ringing,
            strategy: p.strategy.into(),
            after_hours: p.after_hours,
            route_targets: p.targets.into(),
            route_index: 0,
            gather_attempts: 0,
            forwarded_to: None,
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
        }
    }
}

impl BatchUnit for StartCall {
    /// The call, and whether this webhook created it.
    type Output = (Call, bool);

    fn keys(&self, keys: &mut Keys) {
        keys.call_sids.push(self.call_sid.clone());
        keys.tenants.push(self.tenant.id.clone());
        keys.owners.push(self.tenant.id.clone());
        if self.round_robin() {
            keys.cursors.push(self.tenant.id.clone());
        }
    }

    fn apply(&self, batch: &mut Batch<'_>) -> Result<(Call, bool), StoreError> {
        if let Some(existing) = batch.call(&self.call_sid) {
            return Ok((existing, false));
        }
        let call = match &self.planned {
            Some(call) => call.clone(),
            None => {
                let rotation = batch.next_rotation(&self.tenant.id);
                self.new_call(rotation)
            }
        };
        let (state, tenant) = (&self.state, &self.tenant);
        batch.put_call(call.clone());
        steps::record_in(
            batch,
            &call,
            call.start_time,
            Step::Incoming {
                from: call.from_number.clone(),
                strategy: call.strategy.to_string(),
                after_hours: call.after_hours,
                targets: call.targets().to_vec(),
            },
        );
        events::emit_in(
            state,
            batch,
            Some(&tenant.id),
            "call.incoming",
            Some(self.call_sid.as_str()),
            events::CallData::of(&call),
        );
        Ok((call, true))
    }
}

/// Advances the tenant's round-robin counter (only when that order is in use).
pub(super) async fn next_rotation(tx: &mut Tx, tenant: &Tenant) -> Result<u64, StoreError> {
    if tenant.routing_policy.staff_order != crate::domain::routing::StaffOrder::RoundRobin {
        return Ok(0);
    }
    let row: (i64,) = with_tx!(tx, |c| {
        sqlx::query_as("UPDATE tenants SET round_robin_cursor = round_robin_cursor + 1 WHERE id = $1 RETURNING round_robin_cursor")
            .bind(&tenant.id)
            .fetch_one(c)
            .await
    })?;
    Ok(row.0.saturating_sub(1) as u64)
}

/// The TwiML of a call's first step, from its stored plan.
fn first_step(tenant: &Tenant, call: &Call, hooks: &RecordingHooks) -> VoiceResponse {
    let strategy = call.strategy.routing();
    let targets = call.targets();
    let ask_reason = strategy == Strategy::Gather
        || (tenant.routing_policy.gather_after_greeting && !call.after_hours);
    let resp = VoiceResponse::new();
    if ask_reason {
        let text = render::greeting(tenant, call.after_hours, "");
        return render::gather(
            tenant,
            &call.call_sid,
            resp.say(render::say(tenant, text.trim_end())),
        );
    }
    match (strategy, targets.first()) {
        (Strategy::Forward | Strategy::ForwardExternal, Some(first)) => {
            let text = render::greeting(
                tenant,
                call.after_hours,
                "Please hold while we connect you.",
            );
            resp.say(render::say(tenant, text)).dial(render::dial(
                tenant,
                &call.call_sid,
                first,
                hooks,
            ))
        }
        _ => {
            let text = render::greeting(tenant, call.after_hours, "");
            render::voicemail(
                tenant,
                resp.say(render::say(tenant, text.trim_end())),
                hooks,
            )
        }
    }
}

/// The tenant's normal route when an AI hand-off failed: the greeting, then the plan's targets in
/// order (staff, else the external number; not after hours), else the policy's fallback.
fn after_failed_hand_off(tenant: &Tenant, call: &Call, hooks: &RecordingHooks) -> VoiceResponse {
    let ringing = !call.after_hours && !call.targets().is_empty();
    let hold = if ringing {
        "Please hold while we connect you."
    } else {
        ""
    };
    let text = render::greeting(tenant, call.after_hours, hold);
    route_on(tenant, call, Some(text.trim_end()), hooks)
}

/// After the menu (or when nobody answered): ring the plan's targets from `call.route_index`, or the
/// fallback when there are none left.
pub(super) fn route_on(
    tenant: &Tenant,
    call: &Call,
    intro: Option<&str>,
    hooks: &RecordingHooks,
) -> VoiceResponse {
    let mut resp = VoiceResponse::new();
    if let Some(t) = intro {
        resp = resp.say(render::say(tenant, t));
    }
    let targets = call.targets();
    match targets.get(call.route_index as usize) {
        Some(target) if !call.after_hours => {
            resp.dial(render::dial(tenant, &call.call_sid, target, hooks))
        }
        _ => fallback(tenant, resp, hooks),
    }
}

pub(super) fn fallback(
    tenant: &Tenant,
    resp: VoiceResponse,
    hooks: &RecordingHooks,
) -> VoiceResponse {
    match tenant.routing_policy.fallback {
        Fallback::Voicemail => render::voicemail(tenant, resp, hooks),
        Fallback::Hangup => resp
            .say(render::say(
                tenant,
                "Sorry, nobody is available to take your call right now. Goodbye.",
            ))
            .hangup(),
    }
}
