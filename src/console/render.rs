//! Turning templates into answers: [`page`] renders an askama template as an HTML response,
//! [`Chrome`] is what the layout (`templates/console/base.html`) needs on every page, and
//! [`ConsoleError`] is the console's error: an HTML page with the API's status and message, or a
//! redirect to the sign-in page.
//!
//! Forms show a failed use case next to the field it names: [`FormError`] is the API's message and
//! field for a [`Failure`], so the console says exactly what the JSON API says.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::db::StoreError;
use crate::db::tenants::Tenant;
use crate::failure::Failure;
use crate::web::error::ApiError;

/// What the layout shows around every page.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The page's own title (the layout adds "· Switchboard").
    pub title: String,
    /// The session's CSRF token (empty when signed out): every form posts it back.
    pub csrf: String,
    /// Signed in as the operator.
    pub operator: bool,
    /// The tenant whose pages these are, for the navigation.
    pub tenant: Option<TenantNav>,
    /// Which navigation entry is current (`overview`, `calls`, … or `tenants`, `jobs`).
    pub section: &'static str,
    /// Signed in at all (shows the sign-out button).
    pub signed_in: bool,
}

/// The tenant in the navigation.
#[derive(Debug, Clone)]
pub struct TenantNav {
    pub id: String,
    pub name: String,
    pub time_zone: String,
}

impl TenantNav {
    pub fn of(t: &Tenant) -> Self {
        TenantNav {
            id: t.id.clone(),
            name: t.name.clone(),
            time_zone: t.time_zone.to_string(),
        }
    }
    /// The base path of this tenant's pages, `/console/t/{id}`.
    pub fn base(&self) -> String {
        format!("/console/t/{}", self.id)
    }
}

impl Chrome {
    pub fn signed_out(title: impl Into<String>) -> Self {
        Chrome {
            title: title.into(),
            ..Chrome::default()
        }
    }
    /// Whether `section` is the current one (for `aria-current`).
    pub fn is(&self, section: &str) -> bool {
        self.section == section
    }
}

/// Renders `template` with status 200.
pub fn page<T: Template>(template: &T) -> Response {
    page_with_status(StatusCode::OK, template)
}

/// Renders `template` with `status` (say 400 for a form shown again with its errors).
pub fn page_with_status<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Err(e) => ConsoleError::from(ApiError::internal(format!("template: {e}"))).into_response(),
    }
}

/// A use case's refusal as the API words it, for showing next to a form field.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    /// The field at fault as the API names it (`businessHours.monday[0].open`), if any.
    pub field: Option<String>,
    pub message: String,
    pub status: u16,
}

impl FormError {
    pub fn from_failure(f: Failure) -> FormError {
        let e = ApiError::from(f);
        if e.status.is_server_error() {
            tracing::error!(error = ?e.cause, code = e.code, "console: internal error");
            return FormError {
                field: None,
                message: "Something went wrong on our side; please try again.".into(),
                status: e.status.as_u16(),
            };
        }
        FormError {
            field: e.field,
            message: e.message,
            status: e.status.as_u16(),
        }
    }
    /// The message when it is about `field` (or a field inside it, `field.…` / `field[…]`).
    pub fn for_field(&self, field: &str) -> Option<&str> {
        let f = self.field.as_deref()?;
        let inside = f == field
            || f.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['));
        inside.then_some(self.message.as_str())
    }
    pub fn http_status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

/// An error answered as an HTML page (or a redirect to sign in).
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in: go to the sign-in page.
    SignIn,
    /// Anything else, worded as the API words it.
    Page(ApiError),
}

impl ConsoleError {
    pub fn not_found() -> Self {
        ConsoleError::Page(ApiError::not_found("page"))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        ConsoleError::Page(ApiError::forbidden("FORBIDDEN", message))
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        ConsoleError::Page(e)
    }
}

impl From<Failure> for ConsoleError {
    fn from(f: Failure) -> Self {
        ConsoleError::Page(ApiError::from(f))
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        ConsoleError::Page(ApiError::from(e))
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    message: String,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn => Redirect::to("/console/login").into_response(),
            ConsoleError::Page(e) => {
                if let Some(cause) = &e.cause {
                    tracing::error!(error = %cause, code = e.code, "console: internal error");
                }
                let message = if e.status.is_server_error() {
                    "Something went wrong on our side; please try again.".to_string()
                } else {
                    e.message
                };
                let page = ErrorPage {
                    chrome: Chrome::signed_out(e.status.canonical_reason().unwrap_or("Error")),
                    status: e.status.as_u16(),
                    message,
                };
                match page.render() {
                    Ok(body) => (
                        e.status,
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/html; charset=utf-8"),
                        )],
                        body,
                    )
                        .into_response(),
                    Err(_) => (e.status, "error").into_response(),
                }
            }
        }
    }
}

pub type ConsoleResult<T = Response> = Result<T, ConsoleError>;
