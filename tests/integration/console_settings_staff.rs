//! Settings › Staff: list, add, change, on/off duty and remove, through the staff use cases, with
//! the API's messages next to the fields, and another tenant's staff ids answering 404.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console_settings::{business, field_error, operator, tenant_id};
use crate::support::{TestApp, app};

async fn staff(app: &TestApp, id: &str) -> Vec<Value> {
    let r = app
        .admin(Method::GET, &format!("/api/admin/tenants/{id}/staff"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"]["staff"].as_array().unwrap().clone()
}

async fn add_by_api(app: &TestApp, id: &str, body: Value) -> String {
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id}/staff"),
            Some(body),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["data"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_list_shows_staff_in_dialling_order_and_adding_one_is_what_the_api_shows() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/staff");
    let p = b.get(&path).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"staff-empty\"").hides("id=\"staff-table\"");

    add_by_api(
        &app,
        &id,
        json!({"name": "Bob", "phone": "+14155550102", "priority": 5}),
    )
    .await;
    let p = b
        .post(
            &path,
            &[
                ("staff-name", "Ann Lee"),
                ("staff-phone", "+14155550101"),
                ("staff-email", "ann@example.com"),
                ("staff-role", "owner"),
                ("staff-priority", "1"),
                ("staff-on-duty", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("{path}?saved=1").as_str())
    );
    let list = staff(&app, &id).await;
    assert_eq!(list.len(), 2);
    let ann = &list[0];
    assert_eq!(ann["name"], "Ann Lee");
    assert_eq!(ann["phone"], "+14155550101");
    assert_eq!(ann["email"], "ann@example.com");
    assert_eq!(ann["role"], "owner");
    assert_eq!(ann["priority"], 1);
    assert_eq!(ann["onDuty"], true);
    let p = b.get(&format!("{path}?saved=1")).await;
    p.shows("id=\"staff-table\"").shows("id=\"saved-notice\"");
    let (a, bob) = (p.html.find("Ann Lee").unwrap(), p.html.find("Bob").unwrap());
    assert!(a < bob, "Ann (priority 1) rings before Bob (5)");
    p.shows("<span class=\"pill pill-ok\">On duty</span>");

    // A staff member added off duty, with the defaults for what was left blank.
    let p = b
        .post(
            &path,
            &[
                ("staff-name", "Cy"),
                ("staff-phone", "+14155550103"),
                ("staff-email", ""),
                ("staff-role", ""),
                ("staff-priority", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let cy = staff(&app, &id)
        .await
        .into_iter()
        .find(|s| s["name"] == "Cy")
        .unwrap();
    assert_eq!(
        (
            cy["role"].clone(),
            cy["priority"].clone(),
            cy["onDuty"].clone()
        ),
        (json!("staff"), json!(0), json!(false))
    );
}

#[tokio::test]
async fn refused_staff_forms_show_the_apis_message_and_change_nothing() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let ann = add_by_api(&app, &id, json!({"name": "Ann", "phone": "+14155550101"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/staff");

    let p = b
        .post(
            &path,
            &[
                ("staff-name", "Zed"),
                ("staff-phone", "not a phone"),
                ("staff-on-duty", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.html);
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id}/staff"),
            Some(json!({"name": "Zed", "phone": "not a phone", "onDuty": true})),
        )
        .await;
    assert_eq!((r.status, r.field()), (400, "phone"));
    assert_eq!(field_error(&p, "staff-phone"), r.json["error"]["message"]);
    p.shows("value=\"Zed\"");
    let p = b
        .post(
            &path,
            &[
                ("staff-name", "Zed"),
                ("staff-phone", "+14155550109"),
                ("staff-priority", "5000"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert_eq!(
        field_error(&p, "staff-priority"),
        "priority: must be between 0 and 1000"
    );
    let p = b
        .post(
            &path,
            &[("staff-name", "  "), ("staff-phone", "+14155550109")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert_eq!(field_error(&p, "staff-name"), "name: must not be empty");
    assert_eq!(staff(&app, &id).await.len(), 1);

    // The change form.
    let edit = format!("{path}/{ann}");
    let p = b.get(&edit).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"staff-edit-form\"")
        .shows("value=\"+14155550101\"");
    let p = b
        .post(
            &edit,
            &[
                ("staff-name", "Ann"),
                ("staff-phone", "+14155550101"),
                ("staff-email", "ann@nowhere"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert_eq!(
        field_error(&p, "staff-email"),
        "email: must be an e-mail address like name@example.com"
    );
    let before = staff(&app, &id).await;
    assert_eq!(before[0]["email"], Value::Null);
    // Without the CSRF token: 403, nothing changed.
    let p = b
        .post_raw(
            &edit,
            &[("staff-name", "Eve"), ("staff-phone", "+14155550101")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = b
        .post_raw(
            &path,
            &[("staff-name", "Eve"), ("staff-phone", "+14155550108")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(
        b.post_raw(&format!("{edit}/duty"), &[("on-duty", "false")])
            .await
            .status,
        403
    );
    assert_eq!(b.post_raw(&format!("{edit}/delete"), &[]).await.status, 403);
    assert_eq!(staff(&app, &id).await, before);
}

#[tokio::test]
async fn changing_taking_off_duty_and_removing_go_through_the_use_cases() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let ann = add_by_api(&app, &id, json!({"name": "Ann", "phone": "+14155550101"})).await;
    let mut b = business(&app, &id).await;
    let path = format!("/console/t/{id}/settings/staff");
    let p = b
        .post(
            &format!("{path}/{ann}"),
            &[
                ("staff-name", "Ann Lee"),
                ("staff-phone", "+14155550111"),
                ("staff-email", "ann@example.com"),
                ("staff-role", "stylist"),
                ("staff-priority", "7"),
                ("staff-on-duty", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.html);
    let s = &staff(&app, &id).await[0];
    assert_eq!(
        (
            s["name"].clone(),
            s["phone"].clone(),
            s["email"].clone(),
            s["role"].clone(),
            s["priority"].clone()
        ),
        (
            json!("Ann Lee"),
            json!("+14155550111"),
            json!("ann@example.com"),
            json!("stylist"),
            json!(7)
        )
    );

    let p = b.get(&path).await;
    p.shows(&format!("id=\"staff-{ann}-duty\">Take Ann Lee off duty"));
    let p = b
        .post(&format!("{path}/{ann}/duty"), &[("on-duty", "false")])
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(staff(&app, &id).await[0]["onDuty"], false);
    b.get(&path)
        .await
        .shows("<span class=\"pill\">Off duty</span>")
        .shows(&format!("id=\"staff-{ann}-duty\">Put Ann Lee on duty"));
    let p = b
        .post(&format!("{path}/{ann}/duty"), &[("on-duty", "true")])
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(staff(&app, &id).await[0]["onDuty"], true);

    // Removing asks first; the confirmation page works without JavaScript.
    let p = b.get(&format!("{path}/{ann}/delete")).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"staff-delete-form\"").shows("Remove Ann Lee?");
    assert_eq!(staff(&app, &id).await.len(), 1);
    let p = b.post(&format!("{path}/{ann}/delete"), &[]).await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some(format!("{path}?removed=1").as_str()))
    );
    assert!(staff(&app, &id).await.is_empty());
    b.get(&format!("{path}?removed=1")).await.shows("Removed.");
}

#[tokio::test]
async fn another_tenants_staff_ids_answer_404() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella"})).await;
    let other = tenant_id(&app, json!({"name": "Other"})).await;
    let theirs = add_by_api(
        &app,
        &other,
        json!({"name": "Olga", "phone": "+14155550120"}),
    )
    .await;
    for mut b in [business(&app, &id).await, operator(&app, &id).await] {
        let path = format!("/console/t/{id}/settings/staff/{theirs}");
        assert_eq!(b.get(&path).await.status, 404);
        assert_eq!(b.get(&format!("{path}/delete")).await.status, 404);
        let p = b
            .post(
                &path,
                &[("staff-name", "Mine now"), ("staff-phone", "+14155550120")],
            )
            .await;
        assert_eq!(p.status, 404);
        assert_eq!(
            b.post(&format!("{path}/duty"), &[("on-duty", "false")])
                .await
                .status,
            404
        );
        assert_eq!(b.post(&format!("{path}/delete"), &[]).await.status, 404);
        assert_eq!(
            b.get(&format!("/console/t/{id}/settings/staff/no-such-id"))
                .await
                .status,
            404
        );
    }
    let olga = &staff(&app, &other).await[0];
    assert_eq!(
        (olga["name"].clone(), olga["onDuty"].clone()),
        (json!("Olga"), json!(true))
    );
}
