//! The web kit: what every HTTP and webhook handler is built from, below the features that use it.
//! [`error::ApiError`] (the one HTTP error and its JSON envelope), the JSON and query extractors that
//! name the field at fault, the Twilio-signed webhook extractor, tenant authentication, the success
//! envelope and paging, OpenAPI helpers, and the client address behind trusted proxies.

pub mod auth;
pub mod client_ip;
pub mod doc;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod json_shape;
pub mod twilio_webhook;

pub use auth::TenantAuth;
