//! The yardstick of `bench/webhooks.sh`: a bare axum handler answering the three benchmarked
//! webhook paths with fixed TwiML (body read, no signature check, no database), built with the
//! workspace's axum and tokio and its release profile, so the two are measured alike.
//!
//! A package of its own so that it builds quickly and apart from `serve`: its dependencies' features
//! cannot reach the binary under test.
//!
//! `cargo run --release -p bare-twiml -- 127.0.0.1:4100`

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

async fn twiml(_body: Bytes) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello</Say></Response>"#,
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4100".into());
    let app = Router::new()
        .route("/api/webhooks/twilio/voice", post(twiml))
        .route("/api/webhooks/twilio/voice/status", post(twiml))
        .route("/api/webhooks/twilio/sms", post(twiml));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
