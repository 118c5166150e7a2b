//! The API contract: JSON bodies read as JSON Schema reads them, and `/openapi.json` describing
//! exactly what the server does (valid OpenAPI 3.1 shape, every status it answers, its constraints).

use reqwest::Method;
use serde_json::{Value, json};

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
/// The served document, fetched without credentials.
async fn document(app: &TestApp) -> Value {
    let r = app
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(r.status, 200);
    r.json
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

/// Every `$ref` in `v`, for checking that each names a component.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_document_is_well_formed() {
    let app = app().start().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = std::collections::HashSet::new();
    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_default().to_string();
        assert!(!id.is_empty(), "{at}: no operationId");
        assert!(
            ids.insert(id.clone()),
            "{at}: operationId {id} is not unique"
        );

        // Path parameters are exactly the template's variables; everything else is a query/header.
        let mut declared = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            let place = p["in"].as_str().unwrap();
            assert!(
                ["path", "query", "header", "cookie"].contains(&place),
                "{at}: {name} in {place}"
            );
            if place == "path" {
                assert!(
                    path.contains(&format!("{{{name}}}")),
                    "{at}: {name} is declared in: path but is not in the path template"
                );
                assert_eq!(p["required"], true, "{at}: path parameter {name}");
                declared.push(name.to_string());
            }
        }
        for var in path.split('{').skip(1) {
            let var = var.split('}').next().unwrap();
            assert!(
                declared.iter().any(|d| d == var),
                "{at}: {{{var}}} is not declared"
            );
        }

        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{at}: no responses");
        for (status, r) in responses {
            let d = r["description"].as_str().unwrap_or_default();
            assert!(
                !d.trim().is_empty(),
                "{at} {status}: response has no description"
            );
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").expect(r);
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is not defined"
        );
    }
}

/// The statuses that come from authentication, the body reader and the rate limit are documented
/// on every operation that can answer them.
#[tokio::test]
async fn openapi_documents_the_cross_cutting_statuses() {
    let app = app().start().await;
    let doc = document(&app).await;
    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        let has = |status: &str| op["responses"][status].is_object();
        let security = op["security"].to_string();
        if security.contains("\"admin\"") {
            assert!(has("401") && has("403"), "{at}: admin auth statuses");
        }
        if security.contains("\"tenant\"") || security.contains("\"serviceKey\"") {
            assert!(has("401"), "{at}: 401");
        }
        if security.contains("\"serviceKey\"") {
            assert!(has("503"), "{at}: 503 when INTERNAL_SERVICE_KEY is unset");
        }
        let body = &op["requestBody"];
        if body.is_object() {
            assert!(has("413"), "{at}: 413");
            if body["required"] == true && path != "/api/webhooks/stripe" {
                assert!(has("415"), "{at}: 415");
            }
        }
        let limited = [
            "/api/admin/",
            "/api/telephony/",
            "/api/twilio/",
            "/internal/",
            "/phone-numbers/",
        ]
        .iter()
        .any(|p| path.starts_with(p));
        assert_eq!(
            has("429"),
            limited,
            "{at}: 429 exactly where a rate limit applies (the internal API has its own)"
        );
        if limited {
            assert!(
                op["responses"]["429"]["headers"]["Retry-After"].is_object(),
                "{at}: Retry-After"
            );
        }
    }
    assert!(doc["paths"]["/api/webhooks/stripe"]["post"]["responses"]["503"].is_object());
}

/// Called without credentials, and with credentials but no body, every operation answers a status
/// that its description lists.
#[tokio::test]
async fn every_operation_answers_only_documented_statuses_to_bare_requests() {
    let app = app().start().await;
    let t = app.create_tenant(json!({ "name": "Acme" })).await;
    let token = app.token_for(t["id"].as_str().unwrap()).await;
    let doc = document(&app).await;
    for (method, path, op) in operations(&doc) {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let security = op["security"].to_string();
        let mut tries = vec![("no credentials", None)];
        if security.contains("\"admin\"") {
            tries.push(("admin token, no body", Some(ADMIN_TOKEN)));
        } else if security.contains("\"tenant\"") {
            tries.push(("tenant token, no body", Some(token.as_str())));
        }
        for (what, bearer) in tries {
            let r = app.send(m.clone(), &concrete, bearer, None, &[]).await;
            assert!(
                op["responses"][r.status.to_string()].is_object(),
                "{method} {path} with {what} answered an undocumented {}: {}",
                r.status,
                r.text
            );
        }
    }
}

#[tokio::test]
async fn duplicate_numbers_and_slugs_answer_the_documented_409() {
    let app = app().start().await;
    app.create_tenant(json!({ "name": "Acme", "phoneNumber": "+14155550100" }))
        .await;
    let b = app.create_tenant(json!({ "name": "Beta" })).await;
    let r = app
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(json!({ "name": "Gamma", "phoneNumber": "+14155550100" })),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.field(), "phoneNumber");
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{}", b["id"].as_str().unwrap()),
            Some(json!({ "phoneNumber": "+14155550100" })),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.field(), "phoneNumber");
    let doc = document(&app).await;
    for method in ["post", "patch"] {
        let path = if method == "post" {
            "/api/admin/tenants"
        } else {
            "/api/admin/tenants/{id}"
        };
        assert!(
            doc["paths"][path][method]["responses"]["409"].is_object(),
            "{method} {path}: 409"
        );
    }
}
