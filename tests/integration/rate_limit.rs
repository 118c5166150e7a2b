//! The per-client-IP rate limit on protected routes and its trusted-proxy handling.

use reqwest::Method;

use crate::support::{ADMIN_TOKEN, app};

async fn hit(app: &crate::support::TestApp, xff: Option<&str>) -> crate::support::Resp {
    let headers: Vec<(&str, &str)> = xff
        .map(|v| vec![("x-forwarded-for", v)])
        .unwrap_or_default();
    app.send(
        Method::GET,
        "/api/admin/tenants",
        Some(ADMIN_TOKEN),
        None,
        &headers,
    )
    .await
}

#[tokio::test]
async fn limit_answers_429_with_retry_after_then_resets() {
    let app = app()
        .config(|c| {
            c.rate_limit_max = Some("3".into());
            c.rate_limit_window_secs = Some("900".into());
        })
        .start()
        .await;
    for i in 0..3 {
        let r = hit(&app, None).await;
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(
            r.header("ratelimit-remaining"),
            Some((2 - i).to_string().as_str())
        );
    }
    let r = hit(&app, None).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"));
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Unprotected routes are not counted or limited.
    assert_eq!(
        app.send(Method::GET, "/health", None, None, &[])
            .await
            .status,
        200
    );
    app.clock.advance_ms(retry_after as i64 * 1000);
    assert_eq!(
        hit(&app, None).await.status,
        200,
        "a new window opens after Retry-After"
    );
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let app = app()
        .config(|c| c.rate_limit_max = Some("2".into()))
        .start()
        .await;
    assert_eq!(hit(&app, Some("1.1.1.1")).await.status, 200);
    assert_eq!(hit(&app, Some("2.2.2.2")).await.status, 200);
    // A client cannot escape its bucket by inventing X-Forwarded-For values.
    assert_eq!(hit(&app, Some("3.3.3.3")).await.status, 429);
}

#[tokio::test]
async fn trusted_proxy_limits_by_rightmost_untrusted_hop() {
    let app = app()
        .config(|c| {
            c.rate_limit_max = Some("2".into());
            c.trusted_proxies = Some("127.0.0.1/32, 10.0.0.0/8".into());
        })
        .start()
        .await;
    assert_eq!(hit(&app, Some("198.51.100.7")).await.status, 200);
    assert_eq!(
        hit(&app, Some("6.6.6.6, 198.51.100.7, 10.0.0.2"))
            .await
            .status,
        200
    );
    // Same real client (spoofed leftmost hop differs): limited.
    assert_eq!(hit(&app, Some("7.7.7.7, 198.51.100.7")).await.status, 429);
    // A different client behind the proxy has its own bucket.
    assert_eq!(hit(&app, Some("203.0.113.5")).await.status, 200);
}
