//! The notification queue: `GET /console/t/{tenant}/notifications?status=` lists every SMS and
//! e-mail the business asked Switchboard to deliver (`messaging::history::notifications`, as
//! `GET /api/telephony/notifications`), with its status, attempts, and Twilio's error code in words;
//! `POST …/notifications/{id}/retry` queues a failed SMS again through `messaging::outgoing::retry`
//! (as `POST /api/telephony/notifications/{id}/retry`): only terminal failures, once each.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::conversations::excerpt;
use super::{Pill, Tabs, notification_pill, twilio_error_text};
use crate::console::auth::{Form, TenantView};
use crate::console::format;
use crate::console::render::{Chrome, ConsoleResult, FormError, page, page_with_status};
use crate::domain::states::NotificationStatus;
use crate::messaging::{history, outgoing};
use crate::state::AppState;

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    status: Option<String>,
    offset: Option<i64>,
    /// After a retry: the original's id, the retry's id, and whether it was new.
    retried: Option<String>,
    retry: Option<String>,
    again: Option<String>,
}

#[derive(Debug, Clone)]
struct Row {
    id: String,
    r#type: String,
    recipient: String,
    message: String,
    pill: Pill,
    attempts: i64,
    error: Option<String>,
    when: String,
    retryable: bool,
    /// A retry's outcome (or refusal), shown in its row.
    note: Option<(bool, String)>,
}

#[derive(Debug, Clone)]
struct StatusOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/messages/notifications.html")]
struct QueuePage {
    chrome: Chrome,
    tabs: Tabs,
    statuses: Vec<StatusOption>,
    status: String,
    rows: Vec<Row>,
    total: i64,
    zone: String,
    newer_href: Option<String>,
    older_href: Option<String>,
    status_error: Option<String>,
}

async fn queue_page(
    state: &AppState,
    view: &TenantView,
    status: Option<&str>,
    offset: Option<i64>,
    note: Option<(&str, bool, String)>,
) -> ConsoleResult<(QueuePage, Option<FormError>)> {
    let base = view.base();
    let status = status.map(str::trim).unwrap_or("");
    let (filter, status_error) = match history::notification_filter(None, Some(status)) {
        Ok(f) => (f, None),
        Err(e) => (Default::default(), Some(FormError::from_failure(e))),
    };
    let found = if status_error.is_some() {
        None
    } else {
        Some(history::notifications(state, &view.tenant.id, &filter, Some(PAGE), offset).await?)
    };
    let tz = format::zone(view.tenant.time_zone.as_str());
    let mut rows: Vec<Row> = found
        .as_ref()
        .map(|f| f.rows.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|n| Row {
            id: n.id.clone(),
            r#type: n.r#type.clone(),
            recipient: n.recipient.clone(),
            message: excerpt(&n.message, 120),
            pill: notification_pill(n.status),
            attempts: n.attempts,
            error: match (n.error_code, &n.failure_reason) {
                (Some(code), Some(reason)) => Some(format!("Error {code}: {reason}")),
                (Some(code), None) => Some(twilio_error_text(code)),
                (None, Some(reason)) => Some(reason.clone()),
                (None, None) => None,
            },
            when: format::date_time(n.created_at, &tz),
            retryable: outgoing::retryable(n),
            note: None,
        })
        .collect();
    if let Some((id, ok, text)) = note
        && let Some(r) = rows.iter_mut().find(|r| r.id == id)
    {
        r.note = Some((ok, text));
    }
    let (total, offset, shown, limit) = match &found {
        Some(f) => (f.total, f.offset, f.offset + f.rows.len() as i64, f.limit),
        None => (0, 0, 0, PAGE),
    };
    let at = |o: i64| format!("{base}/notifications?status={status}&offset={o}");
    let statuses = std::iter::once(("", "All statuses"))
        .chain(NotificationStatus::NAMES.iter().map(|s| (*s, *s)))
        .map(|(value, label)| StatusOption {
            value,
            label,
            selected: value.eq_ignore_ascii_case(status),
        })
        .collect();
    let page_ = QueuePage {
        chrome: view.chrome("Notification queue", "messages"),
        tabs: Tabs {
            base: base.clone(),
            current: "notifications",
        },
        statuses,
        status: status.to_string(),
        rows,
        total,
        zone: view.tenant.time_zone.to_string(),
        newer_href: (offset > 0).then(|| at((offset - limit).max(0))),
        older_href: (shown < total).then(|| at(shown)),
        status_error: status_error.as_ref().map(|e| e.message.clone()),
    };
    Ok((page_, status_error))
}

pub async fn list(
    view: TenantView,
    State(state): State<AppState>,
    Query(p): Query<Params>,
) -> ConsoleResult {
    let note = match (&p.retried, &p.retry) {
        (Some(original), Some(retry)) => Some((
            original.as_str(),
            true,
            if p.again.is_some() {
                format!(
                    "Already retried: notification {retry} was queued for it earlier; nothing new was sent."
                )
            } else {
                format!("Queued again as notification {retry}.")
            },
        )),
        _ => None,
    };
    let (page_, error) = queue_page(&state, &view, p.status.as_deref(), p.offset, note).await?;
    Ok(match error {
        Some(e) => page_with_status(e.http_status(), &page_),
        None => page(&page_),
    })
}

/// `POST …/notifications/{id}/retry`.
pub async fn retry(
    view: TenantView,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> ConsoleResult {
    // Only a status the listing accepts goes back into the redirect.
    let status = form
        .text("status")
        .filter(|s| history::notification_filter(None, Some(s)).is_ok())
        .unwrap_or("")
        .to_ascii_uppercase();
    match outgoing::retry(&state, &view.tenant.id, &id).await {
        Ok(r) => {
            let again = if r.retry.created { "" } else { "&again=1" };
            Ok(Redirect::to(&format!(
                "{}/notifications?status={status}&retried={}&retry={}{again}#notification-{}",
                view.base(),
                r.original.id,
                r.retry.notification.id,
                r.original.id
            ))
            .into_response())
        }
        Err(crate::failure::Failure::NotFound { what }) => {
            Err(crate::failure::Failure::NotFound { what }.into())
        }
        Err(f) => {
            let e = FormError::from_failure(f);
            let note = Some((id.as_str(), false, format!("Not retried: {}", e.message)));
            let (page_, _) = queue_page(&state, &view, Some(&status), None, note).await?;
            Ok(page_with_status(e.http_status(), &page_))
        }
    }
}
