//! `GET /console/t/{tenant}/messages`: the conversations, one per customer number, most recent
//! first (`messaging::history::conversations`, as `GET /api/telephony/conversations`), with the last
//! message, how many went each way, and whether the customer opted out.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::{Tabs, phone_segment};
use crate::console::auth::TenantView;
use crate::console::format;
use crate::console::render::{Chrome, ConsoleResult, page};
use crate::messaging::history;
use crate::state::AppState;

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    offset: Option<i64>,
}

#[derive(Debug, Clone)]
struct Row {
    phone: String,
    href: String,
    /// "You: …" or "Them: …", shortened.
    last: String,
    when: String,
    inbound: i64,
    outbound: i64,
    opted_out: bool,
}

#[derive(Template)]
#[template(path = "console/messages/conversations.html")]
struct ConversationsPage {
    chrome: Chrome,
    tabs: Tabs,
    rows: Vec<Row>,
    total: i64,
    zone: String,
    newer_href: Option<String>,
    older_href: Option<String>,
}

/// At most `n` characters of `s`, with an ellipsis when cut.
pub fn excerpt(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n).collect();
        format!("{}…", cut.trim_end())
    }
}

pub async fn list(
    view: TenantView,
    State(state): State<AppState>,
    Query(p): Query<Params>,
) -> ConsoleResult {
    let page_ = history::conversations(&state, &view.tenant.id, Some(PAGE), p.offset).await?;
    let tz = format::zone(view.tenant.time_zone.as_str());
    let base = view.base();
    let rows = page_
        .rows
        .iter()
        .map(|c| {
            let who = if c.last.direction == "inbound" {
                "Them"
            } else {
                "You"
            };
            let body = if c.last.body.trim().is_empty() {
                format!("({} media)", c.last.num_media)
            } else {
                excerpt(&c.last.body, 80)
            };
            Row {
                phone: c.last.customer.clone(),
                href: format!("{base}/messages/{}", phone_segment(&c.last.customer)),
                last: format!("{who}: {body}"),
                when: format::date_time(c.last.created_at, &tz),
                inbound: c.inbound_count,
                outbound: c.total_count - c.inbound_count,
                opted_out: page_.opted_out.contains(&c.last.customer),
            }
        })
        .collect();
    let at = |offset: i64| format!("{base}/messages?offset={offset}");
    let shown = page_.offset + page_.rows.len() as i64;
    Ok(page(&ConversationsPage {
        chrome: view.chrome("Messages", "messages"),
        tabs: Tabs {
            base: base.clone(),
            current: "conversations",
        },
        rows,
        total: page_.total,
        zone: view.tenant.time_zone.to_string(),
        newer_href: (page_.offset > 0).then(|| at((page_.offset - page_.limit).max(0))),
        older_href: (shown < page_.total).then(|| at(shown)),
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(super::excerpt(" hello ", 10), "hello");
        assert_eq!(super::excerpt("héllo wörld", 6), "héllo…");
    }
}
