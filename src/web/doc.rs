//! Responses of the OpenAPI document that many operations share because they come from the same
//! extractor or layer: listed once here, named in each operation's `responses(...)` next to its own.
//!
//! The enums are descriptions only: the handlers answer [`ApiError`](crate::web::error::ApiError), whose
//! envelope is [`ErrorEnvelope`]. So their variants are never built.
#![allow(dead_code)]

use utoipa::IntoResponses;
use utoipa::openapi::{self, Ref, RefOr};

use crate::web::error::ErrorEnvelope;

/// What [`AdminAuth`](super::admin) answers before the handler runs.
#[derive(IntoResponses)]
pub enum AdminAuthErrors {
    /// Missing, malformed or wrong `Authorization: Bearer <ADMIN_TOKEN>` (`UNAUTHORIZED`).
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// `ADMIN_TOKEN` is not set, so the admin API is disabled (`ADMIN_API_DISABLED`).
    #[response(status = 403)]
    Disabled(ErrorEnvelope),
}

/// What tenant authentication (JWT or API key) answers before the handler runs.
#[derive(IntoResponses)]
pub enum TenantAuthErrors {
    /// Missing, malformed, expired or revoked credentials, or a tenant that no longer exists
    /// (`UNAUTHORIZED`).
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
}

/// What the shared `X-Service-Key` check of the internal API answers before the handler runs.
#[derive(IntoResponses)]
pub enum ServiceKeyErrors {
    /// Missing or wrong `X-Service-Key` (`UNAUTHORIZED`).
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// `INTERNAL_SERVICE_KEY` is not set, so the internal API is disabled (`INTERNAL_API_DISABLED`).
    #[response(status = 503)]
    Disabled(ErrorEnvelope),
}

/// What reading a required JSON body answers besides the operation's own validation (400).
#[derive(IntoResponses)]
pub enum JsonBodyErrors {
    /// The body is larger than `BODY_LIMIT_BYTES` (`PAYLOAD_TOO_LARGE`).
    #[response(status = 413)]
    TooLarge(ErrorEnvelope),
    /// The body is missing or not `Content-Type: application/json` (`UNSUPPORTED_MEDIA_TYPE`).
    #[response(status = 415)]
    NotJson(ErrorEnvelope),
}

/// What reading a body that need not be JSON (optional, or checked by signature) answers besides
/// the operation's own validation (400).
#[derive(IntoResponses)]
pub enum BodyTooLarge {
    /// The body is larger than `BODY_LIMIT_BYTES` (`PAYLOAD_TOO_LARGE`).
    #[response(status = 413)]
    TooLarge(ErrorEnvelope),
}

/// Adds the per-client-IP rate limit's 429 to every operation of `doc`.
///
/// The limit is a layer over whole routers (see `http::api`), not something a handler declares, so
/// the router that gets the layer also gets this: the document cannot say "limited" where the layer
/// is not, or miss a route that it is on.
pub fn rate_limited(doc: &mut openapi::OpenApi) {
    let response = openapi::ResponseBuilder::new()
        .description(
            "Over `RATE_LIMIT_MAX` requests from this client IP in the window (`RATE_LIMITED`); \
             `Retry-After` says in how many seconds to try again",
        )
        .header(
            "Retry-After",
            openapi::HeaderBuilder::new()
                .schema(Some(
                    openapi::ObjectBuilder::new()
                        .schema_type(openapi::schema::Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds until the window resets"))
                .build(),
        )
        .content(
            "application/json",
            openapi::ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorEnvelope"))))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in operations_mut(item) {
            match op.responses.responses.get_mut("429") {
                // The operation's own 429 (say, a per-tenant pace) stays, widened to both causes.
                Some(RefOr::T(own)) => {
                    own.description = format!(
                        "{}; or over `RATE_LIMIT_MAX` requests from this client IP (`RATE_LIMITED`). \
                         `Retry-After` says in how many seconds to try again",
                        own.description
                    );
                    own.headers.extend(response.headers.clone());
                }
                Some(RefOr::Ref(_)) => {}
                None => {
                    op.responses
                        .responses
                        .insert("429".into(), RefOr::T(response.clone()));
                }
            }
        }
    }
}

/// Every operation of a path item.
pub fn operations_mut(
    item: &mut openapi::PathItem,
) -> impl Iterator<Item = &mut openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// A string that is one of `values` (what the handler's parser accepts, in its documented spelling).
fn one_of(values: &[&str], description: &str) -> openapi::Object {
    openapi::ObjectBuilder::new()
        .schema_type(openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// As [`one_of`], for a parameter whose handler reads an empty value (`?status=`) as absent, as web
/// forms send every field: `""` is listed too, because the server accepts it.
fn one_of_or_blank(values: &[&str], description: &str) -> openapi::Object {
    let mut all = vec![""];
    all.extend_from_slice(values);
    one_of(&all, &format!("{description}; empty counts as absent"))
}

/// The values of query parameters that take one of a fixed set, for `#[param(schema_with = …)]`.
pub mod values {
    use utoipa::openapi::{Object, ObjectBuilder, schema::Type};

    use super::{one_of, one_of_or_blank};

    pub fn granularity() -> Object {
        one_of_or_blank(
            &["day", "week", "month"],
            "`day` (default), `week` (Monday to Sunday) or `month`; any case",
        )
    }
    pub fn export_kind() -> Object {
        one_of(
            &["calls", "messages"],
            "What to export (required); any case",
        )
    }
    pub fn job_status() -> Object {
        one_of(
            &["pending", "running", "done", "dead"],
            "Only jobs in this state",
        )
    }
    pub fn delivery_status() -> Object {
        one_of(
            &["pending", "delivered", "dead"],
            "Only deliveries in this state",
        )
    }
    pub fn notification_type() -> Object {
        one_of_or_blank(
            &["SMS", "EMAIL"],
            "Only notifications of this type; any case",
        )
    }
    pub fn notification_status() -> Object {
        one_of_or_blank(
            crate::domain::states::NotificationStatus::NAMES,
            "Only notifications in this state; any case",
        )
    }
    pub fn recording_kind() -> Object {
        one_of_or_blank(
            &["voicemail", "call"],
            "Only voicemails, or only recorded calls",
        )
    }
    pub fn appointment_status() -> Object {
        one_of_or_blank(
            &["BOOKED", "CANCELED"],
            "Only appointments in this state; any case",
        )
    }
    pub fn call_status() -> Object {
        one_of_or_blank(
            crate::domain::states::CallStatus::NAMES,
            "Only calls in this Twilio status; any case",
        )
    }
    pub fn call_reason() -> Object {
        one_of_or_blank(
            &[
                "SETUP_APPOINTMENT",
                "CANCEL_APPOINTMENT",
                "MODIFY_APPOINTMENT",
                "GET_HOURS",
                "GET_PRICING",
                "OTHER",
            ],
            "Only calls with this reason; any case",
        )
    }
    pub fn call_direction() -> Object {
        one_of_or_blank(
            &["inbound", "outbound"],
            "Only calls in this direction; any case",
        )
    }

    /// A date (`2026-11-22`) or an instant (`2026-11-22T10:30:00Z`); every form the server reads
    /// starts with the date, which is all a pattern can say without refusing forms it accepts.
    /// Empty counts as absent.
    pub fn date_or_instant() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}"))
            .examples([
                serde_json::json!("2026-11-22"),
                serde_json::json!("2026-11-22T10:30:00Z"),
            ])
            .build()
    }

    /// An E.164 number in a query string. An unencoded `+` arrives as a space, which the server
    /// reads back as `+`; empty counts as absent.
    pub fn phone_filter() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^$|^[+ ][1-9][0-9]{7,14}$"))
            .examples([serde_json::json!("+14155550100")])
            .build()
    }
}

/// What a send or call answers for a tenant whose subscription has ended.
#[derive(IntoResponses)]
pub enum SubscriptionEnded {
    /// The tenant's subscription is CANCELED, UNPAID, INCOMPLETE_EXPIRED or PAUSED: nothing is sent or
    /// placed on the shared Twilio account (`SUBSCRIPTION_ENDED`).
    #[response(status = 402)]
    Ended(ErrorEnvelope),
}

/// What provisioning or buying a number answers for a tenant that is not ACTIVE or TRIALING.
#[derive(IntoResponses)]
pub enum SubscriptionInactive {
    /// Numbers are provisioned only for ACTIVE or TRIALING tenants (`SUBSCRIPTION_INACTIVE`).
    #[response(status = 402)]
    Inactive(ErrorEnvelope),
}
