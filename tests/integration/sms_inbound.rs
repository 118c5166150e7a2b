//! Inbound texts end to end: the simulator (or a hand-signed webhook) texts the in-process app, which
//! stores the message once, honours STOP/START/HELP and auto-replies in TwiML.

use serde_json::{Value, json};
use switchboard::db::{self, messages::MessageRow, tenants::Tenant};
use switchboard::domain::E164;
use switchboard::domain::MessageSid;
use switchboard::messaging::INBOUND_PATHS;
use switchboard::messaging::inbound::{DEFAULT_AUTO_REPLY, NOT_IN_SERVICE};
use switchboard_twilio::signature::sign_form;
use switchboard_twilio::simulator::{SmsScript, Transcript};

use crate::support::{TestApp, app};
use crate::voice::{NUMBER, salon, signed_post, simulator};

const CUSTOMER: &str = "+14155550142";

async fn tenant(app: &TestApp) -> Tenant {
    db::tenants::get_by_number(&app.state.db, &E164::parse("n", NUMBER).unwrap())
        .await
        .unwrap()
        .expect("salon exists")
}

/// Bella Salon at [`NUMBER`] with `extra` (templates, messaging) in its creation body.
async fn salon_with(app: &TestApp, extra: Value) -> Tenant {
    let mut body =
        json!({"name": "Bella Salon", "timeZone": "America/New_York", "phoneNumber": NUMBER});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.create_tenant(body).await;
    tenant(app).await
}

/// Every message of the tenant, newest first.
async fn stored(app: &TestApp, tenant_id: &str) -> Vec<MessageRow> {
    db::messages::list_for_number(&app.state.db, tenant_id, None, 100, 0)
        .await
        .unwrap()
}

async fn opted_out(app: &TestApp, tenant_id: &str) -> bool {
    db::opt_outs::is_opted_out(&app.state.db, tenant_id, CUSTOMER)
        .await
        .unwrap()
}

async fn text(app: &TestApp, body: &str) -> Transcript {
    let t = simulator(app)
        .run_sms(&SmsScript::new(CUSTOMER, NUMBER, body))
        .await;
    assert!(t.http_errors.is_empty(), "{t}");
    t
}

/// The replies' bodies.
fn replies(t: &Transcript) -> Vec<String> {
    t.messages().iter().map(|(_, b)| b.to_string()).collect()
}

fn params<'a>(sid: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("From", CUSTOMER),
        ("To", NUMBER),
        ("Body", body),
        ("NumMedia", "0"),
    ]
}

#[tokio::test]
async fn auto_reply_uses_the_seed_wording_and_the_text_is_stored() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let tr = text(&app, "Are you open on Sunday?").await;
    assert_eq!(tr.messages(), vec![(CUSTOMER, DEFAULT_AUTO_REPLY)], "{tr}");
    assert_eq!(
        DEFAULT_AUTO_REPLY,
        "Thank you for your message! We will get back to you soon."
    );

    let sid = tr.message_sid.as_deref().unwrap();
    let m = db::messages::get_by_sid(&app.state.db, &MessageSid::stored(sid))
        .await
        .unwrap()
        .expect("inbound message stored");
    assert_eq!(m.tenant_id, t.id);
    assert_eq!(m.direction, "inbound");
    assert_eq!(
        (
            m.customer.as_str(),
            m.from_number.as_str(),
            m.to_number.as_str()
        ),
        (CUSTOMER, CUSTOMER, NUMBER)
    );
    assert_eq!(m.body, "Are you open on Sunday?");
    assert_eq!(m.status, "received");
    assert_eq!(
        (m.num_media, m.media_urls.as_str(), m.segments),
        (0, "[]", 1)
    );

    // The TwiML reply is part of the thread, addressed back to the customer.
    let all = stored(&app, &t.id).await;
    assert_eq!(all.len(), 2);
    let reply = all.iter().find(|m| m.direction == "outbound").unwrap();
    assert_eq!(reply.body, DEFAULT_AUTO_REPLY);
    assert_eq!(
        (
            reply.from_number.as_str(),
            reply.to_number.as_str(),
            reply.customer.as_str()
        ),
        (NUMBER, CUSTOMER, CUSTOMER)
    );
    assert_eq!(reply.message_sid, None);
}

#[tokio::test]
async fn the_tenant_template_is_used_with_the_business_name() {
    let app = app().start().await;
    salon_with(
        &app,
        json!({"templates": {"smsAutoReply": "Thanks for texting {name}! We reply within the hour."}}),
    )
    .await;
    let tr = text(&app, "hello").await;
    assert_eq!(
        replies(&tr),
        vec!["Thanks for texting Bella Salon! We reply within the hour."]
    );
}

#[tokio::test]
async fn a_duplicate_delivery_stores_once_and_answers_the_same() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let p = params(
        "SM00000000000000000000000000000001",
        "Can I book for Friday?",
    );
    let (s1, b1) = signed_post(&app, "/api/webhooks/twilio/sms", &p).await;
    let (s2, b2) = signed_post(&app, "/api/webhooks/twilio/sms", &p).await;
    // The alias path is the same webhook: its redelivery is a duplicate too.
    let (s3, b3) = signed_post(&app, "/api/twilio/incoming-sms", &p).await;
    assert_eq!((s1, s2, s3), (200, 200, 200));
    assert!(b1.contains(DEFAULT_AUTO_REPLY), "{b1}");
    assert_eq!(b1, b2);
    assert_eq!(b1, b3);
    let all = stored(&app, &t.id).await;
    assert_eq!(
        all.iter().filter(|m| m.direction == "inbound").count(),
        1,
        "one inbound row"
    );
    assert_eq!(all.len(), 2, "one reply row: {all:?}");
}

#[tokio::test]
async fn a_duplicate_stop_answers_the_same_confirmation() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let p = params("SM00000000000000000000000000000002", "STOP");
    let (_, b1) = signed_post(&app, "/api/webhooks/twilio/sms", &p).await;
    let (_, b2) = signed_post(&app, "/api/webhooks/twilio/sms", &p).await;
    assert!(b1.contains("unsubscribed from Bella Salon"), "{b1}");
    assert_eq!(b1, b2);
    assert!(opted_out(&app, &t.id).await);
    assert_eq!(stored(&app, &t.id).await.len(), 2);
}

#[tokio::test]
async fn an_unknown_number_is_politely_not_in_service() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    for to in ["+14155550000", "not-a-number", ""] {
        let p = [
            ("MessageSid", "SM00000000000000000000000000000003"),
            ("From", CUSTOMER),
            ("To", to),
            ("Body", "hello?"),
        ];
        let (status, body) = signed_post(&app, "/api/webhooks/twilio/sms", &p).await;
        assert_eq!(status, 200, "{to}");
        assert!(
            body.contains(&format!("<Message>{NOT_IN_SERVICE}</Message>")),
            "{to}: {body}"
        );
    }
    assert_eq!(
        NOT_IN_SERVICE,
        "Sorry, this number is not currently in service."
    );
    assert!(stored(&app, &t.id).await.is_empty());
    assert!(
        db::messages::get_by_sid(
            &app.state.db,
            &MessageSid::stored("SM00000000000000000000000000000003")
        )
        .await
        .unwrap()
        .is_none()
    );
}

#[tokio::test]
async fn stop_opts_out_silences_auto_replies_and_start_opts_back_in() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    assert!(!opted_out(&app, &t.id).await);

    let tr = text(&app, "  Stop ").await;
    assert_eq!(
        replies(&tr),
        vec!["You have been unsubscribed from Bella Salon messages. Reply START to resubscribe."]
    );
    assert!(opted_out(&app, &t.id).await);

    // An opted-out sender's text is kept, but gets no auto-reply.
    let tr = text(&app, "one more question").await;
    assert!(replies(&tr).is_empty(), "{tr}");
    let latest = &stored(&app, &t.id).await[0];
    assert_eq!(
        (latest.body.as_str(), latest.direction.as_str()),
        ("one more question", "inbound")
    );

    let tr = text(&app, "start").await;
    assert_eq!(
        replies(&tr),
        vec!["You have been resubscribed to Bella Salon messages. Reply STOP to unsubscribe."]
    );
    assert!(!opted_out(&app, &t.id).await);
    assert_eq!(
        replies(&text(&app, "hi again").await),
        vec![DEFAULT_AUTO_REPLY]
    );
}

#[tokio::test]
async fn every_opt_out_and_opt_in_word_is_honoured() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    for (out, back) in [
        ("STOPALL", "YES"),
        ("unsubscribe", "UNSTOP"),
        ("Cancel", "start"),
        ("END", "yes"),
        ("quit", "START"),
        ("REVOKE", "unstop"),
        ("optout", "Start"),
    ] {
        let tr = text(&app, out).await;
        assert!(replies(&tr)[0].contains("unsubscribed"), "{out}: {tr}");
        assert!(opted_out(&app, &t.id).await, "{out}");
        let tr = text(&app, back).await;
        assert!(replies(&tr)[0].contains("resubscribed"), "{back}: {tr}");
        assert!(!opted_out(&app, &t.id).await, "{back}");
    }
    // A sentence that merely contains a keyword is an ordinary message.
    let tr = text(&app, "please stop by the salon").await;
    assert_eq!(replies(&tr), vec![DEFAULT_AUTO_REPLY]);
    assert!(!opted_out(&app, &t.id).await);
}

#[tokio::test]
async fn help_answers_with_the_default_or_the_tenant_template() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let help = replies(&text(&app, "HELP").await);
    assert_eq!(help.len(), 1);
    assert!(help[0].contains("Bella Salon"), "{help:?}");
    assert!(help[0].contains("STOP"), "{help:?}");
    // HELP is answered even to an opted-out sender, and does not opt them back in.
    text(&app, "STOP").await;
    assert_eq!(replies(&text(&app, "info").await), help);
    assert!(opted_out(&app, &t.id).await);

    let other = crate::support::app().start().await;
    salon_with(
        &other,
        json!({"templates": {"helpReply": "{name} help desk: call 415-555-0100. Reply STOP to opt out."}}),
    )
    .await;
    assert_eq!(
        replies(&text(&other, "Help").await),
        vec!["Bella Salon help desk: call 415-555-0100. Reply STOP to opt out."]
    );
}

#[tokio::test]
async fn advanced_opt_out_is_recorded_and_answered_with_an_empty_response() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let post = |sid: &'static str, body: &'static str, kind: &'static str| {
        let app = &app;
        async move {
            let mut p = params(sid, body);
            p.push(("OptOutType", kind));
            let (status, xml) = signed_post(app, "/api/webhooks/twilio/sms", &p).await;
            assert_eq!(status, 200);
            xml
        }
    };
    // A custom keyword ("arret") Switchboard does not know: Twilio's verdict decides.
    let xml = post("SM00000000000000000000000000000004", "Arret", "STOP").await;
    assert!(xml.contains("<Response/>"), "{xml}");
    assert!(!xml.contains("<Message"), "{xml}");
    assert!(opted_out(&app, &t.id).await);

    let xml = post("SM00000000000000000000000000000005", "HELP", "HELP").await;
    assert!(xml.contains("<Response/>"), "{xml}");
    assert!(opted_out(&app, &t.id).await, "HELP changes nothing");

    let xml = post("SM00000000000000000000000000000006", "START", "START").await;
    assert!(xml.contains("<Response/>"), "{xml}");
    assert!(!opted_out(&app, &t.id).await);
    // Every one of them is stored, with no reply rows.
    let all = stored(&app, &t.id).await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|m| m.direction == "inbound"));
}

#[tokio::test]
async fn auto_reply_off_answers_empty_but_keywords_still_work() {
    let app = app().start().await;
    let t = salon_with(&app, json!({"messaging": {"autoReply": false}})).await;
    let (status, xml) = signed_post(
        &app,
        "/api/webhooks/twilio/sms",
        &params("SM00000000000000000000000000000007", "hello"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(xml.contains("<Response/>"), "{xml}");
    let all = stored(&app, &t.id).await;
    assert_eq!(all.len(), 1, "the text is stored, no reply row");
    assert_eq!(all[0].body, "hello");

    let tr = text(&app, "STOP").await;
    assert!(replies(&tr)[0].contains("unsubscribed"), "{tr}");
    assert!(opted_out(&app, &t.id).await);
}

#[tokio::test]
async fn an_mms_with_two_media_and_no_body_is_stored() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let media = [
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2.jpg",
    ];
    let mut script = SmsScript::new(CUSTOMER, NUMBER, "");
    script.media_urls = media.iter().map(|m| m.to_string()).collect();
    let tr = simulator(&app).run_sms(&script).await;
    assert!(tr.http_errors.is_empty(), "{tr}");
    assert_eq!(replies(&tr), vec![DEFAULT_AUTO_REPLY]);
    let m = db::messages::get_by_sid(
        &app.state.db,
        &MessageSid::stored(tr.message_sid.as_deref().unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(m.tenant_id, t.id);
    assert_eq!(m.body, "");
    assert_eq!(m.num_media, 2);
    let urls: Vec<String> = serde_json::from_str(&m.media_urls).unwrap();
    assert_eq!(urls, media);
}

#[tokio::test]
async fn segments_are_counted_when_twilio_does_not_say() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let long = "a".repeat(200);
    signed_post(
        &app,
        "/api/webhooks/twilio/sms",
        &params("SM00000000000000000000000000000008", &long),
    )
    .await;
    let mut p = params("SM00000000000000000000000000000009", "short");
    p.push(("NumSegments", "3"));
    signed_post(&app, "/api/webhooks/twilio/sms", &p).await;
    let get = |sid: &'static str| {
        let db = app.state.db.clone();
        async move {
            db::messages::get_by_sid(&db, &MessageSid::stored(sid))
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(get("SM00000000000000000000000000000008").await.segments, 2);
    assert_eq!(
        get("SM00000000000000000000000000000009").await.segments,
        3,
        "Twilio's NumSegments wins"
    );
    assert_eq!(
        stored(&app, &t.id)
            .await
            .iter()
            .filter(|m| m.direction == "inbound")
            .count(),
        2
    );
}

#[tokio::test]
async fn every_alias_and_a_get_configured_number_work() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    for (i, path) in INBOUND_PATHS.iter().enumerate() {
        let sid = format!("SM0000000000000000000000000000010{i}");
        let (status, xml) = signed_post(&app, path, &params(&sid, "hi")).await;
        assert_eq!(status, 200, "{path}");
        assert!(xml.contains(DEFAULT_AUTO_REPLY), "{path}: {xml}");
        assert!(
            db::messages::get_by_sid(&app.state.db, &MessageSid::stored(&sid))
                .await
                .unwrap()
                .is_some(),
            "{path}"
        );
    }
    let path = "/api/webhooks/twilio/sms?MessageSid=SM00000000000000000000000000000200&From=%2B14155550142&To=%2B15005550006&Body=hi+there";
    let sig = sign_form(
        &app.state.twilio.auth_token,
        &format!("{}{path}", app.base),
        &[],
    );
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .header("x-twilio-signature", sig)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(DEFAULT_AUTO_REPLY));
    let m = db::messages::get_by_sid(
        &app.state.db,
        &MessageSid::stored("SM00000000000000000000000000000200"),
    )
    .await
    .unwrap()
    .expect("GET webhook stored");
    assert_eq!(
        (m.body.as_str(), m.tenant_id.as_str()),
        ("hi there", t.id.as_str())
    );
}

#[tokio::test]
async fn invalid_signature_is_403_on_every_alias_and_writes_nothing() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let sid = "SM00000000000000000000000000000300";
    let p: Vec<(String, String)> = params(sid, "STOP")
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for path in INBOUND_PATHS {
        let bad = sign_form("wrong-token", &format!("{}{path}", app.base), &p);
        let res = app
            .client
            .post(format!("{}{path}", app.base))
            .header("x-twilio-signature", bad)
            .form(&p)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let res = app
            .client
            .post(format!("{}{path}", app.base))
            .form(&p)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} without a signature");
    }
    assert!(
        db::messages::get_by_sid(&app.state.db, &MessageSid::stored(sid))
            .await
            .unwrap()
            .is_none()
    );
    assert!(stored(&app, &t.id).await.is_empty());
    assert!(!opted_out(&app, &t.id).await, "the forged STOP did nothing");
}

#[tokio::test]
async fn a_webhook_without_a_message_sid_is_refused() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    let (status, body) = signed_post(
        &app,
        "/api/webhooks/twilio/sms",
        &[("From", CUSTOMER), ("To", NUMBER), ("Body", "hi")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("MessageSid"), "{body}");
}

/// Text from a customer is stored exactly as sent, whatever it holds: on PostgreSQL a batch's
/// writes reach the database as one script with the values written in as literals
/// (`db::batch::rows::pg_literal`), so quotes, backslashes and SQL in a body must stay data.
#[tokio::test]
async fn hostile_text_is_stored_exactly_as_sent() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let body =
        "it's O'Brien \\' \\\\'); DROP TABLE calls; -- $1 $$x$$ E'\\x41' ☎ \u{1F600}\r\nline two";
    text(&app, body).await;
    let all = stored(&app, &t.id).await;
    let inbound: Vec<&MessageRow> = all.iter().filter(|m| m.direction == "inbound").collect();
    assert_eq!(inbound.len(), 1, "{all:?}");
    assert_eq!(inbound[0].body, body);
    assert_eq!(inbound[0].customer, CUSTOMER);
    // The tables are all still there, and the next webhook works as before.
    let again = text(&app, "second").await;
    assert_eq!(replies(&again), vec![DEFAULT_AUTO_REPLY]);
    assert_eq!(stored(&app, &t.id).await.len(), 4, "two texts, two replies");
}

/// A NUL character (`%00`) in a webhook's text is dropped once the signature is checked: PostgreSQL
/// text cannot hold one, and the text must store the same on both databases instead of failing.
#[tokio::test]
async fn a_nul_in_the_text_is_dropped_and_the_text_kept() {
    let app = app().start().await;
    let t = salon_with(&app, json!({})).await;
    let tr = text(&app, "see you\u{0} at 5").await;
    assert_eq!(replies(&tr), vec![DEFAULT_AUTO_REPLY]);
    let all = stored(&app, &t.id).await;
    let inbound: Vec<&MessageRow> = all.iter().filter(|m| m.direction == "inbound").collect();
    assert_eq!(inbound.len(), 1, "{all:?}");
    assert_eq!(inbound[0].body, "see you at 5");
}
