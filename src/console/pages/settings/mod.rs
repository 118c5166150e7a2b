//! A business's settings (`/console/t/{tenant}/settings/…`), one sub-page per file: business
//! hours and holidays (`hours`), the routing policy (`routing`), staff (`staff`), message templates
//! with a live preview (`templates`), the phone number (`number`) and relay endpoints (`relay`).
//!
//! Every form posts to its own path and saves through the use case the JSON API calls. A tenant
//! change is written as the admin API's `PATCH /api/admin/tenants/{id}` body and read by the API's
//! own parser ([`parse_body`]), so the console accepts and refuses exactly what the API does. A
//! refused form comes back with the API's status and its message next to the field the API names;
//! a good one answers 303 back to its page with a notice (`?saved=1`, Post/Redirect/Get).
//!
//! This file holds what the sub-pages share: the tabs and notice ([`Tabs`]), one labelled form
//! control ([`Input`], drawn by `templates/console/settings/fields.html`) and [`parse_body`].

mod hours;
mod number;
mod relay;
mod routing;
mod staff;
mod templates;

use std::collections::HashMap;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;

use crate::console::auth::TenantView;
use crate::console::render::FormError;
use crate::failure::Failure;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}/settings", get(index))
        .merge(hours::routes())
        .merge(routing::routes())
        .merge(staff::routes())
        .merge(templates::routes())
        .merge(number::routes())
        .merge(relay::routes())
}

/// The first sub-page.
async fn index(view: TenantView) -> Redirect {
    Redirect::to(&format!("{}/settings/hours", view.base()))
}

/// The sub-pages, as `(path, tab label)`.
const TABS: [(&str, &str); 6] = [
    ("hours", "Hours"),
    ("routing", "Call routing"),
    ("staff", "Staff"),
    ("templates", "Templates"),
    ("number", "Phone number"),
    ("relay", "Relay endpoints"),
];

/// What a good form's redirect says on the page it lands on (`?{key}=1`).
const NOTICES: [(&str, &str); 5] = [
    ("saved", "Saved."),
    ("removed", "Removed."),
    ("replayed", "The delivery was queued to be sent again."),
    (
        "bought",
        "The number is yours and answers calls and texts now.",
    ),
    ("released", "The number was given back."),
];

/// The tabs across the settings pages (`templates/console/settings/tabs.html`) and the notice a
/// redirect after a good save asks for.
#[derive(Debug, Clone)]
pub struct Tabs {
    /// `/console/t/{id}`.
    pub base: String,
    pub current: &'static str,
    pub notice: Option<&'static str>,
}

impl Tabs {
    pub fn new(view: &TenantView, current: &'static str, query: &HashMap<String, String>) -> Tabs {
        Tabs {
            base: view.base(),
            current,
            notice: NOTICES
                .iter()
                .find(|(key, _)| query.contains_key(*key))
                .map(|(_, text)| *text),
        }
    }
    pub fn entries(&self) -> &'static [(&'static str, &'static str)] {
        &TABS
    }
    pub fn is(&self, tab: &str) -> bool {
        self.current == tab
    }
    /// `/console/t/{id}/settings/{path}`.
    pub fn path(&self, path: &str) -> String {
        format!("{}/settings/{path}", self.base)
    }
}

/// 303 to settings page `path` with the notice `notice` (a key of [`NOTICES`]).
pub fn done(view: &TenantView, path: &str, notice: &str) -> Response {
    Redirect::to(&format!("{}/settings/{path}?{notice}=1", view.base())).into_response()
}

/// Reads `body` as the JSON API reads a request body of type `T` (same parser, same field paths
/// and messages), so a form value the API would refuse is refused here in the API's words.
pub fn parse_body<T: DeserializeOwned>(body: &serde_json::Value) -> Result<T, Failure> {
    let bytes = serde_json::to_vec(body).map_err(Failure::internal)?;
    crate::web::extract::parse_json(&bytes).map_err(refusal)
}

/// An input refusal the API's web kit worded (its parser's, its query validation's) as the
/// [`Failure`] it stands for, so [`FormError`] words it exactly as the API answers it.
pub fn refusal(e: crate::web::error::ApiError) -> Failure {
    if !e.status.is_client_error() {
        return Failure::internal(e.message);
    }
    // The API's message already names the field ("field: reason"); the failure adds it again.
    let field = e.field.unwrap_or_default();
    let reason = e
        .message
        .strip_prefix(&format!("{field}: "))
        .map(str::to_string)
        .unwrap_or(e.message);
    Failure::invalid(field, reason)
}

/// A form value as a JSON number when it reads as one, else as the text itself, so the API's
/// parser answers a non-number with its own message for that field.
pub fn number_or_text(v: &str) -> serde_json::Value {
    let v = v.trim();
    match v.parse::<i64>() {
        Ok(n) => serde_json::Value::from(n),
        Err(_) => serde_json::Value::from(v),
    }
}

/// A text value, `null` when blank (an optional field the API clears with `null`).
pub fn text_or_null(v: &str) -> serde_json::Value {
    let v = v.trim();
    if v.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::Value::from(v)
    }
}

/// The refusal's message when no control on the page showed it (a field the form does not have,
/// or none): the page shows it above the form instead.
pub fn unplaced(error: &FormError, inputs: &[&Input]) -> Option<String> {
    let placed = inputs.iter().any(|i| i.error.is_some());
    (!error.message.is_empty() && !placed).then(|| error.message.clone())
}

/// One choice of a `select`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One labelled form control (`input`, `textarea`, `select` or checkbox), with its hint and the
/// API's message when the refused field is this one. The `id` is also the posted name.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub id: String,
    pub label: String,
    /// `text`, `number`, `time`, `tel`, `email`, `url`, `password`, `textarea`, `select`, `checkbox`.
    pub kind: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<Choice>,
    pub hint: String,
    pub error: Option<String>,
    /// Marked invalid by a message shown elsewhere (a whole row's), which it points at.
    pub also_invalid_by: Option<String>,
    /// Further attributes, written by this module only (never user input): `list`, `min`, …
    pub extra: &'static str,
    /// Drawn without its own label (a table cell or a row with a shared heading labels it).
    pub label_hidden: bool,
}

impl Input {
    pub fn new(id: impl Into<String>, label: impl Into<String>, kind: &'static str) -> Input {
        Input {
            id: id.into(),
            label: label.into(),
            kind,
            ..Input::default()
        }
    }
    pub fn value(mut self, v: impl Into<String>) -> Input {
        self.value = v.into();
        self
    }
    pub fn checked(mut self, on: bool) -> Input {
        self.checked = on;
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> Input {
        self.hint = h.into();
        self
    }
    pub fn extra(mut self, attrs: &'static str) -> Input {
        self.extra = attrs;
        self
    }
    /// Choices `(value, label)`; the one equal to the current value is selected.
    pub fn choices(mut self, choices: &[(&str, &str)]) -> Input {
        self.options = choices
            .iter()
            .map(|(v, l)| Choice {
                value: (*v).to_string(),
                label: (*l).to_string(),
                selected: *v == self.value,
            })
            .collect();
        self
    }
    /// Shows `error`'s message here when the API's field is `api_field` or inside it.
    pub fn error_of(mut self, error: &FormError, api_field: &str) -> Input {
        if let Some(m) = error.for_field(api_field) {
            self.error = Some(m.to_string());
        }
        self
    }
    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }
    pub fn error_text(&self) -> Option<&str> {
        self.error.as_deref()
    }
    pub fn hint_id(&self) -> String {
        format!("{}-hint", self.id)
    }
    pub fn error_id(&self) -> String {
        format!("{}-error", self.id)
    }
    /// ` aria-invalid="true" aria-describedby="…"` and the extra attributes; ids are ASCII names
    /// built here, so nothing needs escaping.
    pub fn attrs(&self) -> String {
        let mut out = String::new();
        let mut described = Vec::new();
        if !self.hint.is_empty() {
            described.push(self.hint_id());
        }
        if self.error.is_some() {
            described.push(self.error_id());
        }
        if let Some(other) = &self.also_invalid_by {
            described.push(other.clone());
        }
        if self.error.is_some() || self.also_invalid_by.is_some() {
            out.push_str(" aria-invalid=\"true\"");
        }
        if !described.is_empty() {
            out.push_str(&format!(" aria-describedby=\"{}\"", described.join(" ")));
        }
        if !self.extra.is_empty() {
            out.push(' ');
            out.push_str(self.extra);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_points_at_its_hint_and_error() {
        let e = FormError {
            field: Some("routingPolicy.dialTimeoutSecs".into()),
            message: "must be between 5 and 600".into(),
            status: 400,
        };
        let i = Input::new("dial-timeout", "Ring for", "number")
            .hint("Seconds")
            .error_of(&e, "routingPolicy.dialTimeoutSecs");
        assert_eq!(i.error_text(), Some("must be between 5 and 600"));
        assert_eq!(
            i.attrs(),
            " aria-invalid=\"true\" aria-describedby=\"dial-timeout-hint dial-timeout-error\""
        );
        let other = Input::new("voice", "Voice", "text").error_of(&e, "routingPolicy.voice");
        assert!(other.error.is_none() && other.attrs().is_empty());
        assert_eq!(unplaced(&e, &[&other]), Some(e.message.clone()));
        assert_eq!(unplaced(&e, &[&i, &other]), None);
    }

    #[test]
    fn form_values_reach_the_api_parser_as_the_api_would_receive_them() {
        assert_eq!(number_or_text(" 20 "), serde_json::json!(20));
        assert_eq!(number_or_text("twenty"), serde_json::json!("twenty"));
        assert_eq!(text_or_null("  "), serde_json::Value::Null);
        let e = parse_body::<crate::tenants::manage::UpdateTenant>(
            &serde_json::json!({"routingPolicy": {"dialTimeoutSecs": "twenty"}}),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("routingPolicy.dialTimeoutSecs"));
        // Worded once, as the API words it.
        let message = crate::web::error::ApiError::from(e).message;
        assert!(
            message.starts_with("routingPolicy.dialTimeoutSecs: invalid type")
                && message.matches("dialTimeoutSecs").count() == 1,
            "{message}"
        );
    }
}
