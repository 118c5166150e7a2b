//! `POST /api/webhooks/stripe`: subscription changes from Stripe.
//!
//! The body is verified before it is parsed: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=…]`,
//! where v1 is HMAC-SHA256 with `STRIPE_WEBHOOK_SECRET` over `"<t>.<raw body>"` (several v1 entries
//! appear while a secret is being rolled; any one may match). A timestamp more than five minutes
//! from the app clock is refused, so a captured request cannot be replayed later.
//!
//! `customer.subscription.created|updated` set the tenant's status from the subscription's, and
//! `customer.subscription.deleted` sets CANCELED, through the same service call as the admin API (so
//! provisioning follows). The tenant is the one whose stored Stripe customer id is the
//! subscription's customer. Everything else (other event types, unknown customers, events older than
//! one already applied: Stripe does not promise order) is answered 200 and ignored, because any
//! other answer makes Stripe retry it for days.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::SubscriptionStatus;
use crate::numbers::store;
use crate::state::AppState;
use crate::tenants::manage as tenants;
use crate::web::doc::BodyTooLarge;
use crate::web::envelope::{Envelope, ok};
use crate::web::error::{ApiError, ErrorEnvelope};

/// Stripe's default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(OpenApi)]
#[openapi(tags((name = "webhooks", description = "Signed webhooks from Stripe")))]
struct StripeDoc;

/// Why a `Stripe-Signature` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Stripe-Signature header is missing")]
    Missing,
    #[error("Stripe-Signature header is malformed (expected t=…,v1=…)")]
    Malformed,
    #[error("no v1 signature matches the payload")]
    Mismatch,
    #[error("the signature's timestamp is more than 5 minutes from now")]
    Expired,
}

/// Checks `header` against `body`. `now` is Unix seconds. Returns the signed timestamp.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => timestamp = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            // Malformed hex cannot match; it is not worth refusing the others for.
            "v1" => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    // Every candidate is compared (in constant time each), so timing says nothing about which one
    // matched or how much of it.
    let mut matched = false;
    for s in &signatures {
        matched |= s.len() == expected.len() && bool::from(s.as_slice().ct_eq(expected.as_slice()));
    }
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > tolerance {
        return Err(SignatureError::Expired);
    }
    Ok(t)
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default)]
    data: Option<EventData>,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// What happened to a Stripe event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StripeReceipt {
    pub received: bool,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the event changed a tenant's subscription.
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_status: Option<SubscriptionStatus>,
    /// Why the event was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

fn bad_signature(e: SignatureError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_SIGNATURE", e.to_string())
}

/// Stripe subscription events. Verified with `STRIPE_WEBHOOK_SECRET`; 503 while that is unset.
#[utoipa::path(post, path = "/api/webhooks/stripe", tag = "webhooks",
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<HMAC-SHA256 hex>")),
    request_body(content = String, content_type = "application/json", description = "A Stripe event, exactly as Stripe sent it"),
    responses((status = 200, description = "The event was applied, or ignored as not Switchboard's", body = Envelope<StripeReceipt>),
        (status = 400, description = "Missing or wrong signature, a stale timestamp or an unreadable event", body = ErrorEnvelope),
        (status = 503, description = "`STRIPE_WEBHOOK_SECRET` is not set, so the webhook is disabled", body = ErrorEnvelope),
        BodyTooLarge))]
async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Envelope<StripeReceipt>>, ApiError> {
    let Some(secret) = &state.config.auth.stripe_webhook_secret else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "STRIPE_WEBHOOK_DISABLED",
            "the Stripe webhook is disabled: set STRIPE_WEBHOOK_SECRET to enable it",
        ));
    };
    let header = headers
        .get("stripe-signature")
        .ok_or_else(|| bad_signature(SignatureError::Missing))?
        .to_str()
        .map_err(|_| bad_signature(SignatureError::Malformed))?;
    let now = state.clock.now_ms().div_euclid(1000);
    verify(secret, header, &body, now, TOLERANCE_SECS).map_err(bad_signature)?;
    let event: Event = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            format!("not a Stripe event: {e}"),
        )
    })?;
    let mut receipt = StripeReceipt {
        received: true,
        event_id: event.id.clone(),
        kind: event.kind.clone(),
        applied: false,
        tenant_id: None,
        subscription_status: None,
        ignored: None,
    };
    let ignore = |mut r: StripeReceipt, why: String| {
        tracing::info!(event = %r.event_id, kind = %r.kind, why, "Stripe event ignored");
        r.ignored = Some(why);
        Ok(ok(r))
    };
    let object = event.data.map(|d| d.object).unwrap_or_default();
    let status = match event.kind.as_str() {
        "customer.subscription.deleted" => SubscriptionStatus::Canceled,
        "customer.subscription.created" | "customer.subscription.updated" => match object["status"]
            .as_str()
            .map(|s| SubscriptionStatus::parse("status", s))
        {
            Some(Ok(s)) => s,
            _ => {
                return ignore(
                    receipt,
                    format!("unknown subscription status {}", object["status"]),
                );
            }
        },
        other => return ignore(receipt, format!("event type {other} is not handled")),
    };
    // `customer` is an id, or the customer object when the event was expanded.
    let customer = object["customer"]
        .as_str()
        .or_else(|| object["customer"]["id"].as_str())
        .unwrap_or_default()
        .to_string();
    let Some(tenant_id) = store::tenant_by_stripe_customer(&state.db, &customer).await? else {
        return ignore(
            receipt,
            format!("no tenant has Stripe customer id {customer:?}"),
        );
    };
    receipt.tenant_id = Some(tenant_id.clone());
    let created = event.created.unwrap_or(now);
    let Some(t) = tenants::apply_billing_event(&state, &tenant_id, status, created).await? else {
        return ignore(
            receipt,
            "older than an event already applied to this tenant".into(),
        );
    };
    tracing::info!(event = %event.id, kind = %event.kind, tenant = %t.id, status = status.as_str(), "Stripe subscription change applied");
    receipt.applied = true;
    receipt.subscription_status = Some(t.subscription_status);
    Ok(ok(receipt))
}

/// The Stripe webhook. Authenticated by signature, so not rate limited per IP.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(StripeDoc::openapi()).routes(routes!(webhook))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    /// HMAC-SHA256("whsec_test_secret", "1700000000.{\"id\":\"evt_1\"}"), computed with Python's hmac.
    const SIG: &str = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";
    const T: i64 = 1_700_000_000;

    #[test]
    fn accepts_a_matching_v1_among_others_within_tolerance() {
        let h = format!("t={T},v1={SIG}");
        assert_eq!(verify(SECRET, &h, BODY, T + 299, 300), Ok(T));
        assert_eq!(verify(SECRET, &h, BODY, T - 299, 300), Ok(T));
        let rolled = format!("t={T},v1={},v1={SIG},v0=abc", "00".repeat(32));
        assert_eq!(verify(SECRET, &rolled, BODY, T, 300), Ok(T));
    }

    #[test]
    fn refuses_wrong_body_secret_timestamp_and_shape() {
        let h = format!("t={T},v1={SIG}");
        assert_eq!(
            verify(SECRET, &h, br#"{"id":"evt_2"}"#, T, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_other", &h, BODY, T, 300),
            Err(SignatureError::Mismatch)
        );
        // The same signature presented with another timestamp does not match.
        let moved = format!("t={},v1={SIG}", T + 10);
        assert_eq!(
            verify(SECRET, &moved, BODY, T + 10, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &h, BODY, T + 301, 300),
            Err(SignatureError::Expired)
        );
        for bad in ["", "v1=abc", &format!("t=soon,v1={SIG}"), &format!("t={T}")] {
            assert_eq!(
                verify(SECRET, bad, BODY, T, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
