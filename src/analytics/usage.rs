//! One month of a tenant's billable usage and its estimated cost, from the configured price table
//! (`PRICE_*`, seed 002's prices by default). The month is the tenant's calendar month (local
//! midnights), like the analytics buckets.
//!
//! What is counted, as Twilio bills it:
//! - call minutes per call, rounded up (a 61-second call is 2 minutes; a call with no duration, e.g.
//!   one never connected, is 0), by direction; plus the forwarded leg of every answered forwarded
//!   inbound call (`<Dial>` to staff or an external number is an outbound call of its own), from the
//!   moment it was answered to the end of the call, rounded up the same way, priced as outbound;
//! - SMS segments in and out (Twilio charges both), except messages Twilio reported `failed`;
//! - completed recordings' minutes, rounded up per recording, and the same minutes again for each
//!   recording that was transcribed;
//! - one phone-number month when the tenant held a number at any time in the month.
//!
//! Amounts are exact integer millionths of a dollar until they are shown.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{buckets, local_rfc3339, store};
use crate::config::PriceTable;
use crate::db::Db;
use crate::db::tenants::Tenant;
use crate::failure::Failure;

/// The query of `GET /api/telephony/usage`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// The month, `YYYY-MM`, in the tenant's time zone. Default: the current month.
    #[param(example = "2026-11")]
    pub month: Option<String>,
}

/// Reads `YYYY-MM` as the first day of that month.
pub fn parse_month(field: &str, s: &str) -> Result<Date, Failure> {
    let bad = || Failure::invalid(field, "must be a month as YYYY-MM, e.g. 2026-11");
    let s = s.trim();
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 || !(y.chars().chain(m.chars())).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i16 = y.parse().map_err(|_| bad())?;
    let month: i8 = m.parse().map_err(|_| bad())?;
    Date::new(year, month, 1).map_err(|_| bad())
}

impl UsageQuery {
    /// The first day of the requested month (default: the current month in `tz`).
    pub fn validate(&self, tz: &jiff::tz::TimeZone, now_ms: i64) -> Result<Date, Failure> {
        match self
            .month
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => parse_month("month", s),
            None => buckets::local_date(now_ms, tz)
                .map(|d| d.first_of_month())
                .ok_or_else(|| Failure::invalid("month", "is out of range")),
        }
    }
}

/// The billable quantities of a month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quantities {
    pub phone_number_months: i64,
    pub inbound_minutes: i64,
    pub outbound_minutes: i64,
    /// Forwarded legs of answered inbound calls, priced as outbound minutes.
    pub forwarded_minutes: i64,
    pub sms_segments_in: i64,
    pub sms_segments_out: i64,
    pub recording_minutes: i64,
    pub transcription_minutes: i64,
}

/// One line of the cost estimate.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostLine {
    /// phone_number, inbound_minutes, outbound_minutes, forwarded_minutes, sms_segments,
    /// recording_minutes or transcription_minutes.
    pub item: String,
    pub quantity: i64,
    /// US dollars per unit.
    pub unit_price: f64,
    /// quantity × unit price, US dollars.
    pub amount: f64,
}

/// The estimated cost of a month.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimate {
    /// Always USD (the price table's currency).
    pub currency: String,
    pub lines: Vec<CostLine>,
    /// Sum of the lines, US dollars.
    pub total: f64,
}

fn dollars(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// Prices `q` with `p`: one line per item, in a fixed order, zero lines included.
pub fn cost(q: &Quantities, p: &PriceTable) -> CostEstimate {
    priced(
        q,
        ("phone_number", q.phone_number_months, p.number_monthly),
        p,
    )
}

/// Days in a month, for prorating the number's monthly fee over a range of days.
pub const DAYS_PER_MONTH: i64 = 30;

/// Prices `q` with `p` over a range of days: as [`cost`], except the number's monthly fee, which
/// is prorated per day the number was held (`number_days`), a [`DAYS_PER_MONTH`]th of it a day.
pub fn range_cost(q: &Quantities, number_days: i64, p: &PriceTable) -> CostEstimate {
    let per_day = p.number_monthly / DAYS_PER_MONTH;
    priced(q, ("phone_number_days", number_days, per_day), p)
}

fn priced(q: &Quantities, number: (&str, i64, i64), p: &PriceTable) -> CostEstimate {
    let items = [
        number,
        ("inbound_minutes", q.inbound_minutes, p.inbound_per_min),
        ("outbound_minutes", q.outbound_minutes, p.outbound_per_min),
        ("forwarded_minutes", q.forwarded_minutes, p.outbound_per_min),
        (
            "sms_segments",
            q.sms_segments_in + q.sms_segments_out,
            p.sms_per_segment,
        ),
        (
            "recording_minutes",
            q.recording_minutes,
            p.recording_per_min,
        ),
        (
            "transcription_minutes",
            q.transcription_minutes,
            p.transcription_per_min,
        ),
    ];
    let mut total = 0i64;
    let lines = items
        .into_iter()
        .map(|(item, quantity, unit)| {
            let amount = quantity.saturating_mul(unit);
            total = total.saturating_add(amount);
            CostLine {
                item: item.to_string(),
                quantity,
                unit_price: dollars(unit),
                amount: dollars(amount),
            }
        })
        .collect();
    CostEstimate {
        currency: "USD".into(),
        lines,
        total: dollars(total),
    }
}

/// The answer of the usage endpoints.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub tenant_id: String,
    #[schema(example = "2026-11")]
    pub month: String,
    pub time_zone: String,
    /// First instant of the month (RFC 3339, local offset).
    pub from: String,
    /// First instant of the next month.
    pub to: String,
    pub inbound_calls: i64,
    /// Σ per call of its minutes rounded up.
    pub inbound_minutes: i64,
    pub outbound_calls: i64,
    pub outbound_minutes: i64,
    /// Minutes of the forwarded legs of answered inbound calls (billed as outbound).
    pub forwarded_minutes: i64,
    pub inbound_messages: i64,
    pub sms_segments_in: i64,
    pub outbound_messages: i64,
    pub sms_segments_out: i64,
    pub recordings: i64,
    pub recording_minutes: i64,
    pub transcriptions: i64,
    pub transcription_minutes: i64,
    /// 1 when the tenant held a phone number at some time in the month, else 0.
    pub phone_number_months: i64,
    pub estimated_cost: CostEstimate,
}

/// Whether the tenant held a number during `[start, end)`: it has one now (held since it was
/// created, as far as Switchboard knows) or released one at or after `start`; never for a month
/// that has not begun.
fn number_months(tenant: &Tenant, released_at: Option<i64>, start: i64, end: i64, now: i64) -> i64 {
    let held_until = if tenant.twilio_number.is_some() {
        Some(now)
    } else {
        released_at
    };
    match held_until {
        Some(until) if until >= start && tenant.created_at < end && start <= now => 1,
        _ => 0,
    }
}

/// What [`count`] finds in a range.
struct Counted {
    q: Quantities,
    inbound_calls: i64,
    outbound_calls: i64,
    inbound_messages: i64,
    outbound_messages: i64,
    recordings: i64,
    transcriptions: i64,
}

/// The billable quantities of `[from, to)`, with one phone-number month when the number was held.
async fn count(
    db: &Db,
    tenant: &Tenant,
    from: i64,
    to: i64,
    now_ms: i64,
) -> Result<Counted, Failure> {
    let (calls, messages, recordings, released_at) = tokio::try_join!(
        store::call_usage(db, &tenant.id, from, to),
        store::message_usage(db, &tenant.id, from, to),
        store::recording_usage(db, &tenant.id, from, to),
        store::number_released_at(db, &tenant.id),
    )?;
    let dir = |d: &str| {
        calls
            .iter()
            .find(|c| c.direction == d)
            .cloned()
            .unwrap_or_default()
    };
    let (inbound, outbound) = (dir("inbound"), dir("outbound"));
    let msgs = |d: &str| {
        messages
            .iter()
            .find(|m| m.direction == d)
            .cloned()
            .unwrap_or_default()
    };
    let (sms_in, sms_out) = (msgs("inbound"), msgs("outbound"));
    Ok(Counted {
        q: Quantities {
            phone_number_months: number_months(tenant, released_at, from, to, now_ms),
            inbound_minutes: inbound.minutes,
            outbound_minutes: outbound.minutes,
            forwarded_minutes: inbound.forwarded_minutes + outbound.forwarded_minutes,
            sms_segments_in: sms_in.segments,
            sms_segments_out: sms_out.segments,
            recording_minutes: recordings.recording_minutes,
            transcription_minutes: recordings.transcription_minutes,
        },
        inbound_calls: inbound.calls,
        outbound_calls: outbound.calls,
        inbound_messages: sms_in.messages,
        outbound_messages: sms_out.messages,
        recordings: recordings.recordings,
        transcriptions: recordings.transcriptions,
    })
}

/// Usage and its estimated cost over a range of whole local days (the console's overview).
#[derive(Debug, Clone)]
pub struct RangeUsage {
    /// Local days in the range.
    pub days: i64,
    /// Days the phone number's fee is counted for (all of them when a number was held).
    pub number_days: i64,
    pub quantities: Quantities,
    pub inbound_calls: i64,
    pub outbound_calls: i64,
    /// Texts received and sent (Twilio-failed ones left out, as for billing).
    pub inbound_messages: i64,
    pub outbound_messages: i64,
    pub estimated_cost: CostEstimate,
}

/// The tenant's usage in `[from, to)` (local midnights), priced with `prices`: everything counted
/// as for a month ([`usage`]), the number's monthly fee prorated by day ([`range_cost`]).
pub async fn range_usage(
    db: &Db,
    tenant: &Tenant,
    from: i64,
    to: i64,
    prices: &PriceTable,
    now_ms: i64,
) -> Result<RangeUsage, Failure> {
    let tz = tenant.time_zone.time_zone();
    let days = buckets::buckets(from, to, &tz, buckets::Granularity::Day, super::MAX_BUCKETS)
        .map_err(|_| Failure::invalid("from", "the range is too long"))?
        .len() as i64;
    let c = count(db, tenant, from, to, now_ms).await?;
    let number_days = if c.q.phone_number_months > 0 { days } else { 0 };
    Ok(RangeUsage {
        days,
        number_days,
        quantities: c.q,
        inbound_calls: c.inbound_calls,
        outbound_calls: c.outbound_calls,
        inbound_messages: c.inbound_messages,
        outbound_messages: c.outbound_messages,
        estimated_cost: range_cost(&c.q, number_days, prices),
    })
}

/// The tenant's usage in the month beginning on `month` (its first day), priced with `prices`.
pub async fn usage(
    db: &Db,
    tenant: &Tenant,
    month: Date,
    prices: &PriceTable,
    now_ms: i64,
) -> Result<UsageReport, Failure> {
    let tz = tenant.time_zone.time_zone();
    let bounds = month
        .checked_add(jiff::Span::new().months(1))
        .ok()
        .and_then(|next| {
            Some((
                buckets::day_start(month, &tz)?,
                buckets::day_start(next, &tz)?,
            ))
        });
    let Some((from, to)) = bounds else {
        return Err(Failure::invalid("month", "is out of range"));
    };
    let c = count(db, tenant, from, to, now_ms).await?;
    let q = c.q;
    Ok(UsageReport {
        tenant_id: tenant.id.clone(),
        month: month.strftime("%Y-%m").to_string(),
        time_zone: tenant.time_zone.to_string(),
        from: local_rfc3339(from, &tz),
        to: local_rfc3339(to, &tz),
        inbound_calls: c.inbound_calls,
        inbound_minutes: q.inbound_minutes,
        outbound_calls: c.outbound_calls,
        outbound_minutes: q.outbound_minutes,
        forwarded_minutes: q.forwarded_minutes,
        inbound_messages: c.inbound_messages,
        sms_segments_in: q.sms_segments_in,
        outbound_messages: c.outbound_messages,
        sms_segments_out: q.sms_segments_out,
        recordings: c.recordings,
        recording_minutes: q.recording_minutes,
        transcriptions: c.transcriptions,
        transcription_minutes: q.transcription_minutes,
        phone_number_months: q.phone_number_months,
        estimated_cost: cost(&q, prices),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_yyyy_mm_only() {
        assert_eq!(
            parse_month("month", "2026-11").unwrap(),
            Date::constant(2026, 11, 1)
        );
        assert_eq!(
            parse_month("month", " 2026-02 ").unwrap(),
            Date::constant(2026, 2, 1)
        );
        for bad in [
            "2026-13",
            "2026-1",
            "2026-00",
            "26-11",
            "2026/11",
            "2026-11-01",
            "",
            "abcd-ef",
        ] {
            let e = parse_month("month", bad).unwrap_err();
            assert_eq!(e.field(), Some("month"), "{bad}");
        }
    }

    #[test]
    fn cost_is_quantity_times_price_exactly() {
        let q = Quantities {
            phone_number_months: 1,
            inbound_minutes: 100,
            outbound_minutes: 10,
            forwarded_minutes: 5,
            sms_segments_in: 3,
            sms_segments_out: 7,
            recording_minutes: 4,
            transcription_minutes: 2,
        };
        let c = cost(&q, &PriceTable::SEED_002);
        let amounts: Vec<(&str, i64, f64)> = c
            .lines
            .iter()
            .map(|l| (l.item.as_str(), l.quantity, l.amount))
            .collect();
        assert_eq!(
            amounts,
            [
                ("phone_number", 1, 1.0),
                ("inbound_minutes", 100, 0.85),
                ("outbound_minutes", 10, 0.13),
                ("forwarded_minutes", 5, 0.065),
                ("sms_segments", 10, 0.079),
                ("recording_minutes", 4, 0.01),
                ("transcription_minutes", 2, 0.03),
            ]
        );
        // 1 + 0.85 + 0.13 + 0.065 + 0.079 + 0.01 + 0.03, summed in millionths (no float drift).
        assert_eq!(c.total, 2.164);
        assert_eq!(c.lines[1].unit_price, 0.0085);
        assert_eq!(
            cost(&Quantities::default(), &PriceTable::SEED_002).total,
            0.0
        );
    }

    #[test]
    fn a_range_prorates_the_number_by_day() {
        let q = Quantities {
            inbound_minutes: 10,
            ..Default::default()
        };
        let c = range_cost(&q, 7, &PriceTable::SEED_002);
        assert_eq!(c.lines[0].item, "phone_number_days");
        assert_eq!(c.lines[0].quantity, 7);
        // $1.00 a month is 33,333 millionths a day; 7 days and 10 inbound minutes at $0.0085.
        assert_eq!(c.lines[0].amount, 0.233331);
        assert_eq!(c.total, 0.318331);
    }
}
