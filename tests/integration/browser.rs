//! The console in a real browser (issue 15, "Verification"): headless Chromium driven over
//! WebDriver (`webdriver.rs`). Signs in both ways, watches a simulated call appear live, plays a
//! voicemail, replies to a text, changes business hours and watches the next call follow them,
//! checks that CSRF and cross-tenant attempts are refused, signs out, and photographs every page
//! at phone and desktop widths.
//!
//! Screenshots go to `target/console-screenshots/`; with `SWITCHBOARD_UPDATE_SCREENSHOTS=1` they
//! replace the ones under `docs/screenshots/` that the README shows.

use std::path::PathBuf;

use serde_json::json;

use crate::console_client::link_for;
use crate::support::{ADMIN_TOKEN, TestApp, app};
use crate::webdriver::Driver;

pub const PHONE: (u32, u32) = (390, 844);
pub const DESKTOP: (u32, u32) = (1280, 900);

/// Where screenshots are written.
fn shots_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = if std::env::var("SWITCHBOARD_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        root.join("docs/screenshots")
    } else {
        root.join("target/console-screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Photographs the current page as `<name>-phone.png` and `<name>-desktop.png`, and checks that
/// at phone width the page itself does not scroll sideways (tables scroll inside their wrapper).
pub async fn photograph(d: &Driver, name: &str) {
    for (label, (w, h)) in [("phone", PHONE), ("desktop", DESKTOP)] {
        d.resize(w, h).await;
        let overflow = d
            .script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                json!([]),
            )
            .await
            .as_i64()
            .unwrap_or(0);
        assert!(
            overflow <= 1,
            "{name} scrolls sideways by {overflow}px at {label} width"
        );
        let png = d.screenshot(w).await;
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(shots_dir().join(format!("{name}-{label}.png")), png).unwrap();
    }
    d.resize(DESKTOP.0, DESKTOP.1).await;
}

/// Signs the browser in as the operator through the sign-in form.
pub async fn sign_in_operator(d: &Driver, app: &TestApp) {
    d.goto(&format!("{}/console", app.base)).await;
    assert!(
        d.url().await.ends_with("/console/login"),
        "{}",
        d.url().await
    );
    d.fill("#token", ADMIN_TOKEN).await;
    d.click("form[action='/console/login'] button[type=submit]")
        .await;
    assert!(d.wait_for("#tenants-table", 10).await, "{}", d.text().await);
}

/// Signs the browser in as `tenant_id` through a link from the admin API.
pub async fn sign_in_business(d: &Driver, app: &TestApp, tenant_id: &str) {
    let link = link_for(app, tenant_id).await;
    d.goto(&link).await;
    d.click("main form button[type=submit]").await;
    let home = format!("/console/t/{tenant_id}");
    for _ in 0..100 {
        if d.url().await.ends_with(&home) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not signed in: {} {}", d.url().await, d.text().await);
}

#[tokio::test]
async fn sign_in_both_ways_refuse_forgeries_and_sign_out() {
    let Some(d) = Driver::start(DESKTOP.0, DESKTOP.1).await else {
        return;
    };
    let app = app().start().await;
    let bella = app
        .create_tenant(json!({"name": "Bella Salon", "timeZone": "America/New_York"}))
        .await;
    let other = app.create_tenant(json!({"name": "Other Shop"})).await;
    let (bella, other) = (
        bella["id"].as_str().unwrap().to_string(),
        other["id"].as_str().unwrap().to_string(),
    );

    // The sign-in page, then a wrong token: the message sits next to the field.
    d.goto(&format!("{}/console/login", app.base)).await;
    photograph(&d, "sign-in").await;
    d.fill("#token", "certainly-not-the-token").await;
    d.click("form[action='/console/login'] button[type=submit]")
        .await;
    assert!(d.wait_for("#token-error", 5).await);
    assert!(d.text().await.contains("that is not the operator token"));

    // The operator sees every tenant.
    sign_in_operator(&d, &app).await;
    let text = d.text().await;
    assert!(
        text.contains("Bella Salon") && text.contains("Other Shop"),
        "{text}"
    );
    // A forged form (the CSRF token replaced in the page) is refused and signs nobody out.
    d.script(
        "document.querySelector('form[action=\"/console/logout\"] input[name=csrf]').value = 'forged';",
        json!([]),
    )
    .await;
    d.click("form[action='/console/logout'] button").await;
    assert!(
        d.wait_for_text("did not come from this console", 5).await,
        "{}",
        d.text().await
    );
    d.goto(&format!("{}/console", app.base)).await;
    assert!(d.wait_for("#tenants-table", 5).await, "still signed in");
    d.click("form[action='/console/logout'] button").await;
    assert!(
        d.wait_for("#token", 5).await,
        "signed out to the sign-in page"
    );

    // A business through its link sees its own pages only.
    sign_in_business(&d, &app, &bella).await;
    assert!(d.text().await.contains("Bella Salon"));
    d.goto(&format!("{}/console/t/{other}", app.base)).await;
    let text = d.text().await;
    assert!(
        text.contains("404") && !text.contains("Other Shop"),
        "{text}"
    );
    d.goto(&format!("{}/console/operator/jobs", app.base)).await;
    assert!(d.text().await.contains("404"));

    // Signing out ends it: the pages send the browser back to sign in.
    d.goto(&format!("{}/console/t/{bella}", app.base)).await;
    d.click("form[action='/console/logout'] button").await;
    assert!(d.wait_for("#token", 5).await);
    d.goto(&format!("{}/console/t/{bella}/calls", app.base))
        .await;
    assert!(d.url().await.ends_with("/console/login"));
}

const CALLER: &str = "+14155550142";
const OTHER_CALLER: &str = "+14155550177";

/// The dial targets a simulated call reached, in order.
fn dialled(t: &switchboard_twilio::simulator::Transcript) -> Vec<String> {
    t.turns
        .iter()
        .filter_map(|turn| match turn {
            switchboard_twilio::simulator::Turn::Dial { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect()
}

/// A business's day in the browser: a live call on the overview, the call list and a call's page,
/// a voicemail played, a text answered, business hours changed and the next call following them,
/// then the operator's pages. Every page is photographed at both widths.
#[tokio::test]
async fn a_business_day_in_the_console() {
    use switchboard::jobs::worker::run_pending_jobs;
    use switchboard_twilio::simulator::{CallScript, DialOutcome, SmsScript};

    let Some(d) = Driver::start(DESKTOP.0, DESKTOP.1).await else {
        return;
    };
    let (app, _dir) =
        crate::recordings::start(|c| c.transcription_provider = Some("twilio".into())).await;
    let tenant = crate::voice::salon(&app, json!({})).await;
    crate::voice::set_clock(&app, crate::voice::MONDAY_10AM_NY);
    let sim = crate::voice::simulator(&app);
    let number = crate::voice::NUMBER;

    // Some history: an answered call, a voicemail, and a text from a customer.
    let t = sim
        .run_call(
            &CallScript::new(OTHER_CALLER, number)
                .dial_outcome("*", DialOutcome::Answered { duration_secs: 95 }),
        )
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    app.clock.advance_ms(20 * 60 * 1000);
    let t = sim
        .run_call(
            &CallScript::new(CALLER, number)
                .dial_outcome("*", DialOutcome::NoAnswer)
                .record(
                    9,
                    Some("Hi, this is Dana, can I move my appointment to Friday?"),
                ),
        )
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    app.clock.advance_ms(5 * 60 * 1000);
    let t = sim
        .run_sms(&SmsScript::new(CALLER, number, "Are you open on Saturday?"))
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    run_pending_jobs(&app.state).await.unwrap();

    // The overview; a call made while it is open appears without a reload.
    sign_in_business(&d, &app, &tenant).await;
    assert!(
        d.wait_for("#recent-activity", 5).await,
        "{}",
        d.text().await
    );
    photograph(&d, "overview").await;
    app.clock.advance_ms(10 * 60 * 1000);
    let live = sim
        .run_call(
            &CallScript::new("+14155550199", number)
                .dial_outcome("*", DialOutcome::Answered { duration_secs: 30 }),
        )
        .await;
    let sid = live.call_sid.clone().unwrap();
    assert!(
        d.wait_for(&format!("#recent-activity [data-call-sid='{sid}']"), 15)
            .await,
        "the new call did not appear live"
    );

    // The calls, and one call's page with its timeline and recording.
    d.goto(&format!("{}/console/t/{tenant}/calls", app.base))
        .await;
    assert!(d.wait_for("#calls-table", 5).await);
    photograph(&d, "calls").await;
    d.click("#calls-table tbody tr a").await;
    assert!(d.wait_for("#call-timeline", 5).await, "{}", d.text().await);
    // The voicemail call's page (the list is newest first: the live call, then the voicemail).
    d.goto(&format!("{}/console/t/{tenant}/calls", app.base))
        .await;
    let links = d.count("#calls-table tbody tr a").await;
    assert!(links >= 2);
    d.click("#calls-table tbody tr:nth-child(2) a").await;
    assert!(d.wait_for("#call-timeline", 5).await);
    photograph(&d, "call").await;

    // Voicemail: listed, and it plays (Chromium fetches the audio with Range requests).
    d.goto(&format!("{}/console/t/{tenant}/voicemail", app.base))
        .await;
    assert!(
        d.wait_for("#voicemail-list [data-recording-id]", 5).await,
        "{}",
        d.text().await
    );
    photograph(&d, "voicemail").await;
    let text = d.text().await;
    assert!(text.contains("Friday"), "{text}");
    let played = d
        .script(
            "const a = document.querySelector('#voicemail-list audio'); a.muted = true; \
             return a.play().then(() => new Promise(r => setTimeout(r, 400))) \
               .then(() => ({ paused: a.paused, t: a.currentTime, ready: a.readyState }));",
            json!([]),
        )
        .await;
    assert_eq!(played["paused"], false, "{played}");
    assert!(played["ready"].as_u64().unwrap_or(0) >= 2, "{played}");

    // Messages: the customer's text, answered from the reply box; the reply is sent once.
    d.goto(&format!("{}/console/t/{tenant}/messages", app.base))
        .await;
    assert!(
        d.wait_for(&format!("#conversations-table [data-phone='{CALLER}']"), 5)
            .await,
        "{}",
        d.text().await
    );
    photograph(&d, "messages").await;
    d.goto(&format!(
        "{}/console/t/{tenant}/messages/{}",
        app.base,
        CALLER.replace('+', "%2B")
    ))
    .await;
    assert!(d.wait_for("#reply-form", 5).await, "{}", d.text().await);
    assert!(d.text().await.contains("Are you open on Saturday?"));
    d.fill("#reply-body", "Yes, 9 to 5 on Saturdays. See you!")
        .await;
    d.click("#reply-form button[type=submit]").await;
    assert!(d.wait_for_text("Yes, 9 to 5 on Saturdays", 5).await);
    run_pending_jobs(&app.state).await.unwrap();
    let sent = app
        .state
        .twilio
        .sandbox
        .as_ref()
        .unwrap()
        .messages()
        .into_iter()
        .filter(|m| m.to == CALLER && m.body.contains("9 to 5 on Saturdays"))
        .count();
    assert_eq!(sent, 1, "the reply reached Twilio once");
    photograph(&d, "conversation").await;
    d.goto(&format!("{}/console/t/{tenant}/notifications", app.base))
        .await;
    photograph(&d, "notifications").await;

    // Settings: close Mondays; the next call (Monday) goes to voicemail without ringing staff.
    d.goto(&format!("{}/console/t/{tenant}/settings/hours", app.base))
        .await;
    assert!(d.wait_for("#hours-form", 5).await, "{}", d.text().await);
    photograph(&d, "settings-hours").await;
    let before = sim
        .run_call(
            &CallScript::new(CALLER, number)
                .dial_outcome("*", DialOutcome::Answered { duration_secs: 5 }),
        )
        .await;
    assert!(
        !dialled(&before).is_empty(),
        "open: staff are rung\n{before}"
    );
    d.script(
        "document.querySelectorAll('#hours-form input[name^=\"monday-\"]').forEach(i => i.value = '');",
        json!([]),
    )
    .await;
    d.click("#hours-form button[type=submit]").await;
    assert!(d.wait_for_text("Saved", 5).await, "{}", d.text().await);
    let after = sim
        .run_call(
            &CallScript::new(CALLER, number)
                .dial_outcome("*", DialOutcome::Answered { duration_secs: 5 })
                .record(3, None),
        )
        .await;
    assert!(
        dialled(&after).is_empty(),
        "closed: nobody is rung\n{after}"
    );
    for page in ["routing", "staff", "templates", "number", "relay"] {
        d.goto(&format!("{}/console/t/{tenant}/settings/{page}", app.base))
            .await;
        let text = d.text().await;
        assert!(
            !text.contains("Error 4") && !text.contains("Error 5"),
            "{page}: {text}"
        );
        photograph(&d, &format!("settings-{page}")).await;
    }

    // The operator's pages.
    d.click("form[action='/console/logout'] button").await;
    assert!(d.wait_for("#token", 5).await);
    sign_in_operator(&d, &app).await;
    photograph(&d, "operator-tenants").await;
    d.goto(&format!("{}/console/operator/jobs", app.base)).await;
    assert!(d.wait_for("#jobs-table", 5).await, "{}", d.text().await);
    photograph(&d, "operator-jobs").await;
}
