//! Settings › Call routing: the policy form saves through the admin API's rules, keeps what it
//! does not show, and never shows (or loses) the AI provider's key.

use serde_json::json;

use crate::console_settings::{api_refusal, business, field_error, shown, tenant_id};
use crate::support::app;

/// Every control of the routing form with good values.
fn routing_form<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f: Vec<(&str, &str)> = more.to_vec();
    f.extend_from_slice(&[
        ("strategy", "forward"),
        ("after-hours-strategy", "voicemail"),
        ("staff-order", "round_robin"),
        ("dial-timeout", "45"),
        ("fallback", "hangup"),
        ("voicemail-max-length", "300"),
        ("external-number", ""),
        ("record-calls", "on"),
        ("greeting", "Hi, this is {name}."),
        ("voice", "Polly.Joanna"),
        ("language", "en-GB"),
        ("ai-connector", ""),
    ]);
    f
}

#[tokio::test]
async fn the_page_shows_the_policy_and_a_good_save_is_what_the_api_shows() {
    let app = app().start().await;
    let id = tenant_id(
        &app,
        json!({"name": "Bella", "routingPolicy": {
            "strategy": "forward_external", "externalNumber": "+14155550199",
            "dialTimeoutSecs": 25, "gatherPrompt": "Press 1 to book.",
            "reasonKeywords": {"GET_HOURS": ["open late"]}}}),
    )
    .await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/routing");
    let p = b.get(&path).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"routing-form\"")
        .shows("<option value=\"forward_external\" selected>")
        .shows("id=\"dial-timeout\" name=\"dial-timeout\" type=\"number\" value=\"25\"")
        .shows(
            "id=\"external-number\" name=\"external-number\" type=\"tel\" value=\"+14155550199\"",
        )
        .shows("<label for=\"ai-connector\">");

    let p = b.post(&path, &routing_form(&[])).await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("{path}?saved=1").as_str())
    );
    let rp = shown(&app, &id).await["routingPolicy"].clone();
    assert_eq!(rp["strategy"], "forward");
    assert_eq!(rp["staffOrder"], "round_robin");
    assert_eq!(rp["dialTimeoutSecs"], 45);
    assert_eq!(rp["fallback"], "hangup");
    assert_eq!(rp["voicemailMaxLengthSecs"], 300);
    assert_eq!(rp["recordCalls"], true);
    assert_eq!(rp["greeting"], "Hi, this is {name}.");
    assert_eq!(rp["voice"], "Polly.Joanna");
    assert_eq!(rp["language"], "en-GB");
    assert!(rp["externalNumber"].is_null());
    // What the form does not show stays as it was.
    assert_eq!(rp["gatherPrompt"], "Press 1 to book.");
    assert_eq!(rp["reasonKeywords"]["GET_HOURS"], json!(["open late"]));
    b.get(&format!("{path}?saved=1"))
        .await
        .shows("id=\"saved-notice\"");
}

#[tokio::test]
async fn refused_values_show_the_apis_message_next_to_their_field_and_change_nothing() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let before = shown(&app, &id).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/routing");

    let p = b.post(&path, &routing_form(&[("dial-timeout", "3")])).await;
    assert_eq!(p.status, 400, "{}", p.html);
    let (msg, field) =
        api_refusal(&app, &id, json!({"routingPolicy": {"dialTimeoutSecs": 3}})).await;
    assert_eq!(field, "routingPolicy.dialTimeoutSecs");
    assert_eq!(field_error(&p, "dial-timeout"), msg);
    // The refused form comes back as sent.
    p.shows("id=\"voice\" name=\"voice\" type=\"text\" value=\"Polly.Joanna\"");

    let p = b
        .post(&path, &routing_form(&[("strategy", "forward_external")]))
        .await;
    assert_eq!(p.status, 400);
    assert_eq!(
        field_error(&p, "external-number"),
        "routingPolicy.externalNumber: is required when a strategy is forward_external"
    );
    let p = b
        .post(&path, &routing_form(&[("external-number", "555-CALL-NOW")]))
        .await;
    assert_eq!(p.status, 400);
    assert!(!field_error(&p, "external-number").is_empty());
    let p = b
        .post(&path, &routing_form(&[("dial-timeout", "soon")]))
        .await;
    assert_eq!(p.status, 400);
    assert!(field_error(&p, "dial-timeout").contains("invalid type"));
    let p = b
        .post(&path, &routing_form(&[("strategy", "ai_assistant")]))
        .await;
    assert_eq!(p.status, 400);
    assert_eq!(
        field_error(&p, "ai-connector"),
        "routingPolicy.aiAssistant: is required when a strategy is ai_assistant"
    );
    let p = b
        .post(
            &path,
            &routing_form(&[
                ("ai-connector", "stream"),
                ("ai-stream-url", "https://not-a-socket.example"),
            ]),
        )
        .await;
    assert_eq!(p.status, 400);
    assert_eq!(
        field_error(&p, "ai-stream-url"),
        "routingPolicy.aiAssistant.url: must be a wss:// URL"
    );

    assert_eq!(shown(&app, &id).await, before);
    // Without the CSRF token: 403, and still nothing changed.
    let p = b.post_raw(&path, &routing_form(&[])).await;
    assert_eq!(p.status, 403);
    assert_eq!(shown(&app, &id).await, before);
}

#[tokio::test]
async fn the_ai_key_is_write_only_and_kept_when_left_blank() {
    let app = app().start().await;
    let id = tenant_id(
        &app,
        json!({"name": "Bella", "routingPolicy": {"strategy": "ai_assistant", "aiAssistant": {
            "connector": "provider_twiml", "url": "https://ai.example/twiml",
            "apiKey": "sk-live-0123456789", "assistantId": "asst_1"}}}),
    )
    .await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/routing");
    let p = b.get(&path).await;
    p.hides("sk-live-0123456789")
        .shows("A key is set.")
        .shows("<option value=\"provider_twiml\" selected>")
        .shows("value=\"https://ai.example/twiml\"");
    let form = routing_form(&[
        ("strategy", "ai_assistant"),
        ("ai-connector", "provider_twiml"),
        ("ai-provider-url", "https://ai.example/v2"),
        ("ai-api-key", ""),
        ("ai-assistant-id", "asst_2"),
        ("ai-timeout-ms", "2500"),
        ("ai-metadata", "{\"plan\": \"gold\"}"),
        // Another connector's fields are not sent.
        ("ai-number", "+14155550100"),
    ]);
    let p = b.post(&path, &form).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let stored = switchboard::db::tenants::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap()
        .routing_policy
        .ai_assistant
        .unwrap();
    assert_eq!(stored.api_key.as_deref(), Some("sk-live-0123456789"));
    assert_eq!(stored.url.as_deref(), Some("https://ai.example/v2"));
    assert_eq!(stored.assistant_id.as_deref(), Some("asst_2"));
    assert_eq!(stored.timeout_ms, Some(2500));
    assert_eq!(stored.metadata, Some(json!({"plan": "gold"})));
    assert!(stored.number.is_none());
    assert_eq!(
        shown(&app, &id).await["routingPolicy"]["aiAssistant"]["apiKey"],
        "set"
    );

    // A new key replaces it; metadata that is not a JSON object is the API's to refuse.
    let mut form2 = form.clone();
    form2.insert(0, ("ai-api-key", "sk-new-key"));
    let p = b.post(&path, &form2).await;
    assert_eq!(p.status, 303);
    let mut bad = form.clone();
    bad.insert(0, ("ai-metadata", "[1, 2]"));
    let p = b.post(&path, &bad).await;
    assert_eq!(p.status, 400);
    assert_eq!(
        field_error(&p, "ai-metadata"),
        "routingPolicy.aiAssistant.metadata: must be a JSON object"
    );
    let stored = switchboard::db::tenants::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap()
        .routing_policy
        .ai_assistant
        .unwrap();
    assert_eq!(stored.api_key.as_deref(), Some("sk-new-key"));
}

#[tokio::test]
async fn a_provider_on_the_deployments_own_network_is_refused_next_to_its_field() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/routing");
    let form = routing_form(&[
        ("strategy", "ai_assistant"),
        ("ai-connector", "provider_twiml"),
        ("ai-provider-url", "https://10.0.0.7/twiml"),
    ]);
    let p = b.post(&path, &form).await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert_eq!(
        field_error(&p, "ai-provider-url"),
        "routingPolicy.aiAssistant.url: must not point at a private address (10.0.0.7)"
    );
    assert!(shown(&app, &id).await["routingPolicy"]["aiAssistant"].is_null());
}
