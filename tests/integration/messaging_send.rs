//! Outbound SMS: send APIs, the notification worker against the sandbox (and a scripted Twilio for
//! 429), status callbacks, opt-outs, pacing, reconciliation of interrupted sends, the missed-call
//! text-back end to end.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::db;
use switchboard::domain::MessageSid;
use switchboard::jobs::worker::run_pending_jobs;
use switchboard_twilio::rest::SendMessage;
use switchboard_twilio::simulator::{CallScript, DialOutcome};

use crate::support::{TestApp, app};
use crate::voice::{MONDAY_10AM_NY, NUMBER, salon, set_clock, signed_post, simulator};

async fn tenant_token(app: &TestApp, number: &str) -> (String, String) {
    let t = app
        .create_tenant(
            json!({"name": "Bella Salon", "timeZone": "America/New_York", "phoneNumber": number}),
        )
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    let token = app.token_for(&id).await;
    (id, token)
}

async fn send(app: &TestApp, token: &str, to: &str, message: &str) -> Value {
    let r = app
        .send(
            Method::POST,
            "/api/telephony/sms",
            Some(token),
            Some(json!({"phoneNumber": to, "message": message})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

async fn notification(app: &TestApp, id: &str) -> db::notifications::Notification {
    db::notifications::get(&app.state.db, id)
        .await
        .unwrap()
        .unwrap()
}

fn posts_to_twilio(app: &TestApp) -> Vec<switchboard_twilio::sandbox::RecordedRequest> {
    app.state
        .twilio
        .sandbox
        .as_ref()
        .unwrap()
        .received_requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
        .collect()
}

/// Sent, possibly already delivered: the sandbox's zero-delay callbacks race the assertion.
fn assert_sent(n: &db::notifications::Notification) {
    assert!(
        n.status == "SENT" || n.status == "DELIVERED",
        "status {}",
        n.status
    );
    assert!(n.twilio_sid.is_some());
}

fn fast() -> crate::support::Builder {
    app().config(|c| {
        c.sandbox_callback_delay_ms = Some("0".into());
        c.sms_segments_per_second = Some("0".into());
    })
}

#[tokio::test]
async fn queued_sms_is_sent_once_and_delivery_is_tracked() {
    let app = fast().start().await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    let r = send(
        &app,
        &token,
        "+14155550123",
        "Your appointment is confirmed!",
    )
    .await;
    assert_eq!(r["success"], true);
    assert_eq!(r["message"], "SMS sent successfully");
    assert_eq!(
        r["data"]["status"], "QUEUED",
        "the answer comes once the SMS is durably queued"
    );
    let id = r["data"]["id"].as_str().unwrap();
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().succeeded, 1);
    let n = notification(&app, id).await;
    assert_sent(&n);
    let sid = n.twilio_sid.clone().unwrap();
    let posts = posts_to_twilio(&app);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].param("To"), Some("+14155550123"));
    assert_eq!(posts[0].param("From"), Some(NUMBER));
    assert_eq!(
        posts[0].param("StatusCallback"),
        Some(format!("{}/api/webhooks/twilio/sms/status", app.base).as_str())
    );
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;
    let n = notification(&app, id).await;
    assert_eq!(
        n.status, "DELIVERED",
        "the sandbox's signed callbacks moved it on"
    );
    assert!(n.delivered_at.is_some());
    let m = db::messages::get_by_sid(&app.state.db, &MessageSid::stored(&sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.direction.as_str(), m.status.as_str(), m.body.as_str()),
        ("outbound", "delivered", "Your appointment is confirmed!")
    );
    // Running the job again sends nothing.
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    assert_eq!(posts_to_twilio(&app).len(), 1);
}

#[tokio::test]
async fn idempotency_key_queues_once() {
    let app = fast().start().await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    let body = json!({"phoneNumber": "+14155550123", "message": "Hi"});
    let a = app
        .send(
            Method::POST,
            "/api/telephony/sms",
            Some(&token),
            Some(body.clone()),
            &[("idempotency-key", "order-42")],
        )
        .await;
    let b = app
        .send(
            Method::POST,
            "/api/telephony/sms",
            Some(&token),
            Some(body),
            &[("idempotency-key", "order-42")],
        )
        .await;
    assert_eq!(a.json["data"]["id"], b.json["data"]["id"]);
    assert_eq!(
        (
            a.json["data"]["created"].as_bool(),
            b.json["data"]["created"].as_bool()
        ),
        (Some(true), Some(false))
    );
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(posts_to_twilio(&app).len(), 1);
}

#[tokio::test]
async fn send_apis_validate_their_input() {
    let app = fast().start().await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    for (path, body, field) in [
        (
            "/api/telephony/sms",
            json!({"phoneNumber": "555-0100", "message": "x"}),
            "phoneNumber",
        ),
        (
            "/api/telephony/sms",
            json!({"phoneNumber": "+14155550123", "message": "   "}),
            "message",
        ),
        (
            "/api/telephony/sms",
            json!({"phoneNumber": "+14155550123", "message": "x".repeat(1601)}),
            "message",
        ),
        (
            "/api/telephony/sms",
            json!({"phoneNumber": "+14155550123"}),
            "message",
        ),
        (
            "/api/twilio/send-sms",
            json!({"to": "+14155550123"}),
            "body",
        ),
        (
            "/api/twilio/send-sms",
            json!({"to": "nope", "body": "x"}),
            "to",
        ),
    ] {
        let r = app
            .send(Method::POST, path, Some(&token), Some(body.clone()), &[])
            .await;
        assert_eq!((r.status, r.field()), (400, field), "{body}: {}", r.text);
    }
    let r = app
        .send(
            Method::POST,
            "/api/telephony/sms",
            None,
            Some(json!({"phoneNumber": "+14155550123", "message": "x"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
    let (total, _) = db::notifications::list(&app.state.db, "nobody", &Default::default(), 10, 0)
        .await
        .unwrap();
    assert!(total.is_empty());
    // Both seed shapes of send-sms work.
    for body in [
        json!({"to": "+14155550123", "message": "seed 002"}),
        json!({"to": "+14155550124", "body": "seed 003", "userId": "user-123", "metadata": {"campaign": "follow-up"}}),
    ] {
        let r = app
            .send(
                Method::POST,
                "/api/twilio/send-sms",
                Some(&token),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["data"]["status"], "QUEUED");
    }
    let with_meta = notification(
        &app,
        app.send(
            Method::POST,
            "/api/twilio/send-sms",
            Some(&token),
            Some(json!({"to": "+14155550125", "body": "m", "metadata": {"k": 1}})),
            &[],
        )
        .await
        .json["data"]["id"]
            .as_str()
            .unwrap(),
    )
    .await;
    assert!(with_meta.metadata.unwrap().contains("\"k\":1"));
}

#[tokio::test]
async fn twilio_magic_numbers_end_failed_with_their_codes() {
    let app = fast().start().await;
    let (tenant, token) = tenant_token(&app, NUMBER).await;
    let cases = [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ];
    let mut ids = Vec::new();
    for (to, _) in cases {
        ids.push(
            send(&app, &token, to, "hello").await["data"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let s = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(s.succeeded, 5, "permanent failures finish the job: {s:?}");
    for ((to, code), id) in cases.iter().zip(&ids) {
        let n = notification(&app, id).await;
        assert_eq!(
            (n.status.as_str(), n.error_code),
            ("FAILED", Some(*code as i64)),
            "{to}"
        );
        assert!(
            n.failure_reason.as_deref().unwrap_or("").len() > 10,
            "a human reason: {:?}",
            n.failure_reason
        );
    }
    assert!(
        db::opt_outs::is_opted_out(&app.state.db, &tenant, "+15005550004")
            .await
            .unwrap(),
        "21610 records an opt-out"
    );
    // A sender Twilio says the account does not own.
    let other = fast().start().await;
    let (_, token) = tenant_token(&other, "+15005550007").await;
    let id = send(&other, &token, "+14155550123", "hi").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    run_pending_jobs(&other.state).await.unwrap();
    assert_eq!(notification(&other, &id).await.error_code, Some(21606));
}

#[tokio::test]
async fn opted_out_recipients_are_never_sent_to() {
    let app = fast().start().await;
    let (tenant, token) = tenant_token(&app, NUMBER).await;
    // Queued before the recipient texted STOP: the sender still does not send it.
    let id = send(&app, &token, "+14155550123", "promo").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tx = app.state.db.begin().await.unwrap();
    db::opt_outs::add(&mut tx, &tenant, "+14155550123", "keyword", 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    run_pending_jobs(&app.state).await.unwrap();
    let n = notification(&app, &id).await;
    assert_eq!((n.status.as_str(), n.error_code), ("FAILED", Some(21610)));
    assert!(
        posts_to_twilio(&app).is_empty(),
        "no Twilio call for an opted-out recipient"
    );

    // Asked for after the STOP: refused up front on every send route, and nothing is queued.
    for (path, body, field) in [
        (
            "/api/telephony/sms",
            json!({"phoneNumber": "+14155550123", "message": "again"}),
            "phoneNumber",
        ),
        (
            "/api/twilio/send-sms",
            json!({"to": "+14155550123", "body": "again"}),
            "to",
        ),
    ] {
        let r = app
            .send(Method::POST, path, Some(&token), Some(body), &[])
            .await;
        assert_eq!(
            (r.status, r.code(), r.field()),
            (409, "RECIPIENT_OPTED_OUT", field),
            "{path}: {}",
            r.text
        );
        assert!(
            r.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("START")
        );
    }
    let r = app.tenant_get("/api/telephony/notifications", &token).await;
    assert_eq!(r.json["data"]["total"], 1, "{}", r.text);
}

#[tokio::test]
async fn delivery_failures_reported_later_and_30004_opt_out() {
    let app = fast().start().await;
    let (tenant, token) = tenant_token(&app, NUMBER).await;
    let a = send(&app, &token, "+15005550030", "x").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = send(&app, &token, "+15005550034", "y").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    run_pending_jobs(&app.state).await.unwrap();
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;
    let a = notification(&app, &a).await;
    assert_eq!(
        (a.status.as_str(), a.error_code),
        ("UNDELIVERED", Some(30003))
    );
    let b = notification(&app, &b).await;
    assert_eq!(
        (b.status.as_str(), b.error_code),
        ("UNDELIVERED", Some(30004))
    );
    assert!(
        db::opt_outs::is_opted_out(&app.state.db, &tenant, "+15005550034")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn status_callbacks_out_of_order_and_twice_only_move_forward() {
    let app = fast().start().await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    let id = send(&app, &token, "+14155550123", "x").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A Twilio that never calls back: post the callbacks ourselves, in a bad order.
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;
    run_pending_jobs(&app.state).await.unwrap();
    let sid = notification(&app, &id).await.twilio_sid.unwrap();
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;
    for status in ["delivered", "sent", "queued", "delivered", "undelivered"] {
        let (code, _) = signed_post(
            &app,
            "/api/webhooks/twilio/sms/status",
            &[
                ("MessageSid", &sid),
                ("MessageStatus", status),
                ("To", "+14155550123"),
                ("From", NUMBER),
            ],
        )
        .await;
        assert_eq!(code, 200);
    }
    let n = notification(&app, &id).await;
    assert_eq!(n.status, "DELIVERED");
    assert_eq!(n.error_code, None);
    let (code, _) = signed_post(
        &app,
        "/api/webhooks/twilio/sms/status",
        &[
            ("MessageSid", "SMffffffffffffffffffffffffffffffff"),
            ("MessageStatus", "sent"),
        ],
    )
    .await;
    assert_eq!(code, 200, "unknown SID is not an error");
    let bad = app
        .client
        .post(format!("{}/api/webhooks/twilio/sms/status", app.base))
        .form(&[("MessageSid", sid.as_str()), ("MessageStatus", "failed")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
}

/// Queues an SMS and simulates the crash window after Twilio accepted it: the row was marked
/// SENDING, Twilio has the message, and the worker died before recording the SID. Returns the
/// notification's id and what Twilio accepted.
async fn interrupted_after_twilio(
    app: &TestApp,
    token: &str,
    to: &str,
    text: &str,
) -> (String, switchboard_twilio::rest::Message) {
    let id = send(app, token, to, text).await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut n = notification(app, &id).await;
    n.status = "SENDING".parse().unwrap();
    n.sending_started_at = Some(app.clock.now_ms());
    db::notifications::save_alone(&app.state.db, &n)
        .await
        .unwrap();
    let accepted = app
        .state
        .twilio
        .client
        .send_message(&SendMessage {
            to: to.into(),
            from: Some(NUMBER.into()),
            body: Some(text.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    (id, accepted)
}

#[tokio::test]
async fn a_send_interrupted_after_twilio_accepted_it_is_adopted_not_repeated() {
    let app = fast().start().await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    let (id, accepted) =
        interrupted_after_twilio(&app, &token, "+14155550123", "exactly once").await;
    run_pending_jobs(&app.state).await.unwrap();
    let n = notification(&app, &id).await;
    assert_sent(&n);
    assert_eq!(n.twilio_sid, accepted.sid, "adopted Twilio's message");
    assert_eq!(posts_to_twilio(&app).len(), 1, "no second send");
}

/// Twilio's signed status callback for `sid`: undelivered, 30004 (the recipient cannot be
/// reached), from `from` to `to`.
async fn undelivered_30004(app: &TestApp, sid: &str, to: &str, from: &str) {
    let (code, body) = signed_post(
        app,
        "/api/webhooks/twilio/sms/status",
        &[
            ("MessageSid", sid),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30004"),
            ("To", to),
            ("From", from),
        ],
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

/// Twilio's status callback can reach us before the sender has recorded the message's SID: the
/// callback then stores the message row with its status but cannot find the notification. The
/// sender's own write must adopt that row (its text and notification filled in) and apply the
/// status it carries to the notification, with the opt-out a 30004 means.
#[tokio::test]
async fn a_status_callback_that_beat_the_senders_write_is_adopted_by_it() {
    let app = fast().start().await;
    let (tenant, token) = tenant_token(&app, NUMBER).await;
    let to = "+14155550123";
    // The send reached Twilio and the worker stopped before recording it, so the job's next run
    // reconciles and records the send with the callback's row in place.
    let (id, accepted) = interrupted_after_twilio(&app, &token, to, "callback first").await;
    let sid = accepted.sid.clone().unwrap();
    undelivered_30004(&app, &sid, to, NUMBER).await;
    let early = db::messages::get_by_sid(&app.state.db, &MessageSid::stored(&sid))
        .await
        .unwrap()
        .expect("the callback stored the row");
    assert_eq!((early.body.as_str(), early.notification_id), ("", None));
    assert_eq!(
        notification(&app, &id).await.status,
        "SENDING",
        "the callback could not find the notification"
    );

    run_pending_jobs(&app.state).await.unwrap();
    let n = notification(&app, &id).await;
    assert_eq!(n.twilio_sid.as_deref(), Some(sid.as_str()));
    assert_eq!(
        (n.status.as_str(), n.error_code),
        ("UNDELIVERED", Some(30004)),
        "the callback's status applied to the notification"
    );
    let m = db::messages::get_by_sid(&app.state.db, &MessageSid::stored(&sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            m.body.as_str(),
            m.notification_id.as_deref(),
            m.status.as_str()
        ),
        ("callback first", Some(id.as_str()), "undelivered"),
        "one row, given its text and notification"
    );
    assert!(
        db::opt_outs::is_opted_out(&app.state.db, &tenant, to)
            .await
            .unwrap(),
        "30004 means the recipient cannot be reached: opted out"
    );
    assert_eq!(posts_to_twilio(&app).len(), 1, "no second send");
}

/// A message row stored under the same SID for another tenant (by a callback naming that tenant's
/// number) is not adopted by this tenant's send: its status is not applied to this notification,
/// its text is not filled in, and this send gets its own row.
#[tokio::test]
async fn a_row_of_another_tenant_under_the_same_sid_is_not_adopted() {
    let app = fast().start().await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    let other_number = "+15005550001";
    let other = app
        .create_tenant(json!({"name": "Other Salon", "timeZone": "America/New_York", "phoneNumber": other_number}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let to = "+14155550123";
    let (id, accepted) = interrupted_after_twilio(&app, &token, to, "mine").await;
    let sid = accepted.sid.clone().unwrap();
    undelivered_30004(&app, &sid, to, other_number).await;

    run_pending_jobs(&app.state).await.unwrap();
    let n = notification(&app, &id).await;
    assert_eq!((n.status.as_str(), n.error_code), ("SENT", None));
    let db = &app.state.db;
    let rows: Vec<(String, String, Option<String>)> = switchboard::with_db!(db, |p| {
        sqlx::query_as(
            "SELECT tenant_id, body, notification_id FROM messages WHERE message_sid = $1 ORDER BY body",
        )
        .bind(&sid)
        .fetch_all(p)
        .await
        .unwrap()
    });
    assert_eq!(
        rows,
        vec![
            (other.clone(), String::new(), None),
            (n.tenant_id.clone(), "mine".to_string(), Some(id.clone())),
        ]
    );
    assert!(
        !db::opt_outs::is_opted_out(db, &n.tenant_id, to)
            .await
            .unwrap(),
        "another tenant's 30004 opts nobody out here"
    );
}

#[tokio::test]
async fn a_send_interrupted_before_twilio_saw_it_is_sent_once() {
    let app = fast().start().await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    let id = send(&app, &token, "+14155550123", "not yet at twilio").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut n = notification(&app, &id).await;
    n.status = "SENDING".parse().unwrap();
    n.sending_started_at = Some(app.clock.now_ms());
    db::notifications::save_alone(&app.state.db, &n)
        .await
        .unwrap();
    run_pending_jobs(&app.state).await.unwrap();
    assert_sent(&notification(&app, &id).await);
    assert_eq!(posts_to_twilio(&app).len(), 1);
}

#[tokio::test]
async fn per_sender_pace_holds() {
    let app = app()
        .config(|c| {
            c.sandbox_callback_delay_ms = Some("0".into());
            c.sms_segments_per_second = Some("1".into());
        })
        .start()
        .await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    for i in 0..3 {
        send(&app, &token, "+14155550123", &format!("msg {i}")).await;
    }
    let s = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(
        (s.succeeded, s.deferred),
        (1, 2),
        "one segment per second: {s:?}"
    );
    assert_eq!(posts_to_twilio(&app).len(), 1);
    app.clock.advance_ms(1000);
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().succeeded, 1);
    app.clock.advance_ms(999);
    assert_eq!(
        run_pending_jobs(&app.state).await.unwrap().succeeded,
        0,
        "not before its slot"
    );
    app.clock.advance_ms(1);
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().succeeded, 1);
    let attempts: Vec<i64> =
        switchboard::jobs::store::list(&app.state.db, Some("done"), None, 10, 0)
            .await
            .unwrap()
            .0
            .iter()
            .map(|j| j.attempts)
            .collect();
    assert!(
        attempts.iter().all(|a| *a == 1),
        "waiting for a slot is not a failed attempt: {attempts:?}"
    );
}

#[tokio::test]
async fn rate_limited_by_twilio_then_sent() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"/Messages\.json$"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(
                    json!({"code": 20429, "message": "Too Many Requests", "status": 429}),
                ),
        )
        .up_to_n_times(1)
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"/Messages\.json$"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": "+14155550123", "from": NUMBER, "body": "hi", "num_segments": "1"})))
        .mount(&twilio)
        .await;
    let app = app()
        .config(|c| {
            c.twilio_account_sid = Some("AC0123456789abcdef0123456789abcdef".into());
            c.twilio_auth_token = Some("token".into());
            c.twilio_api_base_url = Some(twilio.uri());
            c.sms_segments_per_second = Some("0".into());
        })
        .start()
        .await;
    let (_, token) = tenant_token(&app, NUMBER).await;
    let id = send(&app, &token, "+14155550123", "hi").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(s.retried, 1);
    let n = notification(&app, &id).await;
    assert_eq!(
        n.status, "QUEUED",
        "a 429 was never processed: back to the queue"
    );
    let job = &switchboard::jobs::store::list(&app.state.db, Some("pending"), None, 10, 0)
        .await
        .unwrap()
        .0[0];
    assert!(
        job.run_at - app.clock.now_ms() >= 7000,
        "Retry-After honoured"
    );
    app.clock.advance_ms(60_000);
    run_pending_jobs(&app.state).await.unwrap();
    let n = notification(&app, &id).await;
    assert_eq!(
        (n.status.as_str(), n.twilio_sid.as_deref()),
        ("SENT", Some("SM0123456789abcdef0123456789abcdef"))
    );
}

#[tokio::test]
async fn missed_call_text_back_is_delivered() {
    let app = fast().start().await;
    salon(&app, json!({"fallback": "hangup"})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let t = simulator(&app)
        .run_call(&CallScript::new("+14155550142", NUMBER).dial_outcome("*", DialOutcome::NoAnswer))
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    run_pending_jobs(&app.state).await.unwrap();
    let posts = posts_to_twilio(&app);
    assert_eq!(posts.len(), 1, "one text-back");
    assert_eq!(posts[0].param("To"), Some("+14155550142"));
    assert!(
        posts[0]
            .param("Body")
            .unwrap()
            .contains("Sorry we missed your call at Bella Salon")
    );
}

#[tokio::test]
async fn staff_notification_goes_to_the_staff_phone() {
    let app = fast().start().await;
    let tenant = salon(&app, json!({})).await;
    let token = app.token_for(&tenant).await;
    let staff = app.tenant_get("/api/telephony/staff", &token).await.json["data"]["staff"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .send(
            Method::POST,
            &format!("/api/telephony/staff/{staff}/notify"),
            Some(&token),
            Some(json!({"message": "New booking at 10"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(posts_to_twilio(&app)[0].param("To"), Some("+14155550101"));
    let other = app
        .create_tenant(json!({"name": "Other", "phoneNumber": "+14155550777"}))
        .await;
    let other_token = app.token_for(other["id"].as_str().unwrap()).await;
    let r = app
        .send(
            Method::POST,
            &format!("/api/telephony/staff/{staff}/notify"),
            Some(&other_token),
            Some(json!({"message": "x"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 404, "another tenant's staff");
}

/// The seeds' own clients send fields Switchboard does not use (seed 002's `clientId`); on the seed
/// routes they are accepted and kept in the metadata, while Switchboard's own routes still refuse
/// unknown fields.
#[tokio::test]
async fn seed_routes_accept_their_clients_extra_fields_and_native_routes_do_not() {
    let app = app().start().await;
    let (_tenant, token) = tenant_token(&app, NUMBER).await;
    let post = |path: &'static str, body: Value| {
        let token = token.clone();
        let app = &app;
        async move {
            app.send(Method::POST, path, Some(&token), Some(body), &[])
                .await
        }
    };
    // Seed 002's documented test SMS.
    let r = post(
        "/api/twilio/send-sms",
        json!({"to": "+14155550123", "message": "Test message from MilAssist", "clientId": "client-uuid"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let n = notification(&app, r.json["data"]["id"].as_str().unwrap()).await;
    let meta: Value = serde_json::from_str(n.metadata.as_deref().unwrap()).unwrap();
    assert_eq!(meta["metadata"]["clientId"], "client-uuid", "{meta}");
    let r = post(
        "/api/telephony/sms",
        json!({"phoneNumber": "+14155550123", "message": "Hi", "source": "crm"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let n = notification(&app, r.json["data"]["id"].as_str().unwrap()).await;
    assert_eq!(n.metadata.as_deref(), Some(r#"{"source":"crm"}"#));
    // A field the route does use is still checked.
    let r = post(
        "/api/twilio/send-sms",
        json!({"to": "555", "message": "x", "clientId": "c"}),
    )
    .await;
    assert_eq!((r.status, r.field()), (400, "to"), "{}", r.text);
    // Switchboard's own routes keep refusing what they do not know.
    let r = app
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(json!({"name": "Typo Salon", "timeZon": "UTC"})),
        )
        .await;
    assert_eq!((r.status, r.field()), (400, "timeZon"), "{}", r.text);
}
