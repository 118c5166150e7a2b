//! Phone numbers against the sandbox: automatic provisioning on subscription changes (exactly one
//! number, even twice and on two instances; failures visible and retried; release after the grace
//! period), the Stripe webhook's signature check, the internal lookup, the seed 000/002 endpoints,
//! webhook repair and the `numbers` / `tenant subscription` commands.

use std::process::{Command, Output};

use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard::clock::rfc3339;
use switchboard::jobs::worker::run_pending_jobs;
use switchboard::numbers::{self, Provisioned};
use switchboard_twilio::rest::{BuyNumber, NumberConfig, NumberToBuy, WebhookMethod};
use switchboard_twilio::sandbox::{
    DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, RecordedRequest, Sandbox, SandboxNumber,
};

use crate::support::{JWT_SECRET, Resp, TestApp, app};

const HOUR_MS: i64 = 3_600_000;
const STRIPE_SECRET: &str = "whsec_test_0123456789";
const SERVICE_KEY: &str = "service-key-0123456789";

fn sandbox(app: &TestApp) -> &Sandbox {
    app.state.twilio.sandbox.as_ref().expect("sandbox mode")
}

/// REST requests the sandbox received for `method` on paths ending with `suffix`.
fn requests(app: &TestApp, method: &str, suffix: &str) -> Vec<RecordedRequest> {
    sandbox(app)
        .received_requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .collect()
}

/// Purchases: `POST IncomingPhoneNumbers.json`.
fn buys(app: &TestApp) -> Vec<RecordedRequest> {
    requests(app, "POST", "/IncomingPhoneNumbers.json")
}

/// Configuration updates: `POST IncomingPhoneNumbers/{Sid}.json`.
fn updates(app: &TestApp) -> Vec<RecordedRequest> {
    sandbox(app)
        .received_requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("/IncomingPhoneNumbers/PN"))
        .collect()
}

fn owned(app: &TestApp) -> Vec<SandboxNumber> {
    sandbox(app).numbers()
}

async fn create(app: &TestApp, body: Value) -> String {
    app.create_tenant(body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Puts the tenant on a live (TRIALING) subscription without the auto-provisioning job a
/// subscription change queues, so the test can provision by hand.
pub async fn live_without_auto_provisioning(app: &TestApp, id: &str) {
    let mut t = switchboard::db::tenants::get(&app.state.db, id)
        .await
        .unwrap()
        .unwrap();
    t.subscription_status = switchboard::domain::SubscriptionStatus::Trialing;
    switchboard::db::tenants::update(&app.state.db, &t)
        .await
        .unwrap();
}

async fn set_subscription(app: &TestApp, id: &str, status: &str) -> Resp {
    app.admin(
        Method::PUT,
        &format!("/api/admin/tenants/{id}/subscription"),
        Some(json!({ "status": status })),
    )
    .await
}

pub async fn provisioning(app: &TestApp, id: &str) -> Value {
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{id}/provisioning"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"].clone()
}

async fn tenant(app: &TestApp, id: &str) -> Value {
    app.admin(Method::GET, &format!("/api/admin/tenants/{id}"), None)
        .await
        .json["data"]
        .clone()
}

fn url(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.base)
}

/// The webhooks every provisioned number must carry, checked on a purchase or update request.
fn assert_configured(app: &TestApp, r: &RecordedRequest, tenant_id: &str) {
    assert_eq!(
        r.param("VoiceUrl"),
        Some(url(app, "/api/webhooks/twilio/voice").as_str())
    );
    assert_eq!(r.param("VoiceMethod"), Some("POST"));
    assert_eq!(
        r.param("SmsUrl"),
        Some(url(app, "/api/webhooks/twilio/sms").as_str())
    );
    assert_eq!(r.param("SmsMethod"), Some("POST"));
    assert_eq!(
        r.param("StatusCallback"),
        Some(url(app, "/api/webhooks/twilio/voice/status").as_str())
    );
    assert_eq!(r.param("StatusCallbackMethod"), Some("POST"));
    let name = r.param("FriendlyName").unwrap_or_default();
    assert!(
        name.starts_with(&format!("sb:{tenant_id}")) && name.chars().count() <= 64,
        "{name}"
    );
}

#[tokio::test]
async fn subscription_active_buys_exactly_one_number_with_this_deployments_webhooks() {
    let app = app().start().await;
    let id = create(&app, json!({"name": "Bella Salon"})).await;

    let r = set_subscription(&app, &id, "ACTIVE").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["subscriptionStatus"], "ACTIVE");
    let p = provisioning(&app, &id).await;
    assert_eq!(p["state"], "provisioning");
    assert_eq!(p["job"]["kind"], "numbers.provision");
    assert_eq!(p["job"]["status"], "pending");
    assert!(
        buys(&app).is_empty(),
        "the subscription change itself never calls Twilio"
    );

    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.succeeded, 1, "{ran:?}");
    let bought = buys(&app);
    assert_eq!(bought.len(), 1);
    assert_eq!(bought[0].status, 201);
    assert_configured(&app, &bought[0], &id);

    let numbers = owned(&app);
    assert_eq!(numbers.len(), 1);
    let n = &numbers[0];
    assert_eq!(
        n.voice_url.as_deref(),
        Some(url(&app, "/api/webhooks/twilio/voice").as_str())
    );
    assert_eq!(
        n.sms_url.as_deref(),
        Some(url(&app, "/api/webhooks/twilio/sms").as_str())
    );
    let t = tenant(&app, &id).await;
    assert_eq!(t["phoneNumber"], n.phone_number.as_str());
    assert_eq!(t["phoneNumberSid"], n.sid.as_str());
    let p = provisioning(&app, &id).await;
    assert_eq!(p["state"], "active");
    assert_eq!(p["attempts"], 1);
    assert_eq!(p["job"]["status"], "done");
    assert_eq!(p["reason"], Value::Null);

    let token = app.token_for(&id).await;
    let r = app.tenant_get("/api/telephony/phone-number", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"], true);
    assert_eq!(r.json["data"]["phoneNumber"], n.phone_number.as_str());
    assert_eq!(r.json["data"]["status"], "active");

    // The same event again: the tenant has its number, nothing is enqueued or bought.
    assert_eq!(set_subscription(&app, &id, "ACTIVE").await.status, 200);
    assert_eq!(set_subscription(&app, &id, "TRIALING").await.status, 200);
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.ran(), 0, "{ran:?}");
    assert_eq!(buys(&app).len(), 1);
}

#[tokio::test]
async fn the_same_event_twice_and_on_two_instances_buys_one_number() {
    let a = app().start().await;
    // A second instance on the same database, talking to the same Twilio (a's sandbox).
    let sandbox_url = format!("{}/twilio-sandbox", a.base);
    let b = app()
        .config(|c| {
            c.twilio_account_sid = Some(DEV_ACCOUNT_SID.into());
            c.twilio_auth_token = Some(DEV_AUTH_TOKEN.into());
            c.twilio_api_base_url = Some(sandbox_url);
        })
        .same_database(&a)
        .start()
        .await;
    assert!(b.state.twilio.sandbox.is_none());
    let id = create(&a, json!({"name": "Twin Salon"})).await;

    let (r1, r2, r3, r4) = tokio::join!(
        set_subscription(&a, &id, "ACTIVE"),
        set_subscription(&b, &id, "ACTIVE"),
        set_subscription(&a, &id, "TRIALING"),
        set_subscription(&b, &id, "ACTIVE"),
    );
    for r in [r1, r2, r3, r4] {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let jobs = a
        .admin(Method::GET, "/api/admin/jobs?kind=numbers.provision", None)
        .await;
    assert_eq!(
        jobs.json["data"]["total"], 1,
        "one job for four events: {}",
        jobs.text
    );
    let generation = numbers::store::get(&a.state.db, &id)
        .await
        .unwrap()
        .unwrap()
        .generation;

    // Both instances' workers drain at once, and both also run the job's work directly, as a job
    // whose lease expired would be run twice: the tenant lease and the state check leave one buyer.
    let (ra, rb, da, db) = tokio::join!(
        run_pending_jobs(&a.state),
        run_pending_jobs(&b.state),
        numbers::ops::provision(&a.state, &id, Some(generation), None),
        numbers::ops::provision(&b.state, &id, Some(generation), None),
    );
    ra.unwrap();
    rb.unwrap();
    for d in [da, db] {
        match d {
            Ok(_) | Err(numbers::NumberError::Busy { .. }) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(buys(&a).len(), 1, "exactly one purchase");
    assert_eq!(owned(&a).len(), 1);
    let t = tenant(&a, &id).await;
    assert_eq!(t["phoneNumber"], owned(&a)[0].phone_number.as_str());
    assert_eq!(provisioning(&a, &id).await["state"], "active");

    // Whatever is still scheduled (a run that lost the lease retries) finds the number and stops.
    a.clock.advance_ms(HOUR_MS);
    b.clock.advance_ms(HOUR_MS);
    run_pending_jobs(&a.state).await.unwrap();
    run_pending_jobs(&b.state).await.unwrap();
    assert_eq!(buys(&a).len(), 1);
}

#[tokio::test]
async fn a_rerun_after_a_crash_adopts_the_number_bought_instead_of_buying_again() {
    let app = app().start().await;
    let id = create(&app, json!({"name": "Crash Salon"})).await;
    // What a run that crashed between buying and recording leaves behind: a number on the account
    // named for the tenant, not yet on the tenant (and with webhooks from an older deployment).
    let orphan = app
        .state
        .twilio
        .client
        .buy_number(&BuyNumber {
            number: NumberToBuy::PhoneNumber("+14155550142".into()),
            config: NumberConfig {
                friendly_name: Some(format!("sb:{id} Crash Salon")),
                voice_url: Some("https://old.example/voice".into()),
                ..Default::default()
            },
        })
        .await
        .unwrap();

    assert_eq!(set_subscription(&app, &id, "ACTIVE").await.status, 200);
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(buys(&app).len(), 1, "only the crashed run's purchase");
    let t = tenant(&app, &id).await;
    assert_eq!(t["phoneNumber"], "+14155550142");
    assert_eq!(t["phoneNumberSid"], orphan.sid.clone().unwrap().as_str());
    let fixed = updates(&app);
    assert_eq!(fixed.len(), 1, "the adopted number is re-pointed");
    assert_configured(&app, &fixed[0], &id);
    assert_eq!(
        owned(&app)[0].voice_url.as_deref(),
        Some(url(&app, "/api/webhooks/twilio/voice").as_str())
    );

    // The same job once more (a worker that lost its lease): nothing to do.
    let p = numbers::store::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    let again = numbers::ops::provision(&app.state, &id, Some(p.generation), None)
        .await
        .unwrap();
    assert_eq!(again, Provisioned::Skipped);
    assert_eq!(buys(&app).len(), 1);
}

#[tokio::test]
async fn an_unavailable_number_fails_visibly_is_retried_and_recovers() {
    let app = app().start().await;
    let id = create(&app, json!({"name": "Unlucky Salon"})).await;
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{id}/provisioning"),
            Some(json!({"phoneNumber": "+15005550000"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["requestedNumber"], "+15005550000");

    let r = set_subscription(&app, &id, "ACTIVE").await;
    assert_eq!(
        r.status, 200,
        "provisioning never fails the change: {}",
        r.text
    );
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.retried, 1, "{ran:?}");
    let tried = buys(&app);
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0].param("PhoneNumber"), Some("+15005550000"));
    assert_eq!(tried[0].status, 400);

    let p = provisioning(&app, &id).await;
    assert_eq!(p["state"], "failed");
    assert_eq!(p["twilioCode"], 21422);
    assert!(!p["reason"].as_str().unwrap_or_default().is_empty(), "{p}");
    assert_eq!(p["attempts"], 1);
    assert_eq!(p["subscriptionStatus"], "ACTIVE");
    assert_eq!(p["job"]["status"], "pending");
    assert_eq!(p["job"]["attempts"], 1);
    assert!(p["job"]["lastError"].is_string(), "{p}");
    let token = app.token_for(&id).await;
    let r = app.tenant_get("/api/telephony/phone-number", &token).await;
    assert_eq!(r.json["data"]["phoneNumber"], Value::Null);
    assert_eq!(r.json["data"]["status"], "failed");
    assert!(r.json["data"]["reason"].is_string(), "{}", r.text);

    // Retried with backoff (the first retry is 30-60 s later), failing the same way.
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    app.clock.advance_ms(61_000);
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.retried, 1, "{ran:?}");
    assert_eq!(buys(&app).len(), 2);
    let p = provisioning(&app, &id).await;
    assert_eq!(p["attempts"], 2);
    assert_eq!(p["job"]["attempts"], 2);

    // The operator picks another area and retries now.
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{id}/provisioning"),
            Some(json!({"phoneNumber": null, "areaCode": "212"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id}/provisioning/retry"),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["data"]["state"], "provisioning");
    assert_eq!(r.json["data"]["attempts"], 0);
    run_pending_jobs(&app.state).await.unwrap();
    let p = provisioning(&app, &id).await;
    assert_eq!(p["state"], "active", "{p}");
    assert!(
        p["phoneNumber"].as_str().unwrap().starts_with("+1212"),
        "{p}"
    );
    assert_eq!(buys(&app).iter().filter(|r| r.status == 201).count(), 1);

    // A tenant with a number cannot be retried.
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id}/provisioning/retry"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "ALREADY_PROVISIONED");
}

#[tokio::test]
async fn a_canceled_tenants_number_is_released_after_the_grace_period_unless_reactivated() {
    let app = app()
        .config(|c| {
            c.number_release_grace_hours = Some("2".into());
            c.internal_service_key = Some(SERVICE_KEY.into());
        })
        .start()
        .await;
    let id = create(&app, json!({"name": "Fickle Salon"})).await;
    set_subscription(&app, &id, "ACTIVE").await;
    run_pending_jobs(&app.state).await.unwrap();
    let first = tenant(&app, &id).await["phoneNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let lookup = |n: &str| format!("/internal/phone-numbers/lookup/{}", n.replace('+', "%2B"));

    // Canceled: released two hours later, not before.
    let canceled_at = app.clock.now_ms();
    assert_eq!(set_subscription(&app, &id, "CANCELED").await.status, 200);
    let p = provisioning(&app, &id).await;
    assert_eq!(p["state"], "releasing");
    assert_eq!(p["releaseAfter"], rfc3339(canceled_at + 2 * HOUR_MS));
    assert_eq!(p["job"]["kind"], "numbers.release");
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    assert_eq!(owned(&app).len(), 1);
    let r = app
        .send(
            Method::GET,
            &lookup(&first),
            None,
            None,
            &[("X-Service-Key", SERVICE_KEY)],
        )
        .await;
    assert_eq!(r.json["data"]["status"], "releasing", "{}", r.text);

    // Reactivated within the grace period: the number stays; the scheduled release does nothing.
    assert_eq!(set_subscription(&app, &id, "ACTIVE").await.status, 200);
    assert_eq!(provisioning(&app, &id).await["state"], "active");
    app.clock.advance_ms(2 * HOUR_MS + 1_000);
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.succeeded, 1, "the stale release job ran: {ran:?}");
    assert!(requests(&app, "DELETE", ".json").is_empty());
    assert_eq!(owned(&app).len(), 1);
    assert_eq!(tenant(&app, &id).await["phoneNumber"], first.as_str());
    assert_eq!(buys(&app).len(), 1, "reactivation bought nothing");

    // Canceled for good.
    assert_eq!(set_subscription(&app, &id, "CANCELED").await.status, 200);
    app.clock.advance_ms(HOUR_MS);
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    assert_eq!(owned(&app).len(), 1);
    app.clock.advance_ms(HOUR_MS + 1_000);
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.succeeded, 1, "{ran:?}");
    let deleted = requests(&app, "DELETE", ".json");
    assert_eq!(deleted.len(), 1);
    assert!(owned(&app).is_empty());
    assert_eq!(tenant(&app, &id).await["phoneNumber"], Value::Null);
    let p = provisioning(&app, &id).await;
    assert_eq!(p["state"], "released");
    assert!(p["releasedAt"].is_string());
    let r = app
        .send(
            Method::GET,
            &lookup(&first),
            None,
            None,
            &[("X-Service-Key", SERVICE_KEY)],
        )
        .await;
    assert_eq!(r.status, 404);

    // Back again: a new number.
    assert_eq!(set_subscription(&app, &id, "ACTIVE").await.status, 200);
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(provisioning(&app, &id).await["state"], "active");
    assert_eq!(owned(&app).len(), 1);
    assert_eq!(buys(&app).len(), 2);
}

#[tokio::test]
async fn the_single_business_number_is_never_released_by_a_cancellation() {
    let app = app()
        .config(|c| c.twilio_phone_number = Some("+15005550006".into()))
        .start()
        .await;
    let (tenants, _) = switchboard::db::tenants::list(&app.state.db, 10, 0)
        .await
        .unwrap();
    let id = tenants[0].id.clone();
    assert_eq!(set_subscription(&app, &id, "CANCELED").await.status, 200);
    let p = provisioning(&app, &id).await;
    assert_eq!(p["state"], "none", "{p}");
    assert_eq!(p["job"], Value::Null);
    assert_eq!(tenant(&app, &id).await["phoneNumber"], "+15005550006");
}

fn stripe_header(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn stripe_event(id: &str, kind: &str, created: i64, customer: &str, status: &str) -> String {
    json!({
        "id": id,
        "object": "event",
        "type": kind,
        "created": created,
        "data": {"object": {"id": "sub_1", "object": "subscription", "customer": customer, "status": status}}
    })
    .to_string()
}

async fn post_stripe(app: &TestApp, header: Option<&str>, body: &str) -> Resp {
    let mut req = app
        .client
        .post(url(app, "/api/webhooks/stripe"))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(h) = header {
        req = req.header("Stripe-Signature", h);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        json,
    }
}

/// Events for one tenant that race each other end in the newest one's status, whichever commits
/// first: the ordering marker and the change are one transaction with the tenant row locked.
#[tokio::test]
async fn racing_stripe_events_apply_in_event_order() {
    let app = app()
        .config(|c| c.stripe_webhook_secret = Some(STRIPE_SECRET.into()))
        .start()
        .await;
    let id = create(
        &app,
        json!({"name": "Race Salon", "stripeCustomerId": "cus_RACE1"}),
    )
    .await;
    let now = app.clock.now_ms() / 1000;
    for round in 0..10i64 {
        // Newer and older event of this round; each round newer than the last.
        let (newer, older) = if round % 2 == 0 {
            ("canceled", "active")
        } else {
            ("active", "past_due")
        };
        let base = now - 1000 + round * 10;
        let a = stripe_event(
            &format!("evt_new_{round}"),
            "customer.subscription.updated",
            base + 5,
            "cus_RACE1",
            newer,
        );
        let b = stripe_event(
            &format!("evt_old_{round}"),
            "customer.subscription.updated",
            base + 1,
            "cus_RACE1",
            older,
        );
        let (ha, hb) = (
            stripe_header(STRIPE_SECRET, now, &a),
            stripe_header(STRIPE_SECRET, now, &b),
        );
        let (ra, rb) = tokio::join!(
            post_stripe(&app, Some(&ha), &a),
            post_stripe(&app, Some(&hb), &b)
        );
        assert_eq!(
            (ra.status, rb.status),
            (200, 200),
            "{} {}",
            ra.text,
            rb.text
        );
        let shown = tenant(&app, &id).await["subscriptionStatus"].clone();
        assert_eq!(
            shown,
            newer.to_ascii_uppercase(),
            "round {round}: {} / {}",
            ra.text,
            rb.text
        );
    }
}

#[tokio::test]
async fn the_stripe_webhook_checks_signatures_and_maps_subscription_events() {
    let app = app()
        .config(|c| c.stripe_webhook_secret = Some(STRIPE_SECRET.into()))
        .start()
        .await;
    let id = create(
        &app,
        json!({"name": "Stripe Salon", "stripeCustomerId": "cus_ABC123"}),
    )
    .await;
    let now = || app.clock.now_ms() / 1000;
    let created = stripe_event(
        "evt_1",
        "customer.subscription.created",
        now(),
        "cus_ABC123",
        "trialing",
    );
    let status = || async { tenant(&app, &id).await["subscriptionStatus"].clone() };

    for (header, why) in [
        (None, "missing"),
        (
            Some(stripe_header("whsec_wrong", now(), &created)),
            "wrong secret",
        ),
        (
            Some(stripe_header(STRIPE_SECRET, now(), "{}")),
            "other body",
        ),
        (Some(format!("t={},v1=nothex", now())), "garbage"),
        (
            Some(stripe_header(STRIPE_SECRET, now() - 301, &created)),
            "expired",
        ),
        (
            Some(stripe_header(STRIPE_SECRET, now() + 301, &created)),
            "from the future",
        ),
    ] {
        let r = post_stripe(&app, header.as_deref(), &created).await;
        assert_eq!(r.status, 400, "{why}: {}", r.text);
        assert_eq!(r.code(), "INVALID_SIGNATURE", "{why}");
    }
    assert_eq!(status().await, "NONE", "nothing applied");
    let r = post_stripe(
        &app,
        Some(&stripe_header(STRIPE_SECRET, now() - 301, &created)),
        &created,
    )
    .await;
    assert!(r.text.contains("5 minutes"), "{}", r.text);

    let header = stripe_header(STRIPE_SECRET, now(), &created);
    let r = post_stripe(&app, Some(&header), &created).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["applied"], true);
    assert_eq!(r.json["data"]["tenantId"], id.as_str());
    assert_eq!(status().await, "TRIALING");
    assert_eq!(provisioning(&app, &id).await["state"], "provisioning");

    // A captured request replayed six minutes later is refused.
    app.clock.advance_ms(6 * 60_000);
    let r = post_stripe(&app, Some(&header), &created).await;
    assert_eq!(r.status, 400, "{}", r.text);

    // While a secret is being rolled Stripe sends several v1 signatures; one matching is enough.
    let updated = stripe_event(
        "evt_2",
        "customer.subscription.updated",
        now(),
        "cus_ABC123",
        "active",
    );
    let good = stripe_header(STRIPE_SECRET, now(), &updated);
    let v1 = good.split_once(",v1=").unwrap().1;
    let rolled = format!("t={},v1={},v1={v1}", now(), "ab".repeat(32));
    let r = post_stripe(&app, Some(&rolled), &updated).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status().await, "ACTIVE");

    // Ignored with 200: other event types, unknown customers, events older than one applied.
    for body in [
        stripe_event("evt_3", "invoice.paid", now(), "cus_ABC123", "active"),
        stripe_event(
            "evt_4",
            "customer.subscription.updated",
            now(),
            "cus_NOBODY",
            "canceled",
        ),
        stripe_event(
            "evt_5",
            "customer.subscription.updated",
            now() - 3600,
            "cus_ABC123",
            "past_due",
        ),
    ] {
        let r = post_stripe(
            &app,
            Some(&stripe_header(STRIPE_SECRET, now(), &body)),
            &body,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["data"]["applied"], false, "{}", r.text);
        assert!(r.json["data"]["ignored"].is_string(), "{}", r.text);
    }
    assert_eq!(status().await, "ACTIVE");

    let deleted = stripe_event(
        "evt_6",
        "customer.subscription.deleted",
        now(),
        "cus_ABC123",
        "canceled",
    );
    let r = post_stripe(
        &app,
        Some(&stripe_header(STRIPE_SECRET, now(), &deleted)),
        &deleted,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status().await, "CANCELED");
    assert_eq!(provisioning(&app, &id).await["state"], "releasing");

    // Without a secret the endpoint is off.
    let off = crate::support::app().start().await;
    let r = post_stripe(
        &off,
        Some(&stripe_header(STRIPE_SECRET, now(), &created)),
        &created,
    )
    .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.code(), "STRIPE_WEBHOOK_DISABLED");
}

#[tokio::test]
async fn the_internal_lookup_needs_the_service_key_and_is_not_rate_limited() {
    let app = app()
        .config(|c| {
            c.internal_service_key = Some(SERVICE_KEY.into());
            c.rate_limit_max = Some("3".into());
        })
        .start()
        .await;
    let id = create(
        &app,
        json!({"name": "Lookup Salon", "phoneNumber": "+14155550100"}),
    )
    .await;
    let key = [("X-Service-Key", SERVICE_KEY)];
    for path in [
        "/internal/phone-numbers/lookup/%2B14155550100",
        "/phone-numbers/lookup/%2B14155550100",
        "/phone-numbers/lookup/14155550100",
    ] {
        let r = app.send(Method::GET, path, None, None, &key).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.json["success"], true);
        assert_eq!(r.json["tenantId"], id.as_str(), "where seed 004 reads it");
        assert_eq!(r.json["data"]["tenantId"], id.as_str());
        assert_eq!(r.json["data"]["phoneNumber"], "+14155550100");
        assert_eq!(r.json["data"]["status"], "active");
    }
    let path = "/internal/phone-numbers/lookup/%2B14155550100";
    let r = app
        .send(
            Method::GET,
            path,
            None,
            None,
            &[("X-Service-Key", "wrong-key-0123456789")],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json["success"], false);
    let r = app.send(Method::GET, path, None, None, &[]).await;
    assert_eq!(r.status, 401);
    let r = app
        .send(
            Method::GET,
            "/internal/phone-numbers/lookup/%2B14155550199",
            None,
            None,
            &key,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.json["success"], false);

    // Six lookups went through a limit of three; the tenant API is limited.
    let token = app.token_for(&id).await;
    let mut limited = 0;
    for _ in 0..4 {
        if app
            .tenant_get("/api/telephony/phone-number", &token)
            .await
            .status
            == 429
        {
            limited += 1;
        }
    }
    assert!(limited > 0, "tenant number routes are rate limited");

    let off = crate::support::app().start().await;
    let r = off.send(Method::GET, path, None, None, &key).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.code(), "INTERNAL_API_DISABLED");
}

#[tokio::test]
async fn seed_000_phone_number_and_provision_phone() {
    let app = app().start().await;
    let id = create(&app, json!({"name": "Seed Salon"})).await;
    let token = app.token_for(&id).await;
    let r = app.tenant_get("/api/telephony/phone-number", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["phoneNumber"], Value::Null);
    assert_eq!(r.json["data"]["status"], "none");

    let provision = || {
        app.send(
            Method::POST,
            "/api/telephony/provision-phone",
            Some(&token),
            None,
            &[],
        )
    };
    // Without a live subscription nothing is bought, and nothing is left queued to buy it later.
    let r = provision().await;
    assert_eq!(
        (r.status, r.code()),
        (402, "SUBSCRIPTION_INACTIVE"),
        "{}",
        r.text
    );
    assert!(buys(&app).is_empty());
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.succeeded + ran.retried + ran.dead, 0, "{ran:?}");
    live_without_auto_provisioning(&app, &id).await;

    let r = provision().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"], true);
    let number = r.json["data"]["phoneNumber"].as_str().unwrap().to_string();
    assert_eq!(owned(&app).len(), 1);
    assert_eq!(owned(&app)[0].phone_number, number);
    assert_configured(&app, &buys(&app)[0], &id);
    assert_eq!(tenant(&app, &id).await["phoneNumber"], number.as_str());

    let r = provision().await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["success"], false);
    assert_eq!(
        r.json["error"]["message"],
        "Phone number already provisioned for this tenant"
    );
    let r = app.tenant_get("/api/telephony/phone-number", &token).await;
    assert_eq!(r.json["data"]["phoneNumber"], number.as_str());
    assert_eq!(r.json["data"]["status"], "active");

    // The safety-net job comes due later and finds nothing left to do.
    app.clock.advance_ms(3 * 60_000);
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.succeeded, 1, "{ran:?}");
    assert_eq!(buys(&app).len(), 1);
}

#[tokio::test]
async fn seed_002_search_purchase_and_status() {
    let app = app().start().await;
    let id = create(&app, json!({"name": "VA Agency"})).await;
    let token = app.token_for(&id).await;

    let r = app.tenant_get("/api/twilio/status", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.json["data"];
    assert_eq!(s["configured"], false);
    assert_eq!(s["mode"], "sandbox");
    assert_eq!(s["accountSid"], "AC5a…b0c0");
    assert!(!r.text.contains(DEV_ACCOUNT_SID));
    assert_eq!(s["phoneNumber"], Value::Null);

    let r = app
        .tenant_get("/api/twilio/available-numbers?areaCode=415", &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.json["data"]["numbers"].as_array().unwrap().clone();
    assert!(!list.is_empty());
    assert!(
        list.iter()
            .all(|n| n["phoneNumber"].as_str().unwrap().starts_with("+1415"))
    );
    for bad in ["41", "abc", "4155", ""] {
        let r = app
            .tenant_get(
                &format!("/api/twilio/available-numbers?areaCode={bad}"),
                &token,
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.field(), "areaCode", "{bad}");
    }

    let purchase = |number: &str| {
        app.send(
            Method::POST,
            "/api/twilio/purchase-number",
            Some(&token),
            Some(json!({ "phoneNumber": number })),
            &[],
        )
    };
    // An exact number is no way around the subscription check.
    let r = purchase("+15005550006").await;
    assert_eq!(
        (r.status, r.code()),
        (402, "SUBSCRIPTION_INACTIVE"),
        "{}",
        r.text
    );
    assert!(buys(&app).is_empty());
    live_without_auto_provisioning(&app, &id).await;
    let r = purchase("+15005550000").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "TWILIO_REJECTED");
    assert_eq!(r.field(), "phoneNumber");
    assert!(r.text.contains("21422"), "{}", r.text);
    let r = purchase("not a number").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.field(), "phoneNumber");

    let chosen = list[0]["phoneNumber"].as_str().unwrap();
    let r = purchase(chosen).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["data"]["phoneNumber"], chosen);
    assert_eq!(
        r.json["data"]["voiceUrl"],
        url(&app, "/api/webhooks/twilio/voice").as_str()
    );
    let bought: Vec<_> = buys(&app).into_iter().filter(|r| r.status == 201).collect();
    assert_eq!(bought.len(), 1);
    assert_eq!(bought[0].param("PhoneNumber"), Some(chosen));
    assert_configured(&app, &bought[0], &id);
    assert_eq!(tenant(&app, &id).await["phoneNumber"], chosen);
    assert_eq!(provisioning(&app, &id).await["state"], "active");

    let r = purchase(list[1]["phoneNumber"].as_str().unwrap()).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "ALREADY_PROVISIONED");

    let r = app.tenant_get("/api/twilio/status", &token).await;
    assert_eq!(r.json["data"]["configured"], true);
    assert_eq!(r.json["data"]["phoneNumber"], chosen);
}

#[tokio::test]
async fn repair_repoints_drifted_webhooks_and_leaves_correct_ones_alone() {
    let app = app().start().await;
    let id = create(&app, json!({"name": "Drift Salon"})).await;
    set_subscription(&app, &id, "ACTIVE").await;
    run_pending_jobs(&app.state).await.unwrap();
    let sid = owned(&app)[0].sid.clone();
    let repair_path = format!("/api/admin/tenants/{id}/number/repair");
    let repair = || app.admin(Method::POST, &repair_path, None);

    let r = repair().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["repaired"], false);
    assert!(updates(&app).is_empty(), "nothing drifted, nothing sent");

    // Someone edits the number in the Twilio console.
    app.state
        .twilio
        .client
        .update_number(
            &sid,
            &NumberConfig {
                voice_url: Some("https://old.example/voice".into()),
                sms_method: Some(WebhookMethod::Get),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = repair().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["repaired"], true);
    assert_eq!(r.json["data"]["drift"], json!(["VoiceUrl", "SmsMethod"]));
    let n = &owned(&app)[0];
    assert_eq!(
        n.voice_url.as_deref(),
        Some(url(&app, "/api/webhooks/twilio/voice").as_str())
    );
    assert_eq!(n.sms_method, "POST");
    assert_configured(&app, updates(&app).last().unwrap(), &id);

    let before = updates(&app).len();
    assert_eq!(repair().await.json["data"]["repaired"], false);
    assert_eq!(updates(&app).len(), before);

    let other = create(&app, json!({"name": "No Number"})).await;
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{other}/number/repair"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "NO_PHONE_NUMBER");
}

#[tokio::test]
async fn openapi_describes_the_number_routes() {
    let app = app().start().await;
    let r = app
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    let paths = &r.json["paths"];
    for (path, method) in [
        ("/api/telephony/phone-number", "get"),
        ("/api/telephony/provision-phone", "post"),
        ("/api/twilio/available-numbers", "get"),
        ("/api/twilio/purchase-number", "post"),
        ("/api/twilio/status", "get"),
        ("/api/admin/tenants/{id}/provisioning", "get"),
        ("/api/admin/tenants/{id}/provisioning", "patch"),
        ("/api/admin/tenants/{id}/provisioning/retry", "post"),
        ("/api/admin/tenants/{id}/number/repair", "post"),
        ("/api/webhooks/stripe", "post"),
        ("/internal/phone-numbers/lookup/{phone}", "get"),
        ("/phone-numbers/lookup/{phone}", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    assert_eq!(
        r.json["components"]["securitySchemes"]["serviceKey"]["name"],
        "X-Service-Key"
    );
}

#[test]
fn the_grace_period_setting_is_validated() {
    use switchboard::config::{Config, RawConfig};
    let raw = RawConfig {
        number_release_grace_hours: Some("soon".into()),
        ..Default::default()
    };
    assert_eq!(
        Config::from_raw(&raw).unwrap_err().var,
        "NUMBER_RELEASE_GRACE_HOURS"
    );
    assert_eq!(
        Config::defaults().tenants.number_release_grace.as_secs(),
        72 * 3600
    );
}

/// Runs the binary on a blocking thread: the app it talks to is served by this test's runtime.
async fn switchboard(app: &TestApp, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env = [
        ("DATABASE_URL", app.db_url.clone()),
        ("JWT_SECRET", JWT_SECRET.to_string()),
        ("LOG_LEVEL", "warn".to_string()),
        ("APP_URL", app.base.clone()),
        ("TWILIO_ACCOUNT_SID", DEV_ACCOUNT_SID.to_string()),
        ("TWILIO_AUTH_TOKEN", DEV_AUTH_TOKEN.to_string()),
        (
            "TWILIO_API_BASE_URL",
            format!("{}/twilio-sandbox", app.base),
        ),
    ];
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(&args)
            .env_clear()
            .envs(crate::support::child_env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run switchboard")
    })
    .await
    .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_and_tenant_subscription_commands() {
    let app = app().start().await;
    let id = create(&app, json!({"name": "Cli Salon"})).await;

    let o = switchboard(
        &app,
        &["numbers", "search", "--area-code", "212", "--limit", "3"],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("+1212"), "{}", out(&o));
    assert!(out(&o).contains("3 number(s)"), "{}", out(&o));
    let o = switchboard(&app, &["numbers", "search", "--area-code", "21"]).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("--area-code"), "{}", err(&o));

    let buy_212 = [
        "numbers",
        "buy",
        "--tenant",
        "cli-salon",
        "--area-code",
        "212",
    ];
    let o = switchboard(&app, &buy_212).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("subscription is NONE"), "{}", err(&o));
    live_without_auto_provisioning(&app, &id).await;
    let o = switchboard(&app, &buy_212).await;
    assert!(o.status.success(), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["state"], "active");
    assert_eq!(v["areaCode"], "212");
    let number = v["phoneNumber"].as_str().unwrap().to_string();
    assert!(number.starts_with("+1212"), "{number}");
    assert_configured(&app, &buys(&app)[0], &id);
    let o = switchboard(&app, &["numbers", "buy", "--tenant", "cli-salon"]).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("already provisioned"), "{}", err(&o));

    let o = switchboard(&app, &["numbers", "repair", "--tenant", "cli-salon"]).await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains(" ok"), "{}", out(&o));
    let sid = owned(&app)[0].sid.clone();
    app.state
        .twilio
        .client
        .update_number(
            &sid,
            &NumberConfig {
                status_callback: Some("https://old.example/status".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let o = switchboard(&app, &["numbers", "repair", "--all"]).await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("repaired: StatusCallback"), "{}", out(&o));
    assert_eq!(
        owned(&app)[0].status_callback.as_deref(),
        Some(url(&app, "/api/webhooks/twilio/voice/status").as_str())
    );

    let o = switchboard(&app, &["numbers", "release", "--tenant", "cli-salon"]).await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains(&number), "{}", err(&o));
    assert!(owned(&app).is_empty());
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["state"], "released");
    assert_eq!(v["phoneNumber"], Value::Null);

    let o = switchboard(&app, &["tenant", "subscription", "cli-salon", "active"]).await;
    assert!(o.status.success(), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["tenant"]["subscriptionStatus"], "ACTIVE");
    assert_eq!(v["provisioning"]["state"], "provisioning");
    // The CLI enqueued on the system clock; the test app's manual clock started a little earlier.
    app.clock.advance_ms(60_000);
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(owned(&app).len(), 1, "the server's worker provisions");
    let o = switchboard(&app, &["numbers", "status", "--tenant", "cli-salon"]).await;
    assert!(o.status.success(), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["state"], "active");

    let o = switchboard(&app, &["tenant", "subscription", "cli-salon", "GOLD"]).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("STATUS"), "{}", err(&o));
}
