//! The messaging history APIs: seed 000's notification listing, seed 003's SMS history, and
//! conversations with their threads; filters, paging, 400s naming the field, and tenant isolation.
//! Messages arrive through the signed inbound webhook; notifications are queued as features queue them.

use serde_json::{Value, json};
use switchboard::db;
use switchboard::domain::E164;
use switchboard::messaging::inbound::DEFAULT_AUTO_REPLY;
use switchboard::messaging::notifications::{NewSms, NotificationKind, queue_now};
use switchboard_twilio::simulator::SmsScript;

use crate::support::{Resp, TestApp, app};
use crate::voice::{NUMBER, simulator};

const ANNA: &str = "+14155550142";
const BEN: &str = "+14155550143";
/// The second tenant's number.
const OTHER_NUMBER: &str = "+14155550100";

/// Bella Salon at [`NUMBER`] and Other Shop at [`OTHER_NUMBER`]: (salon id, salon token, other token).
async fn two_tenants(app: &TestApp) -> (String, String, String) {
    let salon = app
        .create_tenant(
            json!({"name": "Bella Salon", "timeZone": "America/New_York", "phoneNumber": NUMBER}),
        )
        .await;
    let other = app
        .create_tenant(
            json!({"name": "Other Shop", "timeZone": "UTC", "phoneNumber": OTHER_NUMBER}),
        )
        .await;
    let id = salon["id"].as_str().unwrap().to_string();
    let token = app.token_for(&id).await;
    let other_token = app.token_for(other["id"].as_str().unwrap()).await;
    (id, token, other_token)
}

/// `from` texts `body` to `to` through the simulator, one second after the previous event.
async fn text(app: &TestApp, from: &str, to: &str, body: &str) {
    app.clock.advance_ms(1000);
    let t = simulator(app)
        .run_sms(&SmsScript::new(from, to, body))
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
}

fn assert_invalid(r: &Resp, field: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "VALIDATION_ERROR", "{}", r.text);
    assert_eq!(r.field(), field, "{}", r.text);
}

fn bodies(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

// --- notifications -----------------------------------------------------------------------------

/// Queues an SMS notification for `tenant_id` and moves it to `status`.
async fn notification(
    app: &TestApp,
    tenant_id: &str,
    to: &str,
    text: &str,
    status: &str,
) -> String {
    app.clock.advance_ms(1000);
    let q = queue_now(
        &app.state,
        NewSms::new(
            tenant_id,
            NotificationKind::Api,
            E164::parse("to", to).unwrap(),
            text,
        ),
    )
    .await
    .unwrap();
    let mut n = q.notification;
    if status != "QUEUED" {
        n.status = status.parse().unwrap();
        db::notifications::save_alone(&app.state.db, &n)
            .await
            .unwrap();
    }
    n.id
}

/// Stores an EMAIL notification (no feature queues one yet) by copying an SMS one.
async fn email(app: &TestApp, tenant_id: &str) -> String {
    let sms_id = notification(app, tenant_id, ANNA, "template", "QUEUED").await;
    let mut n = db::notifications::get(&app.state.db, &sms_id)
        .await
        .unwrap()
        .unwrap();
    app.clock.advance_ms(1000);
    n.id = switchboard::domain::new_id();
    n.r#type = "EMAIL".into();
    n.recipient = "anna@example.com".into();
    n.message = "Your appointment is confirmed".into();
    n.status = "SENT".parse().unwrap();
    n.idempotency_key = None;
    n.created_at = app.clock.now_ms();
    let mut tx = app.state.db.begin().await.unwrap();
    assert!(db::notifications::insert(&mut tx, &n).await.unwrap());
    tx.commit().await.unwrap();
    n.id
}

async fn notifs(app: &TestApp, token: &str, query: &str) -> Resp {
    app.tenant_get(&format!("/api/telephony/notifications{query}"), token)
        .await
}

fn ids(r: &Resp) -> Vec<String> {
    r.json["data"]["notifications"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn notifications_are_listed_newest_first_filtered_and_paged() {
    let app = app().start().await;
    let (id, token, other_token) = two_tenants(&app).await;
    let queued = notification(&app, &id, ANNA, "Reminder: tomorrow at 10", "QUEUED").await;
    let failed = notification(&app, &id, BEN, "Your appointment moved", "FAILED").await;
    let delivered = notification(&app, &id, ANNA, "See you soon", "DELIVERED").await;
    let mail = email(&app, &id).await;
    // `email` stores its template SMS first: it is QUEUED and just before the e-mail.
    let r = app.tenant_get("/api/telephony/notifications", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"], true);
    let all = ids(&r);
    assert_eq!(all.len(), 5);
    assert_eq!(&all[0], &mail);
    assert_eq!(
        &all[2..],
        [delivered.clone(), failed.clone(), queued.clone()]
    );
    assert_eq!(r.json["data"]["total"], 5);
    assert_eq!(r.json["data"]["limit"], 50);
    assert_eq!(r.json["data"]["offset"], 0);
    let first = &r.json["data"]["notifications"][4];
    assert_eq!(first["type"], "SMS");
    assert_eq!(first["recipient"], ANNA);
    assert_eq!(first["message"], "Reminder: tomorrow at 10");
    assert_eq!(first["status"], "QUEUED");
    assert_eq!(first["tenantId"], id.as_str());

    let r = notifs(&app, &token, "?type=email").await;
    assert_eq!(ids(&r), [mail.as_str()]);
    assert_eq!(r.json["data"]["total"], 1);
    assert_eq!(ids(&notifs(&app, &token, "?type=SMS").await).len(), 4);
    assert_eq!(
        ids(&notifs(&app, &token, "?status=failed").await),
        [failed.as_str()]
    );
    assert_eq!(
        ids(&notifs(&app, &token, "?status=Delivered&type=sms").await),
        [delivered.as_str()]
    );
    assert_eq!(
        ids(&notifs(&app, &token, "?status=SENT&type=SMS").await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&notifs(&app, &token, "?status=SENT").await),
        [mail.as_str()]
    );
    assert_eq!(
        ids(&notifs(&app, &token, "?status=&type=").await).len(),
        5,
        "blank filters are absent"
    );

    let r = notifs(&app, &token, "?limit=2&offset=2").await;
    assert_eq!(ids(&r), [delivered, failed]);
    assert_eq!(r.json["data"]["total"], 5);
    assert_eq!(
        (
            r.json["data"]["limit"].as_i64(),
            r.json["data"]["offset"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(
        notifs(&app, &token, "?limit=1000").await.json["data"]["limit"],
        100,
        "clamped"
    );

    // Another tenant sees none of them.
    let r = app
        .tenant_get("/api/telephony/notifications", &other_token)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r), Vec::<String>::new());
    assert_eq!(r.json["data"]["total"], 0);
}

#[tokio::test]
async fn bad_notification_queries_are_400s_naming_the_field() {
    let app = app().start().await;
    let (_, token, _) = two_tenants(&app).await;
    for (q, field) in [
        ("?type=FAX", "type"),
        ("?status=LOST", "status"),
        ("?status=received", "status"),
        ("?limit=0", "limit"),
        ("?limit=ten", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=x", "offset"),
    ] {
        let r = app
            .tenant_get(&format!("/api/telephony/notifications{q}"), &token)
            .await;
        assert_invalid(&r, field);
    }
    let r = app
        .send(
            reqwest::Method::GET,
            "/api/telephony/notifications",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
}

// --- seed 003's SMS history --------------------------------------------------------------------

#[tokio::test]
async fn sms_history_has_seed_003_shape_newest_first_by_number() {
    let app = app().start().await;
    let (_, token, other_token) = two_tenants(&app).await;
    text(&app, ANNA, NUMBER, "first from Anna").await;
    text(&app, BEN, NUMBER, "hello from Ben").await;
    text(&app, ANNA, OTHER_NUMBER, "Anna to the other shop").await;

    // Seed 003 asks with the business number: every message of the tenant, newest first.
    let r = app
        .tenant_get(
            "/api/twilio/sms?phoneNumber=%2B15005550006&limit=50",
            &token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"], true);
    assert_eq!(
        bodies(&r.json["data"]),
        [
            DEFAULT_AUTO_REPLY,
            "hello from Ben",
            DEFAULT_AUTO_REPLY,
            "first from Anna"
        ]
    );
    let m = &r.json["data"][1];
    let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "body",
            "createdAt",
            "direction",
            "errorCode",
            "from",
            "id",
            "mediaUrls",
            "messageSid",
            "numMedia",
            "segments",
            "status",
            "to"
        ]
    );
    assert_eq!(m["direction"], "inbound");
    assert_eq!(
        (m["from"].as_str(), m["to"].as_str()),
        (Some(BEN), Some(NUMBER))
    );
    assert_eq!(m["status"], "received");
    assert!(m["messageSid"].as_str().unwrap().starts_with("SM"));
    assert_eq!(
        (m["numMedia"].as_i64(), m["segments"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(m["mediaUrls"], json!([]));
    assert!(m["errorCode"].is_null());
    assert!(m["createdAt"].as_str().unwrap().ends_with('Z'));
    let reply = &r.json["data"][0];
    assert_eq!(reply["direction"], "outbound");
    assert_eq!(
        (reply["from"].as_str(), reply["to"].as_str()),
        (Some(NUMBER), Some(BEN))
    );

    // A customer's number: that conversation only; an unencoded `+` (a space) is still a `+`.
    let r = app
        .tenant_get("/api/twilio/sms?phoneNumber=+14155550142", &token)
        .await;
    assert_eq!(
        bodies(&r.json["data"]),
        [DEFAULT_AUTO_REPLY, "first from Anna"]
    );
    let r = app.tenant_get("/api/twilio/sms?limit=1", &token).await;
    assert_eq!(bodies(&r.json["data"]), [DEFAULT_AUTO_REPLY]);

    // The other tenant's history holds only its own text, whatever number is asked for.
    let r = app
        .tenant_get("/api/twilio/sms?phoneNumber=%2B14155550143", &other_token)
        .await;
    assert_eq!(r.json["data"], json!([]));
    let r = app.tenant_get("/api/twilio/sms", &other_token).await;
    assert_eq!(
        bodies(&r.json["data"]),
        [DEFAULT_AUTO_REPLY, "Anna to the other shop"]
    );

    for (q, field) in [
        ("?phoneNumber=12345", "phoneNumber"),
        ("?phoneNumber=%2B1415", "phoneNumber"),
        ("?limit=0", "limit"),
    ] {
        assert_invalid(
            &app.tenant_get(&format!("/api/twilio/sms{q}"), &token).await,
            field,
        );
    }
    let r = app
        .send(reqwest::Method::GET, "/api/twilio/sms", None, None, &[])
        .await;
    assert_eq!(r.status, 401, "GET is the tenant API, not the webhook");
}

// --- conversations -----------------------------------------------------------------------------

#[tokio::test]
async fn conversations_list_one_entry_per_customer_with_counts() {
    let app = app().start().await;
    let (_, token, other_token) = two_tenants(&app).await;
    text(&app, ANNA, NUMBER, "Anna 1").await;
    text(&app, BEN, NUMBER, "Ben 1").await;
    text(&app, ANNA, NUMBER, "STOP").await;
    // Opted out: stored, not answered, so Anna's last message is her own.
    text(&app, ANNA, NUMBER, "Anna 3").await;
    text(&app, BEN, OTHER_NUMBER, "Ben to the other shop").await;

    let r = app.tenant_get("/api/telephony/conversations", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let data = &r.json["data"];
    assert_eq!(
        (
            data["total"].as_i64(),
            data["limit"].as_i64(),
            data["offset"].as_i64()
        ),
        (Some(2), Some(50), Some(0))
    );
    let convs = data["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 2);
    let anna = &convs[0];
    assert_eq!(anna["phone"], ANNA, "newest activity first");
    assert_eq!(anna["lastMessage"]["body"], "Anna 3");
    assert_eq!(anna["lastDirection"], "inbound");
    assert_eq!(anna["lastMessageAt"], anna["lastMessage"]["createdAt"]);
    // Anna 1 + its reply, STOP + its confirmation, Anna 3.
    assert_eq!(
        (
            anna["inboundCount"].as_i64(),
            anna["outboundCount"].as_i64(),
            anna["totalCount"].as_i64()
        ),
        (Some(3), Some(2), Some(5))
    );
    let ben = &convs[1];
    assert_eq!(ben["phone"], BEN);
    assert_eq!(ben["lastMessage"]["body"], DEFAULT_AUTO_REPLY);
    assert_eq!(ben["lastDirection"], "outbound");
    assert_eq!(
        (
            ben["inboundCount"].as_i64(),
            ben["outboundCount"].as_i64(),
            ben["totalCount"].as_i64()
        ),
        (Some(1), Some(1), Some(2))
    );

    let r = app
        .tenant_get("/api/telephony/conversations?limit=1&offset=1", &token)
        .await;
    let convs = r.json["data"]["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["phone"], BEN);
    assert_eq!(r.json["data"]["total"], 2);

    // The other tenant has Ben's one text to it, and nothing of Anna.
    let r = app
        .tenant_get("/api/telephony/conversations", &other_token)
        .await;
    let convs = r.json["data"]["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["phone"], BEN);
    assert_eq!(convs[0]["totalCount"], 2);

    for (q, field) in [("?limit=0", "limit"), ("?offset=-3", "offset")] {
        assert_invalid(
            &app.tenant_get(&format!("/api/telephony/conversations{q}"), &token)
                .await,
            field,
        );
    }
}

#[tokio::test]
async fn a_thread_is_newest_first_paged_validated_and_tenant_scoped() {
    let app = app().start().await;
    let (_, token, other_token) = two_tenants(&app).await;
    text(&app, ANNA, NUMBER, "Anna 1").await;
    text(&app, BEN, NUMBER, "Ben 1").await;
    text(&app, ANNA, NUMBER, "Anna 2").await;

    let r = app
        .tenant_get("/api/telephony/conversations/%2B14155550142", &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let data = &r.json["data"];
    assert_eq!(data["phone"], ANNA);
    assert_eq!(data["total"], 4);
    assert_eq!(
        bodies(&data["messages"]),
        [DEFAULT_AUTO_REPLY, "Anna 2", DEFAULT_AUTO_REPLY, "Anna 1"]
    );
    let directions: Vec<&str> = data["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["outbound", "inbound", "outbound", "inbound"]);

    // A literal `+` in the path works too; pages walk back in time.
    let r = app
        .tenant_get(
            "/api/telephony/conversations/+14155550142?limit=2&offset=2",
            &token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        bodies(&r.json["data"]["messages"]),
        [DEFAULT_AUTO_REPLY, "Anna 1"]
    );
    assert_eq!(
        (
            r.json["data"]["total"].as_i64(),
            r.json["data"]["limit"].as_i64(),
            r.json["data"]["offset"].as_i64()
        ),
        (Some(4), Some(2), Some(2))
    );

    for bad in ["14155550142", "%2B1415", "anna", "%2B1415555014x"] {
        let r = app
            .tenant_get(&format!("/api/telephony/conversations/{bad}"), &token)
            .await;
        assert_invalid(&r, "phone");
    }
    let r = app
        .tenant_get(
            "/api/telephony/conversations/%2B14155550142?limit=-1",
            &token,
        )
        .await;
    assert_invalid(&r, "limit");

    // Nobody texted from this number: no such conversation.
    let r = app
        .tenant_get("/api/telephony/conversations/%2B14155550199", &token)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    // Another tenant's conversation does not exist for this one.
    let r = app
        .tenant_get("/api/telephony/conversations/%2B14155550142", &other_token)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "NOT_FOUND");
}

#[tokio::test]
async fn history_routes_are_in_the_openapi_document_and_need_auth() {
    let app = app().start().await;
    let r = app
        .send(reqwest::Method::GET, "/openapi.json", None, None, &[])
        .await;
    let paths = &r.json["paths"];
    for p in [
        "/api/telephony/notifications",
        "/api/twilio/sms",
        "/api/telephony/conversations",
        "/api/telephony/conversations/{phone}",
    ] {
        assert!(paths[p]["get"].is_object(), "{p} in /openapi.json");
        let r = app
            .send(
                reqwest::Method::GET,
                &p.replace("{phone}", "%2B14155550142"),
                None,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 401, "{p}");
    }
    assert!(
        paths["/api/twilio/sms"]["post"].is_null(),
        "the webhook POST stays out of the document"
    );
    let names: Vec<&str> = paths["/api/telephony/notifications"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["type", "status", "limit", "offset"]);
}
