//! Outbound calls: seed 002/003 make-call against the in-process sandbox, which plays each call out
//! and posts its status and recording callbacks back to the app; seed 003's call history.

use std::time::{Duration, Instant};
use switchboard::domain::CallSid;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::db;
use switchboard::jobs::store;
use switchboard::jobs::worker::run_pending_jobs;

use crate::recordings::start;
use crate::support::{Resp, TestApp};
use crate::voice::{MONDAY_10AM_NY, NUMBER, salon, set_clock, simulator};

const CUSTOMER: &str = "+14155550199";
const ANN: &str = "+14155550101";

async fn make_call(app: &TestApp, token: &str, body: Value) -> Resp {
    app.send(
        Method::POST,
        "/api/twilio/make-call",
        Some(token),
        Some(body),
        &[],
    )
    .await
}

fn sandbox(app: &TestApp) -> &switchboard_twilio::sandbox::Sandbox {
    app.state.twilio.sandbox.as_ref().unwrap()
}

/// The `Calls.json` creates the sandbox received.
fn creates(app: &TestApp) -> Vec<switchboard_twilio::sandbox::RecordedRequest> {
    sandbox(app)
        .received_requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Calls.json"))
        .collect()
}

fn all<'a>(params: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

async fn setup(
    f: impl FnOnce(&mut switchboard::config::RawConfig),
) -> (TestApp, tempfile::TempDir, String, String) {
    let (app, dir) = start(f).await;
    let tenant = salon(&app, json!({})).await;
    let token = app.token_for(&tenant).await;
    (app, dir, tenant, token)
}

#[tokio::test]
async fn make_call_requires_a_phone_number_and_a_message() {
    let (app, _dir, tenant, token) = setup(|_| {}).await;
    for (body, field) in [
        (json!({}), "to"),
        (json!({"message": "Hello"}), "to"),
        (json!({"to": CUSTOMER}), "message"),
        (json!({"to": CUSTOMER, "message": "   "}), "message"),
        (json!({"to": "", "message": "Hello"}), "to"),
    ] {
        let r = make_call(&app, &token, body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(
            r.json["error"]["message"], "Phone number and message are required",
            "{body}"
        );
        assert_eq!((r.code(), r.field()), ("VALIDATION_ERROR", field), "{body}");
    }
    let r = make_call(&app, &token, json!({"to": "555-1234", "message": "Hello"})).await;
    assert_eq!((r.status, r.field()), (400, "to"));
    let r = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "message": "Hi", "twiml": "<Response/>"}),
    )
    .await;
    assert_eq!((r.status, r.field()), (400, "twiml"));
    let r = make_call(&app, &token, json!({"to": CUSTOMER, "twiml": "<Hangup/>"})).await;
    assert_eq!((r.status, r.field()), (400, "twiml"));
    let r = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "message": "Hi", "record": "yes"}),
    )
    .await;
    assert_eq!((r.status, r.field()), (400, "record"));
    let r = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "assistantId": "no-such-staff"}),
    )
    .await;
    assert_eq!(r.status, 404);
    // Twilio refusing the number is the caller's mistake too, named as `to`.
    let r = make_call(&app, &token, json!({"to": "+15005550001", "message": "Hi"})).await;
    assert_eq!((r.status, r.code()), (400, "TWILIO_ERROR"), "{}", r.text);
    assert!(
        creates(&app).iter().all(|c| c.status != 201),
        "nothing placed"
    );
    let (calls, _) = db::calls::list(&app.state.db, &tenant, &Default::default(), 10, 0)
        .await
        .unwrap();
    assert!(calls.is_empty(), "nothing logged");
    let r = app
        .send(
            Method::POST,
            "/api/twilio/make-call",
            None,
            Some(json!({"to": CUSTOMER, "message": "Hi"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
}

/// A tenant's own `twiml` runs on the Twilio account every tenant shares: only speech gets through,
/// rewritten, and nothing that could show another number, dial elsewhere or make Twilio send a
/// signed request to a URL of the tenant's choosing.
#[tokio::test]
async fn tenant_twiml_is_limited_to_speech_and_rewritten() {
    let (app, _dir, _tenant, token) = setup(|_| {}).await;
    let ours = app
        .state
        .config
        .server
        .app_url
        .host_str()
        .unwrap()
        .to_string();
    let refused = [
        (
            r#"<Response><Dial callerId="+14155550188"><Number>+14155550199</Number></Dial></Response>"#.to_string(),
            "<Dial> is not allowed",
        ),
        (
            format!("<Response><Redirect>http://{ours}/api/webhooks/twilio/sms?From=%2B14155550123&amp;Body=STOP</Redirect></Response>"),
            "<Redirect> is not allowed",
        ),
        (
            format!("<Response><Play>https://{ours}/api/webhooks/twilio/sms?Body=STOP</Play></Response>"),
            "may not point at this service",
        ),
        (
            r#"<Response><Record recordingStatusCallback="https://x.example/cb"/></Response>"#.to_string(),
            "<Record> is not allowed",
        ),
        (
            r#"<Response><Gather action="https://x.example/g"><Say>Press 1</Say></Gather></Response>"#.to_string(),
            "<Gather> is not allowed",
        ),
        (
            r#"<Response><Say statusCallback="https://x.example/cb">Hi</Say></Response>"#.to_string(),
            "may not have the attribute statusCallback",
        ),
        ("<Response/>".to_string(), "has no verbs"),
        ("<Hangup/>".to_string(), "not a TwiML document"),
    ];
    for (twiml, why) in &refused {
        let r = make_call(&app, &token, json!({"to": CUSTOMER, "twiml": twiml})).await;
        assert_eq!((r.status, r.field()), (400, "twiml"), "{twiml}: {}", r.text);
        let message = r.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{twiml}: {message}");
    }
    assert!(creates(&app).is_empty(), "nothing reached Twilio");

    let speech = r#"<?xml version="1.0"?><!-- reminder --><Response>
        <Say voice="Polly.Joanna">Your table is ready &amp; waiting.</Say><Pause length="1"/>
        <Play>https://cdn.example.com/chime.mp3</Play><Hangup/></Response>"#;
    let r = make_call(&app, &token, json!({"to": CUSTOMER, "twiml": speech})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = creates(&app).remove(0);
    assert_eq!(
        sent.param("Twiml").unwrap(),
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Joanna">Your table is ready &amp; waiting.</Say><Pause length="1"/><Play>https://cdn.example.com/chime.mp3</Play><Hangup/></Response>"#,
        "the builder's document, not the tenant's text"
    );
}

#[tokio::test]
async fn a_recorded_outbound_call_is_logged_from_its_callbacks_and_its_recording_processed() {
    // Twilio's callbacks come well after its answer to the create; a little delay keeps it so here.
    let (app, _dir, tenant, token) =
        setup(|c| c.sandbox_callback_delay_ms = Some("20".into())).await;
    let r = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "message": "Hello, this is a test call", "record": true,
               "userId": "user-123", "metadata": {"campaign": "sales-outreach"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sid = r.json["callSid"].as_str().unwrap().to_string();
    assert!(sid.starts_with("CA"), "{sid}");
    assert_eq!(r.json["success"], true);
    let data = &r.json["data"];
    assert_eq!(data["direction"], "outbound");
    assert_eq!(
        (data["fromNumber"].as_str(), data["toNumber"].as_str()),
        (Some(NUMBER), Some(CUSTOMER))
    );
    assert_eq!(data["request"]["userId"], "user-123");
    assert_eq!(data["request"]["metadata"]["campaign"], "sales-outreach");

    // What Twilio was asked: every progress event, the recording, the spoken message.
    let create = creates(&app).remove(0);
    assert_eq!(
        all(&create.params, "StatusCallbackEvent"),
        ["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(
        all(&create.params, "StatusCallback"),
        [format!("{}/api/webhooks/twilio/voice/status", app.base).as_str()]
    );
    assert_eq!(create.param("Record"), Some("true"));
    assert_eq!(
        create.param("RecordingStatusCallback"),
        Some(format!("{}/api/webhooks/twilio/recording-status", app.base).as_str())
    );
    let twiml = create.param("Twiml").unwrap();
    assert!(
        twiml.contains("This call may be recorded.")
            && twiml.contains("Hello, this is a test call"),
        "{twiml}"
    );

    // The sandbox plays it out: queued → initiated → ringing → answered → completed, then the recording.
    sandbox(&app).wait_idle().await;
    let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.direction, "outbound");
    assert_eq!(call.status, "completed");
    assert!(
        call.answered_at.is_some(),
        "answered, from the in-progress callback"
    );
    assert_eq!(call.duration_seconds, Some(5));
    assert!(!call.missed);
    let statuses: Vec<String> = sandbox(&app)
        .sent_webhooks()
        .into_iter()
        .filter(|w| w.kind == "call-status")
        .map(|w| {
            format!(
                "{}:{}",
                w.params.iter().find(|(k, _)| k == "CallStatus").unwrap().1,
                w.status.unwrap_or(0)
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "initiated:200",
            "ringing:200",
            "in-progress:200",
            "completed:200"
        ]
    );

    let recs = db::recordings::list(&app.state.db, &tenant, &Default::default(), 10, 0)
        .await
        .unwrap()
        .0;
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (recs[0].kind.as_str(), recs[0].source.as_deref()),
        ("call", Some("OutboundAPI"))
    );
    run_pending_jobs(&app.state).await.unwrap();
    let rec = db::recordings::get(&app.state.db, &recs[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.processing, "done");
    assert_eq!(rec.duration_seconds, Some(5));
    let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        call.recording_url.as_deref(),
        Some(format!("{}/api/telephony/recordings/{}/media", app.base, rec.id).as_str())
    );
    assert!(call.notes.unwrap().contains("Recording summary:"));
    // A recorded call is not a voicemail: no staff alert, no text-back.
    let notes = db::notifications::list(&app.state.db, &tenant, &Default::default(), 10, 0)
        .await
        .unwrap()
        .0;
    assert!(notes.is_empty(), "{notes:?}");
    // Seed 003's history shows it with what was asked.
    let r = app
        .tenant_get(&format!("/api/twilio/calls?phoneNumber={CUSTOMER}"), &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"][0]["callSid"], sid.as_str());
    assert_eq!(r.json["data"][0]["status"], "completed");
    assert_eq!(
        r.json["data"][0]["request"]["message"],
        "Hello, this is a test call"
    );
}

#[tokio::test]
async fn busy_unanswered_and_failed_outbound_calls_are_not_missed_calls() {
    let (app, _dir, tenant, token) =
        setup(|c| c.outbound_calls_per_second = Some("0".into())).await;
    let mut sids = Vec::new();
    for to in ["+15005550020", "+15005550021", "+15005550022"] {
        let r = make_call(&app, &token, json!({"to": to, "message": "Hello"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        sids.push(r.json["callSid"].as_str().unwrap().to_string());
    }
    sandbox(&app).wait_idle().await;
    for (sid, want) in sids.iter().zip(["busy", "no-answer", "failed"]) {
        let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(sid))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(call.status, want);
        assert!(call.answered_at.is_none() && !call.missed, "{call:?}");
        assert!(call.end_time.is_some());
    }
    let text_backs = store::list(
        &app.state.db,
        None,
        Some(switchboard::calls::MISSED_CALL_TEXT_BACK),
        10,
        0,
    )
    .await
    .unwrap()
    .0;
    assert!(
        text_backs.is_empty(),
        "no missed-call text-back for our own calls"
    );
    let r = app
        .tenant_get("/api/telephony/call-logs?direction=outbound", &token)
        .await;
    assert_eq!(r.json["data"]["total"], 3);
    let _ = tenant;
}

#[tokio::test]
async fn seed_002_make_call_connects_the_callee_to_the_assistant() {
    let (app, _dir, tenant, token) = setup(|_| {}).await;
    let staff = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{tenant}/staff"),
            None,
        )
        .await;
    let ann = staff.json["data"]["staff"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "clientId": "client-uuid", "assistantId": ann, "priority": "high"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["request"]["clientId"], "client-uuid");
    assert_eq!(
        r.json["data"]["request"]["metadata"],
        json!({"priority": "high"}),
        "a field the seed's client sends and Switchboard does not use is kept, not refused"
    );
    assert_eq!(r.json["data"]["forwardedTo"], ANN);
    let twiml = creates(&app).remove(0).param("Twiml").unwrap().to_string();
    assert!(
        twiml.contains(&format!("<Number>{ANN}</Number>")),
        "{twiml}"
    );
    assert!(twiml.contains(&format!("callerId=\"{NUMBER}\"")), "{twiml}");
    assert!(
        !twiml.contains("recorded"),
        "not recorded unless asked: {twiml}"
    );
}

#[tokio::test]
async fn outbound_calls_are_paced_per_tenant() {
    let (app, _dir, _tenant, token) = setup(|_| {}).await;
    let other = app
        .create_tenant(json!({"name": "Other Salon", "phoneNumber": "+14155550177"}))
        .await;
    let other_token = app.token_for(other["id"].as_str().unwrap()).await;
    // Three at once at one per second: the first goes now, the others wait for their slots.
    let started = Instant::now();
    let body = json!({"to": CUSTOMER, "message": "Hello"});
    let (a, b, c, d) = tokio::join!(
        make_call(&app, &token, body.clone()),
        make_call(&app, &token, body.clone()),
        make_call(&app, &token, body.clone()),
        async {
            // Another tenant's call is not held up by this one's queue.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let t = Instant::now();
            (
                make_call(&app, &other_token, body.clone()).await,
                t.elapsed(),
            )
        },
    );
    for r in [&a, &b, &c] {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(d.0.status, 200);
    assert!(
        d.1 < Duration::from_millis(900),
        "other tenant waited {:?}",
        d.1
    );
    let times: Vec<_> = creates(&app).iter().map(|r| r.time).collect();
    assert_eq!(times.len(), 4);

    // Too far behind: refused at once with Retry-After, nothing placed.
    let (slow, _dir2, _t, slow_token) =
        setup(|c| c.outbound_calls_per_second = Some("0.1".into())).await;
    assert_eq!(
        make_call(&slow, &slow_token, body.clone()).await.status,
        200
    );
    let r = make_call(&slow, &slow_token, body.clone()).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"), "{}", r.text);
    assert_eq!(r.header("retry-after"), Some("10"));
    assert_eq!(creates(&slow).len(), 1);
    slow.clock.advance_ms(10_000);
    assert_eq!(
        make_call(&slow, &slow_token, body).await.status,
        200,
        "its slot came"
    );
}

#[tokio::test]
async fn call_history_by_number_is_tenant_scoped_and_newest_first() {
    let (app, _dir, tenant, _) = setup(|c| c.outbound_calls_per_second = Some("0".into())).await;
    set_clock(&app, MONDAY_10AM_NY);
    // Issued on the moved clock (a day and more ahead of the setup's token).
    let token = app.token_for(&tenant).await;
    // An inbound call from the customer, then two outbound calls.
    let t = simulator(&app)
        .run_call(
            &switchboard_twilio::simulator::CallScript::new(CUSTOMER, NUMBER).dial_outcome(
                "*",
                switchboard_twilio::simulator::DialOutcome::Answered { duration_secs: 20 },
            ),
        )
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    app.clock.advance_ms(60_000);
    let first = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "message": "Following up"}),
    )
    .await;
    app.clock.advance_ms(60_000);
    let second = make_call(
        &app,
        &token,
        json!({"to": "+14155550188", "message": "Hello"}),
    )
    .await;
    let other = app
        .create_tenant(json!({"name": "Other Salon", "phoneNumber": "+14155550177"}))
        .await;
    let other_token = app.token_for(other["id"].as_str().unwrap()).await;
    let theirs = make_call(
        &app,
        &other_token,
        json!({"to": CUSTOMER, "message": "Not yours"}),
    )
    .await;
    assert_eq!(theirs.status, 200);
    sandbox(&app).wait_idle().await;

    // `+` unencoded (arrives as a space) or encoded: the same number.
    for q in [
        format!("phoneNumber={CUSTOMER}"),
        "phoneNumber=%2B14155550199".to_string(),
    ] {
        let r = app
            .tenant_get(&format!("/api/twilio/calls?{q}&limit=50"), &token)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let calls = r.json["data"].as_array().unwrap();
        assert_eq!(calls.len(), 2, "{q}: {calls:?}");
        assert_eq!(calls[0]["callSid"], first.json["callSid"], "newest first");
        assert_eq!(calls[1]["direction"], "inbound");
        assert_eq!(calls[1]["request"], Value::Null);
    }
    // The business number (as seed 003 uses it): every call of this tenant, none of the other's.
    let r = app
        .tenant_get(&format!("/api/twilio/calls?phoneNumber={NUMBER}"), &token)
        .await;
    let sids: Vec<&str> = r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["callSid"].as_str().unwrap())
        .collect();
    assert_eq!(sids.len(), 3);
    assert_eq!(sids[0], second.json["callSid"].as_str().unwrap());
    assert!(!sids.contains(&theirs.json["callSid"].as_str().unwrap()));
    let r = app.tenant_get("/api/twilio/calls?limit=1", &token).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let r = app
        .tenant_get("/api/twilio/calls?phoneNumber=12", &token)
        .await;
    assert_eq!((r.status, r.field()), (400, "phoneNumber"));
    let r = app
        .tenant_get(
            &format!("/api/twilio/calls?phoneNumber={CUSTOMER}"),
            &other_token,
        )
        .await;
    assert_eq!(
        r.json["data"].as_array().unwrap().len(),
        1,
        "the other tenant's own call only"
    );
}

#[tokio::test]
async fn openapi_describes_the_recording_and_outbound_routes() {
    let (app, _dir) = start(|_| {}).await;
    let r = app
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    let paths = &r.json["paths"];
    for p in [
        "/api/twilio/make-call",
        "/api/twilio/calls",
        "/api/twilio/recordings/{sid}",
        "/api/telephony/recordings",
        "/api/telephony/recordings/{id}",
        "/api/telephony/recordings/{id}/media",
        "/api/telephony/voicemails",
    ] {
        assert!(paths.get(p).is_some(), "{p} missing from /openapi.json");
    }
    assert!(
        paths.get("/api/webhooks/twilio/recording-status").is_none(),
        "Twilio webhooks answer TwiML and stay out of the JSON API description"
    );
}

/// A business whose subscription has ended keeps answering its calls, but sends and places nothing
/// on the shared account: the APIs answer 402, and a text queued before the end fails unsent.
#[tokio::test]
async fn an_ended_subscription_sends_and_calls_nothing() {
    let (app, _dir, tenant, token) = setup(|_| {}).await;
    let send = |body: Value| {
        app.send(
            Method::POST,
            "/api/telephony/sms",
            Some(&token),
            Some(body),
            &[],
        )
    };
    let queued = send(json!({"phoneNumber": CUSTOMER, "message": "See you at 3"})).await;
    assert_eq!(queued.status, 200, "{}", queued.text);
    let id = queued.json["data"]["id"].as_str().unwrap().to_string();
    cancel_subscription(&app, &tenant).await;

    let r = send(json!({"phoneNumber": CUSTOMER, "message": "Hello again"})).await;
    assert_eq!(
        (r.status, r.code()),
        (402, "SUBSCRIPTION_ENDED"),
        "{}",
        r.text
    );
    let r = make_call(&app, &token, json!({"to": CUSTOMER, "message": "Hi"})).await;
    assert_eq!(
        (r.status, r.code()),
        (402, "SUBSCRIPTION_ENDED"),
        "{}",
        r.text
    );

    run_pending_jobs(&app.state).await.unwrap();
    let n = db::notifications::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.status, "FAILED");
    assert_eq!(
        n.failure_reason.as_deref(),
        Some("not sent: the business's subscription is CANCELED")
    );
    assert!(creates(&app).is_empty(), "no call placed");
    assert!(
        sandbox(&app).messages().is_empty(),
        "no text reached Twilio"
    );
}

/// The sender reads tenants from the routing cache. A subscription ended by another process (a
/// direct database change, as another instance or the CLI makes it) is seen once
/// `ROUTING_CACHE_RECHECK_MS` has passed, so a text queued before it fails unsent.
#[tokio::test]
async fn the_sender_sees_a_subscription_ended_elsewhere_within_the_recheck_interval() {
    let (app, _dir, tenant, token) =
        setup(|c| c.routing_cache_recheck_ms = Some("1000".into())).await;
    let queue = |message: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let r = app
                .send(
                    Method::POST,
                    "/api/telephony/sms",
                    Some(token),
                    Some(json!({"phoneNumber": CUSTOMER, "message": message})),
                    &[],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.json["data"]["id"].as_str().unwrap().to_string()
        }
    };
    // A first send puts the tenant in the sender's cache.
    queue("See you at 3").await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(sandbox(&app).messages().len(), 1);

    let id = queue("See you at 4").await;
    cancel_subscription(&app, &tenant).await;
    app.clock.advance_ms(1001);
    run_pending_jobs(&app.state).await.unwrap();
    let n = db::notifications::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n.status.as_str(), n.failure_reason.as_deref()),
        (
            "FAILED",
            Some("not sent: the business's subscription is CANCELED")
        )
    );
    assert_eq!(
        sandbox(&app).messages().len(),
        1,
        "the second text never reached Twilio"
    );
}

/// Seed 002's click-to-call, `{to, clientId}` with no message: once the customer answers they are
/// connected to the business through its normal routing (staff in policy order, then voicemail),
/// and an unanswered attempt is never a missed call or a text-back.
#[tokio::test]
async fn click_to_call_connects_the_callee_through_the_tenants_routing() {
    let (app, _dir, tenant, token) = setup(|_| {}).await;
    set_clock(&app, MONDAY_10AM_NY);
    let r = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "clientId": "client-uuid"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sid = r.json["callSid"].as_str().unwrap().to_string();
    let create = creates(&app).remove(0);
    assert_eq!(
        create.param("Twiml"),
        None,
        "instructions are fetched on answer"
    );
    assert_eq!(
        create.param("Url").unwrap(),
        format!("{}/api/webhooks/twilio/voice/connect", app.base)
    );
    // The sandbox answers and fetches the instructions, signed, as Twilio would.
    sandbox(&app).wait_idle().await;
    let fetched = sandbox(&app)
        .calls()
        .into_iter()
        .find(|c| c.sid == sid)
        .and_then(|c| c.fetched_twiml)
        .expect("the sandbox fetched the connect URL");
    assert!(
        fetched.contains("Please hold while we connect you."),
        "{fetched}"
    );
    assert!(
        fetched.contains(&format!("<Number>{ANN}</Number>")),
        "{fetched}"
    );
    assert!(
        fetched.contains(&format!("action=\"/webhooks/twilio/call/status/{sid}\"")),
        "{fetched}"
    );
    assert!(
        fetched.contains(&format!("callerId=\"{NUMBER}\"")),
        "{fetched}"
    );
    // Ann does not answer: the next staff member, then voicemail; never a missed call.
    let mut last = String::new();
    for _ in 0..5 {
        let (status, body) = crate::voice::signed_post(
            &app,
            &format!("/webhooks/twilio/call/status/{sid}"),
            &[("CallSid", sid.as_str()), ("DialCallStatus", "no-answer")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        last = body;
        if last.contains("<Record") {
            break;
        }
        assert!(last.contains("<Dial"), "{last}");
    }
    assert!(last.contains("<Record"), "voicemail at the end: {last}");
    let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.direction, "outbound");
    assert!(!call.missed, "{call:?}");
    let text_backs = store::list(
        &app.state.db,
        None,
        Some(switchboard::calls::MISSED_CALL_TEXT_BACK),
        10,
        0,
    )
    .await
    .unwrap()
    .0;
    assert!(text_backs.is_empty(), "no text-back for a call we placed");
    let _ = tenant;
}

#[tokio::test]
async fn make_call_without_a_message_needs_an_assistant_or_routing() {
    let (app, _dir, _tenant, token) = setup(|_| {}).await;
    // Seed 003's documented 400 when nothing says what the callee should hear or reach.
    let r = make_call(
        &app,
        &token,
        json!({"to": CUSTOMER, "record": true, "userId": "u1"}),
    )
    .await;
    assert_eq!((r.status, r.field()), (400, "message"), "{}", r.text);
    assert_eq!(
        r.json["error"]["message"],
        "Phone number and message are required"
    );
    // Switchboard's explicit form, and its conflicts.
    let r = make_call(&app, &token, json!({"to": CUSTOMER, "connect": "routing"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for body in [
        json!({"to": CUSTOMER, "connect": "routing", "message": "Hi"}),
        json!({"to": CUSTOMER, "connect": "somewhere"}),
    ] {
        let r = make_call(&app, &token, body.clone()).await;
        assert_eq!(
            (r.status, r.field()),
            (400, "connect"),
            "{body}: {}",
            r.text
        );
    }
}

/// Ends `tenant`'s subscription in the database, as another process (or billing) would.
async fn cancel_subscription(app: &TestApp, tenant: &str) {
    let mut t = db::tenants::get(&app.state.db, tenant)
        .await
        .unwrap()
        .unwrap();
    t.subscription_status = switchboard::domain::SubscriptionStatus::Canceled;
    db::tenants::update(&app.state.db, &t).await.unwrap();
}
