//! The `relay.deliver` job: POSTs one event to one endpoint, signed (Standard Webhooks) or in the
//! seed-004 preset's shape, records every attempt, and decides what happens next.
//!
//! 2xx delivered; 410 Gone disables the endpoint (the receiver asked us to stop); anything else,
//! timeouts and connection errors retry with backoff and jitter, honouring `Retry-After`, until the
//! schedule (about a day) runs out and the delivery is dead (replayable from the admin API and the console).
//! A call's events reach each endpoint in order: a delivery waits while an earlier one of the same
//! call to the same endpoint is still pending.
//!
//! A tenant's endpoint is the tenant's choice, so it is sent through the client that resolves only
//! to public addresses (`HttpClients::tenant_relay`), after the URL itself is checked
//! (`Destinations::check_request`: an IP-literal host never reaches a resolver). A destination
//! refused either way, such as a row saved before the save-time check, is a failed attempt with
//! the reason as its error, retried like a connection error (a name may come to resolve to a
//! public address again). The operator's endpoints (global, the seed-004 preset) go anywhere.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{preset, signing};
use crate::clock::rfc3339;
use crate::db::StoreError;
use crate::db::{
    self,
    events::{Attempt, Delivery, Endpoint, Event},
};
use crate::domain::new_id;
use crate::jobs::{Job, JobError, JobHandler, JobKind, RetryPolicy};
use crate::state::AppState;

/// Job kind that delivers one event to one relay endpoint.
pub const DELIVER_JOB: &str = "relay.deliver";

/// `relay.deliver`: one signed delivery of an event to a relay endpoint, queued when the event is
/// emitted (`events::emit`) or replayed (`manage::replay`), run by [`Deliver`].
pub struct DeliverJob;

/// What a delivery job carries: the delivery row, re-read when the job runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverPayload {
    pub delivery_id: String,
}

impl JobKind for DeliverJob {
    const KIND: &'static str = DELIVER_JOB;
    type Payload = DeliverPayload;
}

impl DeliverJob {
    /// The job that delivers `delivery_id`.
    pub fn for_delivery(delivery_id: &str) -> crate::jobs::NewJob {
        Self::new_job(&DeliverPayload {
            delivery_id: delivery_id.to_string(),
        })
    }
}

pub struct Deliver;

fn db_err(e: StoreError) -> JobError {
    JobError::retryable(format!("database: {e}"))
}

#[async_trait::async_trait]
impl JobHandler<AppState> for Deliver {
    fn kind(&self) -> &'static str {
        DeliverJob::KIND
    }

    /// 16 attempts, 5 s doubling to a 4 h cap: about a day before a delivery is dead.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 16,
            base: Duration::from_secs(5),
            cap: Duration::from_secs(4 * 3600),
        }
    }

    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let payload = DeliverJob::decode(job)?;
        let id = payload.delivery_id.as_str();
        let Some(mut d) = db::events::get_delivery(&state.db, id)
            .await
            .map_err(db_err)?
        else {
            return Ok(());
        };
        if d.status != "pending" {
            return Ok(());
        }
        let (Some(endpoint), Some(event)) = (
            db::events::get_endpoint(&state.db, &d.endpoint_id)
                .await
                .map_err(db_err)?,
            db::events::get_event(&state.db, &d.event_id)
                .await
                .map_err(db_err)?,
        ) else {
            return Ok(());
        };
        let now = state.clock.now_ms();
        if !endpoint.enabled {
            return finish(
                state,
                &mut d,
                "dead",
                None,
                Some(format!(
                    "endpoint disabled: {}",
                    endpoint.disabled_reason.clone().unwrap_or_default()
                )),
            )
            .await;
        }
        if db::events::earlier_pending(&state.db, &d)
            .await
            .map_err(db_err)?
        {
            return Err(JobError::Deferred {
                until: now + 2000,
                message: "an earlier event of this call is still pending".into(),
            });
        }
        let started = Instant::now();
        let outcome = post(state, &endpoint, &event).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        d.attempts += 1;
        let (code, error) = match &outcome {
            Ok((code, _)) => (Some(i64::from(*code)), None),
            Err(e) => (None, Some(e.clone())),
        };
        db::events::insert_attempt(
            &state.db,
            &Attempt {
                id: new_id(),
                delivery_id: d.id.clone(),
                at: now,
                status_code: code,
                latency_ms,
                error: error.clone(),
            },
        )
        .await
        .map_err(db_err)?;
        d.last_status_code = code;
        d.last_error = error.clone();
        let last = job.attempts >= job.max_attempts;
        match outcome {
            Ok((200..=299, _)) => {
                d.delivered_at = Some(now);
                finish(state, &mut d, "delivered", code, None).await
            }
            Ok((410, _)) => {
                let mut e = endpoint.clone();
                e.enabled = false;
                e.disabled_reason = Some("the receiver answered 410 Gone".into());
                e.updated_at = now;
                db::events::save_endpoint(&state.db, &e)
                    .await
                    .map_err(db_err)?;
                tracing::warn!(endpoint = %e.id, url = %e.url, "relay endpoint answered 410: disabled");
                finish(
                    state,
                    &mut d,
                    "dead",
                    code,
                    Some("410 Gone: endpoint disabled".into()),
                )
                .await
            }
            Ok((status, retry_after)) => {
                let msg = format!("receiver answered HTTP {status}");
                if last {
                    return finish(state, &mut d, "dead", code, Some(msg)).await;
                }
                save(state, &mut d).await?;
                Err(JobError::Retryable {
                    message: msg,
                    retry_after,
                })
            }
            Err(e) => {
                if last {
                    return finish(state, &mut d, "dead", None, Some(e)).await;
                }
                save(state, &mut d).await?;
                Err(JobError::retryable(e))
            }
        }
    }
}

async fn save(state: &AppState, d: &mut Delivery) -> Result<(), JobError> {
    d.updated_at = state.clock.now_ms();
    db::events::save_delivery(&state.db, d)
        .await
        .map_err(db_err)
}

async fn finish(
    state: &AppState,
    d: &mut Delivery,
    status: &str,
    code: Option<i64>,
    error: Option<String>,
) -> Result<(), JobError> {
    d.status = status.to_string();
    if code.is_some() {
        d.last_status_code = code;
    }
    if error.is_some() {
        d.last_error = error;
    }
    save(state, d).await?;
    metrics::counter!("switchboard_relay_deliveries_total", "status" => status.to_string())
        .increment(1);
    Ok(())
}

/// The standard body every endpoint of kind `standard` receives.
pub fn envelope(event: &Event) -> Value {
    let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    json!({ "id": event.id, "type": event.r#type, "timestamp": rfc3339(event.created_at), "tenantId": event.tenant_id, "data": data })
}

/// Sends the event; answers the HTTP status and any `Retry-After`, or a transport error (or the
/// reason a tenant's destination was refused).
async fn post(
    state: &AppState,
    endpoint: &Endpoint,
    event: &Event,
) -> Result<(u16, Option<Duration>), String> {
    let client = if endpoint.tenant_id.is_some() {
        let url = url::Url::parse(&endpoint.url)
            .map_err(|e| format!("refused destination: the URL does not parse ({e})"))?;
        state.config.destinations().check_request(&url)?;
        &state.clients.tenant_relay
    } else {
        &state.clients.relay
    };
    let request = if endpoint.kind == preset::KIND {
        let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
        let Some((path, body)) = preset::request(
            &event.r#type,
            event.tenant_id.as_deref(),
            &data,
            &rfc3339(event.created_at),
        ) else {
            return Ok((204, None)); // nothing this preset carries
        };
        let mut r = client.post(format!("{}{path}", endpoint.url)).json(&body);
        if let Some(key) = &state.config.auth.internal_service_key {
            r = r.header("X-Service-Key", key.expose());
        }
        r
    } else {
        let body = serde_json::to_vec(&envelope(event)).unwrap_or_default();
        let ts = state.clock.now_ms() / 1000;
        client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", ts.to_string())
            .header(
                "webhook-signature",
                signing::sign(&endpoint.secret, &event.id, ts, &body),
            )
            .body(body)
    };
    match request
        .timeout(state.config.services.relay_timeout)
        .send()
        .await
    {
        Ok(res) => {
            let retry_after = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(switchboard_twilio::rest::parse_retry_after);
            Ok((res.status().as_u16(), retry_after))
        }
        Err(e) => Err(match crate::http_clients::refused_destination(&e) {
            Some(refused) => refused,
            None if e.is_timeout() => "timed out".into(),
            None if e.is_connect() => format!("could not connect: {e}"),
            None => format!("request failed: {e}"),
        }),
    }
}
