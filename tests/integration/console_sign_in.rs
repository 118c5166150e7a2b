//! The console's sign-in (issue 15, item 1): the operator with ADMIN_TOKEN, a business through a
//! single-use, short-lived link; cookies, CSRF, sign-out, expiry and tenant isolation.

use reqwest::Method;
use serde_json::json;

use crate::console_client::{Browser, link_for};
use crate::support::app;

#[tokio::test]
async fn signed_out_pages_send_the_browser_to_sign_in() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "Bella Salon"})).await;
    let mut b = Browser::new(&app);
    let p = b.get("/console").await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/login"))
    );
    let p = b
        .get(&format!("/console/t/{}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/login"))
    );
    let p = b.get("/console/login").await;
    assert_eq!(p.status, 200);
    p.shows("Operator token");
    // Every console answer refuses framing and outside scripts, and is not cached.
    assert_eq!(p.headers["x-frame-options"], "DENY");
    assert!(
        p.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(p.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn the_operator_signs_in_with_the_admin_token_only() {
    let app = app().start().await;
    let mut b = Browser::new(&app);
    let p = b
        .post_raw("/console/login", &[("token", "not-the-token-at-all")])
        .await;
    assert_eq!(p.status, 401);
    p.shows("that is not the operator token");
    assert!(b.cookie.is_none());

    let p = b
        .post_raw("/console/login", &[("token", crate::support::ADMIN_TOKEN)])
        .await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/operator/tenants"))
    );
    let cookie = p.set_cookie.unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/console", "Max-Age=43200"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    // APP_URL is http here, so the cookie must not be Secure (the browser would drop it).
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn a_https_app_url_makes_the_cookie_secure() {
    let app = app()
        .config(|c| c.app_url = Some("https://switchboard.example".into()))
        .start()
        .await;
    let mut b = Browser::new(&app);
    let p = b
        .post_raw("/console/login", &[("token", crate::support::ADMIN_TOKEN)])
        .await;
    assert!(p.set_cookie.unwrap().contains("; Secure"));
}

#[tokio::test]
async fn operator_sign_in_is_off_without_an_admin_token() {
    let app = app().config(|c| c.admin_token = None).start().await;
    let mut b = Browser::new(&app);
    let p = b
        .post_raw("/console/login", &[("token", "anything-at-all-123")])
        .await;
    assert_eq!(p.status, 403);
    p.shows("operator sign-in is disabled");
}

#[tokio::test]
async fn a_link_signs_its_business_in_once_and_only_into_its_own_pages() {
    let app = app().start().await;
    let bella = app.create_tenant(json!({"name": "Bella Salon"})).await;
    let other = app.create_tenant(json!({"name": "Other Shop"})).await;
    let (bella_id, other_id) = (bella["id"].as_str().unwrap(), other["id"].as_str().unwrap());

    let url = link_for(&app, bella_id).await;
    assert!(
        url.starts_with(&format!("{}/console/link/", app.base)),
        "{url}"
    );
    let path = url.strip_prefix(&app.base).unwrap().to_string();

    // Opening the link only shows a button: a link preview does not use it up.
    let mut b = Browser::new(&app);
    b.get(&path).await.shows("Continue");
    let p = b.post_raw(&path, &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/console/t/{bella_id}").as_str())
    );
    assert!(b.cookie.is_some());

    // Single use: a second browser with the same link gets nowhere.
    let mut thief = Browser::new(&app);
    let p = thief.post_raw(&path, &[]).await;
    assert_eq!(p.status, 401);
    p.shows("expired or has been used already");
    assert!(thief.cookie.is_none());

    // Its own pages open; another tenant's and the operator's do not exist for it.
    let p = b.get("/console").await;
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/console/t/{bella_id}").as_str())
    );
    assert_eq!(b.get(&format!("/console/t/{other_id}")).await.status, 404);
    assert_eq!(
        b.get(&format!("/console/t/{other_id}/calls")).await.status,
        404
    );
    assert_eq!(b.get("/console/operator/tenants").await.status, 404);
}

#[tokio::test]
async fn a_link_expires() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "Bella Salon"})).await;
    let url = link_for(&app, t["id"].as_str().unwrap()).await;
    let path = url.strip_prefix(&app.base).unwrap().to_string();
    // The default lifetime is 15 minutes.
    app.clock.advance_ms((15 * 60 + 1) * 1000);
    let mut b = Browser::new(&app);
    assert_eq!(b.post_raw(&path, &[]).await.status, 401);
}

#[tokio::test]
async fn a_link_for_no_tenant_is_a_404_and_needs_the_admin_token() {
    let app = app().start().await;
    let r = app
        .admin(Method::POST, "/api/admin/tenants/nope/console-link", None)
        .await;
    assert_eq!(r.status, 404);
    let t = app.create_tenant(json!({"name": "Bella Salon"})).await;
    let path = format!(
        "/api/admin/tenants/{}/console-link",
        t["id"].as_str().unwrap()
    );
    let r = app
        .send(Method::POST, &path, Some("wrong-token"), None, &[])
        .await;
    assert_eq!(r.status, 401);
    let r = app.admin(Method::POST, &path, None).await;
    assert_eq!(r.status, 201);
    assert!(r.json["data"]["expiresAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn sessions_expire() {
    let app = app().start().await;
    let mut b = Browser::operator(&app).await;
    assert_eq!(
        b.get("/console").await.location.as_deref(),
        Some("/console/operator/tenants")
    );
    app.clock.advance_ms((12 * 3600 + 1) * 1000);
    assert_eq!(
        b.get("/console").await.location.as_deref(),
        Some("/console/login")
    );
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_and_ends_the_session() {
    let app = app().start().await;
    let mut b = Browser::operator(&app).await;
    let cookie = b.cookie.clone();

    // A forged form (no token, or another session's) is refused and changes nothing.
    let p = b.post_raw("/console/logout", &[]).await;
    assert_eq!(p.status, 403);
    p.shows("did not come from this console");
    let p = b.post_raw("/console/logout", &[("csrf", "forged")]).await;
    assert_eq!(p.status, 403);
    // A cross-site POST is refused even with the right token.
    let csrf = b.csrf.clone().unwrap();
    let p = b
        .request(
            Method::POST,
            "/console/logout",
            Some(&[("csrf", csrf.as_str())]),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(
        b.get("/console").await.location.as_deref(),
        Some("/console/operator/tenants")
    );

    let p = b.post("/console/logout", &[]).await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/login"))
    );
    assert!(p.set_cookie.unwrap().contains("Max-Age=0"));
    // The old cookie no longer opens anything, even if a browser kept it.
    b.cookie = cookie;
    assert_eq!(
        b.get("/console").await.location.as_deref(),
        Some("/console/login")
    );
}

#[tokio::test]
async fn the_assets_are_served_from_the_binary() {
    let app = app().start().await;
    let mut b = Browser::new(&app);
    let p = b.get("/console/assets/htmx.min.js").await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("htmx"), "not htmx");
    assert!(
        p.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let p = b.get("/console/assets/console.css").await;
    assert_eq!(p.status, 200);
    assert!(
        p.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn the_cli_prints_a_link_that_signs_the_business_in() {
    let app = app().start().await;
    let t = app
        .create_tenant(json!({"name": "Bella Salon", "slug": "bella"}))
        .await;
    let o = crate::cli::switchboard(
        &app.db_url,
        &["console-link", "--tenant", "bella"],
        &[("APP_URL", app.base.as_str())],
    );
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    let url = crate::cli::stdout(&o).trim().to_string();
    assert!(crate::cli::stderr(&o).contains("single-use"));
    let path = url
        .strip_prefix(&app.base)
        .expect("link on APP_URL")
        .to_string();
    let mut b = Browser::new(&app);
    let p = b.post_raw(&path, &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/console/t/{}", t["id"].as_str().unwrap()).as_str())
    );
    // An unknown tenant is one line on stderr and a failure exit.
    let o = crate::cli::switchboard(&app.db_url, &["console-link", "--tenant", "nope"], &[]);
    assert!(!o.status.success());
}
