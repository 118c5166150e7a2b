//! Events: what the host app and downstream services learn. A feature calls [`emit`] inside the
//! transaction of the change that caused it; the event row and one delivery (with its durable
//! `relay.deliver` job) per interested endpoint commit with that change or not at all.

mod api;
pub mod deliver;
pub mod manage;
pub mod preset;
pub mod signing;

use serde::Serialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

use crate::db::StoreError;
use crate::db::{self, Tx, batch::Batch, calls::Call};
use crate::domain::call_route::CallStrategy;
use crate::domain::new_id;
use crate::domain::states::CallStatus;
use crate::jobs::NewJob;
use crate::state::AppState;

/// Every event type Switchboard emits.
pub const EVENT_TYPES: [&str; 11] = [
    "call.incoming",
    "call.answered",
    "call.completed",
    "call.missed",
    "voicemail.received",
    "transcription.completed",
    "sms.received",
    "message.status",
    "notification.failed",
    "number.provisioned",
    "number.released",
];

pub use deliver::DELIVER_JOB;

/// Records an event for `tenant_id` and fans it out to the endpoints that want it, inside `tx`.
/// `ordering_key` (e.g. a CallSid) keeps one call's events in order at each endpoint.
pub async fn emit(
    state: &AppState,
    tx: &mut Tx,
    tenant_id: Option<&str>,
    event_type: &str,
    ordering_key: Option<&str>,
    data: impl Serialize,
) -> Result<String, StoreError> {
    let event = new_event(state, tenant_id, event_type, ordering_key, data);
    db::events::insert_event(tx, &event).await?;
    let endpoints = db::events::endpoints_for(tx, tenant_id).await?;
    for (delivery, job) in fan_out(state, &event, endpoints.iter()) {
        db::events::insert_delivery(tx, &delivery).await?;
        state.enqueue(tx, job).await?;
    }
    Ok(event.id)
}

/// [`emit`] inside a group-commit batch (`db::batch`): the same rows, written with the batch.
pub fn emit_in(
    state: &AppState,
    batch: &mut Batch<'_>,
    tenant_id: Option<&str>,
    event_type: &str,
    ordering_key: Option<&str>,
    data: impl Serialize,
) -> String {
    let event = new_event(state, tenant_id, event_type, ordering_key, data);
    let fanned = fan_out(state, &event, batch.endpoints_for(tenant_id));
    let id = event.id.clone();
    batch.add_event(event);
    for (delivery, job) in fanned {
        batch.add_delivery(delivery);
        batch.enqueue(state.pending_job(job));
    }
    id
}

fn new_event(
    state: &AppState,
    tenant_id: Option<&str>,
    event_type: &str,
    ordering_key: Option<&str>,
    data: impl Serialize,
) -> db::events::Event {
    debug_assert!(
        EVENT_TYPES.contains(&event_type),
        "unknown event type {event_type}"
    );
    db::events::Event {
        id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
        tenant_id: tenant_id.map(str::to_string),
        r#type: event_type.to_string(),
        ordering_key: ordering_key.map(str::to_string),
        // Serialised straight from the caller's data: no `Value` tree built on the hot path.
        payload: serde_json::to_string(&data).expect("event data serialises to JSON"),
        created_at: state.clock.now_ms(),
    }
}

/// One pending delivery, with its durable job, per endpoint that wants `event`.
fn fan_out<'e>(
    state: &AppState,
    event: &db::events::Event,
    endpoints: impl Iterator<Item = &'e db::events::Endpoint>,
) -> Vec<(db::events::Delivery, NewJob)> {
    let now = state.clock.now_ms();
    endpoints
        .filter(|e| e.wants(&event.r#type) && preset::carries(e, &event.r#type))
        .map(|endpoint| {
            let delivery = db::events::Delivery {
                id: new_id(),
                event_id: event.id.clone(),
                endpoint_id: endpoint.id.clone(),
                ordering_key: event.ordering_key.clone(),
                status: "pending".into(),
                attempts: 0,
                last_status_code: None,
                last_error: None,
                created_at: now,
                updated_at: now,
                delivered_at: None,
            };
            let job = deliver::DeliverJob::for_delivery(&delivery.id)
                .dedupe(format!("delivery:{}", delivery.id));
            let job = match &event.tenant_id {
                Some(t) => job.tenant(t),
                None => job,
            };
            (delivery, job)
        })
        .collect()
}

/// The event data describing a call, serialised with its keys in alphabetical order (the order a
/// `serde_json::Value` object has, which the payloads had before this struct).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallData<'a> {
    after_hours: bool,
    call_id: &'a str,
    call_reason: Option<&'a str>,
    call_sid: &'a str,
    /// Only in `call.missed`: what ended the call (`no-answer`, `busy`, `voicemail`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    dial_call_status: Option<&'a str>,
    direction: &'a str,
    duration_seconds: Option<i64>,
    end_time: Option<String>,
    forwarded_to: Option<&'a str>,
    from: &'a str,
    missed: bool,
    recording_url: Option<&'a str>,
    start_time: String,
    status: CallStatus,
    strategy: CallStrategy,
    to: &'a str,
    voicemail: bool,
}

impl<'a> CallData<'a> {
    pub fn of(call: &'a Call) -> Self {
        CallData {
            after_hours: call.after_hours,
            call_id: &call.id,
            call_reason: call.call_reason.as_deref(),
            call_sid: &call.call_sid,
            dial_call_status: None,
            direction: &call.direction,
            duration_seconds: call.duration_seconds,
            end_time: call.end_time.map(crate::clock::rfc3339),
            forwarded_to: call.forwarded_to.as_deref(),
            from: &call.from_number,
            missed: call.missed,
            recording_url: call.recording_url.as_deref(),
            start_time: crate::clock::rfc3339(call.start_time),
            status: call.status,
            strategy: call.strategy,
            to: &call.to_number,
            voicemail: call.voicemail,
        }
    }

    /// The data of `call.missed`: the call's, and the outcome that made it missed.
    pub fn dial_call_status(self, outcome: &'a str) -> Self {
        CallData {
            dial_call_status: Some(outcome),
            ..self
        }
    }
}

/// [`CallData`] as a JSON object, for events that add fields of their own to it.
pub fn call_data(call: &Call) -> Value {
    serde_json::to_value(CallData::of(call)).expect("call data serialises to JSON")
}

/// The operator API's relay routes (endpoints, deliveries, replay).
pub fn routes() -> OpenApiRouter<AppState> {
    api::routes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A completed call, every optional field set.
    fn call() -> Call {
        serde_json::from_str(
            r#"{"id":"c1","tenant_id":"t1","call_sid":"CA1","direction":"inbound",
            "from_number":"+14155550100","to_number":"+15005550006","status":"completed",
            "strategy":"forward","after_hours":true,"route_targets":"[\"+14155550101\"]",
            "route_index":0,"gather_attempts":0,"forwarded_to":"+14155550101",
            "call_reason":"booking","notes":null,"recording_url":"https://r/1","voicemail":false,
            "missed":false,"start_time":1000,"answered_at":2000,"end_time":61000,
            "duration_seconds":59,"created_at":1000,"updated_at":61000}"#,
        )
        .unwrap()
    }

    /// The payload's exact bytes: every key, in the alphabetical order the payloads have had since
    /// they were built as `serde_json::Value` objects.
    #[test]
    fn call_data_serialises_every_field_in_alphabetical_key_order() {
        let expected = concat!(
            r#"{"afterHours":true,"callId":"c1","callReason":"booking","callSid":"CA1","#,
            r#""direction":"inbound","durationSeconds":59,"endTime":"1970-01-01T00:01:01.000Z","#,
            r#""forwardedTo":"+14155550101","from":"+14155550100","missed":false,"#,
            r#""recordingUrl":"https://r/1","startTime":"1970-01-01T00:00:01.000Z","#,
            r#""status":"completed","strategy":"forward","to":"+15005550006","voicemail":false}"#
        );
        let call = call();
        assert_eq!(
            serde_json::to_string(&CallData::of(&call)).unwrap(),
            expected
        );
        // The `Value` form (for events that add fields) is the same object.
        assert_eq!(call_data(&call).to_string(), expected);
    }

    /// `call.missed` carries `dialCallStatus` where the `Value` object it was built as put it.
    #[test]
    fn missed_call_data_adds_the_outcome_in_key_order() {
        let call = call();
        let mut before = call_data(&call);
        before["dialCallStatus"] = serde_json::json!("no-answer");
        let now =
            serde_json::to_string(&CallData::of(&call).dial_call_status("no-answer")).unwrap();
        assert_eq!(now, before.to_string());
        assert!(
            now.contains(r#""callSid":"CA1","dialCallStatus":"no-answer","direction""#),
            "{now}"
        );
    }
}
