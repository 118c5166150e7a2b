//! Health, readiness, metrics, OpenAPI, request ids and the error envelope for unknown routes.

use reqwest::Method;
use serde_json::json;

use crate::support::app;

#[tokio::test]
async fn health_matches_seed_004() {
    let app = app().start().await;
    let r = app.send(Method::GET, "/health", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["status"], "OK");
    let ts = r.json["timestamp"].as_str().unwrap();
    assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{ts}");
    assert!(ts.ends_with('Z'));
}

#[tokio::test]
async fn ready_checks_the_database() {
    let app = app().start().await;
    let r = app.send(Method::GET, "/ready", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["database"], "ok");
    app.state.db.close().await;
    let r = app.send(Method::GET, "/ready", None, None, &[]).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["status"], "unavailable");
}

#[tokio::test]
async fn metrics_expose_request_counts() {
    let app = app().start().await;
    app.send(Method::GET, "/health", None, None, &[]).await;
    let r = app.send(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        r.text.contains("switchboard_http_requests_total"),
        "{}",
        r.text
    );
    assert!(r.text.contains("route=\"/health\""));
    // Durations are histograms with fixed buckets (a tail shows), not windowed summaries.
    let buckets: Vec<&str> = r
        .text
        .lines()
        .filter(|l| {
            l.starts_with("switchboard_http_request_duration_seconds_bucket{")
                && l.contains("route=\"/health\"")
        })
        .collect();
    assert!(
        buckets.iter().any(|l| l.contains("le=\"0.01\""))
            && buckets.iter().any(|l| l.contains("le=\"+Inf\"")),
        "{}",
        r.text
    );
    assert!(!r.text.contains("quantile="), "{}", r.text);

    // Every request counts, also once the route's handles are cached (other tests share the
    // process's recorder and may add more, never fewer).
    let before = health_requests(&r.text);
    for _ in 0..3 {
        app.send(Method::GET, "/health", None, None, &[]).await;
    }
    let r = app.send(Method::GET, "/metrics", None, None, &[]).await;
    let after = health_requests(&r.text);
    assert!(after >= before + 3.0, "{before} then {after}");
}

/// The count of `GET /health` answered 200, from the Prometheus text.
fn health_requests(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|l| {
            l.starts_with("switchboard_http_requests_total{")
                && l.contains("method=\"GET\"")
                && l.contains("route=\"/health\"")
                && l.contains("status=\"200\"")
        })
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no GET /health 200 series in {metrics}"))
}

/// Series of the HTTP metrics that a client with made-up methods can reach.
fn other_method_series(metrics: &str) -> std::collections::BTreeSet<String> {
    metrics
        .lines()
        .filter(|l| l.starts_with("switchboard_http_request") && l.contains("method=\"other\""))
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(series, _value)| series)
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn random_methods_and_paths_do_not_create_metric_series() {
    let app = app().start().await;
    // Extension methods on a real route and on unknown paths, and unknown paths with GET.
    let burst = |tag: &'static str, n: usize| {
        let app = &app;
        async move {
            for i in 0..n {
                let m = Method::from_bytes(format!("X{tag}{i}Q").as_bytes()).unwrap();
                let r = app.send(m.clone(), "/health", None, None, &[]).await;
                assert_eq!(r.status, 405, "{m} /health");
                let path = format!("/nope-{tag}-{i}");
                assert_eq!(app.send(m, &path, None, None, &[]).await.status, 404);
                let path = format!("/api/telephony/zz-{tag}-{i}");
                let r = app.send(Method::GET, &path, None, None, &[]).await;
                assert_eq!(r.status, 404);
            }
        }
    };
    burst("A", 3).await;
    let before = app
        .send(Method::GET, "/metrics", None, None, &[])
        .await
        .text;
    let series = other_method_series(&before);
    assert!(
        series.iter().any(|s| s.contains("route=\"unmatched\"")),
        "{before}"
    );
    burst("B", 40).await;
    let after = app
        .send(Method::GET, "/metrics", None, None, &[])
        .await
        .text;
    assert_eq!(
        other_method_series(&after),
        series,
        "40 more made-up methods and paths added series"
    );
    for token in ["XA0Q", "XB39Q", "nope-B", "zz-B-", "zz-A-"] {
        assert!(!after.contains(token), "{token} became a label value");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_envelope() {
    let app = app().start().await;
    let r = app.send(Method::GET, "/api/nope", None, None, &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["success"], false);
    assert_eq!(r.code(), "NOT_FOUND");
    let r = app.send(Method::DELETE, "/health", None, None, &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.code(), "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = app().start().await;
    let r = app.send(Method::GET, "/health", None, None, &[]).await;
    assert!(uuid::Uuid::parse_str(r.header("x-request-id").unwrap()).is_ok());
    let r = app
        .send(
            Method::GET,
            "/health",
            None,
            None,
            &[("x-request-id", "abc-123")],
        )
        .await;
    assert_eq!(
        r.header("x-request-id"),
        Some("abc-123"),
        "a caller's id is kept"
    );
}

#[tokio::test]
async fn body_limit_answers_413_envelope() {
    let app = app()
        .config(|c| c.body_limit_bytes = Some("2048".into()))
        .start()
        .await;
    let big = "x".repeat(4096);
    let r = app
        .admin(
            Method::POST,
            "/api/admin/tenants",
            Some(json!({ "name": big })),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.code(), "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn openapi_lists_every_json_route() {
    let app = app().start().await;
    let r = app
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["openapi"], "3.1.0");
    let paths = r.json["paths"].as_object().unwrap();
    let expect = [
        ("/health", "get"),
        ("/ready", "get"),
        ("/api/admin/tenants", "post"),
        ("/api/admin/tenants", "get"),
        ("/api/admin/tenants/{id}", "get"),
        ("/api/admin/tenants/{id}", "patch"),
        ("/api/admin/tenants/{id}", "delete"),
        ("/api/admin/tenants/{id}/subscription", "put"),
        ("/api/admin/tenants/{id}/staff", "post"),
        ("/api/admin/tenants/{id}/staff", "get"),
        ("/api/admin/tenants/{id}/staff/{staff_id}", "patch"),
        ("/api/admin/tenants/{id}/staff/{staff_id}", "delete"),
        ("/api/admin/tenants/{id}/tokens", "post"),
        ("/api/admin/tenants/{id}/api-keys", "post"),
        ("/api/admin/tenants/{id}/api-keys", "get"),
        ("/api/admin/tenants/{id}/api-keys/{key_id}", "delete"),
        ("/api/admin/jobs", "get"),
        ("/api/admin/jobs/{id}", "get"),
        ("/api/admin/jobs/{id}/retry", "post"),
        ("/api/telephony/tenant", "get"),
        ("/api/telephony/staff", "get"),
        ("/api/telephony/staff/{id}", "get"),
        ("/api/telephony/staff/{id}", "patch"),
    ];
    for (path, method) in expect {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from /openapi.json"
        );
    }
    // And the reverse: every documented operation answers something other than 404-no-route.
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "x")
                .replace("{staff_id}", "y")
                .replace("{key_id}", "z");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.send(m, &concrete, None, None, &[]).await;
            assert!(
                !(r.status == 404 && r.json["error"]["message"] == "no such route"),
                "{method} {path} is documented but not routed"
            );
        }
    }
}
