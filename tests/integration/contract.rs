//! The API contract: JSON bodies read as JSON Schema reads them, and `/openapi.json` describing
//! exactly what the server does (valid OpenAPI 3.1 shape, every status it answers, its constraints).

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn integral_numbers_with_a_fraction_are_integers() {
    let app = app().start().await;
    let t = app.create_tenant(json!({ "name": "Acme" })).await;
    let id = t["id"].as_str().unwrap();
    let path = format!("/api/admin/tenants/{id}/tokens");

    // JSON Schema counts 100001.0 as an integer: accepted, as 100001.
    let r = app
        .admin(Method::POST, &path, Some(json!({ "ttlSeconds": 100001.0 })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let now = app.clock.now_ms() / 1000;
    let expires = r.json["data"]["expiresAt"].as_str().unwrap();
    let expires: jiff::Timestamp = expires.parse().unwrap();
    assert_eq!(expires.as_second() - now, 100_001, "{}", r.text);

    // A fraction is not an integer: 400 naming the field, nothing issued.
    let r = app
        .admin(Method::POST, &path, Some(json!({ "ttlSeconds": 100001.5 })))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "VALIDATION_ERROR");
    assert_eq!(r.field(), "ttlSeconds");
    assert!(r.text.contains("integer"), "{}", r.text);

    // Also inside nested objects (staff priority).
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id}/staff"),
            Some(json!({ "name": "Ann", "phone": "+14155550101", "priority": 2.0 })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["data"]["priority"], 2);
}

#[tokio::test]
async fn arrays_are_refused_where_an_object_is_expected() {
    let app = app().start().await;
    let t = app.create_tenant(json!({ "name": "Acme" })).await;
    let id = t["id"].as_str().unwrap();
    let before = app
        .admin(Method::GET, &format!("/api/admin/tenants/{id}"), None)
        .await;

    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{id}"),
            Some(json!({ "templates": ["a", "b"] })),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "VALIDATION_ERROR");
    assert_eq!(r.field(), "templates");
    assert!(r.text.contains("object"), "{}", r.text);

    // Nothing was written: the templates are as they were.
    let after = app
        .admin(Method::GET, &format!("/api/admin/tenants/{id}"), None)
        .await;
    assert_eq!(
        after.json["data"]["templates"], before.json["data"]["templates"],
        "{}",
        after.text
    );

    // Nested, on create too: business hours given as an array of days.
    let r = app
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(
                json!({ "name": "Beta", "businessHours": [[{"open": "09:00", "close": "17:00"}]] }),
            ),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.field(), "businessHours");

    // A whole body that is an array is refused, not read by position.
    let r = app
        .admin(Method::POST, "/api/admin/tenants", Some(json!(["Gamma"])))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let list = app.admin(Method::GET, "/api/admin/tenants", None).await;
    assert_eq!(list.json["data"]["total"], 1, "{}", list.text);
}
