//! Settings › Hours: shows the stored hours, saves through the admin API's rules (and nothing when
//! refused), and the next simulated call follows the saved hours.

use serde_json::json;
use switchboard::db;
use switchboard::domain::CallSid;
use switchboard_twilio::simulator::{CallScript, DialOutcome};

use crate::console_settings::{api_refusal, business, field_error, shown, tenant_id};
use crate::support::app;
use crate::voice::{MONDAY_10AM_NY, NUMBER, salon, set_clock, simulator};

/// The form as a browser sends it for Monday 09:00-12:00 and 13:00-00:00 (midnight), Saturday
/// closed, Sunday 10:00-14:00 and the rest as given in `more`.
fn hours_form<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("monday-0-open", "09:00"),
        ("monday-0-close", "12:00"),
        ("monday-1-open", "13:00"),
        ("monday-1-close", "00:00"),
        ("monday-2-open", ""),
        ("monday-2-close", ""),
        ("saturday-0-open", "10:00"),
        ("saturday-0-close", "12:00"),
        ("saturday-closed", "on"),
        ("sunday-0-open", "10:00"),
        ("sunday-0-close", "14:00"),
        ("holidays", "2026-12-25\r\n2027-01-01"),
        ("time-zone", "Europe/Paris"),
    ];
    f.extend_from_slice(more);
    f
}

#[tokio::test]
async fn the_page_shows_the_stored_hours() {
    let app = app().start().await;
    let id = tenant_id(
        &app,
        json!({"name": "Bella", "timeZone": "America/Chicago", "businessHours": {
            "tuesday": [{"open": "08:30", "close": "12:00"}, {"open": "22:00", "close": "24:00"}],
            "holidays": ["2026-12-24"]}}),
    )
    .await;
    let mut b = business(&app, &id).await;
    let p = b.get(&format!("/console/t/{id}/settings/hours")).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"hours-form\"")
        .shows("id=\"tuesday-0-open\" name=\"tuesday-0-open\" type=\"time\" value=\"08:30\"")
        .shows("id=\"tuesday-0-close\" name=\"tuesday-0-close\" type=\"time\" value=\"12:00\"")
        // 24:00 is midnight, which a time input writes 00:00.
        .shows("id=\"tuesday-1-close\" name=\"tuesday-1-close\" type=\"time\" value=\"00:00\"")
        // One empty row to add a window, and at least two rows on every day.
        .shows("id=\"tuesday-2-open\" name=\"tuesday-2-open\" type=\"time\" value=\"\"")
        .shows("id=\"monday-1-open\"")
        .hides("id=\"monday-2-open\"")
        .shows("id=\"monday-closed\" name=\"monday-closed\" type=\"checkbox\" value=\"on\" checked")
        .hides(
            "id=\"tuesday-closed\" name=\"tuesday-closed\" type=\"checkbox\" value=\"on\" checked",
        )
        .shows(">2026-12-24</textarea>")
        .shows("id=\"time-zone\" name=\"time-zone\" type=\"text\" value=\"America/Chicago\"")
        .shows("<option value=\"Europe/Paris\">")
        .shows("<label for=\"tuesday-0-open\">");
}

#[tokio::test]
async fn a_good_save_is_what_the_api_shows_and_reaches_the_page() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/hours");
    let p = b.post(&path, &hours_form(&[])).await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("{path}?saved=1").as_str())
    );
    let t = shown(&app, &id).await;
    assert_eq!(t["timeZone"], "Europe/Paris");
    let h = &t["businessHours"];
    assert_eq!(
        h["monday"],
        json!([{"open": "09:00", "close": "12:00"}, {"open": "13:00", "close": "24:00"}])
    );
    assert_eq!(h["saturday"], json!([]));
    assert_eq!(h["sunday"], json!([{"open": "10:00", "close": "14:00"}]));
    assert_eq!(h["tuesday"], json!([]));
    assert_eq!(h["holidays"], json!(["2026-12-25", "2027-01-01"]));
    let p = b.get(&format!("{path}?saved=1")).await;
    p.shows("id=\"saved-notice\"")
        .shows("value=\"Europe/Paris\"")
        .shows("id=\"monday-1-close\" name=\"monday-1-close\" type=\"time\" value=\"00:00\"");
}

#[tokio::test]
async fn refused_values_show_the_apis_message_next_to_their_field_and_change_nothing() {
    let app = app().start().await;
    let id = tenant_id(
        &app,
        json!({"name": "Bella", "timeZone": "America/New_York"}),
    )
    .await;
    let before = shown(&app, &id).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/hours");

    // A time the API cannot read: its message, next to the input the API's field path names.
    let mut form = hours_form(&[]);
    form[2] = ("monday-1-open", "25:00");
    let p = b.post(&path, &form).await;
    assert_eq!(p.status, 400, "{}", p.html);
    let (api_message, api_field) = api_refusal(
        &app,
        &id,
        json!({"businessHours": {"monday": [{"open": "09:00", "close": "12:00"}, {"open": "25:00", "close": "24:00"}]}}),
    )
    .await;
    assert_eq!(api_field, "businessHours.monday[1].open");
    assert_eq!(field_error(&p, "monday-1-open"), api_message);
    // The form comes back as sent.
    p.shows("id=\"sunday-0-close\" name=\"sunday-0-close\" type=\"time\" value=\"14:00\"");

    // A blank first row does not shift the field path off the row the API names.
    let p = b
        .post(
            &path,
            &[
                ("friday-0-open", ""),
                ("friday-0-close", ""),
                ("friday-1-open", "10:00"),
                ("friday-1-close", "10:00"),
                ("time-zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    p.shows("id=\"friday-0-error\">businessHours.friday[0]: open and close must differ")
        .shows("id=\"friday-0-open\" name=\"friday-0-open\" type=\"time\" value=\"10:00\" aria-invalid=\"true\" aria-describedby=\"friday-0-error\"");

    let p = b.post(&path, &[("time-zone", "Mars/Olympus_Mons")]).await;
    assert_eq!(p.status, 400);
    assert!(
        field_error(&p, "time-zone").contains("unknown time zone \"Mars/Olympus_Mons\""),
        "{}",
        p.html
    );
    let p = b
        .post(&path, &[("holidays", "2026-02-30"), ("time-zone", "UTC")])
        .await;
    assert_eq!(p.status, 400);
    assert!(!field_error(&p, "holidays").is_empty());

    let p = b
        .post(
            &path,
            &[
                ("monday-0-open", "9"),
                ("monday-0-close", "17:00"),
                ("time-zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(field_error(&p, "monday-0-open").contains("HH:MM"));

    // None of it changed anything.
    assert_eq!(shown(&app, &id).await, before);
}

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let before = shown(&app, &id).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/hours");
    let p = b.post_raw(&path, &hours_form(&[])).await;
    assert_eq!(p.status, 403);
    let mut forged = hours_form(&[]);
    forged.push(("csrf", "forged"));
    assert_eq!(b.post_raw(&path, &forged).await.status, 403);
    assert_eq!(shown(&app, &id).await, before);
    // Another tenant's hours: 404, even with this session's token.
    let other = tenant_id(&app, json!({"name": "Other"})).await;
    let p = b
        .post(
            &format!("/console/t/{other}/settings/hours"),
            &hours_form(&[]),
        )
        .await;
    assert_eq!(p.status, 404);
    assert_eq!(shown(&app, &other).await["timeZone"], before["timeZone"]);
}

#[tokio::test]
async fn the_next_simulated_call_follows_the_saved_hours() {
    let app = app().start().await;
    let id = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    let script = script();
    let sim = simulator(&app);
    let t = sim.run_call(&script).await;
    assert!(!t.said().join(" ").contains("closed right now"), "{t}");

    // Monday closed from now on: the routing cache must not keep the old hours.
    let mut b = business(&app, &id).await;
    let p = b
        .post(
            &format!("/console/t/{id}/settings/hours"),
            &[
                ("monday-0-open", "09:00"),
                ("monday-0-close", "17:00"),
                ("monday-closed", "on"),
                ("tuesday-0-open", "09:00"),
                ("tuesday-0-close", "17:00"),
                ("time-zone", "America/New_York"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.html);
    let t = sim.run_call(&script).await;
    assert!(t.said().join(" ").contains("closed right now"), "{t}");
    let call = db::calls::get_by_sid(
        &app.state.db,
        &CallSid::stored(t.call_sid.as_deref().unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(call.after_hours && call.voicemail);

    // Open again at 09:00-17:00 on Monday: the next call is forwarded again.
    let p = b
        .post(
            &format!("/console/t/{id}/settings/hours"),
            &[
                ("monday-0-open", "09:00"),
                ("monday-0-close", "17:00"),
                ("time-zone", "America/New_York"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let t = sim.run_call(&script).await;
    assert!(!t.said().join(" ").contains("closed right now"), "{t}");
}

/// A caller who waits for staff (answered) or leaves a message.
pub fn script() -> CallScript {
    CallScript::new("+14155550142", NUMBER)
        .dial_outcome("*", DialOutcome::Answered { duration_secs: 5 })
        .record(5, None)
}
