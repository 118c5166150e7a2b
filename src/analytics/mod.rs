//! History analytics, usage with an estimated cost, and CSV exports (PRODUCT.md §4.13): what the
//! tenant API (`/api/telephony/analytics`, `/usage`, `/export`), the admin API and `switchboard
//! report` present.
//!
//! Definitions (the README's "Analytics" section says the same for API users):
//! - Buckets are days, Monday-to-Sunday weeks or months of the tenant's own clock, so their edges are
//!   local midnights and a day bucket across a DST change is 23 or 25 hours ([`buckets`]). Each
//!   bucket counts exactly `[start, end)`; the first and last are clipped to the requested range.
//! - Calls are counted by their start. *Answered*: someone picked up (`answered_at` is set);
//!   *missed* and *voicemail* are the call's flags. Average and p90 (nearest rank) duration are over
//!   answered calls with a known duration. Hours of day are the tenant's local hours.
//! - SMS are the SMS notifications, counted when queued. *Sent*: Twilio accepted it (SENT, DELIVERED
//!   or UNDELIVERED); *failed*: it did not arrive (UNDELIVERED or FAILED); *pending*: still queued.
//!   *Delivery rate* = delivered ÷ every SMS no longer pending, so an accepted text whose carrier never
//!   confirmed it counts as not delivered. *Opt-outs*: STOPs recorded in the range still in force.
//! - Missed-call text-backs are counted with their call (by the call's start), once Twilio accepted
//!   them; the median (over the whole range) is of whole seconds from the call's end to the text's
//!   `sent_at`.
//! - Inbound SMS: a message *opens a conversation* when the customer sent nothing in the previous
//!   24 hours; the conversation is *replied* when a non-automatic outbound text reached that customer
//!   within 24 hours after it ([`store::inbound_slots`]). *Reply rate* = replied ÷ conversations.
//! - Counts of an empty range are zeros; averages, medians and rates of nothing are `null`, because
//!   0% delivery of no messages would be a false alarm.

mod api;
mod api_admin;
pub mod buckets;
pub mod export;
pub mod stats;
pub mod store;
pub mod usage;

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::calls::logs::{Bound, parse_date};
use crate::db::Db;
use crate::domain::TimeZoneName;
use crate::failure::Failure;
use crate::state::AppState;

use buckets::{Bucket, Granularity, SlotMap};
pub use store::Scope;
use store::Window;

/// The most buckets one answer has (about 2¾ years of days); longer ranges need a coarser granularity.
pub const MAX_BUCKETS: usize = 1000;
/// The default range: the 30 local days up to and including today.
pub const DEFAULT_DAYS: i64 = 30;
/// The key of calls with no recorded reason in `byReason`.
pub const UNCLASSIFIED: &str = "UNCLASSIFIED";

/// The query of `GET /api/telephony/analytics` (and the admin per-tenant variant).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Start of the range: a date (`2026-11-01`, the start of that day in the tenant's time zone) or
    /// an instant (`2026-11-01T08:00:00Z`). Default: 29 days before `to`'s day.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub from: Option<String>,
    /// End of the range, inclusive: a date (the whole day, in the tenant's time zone) or an instant.
    /// Default: today (the whole day).
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub to: Option<String>,
    /// `day` (default), `week` (Monday to Sunday) or `month`.
    #[param(schema_with = crate::domain::query_values::granularity)]
    pub granularity: Option<String>,
}

/// The query of `GET /api/admin/analytics`: every tenant at once, bucketed in `timeZone`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminAnalyticsQuery {
    /// As for the tenant API, read in `timeZone`.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub from: Option<String>,
    /// As for the tenant API, read in `timeZone`.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub to: Option<String>,
    /// `day` (default), `week` or `month`.
    #[param(schema_with = crate::domain::query_values::granularity)]
    pub granularity: Option<String>,
    /// IANA time zone of the bucket edges and hours of day. Default: UTC.
    pub time_zone: Option<String>,
}

impl AdminAnalyticsQuery {
    /// Splits off the time zone (default UTC), naming `timeZone` when it is unknown.
    pub fn split(self) -> Result<(AnalyticsQuery, TimeZoneName), Failure> {
        let tz = match present(&self.time_zone) {
            Some(s) => TimeZoneName::parse("timeZone", s)?,
            None => TimeZoneName::parse("timeZone", "UTC")?,
        };
        Ok((
            AnalyticsQuery {
                from: self.from,
                to: self.to,
                granularity: self.granularity,
            },
            tz,
        ))
    }
}

/// A validated analytics request.
#[derive(Debug, Clone)]
pub struct Request {
    pub from_ms: i64,
    pub to_ms: i64,
    pub granularity: Granularity,
    pub time_zone: TimeZoneName,
    pub buckets: Vec<Bucket>,
}

/// `None` for an absent or blank query value (web forms send every field).
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Reads `from`/`to` (dates or instants in `tz`) as `[from, to)` in epoch ms, with the defaults: `to`
/// the end of today, `from` the start of the day 29 days before `to`'s.
pub fn read_range(
    from: Option<&str>,
    to: Option<&str>,
    tz: &TimeZone,
    now_ms: i64,
) -> Result<(i64, i64), Failure> {
    let to_ms = match to {
        Some(s) => parse_date("to", s, tz, Bound::End)?,
        None => {
            let today = buckets::local_date(now_ms, tz)
                .ok_or_else(|| Failure::invalid("to", "is out of range"))?;
            today
                .tomorrow()
                .ok()
                .and_then(|d| buckets::day_start(d, tz))
                .ok_or_else(|| Failure::invalid("to", "is out of range"))?
        }
    };
    let from_ms = match from {
        Some(s) => parse_date("from", s, tz, Bound::Start)?,
        None => {
            // The local day that holds the last instant of the range, and the 29 before it.
            let last_day = buckets::local_date(to_ms - 1, tz)
                .ok_or_else(|| Failure::invalid("from", "is out of range"))?;
            last_day
                .checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1))
                .ok()
                .and_then(|d| buckets::day_start(d, tz))
                .ok_or_else(|| Failure::invalid("from", "is out of range"))?
        }
    };
    if from_ms >= to_ms {
        return Err(Failure::invalid("from", "must be before to"));
    }
    Ok((from_ms, to_ms))
}

impl AnalyticsQuery {
    /// Checks every parameter, naming the first bad one; dates are read in `time_zone`.
    pub fn validate(&self, time_zone: &TimeZoneName, now_ms: i64) -> Result<Request, Failure> {
        let tz = time_zone.time_zone();
        let granularity = match present(&self.granularity) {
            None => Granularity::Day,
            Some(s) => Granularity::parse(s).ok_or_else(|| {
                Failure::invalid(
                    "granularity",
                    format!("must be one of {}", Granularity::NAMES.join(", ")),
                )
            })?,
        };
        let (from_ms, to_ms) = read_range(present(&self.from), present(&self.to), &tz, now_ms)?;
        let buckets = buckets::buckets(from_ms, to_ms, &tz, granularity, MAX_BUCKETS).map_err(
            |_| {
                Failure::invalid(
                    "granularity",
                    format!(
                        "this range has more than {MAX_BUCKETS} {} buckets: choose a coarser granularity or a shorter range",
                        granularity.as_str()
                    ),
                )
            },
        )?;
        Ok(Request {
            from_ms,
            to_ms,
            granularity,
            time_zone: time_zone.clone(),
            buckets,
        })
    }
}

/// Formats `ms` as RFC 3339 with the offset `tz` has then (`2026-11-01T00:00:00-07:00`), so bucket
/// edges read as the tenant's midnights.
pub fn local_rfc3339(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// Call counts of a bucket.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallStats {
    pub total: i64,
    pub inbound: i64,
    pub outbound: i64,
    /// Someone picked up.
    pub answered: i64,
    /// Nobody picked up (inbound).
    pub missed: i64,
    /// The caller left a voicemail.
    pub voicemail: i64,
    /// Mean duration of the answered calls, seconds (one decimal); null when none.
    pub average_duration_seconds: Option<f64>,
}

/// Calls over the whole range.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallSummary {
    pub total: i64,
    pub inbound: i64,
    pub outbound: i64,
    pub answered: i64,
    pub missed: i64,
    pub voicemail: i64,
    pub average_duration_seconds: Option<f64>,
    /// 90th percentile (nearest rank) of the answered calls' durations, seconds; null when none.
    pub p90_duration_seconds: Option<i64>,
    /// Calls per reason: every reason (SETUP_APPOINTMENT, CANCEL_APPOINTMENT, MODIFY_APPOINTMENT,
    /// GET_HOURS, GET_PRICING, OTHER) and UNCLASSIFIED (no reason recorded), zeros included.
    #[schema(example = json!({"GET_HOURS": 3, "OTHER": 1, "UNCLASSIFIED": 2}))]
    pub by_reason: BTreeMap<String, i64>,
    /// 24 entries, hour 0 to 23 of the tenant's clock (the call's start).
    pub by_hour: Vec<HourStats>,
}

/// Calls that started in one local hour of the day.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HourStats {
    /// 0-23, local.
    pub hour: u8,
    pub total: i64,
    pub answered: i64,
    pub missed: i64,
}

/// Outbound SMS (notifications) by delivery state.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsStats {
    /// Accepted by Twilio (SENT, DELIVERED or UNDELIVERED).
    pub sent: i64,
    pub delivered: i64,
    /// Did not arrive (UNDELIVERED or FAILED).
    pub failed: i64,
    /// Still queued or being sent.
    pub pending: i64,
    /// delivered ÷ every SMS no longer pending (4 decimals); null when none.
    pub delivery_rate: Option<f64>,
    /// Numbers that opted out (STOP) in the range and still are.
    pub opt_outs: i64,
}

/// Missed-call text-backs.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TextBackStats {
    /// Text-backs Twilio accepted, for calls that started in the range.
    pub sent: i64,
    /// Median seconds from the end of the missed call to the text-back's sending; null when none.
    pub median_seconds: Option<f64>,
}

/// Inbound SMS and how many conversations got an answer.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundStats {
    pub messages: i64,
    /// Inbound messages from a customer who sent nothing in the previous 24 hours.
    pub conversations: i64,
    /// Conversations answered by a non-automatic outbound text within 24 hours.
    pub replied: i64,
    /// replied ÷ conversations (4 decimals); null when none.
    pub reply_rate: Option<f64>,
}

/// One day, week or month.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketView {
    /// The local date the period begins on (a Monday for weeks, the 1st for months).
    #[schema(example = "2026-11-01")]
    pub period: String,
    /// First instant counted, RFC 3339 with the zone's offset then.
    #[schema(example = "2026-11-01T00:00:00-07:00")]
    pub start: String,
    /// First instant no longer counted.
    #[schema(example = "2026-11-02T00:00:00-08:00")]
    pub end: String,
    pub calls: CallStats,
    pub sms: SmsStats,
    /// Missed-call text-backs Twilio accepted, for calls that started in the bucket.
    pub text_backs: i64,
    pub inbound_sms: InboundStats,
}

/// Everything in the range.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSummary {
    pub calls: CallSummary,
    pub sms: SmsStats,
    pub text_back: TextBackStats,
    pub inbound_sms: InboundStats,
}

/// The answer of the analytics endpoints.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsReport {
    /// The tenant, or null for every tenant (admin).
    pub tenant_id: Option<String>,
    /// IANA zone of the bucket edges and hours.
    pub time_zone: String,
    /// day, week or month.
    pub granularity: String,
    /// First instant counted (RFC 3339, local offset).
    pub from: String,
    /// First instant no longer counted.
    pub to: String,
    pub summary: AnalyticsSummary,
    pub buckets: Vec<BucketView>,
}

/// Per-bucket accumulators, folded into the views at the end.
#[derive(Default)]
struct Acc {
    calls: CallStats,
    timed: i64,
    talk: i64,
    sms: SmsStats,
    refused: i64,
    text_backs: i64,
    inbound: InboundStats,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        let c = &mut self.calls;
        c.total += o.calls.total;
        c.inbound += o.calls.inbound;
        c.outbound += o.calls.outbound;
        c.answered += o.calls.answered;
        c.missed += o.calls.missed;
        c.voicemail += o.calls.voicemail;
        self.timed += o.timed;
        self.talk += o.talk;
        let s = &mut self.sms;
        s.sent += o.sms.sent;
        s.delivered += o.sms.delivered;
        s.failed += o.sms.failed;
        s.pending += o.sms.pending;
        s.opt_outs += o.sms.opt_outs;
        self.refused += o.refused;
        self.text_backs += o.text_backs;
        let i = &mut self.inbound;
        i.messages += o.inbound.messages;
        i.conversations += o.inbound.conversations;
        i.replied += o.inbound.replied;
    }

    /// Fills in the derived figures (means and rates).
    fn finish(mut self) -> Acc {
        self.calls.average_duration_seconds = stats::mean(self.talk, self.timed);
        self.sms.delivery_rate = stats::ratio(self.sms.delivered, self.sms.sent + self.refused);
        self.inbound.reply_rate = stats::ratio(self.inbound.replied, self.inbound.conversations);
        self
    }
}

/// The analytics of `scope` over `req`'s range.
pub async fn analytics(
    db: &Db,
    scope: Scope<'_>,
    req: &Request,
) -> Result<AnalyticsReport, Failure> {
    let tz = req.time_zone.time_zone();
    let slot_ms = buckets::slot_ms(&tz, req.from_ms, req.to_ms);
    let w = Window {
        origin: buckets::origin(req.from_ms, slot_ms),
        slot_ms,
        from: req.from_ms,
        to: req.to_ms,
    };
    let map = SlotMap {
        buckets: &req.buckets,
        tz: &tz,
        origin: w.origin,
        slot_ms,
    };
    // Independent reads overlap (on SQLite each connection has its own thread, on PostgreSQL its own
    // backend), three at a time: one request never holds more than three pooled connections, so a
    // dashboard refreshing many tenants cannot starve the webhooks of the pool. The three heavy scans
    // go first, together, so the light ones do not wait behind one of them.
    let (calls, (text_backs, delays), inbound) = tokio::try_join!(
        store::call_slots(db, scope, w),
        store::text_backs(db, scope, w),
        store::inbound_slots(db, scope, w),
    )?;
    let (durations, sms, opt_outs) = tokio::try_join!(
        store::duration_histogram(db, scope, w),
        store::sms_slots(db, scope, w),
        store::opt_out_slots(db, scope, w),
    )?;

    let mut accs: Vec<Acc> = req.buckets.iter().map(|_| Acc::default()).collect();
    let mut reasons = [0i64; 6];
    let mut by_hour: Vec<HourStats> = (0..24u8)
        .map(|hour| HourStats {
            hour,
            ..Default::default()
        })
        .collect();
    // Rows whose slot maps to no bucket cannot occur (the queries are bounded by the range); they
    // are skipped rather than trusted.
    for r in &calls {
        let Some(a) = bucket_mut(&map, &mut accs, r.slot) else {
            continue;
        };
        a.calls.total += r.total;
        a.calls.inbound += r.inbound;
        a.calls.outbound += r.total - r.inbound;
        a.calls.answered += r.answered;
        a.calls.missed += r.missed;
        a.calls.voicemail += r.voicemail;
        a.timed += r.timed;
        a.talk += r.talk_seconds;
        for (sum, n) in reasons.iter_mut().zip(r.reasons()) {
            *sum += n;
        }
        let h = &mut by_hour[map.local_hour(r.slot)];
        h.total += r.total;
        h.answered += r.answered;
        h.missed += r.missed;
    }
    for r in &sms {
        let Some(a) = bucket_mut(&map, &mut accs, r.slot) else {
            continue;
        };
        a.sms.sent += r.sent;
        a.sms.delivered += r.delivered;
        a.sms.failed += r.failed;
        a.sms.pending += r.pending;
        a.refused += r.refused;
    }
    for &(slot, n) in &opt_outs {
        if let Some(a) = bucket_mut(&map, &mut accs, slot) {
            a.sms.opt_outs += n;
        }
    }
    for &(slot, n) in &text_backs {
        if let Some(a) = bucket_mut(&map, &mut accs, slot) {
            a.text_backs += n;
        }
    }
    for r in &inbound {
        let Some(a) = bucket_mut(&map, &mut accs, r.slot) else {
            continue;
        };
        a.inbound.messages += r.messages;
        a.inbound.conversations += r.conversations;
        a.inbound.replied += r.replied;
    }

    let mut total = Acc::default();
    let mut views = Vec::with_capacity(accs.len());
    for (b, acc) in req.buckets.iter().zip(accs) {
        total.add(&acc);
        let acc = acc.finish();
        views.push(BucketView {
            period: b.period.to_string(),
            start: local_rfc3339(b.start_ms, &tz),
            end: local_rfc3339(b.end_ms, &tz),
            calls: acc.calls,
            sms: acc.sms,
            text_backs: acc.text_backs,
            inbound_sms: acc.inbound,
        });
    }
    let total = total.finish();
    let calls = total.calls;
    let mut by_reason: BTreeMap<String, i64> = store::REASON_COLUMNS
        .iter()
        .zip(reasons)
        .map(|(r, n)| (r.to_string(), n))
        .collect();
    // Calls with no reason, or (never written today) one this build does not know.
    by_reason.insert(
        UNCLASSIFIED.to_string(),
        calls.total - reasons.iter().sum::<i64>(),
    );
    Ok(AnalyticsReport {
        tenant_id: match scope {
            Scope::Tenant(t) => Some(t.to_string()),
            Scope::All => None,
        },
        time_zone: req.time_zone.to_string(),
        granularity: req.granularity.as_str().to_string(),
        from: local_rfc3339(req.from_ms, &tz),
        to: local_rfc3339(req.to_ms, &tz),
        summary: AnalyticsSummary {
            calls: CallSummary {
                total: calls.total,
                inbound: calls.inbound,
                outbound: calls.outbound,
                answered: calls.answered,
                missed: calls.missed,
                voicemail: calls.voicemail,
                average_duration_seconds: calls.average_duration_seconds,
                p90_duration_seconds: stats::percentile(&durations, 90.0),
                by_reason,
                by_hour,
            },
            sms: total.sms,
            text_back: TextBackStats {
                sent: total.text_backs,
                median_seconds: stats::median(&delays),
            },
            inbound_sms: total.inbound,
        },
        buckets: views,
    })
}

/// The accumulator of the bucket that holds `slot`.
fn bucket_mut<'a>(map: &SlotMap<'_>, accs: &'a mut [Acc], slot: i64) -> Option<&'a mut Acc> {
    map.bucket(slot).and_then(move |i| accs.get_mut(i))
}

/// The analytics routes: the tenant's own and the operator's per-tenant view.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(api::routes())
        .merge(api_admin::routes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::CallReason;

    #[test]
    fn the_reason_columns_are_the_call_reasons() {
        let names: Vec<&str> = CallReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, store::REASON_COLUMNS);
        for r in CallReason::ALL {
            assert_eq!(CallReason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn default_range_is_the_last_30_local_days_and_reversed_ranges_name_from() {
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let now = "2026-11-22T20:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let (from, to) = read_range(None, None, &tz, now).unwrap();
        assert_eq!(local_rfc3339(from, &tz), "2026-10-24T00:00:00-07:00");
        assert_eq!(local_rfc3339(to, &tz), "2026-11-23T00:00:00-08:00");
        let (from, _) = read_range(None, Some("2026-11-01"), &tz, now).unwrap();
        assert_eq!(local_rfc3339(from, &tz), "2026-10-03T00:00:00-07:00");
        let e = read_range(Some("2026-11-02"), Some("2026-11-01"), &tz, now).unwrap_err();
        assert_eq!(e.field(), Some("from"));
        let e = read_range(Some("soon"), None, &tz, now).unwrap_err();
        assert_eq!(e.field(), Some("from"));
        let e = read_range(None, Some("2026-13-01"), &tz, now).unwrap_err();
        assert_eq!(e.field(), Some("to"));
    }
}
