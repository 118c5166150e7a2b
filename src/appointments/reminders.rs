//! Scheduled appointment reminders: one durable `appointment.reminder` job per configured offset,
//! written in the transaction that books or moves the appointment, and the handler that turns a due
//! job into a reminder SMS.
//!
//! Jobs are never hunted down and deleted. Each carries the appointment version it was scheduled for;
//! moving or cancelling the appointment bumps the version, so older jobs find a stale version when they
//! run and finish as no-ops. Exactly-once comes from two keys: the job's dedupe key (one job per
//! appointment, offset and version, however often the host app repeats an upsert) and the same string
//! as the notification's idempotency key (one SMS even when a job runs twice after a crash).

use jiff::ToSpan;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::texts::{local, reminder_sms, reminder_text};
use crate::db::StoreError;
use crate::db::{
    self, Tx,
    appointments::{Appointment, BOOKED},
    notifications::Notification,
    tenants::Tenant,
};
use crate::domain::messaging::QuietHours;
use crate::domain::new_id;
use crate::jobs::{Job, JobError, JobHandler, JobKind};
use crate::messaging::notifications;
use crate::state::AppState;

/// The job kind.
pub const REMINDER_JOB: &str = "appointment.reminder";

/// The failure reason recorded when a reminder comes due only after its appointment began (the
/// service was down): a reminder for the past would only confuse the customer.
pub const SKIPPED_STARTED: &str = "reminder skipped: the appointment had already started";

const MINUTE_MS: i64 = 60_000;

/// What a reminder job carries: ids and the version, never a copy of the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderPayload {
    /// Switchboard's appointment id (external ids are only unique per tenant).
    pub appointment_id: String,
    pub offset_minutes: u32,
    pub version: i64,
}

/// The job dedupe key and notification idempotency key of one reminder.
pub fn reminder_key(appointment_id: &str, offset_minutes: u32, version: i64) -> String {
    format!("reminder:{appointment_id}:{offset_minutes}:{version}")
}

/// When the reminder `offset_minutes` before `start_ms` should go out: that many real minutes before
/// the instant (so across a DST change "24 hours before" is 24 elapsed hours), moved out of the
/// tenant's quiet hours, which are wall-clock times in `tz`. A time inside the quiet window moves
/// to the window's end; when that end is not before the appointment (a 7 AM booking, quiet until
/// 8 AM) it moves instead to one minute before the window began, so the customer still hears first.
pub fn planned_run_at(
    start_ms: i64,
    offset_minutes: u32,
    tz: &TimeZone,
    quiet: Option<&QuietHours>,
) -> i64 {
    let at = start_ms - i64::from(offset_minutes) * MINUTE_MS;
    let Some((window_start, window_end)) = quiet.and_then(|q| quiet_window(at, tz, q)) else {
        return at;
    };
    if window_end < start_ms {
        window_end
    } else {
        window_start - MINUTE_MS
    }
}

/// The quiet window (start, end as epoch ms) that contains `at_ms`, if any.
fn quiet_window(at_ms: i64, tz: &TimeZone, q: &QuietHours) -> Option<(i64, i64)> {
    let here = local(at_ms, tz);
    let minute = u16::try_from(here.hour() as i64 * 60 + here.minute() as i64).ok()?;
    if !q.contains(minute) {
        return None;
    }
    let (s, e) = (i64::from(q.start.minutes()), i64::from(q.end.minutes()));
    let today = here.date();
    // An overnight window (21:00-08:00) seen in its morning part began the evening before.
    let (start_day, end_day) = if s < e {
        (today, today)
    } else if i64::from(minute) >= s {
        (today, today.tomorrow().ok()?)
    } else {
        (today.yesterday().ok()?, today)
    };
    let at = |day: jiff::civil::Date, minutes: i64| -> Option<i64> {
        // Minutes from midnight rather than a clock time, so 24:00 is the next midnight.
        let dt: DateTime = day.to_datetime(jiff::civil::Time::midnight());
        let dt = dt.checked_add(minutes.minutes()).ok()?;
        // A wall time the clocks skip resolves to just after the gap ("compatible"), as hours do.
        Some(dt.to_zoned(tz.clone()).ok()?.timestamp().as_millisecond())
    };
    Some((at(start_day, s)?, at(end_day, e)?))
}

/// Enqueues, inside `tx`, the reminder jobs of `a` for its current version: one per offset in the
/// tenant's `reminderOffsetsMinutes`, due at [`planned_run_at`]. Nothing for a cancelled
/// appointment, for a reminder whose time has passed, or twice for one time (two offsets that quiet
/// hours moved to the same minute). Repeating it for an unchanged appointment adds nothing (dedupe
/// keys). Returns how many jobs were new.
pub async fn schedule(
    state: &AppState,
    tx: &mut Tx,
    tenant: &Tenant,
    a: &Appointment,
) -> Result<usize, StoreError> {
    if a.status != BOOKED {
        return Ok(0);
    }
    let now = state.clock.now_ms();
    let tz = tenant.time_zone.time_zone();
    let mut offsets = tenant.messaging.reminder_offsets_minutes.clone();
    // Earliest reminder first, so of two that land on one minute the longer notice is the one kept.
    offsets.sort_unstable_by(|x, y| y.cmp(x));
    offsets.dedup();
    let mut planned: Vec<i64> = Vec::new();
    let mut added = 0;
    for offset in offsets {
        let run_at = planned_run_at(
            a.starts_at,
            offset,
            &tz,
            tenant.messaging.quiet_hours.as_ref(),
        );
        if run_at < now || run_at >= a.starts_at || planned.contains(&run_at) {
            continue;
        }
        planned.push(run_at);
        let key = reminder_key(&a.id, offset, a.version);
        let payload = ReminderPayload {
            appointment_id: a.id.clone(),
            offset_minutes: offset,
            version: a.version,
        };
        let job = ReminderJob::new_job(&payload)
            .tenant(a.tenant_id.clone())
            .at(run_at)
            .dedupe(key);
        if state.enqueue(tx, job).await?.is_some() {
            added += 1;
        }
    }
    Ok(added)
}

/// Runs `appointment.reminder` jobs.
pub struct ReminderJob;

impl JobKind for ReminderJob {
    const KIND: &'static str = REMINDER_JOB;
    type Payload = ReminderPayload;
}

fn retryable(e: StoreError) -> JobError {
    JobError::retryable(e.to_string())
}

#[async_trait::async_trait]
impl JobHandler<AppState> for ReminderJob {
    fn kind(&self) -> &'static str {
        <Self as JobKind>::KIND
    }

    async fn run(&self, state: &AppState, job: &Job) -> Result<(), JobError> {
        let p = <Self as JobKind>::decode(job)?;
        // A cheap look first, outside any transaction: most stale jobs end here. The tenant is read
        // before the transaction opens, so a run never holds two pooled connections at once.
        let Some(seen) = db::appointments::find_by_id(&state.db, &p.appointment_id)
            .await
            .map_err(retryable)?
        else {
            tracing::info!(job = %job.id, appointment = %p.appointment_id, "reminder: appointment is gone; nothing to send");
            return Ok(());
        };
        if let Some(why) = stale(&seen, &p) {
            tracing::info!(job = %job.id, appointment = %p.appointment_id, why, "reminder not sent");
            return Ok(());
        }
        let Some(tenant) = db::tenants::get(&state.db, &seen.tenant_id)
            .await
            .map_err(retryable)?
        else {
            return Ok(());
        };
        let mut tx = state.db.begin().await.map_err(retryable)?;
        // Again under the row lock: a move committed since the first look wins.
        let Some(a) = db::appointments::get_by_id_tx(&mut tx, &p.appointment_id)
            .await
            .map_err(retryable)?
        else {
            return Ok(());
        };
        if let Some(why) = stale(&a, &p) {
            tracing::info!(job = %job.id, appointment = %a.id, why, "reminder not sent");
            return Ok(());
        }
        let key = reminder_key(&a.id, p.offset_minutes, p.version);
        let now = state.clock.now_ms();
        if now >= a.starts_at {
            record_skipped(state, &mut tx, &tenant, &a, &p, key)
                .await
                .map_err(retryable)?;
            tx.commit().await.map_err(retryable)?;
            tracing::warn!(job = %job.id, appointment = %a.id, "{SKIPPED_STARTED}");
            return Ok(());
        }
        let mut sms =
            reminder_sms(&tenant, &a, now).map_err(|e| JobError::permanent(e.describe()))?;
        sms.idempotency_key = Some(key);
        notifications::queue(state, &mut tx, sms)
            .await
            .map_err(retryable)?;
        tx.commit().await.map_err(retryable)?;
        state.job_wakeup.notify_waiters();
        Ok(())
    }
}

/// Why a reminder for `p` no longer applies to `a`, if it does not.
fn stale(a: &Appointment, p: &ReminderPayload) -> Option<&'static str> {
    if a.version != p.version {
        Some("the appointment changed since this reminder was scheduled")
    } else if a.status != BOOKED {
        Some("the appointment is canceled")
    } else {
        None
    }
}

/// Leaves a FAILED notification saying why the customer got no reminder, so the tenant sees it in
/// its notification history instead of wondering. It has no send job; the reminder's idempotency key
/// keeps a re-run from recording it twice.
async fn record_skipped(
    state: &AppState,
    tx: &mut Tx,
    tenant: &Tenant,
    a: &Appointment,
    p: &ReminderPayload,
    key: String,
) -> Result<(), StoreError> {
    let now = state.clock.now_ms();
    let due = a.starts_at - i64::from(p.offset_minutes) * MINUTE_MS;
    // The text it would have been, worded as of when it was due.
    let message = reminder_text(tenant, a, due);
    let n = Notification {
        id: new_id(),
        tenant_id: tenant.id.clone(),
        r#type: "SMS".into(),
        recipient: a.customer_phone.clone(),
        segments: i64::from(switchboard_twilio::segments::count(&message)),
        message,
        status: crate::domain::states::NotificationStatus::Failed,
        kind: notifications::NotificationKind::AppointmentReminder
            .as_str()
            .into(),
        related_appointment_id: Some(a.external_id.clone()),
        related_call_sid: None,
        staff_id: None,
        idempotency_key: Some(key),
        twilio_sid: None,
        error_code: None,
        failure_reason: Some(SKIPPED_STARTED.into()),
        attempts: 0,
        sending_started_at: None,
        sent_at: None,
        delivered_at: None,
        scheduled_for: Some(due),
        metadata: None,
        created_at: now,
        updated_at: now,
    };
    db::notifications::insert(tx, &n).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hours::ClockTime;
    use jiff::Timestamp;

    fn ms(rfc: &str) -> i64 {
        rfc.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn quiet(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: ClockTime::parse(start).unwrap(),
            end: ClockTime::parse(end).unwrap(),
        }
    }

    #[test]
    fn offsets_are_real_elapsed_time_across_dst() {
        // New York springs forward on 2026-03-08: 10:00 EDT that day is 14:00 UTC; 24 real hours
        // earlier is 09:00 EST the day before, not 10:00.
        let start = ms("2026-03-08T14:00:00Z");
        assert_eq!(
            planned_run_at(start, 1440, &ny(), None),
            ms("2026-03-07T14:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_move_to_their_end() {
        let q = quiet("21:00", "08:00");
        // Due 23:00 local (EST, UTC-5): moves to 08:00 the next morning, before a 10:00 start.
        let start = ms("2026-11-24T15:00:00Z"); // 10:00 EST
        assert_eq!(
            planned_run_at(start, 11 * 60, &ny(), Some(&q)),
            ms("2026-11-24T13:00:00Z")
        );
        // Due 06:00 local, inside the morning part of the window: 08:00 the same day.
        assert_eq!(
            planned_run_at(start, 4 * 60, &ny(), Some(&q)),
            ms("2026-11-24T13:00:00Z")
        );
        // Outside the window: unchanged.
        assert_eq!(
            planned_run_at(start, 60, &ny(), Some(&q)),
            ms("2026-11-24T14:00:00Z")
        );
        // A same-day window (12:00-14:00): 13:00 moves to 14:00.
        let lunch = quiet("12:00", "14:00");
        let start = ms("2026-11-24T22:00:00Z"); // 17:00 EST
        assert_eq!(
            planned_run_at(start, 4 * 60, &ny(), Some(&lunch)),
            ms("2026-11-24T19:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_ending_after_the_start_send_the_evening_before() {
        let q = quiet("21:00", "08:00");
        // A 07:00 appointment, reminder due 05:00: 08:00 would be too late, so 20:59 the day before.
        let start = ms("2026-11-24T12:00:00Z");
        assert_eq!(
            planned_run_at(start, 120, &ny(), Some(&q)),
            ms("2026-11-24T01:59:00Z")
        );
    }

    #[test]
    fn quiet_hours_may_end_at_midnight() {
        let q = quiet("22:00", "24:00");
        let start = ms("2026-11-25T15:00:00Z"); // 10:00 EST on the 25th
        // Due 23:00 on the 24th: moves to midnight.
        assert_eq!(
            planned_run_at(start, 11 * 60, &ny(), Some(&q)),
            ms("2026-11-25T05:00:00Z")
        );
    }

    #[test]
    fn keys_name_appointment_offset_and_version() {
        assert_eq!(reminder_key("a1", 1440, 3), "reminder:a1:1440:3");
    }
}
