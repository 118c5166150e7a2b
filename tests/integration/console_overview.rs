//! The console's overview (issue 15, item 2): today / 7 / 30 days of calls and texts in the
//! tenant's time zone, the charts and their tables, the estimated cost, and the recent activity
//! panel that htmx refreshes. Calls and texts are simulated through the signed webhooks; the
//! figures are checked against literal expectations and against the JSON API's analytics.

use reqwest::Method;
use serde_json::json;
use switchboard::jobs::worker::run_pending_jobs;
use switchboard_twilio::simulator::{CallScript, DialOutcome, SmsScript};

use crate::console_client::{Browser, Page};
use crate::support::{TestApp, app};
use crate::voice::{NUMBER, salon, set_clock, simulator};

const CALLER: &str = "+14155550142";
const ANN: &str = "+14155550101";

/// The value of the figure with element id `id` (`<li class="stat" id=…>…<div class="value">…`).
pub fn stat(p: &Page, id: &str) -> String {
    let at = p
        .html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} on the page:\n{}", p.html));
    let rest = &p.html[at..];
    let v = rest.find("class=\"value\">").expect("a value") + "class=\"value\">".len();
    rest[v..v + rest[v..].find('<').unwrap()].trim().to_string()
}

/// The cells of the calls-per-day table's row for `date`: total, answered, voicemail, missed
/// without voicemail, other.
fn day_row(p: &Page, date: &str) -> Vec<String> {
    let at = p
        .html
        .find(&format!("<th scope=\"row\">{date}</th>"))
        .unwrap_or_else(|| panic!("no row for {date}:\n{}", p.html));
    let row = &p.html[at..at + p.html[at..].find("</tr>").unwrap()];
    row.split("<td>")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap().to_string())
        .collect()
}

async fn fast_app() -> TestApp {
    app()
        .config(|c| {
            c.sandbox_callback_delay_ms = Some("0".into());
            c.sms_segments_per_second = Some("0".into());
        })
        .start()
        .await
}

async fn call(app: &TestApp, script: CallScript) -> String {
    let t = simulator(app).run_call(&script).await;
    assert!(t.http_errors.is_empty(), "{t}");
    t.call_sid.clone().unwrap()
}

async fn text(app: &TestApp, from: &str, body: &str) {
    let t = simulator(app)
        .run_sms(&SmsScript::new(from, NUMBER, body))
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
}

#[tokio::test]
async fn the_overview_counts_calls_and_texts_by_the_tenants_own_days() {
    let app = fast_app().await;
    let tenant = salon(&app, json!({})).await;
    let token = app.token_for(&tenant).await;

    // Monday 2026-11-23 in New York: one answered call at 10:00, one voicemail at 11:00, and one
    // after-hours voicemail at 23:30 local, which is already Tuesday in UTC.
    set_clock(&app, "2026-11-23T15:00:00Z");
    call(
        &app,
        CallScript::new(CALLER, NUMBER)
            .dial_outcome(ANN, DialOutcome::Answered { duration_secs: 30 }),
    )
    .await;
    set_clock(&app, "2026-11-23T16:00:00Z");
    call(
        &app,
        CallScript::new("+14155550143", NUMBER)
            .dial_outcome("*", DialOutcome::NoAnswer)
            .record(12, None),
    )
    .await;
    set_clock(&app, "2026-11-24T04:30:00Z");
    call(
        &app,
        CallScript::new("+14155550144", NUMBER).record(5, None),
    )
    .await;
    // Two texts in on Tuesday morning; the two missed calls' text-backs and the voicemails' alerts
    // to staff go out and are delivered.
    set_clock(&app, "2026-11-24T14:00:00Z");
    text(&app, "+14155550145", "Do you have time on Friday?").await;
    text(&app, "+14155550146", "Thanks!").await;
    let summary = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;
    // Tuesday noon in New York.
    set_clock(&app, "2026-11-24T17:00:00Z");

    let mut b = Browser::business(&app, &tenant).await;
    let p = b.get(&format!("/console/t/{tenant}")).await;
    assert_eq!(p.status, 200, "{}", p.html);
    // The default range is the last 7 local days, today included.
    p.shows("Last 7 days: 2026-11-18 to 2026-11-24, in America/New_York time.");
    p.shows(&format!(
        "<a href=\"/console/t/{tenant}?range=7d\" aria-current=\"page\">Last 7 days</a>"
    ));
    assert_eq!(stat(&p, "stat-calls"), "3");
    assert_eq!(stat(&p, "stat-answered"), "1");
    assert_eq!(stat(&p, "stat-missed"), "2");
    assert_eq!(stat(&p, "stat-voicemails"), "2");
    assert_eq!(stat(&p, "stat-texts-in"), "2");
    // Out: the two auto-replies, the two text-backs and each voicemail's alert to both staff.
    assert_eq!(stat(&p, "stat-texts-out"), "8");
    assert_eq!(stat(&p, "stat-delivery"), "100.0 %");
    assert!(
        stat(&p, "stat-cost").starts_with('$'),
        "{}",
        stat(&p, "stat-cost")
    );
    // The 23:30 call counts on Monday, its local day: 1 answered, 2 voicemails.
    assert_eq!(day_row(&p, "2026-11-23"), ["3", "1", "2", "0", "0"]);
    assert_eq!(day_row(&p, "2026-11-24"), ["0", "0", "0", "0", "0"]);
    // The chart's bars carry their numbers; the heat map puts the late call at Monday 23:00.
    p.shows("<title>Nov 23: 2 calls (voicemail)</title>");
    p.shows("<title>Nov 23: 1 call (answered)</title>");
    p.shows("<title>Monday 23:00–00:00: 1 call</title>");
    p.shows("<title>Monday 10:00–11:00: 1 call</title>");
    p.shows("Busiest: Monday");
    // Ten texts of one segment each; the tenant (created today, by the real clock) held no number
    // in this range, so no number fee.
    p.shows("id=\"estimated-cost\"")
        .shows("<th scope=\"row\">SMS segments</th><td>10</td>")
        .hides("Phone number (days)");
    p.hides("style=");

    // The same use cases as the JSON API: its analytics and usage agree.
    let r = app
        .tenant_get(
            "/api/telephony/analytics?from=2026-11-18&to=2026-11-24",
            &token,
        )
        .await;
    let s = &r.json["data"]["summary"];
    assert_eq!(s["calls"]["total"], 3);
    assert_eq!(s["calls"]["voicemail"], 2);
    assert_eq!(s["calls"]["byWeekdayHour"][0]["hours"][23], 1);
    assert_eq!(s["calls"]["byWeekdayHour"][0]["total"], 3);
    assert_eq!(s["sms"]["deliveryRate"], 1.0);
    let u = app
        .tenant_get("/api/telephony/usage?month=2026-11", &token)
        .await;
    assert_eq!(u.json["data"]["inboundMessages"], 2);
    assert_eq!(u.json["data"]["outboundMessages"], 8);

    // Today (Tuesday, local) had no calls; the texts came today.
    let p = b.get(&format!("/console/t/{tenant}?range=today")).await;
    assert_eq!(p.status, 200);
    p.shows(&format!(
        "<a href=\"/console/t/{tenant}?range=today\" aria-current=\"page\">Today</a>"
    ));
    p.shows("Today: 2026-11-24,");
    assert_eq!(stat(&p, "stat-calls"), "0");
    assert_eq!(stat(&p, "stat-texts-in"), "2");
    p.shows("No calls in this period yet.");

    // 30 days: the same calls, a longer table.
    let p = b.get(&format!("/console/t/{tenant}?range=30d")).await;
    p.shows("Last 30 days: 2026-10-26 to 2026-11-24");
    assert_eq!(stat(&p, "stat-calls"), "3");
    assert_eq!(day_row(&p, "2026-10-26"), ["0", "0", "0", "0", "0"]);

    // A range the tabs do not offer is refused.
    let p = b.get(&format!("/console/t/{tenant}?range=week")).await;
    assert_eq!(p.status, 400);
    p.shows("range: must be one of today, 7d, 30d");
}

#[tokio::test]
async fn recent_activity_shows_a_call_made_after_the_page_loaded() {
    let app = fast_app().await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, "2026-11-23T15:00:00Z");
    let mut b = Browser::business(&app, &tenant).await;
    let p = b.get(&format!("/console/t/{tenant}")).await;
    p.shows("id=\"recent-activity\"")
        .shows(&format!("hx-get=\"/console/t/{tenant}/activity\""))
        .shows("hx-trigger=\"every 5s\"")
        .shows("hx-swap=\"outerHTML\"")
        .shows("No calls or texts yet.");

    let sid = call(
        &app,
        CallScript::new(CALLER, NUMBER)
            .dial_outcome(ANN, DialOutcome::Answered { duration_secs: 20 }),
    )
    .await;
    app.clock.advance_ms(60_000);
    text(&app, "+14155550145", "Running late").await;

    // What htmx fetches: the panel alone, with the new call and text, newest first.
    let f = b
        .request(
            Method::GET,
            &format!("/console/t/{tenant}/activity"),
            None,
            &[("HX-Request", "true")],
        )
        .await;
    assert_eq!(f.status, 200);
    assert!(
        f.html
            .trim_start()
            .starts_with("<section id=\"recent-activity\""),
        "{}",
        f.html
    );
    f.hides("<html");
    let call_at = f
        .html
        .find(&format!("data-call-sid=\"{sid}\""))
        .expect("the new call");
    let text_at = f.html.find("data-message-sid=\"SM").expect("the new text");
    assert!(text_at < call_at, "newest first:\n{}", f.html);
    f.shows("Running late")
        .shows("Answered")
        .shows("hx-trigger=\"every 5s\"");

    // Without htmx the same route is a page of its own; the overview shows it as of its load.
    let p = b.get(&format!("/console/t/{tenant}/activity")).await;
    p.shows("<html").shows(&format!("data-call-sid=\"{sid}\""));
    let p = b.get(&format!("/console/t/{tenant}")).await;
    p.shows(&format!("data-call-sid=\"{sid}\""));
}

#[tokio::test]
async fn another_tenants_overview_and_activity_are_not_found() {
    let app = app().start().await;
    let a = app.create_tenant(json!({"name": "A Salon"})).await;
    let b_t = app.create_tenant(json!({"name": "B Salon"})).await;
    let (a, other) = (a["id"].as_str().unwrap(), b_t["id"].as_str().unwrap());
    let mut b = Browser::business(&app, a).await;
    for path in [
        format!("/console/t/{other}"),
        format!("/console/t/{other}/activity"),
        format!("/console/t/{other}?range=30d"),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, 404, "{path}");
        p.hides("B Salon");
    }
    assert_eq!(b.get(&format!("/console/t/{a}")).await.status, 200);
    // The operator sees any tenant.
    let mut op = crate::console_calls::operator_reader(&app).await;
    let p = op.get(&format!("/console/t/{other}")).await;
    assert_eq!(p.status, 200);
    p.shows("B Salon: overview");
}
