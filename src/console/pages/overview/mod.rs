//! The overview page of a business (`/console/t/{tenant}`): today, the last 7 or the last 30 days
//! of calls, texts, delivery and estimated cost, calls per day by outcome, call reasons and the
//! busiest hours of the week, all in the tenant's time zone; and the recent activity panel, which
//! htmx refreshes every 5 seconds from `/console/t/{tenant}/activity` (`activity.rs`).
//!
//! Every figure comes from the analytics use cases the JSON API serves (`analytics::analytics_of`
//! for counts, buckets, reasons and hours, without the aggregates the page does not show;
//! `analytics::usage::range_usage` for texts and cost), over the same range the API would read from
//! `from`/`to` dates.

mod activity;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::analytics::usage::{self, RangeUsage};
use crate::analytics::{self, AnalyticsQuery, AnalyticsReport, Scope, buckets};
use crate::console::auth::TenantView;
use crate::console::charts::{self, LegendItem, Series};
use crate::console::format;
use crate::console::render::{Chrome, ConsoleError, ConsoleResult, page};
use crate::domain::routing::CallReason;
use crate::state::AppState;
use crate::web::error::ApiError;

pub use activity::Activity;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}", get(overview))
        .route("/console/t/{tenant}/activity", get(activity::fragment))
}

/// The ranges the tabs offer: `today`, `7d` (default), `30d`, each ending with today (local).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Today,
    Week,
    Month,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Today, Range::Week, Range::Month];

    pub fn parse(s: Option<&str>) -> Result<Range, ConsoleError> {
        match s.map(str::trim).unwrap_or("") {
            "" | "7d" => Ok(Range::Week),
            "today" => Ok(Range::Today),
            "30d" => Ok(Range::Month),
            _ => Err(ConsoleError::Page(ApiError::validation(
                "range",
                "must be one of today, 7d, 30d",
            ))),
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Range::Today => "today",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Today => "Today",
            Range::Week => "Last 7 days",
            Range::Month => "Last 30 days",
        }
    }

    pub fn days(self) -> i64 {
        match self {
            Range::Today => 1,
            Range::Week => 7,
            Range::Month => 30,
        }
    }
}

#[derive(Debug, Deserialize)]
struct OverviewQuery {
    range: Option<String>,
}

/// A range tab.
struct Tab {
    href: String,
    label: &'static str,
    current: bool,
}

/// One figure at the top.
struct Stat {
    id: &'static str,
    label: &'static str,
    value: String,
    hint: Option<String>,
}

/// One day of the "calls per day" chart, for its table.
struct DayRow {
    date: String,
    total: i64,
    answered: i64,
    voicemail: i64,
    missed: i64,
    other: i64,
}

/// One reason's count, for the reasons table.
struct ReasonRow {
    label: &'static str,
    calls: i64,
}

/// One cost line.
struct CostRow {
    item: String,
    quantity: i64,
    amount: String,
}

#[derive(Template)]
#[template(path = "console/overview/page.html")]
struct OverviewPage {
    chrome: Chrome,
    tenant_name: String,
    time_zone: String,
    range_label: &'static str,
    period: String,
    tabs: Vec<Tab>,
    stats: Vec<Stat>,
    calls_chart: String,
    calls_legend: Vec<LegendItem>,
    days: Vec<DayRow>,
    reasons_chart: String,
    reasons: Vec<ReasonRow>,
    heat_chart: String,
    heat_legend: Vec<LegendItem>,
    heat_rows: Vec<(String, Vec<i64>)>,
    busiest: Option<String>,
    cost_rows: Vec<CostRow>,
    cost_total: String,
    cost_note: String,
    has_calls: bool,
    activity: Activity,
}

/// The colours of the outcomes (answered, voicemail, missed, other), readable on white and told
/// apart by the legend and the titles too.
const ANSWERED: &str = "#15803d";
const VOICEMAIL: &str = "#1d4ed8";
const MISSED: &str = "#b91c1c";
const OTHER: &str = "#6b7280";

const CALLS: charts::Unit = ("call", "calls");

/// A reason in words.
pub fn reason_label(name: &str) -> &'static str {
    match name {
        "SETUP_APPOINTMENT" => "Book an appointment",
        "CANCEL_APPOINTMENT" => "Cancel an appointment",
        "MODIFY_APPOINTMENT" => "Change an appointment",
        "GET_HOURS" => "Opening hours",
        "GET_PRICING" => "Prices",
        "OTHER" => "Other",
        _ => "Not classified",
    }
}

/// The analytics request for `range` ending today in the tenant's zone, as the API would read
/// `from`/`to` dates and `granularity=day`.
pub fn request_for(
    tenant: &crate::db::tenants::Tenant,
    range: Range,
    now_ms: i64,
) -> Result<analytics::Request, ConsoleError> {
    let tz = tenant.time_zone.time_zone();
    let today = buckets::local_date(now_ms, &tz).ok_or_else(ConsoleError::not_found)?;
    let first = today
        .checked_sub(jiff::Span::new().days(range.days() - 1))
        .map_err(|_| ConsoleError::not_found())?;
    let q = AnalyticsQuery {
        from: Some(first.to_string()),
        to: Some(today.to_string()),
        granularity: Some("day".into()),
    };
    Ok(q.validate(&tenant.time_zone, now_ms)?)
}

async fn overview(
    view: TenantView,
    State(state): State<AppState>,
    Query(q): Query<OverviewQuery>,
) -> ConsoleResult<Response> {
    let range = Range::parse(q.range.as_deref())?;
    let now = state.clock.now_ms();
    let req = request_for(&view.tenant, range, now)?;
    let (report, used, activity) = tokio::try_join!(
        async {
            // The page shows counts, outcomes, reasons, hours and delivery: not the text-back
            // delays, conversations or duration percentiles the API also answers.
            analytics::analytics_of(
                &state.db,
                Scope::Tenant(&view.tenant.id),
                &req,
                analytics::Sections::COUNTS,
            )
            .await
            .map_err(ConsoleError::from)
        },
        async {
            usage::range_usage(
                &state.db,
                &view.tenant,
                req.from_ms,
                req.to_ms,
                &state.config.prices,
                now,
            )
            .await
            .map_err(ConsoleError::from)
        },
        activity::load(&state, &view),
    )?;
    let tz = view.tenant.time_zone.time_zone();
    let mut page_data = build(&view, range, &report, &used, &tz, req.from_ms, req.to_ms);
    page_data.activity = activity;
    Ok(page(&page_data))
}

fn build(
    view: &TenantView,
    range: Range,
    report: &AnalyticsReport,
    used: &RangeUsage,
    tz: &jiff::tz::TimeZone,
    from_ms: i64,
    to_ms: i64,
) -> OverviewPage {
    let base = view.base();
    let s = &report.summary;
    let c = &s.calls;
    let tabs = Range::ALL
        .iter()
        .map(|r| Tab {
            href: format!("{base}?range={}", r.key()),
            label: r.label(),
            current: *r == range,
        })
        .collect();
    let delivery = match s.sms.delivery_rate {
        Some(r) => format!("{:.1} %", r * 100.0),
        None => "—".into(),
    };
    let stats = vec![
        Stat {
            id: "stat-calls",
            label: "Calls",
            value: c.total.to_string(),
            hint: Some(format!("{} in, {} out", c.inbound, c.outbound)),
        },
        Stat {
            id: "stat-answered",
            label: "Answered",
            value: c.answered.to_string(),
            hint: Some(format::percent(c.answered, c.total)),
        },
        Stat {
            id: "stat-missed",
            label: "Missed",
            value: c.missed.to_string(),
            hint: Some("voicemails included".into()),
        },
        Stat {
            id: "stat-voicemails",
            label: "Voicemails",
            value: c.voicemail.to_string(),
            hint: None,
        },
        Stat {
            id: "stat-texts-in",
            label: "Texts in",
            value: used.inbound_messages.to_string(),
            hint: None,
        },
        Stat {
            id: "stat-texts-out",
            label: "Texts out",
            value: used.outbound_messages.to_string(),
            hint: None,
        },
        Stat {
            id: "stat-delivery",
            label: "SMS delivery rate",
            value: delivery,
            hint: Some(format!(
                "{} delivered, {} failed, {} pending",
                s.sms.delivered, s.sms.failed, s.sms.pending
            )),
        },
        Stat {
            id: "stat-cost",
            label: "Estimated cost",
            value: dollars(used.estimated_cost.total),
            hint: Some("USD, this range".into()),
        },
    ];

    // Calls per day by outcome: voicemails are missed calls too, so the stack splits missed calls
    // into those with a voicemail and those without; "other" is what was neither answered nor
    // missed (an outbound call nobody picked up, a call still in progress).
    let mut days = Vec::new();
    let mut labels = Vec::new();
    let (mut answered, mut voicemail, mut missed, mut other) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in &report.buckets {
        let k = &b.calls;
        let vm = k.voicemail.min(k.missed);
        let row = DayRow {
            date: b.period.clone(),
            total: k.total,
            answered: k.answered,
            voicemail: vm,
            missed: (k.missed - vm).max(0),
            other: (k.total - k.answered - k.missed).max(0),
        };
        labels.push(short_date(&b.period));
        answered.push(row.answered);
        voicemail.push(row.voicemail);
        missed.push(row.missed);
        other.push(row.other);
        days.push(row);
    }
    let series = vec![
        Series {
            name: "Answered".into(),
            color: ANSWERED,
            values: answered,
        },
        Series {
            name: "Voicemail".into(),
            color: VOICEMAIL,
            values: voicemail,
        },
        Series {
            name: "Missed (no voicemail)".into(),
            color: MISSED,
            values: missed,
        },
        Series {
            name: "Other".into(),
            color: OTHER,
            values: other,
        },
    ];
    let calls_chart = charts::stacked_bars("Calls per day by outcome", &labels, &series, CALLS);

    let mut reasons: Vec<ReasonRow> = CallReason::NAMES
        .iter()
        .chain([analytics::UNCLASSIFIED].iter())
        .map(|n| ReasonRow {
            label: reason_label(n),
            calls: c.by_reason.get(*n).copied().unwrap_or(0),
        })
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.calls));
    let items: Vec<(String, i64)> = reasons
        .iter()
        .map(|r| (r.label.to_string(), r.calls))
        .collect();
    let reasons_chart = charts::horizontal_bars("Call reasons", &items, "#1d4ed8", CALLS);

    let heat_rows: Vec<(String, Vec<i64>)> = c
        .by_weekday_hour
        .iter()
        .map(|d| (capitalised(&d.weekday), d.hours.clone()))
        .collect();
    let heat_chart = charts::heat_map("Busiest hours of the week", &heat_rows, CALLS);
    let busiest = heat_rows
        .iter()
        .flat_map(|(day, hours)| hours.iter().enumerate().map(move |(h, v)| (*v, day, h)))
        .filter(|(v, ..)| *v > 0)
        .max_by_key(|(v, ..)| *v)
        .map(|(v, day, h)| {
            let next = (h + 1) % 24;
            format!("{day} {h:02}:00–{next:02}:00 ({})", charts::count(v, CALLS))
        });

    let cost_rows = used
        .estimated_cost
        .lines
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| CostRow {
            item: cost_item(&l.item).to_string(),
            quantity: l.quantity,
            amount: dollars(l.amount),
        })
        .collect();
    let cost_note = format!(
        "Usage in this range ({} local day{}) at the configured prices: call minutes rounded up per call, \
         SMS segments, recordings and transcriptions; the phone number's monthly fee is prorated at \
         1/{} per day. An estimate, not Twilio's bill.",
        used.days,
        if used.days == 1 { "" } else { "s" },
        usage::DAYS_PER_MONTH
    );

    OverviewPage {
        chrome: view.chrome("Overview", "overview"),
        tenant_name: view.tenant.name.clone(),
        time_zone: view.tenant.time_zone.to_string(),
        range_label: range.label(),
        period: period_words(from_ms, to_ms, tz),
        tabs,
        stats,
        calls_chart,
        calls_legend: charts::legend(&series),
        days,
        reasons_chart,
        reasons,
        heat_chart,
        heat_legend: charts::heat_legend(),
        heat_rows,
        busiest,
        cost_rows,
        cost_total: dollars(used.estimated_cost.total),
        cost_note,
        has_calls: c.total > 0,
        activity: Activity::default(),
    }
}

/// `$1.23` (cents), or more decimals for amounts under a cent.
fn dollars(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.01 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

fn cost_item(item: &str) -> &str {
    match item {
        "phone_number_days" => "Phone number (days)",
        "phone_number" => "Phone number (months)",
        "inbound_minutes" => "Inbound call minutes",
        "outbound_minutes" => "Outbound call minutes",
        "forwarded_minutes" => "Forwarded call minutes",
        "sms_segments" => "SMS segments",
        "recording_minutes" => "Recording minutes",
        "transcription_minutes" => "Transcription minutes",
        other => other,
    }
}

/// `2026-11-02` → `Nov 2`.
fn short_date(date: &str) -> String {
    date.parse::<jiff::civil::Date>()
        .map(|d| d.strftime("%b %-d").to_string())
        .unwrap_or_else(|_| date.to_string())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `2026-11-16 to 2026-11-22` (the last day included), or one date for a single day.
fn period_words(from_ms: i64, to_ms: i64, tz: &jiff::tz::TimeZone) -> String {
    let first = format::date(from_ms, tz);
    let last = format::date(to_ms - 1, tz);
    if first == last {
        first
    } else {
        format!("{first} to {last}")
    }
}
