//! Calls: inbound calls (the voice webhook and its follow-ups: dial action, gather action,
//! voicemail action, status callback, at the canonical paths and every seed's alias), outbound
//! calls and click-to-call (`outbound`, `click_to_call`), the call log (`logs`, served by
//! `api_logs`), and each call's steps and timeline (`steps`, recorded by the handlers with the
//! change they describe; `timeline`, read back with the recordings and text-backs).
//!
//! Each handler verifies the Twilio signature ([`TwilioRequest`]), does at most one database
//! transaction and never calls Twilio, so it answers well inside Twilio's 15 s budget. Business
//! conditions (unknown number, unknown call) are answered with polite TwiML and HTTP 200, never an
//! error status, because Twilio turns those into "an application error has occurred".

mod actions;
mod ai;
mod api_logs;
mod api_outbound;
pub mod click_to_call;
mod flow;
pub mod logs;
mod lookup;
pub mod outbound;
pub mod plan;
pub mod reason;
pub mod render;
pub mod speech;
mod status;
pub mod steps;
pub mod timeline;

use axum::Router;
use axum::routing::post;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use flow::MISSED_CALL_TEXT_BACK;

/// The voice webhook's paths: seed 000 (canonical), 002, 003 and 004.
pub const VOICE_PATHS: [&str; 4] = [
    "/api/webhooks/twilio/voice",
    "/api/twilio/incoming-call-handler",
    "/api/twilio/voice",
    "/webhooks/twilio/call",
];
/// The call status callback's paths: seed 000 (canonical), 002 and 003.
pub const STATUS_PATHS: [&str; 3] = [
    "/api/webhooks/twilio/voice/status",
    "/api/twilio/call-status",
    "/api/twilio/status",
];
/// The dial action's paths: seed 004, and its alias under the canonical prefix.
pub const DIAL_ACTION_PATHS: [&str; 2] = [
    "/webhooks/twilio/call/status/{call_sid}",
    "/api/webhooks/twilio/call/status/{call_sid}",
];

/// The tenant API's call routes (JSON, in the OpenAPI document).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(api_logs::routes())
        .merge(api_outbound::routes())
}

/// The voice webhooks (TwiML, outside the OpenAPI document).
pub fn webhook_routes() -> Router<AppState> {
    let mut r = Router::new();
    for p in VOICE_PATHS {
        r = r.route(p, post(flow::incoming).get(flow::incoming));
    }
    for p in STATUS_PATHS {
        // `GET /api/twilio/status` is seed 002's configuration check (crate::numbers::api); seed
        // 003's status callback there is a POST.
        let method = post(status::status_callback);
        let method = if p == "/api/twilio/status" {
            method
        } else {
            method.get(status::status_callback)
        };
        r = r.route(p, method);
    }
    for p in DIAL_ACTION_PATHS {
        r = r.route(p, post(actions::dial_action).get(actions::dial_action));
    }
    r.route(click_to_call::CONNECT_PATH, post(click_to_call::connect))
        .route(
            "/api/webhooks/twilio/voice/gather/{call_sid}",
            post(actions::gather_action).get(actions::gather_action),
        )
        .route(
            render::VOICEMAIL_ACTION,
            post(actions::voicemail_action).get(actions::voicemail_action),
        )
        .route(
            "/api/twilio/voicemail-complete",
            post(actions::voicemail_action),
        )
        .route("/api/twilio/recording", post(actions::voicemail_action))
}

/// Twilio's SIDs are letters and digits; anything else in a path or parameter is not a SID. (The
/// webhook extractor has already checked the exact shape of every SID parameter it knows.)
pub fn is_sid(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}
