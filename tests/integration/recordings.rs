//! Recordings, voicemail and transcription end to end: the simulator leaves a voicemail against the
//! in-process app, the sandbox serves the recording media, wiremock plays the OpenAI-compatible
//! transcription and chat endpoints, a tiny in-test SMTP server receives the staff e-mail, and the
//! jobs are drained deterministically.

use std::time::Duration;
use switchboard::domain::CallSid;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::config::RawConfig;
use switchboard::db;
use switchboard::db::recordings::Recording;
use switchboard::jobs::store;
use switchboard::jobs::worker::run_pending_jobs;
use switchboard_twilio::signature::sign_form;
use switchboard_twilio::simulator::{CallScript, DialOutcome, Transcript};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{TestApp, app};
use crate::voice::{MONDAY_10AM_NY, NUMBER, salon, set_clock, signed_post, simulator};

const CALLER: &str = "+14155550142";
const ANN: &str = "+14155550101";
const BOB: &str = "+14155550102";
const WORDS: &str =
    "Hi, this is Dana. I would like to book a haircut for Friday afternoon. Thanks so much!";

/// An app whose recordings go to a fresh directory, with instant sandbox callbacks and unpaced
/// SMS (so both staff texts go out in one drain).
pub async fn start(f: impl FnOnce(&mut RawConfig)) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let app = app()
        .config(|c| {
            c.recordings_dir = Some(path);
            c.sandbox_callback_delay_ms = Some("0".into());
            c.sms_segments_per_second = Some("0".into());
            f(c);
        })
        .start()
        .await;
    (app, dir)
}

/// A mail as the SMTP sink received it.
#[derive(Debug)]
pub struct Mail {
    pub rcpt: Vec<String>,
    pub data: String,
}

/// A local SMTP server that speaks just enough SMTP to accept messages; returns `SMTP_URL`.
pub async fn smtp_sink() -> (String, mpsc::UnboundedReceiver<Mail>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                let (mut rcpt, mut data, mut in_data) = (Vec::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            let _ = tx.send(Mail {
                                rcpt: std::mem::take(&mut rcpt),
                                data: std::mem::take(&mut data),
                            });
                            let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink.test\r\n",
                        "RCPT" => {
                            rcpt.push(line.clone());
                            b"250 2.1.5 ok\r\n"
                        }
                        "MAIL" | "RSET" | "NOOP" => b"250 2.1.0 ok\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"502 5.5.2 unknown\r\n",
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    (format!("smtp://{addr}"), rx)
}

/// Quoted-printable soft line breaks and `=3D` undone, so assertions can look for whole phrases.
fn unfold(data: &str) -> String {
    data.replace("=\n", "").replace("=3D", "=")
}

async fn recordings_of(app: &TestApp, tenant: &str) -> Vec<Recording> {
    db::recordings::list(&app.state.db, tenant, &Default::default(), 100, 0)
        .await
        .unwrap()
        .0
}

async fn jobs_of(app: &TestApp, kind: &str) -> Vec<store::Job> {
    store::list(&app.state.db, None, Some(kind), 100, 0)
        .await
        .unwrap()
        .0
}

async fn staff_id(app: &TestApp, tenant: &str, phone: &str) -> String {
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{tenant}/staff"),
            None,
        )
        .await;
    r.json["data"]["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phone"] == phone)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A caller nobody answers, who leaves a voicemail of `secs` seconds (Twilio's transcript `words`).
async fn leave_voicemail(app: &TestApp, secs: u32, words: Option<&str>) -> Transcript {
    let script = CallScript::new(CALLER, NUMBER)
        .dial_outcome("*", DialOutcome::NoAnswer)
        .record(secs, words);
    let t = simulator(app).run_call(&script).await;
    assert!(t.http_errors.is_empty(), "{t}");
    t
}

fn media_path(app: &TestApp) -> String {
    let r = &app.state.config.recordings.dir;
    r.display().to_string()
}

#[tokio::test]
async fn voicemail_end_to_end_with_twilio_transcription_staff_sms_and_email() {
    let (smtp_url, mut mails) = smtp_sink().await;
    let (app, _dir) = start(|c| {
        c.transcription_provider = Some("twilio".into());
        c.smtp_url = Some(smtp_url);
        c.smtp_from = Some("Switchboard <noreply@switchboard.test>".into());
    })
    .await;
    let tenant = salon(&app, json!({})).await;
    let ann = staff_id(&app, &tenant, ANN).await;
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{tenant}/staff/{ann}"),
            Some(json!({"email": "ann@salon.test"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    set_clock(&app, MONDAY_10AM_NY);
    let t = leave_voicemail(&app, 12, Some(WORDS)).await;
    assert!(
        t.to_string().contains("transcription completed"),
        "the TwiML asked Twilio to transcribe: {t}"
    );

    // The callbacks stored the recording once, with Twilio's text, and queued one job.
    let recs = recordings_of(&app, &tenant).await;
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(
        (rec.kind.as_str(), rec.status.as_str()),
        ("voicemail", "completed")
    );
    assert_eq!(rec.processing, "pending");
    assert_eq!(rec.duration_seconds, Some(12));
    assert_eq!(rec.twilio_transcript.as_deref(), Some(WORDS));
    assert_eq!(jobs_of(&app, "recording.process").await.len(), 1);

    let summary = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;

    // Downloaded with Twilio auth and kept under RECORDINGS_DIR/{tenant}/{RecordingSid}.wav.
    let rec = db::recordings::get(&app.state.db, &rec.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.processing, "done");
    let file = std::path::Path::new(&media_path(&app))
        .join(&tenant)
        .join(format!("{}.wav", rec.recording_sid));
    let bytes = std::fs::read(&file).expect("media stored under RECORDINGS_DIR");
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(rec.size_bytes, Some(bytes.len() as i64));
    // 8 kHz 16-bit mono: the length is the recording's.
    assert!(bytes.len() >= 12 * 16_000, "{} bytes", bytes.len());

    // The transcription row, analysed by the rules.
    let token = app.token_for(&tenant).await;
    let r = app
        .tenant_get(&format!("/api/telephony/recordings/{}", rec.id), &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tr = &r.json["data"]["transcription"];
    assert_eq!(tr["provider"], "twilio");
    assert_eq!(tr["text"], WORDS);
    assert_eq!(tr["callReason"], "SETUP_APPOINTMENT");
    assert_eq!(tr["sentiment"], "positive");
    assert_eq!(tr["analysisSource"], "rules");
    assert!(
        tr["summary"]
            .as_str()
            .unwrap()
            .starts_with("Wants to book an appointment")
    );
    assert_eq!(r.json["data"]["from"], CALLER);

    // The call: Switchboard's media URL, the summary in the notes, the reason.
    let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&rec.call_sid))
        .await
        .unwrap()
        .unwrap();
    let media = format!("{}/api/telephony/recordings/{}/media", app.base, rec.id);
    assert_eq!(call.recording_url.as_deref(), Some(media.as_str()));
    assert!(
        call.notes
            .as_deref()
            .unwrap_or("")
            .contains("Voicemail summary: Wants to book an appointment"),
        "{:?}",
        call.notes
    );
    assert_eq!(call.call_reason.as_deref(), Some("SETUP_APPOINTMENT"));

    // Staff SMS through the notifications pipeline: both on-duty staff, sent by the worker.
    let sms: Vec<_> = app
        .state
        .twilio
        .sandbox
        .as_ref()
        .unwrap()
        .messages()
        .into_iter()
        .filter(|m| m.to == ANN || m.to == BOB)
        .collect();
    assert_eq!(sms.len(), 2, "{sms:?}");
    for m in &sms {
        assert!(
            m.body
                .starts_with("New voicemail for Bella Salon from +14155550142 (12 s, Mon Nov 23,"),
            "{}",
            m.body
        );
        assert!(
            m.body.contains("book a haircut") && m.body.contains("SETUP_APPOINTMENT"),
            "{}",
            m.body
        );
    }
    let r = app
        .tenant_get("/api/telephony/notifications?type=SMS", &token)
        .await;
    let staff_sms: Vec<&Value> = r.json["data"]["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "staff")
        .collect();
    assert_eq!(staff_sms.len(), 2);

    // One e-mail (only Ann has an address), delivered to the SMTP sink.
    let mail = tokio::time::timeout(Duration::from_secs(10), mails.recv())
        .await
        .expect("an e-mail within 10 s")
        .unwrap();
    assert_eq!(mail.rcpt, vec!["RCPT TO:<ann@salon.test>".to_string()]);
    let data = unfold(&mail.data);
    assert!(
        data.contains("Subject: New voicemail from +14155550142 for Bella Salon"),
        "{data}"
    );
    for part in [
        "From: +14155550142",
        "Duration: 12 s",
        "Time: Mon Nov 23, 10:",
        "I would like to book a haircut",
        &media,
    ] {
        assert!(data.contains(part), "{part} missing from {data}");
    }
    let r = app
        .tenant_get("/api/telephony/notifications?type=EMAIL", &token)
        .await;
    let emails = r.json["data"]["notifications"].as_array().unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["status"], "SENT");
    assert_eq!(emails[0]["recipient"], "ann@salon.test");

    // Listed as a voicemail with its transcript.
    let r = app.tenant_get("/api/telephony/voicemails", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let vm = &r.json["data"]["voicemails"][0];
    assert_eq!(r.json["data"]["total"], 1);
    assert_eq!(vm["transcript"], WORDS);
    assert_eq!(vm["from"], CALLER);
    assert_eq!(vm["callReason"], "SETUP_APPOINTMENT");
    assert_eq!(vm["mediaUrl"], media.as_str());

    // The host app hears about it once, with the text and the analysis.
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/events?tenantId={tenant}&type=transcription.completed"),
            None,
        )
        .await;
    let events = r.json["data"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", r.text);
    assert_eq!(
        events[0]["data"]["recordingSid"],
        rec.recording_sid.as_str()
    );
    assert_eq!(events[0]["data"]["transcription"]["text"], WORDS);
    assert_eq!(
        events[0]["data"]["transcription"]["callReason"],
        "SETUP_APPOINTMENT"
    );

    // Done is done: nothing left to run, and nothing more was sent.
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), mails.recv())
            .await
            .is_err(),
        "exactly one e-mail"
    );
}

#[tokio::test]
async fn openai_compatible_transcription_and_model_analysis() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/transcriptions"))
        .and(header("authorization", "Bearer sk-transcribe"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "text": "Hello, it's Dana. I need to cancel my appointment tomorrow, sorry."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let answer = json!({"summary": "Dana cancels tomorrow's appointment.", "callReason": "CANCEL_APPOINTMENT", "sentiment": "neutral"});
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-analyse"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.to_string()}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (app, _dir) = start(|c| {
        c.transcription_provider = Some("openai".into());
        c.transcription_base_url = Some(server.uri());
        c.transcription_api_key = Some("sk-transcribe".into());
        c.transcription_model = Some("whisper-large-v3".into());
        // A base that already ends in /v1 is not doubled.
        c.analysis_base_url = Some(format!("{}/v1", server.uri()));
        c.analysis_api_key = Some("sk-analyse".into());
        c.analysis_model = Some("tiny-llm".into());
    })
    .await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let t = leave_voicemail(&app, 9, Some("Twilio's words, never asked for")).await;
    assert!(
        !t.to_string().contains("transcription"),
        "no Twilio transcription with openai: {t}"
    );
    run_pending_jobs(&app.state).await.unwrap();

    let rec = &recordings_of(&app, &tenant).await[0];
    assert_eq!(rec.processing, "done");
    let token = app.token_for(&tenant).await;
    let r = app
        .tenant_get(
            &format!("/api/twilio/recordings/{}", rec.recording_sid),
            &token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tr = &r.json["data"]["transcription"];
    assert_eq!(tr["provider"], "openai");
    assert_eq!(
        tr["text"],
        "Hello, it's Dana. I need to cancel my appointment tomorrow, sorry."
    );
    assert_eq!(tr["summary"], "Dana cancels tomorrow's appointment.");
    assert_eq!(tr["callReason"], "CANCEL_APPOINTMENT");
    assert_eq!(tr["sentiment"], "neutral");
    assert_eq!(tr["analysisSource"], "llm");

    // What the endpoints received: the stored WAV as multipart with the model; the transcript in chat.
    let requests = server.received_requests().await.unwrap();
    let upload = requests
        .iter()
        .find(|r| r.url.path() == "/v1/audio/transcriptions")
        .unwrap();
    let ct = upload
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(ct.starts_with("multipart/form-data"), "{ct}");
    let body = String::from_utf8_lossy(&upload.body);
    assert!(
        body.contains("name=\"model\"") && body.contains("whisper-large-v3"),
        "model part"
    );
    assert!(
        body.contains(&format!("filename=\"{}.wav\"", rec.recording_sid)),
        "file part"
    );
    let stored = std::fs::read(
        std::path::Path::new(&media_path(&app)).join(rec.storage_key.as_ref().unwrap()),
    )
    .unwrap();
    assert!(
        upload
            .body
            .windows(stored.len())
            .any(|w| w == stored.as_slice()),
        "the upload carries the stored audio"
    );
    let chat = requests
        .iter()
        .find(|r| r.url.path() == "/v1/chat/completions")
        .unwrap();
    let chat: Value = serde_json::from_slice(&chat.body).unwrap();
    assert_eq!(chat["model"], "tiny-llm");
    assert!(
        chat["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("cancel my appointment")
    );
}

#[tokio::test]
async fn malformed_or_failing_model_output_falls_back_to_rules() {
    let server = MockServer::start().await;
    let (app, _dir) = start(|c| {
        c.transcription_provider = Some("twilio".into());
        c.analysis_base_url = Some(server.uri());
    })
    .await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let token = app.token_for(&tenant).await;

    // 1. Prose instead of JSON.
    let junk = Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"role": "assistant", "content": "Sure! The caller sounds upset about their colour."}}]
        })))
        .mount_as_scoped(&server)
        .await;
    leave_voicemail(
        &app,
        8,
        Some("I am really not happy, the colour was terrible and I want a refund"),
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    drop(junk);
    // 2. A partly usable answer: a reason outside the six and no sentiment.
    let partial = Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"role": "assistant", "content": "```json\n{\"summary\": \"Asks when you open.\", \"callReason\": \"BUY_A_BOAT\"}\n```"}}]
        })))
        .mount_as_scoped(&server)
        .await;
    leave_voicemail(&app, 8, Some("What time do you open on Saturday?")).await;
    run_pending_jobs(&app.state).await.unwrap();
    drop(partial);
    // 3. The model's server fails.
    let _down = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount_as_scoped(&server)
        .await;
    leave_voicemail(&app, 8, Some("Please cancel my appointment")).await;
    run_pending_jobs(&app.state).await.unwrap();

    let r = app.tenant_get("/api/telephony/recordings", &token).await;
    let list = r.json["data"]["recordings"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    // Newest first.
    let (failing, partly, prose) = (
        &list[0]["transcription"],
        &list[1]["transcription"],
        &list[2]["transcription"],
    );
    assert_eq!(prose["analysisSource"], "rules");
    assert_eq!(prose["sentiment"], "negative");
    assert_eq!(prose["callReason"], "OTHER");
    assert_eq!(partly["analysisSource"], "llm+rules");
    assert_eq!(partly["summary"], "Asks when you open.");
    assert_eq!(
        partly["callReason"], "GET_HOURS",
        "the rules' reason replaces BUY_A_BOAT"
    );
    assert_eq!(failing["analysisSource"], "rules");
    assert_eq!(failing["callReason"], "CANCEL_APPOINTMENT");
    for rec in recordings_of(&app, &tenant).await {
        assert_eq!(
            rec.processing, "done",
            "a failing model never holds a voicemail up"
        );
    }
}

/// Posts a signed recording status callback.
async fn recording_status(
    app: &TestApp,
    path: &str,
    call_sid: &str,
    rec_sid: &str,
    status: &str,
    extra: &[(&str, &str)],
) -> u16 {
    let url = format!("https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{rec_sid}");
    let mut params = vec![
        ("AccountSid", "AC5a4db0c05a4db0c05a4db0c05a4db0c0"),
        ("CallSid", call_sid),
        ("RecordingSid", rec_sid),
        ("RecordingUrl", url.as_str()),
        ("RecordingStatus", status),
        ("RecordingChannels", "1"),
        ("RecordingSource", "RecordVerb"),
    ];
    params.extend_from_slice(extra);
    let (code, body) = signed_post(app, path, &params).await;
    if code == 200 {
        assert!(body.contains("<Response"), "{body}");
    }
    code
}

/// A logged inbound call (the voice webhook, answered with the voicemail route).
async fn logged_call(app: &TestApp, call_sid: &str) {
    let (status, _) = signed_post(
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
    assert_eq!(status, 200);
}

#[tokio::test]
async fn absent_and_failed_recordings_are_recorded_not_processed() {
    let (app, _dir) = start(|_| {}).await;
    let tenant = salon(&app, json!({"strategy": "voicemail"})).await;
    let call_sid = "CA00000000000000000000000000000a01";
    logged_call(&app, call_sid).await;
    let absent = "RE00000000000000000000000000000a01";
    let failed = "RE00000000000000000000000000000a02";
    let c = recording_status(
        &app,
        "/api/webhooks/twilio/recording-status",
        call_sid,
        absent,
        "absent",
        &[("RecordingDuration", "0"), ("ErrorCode", "16101")],
    )
    .await;
    assert_eq!(c, 200);
    // Seed 003's path.
    let c = recording_status(
        &app,
        "/api/twilio/recording-status",
        call_sid,
        failed,
        "failed",
        &[],
    )
    .await;
    assert_eq!(c, 200);
    // A late `completed` for the absent one does not revive it.
    recording_status(
        &app,
        "/api/webhooks/twilio/recording-status",
        call_sid,
        absent,
        "completed",
        &[("RecordingDuration", "3")],
    )
    .await;

    let recs = recordings_of(&app, &tenant).await;
    assert_eq!(recs.len(), 2);
    for r in &recs {
        assert_eq!(r.processing, "skipped", "{r:?}");
        assert!(
            r.processing_error
                .as_deref()
                .unwrap()
                .starts_with("Twilio reported the recording")
        );
    }
    let a = recs.iter().find(|r| r.recording_sid == absent).unwrap();
    assert_eq!(
        (a.status.as_str(), a.error_code, a.duration_seconds),
        ("absent", Some(16101), Some(0))
    );
    assert_eq!(
        recs.iter()
            .find(|r| r.recording_sid == failed)
            .unwrap()
            .status,
        "failed"
    );
    assert!(
        jobs_of(&app, "recording.process").await.is_empty(),
        "nothing to process"
    );
    // Not voicemails anyone can listen to.
    let token = app.token_for(&tenant).await;
    let r = app.tenant_get("/api/telephony/voicemails", &token).await;
    assert_eq!(r.json["data"]["total"], 0);
    // A recording of a call Switchboard never logged is ignored (no tenant to file it under).
    recording_status(
        &app,
        "/api/webhooks/twilio/recording-status",
        "CA00000000000000000000000000000a99",
        "RE00000000000000000000000000000a99",
        "completed",
        &[],
    )
    .await;
    assert_eq!(recordings_of(&app, &tenant).await.len(), 2);
}

#[tokio::test]
async fn media_that_answers_404_at_first_is_retried_until_it_downloads() {
    let (app, _dir) = start(|c| c.sandbox_media_not_ready_for = Some("2".into())).await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    leave_voicemail(&app, 6, None).await;
    let job = &jobs_of(&app, "recording.process").await[0];

    let first = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(first.retried, 1, "{first:?}");
    let j = store::get(&app.state.db, &job.id).await.unwrap().unwrap();
    assert!(
        j.last_error.as_deref().unwrap().contains("not ready yet"),
        "{:?}",
        j.last_error
    );
    assert_eq!(recordings_of(&app, &tenant).await[0].processing, "pending");
    app.clock.advance_ms(60_000);
    assert_eq!(
        run_pending_jobs(&app.state).await.unwrap().retried,
        1,
        "second 404"
    );
    app.clock.advance_ms(60_000);
    let third = run_pending_jobs(&app.state).await.unwrap();
    assert!(third.succeeded >= 1 && third.retried == 0, "{third:?}");

    let rec = &recordings_of(&app, &tenant).await[0];
    assert_eq!(rec.processing, "done");
    assert!(
        rec.storage_key.is_some() && rec.processing_error.is_none(),
        "{rec:?}"
    );
    let media_gets = app
        .state
        .twilio
        .sandbox
        .as_ref()
        .unwrap()
        .received_requests()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("{}.wav", rec.recording_sid)))
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(
        media_gets,
        vec![404, 404, 200],
        "with Twilio's Basic auth each time"
    );
}

#[tokio::test]
async fn media_that_never_appears_is_given_up_after_the_grace_period() {
    let (app, _dir) = start(|c| c.sandbox_media_not_ready_for = Some("1000".into())).await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    leave_voicemail(&app, 6, None).await;
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().retried, 1);
    // Past the grace period the voicemail is announced without its audio.
    app.clock.advance_ms(11 * 60_000);
    run_pending_jobs(&app.state).await.unwrap();
    let rec = &recordings_of(&app, &tenant).await[0];
    assert_eq!(rec.processing, "done");
    assert!(rec.storage_key.is_none());
    assert!(
        rec.processing_error
            .as_deref()
            .unwrap()
            .contains("never became available"),
        "{rec:?}"
    );
    let staff_sms = db::notifications::list(&app.state.db, &tenant, &Default::default(), 100, 0)
        .await
        .unwrap()
        .0
        .into_iter()
        .filter(|n| n.kind == "staff")
        .count();
    assert_eq!(staff_sms, 2, "staff still hear about it");
    let token = app.token_for(&tenant).await;
    let r = app
        .tenant_get(
            &format!("/api/telephony/recordings/{}/media", rec.id),
            &token,
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn duplicate_recording_callbacks_store_and_process_once() {
    let (app, _dir) = start(|_| {}).await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let t = leave_voicemail(&app, 10, None).await;
    let call_sid = t.call_sid.clone().unwrap();
    let rec = recordings_of(&app, &tenant).await.remove(0);
    // Twilio delivers the same callback again, on both paths, before and after processing.
    for path in [
        "/api/webhooks/twilio/recording-status",
        "/api/twilio/recording-status",
    ] {
        let c = recording_status(
            &app,
            path,
            &call_sid,
            &rec.recording_sid,
            "completed",
            &[("RecordingDuration", "10")],
        )
        .await;
        assert_eq!(c, 200);
    }
    assert_eq!(recordings_of(&app, &tenant).await.len(), 1);
    assert_eq!(jobs_of(&app, "recording.process").await.len(), 1);
    run_pending_jobs(&app.state).await.unwrap();
    recording_status(
        &app,
        "/api/webhooks/twilio/recording-status",
        &call_sid,
        &rec.recording_sid,
        "completed",
        &[],
    )
    .await;
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    let notes = db::notifications::list(&app.state.db, &tenant, &Default::default(), 100, 0)
        .await
        .unwrap()
        .0;
    assert_eq!(
        notes.iter().filter(|n| n.kind == "staff").count(),
        2,
        "one text per staff member"
    );
    let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&call_sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        call.notes
            .as_deref()
            .unwrap()
            .matches("Voicemail summary:")
            .count(),
        1,
        "{:?}",
        call.notes
    );
}

#[tokio::test]
async fn a_late_twilio_transcription_brings_the_job_forward_and_a_missing_one_is_given_up() {
    let (app, _dir) = start(|c| c.transcription_provider = Some("twilio".into())).await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);

    // The recording arrives, its transcription does not (yet): the job waits, not counting attempts.
    let t = leave_voicemail(&app, 10, None).await;
    let s = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(s.deferred, 1, "{s:?}");
    let rec = recordings_of(&app, &tenant).await.remove(0);
    assert_eq!(rec.processing, "pending");
    let (code, _) = signed_post(
        &app,
        "/api/webhooks/twilio/transcription",
        &[
            ("CallSid", t.call_sid.as_deref().unwrap()),
            ("RecordingSid", &rec.recording_sid),
            ("TranscriptionSid", "TR00000000000000000000000000000001"),
            ("TranscriptionStatus", "completed"),
            (
                "TranscriptionText",
                "Do you have anything on Saturday morning?",
            ),
        ],
    )
    .await;
    assert_eq!(code, 200);
    // No clock change needed: the callback made the job due.
    let s = run_pending_jobs(&app.state).await.unwrap();
    assert!(s.succeeded >= 1, "{s:?}");
    let token = app.token_for(&tenant).await;
    let r = app
        .tenant_get(&format!("/api/telephony/recordings/{}", rec.id), &token)
        .await;
    assert_eq!(
        r.json["data"]["transcription"]["text"],
        "Do you have anything on Saturday morning?"
    );

    // Another voicemail whose transcription never comes: announced without text after the wait.
    leave_voicemail(&app, 10, None).await;
    assert_eq!(run_pending_jobs(&app.state).await.unwrap().deferred, 1);
    app.clock.advance_ms(11 * 60_000);
    run_pending_jobs(&app.state).await.unwrap();
    let rec = recordings_of(&app, &tenant).await.remove(0);
    assert_eq!(rec.processing, "done");
    let r = app
        .tenant_get(&format!("/api/telephony/recordings/{}", rec.id), &token)
        .await;
    let tr = &r.json["data"]["transcription"];
    assert_eq!(tr["text"], "");
    assert!(
        tr["transcriptError"]
            .as_str()
            .unwrap()
            .contains("did not arrive in time")
    );
    let texts = app.state.twilio.sandbox.as_ref().unwrap();
    texts.wait_idle().await;
    assert!(
        texts
            .messages()
            .iter()
            .any(|m| m.to == ANN && m.body.ends_with("No transcript available.")),
        "staff told there is no transcript"
    );
}

#[tokio::test]
async fn a_transcription_that_overtakes_its_recording_is_kept() {
    let (app, _dir) = start(|c| c.transcription_provider = Some("twilio".into())).await;
    let tenant = salon(&app, json!({"strategy": "voicemail"})).await;
    let call_sid = "CA00000000000000000000000000000b01";
    logged_call(&app, call_sid).await;
    let made = app
        .state
        .twilio
        .sandbox
        .as_ref()
        .unwrap()
        .create_recording(call_sid, 7);
    let (code, _) = signed_post(
        &app,
        "/api/webhooks/twilio/transcription",
        &[
            ("CallSid", call_sid),
            ("RecordingSid", &made.sid),
            ("RecordingUrl", &made.media_url),
            ("TranscriptionStatus", "completed"),
            ("TranscriptionText", "How much is a colour?"),
        ],
    )
    .await;
    assert_eq!(code, 200);
    let rec = recordings_of(&app, &tenant).await.remove(0);
    assert_eq!(
        (rec.processing.as_str(), rec.kind.as_str()),
        ("waiting", "voicemail")
    );
    assert!(
        jobs_of(&app, "recording.process").await.is_empty(),
        "not before the recording completes"
    );
    recording_status(
        &app,
        "/api/webhooks/twilio/recording-status",
        call_sid,
        &made.sid,
        "completed",
        &[("RecordingDuration", "7")],
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    let token = app.token_for(&tenant).await;
    let r = app
        .tenant_get(&format!("/api/telephony/recordings/{}", made.sid), &token)
        .await;
    assert_eq!(r.json["data"]["processing"], "done");
    assert_eq!(
        r.json["data"]["transcription"]["text"],
        "How much is a colour?"
    );
    assert_eq!(r.json["data"]["transcription"]["callReason"], "GET_PRICING");
}

#[tokio::test]
async fn recordings_api_streams_media_with_ranges_and_isolates_tenants() {
    let (app, _dir) = start(|_| {}).await;
    let tenant = salon(&app, json!({})).await;
    let other = app
        .create_tenant(json!({"name": "Other Salon", "phoneNumber": "+14155550177"}))
        .await;
    set_clock(&app, MONDAY_10AM_NY);
    let (mine, theirs) = (
        app.token_for(&tenant).await,
        app.token_for(other["id"].as_str().unwrap()).await,
    );
    leave_voicemail(&app, 4, None).await;
    run_pending_jobs(&app.state).await.unwrap();
    let rec = recordings_of(&app, &tenant).await.remove(0);
    let size = rec.size_bytes.unwrap() as usize;
    let media = format!("/api/telephony/recordings/{}/media", rec.id);

    // The whole file, with its type and length.
    let full = app
        .client
        .get(format!("{}{media}", app.base))
        .bearer_auth(&mine)
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["content-type"], "audio/x-wav");
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    assert_eq!(full.headers()["content-length"], size.to_string().as_str());
    let whole = full.bytes().await.unwrap();
    assert_eq!(whole.len(), size);
    assert_eq!(&whole[..4], b"RIFF");

    let get_range = |range: &'static str| {
        app.client
            .get(format!("{}{media}", app.base))
            .bearer_auth(&mine)
            .header("range", range)
            .send()
    };
    let part = get_range("bytes=0-3").await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-3/{size}").as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), b"RIFF");
    let tail = get_range("bytes=-100").await.unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &whole[size - 100..]);
    let open_ended = get_range("bytes=40000-").await.unwrap();
    assert_eq!(open_ended.bytes().await.unwrap().as_ref(), &whole[40_000..]);
    let beyond = app
        .client
        .get(format!("{}{media}", app.base))
        .bearer_auth(&mine)
        .header("range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );

    // Another tenant sees nothing: 404s, as for an id that does not exist.
    for path in [
        media.clone(),
        format!("/api/telephony/recordings/{}", rec.id),
        format!("/api/twilio/recordings/{}", rec.recording_sid),
    ] {
        assert_eq!(app.tenant_get(&path, &theirs).await.status, 404, "{path}");
        assert_eq!(app.tenant_get(&path, &mine).await.status, 200, "{path}");
    }
    let r = app.tenant_get("/api/telephony/recordings", &theirs).await;
    assert_eq!(r.json["data"]["total"], 0);
    let r = app.tenant_get("/api/telephony/voicemails", &theirs).await;
    assert_eq!(r.json["data"]["total"], 0);
    // No token, no audio.
    let anon = app
        .client
        .get(format!("{}{media}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let r = app
        .tenant_get("/api/telephony/recordings?kind=music", &mine)
        .await;
    assert_eq!((r.status, r.field()), (400, "kind"));
}

#[tokio::test]
async fn voicemail_twiml_reports_recordings_and_asks_twilio_to_transcribe_only_when_configured() {
    let voicemail_twiml = |app: TestApp, sid: &'static str| async move {
        let (_, body) = signed_post(
            &app,
            "/api/webhooks/twilio/voice",
            &[
                ("CallSid", sid),
                ("From", CALLER),
                ("To", NUMBER),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
        (app, body)
    };
    let (twilio, _d1) = start(|c| c.transcription_provider = Some("twilio".into())).await;
    salon(&twilio, json!({"strategy": "voicemail"})).await;
    let (twilio, body) = voicemail_twiml(twilio, "CA00000000000000000000000000000c01").await;
    let base = twilio.base.clone();
    assert!(
        body.contains(&format!(
            "recordingStatusCallback=\"{base}/api/webhooks/twilio/recording-status\""
        )),
        "{body}"
    );
    assert!(
        body.contains("recordingStatusCallbackEvent=\"completed absent\""),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "transcribe=\"true\" transcribeCallback=\"{base}/api/webhooks/twilio/transcription\""
        )),
        "{body}"
    );
    assert!(
        body.contains("action=\"/api/webhooks/twilio/voice/voicemail\""),
        "the action stays relative: {body}"
    );

    let (plain, _d2) = start(|_| {}).await;
    salon(&plain, json!({"strategy": "voicemail"})).await;
    let (plain, body) = voicemail_twiml(plain, "CA00000000000000000000000000000c02").await;
    assert!(body.contains("recordingStatusCallback="), "{body}");
    assert!(!body.contains("transcribe"), "{body}");

    // Whole-call recording: the Dial records and reports its recording too.
    let (rec, _d3) = start(|_| {}).await;
    salon(&rec, json!({"recordCalls": true})).await;
    set_clock(&rec, MONDAY_10AM_NY);
    let (rec, body) = voicemail_twiml(rec, "CA00000000000000000000000000000c03").await;
    assert!(body.contains("This call may be recorded."), "{body}");
    assert!(
        body.contains("record=\"record-from-answer-dual\""),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "recordingStatusCallback=\"{}/api/webhooks/twilio/recording-status\"",
            rec.base
        )),
        "{body}"
    );
    drop((twilio, plain));
}

#[tokio::test]
async fn recording_webhooks_refuse_bad_signatures() {
    let (app, _dir) = start(|_| {}).await;
    let tenant = salon(&app, json!({"strategy": "voicemail"})).await;
    let call_sid = "CA00000000000000000000000000000d01";
    logged_call(&app, call_sid).await;
    let params = [
        ("CallSid", call_sid),
        ("RecordingSid", "RE00000000000000000000000000000d01"),
        ("RecordingStatus", "completed"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    for path in [
        "/api/webhooks/twilio/recording-status",
        "/api/twilio/recording-status",
        "/api/webhooks/twilio/transcription",
    ] {
        let bad = sign_form("wrong-token", &format!("{}{path}", app.base), &params);
        let res = app
            .client
            .post(format!("{}{path}", app.base))
            .header("x-twilio-signature", bad)
            .form(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    assert!(
        recordings_of(&app, &tenant).await.is_empty(),
        "nothing written"
    );
    // Signed, but without a RecordingSid: a 400 naming it.
    let (code, body) = signed_post(
        &app,
        "/api/webhooks/twilio/recording-status",
        &[("CallSid", call_sid)],
    )
    .await;
    assert_eq!(code, 400);
    assert!(body.contains("RecordingSid"), "{body}");
}

/// Runs the binary without blocking the test's runtime, which also serves the in-process app the
/// binary may call back (`switchboard call`).
async fn switchboard(app: &TestApp, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db_url)
        .env("JWT_SECRET", crate::support::JWT_SECRET)
        .env("RECORDINGS_DIR", dir)
        .env("LOG_LEVEL", "warn")
        .current_dir(dir)
        .output()
        .await
        .expect("run switchboard")
}

#[tokio::test]
async fn cli_lists_and_fetches_recordings_and_places_a_call() {
    let (app, dir) = start(|c| c.transcription_provider = Some("twilio".into())).await;
    // Voicemail-only, and on the real clock: the binary's token is issued by the system clock.
    let tenant = salon(&app, json!({"strategy": "voicemail"})).await;
    leave_voicemail(&app, 5, Some(WORDS)).await;
    run_pending_jobs(&app.state).await.unwrap();
    let rec = recordings_of(&app, &tenant).await.remove(0);

    let o = switchboard(
        &app,
        dir.path(),
        &["recordings", "list", "--tenant", &tenant],
    )
    .await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains(&rec.recording_sid)
            && out.contains("voicemail")
            && out.contains("SETUP_APPOINTMENT"),
        "{out}"
    );
    assert!(out.contains("1 of 1 recording(s)"), "{out}");

    let target = dir.path().join("copy.wav");
    let o = switchboard(
        &app,
        dir.path(),
        &[
            "recordings",
            "fetch",
            "--tenant",
            &tenant,
            &rec.recording_sid,
            "--out",
            target.to_str().unwrap(),
        ],
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stored = std::fs::read(dir.path().join(rec.storage_key.as_ref().unwrap())).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), stored);

    // `call` goes through the running server's make-call API.
    let o = switchboard(
        &app,
        dir.path(),
        &[
            "call",
            "--tenant",
            &tenant,
            "--to",
            "+14155550199",
            "--say",
            "Your table is ready",
            "--url",
            &app.base,
        ],
    )
    .await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.starts_with("call CA") && out.contains("+14155550199"),
        "{out}"
    );
    let sid = out.split_whitespace().nth(1).unwrap();
    let call = db::calls::get_by_sid(&app.state.db, &CallSid::stored(sid))
        .await
        .unwrap()
        .expect("logged by the server");
    assert_eq!(call.direction, "outbound");
}
