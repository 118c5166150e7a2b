//! Domain types: values that are valid by construction ("parse, don't validate").
//!
//! Each newtype has a `parse` that is the only way in, and deserialises through it, so a request body
//! that names a bad phone number or time zone is rejected with the field's name before any handler runs.

pub mod call_route;
pub mod destination;
pub mod hours;
pub mod messaging;
pub mod paging;
pub mod patch;
pub mod phone;
pub mod query_values;
pub mod routing;
pub mod seed_extras;
pub mod sid;
pub mod states;
pub mod template;
pub mod tenant;
pub mod text;

pub use hours::BusinessHours;
pub use messaging::MessagingSettings;
pub use phone::E164;
pub use routing::RoutingPolicy;
pub use sid::{CallSid, MessageSid};
pub use tenant::{Slug, SubscriptionStatus, Templates, TimeZoneName};

/// A rejected input value: which field, and why (in words a caller can act on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Generates a new time-ordered id (UUID v7), used as the primary key of every table.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
