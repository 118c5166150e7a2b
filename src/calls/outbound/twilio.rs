//! The outbound call's side of Twilio: the per-tenant pace, Twilio's refusals as the caller's
//! answer, and reading a new call's status back.

use super::*;

/// Waits for the tenant's next outbound-call slot, or refuses when it is too far off.
pub(super) async fn pace(state: &AppState, tenant_id: &str) -> Result<(), Failure> {
    let cost = pacing::cost_ms(1, state.config.pacing.outbound_calls_per_second);
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

fn too_fast(state: &AppState, wait_ms: i64) -> Failure {
    let secs = (((wait_ms + 999) / 1000) as u64).max(1);
    Failure::refused(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!(
            "This business places at most {} outbound call(s) per second; try again in {secs} s.",
            state.config.pacing.outbound_calls_per_second
        ),
    )
    .with_retry_after(secs)
}

/// Twilio's refusal as the caller's answer: the caller's fault (bad number) is a 400 naming `to`; Twilio
/// trouble is a 502/503 (with `Retry-After` when Twilio gave one).
pub(super) fn twilio_error(e: TwilioError) -> Failure {
    const TO_CODES: [u32; 9] = [
        21211, 21214, 21215, 21216, 21217, 21401, 21407, 13223, 13224,
    ];
    let reason = e.human_reason();
    if e.http_status() == Some(400) || matches!(e, TwilioError::InvalidRequest(_)) {
        let field = e
            .twilio_code()
            .filter(|c| TO_CODES.contains(c))
            .map(|_| "to".to_string());
        let refusal = Failure::refused(StatusCode::BAD_REQUEST, "TWILIO_ERROR", reason);
        return match field {
            Some(f) => refusal.with_field(f),
            None => refusal,
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
        return Failure::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "TWILIO_UNAVAILABLE",
            message,
        )
        .with_retry_after(e.retry_after().map_or(5, |d| d.as_secs().max(1)));
    }
    tracing::error!(error = %e, "Twilio refused an outbound call");
    Failure::refused(StatusCode::BAD_GATEWAY, "TWILIO_ERROR", reason)
}

/// A call can move on before it is logged (a number that fails at once): its first callbacks then
/// find no call and are dropped. Asking Twilio once the row exists catches up, through the same
/// forward-only status handler; a callback that comes later still applies as usual.
pub(super) async fn reconcile(state: &AppState, sid: &str) {
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
    let duration = call.duration_secs().map(i64::from);
    let typed = crate::domain::sid::CallSid::stored(sid);
    if let Err(e) = crate::calls::status::apply_report(
        state,
        typed,
        &status,
        duration,
        crate::calls::steps::ReportSource::ReadBack,
    )
    .await
    {
        tracing::warn!(call_sid = sid, error = %e, "could not apply a new outbound call's status");
    }
}
