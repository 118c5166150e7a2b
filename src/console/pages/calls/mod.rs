//! A business's calls: the filterable, keyset-paginated list (`/console/t/{tenant}/calls`) and
//! each call's page with its timeline, recordings, transcript, reason and summary (`show.rs`).
//!
//! The list reads the call log through `calls::logs::list_keyset`: the API's own query
//! (`CallLogQuery`, validated by the same code, so a bad date is refused with the API's message)
//! and a keyset page (`?before=` / `?after=` an opaque cursor of start time and id), never OFFSET,
//! so the thousandth page costs what the first does.

mod show;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::calls::logs::{self, CallLogQuery};
use crate::console::auth::TenantView;
use crate::console::format;
use crate::console::pages::overview::reason_label;
use crate::console::render::{Chrome, ConsoleResult, FormError, page_with_status};
use crate::db::calls::CallOutcome;
use crate::domain::routing::CallReason;
use crate::domain::states::CallStatus;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}/calls", get(list))
        .route("/console/t/{tenant}/calls/{call_id}", get(show::show))
}

/// The pill of an outcome (`calls::logs::outcome_of`): its words and class. Status is never told by
/// colour alone: the pill carries the word.
pub fn outcome_pill(outcome: &str) -> (&'static str, &'static str) {
    match outcome {
        "answered" => ("Answered", "pill-ok"),
        "voicemail" => ("Voicemail", "pill-info"),
        "missed" => ("Missed", "pill-bad"),
        "queued" | "initiated" => ("Queued", "pill-warn"),
        "ringing" => ("Ringing", "pill-warn"),
        "in-progress" => ("In progress", "pill-warn"),
        "busy" => ("Busy", "pill-bad"),
        "no-answer" => ("No answer", "pill-bad"),
        "failed" => ("Failed", "pill-bad"),
        "canceled" => ("Canceled", "pill-bad"),
        "completed" => ("Completed", "pill"),
        _ => ("Unknown", "pill"),
    }
}

/// The list's query: the filter form's fields, the page size and the cursor.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// First local date (YYYY-MM-DD) or instant, as the API's `startDate`.
    from: Option<String>,
    /// Last local date, included, as the API's `endDate`.
    to: Option<String>,
    outcome: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    direction: Option<String>,
    /// E.164 number that placed or received the call.
    number: Option<String>,
    limit: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

impl ListQuery {
    /// The filters (and page size) as they go into links: blank ones left out.
    fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("outcome", &self.outcome),
            ("status", &self.status),
            ("reason", &self.reason),
            ("direction", &self.direction),
            ("number", &self.number),
            ("limit", &self.limit),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| (k, s.to_string()))
        })
        .collect()
    }

    /// The API's query for these filters. A page size that is not a number is passed on as one
    /// the API refuses, so the message is the API's.
    fn api_query(&self) -> Result<CallLogQuery, FormError> {
        let limit = match self
            .limit
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| FormError {
                field: Some("limit".into()),
                message: "limit must be a whole number".into(),
                status: 400,
            })?),
        };
        Ok(CallLogQuery {
            start_date: self.from.clone(),
            end_date: self.to.clone(),
            limit,
            offset: None,
            status: self.status.clone(),
            direction: self.direction.clone(),
            reason: self.reason.clone(),
            phone_number: self.number.clone(),
            outcome: self.outcome.clone(),
        })
    }
}

/// A `<select>` option.
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

fn choices(
    values: &[&'static str],
    label: impl Fn(&str) -> String,
    current: Option<&str>,
) -> Vec<Choice> {
    let current = current.map(str::trim).unwrap_or("");
    values
        .iter()
        .map(|v| Choice {
            value: v,
            label: label(v),
            selected: v.eq_ignore_ascii_case(current),
        })
        .collect()
}

/// One row of the calls table.
struct CallRow {
    href: String,
    id: String,
    call_sid: String,
    time: String,
    from: String,
    to: String,
    direction: &'static str,
    outcome: &'static str,
    pill: &'static str,
    duration: String,
    reason: &'static str,
}

#[derive(Template)]
#[template(path = "console/calls/list.html")]
struct ListPage {
    chrome: Chrome,
    action: String,
    time_zone: String,
    q: ListQuery,
    outcomes: Vec<Choice>,
    statuses: Vec<Choice>,
    reasons: Vec<Choice>,
    directions: Vec<Choice>,
    error: FormError,
    rows: Vec<CallRow>,
    filtered: bool,
    older: Option<String>,
    newer: Option<String>,
    newest: Option<String>,
}

impl ListPage {
    fn value<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

async fn list(
    view: TenantView,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ConsoleResult<Response> {
    let base = format!("{}/calls", view.base());
    let tz = view.tenant.time_zone.time_zone();
    let result = match q.api_query() {
        Ok(api) => logs::list_keyset(
            &state.db,
            &view.tenant,
            &api,
            q.before.as_deref(),
            q.after.as_deref(),
        )
        .await
        .map_err(FormError::from_failure),
        Err(e) => Err(e),
    };
    let (page_data, error) = match result {
        Ok(p) => (Some(p), FormError::default()),
        Err(e) => (None, e),
    };
    let filters = q.filter_pairs();
    let link = |extra: Option<(&str, &str)>| {
        let mut pairs: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.extend(extra);
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if qs.is_empty() {
            base.clone()
        } else {
            format!("{base}?{qs}")
        }
    };
    let mut rows = Vec::new();
    let (mut older, mut newer) = (None, None);
    if let Some(p) = &page_data {
        rows = p
            .calls
            .iter()
            .map(|c| {
                let (outcome, pill) = outcome_pill(logs::outcome_of(c));
                CallRow {
                    href: format!("{base}/{}", c.id),
                    id: c.id.clone(),
                    call_sid: c.call_sid.clone(),
                    time: format::date_time(c.start_time, &tz),
                    from: c.from_number.clone(),
                    to: c.to_number.clone(),
                    direction: if c.direction == "outbound" {
                        "Outbound"
                    } else {
                        "Inbound"
                    },
                    outcome,
                    pill,
                    duration: c
                        .duration_seconds
                        .map(format::duration)
                        .unwrap_or_else(|| "—".into()),
                    reason: c.call_reason.as_deref().map(reason_label).unwrap_or("—"),
                }
            })
            .collect();
        older = p.older.as_deref().map(|c| link(Some(("before", c))));
        newer = p.newer.as_deref().map(|c| link(Some(("after", c))));
    }
    let paged = q.before.as_deref().is_some_and(|s| !s.trim().is_empty())
        || q.after.as_deref().is_some_and(|s| !s.trim().is_empty());
    let status = error.http_status();
    let failed = page_data.is_none();
    let tmpl = ListPage {
        chrome: view.chrome("Calls", "calls"),
        action: base.clone(),
        time_zone: view.tenant.time_zone.to_string(),
        outcomes: choices(
            &CallOutcome::NAMES,
            |v| outcome_pill(v).0.to_string(),
            q.outcome.as_deref(),
        ),
        statuses: choices(
            CallStatus::NAMES,
            |v| outcome_pill(v).0.to_string(),
            q.status.as_deref(),
        ),
        reasons: choices(
            &CallReason::NAMES,
            |v| reason_label(v).to_string(),
            q.reason.as_deref(),
        ),
        directions: choices(
            &logs::DIRECTIONS,
            |v| {
                if v == "inbound" {
                    "Inbound".into()
                } else {
                    "Outbound".into()
                }
            },
            q.direction.as_deref(),
        ),
        error,
        rows,
        filtered: !filters.iter().all(|(k, _)| *k == "limit"),
        older,
        newer,
        newest: paged.then(|| link(None)),
        q,
    };
    Ok(page_with_status(
        if failed {
            status
        } else {
            axum::http::StatusCode::OK
        },
        &tmpl,
    ))
}
