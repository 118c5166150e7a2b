//! Events and the signed relay: atomic with their cause, Standard Webhooks signatures checked by an
//! independent implementation, retries, Retry-After, dead-lettering, replay, 410, ordering per call,
//! the seed-004 as-call-service preset, the provisioning-service lookup, and the internal SMS API.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::db;
use switchboard::jobs::worker::run_pending_jobs;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{TestApp, app};
use crate::voice::{MONDAY_10AM_NY, NUMBER, salon, set_clock, signed_post};

async fn endpoint(app: &TestApp, url: &str, body: Value) -> Value {
    let mut b = body;
    b["url"] = json!(url);
    let r = app
        .admin(Method::POST, "/api/admin/relay-endpoints", Some(b))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["data"].clone()
}

pub async fn ring(app: &TestApp, sid: &str) {
    let (s, _) = signed_post(
        app,
        "/api/webhooks/twilio/voice",
        &[
            ("CallSid", sid),
            ("From", "+14155550142"),
            ("To", NUMBER),
            ("CallStatus", "ringing"),
        ],
    )
    .await;
    assert_eq!(s, 200);
}

pub fn quick() -> crate::support::Builder {
    app().config(|c| c.relay_timeout_ms = Some("300".into()))
}

#[tokio::test]
async fn events_commit_with_their_cause_and_only_with_it() {
    let app = quick().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    ring(&app, "CA00000000000000000000000000000101").await;
    let (events, total) =
        db::events::list_events(&app.state.db, None, Some("call.incoming"), 10, 0)
            .await
            .unwrap();
    assert_eq!(total, 1);
    assert_eq!(
        serde_json::from_str::<Value>(&events[0].payload).unwrap()["callSid"],
        "CA00000000000000000000000000000101"
    );
    // A duplicate webhook logs nothing new, so no second event.
    ring(&app, "CA00000000000000000000000000000101").await;
    assert_eq!(
        db::events::list_events(&app.state.db, None, Some("call.incoming"), 10, 0)
            .await
            .unwrap()
            .1,
        1
    );
    // An event emitted in a transaction that rolls back leaves nothing behind.
    let receiver = MockServer::start().await;
    endpoint(&app, &receiver.uri(), json!({})).await;
    let mut tx = app.state.db.begin().await.unwrap();
    switchboard::events::emit(
        &app.state,
        &mut tx,
        None,
        "number.released",
        None,
        json!({}),
    )
    .await
    .unwrap();
    drop(tx);
    assert_eq!(
        db::events::list_events(&app.state.db, None, Some("number.released"), 10, 0)
            .await
            .unwrap()
            .1,
        0
    );
    assert_eq!(
        run_pending_jobs(&app.state).await.unwrap().ran(),
        0,
        "no delivery job either"
    );
}

#[tokio::test]
async fn deliveries_are_signed_the_standard_webhooks_way() {
    // A tenant's endpoint on this machine: only with private destinations allowed.
    let app = quick().private_destinations().start().await;
    // Real time throughout: receivers (and the reference verifier) reject timestamps from the future.
    let tenant = salon(&app, json!({})).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let ep = endpoint(
        &app,
        &format!("{}/hooks", receiver.uri()),
        json!({"tenantId": tenant, "eventTypes": ["call.incoming"]}),
    )
    .await;
    let secret = ep["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    ring(&app, "CA00000000000000000000000000000102").await;
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().succeeded, 1);
    let got = receiver.received_requests().await.unwrap();
    assert_eq!(got.len(), 1, "only the subscribed type");
    let req = &got[0];
    // The independent oracle: the standardwebhooks crate verifies what we sent.
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(
            name,
            req.headers
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    let wh = standardwebhooks::Webhook::new(&secret).unwrap();
    wh.verify(&req.body, &headers)
        .expect("signature verifies with the reference implementation");
    let mut tampered = req.body.clone();
    tampered[5] ^= 1;
    assert!(wh.verify(&tampered, &headers).is_err());
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["type"], "call.incoming");
    assert_eq!(body["tenantId"], tenant.as_str());
    assert_eq!(
        body["data"]["callSid"],
        "CA00000000000000000000000000000102"
    );
    assert_eq!(
        req.headers.get("webhook-id").unwrap().to_str().unwrap(),
        body["id"].as_str().unwrap()
    );
    // Attempts are recorded and listable.
    let d = app
        .admin(
            Method::GET,
            &format!(
                "/api/admin/relay-endpoints/{}/deliveries",
                ep["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(d.json["data"]["deliveries"][0]["status"], "delivered");
    let id = d.json["data"]["deliveries"][0]["id"].as_str().unwrap();
    let a = app
        .admin(
            Method::GET,
            &format!("/api/admin/deliveries/{id}/attempts"),
            None,
        )
        .await;
    assert_eq!(a.json["data"]["attempts"][0]["statusCode"], 204);
}

#[tokio::test]
async fn failures_retry_with_retry_after_then_die_and_replay_delivers() {
    let app = quick().start().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(100)
        .mount(&receiver)
        .await;
    let ep = endpoint(&app, &receiver.uri(), json!({})).await;
    let mut tx = app.state.db.begin().await.unwrap();
    switchboard::events::emit(
        &app.state,
        &mut tx,
        None,
        "number.provisioned",
        None,
        json!({"n": 1}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().retried, 1);
    let job = &switchboard::jobs::store::list(
        &app.state.db,
        Some("pending"),
        Some("relay.deliver"),
        10,
        0,
    )
    .await
    .unwrap()
    .0[0];
    assert!(
        job.run_at - app.clock.now_ms() >= 120_000,
        "Retry-After honoured"
    );
    // Keep failing until the schedule (about a day) runs out.
    let mut elapsed = 0;
    for _ in 0..40 {
        app.clock.advance_ms(5 * 3600 * 1000);
        elapsed += 5;
        run_pending_jobs(&app.state).await.unwrap();
        let d = app
            .admin(
                Method::GET,
                &format!(
                    "/api/admin/relay-endpoints/{}/deliveries",
                    ep["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        if d.json["data"]["deliveries"][0]["status"] == "dead" {
            break;
        }
    }
    let d = app
        .admin(
            Method::GET,
            &format!(
                "/api/admin/relay-endpoints/{}/deliveries?status=dead",
                ep["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let delivery = &d.json["data"]["deliveries"][0];
    assert_eq!(delivery["status"], "dead", "after {elapsed} h");
    assert_eq!(delivery["attempts"], 16);
    assert_eq!(delivery["lastStatusCode"], 500);
    // Replay once the receiver is fixed.
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let id = delivery["id"].as_str().unwrap();
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/deliveries/{id}/replay"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(
        db::events::get_delivery(&app.state.db, id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "delivered"
    );
    assert_eq!(
        app.admin(
            Method::POST,
            &format!("/api/admin/deliveries/{id}/replay"),
            None
        )
        .await
        .status,
        200,
        "a delivered one can be sent again too"
    );
}

#[tokio::test]
async fn timeouts_retry_and_410_disables_the_endpoint() {
    let app = quick().start().await;
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&slow)
        .await;
    let gone = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&gone)
        .await;
    let slow_ep = endpoint(&app, &slow.uri(), json!({})).await;
    let gone_ep = endpoint(&app, &gone.uri(), json!({})).await;
    let mut tx = app.state.db.begin().await.unwrap();
    switchboard::events::emit(
        &app.state,
        &mut tx,
        None,
        "number.provisioned",
        None,
        json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    run_pending_jobs(&app.state).await.unwrap();
    let slow_d =
        &db::events::list_deliveries(&app.state.db, slow_ep["id"].as_str().unwrap(), None, 10, 0)
            .await
            .unwrap()[0];
    assert_eq!(slow_d.status, "pending");
    assert_eq!(slow_d.last_error.as_deref(), Some("timed out"));
    let gone_d =
        &db::events::list_deliveries(&app.state.db, gone_ep["id"].as_str().unwrap(), None, 10, 0)
            .await
            .unwrap()[0];
    assert_eq!(gone_d.status, "dead");
    let ep = app
        .admin(
            Method::GET,
            &format!(
                "/api/admin/relay-endpoints/{}",
                gone_ep["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(ep.json["data"]["enabled"], false);
    assert!(
        ep.json["data"]["disabledReason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    // A disabled endpoint gets no new deliveries.
    let mut tx = app.state.db.begin().await.unwrap();
    switchboard::events::emit(
        &app.state,
        &mut tx,
        None,
        "number.released",
        None,
        json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        db::events::list_deliveries(&app.state.db, gone_ep["id"].as_str().unwrap(), None, 10, 0)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_calls_events_arrive_in_order() {
    let app = quick().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("call.incoming"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    endpoint(
        &app,
        &receiver.uri(),
        json!({"eventTypes": ["call.incoming", "call.completed"]}),
    )
    .await;
    let sid = "CA00000000000000000000000000000103";
    ring(&app, sid).await;
    signed_post(
        &app,
        "/api/webhooks/twilio/voice/status",
        &[
            ("CallSid", sid),
            ("CallStatus", "completed"),
            ("CallDuration", "3"),
        ],
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    app.clock.advance_ms(60_000);
    run_pending_jobs(&app.state).await.unwrap();
    app.clock.advance_ms(60_000);
    run_pending_jobs(&app.state).await.unwrap();
    let types: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        ["call.incoming", "call.incoming", "call.completed"],
        "completed waited for incoming's retry"
    );
}

#[tokio::test]
async fn seed_004_preset_posts_incoming_and_missed_with_the_service_key() {
    let service = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&service)
        .await;
    let uri = service.uri();
    let app = quick()
        .config(move |c| {
            c.as_call_service_url = Some(uri);
            c.internal_service_key = Some("shared-secret-key-for-phase-1".into());
            c.twilio_phone_number = Some(NUMBER.into());
            c.user_phone_number = Some("+14155550199".into());
        })
        .start()
        .await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000123456789abcdef";
    ring(&app, sid).await;
    signed_post(
        &app,
        &format!("/webhooks/twilio/call/status/{sid}"),
        &[
            ("DialCallStatus", "no-answer"),
            ("From", "+14155550142"),
            ("CallSid", sid),
        ],
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    // /calls/missed waits for /calls/incoming of the same call, then goes.
    app.clock.advance_ms(5_000);
    run_pending_jobs(&app.state).await.unwrap();
    let got = service.received_requests().await.unwrap();
    let by_path = |p: &str| {
        got.iter()
            .find(|r| r.url.path() == p)
            .unwrap_or_else(|| panic!("no {p}"))
    };
    let incoming = by_path("/calls/incoming");
    assert_eq!(
        incoming.headers.get("x-service-key").unwrap(),
        "shared-secret-key-for-phase-1"
    );
    let b: Value = serde_json::from_slice(&incoming.body).unwrap();
    for (k, v) in [
        ("CallSid", sid),
        ("callSid", sid),
        ("From", "+14155550142"),
        ("from", "+14155550142"),
        ("To", NUMBER),
        ("to", NUMBER),
        ("callStatus", "ringing"),
        ("CallStatus", "ringing"),
        ("direction", "inbound"),
        ("Direction", "inbound"),
    ] {
        assert_eq!(b[k], v, "{k} in {b}");
    }
    assert!(
        b["tenantId"].is_string() && b["timestamp"].is_string(),
        "{b}"
    );
    let missed = by_path("/calls/missed");
    assert_eq!(
        missed.headers.get("x-service-key").unwrap(),
        "shared-secret-key-for-phase-1"
    );
    let m: Value = serde_json::from_slice(&missed.body).unwrap();
    assert_eq!(
        (
            m["callSid"].as_str(),
            m["callStatus"].as_str(),
            m["callDuration"].as_i64()
        ),
        (Some(sid), Some("no-answer"), Some(0))
    );
    assert!(m["endTime"].is_string());
    assert_eq!(got.len(), 2, "the preset carries nothing else");
}

/// An app that resolves unknown numbers at a mock provisioning service, and the id of a tenant
/// that owns no number of its own (the one the service will name).
async fn with_provisioning_service() -> (MockServer, TestApp, String) {
    let pns = MockServer::start().await;
    let app_uri = pns.uri();
    let app = quick()
        .config(move |c| {
            c.pns_provisioning_service_url = Some(app_uri);
            c.internal_service_key = Some("shared-secret-key-for-phase-1".into());
        })
        .start()
        .await;
    let t = app
        .create_tenant(json!({"name": "Elsewhere", "timeZone": "America/New_York"}))
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    (pns, app, id)
}

#[tokio::test]
async fn unknown_numbers_are_resolved_through_the_provisioning_service() {
    let (pns, app, id) = with_provisioning_service().await;
    let id = id.as_str();
    Mock::given(method("GET"))
        .and(path("/phone-numbers/lookup/%2B15005550006"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tenantId": id})))
        .mount(&pns)
        .await;
    Mock::given(method("GET"))
        .and(path("/phone-numbers/lookup/%2B14155550111"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"success": true, "data": {"tenantId": id}})),
        )
        .mount(&pns)
        .await;
    Mock::given(method("GET"))
        .and(path("/phone-numbers/lookup/%2B14155550112"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&pns)
        .await;
    Mock::given(method("GET"))
        .and(path("/phone-numbers/lookup/%2B14155550113"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&pns)
        .await;
    for (to, known) in [
        ("+15005550006", true),
        ("+14155550111", true),
        ("+14155550112", false),
        ("+14155550113", false),
    ] {
        let sid = format!("CA{:032}", to[1..].parse::<u64>().unwrap());
        let (status, body) = signed_post(
            &app,
            "/api/webhooks/twilio/voice",
            &[
                ("CallSid", &sid),
                ("From", "+14155550142"),
                ("To", to),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            !body.contains("not currently in service"),
            known,
            "{to}: {body}"
        );
    }
    let lookups = pns.received_requests().await.unwrap();
    assert!(
        lookups
            .iter()
            .all(|r| r.headers.get("x-service-key").unwrap() == "shared-secret-key-for-phase-1")
    );
}

/// A burst of calls to one number costs one lookup; a minute later (on the app clock) it is asked
/// again, so a number that moved to another tenant is followed.
#[tokio::test]
async fn lookup_answers_are_reused_for_a_minute_of_app_time() {
    let (pns, app, id) = with_provisioning_service().await;
    let id = id.as_str();
    Mock::given(method("GET"))
        .and(path("/phone-numbers/lookup/%2B14155550120"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tenantId": id})))
        .mount(&pns)
        .await;
    let call = |n: u32| {
        let app = &app;
        async move {
            let sid = format!("CA{n:032}");
            let (status, body) = signed_post(
                app,
                "/api/webhooks/twilio/voice",
                &[
                    ("CallSid", &sid),
                    ("From", "+14155550142"),
                    ("To", "+14155550120"),
                    ("CallStatus", "ringing"),
                ],
            )
            .await;
            assert_eq!(status, 200);
            assert!(!body.contains("not currently in service"), "{body}");
        }
    };
    let asked = || async { pns.received_requests().await.unwrap().len() };
    call(1).await;
    call(2).await;
    app.clock.advance_ms(59_000);
    call(3).await;
    assert_eq!(asked().await, 1, "three calls within a minute: one lookup");
    app.clock.advance_ms(1_000);
    call(4).await;
    assert_eq!(
        asked().await,
        2,
        "a minute after the answer it is asked again"
    );
}

/// Deliveries and lookups carry a signature or the service key: a redirect must not take them to
/// another address. The relay counts it as a failed delivery; the lookup as an unknown number.
#[tokio::test]
async fn signed_and_keyed_requests_do_not_follow_redirects() {
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tenantId": "x"})))
        .mount(&elsewhere)
        .await;
    let redirecting = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&redirecting)
        .await;
    let pns = redirecting.uri();
    let app = quick()
        .config(move |c| {
            c.pns_provisioning_service_url = Some(pns);
            c.internal_service_key = Some("shared-secret-key-for-phase-1".into());
        })
        .start()
        .await;
    endpoint(&app, &redirecting.uri(), json!({})).await;
    let mut tx = app.state.db.begin().await.unwrap();
    switchboard::events::emit(
        &app.state,
        &mut tx,
        None,
        "number.provisioned",
        None,
        json!({"n": 1}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.retried, 1, "a redirect is a failed delivery: {ran:?}");
    let (status, body) = signed_post(
        &app,
        "/api/webhooks/twilio/voice",
        &[
            ("CallSid", "CA00000000000000000000000000000e01"),
            ("From", "+14155550142"),
            ("To", "+14155550114"),
            ("CallStatus", "ringing"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("not currently in service"), "{body}");
    assert!(
        redirecting.received_requests().await.unwrap().len() >= 2,
        "both were tried"
    );
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "nothing followed the redirect"
    );
}

#[tokio::test]
async fn internal_sms_send_needs_the_service_key() {
    let app = quick()
        .config(|c| c.internal_service_key = Some("shared-secret-key-for-phase-1".into()))
        .start()
        .await;
    let t = app
        .create_tenant(json!({"name": "A", "phoneNumber": NUMBER}))
        .await;
    let body = json!({"to": "+14155550123", "from": NUMBER, "body": "From the as-call-service"});
    let send = |key: Option<&'static str>, body: Value| {
        let mut r = app
            .client
            .post(format!("{}/internal/sms/send", app.base))
            .json(&body);
        if let Some(k) = key {
            r = r.header("x-service-key", k);
        }
        r.send()
    };
    assert_eq!(send(None, body.clone()).await.unwrap().status(), 401);
    assert_eq!(
        send(Some("wrong"), body.clone()).await.unwrap().status(),
        401
    );
    let ok = send(Some("shared-secret-key-for-phase-1"), body.clone())
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let v: Value = ok.json().await.unwrap();
    assert_eq!(v["data"]["tenantId"], t["id"]);
    assert_eq!(v["data"]["status"], "QUEUED");
    let bad = send(
        Some("shared-secret-key-for-phase-1"),
        json!({"to": "+14155550123", "from": "+14155550999", "body": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn relay_admin_validates() {
    let app = quick().start().await;
    for (body, field) in [
        (json!({"url": "ftp://x"}), "url"),
        (
            json!({"url": "https://example.com/h", "eventTypes": ["call.exploded"]}),
            "eventTypes",
        ),
        (
            json!({"url": "https://example.com/h", "tenantId": "nope"}),
            "tenantId",
        ),
        (
            json!({"url": "https://example.com/h", "secret": "short"}),
            "secret",
        ),
    ] {
        let r = app
            .admin(
                Method::POST,
                "/api/admin/relay-endpoints",
                Some(body.clone()),
            )
            .await;
        assert_eq!((r.status, r.field()), (400, field), "{body}: {}", r.text);
    }
    let ep = endpoint(&app, "https://example.com/h", json!({})).await;
    let id = ep["id"].as_str().unwrap();
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/relay-endpoints/{id}"),
            Some(json!({"rotateSecret": true, "enabled": false})),
        )
        .await;
    assert_ne!(r.json["data"]["secret"], ep["secret"]);
    assert_eq!(r.json["data"]["enabled"], false);
    assert_eq!(
        app.admin(
            Method::DELETE,
            &format!("/api/admin/relay-endpoints/{id}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        app.admin(
            Method::GET,
            &format!("/api/admin/relay-endpoints/{id}"),
            None
        )
        .await
        .status,
        404
    );
}
