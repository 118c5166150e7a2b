//! The overview's "Recent activity" panel: the latest calls and texts, newest first. The page shows
//! it as of its load; with JavaScript, htmx fetches `/console/t/{tenant}/activity` every 5 seconds
//! and swaps the panel for the answer (`hx-swap="outerHTML"`), so a new call or text appears
//! without a reload. The same route without htmx answers a page of its own.
//!
//! Calls come from the call log's keyset listing (`calls::logs::list_keyset`, the console's calls
//! list), texts from the message history the SMS history API reads (`db::messages::list_for_number`).

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::calls::logs::{self, CallLogQuery};
use crate::console::auth::TenantView;
use crate::console::format;
use crate::console::pages::calls::outcome_pill;
use crate::console::render::{Chrome, ConsoleError, ConsoleResult, page};
use crate::db;
use crate::state::AppState;

/// Entries the panel shows.
const SHOWN: usize = 12;

/// One line of the panel.
#[derive(Debug, Clone, Default)]
pub struct ActivityRow {
    pub time: String,
    /// "Call in", "Call out", "Text in", "Text out".
    pub what: &'static str,
    /// The other party.
    pub with: String,
    pub status: String,
    pub pill: &'static str,
    /// The call page, for calls.
    pub href: Option<String>,
    pub call_sid: Option<String>,
    pub message_sid: Option<String>,
    /// A text's first words.
    pub excerpt: Option<String>,
    at: i64,
}

/// The panel's content.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Where htmx polls.
    pub url: String,
    pub as_of: String,
    pub rows: Vec<ActivityRow>,
}

#[derive(Template)]
#[template(path = "console/overview/activity.html")]
struct ActivityFragment {
    activity: Activity,
}

#[derive(Template)]
#[template(path = "console/overview/activity_page.html")]
struct ActivityPage {
    chrome: Chrome,
    activity: Activity,
}

/// The latest calls and texts of the viewed tenant.
pub async fn load(state: &AppState, view: &TenantView) -> Result<Activity, ConsoleError> {
    let tz = view.tenant.time_zone.time_zone();
    let q = CallLogQuery {
        limit: Some(SHOWN as i64),
        ..Default::default()
    };
    let (calls, texts) = tokio::try_join!(
        async {
            logs::list_keyset(&state.db, &view.tenant, &q, None, None)
                .await
                .map_err(ConsoleError::from)
        },
        async {
            db::messages::list_for_number(&state.db, &view.tenant.id, None, SHOWN as i64, 0)
                .await
                .map_err(ConsoleError::from)
        },
    )?;
    let base = view.base();
    let mut rows: Vec<ActivityRow> = calls
        .calls
        .iter()
        .map(|c| {
            let (status, pill) = outcome_pill(logs::outcome_of(c));
            ActivityRow {
                time: format::date_time(c.start_time, &tz),
                what: if c.direction == "outbound" {
                    "Call out"
                } else {
                    "Call in"
                },
                with: if c.direction == "outbound" {
                    c.to_number.clone()
                } else {
                    c.from_number.clone()
                },
                status: status.to_string(),
                pill,
                href: Some(format!("{base}/calls/{}", c.id)),
                call_sid: Some(c.call_sid.clone()),
                message_sid: None,
                excerpt: None,
                at: c.start_time,
            }
        })
        .collect();
    rows.extend(texts.iter().map(|m| {
        let status = m.status.as_str();
        ActivityRow {
            time: format::date_time(m.created_at, &tz),
            what: if m.direction == "outbound" {
                "Text out"
            } else {
                "Text in"
            },
            with: m.customer.clone(),
            status: status.replace('_', " "),
            pill: message_pill(status),
            href: None,
            call_sid: None,
            message_sid: m.message_sid.clone().or_else(|| Some(m.id.clone())),
            excerpt: Some(excerpt(&m.body)),
            at: m.created_at,
        }
    }));
    rows.sort_by_key(|r| std::cmp::Reverse(r.at));
    rows.truncate(SHOWN);
    Ok(Activity {
        url: format!("{base}/activity"),
        as_of: format::time_of_day(state.clock.now_ms(), &tz),
        rows,
    })
}

/// The pill class of a message status.
fn message_pill(status: &str) -> &'static str {
    match status {
        "delivered" | "read" => "pill-ok",
        "received" | "receiving" => "pill-info",
        "failed" | "undelivered" | "canceled" => "pill-bad",
        _ => "pill-warn",
    }
}

fn excerpt(body: &str) -> String {
    let mut s: String = body.chars().take(60).collect();
    if body.chars().count() > 60 {
        s.push('…');
    }
    s
}

/// `GET /console/t/{tenant}/activity`: the panel alone for htmx, a page of its own otherwise.
pub async fn fragment(
    view: TenantView,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ConsoleResult<Response> {
    let activity = load(&state, &view).await?;
    let htmx = headers
        .get("hx-request")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "true");
    if htmx {
        return Ok(page(&ActivityFragment { activity }));
    }
    Ok(page(&ActivityPage {
        chrome: view.chrome("Recent activity", "overview"),
        activity,
    }))
}
