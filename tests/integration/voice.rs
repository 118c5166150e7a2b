//! Inbound calls end to end: the simulator plays the caller against the in-process app.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::db;
use switchboard::domain::CallSid;
use switchboard::jobs::store;
use switchboard_twilio::signature::sign_form;
use switchboard_twilio::simulator::{
    CallScript, DialOutcome, Simulator, SimulatorConfig, Transcript,
};
use url::Url;

use crate::support::{TestApp, app};

pub const NUMBER: &str = "+15005550006";
const ANN: &str = "+14155550101";
const BOB: &str = "+14155550102";
const CALLER: &str = "+14155550142";

/// Monday 2026-11-23, 10:00 in New York.
pub const MONDAY_10AM_NY: &str = "2026-11-23T15:00:00Z";

pub fn set_clock(app: &TestApp, instant: &str) {
    let t: jiff::Timestamp = instant.parse().unwrap();
    app.clock
        .advance_ms(t.as_millisecond() - app.clock.now_ms());
}

pub fn simulator(app: &TestApp) -> Simulator {
    let base = Url::parse(&app.base).unwrap();
    Simulator::new(SimulatorConfig {
        webhook_base_url: base.clone(),
        public_base_url: Some(base.clone()),
        account_sid: app.state.twilio.account_sid.clone(),
        auth_token: app.state.twilio.auth_token.clone(),
        sandbox_base_url: Some(Url::parse(&format!("{}/twilio-sandbox", app.base)).unwrap()),
    })
}

/// A salon in New York with two on-duty staff (Ann first) and `policy` merged into the routing policy.
pub async fn salon(app: &TestApp, policy: Value) -> String {
    let mut routing = json!({});
    if let (Some(r), Some(p)) = (routing.as_object_mut(), policy.as_object()) {
        r.extend(p.clone());
    }
    let t = app
        .create_tenant(json!({
            "name": "Bella Salon", "timeZone": "America/New_York", "phoneNumber": NUMBER,
            "routingPolicy": routing,
            "templates": {"priceList": "A haircut is 40 dollars."}
        }))
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    for (name, phone, prio) in [("Ann", ANN, 1), ("Bob", BOB, 2)] {
        let r = app
            .admin(
                Method::POST,
                &format!("/api/admin/tenants/{id}/staff"),
                Some(json!({"name": name, "phone": phone, "priority": prio})),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    id
}

async fn call_row(app: &TestApp, t: &Transcript) -> db::calls::Call {
    db::calls::get_by_sid(
        &app.state.db,
        &CallSid::stored(t.call_sid.as_deref().unwrap()),
    )
    .await
    .unwrap()
    .expect("call logged")
}

async fn text_backs(app: &TestApp) -> Vec<store::Job> {
    store::list(
        &app.state.db,
        None,
        Some(switchboard::calls::MISSED_CALL_TEXT_BACK),
        100,
        0,
    )
    .await
    .unwrap()
    .0
}

fn said(t: &Transcript) -> String {
    t.said().join(" | ")
}

fn dialled(t: &Transcript) -> String {
    t.to_string()
}

#[tokio::test]
async fn forward_answered_by_first_staff_member() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let t = simulator(&app)
        .run_call(
            &CallScript::new(CALLER, NUMBER)
                .dial_outcome(ANN, DialOutcome::Answered { duration_secs: 30 }),
        )
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    assert!(
        said(&t).contains("Hello and thank you for calling Bella Salon"),
        "{t}"
    );
    let call = call_row(&app, &t).await;
    assert_eq!(call.forwarded_to.as_deref(), Some(ANN));
    assert!(call.answered_at.is_some());
    assert!(!call.missed);
    assert_eq!(call.status, "completed");
    assert_eq!(call.duration_seconds, Some(30));
    assert_eq!(call.from_number, CALLER);
    assert!(
        text_backs(&app).await.is_empty(),
        "no text-back for an answered call"
    );
}

#[tokio::test]
async fn no_answer_falls_back_to_next_staff_then_voicemail_and_texts_back_once() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let script = CallScript::new(CALLER, NUMBER)
        .dial_outcome(ANN, DialOutcome::NoAnswer)
        .dial_outcome(BOB, DialOutcome::Busy)
        .record(12, None);
    let t = simulator(&app).run_call(&script).await;
    assert!(t.http_errors.is_empty(), "{t}");
    let text = dialled(&t);
    let ann_at = text.find(ANN).expect("Ann rung");
    let bob_at = text.find(BOB).expect("Bob rung");
    assert!(ann_at < bob_at, "priority order: {text}");
    assert!(said(&t).contains("leave a message"), "{t}");
    let call = call_row(&app, &t).await;
    assert!(call.missed && call.voicemail);
    assert!(call.recording_url.is_some());
    assert!(call.answered_at.is_none());
    let jobs = text_backs(&app).await;
    assert_eq!(jobs.len(), 1, "one text-back despite several triggers");
    let payload: Value = serde_json::from_str(&jobs[0].payload).unwrap();
    assert_eq!(payload["to"], CALLER);
    assert_eq!(
        jobs[0].status, "pending",
        "visible until the messaging worker exists"
    );
}

#[tokio::test]
async fn busy_with_hangup_fallback_apologises() {
    let app = app().start().await;
    salon(&app, json!({"fallback": "hangup"})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let script = CallScript::new(CALLER, NUMBER).dial_outcome("*", DialOutcome::Busy);
    let t = simulator(&app).run_call(&script).await;
    assert!(said(&t).contains("nobody is available"), "{t}");
    let call = call_row(&app, &t).await;
    assert!(call.missed && !call.voicemail);
    assert_eq!(text_backs(&app).await.len(), 1);
    // `call.missed` says what ended the call, beside the call's own fields.
    let (missed, _) = db::events::list_events(&app.state.db, None, Some("call.missed"), 10, 0)
        .await
        .unwrap();
    let event = missed
        .iter()
        .find(|e| e.ordering_key.as_deref() == Some(call.call_sid.as_str()))
        .expect("a call.missed event for the call");
    assert!(
        event
            .payload
            .contains(r#""dialCallStatus":"busy","direction":"inbound""#),
        "{}",
        event.payload
    );
}

#[tokio::test]
async fn round_robin_rotates_who_rings_first() {
    let app = app().start().await;
    salon(&app, json!({"staffOrder": "round_robin"})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let t = simulator(&app)
            .run_call(
                &CallScript::new(CALLER, NUMBER)
                    .dial_outcome("*", DialOutcome::Answered { duration_secs: 5 }),
            )
            .await;
        firsts.push(call_row(&app, &t).await.forwarded_to.unwrap());
    }
    assert_eq!(firsts, [ANN, BOB, ANN]);
}

#[tokio::test]
async fn after_hours_and_closed_days_go_to_voicemail_in_the_tenant_zone_across_dst() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    let sim = simulator(&app);
    let script = CallScript::new(CALLER, NUMBER)
        .dial_outcome("*", DialOutcome::Answered { duration_secs: 5 })
        .record(5, None);
    // Monday 2026-03-02 13:30 UTC is 08:30 EST: closed. One week later, after DST began (2026-03-08),
    // the same UTC time is 09:30 EDT: open.
    set_clock(&app, "2026-03-02T13:30:00Z");
    let t = sim.run_call(&script).await;
    assert!(said(&t).contains("closed right now"), "{t}");
    assert!(call_row(&app, &t).await.after_hours);
    set_clock(&app, "2026-03-09T13:30:00Z");
    let t = sim.run_call(&script).await;
    let call = call_row(&app, &t).await;
    assert!(!call.after_hours, "{t}");
    assert_eq!(call.forwarded_to.as_deref(), Some(ANN));
    // Sunday noon: closed all day.
    set_clock(&app, "2026-11-22T17:00:00Z");
    let t = sim.run_call(&script).await;
    let call = call_row(&app, &t).await;
    assert!(call.after_hours && call.voicemail);
}

#[tokio::test]
async fn holiday_closes_the_day() {
    let app = app().start().await;
    let id = salon(&app, json!({})).await;
    app.admin(Method::PATCH, &format!("/api/admin/tenants/{id}"), Some(json!({"businessHours": {"monday": [{"open": "09:00", "close": "17:00"}], "holidays": ["2026-11-23"]}}))).await;
    set_clock(&app, MONDAY_10AM_NY);
    let t = simulator(&app)
        .run_call(&CallScript::new(CALLER, NUMBER).record(5, None))
        .await;
    assert!(call_row(&app, &t).await.after_hours);
}

#[tokio::test]
async fn no_staff_on_duty_means_greeting_and_voicemail() {
    let app = app().start().await;
    let t = app
        .create_tenant(
            json!({"name": "Solo", "timeZone": "America/New_York", "phoneNumber": NUMBER}),
        )
        .await;
    assert!(t["id"].is_string());
    set_clock(&app, MONDAY_10AM_NY);
    let tr = simulator(&app)
        .run_call(&CallScript::new(CALLER, NUMBER).record(6, None))
        .await;
    assert!(said(&tr).contains("thank you for calling Solo"), "{tr}");
    assert!(said(&tr).contains("leave a message"), "{tr}");
    assert_eq!(call_row(&app, &tr).await.strategy, "voicemail");
}

#[tokio::test]
async fn gather_classifies_speech_and_digits_and_routes() {
    let app = app().start().await;
    salon(&app, json!({"strategy": "gather"})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let sim = simulator(&app);
    let answered = DialOutcome::Answered { duration_secs: 10 };
    for (script, reason) in [
        (
            CallScript::new(CALLER, NUMBER).say("I'd like to book a haircut"),
            "SETUP_APPOINTMENT",
        ),
        (
            CallScript::new(CALLER, NUMBER).say("I need to cancel my appointment"),
            "CANCEL_APPOINTMENT",
        ),
        (
            CallScript::new(CALLER, NUMBER).say("can I reschedule my appointment"),
            "MODIFY_APPOINTMENT",
        ),
        (
            CallScript::new(CALLER, NUMBER).press("1"),
            "SETUP_APPOINTMENT",
        ),
        (
            CallScript::new(CALLER, NUMBER).press("2"),
            "CANCEL_APPOINTMENT",
        ),
        (
            CallScript::new(CALLER, NUMBER).press("3"),
            "MODIFY_APPOINTMENT",
        ),
        (
            CallScript::new(CALLER, NUMBER).say("something else entirely"),
            "OTHER",
        ),
    ] {
        let t = sim.run_call(&script.dial_outcome("*", answered)).await;
        assert!(t.http_errors.is_empty(), "{t}");
        let call = call_row(&app, &t).await;
        assert_eq!(call.call_reason.as_deref(), Some(reason), "{t}");
        assert_eq!(
            call.forwarded_to.as_deref(),
            Some(ANN),
            "appointment reasons route to staff: {t}"
        );
        assert!(
            call.notes.as_deref().unwrap_or("").starts_with("Caller"),
            "{:?}",
            call.notes
        );
    }
}

#[tokio::test]
async fn gather_answers_hours_and_prices() {
    let app = app().start().await;
    salon(&app, json!({"strategy": "gather"})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let sim = simulator(&app);
    for script in [
        CallScript::new(CALLER, NUMBER).say("what are your hours"),
        CallScript::new(CALLER, NUMBER).press("4"),
    ] {
        let t = sim.run_call(&script).await;
        let call = call_row(&app, &t).await;
        assert_eq!(call.call_reason.as_deref(), Some("GET_HOURS"));
        assert!(said(&t).contains("Monday"), "hours are read out: {t}");
        assert!(call.forwarded_to.is_none());
    }
    let t = sim
        .run_call(&CallScript::new(CALLER, NUMBER).say("how much is a haircut"))
        .await;
    assert_eq!(
        call_row(&app, &t).await.call_reason.as_deref(),
        Some("GET_PRICING")
    );
    assert!(said(&t).contains("A haircut is 40 dollars."), "{t}");
}

#[tokio::test]
async fn gather_with_no_input_repeats_once_then_routes() {
    let app = app().start().await;
    salon(&app, json!({"strategy": "gather"})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let t = simulator(&app)
        .run_call(
            &CallScript::new(CALLER, NUMBER)
                .dial_outcome("*", DialOutcome::Answered { duration_secs: 3 }),
        )
        .await;
    assert!(said(&t).contains("didn't catch that"), "{t}");
    let call = call_row(&app, &t).await;
    assert_eq!(call.gather_attempts, 2);
    assert_eq!(call.forwarded_to.as_deref(), Some(ANN));
    assert_eq!(call.call_reason, None);
}

/// Posts a correctly signed form webhook.
pub async fn signed_post(app: &TestApp, path: &str, params: &[(&str, &str)]) -> (u16, String) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sig = sign_form(
        &app.state.twilio.auth_token,
        &format!("{}{path}", app.base),
        &owned,
    );
    let res = app
        .client
        .post(format!("{}{path}", app.base))
        .header("x-twilio-signature", sig)
        .form(&owned)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = res.text().await.unwrap();
    if status == 200 {
        assert!(ct.starts_with("text/xml"), "{path}: {ct}");
    }
    (status, body)
}

#[tokio::test]
async fn unknown_number_is_politely_not_in_service() {
    let app = app().start().await;
    let (status, body) = signed_post(
        &app,
        "/api/webhooks/twilio/voice",
        &[
            ("CallSid", "CA00000000000000000000000000000001"),
            ("From", CALLER),
            ("To", "+14155550000"),
            ("CallStatus", "ringing"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("not currently in service"), "{body}");
}

#[tokio::test]
async fn duplicate_webhook_logs_once_and_answers_the_same() {
    let app = app().start().await;
    salon(&app, json!({"staffOrder": "round_robin"})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let params = [
        ("CallSid", "CA00000000000000000000000000000002"),
        ("From", "Anonymous"),
        ("To", NUMBER),
        ("CallStatus", "ringing"),
    ];
    let (s1, b1) = signed_post(&app, "/api/webhooks/twilio/voice", &params).await;
    let (s2, b2) = signed_post(&app, "/api/webhooks/twilio/voice", &params).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(
        b1, b2,
        "a retry gets the same TwiML (round robin did not advance)"
    );
    let id = app.state.db.clone();
    let tenant =
        db::tenants::get_by_number(&id, &switchboard::domain::E164::parse("n", NUMBER).unwrap())
            .await
            .unwrap()
            .unwrap();
    let (calls, total) = db::calls::list(&app.state.db, &tenant.id, &Default::default(), 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(calls[0].from_number, "Anonymous", "From is stored as given");
}

#[tokio::test]
async fn status_callbacks_only_move_forward() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000003";
    signed_post(
        &app,
        "/api/webhooks/twilio/voice",
        &[
            ("CallSid", sid),
            ("From", CALLER),
            ("To", NUMBER),
            ("CallStatus", "ringing"),
        ],
    )
    .await;
    signed_post(
        &app,
        "/webhooks/twilio/call/status/CA00000000000000000000000000000003",
        &[
            ("CallSid", sid),
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "40"),
        ],
    )
    .await;
    signed_post(
        &app,
        "/api/twilio/call-status",
        &[
            ("CallSid", sid),
            ("CallStatus", "completed"),
            ("CallDuration", "45"),
        ],
    )
    .await;
    signed_post(
        &app,
        "/api/twilio/status",
        &[("CallSid", sid), ("CallStatus", "in-progress")],
    )
    .await;
    signed_post(
        &app,
        "/api/webhooks/twilio/voice/status",
        &[
            ("CallSid", sid),
            ("CallStatus", "completed"),
            ("CallDuration", "99"),
        ],
    )
    .await;
    let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.status, "completed");
    assert_eq!(
        call.duration_seconds,
        Some(45),
        "the first terminal callback wins"
    );
    assert!(!call.missed);
    let (status, body) = signed_post(
        &app,
        "/api/webhooks/twilio/voice/status",
        &[
            ("CallSid", "CA99999999999999999999999999999999"),
            ("CallStatus", "completed"),
        ],
    )
    .await;
    assert_eq!(status, 200, "unknown CallSid: {body}");
}

#[tokio::test]
async fn seed_004_single_business_flow() {
    let app = app()
        .config(|c| {
            c.twilio_phone_number = Some(NUMBER.into());
            c.user_phone_number = Some("+14155550199".into());
        })
        .start()
        .await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000123456789abcdef";
    let (status, body) = signed_post(
        &app,
        "/webhooks/twilio/call",
        &[
            ("CallStatus", "ringing"),
            ("From", CALLER),
            ("To", NUMBER),
            ("CallSid", sid),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(r#"timeout="20""#), "{body}");
    assert!(
        body.contains(
            r#"action="/webhooks/twilio/call/status/CA00000000000000000123456789abcdef""#
        ),
        "{body}"
    );
    assert!(body.contains(r#"method="POST""#), "{body}");
    assert!(body.contains("+14155550199</Number>"), "{body}");
    // Answered: nothing sent.
    let (_, body) = signed_post(
        &app,
        &format!("/webhooks/twilio/call/status/{sid}"),
        &[
            ("DialCallStatus", "answered"),
            ("From", CALLER),
            ("CallSid", sid),
        ],
    )
    .await;
    assert!(body.contains("<Response/>"), "{body}");
    assert!(text_backs(&app).await.is_empty());
    for (i, outcome) in ["no-answer", "busy", "failed"].iter().enumerate() {
        let sid = format!("CA00000000000000000123456789abcde{i}");
        signed_post(
            &app,
            "/webhooks/twilio/call",
            &[
                ("CallStatus", "ringing"),
                ("From", CALLER),
                ("To", NUMBER),
                ("CallSid", &sid),
            ],
        )
        .await;
        signed_post(
            &app,
            &format!("/webhooks/twilio/call/status/{sid}"),
            &[
                ("DialCallStatus", outcome),
                ("From", CALLER),
                ("CallSid", &sid),
            ],
        )
        .await;
        assert_eq!(text_backs(&app).await.len(), i + 1, "{outcome} texts back");
    }
    // Not ringing: empty TwiML.
    let (_, body) = signed_post(
        &app,
        "/webhooks/twilio/call",
        &[
            ("CallStatus", "completed"),
            ("From", CALLER),
            ("To", NUMBER),
            ("CallSid", sid),
        ],
    )
    .await;
    assert!(body.contains("<Response/>"), "{body}");
}

/// A dial or gather action acts on the call in its path only when Twilio's signed `CallSid` is that
/// call: TwiML of one call (another tenant's, say) cannot steer another call's routing.
#[tokio::test]
async fn follow_up_callbacks_are_bound_to_their_call() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let victim = "CA00000000000000000000000000000a51";
    let attacker = "CA00000000000000000000000000000a52";
    for sid in [victim, attacker] {
        let (status, _) = signed_post(
            &app,
            "/api/webhooks/twilio/voice",
            &[
                ("CallSid", sid),
                ("From", CALLER),
                ("To", NUMBER),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
        assert_eq!(status, 200);
    }
    let before = db::calls::get_by_sid(&app.state.db, &CallSid::stored(victim))
        .await
        .unwrap()
        .unwrap();
    for path in [
        format!("/webhooks/twilio/call/status/{victim}"),
        format!("/api/webhooks/twilio/voice/gather/{victim}"),
    ] {
        for params in [
            vec![
                ("CallSid", attacker),
                ("DialCallStatus", "no-answer"),
                ("Digits", "1"),
            ],
            vec![("DialCallStatus", "no-answer"), ("Digits", "1")],
        ] {
            let (status, body) = signed_post(&app, &path, &params).await;
            assert_eq!(status, 400, "{path} {params:?}: {body}");
            assert!(body.contains("CallSid"), "{body}");
        }
    }
    let after = db::calls::get_by_sid(&app.state.db, &CallSid::stored(victim))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            after.status,
            after.missed,
            after.route_index,
            after.gather_attempts,
            after.call_reason
        ),
        (
            before.status,
            before.missed,
            before.route_index,
            before.gather_attempts,
            before.call_reason
        ),
        "the victim's call is untouched"
    );
}

/// A signed webhook whose SID parameter is not of Twilio's shape (`CA123`, `XX` + 32 hex) did not
/// come from Twilio: 400 naming the parameter, on every webhook, and nothing logged or echoed.
#[tokio::test]
async fn misshapen_sids_are_refused_on_every_webhook() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let good = "CA00000000000000000000000000000b01";
    let mut paths: Vec<String> = switchboard::calls::VOICE_PATHS
        .iter()
        .chain(switchboard::calls::STATUS_PATHS.iter())
        .map(|p| p.to_string())
        .collect();
    paths.extend(
        switchboard::calls::DIAL_ACTION_PATHS
            .iter()
            .map(|p| p.replace("{call_sid}", good)),
    );
    paths.push(format!("/api/webhooks/twilio/voice/gather/{good}"));
    paths.extend(
        [
            "/api/webhooks/twilio/voice/voicemail",
            "/api/twilio/voicemail-complete",
            "/api/twilio/recording",
            "/api/webhooks/twilio/sms",
            "/api/twilio/incoming-sms",
            "/api/twilio/sms",
            "/api/webhooks/twilio/sms/status",
        ]
        .map(String::from),
    );
    paths.extend(
        switchboard::recordings::RECORDING_STATUS_PATHS
            .iter()
            .map(|p| p.to_string()),
    );
    for (key, bad) in [
        ("CallSid", "CA123"),
        ("CallSid", "XX0123456789abcdef0123456789abcdef"),
        ("MessageSid", "SM12345"),
        ("RecordingSid", "RE0123456789abcdef0123456789abcdeg"),
        ("AccountSid", "ACnot-an-account"),
    ] {
        for path in &paths {
            let mut params = vec![
                ("From", CALLER),
                ("To", NUMBER),
                ("CallStatus", "ringing"),
                ("Body", "STOP"),
            ];
            if key != "CallSid" {
                params.push(("CallSid", good));
            }
            params.push((key, bad));
            let (status, body) = signed_post(&app, path, &params).await;
            assert_eq!(status, 400, "{path} {key}={bad}: {body}");
            assert!(body.contains(key), "{path}: {body}");
        }
    }
    let calls = db::calls::get_by_sid(&app.state.db, &CallSid::stored("CA123"))
        .await
        .unwrap();
    assert!(calls.is_none(), "nothing logged");
    // A dial action whose path names no real CallSid is refused the same way.
    let (status, _) = signed_post(
        &app,
        "/webhooks/twilio/call/status/CA123",
        &[("CallSid", "CA123"), ("DialCallStatus", "no-answer")],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn invalid_signature_is_403_on_every_alias() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    let sid = "CA00000000000000000000000000000004";
    let mut paths: Vec<String> = switchboard::calls::VOICE_PATHS
        .iter()
        .map(|p| p.to_string())
        .collect();
    paths.extend(
        switchboard::calls::STATUS_PATHS
            .iter()
            .map(|p| p.to_string()),
    );
    paths.extend(
        switchboard::calls::DIAL_ACTION_PATHS
            .iter()
            .map(|p| p.replace("{call_sid}", sid)),
    );
    paths.push(format!("/api/webhooks/twilio/voice/gather/{sid}"));
    paths.extend(
        [
            "/api/webhooks/twilio/voice/voicemail",
            "/api/twilio/voicemail-complete",
            "/api/twilio/recording",
        ]
        .map(String::from),
    );
    let params = [
        ("CallSid", sid),
        ("From", CALLER),
        ("To", NUMBER),
        ("CallStatus", "ringing"),
    ];
    for path in &paths {
        let bad = sign_form(
            "wrong-token",
            &format!("{}{path}", app.base),
            &params.map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let res = app
            .client
            .post(format!("{}{path}", app.base))
            .header("x-twilio-signature", bad)
            .form(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let res = app
            .client
            .post(format!("{}{path}", app.base))
            .form(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} without a signature");
    }
    assert!(
        db::calls::get_by_sid(&app.state.db, &CallSid::stored(sid))
            .await
            .unwrap()
            .is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn get_configured_webhooks_work_too() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let path = "/api/twilio/voice?CallSid=CA00000000000000000000000000000005&From=%2B14155550142&To=%2B15005550006&CallStatus=ringing";
    let sig = sign_form(
        &app.state.twilio.auth_token,
        &format!("{}{path}", app.base),
        &[],
    );
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .header("x-twilio-signature", sig)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(ANN));
}

async fn ring_n(app: &TestApp, n: u32) -> String {
    let sid = format!("CA{n:032}");
    let (status, body) = signed_post(
        app,
        "/api/webhooks/twilio/voice",
        &[
            ("CallSid", &sid),
            ("From", CALLER),
            ("To", NUMBER),
            ("CallStatus", "ringing"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Routing data comes from each instance's memory. A staff or hours change made through another
/// instance (or the CLI) is seen once `ROUTING_CACHE_RECHECK_MS` has passed; one made through this
/// instance is seen by the very next call.
#[tokio::test]
async fn routing_changes_reach_every_instance_within_the_recheck_interval() {
    let a = app()
        .config(|c| c.routing_cache_recheck_ms = Some("1000".into()))
        .start()
        .await;
    let b = app().same_database(&a).start().await;
    let tenant = salon(&a, json!({})).await;
    set_clock(&a, MONDAY_10AM_NY);
    set_clock(&b, MONDAY_10AM_NY);
    assert!(
        ring_n(&a, 1)
            .await
            .contains(&format!("<Number>{ANN}</Number>"))
    );
    // Instance B takes Ann off duty.
    let staff = b
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{tenant}/staff"),
            None,
        )
        .await;
    let ann = staff.json["data"]["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phone"] == ANN)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = b
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{tenant}/staff/{ann}"),
            Some(json!({"onDuty": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        ring_n(&b, 2)
            .await
            .contains(&format!("<Number>{BOB}</Number>")),
        "the instance that made the change sees it at once"
    );
    a.clock.advance_ms(1_000);
    assert!(
        ring_n(&a, 3)
            .await
            .contains(&format!("<Number>{BOB}</Number>")),
        "the other instance sees it within the recheck interval"
    );
    // Hours changed through A: closed now, so A's very next call goes to voicemail.
    let r = a
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{tenant}"),
            Some(json!({"businessHours": {"monday": []}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = ring_n(&a, 4).await;
    assert!(
        body.contains("<Record") && !body.contains("<Dial"),
        "{body}"
    );
    b.clock.advance_ms(1_000);
    let body = ring_n(&b, 5).await;
    assert!(
        body.contains("<Record") && !body.contains("<Dial"),
        "{body}"
    );
}

/// Seed 004's single-business mode forwards every ringing call to `USER_PHONE_NUMBER`, at any hour,
/// unless `BUSINESS_HOURS` says when the business is open.
#[tokio::test]
async fn single_business_mode_forwards_at_any_hour_unless_hours_are_configured() {
    const SUNDAY_3AM_UTC: &str = "2026-12-06T03:00:00Z";
    async fn ring(app: &TestApp, sid: &str) -> String {
        signed_post(
            app,
            "/webhooks/twilio/call",
            &[
                ("CallStatus", "ringing"),
                ("From", CALLER),
                ("To", NUMBER),
                ("CallSid", sid),
            ],
        )
        .await
        .1
    }
    let open = app()
        .config(|c| {
            c.twilio_phone_number = Some(NUMBER.into());
            c.user_phone_number = Some("+14155550199".into());
        })
        .start()
        .await;
    set_clock(&open, SUNDAY_3AM_UTC);
    let body = ring(&open, "CA00000000000000000000000000000c31").await;
    assert!(
        body.contains(r#"timeout="20""#) && body.contains("+14155550199</Number>"),
        "{body}"
    );
    assert!(!body.contains("closed"), "{body}");

    let hours = r#"{"monday": [{"open": "09:00", "close": "17:00"}]}"#;
    let closed = app()
        .config(|c| {
            c.twilio_phone_number = Some(NUMBER.into());
            c.user_phone_number = Some("+14155550199".into());
            c.business_hours = Some(hours.into());
        })
        .start()
        .await;
    set_clock(&closed, SUNDAY_3AM_UTC);
    let body = ring(&closed, "CA00000000000000000000000000000c32").await;
    assert!(
        body.contains("closed right now") && body.contains("<Record"),
        "{body}"
    );

    let mut raw = crate::support::base_raw("sqlite::memory:");
    raw.business_hours = Some(r#"{"monday": [{"open": "25:00", "close": "26:00"}]}"#.into());
    assert_eq!(
        switchboard::config::Config::from_raw(&raw).unwrap_err().var,
        "BUSINESS_HOURS"
    );
    raw.business_hours = Some("9 to 5".into());
    assert_eq!(
        switchboard::config::Config::from_raw(&raw).unwrap_err().var,
        "BUSINESS_HOURS"
    );
}
