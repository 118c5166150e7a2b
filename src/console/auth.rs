//! Who is looking at a console page, from the session cookie: [`Viewer`] (anyone signed in),
//! [`TenantView`] (a page under `/console/t/{tenant}/…`: the operator for any tenant, a business
//! only for its own; any other tenant id answers 404, as the API does) and [`OperatorView`]
//! (operator pages; a business's session gets 404 there too). [`Form`] reads a posted form and
//! refuses it unless it carries the session's CSRF token.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, scoped to `/console`, and `Secure` when `APP_URL` is
//! https. `Lax` keeps a link into the console from the host app signed in; nothing a cross-site
//! request can trigger changes state, because every change is a POST with the CSRF token.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use crate::db::console::ConsoleSession;
use crate::db::tenants::Tenant;
use crate::state::AppState;

use super::render::{Chrome, ConsoleError, TenantNav};
use super::session;

/// The session cookie's name.
pub const COOKIE: &str = "sb_console";

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: ConsoleSession,
    /// The cookie's token (to end the session on sign-out).
    pub token: String,
}

impl Viewer {
    pub fn is_operator(&self) -> bool {
        self.session.tenant_id.is_none()
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value that stores `token` for `max_age_secs` (0 forgets it).
pub fn session_cookie(state: &AppState, token: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if state.config.server.app_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        // Several extractors of one request ask: look the session up once.
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        let token = cookie(&parts.headers, COOKIE).ok_or(ConsoleError::SignIn)?;
        let session = session::session_for(state, token)
            .await?
            .ok_or(ConsoleError::SignIn)?;
        let viewer = Viewer {
            session,
            token: token.to_string(),
        };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// `Option<Viewer>`: `None` when signed out (a store failure is still an error).
impl OptionalFromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ConsoleError> {
        match <Viewer as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(v) => Ok(Some(v)),
            Err(ConsoleError::SignIn) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A tenant's page, seen by the operator or by that tenant's own session.
#[derive(Debug, Clone)]
pub struct TenantView {
    pub viewer: Viewer,
    pub tenant: Tenant,
}

impl TenantView {
    /// The layout's chrome for a page of this tenant in `section`.
    pub fn chrome(&self, title: impl Into<String>, section: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            csrf: self.viewer.session.csrf_token.clone(),
            operator: self.viewer.is_operator(),
            tenant: Some(TenantNav::of(&self.tenant)),
            section,
            signed_in: true,
        }
    }
    /// `/console/t/{id}`.
    pub fn base(&self) -> String {
        format!("/console/t/{}", self.tenant.id)
    }
}

impl FromRequestParts<AppState> for TenantView {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let viewer =
            <Viewer as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        let params =
            <Path<HashMap<String, String>> as FromRequestParts<AppState>>::from_request_parts(
                parts, state,
            )
            .await
            .map_err(|_| ConsoleError::not_found())?;
        let id = params.get("tenant").ok_or_else(ConsoleError::not_found)?;
        // A business sees only itself; another tenant's pages do not exist for it.
        if let Some(own) = &viewer.session.tenant_id
            && own != id
        {
            return Err(ConsoleError::not_found());
        }
        let tenant = crate::db::tenants::get(&state.db, id)
            .await?
            .ok_or_else(ConsoleError::not_found)?;
        Ok(TenantView { viewer, tenant })
    }
}

/// An operator's page.
#[derive(Debug, Clone)]
pub struct OperatorView {
    pub viewer: Viewer,
}

impl OperatorView {
    pub fn chrome(&self, title: impl Into<String>, section: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            csrf: self.viewer.session.csrf_token.clone(),
            operator: true,
            tenant: None,
            section,
            signed_in: true,
        }
    }
}

impl FromRequestParts<AppState> for OperatorView {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let viewer =
            <Viewer as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if !viewer.is_operator() {
            return Err(ConsoleError::not_found());
        }
        Ok(OperatorView { viewer })
    }
}

/// A posted form (`application/x-www-form-urlencoded`) from a signed-in browser whose CSRF token
/// (field `csrf`, or header `X-CSRF-Token` for htmx requests) matches its session's. Fields keep
/// their order and repeats (checkbox groups, one row per weekday window).
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The first value of `name`, trimmed, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl FromRequest<AppState> for Form {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = req.into_parts();
        let viewer =
            <Viewer as FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await?;
        refuse_cross_site(&parts.headers)?;
        let bytes = axum::body::to_bytes(body, state.config.server.body_limit_bytes)
            .await
            .map_err(|_| {
                ConsoleError::Page(crate::web::error::ApiError::validation(
                    "",
                    "the form could not be read",
                ))
            })?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            ConsoleError::Page(crate::web::error::ApiError::validation(
                "",
                "the form is not URL-encoded",
            ))
        })?;
        let given = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .or_else(|| {
                parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
            })
            .unwrap_or("");
        if !session::csrf_matches(&viewer.session, given) {
            return Err(ConsoleError::forbidden(
                "This form has expired or did not come from this console. Reload the page and try again.",
            ));
        }
        Ok(Form { fields })
    }
}

/// Browsers say where a request comes from (`Sec-Fetch-Site`); a cross-site POST is refused
/// outright, also on the sign-in forms, which have no session (and so no CSRF token) yet.
pub fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ConsoleError> {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    if site.eq_ignore_ascii_case("cross-site") {
        return Err(ConsoleError::forbidden(
            "This request came from another site and was refused.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append("cookie", "a=1; sb_console=tok-en; b=2".parse().unwrap());
        assert_eq!(super::cookie(&h, "sb_console"), Some("tok-en"));
        assert_eq!(super::cookie(&h, "sb"), None);
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        assert!(super::refuse_cross_site(&h).is_ok());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(super::refuse_cross_site(&h).is_ok());
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(super::refuse_cross_site(&h).is_err());
    }
}
