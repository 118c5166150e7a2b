//! Settings › Phone number, against the built-in sandbox: the provisioning view, search with the
//! API's validation, buying (the purchase use case), and releasing after a confirmation.

use serde_json::json;

use crate::console_settings::{business, field_error, shown, tenant_id};
use crate::numbers::{live_without_auto_provisioning, provisioning};
use crate::support::{TestApp, app};

fn owned(app: &TestApp) -> Vec<String> {
    app.state
        .twilio
        .sandbox
        .as_ref()
        .expect("sandbox mode")
        .numbers()
        .into_iter()
        .map(|n| n.phone_number)
        .collect()
}

/// The numbers a results page offers, in order.
fn offered(html: &str) -> Vec<String> {
    html.split("name=\"phone-number\" value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

#[tokio::test]
async fn search_buy_and_release_in_the_sandbox() {
    let app = app().start().await;
    let id = tenant_id(
        &app,
        json!({"name": "VA Agency", "timeZone": "America/Denver"}),
    )
    .await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/number");

    let p = b.get(&path).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"current-number\">No number yet")
        .shows("id=\"provisioning-state\">Not started")
        .shows("id=\"number-search-form\"")
        .hides("id=\"number-results\"");

    // The API's query validation, next to the field it names.
    let p = b
        .get(&format!("{path}?country=US&area-code=41&contains="))
        .await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert_eq!(
        field_error(&p, "area-code"),
        "areaCode: must be a 3-digit area code such as 415 (first digit 2-9)"
    );
    let p = b
        .get(&format!("{path}?country=USA&area-code=&contains="))
        .await;
    assert_eq!(p.status, 400);
    assert!(field_error(&p, "country").contains("two-letter"));

    let p = b
        .get(&format!("{path}?country=US&area-code=415&contains="))
        .await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("id=\"number-results\"");
    let offers = offered(&p.html);
    assert!(!offers.is_empty());
    assert!(offers.iter().all(|n| n.starts_with("+1415")), "{offers:?}");

    // A tenant without a live subscription cannot buy: the use case's 402, and nothing bought.
    let p = b
        .post(
            &format!("{path}/buy"),
            &[("phone-number", offers[0].as_str())],
        )
        .await;
    assert_eq!(p.status, 402, "{}", p.html);
    p.shows("id=\"form-error\"").shows("ACTIVE or TRIALING");
    assert!(owned(&app).is_empty());

    live_without_auto_provisioning(&app, &id).await;
    // Twilio refuses a number that is not for sale: its message and code next to the number.
    let p = b
        .post(&format!("{path}/buy"), &[("phone-number", "+15005550000")])
        .await;
    assert_eq!(p.status, 400, "{}", p.html);
    assert!(
        field_error(&p, "phone-number").contains("21422"),
        "{}",
        p.html
    );
    let p = b
        .post(&format!("{path}/buy"), &[("phone-number", "call me")])
        .await;
    assert_eq!(p.status, 400);
    assert!(!field_error(&p, "phone-number").is_empty());
    // Without the CSRF token: 403, nothing bought.
    let p = b
        .post_raw(
            &format!("{path}/buy"),
            &[("phone-number", offers[0].as_str())],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(owned(&app).is_empty());
    assert!(shown(&app, &id).await["phoneNumber"].is_null());

    let p = b
        .post(
            &format!("{path}/buy"),
            &[("phone-number", offers[0].as_str())],
        )
        .await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some(format!("{path}?bought=1").as_str())),
        "{}",
        p.html
    );
    assert_eq!(shown(&app, &id).await["phoneNumber"], offers[0].as_str());
    assert_eq!(provisioning(&app, &id).await["state"], "active");
    assert_eq!(owned(&app), vec![offers[0].clone()]);
    let p = b.get(&format!("{path}?bought=1")).await;
    p.shows(&format!("id=\"current-number\">{}", offers[0]))
        .shows("id=\"provisioning-state\">Active")
        .shows("id=\"saved-notice\"")
        .shows("id=\"number-release\"")
        .hides("id=\"number-search-form\"");
    // A second purchase is refused by the use case.
    let p = b
        .post(&format!("{path}/buy"), &[("phone-number", "+14155550177")])
        .await;
    assert_eq!(p.status, 400);
    p.shows("Phone number already provisioned for this tenant");

    // Releasing asks first; without the token nothing happens.
    let p = b.get(&format!("{path}/release")).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"number-release-form\"")
        .shows(&format!("Release {}?", offers[0]));
    assert_eq!(
        b.post_raw(&format!("{path}/release"), &[]).await.status,
        403
    );
    assert_eq!(owned(&app).len(), 1);
    let p = b.post(&format!("{path}/release"), &[]).await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some(format!("{path}?released=1").as_str()))
    );
    assert!(owned(&app).is_empty());
    assert!(shown(&app, &id).await["phoneNumber"].is_null());
    assert_eq!(provisioning(&app, &id).await["state"], "released");
    b.get(&format!("{path}?released=1"))
        .await
        .shows("id=\"provisioning-state\">Released")
        .shows("id=\"number-search-form\"");
    // Nothing left to release.
    assert_eq!(b.get(&format!("{path}/release")).await.status, 400);
    assert_eq!(b.post(&format!("{path}/release"), &[]).await.status, 400);
}

#[tokio::test]
async fn another_tenants_number_pages_answer_404() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Mine"})).await;
    let other = tenant_id(
        &app,
        json!({"name": "Theirs", "phoneNumber": "+15005550006"}),
    )
    .await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{other}/settings/number");
    assert_eq!(b.get(&path).await.status, 404);
    assert_eq!(b.get(&format!("{path}/release")).await.status, 404);
    assert_eq!(b.post(&format!("{path}/release"), &[]).await.status, 404);
    assert_eq!(
        b.post(&format!("{path}/buy"), &[("phone-number", "+14155550100")])
            .await
            .status,
        404
    );
    assert_eq!(shown(&app, &other).await["phoneNumber"], "+15005550006");
}
