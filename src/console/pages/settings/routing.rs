//! Settings › Call routing: strategy in and out of hours, staff order, timeouts, recording, the
//! outside number, the greeting with its voice and language, and the AI hand-off.
//!
//! The form changes the policy as an API client would: it starts from the policy as the API shows
//! it (fields the form has no control for, such as reason keywords, stay as they are), puts in the
//! form's values and sends the whole `routingPolicy` through the API's parser to
//! `tenants::manage::update`. The AI provider's `apiKey` is write-only: the API shows a stored key
//! as `"set"` and keeps it when `"set"` comes back, which is what a blank key field sends.
//! Only the chosen connector's fields are sent (the API refuses another connector's).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{Input, Tabs, done, number_or_text, parse_body, text_or_null, unplaced};
use crate::console::auth::{Form, TenantView};
use crate::console::render::{Chrome, ConsoleResult, FormError, page, page_with_status};
use crate::db::tenants::Tenant;
use crate::failure::Failure;
use crate::state::AppState;
use crate::tenants::manage::{self, API_KEY_SET, UpdateTenant};

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/t/{tenant}/settings/routing", get(show).post(save))
}

const STRATEGIES: [(&str, &str); 5] = [
    ("forward", "Ring staff on duty, one after another"),
    ("forward_external", "Forward to an outside number"),
    ("voicemail", "Straight to voicemail"),
    ("gather", "Ask callers why they call first"),
    ("ai_assistant", "Hand the call to the AI assistant"),
];
const STAFF_ORDERS: [(&str, &str); 2] = [
    ("priority", "By priority, lowest number first"),
    ("round_robin", "Take turns (round robin)"),
];
const FALLBACKS: [(&str, &str); 2] = [
    ("voicemail", "Offer voicemail"),
    ("hangup", "Apologise and hang up"),
];
const CONNECTORS: [(&str, &str); 4] = [
    ("", "None"),
    ("stream", "Stream the call to the agent (wss:// URL)"),
    ("dial", "Dial the agent (phone number or SIP)"),
    (
        "provider_twiml",
        "Ask the provider's API for the call (https:// URL)",
    ),
];

/// The form's fields: control id → the API's name inside `routingPolicy`, for plain values.
const PLAIN: [(&str, &str); 4] = [
    ("strategy", "strategy"),
    ("after-hours-strategy", "afterHoursStrategy"),
    ("staff-order", "staffOrder"),
    ("fallback", "fallback"),
];
const NUMBERS: [(&str, &str); 2] = [
    ("dial-timeout", "dialTimeoutSecs"),
    ("voicemail-max-length", "voicemailMaxLengthSecs"),
];
const OPTIONAL: [(&str, &str); 4] = [
    ("external-number", "externalNumber"),
    ("greeting", "greeting"),
    ("voice", "voice"),
    ("language", "language"),
];

/// The policy as the form holds it: control id → text as typed (checkboxes: "on" or absent).
#[derive(Debug, Clone, Default)]
struct Policy {
    values: HashMap<&'static str, String>,
    /// The API shows a stored AI key as "set"; the form never shows the key itself.
    key_stored: bool,
}

/// Every control id of the form.
const CONTROLS: &[&str] = &[
    "strategy",
    "after-hours-strategy",
    "staff-order",
    "fallback",
    "dial-timeout",
    "voicemail-max-length",
    "record-calls",
    "external-number",
    "greeting",
    "voice",
    "language",
    "ai-connector",
    "ai-stream-url",
    "ai-parameters",
    "ai-number",
    "ai-sip",
    "ai-caller-id",
    "ai-provider-url",
    "ai-api-key",
    "ai-api-key-clear",
    "ai-assistant-id",
    "ai-metadata",
    "ai-timeout-ms",
];

fn str_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Policy {
    fn get(&self, id: &str) -> &str {
        self.values.get(id).map(String::as_str).unwrap_or("")
    }

    /// The stored policy, read as the API shows it.
    fn of(t: &Tenant) -> Policy {
        let shown = manage::TenantView::from(t).routing_policy;
        let p = serde_json::to_value(&shown).unwrap_or_default();
        let mut values = HashMap::new();
        for (id, api) in PLAIN.iter().chain(&NUMBERS).chain(&OPTIONAL) {
            values.insert(*id, str_of(&p[*api]));
        }
        if shown.record_calls {
            values.insert("record-calls", "on".into());
        }
        let ai = &p["aiAssistant"];
        let connector = str_of(&ai["connector"]);
        let url_control = if connector == "stream" {
            "ai-stream-url"
        } else {
            "ai-provider-url"
        };
        values.insert(url_control, str_of(&ai["url"]));
        values.insert("ai-connector", connector);
        if let Some(params) = ai["parameters"].as_object() {
            let lines: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}={}", str_of(v)))
                .collect();
            values.insert("ai-parameters", lines.join("\n"));
        }
        for (id, api) in [
            ("ai-number", "number"),
            ("ai-sip", "sip"),
            ("ai-caller-id", "callerId"),
            ("ai-assistant-id", "assistantId"),
            ("ai-timeout-ms", "timeoutMs"),
        ] {
            values.insert(id, str_of(&ai[api]));
        }
        if ai["metadata"].is_object() {
            values.insert(
                "ai-metadata",
                serde_json::to_string_pretty(&ai["metadata"]).unwrap_or_default(),
            );
        }
        Policy {
            values,
            key_stored: ai["apiKey"].as_str() == Some(API_KEY_SET),
        }
    }

    fn from_form(form: &Form, stored: &Tenant) -> Policy {
        let mut values = HashMap::new();
        for id in CONTROLS {
            if let Some(v) = form.get(id) {
                values.insert(*id, v.to_string());
            }
        }
        Policy {
            values,
            key_stored: Policy::of(stored).key_stored,
        }
    }

    /// The admin API's PATCH body: the shown policy of `stored` with the form's values put in.
    fn body(&self, stored: &Tenant) -> Value {
        let shown = manage::TenantView::from(stored).routing_policy;
        let mut p = match serde_json::to_value(&shown) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for (id, api) in PLAIN {
            p.insert(api.into(), Value::from(self.get(id).trim()));
        }
        for (id, api) in NUMBERS {
            p.insert(api.into(), number_or_text(self.get(id)));
        }
        for (id, api) in OPTIONAL {
            p.insert(api.into(), text_or_null(self.get(id)));
        }
        p.insert(
            "recordCalls".into(),
            Value::from(self.values.contains_key("record-calls")),
        );
        p.insert("aiAssistant".into(), self.ai());
        json!({ "routingPolicy": p })
    }

    /// `aiAssistant`: `null` without a connector, else the connector and its own fields.
    fn ai(&self) -> Value {
        let connector = self.get("ai-connector").trim();
        if connector.is_empty() {
            return Value::Null;
        }
        let mut ai = Map::new();
        ai.insert("connector".into(), Value::from(connector));
        let mut put = |api: &str, v: Value| {
            ai.insert(api.into(), v);
        };
        let filled = |id: &str| Some(self.get(id).trim()).filter(|v| !v.is_empty());
        match connector {
            "stream" => {
                if let Some(u) = filled("ai-stream-url") {
                    put("url", Value::from(u));
                }
                let params: BTreeMap<String, String> = self
                    .get("ai-parameters")
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| match l.split_once('=') {
                        Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                        None => (l.to_string(), String::new()),
                    })
                    .collect();
                if !params.is_empty() {
                    put("parameters", json!(params));
                }
            }
            "dial" => {
                for (id, api) in [
                    ("ai-number", "number"),
                    ("ai-sip", "sip"),
                    ("ai-caller-id", "callerId"),
                ] {
                    if let Some(v) = filled(id) {
                        put(api, Value::from(v));
                    }
                }
            }
            "provider_twiml" => {
                if let Some(u) = filled("ai-provider-url") {
                    put("url", Value::from(u));
                }
                match filled("ai-api-key") {
                    Some(k) => put("apiKey", Value::from(k)),
                    None if self.key_stored && !self.values.contains_key("ai-api-key-clear") => {
                        put("apiKey", Value::from(API_KEY_SET))
                    }
                    None => {}
                }
                if let Some(a) = filled("ai-assistant-id") {
                    put("assistantId", Value::from(a));
                }
                if let Some(m) = filled("ai-metadata") {
                    // Not JSON: sent as text, which the API refuses in its own words.
                    let v = serde_json::from_str(m).unwrap_or_else(|_| Value::from(m));
                    put("metadata", v);
                }
                if let Some(t) = filled("ai-timeout-ms") {
                    put("timeoutMs", number_or_text(t));
                }
            }
            // An unknown connector: the API's parser names it.
            _ => {}
        }
        Value::Object(ai)
    }
}

#[derive(Template)]
#[template(path = "console/settings/routing.html")]
struct RoutingPage {
    chrome: Chrome,
    tabs: Tabs,
    calls: Vec<Input>,
    greeting: Vec<Input>,
    connector: Input,
    stream: Vec<Input>,
    dial: Vec<Input>,
    provider: Vec<Input>,
    general: Option<String>,
}

impl RoutingPage {
    fn new(view: &TenantView, tabs: Tabs, p: &Policy, e: &FormError) -> RoutingPage {
        let api = |name: &str| format!("routingPolicy.{name}");
        let ai = |name: &str| format!("routingPolicy.aiAssistant.{name}");
        let v = |id: &str| p.get(id).to_string();
        let on = |id: &str| p.values.contains_key(id);
        let calls = vec![
            Input::new("strategy", "During business hours", "select")
                .value(v("strategy"))
                .choices(&STRATEGIES)
                .error_of(e, &api("strategy")),
            Input::new("after-hours-strategy", "Outside business hours", "select")
                .value(v("after-hours-strategy"))
                .choices(&STRATEGIES)
                .error_of(e, &api("afterHoursStrategy")),
            Input::new("staff-order", "Order in which staff are rung", "select")
                .value(v("staff-order"))
                .choices(&STAFF_ORDERS)
                .error_of(e, &api("staffOrder")),
            Input::new("dial-timeout", "Ring each person for (seconds)", "number")
                .value(v("dial-timeout"))
                .hint("5 to 600 seconds.")
                .extra("inputmode=\"numeric\"")
                .error_of(e, &api("dialTimeoutSecs")),
            Input::new("fallback", "When nobody answers", "select")
                .value(v("fallback"))
                .choices(&FALLBACKS)
                .error_of(e, &api("fallback")),
            Input::new(
                "voicemail-max-length",
                "Longest voicemail (seconds)",
                "number",
            )
            .value(v("voicemail-max-length"))
            .hint("5 to 3600 seconds.")
            .extra("inputmode=\"numeric\"")
            .error_of(e, &api("voicemailMaxLengthSecs")),
            Input::new("external-number", "Outside number", "tel")
                .value(v("external-number"))
                .hint("Where \"Forward to an outside number\" sends calls, in international form (+14155550100).")
                .extra("autocomplete=\"off\"")
                .error_of(e, &api("externalNumber")),
            Input::new("record-calls", "Record forwarded calls (callers are told)", "checkbox")
                .checked(on("record-calls"))
                .error_of(e, &api("recordCalls")),
        ];
        let greeting = vec![
            Input::new("greeting", "Greeting", "textarea")
                .value(v("greeting"))
                .hint("Spoken first. {name} is replaced by the business name. Blank: the standard greeting.")
                .error_of(e, &api("greeting")),
            Input::new("voice", "Voice", "text")
                .value(v("voice"))
                .hint("A Twilio voice such as Polly.Joanna. Blank: the default voice.")
                .error_of(e, &api("voice")),
            Input::new("language", "Language", "text")
                .value(v("language"))
                .hint("Such as en-US. Blank: the default language.")
                .error_of(e, &api("language")),
        ];
        let connector = Input::new("ai-connector", "Connector", "select")
            .value(v("ai-connector"))
            .choices(&CONNECTORS)
            .hint("Needed when a strategy above hands calls to the AI assistant. Only the chosen connector's fields below are saved.")
            .error_of(e, &ai("connector"));
        // The API's `aiAssistant` itself (missing, or wrong as a whole) is the connector's to show.
        let connector = if e.field.as_deref() == Some("routingPolicy.aiAssistant") {
            Input {
                error: Some(e.message.clone()),
                ..connector
            }
        } else {
            connector
        };
        let chosen = p.get("ai-connector");
        let stream = vec![
            Input::new("ai-stream-url", "Agent URL", "url")
                .value(v("ai-stream-url"))
                .hint("wss://…")
                .error_of(
                    e,
                    if chosen == "stream" {
                        "routingPolicy.aiAssistant.url"
                    } else {
                        "-"
                    },
                ),
            Input::new("ai-parameters", "Parameters", "textarea")
                .value(v("ai-parameters"))
                .hint("One name=value per line, sent to the agent with the call.")
                .error_of(e, &ai("parameters")),
        ];
        let dial = vec![
            Input::new("ai-number", "Agent phone number", "tel")
                .value(v("ai-number"))
                .error_of(e, &ai("number")),
            Input::new("ai-sip", "Agent SIP address", "text")
                .value(v("ai-sip"))
                .hint("Instead of a number: sip:agent@example.com")
                .error_of(e, &ai("sip")),
            Input::new("ai-caller-id", "Caller ID shown to the agent", "tel")
                .value(v("ai-caller-id"))
                .hint("Blank: the business number.")
                .error_of(e, &ai("callerId")),
        ];
        let key_hint = if p.key_stored {
            "A key is set. Leave blank to keep it, or type a new one."
        } else {
            "Sent as a Bearer token. Not shown again once saved."
        };
        let mut provider = vec![
            Input::new("ai-provider-url", "Provider URL", "url")
                .value(v("ai-provider-url"))
                .hint("https://…")
                .error_of(
                    e,
                    if chosen == "provider_twiml" {
                        "routingPolicy.aiAssistant.url"
                    } else {
                        "-"
                    },
                ),
            Input::new("ai-api-key", "API key", "password")
                .hint(key_hint)
                .extra("autocomplete=\"new-password\"")
                .error_of(e, &ai("apiKey")),
        ];
        if p.key_stored {
            provider.push(
                Input::new("ai-api-key-clear", "Remove the stored key", "checkbox")
                    .checked(on("ai-api-key-clear")),
            );
        }
        provider.extend([
            Input::new("ai-assistant-id", "Assistant ID", "text")
                .value(v("ai-assistant-id"))
                .error_of(e, &ai("assistantId")),
            Input::new("ai-metadata", "Metadata (JSON object)", "textarea")
                .value(v("ai-metadata"))
                .error_of(e, &ai("metadata")),
            Input::new(
                "ai-timeout-ms",
                "Wait for the provider (milliseconds)",
                "number",
            )
            .value(v("ai-timeout-ms"))
            .hint("500 to 10000. Blank: 3000.")
            .error_of(e, &ai("timeoutMs")),
        ]);
        let all: Vec<&Input> = calls
            .iter()
            .chain(&greeting)
            .chain(std::iter::once(&connector))
            .chain(&stream)
            .chain(&dial)
            .chain(&provider)
            .collect();
        let general = unplaced(e, &all);
        RoutingPage {
            chrome: view.chrome("Settings: call routing", "settings"),
            tabs,
            calls,
            greeting,
            connector,
            stream,
            dial,
            provider,
            general,
        }
    }
}

async fn show(view: TenantView, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    let tabs = Tabs::new(&view, "routing", &q);
    let policy = Policy::of(&view.tenant);
    Ok(page(&RoutingPage::new(
        &view,
        tabs,
        &policy,
        &FormError::default(),
    )))
}

async fn save(State(state): State<AppState>, view: TenantView, form: Form) -> ConsoleResult {
    let policy = Policy::from_form(&form, &view.tenant);
    let saved: Result<Tenant, Failure> = async {
        let patch: UpdateTenant = parse_body(&policy.body(&view.tenant))?;
        manage::update(&state, &view.tenant.id, patch).await
    }
    .await;
    match saved {
        Ok(_) => Ok(done(&view, "routing", "saved")),
        Err(f) => {
            let error = FormError::from_failure(f);
            let tabs = Tabs::new(&view, "routing", &HashMap::new());
            Ok(page_with_status(
                error.http_status(),
                &RoutingPage::new(&view, tabs, &policy, &error),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BusinessHours, RoutingPolicy, Slug, SubscriptionStatus, TimeZoneName};

    fn tenant(policy: Value) -> Tenant {
        Tenant {
            id: "t1".into(),
            name: "Bella".into(),
            slug: Slug::from_name("Bella"),
            time_zone: TimeZoneName::parse("tz", "UTC").unwrap(),
            twilio_number: None,
            twilio_number_sid: None,
            subscription_status: SubscriptionStatus::None,
            stripe_customer_id: None,
            business_hours: BusinessHours::default(),
            routing_policy: serde_json::from_value::<RoutingPolicy>(policy).unwrap(),
            templates: Default::default(),
            messaging: Default::default(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_form_changes_only_what_it_shows_and_keeps_a_stored_key() {
        let t = tenant(json!({
            "gatherPrompt": "Press 1",
            "reasonKeywords": {"GET_HOURS": ["open"]},
            "aiAssistant": {"connector": "provider_twiml", "url": "https://ai.example/twiml", "apiKey": "sk-secret"}
        }));
        let mut p = Policy::of(&t);
        assert!(p.key_stored);
        assert_eq!(p.get("ai-provider-url"), "https://ai.example/twiml");
        p.values.insert("dial-timeout", "45".into());
        let body = p.body(&t);
        let rp = &body["routingPolicy"];
        assert_eq!(rp["dialTimeoutSecs"], 45);
        assert_eq!(rp["gatherPrompt"], "Press 1");
        assert_eq!(rp["reasonKeywords"]["GET_HOURS"], json!(["open"]));
        assert_eq!(rp["aiAssistant"]["apiKey"], API_KEY_SET);
        assert!(!body.to_string().contains("sk-secret"));
        p.values.insert("ai-api-key-clear", "on".into());
        assert!(p.body(&t)["routingPolicy"]["aiAssistant"]["apiKey"].is_null());
        p.values.insert("ai-connector", String::new());
        assert!(p.body(&t)["routingPolicy"]["aiAssistant"].is_null());
    }
}
