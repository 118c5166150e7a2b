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
