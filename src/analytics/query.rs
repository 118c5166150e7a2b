//! The analytics request: its query (tenant and admin forms), the range it names, read in the
//! tenant's time zone, and the local timestamps of its answer.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::calls::logs::{Bound, parse_date};
use crate::domain::TimeZoneName;
use crate::failure::Failure;

use super::buckets::{self, Bucket, Granularity};

use super::{DEFAULT_DAYS, MAX_BUCKETS};

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
