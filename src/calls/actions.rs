//! The follow-ups of an inbound call: the dial action (sequential fallback to the next staff
//! member), the gather action (the caller's reason) and the voicemail action.

use axum::extract::{Path, State};

use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard_twilio::twiml::VoiceResponse;

use super::steps::{self, AfterDial, Step};
use super::{reason, render, speech};
use crate::db::StoreError;
use crate::db::{self, Tx, calls::Call, tenants::Tenant};
use crate::domain::CallSid;
use crate::domain::routing::CallReason;
use crate::events;
use crate::recordings::RecordingHooks;
use crate::state::AppState;
use crate::web::twilio_webhook::TwilioRequest;

/// Job kind of the missed-call text-back SMS (delivered by the messaging worker).
use super::flow::{apology, bad_request, fallback, mark_missed, route_on};

/// Loads the call named in a follow-up webhook and its tenant, inside a transaction.
async fn load(
    state: &AppState,
    call_sid: &CallSid,
) -> Result<Option<(Tx, Call, Tenant)>, StoreError> {
    let mut tx = state.db.begin().await?;
    let Some(call) = db::calls::get_by_sid(&mut tx, call_sid).await? else {
        return Ok(None);
    };
    let Some(tenant) = db::tenants::get(&state.db, &call.tenant_id).await? else {
        return Ok(None);
    };
    Ok(Some((tx, call, tenant)))
}

/// A follow-up callback acts on the call in its path only when Twilio's own `CallSid` (signed, in
/// the body) is that call: TwiML of another call, wherever it came from, cannot steer this one.
/// Answers the call's SID, or the field and reason of the 400 to send when it is not.
fn bound(path_sid: &str, req: &TwilioRequest) -> Result<CallSid, (&'static str, &'static str)> {
    let Ok(sid) = CallSid::parse(path_sid) else {
        return Err((
            "CallSid",
            "must be a Twilio CallSid: CA followed by 32 hexadecimal digits",
        ));
    };
    match req.non_empty("CallSid") {
        Some(signed) if sid == signed => Ok(sid),
        Some(_) => Err((
            "CallSid",
            "does not match the call this callback belongs to",
        )),
        None => Err(("CallSid", "is required")),
    }
}

/// `<Dial action>`: `completed`/`answered` end the call; anything else tries the next target, then
/// the fallback, marks the call missed and enqueues the text-back.
pub async fn dial_action(
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
    req: TwilioRequest,
) -> Response {
    let call_sid = match bound(&call_sid, &req) {
        Ok(sid) => sid,
        Err((field, reason)) => return bad_request(field, reason),
    };
    let dial_status = req
        .non_empty("DialCallStatus")
        .unwrap_or("")
        .to_ascii_lowercase();
    match continue_after_dial(&state, &call_sid, &dial_status, &req).await {
        Ok(resp) => resp.into_response(),
        Err(e) => apology(e),
    }
}

async fn continue_after_dial(
    state: &AppState,
    call_sid: &CallSid,
    dial_status: &str,
    req: &TwilioRequest,
) -> Result<VoiceResponse, StoreError> {
    let Some((mut tx, mut call, tenant)) = load(state, call_sid).await? else {
        tracing::warn!(%call_sid, "dial action for an unknown call");
        return Ok(VoiceResponse::new());
    };
    let now = state.clock.now_ms();
    let targets = call.targets().to_vec();
    let current = targets.get(call.route_index as usize).cloned();
    call.updated_at = now;
    if dial_status == "completed" || dial_status == "answered" {
        let talked = req
            .get("DialCallDuration")
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(0);
        call.answered_at.get_or_insert(now - talked * 1000);
        call.forwarded_to = current.clone();
        db::calls::save(&mut tx, &call).await?;
        let step = Step::Dial {
            target: current,
            status: dial_status.to_string(),
            duration_seconds: Some(talked),
            then: AfterDial::Answered,
        };
        steps::record(&mut tx, &call, now, step).await?;
        events::emit(
            state,
            &mut tx,
            Some(&call.tenant_id),
            "call.answered",
            Some(&call.call_sid),
            events::CallData::of(&call),
        )
        .await?;
        tx.commit().await?;
        // Seed 004: an answered call needs no more instructions.
        return Ok(VoiceResponse::new());
    }
    call.route_index += 1;
    let next = targets
        .get(call.route_index as usize)
        .filter(|_| !call.after_hours)
        .cloned();
    let step = Step::Dial {
        target: current,
        status: dial_status.to_string(),
        duration_seconds: None,
        then: next.map_or(AfterDial::Fallback, AfterDial::Next),
    };
    steps::record(&mut tx, &call, now, step).await?;
    let resp = if (call.route_index as usize) < targets.len() && !call.after_hours {
        route_on(
            &tenant,
            &call,
            Some("Please continue to hold."),
            &RecordingHooks::new(&state.config),
        )
    } else {
        mark_missed(state, &mut tx, &mut call, dial_status).await?;
        fallback(
            &tenant,
            VoiceResponse::new(),
            &RecordingHooks::new(&state.config),
        )
    };
    db::calls::save(&mut tx, &call).await?;
    tx.commit().await?;
    if call.missed {
        state.job_wakeup.notify_waiters();
        tracing::info!(%call_sid, dial_status, "nobody answered");
    }
    Ok(resp)
}

/// `<Gather action>`: classify the caller's words or key, store them, and answer or route on.
pub async fn gather_action(
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
    req: TwilioRequest,
) -> Response {
    let call_sid = match bound(&call_sid, &req) {
        Ok(sid) => sid,
        Err((field, reason)) => return bad_request(field, reason),
    };
    match after_gather(&state, &call_sid, &req).await {
        Ok(resp) => resp.into_response(),
        Err(e) => apology(e),
    }
}

async fn after_gather(
    state: &AppState,
    call_sid: &CallSid,
    req: &TwilioRequest,
) -> Result<VoiceResponse, StoreError> {
    let Some((mut tx, mut call, tenant)) = load(state, call_sid).await? else {
        tracing::warn!(%call_sid, "gather action for an unknown call");
        return Ok(VoiceResponse::new().hangup());
    };
    let now = state.clock.now_ms();
    call.updated_at = now;
    let speech = req.non_empty("SpeechResult");
    let digits = req.non_empty("Digits");
    if speech.is_none() && digits.is_none() {
        call.gather_attempts += 1;
        let step = Step::Gather {
            speech: None,
            digits: None,
            reason: None,
            attempt: call.gather_attempts,
        };
        steps::record(&mut tx, &call, now, step).await?;
        let resp = if call.gather_attempts < 2 {
            let again =
                VoiceResponse::new().say(render::say(&tenant, "Sorry, I didn't catch that."));
            render::gather(&tenant, call_sid.as_str(), again)
        } else {
            route_on(&tenant, &call, None, &RecordingHooks::new(&state.config))
        };
        db::calls::save(&mut tx, &call).await?;
        tx.commit().await?;
        return Ok(resp);
    }
    let why = reason::classify(speech, digits, &tenant.routing_policy.reason_keywords);
    call.call_reason = Some(why.as_str().to_string());
    let step = Step::Gather {
        speech: speech.map(Step::shorten),
        digits: digits.map(Step::shorten),
        reason: call.call_reason.clone(),
        attempt: call.gather_attempts + 1,
    };
    steps::record(&mut tx, &call, now, step).await?;
    let words = match (speech, digits) {
        (Some(s), _) => format!(
            "Caller said: \"{}\"",
            s.chars().take(1000).collect::<String>()
        ),
        (None, Some(d)) => format!("Caller pressed {d}"),
        (None, None) => String::new(),
    };
    call.notes = Some(match call.notes.take() {
        Some(n) if !n.is_empty() => format!("{n}\n{words}"),
        _ => words,
    });
    let resp = match why {
        CallReason::GetHours => {
            let hours = speech::hours_in_words(
                &tenant.business_hours,
                &tenant.time_zone.time_zone(),
                state.clock.now(),
            );
            render::goodbye(
                &tenant,
                VoiceResponse::new().say(render::say(&tenant, hours)),
            )
        }
        CallReason::GetPricing => {
            let prices = tenant.templates.price_list.as_deref().map(|p| render::fill(p, &tenant)).unwrap_or_else(|| {
                "Our prices depend on the service. Please leave a message or call back during opening hours and we will be happy to help.".into()
            });
            render::goodbye(
                &tenant,
                VoiceResponse::new().say(render::say(&tenant, prices)),
            )
        }
        _ => route_on(
            &tenant,
            &call,
            Some("Thank you. Please hold while we connect you."),
            &RecordingHooks::new(&state.config),
        ),
    };
    db::calls::save(&mut tx, &call).await?;
    tx.commit().await?;
    tracing::info!(%call_sid, reason = why.as_str(), "caller's reason");
    Ok(resp)
}

/// `<Record action>` after a voicemail: remember it, thank the caller, hang up. (The recording itself
/// is fetched and transcribed by the recordings worker from the recording status callback.)
pub async fn voicemail_action(State(state): State<AppState>, req: TwilioRequest) -> Response {
    let Some(call_sid) = req.call_sid() else {
        return bad_request("CallSid", "is required and must be a Twilio SID");
    };
    let result = async {
        let Some((mut tx, mut call, _tenant)) = load(&state, &call_sid).await? else {
            tracing::warn!(%call_sid, "voicemail for an unknown call");
            return Ok::<_, StoreError>(());
        };
        call.voicemail = true;
        if let Some(url) = req.non_empty("RecordingUrl") {
            call.recording_url = Some(url.chars().take(2048).collect());
        }
        let now = state.clock.now_ms();
        call.updated_at = now;
        if call.answered_at.is_none() {
            mark_missed(&state, &mut tx, &mut call, "voicemail").await?;
        }
        db::calls::save(&mut tx, &call).await?;
        let recorded = req
            .get("RecordingDuration")
            .and_then(|d| d.parse::<i64>().ok());
        let step = Step::Voicemail {
            recording_duration_seconds: recorded,
        };
        steps::record(&mut tx, &call, now, step).await?;
        let mut data = events::call_data(&call);
        data["recordingDurationSeconds"] = json!(recorded);
        events::emit(
            &state,
            &mut tx,
            Some(&call.tenant_id),
            "voicemail.received",
            Some(&call.call_sid),
            data,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, %call_sid, "could not record the voicemail");
    }
    VoiceResponse::new()
        .say("Thank you for your message. Goodbye.")
        .hangup()
        .into_response()
}
