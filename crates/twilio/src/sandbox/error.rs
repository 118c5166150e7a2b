//! Twilio's error body: `{"code", "message", "more_info", "status"}`, as every SDK parses it.

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Twilio REST error: HTTP status plus Twilio error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) message: String,
}

impl ApiError {
    /// A 400 with `code`: how Twilio answers a parameter it refuses.
    pub(crate) fn bad_request(code: u32, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// 404 / 20404 with Twilio's wording, which names the path asked for.
    pub(crate) fn not_found(path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: 20404,
            message: format!("The requested resource {path} was not found"),
        }
    }

    /// 401 / 20003, Twilio's answer to missing or wrong credentials.
    pub(crate) fn unauthenticated() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: 20003,
            message: "Authenticate".to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // What Twilio sends, and what makes a browser or curl prompt for credentials.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
        }
        response
    }
}

/// A known path with a method it does not take: Twilio's 405 / 20004.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: 20004,
        message: "Method not allowed".to_owned(),
    }
}

/// Fallback for every path the sandbox does not serve.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}
