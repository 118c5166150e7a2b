//! Signing in and out of the console: the operator's form (`ADMIN_TOKEN`), the page a business's
//! sign-in link opens (a button that posts the link, so that a link preview or a prefetch does not
//! use it up), and sign-out. `/console` itself sends each viewer to their start page.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::state::AppState;

use super::auth::{Form, Viewer, refuse_cross_site, session_cookie};
use super::render::{Chrome, ConsoleError, ConsoleResult, FormError, page, page_with_status};
use super::session::{self, OpenedSession};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(start))
        .route("/console/", get(start))
        .route("/console/login", get(login_page).post(login))
        .route("/console/link/{token}", get(link_page).post(use_link))
        .route("/console/logout", post(logout))
        .route("/console/{*rest}", get(unknown).post(unknown))
}

/// Any other `/console/…` path: the sign-in page when signed out (so signed-out browsers learn
/// nothing about which pages exist), else an HTML 404.
async fn unknown(viewer: Option<Viewer>) -> ConsoleError {
    match viewer {
        None => ConsoleError::SignIn,
        Some(_) => ConsoleError::not_found(),
    }
}

/// The operator's tenants, or the business's overview; the sign-in page when signed out.
async fn start(viewer: Option<Viewer>) -> Redirect {
    match viewer.map(|v| v.session.tenant_id) {
        None => Redirect::to("/console/login"),
        Some(None) => Redirect::to("/console/operator/tenants"),
        Some(Some(tenant)) => Redirect::to(&format!("/console/t/{tenant}")),
    }
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    chrome: Chrome,
    error: FormError,
}

async fn login_page() -> Response {
    page(&LoginPage {
        chrome: Chrome::signed_out("Sign in"),
        error: FormError::default(),
    })
}

async fn login(State(state): State<AppState>, req: Request) -> ConsoleResult {
    refuse_cross_site(req.headers())?;
    let bytes = axum::body::to_bytes(req.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let token = Form { fields }.get("token").unwrap_or("").to_string();
    match session::sign_in_operator(&state, &token).await {
        Ok(opened) => Ok(signed_in(&state, opened)),
        Err(f) => {
            let error = FormError::from_failure(f);
            Ok(page_with_status(
                error.http_status(),
                &LoginPage {
                    chrome: Chrome::signed_out("Sign in"),
                    error,
                },
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "console/link.html")]
struct LinkPage {
    chrome: Chrome,
    action: String,
    error: FormError,
}

async fn link_page(Path(token): Path<String>) -> Response {
    page(&LinkPage {
        chrome: Chrome::signed_out("Sign in"),
        action: format!("/console/link/{token}"),
        error: FormError::default(),
    })
}

async fn use_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: Request,
) -> ConsoleResult {
    refuse_cross_site(req.headers())?;
    match session::redeem_link(&state, &token).await {
        Ok(opened) => Ok(signed_in(&state, opened)),
        Err(f) => {
            let error = FormError::from_failure(f);
            Ok(page_with_status(
                error.http_status(),
                &LinkPage {
                    chrome: Chrome::signed_out("Sign in"),
                    action: format!("/console/link/{token}"),
                    error,
                },
            ))
        }
    }
}

/// Sets the session cookie and goes to the viewer's start page.
fn signed_in(state: &AppState, opened: OpenedSession) -> Response {
    let to = match &opened.tenant_id {
        None => "/console/operator/tenants".to_string(),
        Some(t) => format!("/console/t/{t}"),
    };
    (
        [(
            header::SET_COOKIE,
            session_cookie(state, &opened.token, opened.max_age_secs),
        )],
        Redirect::to(&to),
    )
        .into_response()
}

async fn logout(State(state): State<AppState>, viewer: Viewer, _: Form) -> ConsoleResult {
    session::sign_out(&state, &viewer.token).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, session_cookie(&state, "", 0)),
            (
                header::LOCATION,
                axum::http::HeaderValue::from_static("/console/login"),
            ),
        ],
    )
        .into_response())
}
