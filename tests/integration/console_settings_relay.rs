//! Settings › Relay endpoints: the business's own endpoints with their deliveries and attempts,
//! adding, turning off and on, removing and replaying through the events use cases; global
//! endpoints (the operator's) and other tenants' never show and answer 404.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::jobs::worker::run_pending_jobs;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::console_settings::{business, field_error, tenant_id};
use crate::events::{quick, ring};
use crate::support::TestApp;
use crate::voice::salon;

async fn endpoints(app: &TestApp, tenant: &str) -> Vec<Value> {
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/relay-endpoints?tenantId={tenant}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"]["endpoints"].as_array().unwrap().clone()
}

async fn admin_endpoint(app: &TestApp, body: Value) -> Value {
    let r = app
        .admin(Method::POST, "/api/admin/relay-endpoints", Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["data"].clone()
}

async fn deliveries(app: &TestApp, endpoint: &str) -> Vec<Value> {
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/relay-endpoints/{endpoint}/deliveries"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"]["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn adding_an_endpoint_is_what_the_api_shows_and_refusals_change_nothing() {
    let app = quick().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/relay");
    let p = b.get(&path).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"relay-empty\"")
        .shows("id=\"relay-add-form\"")
        .shows("<label for=\"event-type-call-incoming\">call.incoming</label>");

    let p = b
        .post(
            &path,
            &[
                ("endpoint-url", "ftp://files.example"),
                ("endpoint-description", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert_eq!(
        field_error(&p, "endpoint-url"),
        "url: must be an http:// or https:// URL"
    );
    p.shows("value=\"ftp://files.example\"");
    let p = b
        .post(
            &path,
            &[
                ("endpoint-url", "https://hooks.example/in"),
                ("event-types", "call.exploded"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    p.shows("id=\"event-types-error\">eventTypes: unknown event type &#39;call.exploded&#39;");
    assert_eq!(
        b.post_raw(&path, &[("endpoint-url", "https://hooks.example/in")])
            .await
            .status,
        403
    );
    assert!(endpoints(&app, &id).await.is_empty());

    let p = b
        .post(
            &path,
            &[
                ("endpoint-url", "https://hooks.example/in"),
                ("endpoint-description", "CRM"),
                ("event-types", "call.missed"),
                ("event-types", "voicemail.received"),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some(format!("{path}?saved=1").as_str()))
    );
    let eps = endpoints(&app, &id).await;
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0]["url"], "https://hooks.example/in");
    assert_eq!(eps[0]["tenantId"], id.as_str());
    assert_eq!(eps[0]["description"], "CRM");
    assert_eq!(
        eps[0]["eventTypes"],
        json!(["call.missed", "voicemail.received"])
    );
    let ep = eps[0]["id"].as_str().unwrap();
    b.get(&format!("{path}?saved=1"))
        .await
        .shows(&format!("id=\"endpoint-{ep}\""))
        .shows("call.missed, voicemail.received")
        .shows(eps[0]["secret"].as_str().unwrap());
}

#[tokio::test]
async fn deliveries_show_with_their_attempts_and_replay_while_the_operators_stay_hidden() {
    // The business's receiver is a wiremock server on this machine.
    let app = quick().private_destinations().start().await;
    let id = salon(&app, json!({})).await;
    let other = tenant_id(&app, json!({"name": "Other"})).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/relay");
    let url = format!("{}/tenant-hook", receiver.uri());
    let p = b.post(&path, &[("endpoint-url", url.as_str())]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let mine = endpoints(&app, &id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let global = admin_endpoint(
        &app,
        json!({"url": format!("{}/global-hook", receiver.uri())}),
    )
    .await;
    let global_id = global["id"].as_str().unwrap();
    let theirs = admin_endpoint(
        &app,
        json!({"url": format!("{}/other-hook", receiver.uri()), "tenantId": other}),
    )
    .await;
    let theirs_id = theirs["id"].as_str().unwrap();

    ring(&app, "CA00000000000000000000000000000501").await;
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().succeeded, 2);
    let d = deliveries(&app, &mine).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["status"], "delivered");
    let delivery = d[0]["id"].as_str().unwrap().to_string();
    let global_delivery = deliveries(&app, global_id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let p = b.get(&path).await;
    assert_eq!(p.status, 200);
    p.shows(&format!("id=\"endpoint-{mine}-deliveries\""))
        .shows(&format!("id=\"delivery-{delivery}\""))
        .shows("<span class=\"pill pill-ok\">delivered</span>")
        .shows(": 204, ")
        .shows(&format!("id=\"delivery-{delivery}-replay\""))
        // The operator's global endpoint and another tenant's are not this business's.
        .hides("global-hook")
        .hides(&global_delivery)
        .hides("other-hook");

    // Replay: the same use case as the API's, so the delivery is pending again and goes out again.
    let p = b
        .post(&format!("{path}/deliveries/{delivery}/replay"), &[])
        .await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some(format!("{path}?replayed=1").as_str()))
    );
    assert_eq!(deliveries(&app, &mine).await[0]["status"], "pending");
    b.get(&format!("{path}?replayed=1"))
        .await
        .shows("queued to be sent again")
        .shows("<span class=\"pill pill-warn\">pending</span>");
    run_pending_jobs(&app.state).await.unwrap();
    let a = app
        .admin(
            Method::GET,
            &format!("/api/admin/deliveries/{delivery}/attempts"),
            None,
        )
        .await;
    assert_eq!(a.json["data"]["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(
        b.post_raw(&format!("{path}/deliveries/{delivery}/replay"), &[])
            .await
            .status,
        403
    );
    assert_eq!(deliveries(&app, &mine).await[0]["status"], "delivered");

    // Another tenant's endpoint and the global one: 404 for every action, and untouched.
    for ep in [global_id, theirs_id] {
        assert_eq!(
            b.post(&format!("{path}/{ep}/enabled"), &[("enabled", "false")])
                .await
                .status,
            404
        );
        assert_eq!(b.get(&format!("{path}/{ep}/delete")).await.status, 404);
        assert_eq!(
            b.post(&format!("{path}/{ep}/delete"), &[]).await.status,
            404
        );
    }
    assert_eq!(
        b.post(&format!("{path}/deliveries/{global_delivery}/replay"), &[])
            .await
            .status,
        404
    );
    assert_eq!(deliveries(&app, global_id).await[0]["status"], "delivered");
    let all = app
        .admin(Method::GET, "/api/admin/relay-endpoints", None)
        .await;
    assert!(
        all.json["data"]["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["enabled"] == true)
    );
    assert_eq!(all.json["data"]["endpoints"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn turning_off_and_on_and_removing_after_confirmation() {
    let app = quick().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let ep = admin_endpoint(
        &app,
        json!({"url": "https://hooks.example/a", "tenantId": id}),
    )
    .await;
    let ep = ep["id"].as_str().unwrap();
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/relay");
    b.get(&path)
        .await
        .shows(&format!("id=\"endpoint-{ep}-toggle\">Turn off"))
        .shows("<span class=\"pill pill-ok\">Enabled</span>");
    assert_eq!(
        b.post_raw(&format!("{path}/{ep}/enabled"), &[("enabled", "false")])
            .await
            .status,
        403
    );
    assert_eq!(endpoints(&app, &id).await[0]["enabled"], true);
    let p = b
        .post(&format!("{path}/{ep}/enabled"), &[("enabled", "false")])
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(endpoints(&app, &id).await[0]["enabled"], false);
    b.get(&path)
        .await
        .shows(&format!("id=\"endpoint-{ep}-toggle\">Turn on"))
        .shows("<span class=\"pill pill-bad\">Disabled</span>");
    let p = b
        .post(&format!("{path}/{ep}/enabled"), &[("enabled", "true")])
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(endpoints(&app, &id).await[0]["enabled"], true);

    let p = b.get(&format!("{path}/{ep}/delete")).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"relay-delete-form\"")
        .shows("https://hooks.example/a");
    assert_eq!(endpoints(&app, &id).await.len(), 1);
    let p = b.post(&format!("{path}/{ep}/delete"), &[]).await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some(format!("{path}?removed=1").as_str()))
    );
    assert!(endpoints(&app, &id).await.is_empty());
}
