//! Request extractors that turn every kind of bad input into a 400 envelope naming the field.
//!
//! axum's own `Json`/`Query` rejections are plain text and name no field; these read the body or
//! query string and deserialise with `serde_path_to_error`, so a wrong type deep inside
//! (`businessHours.monday[0].open`) is reported with its path, in the API's camelCase spelling.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use super::json_shape::Shape;
use crate::web::error::ApiError;

/// A JSON body, validated. Requires `Content-Type: application/json`.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "request body is too large",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "could not read the request body",
                )
            }
        })?;
        parse_json(&bytes).map(ValidJson)
    }
}

/// Deserialises JSON bytes, naming the failing field on error. Numbers and objects are read as
/// JSON Schema reads them (see [`super::json_shape`]): `100001.0` is an integer, an array is no object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(Shape(&mut *de)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                format!("malformed JSON: {inner}"),
            );
        }
        let field = if path == "." {
            unknown_field(&inner.to_string()).unwrap_or_default()
        } else {
            path
        };
        ApiError::validation(field, clean_serde_message(&inner.to_string()))
    })?;
    // As serde_json::from_slice: nothing but whitespace may follow the value.
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            format!("malformed JSON: {}", clean_serde_message(&e.to_string())),
        )
    })?;
    Ok(value)
}

/// A query string, validated.
pub struct ValidQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ValidQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let msg = err.into_inner().to_string();
                let field = if path == "." {
                    unknown_field(&msg).unwrap_or_default()
                } else {
                    path
                };
                ApiError::validation(field, clean_serde_message(&msg))
            })
    }
}

/// serde names a missing or unknown field only inside its message ("missing field `name`").
fn unknown_field(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(msg[start..end].to_string())
}

/// Drops serde's " at line 1 column 42" suffix: the field path says where.
fn clean_serde_message(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// `twilio_number` → `twilioNumber`, for naming database columns in API terms.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn names_the_field() {
        let e = parse_json::<Body>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        let e = parse_json::<Body>(br#"{"name": "x", "inner": {"count": -1}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.count"));
        let e = parse_json::<Body>(br#"{}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        let e = parse_json::<Body>(br#"{"name": "x", "nmae": 1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("nmae"));
        let e = parse_json::<Body>(br#"{"name": "#).unwrap_err();
        assert_eq!(e.code, "INVALID_JSON");
    }

    #[test]
    fn camel_cases_columns() {
        assert_eq!(camel_case("twilio_number"), "twilioNumber");
        assert_eq!(camel_case("slug"), "slug");
    }
}
