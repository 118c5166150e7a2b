//! The call status callback: statuses only move forward (Twilio's callbacks arrive out of order and
//! twice), terminal ones record end time and duration, and a call that ended unanswered is missed.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchboard_twilio::twiml::VoiceResponse;

use super::flow::mark_missed;
use crate::app::AppState;
use crate::db;
use crate::error::StoreError;
use crate::events;
use crate::http::twilio_webhook::TwilioRequest;

/// Progress rank of a Twilio call status; terminal statuses share the top rank so none replaces another.
pub fn rank(status: &str) -> Option<u8> {
    match status {
        "queued" | "initiated" => Some(0),
        "ringing" => Some(1),
        "in-progress" | "answered" => Some(2),
        "completed" | "busy" | "failed" | "no-answer" | "canceled" => Some(3),
        _ => None,
    }
}

pub fn is_terminal(status: &str) -> bool {
    rank(status) == Some(3)
}

pub async fn status_callback(State(state): State<AppState>, req: TwilioRequest) -> Response {
    if let Err(e) = apply(&state, &req).await {
        tracing::error!(error = %e, "call status callback failed");
    }
    VoiceResponse::new().into_response()
}

/// Applies one status report; outbound calls also feed it what Twilio's REST API says (`outbound`).
pub(super) async fn apply(state: &AppState, req: &TwilioRequest) -> Result<(), StoreError> {
    let (Some(call_sid), Some(status)) = (req.non_empty("CallSid"), req.non_empty("CallStatus"))
    else {
        tracing::warn!("call status callback without CallSid or CallStatus");
        return Ok(());
    };
    let status = status.to_ascii_lowercase();
    let Some(new_rank) = rank(&status) else {
        tracing::warn!(call_sid, status, "unknown call status");
        return Ok(());
    };
    let call_duration = req
        .get("CallDuration")
        .and_then(|d| d.trim().parse::<i64>().ok());
    let (unit_state, sid) = (state.clone(), call_sid.to_string());
    let missed = state
        .writer
        .run(call_sid, move |tx| {
            Box::pin(async move {
                let state = unit_state;
                let Some(mut call) = db::calls::get_by_sid_tx(tx, &sid).await? else {
                    tracing::warn!(
                        call_sid = sid,
                        status,
                        "status callback for an unknown call"
                    );
                    return Ok(false);
                };
                let current = rank(&call.status).unwrap_or(0);
                if new_rank <= current {
                    // Late or repeated: nothing to move forward.
                    return Ok(false);
                }
                let now = state.clock.now_ms();
                call.status = status.clone();
                call.updated_at = now;
                if call.direction == "outbound" && call.answered_at.is_none() {
                    // Nobody dials on an outbound call's behalf: its own callbacks say when the
                    // callee picked up.
                    let talked = call_duration.unwrap_or(0);
                    if status == "in-progress" {
                        call.answered_at = Some(now);
                    } else if status == "completed" && talked > 0 {
                        call.answered_at = Some(now - talked * 1000);
                    }
                }
                if is_terminal(&status) {
                    call.end_time = Some(now);
                    call.duration_seconds = call_duration.filter(|d| *d >= 0);
                    if call.answered_at.is_none() {
                        mark_missed(&state, tx, &mut call, &status).await?;
                    }
                    events::emit(
                        &state,
                        tx,
                        Some(&call.tenant_id),
                        "call.completed",
                        Some(&call.call_sid),
                        events::call_data(&call),
                    )
                    .await?;
                }
                db::calls::save(tx, &call).await?;
                Ok(call.missed)
            })
        })
        .await?;
    if missed {
        state.job_wakeup.notify_waiters();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        assert!(rank("ringing") < rank("in-progress"));
        assert!(rank("in-progress") < rank("completed"));
        assert_eq!(
            rank("busy"),
            rank("completed"),
            "no terminal status replaces another"
        );
        assert_eq!(rank("bogus"), None);
    }
}
