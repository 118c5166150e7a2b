//! How the console writes times, durations, money and phone numbers: in the tenant's time zone,
//! short and unambiguous. Templates get ready-made strings from these, never raw milliseconds.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The tenant's zone, or UTC when the name is unknown (a tenant's zone is validated on write, so
/// this is only a guard).
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// `2026-12-04 14:03` in `tz`.
pub fn date_time(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// `14:03:27` in `tz`.
pub fn time_of_day(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz.clone()).strftime("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `2026-12-04` in `tz`.
pub fn date(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `0:42`, `12:05`, `1:02:03`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A percentage with one decimal, `—` when there is nothing to divide.
pub fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "—".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_the_tenants_zone() {
        // 2026-07-01T12:00:00Z is 08:00 in New York (EDT) and 21:00 in Tokyo.
        let ms = 1_782_907_200_000;
        assert_eq!(date_time(ms, &zone("America/New_York")), "2026-07-01 08:00");
        assert_eq!(date_time(ms, &zone("Asia/Tokyo")), "2026-07-01 21:00");
        assert_eq!(date_time(ms, &zone("Not/AZone")), "2026-07-01 12:00");
        assert_eq!(time_of_day(ms, &zone("UTC")), "12:00:00");
        assert_eq!(date(ms, &zone("Pacific/Kiritimati")), "2026-07-02");
    }

    #[test]
    fn durations_and_shares_read_naturally() {
        assert_eq!(duration(42), "0:42");
        assert_eq!(duration(725), "12:05");
        assert_eq!(duration(3723), "1:02:03");
        assert_eq!(duration(-5), "0:00");
        assert_eq!(percent(1, 3), "33.3 %");
        assert_eq!(percent(0, 0), "—");
    }
}
