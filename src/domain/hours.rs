//! Business hours per weekday in the tenant's IANA time zone, with holiday dates.
//!
//! Windows are wall-clock times ("09:00"–"17:00"), compared with the local time of the instant in the
//! tenant's zone, so DST changes need no special handling: 09:00 is 09:00 on both sides of a change.
//! A window whose close is not after its open runs overnight ("22:00"–"02:00" is open until 02:00 the
//! next morning). A holiday closes the whole local date, including the tail of an overnight window
//! that started the day before.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use super::ValidationError;

/// Minutes since local midnight; 1440 ("24:00") is allowed as a closing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(u16);

impl ClockTime {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not a time of day in HH:MM form (00:00 to 24:00)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(ClockTime(h * 60 + m))
    }
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}
impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ClockTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One opening window on a weekday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    /// Opening time, "HH:MM" local.
    #[schema(value_type = String, example = "09:00")]
    pub open: ClockTime,
    /// Closing time, "HH:MM" local; not after `open` means the window runs past midnight.
    #[schema(value_type = String, example = "17:00")]
    pub close: ClockTime,
}

/// Opening windows per weekday (an absent or empty day is closed) and holiday dates.
///
/// Each field defaults on its own to empty: a container-level default would fill absent days from
/// [`BusinessHours::default`] and open Tuesday to Friday 9 to 5 for `{"monday": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    #[serde(default)]
    pub monday: Vec<TimeWindow>,
    #[serde(default)]
    pub tuesday: Vec<TimeWindow>,
    #[serde(default)]
    pub wednesday: Vec<TimeWindow>,
    #[serde(default)]
    pub thursday: Vec<TimeWindow>,
    #[serde(default)]
    pub friday: Vec<TimeWindow>,
    #[serde(default)]
    pub saturday: Vec<TimeWindow>,
    #[serde(default)]
    pub sunday: Vec<TimeWindow>,
    /// Local dates ("YYYY-MM-DD") on which the business is closed all day.
    #[serde(default)]
    #[schema(value_type = Vec<String>, example = json!(["2026-12-25"]))]
    pub holidays: Vec<Date>,
}

impl Default for BusinessHours {
    /// Monday to Friday, 09:00 to 17:00.
    fn default() -> Self {
        let nine_to_five = vec![TimeWindow {
            open: ClockTime(9 * 60),
            close: ClockTime(17 * 60),
        }];
        BusinessHours {
            monday: nine_to_five.clone(),
            tuesday: nine_to_five.clone(),
            wednesday: nine_to_five.clone(),
            thursday: nine_to_five.clone(),
            friday: nine_to_five,
            saturday: vec![],
            sunday: vec![],
            holidays: vec![],
        }
    }
}

impl BusinessHours {
    /// Open every day, 00:00 to 24:00: the demo tenant, the single-business tenant (unless
    /// `BUSINESS_HOURS` says otherwise) and the benchmark tenants.
    pub fn always_open() -> Self {
        let all_day = vec![TimeWindow {
            open: ClockTime(0),
            close: ClockTime(24 * 60),
        }];
        BusinessHours {
            monday: all_day.clone(),
            tuesday: all_day.clone(),
            wednesday: all_day.clone(),
            thursday: all_day.clone(),
            friday: all_day.clone(),
            saturday: all_day.clone(),
            sunday: all_day,
            holidays: vec![],
        }
    }

    pub fn day(&self, weekday: Weekday) -> &[TimeWindow] {
        match weekday {
            Weekday::Monday => &self.monday,
            Weekday::Tuesday => &self.tuesday,
            Weekday::Wednesday => &self.wednesday,
            Weekday::Thursday => &self.thursday,
            Weekday::Friday => &self.friday,
            Weekday::Saturday => &self.saturday,
            Weekday::Sunday => &self.sunday,
        }
    }

    /// Rules serde cannot express: windows must not be empty, at most 10 per day, 366 holidays.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        for (name, day) in [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ] {
            if day.len() > 10 {
                return Err(ValidationError::new(
                    format!("{field}.{name}"),
                    "at most 10 windows per day",
                ));
            }
            for (i, w) in day.iter().enumerate() {
                if w.open == w.close {
                    return Err(ValidationError::new(
                        format!("{field}.{name}[{i}]"),
                        "open and close must differ (use 00:00 to 24:00 for all day)",
                    ));
                }
                if w.open.0 >= 1440 {
                    return Err(ValidationError::new(
                        format!("{field}.{name}[{i}].open"),
                        "must be before 24:00",
                    ));
                }
            }
        }
        if self.holidays.len() > 366 {
            return Err(ValidationError::new(
                format!("{field}.holidays"),
                "at most 366 dates",
            ));
        }
        Ok(())
    }

    /// Whether the business is open at `at`, judged in the zone `tz`.
    pub fn is_open(&self, at: Timestamp, tz: &TimeZone) -> bool {
        let local = at.to_zoned(tz.clone());
        let date = local.date();
        if self.holidays.contains(&date) {
            return false;
        }
        let now = (local.hour() as u16) * 60 + local.minute() as u16;
        let today = self.day(date.weekday()).iter().any(|w| {
            if w.open < w.close {
                w.open.0 <= now && now < w.close.0
            } else {
                now >= w.open.0
            }
        });
        if today {
            return true;
        }
        // The tail of yesterday's overnight windows.
        match date.yesterday() {
            Ok(y) => self
                .day(y.weekday())
                .iter()
                .any(|w| w.close <= w.open && now < w.close.0),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_absent_day_is_closed() {
        let h: BusinessHours =
            serde_json::from_str(r#"{"monday": [{"open": "09:00", "close": "17:00"}]}"#).unwrap();
        assert_eq!(h.monday.len(), 1);
        assert!(h.tuesday.is_empty() && h.friday.is_empty() && h.sunday.is_empty());
        assert!(h.holidays.is_empty());
    }

    use super::*;

    fn at(tz: &str, local: &str) -> (Timestamp, TimeZone) {
        let tz = TimeZone::get(tz).unwrap();
        let dt: jiff::civil::DateTime = local.parse().unwrap();
        (dt.to_zoned(tz.clone()).unwrap().timestamp(), tz)
    }

    #[test]
    fn weekday_windows_in_local_time() {
        let h = BusinessHours::default();
        // 2026-11-23 is a Monday.
        let (t, tz) = at("America/New_York", "2026-11-23T09:00");
        assert!(h.is_open(t, &tz));
        let (t, tz) = at("America/New_York", "2026-11-23T17:00");
        assert!(!h.is_open(t, &tz));
        let (t, tz) = at("America/New_York", "2026-11-22T12:00"); // Sunday
        assert!(!h.is_open(t, &tz));
    }

    #[test]
    fn dst_change_keeps_wall_clock_hours() {
        let h = BusinessHours::default();
        // US DST began 2026-03-08; Monday 2026-03-09 09:30 EDT is 13:30 UTC, a week before it was 14:30 UTC.
        let tz = TimeZone::get("America/New_York").unwrap();
        assert!(h.is_open("2026-03-09T13:30:00Z".parse().unwrap(), &tz));
        assert!(!h.is_open("2026-03-02T13:30:00Z".parse().unwrap(), &tz));
        assert!(h.is_open("2026-03-02T14:30:00Z".parse().unwrap(), &tz));
    }

    #[test]
    fn overnight_windows_and_holidays() {
        let mut h = BusinessHours {
            friday: vec![],
            ..Default::default()
        };
        h.friday = vec![TimeWindow {
            open: ClockTime::parse("22:00").unwrap(),
            close: ClockTime::parse("02:00").unwrap(),
        }];
        // Friday 2026-11-27 23:00 open; Saturday 01:59 open; Saturday 02:00 closed.
        let (t, tz) = at("Europe/Paris", "2026-11-27T23:00");
        assert!(h.is_open(t, &tz));
        let (t, tz) = at("Europe/Paris", "2026-11-28T01:59");
        assert!(h.is_open(t, &tz));
        let (t, tz) = at("Europe/Paris", "2026-11-28T02:00");
        assert!(!h.is_open(t, &tz));
        h.holidays.push("2026-11-28".parse().unwrap());
        let (t, tz) = at("Europe/Paris", "2026-11-28T01:00");
        assert!(!h.is_open(t, &tz));
    }

    #[test]
    fn parses_and_rejects_times() {
        assert_eq!(ClockTime::parse("24:00").unwrap().minutes(), 1440);
        for bad in ["9:00", "25:00", "12:60", "24:01", "noon", ""] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
        let h: Result<BusinessHours, _> =
            serde_json::from_str(r#"{"monday":[{"open":"09:00","close":"09:00"}]}"#);
        assert!(h.unwrap().validate("businessHours").is_err());
    }
}
