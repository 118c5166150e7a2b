//! The console's calls (issue 15, item 3): the filterable list with keyset paging, and the call
//! page with its timeline (webhook steps, dial attempts and their outcomes, status callbacks,
//! recording and transcription), player and transcript. Filters are the API's (`calls::logs`):
//! the same bad input gets the same message from both.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::json;
use switchboard::db::{self, calls::Call};
use switchboard::domain::call_route::CallStrategy;
use switchboard::domain::states::CallStatus;
use switchboard::jobs::worker::run_pending_jobs;
use switchboard_twilio::simulator::{CallScript, DialOutcome};

use crate::console_client::{Browser, Page};
use crate::support::TestApp;
use crate::voice::{NUMBER, salon, set_clock, signed_post, simulator};

const ANN: &str = "+14155550101";
const BOB: &str = "+14155550102";

/// A call as the webhooks would have logged it (answered or not, as `f` sets), started at
/// `start` (RFC 3339) and lasting a minute: the call log's own fixture, with a fresh CallSid.
fn call_at(tenant: &str, start: &str, f: impl FnOnce(&mut Call)) -> Call {
    let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let mut c = crate::call_logs::call(tenant, &sid, start);
    c.to_number = NUMBER.into();
    c.from_number = "+14155550142".into();
    c.end_time = Some(c.start_time + 60_000);
    c.duration_seconds = Some(60);
    f(&mut c);
    c
}

async fn store(app: &TestApp, calls: &[Call]) {
    crate::call_logs::insert(app, calls).await;
}

/// The operator, signed in to read pages. (`Browser::operator` also learns the CSRF token from the
/// operator's own pages, which another change builds; reading needs no token.)
pub async fn operator_reader(app: &TestApp) -> Browser {
    let mut b = Browser::new(app);
    let p = b
        .post_raw("/console/login", &[("token", crate::support::ADMIN_TOKEN)])
        .await;
    assert_eq!(p.status, 303, "{}", p.html);
    b
}

/// The `data-call-id`s of the calls table, in order.
fn listed(p: &Page) -> Vec<String> {
    p.html
        .split("data-call-id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

/// The href of the link with element id `id`, unescaped.
fn link(p: &Page, id: &str) -> Option<String> {
    let at = p.html.find(&format!("id=\"{id}\""))?;
    let start = p.html[..at].rfind("href=\"")? + "href=\"".len();
    let end = start + p.html[start..].find('"')?;
    // Askama writes `&` as `&#38;`.
    Some(
        p.html[start..end]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

#[tokio::test]
async fn each_filter_narrows_the_list_as_the_api_does() {
    let app = crate::support::app().start().await;
    let tenant = salon(&app, json!({})).await;
    let token = app.token_for(&tenant).await;
    let answered = call_at(&tenant, "2026-11-20T15:00:00Z", |c| {
        c.answered_at = Some(c.start_time + 5_000);
        c.forwarded_to = Some(ANN.into());
        c.call_reason = Some("GET_HOURS".into());
    });
    let voicemail = call_at(&tenant, "2026-11-21T15:00:00Z", |c| {
        c.from_number = "+14155550143".into();
        c.missed = true;
        c.voicemail = true;
        c.call_reason = Some("SETUP_APPOINTMENT".into());
    });
    let outbound = call_at(&tenant, "2026-11-22T15:00:00Z", |c| {
        c.direction = "outbound".into();
        c.strategy = CallStrategy::Outbound;
        (c.from_number, c.to_number) = (NUMBER.into(), "+14155550144".into());
        c.status = CallStatus::NoAnswer;
        c.duration_seconds = Some(0);
    });
    // 23:30 in New York on the 22nd is the 23rd in UTC: a local-date filter must keep it on the 22nd.
    let late = call_at(&tenant, "2026-11-23T04:30:00Z", |c| c.missed = true);
    store(
        &app,
        &[
            answered.clone(),
            voicemail.clone(),
            outbound.clone(),
            late.clone(),
        ],
    )
    .await;
    let mut b = Browser::business(&app, &tenant).await;
    let base = format!("/console/t/{tenant}/calls");

    let p = b.get(&base).await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("id=\"call-filters\"").shows("id=\"calls-table\"");
    assert_eq!(
        listed(&p),
        [&late.id, &outbound.id, &voicemail.id, &answered.id].map(String::as_str)
    );
    p.shows(&format!("href=\"{base}/{}\"", answered.id))
        .shows("2026-11-22 23:30")
        .shows("<span class=\"pill pill-info\">Voicemail</span>")
        .shows("<span class=\"pill pill-bad\">No answer</span>")
        .shows("Opening hours");

    let cases: [(&str, Vec<&String>); 9] = [
        (
            "from=2026-11-21",
            vec![&late.id, &outbound.id, &voicemail.id],
        ),
        ("to=2026-11-21", vec![&voicemail.id, &answered.id]),
        (
            "from=2026-11-22&to=2026-11-22",
            vec![&late.id, &outbound.id],
        ),
        ("outcome=voicemail", vec![&voicemail.id]),
        ("outcome=missed", vec![&late.id, &voicemail.id]),
        ("outcome=answered", vec![&answered.id]),
        ("status=no-answer", vec![&outbound.id]),
        ("reason=GET_HOURS", vec![&answered.id]),
        ("number=%2B14155550144", vec![&outbound.id]),
    ];
    for (query, expected) in cases {
        let p = b.get(&format!("{base}?{query}")).await;
        assert_eq!(p.status, 200, "{query}: {}", p.html);
        let expected: Vec<&str> = expected.iter().map(|s| s.as_str()).collect();
        assert_eq!(listed(&p), expected, "{query}");
        // The API's listing agrees, with the same filters under its names.
        let api = query
            .replace("from=", "startDate=")
            .replace("to=", "endDate=")
            .replace("number=", "phoneNumber=");
        let r = app
            .tenant_get(&format!("/api/telephony/call-logs?{api}"), &token)
            .await;
        let ids: Vec<&str> = r.json["data"]["callLogs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, expected, "API {api}");
    }
    let p = b
        .get(&format!("{base}?direction=outbound&reason=OTHER"))
        .await;
    assert!(listed(&p).is_empty());
    p.shows("No calls match these filters.");
    // The form keeps what was chosen.
    p.shows("<option value=\"outbound\" selected>Outbound</option>");
}

#[tokio::test]
async fn a_bad_filter_shows_the_apis_message_next_to_its_field() {
    let app = crate::support::app().start().await;
    let tenant = salon(&app, json!({})).await;
    let token = app.token_for(&tenant).await;
    store(&app, &[call_at(&tenant, "2026-11-20T15:00:00Z", |_| {})]).await;
    let mut b = Browser::business(&app, &tenant).await;
    let base = format!("/console/t/{tenant}/calls");
    for (console, api, field, input) in [
        (
            "from=2026-13-45",
            "startDate=2026-13-45",
            "startDate",
            "filter-from",
        ),
        ("to=yesterday", "endDate=yesterday", "endDate", "filter-to"),
        (
            "number=12",
            "phoneNumber=12",
            "phoneNumber",
            "filter-number",
        ),
        ("outcome=lost", "outcome=lost", "outcome", "filter-outcome"),
        ("reason=CHAT", "reason=CHAT", "reason", "filter-reason"),
    ] {
        let p = b.get(&format!("{base}?{console}")).await;
        assert_eq!(p.status, 400, "{console}");
        let r = app
            .tenant_get(&format!("/api/telephony/call-logs?{api}"), &token)
            .await;
        assert_eq!((r.status, r.field()), (400, field), "{api}: {}", r.text);
        let message = r.json["error"]["message"].as_str().unwrap();
        // As askama escapes text.
        let escaped = message
            .replace('&', "&#38;")
            .replace('\'', "&#39;")
            .replace('"', "&#34;");
        p.shows(&format!(
            "<p class=\"error\" id=\"{input}-error\">{escaped}</p>"
        ))
        .shows("aria-invalid=\"true\"")
        .shows(&format!("{input}-error"));
        assert!(listed(&p).is_empty(), "{console}");
    }
    let p = b.get(&format!("{base}?before=not-a-cursor")).await;
    assert_eq!(p.status, 400);
    p.shows("before: is not a page cursor of this listing");
}

#[tokio::test]
async fn keyset_pages_walk_every_call_once_in_order() {
    let app = crate::support::app().start().await;
    let tenant = salon(&app, json!({})).await;
    // Eight calls, three of them in the same millisecond (the cursor's id breaks the tie), and one
    // of another tenant that must never show.
    let mut calls: Vec<Call> = (0..5)
        .map(|i| call_at(&tenant, &format!("2026-11-2{i}T15:00:00Z"), |_| {}))
        .collect();
    for _ in 0..3 {
        calls.push(call_at(&tenant, "2026-11-22T18:00:00Z", |_| {}));
    }
    let other = app.create_tenant(json!({"name": "Other"})).await;
    let stranger = call_at(
        other["id"].as_str().unwrap(),
        "2026-11-22T18:00:00Z",
        |_| {},
    );
    store(&app, &calls).await;
    store(&app, std::slice::from_ref(&stranger)).await;
    let mut expected = calls.clone();
    expected.sort_by(|a, b| (b.start_time, &b.id).cmp(&(a.start_time, &a.id)));
    let expected: Vec<String> = expected.into_iter().map(|c| c.id).collect();

    let mut b = Browser::business(&app, &tenant).await;
    let mut path = format!("/console/t/{tenant}/calls?limit=3");
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    loop {
        let p = b.get(&path).await;
        assert_eq!(p.status, 200, "{path}: {}", p.html);
        let ids = listed(&p);
        assert!(ids.len() <= 3);
        assert!(pages.len() < 5, "the pages do not end: {pages:?}");
        seen.extend(ids.clone());
        pages.push((path.clone(), ids));
        match link(&p, "calls-older") {
            Some(next) => {
                assert!(next.contains("before="), "{next}");
                assert!(!next.contains("offset"), "{next}");
                path = next;
            }
            None => break,
        }
    }
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(seen, expected, "no repeats, no gaps, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 8);
    assert!(!seen.contains(&stranger.id));

    // From the last page, "Newer" goes back to the second, and the second's to the first.
    let last = b.get(&pages[2].0).await;
    let newer = link(&last, "calls-newer").expect("a newer page");
    assert!(newer.contains("after="), "{newer}");
    let p = b.get(&newer).await;
    assert_eq!(listed(&p), pages[1].1);
    let p = b.get(&link(&p, "calls-newer").unwrap()).await;
    assert_eq!(listed(&p), pages[0].1);
    assert!(
        link(&p, "calls-newer").is_none(),
        "the newest page has no newer one"
    );
    // Filters travel with the cursor.
    let p = b
        .get(&format!(
            "/console/t/{tenant}/calls?limit=2&from=2026-11-22&to=2026-11-22"
        ))
        .await;
    let older = link(&p, "calls-older").unwrap();
    assert!(
        older.contains("from=2026-11-22") && older.contains("limit=2"),
        "{older}"
    );
    let p = b.get(&older).await;
    assert_eq!(listed(&p).len(), 2);
    assert!(
        link(&p, "calls-older").is_none(),
        "4 calls on the 22nd: 2 + 2"
    );
}

#[tokio::test]
async fn the_call_page_shows_each_step_the_recording_and_its_transcript() {
    let (app, _dir) = crate::recordings::start(|c| {
        c.transcription_provider = Some("twilio".into());
    })
    .await;
    let tenant = salon(&app, json!({})).await;
    let token = app.token_for(&tenant).await;
    set_clock(&app, "2026-11-23T15:00:00Z");
    let script = CallScript::new("+14155550142", NUMBER)
        .dial_outcome(ANN, DialOutcome::NoAnswer)
        .dial_outcome(BOB, DialOutcome::Busy)
        .record(
            12,
            Some("Hi, I would like to book a haircut for Friday. Thanks!"),
        );
    let t = simulator(&app).run_call(&script).await;
    assert!(t.http_errors.is_empty(), "{t}");
    let sid = t.call_sid.clone().unwrap();
    let summary = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;
    // A late, repeated status callback is recorded as ignored.
    let (status, _) = signed_post(
        &app,
        "/api/webhooks/twilio/voice/status",
        &[("CallSid", sid.as_str()), ("CallStatus", "ringing")],
    )
    .await;
    assert_eq!(status, 200);

    let r = app.tenant_get("/api/telephony/call-logs", &token).await;
    let id = r.json["data"]["callLogs"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut b = Browser::business(&app, &tenant).await;
    let p = b.get(&format!("/console/t/{tenant}/calls/{id}")).await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("Inbound call from +14155550142")
        .shows("id=\"call-facts\"")
        .shows("id=\"call-timeline\"");
    let timeline = {
        let at = p.html.find("id=\"call-timeline\"").unwrap();
        &p.html[at..at + p.html[at..].find("</ol>").unwrap()]
    };
    // The manual clock stood still during the call: entries of one millisecond come steps first,
    // then the recording's, then the texts about the call, each in the order they happened.
    let steps = [
        "Voice webhook: incoming call from +14155550142",
        "numbers to ring: +14155550101, +14155550102",
        &format!("Dial attempt to {ANN}: no answer"),
        &format!("Ringing the next number, {BOB}"),
        &format!("Dial attempt to {BOB}: busy"),
        "Nobody left to ring",
        "Voicemail left",
        "Status: completed",
        "Status: ringing (ignored: the call was already completed)",
        "Voicemail recording reported",
        "Voicemail recording completed",
        "Transcribed and analysed (twilio)",
    ];
    let mut last = 0;
    for s in steps {
        let at = timeline
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} not in the timeline:\n{timeline}"));
        assert!(at >= last, "{s:?} out of order:\n{timeline}");
        last = at;
    }
    // The texts about the call follow, in whichever order their jobs ran.
    for s in [
        "Missed-call text-back to +14155550142: queued",
        "Missed-call text-back to +14155550142: delivered",
        "Staff alert to +14155550101: queued",
        "Staff alert to +14155550102: queued",
    ] {
        let at = timeline
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} not in the timeline:\n{timeline}"));
        assert!(at > last, "{s:?} before the call's own steps:\n{timeline}");
    }
    assert!(
        timeline.contains("<span class=\"pill pill-bad\">no answer</span>"),
        "{timeline}"
    );
    // The recording with its player, transcript, reason, summary and sentiment.
    let rec = db::recordings::list(
        &app.state.db,
        &tenant,
        &db::recordings::RecordingFilter::default(),
        10,
        0,
    )
    .await
    .unwrap()
    .0
    .remove(0);
    p.shows(&format!(
        "<audio controls preload=\"none\" src=\"/console/t/{tenant}/recordings/{}/media\">",
        rec.id
    ))
    .shows("Hi, I would like to book a haircut for Friday. Thanks!")
    .shows("Book an appointment")
    .shows("<dt>Sentiment</dt><dd>positive</dd>")
    .shows("<dt>Summary</dt>");

    // The API's timeline is the same use case.
    let r = app
        .tenant_get(&format!("/api/telephony/call-logs/{id}/timeline"), &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let titles: Vec<&str> = r.json["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Dial attempt to +14155550102: busy"),
        "{titles:?}"
    );
    let outcomes: Vec<&str> = r.json["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert!(
        outcomes.contains(&"no-answer") && outcomes.contains(&"ignored"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn another_tenants_call_is_not_found() {
    let app = crate::support::app().start().await;
    let tenant = salon(&app, json!({})).await;
    let other = app.create_tenant(json!({"name": "Other Salon"})).await;
    let other = other["id"].as_str().unwrap().to_string();
    let mine = call_at(&tenant, "2026-11-20T15:00:00Z", |_| {});
    let theirs = call_at(&other, "2026-11-20T15:00:00Z", |c| {
        c.from_number = "+14155550199".into()
    });
    store(&app, &[mine.clone(), theirs.clone()]).await;

    let mut b = Browser::business(&app, &tenant).await;
    assert_eq!(
        b.get(&format!("/console/t/{tenant}/calls/{}", mine.id))
            .await
            .status,
        200
    );
    for path in [
        format!("/console/t/{tenant}/calls/{}", theirs.id),
        format!("/console/t/{other}/calls/{}", theirs.id),
        format!("/console/t/{other}/calls"),
        format!("/console/t/{tenant}/calls/no-such-call"),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, 404, "{path}");
        p.hides("+14155550199");
    }
    let p = b.get(&format!("/console/t/{tenant}/calls")).await;
    p.hides(&theirs.id);
    // The operator reaches each call under its own tenant only.
    let mut op = operator_reader(&app).await;
    assert_eq!(
        op.get(&format!("/console/t/{other}/calls/{}", theirs.id))
            .await
            .status,
        200
    );
    assert_eq!(
        op.get(&format!("/console/t/{tenant}/calls/{}", theirs.id))
            .await
            .status,
        404
    );
    // The API agrees.
    let token = app.token_for(&tenant).await;
    let r = app
        .send(
            Method::GET,
            &format!("/api/telephony/call-logs/{}/timeline", theirs.id),
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
}

#[test]
fn bench_console_times_the_pages_on_a_small_history() {
    let (ok, out, err) =
        crate::bench::run_bench_on_test_backend("console", &["--calls", "300", "--runs", "2"]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    for label in [
        "calls first page",
        "calls deep page",
        "calls filtered",
        "overview 30 days",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line:\n{out}"));
        assert!(line.contains("median") && line.contains("p95"), "{line}");
    }
    assert!(out.contains("calls listed:    300 (expected 300)"), "{out}");
}
