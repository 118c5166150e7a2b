//! URLs a tenant chooses and Switchboard itself requests (relay endpoints with a tenant, the AI
//! provider) must lead to public destinations: refused when saved through the admin API and the
//! console, and again when the request is made (a row saved before the check, a name re-pointed
//! later). The operator's own endpoints go anywhere, and `ALLOW_PRIVATE_DESTINATIONS` lifts it all.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::db;
use switchboard::db::events::Endpoint;
use switchboard::jobs::worker::run_pending_jobs;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::console_settings::{business, field_error, tenant_id};
use crate::events::quick;
use crate::support::TestApp;

async fn add_endpoint(app: &TestApp, body: Value) -> crate::support::Resp {
    app.admin(Method::POST, "/api/admin/relay-endpoints", Some(body))
        .await
}

async fn stored_endpoints(app: &TestApp, tenant: Option<&str>) -> Vec<Endpoint> {
    db::events::list_endpoints(&app.state.db, tenant)
        .await
        .unwrap()
}

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn tenant_endpoints_must_be_public_https_destinations_and_the_operators_need_not() {
    let app = quick()
        .config(|c| {
            c.app_url = Some("https://switchboard.example".into());
            c.app_url_aliases = Some("https://old-switchboard.example".into());
        })
        .start()
        .await;
    let tenant = tenant_id(&app, json!({"name": "Bella"})).await;
    let local = receiver().await;
    let port = local.address().port();
    for (url, why) in [
        (
            format!("http://127.0.0.1:{port}/hook"),
            "url: must be an https:// URL".to_string(),
        ),
        (
            format!("https://127.0.0.1:{port}/hook"),
            "url: must not point at a loopback address (127.0.0.1)".into(),
        ),
        (
            "https://2130706433/hook".into(),
            "url: must not point at a loopback address (127.0.0.1)".into(),
        ),
        (
            "https://10.0.0.1/hook".into(),
            "url: must not point at a private address (10.0.0.1)".into(),
        ),
        (
            "https://[::ffff:169.254.169.254]/latest/meta-data/".into(),
            "url: must not point at a link-local address (::ffff:169.254.169.254, which is 169.254.169.254)".into(),
        ),
        (
            "https://localhost/hook".into(),
            "url: must not point at a local or private-use name (localhost)".into(),
        ),
        (
            "https://switchboard.example/api/admin/tenants".into(),
            "url: must not point at this Switchboard deployment (switchboard.example)".into(),
        ),
        (
            "https://OLD-Switchboard.example./hook".into(),
            "url: must not point at this Switchboard deployment (old-switchboard.example)".into(),
        ),
    ] {
        let r = add_endpoint(&app, json!({"url": url, "tenantId": tenant})).await;
        assert_eq!((r.status, r.field()), (400, "url"), "{url}: {}", r.text);
        let message = r.json["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(&why), "{url}: {}", r.text);
    }
    assert!(
        stored_endpoints(&app, None).await.is_empty(),
        "nothing stored"
    );

    // A public name is the tenant's to choose (what it resolves to is checked when sending).
    let r = add_endpoint(
        &app,
        json!({"url": "https://hooks.example.com/in", "tenantId": tenant}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let theirs = r.json["data"]["id"].as_str().unwrap().to_string();
    // Changing its URL is checked the same way; turning it off is not refused.
    let patch = |body: Value| {
        let app = &app;
        let path = format!("/api/admin/relay-endpoints/{theirs}");
        async move { app.admin(Method::PATCH, &path, Some(body)).await }
    };
    let r = patch(json!({"url": "https://192.168.1.10/in"})).await;
    assert_eq!((r.status, r.field()), (400, "url"), "{}", r.text);
    let r = patch(json!({"enabled": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        stored_endpoints(&app, Some(&tenant)).await[0].url,
        "https://hooks.example.com/in"
    );

    // The operator's global endpoint may point at this machine, and be moved anywhere.
    let r = add_endpoint(
        &app,
        json!({"url": format!("http://127.0.0.1:{port}/global")}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let global = r.json["data"]["id"].as_str().unwrap();
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/relay-endpoints/{global}"),
            Some(json!({"url": "http://localhost:8080/global"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The operator may allow private destinations for every tenant.
    let open = quick().private_destinations().start().await;
    let tenant = tenant_id(&open, json!({"name": "Bella"})).await;
    let r = add_endpoint(
        &open,
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "tenantId": tenant}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn the_console_shows_the_refusal_next_to_the_url_and_stores_nothing() {
    let app = quick().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/relay");
    let local = receiver().await;
    let url = format!("https://127.0.0.1:{}/hook", local.address().port());
    let p = b
        .post(
            &path,
            &[
                ("endpoint-url", url.as_str()),
                ("event-types", "call.missed"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert_eq!(
        field_error(&p, "endpoint-url"),
        "url: must not point at a loopback address (127.0.0.1)"
    );
    p.shows(&format!("value=\"{url}\""));
    assert!(stored_endpoints(&app, Some(&id)).await.is_empty());
}

#[tokio::test]
async fn a_private_provider_url_is_refused_when_the_policy_is_saved() {
    let app = quick().start().await;
    let provider = |url: &str| {
        json!({"strategy": "ai_assistant",
               "aiAssistant": {"connector": "provider_twiml", "url": url}})
    };
    let r = app
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(json!({"name": "Bella", "routingPolicy": provider("https://169.254.169.254/latest")})),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (400, "routingPolicy.aiAssistant.url"),
        "{}",
        r.text
    );
    let tenant = tenant_id(&app, json!({"name": "Bella"})).await;
    for url in [
        "https://127.0.0.1:8080/call",
        "https://[::ffff:10.0.0.1]/call",
        "https://localhost/call",
        "http://api.vapi.example/call",
    ] {
        let r = app
            .admin(
                Method::PATCH,
                &format!("/api/admin/tenants/{tenant}"),
                Some(json!({"routingPolicy": provider(url)})),
            )
            .await;
        assert_eq!(
            (r.status, r.field()),
            (400, "routingPolicy.aiAssistant.url"),
            "{url}: {}",
            r.text
        );
    }
    let stored = db::tenants::get(&app.state.db, &tenant)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.routing_policy.ai_assistant.is_none(),
        "nothing stored"
    );

    // A public provider is accepted; private ones only when the operator allows them.
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{tenant}"),
            Some(json!({"routingPolicy": provider("https://api.vapi.example/call")})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let open = quick().private_destinations().start().await;
    let r = open
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(json!({"name": "Bella", "routingPolicy": provider("http://localhost:8080/call")})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn a_policy_saved_before_the_check_does_not_block_other_changes() {
    let app = quick().start().await;
    let tenant = tenant_id(&app, json!({"name": "Bella"})).await;
    // As if stored before this check existed.
    let mut t = db::tenants::get(&app.state.db, &tenant)
        .await
        .unwrap()
        .unwrap();
    t.routing_policy = serde_json::from_value(json!({"strategy": "ai_assistant",
        "aiAssistant": {"connector": "provider_twiml", "url": "http://127.0.0.1:9/call"}}))
    .unwrap();
    db::tenants::update(&app.state.db, &t).await.unwrap();
    let path = format!("/api/admin/tenants/{tenant}");
    let r = app
        .admin(Method::PATCH, &path, Some(json!({"name": "Bella's"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Saving the policy itself asks for a destination that is allowed.
    let policy = r.json["data"]["routingPolicy"].clone();
    let r = app
        .admin(Method::PATCH, &path, Some(json!({"routingPolicy": policy})))
        .await;
    assert_eq!(
        (r.status, r.field()),
        (400, "routingPolicy.aiAssistant.url"),
        "{}",
        r.text
    );
}

/// A tenant's endpoint row as an older Switchboard could have stored it.
fn stored_before(tenant: &str, url: String, now: i64) -> Endpoint {
    Endpoint {
        id: switchboard::domain::new_id(),
        tenant_id: Some(tenant.into()),
        kind: "standard".into(),
        url,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        event_types: "[]".into(),
        enabled: true,
        disabled_reason: None,
        description: None,
        created_at: now,
        updated_at: now,
    }
}

#[tokio::test]
async fn a_tenant_endpoint_saved_before_the_check_is_not_delivered_to() {
    let app = quick().start().await;
    let tenant = tenant_id(&app, json!({"name": "Bella"})).await;
    let local = receiver().await;
    let port = local.address().port();
    let now = app.clock.now_ms();
    let literal = stored_before(&tenant, format!("http://127.0.0.1:{port}/hook"), now);
    let named = stored_before(&tenant, format!("http://localhost:{port}/hook"), now);
    for e in [&literal, &named] {
        db::events::insert_endpoint(&app.state.db, e).await.unwrap();
    }
    // The operator's endpoint on the same receiver is delivered to: the refusal is the tenant's.
    let r = add_endpoint(&app, json!({"url": format!("{}/global", local.uri())})).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let mut tx = app.state.db.begin().await.unwrap();
    switchboard::events::emit(
        &app.state,
        &mut tx,
        Some(&tenant),
        "call.missed",
        None,
        json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ran = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(ran.succeeded, 1, "{ran:?}");

    let got = local.received_requests().await.unwrap();
    let paths: Vec<&str> = got.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        ["/global"],
        "the tenant's endpoints received nothing"
    );
    for (e, why) in [
        (
            &literal,
            "refused destination: a loopback address (127.0.0.1)",
        ),
        (
            &named,
            "refused destination: a local or private-use name (localhost)",
        ),
    ] {
        let d = db::events::list_deliveries(&app.state.db, &e.id, None, 10, 0)
            .await
            .unwrap();
        assert_eq!(d.len(), 1);
        // A failed attempt, recorded with the reason, and retried like a connection error.
        assert_eq!(d[0].status, "pending", "{}", e.url);
        assert_eq!(d[0].attempts, 1);
        assert_eq!(d[0].last_error.as_deref(), Some(why));
        let attempts = db::events::attempts_for(&app.state.db, &[d[0].id.clone()])
            .await
            .unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status_code, None);
        assert_eq!(attempts[0].error.as_deref(), Some(why));
    }
}
