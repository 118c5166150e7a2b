//! The analytics report: counting a tenant's calls, texts, text-backs and conversations per
//! bucket of its own clock, and the JSON shape of the answer.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Db;
use crate::failure::Failure;

use super::buckets::{self, SlotMap};
use super::stats;
use super::store::{self, Scope, Window};

use super::{Request, UNCLASSIFIED, local_rfc3339};

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
    /// 7 entries, Monday to Sunday of the tenant's clock, each with the calls that started in each
    /// local hour of that weekday: the busiest hours of the week.
    pub by_weekday_hour: Vec<WeekdayHours>,
}

/// Calls that started on one local weekday, per local hour.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeekdayHours {
    /// monday … sunday.
    #[schema(example = "monday")]
    pub weekday: String,
    pub total: i64,
    /// 24 counts, hour 0 to 23.
    pub hours: Vec<i64>,
}

/// The weekdays of [`WeekdayHours`], Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

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

/// Which of the costlier aggregates a caller needs. The API answers with all of them; a page that
/// shows only the call and SMS counts skips the others, whose figures then stay zero and `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    /// `textBack` and each bucket's `textBacks` (a join of notifications and calls).
    pub text_backs: bool,
    /// `inboundSms` (conversations and replies: correlated lookups per message).
    pub inbound: bool,
    /// `p90DurationSeconds` (a histogram of durations).
    pub durations: bool,
}

impl Sections {
    pub const ALL: Sections = Sections {
        text_backs: true,
        inbound: true,
        durations: true,
    };
    /// Calls and SMS only: counts, outcomes, reasons, hours, delivery.
    pub const COUNTS: Sections = Sections {
        text_backs: false,
        inbound: false,
        durations: false,
    };
}

/// The analytics of `scope` over `req`'s range.
pub async fn analytics(
    db: &Db,
    scope: Scope<'_>,
    req: &Request,
) -> Result<AnalyticsReport, Failure> {
    analytics_of(db, scope, req, Sections::ALL).await
}

/// The analytics of `scope` over `req`'s range, with the `sections` asked for.
pub async fn analytics_of(
    db: &Db,
    scope: Scope<'_>,
    req: &Request,
    sections: Sections,
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
        async {
            match sections.text_backs {
                true => store::text_backs(db, scope, w).await,
                false => Ok(Default::default()),
            }
        },
        async {
            match sections.inbound {
                true => store::inbound_slots(db, scope, w).await,
                false => Ok(Vec::new()),
            }
        },
    )?;
    let (durations, sms, opt_outs) = tokio::try_join!(
        async {
            match sections.durations {
                true => store::duration_histogram(db, scope, w).await,
                false => Ok(Vec::new()),
            }
        },
        store::sms_slots(db, scope, w),
        store::opt_out_slots(db, scope, w),
    )?;

    let mut accs: Vec<Acc> = req.buckets.iter().map(|_| Acc::default()).collect();
    let mut reasons = [0i64; 6];
    let mut by_weekday_hour: Vec<WeekdayHours> = WEEKDAYS
        .iter()
        .map(|d| WeekdayHours {
            weekday: d.to_string(),
            total: 0,
            hours: vec![0; 24],
        })
        .collect();
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
        let (day, hour) = map.local_weekday_hour(r.slot);
        let d = &mut by_weekday_hour[day];
        d.total += r.total;
        d.hours[hour] += r.total;
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
                by_weekday_hour,
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
