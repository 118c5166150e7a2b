//! Analytics, usage and exports (`/api/telephony/analytics`, `/usage`, `/export`, the admin variants,
//! `switchboard report`, `switchboard bench analytics`): a fixture with hand-computed answers, bucket
//! edges across DST changes in the tenant's zone, empty periods, invalid input naming the field,
//! tenant isolation, a CSV that round-trips through a CSV parser, minute rounding and the cost
//! estimate. Fixture rows are written straight into the stores.

use std::process::{Command, Output};

use jiff::ToSpan;
use reqwest::Method;
use serde_json::{Value, json};
use switchboard::db::calls::{Call, insert_if_new};

use crate::support::{JWT_SECRET, Resp, TestApp, app, backend};

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// An inbound call of `tenant_id` started at `start` (epoch ms), completed, nobody answered yet.
fn call(tenant_id: &str, sid: &str, start: i64) -> Call {
    Call {
        id: switchboard::domain::new_id(),
        tenant_id: tenant_id.into(),
        call_sid: sid.into(),
        direction: "inbound".into(),
        from_number: "+14155550123".into(),
        to_number: "+14155550100".into(),
        status: "completed".parse().unwrap(),
        strategy: "forward".parse().unwrap(),
        after_hours: false,
        route_targets: Default::default(),
        route_index: 0,
        gather_attempts: 0,
        forwarded_to: None,
        call_reason: None,
        notes: None,
        recording_url: None,
        voicemail: false,
        missed: false,
        start_time: start,
        answered_at: None,
        end_time: None,
        duration_seconds: None,
        created_at: start,
        updated_at: start,
    }
}

/// Answered after 5 s of ringing, talked `secs`.
fn answered(mut c: Call, secs: i64) -> Call {
    c.answered_at = Some(c.start_time + 5_000);
    c.duration_seconds = Some(secs);
    c.end_time = Some(c.start_time + 5_000 + secs * 1000);
    c
}

/// Nobody answered; the call lasted `secs` (a voicemail when `voicemail`).
fn missed(mut c: Call, secs: i64, voicemail: bool) -> Call {
    c.missed = true;
    c.voicemail = voicemail;
    c.duration_seconds = Some(secs);
    c.end_time = Some(c.start_time + secs * 1000);
    if voicemail {
        c.recording_url = Some(format!("https://api.twilio.com/rec/RE{}", c.call_sid));
    }
    c
}

fn reason(mut c: Call, r: &str) -> Call {
    c.call_reason = Some(r.into());
    c
}

async fn insert_calls(app: &TestApp, calls: &[Call]) {
    let mut tx = app.state.db.begin().await.unwrap();
    for c in calls {
        assert!(insert_if_new(&mut tx, c).await.unwrap(), "{}", c.call_sid);
    }
    tx.commit().await.unwrap();
}

/// A notification row (only the columns analytics reads, the rest take their defaults).
struct Note<'a> {
    id: &'a str,
    kind: &'a str,
    r#type: &'a str,
    status: &'a str,
    related_call_sid: Option<&'a str>,
    created_at: i64,
    sent_at: Option<i64>,
}

fn note<'a>(id: &'a str, kind: &'a str, status: &'a str, created_at: i64) -> Note<'a> {
    Note {
        id,
        kind,
        r#type: "SMS",
        status,
        related_call_sid: None,
        created_at,
        sent_at: (!matches!(status, "QUEUED" | "SENDING" | "FAILED")).then_some(created_at + 1_000),
    }
}

async fn insert_notes(app: &TestApp, tenant_id: &str, notes: &[Note<'_>]) {
    for n in notes {
        switchboard::with_db!(&app.state.db, |p| {
            sqlx::query(
                "INSERT INTO notifications (id, tenant_id, type, recipient, message, status, kind, related_call_sid, \
                 sent_at, created_at, updated_at) VALUES ($1, $2, $3, '+14155550123', 'hi', $4, $5, $6, $7, $8, $8)",
            )
            .bind(format!("{tenant_id}-{}", n.id))
            .bind(tenant_id)
            .bind(n.r#type)
            .bind(n.status)
            .bind(n.kind)
            .bind(n.related_call_sid)
            .bind(n.sent_at)
            .bind(n.created_at)
            .execute(p)
            .await
            .map(|_| ())
        })
        .unwrap();
    }
}

/// A message row; `notification` is the id given to [`insert_notes`] (without the tenant prefix).
struct Msg<'a> {
    direction: &'a str,
    customer: &'a str,
    body: &'a str,
    status: &'a str,
    segments: i64,
    notification: Option<&'a str>,
    created_at: i64,
}

fn msg<'a>(direction: &'a str, customer: &'a str, created_at: i64) -> Msg<'a> {
    Msg {
        direction,
        customer,
        body: "hello",
        status: if direction == "inbound" {
            "received"
        } else {
            "delivered"
        },
        segments: 1,
        notification: None,
        created_at,
    }
}

async fn insert_msgs(app: &TestApp, tenant_id: &str, msgs: &[Msg<'_>]) -> Vec<String> {
    let mut ids = Vec::new();
    for m in msgs {
        let id = switchboard::domain::new_id();
        let (from, to) = if m.direction == "inbound" {
            (m.customer, "+14155550100")
        } else {
            ("+14155550100", m.customer)
        };
        switchboard::with_db!(&app.state.db, |p| {
            sqlx::query(
                "INSERT INTO messages (id, tenant_id, message_sid, direction, customer, from_number, to_number, body, \
                 status, segments, notification_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            )
            .bind(&id)
            .bind(tenant_id)
            .bind(format!("SM{}", uuid::Uuid::new_v4().simple()))
            .bind(m.direction)
            .bind(m.customer)
            .bind(from)
            .bind(to)
            .bind(m.body)
            .bind(m.status)
            .bind(m.segments)
            .bind(m.notification.map(|n| format!("{tenant_id}-{n}")))
            .bind(m.created_at)
            .execute(p)
            .await
            .map(|_| ())
        })
        .unwrap();
        ids.push(id);
    }
    ids
}

async fn insert_opt_out(app: &TestApp, tenant_id: &str, phone: &str, at: i64) {
    switchboard::with_db!(&app.state.db, |p| {
        sqlx::query("INSERT INTO opt_outs (tenant_id, phone, source, created_at) VALUES ($1, $2, 'keyword', $3)")
            .bind(tenant_id)
            .bind(phone)
            .bind(at)
            .execute(p)
            .await
            .map(|_| ())
    })
    .unwrap();
}

/// A tenant and a JWT for it.
async fn tenant(app: &TestApp, body: Value) -> (String, String) {
    let t = app.create_tenant(body).await;
    let id = t["id"].as_str().unwrap().to_string();
    let token = app.token_for(&id).await;
    (id, token)
}

/// The `data` of a 200 answer.
fn data(r: &Resp) -> &Value {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"], true, "{}", r.text);
    &r.json["data"]
}

fn assert_invalid(r: &Resp, field: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "VALIDATION_ERROR", "{}", r.text);
    assert_eq!(r.field(), field, "{}", r.text);
}

/// The 24 `byHour` entries, with `(hour, total, answered, missed)` for the hours that have calls.
fn by_hour(nonzero: &[(u8, i64, i64, i64)]) -> Value {
    (0..24u8)
        .map(|h| {
            let (total, answered, missed) = nonzero
                .iter()
                .find(|e| e.0 == h)
                .map(|e| (e.1, e.2, e.3))
                .unwrap_or((0, 0, 0));
            json!({"hour": h, "total": total, "answered": answered, "missed": missed})
        })
        .collect()
}

/// The 7 `byWeekdayHour` entries, Monday first, with `(weekday, hour, calls)` for the cells that
/// have calls.
fn by_weekday_hour(nonzero: &[(&str, usize, i64)]) -> Value {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| {
        let mut hours = vec![0i64; 24];
        for (day, h, n) in nonzero {
            if day == d {
                hours[*h] += n;
            }
        }
        json!({"weekday": d, "total": hours.iter().sum::<i64>(), "hours": hours})
    })
    .collect()
}

fn reasons(nonzero: &[(&str, i64)]) -> Value {
    let mut m = serde_json::Map::new();
    for r in [
        "SETUP_APPOINTMENT",
        "CANCEL_APPOINTMENT",
        "MODIFY_APPOINTMENT",
        "GET_HOURS",
        "GET_PRICING",
        "OTHER",
        "UNCLASSIFIED",
    ] {
        let n = nonzero.iter().find(|e| e.0 == r).map(|e| e.1).unwrap_or(0);
        m.insert(r.into(), json!(n));
    }
    Value::Object(m)
}

/// Writes the week of 2026-11-02 (Monday) to 2026-11-08 for `t` (a UTC tenant) with rows just
/// outside it; the expected figures are worked out in [`analytics_of_a_known_week`].
async fn seed_known_week(app: &TestApp, t: &str) {
    let c = |sid: &str, at: &str| call(t, &format!("{t}-{sid}"), ms(at));
    let calls = vec![
        reason(answered(c("A", "2026-11-02T09:00:00Z"), 60), "GET_HOURS"),
        reason(
            answered(c("B", "2026-11-02T09:30:00Z"), 120),
            "SETUP_APPOINTMENT",
        ),
        missed(c("C", "2026-11-02T14:00:00Z"), 40, true),
        reason(missed(c("D", "2026-11-03T10:00:00Z"), 25, false), "OTHER"),
        {
            let mut e = answered(c("E", "2026-11-03T10:15:00Z"), 300);
            e.direction = "outbound".into();
            e
        },
        reason(answered(c("F", "2026-11-05T16:00:00Z"), 600), "GET_HOURS"),
        // Just outside the range on either side.
        answered(c("G", "2026-11-09T00:00:00Z"), 30),
        missed(c("H", "2026-11-01T23:59:59Z"), 20, false),
    ];
    insert_calls(app, &calls).await;
    let end = |sid: &str| {
        calls
            .iter()
            .find(|x| x.call_sid == format!("{t}-{sid}"))
            .unwrap()
            .end_time
            .unwrap()
    };
    let (c_sid, d_sid, h_sid) = (format!("{t}-C"), format!("{t}-D"), format!("{t}-H"));
    // A text-back queued when its call ended and sent `delay_ms` later.
    let text_back = |id, sid: &str, related, status, delay_ms: i64| Note {
        id,
        kind: "missed_call_text_back",
        r#type: "SMS",
        status,
        related_call_sid: Some(related),
        created_at: end(sid),
        sent_at: Some(end(sid) + delay_ms),
    };
    let tb_c = text_back("tbC", "C", &c_sid, "DELIVERED", 4_000);
    let tb_d = text_back("tbD", "D", &d_sid, "SENT", 10_000);
    // H started before the range: its text-back is an SMS of the range, not a text-back of it.
    let tb_h = text_back("tbH", "H", &h_sid, "DELIVERED", 3_000);
    let mut email = note("email", "staff", "DELIVERED", ms("2026-11-03T09:00:00Z"));
    email.r#type = "EMAIL";
    insert_notes(
        app,
        t,
        &[
            tb_c,
            tb_d,
            tb_h,
            note("replyX", "api", "DELIVERED", ms("2026-11-02T09:00:00Z")),
            note("replyZ", "api", "DELIVERED", ms("2026-11-05T09:00:00Z")),
            note(
                "tbW",
                "missed_call_text_back",
                "DELIVERED",
                ms("2026-11-06T08:30:00Z"),
            ),
            note(
                "undelivered",
                "api",
                "UNDELIVERED",
                ms("2026-11-03T12:00:00Z"),
            ),
            note("failed", "api", "FAILED", ms("2026-11-04T12:00:00Z")),
            note("queued", "api", "QUEUED", ms("2026-11-05T12:00:00Z")),
            email,
            note("old", "api", "DELIVERED", ms("2026-10-30T12:00:00Z")),
        ],
    )
    .await;
    let (x, y, z, w, v) = (
        "+14155550201",
        "+14155550202",
        "+14155550203",
        "+14155550204",
        "+14155550205",
    );
    let reply = |customer, at, notification| Msg {
        notification: Some(notification),
        ..msg("outbound", customer, ms(at))
    };
    insert_msgs(
        app,
        t,
        &[
            // X opens a conversation and gets an answer within the hour; texts again at noon.
            msg("inbound", x, ms("2026-11-02T08:00:00Z")),
            reply(x, "2026-11-02T09:00:00Z", "replyX"),
            msg("inbound", x, ms("2026-11-02T12:00:00Z")),
            // Y only gets the TwiML auto-reply (no notification): not a reply.
            msg("inbound", y, ms("2026-11-03T08:00:00Z")),
            msg("outbound", y, ms("2026-11-03T08:00:00Z")),
            // Z is answered 25 hours later: too late.
            msg("inbound", z, ms("2026-11-04T08:00:00Z")),
            reply(z, "2026-11-05T09:00:00Z", "replyZ"),
            // W's only answer is an automatic missed-call text.
            msg("inbound", w, ms("2026-11-06T08:00:00Z")),
            reply(w, "2026-11-06T08:30:00Z", "tbW"),
            // V's conversation opened before the range (14 hours earlier).
            msg("inbound", v, ms("2026-11-01T20:00:00Z")),
            msg("inbound", v, ms("2026-11-02T10:00:00Z")),
        ],
    )
    .await;
    insert_opt_out(app, t, y, ms("2026-11-04T08:00:00Z")).await;
    insert_opt_out(app, t, z, ms("2026-10-30T08:00:00Z")).await;
}

#[tokio::test]
async fn analytics_of_a_known_week() {
    let app = app().start().await;
    let (t, token) = tenant(&app, json!({"name": "Bella Salon", "timeZone": "UTC"})).await;
    // A neighbour with the very same rows: none of them may leak into Bella's figures.
    let (n, n_token) = tenant(&app, json!({"name": "Next Door", "timeZone": "UTC"})).await;
    seed_known_week(&app, &t).await;
    seed_known_week(&app, &n).await;

    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-11-02&to=2026-11-08&granularity=day",
            &token,
        )
        .await;
    let d = data(&r);
    assert_eq!(d["tenantId"], t.as_str());
    assert_eq!(d["timeZone"], "UTC");
    assert_eq!(d["granularity"], "day");
    assert_eq!(d["from"], "2026-11-02T00:00:00+00:00");
    assert_eq!(d["to"], "2026-11-09T00:00:00+00:00");
    let expected_summary = json!({
        "calls": {
            // A, B, C, D, E (outbound), F; G and H are outside the range.
            "total": 6, "inbound": 5, "outbound": 1, "answered": 4, "missed": 2, "voicemail": 1,
            // Answered: 60, 120, 300, 600 s.
            "averageDurationSeconds": 270.0, "p90DurationSeconds": 600,
            "byReason": reasons(&[("GET_HOURS", 2), ("SETUP_APPOINTMENT", 1), ("OTHER", 1), ("UNCLASSIFIED", 2)]),
            "byHour": by_hour(&[(9, 2, 2, 0), (10, 2, 1, 1), (14, 1, 0, 1), (16, 1, 1, 0)]),
            // A, B, C on Monday; D, E on Tuesday; F on Thursday (UTC).
            "byWeekdayHour": by_weekday_hour(&[("monday", 9, 2), ("monday", 14, 1), ("tuesday", 10, 2), ("thursday", 16, 1)]),
        },
        "sms": {
            // Accepted: tbC, tbD, tbH, replyX, replyZ, tbW, undelivered; FAILED never was.
            "sent": 7, "delivered": 5, "failed": 2, "pending": 1,
            // 5 delivered of the 8 no longer pending.
            "deliveryRate": 0.625,
            "optOuts": 1,
        },
        // C after 4 s, D after 10 s; H's call is outside the range.
        "textBack": {"sent": 2, "medianSeconds": 7.0},
        // X twice, Y, Z, W, V once: X, Y, Z and W open conversations, only X is answered in time.
        "inboundSms": {"messages": 6, "conversations": 4, "replied": 1, "replyRate": 0.25},
    });
    assert_eq!(d["summary"], expected_summary, "{:#}", d["summary"]);

    let buckets = d["buckets"].as_array().unwrap();
    let periods: Vec<&str> = buckets
        .iter()
        .map(|b| b["period"].as_str().unwrap())
        .collect();
    assert_eq!(
        periods,
        [
            "2026-11-02",
            "2026-11-03",
            "2026-11-04",
            "2026-11-05",
            "2026-11-06",
            "2026-11-07",
            "2026-11-08"
        ]
    );
    assert_eq!(
        buckets[0],
        json!({
            "period": "2026-11-02",
            "start": "2026-11-02T00:00:00+00:00",
            "end": "2026-11-03T00:00:00+00:00",
            "calls": {"total": 3, "inbound": 3, "outbound": 0, "answered": 2, "missed": 1, "voicemail": 1,
                      "averageDurationSeconds": 90.0},
            "sms": {"sent": 3, "delivered": 3, "failed": 0, "pending": 0, "deliveryRate": 1.0, "optOuts": 0},
            "textBacks": 1,
            "inboundSms": {"messages": 3, "conversations": 1, "replied": 1, "replyRate": 1.0},
        })
    );
    assert_eq!(buckets[1]["calls"]["outbound"], 1);
    assert_eq!(buckets[1]["textBacks"], 1);
    assert_eq!(buckets[1]["sms"]["deliveryRate"], 0.0, "undelivered only");
    assert_eq!(buckets[2]["sms"]["optOuts"], 1);
    assert_eq!(buckets[2]["sms"]["deliveryRate"], 0.0, "failed only");
    assert_eq!(buckets[3]["sms"]["pending"], 1);
    assert_eq!(buckets[3]["calls"]["averageDurationSeconds"], 600.0);
    // The quiet weekend: zeros, and no rate or average of nothing.
    assert_eq!(
        buckets[6],
        json!({
            "period": "2026-11-08",
            "start": "2026-11-08T00:00:00+00:00",
            "end": "2026-11-09T00:00:00+00:00",
            "calls": {"total": 0, "inbound": 0, "outbound": 0, "answered": 0, "missed": 0, "voicemail": 0,
                      "averageDurationSeconds": null},
            "sms": {"sent": 0, "delivered": 0, "failed": 0, "pending": 0, "deliveryRate": null, "optOuts": 0},
            "textBacks": 0,
            "inboundSms": {"messages": 0, "conversations": 0, "replied": 0, "replyRate": null},
        })
    );
    // The buckets add up to the summary.
    let sum = |path: &[&str]| -> i64 {
        buckets
            .iter()
            .map(|b| path.iter().fold(b, |v, k| &v[*k]).as_i64().unwrap())
            .sum()
    };
    assert_eq!(sum(&["calls", "total"]), 6);
    assert_eq!(sum(&["sms", "sent"]), 7);
    assert_eq!(sum(&["textBacks"]), 2);
    assert_eq!(sum(&["inboundSms", "conversations"]), 4);

    // The same week as one week bucket, and as (a clipped part of) one month.
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-11-02&to=2026-11-08&granularity=week",
            &token,
        )
        .await;
    let d = data(&r);
    assert_eq!(d["summary"], expected_summary);
    assert_eq!(d["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(d["buckets"][0]["calls"]["total"], 6);
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-11-02&to=2026-11-08&granularity=MONTH",
            &token,
        )
        .await;
    let d = data(&r);
    assert_eq!(d["buckets"][0]["period"], "2026-11-01");
    assert_eq!(d["buckets"][0]["start"], "2026-11-02T00:00:00+00:00");
    assert_eq!(d["buckets"][0]["inboundSms"]["replyRate"], 0.25);

    // The neighbour sees exactly its own copy.
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-11-02&to=2026-11-08",
            &n_token,
        )
        .await;
    assert_eq!(data(&r)["summary"], expected_summary);
    assert_eq!(data(&r)["tenantId"], n.as_str());

    // Admin: per tenant the tenant's own answer; across tenants both together.
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{t}/analytics?from=2026-11-02&to=2026-11-08"),
            None,
        )
        .await;
    assert_eq!(data(&r)["summary"], expected_summary);
    let r = app
        .admin(
            Method::GET,
            "/api/admin/analytics?from=2026-11-02&to=2026-11-08&granularity=week",
            None,
        )
        .await;
    let all = data(&r);
    assert_eq!(all["tenantId"], Value::Null);
    assert_eq!(all["timeZone"], "UTC");
    let s = &all["summary"];
    assert_eq!(s["calls"]["total"], 12);
    assert_eq!(s["calls"]["byReason"]["GET_HOURS"], 4);
    assert_eq!(s["calls"]["p90DurationSeconds"], 600);
    assert_eq!(s["sms"]["sent"], 14);
    assert_eq!(s["sms"]["deliveryRate"], 0.625);
    assert_eq!(s["textBack"], json!({"sent": 4, "medianSeconds": 7.0}));
    assert_eq!(s["inboundSms"]["conversations"], 8);
    assert_eq!(s["inboundSms"]["replied"], 2);
    assert_eq!(
        app.admin(
            Method::GET,
            "/api/admin/tenants/no-such-tenant/analytics",
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn buckets_follow_the_tenant_clock_across_dst_changes() {
    let app = app().start().await;
    let (t, token) = tenant(
        &app,
        json!({"name": "Empire Salon", "timeZone": "America/New_York"}),
    )
    .await;
    let c = |sid: &str, at: &str| call(&t, sid, ms(at));
    insert_calls(
        &app,
        &[
            // 23:59:59 EDT on Saturday Oct 31.
            c("CA1", "2026-11-01T03:59:59Z"),
            // 00:30 EDT on Sunday Nov 1, the 25-hour day.
            c("CA2", "2026-11-01T04:30:00Z"),
            // 01:30 happens twice: EDT, then EST an hour later. Both are local hour 1 of Nov 1.
            c("CA3", "2026-11-01T05:30:00Z"),
            c("CA4", "2026-11-01T06:30:00Z"),
            // 23:30 EST, still Nov 1 (in UTC it is already Nov 2).
            c("CA5", "2026-11-02T04:30:00Z"),
            // Midnight EST: Monday Nov 2.
            c("CA6", "2026-11-02T05:00:00Z"),
        ],
    )
    .await;
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-10-31&to=2026-11-02&granularity=day",
            &token,
        )
        .await;
    let d = data(&r);
    assert_eq!(d["timeZone"], "America/New_York");
    let b = d["buckets"].as_array().unwrap();
    let edges: Vec<(&str, &str, i64)> = b
        .iter()
        .map(|b| {
            (
                b["start"].as_str().unwrap(),
                b["end"].as_str().unwrap(),
                b["calls"]["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            ("2026-10-31T00:00:00-04:00", "2026-11-01T00:00:00-04:00", 1),
            ("2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 4),
            ("2026-11-02T00:00:00-05:00", "2026-11-03T00:00:00-05:00", 1),
        ]
    );
    let hours = |h: usize| {
        d["summary"]["calls"]["byHour"][h]["total"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (hours(23), hours(0), hours(1)),
        (2, 2, 2),
        "local hours: 23:59:59 and 23:30, 00:30 and midnight, 01:30 twice"
    );
    // The same calls by local weekday and hour: the week's cells add up to the day's hours.
    let week = &d["summary"]["calls"]["byWeekdayHour"];
    for h in 0..24 {
        let sum: i64 = (0..7)
            .map(|day| week[day]["hours"][h].as_i64().unwrap())
            .sum();
        assert_eq!(sum, hours(h), "hour {h}");
    }
    assert_eq!(week[5]["hours"][23], 1, "23:59:59 on Saturday Oct 31");
    assert_eq!(week[6]["hours"][23], 1, "23:30 EST on Sunday Nov 1");

    // The spring-forward day has 23 hours, and its week one hour less than 7 × 24.
    insert_calls(
        &app,
        &[
            // 23:30 EDT on Sunday Mar 8 (03:30Z on Mar 9).
            c("CA7", "2026-03-09T03:30:00Z"),
        ],
    )
    .await;
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-03-08&to=2026-03-08",
            &token,
        )
        .await;
    let d = data(&r);
    assert_eq!(d["buckets"][0]["start"], "2026-03-08T00:00:00-05:00");
    assert_eq!(d["buckets"][0]["end"], "2026-03-09T00:00:00-04:00");
    assert_eq!(d["buckets"][0]["calls"]["total"], 1);
    assert_eq!(d["summary"]["calls"]["byHour"][23]["total"], 1);

    // Weeks start on Monday, the first and last clipped to the range.
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-10-28&to=2026-11-10&granularity=week",
            &token,
        )
        .await;
    let d = data(&r);
    let weeks: Vec<(&str, &str, &str, i64)> = d["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["period"].as_str().unwrap(),
                b["start"].as_str().unwrap(),
                b["end"].as_str().unwrap(),
                b["calls"]["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [
            (
                "2026-10-26",
                "2026-10-28T00:00:00-04:00",
                "2026-11-02T00:00:00-05:00",
                5
            ),
            (
                "2026-11-02",
                "2026-11-02T00:00:00-05:00",
                "2026-11-09T00:00:00-05:00",
                1
            ),
            (
                "2026-11-09",
                "2026-11-09T00:00:00-05:00",
                "2026-11-11T00:00:00-05:00",
                0
            ),
        ]
    );

    // The same calls for an admin bucketing every tenant in UTC: Nov 2 (UTC) holds CA5 and CA6.
    let r = app
        .admin(
            Method::GET,
            "/api/admin/analytics?from=2026-11-02&to=2026-11-02&timeZone=UTC",
            None,
        )
        .await;
    assert_eq!(data(&r)["buckets"][0]["calls"]["total"], 2);
    let r = app
        .admin(
            Method::GET,
            "/api/admin/analytics?from=2026-11-02&to=2026-11-02&timeZone=America/New_York",
            None,
        )
        .await;
    assert_eq!(data(&r)["buckets"][0]["calls"]["total"], 1);
}

#[tokio::test]
async fn empty_periods_are_zeros_not_errors() {
    let app = app().start().await;
    let (t, token) = tenant(
        &app,
        json!({"name": "Quiet Salon", "timeZone": "Asia/Kolkata"}),
    )
    .await;
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-02-01&to=2026-02-03",
            &token,
        )
        .await;
    let d = data(&r);
    assert_eq!(d["buckets"].as_array().unwrap().len(), 3);
    // Kolkata is UTC+5:30: its midnights are half past the UTC hour.
    assert_eq!(d["buckets"][0]["start"], "2026-02-01T00:00:00+05:30");
    assert_eq!(
        d["summary"],
        json!({
            "calls": {"total": 0, "inbound": 0, "outbound": 0, "answered": 0, "missed": 0, "voicemail": 0,
                      "averageDurationSeconds": null, "p90DurationSeconds": null,
                      "byReason": reasons(&[]), "byHour": by_hour(&[]),
                      "byWeekdayHour": by_weekday_hour(&[])},
            "sms": {"sent": 0, "delivered": 0, "failed": 0, "pending": 0, "deliveryRate": null, "optOuts": 0},
            "textBack": {"sent": 0, "medianSeconds": null},
            "inboundSms": {"messages": 0, "conversations": 0, "replied": 0, "replyRate": null},
        })
    );
    // Defaults: the last 30 days (today included) in day buckets.
    let d = data(&app.tenant_get("/api/telephony/analytics", &token).await).clone();
    assert_eq!(d["granularity"], "day");
    assert_eq!(d["buckets"].as_array().unwrap().len(), 30);

    // A month with nothing: zero usage, and no number means no cost at all.
    let r = app
        .tenant_get("/api/telephony/usage?month=2026-02", &token)
        .await;
    let u = data(&r);
    assert_eq!(u["tenantId"], t.as_str());
    assert_eq!(u["month"], "2026-02");
    assert_eq!(u["from"], "2026-02-01T00:00:00+05:30");
    assert_eq!(u["to"], "2026-03-01T00:00:00+05:30");
    for k in [
        "inboundCalls",
        "inboundMinutes",
        "outboundMinutes",
        "forwardedMinutes",
        "smsSegmentsIn",
        "smsSegmentsOut",
        "recordingMinutes",
        "transcriptionMinutes",
        "phoneNumberMonths",
    ] {
        assert_eq!(u[k], 0, "{k}");
    }
    assert_eq!(u["estimatedCost"]["total"], 0.0);
    assert_eq!(u["estimatedCost"]["lines"].as_array().unwrap().len(), 7);

    // An empty export is its header.
    let r = app
        .tenant_get("/api/telephony/export?kind=calls", &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text.lines().count(), 1);
    assert!(r.text.starts_with("id,callSid,direction,"), "{}", r.text);
}

#[tokio::test]
async fn invalid_input_is_a_400_naming_the_field() {
    let app = app().start().await;
    let (_, token) = tenant(&app, json!({"name": "Bella Salon", "timeZone": "UTC"})).await;
    let analytics = [
        ("?from=yesterday", "from"),
        ("?from=2026-02-30", "from"),
        ("?to=2026-13-01", "to"),
        ("?to=soon", "to"),
        ("?from=2026-11-09&to=2026-11-08", "from"),
        ("?from=2026-11-08T10:00:00Z&to=2026-11-08T09:59:59Z", "from"),
        ("?granularity=hour", "granularity"),
        ("?granularity=", "granularity"),
        (
            "?from=2020-01-01&to=2026-01-01&granularity=day",
            "granularity",
        ),
        ("?tenantId=someone-else", "tenantId"),
    ];
    for (query, field) in analytics {
        let r = app
            .tenant_get(&format!("/api/telephony/analytics{query}"), &token)
            .await;
        if query == "?granularity=" {
            // A blank value is absent (web forms send every field): the default, day.
            assert_eq!(r.status, 200, "{}", r.text);
            continue;
        }
        assert_invalid(&r, field);
    }
    let r = app
        .tenant_get("/api/telephony/analytics?from=yesterday", &token)
        .await;
    assert_eq!(
        r.json["error"]["message"],
        "from must be a valid ISO 8601 date"
    );
    // Six years of months is fine.
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2020-01-01&to=2026-01-01&granularity=month",
            &token,
        )
        .await;
    assert_eq!(data(&r)["buckets"].as_array().unwrap().len(), 73);

    for (query, field) in [
        ("?month=2026-13", "month"),
        ("?month=2026-1", "month"),
        ("?month=November", "month"),
        ("?month=2026-11-01", "month"),
        ("?months=2026-11", "months"),
    ] {
        let r = app
            .tenant_get(&format!("/api/telephony/usage{query}"), &token)
            .await;
        assert_invalid(&r, field);
    }
    for (query, field) in [
        ("", "kind"),
        ("?kind=voicemails", "kind"),
        ("?kind=calls&from=2026-11-09&to=2026-11-08", "from"),
        ("?kind=calls&to=never", "to"),
        ("?kind=calls&format=xlsx", "format"),
    ] {
        let r = app
            .tenant_get(&format!("/api/telephony/export{query}"), &token)
            .await;
        assert_invalid(&r, field);
    }
    let r = app
        .admin(Method::GET, "/api/admin/analytics?timeZone=Mars/Base", None)
        .await;
    assert_invalid(&r, "timeZone");

    // Everything needs the tenant's credentials.
    for path in [
        "/api/telephony/analytics",
        "/api/telephony/usage",
        "/api/telephony/export?kind=calls",
    ] {
        let r = app.send(Method::GET, path, None, None, &[]).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
    }
    let r = app
        .send(Method::GET, "/api/admin/analytics", Some(&token), None, &[])
        .await;
    assert_eq!(r.status, 401, "a tenant token is not the admin token");
}

/// The first day of the current month in `tz`, and that of the next.
fn this_month(tz: &str) -> (jiff::civil::Date, jiff::civil::Date) {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get(tz).unwrap())
        .date();
    let first = today.first_of_month();
    (first, first.checked_add(1.month()).unwrap())
}

fn local_ms(d: jiff::civil::Date, hh: i8, mm: i8, tz: &str) -> i64 {
    d.at(hh, mm, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get(tz).unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// A recording row (and, with `provider`, its transcription).
async fn insert_recording(
    app: &TestApp,
    c: &Call,
    status: &str,
    secs: i64,
    provider: Option<&str>,
) {
    let id = switchboard::domain::new_id();
    let at = c.start_time;
    switchboard::with_db!(&app.state.db, |p| {
        sqlx::query(
            "INSERT INTO recordings (id, tenant_id, call_id, call_sid, recording_sid, kind, status, duration_seconds, \
             processing, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'voicemail', $6, $7, 'done', $8, $8)",
        )
        .bind(&id)
        .bind(&c.tenant_id)
        .bind(&c.id)
        .bind(&c.call_sid)
        .bind(format!("RE{}", uuid::Uuid::new_v4().simple()))
        .bind(status)
        .bind(secs)
        .bind(at)
        .execute(p)
        .await
        .map(|_| ())
    })
    .unwrap();
    if let Some(provider) = provider {
        switchboard::with_db!(&app.state.db, |p| {
            sqlx::query(
                "INSERT INTO transcriptions (id, tenant_id, recording_id, call_id, provider, text, summary, call_reason, \
                 sentiment, analysis_source, created_at) VALUES ($1, $2, $3, $4, $5, 'hi', 'hi', 'OTHER', 'neutral', 'rules', $6)",
            )
            .bind(switchboard::domain::new_id())
            .bind(&c.tenant_id)
            .bind(&id)
            .bind(&c.id)
            .bind(provider)
            .bind(at)
            .execute(p)
            .await
            .map(|_| ())
        })
        .unwrap();
    }
}

/// Seeds the current month (in Los Angeles) of `t` with the usage worked out in
/// [`usage_rounds_minutes_per_call_and_prices_them`]; returns the month as `YYYY-MM`.
async fn seed_usage_month(app: &TestApp, t: &str) -> String {
    const LA: &str = "America/Los_Angeles";
    let (first, next) = this_month(LA);
    let day = |n: i64| first.checked_add(n.days()).unwrap();
    let c = |sid: &str, at: i64| call(t, &format!("{t}-{sid}"), at);
    let mut calls = vec![
        answered(c("in61", local_ms(day(0), 9, 0, LA)), 61),
        answered(c("in60", local_ms(day(1), 9, 0, LA)), 60),
        answered(c("in1", local_ms(day(2), 9, 0, LA)), 1),
        missed(c("in0", local_ms(day(3), 9, 0, LA)), 0, false),
        c("inNone", local_ms(day(4), 9, 0, LA)),
        // The last minute of the month, local time.
        answered(c("inLast", local_ms(next, 0, 0, LA) - 60_000), 59),
        // The last minute of the previous month: not this month's.
        answered(c("inBefore", local_ms(first, 0, 0, LA) - 60_000), 600),
    ];
    let mut out = answered(c("out125", local_ms(day(5), 10, 0, LA)), 125);
    out.direction = "outbound".into();
    calls.push(out);
    // Forwarded to staff: the leg from pick-up to hang-up is 90 s.
    let mut fwd = answered(c("fwd", local_ms(day(6), 11, 0, LA)), 90);
    fwd.forwarded_to = Some("+14155550199".into());
    calls.push(fwd);
    insert_calls(app, &calls).await;
    // Inbound 1 + 3 segments; outbound 2 + 1, and a failed 5-segment one Twilio does not bill.
    let at = |d: i64| local_ms(day(d), 12, 0, LA);
    let seg = |m: Msg<'static>, s: i64| Msg { segments: s, ..m };
    insert_msgs(
        app,
        t,
        &[
            seg(msg("inbound", "+14155550301", at(0)), 1),
            seg(msg("inbound", "+14155550302", at(1)), 3),
            seg(msg("outbound", "+14155550301", at(0)), 2),
            seg(msg("outbound", "+14155550302", at(1)), 1),
            Msg {
                status: "failed",
                ..seg(msg("outbound", "+14155550303", at(2)), 5)
            },
            // Last month's.
            seg(
                msg("inbound", "+14155550302", local_ms(first, 0, 0, LA) - 1),
                4,
            ),
        ],
    )
    .await;
    // Recordings: 61 s (2 min, transcribed), 30 s (1 min, the transcriber failed to run), absent.
    let by_sid = |sid: &str| {
        calls
            .iter()
            .find(|x| x.call_sid == format!("{t}-{sid}"))
            .unwrap()
            .clone()
    };
    insert_recording(app, &by_sid("in61"), "completed", 61, Some("openai")).await;
    insert_recording(app, &by_sid("in60"), "completed", 30, Some("none")).await;
    insert_recording(app, &by_sid("in1"), "absent", 0, None).await;
    first.strftime("%Y-%m").to_string()
}

#[tokio::test]
async fn usage_rounds_minutes_per_call_and_prices_them() {
    let app = app()
        .config(|r| {
            r.price_inbound_per_min = Some("0.01".into());
            r.price_number_monthly = Some("1.15".into());
        })
        .start()
        .await;
    let (t, token) = tenant(
        &app,
        json!({"name": "Sunset Salon", "timeZone": "America/Los_Angeles", "phoneNumber": "+14155550100"}),
    )
    .await;
    let month = seed_usage_month(&app, &t).await;
    let r = app
        .tenant_get(&format!("/api/telephony/usage?month={month}"), &token)
        .await;
    let u = data(&r);
    assert_eq!(u["month"], month.as_str());
    assert_eq!(u["timeZone"], "America/Los_Angeles");
    // in61 2 + in60 1 + in1 1 + in0 0 + inNone 0 + inLast 1 + fwd 2 (the caller's leg) = 7.
    assert_eq!(u["inboundCalls"], 7);
    assert_eq!(u["inboundMinutes"], 7);
    assert_eq!(u["outboundCalls"], 1);
    assert_eq!(u["outboundMinutes"], 3, "125 s is 3 started minutes");
    assert_eq!(u["forwardedMinutes"], 2, "the 90 s leg to staff");
    assert_eq!(u["inboundMessages"], 2);
    assert_eq!(u["smsSegmentsIn"], 4);
    assert_eq!(u["outboundMessages"], 2);
    assert_eq!(u["smsSegmentsOut"], 3);
    assert_eq!(u["recordings"], 2);
    assert_eq!(u["recordingMinutes"], 3);
    assert_eq!(u["transcriptions"], 1);
    assert_eq!(u["transcriptionMinutes"], 2);
    assert_eq!(u["phoneNumberMonths"], 1);
    let lines: Vec<(String, i64, f64, f64)> = u["estimatedCost"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["item"].as_str().unwrap().to_string(),
                l["quantity"].as_i64().unwrap(),
                l["unitPrice"].as_f64().unwrap(),
                l["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    let line = |item: &str, q: i64, p: f64, a: f64| (item.to_string(), q, p, a);
    assert_eq!(
        lines,
        [
            line("phone_number", 1, 1.15, 1.15),
            line("inbound_minutes", 7, 0.01, 0.07),
            line("outbound_minutes", 3, 0.013, 0.039),
            line("forwarded_minutes", 2, 0.013, 0.026),
            line("sms_segments", 7, 0.0079, 0.0553),
            line("recording_minutes", 3, 0.0025, 0.0075),
            line("transcription_minutes", 2, 0.015, 0.03),
        ]
    );
    // 1.15 + 0.07 + 0.039 + 0.026 + 0.0553 + 0.0075 + 0.03, added in millionths of a dollar.
    assert_eq!(u["estimatedCost"]["total"], 1.3778);
    assert_eq!(u["estimatedCost"]["currency"], "USD");

    // The admin sees the same; a month that has not begun has no number-month.
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{t}/usage?month={month}"),
            None,
        )
        .await;
    assert_eq!(data(&r)["estimatedCost"]["total"], 1.3778);
    let r = app
        .tenant_get("/api/telephony/usage?month=2099-01", &token)
        .await;
    assert_eq!(data(&r)["phoneNumberMonths"], 0);
    assert_eq!(data(&r)["estimatedCost"]["total"], 0.0);
}

#[tokio::test]
async fn csv_export_round_trips_through_a_csv_parser() {
    let app = app().start().await;
    let (t, token) = tenant(
        &app,
        json!({"name": "Quote Salon", "timeZone": "Europe/Paris"}),
    )
    .await;
    let (other, _) = tenant(&app, json!({"name": "Other Salon", "timeZone": "UTC"})).await;
    let bodies = [
        "plain",
        "commas, everywhere, here",
        "she said \"hi\" and \"bye\"",
        "two\nlines",
        "windows\r\nline end",
        "\"quoted\",\nall, of \"it\"\r\n",
        "ünïcödé ✂ 🎉",
        "",
        " leading and trailing spaces ",
    ];
    let base = ms("2026-11-02T08:00:00Z");
    let mut msgs: Vec<Msg> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| Msg {
            body: b,
            ..msg("inbound", "+14155550301", base + i as i64 * 60_000)
        })
        .collect();
    // A formula from a customer is defused for spreadsheets.
    msgs.push(Msg {
        body: "=HYPERLINK(\"http://evil\",\"x\")",
        ..msg("inbound", "+14155550302", base + 3_600_000)
    });
    let ids = insert_msgs(&app, &t, &msgs).await;
    insert_msgs(
        &app,
        &other,
        &[Msg {
            body: "not yours",
            ..msg("inbound", "+14155550399", base)
        }],
    )
    .await;

    let r = app
        .tenant_get("/api/telephony/export?kind=messages", &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"messages-quote-salon.csv\"")
    );
    let mut rdr = csv::ReaderBuilder::new().from_reader(r.text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "id",
            "messageSid",
            "direction",
            "customer",
            "fromNumber",
            "toNumber",
            "status",
            "segments",
            "errorCode",
            "createdAt",
            "localCreatedAt",
            "numMedia",
            "mediaUrls",
            "body"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), bodies.len() + 1, "only this tenant's messages");
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(&rows[i][0], ids[i].as_str(), "oldest first");
        assert_eq!(&rows[i][13], *body, "body {i} round-trips exactly");
        assert_eq!(&rows[i][3], "+14155550301");
    }
    assert_eq!(&rows[0][2], "inbound");
    assert_eq!(&rows[0][9], "2026-11-02T08:00:00.000Z");
    assert_eq!(&rows[0][10], "2026-11-02 09:00:00", "Paris time");
    assert_eq!(
        &rows[bodies.len()][13],
        "'=HYPERLINK(\"http://evil\",\"x\")"
    );

    // Calls, notes with the same hazards; a range keeps to the tenant's days.
    let mut a = answered(call(&t, "CAa", ms("2026-11-02T08:30:00Z")), 61);
    a.notes = Some("asked, \"twice\",\nabout Sunday".into());
    a.call_reason = Some("GET_HOURS".into());
    let b = missed(call(&t, "CAb", ms("2026-11-03T08:30:00Z")), 20, true);
    insert_calls(&app, &[a.clone(), b]).await;
    let r = app
        .tenant_get(
            "/api/telephony/export?kind=calls&from=2026-11-02&to=2026-11-02",
            &token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut rdr = csv::Reader::from_reader(r.text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    let get = |name: &str| {
        let i = h.iter().position(|x| x == name).unwrap();
        rows[0][i].to_string()
    };
    assert_eq!(get("callSid"), "CAa");
    assert_eq!(get("notes"), "asked, \"twice\",\nabout Sunday");
    assert_eq!(get("durationSeconds"), "61");
    assert_eq!(get("billedMinutes"), "2");
    assert_eq!(get("callReason"), "GET_HOURS");
    assert_eq!(get("missed"), "false");
    assert_eq!(get("startTime"), "2026-11-02T08:30:00.000Z");
    assert_eq!(get("localStartTime"), "2026-11-02 09:30:00");
}

#[tokio::test]
async fn csv_export_pages_through_every_row_once_in_order() {
    let app = app().start().await;
    let (t, token) = tenant(&app, json!({"name": "Busy Salon", "timeZone": "UTC"})).await;
    // More than two pages, with many rows sharing an instant so the id breaks the ties.
    let base = ms("2026-11-02T08:00:00Z");
    let calls: Vec<Call> = (0..1203)
        .map(|i| call(&t, &format!("CA{i:05}"), base + (i / 7) * 1000))
        .collect();
    insert_calls(&app, &calls).await;
    let r = app
        .tenant_get("/api/telephony/export?kind=calls", &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut rdr = csv::Reader::from_reader(r.text.as_bytes());
    let got: Vec<(String, String)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[6].to_string(), r[0].to_string())
        })
        .collect();
    let mut expected: Vec<(String, String)> = calls
        .iter()
        .map(|c| (switchboard::clock::rfc3339(c.start_time), c.id.clone()))
        .collect();
    expected.sort();
    assert_eq!(got.len(), 1203);
    assert_eq!(got, expected);
}

#[tokio::test]
async fn analytics_routes_are_in_the_openapi_document() {
    let app = app().start().await;
    let r = app
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(r.status, 200);
    let params = |op: &Value| -> Vec<String> {
        let mut v: Vec<String> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}",
                    p["in"].as_str().unwrap(),
                    p["name"].as_str().unwrap()
                )
            })
            .collect();
        v.sort();
        v
    };
    let paths = &r.json["paths"];
    let cases: [(&str, &str, &str, &[&str]); 6] = [
        (
            "/api/telephony/analytics",
            "telephony",
            "tenant",
            &["query:from", "query:granularity", "query:to"],
        ),
        (
            "/api/telephony/usage",
            "telephony",
            "tenant",
            &["query:month"],
        ),
        (
            "/api/telephony/export",
            "telephony",
            "tenant",
            &["query:from", "query:kind", "query:to"],
        ),
        (
            "/api/admin/analytics",
            "admin",
            "admin",
            &[
                "query:from",
                "query:granularity",
                "query:timeZone",
                "query:to",
            ],
        ),
        (
            "/api/admin/tenants/{id}/analytics",
            "admin",
            "admin",
            &["path:id", "query:from", "query:granularity", "query:to"],
        ),
        (
            "/api/admin/tenants/{id}/usage",
            "admin",
            "admin",
            &["path:id", "query:month"],
        ),
    ];
    for (path, tag, security, expected) in cases {
        let op = &paths[path]["get"];
        assert_eq!(op["tags"], json!([tag]), "{path}: {op}");
        assert_eq!(op["security"], json!([{ security: [] }]), "{path}");
        assert_eq!(params(op), expected, "{path}");
    }
    assert!(
        paths["/api/telephony/export"]["get"]["responses"]["200"]["content"]["text/csv"]
            .is_object(),
        "{}",
        paths["/api/telephony/export"]
    );
    let schemas = &r.json["components"]["schemas"];
    for name in [
        "AnalyticsReport",
        "AnalyticsSummary",
        "BucketView",
        "UsageReport",
        "CostEstimate",
        "CostLine",
    ] {
        assert!(schemas[name].is_object(), "{name} schema missing");
    }
    let summary = schemas["CallSummary"]["properties"].as_object().unwrap();
    assert!(summary.contains_key("p90DurationSeconds") && summary.contains_key("byHour"));
}

fn switchboard_cli(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("LOG_LEVEL", "warn")
        // Run where no stray .env can leak in.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run switchboard")
}

#[tokio::test]
async fn report_prints_the_month_as_a_table_or_json() {
    let app = app().start().await;
    let (t, _) = tenant(
        &app,
        json!({"name": "Sunset Salon", "slug": "sunset", "timeZone": "America/Los_Angeles", "phoneNumber": "+14155550100"}),
    )
    .await;
    let month = seed_usage_month(&app, &t).await;

    let o = switchboard_cli(
        &app.db_url,
        &["report", "--tenant", "sunset", "--month", &month],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.starts_with(&format!(
            "Sunset Salon (sunset), {month} in America/Los_Angeles\n"
        )),
        "{out}"
    );
    let line = |label: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("calls"),
        "calls 8 answered 6, missed 1, voicemail 0 (7 in, 1 out)"
    );
    assert_eq!(line("inbound minutes"), "inbound minutes 7 0.0085 0.0595");
    assert_eq!(line("sms segments"), "sms segments 7 0.0079 0.0553");
    assert_eq!(line("phone number"), "phone number 1 1 1.0000");
    // 1 + 0.0595 + 0.039 + 0.026 + 0.0553 + 0.0075 + 0.03
    assert_eq!(line("total"), "total 1.2173");

    let o = switchboard_cli(
        &app.db_url,
        &["report", "--tenant", &t, "--month", &month, "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["usage"]["inboundMinutes"], 7);
    assert_eq!(v["analytics"]["granularity"], "month");
    assert_eq!(v["analytics"]["summary"]["calls"]["total"], 8);

    let o = switchboard_cli(
        &app.db_url,
        &["report", "--tenant", "sunset", "--month", "2026-13"],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("month: must be a month as YYYY-MM"), "{err}");
}

#[test]
fn bench_analytics_seeds_times_and_counts_every_call() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(["bench", "analytics", "--calls", "2000", "--runs", "2"]);
    let pg_url = std::env::var("SWITCHBOARD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if backend() == "postgres" {
        cmd.args(["--database-url", &pg_url]);
    }
    let o = cmd
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Never the configured database: this one does not even exist.
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/not_here")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run bench analytics");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "stdout:\n{out}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let figure = |label: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{label}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
            .to_string()
    };
    let expected_backend = if backend() == "postgres" {
        "postgres"
    } else {
        "sqlite"
    };
    assert!(figure("backend").starts_with(expected_backend), "{out}");
    assert_eq!(figure("calls counted"), "2000 (expected 2000)");
    assert!(figure("analytics day").starts_with("median "), "{out}");
    assert!(figure("export calls").starts_with("2000 rows"), "{out}");
}
