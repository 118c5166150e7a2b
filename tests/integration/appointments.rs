//! Appointments pushed by the host app: the upsert/cancel/list API, seed 000's confirmation and
//! reminder endpoints with their wording, and scheduled reminders as durable jobs (DST, moves,
//! cancellation, quiet hours, repeated runs, downtime, two instances draining one queue).
//!
//! Tenants here have no phone number, so the notification worker leaves every SMS QUEUED (it waits
//! for a number): the assertions are on notification rows, the promise to send.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::appointments::manage::{AppointmentInput, upsert};
use switchboard::appointments::reminders::{REMINDER_JOB, ReminderJob, SKIPPED_STARTED};
use switchboard::db::{self, notifications::Notification};
use switchboard::jobs::worker::run_pending_jobs;
use switchboard::jobs::{Job, JobHandler, store};

use crate::support::{Resp, TestApp, app};
use crate::voice::{MONDAY_10AM_NY, set_clock};

const JANE: &str = "+14155550123";
const ANN: &str = "+14155550101";

fn ms(rfc: &str) -> i64 {
    rfc.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// A New York salon without a phone number (`extra` merged into the tenant); its id and a token.
async fn salon(app: &TestApp, extra: Value) -> (String, String) {
    let mut body = json!({"name": "Bella Salon", "timeZone": "America/New_York"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let t = app.create_tenant(body).await;
    let id = t["id"].as_str().unwrap().to_string();
    // Valid for a month: these tests move the clock forward by days.
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id}/tokens"),
            Some(json!({"ttlSeconds": 30 * 86_400})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.json["data"]["token"].as_str().unwrap().to_string();
    (id, token)
}

async fn add_staff(app: &TestApp, tenant: &str, name: &str) -> String {
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{tenant}/staff"),
            Some(json!({"name": name, "phone": ANN})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["data"]["id"].as_str().unwrap().to_string()
}

fn booking(id: &str, start: &str) -> Value {
    json!({"id": id, "customerName": "Jane", "customerPhone": JANE, "startTime": start})
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Resp {
    app.send(Method::POST, path, Some(token), Some(body), &[])
        .await
}

async fn book(app: &TestApp, token: &str, body: Value) -> Value {
    let r = post(app, token, "/api/telephony/appointments", body).await;
    assert!(r.status == 201 || r.status == 200, "{}", r.text);
    r.json["data"].clone()
}

/// The tenant's notifications, oldest first.
async fn notes(app: &TestApp, tenant: &str) -> Vec<Notification> {
    let (mut rows, _) =
        db::notifications::list(&app.state.db, tenant, &Default::default(), 5_000, 0)
            .await
            .unwrap();
    rows.reverse();
    rows
}

/// Reminder jobs, earliest due first.
async fn reminder_jobs(app: &TestApp) -> Vec<Job> {
    let (mut jobs, _) = store::list(&app.state.db, None, Some(REMINDER_JOB), 5_000, 0)
        .await
        .unwrap();
    jobs.sort_by_key(|j| j.run_at);
    jobs
}

async fn drain(app: &TestApp) {
    run_pending_jobs(&app.state).await.unwrap();
}

#[tokio::test]
async fn upsert_by_host_id_then_get_list_and_cancel() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    let ann = add_staff(&app, &tenant, "Ann").await;

    let mut body = booking("apt-1", "2026-11-24T14:30:00-05:00");
    body["staffId"] = json!(ann);
    body["service"] = json!("Haircut");
    let r = post(&app, &token, "/api/telephony/appointments", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let a = &r.json["data"];
    assert_eq!(a["id"], "apt-1");
    assert_eq!(a["startTime"], "2026-11-24T19:30:00.000Z");
    assert_eq!(a["startTimeLocal"], "2026-11-24T14:30:00-05:00");
    assert_eq!(a["timeZone"], "America/New_York");
    assert_eq!(a["staffName"], "Ann", "filled from the staff member");
    assert_eq!(
        (a["status"].as_str(), a["version"].as_i64()),
        (Some("BOOKED"), Some(1))
    );
    let sb_id = a["switchboardId"].as_str().unwrap().to_string();

    // The same id again is an update (200); a new service does not touch the reminders' version.
    body["service"] = json!("Color");
    let r = post(&app, &token, "/api/telephony/appointments", body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.json["data"]["service"].as_str(),
            r.json["data"]["version"].as_i64()
        ),
        (Some("Color"), Some(1))
    );
    assert_eq!(r.json["data"]["switchboardId"], sb_id.as_str());

    // PUT by path id: a new start time is a new version; the body's id may be left out.
    let mut moved = body.clone();
    moved.as_object_mut().unwrap().remove("id");
    moved["startTime"] = json!("2026-11-25T15:00:00Z");
    let r = app
        .send(
            Method::PUT,
            "/api/telephony/appointments/apt-1",
            Some(&token),
            Some(moved),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["version"], 2);
    assert_eq!(
        r.json["data"]["startTimeLocal"],
        "2026-11-25T10:00:00-05:00"
    );
    // PUT of an unknown id creates it.
    let r = app
        .send(
            Method::PUT,
            "/api/telephony/appointments/apt-2",
            Some(&token),
            Some(booking("apt-2", "2026-11-27T10:00:00-05:00")),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    for key in ["apt-1", sb_id.as_str()] {
        let r = app
            .tenant_get(&format!("/api/telephony/appointments/{key}"), &token)
            .await;
        assert_eq!(
            (r.status, r.json["data"]["id"].as_str()),
            (200, Some("apt-1"))
        );
    }
    // Dates in the listing are the salon's days.
    let r = app
        .tenant_get(
            "/api/telephony/appointments?from=2026-11-25&to=2026-11-25",
            &token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["total"], 1);
    assert_eq!(r.json["data"]["appointments"][0]["id"], "apt-1");
    let r = app
        .tenant_get("/api/telephony/appointments?limit=1", &token)
        .await;
    assert_eq!(
        (
            r.json["data"]["total"].as_i64(),
            r.json["data"]["appointments"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );

    let r = app
        .send(
            Method::DELETE,
            "/api/telephony/appointments/apt-1",
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.json["data"]["status"].as_str(),
            r.json["data"]["version"].as_i64()
        ),
        (Some("CANCELED"), Some(3))
    );
    // Cancelling again is the same answer, not a new version.
    let r = app
        .send(
            Method::DELETE,
            "/api/telephony/appointments/apt-1",
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json["data"]["version"].as_i64()),
        (200, Some(3))
    );
    let r = app
        .tenant_get("/api/telephony/appointments?status=booked", &token)
        .await;
    assert_eq!(r.json["data"]["total"], 1);

    let doc = app.tenant_get("/openapi.json", &token).await;
    for path in [
        "/api/telephony/appointments",
        "/api/telephony/appointments/{id}",
        "/api/telephony/appointment-confirmation",
        "/api/telephony/appointment-reminder",
    ] {
        assert!(
            doc.json["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn confirmation_and_reminder_endpoints_answer_as_seed_000_and_queue_the_text() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    let ann = add_staff(&app, &tenant, "Ann").await;
    let mut body = booking("apt-1", "2026-11-24T14:30:00-05:00");
    body["staffId"] = json!(ann);
    body["service"] = json!("Haircut");
    let a = book(&app, &token, body).await;
    let sb_id = a["switchboardId"].as_str().unwrap();
    assert!(
        notes(&app, &tenant).await.is_empty(),
        "booking alone texts nobody"
    );

    let r = post(
        &app,
        &token,
        "/api/telephony/appointment-confirmation",
        json!({"appointmentId": "apt-1"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"success": true, "message": "Appointment confirmation sent successfully"})
    );
    // By Switchboard's id as well.
    let r = post(
        &app,
        &token,
        "/api/telephony/appointment-reminder",
        json!({"appointmentId": sb_id}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"success": true, "message": "Appointment reminder sent successfully"})
    );

    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 2);
    assert_eq!(
        n[0].message,
        "Hi Jane, your appointment for Haircut with Ann at Bella Salon is confirmed for Tuesday, November 24 at 2:30 PM."
    );
    assert_eq!(
        (
            n[0].kind.as_str(),
            n[0].recipient.as_str(),
            n[0].status.as_str(),
            n[0].related_appointment_id.as_deref()
        ),
        ("appointment_confirmation", JANE, "QUEUED", Some("apt-1"))
    );
    assert_eq!(
        n[1].message,
        "Hi Jane, this is a reminder that your appointment at Bella Salon is tomorrow at 2:30 PM."
    );
    assert_eq!(n[1].kind, "appointment_reminder");

    // With an Idempotency-Key, a repeated request queues nothing new.
    for _ in 0..2 {
        let r = app
            .send(
                Method::POST,
                "/api/telephony/appointment-confirmation",
                Some(&token),
                Some(json!({"appointmentId": "apt-1"})),
                &[("Idempotency-Key", "click-1")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(notes(&app, &tenant).await.len(), 3);

    // A tenant template overrides the wording, with the same placeholders.
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{tenant}"),
            Some(json!({"templates": {"appointmentConfirmation": "{businessName}: see you {date} at {time}, {customerName} ({service} with {staffName})."}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    post(
        &app,
        &token,
        "/api/telephony/appointment-confirmation",
        json!({"appointmentId": "apt-1"}),
    )
    .await;
    assert_eq!(
        notes(&app, &tenant).await.last().unwrap().message,
        "Bella Salon: see you Tuesday, November 24 at 2:30 PM, Jane (Haircut with Ann)."
    );

    // Unknown ids are 404; a canceled appointment is refused and texts nobody.
    let r = post(
        &app,
        &token,
        "/api/telephony/appointment-reminder",
        json!({"appointmentId": "nope"}),
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND"));
    let r = post(
        &app,
        &token,
        "/api/telephony/appointment-reminder",
        json!({}),
    )
    .await;
    assert_eq!((r.status, r.field()), (400, "appointmentId"));
    app.send(
        Method::DELETE,
        "/api/telephony/appointments/apt-1",
        Some(&token),
        None,
        &[],
    )
    .await;
    for path in [
        "/api/telephony/appointment-confirmation",
        "/api/telephony/appointment-reminder",
    ] {
        let r = post(&app, &token, path, json!({"appointmentId": "apt-1"})).await;
        assert_eq!(
            (r.status, r.code()),
            (409, "APPOINTMENT_CANCELED"),
            "{path}"
        );
        assert!(
            r.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("canceled")
        );
    }
    assert_eq!(notes(&app, &tenant).await.len(), 4);
}

#[tokio::test]
async fn send_confirmation_on_upsert_queues_once_per_booked_time() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    let mut body = booking("apt-1", "2026-11-24T09:00:00-05:00");
    body["sendConfirmation"] = json!(true);
    book(&app, &token, body.clone()).await;
    // A client retry of the same upsert does not text twice…
    book(&app, &token, body.clone()).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].message,
        "Hi Jane, your appointment at Bella Salon is confirmed for Tuesday, November 24 at 9:00 AM."
    );
    // …but a new time is confirmed anew.
    body["startTime"] = json!("2026-11-24T11:00:00-05:00");
    book(&app, &token, body).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 2);
    assert!(
        n[1].message.ends_with("Tuesday, November 24 at 11:00 AM."),
        "{}",
        n[1].message
    );
}

#[tokio::test]
async fn another_tenants_appointment_is_404() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (_, token_a) = salon(&app, json!({})).await;
    let (tenant_b, token_b) = salon(&app, json!({"name": "Other Salon"})).await;
    let a = book(
        &app,
        &token_a,
        booking("apt-1", "2026-11-24T14:30:00-05:00"),
    )
    .await;
    let sb_id = a["switchboardId"].as_str().unwrap();

    for key in ["apt-1", sb_id] {
        let r = app
            .tenant_get(&format!("/api/telephony/appointments/{key}"), &token_b)
            .await;
        assert_eq!(r.status, 404, "{key}");
        let r = app
            .send(
                Method::DELETE,
                &format!("/api/telephony/appointments/{key}"),
                Some(&token_b),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 404, "{key}");
        for path in [
            "/api/telephony/appointment-confirmation",
            "/api/telephony/appointment-reminder",
        ] {
            let r = post(&app, &token_b, path, json!({"appointmentId": key})).await;
            assert_eq!(r.status, 404, "{path} {key}");
        }
    }
    let r = app
        .tenant_get("/api/telephony/appointments", &token_b)
        .await;
    assert_eq!(r.json["data"]["total"], 0);
    assert!(notes(&app, &tenant_b).await.is_empty());
    // Host ids are per tenant: B using the same id makes B's own appointment, A's is untouched.
    let r = post(
        &app,
        &token_b,
        "/api/telephony/appointments",
        booking("apt-1", "2026-12-01T10:00:00Z"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .tenant_get("/api/telephony/appointments/apt-1", &token_a)
        .await;
    assert_eq!(
        (
            r.json["data"]["startTime"].as_str(),
            r.json["data"]["version"].as_i64()
        ),
        (Some("2026-11-24T19:30:00.000Z"), Some(1))
    );
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_and_writes_nothing() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    let (other, _) = salon(&app, json!({"name": "Other Salon"})).await;
    let foreign_staff = add_staff(&app, &other, "Zed").await;
    let ok = booking("apt-1", "2026-11-24T14:30:00-05:00");
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, field) in [
        (with("customerPhone", json!("555-0100")), "customerPhone"),
        (with("customerPhone", json!("+1415555")), "customerPhone"),
        (with("startTime", json!("2026-11-24T14:30:00")), "startTime"),
        (with("startTime", json!("next tuesday")), "startTime"),
        (with("staffId", json!("no-such-staff")), "staffId"),
        (with("staffId", json!(foreign_staff)), "staffId"),
        (with("status", json!("MAYBE")), "status"),
        (with("id", json!("x".repeat(129))), "id"),
        (with("id", json!("")), "id"),
        (with("customerName", json!("  ")), "customerName"),
        (without("id"), "id"),
        (without("startTime"), "startTime"),
        (with("startsAt", json!("2026-11-24T14:30:00Z")), "startsAt"),
    ] {
        let r = post(&app, &token, "/api/telephony/appointments", body.clone()).await;
        assert_eq!((r.status, r.field()), (400, field), "{body} → {}", r.text);
        assert!(
            r.json["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{}",
            r.text
        );
    }
    let r = app
        .send(
            Method::PUT,
            "/api/telephony/appointments/apt-2",
            Some(&token),
            Some(ok.clone()),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (400, "id"),
        "path and body ids differ"
    );
    for (q, field) in [
        ("from=someday", "from"),
        ("to=2026-13-01", "to"),
        ("limit=0", "limit"),
        ("status=x", "status"),
    ] {
        let r = app
            .tenant_get(&format!("/api/telephony/appointments?{q}"), &token)
            .await;
        assert_eq!((r.status, r.field()), (400, field), "{q}");
    }
    let r = app.tenant_get("/api/telephony/appointments", &token).await;
    assert_eq!(r.json["data"]["total"], 0);
    assert!(reminder_jobs(&app).await.is_empty());
    assert!(notes(&app, &tenant).await.is_empty());
}

#[tokio::test]
async fn reminder_wording_counts_days_on_the_salons_calendar() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    let cases = [
        (
            "soon",
            "2026-11-23T11:30:00-05:00",
            "in less than 2 hours at 11:30 AM",
        ),
        ("today", "2026-11-23T17:00:00-05:00", "today at 5:00 PM"),
        (
            "tomorrow",
            "2026-11-24T09:00:00-05:00",
            "tomorrow at 9:00 AM",
        ),
        ("in3", "2026-11-26T10:00:00-05:00", "in 3 days at 10:00 AM"),
    ];
    for (id, start, _) in cases {
        book(&app, &token, booking(id, start)).await;
        let r = post(
            &app,
            &token,
            "/api/telephony/appointment-reminder",
            json!({"appointmentId": id}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let n = notes(&app, &tenant).await;
    for (i, (_, _, when)) in cases.iter().enumerate() {
        assert_eq!(
            n[i].message,
            format!("Hi Jane, this is a reminder that your appointment at Bella Salon is {when}.")
        );
    }
    // 8 PM Monday in New York is already Tuesday in UTC: Tuesday 10 AM is still "tomorrow".
    set_clock(&app, "2026-11-24T01:00:00Z");
    book(&app, &token, booking("late", "2026-11-24T10:00:00-05:00")).await;
    post(
        &app,
        &token,
        "/api/telephony/appointment-reminder",
        json!({"appointmentId": "late"}),
    )
    .await;
    assert!(
        notes(&app, &tenant)
            .await
            .last()
            .unwrap()
            .message
            .ends_with("is tomorrow at 10:00 AM."),
        "computed in the tenant's zone, not UTC"
    );
    // An appointment that has started is not reminded of.
    let r = post(
        &app,
        &token,
        "/api/telephony/appointment-reminder",
        json!({"appointmentId": "soon"}),
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "APPOINTMENT_STARTED"));
}

#[tokio::test]
async fn reminder_runs_24_real_hours_before_across_a_dst_change() {
    let app = app().start().await;
    // New York springs forward at 2 AM on Sunday 2026-03-08.
    set_clock(&app, "2026-03-05T12:00:00Z");
    let (tenant, token) = salon(&app, json!({})).await;
    // Sunday 10 AM EDT (14:00Z): 24 h earlier is Saturday 9 AM EST (14:00Z), not Saturday 10 AM.
    book(&app, &token, booking("sun", "2026-03-08T10:00:00-04:00")).await;
    // Monday 9 AM EDT (13:00Z): 24 h earlier is Sunday 9 AM EDT.
    book(&app, &token, booking("mon", "2026-03-09T09:00:00-04:00")).await;
    let jobs = reminder_jobs(&app).await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].run_at, ms("2026-03-07T14:00:00Z"));
    assert_eq!(jobs[1].run_at, ms("2026-03-08T13:00:00Z"));
    let payload: Value = serde_json::from_str(&jobs[0].payload).unwrap();
    assert_eq!(payload["offsetMinutes"], 1440);
    assert_eq!(payload["version"], 1);
    let sb = app
        .tenant_get("/api/telephony/appointments/sun", &token)
        .await
        .json["data"]["switchboardId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(payload["appointmentId"], sb.as_str());
    assert_eq!(
        jobs[0].dedupe_key.as_deref(),
        Some(format!("reminder:{sb}:1440:1").as_str())
    );

    // Not a second early.
    set_clock(&app, "2026-03-07T13:59:59Z");
    drain(&app).await;
    assert!(notes(&app, &tenant).await.is_empty());
    set_clock(&app, "2026-03-07T14:00:00Z");
    drain(&app).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].message,
        "Hi Jane, this is a reminder that your appointment at Bella Salon is tomorrow at 10:00 AM."
    );
    assert_eq!(
        n[0].idempotency_key.as_deref(),
        Some(format!("reminder:{sb}:1440:1").as_str())
    );
    set_clock(&app, "2026-03-08T13:00:00Z");
    drain(&app).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 2);
    assert!(
        n[1].message.ends_with("is tomorrow at 9:00 AM."),
        "{}",
        n[1].message
    );
    assert_eq!(n[1].status, "QUEUED");
}

#[tokio::test]
async fn moving_an_appointment_reschedules_its_reminder() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    book(&app, &token, booking("apt-1", "2026-11-25T10:00:00-05:00")).await;
    // Moved to Thursday 3 PM: a version-2 reminder for Wednesday 3 PM.
    book(&app, &token, booking("apt-1", "2026-11-26T15:00:00-05:00")).await;
    let jobs = reminder_jobs(&app).await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].run_at, ms("2026-11-24T15:00:00Z"));
    assert_eq!(jobs[1].run_at, ms("2026-11-25T20:00:00Z"));

    // The old reminder comes due and does nothing.
    set_clock(&app, "2026-11-24T15:00:00Z");
    drain(&app).await;
    assert!(notes(&app, &tenant).await.is_empty());
    let old = store::get(&app.state.db, &jobs[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.status, "done");

    set_clock(&app, "2026-11-25T20:00:00Z");
    drain(&app).await;
    set_clock(&app, "2026-11-26T12:00:00Z");
    drain(&app).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 1, "one reminder, for the new time");
    assert_eq!(
        n[0].message,
        "Hi Jane, this is a reminder that your appointment at Bella Salon is tomorrow at 3:00 PM."
    );
}

#[tokio::test]
async fn a_canceled_appointment_is_not_reminded_until_rebooked() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    book(&app, &token, booking("apt-1", "2026-11-25T10:00:00-05:00")).await;
    let r = app
        .send(
            Method::DELETE,
            "/api/telephony/appointments/apt-1",
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    set_clock(&app, "2026-11-24T16:00:00Z");
    drain(&app).await;
    assert!(notes(&app, &tenant).await.is_empty());
    let jobs = reminder_jobs(&app).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "done", "finished as a no-op");

    // Booked again for Thursday: a fresh reminder, sent once.
    let mut body = booking("apt-1", "2026-11-26T10:00:00-05:00");
    body["status"] = json!("BOOKED");
    let a = book(&app, &token, body).await;
    assert_eq!(a["version"], 3);
    set_clock(&app, "2026-11-25T15:00:00Z");
    drain(&app).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 1);
    assert!(n[0].message.ends_with("is tomorrow at 10:00 AM."));
}

#[tokio::test]
async fn quiet_hours_move_a_reminder_to_their_end() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(
        &app,
        json!({"messaging": {"reminderOffsetsMinutes": [720, 1440], "quietHours": {"start": "21:00", "end": "08:00"}}}),
    )
    .await;
    // Wednesday 9 AM: the 12-hour reminder would be Tuesday 9 PM, quiet; it goes at 8 AM Wednesday.
    book(&app, &token, booking("apt-1", "2026-11-25T09:00:00-05:00")).await;
    let runs: Vec<i64> = reminder_jobs(&app).await.iter().map(|j| j.run_at).collect();
    assert_eq!(
        runs,
        vec![ms("2026-11-24T14:00:00Z"), ms("2026-11-25T13:00:00Z")]
    );

    set_clock(&app, "2026-11-24T14:00:00Z");
    drain(&app).await;
    set_clock(&app, "2026-11-25T12:59:00Z");
    drain(&app).await;
    assert_eq!(
        notes(&app, &tenant).await.len(),
        1,
        "nothing during quiet hours"
    );
    set_clock(&app, "2026-11-25T13:00:00Z");
    drain(&app).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 2);
    assert!(
        n[0].message.ends_with("is tomorrow at 9:00 AM."),
        "{}",
        n[0].message
    );
    assert!(
        n[1].message
            .ends_with("is in less than 2 hours at 9:00 AM."),
        "{}",
        n[1].message
    );
}

#[tokio::test]
async fn past_reminders_are_not_scheduled() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (_, token) = salon(&app, json!({})).await;
    // Tomorrow 9 AM: its 24-hour reminder time (today 9 AM) has passed.
    book(&app, &token, booking("soon", "2026-11-24T09:00:00-05:00")).await;
    // Last week: nothing at all.
    book(&app, &token, booking("past", "2026-11-16T09:00:00-05:00")).await;
    assert!(reminder_jobs(&app).await.is_empty());
    // Repeating an unchanged upsert adds no job either.
    book(&app, &token, booking("later", "2026-11-26T09:00:00-05:00")).await;
    book(&app, &token, booking("later", "2026-11-26T09:00:00-05:00")).await;
    assert_eq!(reminder_jobs(&app).await.len(), 1);
}

#[tokio::test]
async fn a_reminder_job_run_twice_queues_one_sms() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    book(&app, &token, booking("apt-1", "2026-11-25T10:00:00-05:00")).await;
    set_clock(&app, "2026-11-24T15:00:00Z");
    let job = reminder_jobs(&app).await.remove(0);
    // As if a worker queued the SMS and crashed before marking the job done, and another re-ran it.
    ReminderJob.run(&app.state, &job).await.unwrap();
    ReminderJob.run(&app.state, &job).await.unwrap();
    drain(&app).await;
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].kind, "appointment_reminder");
}

#[tokio::test]
async fn a_reminder_due_after_the_start_is_skipped_with_the_reason() {
    let app = app().start().await;
    set_clock(&app, MONDAY_10AM_NY);
    let (tenant, token) = salon(&app, json!({})).await;
    book(&app, &token, booking("apt-1", "2026-11-25T10:00:00-05:00")).await;
    // The service was down from before the reminder until after the appointment began.
    set_clock(&app, "2026-11-25T16:00:00Z");
    drain(&app).await;
    let job = reminder_jobs(&app).await.remove(0);
    assert_eq!(job.status, "done");
    ReminderJob.run(&app.state, &job).await.unwrap();
    let n = notes(&app, &tenant).await;
    assert_eq!(n.len(), 1, "recorded once, even when the job runs again");
    assert_eq!(n[0].status, "FAILED");
    assert_eq!(n[0].failure_reason.as_deref(), Some(SKIPPED_STARTED));
    assert_eq!(n[0].kind, "appointment_reminder");
    assert_eq!(n[0].related_appointment_id.as_deref(), Some("apt-1"));
    // Nothing was handed to the sender.
    let (sends, _) = store::list(&app.state.db, None, Some("notification.send"), 10, 0)
        .await
        .unwrap();
    assert!(sends.is_empty());
}

#[tokio::test]
async fn two_instances_drain_1000_reminders_exactly_once() {
    let a = app()
        .config(|c| c.worker_concurrency = Some("8".into()))
        .start()
        .await;
    let b = app()
        .config(|c| c.worker_concurrency = Some("8".into()))
        .same_database(&a)
        .start()
        .await;
    set_clock(&a, MONDAY_10AM_NY);
    set_clock(&b, MONDAY_10AM_NY);
    let (tenant_id, _) = salon(&a, json!({})).await;
    let tenant = db::tenants::get(&a.state.db, &tenant_id)
        .await
        .unwrap()
        .unwrap();
    // 1,000 appointments from Tuesday 10 AM, a minute apart: reminders from Monday 10 AM.
    let first = ms("2026-11-24T15:00:00Z");
    for i in 0..1000_i64 {
        let start = jiff::Timestamp::from_millisecond(first + i * 60_000).unwrap();
        let input = AppointmentInput {
            id: Some(format!("bulk-{i}")),
            customer_name: "Jane".into(),
            customer_phone: switchboard::domain::E164::parse("p", JANE).unwrap(),
            staff_id: None,
            staff_name: None,
            service: None,
            start_time: start.to_string(),
            status: None,
            send_confirmation: None,
        };
        assert!(
            upsert(&a.state, &tenant, None, input)
                .await
                .unwrap()
                .created
        );
    }
    assert_eq!(reminder_jobs(&a).await.len(), 1000);
    set_clock(&a, "2026-11-24T08:00:00Z");
    set_clock(&b, "2026-11-24T08:00:00Z");
    let (sa, sb) = tokio::join!(run_pending_jobs(&a.state), run_pending_jobs(&b.state));
    let (sa, sb) = (sa.unwrap(), sb.unwrap());
    // Only reminders can succeed here (sends wait for the salon's number and are retried later).
    assert_eq!(sa.succeeded + sb.succeeded, 1000, "a: {sa:?} b: {sb:?}");
    assert!(
        sa.succeeded > 0 && sb.succeeded > 0,
        "both instances took part: a {sa:?} b {sb:?}"
    );
    let n = notes(&a, &tenant_id).await;
    assert_eq!(n.len(), 1000);
    let mut ids: Vec<_> = n
        .iter()
        .filter_map(|x| x.related_appointment_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        1000,
        "one reminder per appointment, no duplicate"
    );
    assert!(reminder_jobs(&a).await.iter().all(|j| j.status == "done"));
    // Each reminder handed exactly one send to the sender.
    let (_, sends) = store::list(&a.state.db, None, Some("notification.send"), 1, 0)
        .await
        .unwrap();
    assert_eq!(sends, 1000);
}
