//! Tenant authentication (JWT and API keys), admin authentication, and tenant isolation.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::support::{ADMIN_TOKEN, JWT_SECRET, app};

#[tokio::test]
async fn jwt_grants_access_to_its_tenant() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "Bella Salon"})).await;
    let token = app.token_for(t["id"].as_str().unwrap()).await;
    let r = app.tenant_get("/api/telephony/tenant", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"], true);
    assert_eq!(r.json["data"]["id"], t["id"]);
}

#[tokio::test]
async fn missing_malformed_and_invalid_tokens_are_401() {
    let app = app().start().await;
    let r = app
        .send(Method::GET, "/api/telephony/tenant", None, None, &[])
        .await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing Authorization")
    );
    let r = app
        .send(
            Method::GET,
            "/api/telephony/tenant",
            None,
            None,
            &[("authorization", "Basic abc")],
        )
        .await;
    assert_eq!(r.status, 401);
    let r = app.tenant_get("/api/telephony/tenant", "not-a-jwt").await;
    assert_eq!(r.status, 401);
    // Signed with another secret.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"tenantId": "x", "sub": "x", "iat": 0, "exp": 4_000_000_000i64}),
        &EncodingKey::from_secret(b"some-other-secret-entirely-000000"),
    )
    .unwrap();
    let r = app.tenant_get("/api/telephony/tenant", &forged).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn expired_token_is_401() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "Bella"})).await;
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{}/tokens", t["id"].as_str().unwrap()),
            Some(json!({"ttlSeconds": 60})),
        )
        .await;
    let token = r.json["data"]["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &token).await.status,
        200
    );
    app.clock.advance_ms(61_000);
    let r = app.tenant_get("/api/telephony/tenant", &token).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["error"]["message"], "token expired");
}

#[tokio::test]
async fn wrong_algorithm_and_missing_exp_are_refused() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "Bella"})).await;
    let id = t["id"].as_str().unwrap();
    let exp = app.clock.now_ms() / 1000 + 3600;
    // Same secret, HS512: the algorithm is pinned to HS256.
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &json!({"tenantId": id, "sub": "x", "iat": 0, "exp": exp}),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let r = app.tenant_get("/api/telephony/tenant", &hs512).await;
    assert_eq!(r.status, 401);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HS256")
    );
    // alg=none.
    use base64::Engine;
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#.into()),
        b64(format!(r#"{{"tenantId":"{id}","exp":{exp}}}"#))
    );
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &none).await.status,
        401
    );
    // No exp claim.
    let no_exp = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"tenantId": id}),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &no_exp)
            .await
            .status,
        401
    );
    // Correct algorithm and claims, for contrast.
    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"tenantId": id, "sub": "x", "iat": 0, "exp": exp}),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &good).await.status,
        200
    );
}

#[tokio::test]
async fn api_keys_work_until_revoked() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "Bella"})).await;
    let id = t["id"].as_str().unwrap();
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{id}/api-keys"),
            Some(json!({"name": "backend"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let key = r.json["data"]["key"].as_str().unwrap().to_string();
    let key_id = r.json["data"]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("sbk_"));
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &key).await.status,
        200
    );
    // The listing never shows the secret.
    let list = app
        .admin(
            Method::GET,
            &format!("/api/admin/tenants/{id}/api-keys"),
            None,
        )
        .await;
    assert!(!list.text.contains(&key));
    assert!(list.json["data"]["apiKeys"][0]["lastUsedAt"].is_string());
    // A near miss of a real key fails.
    let mut tampered = key.clone();
    tampered.pop();
    tampered.push(if key.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &tampered)
            .await
            .status,
        401
    );
    let r = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/tenants/{id}/api-keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = app.tenant_get("/api/telephony/tenant", &key).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["error"]["message"], "API key revoked");
}

#[tokio::test]
async fn token_of_a_deleted_tenant_is_refused() {
    let app = app().start().await;
    let t = app.create_tenant(json!({"name": "Gone"})).await;
    let id = t["id"].as_str().unwrap();
    let token = app.token_for(id).await;
    assert_eq!(
        app.admin(Method::DELETE, &format!("/api/admin/tenants/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &token).await.status,
        401
    );
}

#[tokio::test]
async fn tenants_cannot_see_or_change_each_other() {
    let app = app().start().await;
    let a = app.create_tenant(json!({"name": "A"})).await;
    let b = app.create_tenant(json!({"name": "B"})).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{b_id}/staff"),
            Some(json!({"name": "Bea", "phone": "+14155550111"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let b_staff = r.json["data"]["id"].as_str().unwrap().to_string();
    let token_a = app.token_for(a_id).await;
    let token_b = app.token_for(b_id).await;

    assert_eq!(
        app.tenant_get("/api/telephony/staff", &token_a).await.json["data"]["staff"],
        json!([])
    );
    let r = app
        .tenant_get(&format!("/api/telephony/staff/{b_staff}"), &token_a)
        .await;
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND"));
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/telephony/staff/{b_staff}"),
            Some(&token_a),
            Some(json!({"onDuty": false})),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    // B's staff is untouched and visible to B.
    let r = app
        .tenant_get(&format!("/api/telephony/staff/{b_staff}"), &token_b)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["data"]["onDuty"], true);
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/telephony/staff/{b_staff}"),
            Some(&token_b),
            Some(json!({"onDuty": false})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["data"]["onDuty"], false);
}

#[tokio::test]
async fn admin_api_needs_the_operator_token_and_is_off_without_one() {
    let app = app().start().await;
    let r = app
        .send(Method::GET, "/api/admin/tenants", None, None, &[])
        .await;
    assert_eq!(r.status, 401);
    let r = app
        .send(
            Method::GET,
            "/api/admin/tenants",
            Some("wrong-token-wrong-token"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
    let t = app.create_tenant(json!({"name": "A"})).await;
    // A tenant's JWT is no admin token.
    let token = app.token_for(t["id"].as_str().unwrap()).await;
    assert_eq!(
        app.send(Method::GET, "/api/admin/tenants", Some(&token), None, &[])
            .await
            .status,
        401
    );
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

    let off = crate::support::app()
        .config(|c| c.admin_token = None)
        .start()
        .await;
    let r = off
        .send(
            Method::GET,
            "/api/admin/tenants",
            Some(ADMIN_TOKEN),
            None,
            &[],
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "ADMIN_API_DISABLED"));
}
