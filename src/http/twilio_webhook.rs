//! The extractor every Twilio webhook route takes: it rebuilds the URL Twilio signed, checks
//! `X-Twilio-Signature`, and hands the handler the parameters only when the signature holds.
//!
//! Which URL did Twilio sign? The one it was configured with: `APP_URL` plus the request's path and
//! query. Behind a configured trusted proxy, `X-Forwarded-Proto`/`X-Forwarded-Host` describe it
//! instead (so one deployment can answer on several public names). Port and query-string variants are
//! accepted by `switchboard_twilio::signature` exactly as Twilio's SDKs accept them.
//!
//! - form POST: HMAC over URL + sorted parameters;
//! - GET: the parameters are in the URL, which is signed alone;
//! - JSON POST: URL (carrying `bodySHA256`) signed alone, plus the body's SHA-256.
//!
//! A failure answers 403 and logs a warning with the reason; the handler never runs, so nothing is
//! written. Checks can only be switched off with `TWILIO_VALIDATE_SIGNATURES=false`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{Method, StatusCode, header, request::Parts};
use switchboard_twilio::signature;

use super::client_ip::is_trusted;
use crate::app::AppState;
use crate::error::ApiError;

/// A webhook request whose signature has been verified.
#[derive(Debug, Clone)]
pub struct TwilioRequest {
    /// Form (or query-string) parameters in the order received; keys may repeat.
    pub params: Vec<(String, String)>,
    /// The raw body (JSON webhooks).
    pub body: Bytes,
    /// The public URL the signature was checked against.
    pub url: String,
}

impl TwilioRequest {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// A trimmed, non-empty value of `key`.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// The URL Twilio called, as it appears from outside.
pub fn public_url(state: &AppState, parts: &Parts) -> String {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer
        && is_trusted(&peer, &state.config.trusted_proxies)
    {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        };
        if let (Some(proto), Some(host)) = (header("x-forwarded-proto"), header("x-forwarded-host"))
            && (proto == "http" || proto == "https")
            && !host.is_empty()
        {
            return format!("{proto}://{host}{path_and_query}");
        }
    }
    let base = state.config.app_url.as_str().trim_end_matches('/');
    format!("{base}{path_and_query}")
}

fn reject(reason: &str, url: &str) -> ApiError {
    tracing::warn!(%url, reason, "rejected Twilio webhook: invalid signature");
    ApiError::new(
        StatusCode::FORBIDDEN,
        "INVALID_SIGNATURE",
        "Twilio signature validation failed",
    )
}

impl FromRequest<AppState> for TwilioRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let url = public_url(state, &parts);
        let body = axum::body::to_bytes(body, state.config.body_limit_bytes)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "request body is too large",
                )
            })?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_json = content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json");
        let params: Vec<(String, String)> = if parts.method == Method::GET {
            url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect()
        } else if is_json {
            Vec::new()
        } else {
            url::form_urlencoded::parse(&body).into_owned().collect()
        };
        if state.config.twilio_validate_signatures {
            let sig = parts
                .headers
                .get("x-twilio-signature")
                .and_then(|v| v.to_str().ok());
            let token = state.twilio.auth_token.as_str();
            let result = if parts.method == Method::GET {
                signature::validate(token, &url, &[], sig)
            } else if is_json {
                signature::validate_with_body(token, &url, &body, sig)
            } else {
                signature::validate(token, &url, &params, sig)
            };
            if let Err(e) = result {
                return Err(reject(&e.to_string(), &url));
            }
        }
        Ok(TwilioRequest { params, body, url })
    }
}
