//! Bucket edges in the tenant's time zone, and the "slots" the database groups by.
//!
//! A bucket is a calendar day, a week (Monday to Sunday) or a month *as the tenant's clock sees it*,
//! so its edges are local midnights: a day bucket is 23 or 25 hours long when the clocks change, and a
//! day whose midnight is skipped starts when the gap ends (the same rule as the call-log date
//! filters, [`crate::calls::logs::parse_date`]).
//!
//! SQL cannot walk a time zone database, so the queries group rows by fixed-length UTC *slots*
//! (`(t - origin) / slot_ms`) and the slots are mapped to buckets and local hours here. That is exact
//! as long as no bucket edge and no local hour boundary falls inside a slot, which holds when the slot
//! length divides every UTC offset the zone uses in the range: [`slot_ms`] picks the longest such
//! length (an hour for most zones, 30 or 15 minutes for India, Nepal or Lord Howe Island). The result
//! is a few thousand rows at most instead of one row per call.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

pub const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How a range is cut into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    /// Monday to Sunday (ISO 8601 weeks).
    Week,
    Month,
}

impl Granularity {
    pub const NAMES: [&'static str; 3] = ["day", "week", "month"];

    pub fn parse(s: &str) -> Option<Granularity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    /// The first date of the period that contains `d`.
    fn period_start(self, d: Date) -> Date {
        match self {
            Granularity::Day => d,
            Granularity::Week => d
                .checked_sub(i64::from(d.weekday().to_monday_zero_offset()).days())
                .unwrap_or(d),
            Granularity::Month => d.first_of_month(),
        }
    }

    /// The first date of the next period.
    fn next(self, d: Date) -> Option<Date> {
        match self {
            Granularity::Day => d.tomorrow().ok(),
            Granularity::Week => d.checked_add(7.days()).ok(),
            Granularity::Month => d.checked_add(1.month()).ok(),
        }
    }
}

/// One bucket: `[start_ms, end_ms)`, clipped to the requested range, and the local date its period
/// begins on (its label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub start_ms: i64,
    pub end_ms: i64,
    pub period: Date,
}

/// The first instant of local date `d` in `tz`: midnight, or where midnight does not exist, the end
/// of the gap (jiff's "compatible" rule, as the call-log filters read a date).
pub fn day_start(d: Date, tz: &TimeZone) -> Option<i64> {
    d.to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// The local date of instant `ms` in `tz`.
pub fn local_date(ms: i64, tz: &TimeZone) -> Option<Date> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned(tz.clone()).date())
}

/// The buckets covering `[from, to)`, or `Err(n)` when there would be more than `max` of them.
pub fn buckets(
    from: i64,
    to: i64,
    tz: &TimeZone,
    g: Granularity,
    max: usize,
) -> Result<Vec<Bucket>, usize> {
    let mut out = Vec::new();
    let Some(first) = local_date(from, tz) else {
        return Ok(out);
    };
    let mut d = g.period_start(first);
    while let Some(start) = day_start(d, tz) {
        if start >= to {
            break;
        }
        let Some(next) = g.next(d) else { break };
        let Some(end) = day_start(next, tz) else {
            break;
        };
        if end > from {
            if out.len() == max {
                return Err(max + 1);
            }
            out.push(Bucket {
                start_ms: start.max(from),
                end_ms: end.min(to),
                period: d,
            });
        }
        d = next;
    }
    Ok(out)
}

/// The longest of 1 h, 30 min, 15 min, 1 min and 1 s that divides every UTC offset `tz` uses in
/// `[from, to)`, so that no slot of that length straddles a local midnight or hour boundary.
pub fn slot_ms(tz: &TimeZone, from: i64, to: i64) -> i64 {
    let Ok(start) = Timestamp::from_millisecond(from) else {
        return 1000;
    };
    let mut offsets = vec![tz.to_offset(start).seconds()];
    for t in tz.following(start) {
        if t.timestamp().as_millisecond() >= to {
            break;
        }
        offsets.push(t.offset().seconds());
    }
    [HOUR_MS, HOUR_MS / 2, HOUR_MS / 4, 60_000, 1000]
        .into_iter()
        .find(|slot| offsets.iter().all(|o| (i64::from(*o) * 1000) % slot == 0))
        .unwrap_or(1000)
}

/// Where the slots of a query start: `from` rounded down to a whole slot since the epoch, so that
/// slots line up with UTC hours (and therefore with every local midnight, see [`slot_ms`]).
pub fn origin(from: i64, slot_ms: i64) -> i64 {
    from.div_euclid(slot_ms) * slot_ms
}

/// Maps slot start instants to bucket indexes and local hours.
pub struct SlotMap<'a> {
    pub buckets: &'a [Bucket],
    pub tz: &'a TimeZone,
    pub origin: i64,
    pub slot_ms: i64,
}

impl SlotMap<'_> {
    /// The first instant of slot `slot`.
    pub fn slot_start(&self, slot: i64) -> i64 {
        self.origin + slot * self.slot_ms
    }

    /// The bucket holding slot `slot`. A slot starting before the first bucket is the one that
    /// contains `from` (the query only counted its rows from `from` on), so it belongs to bucket 0.
    pub fn bucket(&self, slot: i64) -> Option<usize> {
        let at = self.slot_start(slot);
        let i = self.buckets.partition_point(|b| b.start_ms <= at);
        match i {
            0 if !self.buckets.is_empty() => Some(0),
            0 => None,
            i if at < self.buckets[i - 1].end_ms => Some(i - 1),
            _ => None,
        }
    }

    /// The tenant's local weekday (0 = Monday … 6 = Sunday) and hour (0-23) during slot `slot`.
    pub fn local_weekday_hour(&self, slot: i64) -> (usize, usize) {
        Timestamp::from_millisecond(self.slot_start(slot))
            .map(|t| {
                let z = t.to_zoned(self.tz.clone());
                (
                    usize::from(z.weekday().to_monday_zero_offset() as u8),
                    usize::try_from(z.hour()).unwrap_or(0),
                )
            })
            .unwrap_or((0, 0))
    }

    /// The tenant's local hour (0-23) during slot `slot`.
    pub fn local_hour(&self, slot: i64) -> usize {
        let at = self.slot_start(slot);
        let offset_ms = Timestamp::from_millisecond(at)
            .map(|t| i64::from(self.tz.to_offset(t).seconds()) * 1000)
            .unwrap_or(0);
        ((at + offset_ms).rem_euclid(DAY_MS) / HOUR_MS) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc: &str) -> i64 {
        rfc.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn hours(b: &Bucket) -> i64 {
        (b.end_ms - b.start_ms) / HOUR_MS
    }

    #[test]
    fn day_buckets_follow_local_midnights_across_dst() {
        let la = tz("America/Los_Angeles");
        // 2026-11-01 is 25 hours long in Los Angeles; 2026-03-08 is 23.
        let b = buckets(
            ms("2026-10-31T07:00:00Z"),
            ms("2026-11-03T08:00:00Z"),
            &la,
            Granularity::Day,
            100,
        )
        .unwrap();
        let lengths: Vec<i64> = b.iter().map(hours).collect();
        assert_eq!(lengths, [24, 25, 24]);
        assert_eq!(b[1].start_ms, ms("2026-11-01T07:00:00Z"));
        assert_eq!(b[1].end_ms, ms("2026-11-02T08:00:00Z"));
        assert_eq!(b[1].period.to_string(), "2026-11-01");

        let b = buckets(
            ms("2026-03-08T08:00:00Z"),
            ms("2026-03-09T07:00:00Z"),
            &la,
            Granularity::Day,
            100,
        )
        .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(hours(&b[0]), 23);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let ny = tz("America/New_York");
        // Wednesday 2026-11-04 .. Tuesday 2026-11-17 (local): three weeks, the first and last clipped.
        let from = day_start(Date::constant(2026, 11, 4), &ny).unwrap();
        let to = day_start(Date::constant(2026, 11, 18), &ny).unwrap();
        let b = buckets(from, to, &ny, Granularity::Week, 100).unwrap();
        let periods: Vec<String> = b.iter().map(|b| b.period.to_string()).collect();
        assert_eq!(periods, ["2026-11-02", "2026-11-09", "2026-11-16"]);
        assert_eq!(b[0].start_ms, from, "clipped to the range");
        assert_eq!(
            b[1].start_ms,
            day_start(Date::constant(2026, 11, 9), &ny).unwrap()
        );
        assert_eq!(hours(&b[1]), 7 * 24);
        assert_eq!(b[2].end_ms, to);

        // The week of the change back to standard time is an hour longer.
        let from = day_start(Date::constant(2026, 10, 26), &ny).unwrap();
        let to = day_start(Date::constant(2026, 11, 2), &ny).unwrap();
        let b = buckets(from, to, &ny, Granularity::Week, 100).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(hours(&b[0]), 7 * 24 + 1);

        let from = day_start(Date::constant(2026, 1, 15), &ny).unwrap();
        let to = day_start(Date::constant(2026, 4, 1), &ny).unwrap();
        let b = buckets(from, to, &ny, Granularity::Month, 100).unwrap();
        let periods: Vec<String> = b.iter().map(|b| b.period.to_string()).collect();
        assert_eq!(periods, ["2026-01-01", "2026-02-01", "2026-03-01"]);
        // March loses an hour to daylight saving time.
        assert_eq!(hours(&b[2]), 31 * 24 - 1);
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_the_gap_ends() {
        // Santiago springs forward at midnight: 2026-09-06 starts at 01:00 local (-03), 04:00 UTC.
        let santiago = tz("America/Santiago");
        let from = day_start(Date::constant(2026, 9, 5), &santiago).unwrap();
        let to = day_start(Date::constant(2026, 9, 7), &santiago).unwrap();
        let b = buckets(from, to, &santiago, Granularity::Day, 10).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].start_ms, ms("2026-09-06T04:00:00Z"));
        assert_eq!(hours(&b[0]), 24);
        assert_eq!(hours(&b[1]), 23);
    }

    #[test]
    fn too_many_buckets_is_an_error_not_a_huge_answer() {
        let utc = TimeZone::UTC;
        let from = ms("2020-01-01T00:00:00Z");
        let to = ms("2026-01-01T00:00:00Z");
        assert_eq!(buckets(from, to, &utc, Granularity::Day, 1000), Err(1001));
        assert_eq!(
            buckets(from, to, &utc, Granularity::Month, 1000)
                .unwrap()
                .len(),
            72
        );
    }

    #[test]
    fn slots_divide_every_offset_in_the_range() {
        let from = ms("2026-01-01T00:00:00Z");
        let to = ms("2027-01-01T00:00:00Z");
        assert_eq!(slot_ms(&tz("America/New_York"), from, to), HOUR_MS);
        assert_eq!(slot_ms(&tz("Asia/Kolkata"), from, to), HOUR_MS / 2);
        assert_eq!(slot_ms(&tz("Asia/Kathmandu"), from, to), HOUR_MS / 4);
        // Lord Howe Island moves its clocks by half an hour.
        assert_eq!(slot_ms(&tz("Australia/Lord_Howe"), from, to), HOUR_MS / 2);
        assert_eq!(slot_ms(&TimeZone::UTC, from, to), HOUR_MS);
    }

    #[test]
    fn slots_map_to_buckets_and_local_hours() {
        let la = tz("America/Los_Angeles");
        let from = ms("2026-10-31T07:00:00Z");
        let to = ms("2026-11-03T08:00:00Z");
        let b = buckets(from, to, &la, Granularity::Day, 10).unwrap();
        let slot = slot_ms(&la, from, to);
        let map = SlotMap {
            buckets: &b,
            tz: &la,
            origin: origin(from, slot),
            slot_ms: slot,
        };
        let slot_of = |rfc: &str| (ms(rfc) - map.origin) / map.slot_ms;
        // 00:30 PDT on Nov 1 and 23:30 PST the same local day are both Nov 1 (bucket 1).
        assert_eq!(map.bucket(slot_of("2026-11-01T07:30:00Z")), Some(1));
        assert_eq!(map.local_hour(slot_of("2026-11-01T07:30:00Z")), 0);
        assert_eq!(map.bucket(slot_of("2026-11-02T07:30:00Z")), Some(1));
        assert_eq!(map.local_hour(slot_of("2026-11-02T07:30:00Z")), 23);
        // 01:30 happens twice that night: PDT (08:30Z) and PST (09:30Z), both local hour 1.
        assert_eq!(map.local_hour(slot_of("2026-11-01T08:30:00Z")), 1);
        assert_eq!(map.local_hour(slot_of("2026-11-01T09:30:00Z")), 1);
        assert_eq!(map.bucket(slot_of("2026-11-02T08:00:00Z")), Some(2));
        // Sunday 2026-11-01 23:30 PST is Monday 07:30 UTC: local Sunday (6), hour 23.
        assert_eq!(
            map.local_weekday_hour(slot_of("2026-11-02T07:30:00Z")),
            (6, 23)
        );
        assert_eq!(
            map.local_weekday_hour(slot_of("2026-11-02T08:30:00Z")),
            (0, 0)
        );
        assert_eq!(map.bucket(slot_of("2026-11-03T08:00:00Z")), None);

        // A range starting mid-slot: the slot that holds `from` belongs to the first bucket.
        let from = ms("2026-11-01T10:07:00Z");
        let b = buckets(from, to, &la, Granularity::Day, 10).unwrap();
        let map = SlotMap {
            buckets: &b,
            tz: &la,
            origin: origin(from, slot),
            slot_ms: slot,
        };
        assert_eq!(b[0].start_ms, from);
        assert_eq!(map.bucket(0), Some(0));
    }
}
