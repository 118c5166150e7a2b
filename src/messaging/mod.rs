//! Messaging: inbound SMS, the notification sender, delivery status callbacks, the missed-call
//! text-back.

pub mod inbound;
pub mod keywords;
pub mod pacing;
pub mod sender;
pub mod status;
pub mod text_back;

use axum::Router;
use axum::routing::post;

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

/// Messaging's Twilio webhooks (TwiML / plain answers, outside the OpenAPI document).
pub fn routes() -> Router<AppState> {
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
