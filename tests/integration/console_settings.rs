//! The console's settings pages (issue 15, item 6): what every sub-page's tests share (signing in
//! on a settings page, reading a field's error, the tenant as the admin API shows it), and the
//! section's own routes. The sub-pages' tests are in `console_settings_*.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console_client::{Browser, Page, csrf_of, link_for};
use crate::support::{ADMIN_TOKEN, TestApp, app};

/// A business's browser, signed in through a link and holding the CSRF token of its settings.
pub async fn business(app: &TestApp, tenant_id: &str) -> Browser {
    let url = link_for(app, tenant_id).await;
    let mut b = Browser::new(app);
    let path = url.strip_prefix(&app.base).expect("link on this server");
    let p = b.post_raw(path, &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    learn_csrf(&mut b, tenant_id).await;
    b
}

/// The operator's browser, holding the CSRF token as shown on `tenant_id`'s settings.
pub async fn operator(app: &TestApp, tenant_id: &str) -> Browser {
    let mut b = Browser::new(app);
    let p = b
        .post_raw("/console/login", &[("token", ADMIN_TOKEN)])
        .await;
    assert_eq!(p.status, 303, "{}", p.html);
    learn_csrf(&mut b, tenant_id).await;
    b
}

async fn learn_csrf(b: &mut Browser, tenant_id: &str) {
    let p = b
        .get(&format!("/console/t/{tenant_id}/settings/hours"))
        .await;
    assert_eq!(p.status, 200, "{}", p.html);
    b.csrf = csrf_of(&p.html);
    assert!(b.csrf.is_some(), "no csrf token:\n{}", p.html);
}

/// Creates a tenant and returns its id.
pub async fn tenant_id(app: &TestApp, body: Value) -> String {
    app.create_tenant(body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The tenant as the admin API shows it.
pub async fn shown(app: &TestApp, id: &str) -> Value {
    let r = app
        .admin(Method::GET, &format!("/api/admin/tenants/{id}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"].clone()
}

/// `s` as askama escapes it in HTML.
pub fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The error shown next to control `id` (its `{id}-error` paragraph, unescaped), after checking
/// that the control is marked invalid and points at it.
#[track_caller]
pub fn field_error(p: &Page, id: &str) -> String {
    let open = format!("id=\"{id}\" name=");
    let at = p
        .html
        .find(&open)
        .unwrap_or_else(|| panic!("no control {id}:\n{}", p.html));
    let tag = &p.html[at..at + p.html[at..].find('>').unwrap()];
    assert!(
        tag.contains("aria-invalid=\"true\""),
        "{id} not invalid: {tag}"
    );
    assert!(
        tag.contains(&format!("{id}-error")),
        "{id} does not point at its error: {tag}"
    );
    let marker = format!("id=\"{id}-error\">");
    let start = p
        .html
        .find(&marker)
        .unwrap_or_else(|| panic!("no error next to {id}:\n{}", p.html))
        + marker.len();
    let end = start + p.html[start..].find("</p>").unwrap();
    p.html[start..end]
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The message the admin API answers `PATCH /api/admin/tenants/{id}` with for `body`, and its field.
pub async fn api_refusal(app: &TestApp, id: &str, body: Value) -> (String, String) {
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{id}"),
            Some(body),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    (
        r.json["error"]["message"].as_str().unwrap().to_string(),
        r.field().to_string(),
    )
}

#[tokio::test]
async fn settings_open_on_hours_with_tabs_and_belong_to_their_tenant_only() {
    let app = app().start().await;
    let id = tenant_id(&app, json!({"name": "Bella Salon"})).await;
    let other = tenant_id(&app, json!({"name": "Other Shop"})).await;
    let mut b = business(&app, &id).await;
    let p = b.get(&format!("/console/t/{id}/settings")).await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (
            303,
            Some(format!("/console/t/{id}/settings/hours").as_str())
        )
    );
    let p = b.get(&format!("/console/t/{id}/settings/hours")).await;
    p.shows("id=\"settings-tabs\"")
        .shows(&format!(
            "href=\"/console/t/{id}/settings/hours\" aria-current=\"page\""
        ))
        .hides("id=\"saved-notice\"");
    for tab in ["routing", "staff", "templates", "number", "relay"] {
        p.shows(&format!("href=\"/console/t/{id}/settings/{tab}\""));
        let page = b.get(&format!("/console/t/{id}/settings/{tab}")).await;
        assert_eq!(page.status, 200, "{tab}: {}", page.html);
        page.shows(&format!(
            "href=\"/console/t/{id}/settings/{tab}\" aria-current=\"page\""
        ));
        // No inline script or style: the page must work under the console's CSP.
        assert!(!page.html.contains("style=\""), "{tab}");
        assert!(!page.html.contains("<script>"), "{tab}");
        // Every form that changes something carries the CSRF token.
        assert_eq!(
            page.html.matches("method=\"post\"").count(),
            page.html.matches("name=\"csrf\"").count(),
            "{tab}"
        );
    }
    // Another tenant's settings do not exist for this business.
    for tab in [
        "",
        "/hours",
        "/routing",
        "/staff",
        "/templates",
        "/number",
        "/relay",
    ] {
        let p = b.get(&format!("/console/t/{other}/settings{tab}")).await;
        assert_eq!(p.status, 404, "{tab}");
    }
    // The operator sees any tenant's.
    let mut op = operator(&app, &other).await;
    let p = op.get(&format!("/console/t/{id}/settings/staff")).await;
    assert_eq!(p.status, 200);
}
