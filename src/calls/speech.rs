//! Business hours in words for a phone voice (the text of a Twilio `<Say>`).
//!
//! A caller asking for opening hours mostly wants to know about today, so today comes first, judged
//! in the tenant's zone (not UTC: at 00:30 in Paris it is already tomorrow there), then whether the
//! business is open right now, then the whole week from Monday. The text is plain sentences a
//! text-to-speech voice reads well: "9 AM", "5:30 PM", "noon", "midnight", and no dashes, slashes or
//! 24-hour times, which voices read out literally ("nine dash five").

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use crate::domain::hours::{BusinessHours, TimeWindow};

const WEEK: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// What a caller hears when asking for opening hours: today first (in the tenant's zone), then the week.
///
/// Example: "Today, Monday, we are open from 9 AM to 5 PM. We are open now. Our hours are Monday to
/// Friday, 9 AM to 5 PM; closed Saturday and Sunday."
pub fn hours_in_words(hours: &BusinessHours, tz: &TimeZone, now: Timestamp) -> String {
    let date = now.to_zoned(tz.clone()).date();
    let today = if hours.holidays.contains(&date) {
        "Today we are closed for a holiday.".to_string()
    } else {
        let name = weekday_name(date.weekday());
        let windows = sorted(hours.day(date.weekday()));
        let mut parts = Vec::new();
        // The tail of yesterday's overnight windows is open time today too (as `is_open` counts it);
        // leaving it out would say "closed" and then "we are open now" at 1 AM. A window opening at
        // midnight today already covers it.
        let latest_tail = hours
            .day(date.weekday().previous())
            .iter()
            .filter(|w| w.close <= w.open && w.close.minutes() > 0)
            .map(|w| w.close.minutes())
            .max();
        if let Some(tail) = latest_tail
            && !windows.iter().any(|w| w.open.minutes() == 0)
        {
            parts.push(format!("until {}", time_in_words(tail)));
        }
        parts.extend(windows.iter().map(|w| match window_span(w) {
            None => "all day".to_string(),
            Some((from, to)) => format!("from {from} to {to}"),
        }));
        if parts.is_empty() {
            format!("Today, {name}, we are closed.")
        } else {
            format!("Today, {name}, we are open {}.", join_and(&parts))
        }
    };
    let now_open = if hours.is_open(now, tz) {
        "We are open now."
    } else {
        "We are closed right now."
    };
    format!("{today} {now_open} {}", week_in_words(hours))
}

/// "9 AM", "5:30 PM", "noon", "midnight" for minutes since midnight (1440 = midnight; larger values
/// wrap to the next day, which `ClockTime` never produces).
pub fn time_in_words(minutes: u16) -> String {
    let minutes = minutes % 1440;
    let (hour, minute) = (minutes / 60, minutes % 60);
    match (hour, minute) {
        (0, 0) => return "midnight".to_string(),
        (12, 0) => return "noon".to_string(),
        _ => {}
    }
    let suffix = if hour < 12 { "AM" } else { "PM" };
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    if minute == 0 {
        format!("{hour12} {suffix}")
    } else {
        format!("{hour12}:{minute:02} {suffix}")
    }
}

/// The week from Monday, consecutive days with the same windows said once.
fn week_in_words(hours: &BusinessHours) -> String {
    let days: Vec<Vec<TimeWindow>> = WEEK.iter().map(|d| sorted(hours.day(*d))).collect();
    if days.iter().all(Vec::is_empty) {
        return "We are closed every day of the week.".to_string();
    }
    if days.iter().all(|d| *d == days[0]) {
        return format!("Our hours are every day, {}.", windows_in_words(&days[0]));
    }
    let mut groups = Vec::new();
    let mut start = 0;
    while start < WEEK.len() {
        let mut end = start;
        while end + 1 < WEEK.len() && days[end + 1] == days[start] {
            end += 1;
        }
        let span = match end - start {
            0 => weekday_name(WEEK[start]).to_string(),
            1 => format!(
                "{} and {}",
                weekday_name(WEEK[start]),
                weekday_name(WEEK[end])
            ),
            _ => format!(
                "{} to {}",
                weekday_name(WEEK[start]),
                weekday_name(WEEK[end])
            ),
        };
        groups.push(if days[start].is_empty() {
            format!("closed {span}")
        } else {
            format!("{span}, {}", windows_in_words(&days[start]))
        });
        start = end + 1;
    }
    format!("Our hours are {}.", groups.join("; "))
}

/// A day's windows for the week summary: "9 AM to noon and 1 PM to 5 PM".
fn windows_in_words(windows: &[TimeWindow]) -> String {
    let parts: Vec<String> = windows
        .iter()
        .map(|w| match window_span(w) {
            None => "all day".to_string(),
            Some((from, to)) => format!("{from} to {to}"),
        })
        .collect();
    join_and(&parts)
}

/// A window's opening and closing time in words, or `None` for 00:00 to 24:00, which callers
/// understand better as "all day" than as "midnight to midnight".
fn window_span(w: &TimeWindow) -> Option<(String, String)> {
    if w.open.minutes() == 0 && w.close.minutes() == 1440 {
        None
    } else {
        Some((
            time_in_words(w.open.minutes()),
            time_in_words(w.close.minutes()),
        ))
    }
}

/// Windows in the order a listener expects, whatever order the tenant entered them in; sorting also
/// makes two days with the same windows in a different order group together.
fn sorted(windows: &[TimeWindow]) -> Vec<TimeWindow> {
    let mut v = windows.to_vec();
    v.sort_by_key(|w| (w.open, w.close));
    v.dedup();
    v
}

/// "a", "a and b", "a, b and c".
fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hours::ClockTime;

    fn w(open: &str, close: &str) -> TimeWindow {
        TimeWindow {
            open: ClockTime::parse(open).unwrap(),
            close: ClockTime::parse(close).unwrap(),
        }
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// The instant of a local wall-clock time in `zone`.
    fn local(zone: &str, dt: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = dt.parse().unwrap();
        dt.to_zoned(tz(zone)).unwrap().timestamp()
    }

    /// Monday to Friday 9 to 5, Saturday 10 to 2, Sunday closed.
    fn salon() -> BusinessHours {
        BusinessHours {
            saturday: vec![w("10:00", "14:00")],
            ..Default::default()
        }
    }

    const SALON_WEEK: &str =
        "Our hours are Monday to Friday, 9 AM to 5 PM; Saturday, 10 AM to 2 PM; closed Sunday.";

    #[test]
    fn times() {
        assert_eq!(time_in_words(0), "midnight");
        assert_eq!(time_in_words(1440), "midnight");
        assert_eq!(time_in_words(720), "noon");
        assert_eq!(time_in_words(9 * 60), "9 AM");
        assert_eq!(time_in_words(17 * 60 + 30), "5:30 PM");
        assert_eq!(time_in_words(9 * 60 + 5), "9:05 AM");
        assert_eq!(time_in_words(30), "12:30 AM");
        assert_eq!(time_in_words(12 * 60 + 15), "12:15 PM");
        assert_eq!(time_in_words(13 * 60), "1 PM");
        assert_eq!(time_in_words(11 * 60 + 59), "11:59 AM");
        assert_eq!(time_in_words(23 * 60 + 59), "11:59 PM");
    }

    #[test]
    fn open_weekday_in_new_york() {
        // Monday 2026-11-23, 10:00 local.
        let now = local("America/New_York", "2026-11-23T10:00");
        assert_eq!(
            hours_in_words(&salon(), &tz("America/New_York"), now),
            format!("Today, Monday, we are open from 9 AM to 5 PM. We are open now. {SALON_WEEK}")
        );
        // Same day after closing.
        let now = local("America/New_York", "2026-11-23T17:30");
        assert_eq!(
            hours_in_words(&salon(), &tz("America/New_York"), now),
            format!(
                "Today, Monday, we are open from 9 AM to 5 PM. We are closed right now. {SALON_WEEK}"
            )
        );
    }

    #[test]
    fn closed_day() {
        let now = local("America/New_York", "2026-11-22T12:00"); // Sunday
        assert_eq!(
            hours_in_words(&salon(), &tz("America/New_York"), now),
            format!("Today, Sunday, we are closed. We are closed right now. {SALON_WEEK}")
        );
    }

    #[test]
    fn today_is_the_local_weekday_right_after_dst_began() {
        // US DST began Sunday 2026-03-08. 04:30 UTC on 03-09 is 00:30 EDT on Monday; with the winter
        // offset (UTC-5) it would still be 23:30 on Sunday.
        let ny = tz("America/New_York");
        let text = hours_in_words(&salon(), &ny, ts("2026-03-09T04:30:00Z"));
        assert!(
            text.starts_with(
                "Today, Monday, we are open from 9 AM to 5 PM. We are closed right now."
            ),
            "{text}"
        );
        // 13:30 UTC is 09:30 EDT, open; a week earlier the same UTC time was 08:30 EST, closed.
        let text = hours_in_words(&salon(), &ny, ts("2026-03-09T13:30:00Z"));
        assert!(
            text.starts_with("Today, Monday, we are open from 9 AM to 5 PM. We are open now."),
            "{text}"
        );
        let text = hours_in_words(&salon(), &ny, ts("2026-03-02T13:30:00Z"));
        assert!(text.contains("We are closed right now."), "{text}");
    }

    #[test]
    fn local_day_differs_from_utc_day() {
        // Friday 2026-11-27 23:30 UTC is Saturday 00:30 in Paris.
        let text = hours_in_words(&salon(), &tz("Europe/Paris"), ts("2026-11-27T23:30:00Z"));
        assert_eq!(
            text,
            format!(
                "Today, Saturday, we are open from 10 AM to 2 PM. We are closed right now. {SALON_WEEK}"
            )
        );
        // Tuesday 2026-11-24 02:00 UTC is Monday 21:00 in New York.
        let text = hours_in_words(
            &salon(),
            &tz("America/New_York"),
            ts("2026-11-24T02:00:00Z"),
        );
        assert!(text.starts_with("Today, Monday,"), "{text}");
    }

    #[test]
    fn holiday() {
        let mut h = salon();
        h.holidays.push("2026-12-25".parse().unwrap()); // a Friday
        let now = local("Europe/Paris", "2026-12-25T11:00");
        assert_eq!(
            hours_in_words(&h, &tz("Europe/Paris"), now),
            format!("Today we are closed for a holiday. We are closed right now. {SALON_WEEK}")
        );
        // The holiday is a local date: 23:30 UTC on the 24th is already the 25th in Paris...
        let text = hours_in_words(&h, &tz("Europe/Paris"), ts("2026-12-24T23:30:00Z"));
        assert!(
            text.starts_with("Today we are closed for a holiday."),
            "{text}"
        );
        // ...but still the 24th in New York.
        let text = hours_in_words(&h, &tz("America/New_York"), ts("2026-12-24T23:30:00Z"));
        assert!(text.starts_with("Today, Thursday, we are open"), "{text}");
    }

    #[test]
    fn split_windows() {
        let mut h = salon();
        // Entered out of order: spoken in time order.
        h.monday = vec![w("13:00", "17:00"), w("09:00", "12:00")];
        let now = local("America/New_York", "2026-11-23T12:30"); // Monday lunch
        assert_eq!(
            hours_in_words(&h, &tz("America/New_York"), now),
            "Today, Monday, we are open from 9 AM to noon and from 1 PM to 5 PM. \
             We are closed right now. \
             Our hours are Monday, 9 AM to noon and 1 PM to 5 PM; Tuesday to Friday, 9 AM to 5 PM; \
             Saturday, 10 AM to 2 PM; closed Sunday."
        );
        h.monday.push(w("18:30", "20:00"));
        let text = hours_in_words(&h, &tz("America/New_York"), now);
        assert!(
            text.starts_with(
                "Today, Monday, we are open from 9 AM to noon, from 1 PM to 5 PM and from 6:30 PM to 8 PM."
            ),
            "{text}"
        );
    }

    #[test]
    fn overnight_windows() {
        let h = BusinessHours {
            friday: vec![w("22:00", "02:00")],
            saturday: vec![w("22:00", "02:00")],
            ..Default::default()
        };
        let paris = tz("Europe/Paris");
        let week = "Our hours are Monday to Thursday, 9 AM to 5 PM; \
                    Friday and Saturday, 10 PM to 2 AM; closed Sunday.";
        // Friday 23:00: inside the window that started today.
        assert_eq!(
            hours_in_words(&h, &paris, local("Europe/Paris", "2026-11-27T23:00")),
            format!("Today, Friday, we are open from 10 PM to 2 AM. We are open now. {week}")
        );
        // Saturday 01:00: Friday's window still runs, so today is not "closed" until 10 PM.
        assert_eq!(
            hours_in_words(&h, &paris, local("Europe/Paris", "2026-11-28T01:00")),
            format!(
                "Today, Saturday, we are open until 2 AM and from 10 PM to 2 AM. We are open now. {week}"
            )
        );
        // Sunday: only the tail of Saturday's window.
        assert_eq!(
            hours_in_words(&h, &paris, local("Europe/Paris", "2026-11-29T03:00")),
            format!("Today, Sunday, we are open until 2 AM. We are closed right now. {week}")
        );
        // A day that opens at midnight already covers the tail of the night before.
        let h = BusinessHours {
            friday: vec![w("22:00", "02:00")],
            saturday: vec![w("00:00", "24:00")],
            ..Default::default()
        };
        let text = hours_in_words(&h, &paris, local("Europe/Paris", "2026-11-28T01:00"));
        assert!(
            text.starts_with("Today, Saturday, we are open all day. We are open now."),
            "{text}"
        );
        // A window closing at midnight does not spill into the next day.
        let h = BusinessHours {
            saturday: vec![w("18:00", "00:00")],
            ..Default::default()
        };
        let text = hours_in_words(&h, &paris, local("Europe/Paris", "2026-11-29T12:00"));
        assert!(text.starts_with("Today, Sunday, we are closed."), "{text}");
        assert!(text.contains("Saturday, 6 PM to midnight;"), "{text}");
    }

    #[test]
    fn grouping() {
        let nine_five = vec![w("09:00", "17:00")];
        let every = BusinessHours {
            saturday: nine_five.clone(),
            sunday: nine_five.clone(),
            ..Default::default()
        };
        assert_eq!(
            week_in_words(&every),
            "Our hours are every day, 9 AM to 5 PM."
        );
        let never = BusinessHours {
            monday: vec![],
            tuesday: vec![],
            wednesday: vec![],
            thursday: vec![],
            friday: vec![],
            ..Default::default()
        };
        assert_eq!(
            week_in_words(&never),
            "We are closed every day of the week."
        );
        let now = local("America/New_York", "2026-11-23T10:00");
        assert_eq!(
            hours_in_words(&never, &tz("America/New_York"), now),
            "Today, Monday, we are closed. We are closed right now. We are closed every day of the week."
        );
        // Two-day runs use "and"; the same hours on non-consecutive days are separate groups.
        let mixed = BusinessHours {
            monday: vec![],
            tuesday: vec![],
            wednesday: nine_five.clone(),
            thursday: vec![w("09:00", "20:00")],
            friday: nine_five.clone(),
            saturday: vec![],
            sunday: vec![],
            holidays: vec![],
        };
        assert_eq!(
            week_in_words(&mixed),
            "Our hours are closed Monday and Tuesday; Wednesday, 9 AM to 5 PM; \
             Thursday, 9 AM to 8 PM; Friday, 9 AM to 5 PM; closed Saturday and Sunday."
        );
        // All day and midnight ends.
        let late = BusinessHours {
            saturday: vec![w("00:00", "24:00")],
            sunday: vec![w("09:00", "24:00")],
            ..Default::default()
        };
        assert_eq!(
            week_in_words(&late),
            "Our hours are Monday to Friday, 9 AM to 5 PM; Saturday, all day; Sunday, 9 AM to midnight."
        );
        let text = hours_in_words(
            &late,
            &tz("Europe/Paris"),
            local("Europe/Paris", "2026-11-28T03:00"),
        );
        assert!(
            text.starts_with("Today, Saturday, we are open all day. We are open now."),
            "{text}"
        );
    }

    #[test]
    fn speakable() {
        // Whatever the hours, no dashes, slashes or 24-hour times; colons only inside "5:30 PM".
        let h = BusinessHours {
            monday: vec![w("08:15", "12:00"), w("12:45", "18:30")],
            friday: vec![w("21:00", "03:00")],
            saturday: vec![w("00:00", "24:00")],
            holidays: vec!["2026-12-25".parse().unwrap()],
            ..Default::default()
        };
        let text = hours_in_words(
            &h,
            &tz("Europe/Paris"),
            local("Europe/Paris", "2026-11-23T08:00"),
        );
        assert!(!text.contains(['-', '–', '—', '/', '(', ')']), "{text}");
        for (i, _) in text.match_indices(':') {
            let after = &text[i + 1..];
            assert!(
                after.len() >= 5
                    && after.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                    && (after[2..].starts_with(" AM") || after[2..].starts_with(" PM")),
                "{text}"
            );
        }
        assert!(!text.contains("13"), "{text}");
    }
}
