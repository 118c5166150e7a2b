//! The seed-004 preset: `AS_CALL_SERVICE_URL` + `INTERNAL_SERVICE_KEY` make a global relay endpoint of
//! kind `as_call_service` that receives `call.incoming` (ringing calls) at `{url}/calls/incoming` and
//! `call.missed` at `{url}/calls/missed`, in the shapes the as-call-service expects, with
//! `X-Service-Key`. It rides the same durable deliveries as every other endpoint, so the webhook that
//! caused it never waits for it.

use serde_json::{Value, json};

use crate::db::StoreError;
use crate::db::{self, events::Endpoint};
use crate::state::AppState;

pub const KIND: &str = "as_call_service";
/// The preset endpoint's fixed id, so start-up can find and update it.
pub const ENDPOINT_ID: &str = "as-call-service";

/// Whether an endpoint of this kind carries `event_type` at all.
pub fn carries(endpoint: &Endpoint, event_type: &str) -> bool {
    endpoint.kind != KIND || matches!(event_type, "call.incoming" | "call.missed")
}

/// Creates, updates or disables the preset endpoint from the configuration (idempotent).
pub async fn ensure(state: &AppState) -> Result<(), StoreError> {
    let existing = db::events::get_endpoint(&state.db, ENDPOINT_ID).await?;
    let now = state.clock.now_ms();
    match (&state.config.services.as_call_service_url, existing) {
        (Some(url), None) => db::events::insert_endpoint(
            &state.db,
            &Endpoint {
                id: ENDPOINT_ID.into(),
                tenant_id: None,
                kind: KIND.into(),
                url: url.as_str().trim_end_matches('/').to_string(),
                secret: String::new(),
                event_types: json!(["call.incoming", "call.missed"]).to_string(),
                enabled: true,
                disabled_reason: None,
                description: Some("seed-004 as-call-service (AS_CALL_SERVICE_URL)".into()),
                created_at: now,
                updated_at: now,
            },
        )
        .await
        .or_else(|e| {
            if matches!(e, StoreError::Conflict(_)) {
                Ok(())
            } else {
                Err(e)
            }
        }),
        (Some(url), Some(mut e)) => {
            let url = url.as_str().trim_end_matches('/').to_string();
            if e.url != url || !e.enabled {
                e.url = url;
                e.enabled = true;
                e.disabled_reason = None;
                e.updated_at = now;
                db::events::save_endpoint(&state.db, &e).await?;
            }
            Ok(())
        }
        (None, Some(mut e)) if e.enabled => {
            e.enabled = false;
            e.disabled_reason = Some("AS_CALL_SERVICE_URL is not set".into());
            e.updated_at = now;
            db::events::save_endpoint(&state.db, &e).await
        }
        _ => Ok(()),
    }
}

/// The path and body the as-call-service expects for an event (seed 004).
pub fn request(
    event_type: &str,
    tenant_id: Option<&str>,
    data: &Value,
    created_at: &str,
) -> Option<(&'static str, Value)> {
    match event_type {
        "call.incoming" => Some((
            "/calls/incoming",
            json!({
                // The field names the seed's handler reads, and the spellings its client sends.
                "CallSid": data["callSid"], "From": data["from"], "To": data["to"], "tenantId": tenant_id,
                "CallStatus": "ringing", "Direction": "inbound",
                "callSid": data["callSid"], "from": data["from"], "to": data["to"],
                "callStatus": "ringing", "direction": "inbound", "timestamp": created_at,
            }),
        )),
        "call.missed" => Some((
            "/calls/missed",
            json!({
                "callSid": data["callSid"],
                "callStatus": data["dialCallStatus"].as_str().unwrap_or(data["status"].as_str().unwrap_or("no-answer")),
                "callDuration": data["durationSeconds"].as_i64().unwrap_or(0),
                "endTime": data["endTime"].as_str().map(str::to_string).unwrap_or_else(|| created_at.to_string()),
                "tenantId": tenant_id,
            }),
        )),
        _ => None,
    }
}
