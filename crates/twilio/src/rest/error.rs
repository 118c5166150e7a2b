//! [`TwilioError`]: every way a REST call can fail, classified for a durable job queue.
//!
//! The classification answers two independent questions: "may I send this again later?"
//! ([`TwilioError::is_retryable`]) and "might Twilio already have acted on it?"
//! ([`TwilioError::may_have_been_processed`]). The second matters because Messages and Calls have no
//! idempotency key: resending after a timeout can text a customer twice.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use super::codes::{describe_code, is_permanent_code, is_transient_code};
use super::de;

/// A failed Api v2010 call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with an error status. `code` and `more_info` come from Twilio's error body
    /// (`{"code": 21211, "message": "…", "more_info": "…", "status": 400}`) when it sent one.
    #[error("Twilio answered HTTP {status}{}: {message}", code_suffix(.code))]
    Api {
        status: u16,
        code: Option<u32>,
        message: String,
        more_info: Option<String>,
        /// From a `Retry-After` header (in seconds) on a 429 or 503.
        retry_after: Option<Duration>,
    },
    /// No complete answer within the configured timeout. The request may have reached Twilio.
    #[error("Twilio did not answer within the timeout")]
    Timeout,
    /// No connection could be made (refused, DNS, TLS, connect timeout): Twilio never saw the request.
    #[error("could not connect to Twilio: {0}")]
    Connect(String),
    /// The connection failed after the request may have been sent (reset, closed early).
    #[error("the connection to Twilio failed mid-request: {0}")]
    Transport(String),
    /// Twilio answered 2xx but the body is not the JSON we expected.
    #[error("Twilio answered HTTP {status} with an unreadable body: {body_excerpt}")]
    Decode { status: u16, body_excerpt: String },
    /// Rejected locally before any HTTP request was made.
    #[error("invalid Twilio request: {0}")]
    InvalidRequest(String),
    /// The client could not be built from its configuration.
    #[error("invalid Twilio client configuration: {0}")]
    Config(String),
}

fn code_suffix(code: &Option<u32>) -> String {
    code.map(|c| format!(" (code {c})")).unwrap_or_default()
}

impl TwilioError {
    /// The HTTP status Twilio answered with, if it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            TwilioError::Api { status, .. } | TwilioError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Twilio's numeric error code (`21211`…), if its error body had one.
    pub fn twilio_code(&self) -> Option<u32> {
        match self {
            TwilioError::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// Whether sending the same request again later can succeed: rate limiting (HTTP 429, code
    /// 20429), a full sender queue (21611), Twilio server errors (5xx), timeouts and network
    /// failures. A code known to be permanent wins over the HTTP status.
    ///
    /// When [`may_have_been_processed`](Self::may_have_been_processed) is also true, a create should be
    /// reconciled before it is resent.
    pub fn is_retryable(&self) -> bool {
        match self {
            TwilioError::Api { status, code, .. } => {
                if code.is_some_and(is_permanent_code) {
                    return false;
                }
                *status == 429 || *status >= 500 || code.is_some_and(is_transient_code)
            }
            TwilioError::Timeout | TwilioError::Connect(_) | TwilioError::Transport(_) => true,
            // A 2xx we cannot read is not a failure of Twilio's: sending again would repeat a request
            // Twilio most likely carried out.
            TwilioError::Decode { .. } => false,
            TwilioError::InvalidRequest(_) | TwilioError::Config(_) => false,
        }
    }

    /// Whether Twilio may have acted on the request despite the error (a message queued, a call
    /// placed). True after a timeout or a connection lost mid-request (the request may have
    /// arrived), a 5xx (Twilio fails some requests after acting on them), and a 2xx with an
    /// unreadable body (Twilio said yes; we lost the answer, including the new SID). False when the
    /// request never left (local validation, connection refused) or Twilio refused it (4xx, 429,
    /// which Twilio documents as "never processed").
    pub fn may_have_been_processed(&self) -> bool {
        match self {
            TwilioError::Api { status, .. } => *status >= 500,
            TwilioError::Timeout | TwilioError::Transport(_) | TwilioError::Decode { .. } => true,
            TwilioError::Connect(_) | TwilioError::InvalidRequest(_) | TwilioError::Config(_) => {
                false
            }
        }
    }

    /// Neither retryable nor possibly processed: the request failed for good and nothing happened.
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable() && !self.may_have_been_processed()
    }

    /// How long Twilio asked us to wait before trying again (`Retry-After` on a 429 or 503).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TwilioError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A sentence for people (logs, dashboard, API error messages): Switchboard's explanation of a
    /// known Twilio code, otherwise Twilio's own message or a description of the failure.
    pub fn human_reason(&self) -> String {
        match self {
            TwilioError::Api {
                status,
                code,
                message,
                ..
            } => {
                if let Some(reason) = code.and_then(describe_code) {
                    return reason.to_string();
                }
                match (code, *status) {
                    (Some(code), _) => format!("Twilio error {code}: {message}"),
                    (None, 429) => "Twilio is rate limiting requests; try again later.".to_string(),
                    (None, 401) => "Twilio rejected the credentials.".to_string(),
                    (None, 404) => "The Twilio resource does not exist.".to_string(),
                    (None, s) if s >= 500 => {
                        format!("Twilio had a temporary server error (HTTP {s}).")
                    }
                    (None, s) => format!("Twilio rejected the request (HTTP {s}): {message}"),
                }
            }
            TwilioError::Timeout => {
                "Twilio did not answer in time; the request may or may not have been carried out."
                    .to_string()
            }
            TwilioError::Connect(detail) => format!("Could not reach Twilio ({detail})."),
            TwilioError::Transport(detail) => format!(
                "The connection to Twilio broke mid-request ({detail}); it may or may not have been carried out."
            ),
            TwilioError::Decode { status, .. } => format!(
                "Twilio accepted the request (HTTP {status}) but its answer could not be read; check Twilio before retrying."
            ),
            TwilioError::InvalidRequest(reason) | TwilioError::Config(reason) => reason.clone(),
        }
    }

    /// Builds the error for a non-2xx answer from its status, headers and body.
    pub(crate) fn from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct ErrorBody {
            #[serde(default, deserialize_with = "de::opt_u32")]
            code: Option<u32>,
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            more_info: Option<String>,
        }
        // Proxies and load balancers in front of Twilio answer with HTML or nothing; those still
        // need a status-based classification, so an unreadable error body is not a Decode error.
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
        let (code, message, more_info) = match parsed {
            Some(b) => (b.code, b.message, b.more_info),
            None => (None, None, None),
        };
        let message = message
            .filter(|m| !m.trim().is_empty())
            .or_else(|| Some(excerpt(body)).filter(|e| !e.is_empty()))
            .unwrap_or_else(|| {
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_string()
            });
        let retry_after = match status {
            429 | 503 => headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after),
            _ => None,
        };
        TwilioError::Api {
            status,
            code,
            message,
            more_info,
            retry_after,
        }
    }
}

/// Parses a `Retry-After` value given in seconds (`"3"`). The HTTP-date form is not supported:
/// Twilio sends seconds, and a date would make this depend on the clock.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The start of a body as text, for error messages: enough to recognise an HTML error page or a
/// truncated JSON document without copying a whole response into logs.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX_CHARS: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out: String = text.chars().take(MAX_CHARS).collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_only() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn html_error_page_keeps_status_classification() {
        let err = TwilioError::from_response(502, &HeaderMap::new(), b"<html>Bad Gateway</html>");
        assert!(err.is_retryable());
        assert_eq!(err.twilio_code(), None);
        assert!(err.to_string().contains("Bad Gateway"));
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 301);
    }
}
