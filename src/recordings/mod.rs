//! Recordings, voicemail and transcription (PRODUCT §4.7).
//!
//! Twilio tells Switchboard about a recording through the recording status callback
//! ([`webhooks`]); a completed one queues the durable `recording.process` job ([`process`]), which
//! downloads the media with Twilio auth into the local store ([`storage`]), turns it into text
//! ([`transcribe`]: Twilio's own transcription or an OpenAI-compatible API), analyses the text
//! ([`analyse`]: rules or an OpenAI-compatible chat model), files a transcription, updates the call,
//! and notifies staff by SMS (the notifications pipeline) and by e-mail ([`email`]) when SMTP is
//! configured. The tenant API serves the recordings (`api`), their audio ([`media`], which the web
//! console's player uses too) and the voicemail inbox with its handled state ([`voicemail`]).

pub mod analyse;
mod api;
mod api_media;
pub mod email;
pub mod media;
pub mod process;
pub mod storage;
pub mod transcribe;
pub mod voicemail;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use utoipa_axum::router::OpenApiRouter;

use crate::config::{Config, TranscriptionProvider};
use crate::state::AppState;

/// The recording status callback: canonical path and seed 003's.
pub const RECORDING_STATUS_PATHS: [&str; 2] = [
    "/api/webhooks/twilio/recording-status",
    "/api/twilio/recording-status",
];
/// Twilio's `transcribeCallback`.
pub const TRANSCRIPTION_PATH: &str = "/api/webhooks/twilio/transcription";

pub use process::PROCESS_JOB;

/// The processing job's dedupe key: one job per recording, however many callbacks.
pub fn job_key(recording_sid: &str) -> String {
    format!("recording:{recording_sid}")
}

/// `APP_URL` + `path`.
fn public(config: &Config, path: &str) -> String {
    format!(
        "{}{path}",
        config.server.app_url.as_str().trim_end_matches('/')
    )
}

/// Where a stored recording's audio is served to the tenant (what calls' `recordingUrl` becomes).
pub fn media_url(config: &Config, recording_id: &str) -> String {
    public(
        config,
        &format!("/api/telephony/recordings/{recording_id}/media"),
    )
}

/// The callback URLs TwiML hands Twilio for recordings. Absolute, unlike action URLs: Twilio wants
/// fully qualified callback URLs here (error 13615 for `transcribeCallback`).
#[derive(Debug, Clone)]
pub struct RecordingHooks {
    pub status_callback: String,
    /// Set when Twilio's own transcription is the provider.
    pub transcribe_callback: Option<String>,
}

impl RecordingHooks {
    pub fn new(config: &Config) -> Self {
        RecordingHooks {
            status_callback: public(config, RECORDING_STATUS_PATHS[0]),
            transcribe_callback: (config.recordings.transcription.provider
                == TranscriptionProvider::Twilio)
                .then(|| public(config, TRANSCRIPTION_PATH)),
        }
    }
}

/// Twilio's recording webhooks (TwiML answers, outside the OpenAPI document).
/// The tenant API's recording routes (JSON and media, in the OpenAPI document).
pub fn routes() -> OpenApiRouter<AppState> {
    api::routes().merge(api_media::routes())
}

pub fn webhook_routes() -> Router<AppState> {
    let mut r = Router::new();
    for p in RECORDING_STATUS_PATHS {
        r = r.route(
            p,
            post(webhooks::recording_status).get(webhooks::recording_status),
        );
    }
    r.route(
        TRANSCRIPTION_PATH,
        post(webhooks::transcription).get(webhooks::transcription),
    )
}

pub fn register(registry: &mut crate::state::Jobs) {
    registry.register(Arc::new(process::ProcessRecording));
    registry.register(Arc::new(email::SendEmail));
}
