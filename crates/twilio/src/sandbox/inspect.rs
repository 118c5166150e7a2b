//! Sandbox-only endpoints under `/sandbox/`: no Twilio equivalent and no auth, for developers,
//! tests and the call simulator (see the `sandbox` module docs).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::Inner;
use super::auth::parse_pairs;
use super::error::ApiError;
use super::recordings;
use super::state::first;

pub(crate) async fn requests(State(inner): State<Arc<Inner>>) -> Json<Value> {
    Json(json!(inner.store.lock().requests))
}

pub(crate) async fn clear_requests(State(inner): State<Arc<Inner>>) -> StatusCode {
    inner.store.lock().requests.clear();
    StatusCode::NO_CONTENT
}

pub(crate) async fn state(State(inner): State<Arc<Inner>>) -> Json<Value> {
    let store = inner.store.lock();
    Json(json!({
        "messages": store.messages,
        "calls": store.calls,
        "numbers": store.numbers,
        "recordings": store.recordings,
        "webhooks": store.webhooks,
    }))
}

/// `CallSid` and `Duration` (seconds) required, `Channels` (1 or 2) and `Source` optional; form
/// or JSON body.
pub(crate) async fn create_recording(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let pairs: Vec<(String, String)> = if is_json {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(20001, format!("Invalid JSON body: {e}")))?;
        value
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        parse_pairs(&body)
    };
    let call_sid = first(&pairs, "CallSid")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request(20001, "CallSid is required"))?;
    let duration: u32 = first(&pairs, "Duration")
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| ApiError::bad_request(20001, "Duration must be whole seconds"))?;
    let channels: u16 = match first(&pairs, "Channels") {
        None | Some("1") => 1,
        Some("2") => 2,
        Some(_) => return Err(ApiError::bad_request(20001, "Channels must be 1 or 2")),
    };
    let source = first(&pairs, "Source").unwrap_or("RecordVerb");
    let info = recordings::create(&inner, call_sid, duration, channels, source);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "sid": info.sid, "url": info.media_url })),
    ))
}
