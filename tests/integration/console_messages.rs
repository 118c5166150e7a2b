//! The console's messages (issue 15, item 5): conversations per customer with their opt-out state,
//! a thread with a reply box that queues through the notification pipeline (the sandbox receives
//! the reply once the worker runs), refusals worded as the API words them, the notification queue
//! with Twilio's error texts and a retry that sends once; CSRF-less forms and other tenants' ids
//! change nothing.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::jobs::worker::run_pending_jobs;
use switchboard_twilio::simulator::SmsScript;

use crate::console_voicemail::business_at;
use crate::support::{TestApp, app};
use crate::voice::{NUMBER, simulator};

const CUSTOMER: &str = "+14155550142";
const CUSTOMER_PATH: &str = "%2B14155550142";

/// An app with instant sandbox callbacks and unpaced texts, the salon at [`NUMBER`], another
/// business, and the salon's API token.
async fn setup() -> (TestApp, String, String, String) {
    let app = app()
        .config(|c| {
            c.sandbox_callback_delay_ms = Some("0".into());
            c.sms_segments_per_second = Some("0".into());
        })
        .start()
        .await;
    let tenant = app
        .create_tenant(
            json!({"name": "Bella Salon", "timeZone": "America/New_York", "phoneNumber": NUMBER}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = app
        .create_tenant(json!({"name": "Other Shop", "phoneNumber": "+14155550177"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = app.token_for(&tenant).await;
    (app, tenant, other, token)
}

/// `POST /api/telephony/sms` to `to`, as the tenant of `token`.
async fn api_send(app: &TestApp, token: &str, to: &str, message: &str) -> crate::support::Resp {
    app.send(
        Method::POST,
        "/api/telephony/sms",
        Some(token),
        Some(json!({"phoneNumber": to, "message": message})),
        &[],
    )
    .await
}

/// The customer texts the salon.
async fn customer_texts(app: &TestApp, body: &str) {
    let t = simulator(app)
        .run_sms(&SmsScript::new(CUSTOMER, NUMBER, body))
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
}

async fn notifications(app: &TestApp, token: &str) -> Value {
    let r = app
        .tenant_get("/api/telephony/notifications?limit=100", token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"].clone()
}

/// Texts the sandbox accepted for `to`.
fn sandbox_texts(app: &TestApp, to: &str) -> Vec<String> {
    app.state
        .twilio
        .sandbox
        .as_ref()
        .unwrap()
        .messages()
        .into_iter()
        .filter(|m| m.to == to)
        .map(|m| m.body)
        .collect()
}

/// The bubble whose text is `body`: from it to the end of its `<div>`.
fn bubble<'a>(html: &'a str, body: &str) -> &'a str {
    let at = html
        .find(&format!(">{body}</p>"))
        .unwrap_or_else(|| panic!("no bubble {body:?} in {html}"));
    let rest = &html[at..];
    &rest[..rest.find("</div>").unwrap_or(rest.len())]
}

async fn drain(app: &TestApp) {
    let s = run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(s.dead, 0, "{s:?}");
    app.state.twilio.sandbox.as_ref().unwrap().wait_idle().await;
}

#[tokio::test]
async fn conversations_and_the_thread_show_the_messages() {
    let (app, tenant, other, _) = setup().await;
    customer_texts(&app, "Are you open on Sunday?").await;
    let list = format!("/console/t/{tenant}/messages");
    let thread = format!("{list}/{CUSTOMER_PATH}");
    let mut b = business_at(&app, &tenant, &list).await;

    b.get(&list)
        .await
        .shows("id=\"conversations-table\"")
        .shows(&format!("href=\"{thread}\""))
        // The auto-reply (TwiML) is the last message.
        .shows("You: Thank you for your message!")
        .shows("1 in · 1 out")
        .shows("Subscribed")
        .shows("id=\"tab-notifications\"")
        .shows("aria-current=\"page\">Conversations");
    let p = b.get(&thread).await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("id=\"message-thread\"")
        .shows(&format!(
            "hx-get=\"{thread}/thread\" hx-trigger=\"every 5s\""
        ))
        .shows("Are you open on Sunday?")
        .shows("From the customer")
        .shows(">auto-reply</span>")
        .shows("id=\"reply-form\"")
        .shows("id=\"reply-body\"")
        .shows("<label for=\"reply-body\">")
        .hides("id=\"opt-out-banner\"");
    // The poll answers the thread alone.
    let f = b.get(&format!("{thread}/thread")).await;
    assert_eq!(f.status, 200);
    assert!(
        f.html
            .trim_start()
            .starts_with("<div class=\"thread\" id=\"message-thread\""),
        "{}",
        f.html
    );
    f.hides("<html");
    // A number never texted, and a number that is no number.
    assert_eq!(b.get(&format!("{list}/%2B14155550999")).await.status, 404);
    assert_eq!(b.get(&format!("{list}/not-a-number")).await.status, 400);
    // An empty list says what will appear.
    let mut them = business_at(&app, &other, &format!("/console/t/{other}/messages")).await;
    them.get(&format!("/console/t/{other}/messages"))
        .await
        .shows("No texts yet")
        .hides(CUSTOMER);
    // Another business cannot open the salon's pages or its customer's thread through its own.
    assert_eq!(them.get(&list).await.status, 404);
    assert_eq!(them.get(&thread).await.status, 404);
    assert_eq!(
        them.get(&format!("/console/t/{other}/messages/{CUSTOMER_PATH}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_reply_is_queued_and_sent_once_through_the_pipeline() {
    let (app, tenant, other, token) = setup().await;
    customer_texts(&app, "Can I come at 3?").await;
    let thread = format!("/console/t/{tenant}/messages/{CUSTOMER_PATH}");
    let mut b = business_at(&app, &tenant, &thread).await;
    let auto_replies = sandbox_texts(&app, CUSTOMER).len();
    app.clock.advance_ms(60_000);

    // Without the CSRF token: refused, nothing queued.
    let p = b
        .post_raw(&thread, &[("message", "Yes, see you then!")])
        .await;
    assert_eq!(p.status, 403);
    // Blank: the API's words next to the box, 400, nothing queued.
    let p = b
        .post(&thread, &[("message", "   "), ("key", "k-blank")])
        .await;
    assert_eq!(p.status, 400, "{}", p.html);
    p.shows("id=\"reply-body-error\">message: must not be empty")
        .shows("aria-invalid=\"true\"");
    let long = "x".repeat(1601);
    let p = b
        .post(&thread, &[("message", &long), ("key", "k-long")])
        .await;
    assert_eq!(p.status, 400);
    p.shows("message: must be at most 1600 characters");
    // Another business posting to the salon's thread: 404, nothing queued.
    let mut them = business_at(&app, &other, &format!("/console/t/{other}/messages")).await;
    assert_eq!(
        them.post(&thread, &[("message", "hi"), ("key", "k-them")])
            .await
            .status,
        404
    );
    assert_eq!(notifications(&app, &token).await["total"], 0);

    // The reply: queued (303 back to the thread), shown at once with its status.
    let fields = [("message", "Yes, see you then!"), ("key", "k-reply-1")];
    let p = b.post(&thread, &fields).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let back = p.location.unwrap();
    assert!(back.starts_with(&format!("{thread}?sent=")), "{back}");
    // A double submit of the same form queues nothing more.
    assert_eq!(b.post(&thread, &fields).await.status, 303);
    let n = notifications(&app, &token).await;
    assert_eq!(n["total"], 1, "{n}");
    assert_eq!(n["notifications"][0]["status"], "QUEUED");
    assert_eq!(n["notifications"][0]["recipient"], CUSTOMER);
    assert_eq!(n["notifications"][0]["message"], "Yes, see you then!");
    let p = b.get(&back).await;
    p.shows("Your reply is queued");
    assert!(
        bubble(&p.html, "Yes, see you then!").contains(">queued</span>"),
        "{}",
        p.html
    );

    // The worker sends it: the sandbox receives exactly one message, and the thread (as polled)
    // shows it delivered.
    drain(&app).await;
    let sent: Vec<String> = sandbox_texts(&app, CUSTOMER)
        .into_iter()
        .skip(auto_replies)
        .collect();
    assert_eq!(sent, vec!["Yes, see you then!".to_string()]);
    let f = b.get(&format!("{thread}/thread")).await;
    let reply = bubble(&f.html, "Yes, see you then!");
    assert!(
        reply.contains("Sent by you") && reply.contains(">delivered</span>"),
        "{reply}"
    );
    assert_eq!(
        f.html.matches("Yes, see you then!").count(),
        1,
        "{}",
        f.html
    );
    b.get(&format!("/console/t/{tenant}/messages"))
        .await
        .shows("You: Yes, see you then!")
        .shows("1 in · 2 out");
}

#[tokio::test]
async fn a_reply_to_an_opted_out_customer_is_refused_and_nothing_is_queued() {
    let (app, tenant, _, token) = setup().await;
    customer_texts(&app, "STOP").await;
    let list = format!("/console/t/{tenant}/messages");
    let thread = format!("{list}/{CUSTOMER_PATH}");
    let mut b = business_at(&app, &tenant, &thread).await;
    b.get(&list).await.shows("Opted out (STOP)");
    b.get(&thread).await.shows("id=\"opt-out-banner\"");

    let p = b
        .post(&thread, &[("message", "Last chance!"), ("key", "k-1")])
        .await;
    assert_eq!(p.status, 409, "{}", p.html);
    // The API refuses the same send with the same words.
    let r = api_send(&app, &token, CUSTOMER, "Last chance!").await;
    assert_eq!(
        (r.status, r.code()),
        (409, "RECIPIENT_OPTED_OUT"),
        "{}",
        r.text
    );
    let words = r.json["error"]["message"].as_str().unwrap();
    assert!(words.contains("opted out by texting STOP"), "{words}");
    p.shows(&format!(
        "id=\"reply-error\">{}",
        words.replace('\'', "&#39;")
    ))
    .shows("Last chance!");
    assert_eq!(notifications(&app, &token).await["total"], 0);

    // START lifts it: the banner goes and a reply is queued.
    customer_texts(&app, "START").await;
    b.get(&thread).await.hides("id=\"opt-out-banner\"");
    let p = b
        .post(&thread, &[("message", "Welcome back"), ("key", "k-2")])
        .await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(notifications(&app, &token).await["total"], 1);
}

#[tokio::test]
async fn the_notification_queue_shows_failures_and_retries_them_once() {
    let (app, tenant, other, token) = setup().await;
    // The sandbox reports this number's texts undelivered (30003, an unreachable handset).
    const UNREACHABLE: &str = "+15005550030";
    let r = api_send(&app, &token, UNREACHABLE, "Your table is ready").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let failed = r.json["data"]["id"].as_str().unwrap().to_string();
    let r = api_send(&app, &token, CUSTOMER, "See you soon").await;
    let delivered = r.json["data"]["id"].as_str().unwrap().to_string();
    drain(&app).await;
    assert_eq!(sandbox_texts(&app, UNREACHABLE).len(), 1);

    let queue = format!("/console/t/{tenant}/notifications");
    let mut b = business_at(&app, &tenant, &queue).await;
    let p = b.get(&queue).await;
    p.shows("id=\"notifications-table\"")
        .shows(&format!("id=\"notification-{failed}\""))
        .shows(">undelivered</span>")
        .shows(">delivered</span>")
        .shows("Error 30003: The recipient&#39;s handset was unreachable")
        .shows(&format!("action=\"{queue}/{failed}/retry\""))
        .hides(&format!("action=\"{queue}/{delivered}/retry\""))
        .shows("aria-current=\"page\">Notification queue");
    let p = b.get(&format!("{queue}?status=UNDELIVERED")).await;
    p.shows(&format!("id=\"notification-{failed}\""))
        .hides(&format!("id=\"notification-{delivered}\""));
    let p = b.get(&format!("{queue}?status=LOST")).await;
    assert_eq!(p.status, 400);
    p.shows("status: must be one of QUEUED, SENDING, SENT, DELIVERED, UNDELIVERED, FAILED");

    // Without the CSRF token, from another business, or for a delivered one: nothing is queued.
    let retry = format!("{queue}/{failed}/retry");
    assert_eq!(b.post_raw(&retry, &[]).await.status, 403);
    let mut them = business_at(&app, &other, &format!("/console/t/{other}/notifications")).await;
    assert_eq!(
        them.post(
            &format!("/console/t/{other}/notifications/{failed}/retry"),
            &[]
        )
        .await
        .status,
        404
    );
    let p = b.post(&format!("{queue}/{delivered}/retry"), &[]).await;
    assert_eq!(p.status, 409);
    p.shows("Not retried: only FAILED or UNDELIVERED notifications can be retried");
    assert_eq!(notifications(&app, &token).await["total"], 2);

    // Retry: a new notification, queued through the pipeline, sent once.
    let p = b.post(&retry, &[("status", "UNDELIVERED")]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let to = p.location.unwrap();
    assert!(
        to.starts_with(&format!(
            "{queue}?status=UNDELIVERED&retried={failed}&retry="
        )),
        "{to}"
    );
    b.get(&to).await.shows("Queued again as notification");
    // Asking again (console or API) queues nothing more.
    let p = b.post(&retry, &[]).await;
    assert_eq!(p.status, 303);
    b.get(&p.location.unwrap()).await.shows("Already retried");
    let r = app
        .send(
            Method::POST,
            &format!("/api/telephony/notifications/{failed}/retry"),
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["created"], false);
    let n = notifications(&app, &token).await;
    assert_eq!(n["total"], 3, "{n}");
    let again: Vec<&Value> = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["recipient"] == UNREACHABLE && x["id"] != failed.as_str())
        .collect();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["message"], "Your table is ready");
    drain(&app).await;
    assert_eq!(
        sandbox_texts(&app, UNREACHABLE).len(),
        2,
        "the retry is sent once"
    );
    // Another business's token cannot retry it either.
    let theirs = app.token_for(&other).await;
    let r = app
        .send(
            Method::POST,
            &format!("/api/telephony/notifications/{failed}/retry"),
            Some(&theirs),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
}
