//! The Api v2010 client against wiremock: each operation's method, path, auth, form or query
//! parameter names (as in `oai/twilio_api_v2010.json`) and response parsing, then the error
//! classification a job queue relies on.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_twilio::rest::{
    AvailableNumberSearch, BuyNumber, CallStatus, CreateCall, ListMessages, MediaFormat,
    MessageStatus, NumberConfig, NumberKind, NumberToBuy, RecordingStatus, SendMessage, TwilioAuth,
    TwilioClient, TwilioClientConfig, TwilioError, WebhookMethod, describe_code, is_permanent_code,
};
use url::Url;
use wiremock::matchers::{basic_auth, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACCOUNT: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN: &str = "test-auth-token";
const MESSAGE_SID: &str = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CALL_SID: &str = "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NUMBER_SID: &str = "PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const RECORDING_SID: &str = "REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn api(tail: &str) -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT}/{tail}")
}

fn config_for(base: &str) -> TwilioClientConfig {
    let mut config = TwilioClientConfig::new(ACCOUNT, TwilioAuth::AuthToken(TOKEN.into()));
    config.base_url = Url::parse(base).unwrap();
    config.timeout = Duration::from_secs(5);
    config
}

fn client(server: &MockServer) -> TwilioClient {
    TwilioClient::new(config_for(&server.uri())).unwrap()
}

fn auth() -> wiremock::matchers::BasicAuthMatcher {
    basic_auth(ACCOUNT, TOKEN)
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "expected exactly one request");
    requests.remove(0)
}

async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn form_of(request: &Request) -> Vec<(String, String)> {
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn query_of(request: &Request) -> Vec<(String, String)> {
    request.url.query_pairs().into_owned().collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `api.v2010.account.message` as Twilio sends it: string numbers, nulls, extra fields.
fn message_json(status: &str) -> Value {
    json!({
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": "Your appointment is confirmed for Tue 3pm.",
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": null,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": "+15005550006",
        "messaging_service_sid": null,
        "num_media": "0",
        "num_segments": "2",
        "price": null,
        "price_unit": "USD",
        "sid": MESSAGE_SID,
        "status": status,
        "subresource_uris": {
            "media": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE_SID}/Media.json")
        },
        "to": "+15551234567",
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE_SID}.json"),
        "some_future_field": {"nested": [1, 2, 3]}
    })
}

/// `api.v2010.account.call`.
fn call_json() -> Value {
    json!({
        "account_sid": ACCOUNT,
        "answered_by": null,
        "api_version": "2010-04-01",
        "caller_name": null,
        "date_created": "Tue, 31 Aug 2010 20:36:28 +0000",
        "date_updated": "Tue, 31 Aug 2010 20:36:44 +0000",
        "direction": "outbound-api",
        "duration": "15",
        "end_time": "Tue, 31 Aug 2010 20:36:44 +0000",
        "forwarded_from": null,
        "from": "+15005550006",
        "from_formatted": "(500) 555-0006",
        "group_sid": null,
        "parent_call_sid": null,
        "phone_number_sid": NUMBER_SID,
        "price": "-0.03000",
        "price_unit": "USD",
        "sid": CALL_SID,
        "start_time": "Tue, 31 Aug 2010 20:36:29 +0000",
        "status": "completed",
        "subresource_uris": {"recordings": "/x"},
        "to": "+15551234567",
        "to_formatted": "(555) 123-4567",
        "trunk_sid": null,
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL_SID}.json"),
        "queue_time": "1000"
    })
}

/// `api.v2010.account.incoming_phone_number`.
fn number_json(phone: &str, sid: &str) -> Value {
    json!({
        "account_sid": ACCOUNT,
        "address_requirements": "none",
        "address_sid": null,
        "api_version": "2010-04-01",
        "beta": false,
        "capabilities": {"voice": true, "sms": true, "mms": false, "fax": false},
        "date_created": "Thu, 30 Jul 2015 23:19:04 +0000",
        "date_updated": "Thu, 30 Jul 2015 23:19:04 +0000",
        "emergency_status": "Inactive",
        "friendly_name": "Salon Bella",
        "identity_sid": null,
        "origin": "twilio",
        "phone_number": phone,
        "sid": sid,
        "sms_application_sid": null,
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": "POST",
        "sms_url": "https://sb.example.com/twilio/sms",
        "status_callback": "https://sb.example.com/twilio/call-status",
        "status_callback_method": "POST",
        "trunk_sid": null,
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{sid}.json"),
        "voice_application_sid": null,
        "voice_caller_id_lookup": false,
        "voice_fallback_method": "POST",
        "voice_fallback_url": null,
        "voice_method": "POST",
        "voice_url": "https://sb.example.com/twilio/voice",
        "bundle_sid": null,
        "voice_receive_mode": "voice",
        "status": "in-use",
        "type": "local"
    })
}

fn twilio_error(code: u32, status: u16, message: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status
    })
}

#[tokio::test]
async fn send_message_posts_oai_form_with_basic_auth_user_agent_and_parses_message() {
    let server = MockServer::start().await;
    let user_agent = format!("switchboard/{}", env!("CARGO_PKG_VERSION"));
    Mock::given(method("POST"))
        .and(path(api("Messages.json")))
        .and(auth())
        .and(header("user-agent", user_agent.as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(message_json("queued")))
        .expect(1)
        .mount(&server)
        .await;

    let sent = client(&server)
        .send_message(&SendMessage {
            to: "+15551234567".into(),
            from: Some("+15005550006".into()),
            body: Some("Your appointment is confirmed for Tue 3pm.".into()),
            media_url: vec![
                "https://cdn.example.com/a.png".into(),
                "https://cdn.example.com/b.png".into(),
            ],
            status_callback: Some("https://sb.example.com/twilio/message-status".into()),
            validity_period: Some(600),
            smart_encoded: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();

    let request = only_request(&server).await;
    assert_eq!(
        form_of(&request),
        pairs(&[
            ("To", "+15551234567"),
            ("From", "+15005550006"),
            ("Body", "Your appointment is confirmed for Tue 3pm."),
            ("MediaUrl", "https://cdn.example.com/a.png"),
            ("MediaUrl", "https://cdn.example.com/b.png"),
            (
                "StatusCallback",
                "https://sb.example.com/twilio/message-status"
            ),
            ("ValidityPeriod", "600"),
            ("SmartEncoded", "true"),
        ])
    );
    assert_eq!(sent.sid.as_deref(), Some(MESSAGE_SID));
    assert_eq!(sent.status, Some(MessageStatus::Queued));
    assert_eq!(sent.to.as_deref(), Some("+15551234567"));
    assert_eq!(sent.from.as_deref(), Some("+15005550006"));
    assert_eq!(sent.direction.as_deref(), Some("outbound-api"));
    assert_eq!(sent.num_segments.as_deref(), Some("2"));
    assert_eq!(sent.segments(), Some(2));
    assert_eq!(sent.media_count(), Some(0));
    assert_eq!(sent.price, None);
    assert_eq!(sent.error_code, None);
    assert_eq!(sent.date_sent, None);
    assert_eq!(
        sent.created_at().unwrap().to_string(),
        "2023-08-24T05:01:45Z"
    );
}

#[tokio::test]
async fn scheduled_message_sends_schedule_type_fixed_and_utc_send_at() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Messages.json")))
        .respond_with(ResponseTemplate::new(201).set_body_json(message_json("scheduled")))
        .mount(&server)
        .await;

    let sent = client(&server)
        .send_message(&SendMessage {
            to: "+15551234567".into(),
            messaging_service_sid: Some("MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()),
            content_sid: Some("HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()),
            content_variables: Some(r#"{"1":"Tue 3pm"}"#.into()),
            send_at: Some("2030-01-02T03:04:05.250+02:00".parse().unwrap()),
            ..Default::default()
        })
        .await
        .unwrap();

    assert_eq!(sent.status, Some(MessageStatus::Scheduled));
    assert_eq!(
        form_of(&only_request(&server).await),
        pairs(&[
            ("To", "+15551234567"),
            ("MessagingServiceSid", "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("ContentSid", "HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("ContentVariables", r#"{"1":"Tue 3pm"}"#),
            ("ScheduleType", "fixed"),
            ("SendAt", "2030-01-02T01:04:05Z"),
        ])
    );
}

#[tokio::test]
async fn send_message_without_sender_fails_locally_without_a_request() {
    let server = MockServer::start().await;
    let err = client(&server)
        .send_message(&SendMessage {
            to: "+15551234567".into(),
            body: Some("hi".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, TwilioError::InvalidRequest(_)), "{err:?}");
    assert!(err.is_permanent());
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn api_key_auth_sends_key_sid_and_secret_but_keeps_account_sid_in_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api(&format!("Messages/{MESSAGE_SID}.json"))))
        .and(basic_auth(
            "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "key-secret",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(message_json("sent")))
        .expect(1)
        .mount(&server)
        .await;

    let mut config = config_for(&server.uri());
    config.auth = TwilioAuth::ApiKey {
        sid: "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
        secret: "key-secret".into(),
    };
    let message = TwilioClient::new(config)
        .unwrap()
        .fetch_message(MESSAGE_SID)
        .await
        .unwrap();
    assert_eq!(message.status, Some(MessageStatus::Sent));
}

#[tokio::test]
async fn fetch_message_reads_delivery_error_price_and_sent_date() {
    let server = MockServer::start().await;
    let mut body = message_json("undelivered");
    body["error_code"] = json!(30003);
    body["error_message"] = json!("Unreachable destination handset");
    body["price"] = json!("-0.00750");
    body["date_sent"] = json!("Fri, 24 May 2019 17:44:50 +0000");
    Mock::given(method("GET"))
        .and(path(api(&format!("Messages/{MESSAGE_SID}.json"))))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let message = client(&server).fetch_message(MESSAGE_SID).await.unwrap();
    assert_eq!(message.status, Some(MessageStatus::Undelivered));
    assert_eq!(message.error_code, Some(30003));
    assert_eq!(
        message.error_message.as_deref(),
        Some("Unreachable destination handset")
    );
    assert_eq!(message.price.as_deref(), Some("-0.00750"));
    assert_eq!(
        message.sent_at().unwrap().to_string(),
        "2019-05-24T17:44:50Z"
    );
}

#[tokio::test]
async fn list_messages_sends_oai_filters_and_follows_next_page_under_a_base_prefix() {
    let server = MockServer::start().await;
    let first_path = format!("/sandbox{}", api("Messages.json"));
    let next_uri = format!("{}?PageSize=2&Page=1&PageToken=PAabc", api("Messages.json"));
    let mut first = json!({
        "end": 1,
        "first_page_uri": format!("{}?PageSize=2&Page=0", api("Messages.json")),
        "next_page_uri": next_uri,
        "page": 0,
        "page_size": 2,
        "previous_page_uri": null,
        "messages": [message_json("delivered"), message_json("sent")],
        "start": 0,
        "uri": format!("{}?PageSize=2&Page=0", api("Messages.json"))
    });
    first["messages"][1]["sid"] = json!("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    let last = json!({
        "end": 2,
        "first_page_uri": format!("{}?PageSize=2&Page=0", api("Messages.json")),
        "next_page_uri": null,
        "page": 1,
        "page_size": 2,
        "previous_page_uri": format!("{}?PageSize=2&Page=0", api("Messages.json")),
        "messages": [message_json("failed")],
        "start": 2,
        "uri": next_uri
    });
    Mock::given(method("GET"))
        .and(path(first_path.as_str()))
        .and(auth())
        .and(wiremock::matchers::query_param_is_missing("Page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(first_path.as_str()))
        .and(auth())
        .and(wiremock::matchers::query_param("PageToken", "PAabc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(last))
        .mount(&server)
        .await;

    let client = TwilioClient::new(config_for(&format!("{}/sandbox", server.uri()))).unwrap();
    let page = client
        .list_messages(&ListMessages {
            to: Some("+15551234567".into()),
            from: Some("+15005550006".into()),
            date_sent_after: Some("2024-05-01T00:00:00Z".parse().unwrap()),
            date_sent_before: Some("2024-05-02T00:00:00Z".parse().unwrap()),
            page_size: Some(2),
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 2);
    assert_eq!(
        page.messages[1].sid.as_deref(),
        Some("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
    );
    assert_eq!(page.next_page_uri.as_deref(), Some(next_uri.as_str()));

    let second = client.next_message_page(&page).await.unwrap().unwrap();
    assert_eq!(second.messages[0].status, Some(MessageStatus::Failed));
    assert_eq!(second.page, Some(1));
    assert!(client.next_message_page(&second).await.unwrap().is_none());

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        2,
        "the last page must not trigger a request"
    );
    assert_eq!(
        query_of(&requests[0]),
        pairs(&[
            ("To", "+15551234567"),
            ("From", "+15005550006"),
            ("DateSent>", "2024-05-01T00:00:00Z"),
            ("DateSent<", "2024-05-02T00:00:00Z"),
            ("PageSize", "2"),
        ])
    );
    assert_eq!(
        query_of(&requests[1]),
        pairs(&[("PageSize", "2"), ("Page", "1"), ("PageToken", "PAabc")])
    );
}

#[tokio::test]
async fn create_call_repeats_status_callback_event_keys_and_parses_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Calls.json")))
        .and(auth())
        .respond_with(ResponseTemplate::new(201).set_body_json(call_json()))
        .expect(1)
        .mount(&server)
        .await;

    let call = client(&server)
        .create_call(&CreateCall {
            to: "+15551234567".into(),
            from: "+15005550006".into(),
            url: Some("https://sb.example.com/twilio/outbound".into()),
            method: Some(WebhookMethod::Post),
            status_callback: Some("https://sb.example.com/twilio/call-status".into()),
            status_callback_event: vec![
                "initiated".into(),
                "ringing".into(),
                "answered".into(),
                "completed".into(),
            ],
            status_callback_method: Some(WebhookMethod::Post),
            timeout: Some(20),
            time_limit: Some(3600),
            record: Some(true),
            recording_status_callback: Some("https://sb.example.com/twilio/recording".into()),
            recording_status_callback_event: vec!["completed".into(), "absent".into()],
            machine_detection: Some("Enable".into()),
            caller_id: Some("+15005550006".into()),
            ..Default::default()
        })
        .await
        .unwrap();

    assert_eq!(
        form_of(&only_request(&server).await),
        pairs(&[
            ("To", "+15551234567"),
            ("From", "+15005550006"),
            ("Url", "https://sb.example.com/twilio/outbound"),
            ("Method", "POST"),
            (
                "StatusCallback",
                "https://sb.example.com/twilio/call-status"
            ),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
            ("StatusCallbackMethod", "POST"),
            ("Timeout", "20"),
            ("TimeLimit", "3600"),
            ("Record", "true"),
            (
                "RecordingStatusCallback",
                "https://sb.example.com/twilio/recording"
            ),
            ("RecordingStatusCallbackEvent", "completed"),
            ("RecordingStatusCallbackEvent", "absent"),
            ("MachineDetection", "Enable"),
            ("CallerId", "+15005550006"),
        ])
    );
    assert_eq!(call.sid.as_deref(), Some(CALL_SID));
    assert_eq!(call.status, Some(CallStatus::Completed));
    assert_eq!(call.duration_secs(), Some(15));
    assert_eq!(call.price.as_deref(), Some("-0.03000"));
    assert_eq!(call.answered_by, None);
    assert_eq!(call.parent_call_sid, None);
}

#[tokio::test]
async fn create_call_sends_inline_twiml_without_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Calls.json")))
        .respond_with(ResponseTemplate::new(201).set_body_json(call_json()))
        .mount(&server)
        .await;
    let twiml = "<Response><Say>Your appointment is tomorrow.</Say></Response>";
    client(&server)
        .create_call(&CreateCall {
            to: "+15551234567".into(),
            from: "+15005550006".into(),
            twiml: Some(twiml.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        form_of(&only_request(&server).await),
        pairs(&[
            ("To", "+15551234567"),
            ("From", "+15005550006"),
            ("Twiml", twiml)
        ])
    );
}

#[tokio::test]
async fn create_call_with_both_url_and_twiml_is_rejected_without_a_request() {
    let server = MockServer::start().await;
    let err = client(&server)
        .create_call(&CreateCall {
            to: "+15551234567".into(),
            from: "+15005550006".into(),
            url: Some("https://sb.example.com/twilio/outbound".into()),
            twiml: Some("<Response/>".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, TwilioError::InvalidRequest(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert!(!err.may_have_been_processed());
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn create_call_rejects_missing_or_oversized_twiml_and_joined_events_without_a_request() {
    let server = MockServer::start().await;
    let client = client(&server);
    let base = CreateCall {
        to: "+15551234567".into(),
        from: "+15005550006".into(),
        ..Default::default()
    };
    let at_limit = format!("<Response><Say>{}</Say></Response>", "a".repeat(4000 - 32));
    assert_eq!(at_limit.chars().count(), 4000);
    let over_limit = format!("{at_limit} ");
    let cases = [
        ("neither url nor twiml", base.clone()),
        (
            "twiml over 4000 characters",
            CreateCall {
                twiml: Some(over_limit),
                ..base.clone()
            },
        ),
        (
            "space-joined status events",
            CreateCall {
                url: Some("https://sb.example.com/twilio/outbound".into()),
                status_callback_event: vec!["initiated ringing".into()],
                ..base.clone()
            },
        ),
    ];
    for (what, call) in cases {
        let err = client.create_call(&call).await.unwrap_err();
        assert!(
            matches!(err, TwilioError::InvalidRequest(_)),
            "{what}: {err:?}"
        );
    }
    assert_eq!(request_count(&server).await, 0);

    // Exactly 4000 characters is still allowed.
    Mock::given(method("POST"))
        .and(path(api("Calls.json")))
        .respond_with(ResponseTemplate::new(201).set_body_json(call_json()))
        .mount(&server)
        .await;
    let at_limit_call = CreateCall {
        twiml: Some(at_limit),
        ..base
    };
    client.create_call(&at_limit_call).await.unwrap();
}

#[tokio::test]
async fn fetch_call_reads_in_progress_call_with_null_end_and_duration() {
    let server = MockServer::start().await;
    let mut body = call_json();
    body["status"] = json!("in-progress");
    body["duration"] = Value::Null;
    body["end_time"] = Value::Null;
    body["price"] = Value::Null;
    Mock::given(method("GET"))
        .and(path(api(&format!("Calls/{CALL_SID}.json"))))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let call = client(&server).fetch_call(CALL_SID).await.unwrap();
    assert_eq!(call.status, Some(CallStatus::InProgress));
    assert_eq!(call.duration_secs(), None);
    assert_eq!(call.ended_at(), None);
    assert_eq!(
        call.started_at().unwrap().to_string(),
        "2010-08-31T20:36:29Z"
    );
}

#[tokio::test]
async fn search_available_numbers_uses_kind_path_oai_query_names_and_both_capability_spellings() {
    let server = MockServer::start().await;
    let local = json!({
        "available_phone_numbers": [{
            "address_requirements": "none",
            "beta": false,
            "capabilities": {"voice": true, "SMS": true, "MMS": false},
            "friendly_name": "(808) 925-1571",
            "iso_country": "US",
            "lata": "834",
            "latitude": "19.720000",
            "locality": "Hilo",
            "longitude": -155.09,
            "phone_number": "+18089251571",
            "postal_code": "96720",
            "rate_center": "HILO",
            "region": "HI"
        }],
        "uri": api("AvailablePhoneNumbers/US/Local.json")
    });
    let toll_free = json!({
        "available_phone_numbers": [{
            "capabilities": {"voice": true, "sms": true, "mms": true},
            "friendly_name": "(844) 555-0100",
            "iso_country": "US",
            "lata": null, "latitude": null, "locality": null, "longitude": null,
            "phone_number": "+18445550100",
            "postal_code": null, "rate_center": null, "region": null
        }],
        "uri": api("AvailablePhoneNumbers/US/TollFree.json")
    });
    let mobile =
        json!({"available_phone_numbers": [], "uri": api("AvailablePhoneNumbers/GB/Mobile.json")});
    for (tail, body) in [
        ("AvailablePhoneNumbers/US/Local.json", local),
        ("AvailablePhoneNumbers/US/TollFree.json", toll_free),
        ("AvailablePhoneNumbers/GB/Mobile.json", mobile),
    ] {
        Mock::given(method("GET"))
            .and(path(api(tail)))
            .and(auth())
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);

    let found = client
        .search_available_numbers(
            "us",
            NumberKind::Local,
            &AvailableNumberSearch {
                area_code: Some(808),
                contains: Some("25*".into()),
                sms_enabled: Some(true),
                voice_enabled: Some(true),
                mms_enabled: Some(false),
                in_region: Some("HI".into()),
                in_postal_code: Some("96720".into()),
                page_size: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let number = &found[0];
    assert_eq!(number.phone_number.as_deref(), Some("+18089251571"));
    assert_eq!(number.friendly_name.as_deref(), Some("(808) 925-1571"));
    assert_eq!(number.locality.as_deref(), Some("Hilo"));
    assert_eq!(number.region.as_deref(), Some("HI"));
    assert_eq!(number.postal_code.as_deref(), Some("96720"));
    assert_eq!(number.iso_country.as_deref(), Some("US"));
    assert_eq!(number.latitude.as_deref(), Some("19.720000"));
    assert_eq!(number.longitude.as_deref(), Some("-155.09"));
    assert!(number.capabilities.voice && number.capabilities.sms && !number.capabilities.mms);

    let toll_free = client
        .search_available_numbers("US", NumberKind::TollFree, &Default::default())
        .await
        .unwrap();
    assert!(toll_free[0].capabilities.sms && toll_free[0].capabilities.mms);
    assert_eq!(toll_free[0].locality, None);

    let mobile = client
        .search_available_numbers("GB", NumberKind::Mobile, &Default::default())
        .await
        .unwrap();
    assert!(mobile.is_empty());

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        query_of(&requests[0]),
        pairs(&[
            ("AreaCode", "808"),
            ("Contains", "25*"),
            ("SmsEnabled", "true"),
            ("MmsEnabled", "false"),
            ("VoiceEnabled", "true"),
            ("InRegion", "HI"),
            ("InPostalCode", "96720"),
            ("PageSize", "5"),
        ])
    );
    assert!(query_of(&requests[1]).is_empty());
}

#[tokio::test]
async fn search_available_numbers_rejects_a_bad_country_without_a_request() {
    let server = MockServer::start().await;
    let err = client(&server)
        .search_available_numbers("USA/../x", NumberKind::Local, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, TwilioError::InvalidRequest(_)), "{err:?}");
    assert_eq!(request_count(&server).await, 0);
}

fn webhooks() -> NumberConfig {
    NumberConfig {
        friendly_name: Some("Salon Bella".into()),
        voice_url: Some("https://sb.example.com/twilio/voice".into()),
        voice_method: Some(WebhookMethod::Post),
        voice_fallback_url: Some("https://sb.example.com/twilio/voice-fallback".into()),
        sms_url: Some("https://sb.example.com/twilio/sms".into()),
        sms_method: Some(WebhookMethod::Post),
        sms_fallback_url: Some("https://sb.example.com/twilio/sms-fallback".into()),
        status_callback: Some("https://sb.example.com/twilio/call-status".into()),
        status_callback_method: Some(WebhookMethod::Post),
        ..Default::default()
    }
}

const WEBHOOK_FORM: [(&str, &str); 9] = [
    ("FriendlyName", "Salon Bella"),
    ("VoiceUrl", "https://sb.example.com/twilio/voice"),
    ("VoiceMethod", "POST"),
    (
        "VoiceFallbackUrl",
        "https://sb.example.com/twilio/voice-fallback",
    ),
    ("SmsUrl", "https://sb.example.com/twilio/sms"),
    ("SmsMethod", "POST"),
    (
        "SmsFallbackUrl",
        "https://sb.example.com/twilio/sms-fallback",
    ),
    (
        "StatusCallback",
        "https://sb.example.com/twilio/call-status",
    ),
    ("StatusCallbackMethod", "POST"),
];

#[tokio::test]
async fn buy_number_by_phone_number_sends_webhook_config_and_parses_number() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("IncomingPhoneNumbers.json")))
        .and(auth())
        .respond_with(
            ResponseTemplate::new(201).set_body_json(number_json("+15005550006", NUMBER_SID)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let number = client(&server)
        .buy_number(&BuyNumber {
            number: NumberToBuy::PhoneNumber("+15005550006".into()),
            config: webhooks(),
        })
        .await
        .unwrap();

    let mut expected = vec![("PhoneNumber", "+15005550006")];
    expected.extend(WEBHOOK_FORM);
    assert_eq!(form_of(&only_request(&server).await), pairs(&expected));
    assert_eq!(number.sid.as_deref(), Some(NUMBER_SID));
    assert_eq!(number.phone_number.as_deref(), Some("+15005550006"));
    assert_eq!(number.friendly_name.as_deref(), Some("Salon Bella"));
    assert_eq!(
        number.voice_url.as_deref(),
        Some("https://sb.example.com/twilio/voice")
    );
    assert_eq!(
        number.sms_url.as_deref(),
        Some("https://sb.example.com/twilio/sms")
    );
    assert_eq!(
        number.status_callback.as_deref(),
        Some("https://sb.example.com/twilio/call-status")
    );
    assert_eq!(number.voice_fallback_url, None);
    assert_eq!(number.number_type.as_deref(), Some("local"));
    assert!(number.capabilities.voice && number.capabilities.sms && !number.capabilities.mms);
    assert_eq!(
        number.created_at().unwrap().to_string(),
        "2015-07-30T23:19:04Z"
    );
}

#[tokio::test]
async fn buy_number_by_area_code_sends_only_area_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("IncomingPhoneNumbers.json")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(number_json("+14155550100", NUMBER_SID)),
        )
        .mount(&server)
        .await;
    client(&server)
        .buy_number(&BuyNumber {
            number: NumberToBuy::AreaCode("415".into()),
            config: NumberConfig::default(),
        })
        .await
        .unwrap();
    assert_eq!(
        form_of(&only_request(&server).await),
        pairs(&[("AreaCode", "415")])
    );
}

#[tokio::test]
async fn buying_an_unavailable_number_is_permanent_21422() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("IncomingPhoneNumbers.json")))
        .respond_with(ResponseTemplate::new(400).set_body_json(twilio_error(
            21422,
            400,
            "PhoneNumber Requested is not available",
        )))
        .mount(&server)
        .await;
    let err = client(&server)
        .buy_number(&BuyNumber {
            number: NumberToBuy::PhoneNumber("+15005550000".into()),
            config: NumberConfig::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.twilio_code(), Some(21422));
    assert!(err.is_permanent());
    assert!(
        err.human_reason().contains("not available"),
        "{}",
        err.human_reason()
    );
}

#[tokio::test]
async fn update_number_posts_config_to_the_number_sid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api(&format!(
            "IncomingPhoneNumbers/{NUMBER_SID}.json"
        ))))
        .and(auth())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(number_json("+15005550006", NUMBER_SID)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let number = client(&server)
        .update_number(NUMBER_SID, &webhooks())
        .await
        .unwrap();
    assert_eq!(form_of(&only_request(&server).await), pairs(&WEBHOOK_FORM));
    assert_eq!(number.sid.as_deref(), Some(NUMBER_SID));
}

#[tokio::test]
async fn release_number_sends_delete_and_accepts_an_empty_204() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(api(&format!(
            "IncomingPhoneNumbers/{NUMBER_SID}.json"
        ))))
        .and(auth())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).release_number(NUMBER_SID).await.unwrap();
}

#[tokio::test]
async fn release_of_an_unknown_number_is_permanent_20404() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(api(&format!(
            "IncomingPhoneNumbers/{NUMBER_SID}.json"
        ))))
        .respond_with(ResponseTemplate::new(404).set_body_json(twilio_error(
            20404,
            404,
            "The requested resource was not found",
        )))
        .mount(&server)
        .await;
    let err = client(&server)
        .release_number(NUMBER_SID)
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.twilio_code(), Some(20404));
    assert!(err.is_permanent());
}

#[tokio::test]
async fn list_incoming_numbers_filters_by_phone_number_and_reads_every_page() {
    let server = MockServer::start().await;
    let next_uri = format!(
        "{}?PhoneNumber=%2B15005550006&PageSize=1000&Page=1&PageToken=PAx",
        api("IncomingPhoneNumbers.json")
    );
    Mock::given(method("GET"))
        .and(path(api("IncomingPhoneNumbers.json")))
        .and(auth())
        .and(wiremock::matchers::query_param_is_missing("PageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "incoming_phone_numbers": [number_json("+15005550006", NUMBER_SID)],
            "next_page_uri": next_uri,
            "page": 0, "page_size": 1000, "uri": api("IncomingPhoneNumbers.json")
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("IncomingPhoneNumbers.json")))
        .and(auth())
        .and(wiremock::matchers::query_param("PageToken", "PAx"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "incoming_phone_numbers": [number_json("+15005550006", "PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")],
            "next_page_uri": null,
            "page": 1, "page_size": 1000, "uri": next_uri
        })))
        .mount(&server)
        .await;

    let numbers = client(&server)
        .list_incoming_numbers(Some("+15005550006"))
        .await
        .unwrap();
    let sids: Vec<_> = numbers.iter().filter_map(|n| n.sid.as_deref()).collect();
    assert_eq!(sids, [NUMBER_SID, "PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        query_of(&requests[0]),
        pairs(&[("PhoneNumber", "+15005550006"), ("PageSize", "1000")])
    );
}

#[tokio::test]
async fn fetch_recording_reads_metadata_with_string_duration_and_media_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api(&format!("Recordings/{RECORDING_SID}.json"))))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "account_sid": ACCOUNT,
            "api_version": "2010-04-01",
            "call_sid": CALL_SID,
            "conference_sid": null,
            "channels": 1,
            "date_created": "Fri, 14 Oct 2016 21:56:34 +0000",
            "date_updated": "Fri, 14 Oct 2016 21:56:38 +0000",
            "start_time": "Fri, 14 Oct 2016 21:56:34 +0000",
            "price": "-0.00250",
            "price_unit": "USD",
            "duration": "4",
            "sid": RECORDING_SID,
            "source": "RecordVerb",
            "status": "completed",
            "error_code": null,
            "uri": api(&format!("Recordings/{RECORDING_SID}.json")),
            "subresource_uris": {"transcriptions": "/x"},
            "encryption_details": null,
            "media_url": format!("https://api.twilio.com{}", api(&format!("Recordings/{RECORDING_SID}")))
        })))
        .mount(&server)
        .await;

    let recording = client(&server)
        .fetch_recording(RECORDING_SID)
        .await
        .unwrap();
    assert_eq!(recording.sid.as_deref(), Some(RECORDING_SID));
    assert_eq!(recording.call_sid.as_deref(), Some(CALL_SID));
    assert_eq!(recording.status, Some(RecordingStatus::Completed));
    assert_eq!(recording.source.as_deref(), Some("RecordVerb"));
    assert_eq!(recording.channels, Some(1));
    assert_eq!(recording.duration_secs(), Some(4));
    assert_eq!(recording.error_code, None);
    assert!(
        recording
            .media_url
            .as_deref()
            .unwrap()
            .ends_with(&format!("Recordings/{RECORDING_SID}"))
    );
}

#[tokio::test]
async fn fetch_recording_media_gets_the_extension_path_with_basic_auth() {
    let server = MockServer::start().await;
    for (ext, content_type, bytes) in [
        ("wav", "audio/x-wav", b"RIFF....WAVE".to_vec()),
        ("mp3", "audio/mpeg", b"ID3\x04fake".to_vec()),
    ] {
        Mock::given(method("GET"))
            .and(path(api(&format!("Recordings/{RECORDING_SID}.{ext}"))))
            .and(auth())
            .respond_with(ResponseTemplate::new(200).set_body_raw(bytes, content_type))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);

    let (wav_type, wav) = client
        .fetch_recording_media(RECORDING_SID, MediaFormat::Wav)
        .await
        .unwrap();
    assert_eq!(wav_type, "audio/x-wav");
    assert_eq!(&wav[..], b"RIFF....WAVE");

    let (mp3_type, mp3) = client
        .fetch_recording_media(RECORDING_SID, MediaFormat::Mp3)
        .await
        .unwrap();
    assert_eq!(mp3_type, "audio/mpeg");
    assert_eq!(&mp3[..], b"ID3\x04fake");
}

#[tokio::test]
async fn download_media_url_sends_credentials_only_to_the_configured_origin() {
    let api_server = MockServer::start().await;
    let other_server = MockServer::start().await;
    let media_path = api(&format!("Recordings/{RECORDING_SID}"));
    for server in [&api_server, &other_server] {
        Mock::given(method("GET"))
            .and(path(media_path.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_raw(b"RIFF".to_vec(), "audio/x-wav"))
            .mount(server)
            .await;
    }
    let client = client(&api_server);

    let (content_type, body) = client
        .download_media_url(&format!("{}{media_path}", api_server.uri()))
        .await
        .unwrap();
    assert_eq!(content_type, "audio/x-wav");
    assert_eq!(&body[..], b"RIFF");
    let own = only_request(&api_server).await;
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{ACCOUNT}:{TOKEN}")
        )
    );
    assert_eq!(own.headers.get("authorization").unwrap(), expected.as_str());

    // Same host (127.0.0.1), other port: another service, so no credentials.
    client
        .download_media_url(&format!("{}{media_path}", other_server.uri()))
        .await
        .unwrap();
    let foreign = only_request(&other_server).await;
    assert!(foreign.headers.get("authorization").is_none());
}

#[tokio::test]
async fn rate_limited_429_is_retryable_not_processed_and_honours_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Messages.json")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3")
                .set_body_json(twilio_error(20429, 429, "Too Many Requests")),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .send_message(&SendMessage {
            to: "+15551234567".into(),
            from: Some("+15005550006".into()),
            body: Some("hi".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(429));
    assert_eq!(err.twilio_code(), Some(20429));
    assert!(err.is_retryable());
    assert!(!err.may_have_been_processed());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
}

#[tokio::test]
async fn code_20429_is_retryable_whatever_the_status_and_without_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api(&format!("Calls/{CALL_SID}.json"))))
        .respond_with(ResponseTemplate::new(400).set_body_json(twilio_error(
            20429,
            400,
            "Too Many Requests",
        )))
        .mount(&server)
        .await;
    let err = client(&server).fetch_call(CALL_SID).await.unwrap_err();
    assert_eq!(err.twilio_code(), Some(20429));
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn invalid_to_21211_is_permanent_with_code_more_info_and_human_reason() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Messages.json")))
        .respond_with(ResponseTemplate::new(400).set_body_json(twilio_error(
            21211,
            400,
            "The 'To' number +15005550001 is not a valid phone number.",
        )))
        .mount(&server)
        .await;
    let err = client(&server)
        .send_message(&SendMessage {
            to: "+15005550001".into(),
            from: Some("+15005550006".into()),
            body: Some("hi".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    match &err {
        TwilioError::Api {
            status,
            code,
            message,
            more_info,
            retry_after,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(*code, Some(21211));
            assert!(message.contains("not a valid phone number"));
            assert_eq!(
                more_info.as_deref(),
                Some("https://www.twilio.com/docs/errors/21211")
            );
            assert_eq!(*retry_after, None);
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(!err.may_have_been_processed());
    assert!(err.is_permanent());
    assert!(err.human_reason().contains("'To' phone number"));
    assert!(err.to_string().contains("21211"));
}

#[tokio::test]
async fn server_errors_500_and_503_are_retryable_and_may_have_been_processed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("Calls/CA500.json")))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("Retry-After", "9")
                .set_body_json(
                    json!({"code": null, "message": "Internal Server Error", "status": 500}),
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("Calls/CA503.json")))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "7")
                .set_body_raw("<html><body>Service Unavailable</body></html>", "text/html"),
        )
        .mount(&server)
        .await;
    let client = client(&server);

    let err500 = client.fetch_call("CA500").await.unwrap_err();
    assert_eq!(err500.http_status(), Some(500));
    assert!(err500.is_retryable());
    assert!(err500.may_have_been_processed());
    // Retry-After is only read on 429 and 503.
    assert_eq!(err500.retry_after(), None);

    let err503 = client.fetch_call("CA503").await.unwrap_err();
    assert_eq!(err503.http_status(), Some(503));
    assert_eq!(err503.twilio_code(), None);
    assert!(err503.is_retryable());
    assert_eq!(err503.retry_after(), Some(Duration::from_secs(7)));
    assert!(err503.to_string().contains("Service Unavailable"));
}

#[tokio::test]
async fn timeout_is_retryable_and_may_have_been_processed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Calls.json")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(call_json())
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let mut config = config_for(&server.uri());
    config.timeout = Duration::from_millis(200);
    let err = TwilioClient::new(config)
        .unwrap()
        .create_call(&CreateCall {
            to: "+15551234567".into(),
            from: "+15005550006".into(),
            url: Some("https://sb.example.com/twilio/outbound".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, TwilioError::Timeout), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.may_have_been_processed());
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connect_error_that_never_reached_twilio() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = TwilioClient::new(config_for(&format!("http://{address}"))).unwrap();
    let err = client.fetch_message(MESSAGE_SID).await.unwrap_err();
    assert!(matches!(err, TwilioError::Connect(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(!err.may_have_been_processed());
    assert_eq!(err.http_status(), None);
}

#[tokio::test]
async fn malformed_json_on_201_is_decode_not_retryable_but_may_have_been_processed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("Messages.json")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(r#"{"sid": "SMaaaa", "status": "que"#, "application/json"),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .send_message(&SendMessage {
            to: "+15551234567".into(),
            from: Some("+15005550006".into()),
            body: Some("hi".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    match &err {
        TwilioError::Decode {
            status,
            body_excerpt,
        } => {
            assert_eq!(*status, 201);
            assert!(body_excerpt.contains("SMaaaa"), "{body_excerpt}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.may_have_been_processed());
    assert!(!err.is_permanent());
}

/// Every permanent code from TWILIO_FACTS B4/B11 is classified permanent, is not retryable when it
/// comes back in an API error, and explains itself with a sentence naming the cause.
#[test]
fn every_permanent_code_maps_to_a_reason_and_is_not_retryable() {
    let table: &[(u32, &str)] = &[
        (20003, "credentials"),
        (20404, "does not exist"),
        (21211, "'To' phone number is not a valid"),
        (21212, "'From' phone number is not a valid"),
        (21408, "geographic permissions"),
        (21422, "not available"),
        (21606, "'From' number cannot send"),
        (21610, "STOP"),
        (21612, "cannot route"),
        (21614, "cannot receive SMS"),
        (21626, "StatusCallbackEvent"),
        (21635, "landline"),
        (30004, "blocked"),
        (30005, "unknown or no longer in service"),
        (30006, "landline"),
        (30007, "filtered"),
        (30032, "toll-free"),
        (35118, "Messaging Service"),
    ];
    for &(code, keyword) in table {
        assert!(is_permanent_code(code), "{code} should be permanent");
        let reason = describe_code(code).unwrap_or_else(|| panic!("{code} has no reason"));
        assert!(
            reason.contains(keyword),
            "{code}: {reason:?} lacks {keyword:?}"
        );
        let err = TwilioError::Api {
            status: 400,
            code: Some(code),
            message: "Twilio's text".into(),
            more_info: None,
            retry_after: None,
        };
        assert!(!err.is_retryable(), "{code} should not be retryable");
        assert!(err.is_permanent(), "{code} should be permanent");
        assert_eq!(err.human_reason(), reason);
    }
}

/// Codes that describe a passing condition stay retryable even on a 4xx, and are never called
/// permanent (a queue that is full now drains; a carrier hiccup passes).
#[test]
fn transient_codes_are_retryable_and_not_permanent() {
    for code in [20429, 21611, 30003, 30008, 30450] {
        assert!(!is_permanent_code(code), "{code} must not be permanent");
        assert!(describe_code(code).is_some(), "{code} should be explained");
    }
    let queue_full = TwilioError::Api {
        status: 400,
        code: Some(21611),
        message: "This 'From' number has exceeded the maximum number of queued messages".into(),
        more_info: None,
        retry_after: None,
    };
    assert!(queue_full.is_retryable());
    assert!(!queue_full.may_have_been_processed());
    // An unknown code on a 4xx falls back to the status: not retryable, Twilio's message kept.
    let unknown = TwilioError::Api {
        status: 400,
        code: Some(99999),
        message: "Something new".into(),
        more_info: None,
        retry_after: None,
    };
    assert!(!unknown.is_retryable());
    assert!(!is_permanent_code(99999));
    assert_eq!(unknown.human_reason(), "Twilio error 99999: Something new");
}
