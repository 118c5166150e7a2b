//! The console's operator pages (issue 15, item 7): every tenant with its health (failed
//! provisioning, dead jobs, failing relay endpoints), the sign-in link and provisioning retry for a
//! tenant, the jobs by status with a job's page, and the retries of dead jobs, one or a whole kind;
//! all refused to a business's session (404) and to forms without the CSRF token (403).

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::AppState;
use switchboard::jobs::worker::run_pending_jobs;
use switchboard::jobs::{Job, JobError, JobHandler, NewJob};

use crate::console_client::{Browser, Page, link_for};
use crate::support::{TestApp, app};

/// Fails every run for good: its jobs go dead at once.
struct Boom(&'static str);

#[async_trait::async_trait]
impl JobHandler<AppState> for Boom {
    fn kind(&self) -> &'static str {
        self.0
    }
    async fn run(&self, _: &AppState, _: &Job) -> Result<(), JobError> {
        Err(JobError::permanent("the receiver refused it"))
    }
}

/// Succeeds every run.
struct Fine;

#[async_trait::async_trait]
impl JobHandler<AppState> for Fine {
    fn kind(&self) -> &'static str {
        "test.fine"
    }
    async fn run(&self, _: &AppState, _: &Job) -> Result<(), JobError> {
        Ok(())
    }
}

async fn start() -> TestApp {
    app()
        .handler(Arc::new(Boom("test.boom")))
        .handler(Arc::new(Boom("test.other")))
        .handler(Arc::new(Fine))
        .start()
        .await
}

async fn tenant(app: &TestApp, body: Value) -> String {
    app.create_tenant(body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Enqueues a job of `kind` for `tenant` and returns its id.
async fn enqueue(app: &TestApp, kind: &str, tenant: Option<&str>, payload: Value) -> String {
    let mut job = NewJob::new(kind, payload);
    if let Some(t) = tenant {
        job = job.tenant(t);
    }
    app.state.enqueue_now(job).await.unwrap().unwrap()
}

/// A job as the admin API shows it.
async fn api_job(app: &TestApp, id: &str) -> Value {
    let r = app
        .admin(Method::GET, &format!("/api/admin/jobs/{id}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"].clone()
}

/// A tenant's provisioning as the admin API shows it.
async fn api_provisioning(app: &TestApp, id: &str) -> Value {
    let r = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{id}/provisioning"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"].clone()
}

/// A tenant whose provisioning failed: it asks for a number Twilio will not sell.
async fn failed_provisioning(app: &TestApp, name: &str) -> String {
    let id = tenant(app, json!({ "name": name })).await;
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/tenants/{id}/provisioning"),
            Some(json!({"phoneNumber": "+15005550000"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .admin(
            Method::PUT,
            &format!("/api/admin/tenants/{id}/subscription"),
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(api_provisioning(app, &id).await["state"], "failed");
    id
}

/// The table row `<tr id="{prefix}{id}">…</tr>` of a page.
fn row<'a>(p: &'a Page, prefix: &str, id: &str) -> &'a str {
    let start = p
        .html
        .find(&format!("<tr id=\"{prefix}{id}\">"))
        .unwrap_or_else(|| panic!("no row {prefix}{id}:\n{}", p.html));
    let rest = &p.html[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

/// The text of the element with `id` up to its closing tag (for one-line values).
fn text_of<'a>(p: &'a Page, id: &str) -> &'a str {
    let at = p
        .html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}:\n{}", p.html));
    let rest = &p.html[at..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    &rest[..rest.find('<').unwrap()]
}

#[tokio::test]
async fn the_start_page_lists_every_tenant_with_its_health() {
    let app = start().await;
    let alpha = tenant(
        &app,
        json!({"name": "Alpha Bakery", "phoneNumber": "+14155550111", "timeZone": "America/Chicago"}),
    )
    .await;
    let bella = tenant(&app, json!({"name": "Bella Salon"})).await;
    let corner = failed_provisioning(&app, "Corner Shop").await;
    let delta = tenant(&app, json!({"name": "Delta Dental"})).await;
    // Bella: a dead job.
    enqueue(&app, "test.boom", Some(&bella), json!({"thing": 1})).await;
    run_pending_jobs(&app.state).await.unwrap();
    // Delta: a relay endpoint an operator disabled.
    let r = app
        .admin(
            Method::POST,
            "/api/admin/relay-endpoints",
            Some(json!({"url": "https://hooks.example.com/delta", "tenantId": delta})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let endpoint = r.json["data"]["id"].as_str().unwrap().to_string();
    let r = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/relay-endpoints/{endpoint}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let mut b = Browser::operator(&app).await;
    let p = b.get("/console/operator/tenants").await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("id=\"tenants-table\"");
    assert_eq!(text_of(&p, "summary-tenants"), "4");
    assert_eq!(text_of(&p, "summary-unhealthy"), "3");
    assert_eq!(text_of(&p, "summary-dead-jobs"), "1");

    let a = row(&p, "tenant-", &alpha);
    for needle in [
        "Alpha Bakery",
        "+14155550111",
        "America/Chicago",
        "Healthy",
        &format!("href=\"/console/t/{alpha}\""),
        "Open console",
    ] {
        assert!(a.contains(needle), "{needle} not in {a}");
    }
    let b_row = row(&p, "tenant-", &bella);
    assert!(
        b_row.contains("Unhealthy") && b_row.contains("1 dead job"),
        "{b_row}"
    );
    assert!(
        b_row.contains(&format!(
            "/console/operator/jobs?status=dead&#38;tenant={bella}"
        )),
        "{b_row}"
    );
    let c = row(&p, "tenant-", &corner);
    assert!(
        c.contains("Provisioning failed") && c.contains("Twilio error 21422"),
        "{c}"
    );
    assert!(c.contains("Failed") && c.contains("active"), "{c}");
    let d = row(&p, "tenant-", &delta);
    assert!(d.contains("1 failing relay endpoint"), "{d}");
    // Sorted by name.
    let at = |id: &str| p.html.find(&format!("tenant-{id}\"")).unwrap();
    assert!(at(&alpha) < at(&bella) && at(&bella) < at(&corner) && at(&corner) < at(&delta));

    // Only the unhealthy ones.
    let p = b.get("/console/operator/tenants?unhealthy=1").await;
    p.hides(&format!("tenant-{alpha}\""))
        .shows(&format!("tenant-{bella}\""))
        .shows(&format!("tenant-{corner}\""))
        .shows(&format!("tenant-{delta}\""));
    // Search by name (any case), slug and number.
    let p = b.get("/console/operator/tenants?q=BELLA").await;
    p.shows(&format!("tenant-{bella}\""))
        .hides(&format!("tenant-{alpha}\""));
    let p = b.get("/console/operator/tenants?q=5550111").await;
    p.shows(&format!("tenant-{alpha}\""))
        .hides(&format!("tenant-{bella}\""));
    let p = b.get("/console/operator/tenants?q=corner-shop").await;
    p.shows(&format!("tenant-{corner}\""))
        .hides(&format!("tenant-{delta}\""));
    let p = b.get("/console/operator/tenants?q=nobody+here").await;
    p.shows("No tenant matches these filters.");
    let long = "x".repeat(101);
    let p = b.get(&format!("/console/operator/tenants?q={long}")).await;
    assert_eq!(p.status, 400);
    p.shows("must be at most 100 characters")
        .shows("aria-invalid=\"true\"");

    // A tenant's page: its health, provisioning and endpoints.
    let p = b.get(&format!("/console/operator/tenants/{delta}")).await;
    assert_eq!(p.status, 200);
    let e = row(&p, "endpoint-", &endpoint);
    assert!(
        e.contains("Disabled") && e.contains("disabled by hand"),
        "{e}"
    );
    let p = b.get(&format!("/console/operator/tenants/{corner}")).await;
    p.shows("id=\"retry-provisioning-form\"")
        .shows("Retry provisioning now");
    let p = b.get(&format!("/console/operator/tenants/{alpha}")).await;
    p.hides("retry-provisioning-form").shows("Healthy");
    assert_eq!(b.get("/console/operator/tenants/nope").await.status, 404);
}

#[tokio::test]
async fn an_endpoint_whose_deliveries_fail_is_failing_for_a_day() {
    // The tenant's receiver is a wiremock server on this machine.
    let app = app().private_destinations().start().await;
    let echo = tenant(&app, json!({"name": "Echo Repairs"})).await;
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let r = app
        .admin(
            Method::POST,
            "/api/admin/relay-endpoints",
            Some(json!({"url": receiver.uri(), "tenantId": echo})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let endpoint = r.json["data"]["id"].as_str().unwrap().to_string();
    let mut b = Browser::operator(&app).await;
    let p = b.get(&format!("/console/operator/tenants/{echo}")).await;
    assert!(row(&p, "endpoint-", &endpoint).contains("Working"));

    let mut tx = app.state.db.begin().await.unwrap();
    switchboard::events::emit(
        &app.state,
        &mut tx,
        Some(&echo),
        "call.missed",
        None,
        json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    run_pending_jobs(&app.state).await.unwrap();

    let p = b.get("/console/operator/tenants?unhealthy=1").await;
    assert!(row(&p, "tenant-", &echo).contains("1 failing relay endpoint"));
    let p = b.get(&format!("/console/operator/tenants/{echo}")).await;
    let e = row(&p, "endpoint-", &endpoint);
    assert!(
        e.contains("Failing") && e.contains("a delivery failed in the last 24 hours"),
        "{e}"
    );

    // A day later, with no new failure, it no longer counts.
    app.clock.advance_ms(25 * 3_600_000);
    let mut b = Browser::operator(&app).await;
    let p = b.get("/console/operator/tenants").await;
    assert!(row(&p, "tenant-", &echo).contains("Healthy"));
    assert_eq!(text_of(&p, "summary-unhealthy"), "0");
}

#[tokio::test]
async fn the_tenant_list_pages_by_name() {
    let app = start().await;
    for i in 0..52 {
        tenant(&app, json!({ "name": format!("Shop {i:02}") })).await;
    }
    let mut b = Browser::operator(&app).await;
    let p = b.get("/console/operator/tenants").await;
    p.shows("Shop 00").shows("Shop 49").hides("Shop 50");
    p.hides("id=\"tenants-first\"");
    let next = text_attr(&p, "tenants-next");
    let p2 = b.get(&next).await;
    assert_eq!(p2.status, 200);
    p2.shows("Shop 50")
        .shows("Shop 51")
        .hides("Shop 49")
        .hides("id=\"tenants-next\"")
        .shows("id=\"tenants-first\"");
}

/// The `href` of the link with `id`, unescaped.
fn text_attr(p: &Page, id: &str) -> String {
    let at = p
        .html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}:\n{}", p.html));
    let before = &p.html[..at];
    let href = &before[before.rfind("href=\"").unwrap() + 6..];
    href[..href.find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Signed in as `tenant_id` through a link, with the session's own CSRF token (read from the
/// store: the tenant pages that carry it are another section's).
async fn business(app: &TestApp, tenant_id: &str) -> Browser {
    let url = link_for(app, tenant_id).await;
    let mut b = Browser::new(app);
    let p = b.post_raw(url.strip_prefix(&app.base).unwrap(), &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let cookie = b.cookie.clone().expect("signed in");
    let token = cookie.strip_prefix("sb_console=").unwrap();
    let session = switchboard::db::console::get_session(
        &app.state.db,
        &switchboard::console::session::digest(token),
        app.clock.now_ms(),
    )
    .await
    .unwrap()
    .expect("a live session");
    assert_eq!(session.tenant_id.as_deref(), Some(tenant_id));
    b.csrf = Some(session.csrf_token);
    b
}

#[tokio::test]
async fn a_business_session_finds_no_operator_page() {
    let app = start().await;
    let bella = tenant(&app, json!({"name": "Bella Salon"})).await;
    let job = enqueue(&app, "test.boom", Some(&bella), json!({})).await;
    run_pending_jobs(&app.state).await.unwrap();

    let mut b = business(&app, &bella).await;
    for path in [
        "/console/operator/tenants".to_string(),
        "/console/operator/tenants?unhealthy=1".to_string(),
        format!("/console/operator/tenants/{bella}"),
        "/console/operator/jobs".to_string(),
        "/console/operator/jobs?status=pending".to_string(),
        format!("/console/operator/jobs/{job}"),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, 404, "{path}: {}", p.html);
        p.hides("Sign-in link").hides(&job);
    }
    for (path, fields) in [
        (
            format!("/console/operator/tenants/{bella}/sign-in-link"),
            vec![],
        ),
        (
            format!("/console/operator/tenants/{bella}/provisioning/retry"),
            vec![],
        ),
        (format!("/console/operator/jobs/{job}/retry"), vec![]),
        (
            "/console/operator/jobs/retry-dead".to_string(),
            vec![("kind", "test.boom")],
        ),
    ] {
        let p = b.post(&path, &fields).await;
        assert_eq!(p.status, 404, "{path}: {}", p.html);
        p.hides("/console/link/");
    }
    // Nothing changed.
    assert_eq!(api_job(&app, &job).await["status"], "dead");
    assert_eq!(api_provisioning(&app, &bella).await["state"], "none");
}

#[tokio::test]
async fn the_sign_in_link_button_issues_a_working_link_once() {
    let app = start().await;
    let bella = tenant(&app, json!({"name": "Bella Salon"})).await;
    let mut op = Browser::operator(&app).await;
    let path = format!("/console/operator/tenants/{bella}/sign-in-link");
    op.get(&format!("/console/operator/tenants/{bella}"))
        .await
        .shows("id=\"sign-in-link-form\"")
        .hides("id=\"sign-in-link\"");

    // Without the CSRF token: refused, and no link.
    let p = op.post_raw(&path, &[]).await;
    assert_eq!(p.status, 403);
    p.hides("/console/link/");

    let p = op.post(&path, &[]).await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("id=\"sign-in-link\"").shows("UTC");
    let url = value_of(&p, "sign-in-link");
    assert!(
        url.starts_with(&format!("{}/console/link/", app.base)),
        "{url}"
    );
    // A second browser (the business) signs in with it, into its own console.
    let mut business = Browser::new(&app);
    let link_path = url.strip_prefix(&app.base).unwrap().to_string();
    let p = business.post_raw(&link_path, &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/console/t/{bella}").as_str())
    );
    assert!(business.cookie.is_some());
    // Once only.
    let mut again = Browser::new(&app);
    assert_eq!(again.post_raw(&link_path, &[]).await.status, 401);

    // htmx asks for the slot alone.
    let csrf = op.csrf.clone().unwrap();
    let p = op
        .request(
            Method::POST,
            &path,
            Some(&[]),
            &[("hx-request", "true"), ("x-csrf-token", csrf.as_str())],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("id=\"sign-in-link-slot\"")
        .shows("/console/link/")
        .hides("<html");
    assert_ne!(value_of(&p, "sign-in-link"), url, "a fresh link each time");

    assert_eq!(
        op.post("/console/operator/tenants/nope/sign-in-link", &[])
            .await
            .status,
        404
    );
}

/// The `value` of the input with `id`.
fn value_of(p: &Page, id: &str) -> String {
    let at = p
        .html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}:\n{}", p.html));
    let rest = &p.html[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn provisioning_is_retried_from_the_tenant_page_as_the_api_does() {
    let app = start().await;
    let corner = failed_provisioning(&app, "Corner Shop").await;
    let before = api_provisioning(&app, &corner).await;
    assert_eq!(before["attempts"], 1);
    let mut b = Browser::operator(&app).await;
    let path = format!("/console/operator/tenants/{corner}/provisioning/retry");
    let p = b.get(&format!("/console/operator/tenants/{corner}")).await;
    p.shows("Twilio error").shows("21422");

    let p = b.post_raw(&path, &[]).await;
    assert_eq!(p.status, 403);
    assert_eq!(api_provisioning(&app, &corner).await["state"], "failed");

    let p = b.post(&path, &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let to = p.location.unwrap();
    assert_eq!(
        to,
        format!("/console/operator/tenants/{corner}?done=provisioning")
    );
    b.get(&to)
        .await
        .shows("Provisioning started again with fresh attempts.");
    let after = api_provisioning(&app, &corner).await;
    assert_eq!(after["state"], "provisioning");
    assert_eq!(after["attempts"], 0);

    // A tenant that has a number is refused with the API's words.
    let alpha = tenant(
        &app,
        json!({"name": "Alpha Bakery", "phoneNumber": "+14155550111"}),
    )
    .await;
    let p = b
        .post(
            &format!("/console/operator/tenants/{alpha}/provisioning/retry"),
            &[],
        )
        .await;
    assert_eq!(p.status, 400);
    p.shows("Phone number already provisioned for this tenant")
        .shows("id=\"provisioning-error\"");
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{alpha}/provisioning/retry"),
            None,
        )
        .await;
    assert_eq!(
        r.json["error"]["message"],
        "Phone number already provisioned for this tenant"
    );
    assert_eq!(
        b.post("/console/operator/tenants/nope/provisioning/retry", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn jobs_are_listed_by_status_and_shown_with_their_payload() {
    let app = start().await;
    let bella = tenant(&app, json!({"name": "Bella Salon"})).await;
    let dead = enqueue(
        &app,
        "test.boom",
        Some(&bella),
        json!({"notificationId": "n-42", "attempt": 3}),
    )
    .await;
    let done = enqueue(&app, "test.fine", None, json!({})).await;
    run_pending_jobs(&app.state).await.unwrap();
    let later = app.clock.now_ms() + 3_600_000;
    let pending = app
        .state
        .enqueue_now(NewJob::new("test.fine", json!({})).at(later))
        .await
        .unwrap()
        .unwrap();

    let mut b = Browser::operator(&app).await;
    // Dead letters first.
    let p = b.get("/console/operator/jobs").await;
    assert_eq!(p.status, 200, "{}", p.html);
    p.shows("id=\"jobs-table\"")
        .shows("Times in UTC")
        .hides(&done)
        .hides(&pending);
    let r = row(&p, "job-", &dead);
    for needle in [
        "test.boom",
        "Bella Salon",
        "1 / 8",
        "the receiver refused it",
    ] {
        assert!(r.contains(needle), "{needle} not in {r}");
    }
    let p = b.get("/console/operator/jobs?status=pending").await;
    p.shows(&format!("job-{pending}\""))
        .hides(&dead)
        .hides(&done);
    let p = b.get("/console/operator/jobs?status=done").await;
    p.shows(&format!("job-{done}\"")).hides(&dead);
    let p = b
        .get("/console/operator/jobs?status=dead&kind=test.fine")
        .await;
    p.hides(&dead).shows("No dead letters of kind test.fine");
    let p = b
        .get(&format!(
            "/console/operator/jobs?status=dead&tenant={bella}"
        ))
        .await;
    p.shows(&format!("job-{dead}\"")).shows("Only the jobs of");
    let p = b.get("/console/operator/jobs?status=zombie").await;
    assert_eq!(p.status, 400);
    p.shows("must be one of pending, running, done, dead");
    let p = b
        .get("/console/operator/jobs?status=dead&after=garbage")
        .await;
    assert_eq!(p.status, 400);

    // The job's page: state, pretty payload, last error, and a retry button while it is dead.
    let p = b.get(&format!("/console/operator/jobs/{dead}")).await;
    assert_eq!(p.status, 200);
    p.shows("id=\"job-payload\"")
        .shows("&#34;notificationId&#34;: &#34;n-42&#34;")
        .shows("the receiver refused it")
        .shows("id=\"retry-job-form\"")
        .shows("Bella Salon");
    assert_eq!(text_of(&p, "job-status"), "dead");
    let p = b.get(&format!("/console/operator/jobs/{done}")).await;
    p.hides("id=\"retry-job-form\"");
    assert_eq!(text_of(&p, "job-status"), "done");
    assert_eq!(b.get("/console/operator/jobs/nope").await.status, 404);
}

#[tokio::test]
async fn dead_jobs_page_by_the_keyset() {
    let app = start().await;
    let mut ids = Vec::new();
    for i in 0..52 {
        ids.push(enqueue(&app, "test.boom", None, json!({ "i": i })).await);
    }
    run_pending_jobs(&app.state).await.unwrap();
    let mut b = Browser::operator(&app).await;
    let p = b.get("/console/operator/jobs?status=dead").await;
    let first: Vec<&String> = ids
        .iter()
        .filter(|id| p.html.contains(&format!("job-{id}\"")))
        .collect();
    assert_eq!(first.len(), 50);
    let next = text_attr(&p, "jobs-next");
    let p2 = b.get(&next).await;
    assert_eq!(p2.status, 200, "{}", p2.html);
    let second: Vec<&String> = ids
        .iter()
        .filter(|id| p2.html.contains(&format!("job-{id}\"")))
        .collect();
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|id| !first.contains(id)));
    p2.hides("id=\"jobs-next\"").shows("id=\"jobs-first\"");
}

#[tokio::test]
async fn retrying_a_dead_job_makes_it_pending_as_the_api_does() {
    let app = start().await;
    let dead = enqueue(&app, "test.boom", None, json!({})).await;
    run_pending_jobs(&app.state).await.unwrap();
    let mut b = Browser::operator(&app).await;
    let path = format!("/console/operator/jobs/{dead}/retry");

    let p = b.post_raw(&path, &[]).await;
    assert_eq!(p.status, 403);
    assert_eq!(api_job(&app, &dead).await["status"], "dead");

    let p = b.post(&path, &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let to = p.location.unwrap();
    assert_eq!(to, format!("/console/operator/jobs/{dead}?retried=1"));
    let p = b.get(&to).await;
    p.shows("is pending again").hides("id=\"retry-job-form\"");
    let j = api_job(&app, &dead).await;
    assert_eq!(
        (j["status"].as_str(), j["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );

    // A job that is not dead is refused with the API's words.
    let p = b.post(&path, &[]).await;
    assert_eq!(p.status, 409);
    p.shows("only dead jobs can be retried; this one is pending")
        .shows("id=\"job-error\"");
    let r = app
        .admin(Method::POST, &format!("/api/admin/jobs/{dead}/retry"), None)
        .await;
    assert_eq!(
        r.json["error"]["message"],
        "only dead jobs can be retried; this one is pending"
    );
    assert_eq!(
        b.post("/console/operator/jobs/nope/retry", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn every_dead_job_of_a_kind_is_retried_at_once() {
    let app = start().await;
    let boom: Vec<String> = vec![
        enqueue(&app, "test.boom", None, json!({"n": 1})).await,
        enqueue(&app, "test.boom", None, json!({"n": 2})).await,
        enqueue(&app, "test.boom", None, json!({"n": 3})).await,
    ];
    let other = enqueue(&app, "test.other", None, json!({})).await;
    run_pending_jobs(&app.state).await.unwrap();
    let mut b = Browser::operator(&app).await;

    // Offered on the dead tab once a kind is chosen.
    b.get("/console/operator/jobs")
        .await
        .hides("retry-dead-form");
    b.get("/console/operator/jobs?status=dead&kind=test.boom")
        .await
        .shows("id=\"retry-dead-form\"")
        .shows("Retry all dead test.boom jobs");

    let path = "/console/operator/jobs/retry-dead";
    let p = b.post_raw(path, &[("kind", "test.boom")]).await;
    assert_eq!(p.status, 403);
    assert_eq!(api_job(&app, &boom[0]).await["status"], "dead");

    let p = b.post(path, &[("kind", "  ")]).await;
    assert_eq!(p.status, 400);
    p.shows("must name a job kind");
    assert_eq!(api_job(&app, &boom[0]).await["status"], "dead");

    let p = b.post(path, &[("kind", "test.boom")]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    let to = p.location.unwrap();
    assert_eq!(
        to,
        "/console/operator/jobs?status=dead&kind=test.boom&retried=3&remaining=0"
    );
    b.get(&to).await.shows("3 dead job(s) of this kind");
    for id in &boom {
        assert_eq!(api_job(&app, id).await["status"], "pending");
    }
    assert_eq!(api_job(&app, &other).await["status"], "dead");

    // The same use case through the admin API.
    let r = app
        .admin(
            Method::POST,
            "/api/admin/jobs/retry-dead",
            Some(json!({"kind": "test.other"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["data"],
        json!({"kind": "test.other", "retried": 1, "remaining": 0})
    );
    assert_eq!(api_job(&app, &other).await["status"], "pending");
    let r = app
        .admin(
            Method::POST,
            "/api/admin/jobs/retry-dead",
            Some(json!({"kind": ""})),
        )
        .await;
    assert_eq!((r.status, r.field()), (400, "kind"));
}
