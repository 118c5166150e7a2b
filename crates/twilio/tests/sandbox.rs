//! The sandbox over real HTTP: each test serves `Sandbox::router()` on 127.0.0.1:0 and talks to
//! it with plain reqwest, as Switchboard's REST client (or Twilio's SDK) would. JSON answers are
//! checked against Twilio's own OpenAPI description (`oai/twilio_api_v2010.json`): every key we
//! return must be a property of the schema with the right type, and every property of the schema
//! must be returned. Callbacks land on a small receiver server that records them; their
//! `X-Twilio-Signature` is checked with `signature::validate` and recomputed independently.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use parking_lot::Mutex;
use serde_json::{Value, json};
use sha1::Sha1;
use switchboard_twilio::sandbox::{DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, Sandbox, SandboxConfig};
use switchboard_twilio::signature;
use tokio::net::TcpListener;
use url::Url;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

struct Harness {
    sandbox: Sandbox,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Harness {
    start_with(|_| {}).await
}

async fn start_with(configure: impl FnOnce(&mut SandboxConfig)) -> Harness {
    switchboard_twilio::tls::ensure_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = SandboxConfig::development(Url::parse(&base).unwrap());
    config.callback_delay = Duration::ZERO;
    configure(&mut config);
    let sandbox = Sandbox::new(config);
    let router = sandbox
        .router()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Harness {
        sandbox,
        base,
        http: reqwest::Client::new(),
    }
}

impl Harness {
    fn sid(&self) -> &str {
        &self.sandbox.config().account_sid
    }

    fn token(&self) -> &str {
        &self.sandbox.config().auth_token
    }

    /// The absolute URL of an account resource, e.g. `api("Messages.json")`.
    fn api(&self, rest: &str) -> String {
        format!("{}/2010-04-01/Accounts/{}/{rest}", self.base, self.sid())
    }

    async fn post(&self, rest: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.api(rest))
            .basic_auth(self.sid(), Some(self.token()))
            .form(form)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn get(&self, rest: &str) -> (StatusCode, Value) {
        self.get_url(&self.api(rest)).await
    }

    async fn get_url(&self, url: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(url)
            .basic_auth(self.sid(), Some(self.token()))
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    async fn send_message(&self, form: &[(&str, &str)]) -> Value {
        let (status, body) = self.post("Messages.json", form).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, body)
}

/// Asserts a Twilio error answer: HTTP status, code, and the `more_info` link Twilio gives.
fn assert_twilio_error(status: StatusCode, body: &Value, http: u16, code: u64) {
    assert_eq!(status.as_u16(), http, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], http, "{body}");
    assert_eq!(
        body["more_info"],
        format!("https://www.twilio.com/docs/errors/{code}")
    );
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Hook {
    method: String,
    path: String,
    /// The URL as the sandbox addressed it (what it signed).
    url: String,
    params: Vec<(String, String)>,
    signature: Option<String>,
}

impl Hook {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

struct Receiver {
    base: String,
    hooks: Arc<Mutex<Vec<Hook>>>,
}

const SERVED_TWIML: &str =
    r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello from the test</Say></Response>"#;

async fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hooks: Arc<Mutex<Vec<Hook>>> = Arc::default();
    let sink = hooks.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let params = if method == Method::POST {
                    url::form_urlencoded::parse(&body).into_owned().collect()
                } else {
                    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                        .into_owned()
                        .collect()
                };
                sink.lock().push(Hook {
                    method: method.to_string(),
                    path: uri.path().to_owned(),
                    url: format!("http://{addr}{uri}"),
                    params,
                    signature: headers
                        .get("X-Twilio-Signature")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                });
                if uri.path() == "/twiml" {
                    ([(header::CONTENT_TYPE, "text/xml")], SERVED_TWIML).into_response()
                } else {
                    StatusCode::OK.into_response()
                }
            }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        base: format!("http://{addr}"),
        hooks,
    }
}

impl Receiver {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hooks(&self) -> Vec<Hook> {
        self.hooks.lock().clone()
    }

    fn at(&self, path: &str) -> Vec<Hook> {
        self.hooks()
            .into_iter()
            .filter(|h| h.path == path)
            .collect()
    }
}

/// Twilio's algorithm written out again, independently of `signature`: HMAC-SHA1 over the URL
/// followed by the sorted (key, value) pairs, base64.
fn independent_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut data = url.to_owned();
    for (k, v) in &sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn assert_signed(hook: &Hook, token: &str) {
    let body_params: &[(String, String)] = if hook.method == "POST" {
        &hook.params
    } else {
        &[]
    };
    signature::validate(token, &hook.url, body_params, hook.signature.as_deref())
        .unwrap_or_else(|e| panic!("{} {}: {e}", hook.method, hook.url));
    assert_eq!(
        hook.signature.as_deref(),
        Some(independent_signature(token, &hook.url, body_params).as_str()),
        "independent HMAC-SHA1 of {}",
        hook.url
    );
}

// ---------------------------------------------------------------------------------------------
// OpenAPI validation
// ---------------------------------------------------------------------------------------------

fn oai() -> &'static Value {
    static OAI: OnceLock<Value> = OnceLock::new();
    OAI.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("oai/twilio_api_v2010.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    })
}

fn component(name: &str) -> &'static Value {
    let schema = &oai()["components"]["schemas"][name];
    assert!(!schema.is_null(), "no OAI schema {name}");
    schema
}

fn deref(schema: &'static Value) -> &'static Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => deref(component(
            r.strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}")),
        )),
        None => schema,
    }
}

/// Collects every way `value` departs from `schema` into `errors`.
fn check(value: &Value, schema: &'static Value, at: &str, errors: &mut Vec<String>) {
    let schema = deref(schema);
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} not in {allowed:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => {
            let Some(s) = value.as_str() else {
                errors.push(format!("{at}: {value} is not a string"));
                return;
            };
            if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                && !regex::Regex::new(p).unwrap().is_match(s)
            {
                errors.push(format!("{at}: {s:?} does not match {p}"));
            }
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                errors.push(format!("{at}: {s:?} shorter than {min}"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                errors.push(format!("{at}: {s:?} longer than {max}"));
            }
            if schema.get("format").and_then(Value::as_str) == Some("date-time-rfc-2822")
                && jiff::fmt::rfc2822::parse(s).is_err()
            {
                errors.push(format!("{at}: {s:?} is not RFC 2822"));
            }
        }
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            errors.push(format!("{at}: {value} is not an integer"));
        }
        Some("number") if !value.is_number() => {
            errors.push(format!("{at}: {value} is not a number"));
        }
        Some("boolean") if !value.is_boolean() => {
            errors.push(format!("{at}: {value} is not a boolean"));
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(item, &schema["items"], &format!("{at}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{at}: {value} is not an array")),
        },
        Some("object") => {
            let Some(object) = value.as_object() else {
                errors.push(format!("{at}: {value} is not an object"));
                return;
            };
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for key in object.keys() {
                    if !properties.contains_key(key) {
                        errors.push(format!("{at}.{key}: not a property of the schema"));
                    }
                }
                for (key, property) in properties {
                    match object.get(key) {
                        Some(v) => check(v, property, &format!("{at}.{key}"), errors),
                        None => errors.push(format!("{at}.{key}: missing")),
                    }
                }
            }
        }
        _ => {}
    }
}

fn assert_valid(value: &Value, schema: &'static Value, what: &str) {
    let mut errors = Vec::new();
    check(value, schema, what, &mut errors);
    assert!(
        errors.is_empty(),
        "{what} departs from the OAI:\n{}",
        errors.join("\n")
    );
}

fn assert_resource(value: &Value, schema_name: &str) {
    assert_valid(value, component(schema_name), schema_name);
}

/// Validates a list answer against the 200 schema of `GET …/{path}` in the OAI.
fn assert_list(value: &Value, path: &str) {
    let schema = &oai()["paths"][format!("/2010-04-01/Accounts/{{AccountSid}}/{path}")]["get"]["responses"]
        ["200"]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "no OAI list schema for {path}");
    assert_valid(value, schema, path);
}

#[test]
fn the_validator_rejects_what_the_oai_forbids() {
    // Guards the guard: a validator that accepts everything would make the schema tests vacuous.
    let schema = component("api.v2010.account.message");
    let mut errors = Vec::new();
    check(
        &json!({"sid": "XX123", "num_segments": 1, "extra": true, "status": "flying"}),
        schema,
        "m",
        &mut errors,
    );
    let joined = errors.join("\n");
    for expected in [
        "m.sid: \"XX123\" does not match",
        "m.num_segments: 1 is not a string",
        "m.extra: not a property",
        "m.status: \"flying\" not in",
        "m.body: missing",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in:\n{joined}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials and routing
// ---------------------------------------------------------------------------------------------

#[test]
fn development_credentials_have_twilio_shapes() {
    let config = SandboxConfig::development(Url::parse("http://localhost:1/").unwrap());
    assert_eq!(config.account_sid, DEV_ACCOUNT_SID);
    assert_eq!(config.auth_token, DEV_AUTH_TOKEN);
    assert!(
        regex::Regex::new("^AC[0-9a-f]{32}$")
            .unwrap()
            .is_match(DEV_ACCOUNT_SID)
    );
    assert!(
        regex::Regex::new("^[0-9a-f]{32}$")
            .unwrap()
            .is_match(DEV_AUTH_TOKEN)
    );
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_with_code_20003() {
    let h = start().await;
    let url = h.api("Messages.json");
    let attempts = [
        h.http.get(&url),
        h.http.get(&url).basic_auth(h.sid(), Some("wrong-token")),
        h.http
            .get(&url)
            .basic_auth("AC00000000000000000000000000000000", Some(h.token())),
        h.http.get(&url).bearer_auth(h.token()),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        let (status, body) = json_of(response).await;
        assert_twilio_error(status, &body, 401, 20003);
    }
    // The account SID and any API key SID, each with the auth token, get in.
    let (status, _) = h.get("Messages.json").await;
    assert_eq!(status, StatusCode::OK);
    let with_key = h
        .http
        .get(&url)
        .basic_auth("SK0123456789abcdef0123456789abcdef", Some(h.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status().as_u16(), 200);
}

#[tokio::test]
async fn another_accounts_path_is_not_found_like_twilio() {
    let h = start().await;
    let foreign = format!(
        "{}/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json",
        h.base
    );
    let (status, body) = h.get_url(&foreign).await;
    assert_twilio_error(status, &body, 404, 20404);
    assert_eq!(
        body["message"],
        "The requested resource /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json was not found"
    );
}

#[tokio::test]
async fn unknown_api_paths_and_resources_are_twilio_404s() {
    let h = start().await;
    for rest in [
        "Queues.json",
        "Messages/SM0123456789abcdef0123456789abcdef.json",
        "Calls/CA0123456789abcdef0123456789abcdef.json",
        "Recordings/RE0123456789abcdef0123456789abcdef.json",
        "AvailablePhoneNumbers/US/Shared.json",
    ] {
        let (status, body) = h.get(rest).await;
        assert_twilio_error(status, &body, 404, 20404);
    }
}

#[tokio::test]
async fn a_method_a_path_does_not_take_is_twilios_405() {
    let h = start().await;
    let response = h
        .http
        .delete(h.api("Messages.json"))
        .basic_auth(h.sid(), Some(h.token()))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_twilio_error(status, &body, 405, 20004);
}

#[tokio::test]
async fn the_router_works_nested_under_a_prefix() {
    // How Switchboard mounts it: on its own port, under a path prefix, with public_base_url
    // pointing there so the media URLs it hands out lead back through the prefix.
    switchboard_twilio::tls::ensure_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    let mut config =
        SandboxConfig::development(Url::parse(&format!("{root}/twilio-sandbox")).unwrap());
    config.callback_delay = Duration::ZERO;
    let sandbox = Sandbox::new(config);
    let app = Router::new()
        .nest("/twilio-sandbox", sandbox.router())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let h = Harness {
        sandbox,
        base: format!("{root}/twilio-sandbox"),
        http: reqwest::Client::new(),
    };
    let sent = h
        .send_message(&[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Body", "hi"),
        ])
        .await;
    let (status, _) = h
        .get(&format!("Messages/{}.json", sent["sid"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let info = h
        .sandbox
        .create_recording("CA0123456789abcdef0123456789abcdef", 1);
    assert!(
        info.media_url
            .starts_with(&format!("{root}/twilio-sandbox/2010-04-01/"))
    );
    let media = download(&h, &info.media_url, true).await;
    assert_eq!(media.status().as_u16(), 200);
    let log = h.sandbox.received_requests();
    assert!(
        log.iter().all(|r| r.path.starts_with("/2010-04-01/")),
        "{log:?}"
    );
    assert_eq!(log.len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_sent_message_matches_the_oai_message_schema_before_and_after_delivery() {
    let h = start().await;
    let sent = h
        .send_message(&[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Body", "Hello there"),
        ])
        .await;
    assert_resource(&sent, "api.v2010.account.message");
    let sid = sent["sid"].as_str().unwrap();
    assert!(sid.starts_with("SM"));
    assert_eq!(sent["status"], "queued");
    assert_eq!(sent["direction"], "outbound-api");
    assert_eq!(sent["num_segments"], "1");
    assert_eq!(sent["num_media"], "0");
    assert_eq!(sent["price"], Value::Null);
    assert_eq!(sent["date_sent"], Value::Null);
    assert_eq!(sent["account_sid"], h.sid());
    assert_eq!(
        sent["uri"],
        format!("/2010-04-01/Accounts/{}/Messages/{sid}.json", h.sid())
    );
    assert!(
        sent["subresource_uris"]["media"]
            .as_str()
            .unwrap()
            .ends_with("/Media.json")
    );

    h.sandbox.wait_idle().await;
    let (status, fetched) = h.get(&format!("Messages/{sid}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_resource(&fetched, "api.v2010.account.message");
    assert_eq!(fetched["status"], "delivered");
    assert!(fetched["date_sent"].is_string());
    assert_eq!(fetched["price"], "-0.00790");
    assert_eq!(fetched["body"], "Hello there");
}

#[tokio::test]
async fn num_segments_follows_gsm7_and_ucs2_limits() {
    let h = start().await;
    let cases = [
        ("a".repeat(160), "1"),
        ("a".repeat(161), "2"),
        (format!("{}é", "a".repeat(159)), "1"), // é is GSM-7
        ("ł".repeat(70), "1"),
        ("ł".repeat(71), "2"),
    ];
    for (body, segments) in cases {
        let sent = h
            .send_message(&[
                ("To", "+14155550123"),
                ("From", "+15005550006"),
                ("Body", &body),
            ])
            .await;
        assert_eq!(
            sent["num_segments"],
            segments,
            "{} chars",
            body.chars().count()
        );
    }
}

#[tokio::test]
async fn media_messages_get_mm_sids_and_count_their_media() {
    let h = start().await;
    let sent = h
        .send_message(&[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("MediaUrl", "https://example.com/a.png"),
            ("MediaUrl", "https://example.com/b.png"),
        ])
        .await;
    assert!(sent["sid"].as_str().unwrap().starts_with("MM"));
    assert_eq!(sent["num_media"], "2");
    assert_resource(&sent, "api.v2010.account.message");
}

#[tokio::test]
async fn invalid_message_requests_get_twilios_codes() {
    let h = start().await;
    let cases: [(&[(&str, &str)], u64); 6] = [
        (&[("From", "+15005550006"), ("Body", "x")], 21604),
        (&[("To", "+14155550123"), ("Body", "x")], 21603),
        (&[("To", "+14155550123"), ("From", "+15005550006")], 21602),
        (
            &[
                ("To", "4155550123"),
                ("From", "+15005550006"),
                ("Body", "x"),
            ],
            21211,
        ),
        (
            &[
                ("To", "+14155550123"),
                ("From", "+15005550006"),
                ("Body", "x"),
                ("StatusCallback", "not a url"),
            ],
            21609,
        ),
        (
            &[
                ("To", "+14155550123"),
                ("From", "+15005550006"),
                ("Body", &"a".repeat(1601)),
            ],
            21617,
        ),
    ];
    for (form, code) in cases {
        let (status, body) = h.post("Messages.json", form).await;
        assert_twilio_error(status, &body, 400, code);
    }
    assert!(
        h.sandbox.messages().is_empty(),
        "refused messages are not stored"
    );
}

#[tokio::test]
async fn magic_numbers_give_their_documented_codes() {
    let h = start().await;
    let cases = [
        ("From", "+15005550001", 21212),
        ("From", "+15005550007", 21606),
        ("From", "+15005550008", 21611),
        ("To", "+15005550001", 21211),
        ("To", "+15005550002", 21612),
        ("To", "+15005550003", 21408),
        ("To", "+15005550004", 21610),
        ("To", "+15005550009", 21614),
    ];
    for (field, number, code) in cases {
        let (from, to) = if field == "From" {
            (number, "+14155550123")
        } else {
            ("+15005550006", number)
        };
        let (status, body) = h
            .post(
                "Messages.json",
                &[("To", to), ("From", from), ("Body", "x")],
            )
            .await;
        assert_twilio_error(status, &body, 400, code);
    }
}

#[tokio::test]
async fn message_status_callbacks_arrive_in_order_signed_with_twilios_params() {
    let h = start().await;
    let rx = receiver().await;
    let callback = rx.url("/status?tenant=demo");
    let sent = h
        .send_message(&[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Body", "hi"),
            ("StatusCallback", &callback),
        ])
        .await;
    h.sandbox.wait_idle().await;
    let hooks = rx.hooks();
    let statuses: Vec<&str> = hooks
        .iter()
        .map(|h| h.param("MessageStatus").unwrap())
        .collect();
    assert_eq!(statuses, ["sent", "delivered"]);
    for hook in &hooks {
        assert_eq!(hook.method, "POST");
        assert_eq!(hook.url, callback, "the query string is kept and signed");
        assert_signed(hook, h.token());
        assert_eq!(hook.param("MessageSid"), sent["sid"].as_str());
        assert_eq!(hook.param("SmsSid"), sent["sid"].as_str());
        assert_eq!(hook.param("SmsStatus"), hook.param("MessageStatus"));
        assert_eq!(hook.param("AccountSid"), Some(h.sid()));
        assert_eq!(hook.param("From"), Some("+15005550006"));
        assert_eq!(hook.param("To"), Some("+14155550123"));
        assert_eq!(hook.param("ApiVersion"), Some("2010-04-01"));
        assert_eq!(hook.param("ErrorCode"), None);
    }
}

#[tokio::test]
async fn scripted_numbers_end_undelivered_or_failed_with_error_codes() {
    let h = start().await;
    let rx = receiver().await;
    let cases = [
        (
            "+15005550030",
            vec!["sent", "undelivered"],
            "undelivered",
            30003,
        ),
        (
            "+15005550034",
            vec!["sent", "undelivered"],
            "undelivered",
            30004,
        ),
        (
            "+15005550037",
            vec!["sent", "undelivered"],
            "undelivered",
            30007,
        ),
        ("+15005550050", vec!["failed"], "failed", 30005),
    ];
    for (to, expected_callbacks, final_status, code) in cases {
        let path = format!("/status/{to}");
        let sent = h
            .send_message(&[
                ("To", to),
                ("From", "+15005550006"),
                ("Body", "hi"),
                ("StatusCallback", &rx.url(&path)),
            ])
            .await;
        h.sandbox.wait_idle().await;
        let hooks = rx.at(&path);
        let statuses: Vec<&str> = hooks
            .iter()
            .map(|h| h.param("MessageStatus").unwrap())
            .collect();
        assert_eq!(statuses, expected_callbacks, "{to}");
        let last = hooks.last().unwrap();
        assert_eq!(last.param("ErrorCode"), Some(code.to_string().as_str()));
        assert_signed(last, h.token());
        let (_, fetched) = h
            .get(&format!("Messages/{}.json", sent["sid"].as_str().unwrap()))
            .await;
        assert_resource(&fetched, "api.v2010.account.message");
        assert_eq!(fetched["status"], final_status);
        assert_eq!(fetched["error_code"], code);
        assert!(
            fetched["error_message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[tokio::test]
async fn a_messaging_service_without_from_accepts_then_picks_the_accounts_number() {
    let h = start().await;
    h.sandbox.add_owned_number("+14155550142");
    let sent = h
        .send_message(&[
            ("To", "+14155550123"),
            ("MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"),
            ("Body", "hi"),
        ])
        .await;
    assert_eq!(sent["status"], "accepted");
    assert_eq!(sent["from"], Value::Null);
    assert_resource(&sent, "api.v2010.account.message");
    h.sandbox.wait_idle().await;
    let message = &h.sandbox.messages()[0];
    assert_eq!(message.status, "delivered");
    assert_eq!(message.from.as_deref(), Some("+14155550142"));
}

#[tokio::test]
async fn wait_idle_really_waits_for_paced_callbacks() {
    let h = start_with(|c| c.callback_delay = Duration::from_millis(40)).await;
    let began = Instant::now();
    h.send_message(&[
        ("To", "+14155550123"),
        ("From", "+15005550006"),
        ("Body", "hi"),
    ])
    .await;
    assert_eq!(h.sandbox.messages()[0].status, "queued");
    h.sandbox.wait_idle().await;
    // queued → sending → sent → delivered: three pauses.
    assert!(
        began.elapsed() >= Duration::from_millis(120),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(h.sandbox.messages()[0].status, "delivered");
}

#[tokio::test]
async fn message_lists_filter_page_and_match_the_oai_list_schema() {
    let h = start().await;
    for i in 0..5 {
        h.send_message(&[
            ("To", "+14155550001"),
            ("From", "+15005550006"),
            ("Body", &format!("a{i}")),
        ])
        .await;
    }
    for i in 0..2 {
        h.send_message(&[
            ("To", "+14155550002"),
            ("From", "+14155550999"),
            ("Body", &format!("b{i}")),
        ])
        .await;
    }
    h.sandbox.wait_idle().await;

    let (status, page0) = h.get("Messages.json?To=%2B14155550001&PageSize=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_list(&page0, "Messages.json");
    let bodies = |page: &Value| -> Vec<String> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect()
    };
    // Newest first, as Twilio lists.
    assert_eq!(bodies(&page0), ["a4", "a3"]);
    assert_eq!(page0["page"], 0);
    assert_eq!(page0["page_size"], 2);
    assert_eq!(page0["start"], 0);
    assert_eq!(page0["end"], 1);
    assert_eq!(page0["previous_page_uri"], Value::Null);
    // next_page_uri is relative to the API root, like Twilio's: follow it the way SDKs do.
    let next = page0["next_page_uri"].as_str().unwrap();
    assert!(next.starts_with("/2010-04-01/") && next.contains("To=%2B14155550001"));
    let (_, page1) = h.get_url(&format!("{}{next}", h.base)).await;
    assert_eq!(bodies(&page1), ["a2", "a1"]);
    let next = page1["next_page_uri"].as_str().unwrap();
    let (_, page2) = h.get_url(&format!("{}{next}", h.base)).await;
    assert_eq!(bodies(&page2), ["a0"]);
    assert_eq!(page2["next_page_uri"], Value::Null);
    assert!(page2["previous_page_uri"].is_string());

    let (_, from) = h.get("Messages.json?From=%2B14155550999").await;
    assert_eq!(bodies(&from), ["b1", "b0"]);

    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let (_, sent_today) = h.get(&format!("Messages.json?DateSent={today}")).await;
    assert_eq!(sent_today["messages"].as_array().unwrap().len(), 7);
    let (_, before) = h
        .get(&format!(
            "Messages.json?DateSent%3C={}",
            today.yesterday().unwrap()
        ))
        .await;
    assert_eq!(before["messages"].as_array().unwrap().len(), 0);
    let (_, after) = h.get(&format!("Messages.json?DateSent%3E={today}")).await;
    assert_eq!(after["messages"].as_array().unwrap().len(), 7);
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

async fn place_call(h: &Harness, form: &[(&str, &str)]) -> Value {
    let (status, body) = h.post("Calls.json", form).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_resource(&body, "api.v2010.account.call");
    body
}

#[tokio::test]
async fn an_answered_call_posts_every_requested_event_in_order_and_fetches_its_url() {
    let h = start().await;
    let rx = receiver().await;
    let created = place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Url", &rx.url("/twiml")),
            ("StatusCallback", &rx.url("/status")),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
        ],
    )
    .await;
    let sid = created["sid"].as_str().unwrap();
    assert!(sid.starts_with("CA"));
    assert_eq!(created["status"], "queued");
    assert_eq!(created["direction"], "outbound-api");
    assert_eq!(created["to_formatted"], "(415) 555-0123");
    h.sandbox.wait_idle().await;

    let hooks = rx.hooks();
    let seen: Vec<(String, String)> = hooks
        .iter()
        .map(|h| (h.path.clone(), h.param("CallStatus").unwrap().to_owned()))
        .collect();
    let expected = [
        ("/status", "initiated"),
        ("/status", "ringing"),
        ("/status", "in-progress"),
        ("/twiml", "in-progress"),
        ("/status", "completed"),
    ];
    assert_eq!(
        seen,
        expected.map(|(p, s)| (p.to_owned(), s.to_owned())),
        "callbacks out of order"
    );
    for hook in &hooks {
        assert_signed(hook, h.token());
        assert_eq!(hook.param("CallSid"), Some(sid));
        assert_eq!(hook.param("AccountSid"), Some(h.sid()));
        assert_eq!(hook.param("From"), Some("+15005550006"));
        assert_eq!(hook.param("To"), Some("+14155550123"));
        assert_eq!(hook.param("Direction"), Some("outbound-api"));
        assert_eq!(hook.param("ApiVersion"), Some("2010-04-01"));
    }
    let status_hooks = rx.at("/status");
    let sequence: Vec<&str> = status_hooks
        .iter()
        .map(|h| h.param("SequenceNumber").unwrap())
        .collect();
    assert_eq!(sequence, ["0", "1", "2", "3"]);
    for hook in &status_hooks {
        assert!(jiff::fmt::rfc2822::parse(hook.param("Timestamp").unwrap()).is_ok());
        assert_eq!(hook.param("CallbackSource"), Some("call-progress-events"));
    }
    assert_eq!(status_hooks[3].param("CallDuration"), Some("5"));
    assert_eq!(status_hooks[0].param("CallDuration"), None);

    let (_, fetched) = h.get(&format!("Calls/{sid}.json")).await;
    assert_resource(&fetched, "api.v2010.account.call");
    assert_eq!(fetched["status"], "completed");
    assert_eq!(fetched["duration"], "5");
    assert!(fetched["start_time"].is_string() && fetched["end_time"].is_string());
    let call = &h.sandbox.calls()[0];
    assert_eq!(call.fetched_twiml.as_deref(), Some(SERVED_TWIML));
}

#[tokio::test]
async fn without_status_callback_events_only_completed_is_posted() {
    let h = start().await;
    let rx = receiver().await;
    place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Twiml", "<Response><Hangup/></Response>"),
            ("StatusCallback", &rx.url("/status")),
        ],
    )
    .await;
    h.sandbox.wait_idle().await;
    let hooks = rx.hooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].param("CallStatus"), Some("completed"));
    assert_eq!(hooks[0].param("SequenceNumber"), Some("0"));
    assert_eq!(
        h.sandbox.calls()[0].twiml.as_deref(),
        Some("<Response><Hangup/></Response>")
    );
}

#[tokio::test]
async fn a_subset_of_events_is_honoured_exactly() {
    let h = start().await;
    let rx = receiver().await;
    place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Twiml", "<Response/>"),
            ("StatusCallback", &rx.url("/status")),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "completed"),
        ],
    )
    .await;
    h.sandbox.wait_idle().await;
    let statuses: Vec<String> = rx
        .hooks()
        .iter()
        .map(|h| h.param("CallStatus").unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["ringing", "completed"]);
}

#[tokio::test]
async fn get_status_callbacks_carry_params_in_a_signed_query() {
    let h = start().await;
    let rx = receiver().await;
    place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Twiml", "<Response/>"),
            ("StatusCallback", &rx.url("/status?x=1")),
            ("StatusCallbackMethod", "GET"),
        ],
    )
    .await;
    h.sandbox.wait_idle().await;
    let hook = &rx.hooks()[0];
    assert_eq!(hook.method, "GET");
    assert_eq!(hook.param("x"), Some("1"));
    assert_eq!(hook.param("CallStatus"), Some("completed"));
    assert_signed(hook, h.token());
}

#[tokio::test]
async fn scripted_call_outcomes_end_busy_no_answer_or_failed() {
    let h = start().await;
    let rx = receiver().await;
    let all_events = [
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
    ];
    let cases = [
        ("+15005550020", vec!["initiated", "ringing", "busy"]),
        ("+15005550021", vec!["initiated", "ringing", "no-answer"]),
        ("+15005550022", vec!["initiated", "failed"]),
    ];
    for (to, expected) in cases {
        let path = format!("/status/{to}");
        let callback = rx.url(&path);
        let mut form = vec![
            ("To", to),
            ("From", "+15005550006"),
            ("Url", "https://example.invalid/never-fetched"),
            ("StatusCallback", callback.as_str()),
        ];
        form.extend(all_events);
        let created = place_call(&h, &form).await;
        h.sandbox.wait_idle().await;
        let hooks = rx.at(&path);
        let statuses: Vec<&str> = hooks
            .iter()
            .map(|h| h.param("CallStatus").unwrap())
            .collect();
        assert_eq!(statuses, expected, "{to}");
        assert_eq!(hooks.last().unwrap().param("CallDuration"), Some("0"));
        let (_, fetched) = h
            .get(&format!("Calls/{}.json", created["sid"].as_str().unwrap()))
            .await;
        assert_eq!(fetched["status"], *expected.last().unwrap());
        assert_eq!(fetched["duration"], Value::Null);
    }
    assert!(
        h.sandbox
            .sent_webhooks()
            .iter()
            .all(|w| w.kind != "call-url"),
        "unanswered calls never fetch their Url"
    );
}

#[tokio::test]
async fn invalid_call_requests_get_twilios_codes() {
    let h = start().await;
    let cases: [(&[(&str, &str)], u64); 8] = [
        (
            &[("From", "+15005550006"), ("Url", "https://example.com/a")],
            21201,
        ),
        (
            &[("To", "+14155550123"), ("Url", "https://example.com/a")],
            21213,
        ),
        (&[("To", "+14155550123"), ("From", "+15005550006")], 21205),
        (
            &[
                ("To", "+14155550123"),
                ("From", "+15005550006"),
                ("Url", "nope"),
            ],
            21205,
        ),
        (
            &[
                ("To", "+14155550123"),
                ("From", "+15005550006"),
                ("Url", "https://example.com/a"),
                ("StatusCallbackEvent", "initiated ringing"),
            ],
            21626,
        ),
        (
            &[
                ("To", "+15005550001"),
                ("From", "+15005550006"),
                ("Twiml", "<Response/>"),
            ],
            21217,
        ),
        (
            &[
                ("To", "+15005550002"),
                ("From", "+15005550006"),
                ("Twiml", "<Response/>"),
            ],
            21214,
        ),
        (
            &[
                ("To", "+14155550123"),
                ("From", "+15005550001"),
                ("Twiml", "<Response/>"),
            ],
            21212,
        ),
    ];
    for (form, code) in cases {
        let (status, body) = h.post("Calls.json", form).await;
        assert_twilio_error(status, &body, 400, code);
    }
    assert!(h.sandbox.calls().is_empty());
}

#[tokio::test]
async fn url_wins_over_twiml_as_the_oai_says() {
    let h = start().await;
    let rx = receiver().await;
    place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Url", &rx.url("/twiml")),
            ("Twiml", "<Response><Reject/></Response>"),
        ],
    )
    .await;
    h.sandbox.wait_idle().await;
    let call = &h.sandbox.calls()[0];
    assert_eq!(call.twiml, None);
    assert_eq!(call.fetched_twiml.as_deref(), Some(SERVED_TWIML));
    assert_eq!(rx.at("/twiml").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Recordings
// ---------------------------------------------------------------------------------------------

/// Parses a RIFF/WAVE header and returns (channels, sample rate, bits, data length).
fn parse_wav(bytes: &[u8]) -> (u16, u32, u16, u32) {
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(u32_at(4) as usize, bytes.len() - 8, "RIFF size");
    assert_eq!(&bytes[8..12], b"WAVE");
    assert_eq!(&bytes[12..16], b"fmt ");
    assert_eq!(u16_at(20), 1, "PCM");
    let (channels, rate, bits) = (u16_at(22), u32_at(24), u16_at(34));
    assert_eq!(
        u32_at(28),
        rate * u32::from(channels) * u32::from(bits / 8),
        "byte rate"
    );
    assert_eq!(&bytes[36..40], b"data");
    let data_len = u32_at(40);
    assert_eq!(bytes.len(), 44 + data_len as usize);
    (channels, rate, bits, data_len)
}

async fn download(h: &Harness, url: &str, auth: bool) -> reqwest::Response {
    let request = h.http.get(url);
    let request = if auth {
        request.basic_auth(h.sid(), Some(h.token()))
    } else {
        request
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_recorded_call_yields_a_signed_recording_callback_and_a_wav_of_its_length() {
    let h = start().await;
    let rx = receiver().await;
    let created = place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Twiml", "<Response><Pause length=\"5\"/></Response>"),
            ("Record", "true"),
            ("StatusCallback", &rx.url("/status")),
            ("RecordingStatusCallback", &rx.url("/recording")),
        ],
    )
    .await;
    h.sandbox.wait_idle().await;

    let recording_hooks = rx.at("/recording");
    assert_eq!(recording_hooks.len(), 1, "only `completed` by default");
    let hook = &recording_hooks[0];
    assert_signed(hook, h.token());
    let recording_sid = hook.param("RecordingSid").unwrap();
    assert!(recording_sid.starts_with("RE"));
    assert_eq!(hook.param("RecordingStatus"), Some("completed"));
    assert_eq!(hook.param("RecordingDuration"), Some("5"));
    assert_eq!(hook.param("RecordingChannels"), Some("1"));
    assert_eq!(hook.param("RecordingSource"), Some("OutboundAPI"));
    assert_eq!(hook.param("CallSid"), created["sid"].as_str());
    assert_eq!(hook.param("AccountSid"), Some(h.sid()));
    let media_url = hook.param("RecordingUrl").unwrap();
    assert_eq!(
        media_url,
        h.api(&format!("Recordings/{recording_sid}")),
        "an absolute URL on the sandbox, no extension"
    );
    let completed = &rx.at("/status")[0];
    assert_eq!(completed.param("RecordingUrl"), Some(media_url));

    let unauthenticated = download(&h, media_url, false).await;
    assert_eq!(
        unauthenticated.status().as_u16(),
        401,
        "media needs Basic auth"
    );
    for url in [media_url.to_owned(), format!("{media_url}.wav")] {
        let response = download(&h, &url, true).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "audio/x-wav");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(parse_wav(&bytes), (1, 8000, 16, 8000 * 2 * 5));
    }

    let (_, metadata) = h.get(&format!("Recordings/{recording_sid}.json")).await;
    assert_resource(&metadata, "api.v2010.account.recording");
    assert_eq!(metadata["duration"], "5");
    assert_eq!(metadata["status"], "completed");
    assert_eq!(metadata["call_sid"], created["sid"]);
    let (_, listed) = h
        .get(&format!(
            "Recordings.json?CallSid={}",
            created["sid"].as_str().unwrap()
        ))
        .await;
    assert_list(&listed, "Recordings.json");
    assert_eq!(listed["recordings"][0]["sid"], recording_sid);
}

#[tokio::test]
async fn recording_in_progress_event_is_posted_when_asked_for() {
    let h = start().await;
    let rx = receiver().await;
    place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Twiml", "<Response/>"),
            ("Record", "true"),
            ("RecordingStatusCallback", &rx.url("/recording")),
            ("RecordingStatusCallbackEvent", "in-progress completed"),
        ],
    )
    .await;
    h.sandbox.wait_idle().await;
    let statuses: Vec<String> = rx
        .hooks()
        .iter()
        .map(|h| h.param("RecordingStatus").unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["in-progress", "completed"]);
}

#[tokio::test]
async fn mp3_media_is_mpeg_audio_frames() {
    let h = start().await;
    let info = h
        .sandbox
        .create_recording("CA0123456789abcdef0123456789abcdef", 2);
    let response = download(&h, &format!("{}.mp3", info.media_url), true).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "audio/mpeg");
    let bytes = response.bytes().await.unwrap();
    // MPEG-1 Layer III frame sync on every 144-byte frame; 2 s / 36 ms → 56 frames.
    assert_eq!(bytes.len(), 56 * 144);
    assert!(
        bytes
            .chunks(144)
            .all(|f| f[0] == 0xFF && f[1] & 0xE0 == 0xE0)
    );
}

#[tokio::test]
async fn media_can_be_not_ready_for_the_first_gets() {
    let h = start_with(|c| c.media_not_ready_for = 2).await;
    let info = h
        .sandbox
        .create_recording("CA0123456789abcdef0123456789abcdef", 1);
    for _ in 0..2 {
        let (status, body) = json_of(download(&h, &info.media_url, true).await).await;
        assert_twilio_error(status, &body, 404, 20404);
    }
    let ready = download(&h, &info.media_url, true).await;
    assert_eq!(ready.status().as_u16(), 200);
    let (_, _, _, data) = parse_wav(&ready.bytes().await.unwrap());
    assert_eq!(data, 8000 * 2);
}

#[tokio::test]
async fn recordings_made_for_the_simulator_download_like_twilios() {
    let h = start().await;
    let info = h
        .sandbox
        .create_recording("CA0123456789abcdef0123456789abcdef", 3);
    assert!(info.sid.starts_with("RE"));
    let bytes = download(&h, &info.media_url, true)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(parse_wav(&bytes).3, 8000 * 2 * 3);

    // The same over HTTP, form and JSON, without auth (sandbox-only endpoint).
    let by_form = h
        .http
        .post(format!("{}/sandbox/recordings", h.base))
        .form(&[
            ("CallSid", "CA0123456789abcdef0123456789abcdef"),
            ("Duration", "4"),
        ])
        .send()
        .await
        .unwrap();
    let (status, made) = json_of(by_form).await;
    assert_eq!(status, StatusCode::CREATED);
    let url = made["url"].as_str().unwrap();
    assert!(made["sid"].as_str().unwrap().starts_with("RE"));
    let bytes = download(&h, url, true).await.bytes().await.unwrap();
    assert_eq!(parse_wav(&bytes).3, 8000 * 2 * 4);

    let by_json = h
        .http
        .post(format!("{}/sandbox/recordings", h.base))
        .json(&json!({"CallSid": "CA0123456789abcdef0123456789abcdef", "Duration": 2}))
        .send()
        .await
        .unwrap();
    let (_, made) = json_of(by_json).await;
    let bytes = download(&h, made["url"].as_str().unwrap(), true)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(parse_wav(&bytes).3, 8000 * 2 * 2);

    let missing = h
        .http
        .post(format!("{}/sandbox/recordings", h.base))
        .form(&[("Duration", "4")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 400);
    assert_eq!(h.sandbox.recordings().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

fn phone_numbers(list: &Value) -> Vec<String> {
    list["available_phone_numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["phone_number"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn available_numbers_match_the_oai_and_honour_filters() {
    let h = start().await;
    let (status, local) = h
        .get("AvailablePhoneNumbers/US/Local.json?AreaCode=415&PageSize=20")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_list(&local, "AvailablePhoneNumbers/{CountryCode}/Local.json");
    let numbers = phone_numbers(&local);
    assert_eq!(numbers.len(), 20);
    assert!(numbers.iter().all(|n| n.starts_with("+1415555")));
    let first = &local["available_phone_numbers"][0];
    assert_eq!(first["friendly_name"], "(415) 555-0100");
    assert_eq!(first["locality"], "San Francisco");
    assert_eq!(first["region"], "CA");
    assert_eq!(first["iso_country"], "US");
    assert_eq!(
        first["capabilities"],
        json!({"voice": true, "sms": true, "mms": true, "fax": false})
    );

    // +1415555 0109 is voice-only, so SmsEnabled=true skips it.
    assert!(numbers.contains(&"+14155550109".to_owned()));
    let (_, sms) = h
        .get("AvailablePhoneNumbers/US/Local.json?AreaCode=415&SmsEnabled=true&PageSize=20")
        .await;
    let sms = phone_numbers(&sms);
    assert!(!sms.contains(&"+14155550109".to_owned()));
    assert_eq!(sms.len(), 20);

    // Letters are keypad digits: STORM = 78676.
    let (_, storm) = h
        .get("AvailablePhoneNumbers/US/Local.json?AreaCode=212&Contains=STORM")
        .await;
    let storm = phone_numbers(&storm);
    assert!(!storm.is_empty());
    assert!(
        storm
            .iter()
            .all(|n| n.starts_with("+1212") && n.contains("78676")),
        "{storm:?}"
    );

    let (_, toll_free) = h
        .get("AvailablePhoneNumbers/US/TollFree.json?PageSize=3")
        .await;
    assert_list(
        &toll_free,
        "AvailablePhoneNumbers/{CountryCode}/TollFree.json",
    );
    assert_eq!(
        phone_numbers(&toll_free),
        ["+18005550100", "+18005550101", "+18005550102"]
    );

    let (_, mobile) = h
        .get("AvailablePhoneNumbers/US/Mobile.json?PageSize=2")
        .await;
    assert_list(&mobile, "AvailablePhoneNumbers/{CountryCode}/Mobile.json");
    assert_eq!(phone_numbers(&mobile), ["+14155550200", "+14155550201"]);

    // Owned numbers are never offered.
    h.sandbox.add_owned_number("+14155550100");
    let (_, after) = h
        .get("AvailablePhoneNumbers/US/Local.json?PageSize=1")
        .await;
    assert_eq!(phone_numbers(&after), ["+14155550101"]);
}

#[tokio::test]
async fn buy_list_update_release_round_trip() {
    let h = start().await;
    let (_, found) = h
        .get("AvailablePhoneNumbers/US/Local.json?AreaCode=312&PageSize=1")
        .await;
    let number = phone_numbers(&found).remove(0);

    let (status, bought) = h
        .post(
            "IncomingPhoneNumbers.json",
            &[
                ("PhoneNumber", &number),
                ("FriendlyName", "Support line"),
                ("VoiceUrl", "https://switchboard.example/voice"),
                ("VoiceMethod", "POST"),
                ("SmsUrl", "https://switchboard.example/sms"),
                ("SmsMethod", "GET"),
                ("StatusCallback", "https://switchboard.example/status"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    assert_resource(&bought, "api.v2010.account.incoming_phone_number");
    let sid = bought["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("PN"));
    assert_eq!(bought["phone_number"], number);
    assert_eq!(bought["friendly_name"], "Support line");
    assert_eq!(bought["voice_url"], "https://switchboard.example/voice");
    assert_eq!(bought["sms_url"], "https://switchboard.example/sms");
    assert_eq!(bought["sms_method"], "GET");
    assert_eq!(
        bought["status_callback"],
        "https://switchboard.example/status"
    );

    // Buying it twice, or Twilio's unavailable test number, fails with 21422.
    for unavailable in [number.as_str(), "+15005550000"] {
        let (status, body) = h
            .post("IncomingPhoneNumbers.json", &[("PhoneNumber", unavailable)])
            .await;
        assert_twilio_error(status, &body, 400, 21422);
    }

    let (_, listed) = h
        .get(&format!(
            "IncomingPhoneNumbers.json?PhoneNumber={}",
            number.replace('+', "%2B")
        ))
        .await;
    assert_list(&listed, "IncomingPhoneNumbers.json");
    assert_eq!(
        listed["incoming_phone_numbers"].as_array().unwrap().len(),
        1
    );
    assert_eq!(listed["incoming_phone_numbers"][0]["sid"], sid.as_str());

    let (status, updated) = h
        .post(
            &format!("IncomingPhoneNumbers/{sid}.json"),
            &[
                ("VoiceUrl", "https://switchboard.example/v2"),
                ("SmsUrl", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_resource(&updated, "api.v2010.account.incoming_phone_number");
    assert_eq!(updated["voice_url"], "https://switchboard.example/v2");
    assert_eq!(
        updated["sms_url"],
        Value::Null,
        "an empty value clears; an unset URL is null, as every other unset URL"
    );
    assert_eq!(
        updated["friendly_name"], "Support line",
        "untouched fields stay"
    );
    let (_, fetched) = h.get(&format!("IncomingPhoneNumbers/{sid}.json")).await;
    assert_eq!(fetched, updated);

    let released = h
        .http
        .delete(h.api(&format!("IncomingPhoneNumbers/{sid}.json")))
        .basic_auth(h.sid(), Some(h.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status().as_u16(), 204);
    let (status, body) = h.get(&format!("IncomingPhoneNumbers/{sid}.json")).await;
    assert_twilio_error(status, &body, 404, 20404);
    let (_, listed) = h.get("IncomingPhoneNumbers.json").await;
    assert_eq!(listed["incoming_phone_numbers"], json!([]));
    // Released numbers can be bought again.
    let (status, _) = h
        .post("IncomingPhoneNumbers.json", &[("PhoneNumber", &number)])
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn buying_by_area_code_provisions_the_first_free_number() {
    let h = start().await;
    let (status, bought) = h
        .post("IncomingPhoneNumbers.json", &[("AreaCode", "212")])
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(bought["phone_number"], "+12125550100");
    assert_eq!(bought["friendly_name"], "(212) 555-0100");
    let (_, second) = h
        .post("IncomingPhoneNumbers.json", &[("AreaCode", "212")])
        .await;
    assert_eq!(second["phone_number"], "+12125550101");
    let (status, body) = h.post("IncomingPhoneNumbers.json", &[]).await;
    assert_twilio_error(status, &body, 400, 21421);
}

#[tokio::test]
async fn seeded_numbers_are_owned_and_named_on_calls() {
    let h = start().await;
    let sid = h.sandbox.add_owned_number("+15005550006");
    assert_eq!(
        h.sandbox.add_owned_number("+15005550006"),
        sid,
        "idempotent"
    );
    let (_, listed) = h.get("IncomingPhoneNumbers.json").await;
    assert_eq!(listed["incoming_phone_numbers"][0]["sid"], sid.as_str());
    let call = place_call(
        &h,
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Twiml", "<Response/>"),
        ],
    )
    .await;
    assert_eq!(call["phone_number_sid"], sid.as_str());
}

// ---------------------------------------------------------------------------------------------
// Inspection
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_request_log_records_every_rest_request_until_cleared() {
    let h = start().await;
    h.post(
        "Calls.json",
        &[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Twiml", "<Response/>"),
            ("StatusCallback", "http://127.0.0.1:9/none"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "completed"),
        ],
    )
    .await;
    h.get("Messages.json?To=%2B14155550123").await;
    let _ = h.http.get(h.api("Messages.json")).send().await.unwrap(); // no auth: logged too

    let log = h.sandbox.received_requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "POST");
    assert_eq!(
        log[0].path,
        format!("/2010-04-01/Accounts/{}/Calls.json", h.sid())
    );
    assert_eq!(log[0].status, 201);
    assert_eq!(log[0].auth_user.as_deref(), Some(h.sid()));
    let events: Vec<&str> = log[0]
        .params
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        events,
        ["ringing", "completed"],
        "repeated keys kept in order"
    );
    assert_eq!(log[1].method, "GET");
    assert_eq!(log[1].param("To"), Some("+14155550123"));
    assert_eq!(log[1].query.as_deref(), Some("To=%2B14155550123"));
    assert_eq!(log[2].status, 401);
    assert_eq!(log[2].auth_user, None);

    // The same log over HTTP, without auth.
    let over_http: Value = h
        .http
        .get(format!("{}/sandbox/requests", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http.as_array().unwrap().len(), 3);
    assert_eq!(over_http[0]["method"], "POST");
    assert_eq!(over_http[0]["params"][0], json!(["To", "+14155550123"]));

    let cleared = h
        .http
        .delete(format!("{}/sandbox/requests", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status().as_u16(), 204);
    assert!(h.sandbox.received_requests().is_empty());
    // Sandbox endpoints themselves are not REST requests and are not logged.
    let _ = h
        .http
        .get(format!("{}/sandbox/state", h.base))
        .send()
        .await
        .unwrap();
    assert!(h.sandbox.received_requests().is_empty());
}

#[tokio::test]
async fn the_state_endpoint_shows_resources_and_webhooks() {
    let h = start().await;
    let rx = receiver().await;
    h.sandbox.add_owned_number("+15005550006");
    let sent = h
        .send_message(&[
            ("To", "+14155550123"),
            ("From", "+15005550006"),
            ("Body", "hi"),
            ("StatusCallback", &rx.url("/status")),
        ])
        .await;
    h.sandbox
        .create_recording("CA0123456789abcdef0123456789abcdef", 1);
    h.sandbox.wait_idle().await;
    let state: Value = h
        .http
        .get(format!("{}/sandbox/state", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["messages"][0]["sid"], sent["sid"]);
    assert_eq!(state["messages"][0]["status"], "delivered");
    assert_eq!(state["numbers"][0]["phone_number"], "+15005550006");
    assert_eq!(state["recordings"][0]["duration_secs"], 1);
    assert_eq!(state["calls"], json!([]));
    let webhooks = state["webhooks"].as_array().unwrap();
    assert_eq!(webhooks.len(), 2);
    assert!(
        webhooks
            .iter()
            .all(|w| w["kind"] == "message-status" && w["status"] == 200)
    );
}

// ---------------------------------------------------------------------------------------------
// Twilio's own SDK against the sandbox
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_python_sdk_speaks_to_the_sandbox() {
    let import = tokio::process::Command::new("python3")
        .args(["-c", "import twilio"])
        .output()
        .await;
    let importable = import.as_ref().is_ok_and(|o| o.status.success());
    if !importable {
        let why = match &import {
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            Err(e) => format!("python3: {e}"),
        };
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install twilio==9.13.0 for this test: {why}"
        );
        println!(
            "SKIP twilio_python_sdk_speaks_to_the_sandbox: `import twilio` failed ({why}); pip install twilio==9.13.0"
        );
        return;
    }
    // Calls dwell a second in each state, so the script can update one while it rings or talks.
    let h = start_with(|c| c.callback_delay = Duration::from_secs(1)).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sdk_against_sandbox.py");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3")
            .arg(&script)
            .args([h.base.as_str(), h.sid(), h.token()])
            .output(),
    )
    .await
    .expect("the SDK script finished within 2 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "SDK script failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The SDK really went through the sandbox, not somewhere else.
    let log = h.sandbox.received_requests();
    assert!(
        log.iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
    );
    assert!(
        log.iter()
            .any(|r| r.path.contains("/AvailablePhoneNumbers/US/Local.json"))
    );
}

/// The inspection routes show every message and call: a peer that is not on loopback (here: one
/// whose address the server does not know, which must count as remote) needs the credentials.
#[tokio::test]
async fn inspection_routes_answer_loopback_or_the_sandbox_credentials_only() {
    switchboard_twilio::tls::ensure_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = Sandbox::new(SandboxConfig::development(Url::parse(&base).unwrap()));
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    for path in ["/sandbox/state", "/sandbox/requests"] {
        let anonymous = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401, "{path}");
        let wrong = http
            .get(format!("{base}{path}"))
            .basic_auth(DEV_ACCOUNT_SID, Some("not-the-token"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 401, "{path}");
        let signed_in = http
            .get(format!("{base}{path}"))
            .basic_auth(DEV_ACCOUNT_SID, Some(DEV_AUTH_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status().as_u16(), 200, "{path}");
    }
    let deleted = http
        .delete(format!("{base}/sandbox/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 401);
}

/// Hanging up through the API, as Twilio's `POST Calls/{Sid}.json` does: the play-out stops and the
/// status callback reports the final status once; a completed call's duration is its end time minus
/// its start time.
#[tokio::test]
async fn calls_can_be_canceled_completed_and_redirected_through_the_api() {
    let h = start_with(|c| c.callback_delay = Duration::from_millis(300)).await;
    let rx = receiver().await;
    let callback = rx.url("/status");
    let form = [
        ("To", "+14155550123"),
        ("From", "+15005550006"),
        ("Twiml", "<Response><Pause length=\"60\"/></Response>"),
        ("StatusCallback", callback.as_str()),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
    ];
    let queued = place_call(&h, &form).await;
    let sid = queued["sid"].as_str().unwrap().to_string();
    let (status, canceled) = h
        .post(&format!("Calls/{sid}.json"), &[("Status", "canceled")])
        .await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    h.sandbox.wait_idle().await;
    let hooks = rx.at("/status");
    let statuses: Vec<&str> = hooks
        .iter()
        .map(|h| h.param("CallStatus").unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["canceled"],
        "one final callback, nothing after it"
    );
    assert!(
        h.sandbox
            .sent_webhooks()
            .iter()
            .all(|w| w.kind != "call-url")
    );

    // A call that runs its course: its duration agrees with its times.
    let natural = place_call(&h, &form[..4]).await;
    h.sandbox.wait_idle().await;
    let (_, c) = h
        .get(&format!("Calls/{}.json", natural["sid"].as_str().unwrap()))
        .await;
    assert_eq!(c["status"], "completed");
    let t = |k: &str| {
        jiff::fmt::rfc2822::parse(c[k].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    let length = t("end_time").duration_since(t("start_time")).as_secs();
    assert_eq!(c["duration"].as_str().unwrap(), length.to_string(), "{c}");

    // Nothing to redirect once it has ended, and a Status Twilio does not know is refused.
    let (status, err) = h
        .post(
            &format!("Calls/{}.json", natural["sid"].as_str().unwrap()),
            &[("Twiml", "<Response/>")],
        )
        .await;
    assert_eq!(
        (status, err["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(21220))
    );
    let (status, _) = h
        .post(&format!("Calls/{sid}.json"), &[("Status", "busy")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
