//! Settings › Hours: opening windows per weekday, closed days, holidays and the time zone.
//!
//! The form is written as the admin API's `PATCH /api/admin/tenants/{id}` body (`businessHours`,
//! `timeZone`), read by the API's parser and applied by `tenants::manage::update`, which also
//! invalidates the routing cache, so the next call follows the new hours.
//!
//! A time input cannot say 24:00, so a window that closes at 00:00 is sent as closing at 24:00
//! (midnight, the end of that day: the same hours the API gives either spelling). Each day shows
//! its windows and at least one empty row to add another; blank rows are left out, and a refused
//! form comes back with the rows as sent, so the API's `businessHours.monday[1]` is the second
//! row on the page.

use std::collections::HashMap;
use std::sync::LazyLock;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Input, Tabs, done, parse_body, unplaced};
use crate::console::auth::{Form, TenantView};
use crate::console::render::{Chrome, ConsoleResult, FormError, page, page_with_status};
use crate::db::tenants::Tenant;
use crate::domain::hours::{ClockTime, TimeWindow};
use crate::failure::Failure;
use crate::state::AppState;
use crate::tenants::manage::{self, UpdateTenant};

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/t/{tenant}/settings/hours", get(show).post(save))
}

/// The weekdays as the API names them, with their labels.
const DAYS: [(&str, &str); 7] = [
    ("monday", "Monday"),
    ("tuesday", "Tuesday"),
    ("wednesday", "Wednesday"),
    ("thursday", "Thursday"),
    ("friday", "Friday"),
    ("saturday", "Saturday"),
    ("sunday", "Sunday"),
];

/// Rows a day shows at least; and how many posted rows are read at most.
const MIN_ROWS: usize = 2;
const MAX_ROWS_READ: usize = 32;

/// Every IANA zone name the bundled database knows, for the time zone's suggestions.
static ZONES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
});

/// The hours as the form holds them: text as typed, so a refused form shows what was sent.
#[derive(Debug, Clone)]
struct Hours {
    /// Per day (in [`DAYS`] order): closed all day, and the filled `(open, close)` rows.
    days: Vec<(bool, Vec<(String, String)>)>,
    holidays: String,
    time_zone: String,
}

/// `HH:MM` for a time input: 24:00 reads 00:00 (see the module comment).
fn clock(t: ClockTime) -> String {
    let m = t.minutes() % 1440;
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl Hours {
    fn of(t: &Tenant) -> Hours {
        let h = &t.business_hours;
        let days = [
            &h.monday,
            &h.tuesday,
            &h.wednesday,
            &h.thursday,
            &h.friday,
            &h.saturday,
            &h.sunday,
        ]
        .into_iter()
        .map(|windows: &Vec<TimeWindow>| {
            let rows = windows
                .iter()
                .map(|w| (clock(w.open), clock(w.close)))
                .collect::<Vec<_>>();
            (rows.is_empty(), rows)
        })
        .collect();
        Hours {
            days,
            holidays: h
                .holidays
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            time_zone: t.time_zone.to_string(),
        }
    }

    fn from_form(form: &Form) -> Hours {
        let days = DAYS
            .iter()
            .map(|(day, _)| {
                let rows = (0..MAX_ROWS_READ)
                    .map(|i| {
                        let v = |end: &str| {
                            form.get(&format!("{day}-{i}-{end}"))
                                .unwrap_or("")
                                .trim()
                                .to_string()
                        };
                        (v("open"), v("close"))
                    })
                    .filter(|(open, close)| !open.is_empty() || !close.is_empty())
                    .collect();
                (form.checked(&format!("{day}-closed")), rows)
            })
            .collect();
        Hours {
            days,
            holidays: form.get("holidays").unwrap_or("").to_string(),
            time_zone: form.get("time-zone").unwrap_or("").trim().to_string(),
        }
    }

    /// The admin API's PATCH body for these hours.
    fn body(&self) -> Value {
        let mut hours = serde_json::Map::new();
        for ((day, _), (closed, rows)) in DAYS.iter().zip(&self.days) {
            let windows: Vec<Value> = if *closed {
                Vec::new()
            } else {
                rows.iter()
                    .map(|(open, close)| {
                        let close = if close == "00:00" { "24:00" } else { close };
                        json!({ "open": open, "close": close })
                    })
                    .collect()
            };
            hours.insert((*day).to_string(), Value::from(windows));
        }
        let holidays: Vec<&str> = self
            .holidays
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|d| !d.is_empty())
            .collect();
        hours.insert("holidays".into(), json!(holidays));
        json!({ "businessHours": hours, "timeZone": self.time_zone })
    }
}

/// One weekday's part of the form.
struct Day {
    label: &'static str,
    closed: Input,
    rows: Vec<Row>,
    /// The API's message about the day as a whole (too many windows).
    error: Option<String>,
    error_id: String,
}

/// One opening window's row.
struct Row {
    open: Input,
    close: Input,
    /// The API's message about the window as a whole (open equals close).
    error: Option<String>,
    error_id: String,
}

#[derive(Template)]
#[template(path = "console/settings/hours.html")]
struct HoursPage {
    chrome: Chrome,
    tabs: Tabs,
    days: Vec<Day>,
    holidays: Input,
    time_zone: Input,
    zones: &'static [String],
    general: Option<String>,
}

impl HoursPage {
    fn new(view: &TenantView, tabs: Tabs, hours: &Hours, error: &FormError) -> HoursPage {
        let mut placed = false;
        let days = DAYS
            .iter()
            .zip(&hours.days)
            .map(|((key, label), (closed, rows))| {
                let api = format!("businessHours.{key}");
                let shown = rows.len().max(MIN_ROWS - 1) + 1;
                let rows = (0..shown)
                    .map(|i| {
                        let (open, close) = rows.get(i).cloned().unwrap_or_default();
                        let window = format!("{api}[{i}]");
                        let error_id = format!("{key}-{i}-error");
                        let whole = (error.field.as_deref() == Some(window.as_str()))
                            .then(|| error.message.clone());
                        let mut open = Input::new(
                            format!("{key}-{i}-open"),
                            format!("{label}, window {}: opens", i + 1),
                            "time",
                        )
                        .value(open)
                        .error_of(error, &format!("{window}.open"));
                        let mut close = Input::new(
                            format!("{key}-{i}-close"),
                            format!("{label}, window {}: closes", i + 1),
                            "time",
                        )
                        .value(close)
                        .error_of(error, &format!("{window}.close"));
                        if whole.is_some() {
                            open.also_invalid_by = Some(error_id.clone());
                            close.also_invalid_by = Some(error_id.clone());
                        }
                        placed |= whole.is_some() || open.error.is_some() || close.error.is_some();
                        Row {
                            open,
                            close,
                            error: whole,
                            error_id,
                        }
                    })
                    .collect();
                let whole =
                    (error.field.as_deref() == Some(api.as_str())).then(|| error.message.clone());
                placed |= whole.is_some();
                Day {
                    label,
                    closed: Input::new(format!("{key}-closed"), "Closed all day", "checkbox")
                        .checked(*closed),
                    rows,
                    error: whole,
                    error_id: format!("{key}-error"),
                }
            })
            .collect();
        let holidays = Input::new("holidays", "Holidays", "textarea")
            .value(hours.holidays.clone())
            .hint("Dates the business is closed all day, one per line, as YYYY-MM-DD (2026-12-25).")
            .error_of(error, "businessHours.holidays");
        let time_zone = Input::new("time-zone", "Time zone", "text")
            .value(hours.time_zone.clone())
            .hint("The IANA name of the zone the hours are in, such as America/New_York.")
            .extra("list=\"time-zones\" autocomplete=\"off\" spellcheck=\"false\"")
            .error_of(error, "timeZone");
        let general = if placed {
            None
        } else {
            unplaced(error, &[&holidays, &time_zone])
        };
        HoursPage {
            chrome: view.chrome("Settings: hours", "settings"),
            tabs,
            days,
            holidays,
            time_zone,
            zones: &ZONES,
            general,
        }
    }
}

async fn show(view: TenantView, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    let tabs = Tabs::new(&view, "hours", &q);
    let hours = Hours::of(&view.tenant);
    Ok(page(&HoursPage::new(
        &view,
        tabs,
        &hours,
        &FormError::default(),
    )))
}

async fn save(State(state): State<AppState>, view: TenantView, form: Form) -> ConsoleResult {
    let hours = Hours::from_form(&form);
    let saved: Result<Tenant, Failure> = async {
        let patch: UpdateTenant = parse_body(&hours.body())?;
        manage::update(&state, &view.tenant.id, patch).await
    }
    .await;
    match saved {
        Ok(_) => Ok(done(&view, "hours", "saved")),
        Err(f) => {
            let error = FormError::from_failure(f);
            let tabs = Tabs::new(&view, "hours", &HashMap::new());
            Ok(page_with_status(
                error.http_status(),
                &HoursPage::new(&view, tabs, &hours, &error),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_closes_the_day_and_closed_days_send_no_windows() {
        let form = Form {
            fields: vec![
                ("monday-0-open".into(), "09:00".into()),
                ("monday-0-close".into(), "00:00".into()),
                ("monday-1-open".into(), "".into()),
                ("monday-1-close".into(), "".into()),
                ("tuesday-0-open".into(), "09:00".into()),
                ("tuesday-0-close".into(), "17:00".into()),
                ("tuesday-closed".into(), "on".into()),
                ("wednesday-1-open".into(), "10:00".into()),
                ("wednesday-1-close".into(), "12:00".into()),
                (
                    "holidays".into(),
                    "2026-12-25\r\n2026-12-26, 2027-01-01".into(),
                ),
                ("time-zone".into(), " Europe/Paris ".into()),
            ],
        };
        let body = Hours::from_form(&form).body();
        let h = &body["businessHours"];
        assert_eq!(h["monday"], json!([{"open": "09:00", "close": "24:00"}]));
        assert_eq!(h["tuesday"], json!([]));
        // A blank first row does not shift the rows after it out of the body.
        assert_eq!(h["wednesday"], json!([{"open": "10:00", "close": "12:00"}]));
        assert_eq!(h["sunday"], json!([]));
        assert_eq!(
            h["holidays"],
            json!(["2026-12-25", "2026-12-26", "2027-01-01"])
        );
        assert_eq!(body["timeZone"], "Europe/Paris");
        let patch: UpdateTenant = parse_body(&body).unwrap();
        let hours = patch.business_hours.unwrap();
        assert_eq!(hours.monday[0].close.minutes(), 1440);
        assert_eq!(clock(hours.monday[0].close), "00:00");
    }

    #[test]
    fn the_zone_list_knows_the_usual_names() {
        assert!(ZONES.iter().any(|z| z == "America/New_York"));
        assert!(ZONES.iter().any(|z| z == "Europe/Paris"));
    }
}
