//! A tenant's call history as the API, the CLI and (later) analytics and exports present it: the
//! seed-000 call-log JSON shape, the query that filters it, and the reading of its date bounds.
//!
//! Date bounds are read in the tenant's time zone, not the server's: a salon in Los Angeles asking for
//! "2026-11-22" means its own business day, whatever zone Switchboard runs in.

use axum::http::StatusCode;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::clock::rfc3339;
use crate::db::{
    self, Db,
    calls::{Call, CallFilter, CallOutcome, Keyset},
    tenants::Tenant,
};
use crate::domain::E164;
use crate::domain::routing::CallReason;
use crate::domain::states::CallStatus;
use crate::failure::Failure;

/// Call directions as the calls table stores them.
pub const DIRECTIONS: [&str; 2] = ["inbound", "outbound"];

/// One call as the API shows it (seed 000's call log, camelCase; absent values are `null`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallLogView {
    pub id: String,
    pub tenant_id: String,
    /// Twilio's CallSid (CA…).
    pub call_sid: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The caller as Twilio sent it (usually E.164; may be `Anonymous`).
    pub from_number: String,
    pub to_number: String,
    /// Twilio's call status (`ringing`, `in-progress`, `completed`, `busy`, `no-answer`, …).
    pub status: String,
    /// RFC 3339.
    pub start_time: String,
    /// RFC 3339, once the call has ended.
    pub end_time: Option<String>,
    pub duration_seconds: Option<i64>,
    /// SETUP_APPOINTMENT, CANCEL_APPOINTMENT, MODIFY_APPOINTMENT, GET_HOURS, GET_PRICING or OTHER.
    #[schema(example = "GET_HOURS")]
    pub call_reason: Option<String>,
    pub notes: Option<String>,
    pub recording_url: Option<String>,
    /// RFC 3339, when someone (staff or an external number) picked up.
    pub answered_at: Option<String>,
    /// The number the call was last forwarded to.
    pub forwarded_to: Option<String>,
    /// The caller left a voicemail.
    pub voicemail: bool,
    /// Nobody answered.
    pub missed: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Call> for CallLogView {
    fn from(c: &Call) -> Self {
        CallLogView {
            id: c.id.clone(),
            tenant_id: c.tenant_id.clone(),
            call_sid: c.call_sid.clone(),
            direction: c.direction.clone(),
            from_number: c.from_number.clone(),
            to_number: c.to_number.clone(),
            status: c.status.to_string(),
            start_time: rfc3339(c.start_time),
            end_time: c.end_time.map(rfc3339),
            duration_seconds: c.duration_seconds,
            call_reason: c.call_reason.clone(),
            notes: c.notes.clone(),
            recording_url: c.recording_url.clone(),
            answered_at: c.answered_at.map(rfc3339),
            forwarded_to: c.forwarded_to.clone(),
            voicemail: c.voicemail,
            missed: c.missed,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
}

/// `{"callLogs": [...], "total", "limit", "offset"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallLogList {
    pub call_logs: Vec<CallLogView>,
    /// How many calls match the filters, across all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The query of a call-log listing, as received. An empty value counts as absent, because web
/// clients commonly send every filter of a form (`status=&direction=`) and seed 000 ignored those.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallLogQuery {
    /// Calls starting at or after this: a date (`2026-11-22`, the start of that day in the tenant's
    /// time zone) or an instant (`2026-11-22T10:30:00Z`, `2026-11-22T10:30:00+02:00`).
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub start_date: Option<String>,
    /// Calls starting at or before this: a date (the whole day, in the tenant's time zone) or an instant.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub end_date: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Calls to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// queued, initiated, ringing, in-progress, completed, busy, failed, no-answer or canceled.
    #[param(schema_with = crate::domain::query_values::call_status)]
    pub status: Option<String>,
    /// inbound or outbound.
    #[param(schema_with = crate::domain::query_values::call_direction)]
    pub direction: Option<String>,
    /// SETUP_APPOINTMENT, CANCEL_APPOINTMENT, MODIFY_APPOINTMENT, GET_HOURS, GET_PRICING or OTHER (any case).
    #[param(schema_with = crate::domain::query_values::call_reason)]
    pub reason: Option<String>,
    /// E.164 number that placed or received the call.
    #[param(schema_with = crate::domain::query_values::phone_filter)]
    pub phone_number: Option<String>,
    /// answered (someone picked up), missed (nobody picked up an inbound call; voicemails
    /// included) or voicemail (the caller left a message), as the analytics count them.
    #[param(schema_with = crate::domain::query_values::call_outcome)]
    pub outcome: Option<String>,
}

/// A validated [`CallLogQuery`]: the store's filter and the page.
#[derive(Debug, Clone)]
pub struct CallSearch {
    pub filter: CallFilter,
    pub limit: i64,
    pub offset: i64,
}

/// Which end of a range a date names: a date-only end includes that whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Start,
    End,
}

/// The 400 for an unreadable date. Its message is seed 000's, word for word ("startDate must be a
/// valid ISO 8601 date"), which clients match on, so it is built without the usual "field: " prefix.
pub fn invalid_date(field: &str) -> Failure {
    Failure::refused(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        format!("{field} must be a valid ISO 8601 date"),
    )
    .with_field(field.to_string())
}

/// Reads an ISO 8601 date or instant as the epoch millisecond that begins the range (`Bound::Start`)
/// or the first millisecond after it (`Bound::End`, exclusive, as [`CallFilter`] wants).
///
/// - An instant with an offset (`…Z`, `…+02:00`) is that instant; as an end it is inclusive.
/// - A date (`2026-11-22`) is midnight in `tz`; as an end, the next day's midnight, so the whole day
///   is included however long it is (23 or 25 hours on DST changes).
/// - A date and time without an offset (`2026-11-22T10:30`) is wall-clock time in `tz`, like a date.
pub fn parse_date(field: &str, input: &str, tz: &TimeZone, bound: Bound) -> Result<i64, Failure> {
    let s = &restore_offset_plus(input.trim());
    let invalid = || invalid_date(field);
    let instant = |ms: i64| match bound {
        Bound::Start => Ok(ms),
        // An end instant is inclusive: a call starting exactly at it belongs in the range.
        Bound::End => ms.checked_add(1).ok_or_else(invalid),
    };
    if let Ok(t) = s.parse::<Timestamp>() {
        return instant(t.as_millisecond());
    }
    // With an RFC 9557 zone annotation (`…[Europe/Paris]`) and no offset, the annotation decides.
    if let Ok(z) = s.parse::<jiff::Zoned>() {
        return instant(z.timestamp().as_millisecond());
    }
    // jiff reads a datetime as a Date too (dropping the time), so only a string without a time part
    // may be a whole day.
    if !s.contains(['T', 't', ' ']) {
        let date: Date = s.parse().map_err(|_| invalid())?;
        let day = match bound {
            Bound::Start => date,
            Bound::End => date.tomorrow().map_err(|_| invalid())?,
        };
        // Midnight, resolved as jiff's "compatible" rule does: where the clocks skip midnight the day
        // starts when the gap ends, where they repeat it the day starts at the first midnight.
        let start = day.to_zoned(tz.clone()).map_err(|_| invalid())?;
        return Ok(start.timestamp().as_millisecond());
    }
    let local: DateTime = s.parse().map_err(|_| invalid())?;
    let z = local.to_zoned(tz.clone()).map_err(|_| invalid())?;
    instant(z.timestamp().as_millisecond())
}

/// An unencoded `+` in a query string arrives as a space (`…T10:30:00+02:00` → `…T10:30:00 02:00`).
/// A space followed by nothing but an offset's digits at the end of a date-time can only have been
/// that sign, so it is put back; every other string is returned unchanged.
fn restore_offset_plus(s: &str) -> String {
    if let Some((head, tail)) = s.rsplit_once(' ')
        && head.contains(':')
        && (2..=5).contains(&tail.len())
        && tail.starts_with(|c: char| c.is_ascii_digit())
        && tail.chars().all(|c| c.is_ascii_digit() || c == ':')
    {
        return format!("{head}+{tail}");
    }
    s.to_string()
}

/// `None` for an absent or blank query value.
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, Failure> {
    let v = value.to_ascii_lowercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(Failure::invalid(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

impl CallLogQuery {
    /// Checks every parameter, naming the first bad one; dates are read in `tz`.
    pub fn validate(&self, tz: &TimeZone) -> Result<CallSearch, Failure> {
        let from_ms = present(&self.start_date)
            .map(|s| parse_date("startDate", s, tz, Bound::Start))
            .transpose()?;
        let to_ms = present(&self.end_date)
            .map(|s| parse_date("endDate", s, tz, Bound::End))
            .transpose()?;
        if let (Some(from), Some(to)) = (from_ms, to_ms)
            && from >= to
        {
            return Err(Failure::invalid("startDate", "must not be after endDate"));
        }
        let (limit, offset) = crate::domain::paging::page(self.limit, self.offset)?;
        let status = present(&self.status)
            .map(|s| {
                CallStatus::parse(&s.to_ascii_lowercase()).map_err(|_| {
                    Failure::invalid(
                        "status",
                        format!("must be one of {}", CallStatus::NAMES.join(", ")),
                    )
                })
            })
            .transpose()?;
        let direction = present(&self.direction)
            .map(|s| one_of("direction", s, &DIRECTIONS))
            .transpose()?;
        let reason = present(&self.reason)
            .map(|s| {
                CallReason::parse(s)
                    .map(|r| r.as_str().to_string())
                    .ok_or_else(|| {
                        let names: Vec<_> = CallReason::ALL.iter().map(|r| r.as_str()).collect();
                        Failure::invalid("reason", format!("must be one of {}", names.join(", ")))
                    })
            })
            .transpose()?;
        let phone_number = self
            .phone_number
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| E164::from_query("phoneNumber", s).map(|n| n.as_str().to_string()))
            .transpose()?;
        let outcome = present(&self.outcome)
            .map(|s| {
                CallOutcome::parse(s).ok_or_else(|| {
                    Failure::invalid(
                        "outcome",
                        format!("must be one of {}", CallOutcome::NAMES.join(", ")),
                    )
                })
            })
            .transpose()?;
        Ok(CallSearch {
            filter: CallFilter {
                from_ms,
                to_ms,
                status,
                direction,
                reason,
                phone_number,
                outcome,
            },
            limit,
            offset,
        })
    }
}

/// A page of a tenant's calls, newest first.
#[derive(Debug, Clone)]
pub struct CallPage {
    pub calls: Vec<Call>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl From<&CallPage> for CallLogList {
    fn from(p: &CallPage) -> Self {
        CallLogList {
            call_logs: p.calls.iter().map(CallLogView::from).collect(),
            total: p.total,
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// The tenant's calls matching `q`, dates read in the tenant's time zone.
pub async fn list(db: &Db, tenant: &Tenant, q: &CallLogQuery) -> Result<CallPage, Failure> {
    let search = q.validate(&tenant.time_zone.time_zone())?;
    let (calls, total) =
        db::calls::list(db, &tenant.id, &search.filter, search.limit, search.offset).await?;
    Ok(CallPage {
        calls,
        total,
        limit: search.limit,
        offset: search.offset,
    })
}

/// A keyset page of a tenant's calls, newest first: no rows are skipped or counted, so a page deep
/// in a long history costs what the first one does.
#[derive(Debug, Clone)]
pub struct CallKeysetPage {
    pub calls: Vec<Call>,
    /// The cursor of the next older page (`before`), when there are older calls.
    pub older: Option<String>,
    /// The cursor of the next newer page (`after`), when this is not the newest page.
    pub newer: Option<String>,
    pub limit: i64,
}

/// The opaque cursor naming `c`'s place in the newest-first order: its start and id.
pub fn cursor_of(c: &Call) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", c.start_time, c.id))
}

/// Reads a cursor made by [`cursor_of`], naming `field` when it is not one.
pub fn read_cursor(field: &str, cursor: &str) -> Result<(i64, String), Failure> {
    use base64::Engine;
    let bad = || Failure::invalid(field, "is not a page cursor of this listing");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ms, id) = text.split_once(':').ok_or_else(bad)?;
    let ms = ms.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() || id.len() > 64 {
        return Err(bad());
    }
    Ok((ms, id.to_string()))
}

/// The tenant's calls matching `q` (its filters and page size; its offset is not used), a keyset
/// page: the newest, the one `before` a cursor (older calls) or the one `after` it (newer calls).
pub async fn list_keyset(
    db: &Db,
    tenant: &Tenant,
    q: &CallLogQuery,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<CallKeysetPage, Failure> {
    let search = q.validate(&tenant.time_zone.time_zone())?;
    let limit = search.limit;
    let page = match (present_str(before), present_str(after)) {
        (Some(_), Some(_)) => {
            return Err(Failure::invalid("before", "cannot be given with after"));
        }
        (Some(c), None) => {
            let (start_time, id) = read_cursor("before", c)?;
            Keyset::Before { start_time, id }
        }
        (None, Some(c)) => {
            let (start_time, id) = read_cursor("after", c)?;
            Keyset::After { start_time, id }
        }
        (None, None) => Keyset::Newest,
    };
    // One more than the page shows: whether it exists says if there is a page beyond.
    let mut calls =
        db::calls::list_keyset(db, &tenant.id, &search.filter, &page, limit + 1).await?;
    let beyond = calls.len() as i64 > limit;
    calls.truncate(limit as usize);
    let (older, newer) = match page {
        Keyset::Newest => (beyond.then(|| calls.last().map(cursor_of)).flatten(), None),
        Keyset::Before { .. } => (
            beyond.then(|| calls.last().map(cursor_of)).flatten(),
            calls.first().map(cursor_of),
        ),
        Keyset::After { .. } => {
            // Read oldest first: the newest `limit` of them are the ones just after the cursor.
            calls.reverse();
            (
                calls.last().map(cursor_of),
                beyond.then(|| calls.first().map(cursor_of)).flatten(),
            )
        }
    };
    Ok(CallKeysetPage {
        calls,
        older,
        newer,
        limit,
    })
}

fn present_str(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// What became of a call, in one word for lists: `answered`, `voicemail`, `missed`, or else its
/// status (`in-progress`, `busy`, `no-answer`, …).
pub fn outcome_of(c: &Call) -> &'static str {
    if c.answered_at.is_some() {
        "answered"
    } else if c.voicemail {
        "voicemail"
    } else if c.missed {
        "missed"
    } else {
        c.status.as_str()
    }
}

/// One of the tenant's calls; another tenant's id is as unknown as a made-up one.
pub async fn get(db: &Db, tenant_id: &str, id: &str) -> Result<Call, Failure> {
    db::calls::get(db, tenant_id, id)
        .await?
        .ok_or_else(|| Failure::not_found("call log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    fn ms(rfc: &str) -> i64 {
        rfc.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn dates_are_whole_days_in_the_tenant_zone() {
        let tz = la();
        assert_eq!(
            parse_date("startDate", "2026-11-22", &tz, Bound::Start).unwrap(),
            ms("2026-11-22T08:00:00Z")
        );
        assert_eq!(
            parse_date("endDate", "2026-11-22", &tz, Bound::End).unwrap(),
            ms("2026-11-23T08:00:00Z")
        );
        // 2026-11-01 is the 25-hour day when Los Angeles leaves daylight saving time.
        assert_eq!(
            parse_date("startDate", "2026-11-01", &tz, Bound::Start).unwrap(),
            ms("2026-11-01T07:00:00Z")
        );
        assert_eq!(
            parse_date("endDate", "2026-11-01", &tz, Bound::End).unwrap(),
            ms("2026-11-02T08:00:00Z")
        );
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_it_starts() {
        // Santiago springs forward at midnight: 2026-09-06 begins at 01:00 local (-03), 04:00 UTC.
        let tz = TimeZone::get("America/Santiago").unwrap();
        assert_eq!(
            parse_date("startDate", "2026-09-06", &tz, Bound::Start).unwrap(),
            ms("2026-09-06T04:00:00Z")
        );
    }

    #[test]
    fn instants_keep_their_offset_and_an_end_instant_is_inclusive() {
        let tz = la();
        assert_eq!(
            parse_date("startDate", "2026-11-22T10:30:00Z", &tz, Bound::Start).unwrap(),
            ms("2026-11-22T10:30:00Z")
        );
        assert_eq!(
            parse_date("startDate", "2026-11-22T10:30:00+02:00", &tz, Bound::Start).unwrap(),
            ms("2026-11-22T08:30:00Z")
        );
        assert_eq!(
            parse_date("endDate", "2026-11-22T10:30:00.000Z", &tz, Bound::End).unwrap(),
            ms("2026-11-22T10:30:00Z") + 1
        );
        // A `+` that arrived as a space is still the offset's sign.
        assert_eq!(
            parse_date("startDate", "2026-11-22T10:30:00 02:00", &tz, Bound::Start).unwrap(),
            ms("2026-11-22T08:30:00Z")
        );
        assert_eq!(
            parse_date("startDate", "2026-11-22 10:30:00 0200", &tz, Bound::Start).unwrap(),
            ms("2026-11-22T08:30:00Z")
        );
        // No offset: wall-clock time in the tenant's zone.
        assert_eq!(
            parse_date("startDate", "2026-11-22T10:30:00", &tz, Bound::Start).unwrap(),
            ms("2026-11-22T18:30:00Z")
        );
    }

    #[test]
    fn garbage_is_refused_with_seed_000_message() {
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "22/11/2026",
            "2026-11-22T25:00:00Z",
            "",
        ] {
            let e = parse_date("endDate", bad, &la(), Bound::End).unwrap_err();
            assert_eq!(
                e.describe(),
                "endDate must be a valid ISO 8601 date",
                "{bad}"
            );
            assert_eq!(e.field(), Some("endDate"));
            assert_eq!(e.code(), "VALIDATION_ERROR");
        }
    }

    #[test]
    fn limit_is_clamped_and_blank_filters_are_absent() {
        let q = CallLogQuery {
            limit: Some(1000),
            status: Some("".into()),
            reason: Some("get_hours".into()),
            phone_number: Some(" 14155550100".into()),
            ..Default::default()
        };
        let s = q.validate(&la()).unwrap();
        assert_eq!(s.limit, crate::domain::paging::MAX_LIMIT);
        assert_eq!(s.filter.status, None);
        assert_eq!(s.filter.reason.as_deref(), Some("GET_HOURS"));
        assert_eq!(s.filter.phone_number.as_deref(), Some("+14155550100"));
    }
}
