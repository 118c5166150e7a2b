//! TwiML builder: snapshots of every verb with all its attributes, escaping of hostile and
//! non-ASCII text, a realistic call flow, and a parse-back proving each document well-formed.

use axum::response::IntoResponse;
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use switchboard_twilio::twiml::{
    CallEvent, Client, Connect, Dial, DialRecord, Gather, GatherInput, HttpMethod,
    MachineDetection, Message, MessagingResponse, Number, Pause, Play, Record, RecordingEvent,
    RecordingTrack, Redirect, Reject, RejectReason, Say, Sip, SpeechTimeout, Start, Stream,
    StreamTrack, Trim, VoiceResponse,
};

const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// A parsed element: name, attributes (unescaped, normalised as an XML parser sees them),
/// text content (unescaped) and children.
#[derive(Debug, PartialEq)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

/// Parses `xml` strictly (matching end tags, one root) and returns the root element.
fn parse(xml: &str) -> Node {
    assert!(xml.starts_with(DECL), "missing XML declaration: {xml}");
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<(Node, String)> = Vec::new();
    let mut root = None;
    let open = |e: &quick_xml::events::BytesStart| Node {
        name: e.name().0.to_owned(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let v = a
                    .normalized_value(XmlVersion::Implicit1_0)
                    .expect("attribute value unescapes");
                (a.key.0.to_owned(), v.into_owned())
            })
            .collect(),
        text: String::new(),
        children: Vec::new(),
    };
    let close =
        |stack: &mut Vec<(Node, String)>, root: &mut Option<Node>, mut node: Node, raw: String| {
            node.text = quick_xml::escape::unescape(&raw)
                .expect("text unescapes")
                .into_owned();
            match stack.last_mut() {
                Some((parent, _)) => parent.children.push(node),
                None => {
                    assert!(root.is_none(), "more than one root element");
                    *root = Some(node);
                }
            }
        };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Decl(_) => {}
            Event::Start(e) => stack.push((open(&e), String::new())),
            Event::Empty(e) => close(&mut stack, &mut root, open(&e), String::new()),
            Event::End(_) => {
                let (node, raw) = stack.pop().expect("balanced tags");
                close(&mut stack, &mut root, node, raw);
            }
            Event::Text(t) => {
                let (_, raw) = stack.last_mut().expect("text inside the root");
                raw.push_str(&t.into_inner());
            }
            Event::GeneralRef(r) => {
                let (_, raw) = stack.last_mut().expect("reference inside the root");
                raw.push('&');
                raw.push_str(&r.into_inner());
                raw.push(';');
            }
            Event::Eof => break,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    let root = root.expect("a root element");
    assert_eq!(root.name, "Response");
    root
}

fn attr<'a>(node: &'a Node, name: &str) -> &'a str {
    node.attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{} has no {name}", node.name))
}

/// Renders, checks it parses, returns the document for the snapshot.
fn voice(r: VoiceResponse) -> String {
    let xml = r.to_xml();
    parse(&xml);
    xml
}

#[test]
fn empty_responses_render_self_closing_root() {
    let expected = format!("{DECL}<Response/>");
    assert_eq!(VoiceResponse::new().to_xml(), expected);
    assert_eq!(MessagingResponse::new().to_xml(), expected);
    assert!(VoiceResponse::new().is_empty());
    assert!(!VoiceResponse::new().hangup().is_empty());
}

#[test]
fn say_with_all_attributes() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new().say(
            Say::new("Thanks for calling.")
                .voice("Polly.Joanna")
                .language("en-US")
                .loop_count(2u32)
        )
    ));
}

#[test]
fn play_url_and_dtmf() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new()
            .play(Play::new("https://cdn.example.com/hold.mp3").loop_count(0u32))
            .play(Play::dtmf("ww1234#"))
    ));
}

#[test]
fn pause_default_and_with_length() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new()
            .pause(Pause::new())
            .pause(Pause::seconds(3))
    ));
}

#[test]
fn gather_with_all_attributes_and_nested_prompts() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new().gather(
            Gather::new()
                .input(GatherInput::DtmfSpeech)
                .action("/api/webhooks/twilio/voice/gather?step=menu")
                .method(HttpMethod::Post)
                .timeout(7u32)
                .speech_timeout(SpeechTimeout::Auto)
                .max_speech_time(30u32)
                .speech_model("phone_call")
                .language("en-GB")
                .hints("appointment, opening hours, cancel")
                .num_digits(1u32)
                .finish_on_key("#")
                .action_on_empty_result(true)
                .partial_result_callback("/partial")
                .partial_result_callback_method(HttpMethod::Get)
                .profanity_filter(false)
                .barge_in(true)
                .enhanced(true)
                .say("Press 1 or say appointments.")
                .play("https://cdn.example.com/beep.wav")
                .pause(Pause::seconds(1))
        )
    ));
}

#[test]
fn gather_speech_timeout_seconds_and_input_kinds() {
    let xml = voice(
        VoiceResponse::new()
            .gather(Gather::new().input(GatherInput::Dtmf).speech_timeout(3u32))
            .gather(Gather::new().input(GatherInput::Speech)),
    );
    let root = parse(&xml);
    assert_eq!(attr(&root.children[0], "input"), "dtmf");
    assert_eq!(attr(&root.children[0], "speechTimeout"), "3");
    assert_eq!(attr(&root.children[1], "input"), "speech");
}

#[test]
fn dial_with_all_attributes_and_every_noun() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new().dial(
            Dial::new()
                .action("/api/webhooks/twilio/voice/dial-result")
                .method(HttpMethod::Post)
                .timeout(20u32)
                .time_limit(3600u32)
                .caller_id("+15005550006")
                .answer_on_bridge(true)
                .hangup_on_star(false)
                .ring_tone("uk")
                .sequential(true)
                .record(DialRecord::RecordFromAnswerDual)
                .recording_status_callback("/api/webhooks/twilio/recording")
                .recording_status_callback_event([
                    RecordingEvent::InProgress,
                    RecordingEvent::Completed,
                    RecordingEvent::Absent
                ])
                .recording_status_callback_method(HttpMethod::Post)
                .recording_track(RecordingTrack::Both)
                .trim(Trim::TrimSilence)
                .number(
                    Number::new("+14155550100")
                        .url("/whisper")
                        .method(HttpMethod::Get)
                        .status_callback("/api/webhooks/twilio/voice/status")
                        .status_callback_event([
                            CallEvent::Initiated,
                            CallEvent::Ringing,
                            CallEvent::Answered,
                            CallEvent::Completed
                        ])
                        .status_callback_method(HttpMethod::Post)
                        .send_digits("wwww1928")
                        .machine_detection(MachineDetection::Enable)
                )
                .client(
                    Client::new("front-desk")
                        .url("/whisper")
                        .method(HttpMethod::Post)
                        .status_callback("/client-status")
                        .status_callback_event([CallEvent::Answered])
                        .status_callback_method(HttpMethod::Get)
                )
                .sip(
                    Sip::new("sip:reception@pbx.example.com;transport=tls")
                        .username("switchboard")
                        .password("s3cr&t\"pw")
                        .url("/whisper")
                        .method(HttpMethod::Post)
                        .status_callback("/sip-status")
                        .status_callback_event([CallEvent::Completed])
                        .status_callback_method(HttpMethod::Post)
                        .machine_detection(MachineDetection::DetectMessageEnd)
                )
        )
    ));
}

#[test]
fn dial_plain_number() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new()
            .dial("+14155550100")
            .dial(Dial::plain_number("+14155550101").timeout(15u32))
    ));
}

#[test]
fn adding_a_noun_to_a_plain_dial_keeps_the_plain_number() {
    let root = parse(&voice(
        VoiceResponse::new().dial(Dial::plain_number("+14155550100").client("desk")),
    ));
    let dial = &root.children[0];
    assert_eq!(dial.text, "");
    let names: Vec<_> = dial.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Number", "Client"]);
    assert_eq!(dial.children[0].text, "+14155550100");
}

#[test]
fn record_with_all_attributes() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new().record(
            Record::new()
                .action("/api/webhooks/twilio/voice/voicemail")
                .method(HttpMethod::Post)
                .timeout(5u32)
                .finish_on_key("#")
                .max_length(120u32)
                .play_beep(true)
                .trim(Trim::DoNotTrim)
                .recording_status_callback("/api/webhooks/twilio/recording")
                .recording_status_callback_event([RecordingEvent::Completed])
                .recording_status_callback_method(HttpMethod::Post)
                .transcribe(true)
                .transcribe_callback("/api/webhooks/twilio/transcription")
        )
    ));
}

#[test]
fn redirect_hangup_reject() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new()
            .redirect(Redirect::new("/api/webhooks/twilio/voice?retry=1").method(HttpMethod::Get))
            .redirect("/plain")
            .reject(Reject::new().reason(RejectReason::Busy))
            .reject(Reject::new().reason(RejectReason::Rejected))
            .reject(Reject::new())
            .hangup()
    ));
}

#[test]
fn connect_and_start_streams_with_parameters() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new()
            .start(Start::stream(
                Stream::new("wss://media.example.com/fork")
                    .name("fork-1")
                    .track(StreamTrack::InboundTrack)
                    .status_callback("/stream-status")
                    .status_callback_method(HttpMethod::Post)
            ))
            .connect(
                Connect::stream(
                    Stream::new("wss://media.example.com/agent")
                        .name("agent")
                        .track(StreamTrack::BothTracks)
                        .status_callback("/stream-status")
                        .status_callback_method(HttpMethod::Get)
                        .parameter("tenant", "acme")
                        .parameter("greeting", "Hi \"there\" & <welcome>")
                )
                .action("/after-stream")
                .method(HttpMethod::Post)
            )
    ));
}

#[test]
fn outbound_track_value() {
    let root = parse(&voice(VoiceResponse::new().start(Start::stream(
        Stream::new("wss://x.example.com/s").track(StreamTrack::OutboundTrack),
    ))));
    assert_eq!(
        attr(&root.children[0].children[0], "track"),
        "outbound_track"
    );
}

#[test]
fn message_with_all_attributes() {
    let xml = MessagingResponse::new()
        .message(
            Message::new("Your appointment is confirmed for 10:00.")
                .to("+14155550100")
                .from("+15005550006")
                .action("/api/webhooks/twilio/sms/reply-status")
                .method(HttpMethod::Post)
                .status_callback("/api/webhooks/twilio/sms/status"),
        )
        .redirect(Redirect::new("/api/webhooks/twilio/sms/next").method(HttpMethod::Post))
        .to_xml();
    parse(&xml);
    insta::assert_snapshot!(xml);
}

#[test]
fn message_with_media_uses_body_and_media_children() {
    let xml = MessagingResponse::new()
        .message(
            Message::new("Here is the map")
                .media("https://cdn.example.com/map.png")
                .media("https://cdn.example.com/a.jpg?x=1&y=2"),
        )
        .message(Message::new("").media("https://cdn.example.com/only.png"))
        .to_xml();
    insta::assert_snapshot!(&xml);
    let root = parse(&xml);
    let first: Vec<_> = root.children[0]
        .children
        .iter()
        .map(|c| (c.name.as_str(), c.text.as_str()))
        .collect();
    assert_eq!(
        first,
        [
            ("Body", "Here is the map"),
            ("Media", "https://cdn.example.com/map.png"),
            ("Media", "https://cdn.example.com/a.jpg?x=1&y=2"),
        ]
    );
    assert_eq!(root.children[1].children.len(), 1, "no empty <Body>");
}

const HOSTILE: &str =
    "Welcome to <Bob's> \"Cuts\" & Co ]]> <![CDATA[x]]> </Say><Hangup/> Café Zoë 💈";

#[test]
fn hostile_text_is_escaped_in_snapshot() {
    insta::assert_snapshot!(voice(
        VoiceResponse::new()
            .say(Say::new(HOSTILE))
            .gather(Gather::new().action("/g?a=1&b=\"2\"<x>").say(HOSTILE))
            .dial(Dial::new().caller_id(HOSTILE).number(HOSTILE))
    ));
}

#[test]
fn user_text_round_trips_exactly_and_never_becomes_markup() {
    let tricky = [
        HOSTILE,
        "multi\nline\r\nwith\ttabs",
        "'single' \"double\" &amp; already-escaped &lt;",
        "emoji 👩🏽‍💼 and RTL שלום and CJK 予約",
    ];
    for text in tricky {
        let xml = VoiceResponse::new()
            .say(Say::new(text).voice(text))
            .to_xml();
        let root = parse(&xml);
        assert_eq!(root.children.len(), 1, "exactly one verb for {text:?}");
        let say = &root.children[0];
        assert_eq!(say.name, "Say");
        assert!(say.children.is_empty(), "no child elements from {text:?}");
        assert_eq!(say.text, text, "text round-trips");
        assert_eq!(attr(say, "voice"), text, "attribute round-trips");
    }
}

#[test]
fn characters_xml_cannot_carry_are_dropped_not_emitted() {
    let xml = voice(VoiceResponse::new().say("bell\u{7} nul\u{0} esc\u{1b} ok"));
    assert!(!xml.contains('\u{7}') && !xml.contains('\u{0}') && !xml.contains('\u{1b}'));
    assert_eq!(parse(&xml).children[0].text, "bell nul esc ok");
}

#[test]
fn realistic_greeting_gather_dial_voicemail_flow() {
    let greeting = "Hi, you've reached Zoë's Café & Barbers 💈!";
    let xml = voice(
        VoiceResponse::new()
            .say(Say::new(greeting).voice("Polly.Amy").language("en-GB"))
            .gather(
                Gather::new()
                    .input(GatherInput::DtmfSpeech)
                    .action("/api/webhooks/twilio/voice/gather")
                    .timeout(5u32)
                    .speech_timeout(SpeechTimeout::Auto)
                    .num_digits(1u32)
                    .hints("booking, hours, speak to someone")
                    .say("Press 1 to book, 2 for opening hours, or stay on the line."),
            )
            .dial(
                Dial::new()
                    .action("/api/webhooks/twilio/voice/dial-result")
                    .timeout(20u32)
                    .caller_id("+15005550006")
                    .answer_on_bridge(true)
                    .number(
                        Number::new("+14155550100")
                            .status_callback("/api/webhooks/twilio/voice/status")
                            .status_callback_event([CallEvent::Answered, CallEvent::Completed]),
                    ),
            )
            .say("Sorry, nobody is available. Leave a message after the tone.")
            .record(
                Record::new()
                    .action("/api/webhooks/twilio/voice/voicemail")
                    .max_length(120u32)
                    .play_beep(true)
                    .recording_status_callback("/api/webhooks/twilio/recording")
                    .recording_status_callback_event([RecordingEvent::Completed])
                    .transcribe(true)
                    .transcribe_callback("/api/webhooks/twilio/transcription"),
            )
            .hangup(),
    );
    insta::assert_snapshot!(&xml);
    let root = parse(&xml);
    let verbs: Vec<_> = root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(verbs, ["Say", "Gather", "Dial", "Say", "Record", "Hangup"]);
    assert_eq!(root.children[0].text, greeting);
}

#[test]
fn display_matches_to_xml() {
    let r = VoiceResponse::new().say("hi");
    assert_eq!(r.to_string(), r.to_xml());
    let m = MessagingResponse::new().message("hi");
    assert_eq!(m.to_string(), m.to_xml());
}

#[tokio::test]
async fn into_response_serves_text_xml() {
    for (resp, body) in [
        (
            VoiceResponse::new().say("hello").into_response(),
            VoiceResponse::new().say("hello").to_xml(),
        ),
        (
            MessagingResponse::new().message("hi").into_response(),
            MessagingResponse::new().message("hi").to_xml(),
        ),
    ] {
        assert_eq!(resp.status(), axum::http::StatusCode::OK);
        assert_eq!(
            resp.headers()[axum::http::header::CONTENT_TYPE],
            "text/xml; charset=utf-8"
        );
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), body);
    }
}
