//! The simulator against a small TwiML server that, like Switchboard, rejects requests whose
//! `X-Twilio-Signature` does not validate (403) over the PUBLIC URL while being reached at
//! 127.0.0.1. Each test asserts on what the server received and on the transcript.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use switchboard_twilio::signature::validate;
use switchboard_twilio::simulator::{
    CallScript, DialOutcome, Simulator, SimulatorConfig, SmsScript, Turn, Url,
};
use switchboard_twilio::twiml::{
    Dial, Gather, GatherInput, HttpMethod, Message, MessagingResponse, Number, Pause, Play, Record,
    RecordingEvent, Redirect, Reject, RejectReason, VoiceResponse,
};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const ACCOUNT: &str = "AC00000000000000000000000000000000";
const PUBLIC: &str = "https://switchboard.example.com";
const CALLER: &str = "+14155550100";
const OUR_NUMBER: &str = "+15005550006";

#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    params: Vec<(String, String)>,
}

impl Received {
    fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| {
            panic!(
                "{} {} has no {key}: {:?}",
                self.method, self.path, self.params
            )
        })
    }
}

#[derive(Clone, Default)]
struct Log {
    received: Arc<Mutex<Vec<Received>>>,
    rejected: Arc<Mutex<Vec<String>>>,
}

impl Log {
    fn received(&self) -> Vec<Received> {
        self.received.lock().clone()
    }

    fn paths(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.path).collect()
    }

    fn at(&self, path_prefix: &str) -> Received {
        self.received()
            .into_iter()
            .find(|r| r.path.starts_with(path_prefix))
            .unwrap_or_else(|| panic!("nothing received at {path_prefix}: {:?}", self.paths()))
    }
}

struct TestServer {
    addr: std::net::SocketAddr,
    log: Log,
}

async fn start_server() -> TestServer {
    let log = Log::default();
    let app = Router::new().fallback(handle).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestServer { addr, log }
}

fn simulator(server: &TestServer, token: &str, sandbox: Option<Url>) -> Simulator {
    Simulator::new(SimulatorConfig {
        webhook_base_url: Url::parse(&format!("http://{}", server.addr)).unwrap(),
        public_base_url: Some(Url::parse(PUBLIC).unwrap()),
        account_sid: ACCOUNT.to_owned(),
        auth_token: token.to_owned(),
        sandbox_base_url: sandbox,
    })
}

/// Validates like Switchboard does (public URL + form params), logs, then answers by path.
async fn handle(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let public_url = format!("{PUBLIC}{path_and_query}");
    let form: Vec<(String, String)> = if method == Method::POST {
        serde_urlencoded::from_bytes(&body).expect("form body")
    } else {
        Vec::new()
    };
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    if validate(TOKEN, &public_url, &form, signature).is_err() {
        log.rejected.lock().push(path_and_query);
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut params = form;
    if let Some(q) = uri.query() {
        params.extend(serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap());
    }
    let received = Received {
        method: method.to_string(),
        path: path_and_query,
        params,
    };
    log.received.lock().push(received.clone());
    answer(uri.path(), &received)
}

fn raw_xml(xml: &str) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], xml.to_owned()).into_response()
}

/// The server's TwiML, by path.
fn answer(path: &str, r: &Received) -> Response {
    match path {
        // --- the full flow ---
        "/voice/full" => raw_xml(&format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Say voice=\"Polly.Amy\">Welcome to Zoë&apos;s Café &amp; Barbers 💈</Say>\
             <Play>https://cdn.example.com/jingle.mp3</Play>\
             <Play digits=\"ww1\"/>\
             <Pause length=\"2\"/>\
             <Foo bar=\"1\"/>\
             <Gather input=\"speech\" action=\"gather-speech\"><Say>How can we help, {}?</Say></Gather>\
             <Say>Never reached</Say>\
             </Response>",
            r.param("From")
        )),
        "/voice/gather-speech" => VoiceResponse::new()
            .say(format!("You said {}.", r.param("SpeechResult")))
            .gather(
                Gather::new()
                    .input(GatherInput::Dtmf)
                    .num_digits(1u32)
                    .action("/voice/gather-digits")
                    .say("Press 1 for the front desk."),
            )
            .into_response(),
        "/voice/gather-digits" => VoiceResponse::new()
            .dial(
                Dial::new()
                    .action("/voice/dial-result")
                    .timeout(20u32)
                    .number("+15550000001")
                    .number(Number::new("+15550000002")),
            )
            .say("Never reached either")
            .into_response(),
        "/voice/dial-result" => VoiceResponse::new()
            .redirect(Redirect::new("/voice/after-dial?attempt=1").method(HttpMethod::Get))
            .into_response(),
        "/voice/after-dial" => VoiceResponse::new()
            .dial(
                Dial::new()
                    .action("/voice/dial-result-2")
                    .number("+15550000003"),
            )
            .into_response(),
        "/voice/dial-result-2" => raw_xml(
            "<Response><Say>Thanks for waiting.</Say>\
             <Message to=\"+14155550199\">Booking confirmed</Message>\
             <Record action=\"/voice/voicemail\" maxLength=\"120\" transcribe=\"true\" \
               transcribeCallback=\"/voice/transcription\" \
               recordingStatusCallback=\"/voice/recording-status\" \
               recordingStatusCallbackEvent=\"in-progress completed\"/>\
             <Say>After the recording</Say></Response>",
        ),
        "/voice/voicemail" => VoiceResponse::new().say("Goodbye").into_response(),
        // --- smaller flows ---
        "/voice/timeout" => VoiceResponse::new()
            .gather(
                Gather::new()
                    .input(GatherInput::DtmfSpeech)
                    .action("/voice/never")
                    .say("Press or say something."),
            )
            .say("We did not get that.")
            .hangup()
            .say("Unreachable after hangup")
            .into_response(),
        "/voice/empty-action" => match r.get("Digits") {
            None if r.get("SpeechResult").is_none() && r.get("CallStatus") == Some("ringing") => {
                // No action: Twilio posts back to this same URL, with or without input.
                VoiceResponse::new()
                    .gather(Gather::new().action_on_empty_result(true))
                    .into_response()
            }
            _ => VoiceResponse::new()
                .say("Back at the same URL")
                .into_response(),
        },
        "/voice/reject-busy" => VoiceResponse::new()
            .reject(Reject::new().reason(RejectReason::Busy))
            .into_response(),
        "/voice/reject-default" => VoiceResponse::new().reject(Reject::new()).into_response(),
        "/voice/reject-late" => VoiceResponse::new()
            .say("Hello")
            .reject(Reject::new().reason(RejectReason::Busy))
            .into_response(),
        "/voice/dial-no-action" => VoiceResponse::new()
            .dial(Dial::new().number("+15550000010"))
            .say("after failed dial")
            .dial("+15550000011")
            .say("after answered dial")
            .into_response(),
        "/voice/dial-failed-action" => VoiceResponse::new()
            .dial(Dial::plain_number("+15550000012").action("dialed"))
            .into_response(),
        "/voice/dialed" => VoiceResponse::new().hangup().into_response(),
        "/voice/empty-recording" => VoiceResponse::new()
            .record(
                Record::new()
                    .action("/voice/voicemail")
                    .recording_status_callback("/voice/recording-status")
                    .recording_status_callback_event([RecordingEvent::Completed]),
            )
            .say("No message left")
            .into_response(),
        "/voice/sandbox-recording" => VoiceResponse::new()
            .record(
                Record::new()
                    .action("/voice/voicemail")
                    .recording_status_callback("/voice/recording-status"),
            )
            .into_response(),
        "/voice/error-500" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/voice/not-xml" => ([(header::CONTENT_TYPE, "text/html")], "<html/>").into_response(),
        "/voice/loop" => VoiceResponse::new()
            .pause(Pause::seconds(1))
            .redirect("loop")
            .into_response(),
        "/voice/play" => VoiceResponse::new()
            .play(Play::new("https://cdn.example.com/a.mp3"))
            .into_response(),
        // --- callbacks ---
        "/voice/status" | "/voice/recording-status" | "/voice/transcription" => {
            StatusCode::NO_CONTENT.into_response()
        }
        // --- messaging ---
        "/sms" => MessagingResponse::new()
            .message(format!("Thanks, we got: {}", r.param("Body")))
            .message(
                Message::new("Here is our map")
                    .to("+14155550111")
                    .media("https://cdn.example.com/map.png"),
            )
            .redirect("/sms/next")
            .into_response(),
        "/sms/next" => MessagingResponse::new()
            .message("Second document")
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn script(voice_path: &str) -> CallScript {
    let mut s = CallScript::new(CALLER, OUR_NUMBER);
    s.voice_path = voice_path.to_owned();
    s.status_path = "/voice/status".to_owned();
    s
}

fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34
        && s.starts_with(prefix)
        && s[2..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn assert_no_rejections(server: &TestServer) {
    assert!(
        server.log.rejected.lock().is_empty(),
        "server rejected signatures at {:?}",
        server.log.rejected.lock()
    );
}

#[tokio::test]
async fn full_call_covers_prompts_gathers_dials_redirect_message_and_voicemail() {
    let server = start_server().await;
    let sim = simulator(&server, TOKEN, None);
    let s = script("/voice/full")
        .say("book a haircut")
        .press("1#")
        .dial_outcome("+15550000001", DialOutcome::NoAnswer)
        .dial_outcome("+15550000002", DialOutcome::Busy)
        .dial_outcome("+15550000003", DialOutcome::Answered { duration_secs: 42 })
        .record(30, Some("Hi, it's Sam, call me back"));
    let t = sim.run_call(&s).await;
    println!("{t}");
    assert_no_rejections(&server);
    assert!(t.http_errors.is_empty(), "{:?}", t.http_errors);

    let paths = server.log.paths();
    let base = |p: &str| p.split('?').next().unwrap().to_owned();
    assert_eq!(
        paths.iter().map(|p| base(p)).collect::<Vec<_>>(),
        [
            "/voice/full",
            "/voice/gather-speech",
            "/voice/gather-digits",
            "/voice/dial-result",
            "/voice/after-dial",
            "/voice/dial-result-2",
            "/voice/voicemail",
            "/voice/recording-status",
            "/voice/recording-status",
            "/voice/transcription",
            "/voice/status",
        ]
    );

    let received = server.log.received();
    let call_sid = t.call_sid.clone().unwrap();
    assert!(is_sid(&call_sid, "CA"), "{call_sid}");
    for r in &received {
        assert_eq!(r.param("CallSid"), call_sid, "{}", r.path);
        assert_eq!(r.param("AccountSid"), ACCOUNT, "{}", r.path);
    }

    let first = &received[0];
    assert_eq!(first.method, "POST");
    for (k, v) in [
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", CALLER),
        ("Caller", CALLER),
        ("To", OUR_NUMBER),
        ("Called", OUR_NUMBER),
        ("ApiVersion", "2010-04-01"),
    ] {
        assert_eq!(first.param(k), v, "{k}");
    }

    // Relative action resolved against /voice/full; speech result and confidence sent.
    let speech = &received[1];
    assert_eq!(speech.param("SpeechResult"), "book a haircut");
    assert_eq!(speech.param("Confidence"), "0.93");
    assert_eq!(speech.param("CallStatus"), "in-progress");
    assert!(speech.get("Digits").is_none());

    // finishOnKey (#) is not part of Digits.
    assert_eq!(received[2].param("Digits"), "1");
    assert!(received[2].get("SpeechResult").is_none());

    // Neither number answered: the last outcome is reported, with no duration.
    let dial1 = &received[3];
    assert_eq!(dial1.param("DialCallStatus"), "busy");
    assert!(is_sid(dial1.param("DialCallSid"), "CA"));
    assert!(dial1.get("DialCallDuration").is_none());

    // Redirect with method GET: parameters travel in the query string.
    let redirected = &received[4];
    assert_eq!(redirected.method, "GET");
    assert!(redirected.path.starts_with("/voice/after-dial?attempt=1&"));
    assert_eq!(redirected.param("attempt"), "1");

    let dial2 = &received[5];
    assert_eq!(dial2.param("DialCallStatus"), "completed");
    assert_eq!(dial2.param("DialCallDuration"), "42");

    let voicemail = &received[6];
    assert_eq!(voicemail.param("RecordingDuration"), "30");
    assert_eq!(voicemail.param("Digits"), "hangup");
    let recording_sid = voicemail.param("RecordingSid").to_owned();
    assert!(is_sid(&recording_sid, "RE"));
    assert_eq!(
        voicemail.param("RecordingUrl"),
        format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording_sid}")
    );

    let statuses: Vec<_> = received[7..9]
        .iter()
        .map(|r| r.param("RecordingStatus"))
        .collect();
    assert_eq!(statuses, ["in-progress", "completed"]);
    let rec_done = &received[8];
    assert_eq!(rec_done.param("RecordingSid"), recording_sid);
    assert_eq!(rec_done.param("RecordingDuration"), "30");
    assert_eq!(rec_done.param("RecordingSource"), "RecordVerb");

    let transcription = &received[9];
    assert_eq!(
        transcription.param("TranscriptionText"),
        "Hi, it's Sam, call me back"
    );
    assert_eq!(transcription.param("TranscriptionStatus"), "completed");
    assert!(is_sid(transcription.param("TranscriptionSid"), "TR"));
    assert_eq!(transcription.param("RecordingSid"), recording_sid);

    let status = &received[10];
    assert_eq!(status.param("CallStatus"), "completed");
    assert_eq!(
        status.param("CallDuration"),
        "72",
        "42 s dialled + 30 s recorded"
    );
    assert_eq!(t.final_status, "completed");
    assert_eq!(t.duration_secs, 72);

    // The conversation as the caller experienced it.
    assert_eq!(
        t.said(),
        [
            "Welcome to Zoë's Café & Barbers 💈",
            "How can we help, +14155550100?",
            "You said book a haircut.",
            "Press 1 for the front desk.",
            "Thanks for waiting.",
        ]
    );
    for expected in [
        Turn::Play("https://cdn.example.com/jingle.mp3".into()),
        Turn::PlayDigits("ww1".into()),
        Turn::Pause(2),
        Turn::Skipped("<Foo>".into()),
        Turn::Speech {
            text: "book a haircut".into(),
            confidence: "0.93".into(),
        },
        Turn::Digits("1".into()),
        Turn::Dial {
            target: "+15550000001".into(),
            status: "no-answer".into(),
            duration_secs: 0,
        },
        Turn::Dial {
            target: "+15550000002".into(),
            status: "busy".into(),
            duration_secs: 0,
        },
        Turn::Dial {
            target: "+15550000003".into(),
            status: "completed".into(),
            duration_secs: 42,
        },
        Turn::Redirect("/voice/after-dial?attempt=1".into()),
        Turn::Message {
            to: "+14155550199".into(),
            body: "Booking confirmed".into(),
            media: vec![],
        },
        Turn::Record {
            duration_secs: 30,
            recording_sid: Some(recording_sid.clone()),
        },
    ] {
        assert!(t.turns.contains(&expected), "missing {expected:?} in\n{t}");
    }
    assert!(!t.said().contains(&"Never reached"));
    assert!(!t.said().contains(&"After the recording"));
    assert!(
        !t.said().contains(&"Goodbye"),
        "voicemail action TwiML is not executed"
    );

    let shown = t.to_string();
    for line in [
        "caller → POST /voice/full (ringing) ← 200",
        "switchboard: Say \"Welcome to Zoë's Café & Barbers 💈\"",
        "caller: says \"book a haircut\" (confidence 0.93)",
        "dial +15550000002 → busy",
        "dial +15550000003 → completed (42s)",
        "twilio → POST /voice/transcription (transcription completed) ← 204",
        "final status: completed (72s)",
    ] {
        assert!(shown.contains(line), "missing {line:?} in\n{shown}");
    }
}

#[tokio::test]
async fn unanswered_gather_falls_through_to_next_verb_and_hangup_ends() {
    let server = start_server().await;
    let t = simulator(&server, TOKEN, None)
        .run_call(&script("/voice/timeout"))
        .await;
    assert_no_rejections(&server);
    assert_eq!(server.log.paths(), ["/voice/timeout", "/voice/status"]);
    assert_eq!(
        t.said(),
        ["Press or say something.", "We did not get that."]
    );
    assert!(t.turns.contains(&Turn::GatherTimeout));
    assert_eq!(t.turns.iter().filter(|x| **x == Turn::Hangup).count(), 1);
    assert_eq!(t.final_status, "completed");
    assert_eq!(server.log.at("/voice/status").param("CallDuration"), "0");
}

#[tokio::test]
async fn gather_without_action_posts_back_to_the_document_url() {
    let server = start_server().await;
    let t = simulator(&server, TOKEN, None)
        .run_call(&script("/voice/empty-action"))
        .await;
    assert_no_rejections(&server);
    assert_eq!(
        server.log.paths(),
        [
            "/voice/empty-action",
            "/voice/empty-action",
            "/voice/status"
        ]
    );
    // actionOnEmptyResult: posted with no input at all.
    let second = &server.log.received()[1];
    assert!(second.get("Digits").is_none() && second.get("SpeechResult").is_none());
    assert_eq!(t.said(), ["Back at the same URL"]);
}

#[tokio::test]
async fn reject_reports_busy_or_no_answer_when_unanswered() {
    let server = start_server().await;
    let sim = simulator(&server, TOKEN, None);
    for (path, reason, status) in [
        ("/voice/reject-busy", "busy", "busy"),
        ("/voice/reject-default", "rejected", "no-answer"),
        ("/voice/reject-late", "busy", "completed"),
    ] {
        let before = server.log.received().len();
        let t = sim.run_call(&script(path)).await;
        assert_eq!(t.final_status, status, "{path}");
        assert!(t.turns.contains(&Turn::Reject(reason.into())), "{path}");
        let received = server.log.received();
        let callback = &received[before + 1];
        assert_eq!(callback.path, "/voice/status");
        assert_eq!(callback.param("CallStatus"), status, "{path}");
        assert_eq!(callback.param("CallDuration"), "0", "{path}");
    }
    assert_no_rejections(&server);
}

#[tokio::test]
async fn dial_without_action_continues_and_failed_dial_posts_its_action() {
    let server = start_server().await;
    let sim = simulator(&server, TOKEN, None);

    let s = script("/voice/dial-no-action")
        .dial_outcome("+15550000010", DialOutcome::Failed)
        .dial_outcome("*", DialOutcome::Answered { duration_secs: 10 });
    let t = sim.run_call(&s).await;
    assert_eq!(t.said(), ["after failed dial", "after answered dial"]);
    assert!(t.turns.contains(&Turn::Dial {
        target: "+15550000011".into(),
        status: "completed".into(),
        duration_secs: 10
    }));
    assert_eq!(t.duration_secs, 10);
    assert_eq!(server.log.at("/voice/status").param("CallDuration"), "10");

    let s = script("/voice/dial-failed-action").dial_outcome("+15550000012", DialOutcome::Failed);
    let t = sim.run_call(&s).await;
    let dialed = server.log.at("/voice/dialed");
    assert_eq!(dialed.param("DialCallStatus"), "failed");
    assert!(dialed.get("DialCallDuration").is_none());
    assert!(t.turns.contains(&Turn::Hangup));
    assert_no_rejections(&server);
}

#[tokio::test]
async fn empty_recording_skips_action_and_callbacks() {
    let server = start_server().await;
    let t = simulator(&server, TOKEN, None)
        .run_call(&script("/voice/empty-recording").record(0, Some("unused")))
        .await;
    assert_no_rejections(&server);
    assert_eq!(
        server.log.paths(),
        ["/voice/empty-recording", "/voice/status"]
    );
    assert!(t.turns.contains(&Turn::Record {
        duration_secs: 0,
        recording_sid: None
    }));
    assert_eq!(t.said(), ["No message left"]);
}

#[tokio::test]
async fn recording_comes_from_the_sandbox_when_configured() {
    use wiremock::matchers::{body_string_contains, header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let sandbox = MockServer::start().await;
    let sid = "RE0123456789abcdef0123456789abcdef";
    let media = format!("http://sandbox.local/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}");
    Mock::given(method("POST"))
        .and(path("/sandbox/recordings"))
        .and(body_string_contains("Duration=25"))
        .and(body_string_contains("CallSid=CA"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": sid, "url": media})),
        )
        .expect(1)
        .mount(&sandbox)
        .await;

    let server = start_server().await;
    let sim = simulator(&server, TOKEN, Some(Url::parse(&sandbox.uri()).unwrap()));
    let t = sim
        .run_call(&script("/voice/sandbox-recording").record(25, None))
        .await;
    assert!(t.http_errors.is_empty(), "{:?}", t.http_errors);
    let voicemail = server.log.at("/voice/voicemail");
    assert_eq!(voicemail.param("RecordingSid"), sid);
    assert_eq!(voicemail.param("RecordingUrl"), media);
    let status = server.log.at("/voice/recording-status");
    assert_eq!(status.param("RecordingSid"), sid);
    assert_eq!(status.param("RecordingStatus"), "completed");
    assert!(
        server
            .log
            .received()
            .iter()
            .all(|r| r.path != "/voice/transcription"),
        "no transcription without transcribe"
    );
    assert_no_rejections(&server);
    sandbox.verify().await;
}

#[tokio::test]
async fn server_errors_become_error_turns_not_panics() {
    let server = start_server().await;
    let sim = simulator(&server, TOKEN, None);

    let t = sim.run_call(&script("/voice/error-500")).await;
    assert_eq!(t.http_errors.len(), 1, "{t}");
    assert!(t.http_errors[0].starts_with("11200 HTTP 500"), "{t}");
    assert!(t.turns.iter().any(|x| matches!(x, Turn::Error(_))));
    assert_eq!(t.final_status, "completed");

    let t = sim.run_call(&script("/voice/not-xml")).await;
    assert!(t.http_errors[0].starts_with("12300"), "{t}");

    let t = sim.run_call(&script("/voice/does-not-exist")).await;
    assert!(t.http_errors[0].starts_with("11200 HTTP 404"), "{t}");

    // The status callback is still sent after each failure.
    assert_eq!(
        server
            .log
            .paths()
            .iter()
            .filter(|p| *p == "/voice/status")
            .count(),
        3
    );
    assert_no_rejections(&server);
}

#[tokio::test]
async fn redirect_loops_stop_at_max_steps() {
    let server = start_server().await;
    let mut s = script("/voice/loop");
    s.max_steps = 4;
    let t = simulator(&server, TOKEN, None).run_call(&s).await;
    assert_eq!(
        server.log.paths(),
        [
            "/voice/loop",
            "/voice/loop",
            "/voice/loop",
            "/voice/loop",
            "/voice/status"
        ]
    );
    assert!(t.http_errors.iter().any(|e| e.contains("max_steps")), "{t}");
    assert_eq!(server.log.received()[1].param("CallStatus"), "in-progress");
}

#[tokio::test]
async fn wrong_auth_token_is_refused_by_the_server() {
    let server = start_server().await;
    let t = simulator(&server, "not-the-token", None)
        .run_call(&script("/voice/play"))
        .await;
    assert!(server.log.received().is_empty());
    assert_eq!(
        *server.log.rejected.lock(),
        ["/voice/play", "/voice/status"]
    );
    assert!(t.http_errors.iter().all(|e| e.contains("403")), "{t}");
    assert_eq!(t.http_errors.len(), 2);
}

#[tokio::test]
async fn sms_round_trip_with_media_and_redirect() {
    let server = start_server().await;
    let mut s = SmsScript::new(CALLER, OUR_NUMBER, "Café at 10? 💈");
    s.path = "/sms".to_owned();
    s.media_urls = vec![
        "https://cdn.example.com/photo.JPG".into(),
        "https://cdn.example.com/file".into(),
    ];
    let t = simulator(&server, TOKEN, None).run_sms(&s).await;
    assert_no_rejections(&server);
    assert!(t.http_errors.is_empty(), "{t}");
    assert_eq!(server.log.paths(), ["/sms", "/sms/next"]);

    let r = server.log.at("/sms");
    let sid = t.message_sid.clone().unwrap();
    assert!(is_sid(&sid, "SM"));
    for (k, v) in [
        ("MessageSid", sid.as_str()),
        ("SmsSid", sid.as_str()),
        ("SmsMessageSid", sid.as_str()),
        ("AccountSid", ACCOUNT),
        ("From", CALLER),
        ("To", OUR_NUMBER),
        ("Body", "Café at 10? 💈"),
        ("NumMedia", "2"),
        ("MediaUrl0", "https://cdn.example.com/photo.JPG"),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl1", "https://cdn.example.com/file"),
        ("MediaContentType1", "application/octet-stream"),
        ("ApiVersion", "2010-04-01"),
        ("SmsStatus", "received"),
    ] {
        assert_eq!(r.param(k), v, "{k}");
    }
    assert_eq!(
        t.messages(),
        [
            (CALLER, "Thanks, we got: Café at 10? 💈"),
            ("+14155550111", "Here is our map"),
            (CALLER, "Second document"),
        ]
    );
    assert!(t.turns.contains(&Turn::Message {
        to: "+14155550111".into(),
        body: "Here is our map".into(),
        media: vec!["https://cdn.example.com/map.png".into()],
    }));
    assert_eq!(t.final_status, "received");
    assert!(
        t.to_string()
            .contains("switchboard: Message to +14155550111: Here is our map")
    );
}

#[tokio::test]
async fn recording_from_the_real_sandbox_downloads() {
    use switchboard_twilio::sandbox::{Sandbox, SandboxConfig};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let mut config = SandboxConfig::development(sandbox_url.clone());
    config.account_sid = ACCOUNT.to_owned();
    config.auth_token = TOKEN.to_owned();
    config.callback_delay = std::time::Duration::ZERO;
    let sandbox = Sandbox::new(config);
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let server = start_server().await;
    let t = simulator(&server, TOKEN, Some(sandbox_url))
        .run_call(&script("/voice/sandbox-recording").record(7, None))
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    assert_no_rejections(&server);

    let voicemail = server.log.at("/voice/voicemail");
    let sid = voicemail.param("RecordingSid");
    let stored = sandbox.recordings();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].sid, sid);
    assert_eq!(stored[0].call_sid, t.call_sid.clone().unwrap());
    assert_eq!(stored[0].duration_secs, 7);

    let media = reqwest::Client::new()
        .get(voicemail.param("RecordingUrl"))
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(media.status(), 200, "RecordingUrl downloads");
    assert!(!media.bytes().await.unwrap().is_empty());
}
