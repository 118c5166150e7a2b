//! Appointments pushed by the host app, and the texts they drive: the confirmation and reminder SMS
//! (seed 000's `appointment-confirmation` / `appointment-reminder`) with their wording rules.
//!
//! An upsert writes the appointment, its reminder jobs ([`super::reminders::schedule`]) and any
//! confirmation in one transaction, so a booking and the promise to remind its customer commit
//! together. Dates and times in texts are the tenant's wall clock, never the server's.

use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::reminders;
use super::texts::{confirmation_sms, local, reminder_sms};
use crate::calls::logs::{Bound, parse_date};
use crate::clock::rfc3339;
use crate::db::{
    self,
    appointments::{Appointment, AppointmentFilter, BOOKED, CANCELED},
    notifications::Notification,
    tenants::Tenant,
};
use crate::domain::{E164, ValidationError, new_id, text};
use crate::failure::Failure;
use crate::messaging::notifications::{self as notify};
use crate::state::AppState;

/// Longest host-app appointment id.
pub const MAX_EXTERNAL_ID: usize = 128;

/// An appointment as the host app sends it (`POST /appointments`, `PUT /appointments/{id}`).
/// Every upsert replaces the whole appointment: an absent optional field is cleared.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppointmentInput {
    /// The host app's id for the appointment, 1-128 characters. Required on POST; on PUT the path
    /// names it and this, when present, must be the same.
    #[schema(example = "apt_8412", min_length = 1, max_length = 128)]
    pub id: Option<String>,
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub customer_name: String,
    pub customer_phone: E164,
    /// One of the tenant's staff ids; its name fills `staffName` when that is absent.
    pub staff_id: Option<String>,
    /// Up to 200 characters.
    pub staff_name: Option<String>,
    /// Up to 200 characters, e.g. "Haircut".
    pub service: Option<String>,
    /// ISO 8601 instant with an offset.
    #[schema(example = "2026-11-23T14:30:00-05:00")]
    pub start_time: String,
    /// BOOKED (default) or CANCELED.
    #[schema(example = "BOOKED")]
    pub status: Option<String>,
    /// Also queue the confirmation SMS, once per booked time and never for a canceled or past
    /// appointment (default false; seed-000 clients call `/appointment-confirmation` instead).
    pub send_confirmation: Option<bool>,
}

/// An appointment as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentView {
    /// The host app's id (the one it sent).
    pub id: String,
    /// Switchboard's own id; also accepted wherever an appointment id is.
    pub switchboard_id: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub service: Option<String>,
    /// RFC 3339 UTC.
    #[schema(example = "2026-11-23T19:30:00.000Z")]
    pub start_time: String,
    /// The same instant on the tenant's wall clock, RFC 3339 with its offset.
    #[schema(example = "2026-11-23T14:30:00-05:00")]
    pub start_time_local: String,
    /// The tenant's IANA time zone, which `startTimeLocal` and the texts use.
    pub time_zone: String,
    /// BOOKED or CANCELED.
    pub status: String,
    /// Grows when the start time or status changes (reminders are rescheduled).
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl AppointmentView {
    pub fn new(a: &Appointment, tenant: &Tenant) -> Self {
        let tz = tenant.time_zone.time_zone();
        AppointmentView {
            id: a.external_id.clone(),
            switchboard_id: a.id.clone(),
            customer_name: a.customer_name.clone(),
            customer_phone: a.customer_phone.clone(),
            staff_id: a.staff_id.clone(),
            staff_name: a.staff_name.clone(),
            service: a.service.clone(),
            start_time: rfc3339(a.starts_at),
            start_time_local: local(a.starts_at, &tz)
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            time_zone: tenant.time_zone.to_string(),
            status: a.status.clone(),
            version: a.version,
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

/// `{"appointments": [...], "total", "limit", "offset"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentList {
    pub appointments: Vec<AppointmentView>,
    /// How many appointments match, across all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The query of an appointment listing. Empty values count as absent.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery {
    /// Appointments starting at or after this: a date (its start in the tenant's time zone) or an instant.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub from: Option<String>,
    /// Appointments starting before the end of this date (tenant's zone), or at or before this instant.
    #[param(schema_with = crate::domain::query_values::date_or_instant)]
    pub to: Option<String>,
    /// BOOKED or CANCELED.
    #[param(schema_with = crate::domain::query_values::appointment_status)]
    pub status: Option<String>,
    /// Page size, default 50; values above 100 are treated as 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Appointments to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `{"appointmentId": …}` of the seed-000 send endpoints. Other fields are accepted and ignored
/// (a seed route).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentRef {
    /// The host app's appointment id or Switchboard's.
    #[schema(min_length = 1, max_length = 128)]
    pub appointment_id: String,
}

/// The result of an upsert.
#[derive(Debug, Clone)]
pub struct Upserted {
    pub appointment: Appointment,
    /// False when an existing appointment was updated.
    pub created: bool,
}

/// An upsert's input once every field is checked.
struct Checked {
    external_id: String,
    customer_name: String,
    customer_phone: E164,
    staff_id: Option<String>,
    staff_name: Option<String>,
    service: Option<String>,
    starts_at: i64,
    status: &'static str,
    send_confirmation: bool,
}

/// Checks the host app's id: 1-128 characters, no control characters.
pub fn external_id(field: &str, v: &str) -> Result<String, ValidationError> {
    text::required(field, v, MAX_EXTERNAL_ID)
}

/// Reads `startTime`: an ISO 8601 instant that names its offset (`Z` or `±HH:MM`). A wall-clock
/// time alone is refused rather than guessed, because the host app knows which instant it booked.
pub fn start_time(field: &str, v: &str) -> Result<i64, ValidationError> {
    let bad = || {
        ValidationError::new(
            field,
            "must be an ISO 8601 date-time with an offset, like 2026-11-23T14:30:00-05:00 or 2026-11-23T19:30:00Z",
        )
    };
    let t: Timestamp = v.trim().parse().map_err(|_| bad())?;
    // Far outside any real booking, and far enough from jiff's limits that arithmetic on it is safe.
    let lo: Timestamp = "2000-01-01T00:00:00Z".parse().map_err(|_| bad())?;
    let hi: Timestamp = "2100-01-01T00:00:00Z".parse().map_err(|_| bad())?;
    if t < lo || t >= hi {
        return Err(ValidationError::new(
            field,
            "must be between the years 2000 and 2099",
        ));
    }
    Ok(t.as_millisecond())
}

/// Reads a status: BOOKED or CANCELED, any case, "cancelled" too.
pub fn status(field: &str, v: &str) -> Result<&'static str, ValidationError> {
    match v
        .trim()
        .to_ascii_uppercase()
        .replace("CANCELLED", "CANCELED")
        .as_str()
    {
        "BOOKED" => Ok(BOOKED),
        "CANCELED" => Ok(CANCELED),
        _ => Err(ValidationError::new(field, "must be BOOKED or CANCELED")),
    }
}

async fn check(
    state: &AppState,
    tenant: &Tenant,
    path_id: Option<&str>,
    input: AppointmentInput,
) -> Result<Checked, Failure> {
    let external_id = match (path_id, input.id.as_deref()) {
        (Some(p), Some(b)) if p.trim() != b.trim() => {
            return Err(Failure::invalid(
                "id",
                "must match the id in the path (or be left out)",
            ));
        }
        (Some(p), _) => external_id("id", p)?,
        (None, Some(b)) => external_id("id", b)?,
        (None, None) => return Err(Failure::invalid("id", "is required")),
    };
    let customer_name = text::required("customerName", &input.customer_name, 200)?;
    let starts_at = start_time("startTime", &input.start_time)?;
    let status = input
        .status
        .as_deref()
        .map(|s| status("status", s))
        .transpose()?
        .unwrap_or(BOOKED);
    let service = input
        .service
        .as_deref()
        .map(|s| text::optional("service", s, 200))
        .transpose()?
        .flatten();
    let mut staff_name = input
        .staff_name
        .as_deref()
        .map(|s| text::optional("staffName", s, 200))
        .transpose()?
        .flatten();
    let staff_id = match input.staff_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => {
            let staff = db::staff::get(&state.db, &tenant.id, id)
                .await?
                .ok_or_else(|| {
                    Failure::invalid("staffId", "is not one of this tenant's staff members")
                })?;
            staff_name.get_or_insert(staff.name);
            Some(staff.id)
        }
    };
    Ok(Checked {
        external_id,
        customer_name,
        customer_phone: input.customer_phone,
        staff_id,
        staff_name,
        service,
        starts_at,
        status,
        send_confirmation: input.send_confirmation.unwrap_or(false),
    })
}

/// Creates or replaces the tenant's appointment named by the host app's id (`path_id` for PUT, the
/// body's `id` for POST), schedules its reminders and, when asked, queues its confirmation, all in
/// one transaction. A new start time or status bumps the version, which retires earlier reminders.
pub async fn upsert(
    state: &AppState,
    tenant: &Tenant,
    path_id: Option<&str>,
    input: AppointmentInput,
) -> Result<Upserted, Failure> {
    let c = check(state, tenant, path_id, input).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let mut existing =
        db::appointments::get_by_external_for_update(&mut tx, &tenant.id, &c.external_id).await?;
    let mut created = false;
    if existing.is_none() {
        let a = Appointment {
            id: new_id(),
            tenant_id: tenant.id.clone(),
            external_id: c.external_id.clone(),
            customer_name: c.customer_name.clone(),
            customer_phone: c.customer_phone.to_string(),
            staff_id: c.staff_id.clone(),
            staff_name: c.staff_name.clone(),
            service: c.service.clone(),
            starts_at: c.starts_at,
            status: c.status.to_string(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        if db::appointments::insert(&mut tx, &a).await? {
            existing = Some(a);
            created = true;
        } else {
            // A concurrent request created it first; update what it wrote.
            existing =
                db::appointments::get_by_external_for_update(&mut tx, &tenant.id, &c.external_id)
                    .await?;
        }
    }
    let mut a = existing.ok_or_else(|| Failure::internal("appointment vanished mid-upsert"))?;
    if !created {
        let mut next = a.clone();
        next.customer_name = c.customer_name;
        next.customer_phone = c.customer_phone.to_string();
        next.staff_id = c.staff_id;
        next.staff_name = c.staff_name;
        next.service = c.service;
        next.starts_at = c.starts_at;
        next.status = c.status.to_string();
        if next.starts_at != a.starts_at || next.status != a.status {
            next.version += 1;
        }
        // A repeated identical upsert (a client retry) writes nothing.
        if next != a {
            next.updated_at = now;
            db::appointments::update(&mut tx, &next).await?;
            a = next;
        }
    }
    reminders::schedule(state, &mut tx, tenant, &a).await?;
    if c.send_confirmation && a.status == BOOKED && a.starts_at > now {
        let mut sms = confirmation_sms(tenant, &a, now)?;
        // One confirmation per booked time, however often the host app repeats the upsert.
        sms.idempotency_key = Some(format!("confirmation:{}:{}", a.id, a.version));
        notify::queue(state, &mut tx, sms).await?;
    }
    tx.commit().await?;
    state.job_wakeup.notify_waiters();
    Ok(Upserted {
        appointment: a,
        created,
    })
}

/// Cancels the tenant's appointment (`key`: the host app's id or Switchboard's). Idempotent: an
/// already cancelled appointment is returned unchanged. Pending reminders finish as no-ops.
pub async fn cancel(state: &AppState, tenant: &Tenant, key: &str) -> Result<Appointment, Failure> {
    let found = get(state, &tenant.id, key).await?;
    let mut tx = state.db.begin().await?;
    let mut a =
        db::appointments::get_by_external_for_update(&mut tx, &tenant.id, &found.external_id)
            .await?
            .ok_or_else(|| Failure::not_found("appointment"))?;
    if a.status != CANCELED {
        a.status = CANCELED.to_string();
        a.version += 1;
        a.updated_at = state.clock.now_ms();
        db::appointments::update(&mut tx, &a).await?;
    }
    tx.commit().await?;
    Ok(a)
}

/// The tenant's appointment by the host app's id or Switchboard's; another tenant's is unknown.
pub async fn get(state: &AppState, tenant_id: &str, key: &str) -> Result<Appointment, Failure> {
    db::appointments::find(&state.db, tenant_id, key.trim())
        .await?
        .ok_or_else(|| Failure::not_found("appointment"))
}

/// A page of the tenant's appointments in start order.
pub async fn list(
    state: &AppState,
    tenant: &Tenant,
    q: &AppointmentQuery,
) -> Result<AppointmentList, Failure> {
    let tz = tenant.time_zone.time_zone();
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let from_ms = present(&q.from)
        .map(|s| parse_date("from", &s, &tz, Bound::Start))
        .transpose()?;
    let to_ms = present(&q.to)
        .map(|s| parse_date("to", &s, &tz, Bound::End))
        .transpose()?;
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f >= t
    {
        return Err(Failure::invalid("from", "must not be after to"));
    }
    let status = present(&q.status)
        .map(|s| status("status", &s))
        .transpose()?
        .map(str::to_string);
    let (limit, offset) = crate::domain::paging::page(q.limit, q.offset)?;
    let filter = AppointmentFilter {
        from_ms,
        to_ms,
        status,
    };
    let (rows, total) =
        db::appointments::list(&state.db, &tenant.id, &filter, limit, offset).await?;
    Ok(AppointmentList {
        appointments: rows
            .iter()
            .map(|a| AppointmentView::new(a, tenant))
            .collect(),
        total,
        limit,
        offset,
    })
}

/// Which text a send endpoint queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Confirmation,
    Reminder,
}

/// Queues the confirmation or reminder SMS for the tenant's appointment `key` now (seed 000's
/// send endpoints). Refuses a cancelled or already started appointment with 409: texting a customer
/// about a booking that no longer stands would mislead them. With an `Idempotency-Key`, a repeated
/// request queues nothing new.
pub async fn send_now(
    state: &AppState,
    tenant: &Tenant,
    key: &str,
    which: Text,
    idempotency_key: Option<&str>,
) -> Result<Notification, Failure> {
    let a = get(state, &tenant.id, key).await?;
    let now = state.clock.now_ms();
    if a.status == CANCELED {
        return Err(Failure::refused(
            StatusCode::CONFLICT,
            "APPOINTMENT_CANCELED",
            "the appointment is canceled; no text was sent",
        )
        .with_field("appointmentId"));
    }
    if a.starts_at <= now {
        return Err(Failure::refused(
            StatusCode::CONFLICT,
            "APPOINTMENT_STARTED",
            "the appointment has already started; no text was sent",
        )
        .with_field("appointmentId"));
    }
    let (mut sms, prefix) = match which {
        Text::Confirmation => (
            confirmation_sms(tenant, &a, now)?,
            "appointment-confirmation",
        ),
        Text::Reminder => (reminder_sms(tenant, &a, now)?, "appointment-reminder"),
    };
    // The tenant's idempotency keys are shared with the SMS API: namespace ours.
    sms.idempotency_key = idempotency_key.map(|k| format!("{prefix}:{k}"));
    Ok(notify::queue_now(state, sms).await?.notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc: &str) -> i64 {
        rfc.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn start_time_needs_an_offset() {
        assert_eq!(
            start_time("startTime", "2026-11-23T14:30:00-05:00").unwrap(),
            ms("2026-11-23T19:30:00Z")
        );
        for bad in [
            "2026-11-23T14:30:00",
            "2026-11-23",
            "tomorrow",
            "1899-01-01T00:00:00Z",
        ] {
            assert_eq!(
                start_time("startTime", bad).unwrap_err().field,
                "startTime",
                "{bad}"
            );
        }
    }
}
