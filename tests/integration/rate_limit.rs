//! The rate limits on protected routes: per client address (IPv6 per /64, trusted-proxy aware),
//! per (address, tenant credential) and per tenant credential.

use reqwest::Method;
use serde_json::json;

use crate::support::{ADMIN_TOKEN, TestApp, app};

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

/// A tenant API call with `bearer`, from `xff` when the test trusts the loopback proxy.
async fn tenant_hit(app: &TestApp, bearer: &str, xff: Option<&str>) -> crate::support::Resp {
    let headers: Vec<(&str, &str)> = xff
        .map(|v| vec![("x-forwarded-for", v)])
        .unwrap_or_default();
    app.send(
        Method::GET,
        "/api/telephony/tenant",
        Some(bearer),
        None,
        &headers,
    )
    .await
}

/// Two tenants and a JWT for each.
async fn two_tenants(app: &TestApp) -> (String, String, String, String) {
    let a = app.create_tenant(json!({"name": "Salon A"})).await;
    let b = app.create_tenant(json!({"name": "Salon B"})).await;
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    let (ta, tb) = (app.token_for(&a).await, app.token_for(&b).await);
    (a, ta, b, tb)
}

#[tokio::test]
async fn one_tenant_spending_its_budget_does_not_limit_another_from_the_same_address() {
    // A host application calling for all its tenants from one address.
    let app = app()
        .config(|c| c.tenant_rate_limit_max = Some("3".into()))
        .start()
        .await;
    let (_, token_a, _, token_b) = two_tenants(&app).await;
    for i in 0..3 {
        let r = tenant_hit(&app, &token_a, None).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
        // The tightest bucket is reported: the tenant's budget of 3, not the address's 100.
        assert_eq!(r.header("ratelimit-limit"), Some("3"));
        assert_eq!(
            r.header("ratelimit-remaining"),
            Some((2 - i).to_string().as_str())
        );
    }
    let r = tenant_hit(&app, &token_a, None).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"));
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(r.header("ratelimit-limit"), Some("3"));
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    for i in 0..3 {
        let r = tenant_hit(&app, &token_b, None).await;
        assert_eq!(r.status, 200, "tenant B, request {i}: {}", r.text);
        assert_eq!(r.json["data"]["name"], "Salon B");
    }
    // The operator on the same address is not affected either.
    assert_eq!(hit(&app, None).await.status, 200);
    // A's budget comes back when its window ends.
    app.clock.advance_ms(retry_after as i64 * 1000);
    assert_eq!(tenant_hit(&app, &token_a, None).await.status, 200);
}

#[tokio::test]
async fn the_per_address_limit_counts_each_credential_and_failed_logins_on_their_own() {
    let app = app()
        .config(|c| {
            c.rate_limit_max = Some("3".into());
            c.rate_limit_window_secs = Some("900".into());
        })
        .start()
        .await;
    // The set-up goes through the admin API from this address: four calls, in two windows.
    let a = app.create_tenant(json!({"name": "Salon A"})).await;
    let b = app.create_tenant(json!({"name": "Salon B"})).await;
    app.clock.advance_ms(900_000);
    let token_a = app.token_for(a["id"].as_str().unwrap()).await;
    let token_b = app.token_for(b["id"].as_str().unwrap()).await;
    app.clock.advance_ms(900_000);
    // Guessing tokens is counted per address, like any request without a valid credential.
    for i in 0..3 {
        let r = tenant_hit(&app, "not-a-token", None).await;
        assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"), "guess {i}");
        assert_eq!(r.header("ratelimit-limit"), Some("3"));
    }
    let r = tenant_hit(&app, "sbk_0123456789ab_guess", None).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"));
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        hit(&app, None).await.status,
        429,
        "same bucket as the guesses"
    );
    // Each tenant credential has its own share of the address's limit: the seed's 3 (here) per
    // window for one client, not 3 for everyone behind the address.
    for i in 0..3 {
        assert_eq!(tenant_hit(&app, &token_a, None).await.status, 200, "A {i}");
    }
    assert_eq!(tenant_hit(&app, &token_a, None).await.status, 429);
    for i in 0..3 {
        assert_eq!(tenant_hit(&app, &token_b, None).await.status, 200, "B {i}");
    }
    let r = tenant_hit(&app, &token_b, None).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"));
    assert_eq!(r.header("ratelimit-limit"), Some("3"));
}

#[tokio::test]
async fn a_tenant_credential_is_limited_across_addresses() {
    let app = app()
        .config(|c| {
            c.tenant_rate_limit_max = Some("3".into());
            c.trusted_proxies = Some("127.0.0.1/32".into());
        })
        .start()
        .await;
    let (id_a, jwt_a, _, jwt_b) = two_tenants(&app).await;
    for ip in ["198.51.100.1", "198.51.100.2", "2001:db8::1"] {
        assert_eq!(tenant_hit(&app, &jwt_a, Some(ip)).await.status, 200, "{ip}");
    }
    // A fourth address does not buy the credential a fresh budget.
    let r = tenant_hit(&app, &jwt_a, Some("203.0.113.4")).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"));
    // JWTs count per tenant: issuing another token buys nothing either.
    app.clock.advance_ms(1_000);
    let jwt_a2 = app.token_for(&id_a).await;
    assert_ne!(jwt_a2, jwt_a);
    assert_eq!(
        tenant_hit(&app, &jwt_a2, Some("203.0.113.5")).await.status,
        429
    );
    // An API key counts on its own (keys are issued by the operator, per integration).
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id_a}/api-keys"),
            Some(json!({"name": "backend"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key_a = r.json["data"]["key"].as_str().unwrap().to_string();
    for i in 0..3 {
        let r = tenant_hit(&app, &key_a, Some("203.0.113.5")).await;
        assert_eq!(r.status, 200, "key {i}: {}", r.text);
    }
    assert_eq!(
        tenant_hit(&app, &key_a, Some("203.0.113.6")).await.status,
        429
    );
    // Tenant B, from an address A used, is untouched.
    assert_eq!(
        tenant_hit(&app, &jwt_b, Some("198.51.100.1")).await.status,
        200
    );
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64_and_mapped_ipv4_as_ipv4() {
    let app = app()
        .config(|c| {
            c.rate_limit_max = Some("2".into());
            c.trusted_proxies = Some("127.0.0.1/32".into());
        })
        .start()
        .await;
    assert_eq!(hit(&app, Some("2001:db8:1:2::1")).await.status, 200);
    assert_eq!(hit(&app, Some("2001:db8:1:2::beef")).await.status, 200);
    // Another address of the same /64 is the same client.
    let r = hit(&app, Some("[2001:db8:1:2:ffff::9]:443")).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"));
    // The neighbouring /64 is another client.
    assert_eq!(hit(&app, Some("2001:db8:1:3::1")).await.status, 200);
    // An IPv4 client seen as IPv4-mapped IPv6 is still that IPv4 client.
    assert_eq!(hit(&app, Some("198.51.100.7")).await.status, 200);
    assert_eq!(hit(&app, Some("::ffff:198.51.100.7")).await.status, 200);
    assert_eq!(hit(&app, Some("198.51.100.7")).await.status, 429);
}

/// The internal API has its own, generous bucket per client address: service traffic is not held to
/// the seed's 100 per 15 minutes, but a leaked key, or a flood of guesses at one, is bounded.
#[tokio::test]
async fn the_internal_api_has_its_own_bucket_per_address() {
    let key = "internal-service-key-0123456789";
    let app = app()
        .config(|c| {
            c.internal_service_key = Some(key.into());
            c.internal_rate_limit_max = Some("3".into());
            c.rate_limit_max = Some("1".into());
        })
        .start()
        .await;
    let lookup = |k: &'static str| {
        let app = &app;
        async move {
            app.send(
                Method::GET,
                "/internal/phone-numbers/lookup/%2B14155550100",
                None,
                None,
                &[("x-service-key", k)],
            )
            .await
        }
    };
    // Two requests with the right key, one with a wrong one: all counted, none limited, and not
    // by the tenant API's much smaller per-address limit.
    assert_eq!(lookup(key).await.status, 404);
    assert_eq!(lookup("wrong-key-wrong-key-wrong").await.status, 401);
    let r = lookup(key).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("ratelimit-limit"), Some("3"));
    let r = lookup(key).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    // The tenant API's own bucket is untouched by the internal traffic.
    assert_eq!(
        app.send(
            Method::GET,
            "/api/admin/tenants",
            Some(ADMIN_TOKEN),
            None,
            &[]
        )
        .await
        .status,
        200
    );
}
