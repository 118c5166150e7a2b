//! The call status callback: statuses only move forward (Twilio's callbacks arrive out of order and
//! twice), terminal ones record end time and duration, and a call that ended unanswered is missed.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::VoiceResponse;

use super::flow::mark_missed_in;
use super::steps::{self, ReportSource, Step};
use crate::db::StoreError;
use crate::db::batch::{Batch, Keys};
use crate::db::writer::BatchUnit;
use crate::domain::CallSid;
use crate::domain::states::CallStatus;
use crate::events;
use crate::state::AppState;
use crate::web::twilio_webhook::TwilioRequest;

pub async fn status_callback(State(state): State<AppState>, req: TwilioRequest) -> Response {
    if let Err(e) = apply(&state, &req).await {
        tracing::error!(error = %e, "call status callback failed");
    }
    VoiceResponse::new().into_response()
}

/// Applies one status callback.
async fn apply(state: &AppState, req: &TwilioRequest) -> Result<(), StoreError> {
    let (Some(call_sid), Some(status)) = (req.call_sid(), req.non_empty("CallStatus")) else {
        tracing::warn!("call status callback without CallSid or CallStatus");
        return Ok(());
    };
    let call_duration = req
        .get("CallDuration")
        .and_then(|d| d.trim().parse::<i64>().ok());
    apply_report(
        state,
        call_sid,
        status,
        call_duration,
        ReportSource::Callback,
    )
    .await
}

/// Applies one status report: a callback's, or what Twilio's REST API says of a new outbound call
/// (`outbound::reconcile`).
pub(in crate::calls) async fn apply_report(
    state: &AppState,
    call_sid: CallSid,
    status: &str,
    call_duration: Option<i64>,
    source: ReportSource,
) -> Result<(), StoreError> {
    let status = match CallStatus::reported(&status.to_ascii_lowercase()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%call_sid, error = %e, "unknown call status");
            return Ok(());
        }
    };
    let key = call_sid.to_string();
    let unit = StatusMove {
        state: state.clone(),
        call_sid,
        status,
        call_duration,
        source,
    };
    if state.writer.apply(&key, unit).await? {
        state.job_wakeup.notify_waiters();
    }
    Ok(())
}

/// A status report's writes: the call moved forward, and on a terminal status its end, the missed
/// call's text-back and events.
struct StatusMove {
    state: AppState,
    call_sid: CallSid,
    status: CallStatus,
    call_duration: Option<i64>,
    source: ReportSource,
}

impl BatchUnit for StatusMove {
    /// Whether the call is (now) missed: its text-back may be waiting.
    type Output = bool;

    fn keys(&self, keys: &mut Keys) {
        keys.call_sids.push(self.call_sid.clone());
    }

    fn apply(&self, batch: &mut Batch<'_>) -> Result<bool, StoreError> {
        let (state, status) = (&self.state, self.status);
        let Some(mut call) = batch.call(&self.call_sid) else {
            tracing::warn!(
                call_sid = %self.call_sid,
                %status,
                "status callback for an unknown call"
            );
            return Ok(false);
        };
        let now = state.clock.now_ms();
        let step = Step::Status {
            status: status.to_string(),
            previous: call.status.to_string(),
            applied: call.status.can_move_to(status),
            duration_seconds: self.call_duration,
            source: self.source.as_str().to_string(),
        };
        steps::record_in(batch, &call, now, step);
        if !call.status.can_move_to(status) {
            // Late or repeated: nothing to move forward.
            return Ok(false);
        }
        call.status = status;
        call.updated_at = now;
        if call.direction == "outbound" && call.answered_at.is_none() {
            // Nobody dials on an outbound call's behalf: its own callbacks say when the callee
            // picked up.
            let talked = self.call_duration.unwrap_or(0);
            if status == CallStatus::InProgress {
                call.answered_at = Some(now);
            } else if status == CallStatus::Completed && talked > 0 {
                call.answered_at = Some(now - talked * 1000);
            }
        }
        if status.is_terminal() {
            call.end_time = Some(now);
            call.duration_seconds = self.call_duration.filter(|d| *d >= 0);
            if call.answered_at.is_none() {
                mark_missed_in(state, batch, &mut call, status.as_str());
            }
            events::emit_in(
                state,
                batch,
                Some(&call.tenant_id),
                "call.completed",
                Some(&call.call_sid),
                events::CallData::of(&call),
            );
        }
        let missed = call.missed;
        batch.put_call(call);
        Ok(missed)
    }
}
