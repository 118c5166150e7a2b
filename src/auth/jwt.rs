//! Tenant JWTs: HS256 only (the algorithm is pinned, so `none` or RS/HS confusion tokens fail), the
//! tenant id in the `tenantId` claim as seed 000's auth middleware reads it.
//!
//! A host app's own tokens are standard JWTs: only `tenantId` and `exp` are required. `iat`, `nbf`,
//! `sub`, `iss` and `aud` are accepted when present; `nbf` is checked against the app's clock, and
//! with `JWT_ISSUER` / `JWT_AUDIENCE` set, `iss` / `aud` are required and must match (`aud` may be a
//! string or a list, as RFC 7519 allows). Tokens Switchboard issues carry `sub`, `iat` and the
//! configured `iss` and `aud`, so they pass the same checks.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// `aud`: one audience or several.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, want: &str) -> bool {
        match self {
            Audience::One(a) => a == want,
            Audience::Many(all) => all.iter().any(|a| a == want),
        }
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(redacted)")
    }
}

/// Why a token was refused; the message is safe to show to the caller.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token expired")]
    Expired,
    #[error("token not valid yet (nbf)")]
    NotYetValid,
    #[error("token has the wrong issuer (iss)")]
    WrongIssuer,
    #[error("token has the wrong audience (aud)")]
    WrongAudience,
    #[error("token signed with an unsupported algorithm (HS256 required)")]
    WrongAlgorithm,
    #[error("invalid token")]
    Invalid,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: None,
            audience: None,
        }
    }

    /// Requires (and issues) `iss` and `aud` when given (`JWT_ISSUER`, `JWT_AUDIENCE`).
    pub fn with_issuer_and_audience(
        mut self,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Self {
        self.issuer = issuer;
        self.audience = audience;
        self
    }

    /// Issues a token for `tenant_id` valid for `ttl_secs` from `now_secs`.
    pub fn issue(&self, tenant_id: &str, now_secs: i64, ttl_secs: i64) -> String {
        let claims = Claims {
            tenant_id: tenant_id.to_string(),
            sub: Some(format!("tenant:{tenant_id}")),
            iat: Some(now_secs),
            exp: now_secs + ttl_secs,
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(Audience::One),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }

    /// Verifies signature, algorithm, expiry and `nbf` against `now_secs` (no leeway: an expired
    /// token is expired), and the issuer and audience when configured.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, JwtError> {
        // Check the header ourselves first so a wrong algorithm gets its own message.
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(JwtError::WrongAlgorithm);
        }
        let mut v = Validation::new(Algorithm::HS256);
        v.set_required_spec_claims(&["exp"]);
        // Time, issuer and audience are checked below: against our clock (tests use a manual
        // clock), and with our own messages.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.leeway = 0;
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => JwtError::WrongAlgorithm,
                    _ => JwtError::Invalid,
                }
            })?;
        let c = data.claims;
        if c.exp <= now_secs {
            return Err(JwtError::Expired);
        }
        if c.nbf.is_some_and(|nbf| nbf > now_secs) {
            return Err(JwtError::NotYetValid);
        }
        if let Some(want) = &self.issuer
            && c.iss.as_deref() != Some(want.as_str())
        {
            return Err(JwtError::WrongIssuer);
        }
        if let Some(want) = &self.audience
            && !c.aud.as_ref().is_some_and(|a| a.contains(want))
        {
            return Err(JwtError::WrongAudience);
        }
        if c.tenant_id.is_empty() {
            return Err(JwtError::Invalid);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn sign(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(KEY),
        )
        .unwrap()
    }

    #[test]
    fn a_host_apps_token_needs_only_tenant_id_and_exp() {
        let k = JwtKeys::new(KEY);
        let t = sign(json!({"tenantId": "t1", "exp": NOW + 60}));
        let c = k.verify(&t, NOW).unwrap();
        assert_eq!((c.tenant_id.as_str(), c.sub, c.iat), ("t1", None, None));
        let t =
            sign(json!({"tenantId": "t1", "exp": NOW + 60, "iat": NOW, "sub": "u9", "nbf": NOW}));
        assert_eq!(k.verify(&t, NOW).unwrap().sub.as_deref(), Some("u9"));
    }

    #[test]
    fn nbf_in_the_future_is_refused() {
        let k = JwtKeys::new(KEY);
        let t = sign(json!({"tenantId": "t1", "exp": NOW + 600, "nbf": NOW + 10}));
        assert_eq!(k.verify(&t, NOW).unwrap_err(), JwtError::NotYetValid);
        assert!(k.verify(&t, NOW + 10).is_ok());
    }

    #[test]
    fn issuer_and_audience_are_required_and_checked_when_configured() {
        let k = JwtKeys::new(KEY).with_issuer_and_audience(
            Some("https://app.example".into()),
            Some("switchboard".into()),
        );
        let base = json!({"tenantId": "t1", "exp": NOW + 60});
        let with = |extra: serde_json::Value| {
            let mut c = base.clone();
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            sign(c)
        };
        assert_eq!(
            k.verify(&sign(base.clone()), NOW).unwrap_err(),
            JwtError::WrongIssuer
        );
        assert_eq!(
            k.verify(&with(json!({"iss": "https://app.example"})), NOW)
                .unwrap_err(),
            JwtError::WrongAudience
        );
        assert_eq!(
            k.verify(
                &with(json!({"iss": "https://evil.example", "aud": "switchboard"})),
                NOW
            )
            .unwrap_err(),
            JwtError::WrongIssuer
        );
        assert_eq!(
            k.verify(
                &with(json!({"iss": "https://app.example", "aud": "other"})),
                NOW
            )
            .unwrap_err(),
            JwtError::WrongAudience
        );
        assert!(
            k.verify(
                &with(json!({"iss": "https://app.example", "aud": "switchboard"})),
                NOW
            )
            .is_ok()
        );
        assert!(
            k.verify(
                &with(json!({"iss": "https://app.example", "aud": ["crm", "switchboard"]})),
                NOW
            )
            .is_ok()
        );
        // Switchboard's own tokens carry both.
        assert!(k.verify(&k.issue("t1", NOW, 60), NOW).is_ok());
        // Without configuration, iss and aud are accepted as given.
        let open = JwtKeys::new(KEY);
        assert!(
            open.verify(&with(json!({"iss": "x", "aud": ["y"]})), NOW)
                .is_ok()
        );
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn round_trip_and_expiry() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = k.issue("t1", NOW, 60);
        assert_eq!(k.verify(&t, NOW + 59).unwrap().tenant_id, "t1");
        assert_eq!(k.verify(&t, NOW + 60).unwrap_err(), JwtError::Expired);
    }

    #[test]
    fn other_secret_and_tampering_fail() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = JwtKeys::new(b"fedcba9876543210fedcba9876543210");
        let t = other.issue("t1", NOW, 60);
        assert_eq!(k.verify(&t, NOW).unwrap_err(), JwtError::Invalid);
        let mut parts: Vec<String> = k
            .issue("t1", NOW, 60)
            .split('.')
            .map(String::from)
            .collect();
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"tenantId":"t2","sub":"x","iat":{NOW},"exp":{}}}"#,
            NOW + 60
        ));
        assert_eq!(
            k.verify(&parts.join("."), NOW).unwrap_err(),
            JwtError::Invalid
        );
    }

    #[test]
    fn algorithm_is_pinned() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let body = b64(&format!(
            r#"{{"tenantId":"t1","sub":"x","iat":{NOW},"exp":{}}}"#,
            NOW + 60
        ));
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), body);
        assert!(k.verify(&none, NOW).is_err());
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &json!({"tenantId": "t1", "sub": "x", "iat": NOW, "exp": NOW + 60}),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(k.verify(&hs512, NOW).unwrap_err(), JwtError::WrongAlgorithm);
    }

    #[test]
    fn exp_is_required() {
        #[derive(Serialize)]
        struct NoExp {
            #[serde(rename = "tenantId")]
            tenant_id: String,
        }
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoExp {
                tenant_id: "t1".into(),
            },
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(k.verify(&t, NOW).unwrap_err(), JwtError::Invalid);
    }
}
