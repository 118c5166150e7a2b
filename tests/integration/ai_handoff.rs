//! AI voice-agent hand-off (strategy `ai_assistant`): each connector's TwiML, the provider contract,
//! every way the provider can fail falling back to the tenant's normal route with a note on the
//! call, AI after hours with staff in hours, and the configuration's validation.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use switchboard::domain::CallSid;

use quick_xml::Reader;
use quick_xml::events::Event;
use reqwest::Method;
use serde_json::{Value, json};
use switchboard::db;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{TestApp, app};
use crate::voice::{MONDAY_10AM_NY, NUMBER, salon, set_clock, signed_post};

const ANN: &str = "+14155550101";
/// The declaration the TwiML builder starts every document with.
const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
const CALLER: &str = "+14155550142";
const AGENT: &str = "+14155550177";
/// Monday 2026-11-23, 20:00 in New York: closed.
const MONDAY_8PM_NY: &str = "2026-11-24T01:00:00Z";

/// One element of a TwiML answer, for asserting structure rather than attribute order.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).map(String::as_str).unwrap_or("")
    }
    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no <{name}> in {self:#?}"))
    }
    fn has(&self, name: &str) -> bool {
        self.children.iter().any(|c| c.name == name)
    }
}

/// Parses a TwiML document (panics on malformed XML: Switchboard must never answer that).
fn parse(xml: &str) -> Node {
    fn open(e: &quick_xml::events::BytesStart) -> Node {
        let qname = e.name();
        let name: &str = qname.as_ref();
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let key: &str = a.key.as_ref();
                (
                    key.to_string(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect();
        Node {
            name: name.to_string(),
            attrs,
            ..Node::default()
        }
    }
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("{e}: {xml}")) {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let n = open(&e);
                stack.last_mut().unwrap().children.push(n);
            }
            Event::End(_) => {
                let n = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(n);
            }
            Event::Text(t) => {
                let s: &str = t.as_ref();
                stack.last_mut().unwrap().text.push_str(s.trim());
            }
            Event::GeneralRef(r) => {
                let s = match r.xml10_content().as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                };
                stack.last_mut().unwrap().text.push_str(s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1, "one root: {xml}");
    let response = root.children.remove(0);
    assert_eq!(response.name, "Response", "{xml}");
    response
}

async fn ai_salon(app: &TestApp, ai: Value) -> String {
    salon(app, json!({"strategy": "ai_assistant", "aiAssistant": ai})).await
}

/// Sends the voice webhook for a new call and returns the TwiML.
async fn ring(app: &TestApp, call_sid: &str) -> String {
    let (status, body) = signed_post(
        app,
        "/api/webhooks/twilio/voice",
        &[
            ("CallSid", call_sid),
            ("From", CALLER),
            ("To", NUMBER),
            ("CallStatus", "ringing"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn call(app: &TestApp, call_sid: &str) -> db::calls::Call {
    db::calls::get_by_sid(&app.state.db, &CallSid::stored(call_sid))
        .await
        .unwrap()
        .expect("call logged")
}

fn notes(c: &db::calls::Call) -> Vec<String> {
    c.notes
        .as_deref()
        .unwrap_or("")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The normal route's first step: the greeting, then Ann (first on duty) rung with the dial action.
fn assert_rings_ann(body: &str, call_sid: &str) {
    let doc = parse(body);
    assert!(
        doc.child("Say")
            .text
            .contains("Please hold while we connect you"),
        "{body}"
    );
    let dial = doc.child("Dial");
    assert_eq!(
        dial.attr("action"),
        format!("/webhooks/twilio/call/status/{call_sid}")
    );
    assert_eq!(dial.child("Number").text, ANN, "{body}");
    assert!(!doc.has("Connect"), "{body}");
}

async fn set_policy(app: &TestApp, tenant: &str, policy: Value) -> crate::support::Resp {
    app.admin(
        Method::PATCH,
        &format!("/api/admin/tenants/{tenant}"),
        Some(json!({ "routingPolicy": policy })),
    )
    .await
}

/// The `provider_twiml` configuration of a provider played by `server`, a wiremock server on this
/// machine: the app must allow private destinations (`support::Builder::private_destinations`).
fn provider(server: &MockServer, extra: Value) -> Value {
    let mut ai = json!({"connector": "provider_twiml", "url": format!("{}/v1/call", server.uri())});
    ai.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    ai
}

#[tokio::test]
async fn stream_connector_connects_with_the_call_parameters() {
    let app = app().start().await;
    let tenant = ai_salon(
        &app,
        json!({"connector": "stream", "url": "wss://agent.example/media?token=s3cret",
               "parameters": {"voice": "warm", "lang": "en"}}),
    )
    .await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a01";
    let body = ring(&app, sid).await;
    let c = call(&app, sid).await;
    let doc = parse(&body);
    assert_eq!(doc.children.len(), 1, "only the hand-off: {body}");
    let stream = doc.child("Connect").child("Stream");
    assert_eq!(stream.attr("url"), "wss://agent.example/media?token=s3cret");
    let params: Vec<(&str, &str)> = stream
        .children
        .iter()
        .map(|p| {
            assert_eq!(p.name, "Parameter");
            (p.attr("name"), p.attr("value"))
        })
        .collect();
    assert_eq!(
        params,
        [
            ("tenantId", tenant.as_str()),
            ("callId", c.id.as_str()),
            ("callSid", sid),
            ("caller", CALLER),
            ("businessName", "Bella Salon"),
            ("lang", "en"),
            ("voice", "warm"),
        ]
    );
    assert_eq!(c.strategy, "ai_assistant");
    assert_eq!(
        notes(&c),
        ["AI hand-off (stream): streaming to wss://agent.example/media"],
        "logged without the URL's token"
    );
    // Twilio's retry re-renders the same answer from the stored call and notes it once.
    let again = ring(&app, sid).await;
    assert_eq!(again, body);
    assert_eq!(notes(&call(&app, sid).await).len(), 1);
}

#[tokio::test]
async fn dial_connector_rings_the_agent_number_then_staff_when_it_does_not_answer() {
    let app = app().start().await;
    ai_salon(&app, json!({"connector": "dial", "number": AGENT})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a02";
    let body = ring(&app, sid).await;
    let doc = parse(&body);
    let dial = doc.child("Dial");
    assert_eq!(dial.child("Number").text, AGENT, "{body}");
    assert_eq!(
        dial.attr("callerId"),
        NUMBER,
        "the tenant's number by default"
    );
    assert_eq!(
        dial.attr("action"),
        format!("/webhooks/twilio/call/status/{sid}")
    );
    assert_eq!(
        notes(&call(&app, sid).await),
        [format!("AI hand-off (dial): dialling {AGENT}")]
    );
    // The agent does not answer: the plan's first target (Ann) is rung next, not skipped.
    let (status, next) = signed_post(
        &app,
        &format!("/webhooks/twilio/call/status/{sid}"),
        &[
            ("CallSid", sid),
            ("DialCallStatus", "no-answer"),
            ("CallStatus", "in-progress"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let doc = parse(&next);
    assert_eq!(doc.child("Dial").child("Number").text, ANN, "{next}");
    let (_, done) = signed_post(
        &app,
        &format!("/webhooks/twilio/call/status/{sid}"),
        &[
            ("CallSid", sid),
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "30"),
            ("CallStatus", "in-progress"),
        ],
    )
    .await;
    assert!(parse(&done).children.is_empty(), "{done}");
    let c = call(&app, sid).await;
    assert_eq!(c.forwarded_to.as_deref(), Some(ANN));
    assert!(c.answered_at.is_some() && !c.missed);
}

#[tokio::test]
async fn dial_connector_calls_a_sip_uri_showing_the_caller_when_configured() {
    let app = app().start().await;
    ai_salon(
        &app,
        json!({"connector": "dial", "sip": "sip:agent@voice.example.com;transport=tls",
               "callerId": CALLER}),
    )
    .await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a03";
    let body = ring(&app, sid).await;
    let dial = parse(&body);
    let dial = dial.child("Dial");
    assert_eq!(
        dial.child("Sip").text,
        "sip:agent@voice.example.com;transport=tls"
    );
    assert!(!dial.has("Number"), "{body}");
    assert_eq!(
        dial.attr("callerId"),
        CALLER,
        "the caller's own number may be shown"
    );
}

#[tokio::test]
async fn dial_connector_never_shows_a_number_that_is_not_the_tenants_or_the_callers() {
    let app = app().start().await;
    // Another business's number on the shared Twilio account.
    let other = "+14155550188";
    ai_salon(
        &app,
        json!({"connector": "dial", "number": AGENT, "callerId": other}),
    )
    .await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a07";
    let body = ring(&app, sid).await;
    assert_eq!(
        parse(&body).child("Dial").attr("callerId"),
        NUMBER,
        "{body}"
    );
    assert_eq!(
        notes(&call(&app, sid).await),
        [format!(
            "AI hand-off (dial): dialling {AGENT} (callerId {other} ignored: not this business's number)"
        )]
    );
}

#[tokio::test]
async fn provider_twiml_that_would_act_on_the_shared_account_falls_back() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    let evil = format!(
        "<Response><Redirect>{}/api/webhooks/twilio/sms?Body=STOP</Redirect></Response>",
        app.state
            .config
            .server
            .app_url
            .as_str()
            .trim_end_matches('/')
    );
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(evil))
        .mount(&server)
        .await;
    ai_salon(&app, provider(&server, json!({}))).await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a08";
    let body = ring(&app, sid).await;
    assert_rings_ann(&body, sid);
    assert!(!body.contains("Redirect"), "{body}");
    assert_eq!(
        notes(&call(&app, sid).await),
        [
            "AI hand-off (provider_twiml): fell back: refused TwiML: <Redirect> is not allowed (only Say, Play, Pause, Hangup and Connect/Stream)"
        ]
    );
}

#[tokio::test]
async fn provider_twiml_gets_the_documented_request_and_is_answered_as_rewritten() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    let twiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Connect><Stream url=\"wss://vapi.example/s/1\"><Parameter name=\"x\" value=\"a&amp;b\"/></Stream></Connect><Pause length=\"2\"/></Response>";
    Mock::given(method("POST"))
        .and(path("/v1/call"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("content-type", "text/xml")
                .set_body_string(format!("\n{twiml}\n")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let tenant = ai_salon(
        &app,
        provider(
            &server,
            json!({"apiKey": "vapi-key-123", "assistantId": "asst_42",
                   "metadata": {"plan": "gold", "tenantId": "spoofed"}}),
        ),
    )
    .await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a04";
    let body = ring(&app, sid).await;
    assert_eq!(
        body,
        format!(
            "{DECL}<Response><Connect><Stream url=\"wss://vapi.example/s/1\"><Parameter name=\"x\" value=\"a&amp;b\"/></Stream></Connect><Pause length=\"2\"/></Response>"
        ),
        "the provider's document, as the builder writes it"
    );
    let c = call(&app, sid).await;
    assert_eq!(
        notes(&c),
        ["AI hand-off (provider_twiml): provider TwiML answered (HTTP 201)"]
    );
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(
        req.headers.get("authorization").unwrap(),
        "Bearer vapi-key-123"
    );
    assert!(
        req.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let sent: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        sent,
        json!({
            "assistantId": "asst_42",
            "type": "inboundPhoneCall",
            "phoneCallProviderBypassEnabled": true,
            "customer": {"number": CALLER},
            "phoneNumber": {"twilioPhoneNumber": NUMBER},
            "metadata": {
                "plan": "gold",
                "tenantId": tenant,
                "callId": c.id,
                "callSid": sid,
                "caller": CALLER,
                "businessName": "Bella Salon",
            },
        })
    );
}

#[tokio::test]
async fn provider_json_answers_carry_the_twiml_in_twiml_or_vapis_field() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    let first = "<Response><Say>Connecting you to our assistant.</Say></Response>";
    let second = "<Response><Connect><Stream url=\"wss://vapi.example/s/2\"/></Connect></Response>";
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"twiml": first})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"id": "call_1", "phoneCallProviderDetails": {"twiml": second}}),
            ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    ai_salon(&app, provider(&server, json!({}))).await;
    set_clock(&app, MONDAY_10AM_NY);
    assert_eq!(
        ring(&app, "CA00000000000000000000000000000a05").await,
        format!("{DECL}{first}")
    );
    assert_eq!(
        ring(&app, "CA00000000000000000000000000000a06").await,
        format!("{DECL}{second}")
    );
    let got = server.received_requests().await.unwrap();
    assert!(
        got[0].headers.get("authorization").is_none(),
        "no key configured, none sent"
    );
    let sent: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert!(sent.get("assistantId").is_none(), "{sent}");
}

#[tokio::test]
async fn provider_timeout_falls_back_to_staff_with_a_note() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("<Response><Say>too late</Say></Response>")
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    ai_salon(&app, provider(&server, json!({"timeoutMs": 500}))).await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a07";
    let started = Instant::now();
    let body = ring(&app, sid).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the caller waited {:?}, not the 500 ms timeout",
        started.elapsed()
    );
    assert_rings_ann(&body, sid);
    assert!(!body.contains("too late"));
    let c = call(&app, sid).await;
    assert_eq!(
        notes(&c),
        ["AI hand-off (provider_twiml): fell back: timeout after 500 ms"]
    );
    assert_eq!(c.strategy, "ai_assistant", "the plan is kept");
}

#[tokio::test]
async fn provider_errors_fall_back_to_the_normal_route() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<Response/>"))
        .mount(&server)
        .await;
    let tenant = ai_salon(&app, provider(&server, json!({}))).await;
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a08";
    assert_rings_ann(&ring(&app, sid).await, sid);
    assert_eq!(
        notes(&call(&app, sid).await),
        ["AI hand-off (provider_twiml): fell back: provider answered HTTP 500"]
    );
    // Nothing listening: a connection error falls back the same way.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = set_policy(
        &app,
        &tenant,
        json!({"strategy": "ai_assistant", "aiAssistant": {"connector": "provider_twiml",
               "url": format!("http://127.0.0.1:{closed}/v1/call")}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sid = "CA00000000000000000000000000000a09";
    assert_rings_ann(&ring(&app, sid).await, sid);
    assert_eq!(
        notes(&call(&app, sid).await),
        [format!(
            "AI hand-off (provider_twiml): fell back: could not connect to http://127.0.0.1:{closed}/v1/call"
        )]
    );
}

/// A provider URL on this machine stored before destinations were checked (or with the operator's
/// permission since withdrawn) is not requested: the call falls back, saying why.
#[tokio::test]
async fn a_private_provider_is_not_asked_when_the_call_comes() {
    let app = app().start().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<Response><Hangup/></Response>"))
        .mount(&server)
        .await;
    let tenant = ai_salon(
        &app,
        json!({"connector": "provider_twiml", "url": "https://ai.example/v1/call"}),
    )
    .await;
    let mut t = db::tenants::get(&app.state.db, &tenant)
        .await
        .unwrap()
        .unwrap();
    for (i, (url, why)) in [
        (
            format!("{}/v1/call", server.uri()),
            "refused destination: a loopback address (127.0.0.1)",
        ),
        (
            format!("http://localhost:{}/v1/call", server.address().port()),
            "refused destination: a local or private-use name (localhost)",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        t.routing_policy.ai_assistant.as_mut().unwrap().url = Some(url.clone());
        db::tenants::update(&app.state.db, &t).await.unwrap();
        app.state.routing.invalidate();
        set_clock(&app, MONDAY_10AM_NY);
        let sid = format!("CA00000000000000000000000000000b0{i}");
        assert_rings_ann(&ring(&app, &sid).await, &sid);
        assert_eq!(
            notes(&call(&app, &sid).await),
            [format!("AI hand-off (provider_twiml): fell back: {why}")],
            "{url}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn malformed_provider_twiml_falls_back() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    let answers = [
        (
            ResponseTemplate::new(200).set_body_string("Sure, connecting you now!"),
            "malformed TwiML: the answer is neither XML nor JSON",
        ),
        (
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Bad gateway</body></html>"),
            "malformed TwiML: the root is <html>, not <Response>",
        ),
        (
            ResponseTemplate::new(200).set_body_string(
                "<Response><Connect><Stream url=\"wss://x\"></Connect></Response>",
            ),
            "malformed TwiML: not well-formed XML",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"id": "call_1", "status": "queued"})),
            "malformed TwiML: the JSON answer has no twiml string",
        ),
    ];
    for (answer, _) in &answers {
        Mock::given(method("POST"))
            .respond_with(answer.clone())
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    ai_salon(&app, provider(&server, json!({}))).await;
    set_clock(&app, MONDAY_10AM_NY);
    for (i, (_, why)) in answers.iter().enumerate() {
        let sid = format!("CA00000000000000000000000000000b0{i}");
        let body = ring(&app, &sid).await;
        assert_rings_ann(&body, &sid);
        let n = notes(&call(&app, &sid).await);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].starts_with(&format!("AI hand-off (provider_twiml): fell back: {why}")),
            "{n:?}"
        );
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        answers.len()
    );
}

#[tokio::test]
async fn ai_after_hours_and_staff_in_hours() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    let twiml =
        "<Response><Connect><Stream url=\"wss://night.example/agent\"/></Connect></Response>";
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(twiml))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    salon(
        &app,
        json!({"strategy": "forward", "afterHoursStrategy": "ai_assistant",
               "aiAssistant": provider(&server, json!({}))}),
    )
    .await;
    // In hours: staff, and the provider is not asked.
    set_clock(&app, MONDAY_10AM_NY);
    let sid = "CA00000000000000000000000000000a10";
    assert_rings_ann(&ring(&app, sid).await, sid);
    let c = call(&app, sid).await;
    assert_eq!((c.strategy.as_str(), c.after_hours), ("forward", false));
    assert!(c.notes.is_none());
    assert!(server.received_requests().await.unwrap().is_empty());
    // After hours: the AI agent.
    set_clock(&app, MONDAY_8PM_NY);
    let sid = "CA00000000000000000000000000000a11";
    assert_eq!(ring(&app, sid).await, format!("{DECL}{twiml}"));
    let c = call(&app, sid).await;
    assert_eq!((c.strategy.as_str(), c.after_hours), ("ai_assistant", true));
    // After hours, a failed hand-off does not ring staff: the closed greeting, then voicemail.
    let sid = "CA00000000000000000000000000000a12";
    let body = ring(&app, sid).await;
    let doc = parse(&body);
    assert!(doc.children[0].text.contains("closed right now"), "{body}");
    assert!(doc.has("Record") && !doc.has("Dial"), "{body}");
    assert_eq!(
        notes(&call(&app, sid).await),
        ["AI hand-off (provider_twiml): fell back: provider answered HTTP 503"]
    );
}

#[tokio::test]
async fn ai_assistant_configuration_is_validated() {
    let app = app().start().await;
    let tenant = salon(&app, json!({})).await;
    let stream = |extra: Value| {
        let mut ai = json!({"connector": "stream", "url": "wss://agent.example/media"});
        ai.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"strategy": "ai_assistant", "aiAssistant": ai})
    };
    let ai = |ai: Value| json!({"strategy": "ai_assistant", "aiAssistant": ai});
    let many: serde_json::Map<String, Value> =
        (0..21).map(|i| (format!("p{i}"), json!("v"))).collect();
    let cases = [
        (
            json!({"strategy": "ai_assistant"}),
            "routingPolicy.aiAssistant",
        ),
        (
            json!({"afterHoursStrategy": "ai_assistant"}),
            "routingPolicy.aiAssistant",
        ),
        (
            ai(json!({"connector": "stream"})),
            "routingPolicy.aiAssistant.url",
        ),
        (
            stream(json!({"url": "https://agent.example/media"})),
            "routingPolicy.aiAssistant.url",
        ),
        (
            stream(json!({"url": "not a url"})),
            "routingPolicy.aiAssistant.url",
        ),
        (
            stream(json!({"parameters": {"callSid": "mine"}})),
            "routingPolicy.aiAssistant.parameters.callSid",
        ),
        (
            stream(json!({"parameters": {"bad name": "x"}})),
            "routingPolicy.aiAssistant.parameters.bad name",
        ),
        (
            stream(json!({"parameters": {"k": ""}})),
            "routingPolicy.aiAssistant.parameters.k",
        ),
        (
            stream(json!({"parameters": many})),
            "routingPolicy.aiAssistant.parameters",
        ),
        (
            stream(json!({"number": AGENT})),
            "routingPolicy.aiAssistant.number",
        ),
        (
            stream(json!({"timeoutMs": 1000})),
            "routingPolicy.aiAssistant.timeoutMs",
        ),
        (
            ai(json!({"connector": "dial"})),
            "routingPolicy.aiAssistant.number",
        ),
        (
            ai(json!({"connector": "dial", "number": AGENT, "sip": "sip:a@b.example"})),
            "routingPolicy.aiAssistant.sip",
        ),
        (
            ai(json!({"connector": "dial", "sip": "tel:+14155550177"})),
            "routingPolicy.aiAssistant.sip",
        ),
        (
            ai(json!({"connector": "dial", "sip": "sip:a@b.example\"/><Hangup/>"})),
            "routingPolicy.aiAssistant.sip",
        ),
        (
            ai(json!({"connector": "dial", "number": "12345"})),
            "routingPolicy.aiAssistant.number",
        ),
        (
            ai(json!({"connector": "dial", "number": AGENT, "callerId": "x"})),
            "routingPolicy.aiAssistant.callerId",
        ),
        (
            ai(json!({"connector": "dial", "number": AGENT, "url": "wss://a.example"})),
            "routingPolicy.aiAssistant.url",
        ),
        (
            ai(json!({"connector": "provider_twiml", "url": "http://api.vapi.example/call"})),
            "routingPolicy.aiAssistant.url",
        ),
        (
            // Private destinations are refused unless the operator allows them (destinations.rs).
            ai(json!({"connector": "provider_twiml", "url": "http://localhost:8080/call"})),
            "routingPolicy.aiAssistant.url",
        ),
        (
            ai(
                json!({"connector": "provider_twiml", "url": "https://api.vapi.example/call", "timeoutMs": 499}),
            ),
            "routingPolicy.aiAssistant.timeoutMs",
        ),
        (
            ai(
                json!({"connector": "provider_twiml", "url": "https://api.vapi.example/call", "timeoutMs": 10001}),
            ),
            "routingPolicy.aiAssistant.timeoutMs",
        ),
        (
            ai(
                json!({"connector": "provider_twiml", "url": "https://api.vapi.example/call", "metadata": [1]}),
            ),
            "routingPolicy.aiAssistant.metadata",
        ),
        (
            ai(
                json!({"connector": "provider_twiml", "url": "https://api.vapi.example/call", "apiKey": "has space"}),
            ),
            "routingPolicy.aiAssistant.apiKey",
        ),
        (
            ai(
                json!({"connector": "provider_twiml", "url": "https://api.vapi.example/call", "assistantId": ""}),
            ),
            "routingPolicy.aiAssistant.assistantId",
        ),
        (
            ai(
                json!({"connector": "provider_twiml", "url": "https://api.vapi.example/call", "parameters": {"a": "b"}}),
            ),
            "routingPolicy.aiAssistant.parameters",
        ),
        (
            ai(json!({"connector": "websocket"})),
            "routingPolicy.aiAssistant.connector",
        ),
        (
            stream(json!({"urll": "x"})),
            "routingPolicy.aiAssistant.urll",
        ),
    ];
    for (policy, field) in cases {
        let r = set_policy(&app, &tenant, policy.clone()).await;
        assert_eq!(r.status, 400, "{policy}: {}", r.text);
        assert_eq!(r.field(), field, "{policy}: {}", r.text);
    }
    // Every connector's valid shape is stored and read back as given (defaults stay implicit).
    for ai_config in [
        json!({"connector": "stream", "url": "wss://agent.example/media", "parameters": {"voice": "warm"}}),
        json!({"connector": "dial", "sip": "sip:agent@voice.example.com", "callerId": "+14155550188"}),
        json!({"connector": "provider_twiml", "url": "https://api.vapi.example/call", "apiKey": "k",
               "assistantId": "asst_1", "metadata": {"a": 1}, "timeoutMs": 10000}),
    ] {
        let policy = json!({"strategy": "forward", "afterHoursStrategy": "ai_assistant", "aiAssistant": ai_config});
        let r = set_policy(&app, &tenant, policy).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut shown = ai_config.clone();
        if shown.get("apiKey").is_some() {
            shown["apiKey"] = json!("set");
        }
        assert_eq!(
            r.json["data"]["routingPolicy"]["aiAssistant"], shown,
            "{}",
            r.text
        );
    }
}

/// The provider's API key is write-only: answered as "set", kept when the policy read is sent
/// back, never readable by the tenant (or anyone who steals its token).
#[tokio::test]
async fn the_providers_api_key_is_write_only() {
    let app = app().private_destinations().start().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<Response><Hangup/></Response>"))
        .mount(&server)
        .await;
    let tenant = ai_salon(
        &app,
        provider(&server, json!({"apiKey": "vapi-secret-key-42"})),
    )
    .await;
    let token = app.token_for(&tenant).await;
    let r = app.tenant_get("/api/telephony/tenant", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains("vapi-secret-key-42"), "{}", r.text);
    let read = r.json["data"]["routingPolicy"].clone();
    assert_eq!(read["aiAssistant"]["apiKey"], "set");
    let admin = app
        .admin(Method::GET, &format!("/api/admin/tenants/{tenant}"), None)
        .await;
    assert!(!admin.text.contains("vapi-secret-key-42"), "{}", admin.text);
    // Sending back what was read keeps the stored key: the provider still gets it.
    let r = set_policy(&app, &tenant, read.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    set_clock(&app, MONDAY_10AM_NY);
    ring(&app, "CA00000000000000000000000000000a31").await;
    let got = server.received_requests().await.unwrap();
    assert_eq!(
        got[0].headers.get("authorization").unwrap(),
        "Bearer vapi-secret-key-42"
    );
    // A policy without a key, then "set": nothing stands behind it.
    let mut none = read.clone();
    none["aiAssistant"]
        .as_object_mut()
        .unwrap()
        .remove("apiKey");
    assert_eq!(set_policy(&app, &tenant, none).await.status, 200);
    let r = set_policy(&app, &tenant, read).await;
    assert_eq!(
        (r.status, r.field()),
        (400, "routingPolicy.aiAssistant.apiKey"),
        "{}",
        r.text
    );
}
