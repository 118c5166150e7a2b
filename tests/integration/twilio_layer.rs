//! The Twilio layer as wired into the app: the webhook signature extractor, and sandbox mode
//! (embedded sandbox, REST client pointed at it, demo tenant).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use switchboard::config::TwilioMode;
use switchboard::web::twilio_webhook::TwilioRequest;
use switchboard_twilio::rest::{ListMessages, SendMessage};
use switchboard_twilio::signature::{body_sha256_hex, sign_form};
use tower::ServiceExt;

use crate::support::{TestApp, app};

/// A router with one webhook route that counts how often its handler ran.
fn hook_router(app: &TestApp, runs: Arc<AtomicUsize>) -> Router {
    let r2 = runs.clone();
    Router::new()
        .route(
            "/hook",
            post(move |req: TwilioRequest| {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    format!("ok {}", req.get("CallSid").unwrap_or("-"))
                }
            }),
        )
        .route(
            "/hook-get",
            get(move |req: TwilioRequest| {
                let runs = r2.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    format!("ok {}", req.get("CallSid").unwrap_or("-"))
                }
            }),
        )
        .with_state(app.state.clone())
}

fn form(params: &[(&str, &str)]) -> (Vec<(String, String)>, String) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&owned)
        .finish();
    (owned, body)
}

fn post_form(path: &str, body: String, sig: Option<&str>) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(s) = sig {
        b = b.header("x-twilio-signature", s);
    }
    b.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn signed_form_webhooks_pass_and_tampered_ones_get_403_without_running() {
    let app = app().start().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let router = hook_router(&app, runs.clone());
    let token = app.state.twilio.auth_token.clone();
    let url = format!("{}/hook", app.base);
    let (params, body) = form(&[
        ("CallSid", "CA00000000000000000000000000000123"),
        ("From", "+14155550100"),
        ("CallStatus", "ringing"),
    ]);
    let sig = sign_form(&token, &url, &params);

    let res = router
        .clone()
        .oneshot(post_form("/hook", body.clone(), Some(&sig)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let tampered = body.replace(
        "CA00000000000000000000000000000123",
        "CA00000000000000000000000000000999",
    );
    let res = router
        .clone()
        .oneshot(post_form("/hook", tampered, Some(&sig)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = router
        .clone()
        .oneshot(post_form("/hook", body.clone(), None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let wrong_token = sign_form("another-token", &url, &params);
    let res = router
        .clone()
        .oneshot(post_form("/hook", body, Some(&wrong_token)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "rejected requests never reach the handler"
    );
}

#[tokio::test]
async fn get_webhooks_sign_the_url_and_json_webhooks_the_body_hash() {
    let app = app().start().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let router = hook_router(&app, runs.clone());
    let token = app.state.twilio.auth_token.clone();
    let path = "/hook-get?CallSid=CA00000000000000000000000000000001&From=%2B14155550100";
    let sig = sign_form(&token, &format!("{}{path}", app.base), &[]);
    let req = Request::get(path)
        .header("x-twilio-signature", &sig)
        .body(Body::empty())
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(
        axum::body::to_bytes(res.into_body(), 1000)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(
        text, "ok CA00000000000000000000000000000001",
        "GET parameters come from the query string"
    );
    let req = Request::get("/hook-get?CallSid=CA00000000000000000000000000000002")
        .header("x-twilio-signature", &sig)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        router.clone().oneshot(req).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let json = r#"{"CallSid":"CA00000000000000000000000000000003","event":"x"}"#;
    let jpath = format!("/hook?bodySHA256={}", body_sha256_hex(json.as_bytes()));
    let sig = sign_form(&token, &format!("{}{jpath}", app.base), &[]);
    let mk = |body: &'static str| {
        Request::post(&jpath)
            .header("content-type", "application/json")
            .header("x-twilio-signature", &sig)
            .body(Body::from(body))
            .unwrap()
    };
    assert_eq!(
        router.clone().oneshot(mk(json)).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        router
            .clone()
            .oneshot(mk(
                r#"{"CallSid":"CA00000000000000000000000000000004","event":"x"}"#
            ))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn app_url_with_or_without_default_port_both_verify() {
    let app = app()
        .config(|c| c.app_url = Some("https://voice.example.com".into()))
        .start()
        .await;
    let router = hook_router(&app, Arc::new(AtomicUsize::new(0)));
    let token = app.state.twilio.auth_token.clone();
    let (params, body) = form(&[("CallSid", "CA00000000000000000000000000000001")]);
    // Twilio sometimes signs with the explicit default port.
    let sig = sign_form(&token, "https://voice.example.com:443/hook", &params);
    assert_eq!(
        router
            .clone()
            .oneshot(post_form("/hook", body.clone(), Some(&sig)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let sig = sign_form(&token, "https://voice.example.com/hook", &params);
    assert_eq!(
        router
            .clone()
            .oneshot(post_form("/hook", body.clone(), Some(&sig)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let sig = sign_form(&token, "https://other.example.com/hook", &params);
    assert_eq!(
        router
            .oneshot(post_form("/hook", body, Some(&sig)))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}

/// A request from a trusted proxy saying it was addressed to `host`.
fn forwarded(body: &str, sig: &str, host: &str, peer: &str) -> Request<Body> {
    let mut r = post_form("/hook", body.to_string(), Some(sig));
    r.headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    r.headers_mut()
        .insert("x-forwarded-host", host.parse().unwrap());
    r.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    r
}

async fn status_of(router: &Router, req: Request<Body>) -> StatusCode {
    router.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn with_app_url_set_the_signed_url_is_configuration_not_a_header() {
    let app = app()
        .config(|c| {
            c.app_url = Some("https://voice.example.com".into());
            c.app_url_aliases = Some("https://old-voice.example.org".into());
            c.trusted_proxies = Some("10.0.0.0/8".into());
        })
        .start()
        .await;
    let router = hook_router(&app, Arc::new(AtomicUsize::new(0)));
    let token = app.state.twilio.auth_token.clone();
    let (params, body) = form(&[("CallSid", "CA00000000000000000000000000000001")]);
    let for_host = |host: &str| sign_form(&token, &format!("https://{host}/hook"), &params);
    // Even a trusted proxy cannot make a signature for a name we were not configured with count.
    let sig = for_host("tenant-a.example.net");
    assert_eq!(
        status_of(
            &router,
            forwarded(&body, &sig, "tenant-a.example.net", "10.1.2.3:5000")
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // APP_URL and its aliases verify, whatever the headers say.
    for host in ["voice.example.com", "old-voice.example.org"] {
        let sig = for_host(host);
        assert_eq!(
            status_of(
                &router,
                forwarded(&body, &sig, "tenant-a.example.net", "10.1.2.3:5000")
            )
            .await,
            StatusCode::OK,
            "{host}"
        );
        assert_eq!(
            status_of(&router, post_form("/hook", body.clone(), Some(&sig))).await,
            StatusCode::OK,
            "{host}"
        );
    }
    // The 403 names the URLs checked, so a proxy mix-up is easy to see.
    let res = router
        .clone()
        .oneshot(post_form(
            "/hook",
            body.clone(),
            Some(&for_host("elsewhere.example")),
        ))
        .await
        .unwrap();
    let text = String::from_utf8(
        axum::body::to_bytes(res.into_body(), 10_000)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("https://voice.example.com/hook or https://old-voice.example.org/hook"),
        "{text}"
    );
}

#[tokio::test]
async fn app_url_aliases_need_app_url() {
    let mut raw = crate::support::base_raw("sqlite::memory:");
    raw.app_url_aliases = Some("https://old.example.org".into());
    let err = switchboard::config::Config::from_raw(&raw).unwrap_err();
    assert_eq!(err.var, "APP_URL_ALIASES");
    raw.app_url = Some("https://new.example.org".into());
    raw.app_url_aliases = Some("https://old.example.org, ftp://x".into());
    assert_eq!(
        switchboard::config::Config::from_raw(&raw).unwrap_err().var,
        "APP_URL_ALIASES"
    );
}

#[tokio::test]
async fn without_app_url_forwarded_host_is_believed_only_from_trusted_proxies() {
    let app = app()
        .config(|c| c.trusted_proxies = Some("10.0.0.0/8".into()))
        .start()
        .await;
    // The harness always sets APP_URL; this deployment behaves as one started without it.
    let mut state = app.state.clone();
    let mut config = (*state.config).clone();
    config.server.app_url_explicit = false;
    state.config = Arc::new(config);
    let router = Router::new()
        .route(
            "/hook",
            post(|req: TwilioRequest| async move { format!("ok {}", req.url) }),
        )
        .with_state(state);
    let token = app.state.twilio.auth_token.clone();
    let (params, body) = form(&[("CallSid", "CA00000000000000000000000000000001")]);
    let sig = sign_form(&token, "https://tenant-a.example.net/hook", &params);
    assert_eq!(
        status_of(
            &router,
            forwarded(&body, &sig, "tenant-a.example.net", "10.1.2.3:5000")
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(
            &router,
            forwarded(&body, &sig, "tenant-a.example.net", "203.0.113.9:5000")
        )
        .await,
        StatusCode::FORBIDDEN,
        "an untrusted peer cannot choose the signed URL"
    );
}

/// Twilio sends each parameter once, in the body of a POST. Copies would both be signed, and
/// which one a handler reads must never be the sender's choice.
#[tokio::test]
async fn repeated_and_query_string_parameters_are_refused_before_the_handler() {
    let app = app().start().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let router = hook_router(&app, runs.clone());
    let token = app.state.twilio.auth_token.clone();
    let signed = |path: &str, pairs: &[(&str, &str)]| {
        let (params, body) = form(pairs);
        let sig = sign_form(&token, &format!("{}{path}", app.base), &params);
        let mut r = post_form(path, body, Some(&sig));
        *r.uri_mut() = path.parse().unwrap();
        r
    };
    let cases = [
        signed(
            "/hook",
            &[
                ("CallSid", "CA00000000000000000000000000000001"),
                ("CallSid", "CA00000000000000000000000000000002"),
            ],
        ),
        signed(
            "/hook?CallSid=CA00000000000000000000000000000002",
            &[("CallSid", "CA00000000000000000000000000000001")],
        ),
        signed(
            "/hook?To=%2B14155550100&To=%2B14155550101",
            &[("CallSid", "CA00000000000000000000000000000001")],
        ),
    ];
    for req in cases {
        let uri = req.uri().to_string();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{uri}");
        let text = String::from_utf8(
            axum::body::to_bytes(res.into_body(), 10_000)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(text.contains("must appear once"), "{uri}: {text}");
    }
    let sig = sign_form(
        &token,
        &format!(
            "{}/hook-get?CallSid=CA00000000000000000000000000000001&CallSid=CA00000000000000000000000000000002",
            app.base
        ),
        &[],
    );
    let req = Request::get("/hook-get?CallSid=CA00000000000000000000000000000001&CallSid=CA00000000000000000000000000000002")
        .header("x-twilio-signature", &sig)
        .body(Body::empty())
        .unwrap();
    assert_eq!(status_of(&router, req).await, StatusCode::BAD_REQUEST);
    assert_eq!(runs.load(Ordering::SeqCst), 0, "no handler ran");
    // A query parameter that the body does not carry is allowed (and not a Twilio parameter).
    let res = router
        .clone()
        .oneshot(signed(
            "/hook?utm=1",
            &[("CallSid", "CA00000000000000000000000000000001")],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn validation_can_be_turned_off_explicitly() {
    let app = app()
        .config(|c| c.twilio_validate_signatures = Some("false".into()))
        .start()
        .await;
    let router = hook_router(&app, Arc::new(AtomicUsize::new(0)));
    let (_, body) = form(&[("CallSid", "CA00000000000000000000000000000001")]);
    assert_eq!(
        router
            .oneshot(post_form("/hook", body, None))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sandbox_mode_serves_twilio_rest_on_the_app_port() {
    let app = app().start().await;
    assert_eq!(app.state.twilio.mode, TwilioMode::Sandbox);
    let client = &app.state.twilio.client;
    assert!(client.base_url().as_str().starts_with(&app.base));
    let mut msg = SendMessage {
        to: "+14155550123".into(),
        from: Some("+15005550006".into()),
        body: Some("Hello from the sandbox".into()),
        ..Default::default()
    };
    let sent = client
        .send_message(&msg)
        .await
        .expect("sandbox accepts the message");
    let sid = sent.sid.clone().expect("a sid");
    assert!(sid.starts_with("SM"));
    let page = client
        .list_messages(&ListMessages {
            to: Some("+14155550123".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        page.messages
            .iter()
            .any(|m| m.sid.as_deref() == Some(sid.as_str()))
    );
    // Magic numbers fail as Twilio's test credentials do.
    msg.to = "+15005550001".into();
    let err = client.send_message(&msg).await.unwrap_err();
    assert_eq!(err.twilio_code(), Some(21211));
    assert!(!err.is_retryable());
    let sandbox = app.state.twilio.sandbox.as_ref().unwrap();
    assert!(
        sandbox
            .received_requests()
            .iter()
            .filter(|r| r.path.ends_with("/Messages.json"))
            .count()
            >= 2
    );
}

#[tokio::test]
async fn sandbox_forced_with_credentials_adopts_them() {
    let sid = "AC0123456789abcdef0123456789abcdef";
    let app = app()
        .config(|c| {
            c.twilio_account_sid = Some(sid.into());
            c.twilio_auth_token = Some("my-own-token".into());
            c.twilio_sandbox = Some("true".into());
        })
        .start()
        .await;
    assert_eq!(app.state.twilio.mode, TwilioMode::Sandbox);
    assert_eq!(app.state.twilio.account_sid, sid);
    assert_eq!(app.state.twilio.auth_token, "my-own-token");
    assert_eq!(
        app.state
            .twilio
            .sandbox
            .as_ref()
            .unwrap()
            .config()
            .auth_token,
        "my-own-token"
    );
}

#[tokio::test]
async fn demo_tenant_is_seeded_once_on_an_empty_database() {
    let app = app().start().await;
    let t = switchboard::tenants::demo::seed_if_empty(&app.state)
        .await
        .unwrap()
        .expect("seeded");
    assert_eq!(t.slug.as_str(), "demo");
    assert_eq!(
        switchboard::db::staff::list(&app.state.db, &t.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        switchboard::tenants::demo::seed_if_empty(&app.state)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        switchboard::tenants::demo::register_numbers_with_sandbox(&app.state)
            .await
            .unwrap(),
        1
    );
    let numbers = app
        .state
        .twilio
        .client
        .list_incoming_numbers(Some("+15005550006"))
        .await
        .unwrap();
    assert_eq!(numbers.len(), 1);
}
