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
mod query;
mod report;
pub mod stats;
pub mod store;
pub mod usage;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use query::*;
pub use report::*;
pub use store::Scope;

/// The most buckets one answer has (about 2¾ years of days); longer ranges need a coarser granularity.
pub const MAX_BUCKETS: usize = 1000;
/// The default range: the 30 local days up to and including today.
pub const DEFAULT_DAYS: i64 = 30;
/// The key of calls with no recorded reason in `byReason`.
pub const UNCLASSIFIED: &str = "UNCLASSIFIED";

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
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

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
