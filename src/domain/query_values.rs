//! The values a query parameter may take, as OpenAPI schemas, for `#[param(schema_with = …)]`:
//! what each handler's parser accepts, in its documented spelling. They sit with the domain values
//! because the query shapes that use them are shared by the API and the CLI.

use utoipa::openapi::{Object, ObjectBuilder, schema::Type};

/// A string that is one of `values` (what the handler's parser accepts, in its documented spelling).
fn one_of(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// As [`one_of`], for a parameter whose handler reads an empty value (`?status=`) as absent, as web
/// forms send every field: `""` is listed too, because the server accepts it.
fn one_of_or_blank(values: &[&str], description: &str) -> Object {
    let mut all = vec![""];
    all.extend_from_slice(values);
    one_of(&all, &format!("{description}; empty counts as absent"))
}

/// The values of query parameters that take one of a fixed set, for `#[param(schema_with = …)]`.
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
        super::states::NotificationStatus::NAMES,
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
        super::states::CallStatus::NAMES,
        "Only calls in this Twilio status; any case",
    )
}
pub fn call_reason() -> Object {
    one_of_or_blank(
        &super::routing::CallReason::NAMES,
        "Only calls with this reason; any case",
    )
}
/// What became of a call, as the call log filters it (`db::calls::CallOutcome`).
pub const CALL_OUTCOMES: [&str; 3] = ["answered", "missed", "voicemail"];
pub fn call_outcome() -> Object {
    one_of_or_blank(
        &CALL_OUTCOMES,
        "Only calls with this outcome (answered: someone picked up; missed: nobody picked up an \
         inbound call, voicemails included; voicemail: the caller left a message); any case",
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
