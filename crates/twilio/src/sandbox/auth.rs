//! The gate in front of `/2010-04-01/`: records each request, checks Basic auth and the path's
//! account, and hands handlers the parsed parameters. It also guards the inspection routes
//! (`/sandbox/…`), which show every message, call and request the sandbox has seen: they answer a
//! loopback peer, or anyone with the sandbox's credentials, and nobody else (401). A server that
//! does not record the peer address (no `ConnectInfo`) is treated as remote: closed by default.
//!
//! Parameters are parsed here, not by axum's `Form`, because Twilio's forms repeat keys
//! (`StatusCallbackEvent`, `MediaUrl`) and the request log wants them exactly as sent.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use subtle::ConstantTimeEq as _;

use super::Inner;
use super::error::ApiError;
use super::state::{RecordedRequest, push_capped};

/// Twilio bodies are small forms; a megabyte leaves room for a 4000-character `Twiml`.
const MAX_BODY: usize = 1 << 20;

/// The parsed parameters of an API request, put in the request's extensions by [`gate`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub(crate) query: Vec<(String, String)>,
    pub(crate) form: Vec<(String, String)>,
}

pub(crate) fn parse_pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

pub(crate) async fn gate(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/sandbox" || path.starts_with("/sandbox/") {
        let local = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|c| c.0.ip().is_loopback());
        let signed_in = basic_credentials(req.headers())
            .is_some_and(|(user, pass)| authorized(&inner, &user, &pass));
        if !(local || signed_in) {
            return ApiError::unauthenticated().into_response();
        }
        return next.run(req).await;
    }
    if !(path == "/2010-04-01" || path.starts_with("/2010-04-01/")) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let method = parts.method.clone();
    let raw_query = parts.uri.query().map(str::to_owned);
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            code: 20001,
            message: "Request body too large".into(),
        }
        .into_response();
    };
    let query = parse_pairs(raw_query.as_deref().unwrap_or("").as_bytes());
    let form = if is_form(&parts.headers) {
        parse_pairs(&bytes)
    } else {
        Vec::new()
    };
    let credentials = basic_credentials(&parts.headers);
    let auth_user = credentials.as_ref().map(|(user, _)| user.clone());
    let logged_params = if method == Method::POST {
        form.clone()
    } else {
        query.clone()
    };

    let response = if !credentials
        .as_ref()
        .is_some_and(|(user, pass)| authorized(&inner, user, pass))
    {
        ApiError::unauthenticated().into_response()
    } else if path_account(&path).is_some_and(|acct| acct != inner.config.account_sid) {
        // Twilio answers a foreign account's path with "not found" rather than "forbidden",
        // so it does not reveal which account SIDs exist.
        ApiError::not_found(&path).into_response()
    } else {
        parts.extensions.insert(Params { query, form });
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    };

    let entry = RecordedRequest {
        method: method.to_string(),
        path,
        query: raw_query,
        params: logged_params,
        auth_user,
        status: response.status().as_u16(),
        time: jiff::Timestamp::now(),
    };
    push_capped(&mut inner.store.lock().requests, entry);
    response
}

/// Twilio's API takes form bodies; a POST without a Content-Type is read as one too, since
/// some hand-rolled clients omit it.
fn is_form(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        None => true,
        Some(ct) => ct
            .to_str()
            .map(|ct| {
                ct.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
            .unwrap_or(false),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// The account SID with its auth token, or any API key SID with the auth token (the sandbox keeps
/// no key secrets; see the module docs of `sandbox`).
fn authorized(inner: &Inner, user: &str, pass: &str) -> bool {
    let token_ok: bool = pass
        .as_bytes()
        .ct_eq(inner.config.auth_token.as_bytes())
        .into();
    let user_ok = user == inner.config.account_sid || is_api_key_sid(user);
    token_ok && user_ok
}

fn is_api_key_sid(user: &str) -> bool {
    user.len() == 34 && user.starts_with("SK") && user[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `X` in `/2010-04-01/Accounts/X/…`; `None` for paths outside an account.
fn path_account(path: &str) -> Option<&str> {
    let mut segments = path.split('/').skip(2);
    match (segments.next(), segments.next(), segments.next()) {
        (Some("Accounts"), Some(acct), Some(_)) => Some(acct),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_account_is_the_segment_after_accounts() {
        assert_eq!(
            path_account("/2010-04-01/Accounts/ACx/Messages.json"),
            Some("ACx")
        );
        assert_eq!(path_account("/2010-04-01/Accounts.json"), None);
        assert_eq!(path_account("/2010-04-01/Accounts/ACx.json"), None);
    }

    #[test]
    fn api_key_sids_are_sk_and_32_hex() {
        assert!(is_api_key_sid("SK0123456789abcdef0123456789abcdef"));
        assert!(!is_api_key_sid("SK0123456789abcdef0123456789abcdeg"));
        assert!(!is_api_key_sid("AC0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn basic_credentials_decode_user_and_password() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {}", BASE64.encode("ACabc:tok:en"))
                .parse()
                .unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("ACabc".to_owned(), "tok:en".to_owned()))
        );
    }
}
