//! The texts an appointment drives: the confirmation and reminder SMS (seed 000's
//! `appointment-confirmation` / `appointment-reminder`) with their wording rules. Dates and times
//! are the tenant's wall clock, never the server's; the tenant's templates may replace the wording.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::db::{appointments::Appointment, tenants::Tenant};
use crate::domain::E164;
use crate::failure::Failure;
use crate::messaging::notifications::{NewSms, NotificationKind};

/// Twilio's longest message body; a long template expansion is cut to fit.
const MAX_SMS_CHARS: usize = 1600;

/// The confirmation SMS for `a` as worded at `now_ms`, not yet queued.
pub fn confirmation_sms(tenant: &Tenant, a: &Appointment, now_ms: i64) -> Result<NewSms, Failure> {
    let text = confirmation_text(tenant, a, now_ms);
    sms(tenant, a, NotificationKind::AppointmentConfirmation, text)
}

/// The reminder SMS for `a` as worded at `now_ms`, not yet queued.
pub fn reminder_sms(tenant: &Tenant, a: &Appointment, now_ms: i64) -> Result<NewSms, Failure> {
    let text = reminder_text(tenant, a, now_ms);
    sms(tenant, a, NotificationKind::AppointmentReminder, text)
}

fn sms(
    tenant: &Tenant,
    a: &Appointment,
    kind: NotificationKind,
    text: String,
) -> Result<NewSms, Failure> {
    let to = E164::parse("customerPhone", &a.customer_phone).map_err(Failure::internal)?;
    let mut sms = NewSms::new(tenant.id.clone(), kind, to, text);
    // The host app's id: seed 000's relatedAppointmentId points at the host's appointments.
    sms.related_appointment_id = Some(a.external_id.clone());
    Ok(sms)
}

/// `ms` on `tz`'s wall clock.
pub fn local(ms: i64, tz: &TimeZone) -> jiff::Zoned {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
}

/// "Monday, November 23".
pub fn format_date(z: &jiff::Zoned) -> String {
    z.strftime("%A, %B %-d").to_string()
}

/// "2:30 PM".
pub fn format_time(z: &jiff::Zoned) -> String {
    z.strftime("%-I:%M %p").to_string()
}

/// How far off the appointment is, for reminders: "in less than 2 hours" when it starts within two
/// hours, else "today", "tomorrow" or "in N days" by calendar days on the tenant's wall clock (so a
/// 23-hour DST day or a late-evening reminder still says "tomorrow" for the next local date).
pub fn when_phrase(now_ms: i64, start_ms: i64, tz: &TimeZone) -> String {
    if start_ms - now_ms < 2 * 60 * 60 * 1000 {
        return "in less than 2 hours".into();
    }
    let days = local(now_ms, tz)
        .date()
        .until(local(start_ms, tz).date())
        .map(|s| s.get_days())
        .unwrap_or(0);
    match days {
        ..=0 => "today".into(),
        1 => "tomorrow".into(),
        n => format!("in {n} days"),
    }
}

/// The values a template's placeholders take.
struct Fields {
    customer_name: String,
    service: Option<String>,
    staff_name: Option<String>,
    business_name: String,
    date: String,
    time: String,
    when: String,
}

fn fields(tenant: &Tenant, a: &Appointment, now_ms: i64) -> Fields {
    let tz = tenant.time_zone.time_zone();
    let start = local(a.starts_at, &tz);
    Fields {
        customer_name: a.customer_name.clone(),
        service: a.service.clone(),
        staff_name: a.staff_name.clone(),
        business_name: tenant.name.clone(),
        date: format_date(&start),
        time: format_time(&start),
        when: when_phrase(now_ms, a.starts_at, &tz),
    }
}

/// The confirmation text: the tenant's `appointmentConfirmation` template, or "Hi {customerName},
/// your appointment for {service} with {staffName} at {businessName} is confirmed for {date} at
/// {time}." with the service and staff phrases left out when unknown. `now_ms` only matters to a
/// template that uses {when}.
pub fn confirmation_text(tenant: &Tenant, a: &Appointment, now_ms: i64) -> String {
    let f = fields(tenant, a, now_ms);
    if let Some(t) = &tenant.templates.appointment_confirmation {
        return fill(t, &f);
    }
    let mut s = format!("Hi {}, your appointment", f.customer_name);
    if let Some(service) = &f.service {
        s.push_str(&format!(" for {service}"));
    }
    if let Some(staff) = &f.staff_name {
        s.push_str(&format!(" with {staff}"));
    }
    s.push_str(&format!(
        " at {} is confirmed for {} at {}.",
        f.business_name, f.date, f.time
    ));
    clip(s)
}

/// The reminder text as of `now_ms`: the tenant's `appointmentReminder` template, or "Hi
/// {customerName}, this is a reminder that your appointment at {businessName} is {when} at {time}."
pub fn reminder_text(tenant: &Tenant, a: &Appointment, now_ms: i64) -> String {
    let f = fields(tenant, a, now_ms);
    if let Some(t) = &tenant.templates.appointment_reminder {
        return fill(t, &f);
    }
    clip(format!(
        "Hi {}, this is a reminder that your appointment at {} is {} at {}.",
        f.customer_name, f.business_name, f.when, f.time
    ))
}

/// The placeholders of the appointment texts, as the console lists them.
pub const PLACEHOLDERS: &str =
    "{customerName}, {service}, {staffName}, {businessName}, {date}, {time}, {when}";

/// `template` filled as an appointment text fills it, for a sample appointment: customer Alex, a
/// haircut with `staff_name`, tomorrow at 14:30 on the tenant's clock (the console's preview).
pub fn preview(tenant: &Tenant, template: &str, staff_name: &str, now_ms: i64) -> String {
    let tz = tenant.time_zone.time_zone();
    let start = local(now_ms, &tz)
        .date()
        .tomorrow()
        .ok()
        .and_then(|d| d.at(14, 30, 0, 0).to_zoned(tz.clone()).ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(now_ms + 86_400_000);
    let at = local(start, &tz);
    let f = Fields {
        customer_name: "Alex".into(),
        service: Some("Haircut".into()),
        staff_name: Some(staff_name.into()),
        business_name: tenant.name.clone(),
        date: format_date(&at),
        time: format_time(&at),
        when: when_phrase(now_ms, start, &tz),
    };
    fill(template, &f)
}

/// Fills a tenant template. Placeholders: {customerName}, {service}, {staffName}, {businessName}
/// (also {name}, as in greetings), {date}, {time}, {when}. An unknown service or staff name leaves
/// its placeholder empty, and the doubled spaces that leaves are closed up.
fn fill(template: &str, f: &Fields) -> String {
    let pairs = [
        ("{customerName}", Some(f.customer_name.as_str())),
        ("{service}", f.service.as_deref()),
        ("{staffName}", f.staff_name.as_deref()),
        ("{businessName}", Some(f.business_name.as_str())),
        ("{name}", Some(f.business_name.as_str())),
        ("{date}", Some(f.date.as_str())),
        ("{time}", Some(f.time.as_str())),
        ("{when}", Some(f.when.as_str())),
    ];
    let out = crate::domain::template::fill(template, &pairs);
    clip(out)
}

fn clip(s: String) -> String {
    if s.chars().count() <= MAX_SMS_CHARS {
        s
    } else {
        s.chars().take(MAX_SMS_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::appointments::BOOKED;
    use crate::domain::{Slug, SubscriptionStatus, Templates, TimeZoneName};

    fn ms(rfc: &str) -> i64 {
        rfc.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn tenant(templates: Templates) -> Tenant {
        Tenant {
            id: "t1".into(),
            name: "Bella Salon".into(),
            slug: Slug::parse("s", "bella").unwrap(),
            time_zone: TimeZoneName::parse("tz", "America/New_York").unwrap(),
            twilio_number: None,
            twilio_number_sid: None,
            subscription_status: SubscriptionStatus::Active,
            stripe_customer_id: None,
            business_hours: Default::default(),
            routing_policy: Default::default(),
            templates,
            messaging: Default::default(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn appt(service: Option<&str>, staff: Option<&str>, start: &str) -> Appointment {
        Appointment {
            id: "a1".into(),
            tenant_id: "t1".into(),
            external_id: "ext-1".into(),
            customer_name: "Jane".into(),
            customer_phone: "+14155550100".into(),
            staff_id: None,
            staff_name: staff.map(Into::into),
            service: service.map(Into::into),
            starts_at: ms(start),
            status: BOOKED.into(),
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn confirmation_wording_leaves_out_what_is_unknown() {
        let t = tenant(Templates::default());
        // 19:30 UTC is 2:30 PM in New York in November (EST).
        let a = appt(Some("Haircut"), Some("Ann"), "2026-11-23T19:30:00Z");
        assert_eq!(
            confirmation_text(&t, &a, 0),
            "Hi Jane, your appointment for Haircut with Ann at Bella Salon is confirmed for Monday, November 23 at 2:30 PM."
        );
        let a = appt(None, Some("Ann"), "2026-11-23T19:30:00Z");
        assert_eq!(
            confirmation_text(&t, &a, 0),
            "Hi Jane, your appointment with Ann at Bella Salon is confirmed for Monday, November 23 at 2:30 PM."
        );
        let a = appt(Some("Haircut"), None, "2026-11-23T15:05:00Z");
        assert_eq!(
            confirmation_text(&t, &a, 0),
            "Hi Jane, your appointment for Haircut at Bella Salon is confirmed for Monday, November 23 at 10:05 AM."
        );
    }

    #[test]
    fn templates_fill_placeholders_and_close_gaps() {
        let t = tenant(Templates {
            appointment_confirmation: Some(
                "Hi {customerName}, your {service} appointment at {name} is on {date} at {time} ({when}).".into(),
            ),
            appointment_reminder: Some("See you {when} at {time}, {customerName}!".into()),
            ..Default::default()
        });
        let now = ms("2026-11-22T19:30:00Z");
        let a = appt(Some("Color"), None, "2026-11-23T19:30:00Z");
        assert_eq!(
            confirmation_text(&t, &a, now),
            "Hi Jane, your Color appointment at Bella Salon is on Monday, November 23 at 2:30 PM (tomorrow)."
        );
        let a = appt(None, None, "2026-11-23T19:30:00Z");
        assert_eq!(
            confirmation_text(&t, &a, now),
            "Hi Jane, your appointment at Bella Salon is on Monday, November 23 at 2:30 PM (tomorrow)."
        );
        assert_eq!(
            reminder_text(&t, &a, now),
            "See you tomorrow at 2:30 PM, Jane!"
        );
    }

    #[test]
    fn when_phrase_counts_calendar_days_in_the_tenant_zone() {
        let tz = ny();
        let start = ms("2026-11-23T19:30:00Z"); // Monday 2:30 PM EST
        assert_eq!(
            when_phrase(ms("2026-11-23T18:00:00Z"), start, &tz),
            "in less than 2 hours"
        );
        assert_eq!(when_phrase(ms("2026-11-23T13:00:00Z"), start, &tz), "today");
        // 11:30 PM Sunday local is already Monday in UTC; it is still "tomorrow" for the salon.
        assert_eq!(
            when_phrase(ms("2026-11-23T04:30:00Z"), start, &tz),
            "tomorrow"
        );
        assert_eq!(
            when_phrase(ms("2026-11-20T19:30:00Z"), start, &tz),
            "in 3 days"
        );
    }
}
