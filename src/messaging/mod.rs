//! Messaging: queueing notifications (`notifications`), the business's own texts and the retry of
//! failed ones (`outgoing`), the sender, delivery status callbacks, inbound SMS and its keywords, the
//! missed-call text-back, the history (`history`: conversations with their opt-out state, threads,
//! notifications), and their API: sending a text (`api_sms`), the message history (`api_messages`),
//! seed 004's internal send (`api_internal_sms`).

mod api_internal_sms;
mod api_messages;
mod api_sms;
pub mod history;
pub mod inbound;
pub mod keywords;
pub mod notifications;
pub mod outgoing;
pub mod pacing;
pub mod send_job;
pub mod sender;
pub mod status;
pub mod text_back;

use axum::Router;
use axum::routing::post;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The message status callback's path (every outbound SMS names it as its `StatusCallback`).
pub const STATUS_PATH: &str = "/api/webhooks/twilio/sms/status";

/// The inbound message webhook's paths: seed 000 (canonical), 002 and 003. Only the canonical one
/// also answers GET (numbers configured with GET), because GET `/api/twilio/sms` is seed 003's
/// tenant-authenticated message history.
pub const INBOUND_PATHS: [&str; 3] = [
    "/api/webhooks/twilio/sms",
    "/api/twilio/incoming-sms",
    "/api/twilio/sms",
];

/// The tenant API's messaging routes (JSON, in the OpenAPI document).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(api_sms::routes())
        .merge(api_messages::routes())
}

/// The internal API's send route (`X-Service-Key`).
pub fn internal_routes() -> OpenApiRouter<AppState> {
    api_internal_sms::routes()
}

/// Messaging's Twilio webhooks (TwiML / plain answers, outside the OpenAPI document).
pub fn webhook_routes() -> Router<AppState> {
    let mut r = Router::new().route(STATUS_PATH, post(status::status_callback));
    r = r.route(
        INBOUND_PATHS[0],
        post(inbound::incoming).get(inbound::incoming),
    );
    for p in &INBOUND_PATHS[1..] {
        r = r.route(p, post(inbound::incoming));
    }
    r
}
