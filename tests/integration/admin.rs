//! The admin API: CRUD, validation errors naming the field, nothing written on bad input.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, app};

async fn tenant_count(app: &TestApp) -> i64 {
    app.admin(Method::GET, "/api/admin/tenants", None)
        .await
        .json["data"]["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn tenant_crud_round_trip() {
    let app = app().start().await;
    let t = app
        .create_tenant(json!({
            "name": "Bella Salon",
            "timeZone": "America/New_York",
            "phoneNumber": "+1 (415) 555-0100",
            "subscriptionStatus": "trialing",
            "businessHours": {"monday": [{"open": "09:00", "close": "17:00"}], "saturday": [{"open": "22:00", "close": "02:00"}], "holidays": ["2026-12-25"]},
            "routingPolicy": {"strategy": "forward", "staffOrder": "round_robin", "dialTimeoutSecs": 25},
            "templates": {"smsAutoReply": "Thanks for texting {name}!"}
        }))
        .await;
    assert_eq!(t["slug"], "bella-salon");
    assert_eq!(
        t["phoneNumber"], "+14155550100",
        "numbers are normalised to E.164"
    );
    assert_eq!(t["subscriptionStatus"], "TRIALING");
    assert_eq!(t["businessHours"]["saturday"][0]["close"], "02:00");
    assert_eq!(t["routingPolicy"]["staffOrder"], "round_robin");
    assert_eq!(
        t["routingPolicy"]["afterHoursStrategy"], "voicemail",
        "defaults fill the rest"
    );
    let id = t["id"].as_str().unwrap();

    let r = app
        .admin(Method::GET, &format!("/api/admin/tenants/{id}"), None)
        .await;
    assert_eq!(r.json["data"], t);

    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{id}"),
            Some(json!({"name": "Bella & Co", "phoneNumber": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["name"], "Bella & Co");
    assert_eq!(r.json["data"]["phoneNumber"], Value::Null);
    assert_eq!(
        r.json["data"]["timeZone"], "America/New_York",
        "absent fields stay"
    );

    let r = app
        .admin(
            Method::PUT,
            &format!("/api/admin/tenants/{id}/subscription"),
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!(r.json["data"]["subscriptionStatus"], "ACTIVE");

    let r = app
        .admin(Method::GET, "/api/admin/tenants?limit=1&offset=0", None)
        .await;
    assert_eq!(r.json["data"]["total"], 1);
    assert_eq!(r.json["data"]["tenants"].as_array().unwrap().len(), 1);

    assert_eq!(
        app.admin(Method::DELETE, &format!("/api/admin/tenants/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.admin(Method::GET, &format!("/api/admin/tenants/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        app.admin(Method::DELETE, &format!("/api/admin/tenants/{id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn bad_tenant_input_names_the_field_and_writes_nothing() {
    let app = app().start().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": 42}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (
            json!({"name": "A", "phoneNumber": "555-0100"}),
            "phoneNumber",
        ),
        (
            json!({"name": "A", "phoneNumber": "+1415555010"}),
            "phoneNumber",
        ),
        (json!({"name": "A", "timeZone": "Mars/Olympus"}), "timeZone"),
        (
            json!({"name": "A", "slug": "Robert'); DROP TABLE tenants;--"}),
            "slug",
        ),
        (
            json!({"name": "A", "subscriptionStatus": "GOLD"}),
            "subscriptionStatus",
        ),
        (
            json!({"name": "A", "businessHours": {"monday": [{"open": "9am", "close": "17:00"}]}}),
            "businessHours.monday[0].open",
        ),
        (
            json!({"name": "A", "businessHours": {"funday": []}}),
            "businessHours.funday",
        ),
        (
            json!({"name": "A", "routingPolicy": {"stratgy": "voicemail"}}),
            "routingPolicy.stratgy",
        ),
        (
            json!({"name": "A", "routingPolicy": {"strategy": "teleport"}}),
            "routingPolicy.strategy",
        ),
        (
            json!({"name": "A", "routingPolicy": {"strategy": "forward_external"}}),
            "routingPolicy.externalNumber",
        ),
        (
            json!({"name": "A", "routingPolicy": {"dialTimeoutSecs": 1}}),
            "routingPolicy.dialTimeoutSecs",
        ),
        (
            json!({"name": "A", "templates": {"smsAutoReply": "x".repeat(1601)}}),
            "templates.smsAutoReply",
        ),
        (
            json!({"name": "A", "phoneNumberSid": "PN123"}),
            "phoneNumberSid",
        ),
        (json!({"name": "A", "unknownThing": true}), "unknownThing"),
    ];
    for (body, field) in cases {
        let r = app
            .admin(Method::POST, "/api/admin/tenants", Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body} → {}", r.text);
        assert_eq!(r.json["success"], false);
        assert_eq!(r.code(), "VALIDATION_ERROR", "{body}");
        assert_eq!(r.field(), field, "{body} → {}", r.text);
    }
    assert_eq!(tenant_count(&app).await, 0, "no partial writes");
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_4xx() {
    let app = app().start().await;
    let res = app
        .client
        .post(format!("{}/api/admin/tenants", app.base))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_JSON");
    let res = app
        .client
        .post(format!("{}/api/admin/tenants", app.base))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let r = app
        .admin(Method::GET, "/api/admin/tenants?limit=abc", None)
        .await;
    assert_eq!((r.status, r.field()), (400, "limit"));
    let r = app
        .admin(Method::GET, "/api/admin/tenants?limit=100000", None)
        .await;
    assert_eq!((r.status, r.field()), (400, "limit"));
}

#[tokio::test]
async fn sql_metacharacters_are_just_text() {
    let app = app().start().await;
    let name = "Robert'); DROP TABLE tenants;-- \"quoted\" %_ \\";
    let t = app
        .create_tenant(json!({"name": name, "slug": "bobby"}))
        .await;
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{}", t["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.json["data"]["name"], name);
    // An id full of SQL is simply not found.
    let r = app
        .admin(Method::GET, "/api/admin/tenants/'%20OR%20'1'='1", None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(tenant_count(&app).await, 1);
}

#[tokio::test]
async fn duplicates_are_409_naming_the_field() {
    let app = app().start().await;
    app.create_tenant(json!({"name": "A", "phoneNumber": "+14155550100", "slug": "a"}))
        .await;
    let r = app
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(json!({"name": "B", "phoneNumber": "+14155550100"})),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (409, "CONFLICT", "phoneNumber"),
        "{}",
        r.text
    );
    let r = app
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(json!({"name": "B", "slug": "a"})),
        )
        .await;
    assert_eq!((r.status, r.field()), (409, "slug"));
    assert_eq!(tenant_count(&app).await, 1);
}

#[tokio::test]
async fn staff_crud_and_validation() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "A"})).await;
    let id = t["id"].as_str().unwrap();
    let base = format!("/api/admin/tenants/{id}/staff");
    let r = app
        .admin(
            Method::POST,
            &base,
            Some(json!({"name": "Ann", "phone": "+14155550101", "role": "owner", "priority": 2})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ann = r.json["data"]["id"].as_str().unwrap().to_string();
    app.admin(
        Method::POST,
        &base,
        Some(json!({"name": "Bob", "phone": "+14155550102", "priority": 1})),
    )
    .await;
    let list = app.admin(Method::GET, &base, None).await;
    let names: Vec<_> = list.json["data"]["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Bob", "Ann"], "dialling order is by priority");

    for (body, field) in [
        (json!({"name": "C", "phone": "12345"}), "phone"),
        (json!({"name": "C"}), "phone"),
        (
            json!({"name": "C", "phone": "+14155550103", "priority": 5000}),
            "priority",
        ),
        (
            json!({"name": "C", "phone": "+14155550103", "email": "nope"}),
            "email",
        ),
        (
            json!({"name": "C", "phone": "+14155550103", "onDuty": "yes"}),
            "onDuty",
        ),
    ] {
        let r = app.admin(Method::POST, &base, Some(body.clone())).await;
        assert_eq!((r.status, r.field()), (400, field), "{body}: {}", r.text);
    }
    let r = app
        .admin(
            Method::PATCH,
            &format!("{base}/{ann}"),
            Some(json!({"onDuty": false, "email": "ann@example.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["onDuty"], false);
    assert_eq!(
        app.admin(Method::DELETE, &format!("{base}/{ann}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.admin(Method::GET, &base, None).await.json["data"]["staff"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Unknown tenant.
    assert_eq!(
        app.admin(
            Method::POST,
            "/api/admin/tenants/nope/staff",
            Some(json!({"name": "C", "phone": "+14155550103"}))
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn token_ttl_is_validated() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "A"})).await;
    let path = format!("/api/admin/tenants/{}/tokens", t["id"].as_str().unwrap());
    let r = app
        .admin(Method::POST, &path, Some(json!({"ttlSeconds": 5})))
        .await;
    assert_eq!((r.status, r.field()), (400, "ttlSeconds"));
    let r = app
        .admin(Method::POST, "/api/admin/tenants/nope/tokens", None)
        .await;
    assert_eq!(r.status, 404);
}
