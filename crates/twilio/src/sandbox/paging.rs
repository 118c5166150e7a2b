//! Twilio's list envelope: `first_page_uri, end, next_page_uri, page, page_size,
//! previous_page_uri, start, uri` plus one plural key holding the page's records.
//!
//! `Page` (0-based) and `PageSize` choose the page. Twilio's own `next_page_uri` also carries a
//! `PageToken`; the sandbox adds one of the same shape so clients that echo it back keep working,
//! but pages by `Page` alone.

use serde_json::{Map, Value, json};

use super::state::first;

/// Twilio's default page size.
const DEFAULT_PAGE_SIZE: usize = 50;
/// Twilio's largest page.
const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) page: usize,
    pub(crate) page_size: usize,
}

impl PageRequest {
    /// Reads `Page` and `PageSize`; a missing or unreadable value takes the default, a size out
    /// of range is clamped to 1..=1000.
    pub(crate) fn from_query(query: &[(String, String)]) -> Self {
        let page_size = first(query, "PageSize")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        let page = first(query, "Page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        Self { page, page_size }
    }
}

/// Builds the envelope for `all` (already filtered and ordered) under `key`. `filters` are the
/// query parameters that selected `all`, repeated in every page URI as Twilio does.
pub(crate) fn envelope(
    key: &str,
    all: Vec<Value>,
    path: &str,
    filters: &[(&str, &str)],
    req: PageRequest,
) -> Value {
    let total = all.len();
    let start = req.page.saturating_mul(req.page_size);
    let records: Vec<Value> = all.into_iter().skip(start).take(req.page_size).collect();
    let uri_for = |page: usize, token: bool| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in filters {
            query.append_pair(k, v);
        }
        query.append_pair("PageSize", &req.page_size.to_string());
        query.append_pair("Page", &page.to_string());
        if token && page > 0 {
            query.append_pair("PageToken", &format!("PA{page}"));
        }
        format!("{path}?{}", query.finish())
    };
    let has_next = start.saturating_add(req.page_size) < total;
    let mut map = Map::new();
    map.insert("first_page_uri".into(), json!(uri_for(0, false)));
    map.insert("end".into(), json!(start + records.len().saturating_sub(1)));
    map.insert(
        "next_page_uri".into(),
        if has_next {
            json!(uri_for(req.page + 1, true))
        } else {
            Value::Null
        },
    );
    map.insert("page".into(), json!(req.page));
    map.insert("page_size".into(), json!(req.page_size));
    map.insert(
        "previous_page_uri".into(),
        if req.page > 0 {
            json!(uri_for(req.page - 1, true))
        } else {
            Value::Null
        },
    );
    map.insert("start".into(), json!(start));
    map.insert("uri".into(), json!(uri_for(req.page, false)));
    map.insert(key.into(), Value::Array(records));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn page_request_defaults_and_clamps() {
        assert_eq!(
            PageRequest::from_query(&[]),
            PageRequest {
                page: 0,
                page_size: 50
            }
        );
        let r = PageRequest::from_query(&q(&[("PageSize", "5000"), ("Page", "2")]));
        assert_eq!(
            r,
            PageRequest {
                page: 2,
                page_size: 1000
            }
        );
        assert_eq!(
            PageRequest::from_query(&q(&[("PageSize", "0")])).page_size,
            1
        );
    }

    #[test]
    fn middle_page_links_both_ways_and_keeps_filters() {
        let all: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let env = envelope(
            "items",
            all,
            "/x.json",
            &[("To", "+1")],
            PageRequest {
                page: 1,
                page_size: 2,
            },
        );
        assert_eq!(env["items"], json!([2, 3]));
        assert_eq!(env["start"], 2);
        assert_eq!(env["end"], 3);
        assert_eq!(
            env["next_page_uri"],
            "/x.json?To=%2B1&PageSize=2&Page=2&PageToken=PA2"
        );
        assert_eq!(
            env["previous_page_uri"],
            "/x.json?To=%2B1&PageSize=2&Page=0"
        );
        assert_eq!(env["first_page_uri"], "/x.json?To=%2B1&PageSize=2&Page=0");
        assert_eq!(env["uri"], "/x.json?To=%2B1&PageSize=2&Page=1");
    }

    #[test]
    fn last_page_has_no_next() {
        let all: Vec<Value> = (0..4).map(|i| json!(i)).collect();
        let env = envelope(
            "items",
            all,
            "/x.json",
            &[],
            PageRequest {
                page: 1,
                page_size: 2,
            },
        );
        assert_eq!(env["next_page_uri"], Value::Null);
    }
}
