//! Settings › Templates: every template with a preview filled with sample values and counted in
//! SMS segments, live (htmx) and without JavaScript, saved through the admin API's rules.

use reqwest::Method;
use serde_json::json;

use crate::console_settings::{api_refusal, business, escaped, field_error, shown, tenant_id};
use crate::support::app;
use crate::voice::set_clock;

const KEYS: [&str; 8] = [
    "smsAutoReply",
    "priceList",
    "missedCallTextBack",
    "appointmentConfirmation",
    "appointmentReminder",
    "helpReply",
    "voicemailPrompt",
    "afterHoursGreeting",
];

#[tokio::test]
async fn every_template_is_shown_with_its_filled_preview() {
    let app = app().start().await;
    let id = tenant_id(
        &app,
        json!({"name": "Bella Salon", "timeZone": "America/New_York", "templates": {
            "smsAutoReply": "Thanks for texting {name}!",
            "appointmentReminder": "Hi {customerName}, see you {when} at {time} for your {service}."}}),
    )
    .await;
    // Monday 2026-11-23, 10:00 in New York: the sample appointment is tomorrow at 2:30 PM.
    set_clock(&app, "2026-11-23T15:00:00Z");
    let mut b = business(&app, &id).await;
    let p = b.get(&format!("/console/t/{id}/settings/templates")).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"templates-form\"");
    for key in KEYS {
        p.shows(&format!("<textarea id=\"{key}\" name=\"{key}\""))
            .shows(&format!("id=\"preview-{key}\""))
            .shows(&format!(
                "hx-post=\"/console/t/{id}/settings/templates/preview\""
            ))
            .shows(&format!("id=\"{key}-preview-button\""));
    }
    p.shows("hx-trigger=\"keyup changed delay:300ms, change\"")
        .shows(">Thanks for texting Bella Salon!</p>")
        .shows(">Hi Alex, see you tomorrow at 2:30 PM for your Haircut.</p>")
        .shows("31 characters · 1 SMS segment<")
        // A blank template shows the wording the sender uses instead, where it is known.
        .shows(&escaped("Sorry we missed your call at Bella Salon!"));
}

#[tokio::test]
async fn the_live_preview_fills_sample_values_and_counts_segments() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella Salon"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/templates/preview");
    let csrf = b.csrf.clone().unwrap();
    let long = format!("{} {{name}}", "a".repeat(150));
    let p = b
        .request(
            Method::POST,
            &path,
            Some(&[
                ("smsAutoReply", long.as_str()),
                ("helpReply", "Reply STOP to stop texts from {name}."),
                ("template", "smsAutoReply"),
            ]),
            &[("HX-Request", "true"), ("X-CSRF-Token", csrf.as_str())],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.html);
    // Just the preview's inside, for htmx to swap in.
    p.hides("<html").hides("helpReply");
    p.shows(&format!("{} Bella Salon</p>", "a".repeat(150)))
        .shows("162 characters · 2 SMS segments");
    // One emoji makes the text UCS-2: 70 characters a segment, 67 once split.
    let p = b
        .request(
            Method::POST,
            &path,
            Some(&[
                ("missedCallTextBack", &format!("{} 😀", "b".repeat(68))),
                ("template", "missedCallTextBack"),
            ]),
            &[("HX-Request", "true"), ("X-CSRF-Token", csrf.as_str())],
        )
        .await;
    assert_eq!(p.status, 200);
    p.shows("70 characters · 2 SMS segments");
    // Spoken templates are not texts.
    let p = b
        .request(
            Method::POST,
            &path,
            Some(&[
                ("voicemailPrompt", "Leave a message for {name}."),
                ("template", "voicemailPrompt"),
            ]),
            &[("HX-Request", "true"), ("X-CSRF-Token", csrf.as_str())],
        )
        .await;
    p.shows("Leave a message for Bella Salon.")
        .shows("spoken on the call");
    // Without JavaScript, the Preview button gets the whole page with the previews.
    let p = b
        .post(
            &path,
            &[
                ("helpReply", "Help from {name}: call us."),
                ("template", "helpReply"),
            ],
        )
        .await;
    assert_eq!(p.status, 200);
    p.shows("<html")
        .shows("id=\"templates-form\"")
        .shows(">Help from {name}: call us.</textarea>")
        .shows(">Help from Bella Salon: call us.</p>");
    // A preview changes nothing, and needs the token like any post.
    assert!(shown(&app, &id).await["templates"]["helpReply"].is_null());
    let p = b
        .request(
            Method::POST,
            &path,
            Some(&[("smsAutoReply", "x"), ("template", "smsAutoReply")]),
            &[("HX-Request", "true")],
        )
        .await;
    assert_eq!(p.status, 403);
}

#[tokio::test]
async fn saving_templates_is_what_the_api_shows_and_a_refusal_changes_nothing() {
    let app = app().start().await;
    let id = tenant_id(
        &app,
        json!({"name": "Bella", "templates": {"priceList": "A cut is 40 dollars."}}),
    )
    .await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/templates");
    let p = b
        .post(
            &path,
            &[
                ("smsAutoReply", "Thanks, {name} will text you back."),
                ("helpReply", "Call us at 555-0100."),
                ("priceList", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("{path}?saved=1").as_str())
    );
    let t = shown(&app, &id).await["templates"].clone();
    assert_eq!(t["smsAutoReply"], "Thanks, {name} will text you back.");
    assert_eq!(t["helpReply"], "Call us at 555-0100.");
    // Blank: back to the built-in wording.
    assert!(t["priceList"].is_null());

    let before = shown(&app, &id).await;
    let long = "x".repeat(1601);
    let p = b
        .post(
            &path,
            &[
                ("smsAutoReply", "fine"),
                ("appointmentReminder", long.as_str()),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.html);
    let (msg, field) = api_refusal(
        &app,
        &id,
        json!({"templates": {"appointmentReminder": long}}),
    )
    .await;
    assert_eq!(field, "templates.appointmentReminder");
    assert_eq!(field_error(&p, "appointmentReminder"), msg);
    p.shows(">fine</textarea>");
    let p = b.post_raw(&path, &[("smsAutoReply", "forged")]).await;
    assert_eq!(p.status, 403);
    assert_eq!(shown(&app, &id).await, before);
}
