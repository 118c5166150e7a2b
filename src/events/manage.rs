//! Managing relay endpoints and deliveries: shared by the admin API, the CLI and the console
//! (which reaches a tenant's own endpoints and deliveries through the tenant-scoped lookups here).

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{EVENT_TYPES, signing};
use crate::clock::rfc3339;
use crate::db::StoreError;
use crate::db::{
    self,
    events::{Attempt, Delivery, Endpoint, Event},
};
use crate::domain::{new_id, text};
use crate::failure::Failure;
use crate::state::AppState;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEndpoint {
    /// http(s) URL that receives the POSTs. A tenant's endpoint must be `https://` to a public
    /// destination, not a private, loopback or link-local address, localhost or this deployment
    /// (unless the operator sets `ALLOW_PRIVATE_DESTINATIONS`).
    pub url: String,
    /// The tenant whose events it receives; absent: every tenant's (a global endpoint).
    pub tenant_id: Option<String>,
    /// Event types to send; absent or empty: all.
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// `whsec_…` signing secret; generated when absent.
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateEndpoint {
    /// As when adding: a tenant's endpoint must be `https://` to a public destination.
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
    /// Replace the signing secret with a new random one.
    pub rotate_secret: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    pub id: String,
    pub tenant_id: Option<String>,
    /// `standard` (Standard Webhooks) or `as_call_service` (seed-004 preset).
    pub kind: String,
    pub url: String,
    /// The signing secret (operators configure receivers with it).
    pub secret: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        EndpointView {
            id: e.id.clone(),
            tenant_id: e.tenant_id.clone(),
            kind: e.kind.clone(),
            url: e.url.clone(),
            secret: e.secret.clone(),
            event_types: e.types(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            description: e.description.clone(),
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    /// pending, delivered or dead.
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id.clone(),
            event_id: d.event_id.clone(),
            endpoint_id: d.endpoint_id.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error.clone(),
            created_at: rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub at: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

impl From<&Attempt> for AttemptView {
    fn from(a: &Attempt) -> Self {
        AttemptView {
            at: rfc3339(a.at),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: String,
    pub tenant_id: Option<String>,
    pub r#type: String,
    pub data: serde_json::Value,
    pub created_at: String,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        EventView {
            id: e.id.clone(),
            tenant_id: e.tenant_id.clone(),
            r#type: e.r#type.clone(),
            data: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
            created_at: rfc3339(e.created_at),
        }
    }
}

/// An endpoint's URL as stored. A tenant's endpoint is the tenant's choice, and the relay sends to
/// it from inside the deployment's network, so it must lead to a public destination
/// (`domain::destination`); the operator's (no tenant) may point anywhere.
fn url(state: &AppState, field: &str, v: &str, tenant: bool) -> Result<String, Failure> {
    match url::Url::parse(v.trim()) {
        Ok(u)
            if (u.scheme() == "http" || u.scheme() == "https")
                && u.host().is_some()
                && v.len() <= 2048 =>
        {
            if tenant {
                state.config.destinations().check(field, &u)?;
            }
            Ok(u.to_string())
        }
        _ => Err(Failure::invalid(
            field,
            "must be an http:// or https:// URL",
        )),
    }
}

fn types(v: &[String]) -> Result<String, Failure> {
    for t in v {
        if !EVENT_TYPES.contains(&t.as_str()) {
            return Err(Failure::invalid(
                "eventTypes",
                format!(
                    "unknown event type '{t}' (known: {})",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(json!(v).to_string())
}

pub async fn create(state: &AppState, req: CreateEndpoint) -> Result<Endpoint, Failure> {
    if let Some(t) = &req.tenant_id
        && db::tenants::get(&state.db, t).await?.is_none()
    {
        return Err(Failure::invalid("tenantId", "no such tenant"));
    }
    let secret = match req.secret {
        Some(s) if s.starts_with("whsec_") && s.len() >= 30 && s.len() <= 200 => s,
        Some(_) => {
            return Err(Failure::invalid(
                "secret",
                "must be whsec_ followed by a base64 key of at least 18 bytes",
            ));
        }
        None => signing::new_secret(),
    };
    let url = url(state, "url", &req.url, req.tenant_id.is_some())?;
    let now = state.clock.now_ms();
    let e = Endpoint {
        id: new_id(),
        tenant_id: req.tenant_id,
        kind: "standard".into(),
        url,
        secret,
        event_types: types(&req.event_types.unwrap_or_default())?,
        enabled: true,
        disabled_reason: None,
        description: req
            .description
            .as_deref()
            .map(|d| text::optional("description", d, 500))
            .transpose()?
            .flatten(),
        created_at: now,
        updated_at: now,
    };
    db::events::insert_endpoint(&state.db, &e).await?;
    Ok(e)
}

pub async fn update(state: &AppState, id: &str, req: UpdateEndpoint) -> Result<Endpoint, Failure> {
    let mut e = db::events::get_endpoint(&state.db, id)
        .await?
        .ok_or_else(|| Failure::not_found("relay endpoint"))?;
    // Only a new URL is checked: turning an endpoint saved before the check off (or on: the relay
    // checks again before each request) must keep working.
    if let Some(u) = req.url {
        e.url = url(state, "url", &u, e.tenant_id.is_some())?;
    }
    if let Some(t) = req.event_types {
        e.event_types = types(&t)?;
    }
    if let Some(en) = req.enabled {
        e.enabled = en;
        if en {
            e.disabled_reason = None;
        } else {
            e.disabled_reason
                .get_or_insert_with(|| "disabled by hand (API or console)".into());
        }
    }
    if let Some(d) = req.description {
        e.description = text::optional("description", &d, 500)?;
    }
    if req.rotate_secret == Some(true) {
        e.secret = signing::new_secret();
    }
    e.updated_at = state.clock.now_ms();
    db::events::save_endpoint(&state.db, &e).await?;
    Ok(e)
}

/// Removes a relay endpoint and its delivery history.
pub async fn delete(state: &AppState, id: &str) -> Result<(), Failure> {
    db::events::delete_endpoint(&state.db, id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Failure::not_found("relay endpoint"),
            other => other.into(),
        })
}

/// A tenant's own endpoint: another tenant's, or a global one (the operator's), is not found.
pub async fn tenant_endpoint(
    state: &AppState,
    tenant_id: &str,
    id: &str,
) -> Result<Endpoint, Failure> {
    db::events::get_tenant_endpoint(&state.db, tenant_id, id)
        .await?
        .ok_or_else(|| Failure::not_found("relay endpoint"))
}

/// A delivery to one of the tenant's own endpoints; any other is not found.
pub async fn tenant_delivery(
    state: &AppState,
    tenant_id: &str,
    id: &str,
) -> Result<Delivery, Failure> {
    db::events::get_tenant_delivery(&state.db, tenant_id, id)
        .await?
        .ok_or_else(|| Failure::not_found("delivery"))
}

/// The `limit` newest deliveries to endpoint `endpoint_id`, each with its attempts (oldest first).
pub async fn recent_deliveries(
    state: &AppState,
    endpoint_id: &str,
    limit: i64,
) -> Result<Vec<(Delivery, Vec<Attempt>)>, Failure> {
    let deliveries = db::events::list_deliveries(&state.db, endpoint_id, None, limit, 0).await?;
    let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
    let mut by_delivery: std::collections::HashMap<String, Vec<Attempt>> = Default::default();
    for a in db::events::attempts_for(&state.db, &ids).await? {
        by_delivery
            .entry(a.delivery_id.clone())
            .or_default()
            .push(a);
    }
    Ok(deliveries
        .into_iter()
        .map(|d| {
            let attempts = by_delivery.remove(&d.id).unwrap_or_default();
            (d, attempts)
        })
        .collect())
}

/// Sends a dead (or delivered) delivery again, with a fresh set of attempts.
pub async fn replay(state: &AppState, id: &str) -> Result<Delivery, Failure> {
    let mut d = db::events::get_delivery(&state.db, id)
        .await?
        .ok_or_else(|| Failure::not_found("delivery"))?;
    if d.status == "pending" {
        return Err(Failure::conflict("status", "the delivery is still pending"));
    }
    let now = state.clock.now_ms();
    d.status = "pending".into();
    d.updated_at = now;
    d.delivered_at = None;
    let mut tx = state.db.begin().await?;
    with_delivery_update(&mut tx, &d).await?;
    let job = super::deliver::DeliverJob::for_delivery(&d.id).dedupe(format!(
        "delivery:{}:replay:{}",
        d.id,
        new_id()
    ));
    state.enqueue(&mut tx, job).await?;
    tx.commit().await?;
    state.job_wakeup.notify_waiters();
    Ok(d)
}

async fn with_delivery_update(tx: &mut db::Tx, d: &Delivery) -> Result<(), StoreError> {
    crate::with_tx!(tx, |c| {
        sqlx::query(
            "UPDATE deliveries SET status = $2, updated_at = $3, delivered_at = NULL WHERE id = $1",
        )
        .bind(&d.id)
        .bind(&d.status)
        .bind(d.updated_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}
